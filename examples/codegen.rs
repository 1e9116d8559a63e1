//! Out-of-line wrappers around the hot paths, to read the machine code the compiler makes of
//! them (`docs/PERFORMANCE.md` quotes it):
//!
//! ```sh
//! cargo rustc --release --example codegen -- --emit asm -C debuginfo=0
//! grep -A12 'codegen.*can_transition_to.*:$' target/release/examples/codegen-*.s
//! ```
//!
//! Run, it checks the wrappers against the table and prints how many pairs are steps.

use std::hint::black_box;

use hpp_status::{Action, Status, TransitionError};

/// `Status::can_transition_to`, kept out of line so that its code can be found.
#[inline(never)]
pub fn can_transition_to(from: Status, to: Status) -> bool {
    from.can_transition_to(to)
}

/// `Status::apply`, kept out of line so that its code can be found.
#[inline(never)]
pub fn apply(from: Status, action: Action) -> Result<Status, TransitionError> {
    from.apply(action)
}

fn main() {
    let mut steps = 0;
    for from in Status::ALL {
        for to in Status::ALL {
            steps += usize::from(can_transition_to(black_box(from), black_box(to)));
        }
        for action in Action::ALL {
            let applied = apply(black_box(from), black_box(action));
            assert_eq!(applied.is_ok(), action.sources().contains(from));
        }
    }
    assert_eq!(steps, hpp_status::STEPS.len());
    println!("{steps} of the 64 pairs are steps");
}
