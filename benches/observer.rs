//! The observer's hot paths, each group timing `hpp-status` next to its alternative in the
//! same run, so that their ratio holds on a noisy machine.
//!
//! - `observe/1M observations`: `Tracker::observe` over a million deliveries of many
//!   sessions' legal histories (mostly in order, some late, about a quarter copies; see
//!   `support::deliveries`), one tracker per session, against the tracker an integrator
//!   writes by hand (`support::handwritten::Tracker`: the newest `updated_at`, never leaving
//!   a final status, classifying nothing).
//! - `callback/...`: a status callback from its bytes to the tracker
//!   (`serde_json::from_slice::<StatusCallback>`, `observation()`, `observe`) against
//!   `serde_json::from_slice::<serde_json::Value>` of the same bytes, the cost floor of
//!   reading JSON at all. Needs feature `wire` (a default).
//!
//! Run: `cargo bench --bench observer`. One group: `cargo bench --bench observer -- callback`.
//! Figures: `docs/PERFORMANCE.md`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use hpp_status::Tracker;

use hpp_bench_support as support;

use support::handwritten;

/// One pass of fresh trackers (one per session) over the million deliveries. The trackers
/// are made outside the timing.
fn observe(c: &mut Criterion) {
    let (stream, sessions) = support::deliveries(support::OBSERVATIONS, 1);
    let mut group = c.benchmark_group("observe/1M observations");
    group.throughput(Throughput::Elements(stream.len() as u64));
    // Each iteration takes milliseconds: the same number of iterations in every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(50);
    group.bench_function("hpp-status Tracker", |b| {
        b.iter_batched_ref(
            || vec![Tracker::new(); sessions],
            |trackers| support::replay(trackers, black_box(&stream)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("hand-written tracker", |b| {
        b.iter_batched_ref(
            || vec![handwritten::Tracker::default(); sessions],
            |trackers| handwritten::replay(trackers, black_box(&stream)),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// A callback from its bytes to the tracker, against parsing the same bytes into a
/// `serde_json::Value`. The tracker of the `COMPLETED` callback already holds the session's
/// `IN_PROGRESS`, so the callback makes it final, as in production.
fn callback(c: &mut Criterion) {
    #[cfg(feature = "wire")]
    {
        use hpp_status::Observation;
        use hpp_status::wire::{StatusCallback, Timestamp};

        let in_progress: StatusCallback =
            serde_json::from_slice(support::CALLBACK_IN_PROGRESS).unwrap();
        let held: Tracker<Timestamp> = [in_progress.session.observation().unwrap()]
            .into_iter()
            .collect();
        for (name, bytes, tracker) in [
            ("IN_PROGRESS", support::CALLBACK_IN_PROGRESS, Tracker::new()),
            ("COMPLETED with token", support::CALLBACK_COMPLETED, held),
        ] {
            let mut group = c.benchmark_group(format!("callback/{name}"));
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_function("hpp-status StatusCallback to Tracker", |b| {
                b.iter(|| {
                    let callback: StatusCallback =
                        serde_json::from_slice(black_box(bytes)).unwrap();
                    let seen: Observation<Timestamp> = callback.session.observation().unwrap();
                    let mut tracker = black_box(tracker);
                    let outcome = tracker.observe(seen);
                    black_box((&callback, outcome.became_final(), tracker));
                });
            });
            group.bench_function("serde_json Value", |b| {
                b.iter(|| {
                    let value: serde_json::Value =
                        serde_json::from_slice(black_box(bytes)).unwrap();
                    black_box(&value);
                });
            });
            group.finish();
        }
    }
    #[cfg(not(feature = "wire"))]
    let _ = c;
}

criterion_group!(benches, observe, callback);
criterion_main!(benches);
