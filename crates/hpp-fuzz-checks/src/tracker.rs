//! The properties of the `tracker` fuzz target, in one function with two callers: the fuzz
//! target (`fuzz/fuzz_targets/tracker.rs`) and the corpus replay (`tests/corpus_replay.rs` of this crate),
//! which feeds it every file of `fuzz/corpus/tracker/`.
//!
//! The input is decoded with `arbitrary` into two cut points, an `expires_at` and a `now`,
//! and a sequence of observations with `u8` times (so that equal times are common), legal
//! or not. The sequence is shown to trackers one by one, in sorted orders and in pieces
//! that are then merged; every outcome is checked against SPEC §4.

use core::cmp::Ordering;

use arbitrary::{Arbitrary, Unstructured};
use hpp_status::{Disposition, Expiry, Observation, Outcome, OutcomeKind, Status, Tracker};

type Obs = Observation<u8>;

/// The pairwise checks (precedence against the SPEC table, consistency) look at the first
/// this many observations only, so that a long input costs linear time.
const PAIRWISE: usize = 24;

/// Checks every property on one input; panics (a fuzz finding) when one fails.
pub fn check(data: &[u8]) {
    let Ok(((cut_a, cut_b), (expires_at, now), deliveries)) =
        <((u8, u8), (u8, u8), Vec<Obs>)>::arbitrary_take_rest(Unstructured::new(data))
    else {
        return;
    };
    check_pairs(&deliveries[..deliveries.len().min(PAIRWISE)]);
    // The expiry reuses bytes the input already has, so the committed corpus keeps its
    // meaning: 255 stands for an unknown expiry, and the last-read window opens up to 31
    // ticks before `expires_at`.
    let expiry = (expires_at != u8::MAX)
        .then(|| Expiry::new(expires_at, expires_at.saturating_sub(cut_a % 32)));
    let expiry = expiry.as_ref();

    // One by one, in the order given: every outcome as SPEC §4.3 says.
    let mut tracker = Tracker::new();
    check_disposition(&tracker, expiry, now);
    for &seen in &deliveries {
        let held = tracker.latest().copied();
        let outcome = tracker.observe(seen);
        check_outcome(held, seen, &outcome, &tracker);
        check_disposition(&tracker, expiry, now);
    }

    // The maximum by precedence, whatever the order.
    let maximum = deliveries.iter().max_by(|a, b| a.cmp_precedence(b));
    assert_eq!(
        tracker.latest(),
        maximum,
        "not the maximum of {deliveries:?}"
    );
    assert_eq!(
        deliveries.iter().copied().collect::<Tracker<u8>>(),
        tracker,
        "collect"
    );
    let mut sorted = deliveries.clone();
    sorted.sort_by(Obs::cmp_precedence);
    assert_eq!(tracker_of_ascending(&sorted), tracker, "ascending order");
    sorted.reverse();
    assert_eq!(tracker_of_descending(&sorted), tracker, "descending order");

    check_merges(&deliveries, [cut_a, cut_b], &tracker);
}

/// Precedence and consistency on every pair of `deliveries`.
fn check_pairs(deliveries: &[Obs]) {
    for a in deliveries {
        for b in deliveries {
            let order = a.cmp_precedence(b);
            assert_eq!(
                order,
                precedence_key(a).cmp(&precedence_key(b)),
                "{a} vs {b}"
            );
            assert_eq!(order == Ordering::Equal, a == b, "{a} vs {b}: equal");
            assert_eq!(
                order,
                b.cmp_precedence(a).reverse(),
                "{a} vs {b}: antisymmetry"
            );
            let consistent = a.is_consistent_with(b);
            assert_eq!(consistent, spec_consistent(a, b), "{a} with {b}");
            assert_eq!(
                consistent,
                b.is_consistent_with(a),
                "{a} with {b}: symmetry"
            );
        }
    }
}

/// Precedence as SPEC §4.1's table writes it: (phase, time within the phase, tie rank).
/// For finals the earlier time wins, hence `255 - time`.
fn precedence_key(seen: &Obs) -> (u8, u8, u8) {
    let (phase, tie_rank) = match seen.status {
        Status::Waiting => (1, 0),
        Status::InProgress => (2, 1),
        Status::Error => (2, 2),
        Status::Back => (2, 3),
        Status::Failed => (2, 4),
        Status::Cancelled => (3, 5),
        Status::Disabled => (3, 6),
        Status::Completed => (3, 7),
    };
    let time = if phase == 3 {
        u8::MAX - seen.updated_at
    } else {
        seen.updated_at
    };
    (phase, time, tie_rank)
}

/// Consistency as SPEC §4.2 words it.
fn spec_consistent(a: &Obs, b: &Obs) -> bool {
    let (s, t) = (a.status, b.status);
    a == b
        || (s == t && s.is_final())
        || match a.updated_at.cmp(&b.updated_at) {
            Ordering::Less => s.can_reach(t),
            Ordering::Greater => t.can_reach(s),
            Ordering::Equal => s.can_reach(t) || t.can_reach(s),
        }
}

/// One delivery: `seen` shown to a tracker that held `held`, giving `outcome`, after which
/// the tracker is `tracker`.
fn check_outcome(held: Option<Obs>, seen: Obs, outcome: &Outcome<u8>, tracker: &Tracker<u8>) {
    let after = *tracker
        .latest()
        .expect("a tracker shown something holds something");
    assert_eq!(outcome.current(), &after, "{outcome:?}: current");
    assert_eq!(tracker.status(), Some(after.status));
    // The first row of SPEC §4.3 that applies.
    let expected = match held {
        None => Outcome::Advanced {
            previous: None,
            current: seen,
        },
        Some(held) => {
            let replaced = seen.cmp_precedence(&held) == Ordering::Greater;
            let (kept, other) = if replaced { (seen, held) } else { (held, seen) };
            if seen.status == held.status
                && (seen.status.is_final() || seen.updated_at == held.updated_at)
            {
                Outcome::Duplicate { current: kept }
            } else if spec_consistent(&held, &seen) {
                if replaced {
                    Outcome::Advanced {
                        previous: Some(held),
                        current: seen,
                    }
                } else {
                    Outcome::Stale {
                        current: held,
                        stale: seen,
                    }
                }
            } else {
                Outcome::Conflict {
                    kept,
                    rejected: other,
                    replaced,
                }
            }
        }
    };
    assert_eq!(
        *outcome, expected,
        "{seen} shown to a tracker holding {held:?}"
    );
    let kind = match outcome {
        Outcome::Advanced { .. } => OutcomeKind::Advanced,
        Outcome::Duplicate { .. } => OutcomeKind::Duplicate,
        Outcome::Stale { .. } => OutcomeKind::Stale,
        Outcome::Conflict { .. } => OutcomeKind::Conflict,
    };
    assert_eq!(outcome.kind(), kind);
    assert!(
        outcome.to_string().starts_with(&format!("{kind}: ")),
        "{outcome}"
    );
    let consistent = held.is_none_or(|held| held.is_consistent_with(&seen));
    assert_eq!(outcome.is_conflict(), !consistent, "{outcome:?}");
    // Final for the first time, or another final than before.
    let became_final =
        after.status.is_final() && held.map(|held| held.status) != Some(after.status);
    assert_eq!(outcome.became_final(), became_final, "{outcome:?}");
}

/// `disposition` is `Final` exactly when the tracker holds a final status; otherwise, with a
/// known expiry, `Expired` from `expires_at` on, `ReadBeforeExpiry` from the last-read
/// window on, `Open` before; `Open` when the expiry is unknown.
fn check_disposition(tracker: &Tracker<u8>, expiry: Option<&Expiry<u8>>, now: u8) {
    let expected = match (tracker.status(), expiry) {
        (Some(status), _) if status.is_final() => Disposition::Final(status),
        (_, Some(expiry)) if now >= *expiry.expires_at() => Disposition::Expired,
        (_, Some(expiry)) if now >= *expiry.last_read_from() => Disposition::ReadBeforeExpiry,
        _ => Disposition::Open,
    };
    assert_eq!(
        tracker.disposition(&now, expiry),
        expected,
        "{tracker:?} at {now}, expiry {expiry:?}"
    );
}

/// Shown in ascending order of precedence, every delivery is kept: never stale, never a
/// conflict the tracker resisted.
fn tracker_of_ascending(sorted: &[Obs]) -> Tracker<u8> {
    let mut tracker = Tracker::new();
    for &seen in sorted {
        let outcome = tracker.observe(seen);
        assert_eq!(outcome.current(), &seen, "ascending: {outcome:?}");
        assert!(
            !matches!(
                outcome,
                Outcome::Stale { .. }
                    | Outcome::Conflict {
                        replaced: false,
                        ..
                    }
            ),
            "ascending: {outcome:?}"
        );
    }
    tracker
}

/// Shown in descending order of precedence, the first delivery is kept for good.
fn tracker_of_descending(sorted: &[Obs]) -> Tracker<u8> {
    let mut tracker = Tracker::new();
    for &seen in sorted {
        let outcome = tracker.observe(seen);
        assert_eq!(outcome.current(), &sorted[0], "descending: {outcome:?}");
        assert!(
            !matches!(
                outcome,
                Outcome::Advanced {
                    previous: Some(_),
                    ..
                } | Outcome::Conflict { replaced: true, .. }
            ),
            "descending: {outcome:?}"
        );
    }
    tracker
}

/// Merge laws, on the deliveries split at two points into three trackers.
fn check_merges(deliveries: &[Obs], cuts: [u8; 2], whole: &Tracker<u8>) {
    let mut cuts = cuts.map(|cut| usize::from(cut) % (deliveries.len() + 1));
    cuts.sort_unstable();
    let tracker_of = |part: &[Obs]| part.iter().copied().collect::<Tracker<u8>>();
    let a = tracker_of(&deliveries[..cuts[0]]);
    let b = tracker_of(&deliveries[cuts[0]..cuts[1]]);
    let c = tracker_of(&deliveries[cuts[1]..]);
    let merged = |x: &Tracker<u8>, y: &Tracker<u8>| {
        let mut m = *x;
        m.merge(y);
        m
    };
    let empty = Tracker::new();
    for t in [&a, &b, &c] {
        assert_eq!(merged(t, t), *t, "idempotent");
        assert_eq!(merged(t, &empty), *t, "empty on the right");
        assert_eq!(merged(&empty, t), *t, "empty on the left");
    }
    assert_eq!(merged(&a, &b), merged(&b, &a), "commutative");
    assert_eq!(merged(&b, &c), merged(&c, &b), "commutative");
    let ab_c = merged(&merged(&a, &b), &c);
    assert_eq!(ab_c, merged(&a, &merged(&b, &c)), "associative");
    assert_eq!(ab_c, merged(&merged(&a, &c), &b), "any grouping");
    assert_eq!(ab_c, *whole, "merged pieces differ from the whole");
    assert_eq!(
        merged(&ab_c, &b),
        ab_c,
        "merging a part again changes nothing"
    );
}
