//! Walks three HPP sessions through their lifecycle, printing every step taken and every
//! step refused, with the reason, then the transition table the walk obeyed.
//!
//! Run: `cargo run --example lifecycle`

use hpp_status::{Action, Status, render};

/// Three sessions, each a list of what the consumer and merchant try to do, in order.
const SESSIONS: &[(&str, &[Action])] = &[
    (
        "a consumer who goes back, is declined, and pays on the third visit",
        &[
            Action::EnterPage,
            Action::GoBack,
            Action::Authorize, // refused: the consumer is not on the page
            Action::EnterPage,
            Action::Decline,
            Action::EnterPage,
            Action::Authorize,
            Action::Disable,   // refused: COMPLETED is final
            Action::EnterPage, // refused: COMPLETED is final
        ],
    ),
    (
        "a merchant who disables a session nobody opened",
        &[Action::Disable, Action::EnterPage],
    ),
    (
        "a consumer who hits an error, then cancels",
        &[
            Action::EnterPage,
            Action::Fail,
            Action::Cancel,
            Action::EnterPage,
            Action::Cancel,
        ],
    ),
];

fn main() {
    for (name, actions) in SESSIONS {
        println!("session: {name}");
        let mut status = Status::Waiting;
        println!("  {status:<11} (created)");
        for &action in *actions {
            match status.apply(action) {
                Ok(next) => {
                    println!(
                        "  {status:<11} --{action}--> {next}  ({})",
                        action.description()
                    );
                    status = next;
                }
                Err(refused) => println!("  {status:<11} refused: {refused}"),
            }
        }
        let state = if status.is_final() { "final" } else { "open" };
        println!("  ends {status} ({state})\n");
    }
    println!(
        "The transition table these walks obey (hpp_status::STEPS):\n\n{}",
        render::StepTable
    );
}
