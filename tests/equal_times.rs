//! SPEC §4.3 with equal `updated_at`s: two steps of a legal history can share a millisecond,
//! and then no tracker can know which came last (the same deliveries come from both
//! orders). What the tracker promises instead, checked on legal histories whose consecutive
//! steps share their time one time in four (feature `proptest`).
#![cfg(feature = "proptest")]

use hpp_status::strategy::history_with_ties_and_deliveries;
use hpp_status::{Observation, Status, Tracker};
use proptest::prelude::*;

type Obs = Observation<u64>;

/// The reproduction: `W@0, IP@0, FAILED@1, IP@1` is a legal history that ends on `IP@1`, and
/// `W@0, IP@0, BACK@0, IP@1, FAILED@1` (declined in the millisecond the consumer came back)
/// one that ends on `FAILED@1`; delivered `[FAILED@1, IP@1]` (the rest lost), both look the
/// same, so no tracker can end on "the last observation" of both.
#[test]
fn equal_times_hide_which_step_came_last() {
    let history = [
        Observation::new(Status::Waiting, 0),
        Observation::new(Status::InProgress, 0),
        Observation::new(Status::Failed, 1),
        Observation::new(Status::InProgress, 1),
    ];
    for pair in history.windows(2) {
        assert!(pair[0].status.can_transition_to(pair[1].status));
    }
    let other = [
        Observation::new(Status::Waiting, 0),
        Observation::new(Status::InProgress, 0),
        Observation::new(Status::Back, 0),
        Observation::new(Status::InProgress, 1),
        Observation::new(Status::Failed, 1),
    ];
    for pair in other.windows(2) {
        assert!(pair[0].status.can_transition_to(pair[1].status));
    }
    let delivered = [history[2], history[3]];
    let tracker: Tracker<u64> = delivered.into_iter().collect();
    let reversed: Tracker<u64> = delivered.into_iter().rev().collect();
    assert_eq!(tracker, reversed);
    // It ends on the one precedence picks among those of the last time: FAILED (it ends a
    // visit), not the history's last, IN_PROGRESS.
    assert_eq!(tracker.latest(), Some(&history[2]));
}

/// What SPEC §4.3 promises: the maximum by precedence of the delivered observations that
/// share the last observation's `updated_at`.
fn promised(last: Obs, deliveries: &[Obs]) -> Obs {
    deliveries
        .iter()
        .copied()
        .filter(|seen| seen.updated_at == last.updated_at)
        .max_by(|a, b| a.cmp_precedence(b))
        .expect("the last observation is delivered")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Delivered, the last observation is what the tracker ends on when it is final or alone
    /// at its time; otherwise the tracker ends on the observation of that time precedence
    /// picks, whatever the delivery order.
    #[test]
    fn the_tracker_ends_on_the_last_time_s_maximum(
        (history, deliveries) in history_with_ties_and_deliveries(16, 0..=3),
    ) {
        let last = *history.last().unwrap();
        let tracker: Tracker<u64> = deliveries.iter().copied().collect();
        if deliveries.contains(&last) {
            let expected = promised(last, &deliveries);
            prop_assert_eq!(tracker.latest(), Some(&expected));
            let alone = deliveries
                .iter()
                .all(|seen| seen.updated_at != last.updated_at || *seen == last);
            if last.status.is_final() || alone {
                prop_assert_eq!(expected, last);
            }
        } else if let Some(latest) = tracker.latest() {
            prop_assert!(deliveries.contains(latest));
            prop_assert!(latest.updated_at <= last.updated_at);
        }
    }

    /// Ties change nothing else: no conflict, and `became_final` once exactly when a final
    /// observation is delivered.
    #[test]
    fn ties_never_conflict_and_finish_once(
        (_history, deliveries) in history_with_ties_and_deliveries(16, 0..=3),
    ) {
        let mut tracker = Tracker::new();
        let mut fired = 0;
        for seen in &deliveries {
            let outcome = tracker.observe(*seen);
            prop_assert!(!outcome.is_conflict(), "{:?}", outcome);
            fired += usize::from(outcome.became_final());
        }
        let delivered_final = deliveries.iter().any(|seen| seen.status.is_final());
        prop_assert_eq!(fired, usize::from(delivered_final));
    }
}
