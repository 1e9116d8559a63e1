//! Instruction counts of the core's hot paths, of the observer's (`Tracker::observe` and
//! `merge`) and of a status callback from its bytes to the tracker, under Valgrind's
//! Callgrind (gungraun): exact and repeatable where wall-clock time is not.
//!
//! Run: `cargo bench --bench instructions` (needs valgrind and
//! `cargo install --locked gungraun-runner --version 0.20.0`, the version of the `gungraun`
//! dev-dependency). One group: `cargo bench --bench instructions -- 'instructions::observer::*'`.
//! Figures: `docs/PERFORMANCE.md`.
//!
//! Benches that share an id within a group (`compare_by_id`) are the same work done by this
//! crate and by an alternative from `hpp-bench-support`; gungraun prints their
//! difference. To add a comparison, add a group below and list it in `main!`.

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};
#[cfg(feature = "wire")]
use hpp_status::wire::{StatusCallback, Timestamp};
use hpp_status::{Action, Observation, Outcome, Status, Tracker};

use hpp_bench_support as support;

use support::{BAD_NAMES, GOOD_NAMES, fsm, handwritten, strum_derive};

// can_transition_to: one legal step, one refused, and the 64 pairs (shuffled, and in nested
// loops, as in benches/transitions.rs).

#[library_benchmark]
#[bench::legal(Status::InProgress, Status::Back)]
#[bench::refused(Status::Back, Status::Completed)]
fn can_transition_to(from: Status, to: Status) -> bool {
    black_box(black_box(from).can_transition_to(black_box(to)))
}

#[library_benchmark]
#[bench::legal(Status::InProgress, Status::Back)]
#[bench::refused(Status::Back, Status::Completed)]
fn can_transition_to_match(from: Status, to: Status) -> bool {
    black_box(handwritten::can_transition_to(
        black_box(from),
        black_box(to),
    ))
}

#[library_benchmark]
#[bench::legal(fsm::State::InProgress, fsm::State::Back)]
#[bench::refused(fsm::State::Back, fsm::State::Completed)]
fn can_transition_to_rust_fsm(from: fsm::State, to: fsm::State) -> bool {
    black_box(fsm::can_transition_to(black_box(from), black_box(to)))
}

fn shuffled_pairs() -> Vec<(Status, Status)> {
    support::shuffled_pairs(1)
}

fn shuffled_fsm_pairs() -> Vec<(fsm::State, fsm::State)> {
    shuffled_pairs()
        .into_iter()
        .map(|(from, to)| (fsm::state(from), fsm::state(to)))
        .collect()
}

#[library_benchmark]
#[bench::shuffled(setup = shuffled_pairs)]
fn all_pairs(pairs: Vec<(Status, Status)>) -> u32 {
    count_allowed(&pairs, Status::can_transition_to)
}

#[library_benchmark]
#[bench::shuffled(setup = shuffled_pairs)]
fn all_pairs_match(pairs: Vec<(Status, Status)>) -> u32 {
    count_allowed(&pairs, handwritten::can_transition_to)
}

#[library_benchmark]
#[bench::shuffled(setup = shuffled_fsm_pairs)]
fn all_pairs_rust_fsm(pairs: Vec<(fsm::State, fsm::State)>) -> u32 {
    count_allowed(&pairs, fsm::can_transition_to)
}

fn count_allowed<S: Copy>(pairs: &[(S, S)], allowed: impl Fn(S, S) -> bool) -> u32 {
    let mut count = 0;
    for &(from, to) in black_box(pairs) {
        count += u32::from(allowed(from, to));
    }
    black_box(count)
}

#[library_benchmark]
fn nested_loops() -> u32 {
    count_nested(Status::ALL, Status::can_transition_to)
}

#[library_benchmark]
fn nested_loops_match() -> u32 {
    count_nested(Status::ALL, handwritten::can_transition_to)
}

#[library_benchmark]
fn nested_loops_rust_fsm() -> u32 {
    count_nested(fsm::STATES, fsm::can_transition_to)
}

fn count_nested<S: Copy>(states: [S; 8], allowed: impl Fn(S, S) -> bool) -> u32 {
    let mut count = 0;
    for from in black_box(states) {
        for to in black_box(states) {
            count += u32::from(allowed(from, to));
        }
    }
    black_box(count)
}

library_benchmark_group!(
    name = transition_check,
    compare_by_id = true,
    benchmarks = [
        can_transition_to,
        can_transition_to_match,
        can_transition_to_rust_fsm,
        all_pairs,
        all_pairs_match,
        all_pairs_rust_fsm,
        nested_loops,
        nested_loops_match,
        nested_loops_rust_fsm
    ]
);

// apply: one legal action, one refused, and the 10,000 random actions of the criterion bench.

fn random_actions() -> Vec<Action> {
    support::random_actions(support::ACTIONS, 1)
}

fn random_inputs() -> Vec<fsm::Input> {
    random_actions().into_iter().map(fsm::input).collect()
}

#[library_benchmark]
#[bench::legal(Status::Waiting, Action::EnterPage)]
#[bench::refused(Status::Completed, Action::Disable)]
fn apply(from: Status, action: Action) -> Result<Status, hpp_status::TransitionError> {
    black_box(black_box(from).apply(black_box(action)))
}

#[library_benchmark]
#[bench::legal(Status::Waiting, Action::EnterPage)]
#[bench::refused(Status::Completed, Action::Disable)]
fn apply_match(from: Status, action: Action) -> Result<Status, handwritten::Refused> {
    black_box(handwritten::apply(black_box(from), black_box(action)))
}

#[library_benchmark]
#[bench::random_10k(setup = random_actions)]
fn walk(actions: Vec<Action>) -> support::Walk {
    black_box(support::walk(black_box(&actions)))
}

#[library_benchmark]
#[bench::random_10k(setup = random_actions)]
fn walk_match(actions: Vec<Action>) -> support::Walk {
    black_box(handwritten::walk(black_box(&actions)))
}

#[library_benchmark]
#[bench::random_10k(setup = random_inputs)]
fn walk_rust_fsm(inputs: Vec<fsm::Input>) -> (fsm::State, u32, u32) {
    black_box(fsm::walk(black_box(&inputs)))
}

library_benchmark_group!(
    name = apply_actions,
    compare_by_id = true,
    benchmarks = [apply, apply_match, walk, walk_match, walk_rust_fsm]
);

// parse: every good name, and the bad inputs of the criterion bench (the same lists).

#[library_benchmark]
#[benches::good(iter = GOOD_NAMES)]
#[benches::bad(iter = BAD_NAMES)]
fn from_str(name: &str) -> Result<Status, hpp_status::ParseStatusError> {
    black_box(black_box(name).parse::<Status>())
}

#[library_benchmark]
#[benches::good(iter = GOOD_NAMES)]
#[benches::bad(iter = BAD_NAMES)]
fn from_str_strum(name: &str) -> Result<strum_derive::Status, strum::ParseError> {
    black_box(black_box(name).parse::<strum_derive::Status>())
}

library_benchmark_group!(
    name = parse,
    compare_by_id = true,
    benchmarks = [from_str, from_str_strum]
);

// Tracker::observe: one delivery of each outcome (and the first, into an empty tracker),
// next to the hand-written tracker given the same delivery; merge; and the million
// deliveries of the criterion bench (benches/observer.rs).

/// A tracker that holds `status` at `at`.
fn held(status: Status, at: u64) -> Tracker<u64> {
    [Observation::new(status, at)].into_iter().collect()
}

/// The hand-written tracker holding `status` at `at`.
fn hand_held(status: Status, at: u64) -> handwritten::Tracker {
    let mut tracker = handwritten::Tracker::default();
    tracker.observe(status, at);
    tracker
}

#[library_benchmark]
#[bench::first(Tracker::new(), Observation::new(Status::Waiting, 0))]
#[bench::advanced(held(Status::InProgress, 10), Observation::new(Status::Back, 20))]
#[bench::duplicate(held(Status::Back, 20), Observation::new(Status::Back, 20))]
#[bench::stale(held(Status::Back, 20), Observation::new(Status::InProgress, 10))]
#[bench::conflict(held(Status::Completed, 30), Observation::new(Status::Cancelled, 40))]
fn observe(mut tracker: Tracker<u64>, seen: Observation<u64>) -> (Outcome<u64>, Tracker<u64>) {
    let outcome = black_box(&mut tracker).observe(black_box(seen));
    black_box((outcome, tracker))
}

#[library_benchmark]
#[bench::first(handwritten::Tracker::default(), Observation::new(Status::Waiting, 0))]
#[bench::advanced(hand_held(Status::InProgress, 10), Observation::new(Status::Back, 20))]
#[bench::duplicate(hand_held(Status::Back, 20), Observation::new(Status::Back, 20))]
#[bench::stale(hand_held(Status::Back, 20), Observation::new(Status::InProgress, 10))]
#[bench::conflict(
    hand_held(Status::Completed, 30),
    Observation::new(Status::Cancelled, 40)
)]
fn observe_hand_written(
    mut tracker: handwritten::Tracker,
    seen: Observation<u64>,
) -> (bool, handwritten::Tracker) {
    let seen = black_box(seen);
    let moved = black_box(&mut tracker).observe(seen.status, seen.updated_at);
    black_box((moved, tracker))
}

#[library_benchmark]
#[bench::newer(held(Status::Back, 20), held(Status::Completed, 30))]
#[bench::older(held(Status::Completed, 30), held(Status::Back, 20))]
#[bench::empty(held(Status::Back, 20), Tracker::new())]
fn merge(mut tracker: Tracker<u64>, other: Tracker<u64>) -> Tracker<u64> {
    black_box(&mut tracker).merge(black_box(&other));
    black_box(tracker)
}

fn million_deliveries() -> (Vec<Tracker<u64>>, Vec<support::Delivery>) {
    let (stream, sessions) = support::deliveries(support::OBSERVATIONS, 1);
    (vec![Tracker::new(); sessions], stream)
}

fn million_deliveries_hand_written() -> (Vec<handwritten::Tracker>, Vec<support::Delivery>) {
    let (stream, sessions) = support::deliveries(support::OBSERVATIONS, 1);
    (vec![handwritten::Tracker::default(); sessions], stream)
}

#[library_benchmark]
#[bench::stream_1m(setup = million_deliveries)]
fn replay(
    (mut trackers, stream): (Vec<Tracker<u64>>, Vec<support::Delivery>),
) -> (support::Replay, Vec<Tracker<u64>>, Vec<support::Delivery>) {
    let replay = support::replay(black_box(&mut trackers), black_box(&stream));
    black_box((replay, trackers, stream))
}

#[library_benchmark]
#[bench::stream_1m(setup = million_deliveries_hand_written)]
fn replay_hand_written(
    (mut trackers, stream): (Vec<handwritten::Tracker>, Vec<support::Delivery>),
) -> (
    support::Replay,
    Vec<handwritten::Tracker>,
    Vec<support::Delivery>,
) {
    let replay = handwritten::replay(black_box(&mut trackers), black_box(&stream));
    black_box((replay, trackers, stream))
}

library_benchmark_group!(
    name = observer,
    compare_by_id = true,
    benchmarks = [
        observe,
        observe_hand_written,
        merge,
        replay,
        replay_hand_written
    ]
);

// A status callback from its bytes to the tracker, against serde_json::Value of the same
// bytes, as benches/observer.rs times them: parsing, allocating and freeing included.
// Needs feature `wire` (a default).

/// A callback's bytes, with its session's tracker: empty for the `IN_PROGRESS` callback,
/// holding `IN_PROGRESS` for the `COMPLETED` one (which makes it final).
#[cfg(feature = "wire")]
fn with_tracker(bytes: &'static [u8]) -> (&'static [u8], Tracker<Timestamp>) {
    let tracker = if bytes == support::CALLBACK_IN_PROGRESS {
        Tracker::new()
    } else {
        let held: StatusCallback = serde_json::from_slice(support::CALLBACK_IN_PROGRESS).unwrap();
        [held.session.observation().unwrap()].into_iter().collect()
    };
    (bytes, tracker)
}

#[cfg(feature = "wire")]
#[library_benchmark]
#[bench::in_progress(args = (support::CALLBACK_IN_PROGRESS), setup = with_tracker)]
#[bench::completed(args = (support::CALLBACK_COMPLETED), setup = with_tracker)]
fn callback_to_tracker((bytes, mut tracker): (&[u8], Tracker<Timestamp>)) -> bool {
    let callback: StatusCallback = serde_json::from_slice(black_box(bytes)).unwrap();
    let outcome = tracker.observe(callback.session.observation().unwrap());
    black_box((&callback, &tracker));
    black_box(outcome.became_final())
}

#[cfg(feature = "wire")]
#[library_benchmark]
#[bench::in_progress(args = (support::CALLBACK_IN_PROGRESS), setup = with_tracker)]
#[bench::completed(args = (support::CALLBACK_COMPLETED), setup = with_tracker)]
fn callback_value((bytes, _): (&[u8], Tracker<Timestamp>)) {
    let value: serde_json::Value = serde_json::from_slice(black_box(bytes)).unwrap();
    black_box(&value);
}

#[cfg(feature = "wire")]
library_benchmark_group!(
    name = callback,
    compare_by_id = true,
    benchmarks = [callback_to_tracker, callback_value]
);

#[cfg(feature = "wire")]
main!(
    library_benchmark_groups = transition_check,
    apply_actions,
    parse,
    observer,
    callback
);

#[cfg(not(feature = "wire"))]
main!(
    library_benchmark_groups = transition_check,
    apply_actions,
    parse,
    observer
);
