//! Instruction counts of the core's hot paths, under Valgrind's Callgrind (gungraun): exact
//! and repeatable where wall-clock time is not.
//!
//! Run: `cargo bench --bench instructions` (needs valgrind and
//! `cargo install --locked gungraun-runner --version 0.20.0`, the version of the `gungraun`
//! dev-dependency). Figures: `docs/PERFORMANCE.md`.
//!
//! Benches that share an id within a group (`compare_by_id`) are the same work done by this
//! crate and by an alternative from `benches/support/mod.rs`; gungraun prints their
//! difference. To add a comparison, add a group below and list it in `main!`.

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};
use hpp_status::{Action, Status};

mod support;

use support::{fsm, handwritten, strum_derive};

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

// parse: every good name, and the bad inputs of the criterion bench.

#[library_benchmark]
#[benches::good(
    "WAITING",
    "IN_PROGRESS",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "BACK",
    "ERROR",
    "DISABLED"
)]
#[benches::bad(
    "in_progress",
    "TIMEOUT",
    "",
    "IN_PROGRESS IN_PROGRESS IN_PROGRESS IN_PROGRESS IN_PROGRESS"
)]
fn from_str(name: &str) -> Result<Status, hpp_status::ParseStatusError> {
    black_box(black_box(name).parse::<Status>())
}

#[library_benchmark]
#[benches::good(
    "WAITING",
    "IN_PROGRESS",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "BACK",
    "ERROR",
    "DISABLED"
)]
#[benches::bad(
    "in_progress",
    "TIMEOUT",
    "",
    "IN_PROGRESS IN_PROGRESS IN_PROGRESS IN_PROGRESS IN_PROGRESS"
)]
fn from_str_strum(name: &str) -> Result<strum_derive::Status, strum::ParseError> {
    black_box(black_box(name).parse::<strum_derive::Status>())
}

library_benchmark_group!(
    name = parse,
    compare_by_id = true,
    benchmarks = [from_str, from_str_strum]
);

main!(
    library_benchmark_groups = transition_check,
    apply_actions,
    parse
);
