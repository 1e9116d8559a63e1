//! The properties every reachable state is checked against, and the states that must be
//! reachable for the check to mean anything.

use stateright::{Model as _, Property};

use crate::model::{Action, Fleet};
use crate::state::{Answer, EffKind, State};

/// Klarna receives one create order call per token, unless a fault hit the instance doing
/// it or an answer was lost (the retry is then expected, and Klarna refuses it); and it
/// places one order at most.
pub const ONE_CALL_UNLESS_FORCED: &str =
    "one create order call per token unless a crash or lost answer forced a retry";
/// Every effect is completed at most once, by the claim that holds it (its latest claim,
/// lease not ended).
pub const COMPLETED_ONCE_BY_HOLDER: &str =
    "every effect completed at most once, by the claim that holds it";
/// At a quiescent state: an order owed (the session completed and the store learned it
/// with time enough left on the token for the faults that followed) is placed, and no
/// order exists for a session that did not complete.
pub const OWED_ORDERS_PLACED: &str = "at quiescence every owed order is placed, and no other";
/// The stored observation is the fold by precedence of every observation merged.
pub const STORED_IS_FOLD: &str = "stored status is the fold by precedence of what was delivered";
/// Two instances never read the session under claims that have not ended.
pub const ONE_READER: &str = "one batch reader of a session per read lease";
/// Reached: an effect whose holder crashed or froze claimed by another claim.
pub const TAKEOVER: &str = "a takeover after a crash";
/// Reached: a conflict recorded.
pub const CONFLICT: &str = "a conflict recorded";
/// Reached: an order placed and its effect completed.
pub const ORDER_PLACED: &str = "an order placed and its effect completed";
/// Reached: a call refused after an earlier call's answer was lost.
pub const REFUSED_AFTER_LOST: &str = "a retry refused after a lost answer";

/// The `always` properties.
pub const SAFETY: [&str; 5] = [
    ONE_CALL_UNLESS_FORCED,
    COMPLETED_ONCE_BY_HOLDER,
    OWED_ORDERS_PLACED,
    STORED_IS_FOLD,
    ONE_READER,
];

/// The `sometimes` properties.
pub const REACHED: [&str; 4] = [TAKEOVER, CONFLICT, ORDER_PLACED, REFUSED_AFTER_LOST];

/// Whether nothing but faults can happen any more, and the clock has run out.
#[must_use]
pub fn quiescent(model: &Fleet, s: &State) -> bool {
    if s.now < model.config.timing.end {
        return false;
    }
    let mut actions = Vec::new();
    model.actions(s, &mut actions);
    actions.iter().all(Action::is_fault)
}

/// Whether the order is owed: the session completed, the store learned it early enough for
/// the faults since ([`Config::slack`](crate::Config::slack)), and some instance was running
/// then and has had no fault since (when every instance is frozen or down at once, none can
/// place it).
#[must_use]
pub fn owed(model: &Fleet, s: &State) -> bool {
    if s.instances.iter().all(|i| i.faulted_since_learned) {
        return false;
    }
    match (s.klarna.token, s.ghost.learned_at) {
        (Some(token), Some(learned)) => {
            u16::from(learned) + u16::from(model.config.slack(s.ghost.faults_since_learned))
                < u16::from(token.expires)
        }
        _ => false,
    }
}

/// Every property.
#[must_use]
pub fn all() -> Vec<Property<Fleet>> {
    vec![
        Property::always(ONE_CALL_UNLESS_FORCED, |_, s: &State| {
            !s.ghost.unforced_call && s.klarna.orders <= 1
        }),
        Property::always(COMPLETED_ONCE_BY_HOLDER, |_, s: &State| {
            !s.ghost.unfenced_completion
        }),
        Property::always(OWED_ORDERS_PLACED, |model, s: &State| {
            !quiescent(model, s)
                || ((!owed(model, s) || s.klarna.orders == 1)
                    && (s.klarna.orders == 0 || s.klarna.completed()))
        }),
        Property::always(STORED_IS_FOLD, |_, s: &State| {
            s.session.held == s.ghost.delivered
        }),
        Property::always(ONE_READER, |_, s: &State| !s.ghost.double_read),
        Property::sometimes(TAKEOVER, |_, s: &State| s.ghost.takeover),
        Property::sometimes(CONFLICT, |_, s: &State| {
            s.effects
                .iter()
                .any(|e| matches!(e.kind, EffKind::Conflict { .. }))
        }),
        Property::sometimes(ORDER_PLACED, |_, s: &State| {
            s.klarna.orders == 1
                && s.effects
                    .iter()
                    .any(|e| e.kind == EffKind::PlaceOrder && e.completed)
        }),
        Property::sometimes(REFUSED_AFTER_LOST, |_, s: &State| {
            let lost = s
                .attempts
                .iter()
                .position(|a| a.answer == Some(Answer::Lost));
            lost.is_some_and(|p| {
                s.attempts[p..]
                    .iter()
                    .any(|a| a.answer == Some(Answer::Refused))
            })
        }),
    ]
}
