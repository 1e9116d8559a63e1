//! Properties of the core, checked by proptest on random inputs.

use hpp_status::{Action, Status};
use proptest::prelude::*;
use proptest::sample::select;

fn any_status() -> impl Strategy<Value = Status> {
    select(Status::ALL.to_vec())
}

fn any_action() -> impl Strategy<Value = Action> {
    select(Action::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// From WAITING, any sequence of actions, legal or not: a refused action changes nothing
    /// and says so; a final status, once reached, stays; WAITING is never re-entered.
    #[test]
    fn any_action_sequence_respects_the_lifecycle(
        actions in prop::collection::vec(any_action(), 0..64)
    ) {
        let mut status = Status::Waiting;
        let mut left_waiting = false;
        let mut reached_final: Option<Status> = None;
        for action in actions {
            match status.apply(action) {
                Ok(next) => {
                    prop_assert!(status.can_transition_to(next));
                    prop_assert_eq!(next, action.target());
                    prop_assert!(reached_final.is_none(), "{} left final {}", action, status);
                    status = next;
                }
                Err(refused) => {
                    prop_assert!(!status.can_transition_to(action.target()));
                    prop_assert_eq!(refused.from(), status);
                    prop_assert_eq!(refused.to(), action.target());
                    prop_assert_eq!(refused.action(), Some(action));
                }
            }
            left_waiting |= status != Status::Waiting;
            prop_assert!(!(left_waiting && status == Status::Waiting), "WAITING re-entered");
            if let Some(first_final) = reached_final {
                prop_assert_eq!(status, first_final);
            }
            if status.is_final() {
                reached_final = Some(status);
            }
        }
    }

    /// `transition_to` agrees with `can_transition_to`, and its error names both ends.
    #[test]
    fn transition_to_agrees_with_can_transition_to(from in any_status(), to in any_status()) {
        match from.transition_to(to) {
            Ok(next) => {
                prop_assert!(from.can_transition_to(to));
                prop_assert_eq!(next, to);
            }
            Err(refused) => {
                prop_assert!(!from.can_transition_to(to));
                prop_assert_eq!((refused.from(), refused.to(), refused.action()), (from, to, None));
            }
        }
    }

    /// Every wire name parses back to its status.
    #[test]
    fn from_str_inverts_as_str(status in any_status()) {
        prop_assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        prop_assert_eq!(Status::from_name(&status.to_string()), Some(status));
    }

    /// `FromStr` and the `const` `from_name` are separate code; on the names and near misses
    /// of them (cut short, or with a letter or two more) they agree.
    #[test]
    fn from_str_agrees_with_from_name(
        status in any_status(),
        keep in 0usize..12,
        extra in "[A-Za-z_]{0,2}",
    ) {
        let name = status.as_str();
        let input = format!("{}{extra}", &name[..keep.min(name.len())]);
        prop_assert_eq!(input.parse::<Status>().ok(), Status::from_name(&input));
    }

    /// Arbitrary strings never panic the parser; it accepts exactly the eight names, and its
    /// error quotes a prefix of the input and names a case-only match.
    #[test]
    fn parser_accepts_exactly_the_names(input in any::<String>()) {
        let exact = Status::ALL.into_iter().find(|s| s.as_str() == input);
        match input.parse::<Status>() {
            Ok(status) => prop_assert_eq!(Some(status), exact),
            Err(error) => {
                prop_assert_eq!(exact, None);
                prop_assert!(input.starts_with(error.input()));
                prop_assert_eq!(error.input_len(), input.len());
                let case_of = Status::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(&input));
                prop_assert_eq!(error.case_of(), case_of);
                prop_assert!(error.to_string().starts_with("unknown HPP status \""));
            }
        }
    }

    /// Case variants of a name are refused with the name they probably meant.
    #[test]
    fn case_variants_are_refused_with_a_hint(
        status in any_status(),
        flips in prop::collection::vec(any::<bool>(), 11),
    ) {
        let variant: String = status.as_str().chars().zip(flips.iter().cycle())
            .map(|(c, &flip)| if flip { c.to_ascii_lowercase() } else { c })
            .collect();
        prop_assume!(variant != status.as_str());
        let error = variant.parse::<Status>().unwrap_err();
        prop_assert_eq!(error.case_of(), Some(status));
        let hint = format!("did you mean \"{status}\"?");
        prop_assert!(error.to_string().contains(&hint));
    }
}
