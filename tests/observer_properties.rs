//! Properties of the tracker on legal histories delivered in any order, with duplicates
//! and losses, and on arbitrary (illegal) observations. 10 000 cases each.
#![cfg(feature = "proptest")]

use hpp_status::strategy::{any_observation, history_with_deliveries};
use hpp_status::{Observation, Outcome, Tracker};
use proptest::prelude::*;

type Obs = Observation<u64>;

fn tracker_of(deliveries: &[Obs]) -> Tracker<u64> {
    deliveries.iter().copied().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Merge is commutative, associative and idempotent, and merging trackers that split
    /// the deliveries equals one tracker shown them all.
    #[test]
    fn merge_is_commutative_associative_and_idempotent(
        (_history, deliveries) in history_with_deliveries(12, 1..=3),
        cuts in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
    ) {
        let mut cut = [cuts.0.index(deliveries.len() + 1), cuts.1.index(deliveries.len() + 1)];
        cut.sort_unstable();
        let a = tracker_of(&deliveries[..cut[0]]);
        let b = tracker_of(&deliveries[cut[0]..cut[1]]);
        let c = tracker_of(&deliveries[cut[1]..]);
        let merged = |x: &Tracker<u64>, y: &Tracker<u64>| { let mut m = *x; m.merge(y); m };
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        prop_assert_eq!(merged(&a, &a), a);
        prop_assert_eq!(merged(&merged(&a, &b), &c), tracker_of(&deliveries));
    }

    /// Whatever the order, duplication or loss of deliveries, a tracker shown the last
    /// observation of a legal history ends on it.
    #[test]
    fn the_last_observation_wins_when_delivered(
        (history, deliveries) in history_with_deliveries(16, 0..=4),
    ) {
        let last = *history.last().unwrap();
        let tracker = tracker_of(&deliveries);
        if deliveries.contains(&last) {
            prop_assert_eq!(tracker.latest(), Some(&last));
        } else if let Some(latest) = tracker.latest() {
            prop_assert!(deliveries.contains(latest));
            prop_assert!(latest.updated_at < last.updated_at);
        }
    }

    /// `became_final` fires exactly once when a final observation is delivered, never
    /// otherwise; no conflict is reported for a legal history; a final status once held is
    /// never replaced by another.
    #[test]
    fn legal_histories_finish_once_and_never_conflict(
        (_history, deliveries) in history_with_deliveries(16, 0..=4),
    ) {
        let mut tracker = Tracker::new();
        let mut fired = 0;
        let mut held_final = None;
        for seen in &deliveries {
            let outcome = tracker.observe(*seen);
            prop_assert!(!outcome.is_conflict(), "{:?}", outcome);
            prop_assert_eq!(Some(outcome.current()), tracker.latest());
            fired += usize::from(outcome.became_final());
            if let Some(final_status) = held_final {
                prop_assert_eq!(tracker.status(), Some(final_status));
            } else if tracker.status().is_some_and(|s| s.is_final()) {
                held_final = tracker.status();
            }
        }
        let delivered_final = deliveries.iter().any(|seen| seen.status.is_final());
        prop_assert_eq!(fired, usize::from(delivered_final));
    }

    /// Even for illegal input, the tracker ends on the same observation whatever the
    /// delivery order: the maximum by precedence, as when shown in sorted order.
    #[test]
    fn order_never_matters_even_for_illegal_input(
        deliveries in prop::collection::vec(any_observation(8), 0..24).prop_shuffle(),
    ) {
        let mut sorted = deliveries.clone();
        sorted.sort_by(|a, b| a.cmp_precedence(b));
        let shuffled = tracker_of(&deliveries);
        prop_assert_eq!(shuffled, tracker_of(&sorted));
        prop_assert_eq!(shuffled.latest(), sorted.last());
        let mut reversed = sorted;
        reversed.reverse();
        prop_assert_eq!(shuffled, tracker_of(&reversed));
    }

    /// Precedence is a total order whose equality is `==`.
    #[test]
    fn precedence_is_a_total_order(a in any_observation(4), b in any_observation(4), c in any_observation(4)) {
        use std::cmp::Ordering::*;
        prop_assert_eq!(a.cmp_precedence(&b), b.cmp_precedence(&a).reverse());
        prop_assert_eq!(a.cmp_precedence(&b) == Equal, a == b);
        if a.cmp_precedence(&b) != Less && b.cmp_precedence(&c) != Less {
            prop_assert_ne!(a.cmp_precedence(&c), Less);
        }
    }

    /// Every outcome is classified as the specification says, for any pair of observations.
    #[test]
    fn outcomes_follow_the_classification_rules(held in any_observation(6), seen in any_observation(6)) {
        let mut tracker = Tracker::new();
        let first = tracker.observe(held);
        let is_advanced = matches!(first, Outcome::Advanced { previous: None, .. });
        prop_assert!(is_advanced);
        prop_assert_eq!(first.became_final(), held.status.is_final());
        let outcome = tracker.observe(seen);
        let replaces = seen.cmp_precedence(&held).is_gt();
        let kept = if replaces { seen } else { held };
        prop_assert_eq!(tracker.latest(), Some(&kept));
        prop_assert_eq!(outcome.current(), &kept);
        let duplicate = seen.status == held.status
            && (seen.status.is_final() || seen.updated_at == held.updated_at);
        let consistent = held.is_consistent_with(&seen);
        prop_assert_eq!(consistent, seen.is_consistent_with(&held), "consistency is symmetric");
        let expected_kind = match (duplicate, consistent, replaces) {
            (true, _, _) => "duplicate",
            (false, true, true) => "advanced",
            (false, true, false) => "stale",
            (false, false, _) => "conflict",
        };
        prop_assert_eq!(outcome.kind().as_str(), expected_kind);
        let changed_final = kept.status.is_final() && kept.status != held.status;
        prop_assert_eq!(outcome.became_final(), changed_final);
    }
}
