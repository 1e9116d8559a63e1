//! The core's hot paths, each group timing `hpp-status` next to its alternatives in the same
//! run, so that their ratio holds on a noisy machine.
//!
//! Run: `cargo bench --bench transitions --all-features` (without `serde`, the `serde_json`
//! lines are left out). One group: `cargo bench --bench transitions --all-features -- parse`.
//! Figures and how to read them: `docs/PERFORMANCE.md`.
//!
//! To add a comparison, write one more `fn(&mut Criterion)` that opens a
//! `benchmark_group`, benches the crate and each alternative in it (the alternatives live in
//! `hpp-bench-support`), and add it to `criterion_group!` at the bottom.

use std::hint::black_box;

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use hpp_status::Status;

use hpp_bench_support as support;

use support::{BAD_NAMES, GOOD_NAMES, fsm, handwritten, strum_derive};

/// `can_transition_to` over the 64 (from, to) pairs, twice: in a shuffled order (each check
/// on its own, as statuses come from callbacks) and in nested loops (where the compiler may
/// hoist the work for `from` out of the inner loop).
fn transition_check(c: &mut Criterion) {
    let pairs = support::shuffled_pairs(1);
    let fsm_pairs: Vec<_> = pairs
        .iter()
        .map(|&(from, to)| (fsm::state(from), fsm::state(to)))
        .collect();
    let mut group = c.benchmark_group("transition_check/64 pairs shuffled");
    group.throughput(Throughput::Elements(64));
    group.bench_function("hpp-status", |b| {
        b.iter(|| count_allowed(&pairs, Status::can_transition_to));
    });
    group.bench_function("match", |b| {
        b.iter(|| count_allowed(&pairs, handwritten::can_transition_to));
    });
    group.bench_function("rust-fsm", |b| {
        b.iter(|| count_allowed(&fsm_pairs, fsm::can_transition_to));
    });
    group.finish();

    let mut group = c.benchmark_group("transition_check/64 pairs nested loops");
    group.throughput(Throughput::Elements(64));
    group.bench_function("hpp-status", |b| {
        b.iter(|| count_nested(Status::ALL, Status::can_transition_to));
    });
    group.bench_function("match", |b| {
        b.iter(|| count_nested(Status::ALL, handwritten::can_transition_to));
    });
    group.bench_function("rust-fsm", |b| {
        b.iter(|| count_nested(fsm::STATES, fsm::can_transition_to));
    });
    group.finish();
}

/// How many of `pairs` `allowed` allows; `black_box` hides the pairs from the compiler.
fn count_allowed<S: Copy>(pairs: &[(S, S)], allowed: impl Fn(S, S) -> bool) -> u32 {
    let mut count = 0;
    for &(from, to) in black_box(pairs) {
        count += u32::from(allowed(from, to));
    }
    count
}

/// How many of the pairs of `states` `allowed` allows, in nested loops.
fn count_nested<S: Copy>(states: [S; 8], allowed: impl Fn(S, S) -> bool) -> u32 {
    let mut count = 0;
    for from in black_box(states) {
        for to in black_box(states) {
            count += u32::from(allowed(from, to));
        }
    }
    count
}

/// `apply` over a long random action sequence: a stream of sessions, each restarted when final.
fn apply(c: &mut Criterion) {
    let actions = support::random_actions(support::ACTIONS, 1);
    let inputs: Vec<fsm::Input> = actions.iter().copied().map(fsm::input).collect();
    let mut group = c.benchmark_group("apply/10k random actions");
    group.throughput(Throughput::Elements(actions.len() as u64));
    group.bench_function("hpp-status", |b| {
        b.iter(|| support::walk(black_box(&actions)));
    });
    group.bench_function("match", |b| {
        b.iter(|| handwritten::walk(black_box(&actions)));
    });
    group.bench_function("rust-fsm", |b| {
        b.iter(|| fsm::walk(black_box(&inputs)));
    });
    group.finish();
}

/// Parsing the eight wire names.
fn parse_good(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse/8 names");
    group.throughput(Throughput::Elements(GOOD_NAMES.len() as u64));
    bench_parsers(&mut group, GOOD_NAMES);
    group.finish();
}

/// Parsing four bad inputs: `in_progress`, `TIMEOUT`, empty, and 59 bytes.
fn parse_bad(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse/4 bad inputs");
    group.throughput(Throughput::Elements(BAD_NAMES.len() as u64));
    bench_parsers(&mut group, BAD_NAMES);
    group.finish();
}

fn bench_parsers<const N: usize>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    names: [&'static str; N],
) {
    group.bench_function("hpp-status FromStr", |b| {
        b.iter(|| {
            for name in black_box(names) {
                consume(name.parse::<Status>());
            }
        });
    });
    group.bench_function("strum EnumString", |b| {
        b.iter(|| {
            for name in black_box(names) {
                consume(name.parse::<strum_derive::Status>());
            }
        });
    });
    #[cfg(feature = "serde")]
    {
        // serde_json reads the JSON string, quotes and all, as it would in a payload.
        let quoted = names.map(|name| format!("\"{name}\""));
        let quoted = quoted.each_ref().map(String::as_str);
        group.bench_function("serde_json", |b| {
            b.iter(|| {
                for json in black_box(quoted) {
                    consume(serde_json::from_str::<Status>(json));
                }
            });
        });
    }
}

/// Uses a parse result as a caller would: the status, or the error in full (`black_box`
/// takes its address, so it must be built, message data and all).
fn consume<T, E>(result: Result<T, E>) {
    match result {
        Ok(status) => {
            black_box(status);
        }
        Err(error) => {
            black_box(&error);
        }
    }
}

criterion_group!(benches, transition_check, apply, parse_good, parse_bad);
criterion_main!(benches);
