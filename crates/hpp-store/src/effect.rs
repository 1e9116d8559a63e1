//! [`Effect`]s: what must happen because a session ended (or conflicted), recorded with the
//! delivery that caused it and done by workers under a lease.

use hpp_status::wire::{SessionResponse, Timestamp};
use hpp_status::{Observation, Status};

use crate::StoreError;
use crate::time;

/// What an [`Effect`] asks for.
///
/// A session has at most one effect that is not a [`Conflict`](EffectKind::Conflict): the
/// one recorded when a delivery first made it final.
///
/// ```
/// use hpp_status::Status;
/// use hpp_store::EffectKind;
///
/// let kind = EffectKind::SessionEnded { status: Status::Cancelled };
/// assert_eq!(kind.name(), "session_ended");
/// assert_eq!(kind.status(), Status::Cancelled);
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EffectKind {
    /// `COMPLETED` with an authorization token (Klarna Payments, `place_order_mode` NONE):
    /// create the order with it, within 60 minutes of the authorization.
    PlaceOrder {
        /// The authorization token.
        authorization_token: String,
    },
    /// `COMPLETED` with an order id: Klarna placed the order (Kustom Checkout, or a
    /// `place_order_mode`); record it, place nothing. Chosen over
    /// [`PlaceOrder`](EffectKind::PlaceOrder) when a payload has both, because an order id
    /// means the order exists.
    OrderPlacedByKlarna {
        /// The order id.
        order_id: String,
        /// The Klarna reference, when the payload had it.
        klarna_reference: Option<String>,
    },
    /// `COMPLETED`, but the payload carried neither an authorization token nor an order id
    /// (a callback body is a hint, and retries have been seen without a body): read the
    /// session with Read Session to get them, then act as for `PlaceOrder` or
    /// `OrderPlacedByKlarna`; if the read has neither, a person must look. It cannot place
    /// an order by itself, and it is never dropped.
    CompletedWithoutReference,
    /// The session ended without an order: `CANCELLED` or `DISABLED`. Release the cart.
    SessionEnded {
        /// The final status.
        status: Status,
    },
    /// Deliveries that cannot come from one legal history (see
    /// [`Outcome::Conflict`](hpp_status::Outcome::Conflict)), for a person to look at. When
    /// it changed which final the session holds (a different, earlier final arrived), the
    /// session's first effect stays as it is: a conflict never retracts an effect, and never
    /// places a second order.
    Conflict {
        /// The observation the session holds.
        kept: Observation<Timestamp>,
        /// The other one.
        rejected: Observation<Timestamp>,
        /// The authorization token of the delivery, when it was kept and had one.
        authorization_token: Option<String>,
        /// The order id of the delivery, when it was kept and had one.
        order_id: Option<String>,
        /// The Klarna reference of the delivery, when it was kept and had one.
        klarna_reference: Option<String>,
    },
}

impl EffectKind {
    /// The kind's name, as stored in the `kind` column: `place_order`,
    /// `order_placed_by_klarna`, `completed_without_reference`, `session_ended` or
    /// `conflict`.
    ///
    /// ```
    /// use hpp_store::EffectKind;
    ///
    /// assert_eq!(EffectKind::CompletedWithoutReference.name(), "completed_without_reference");
    /// ```
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            EffectKind::PlaceOrder { .. } => PLACE_ORDER,
            EffectKind::OrderPlacedByKlarna { .. } => ORDER_PLACED_BY_KLARNA,
            EffectKind::CompletedWithoutReference => COMPLETED_WITHOUT_REFERENCE,
            EffectKind::SessionEnded { .. } => SESSION_ENDED,
            EffectKind::Conflict { .. } => CONFLICT,
        }
    }

    /// The final status the effect is about; for a conflict, the status kept.
    ///
    /// ```
    /// use hpp_status::Status;
    /// use hpp_store::EffectKind;
    ///
    /// let kind = EffectKind::PlaceOrder { authorization_token: "tok".into() };
    /// assert_eq!(kind.status(), Status::Completed);
    /// ```
    #[must_use]
    pub fn status(&self) -> Status {
        match self {
            EffectKind::PlaceOrder { .. }
            | EffectKind::OrderPlacedByKlarna { .. }
            | EffectKind::CompletedWithoutReference => Status::Completed,
            EffectKind::SessionEnded { status } => *status,
            EffectKind::Conflict { kept, .. } => kept.status,
        }
    }

    /// The effect a delivery of `session` with the final status `status` records when it
    /// makes the session final: for `COMPLETED`, an order id beats an authorization token,
    /// which beats nothing; any other final status ends the session.
    ///
    /// ```
    /// use hpp_status::Status;
    /// use hpp_status::wire::SessionResponse;
    /// use hpp_store::EffectKind;
    ///
    /// let both = SessionResponse {
    ///     order_id: Some("order-1".into()),
    ///     authorization_token: Some("tok".into()),
    ///     ..SessionResponse::default()
    /// };
    /// assert_eq!(
    ///     EffectKind::on_final(Status::Completed, &both),
    ///     EffectKind::OrderPlacedByKlarna { order_id: "order-1".into(), klarna_reference: None },
    /// );
    /// let token = SessionResponse { order_id: None, ..both.clone() };
    /// assert_eq!(
    ///     EffectKind::on_final(Status::Completed, &token),
    ///     EffectKind::PlaceOrder { authorization_token: "tok".into() },
    /// );
    /// assert_eq!(
    ///     EffectKind::on_final(Status::Completed, &SessionResponse::default()),
    ///     EffectKind::CompletedWithoutReference,
    /// );
    /// assert_eq!(
    ///     EffectKind::on_final(Status::Cancelled, &both),
    ///     EffectKind::SessionEnded { status: Status::Cancelled },
    /// );
    /// ```
    #[must_use]
    pub fn on_final(status: Status, session: &SessionResponse) -> EffectKind {
        if status != Status::Completed {
            return EffectKind::SessionEnded { status };
        }
        match (&session.order_id, &session.authorization_token) {
            (Some(order_id), _) => EffectKind::OrderPlacedByKlarna {
                order_id: order_id.clone(),
                klarna_reference: session.klarna_reference.clone(),
            },
            (None, Some(token)) => EffectKind::PlaceOrder {
                authorization_token: token.clone(),
            },
            (None, None) => EffectKind::CompletedWithoutReference,
        }
    }

    /// The columns this kind is stored in.
    pub(crate) fn columns(&self) -> EffectColumns {
        let mut columns = EffectColumns {
            kind: self.name(),
            status: self.status().as_str(),
            authorization_token: None,
            order_id: None,
            klarna_reference: None,
            kept_key: None,
            rejected_key: None,
        };
        match self {
            EffectKind::PlaceOrder {
                authorization_token,
            } => columns.authorization_token = Some(authorization_token.clone()),
            EffectKind::OrderPlacedByKlarna {
                order_id,
                klarna_reference,
            } => {
                columns.order_id = Some(order_id.clone());
                columns.klarna_reference = klarna_reference.clone();
            }
            EffectKind::CompletedWithoutReference | EffectKind::SessionEnded { .. } => {}
            EffectKind::Conflict {
                kept,
                rejected,
                authorization_token,
                order_id,
                klarna_reference,
            } => {
                columns.kept_key = Some(kept.precedence_key().as_bytes().to_vec());
                columns.rejected_key = Some(rejected.precedence_key().as_bytes().to_vec());
                columns.authorization_token = authorization_token.clone();
                columns.order_id = order_id.clone();
                columns.klarna_reference = klarna_reference.clone();
            }
        }
        columns
    }
}

const PLACE_ORDER: &str = "place_order";
const ORDER_PLACED_BY_KLARNA: &str = "order_placed_by_klarna";
const COMPLETED_WITHOUT_REFERENCE: &str = "completed_without_reference";
const SESSION_ENDED: &str = "session_ended";
const CONFLICT: &str = "conflict";

/// An [`EffectKind`] as the `hpp_effect` columns hold it.
#[derive(Clone, Debug, Default)]
pub(crate) struct EffectColumns {
    pub kind: &'static str,
    pub status: &'static str,
    pub authorization_token: Option<String>,
    pub order_id: Option<String>,
    pub klarna_reference: Option<String>,
    pub kept_key: Option<Vec<u8>>,
    pub rejected_key: Option<Vec<u8>>,
}

/// One effect: what to do, for which session, and the state of its claims.
///
/// [`Store::claim_effects`](crate::Store::claim_effects) returns effects claimed for the
/// caller (`claimed_by`, `attempt` and `lease_until` are that claim's);
/// [`Store::effects`](crate::Store::effects) lists them all.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Effect {
    /// The effect's id, unique in the store.
    pub id: i64,
    /// The session it is about.
    pub session_id: String,
    /// What to do.
    pub kind: EffectKind,
    /// How many times it has been claimed: the number of the latest claim, 0 if never.
    pub attempt: u32,
    /// The worker of the latest claim.
    pub claimed_by: Option<String>,
    /// When the latest claim's lease ends, on the database's clock.
    pub lease_until: Option<Timestamp>,
    /// When it was completed, on the database's clock; `None` while it is to do.
    pub completed_at: Option<Timestamp>,
    /// When it was recorded, on the database's clock.
    pub created_at: Timestamp,
}

impl Effect {
    /// Whether a worker completed it.
    ///
    /// ```
    /// # async fn example() -> Result<(), hpp_store::StoreError> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// for effect in store.effects().await? {
    ///     println!("#{} {}: done: {}", effect.id, effect.kind.name(), effect.is_completed());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }
}

/// An `hpp_effect` row as read, before it is checked.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EffectRow {
    pub id: i64,
    pub session_id: String,
    pub kind: String,
    pub status: String,
    pub authorization_token: Option<String>,
    pub order_id: Option<String>,
    pub klarna_reference: Option<String>,
    pub kept_key: Option<Vec<u8>>,
    pub rejected_key: Option<Vec<u8>>,
    pub created_at_us: i64,
    pub attempts: i64,
    pub claimed_by: Option<String>,
    pub lease_until_us: Option<i64>,
    pub completed_at_us: Option<i64>,
}

impl EffectRow {
    /// The effect, or why the row is not one the store writes.
    pub(crate) fn into_effect(self) -> Result<Effect, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            session_id: self.session_id.clone(),
            detail: format!("effect #{}: {detail}", self.id),
        };
        let status: Status = self
            .status
            .parse()
            .map_err(|error| corrupt(format!("status: {error}")))?;
        let missing = |column: &str| corrupt(format!("a {} effect without {column}", self.kind));
        let kind = match self.kind.as_str() {
            PLACE_ORDER => EffectKind::PlaceOrder {
                authorization_token: self
                    .authorization_token
                    .clone()
                    .ok_or_else(|| missing("authorization_token"))?,
            },
            ORDER_PLACED_BY_KLARNA => EffectKind::OrderPlacedByKlarna {
                order_id: self.order_id.clone().ok_or_else(|| missing("order_id"))?,
                klarna_reference: self.klarna_reference.clone(),
            },
            COMPLETED_WITHOUT_REFERENCE => EffectKind::CompletedWithoutReference,
            SESSION_ENDED => EffectKind::SessionEnded { status },
            CONFLICT => {
                let observation = |key: &Option<Vec<u8>>, column: &str| {
                    let key = key.as_deref().ok_or_else(|| missing(column))?;
                    Observation::from_precedence_key(key)
                        .map_err(|error| corrupt(format!("{column}: {error}")))
                };
                EffectKind::Conflict {
                    kept: observation(&self.kept_key, "kept_key")?,
                    rejected: observation(&self.rejected_key, "rejected_key")?,
                    authorization_token: self.authorization_token.clone(),
                    order_id: self.order_id.clone(),
                    klarna_reference: self.klarna_reference.clone(),
                }
            }
            other => return Err(corrupt(format!("unknown kind {other:?}"))),
        };
        let time = |us: i64| time::from_micros(us).map_err(&corrupt);
        Ok(Effect {
            id: self.id,
            kind,
            attempt: u32::try_from(self.attempts)
                .map_err(|_| corrupt(format!("attempts {}", self.attempts)))?,
            claimed_by: self.claimed_by.clone(),
            lease_until: self.lease_until_us.map(time).transpose()?,
            completed_at: self.completed_at_us.map(time).transpose()?,
            created_at: time(self.created_at_us)?,
            session_id: self.session_id,
        })
    }
}
