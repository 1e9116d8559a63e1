//! The properties of the `actions` fuzz target, in one function with two callers: the fuzz
//! target (`fuzz/fuzz_targets/actions.rs`) and the corpus replay (`tests/corpus_replay.rs` of this crate),
//! which feeds it every file of `fuzz/corpus/actions/`.
//!
//! The input is decoded with `arbitrary` into a start status and a sequence of actions,
//! which are applied one after the other; refused actions are skipped.

use arbitrary::{Arbitrary, Unstructured};
use hpp_status::{Action, Status, Step};

/// Checks every property on one input; panics (a fuzz finding) when one fails.
pub fn check(data: &[u8]) {
    let Ok((start, actions)) =
        <(Status, Vec<Action>)>::arbitrary_take_rest(Unstructured::new(data))
    else {
        return;
    };
    let mut status = start;
    let mut left_waiting = false;
    let mut first_final = start.is_final().then_some(start);
    let mut steps_taken = 0_usize;
    for action in actions {
        let target = action.target();
        let legal = status.can_transition_to(target);
        assert_eq!(
            action.sources().contains(status),
            legal,
            "{action} from {status}: sources and can_transition_to disagree"
        );
        match status.apply(action) {
            Ok(next) => {
                assert!(legal, "{action} from {status} applied, yet not a step");
                assert_eq!(next, target, "{action} from {status}");
                assert_eq!(
                    Step::between(status, next),
                    Some(Step {
                        from: status,
                        action,
                        to: next
                    }),
                    "{action} from {status}: no such row in STEPS"
                );
                assert_eq!(status.transition_to(next), Ok(next));
                assert!(status.can_reach(next), "{status} ->+ {next}");
                assert!(first_final.is_none(), "{action} left final {status}");
                status = next;
                steps_taken += 1;
            }
            Err(refused) => {
                assert!(!legal, "{action} from {status} refused, yet a step");
                assert_eq!(refused.from(), status, "refused {action}: from");
                assert_eq!(refused.to(), target, "refused {action}: to");
                assert_eq!(refused.action(), Some(action), "refused {action}: action");
                let message = refused.to_string();
                let head = format!("{action} is not possible from {status}: ");
                assert!(message.starts_with(&head), "{message:?}");
                let by_status = status.transition_to(target).unwrap_err();
                assert_eq!((by_status.from(), by_status.to()), (status, target));
                assert_eq!(by_status.action(), None);
                assert_eq!(message, format!("{head}{by_status}"));
                // `status` is `Copy` and unchanged: the session stays where it was.
            }
        }
        if steps_taken > 0 {
            assert!(start.can_reach(status), "{start} ->+ {status}");
        }
        left_waiting |= status != Status::Waiting;
        assert!(
            !(left_waiting && status == Status::Waiting),
            "WAITING re-entered"
        );
        if let Some(first) = first_final {
            assert_eq!(status, first, "final {first} left");
        }
        if status.is_final() {
            first_final = Some(status);
        }
    }
}
