//! The public API's promises that are not properties: sizes, auto traits, names, messages.

use std::collections::{BTreeSet, VecDeque};

use hpp_status::{
    Action, Actor, ParseStatusError, STEPS, Status, StatusSet, StatusSetIter, Step, TransitionError,
};
use strum::{EnumCount, VariantNames};

#[test]
fn public_types_are_send_sync_and_static() {
    fn assert_auto<T: Send + Sync + Unpin + 'static>() {}
    assert_auto::<Status>();
    assert_auto::<Action>();
    assert_auto::<Actor>();
    assert_auto::<Step>();
    assert_auto::<StatusSet>();
    assert_auto::<StatusSetIter>();
    assert_auto::<TransitionError>();
    assert_auto::<ParseStatusError>();
    assert_auto::<hpp_status::render::Matrix>();
}

#[test]
fn status_is_one_byte_and_so_is_an_optional_status() {
    assert_eq!(size_of::<Status>(), 1);
    assert_eq!(size_of::<Option<Status>>(), 1);
    assert_eq!(size_of::<StatusSet>(), 1);
    assert_eq!(size_of::<Action>(), 1);
}

#[test]
fn errors_implement_core_error() {
    fn assert_error<E: core::error::Error>() {}
    assert_error::<TransitionError>();
    assert_error::<ParseStatusError>();
}

#[test]
fn all_lists_every_status_in_declaration_order() {
    assert_eq!(Status::ALL.len(), Status::COUNT);
    assert!(Status::ALL.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(Action::ALL.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(Action::ALL.len(), Action::COUNT);
    assert_eq!(Actor::ALL, [Actor::Consumer, Actor::Merchant]);
}

/// The names are strum's, derived from the variant names: `as_str` reads strum's list, so
/// this pins the list itself against the spec, written out independently here.
#[test]
fn the_wire_names_are_the_documented_ones() {
    let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "WAITING",
            "IN_PROGRESS",
            "COMPLETED",
            "FAILED",
            "CANCELLED",
            "BACK",
            "ERROR",
            "DISABLED"
        ]
    );
    assert_eq!(Status::VARIANTS, names.as_slice());
    for status in Status::ALL {
        let name: &'static str = status.into();
        assert_eq!(name, status.as_str());
        assert_eq!(status.to_string(), status.as_str());
    }
}

#[test]
fn actions_and_actors_are_named_as_the_spec_writes_them() {
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "EnterPage",
            "Authorize",
            "Decline",
            "Cancel",
            "GoBack",
            "Fail",
            "Disable"
        ]
    );
    assert_eq!(Action::VARIANTS, actions.as_slice());
    for action in Action::ALL {
        let name: &'static str = action.into();
        assert_eq!(
            (name, action.to_string()),
            (action.as_str(), action.as_str().to_string())
        );
    }
    let actors: Vec<&str> = Actor::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(actors, ["consumer", "merchant"]);
    for actor in Actor::ALL {
        let name: &'static str = actor.into();
        assert_eq!(name, actor.as_str());
    }
}

#[test]
fn display_honours_width_and_alignment() {
    assert_eq!(format!("[{:>8}]", Status::Back), "[    BACK]");
    assert_eq!(format!("[{:<10}]", Action::Cancel), "[Cancel    ]");
    assert_eq!(format!("[{:^10}]", Actor::Merchant), "[ merchant ]");
}

#[test]
fn exactly_the_documented_statuses_are_final() {
    let finals: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_final()).collect();
    assert_eq!(
        finals,
        [Status::Completed, Status::Cancelled, Status::Disabled]
    );
    for status in Status::ALL {
        assert_eq!(
            status.is_final(),
            status.successors().is_empty(),
            "{status}"
        );
    }
}

/// Breadth-first search over the step relation, from each status.
fn closure_by_bfs(from: Status) -> BTreeSet<Status> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<Status> = from.successors().iter().collect();
    while let Some(status) = queue.pop_front() {
        if seen.insert(status) {
            queue.extend(
                Status::ALL
                    .into_iter()
                    .filter(|next| status.can_transition_to(*next)),
            );
        }
    }
    seen
}

#[test]
fn can_reach_is_the_transitive_closure_of_the_steps() {
    for from in Status::ALL {
        let bfs = closure_by_bfs(from);
        for later in Status::ALL {
            assert_eq!(
                from.can_reach(later),
                bfs.contains(&later),
                "{from} ->+ {later}"
            );
        }
        assert_eq!(from.reachable().iter().collect::<BTreeSet<_>>(), bfs);
    }
}

#[test]
fn can_reach_says_what_spec_section_3_says() {
    for from in Status::ALL {
        for later in Status::ALL {
            let expected = !from.is_final() && later != Status::Waiting;
            assert_eq!(from.can_reach(later), expected, "{from} ->+ {later}");
        }
    }
}

#[test]
fn every_status_is_reachable_from_waiting() {
    let reached = closure_by_bfs(Status::Waiting);
    let expected: BTreeSet<Status> = Status::ALL
        .into_iter()
        .filter(|s| *s != Status::Waiting)
        .collect();
    assert_eq!(reached, expected);
}

#[test]
fn steps_and_actions_agree() {
    for step in STEPS {
        assert_eq!(step.action.target(), step.to, "{step}");
        assert!(step.action.sources().contains(step.from), "{step}");
        assert_eq!(step.from.apply(step.action), Ok(step.to), "{step}");
        assert_eq!(Step::between(step.from, step.to), Some(step));
        assert_eq!(step.actor(), step.action.actor());
    }
    let merchant: Vec<Action> = Action::ALL
        .into_iter()
        .filter(|a| a.actor() == Actor::Merchant)
        .collect();
    assert_eq!(merchant, [Action::Disable]);
    assert_eq!(Step::between(Status::Back, Status::Completed), None);
}

#[test]
fn refusals_explain_themselves() {
    use Status::*;
    let cases: &[(Status, Status, &str)] = &[
        (Completed, Disabled, "COMPLETED is final"),
        (Cancelled, Cancelled, "CANCELLED is final"),
        (InProgress, InProgress, "the session is already IN_PROGRESS"),
        (Waiting, Waiting, "the session is already WAITING"),
        (
            Back,
            Waiting,
            "BACK cannot go to WAITING: WAITING is never re-entered",
        ),
        (
            Back,
            Completed,
            "BACK cannot go to COMPLETED without the consumer returning to the page first",
        ),
        (
            Waiting,
            Cancelled,
            "WAITING cannot go to CANCELLED without the consumer opening the page first",
        ),
        (
            Failed,
            Error,
            "FAILED cannot go to ERROR without the consumer returning to the page first",
        ),
    ];
    for &(from, to, message) in cases {
        let refused = from.transition_to(to).unwrap_err();
        assert_eq!(refused.to_string(), message, "{from} -> {to}");
    }
    let refused = Status::Back.apply(Action::Authorize).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Authorize is not possible from BACK: BACK cannot go to COMPLETED without the consumer returning to the page first"
    );
    assert_eq!(
        refused.needs_first(),
        Some(Step {
            from: Status::Back,
            action: Action::EnterPage,
            to: Status::InProgress
        })
    );
    assert_eq!(
        Status::Back
            .transition_to(Status::Back)
            .unwrap_err()
            .needs_first(),
        None
    );
    assert_eq!(
        Status::Back
            .transition_to(Status::Waiting)
            .unwrap_err()
            .needs_first(),
        None
    );
}

#[test]
fn every_action_and_status_has_its_own_wording() {
    let descriptions: BTreeSet<&str> = Action::ALL.iter().map(|a| a.description()).collect();
    assert_eq!(descriptions.len(), Action::ALL.len());
    let meanings: BTreeSet<&str> = Status::ALL.iter().map(|s| s.meaning()).collect();
    assert_eq!(meanings.len(), Status::ALL.len());
}

#[test]
fn parse_errors_quote_the_input_and_the_accepted_names() {
    let error = "in_progress".parse::<Status>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown HPP status \"in_progress\": status names are upper case, did you mean \
         \"IN_PROGRESS\"?; expected one of WAITING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED, \
         BACK, ERROR, DISABLED"
    );
    let padded = " BACK".parse::<Status>().unwrap_err();
    assert_eq!(padded.input(), " BACK");
    assert_eq!(padded.case_of(), None, "no trimming");
    let quoted = "a\"b\n".parse::<Status>().unwrap_err();
    assert!(
        quoted
            .to_string()
            .starts_with(r#"unknown HPP status "a\"b\n";"#)
    );
}

#[test]
fn long_parse_errors_are_cut_at_a_character_boundary() {
    let input = format!("{}é{}", "x".repeat(31), "y".repeat(50)); // 'é' spans bytes 31..33
    let error = input.parse::<Status>().unwrap_err();
    assert_eq!(error.input(), "x".repeat(31));
    assert_eq!(error.input_len(), 83);
    assert!(error.to_string().contains("(cut; 83 bytes in all)"));
    let exact = "z".repeat(32);
    let error = exact.parse::<Status>().unwrap_err();
    assert_eq!(error.input(), exact);
    assert!(!error.to_string().contains("cut"));
    assert!(format!("{error:?}").contains(&format!("input: \"{exact}\"")));
}

#[test]
fn status_sets_behave_as_sets() {
    let set: StatusSet = [Status::Error, Status::Back, Status::Error]
        .into_iter()
        .collect();
    assert_eq!(set.len(), 2);
    assert_eq!(
        set.iter().collect::<Vec<_>>(),
        [Status::Back, Status::Error]
    );
    assert_eq!(set.iter().len(), 2);
    assert_eq!(set.without(Status::Back), StatusSet::only(Status::Error));
    assert_eq!(set.union(StatusSet::only(Status::Waiting)).len(), 3);
    assert_eq!(set.bits(), 0b0110_0000);
    assert_eq!(format!("{set}"), "BACK | ERROR");
    assert_eq!(format!("{set:?}"), "{Back, Error}");
    assert_eq!(StatusSet::EMPTY.to_string(), "∅");
    assert!(StatusSet::default().is_empty());
    assert_eq!(StatusSet::ALL.into_iter().collect::<Vec<_>>(), Status::ALL);
    let mut iter = StatusSet::ALL.iter();
    assert_eq!(iter.size_hint(), (8, Some(8)));
    iter.by_ref().for_each(drop);
    assert_eq!(iter.next(), None);
}

#[test]
fn render_tables_have_a_row_per_entry() {
    use hpp_status::render::{Matrix, StatusTable, StepTable};
    assert_eq!(
        StatusTable.to_string().lines().count(),
        2 + Status::ALL.len()
    );
    assert_eq!(StepTable.to_string().lines().count(), 2 + STEPS.len());
    let steps = Matrix::CAN_TRANSITION_TO.to_string();
    assert_eq!(steps.matches('✓').count(), STEPS.len());
    let reach = Matrix::CAN_REACH.to_string();
    assert_eq!(
        reach.matches('✓').count(),
        5 * 7,
        "open statuses reach all but WAITING"
    );
    assert_eq!(format!("{:?}", Matrix::CAN_REACH), "Matrix { .. }");
}
