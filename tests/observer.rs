//! The tracker's outcomes on named scenarios, one row each.

use std::cmp::Ordering;

use hpp_status::{Disposition, Observation, Outcome, Phase, Status, Tracker};

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
        assert_eq!(outcome.kind(), kind, "{name}: {outcome:?}");
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
    tracker.merge(&Tracker::new());
    assert_eq!(tracker, Tracker::<u32>::default());
    tracker.observe(at(Back, 1));
    let before = tracker;
    tracker.merge(&Tracker::new());
    assert_eq!(tracker, before);
    let mut empty = Tracker::new();
    empty.merge(&before);
    assert_eq!(empty, before);
}

#[test]
fn disposition_tells_the_batch_what_to_do() {
    let never_seen = Tracker::<u32>::new();
    assert_eq!(never_seen.disposition(&100, &99), Disposition::Open);
    assert_eq!(never_seen.disposition(&100, &101), Disposition::Expired);
    let open: Tracker<u32> = [at(Error, 10)].into_iter().collect();
    assert_eq!(open.disposition(&100, &99), Disposition::Open);
    assert_eq!(
        open.disposition(&100, &100),
        Disposition::Expired,
        "expires_at itself is past"
    );
    let done: Tracker<u32> = [at(Error, 10), at(Cancelled, 120)].into_iter().collect();
    assert_eq!(done.disposition(&100, &500), Disposition::Final(Cancelled));
    assert_eq!(done.disposition(&100, &50), Disposition::Final(Cancelled));
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
