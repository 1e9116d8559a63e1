//! The alternatives the benches time `hpp-status` against are the same machine as the
//! crate, pair for pair and action for action: otherwise the benches would compare different
//! work.

use hpp_bench_support as support;
use hpp_status::{Action, OutcomeKind, Status, Tracker};
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

#[test]
fn the_delivery_stream_is_fixed_and_mixed_as_a_merchant_sees_it() {
    let (stream, sessions) = support::deliveries(support::OBSERVATIONS, 1);
    assert_eq!(stream.len(), support::OBSERVATIONS);
    assert_eq!(
        (stream.clone(), sessions),
        support::deliveries(support::OBSERVATIONS, 1)
    );
    assert_ne!(stream, support::deliveries(support::OBSERVATIONS, 2).0);
    // Many sessions, interleaved: ~1,000 under way at once.
    assert!((80_000..200_000).contains(&sessions), "{sessions} sessions");
    let first_gap = stream.iter().position(|d| d.session != stream[0].session);
    assert!(first_gap.is_some_and(|gap| gap < 10), "{first_gap:?}");

    // Classified by the crate: mostly advances, about a quarter duplicates, some late, and
    // no conflict (every history is legal).
    let mut trackers = vec![Tracker::new(); sessions];
    let mut kinds = std::collections::BTreeMap::<_, usize>::new();
    for delivery in &stream {
        let outcome = trackers[delivery.session as usize].observe(delivery.seen);
        *kinds.entry(outcome.kind()).or_default() += 1;
    }
    let share = |kind| kinds.get(kind).copied().unwrap_or(0) * 100 / stream.len();
    assert_eq!(share(&OutcomeKind::Conflict), 0, "{kinds:?}");
    assert!(
        (20..=30).contains(&share(&OutcomeKind::Duplicate)),
        "{kinds:?}"
    );
    assert!((3..=15).contains(&share(&OutcomeKind::Stale)), "{kinds:?}");
    assert!(
        (55..=75).contains(&share(&OutcomeKind::Advanced)),
        "{kinds:?}"
    );

    // Every status is delivered, and most sessions (not all) finish.
    let finished = trackers
        .iter()
        .filter(|t| t.status().is_some_and(Status::is_final))
        .count();
    assert!(
        finished * 10 > sessions * 7 && finished < sessions,
        "{finished}"
    );
    for status in Status::ALL {
        assert!(stream.iter().any(|d| d.seen.status == status), "{status}");
    }
}

#[test]
fn the_hand_written_tracker_agrees_with_the_crate_on_legal_deliveries() {
    let (stream, sessions) = support::deliveries(support::OBSERVATIONS, 1);
    let mut trackers = vec![Tracker::new(); sessions];
    let mut hand = vec![handwritten::Tracker::default(); sessions];
    let replay = support::replay(&mut trackers, &stream);
    assert_eq!(handwritten::replay(&mut hand, &stream), replay);
    for (tracker, hand) in trackers.iter().zip(&hand) {
        assert_eq!(
            tracker.latest().map(|seen| (seen.status, seen.updated_at)),
            hand.latest()
        );
    }
    assert!(replay.finished as usize > sessions / 2, "{replay:?}");
    assert!(replay.advanced as usize > stream.len() / 2, "{replay:?}");
}

#[test]
fn the_hand_written_tracker_keeps_the_newest_and_never_leaves_a_final() {
    let mut hand = handwritten::Tracker::default();
    assert_eq!(hand.latest(), None);
    assert!(hand.observe(Status::InProgress, 10));
    assert!(!hand.observe(Status::Waiting, 5)); // older
    assert!(!hand.observe(Status::InProgress, 10)); // the same
    assert!(hand.observe(Status::Completed, 20));
    assert!(!hand.observe(Status::Disabled, 30)); // final is final
    assert_eq!(hand.latest(), Some((Status::Completed, 20)));
}

#[test]
fn the_bench_callbacks_are_one_session_in_progress_then_completed() {
    use hpp_status::Outcome;
    use hpp_status::wire::{Completion, StatusCallback};

    let mut tracker = Tracker::new();
    let mut session_ids = Vec::new();
    for (bytes, status) in [
        (support::CALLBACK_IN_PROGRESS, Status::InProgress),
        (support::CALLBACK_COMPLETED, Status::Completed),
    ] {
        let callback: StatusCallback = serde_json::from_slice(bytes).unwrap();
        let outcome = tracker.observe(callback.session.observation().unwrap());
        assert!(matches!(outcome, Outcome::Advanced { .. }), "{outcome:?}");
        assert_eq!(outcome.became_final(), status.is_final());
        assert_eq!(tracker.status(), Some(status));
        session_ids.push(callback.session.session_id.clone());
        // The raw parse the bench compares with reads the same object.
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(value["session"]["status"], status.as_str());
        if status == Status::Completed {
            assert_eq!(
                callback.session.completion(),
                Some(Completion::AuthorizationToken(
                    "70850a20-a2a0-5c70-810c-096fa6f850bb"
                ))
            );
        }
    }
    assert_eq!(session_ids[0], session_ids[1]);
}
