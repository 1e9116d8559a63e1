//! Proptest strategies for legal session histories and their deliveries (feature
//! `proptest`), so that you can property-test your own integration the way this crate
//! tests its [`Tracker`](crate::Tracker).
//!
//! Timestamps are milliseconds as `u64`; map them to your own type if you need to.
//!
//! ```
//! use hpp_status::strategy::history_with_deliveries;
//! use hpp_status::Tracker;
//! use proptest::prelude::*;
//!
//! proptest!(|((history, deliveries) in history_with_deliveries(12, 1..=4))| {
//!     // Your handler goes here; this one is the crate's own tracker.
//!     let tracker: Tracker<u64> = deliveries.into_iter().collect();
//!     prop_assert_eq!(tracker.latest(), history.last());
//! });
//! ```

use alloc::vec::Vec;
use core::ops::RangeInclusive;

use proptest::collection::vec;
use proptest::prelude::*;

use crate::{Observation, Status, StatusSet};

/// The most steps a history takes: a larger `max_steps` is read as this, so that a
/// strategy never tries to build an unbounded history (`legal_history(usize::MAX)` makes
/// histories of up to 4,096 steps).
pub const MAX_HISTORY_STEPS: usize = 4_096;

/// The most copies of one observation [`deliveries`] makes: a range reaching further is cut
/// here, so that `deliveries(history, 0..=usize::MAX)` stays bounded.
pub const MAX_COPIES: usize = 64;

/// A legal history: starts at `WAITING`, then takes up to `max_steps` random steps of the
/// transition table (stopping early at a final status), each 1 ms to 1 minute after the
/// previous one. Timestamps strictly increase. The walk prefers open statuses three times
/// in four, so that histories are long and full of retries.
///
/// `max_steps` above [`MAX_HISTORY_STEPS`] is read as [`MAX_HISTORY_STEPS`]; 0 gives the
/// history `[WAITING]` alone.
///
/// ```
/// use hpp_status::strategy::legal_history;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let history = legal_history(usize::MAX).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!(history.len() <= 4_097);
/// ```
pub fn legal_history(max_steps: usize) -> impl Strategy<Value = Vec<Observation<u64>>> {
    walk(max_steps, 1..=60_000u64)
}

/// A legal history like [`legal_history`]'s, but two consecutive steps may share their
/// `updated_at` (one time in four), as they can when the API stamps them in the same
/// millisecond: timestamps never decrease.
///
/// ```
/// use hpp_status::strategy::legal_history_with_ties;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let history = legal_history_with_ties(8).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!(history.windows(2).all(|pair| pair[0].updated_at <= pair[1].updated_at));
/// ```
pub fn legal_history_with_ties(max_steps: usize) -> impl Strategy<Value = Vec<Observation<u64>>> {
    walk(max_steps, prop_oneof![3 => 1..=60_000u64, 1 => Just(0)])
}

/// The walk of [`legal_history`], with gaps between steps drawn from `gap` (milliseconds, at
/// most a minute, so that 4,096 steps from below 2^41 never overflow).
fn walk(
    max_steps: usize,
    gap: impl Strategy<Value = u64>,
) -> impl Strategy<Value = Vec<Observation<u64>>> {
    let max_steps = max_steps.min(MAX_HISTORY_STEPS);
    let choices = vec((any::<u8>(), gap), 0..=max_steps);
    (0u64..1 << 41, choices).prop_map(|(start, choices)| {
        let mut now = Observation::new(Status::Waiting, start);
        let mut history = Vec::with_capacity(choices.len() + 1);
        history.push(now);
        for (choice, gap) in choices {
            // Three times in four, stay open if possible, so that histories have retries.
            let all = now.status.successors();
            let open: StatusSet = all.iter().filter(|s| !s.is_final()).collect();
            let next = if choice % 4 == 0 || open.is_empty() {
                all
            } else {
                open
            };
            let Some(status) = next.iter().nth(usize::from(choice / 4) % next.len().max(1)) else {
                break; // a final status: nothing follows
            };
            now = Observation::new(status, now.updated_at + gap);
            history.push(now);
        }
        history
    })
}

/// The deliveries of `history` to a merchant: each observation `copies` times (0 for a
/// lost callback never recovered, more for retries and polls), in any order.
///
/// A range reaching past [`MAX_COPIES`] is cut there; an empty range (`3..=1`) is read as
/// its start alone (`3..=3`, cut the same way).
///
/// ```
/// use hpp_status::strategy::deliveries;
/// use hpp_status::{Observation, Status};
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let history = vec![Observation::new(Status::Waiting, 0)];
/// #[allow(clippy::reversed_empty_ranges)]
/// let delivered = deliveries(history, 2..=1).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert_eq!(delivered.len(), 2);
/// ```
pub fn deliveries(
    history: Vec<Observation<u64>>,
    copies: RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<Observation<u64>>> {
    let low = (*copies.start()).min(MAX_COPIES);
    let high = (*copies.end()).clamp(low, MAX_COPIES);
    vec(low..=high, history.len()).prop_flat_map(move |counts| {
        let repeated: Vec<Observation<u64>> = history
            .iter()
            .zip(counts)
            .flat_map(|(seen, count)| core::iter::repeat_n(*seen, count))
            .collect();
        Just(repeated).prop_shuffle()
    })
}

/// A [`legal_history`] with its [`deliveries`].
pub fn history_with_deliveries(
    max_steps: usize,
    copies: RangeInclusive<usize>,
) -> impl Strategy<Value = (Vec<Observation<u64>>, Vec<Observation<u64>>)> {
    legal_history(max_steps)
        .prop_flat_map(move |history| (Just(history.clone()), deliveries(history, copies.clone())))
}

/// A [`legal_history_with_ties`] with its [`deliveries`].
pub fn history_with_ties_and_deliveries(
    max_steps: usize,
    copies: RangeInclusive<usize>,
) -> impl Strategy<Value = (Vec<Observation<u64>>, Vec<Observation<u64>>)> {
    legal_history_with_ties(max_steps)
        .prop_flat_map(move |history| (Just(history.clone()), deliveries(history, copies.clone())))
}

/// Any observation at all, legal or not: any status, a time in `0..times` (`times` 0 is read
/// as 1: every observation at time 0).
///
/// ```
/// use hpp_status::strategy::any_observation;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let seen = any_observation(0).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert_eq!(seen.updated_at, 0);
/// ```
pub fn any_observation(times: u64) -> impl Strategy<Value = Observation<u64>> {
    (
        proptest::sample::select(Status::ALL.to_vec()),
        0..times.max(1),
    )
        .prop_map(|(status, at)| Observation::new(status, at))
}
