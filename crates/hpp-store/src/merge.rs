//! What both backends share about a delivery: what it would record, and how the row
//! versions the database returns become the delivery's [`Outcome`] and effects.

use hpp_status::wire::{SessionResponse, Timestamp};
use hpp_status::{Observation, Outcome, PrecedenceKey, Tracker};

use crate::effect::EffectKind;
use crate::{StoreError, time};

/// One usable delivery, ready for the database.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub session_id: String,
    pub seen: Observation<Timestamp>,
    pub key: PrecedenceKey,
    pub expires_at_us: Option<i64>,
    /// The effect this delivery records if it makes the session final (only when it is a
    /// final status).
    pub on_final: Option<EffectKind>,
    /// The payload's authorization token, order id and Klarna reference, as they came.
    pub references: References,
}

impl Delivery {
    pub(crate) fn new(
        session_id: &str,
        seen: Observation<Timestamp>,
        session: &SessionResponse,
    ) -> Delivery {
        Delivery {
            session_id: session_id.to_owned(),
            seen,
            key: seen.precedence_key(),
            expires_at_us: session.expires_at.map(time::micros),
            on_final: seen
                .status
                .is_final()
                .then(|| EffectKind::on_final(seen.status, session)),
            references: (
                session.authorization_token.clone(),
                session.order_id.clone(),
                session.klarna_reference.clone(),
            ),
        }
    }

    /// The authorization token, order id and Klarna reference of the payload, which a
    /// conflict it causes carries.
    pub(crate) fn references(&self) -> References {
        self.references.clone()
    }
}

/// An authorization token, an order id and a Klarna reference, each if known.
pub(crate) type References = (Option<String>, Option<String>, Option<String>);

/// What a merged delivery meant, worked out from the row version it was compared against.
#[derive(Debug)]
pub(crate) struct Settled {
    pub outcome: Outcome<Timestamp>,
    /// Every effect the delivery records, the session's first one (if any) first.
    pub effects: Vec<EffectKind>,
    /// Whether `effects[0]` is the session's first effect, which the merge statement itself
    /// records on Postgres (a conflict is recorded after it).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub first_in_statement: bool,
}

/// The delivery's outcome, classified by a tracker holding exactly `held_before` (the row
/// version the database compared the delivery against), checked against `held_now` (what
/// the database holds after the merge): the two must agree, or something is badly wrong.
pub(crate) fn settle(
    delivery: &Delivery,
    held_before: Option<&[u8]>,
    held_now: &[u8],
) -> Result<Settled, StoreError> {
    let held = held_before
        .map(Observation::<Timestamp>::from_precedence_key)
        .transpose()
        .map_err(|error| StoreError::bad_key(&delivery.session_id, "held_before", error))?;
    let mut tracker = Tracker::new();
    if let Some(held) = held {
        tracker.observe(held);
    }
    let outcome = tracker.observe(delivery.seen);
    let expected = outcome.current().precedence_key();
    if expected.as_bytes() != held_now {
        return Err(StoreError::Disagreement {
            session_id: delivery.session_id.clone(),
            stored: held_now.to_vec(),
            expected: expected.as_bytes().to_vec(),
        });
    }
    let was_final = held.is_some_and(|held| held.status.is_final());
    let conflict = match outcome {
        Outcome::Conflict {
            kept,
            rejected,
            replaced,
        } => {
            // The references are the delivery's, so only when the delivery is what is kept.
            let (authorization_token, order_id, klarna_reference) = if replaced {
                delivery.references()
            } else {
                (None, None, None)
            };
            Some(EffectKind::Conflict {
                kept,
                rejected,
                authorization_token,
                order_id,
                klarna_reference,
            })
        }
        _ => None,
    };
    let (effects, first_in_statement) = match (outcome.became_final(), was_final) {
        // The session's first final: its one effect, and a conflict if the delivery is
        // also one (a final dated before an open status).
        (true, false) => {
            let on_final = delivery
                .on_final
                .clone()
                .ok_or_else(|| StoreError::Corrupt {
                    session_id: delivery.session_id.clone(),
                    detail: format!(
                        "the tracker says {} made the session final, but it is not final",
                        delivery.seen
                    ),
                })?;
            (std::iter::once(on_final).chain(conflict).collect(), true)
        }
        // A different final replaced the one held (only a conflict, never a second order),
        // or the session did not become final.
        (true, true) | (false, _) => (conflict.into_iter().collect(), false),
    };
    Ok(Settled {
        outcome,
        effects,
        first_in_statement,
    })
}

/// An effect the rules say to record was already there: for a conflict, a retry of the same
/// delivery (normal); for a session's first final effect, a session whose row was removed
/// and re-created while its effect was kept. Never a second order.
pub(crate) fn warn_not_recorded(session_id: &str, effect: &EffectKind) {
    if matches!(effect, EffectKind::Conflict { .. }) {
        tracing::debug!(session_id, "conflict already recorded");
    } else {
        tracing::warn!(
            session_id,
            kind = effect.name(),
            "the session already has its effect; not recording a second one"
        );
    }
}
