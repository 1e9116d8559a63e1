//! `hpp-merchant sessions`: every session in the store with its status and what is known of
//! its order, the first thing an on-call engineer looks at.

use std::collections::HashMap;
use std::fmt::Write as _;

use hpp_status::Status;
use hpp_store::{EffectKind, OrderAttempt, OrderState, Store, StoreError};
use serde::Serialize;

/// One session and its order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SessionOrder {
    /// The HPP session.
    pub session_id: String,
    /// The status the store holds (`None` before the first observation).
    pub status: Option<Status>,
    /// What is known of its order: see [`OrderState::of`].
    pub order: OrderState,
}

/// The JSON line of one session: `{"session_id", "status", "order": {"state", "order_id"}}`.
#[derive(Serialize)]
struct Line<'a> {
    session_id: &'a str,
    status: Option<&'static str>,
    order: OrderLine<'a>,
}

#[derive(Serialize)]
struct OrderLine<'a> {
    state: &'static str,
    order_id: Option<&'a str>,
}

impl SessionOrder {
    fn order_id(&self) -> Option<&str> {
        match &self.order {
            OrderState::Placed { order_id } => Some(order_id),
            _ => None,
        }
    }

    /// The session as one JSON object (no newline).
    ///
    /// ```
    /// use hpp_merchant::report::SessionOrder;
    /// use hpp_status::Status;
    /// use hpp_store::OrderState;
    ///
    /// let placed = SessionOrder {
    ///     session_id: "s-1".into(),
    ///     status: Some(Status::Completed),
    ///     order: OrderState::Placed { order_id: "o-1".into() },
    /// };
    /// assert_eq!(
    ///     placed.json(),
    ///     r#"{"session_id":"s-1","status":"COMPLETED","order":{"state":"placed","order_id":"o-1"}}"#
    /// );
    /// ```
    #[must_use]
    pub fn json(&self) -> String {
        let line = Line {
            session_id: &self.session_id,
            status: self.status.map(Status::as_str),
            order: OrderLine {
                state: self.order.name(),
                order_id: self.order_id(),
            },
        };
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// Every session of `store` with its order, in the store's order of sessions.
///
/// # Errors
///
/// The [`StoreError`] of a query.
pub async fn session_orders(store: &Store) -> Result<Vec<SessionOrder>, StoreError> {
    let sessions = store.sessions().await?;
    let effects = store.effects().await?;
    let mut calls: HashMap<i64, Vec<OrderAttempt>> = HashMap::new();
    for call in store.order_attempts(None).await? {
        calls.entry(call.effect_id).or_default().push(call);
    }
    // A session's one effect that is not a conflict: the order to place, or its end.
    let effect_of: HashMap<&str, _> = effects
        .iter()
        .filter(|effect| !matches!(effect.kind, EffectKind::Conflict { .. }))
        .map(|effect| (effect.session_id.as_str(), effect))
        .collect();
    Ok(sessions
        .iter()
        .map(|session| {
            let order = match effect_of.get(session.session_id.as_str()) {
                Some(effect) => OrderState::of(
                    Some(&effect.kind),
                    effect.is_completed(),
                    calls.get(&effect.id).map_or(&[][..], Vec::as_slice),
                ),
                None => OrderState::None,
            };
            SessionOrder {
                session_id: session.session_id.clone(),
                status: session.status(),
                order,
            }
        })
        .collect())
}

/// The sessions as a table for a terminal, with a count of each order state last.
#[must_use]
pub fn table(sessions: &[SessionOrder]) -> String {
    let mut text = format!(
        "{:<38} {:<12} {:<8} {}\n",
        "session", "status", "order", "order id"
    );
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for session in sessions {
        let _ = writeln!(
            text,
            "{:<38} {:<12} {:<8} {}",
            session.session_id,
            session.status.map_or("-", Status::as_str),
            session.order.name(),
            session.order_id().unwrap_or("-"),
        );
        let state = session.order.name();
        match counts.iter_mut().find(|(name, _)| *name == state) {
            Some((_, count)) => *count += 1,
            None => counts.push((state, 1)),
        }
    }
    let counts: Vec<String> = counts
        .iter()
        .map(|(state, count)| format!("{state} {count}"))
        .collect();
    let _ = writeln!(
        text,
        "{} sessions; orders: {}",
        sessions.len(),
        counts.join(", ")
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_each_session_and_counts_the_states() {
        let sessions = [
            SessionOrder {
                session_id: "a".into(),
                status: Some(Status::Completed),
                order: OrderState::Unknown,
            },
            SessionOrder {
                session_id: "b".into(),
                status: None,
                order: OrderState::None,
            },
            SessionOrder {
                session_id: "c".into(),
                status: Some(Status::Completed),
                order: OrderState::Unknown,
            },
        ];
        let table = table(&sessions);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(
            lines[1].starts_with("a ")
                && lines[1].contains("COMPLETED")
                && lines[1].contains("unknown")
        );
        assert!(lines[2].contains(" - ") && lines[2].contains("none"));
        assert_eq!(lines[4], "3 sessions; orders: unknown 2, none 1");
        assert_eq!(
            sessions[1].json(),
            r#"{"session_id":"b","status":null,"order":{"state":"none","order_id":null}}"#
        );
    }
}
