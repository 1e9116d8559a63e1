//! The core's hot path: transition checks, applying actions, parsing names.
//!
//! Run: `cargo bench --bench transitions`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hpp_status::{Action, Status};

fn can_transition_to_all_pairs(c: &mut Criterion) {
    c.bench_function("can_transition_to/64 pairs", |b| {
        b.iter(|| {
            let mut allowed = 0u32;
            for from in black_box(Status::ALL) {
                for to in black_box(Status::ALL) {
                    allowed += u32::from(from.can_transition_to(to));
                }
            }
            allowed
        });
    });
}

fn apply_action_sequence(c: &mut Criterion) {
    // A consumer who goes back, is declined, errs, and pays; then refused actions.
    let actions = [
        Action::EnterPage,
        Action::GoBack,
        Action::EnterPage,
        Action::Decline,
        Action::EnterPage,
        Action::Fail,
        Action::Authorize,
        Action::EnterPage,
        Action::Authorize,
        Action::Disable,
        Action::Cancel,
    ];
    c.bench_function("apply/11 actions", |b| {
        b.iter(|| {
            let mut status = Status::Waiting;
            for action in black_box(actions) {
                status = status.apply(action).unwrap_or(status);
            }
            status
        });
    });
}

fn from_str_names(c: &mut Criterion) {
    let names = Status::ALL.map(Status::as_str);
    c.bench_function("from_str/8 names", |b| {
        b.iter(|| black_box(names).map(|name| name.parse::<Status>().ok()));
    });
}

criterion_group!(
    benches,
    can_transition_to_all_pairs,
    apply_action_sequence,
    from_str_names
);
criterion_main!(benches);
