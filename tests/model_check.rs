//! Exhaustive model check: every action sequence up to length 8, from every status, is
//! replayed step by step against an independent reference model written here from the
//! hand-written list of documented steps in `docs/SPEC.md` §2, not from the crate's table.

use hpp_status::{Action, Status};

use Status::{Back, Cancelled, Completed, Disabled, Error, Failed, InProgress, Waiting};

/// The direct steps, copied from the hand-written list in SPEC §2.
const REFERENCE_EDGES: &[(Status, Status)] = &[
    // WAITING -> IN_PROGRESS (the consumer opens the page)
    (Waiting, InProgress),
    // IN_PROGRESS -> COMPLETED | FAILED | BACK | ERROR | CANCELLED
    (InProgress, Completed),
    (InProgress, Failed),
    (InProgress, Back),
    (InProgress, Error),
    (InProgress, Cancelled),
    // FAILED | BACK | ERROR -> IN_PROGRESS (the consumer returns to retry)
    (Failed, InProgress),
    (Back, InProgress),
    (Error, InProgress),
    // every non-final status -> DISABLED (the merchant's Disable call)
    (Waiting, Disabled),
    (InProgress, Disabled),
    (Failed, Disabled),
    (Back, Disabled),
    (Error, Disabled),
];

/// The status each action aims at, from the actions' descriptions in SPEC §2.
fn reference_target(action: Action) -> Status {
    match action {
        Action::EnterPage => InProgress,
        Action::Authorize => Completed,
        Action::Decline => Failed,
        Action::Cancel => Cancelled,
        Action::GoBack => Back,
        Action::Fail => Error,
        Action::Disable => Disabled,
    }
}

fn reference_step(from: Status, action: Action) -> Option<Status> {
    let to = reference_target(action);
    REFERENCE_EDGES.contains(&(from, to)).then_some(to)
}

const MAX_LEN: usize = 8;

/// Replays every extension of the current sequence, up to `MAX_LEN` actions, comparing the
/// crate with the reference at each step. Returns how many sequences it checked.
fn explore(status: Status, depth: usize, trail: &mut Vec<Action>) -> u64 {
    if depth == MAX_LEN {
        return 0;
    }
    let mut checked = 0;
    for action in Action::ALL {
        trail.push(action);
        let next = match (status.apply(action), reference_step(status, action)) {
            (Ok(crate_to), Some(reference_to)) => {
                assert_eq!(crate_to, reference_to, "after {trail:?} from {status}");
                crate_to
            }
            (Err(refused), None) => {
                assert_eq!(refused.from(), status, "after {trail:?}");
                assert_eq!(refused.to(), reference_target(action), "after {trail:?}");
                assert_eq!(refused.action(), Some(action), "after {trail:?}");
                status
            }
            (crate_result, reference) => {
                panic!(
                    "{action} from {status} after {trail:?}: crate {crate_result:?}, reference {reference:?}"
                )
            }
        };
        checked += 1 + explore(next, depth + 1, trail);
        trail.pop();
    }
    checked
}

#[test]
fn every_action_sequence_up_to_length_8_matches_the_reference() {
    let per_start: u64 = (1..=MAX_LEN as u32).map(|len| 7u64.pow(len)).sum();
    for start in Status::ALL {
        let checked = explore(start, 0, &mut Vec::with_capacity(MAX_LEN));
        assert_eq!(checked, per_start, "sequences checked from {start}");
    }
}

#[test]
fn every_pair_of_statuses_matches_the_reference() {
    for from in Status::ALL {
        for to in Status::ALL {
            let expected = REFERENCE_EDGES.contains(&(from, to));
            assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
            assert_eq!(from.transition_to(to).is_ok(), expected, "{from} -> {to}");
            assert_eq!(from.successors().contains(to), expected, "{from} -> {to}");
        }
    }
}

#[test]
fn the_actions_aim_where_the_reference_says() {
    for action in Action::ALL {
        assert_eq!(action.target(), reference_target(action), "{action}");
        for from in Status::ALL {
            assert_eq!(
                action.sources().contains(from),
                reference_step(from, action).is_some()
            );
        }
    }
}
