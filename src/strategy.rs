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

/// A legal history: starts at `WAITING`, then takes up to `max_steps` random steps of the
/// transition table (stopping early at a final status), each 1 ms to 1 minute after the
/// previous one. Timestamps strictly increase. The walk prefers open statuses three times
/// in four, so that histories are long and full of retries.
pub fn legal_history(max_steps: usize) -> impl Strategy<Value = Vec<Observation<u64>>> {
    let choices = vec((any::<u8>(), 1u64..=60_000), 0..=max_steps);
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
pub fn deliveries(
    history: Vec<Observation<u64>>,
    copies: RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<Observation<u64>>> {
    vec(copies, history.len()).prop_flat_map(move |counts| {
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

/// Any observation at all, legal or not: any status, a time in `0..times`.
pub fn any_observation(times: u64) -> impl Strategy<Value = Observation<u64>> {
    (proptest::sample::select(Status::ALL.to_vec()), 0..times)
        .prop_map(|(status, at)| Observation::new(status, at))
}
