//! The tracker's outcomes on named scenarios, one row each.

use std::cmp::Ordering;

use hpp_status::{Disposition, Expiry, Observation, Outcome, OutcomeKind, Phase, Status, Tracker};

use Status::*;

fn at(status: Status, time: u32) -> Observation<u32> {
    Observation::new(status, time)
}

/// A named scenario: what the tracker held, what was delivered, the expected outcome kind,
/// whether it became final, and what the tracker keeps.
type Case = (
    &'static str,
    (Status, u32),
    (Status, u32),
    &'static str,
    bool,
    (Status, u32),
);

const CASES: &[Case] = &[
    (
        "newer open status",
        (InProgress, 1),
        (Back, 2),
        "advanced",
        false,
        (Back, 2),
    ),
    (
        "retry seen again",
        (Back, 2),
        (InProgress, 3),
        "advanced",
        false,
        (InProgress, 3),
    ),
    (
        "lost updates skipped",
        (Waiting, 1),
        (Completed, 9),
        "advanced",
        true,
        (Completed, 9),
    ),
    (
        "retried callback",
        (Back, 2),
        (Back, 2),
        "duplicate",
        false,
        (Back, 2),
    ),
    (
        "final polled again later",
        (Completed, 5),
        (Completed, 8),
        "duplicate",
        false,
        (Completed, 5),
    ),
    (
        "final known earlier",
        (Completed, 8),
        (Completed, 5),
        "duplicate",
        false,
        (Completed, 5),
    ),
    (
        "late open delivery",
        (Back, 5),
        (InProgress, 2),
        "stale",
        false,
        (Back, 5),
    ),
    (
        "late delivery after final",
        (Disabled, 5),
        (Waiting, 1),
        "stale",
        false,
        (Disabled, 5),
    ),
    (
        "same-time visit end",
        (InProgress, 4),
        (Failed, 4),
        "advanced",
        false,
        (Failed, 4),
    ),
    (
        "same-time visit start",
        (Failed, 4),
        (InProgress, 4),
        "stale",
        false,
        (Failed, 4),
    ),
    (
        "different final later",
        (Completed, 5),
        (Cancelled, 9),
        "conflict",
        false,
        (Completed, 5),
    ),
    (
        "different final earlier",
        (Completed, 5),
        (Cancelled, 3),
        "conflict",
        true,
        (Cancelled, 3),
    ),
    (
        "open dated after final",
        (Cancelled, 5),
        (Back, 9),
        "conflict",
        false,
        (Cancelled, 5),
    ),
    (
        "final dated before open",
        (Back, 9),
        (Cancelled, 5),
        "conflict",
        true,
        (Cancelled, 5),
    ),
    (
        "back to WAITING",
        (InProgress, 5),
        (Waiting, 9),
        "conflict",
        false,
        (InProgress, 5),
    ),
    (
        "WAITING twice",
        (Waiting, 1),
        (Waiting, 2),
        "conflict",
        false,
        (Waiting, 2),
    ),
    (
        "open vs WAITING, same time",
        (InProgress, 3),
        (Waiting, 3),
        "stale",
        false,
        (InProgress, 3),
    ),
];

#[test]
fn outcomes_on_named_scenarios() {
    for &(name, held, seen, kind, became_final, kept) in CASES {
        let mut tracker = Tracker::new();
        tracker.observe(at(held.0, held.1));
        let outcome = tracker.observe(at(seen.0, seen.1));
        assert_eq!(outcome.kind().as_str(), kind, "{name}: {outcome:?}");
        assert_eq!(outcome.became_final(), became_final, "{name}");
        assert_eq!(tracker.latest(), Some(&at(kept.0, kept.1)), "{name}");
        assert_eq!(outcome.current(), &at(kept.0, kept.1), "{name}");
        assert_eq!(outcome.is_conflict(), kind == "conflict", "{name}");
    }
}

#[test]
fn outcomes_name_the_observations_involved() {
    let mut tracker = Tracker::new();
    assert_eq!(
        tracker.observe(at(Back, 2)),
        Outcome::Advanced {
            previous: None,
            current: at(Back, 2)
        }
    );
    assert_eq!(
        tracker.observe(at(InProgress, 3)),
        Outcome::Advanced {
            previous: Some(at(Back, 2)),
            current: at(InProgress, 3)
        }
    );
    assert_eq!(
        tracker.observe(at(Back, 2)),
        Outcome::Stale {
            current: at(InProgress, 3),
            stale: at(Back, 2)
        }
    );
    assert_eq!(
        tracker.observe(at(InProgress, 3)),
        Outcome::Duplicate {
            current: at(InProgress, 3)
        }
    );
    assert_eq!(
        tracker.observe(at(Waiting, 4)),
        Outcome::Conflict {
            kept: at(InProgress, 3),
            rejected: at(Waiting, 4),
            replaced: false
        }
    );
    assert_eq!(
        tracker.observe(at(Completed, 1)),
        Outcome::Conflict {
            kept: at(Completed, 1),
            rejected: at(InProgress, 3),
            replaced: true
        }
    );
}

#[test]
fn a_session_done_is_signalled_once_across_workers() {
    // Two workers see the same four deliveries in opposite orders, then merge.
    let deliveries = [
        at(InProgress, 1),
        at(Back, 2),
        at(InProgress, 3),
        at(Completed, 4),
    ];
    let (mut a, mut b) = (Tracker::new(), Tracker::new());
    let fired_a = deliveries
        .iter()
        .filter(|d| a.observe(**d).became_final())
        .count();
    let fired_b = deliveries
        .iter()
        .rev()
        .filter(|d| b.observe(**d).became_final())
        .count();
    assert_eq!((fired_a, fired_b), (1, 1));
    assert_eq!(a, b);
    a.merge(&b);
    assert_eq!(a.status(), Some(Completed));
}

#[test]
fn merging_an_empty_tracker_changes_nothing() {
    let mut tracker = Tracker::new();
    assert_eq!(tracker.merge(&Tracker::new()), None);
    assert_eq!(tracker, Tracker::<u32>::default());
    tracker.observe(at(Back, 1));
    let before = tracker;
    assert_eq!(tracker.merge(&Tracker::new()), None);
    assert_eq!(tracker, before);
    let mut empty = Tracker::new();
    assert_eq!(
        empty.merge(&before),
        Some(Outcome::Advanced {
            previous: None,
            current: at(Back, 1)
        })
    );
    assert_eq!(empty, before);
}

#[test]
fn merge_says_what_the_other_trackers_observation_meant() {
    let web: Tracker<u32> = [at(Back, 2)].into_iter().collect();
    let batch: Tracker<u32> = [at(Completed, 3)].into_iter().collect();
    let conflicting: Tracker<u32> = [at(Cancelled, 1)].into_iter().collect();
    // Each merge returns exactly what `observe` of the other's observation returns.
    for (mut into, from) in [(web, batch), (batch, web), (batch, conflicting), (web, web)] {
        let mut observed = into;
        let expected = observed.observe(*from.latest().unwrap());
        assert_eq!(into.merge(&from), Some(expected));
        assert_eq!(into, observed);
    }
    let mut web = web;
    assert!(web.merge(&batch).unwrap().became_final());
    assert_eq!(web.merge(&batch).unwrap().kind(), OutcomeKind::Duplicate);
}

#[test]
fn disposition_tells_the_batch_what_to_do() {
    let expiry = Expiry::new(100, 90);
    let never_seen = Tracker::<u32>::new();
    assert_eq!(
        never_seen.disposition(&89, Some(&expiry)),
        Disposition::Open
    );
    assert_eq!(
        never_seen.disposition(&90, Some(&expiry)),
        Disposition::ReadBeforeExpiry,
        "the last-read window opens at last_read_from"
    );
    assert_eq!(
        never_seen.disposition(&101, Some(&expiry)),
        Disposition::Expired
    );
    let open: Tracker<u32> = [at(Error, 10)].into_iter().collect();
    assert_eq!(
        open.disposition(&99, Some(&expiry)),
        Disposition::ReadBeforeExpiry
    );
    assert_eq!(
        open.disposition(&100, Some(&expiry)),
        Disposition::Expired,
        "expires_at itself is past"
    );
    assert_eq!(
        open.disposition(&u32::MAX, None),
        Disposition::Open,
        "an unknown expiry never expires"
    );
    let no_window = Expiry::new(100, 100);
    assert_eq!(open.disposition(&99, Some(&no_window)), Disposition::Open);
    let done: Tracker<u32> = [at(Error, 10), at(Cancelled, 120)].into_iter().collect();
    assert_eq!(
        done.disposition(&500, Some(&expiry)),
        Disposition::Final(Cancelled)
    );
    assert_eq!(
        done.disposition(&50, Some(&expiry)),
        Disposition::Final(Cancelled)
    );
    assert_eq!(done.disposition(&95, None), Disposition::Final(Cancelled));
}

#[test]
fn an_expiry_never_opens_its_last_read_window_after_expiry() {
    let late = Expiry::new(100, 150);
    assert_eq!((*late.expires_at(), *late.last_read_from()), (100, 100));
    let early = Expiry::new(100, 0);
    assert_eq!((*early.expires_at(), *early.last_read_from()), (100, 0));
    let open: Tracker<u32> = [at(Back, 1)].into_iter().collect();
    assert_eq!(open.disposition(&99, Some(&late)), Disposition::Open);
    assert_eq!(
        open.disposition(&0, Some(&early)),
        Disposition::ReadBeforeExpiry
    );
}

#[test]
fn outcomes_display_their_kind_then_what_happened() {
    let mut tracker = Tracker::new();
    let first = tracker.observe(at(InProgress, 1));
    assert_eq!(
        first.to_string(),
        "advanced: IN_PROGRESS@1, the first observation"
    );
    let next = tracker.observe(at(Completed, 3));
    assert_eq!(next.to_string(), "advanced: IN_PROGRESS@1 -> COMPLETED@3");
    let again = tracker.observe(at(Completed, 3));
    assert_eq!(again.to_string(), "duplicate: COMPLETED@3 again");
    let late = tracker.observe(at(Back, 2));
    assert_eq!(late.to_string(), "stale: BACK@2 arrived after COMPLETED@3");
    let conflict = tracker.observe(at(Cancelled, 4));
    assert_eq!(
        conflict.to_string(),
        "conflict: COMPLETED@3 and CANCELLED@4 cannot both come from one legal history; \
         keeping COMPLETED@3"
    );
    for outcome in [first, next, again, late, conflict] {
        assert!(
            outcome
                .to_string()
                .starts_with(&format!("{}: ", outcome.kind()))
        );
    }
}

#[test]
fn kinds_and_dispositions_display_their_names() {
    let kinds: Vec<String> = OutcomeKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(kinds, ["advanced", "duplicate", "stale", "conflict"]);
    assert_eq!(format!("[{:>9}]", OutcomeKind::Stale), "[    stale]");
    let dispositions = [
        Disposition::Final(Completed),
        Disposition::Open,
        Disposition::ReadBeforeExpiry,
        Disposition::Expired,
    ]
    .map(|d| d.to_string());
    assert_eq!(
        dispositions,
        ["final COMPLETED", "open", "read_before_expiry", "expired"]
    );
}

#[test]
fn phases_and_tie_ranks_are_as_documented() {
    let phases: Vec<Phase> = Status::ALL.iter().map(|s| s.phase()).collect();
    use Phase::{Final as F, Open as O, Waiting as W};
    assert_eq!(phases, [W, O, F, O, F, O, O, F]);
    for status in Status::ALL {
        assert_eq!(
            status.phase() == Phase::Final,
            status.is_final(),
            "{status}"
        );
    }
    let mut by_rank = Status::ALL;
    by_rank.sort_by_key(|s| s.tie_rank());
    assert_eq!(
        by_rank,
        [
            Waiting, InProgress, Error, Back, Failed, Cancelled, Disabled, Completed
        ]
    );
    assert_eq!(Phase::Open.to_string(), "open");
    assert_eq!(format!("{:>8}", Phase::Final), "   final");
}

#[test]
fn observations_display_as_status_at_time() {
    assert_eq!(at(Back, 7).to_string(), "BACK@7");
}

#[test]
fn consistency_is_what_the_spec_says() {
    // Same final status at any times: one history (later polls repeat it).
    assert!(at(Completed, 5).is_consistent_with(&at(Completed, 9)));
    assert!(at(Completed, 9).is_consistent_with(&at(Completed, 5)));
    // Same open status at different times: a retry in between.
    assert!(at(Failed, 2).is_consistent_with(&at(Failed, 6)));
    // WAITING twice at different times: WAITING is never re-entered.
    assert!(!at(Waiting, 1).is_consistent_with(&at(Waiting, 2)));
    assert!(at(Waiting, 1).is_consistent_with(&at(Waiting, 1)));
    // The earlier must reach the later, whichever is the receiver.
    assert!(at(Back, 2).is_consistent_with(&at(Completed, 3)));
    assert!(at(Completed, 3).is_consistent_with(&at(Back, 2)));
    assert!(!at(Completed, 2).is_consistent_with(&at(Back, 3)));
    assert!(!at(Back, 3).is_consistent_with(&at(Completed, 2)));
    // Equal times: either direction will do.
    assert!(at(InProgress, 4).is_consistent_with(&at(Waiting, 4)));
    assert!(at(Waiting, 4).is_consistent_with(&at(InProgress, 4)));
    assert!(!at(Completed, 4).is_consistent_with(&at(Cancelled, 4)));
}

/// Precedence as `Observation::cmp_precedence` documents it: the later phase; in the same
/// phase the later time, except among finals where the earlier wins; then the tie rank.
fn documented_precedence(a: &Observation<u32>, b: &Observation<u32>) -> Ordering {
    a.status
        .phase()
        .cmp(&b.status.phase())
        .then_with(|| match a.status.phase() {
            Phase::Waiting | Phase::Open => a.updated_at.cmp(&b.updated_at),
            Phase::Final => b.updated_at.cmp(&a.updated_at),
        })
        .then_with(|| a.status.tie_rank().cmp(&b.status.tie_rank()))
}

/// Consistency as `Observation::is_consistent_with` documents it.
fn documented_consistency(a: &Observation<u32>, b: &Observation<u32>) -> bool {
    let same = a.status == b.status && (a.status.is_final() || a.updated_at == b.updated_at);
    same || match a.updated_at.cmp(&b.updated_at) {
        Ordering::Less => a.status.can_reach(b.status),
        Ordering::Greater => b.status.can_reach(a.status),
        Ordering::Equal => a.status.can_reach(b.status) || b.status.can_reach(a.status),
    }
}

#[test]
fn every_case_of_two_observations_follows_the_documented_rules() {
    // Every held status, delivered status and order of their times: all that precedence,
    // consistency and an outcome depend on (the tracker works them out at compile time).
    let mut kinds = std::collections::BTreeMap::<_, usize>::new();
    for (held_status, seen_status) in Status::ALL
        .into_iter()
        .flat_map(|h| Status::ALL.map(|s| (h, s)))
    {
        for (held_at, seen_at) in [(2, 1), (2, 2), (2, 3)] {
            let (held, seen) = (at(held_status, held_at), at(seen_status, seen_at));
            let case = format!("{held} then {seen}");
            let precedence = documented_precedence(&seen, &held);
            assert_eq!(seen.cmp_precedence(&held), precedence, "{case}");
            assert_eq!(held.cmp_precedence(&seen), precedence.reverse(), "{case}");
            let consistent = documented_consistency(&held, &seen);
            assert_eq!(held.is_consistent_with(&seen), consistent, "{case}");
            assert_eq!(seen.is_consistent_with(&held), consistent, "{case}");

            let mut tracker = Tracker::new();
            tracker.observe(held);
            let outcome = tracker.observe(seen);
            let replaced = precedence == Ordering::Greater;
            let (kept, other) = if replaced { (seen, held) } else { (held, seen) };
            let duplicate = seen.status == held.status
                && (seen.status.is_final() || seen.updated_at == held.updated_at);
            let expected = match (duplicate, consistent, replaced) {
                (true, _, _) => Outcome::Duplicate { current: kept },
                (false, true, true) => Outcome::Advanced {
                    previous: Some(other),
                    current: kept,
                },
                (false, true, false) => Outcome::Stale {
                    current: kept,
                    stale: other,
                },
                (false, false, replaced) => Outcome::Conflict {
                    kept,
                    rejected: other,
                    replaced,
                },
            };
            assert_eq!(outcome, expected, "{case}");
            assert_eq!(tracker.latest(), Some(&kept), "{case}");
            *kinds.entry(outcome.kind()).or_default() += 1;
        }
    }
    // 192 cases, every kind among them.
    assert_eq!(kinds.values().sum::<usize>(), 8 * 8 * 3);
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}
