//! The alternatives the benches time this crate against (`benches/support/mod.rs`) are the
//! same machine as the crate, pair for pair and action for action: otherwise the benches
//! would compare different work.

#[path = "../benches/support/mod.rs"]
mod support;

use hpp_status::{Action, Status};
use support::{fsm, handwritten, strum_derive};

#[test]
fn the_hand_written_match_is_the_crates_table() {
    for from in Status::ALL {
        for to in Status::ALL {
            assert_eq!(
                handwritten::can_transition_to(from, to),
                from.can_transition_to(to),
                "{from} -> {to}"
            );
        }
        assert_eq!(handwritten::is_final(from), from.is_final(), "{from}");
        for action in Action::ALL {
            assert_eq!(
                handwritten::apply(from, action).ok(),
                from.apply(action).ok(),
                "{from} {action}"
            );
        }
    }
}

#[test]
fn the_rust_fsm_machine_is_the_crates_table() {
    use rust_fsm::StateMachineImpl;

    for from in Status::ALL {
        for to in Status::ALL {
            assert_eq!(
                fsm::can_transition_to(fsm::state(from), fsm::state(to)),
                from.can_transition_to(to),
                "{from} -> {to}"
            );
        }
        assert_eq!(fsm::is_final(fsm::state(from)), from.is_final(), "{from}");
        for action in Action::ALL {
            assert_eq!(
                fsm::Impl::transition(&fsm::state(from), &fsm::input(action)),
                from.apply(action).ok().map(fsm::state),
                "{from} {action}"
            );
        }
    }
}

#[test]
fn the_three_walks_agree_on_the_bench_sequence() {
    let actions = support::random_actions(support::ACTIONS, 1);
    let walk = support::walk(&actions);
    assert_eq!(handwritten::walk(&actions), walk);

    let inputs: Vec<_> = actions.iter().copied().map(fsm::input).collect();
    assert_eq!(
        fsm::walk(&inputs),
        (fsm::state(walk.last), walk.refused, walk.finished)
    );

    // A workload worth timing: many sessions, refusals and legal steps both common.
    assert!(walk.finished > 1_000, "{walk:?}");
    assert!(walk.refused > 2_000 && walk.refused < 8_000, "{walk:?}");
}

#[test]
fn the_random_actions_are_fixed_and_cover_every_action() {
    let actions = support::random_actions(support::ACTIONS, 1);
    assert_eq!(actions, support::random_actions(support::ACTIONS, 1));
    assert_ne!(actions, support::random_actions(support::ACTIONS, 2));
    for action in Action::ALL {
        let share = actions.iter().filter(|&&a| a == action).count();
        // Uniform: about 10,000 / 7 = 1,429 each.
        assert!((1_250..1_600).contains(&share), "{action}: {share}");
    }
}

#[test]
fn the_shuffled_pairs_are_the_64_pairs_in_a_fixed_order() {
    let pairs = support::shuffled_pairs(1);
    assert_eq!(pairs, support::shuffled_pairs(1));
    let mut sorted = pairs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 64);
    // Shuffled: not the nested-loop order, and the steps are spread out.
    assert_ne!(pairs, sorted);
    let steps: Vec<_> = pairs
        .iter()
        .enumerate()
        .filter(|(_, (from, to))| from.can_transition_to(*to))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(steps.len(), 14);
    assert!(steps[0] < 16 && steps[13] > 48, "{steps:?}");
}

#[test]
fn the_strum_derive_parses_what_the_crate_parses() {
    for (status, twin) in Status::ALL.into_iter().zip(strum_derive::ALL) {
        assert_eq!(status.as_str().parse::<strum_derive::Status>(), Ok(twin));
    }
    for name in support::GOOD_NAMES {
        assert!(name.parse::<Status>().is_ok(), "{name}");
    }
    for bad in support::BAD_NAMES {
        assert!(bad.parse::<Status>().is_err(), "{bad}");
        assert!(bad.parse::<strum_derive::Status>().is_err(), "{bad}");
    }
}
