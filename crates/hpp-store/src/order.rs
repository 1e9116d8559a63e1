//! The order record of an effect: every create order call, recorded before it is sent and
//! answered after, and the one rule that reads an order's state from them.
//!
//! An order is placed only when Klarna's answer said so. A call whose answer was lost (a
//! timeout, a connection dropped after sending, a worker that died mid-call) may have placed
//! it: from then on the order is *unknown* until something authoritative says otherwise,
//! whatever later calls answer (Klarna refuses a used token and an expired one alike). A call
//! that never reached Klarna (a refused connection, a 429, a 5xx) placed nothing.

use hpp_status::wire::Timestamp;

use crate::effect::EffectKind;

/// What Klarna answered one create order call, or why there is no answer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AttemptAnswer {
    /// 200 with the order: placed.
    Placed {
        /// Klarna's order id.
        order_id: String,
    },
    /// 404 "Invalid authorization token": the token was expired, invalid, or already used.
    Refused {
        /// Klarna's answer, shortened.
        detail: String,
    },
    /// The call never reached Klarna, or Klarna refused it before doing anything (a refused
    /// connection, 429, 5xx): nothing was placed.
    NotSent {
        /// What happened.
        detail: String,
    },
    /// The call was sent and its answer lost (a timeout, a reset, an unreadable body): the
    /// order may or may not exist.
    Lost {
        /// What happened.
        detail: String,
    },
}

impl AttemptAnswer {
    /// Its name in the database: `placed`, `refused`, `not_sent`, `lost`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            AttemptAnswer::Placed { .. } => "placed",
            AttemptAnswer::Refused { .. } => "refused",
            AttemptAnswer::NotSent { .. } => "not_sent",
            AttemptAnswer::Lost { .. } => "lost",
        }
    }

    /// The order id (placed) or the detail (otherwise).
    pub(crate) fn columns(&self) -> (Option<&str>, Option<&str>) {
        match self {
            AttemptAnswer::Placed { order_id } => (Some(order_id), None),
            AttemptAnswer::Refused { detail }
            | AttemptAnswer::NotSent { detail }
            | AttemptAnswer::Lost { detail } => (None, Some(detail)),
        }
    }

    pub(crate) fn from_columns(
        answer: &str,
        order_id: Option<String>,
        detail: Option<String>,
    ) -> Result<AttemptAnswer, String> {
        let detail = || detail.clone().unwrap_or_default();
        Ok(match answer {
            "placed" => AttemptAnswer::Placed {
                order_id: order_id.ok_or("a placed attempt without an order id")?,
            },
            "refused" => AttemptAnswer::Refused { detail: detail() },
            "not_sent" => AttemptAnswer::NotSent { detail: detail() },
            "lost" => AttemptAnswer::Lost { detail: detail() },
            other => return Err(format!("unknown attempt answer {other:?}")),
        })
    }
}

/// One create order call of an effect.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OrderAttempt {
    /// The effect it was made for.
    pub effect_id: i64,
    /// 1 for the first call of the effect, 2 for the next...
    pub attempt: u32,
    /// The claim of the effect that made it.
    pub claim: u32,
    /// The worker that made it.
    pub worker: String,
    /// The `Klarna-Idempotency-Key` it carried (the same on every call of one effect).
    pub idempotency_key: String,
    /// When it was recorded, just before it was sent (the database's clock).
    pub started_at: Timestamp,
    /// What Klarna answered; `None` when no answer was recorded (the worker died mid-call,
    /// or the call is under way).
    pub answer: Option<AttemptAnswer>,
    /// When the answer was recorded.
    pub answered_at: Option<Timestamp>,
}

impl OrderAttempt {
    /// Whether this call may have placed an order without the merchant knowing: sent, and
    /// its answer lost or never recorded.
    #[must_use]
    pub fn may_have_placed(&self) -> bool {
        matches!(self.answer, None | Some(AttemptAnswer::Lost { .. }))
    }
}

/// What the merchant knows of a session's order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OrderState {
    /// No order to place (the session ended without payment, or it is not final yet).
    None,
    /// An order is owed and not settled yet: being placed, or retried.
    Pending,
    /// Placed: Klarna's answer (or Klarna itself, with a `place_order_mode`) said so.
    Placed {
        /// Klarna's order id.
        order_id: String,
    },
    /// Not placed: Klarna refused the token and no call before could have placed it.
    Refused,
    /// Perhaps placed: a call's answer was lost and no answer since settled it. A person
    /// must look the order up (by the session, the token and the idempotency key).
    Unknown,
}

impl OrderState {
    /// Its name: `none`, `pending`, `placed`, `refused`, `unknown`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            OrderState::None => "none",
            OrderState::Pending => "pending",
            OrderState::Placed { .. } => "placed",
            OrderState::Refused => "refused",
            OrderState::Unknown => "unknown",
        }
    }

    /// The state of an order from its effect (`None` when the session has no order effect),
    /// whether the effect is completed, and its calls in order. The one place this rule is
    /// written:
    ///
    /// - a call answered `placed`: placed, with its id;
    /// - Klarna placed it (`place_order_mode`): placed;
    /// - effect still to do: pending;
    /// - done, and a call may have placed it (answer lost or never recorded): unknown;
    /// - done, a call refused, every call before it certainly not sent: refused;
    /// - done without any call: none.
    ///
    /// ```
    /// use hpp_store::{AttemptAnswer, EffectKind, OrderAttempt, OrderState};
    ///
    /// let call = |attempt, answer| OrderAttempt {
    ///     effect_id: 1, attempt, claim: attempt, worker: "w".into(),
    ///     idempotency_key: "k".into(), started_at: "2026-12-05T10:00:00Z".parse().unwrap(),
    ///     answer: Some(answer), answered_at: None,
    /// };
    /// let place = EffectKind::PlaceOrder { authorization_token: "t".into() };
    /// let lost = call(1, AttemptAnswer::Lost { detail: "timed out".into() });
    /// let refused = call(2, AttemptAnswer::Refused { detail: "404".into() });
    /// // The first answer was lost, the retry refused: Klarna never said whether it placed.
    /// assert_eq!(OrderState::of(Some(&place), true, &[lost, refused.clone()]), OrderState::Unknown);
    /// // Every call before the refusal never reached Klarna: not placed.
    /// let throttled = call(1, AttemptAnswer::NotSent { detail: "429".into() });
    /// assert_eq!(OrderState::of(Some(&place), true, &[throttled, refused]), OrderState::Refused);
    /// ```
    #[must_use]
    pub fn of(kind: Option<&EffectKind>, completed: bool, attempts: &[OrderAttempt]) -> OrderState {
        if let Some(order_id) = attempts.iter().find_map(|call| match &call.answer {
            Some(AttemptAnswer::Placed { order_id }) => Some(order_id.clone()),
            _ => None,
        }) {
            return OrderState::Placed { order_id };
        }
        match kind {
            None | Some(EffectKind::SessionEnded { .. } | EffectKind::Conflict { .. }) => {
                return OrderState::None;
            }
            Some(EffectKind::OrderPlacedByKlarna { order_id, .. }) => {
                return OrderState::Placed {
                    order_id: order_id.clone(),
                };
            }
            Some(EffectKind::PlaceOrder { .. } | EffectKind::CompletedWithoutReference) => {}
        }
        if !completed {
            return OrderState::Pending;
        }
        if attempts.iter().any(OrderAttempt::may_have_placed) {
            OrderState::Unknown
        } else if attempts
            .iter()
            .any(|call| matches!(call.answer, Some(AttemptAnswer::Refused { .. })))
        {
            OrderState::Refused
        } else {
            OrderState::None
        }
    }
}

/// A row of `hpp_order_attempt`, as both backends read it.
pub(crate) type AttemptRow = (
    i64,
    i64,
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// The call a row records.
pub(crate) fn attempt_from_row(row: AttemptRow) -> Result<OrderAttempt, String> {
    let (
        effect_id,
        attempt,
        claim,
        worker,
        idempotency_key,
        started,
        answer,
        order_id,
        detail,
        answered,
    ) = row;
    let number = |value: i64, what: &str| {
        u32::try_from(value)
            .map_err(|_| format!("{what} {value} of effect {effect_id} is out of range"))
    };
    Ok(OrderAttempt {
        effect_id,
        attempt: number(attempt, "attempt")?,
        claim: number(claim, "claim")?,
        worker,
        idempotency_key,
        started_at: crate::time::from_micros(started)?,
        answer: answer
            .map(|answer| AttemptAnswer::from_columns(&answer, order_id, detail))
            .transpose()?,
        answered_at: answered.map(crate::time::from_micros).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(attempt: u32, answer: Option<AttemptAnswer>) -> OrderAttempt {
        OrderAttempt {
            effect_id: 1,
            attempt,
            claim: attempt,
            worker: "w".into(),
            idempotency_key: "k".into(),
            started_at: "2026-12-05T10:00:00Z".parse().unwrap(),
            answer,
            answered_at: None,
        }
    }

    fn placed(id: &str) -> Option<AttemptAnswer> {
        Some(AttemptAnswer::Placed {
            order_id: id.into(),
        })
    }
    fn refused() -> Option<AttemptAnswer> {
        Some(AttemptAnswer::Refused {
            detail: "404".into(),
        })
    }
    fn not_sent() -> Option<AttemptAnswer> {
        Some(AttemptAnswer::NotSent {
            detail: "429".into(),
        })
    }
    fn lost() -> Option<AttemptAnswer> {
        Some(AttemptAnswer::Lost {
            detail: "timeout".into(),
        })
    }

    fn place() -> EffectKind {
        EffectKind::PlaceOrder {
            authorization_token: "t".into(),
        }
    }

    #[track_caller]
    fn state(completed: bool, answers: Vec<Option<AttemptAnswer>>) -> OrderState {
        let calls: Vec<OrderAttempt> = answers
            .into_iter()
            .zip(1..)
            .map(|(answer, n)| call(n, answer))
            .collect();
        OrderState::of(Some(&place()), completed, &calls)
    }

    #[test]
    fn only_an_answer_that_says_placed_makes_an_order_placed() {
        let order = OrderState::Placed {
            order_id: "o".into(),
        };
        assert_eq!(state(true, vec![placed("o")]), order);
        assert_eq!(state(true, vec![lost(), placed("o")]), order);
        assert_eq!(state(false, vec![not_sent(), lost(), placed("o")]), order);
        assert_eq!(state(true, vec![refused()]), OrderState::Refused);
    }

    #[test]
    fn a_refusal_after_calls_that_never_reached_klarna_is_a_refusal() {
        // The probe of the issue: 429 for 22 s, then the token expired.
        let mut answers = vec![not_sent(); 71];
        answers.push(refused());
        assert_eq!(state(true, answers), OrderState::Refused);
    }

    #[test]
    fn a_lost_or_unrecorded_answer_before_a_refusal_leaves_the_order_unknown() {
        assert_eq!(state(true, vec![lost(), refused()]), OrderState::Unknown);
        assert_eq!(state(true, vec![None, refused()]), OrderState::Unknown);
        assert_eq!(
            state(true, vec![not_sent(), lost(), not_sent(), refused()]),
            OrderState::Unknown
        );
    }

    #[test]
    fn an_effect_still_to_do_is_pending_and_other_effects_have_no_order() {
        assert_eq!(state(false, vec![]), OrderState::Pending);
        assert_eq!(state(false, vec![lost(), refused()]), OrderState::Pending);
        assert_eq!(state(true, vec![]), OrderState::None);
        let ended = EffectKind::SessionEnded {
            status: hpp_status::Status::Cancelled,
        };
        assert_eq!(OrderState::of(Some(&ended), true, &[]), OrderState::None);
        assert_eq!(OrderState::of(None, false, &[]), OrderState::None);
        let by_klarna = EffectKind::OrderPlacedByKlarna {
            order_id: "k".into(),
            klarna_reference: Some("r".into()),
        };
        assert_eq!(
            OrderState::of(Some(&by_klarna), false, &[]),
            OrderState::Placed {
                order_id: "k".into()
            }
        );
    }

    #[test]
    fn answers_round_trip_through_their_columns() {
        for answer in [placed("o"), refused(), not_sent(), lost()]
            .into_iter()
            .flatten()
        {
            let (order_id, detail) = answer.columns();
            let back = AttemptAnswer::from_columns(
                answer.name(),
                order_id.map(str::to_owned),
                detail.map(str::to_owned),
            );
            assert_eq!(back, Ok(answer));
        }
        assert!(AttemptAnswer::from_columns("placed", None, None).is_err());
        assert!(AttemptAnswer::from_columns("maybe", None, None).is_err());
    }
}
