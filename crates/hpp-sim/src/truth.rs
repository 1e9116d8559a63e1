//! The truth: what really happened to each session ([`SessionTruth`]), and the
//! [`Summary`] that counts it. Everything here is `serde`, as it is written to the truth
//! file and served at `GET /_sim/summary` and `GET /_sim/sessions/{id}`.

use std::collections::BTreeMap;
use std::fmt;

use hpp_status::Status;
use hpp_status::wire::{ReportedStatus, Timestamp};
use serde::{Deserialize, Serialize};

use crate::limits::{CallTally, Operation};

/// Which Klarna product the session pays with, from the shape of its `payment_session_url`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Klarna Payments: `.../payments/v1/sessions/{id}`.
    KlarnaPayments,
    /// Kustom (Klarna) Checkout: `.../checkout/v3/orders/{id}`. Klarna places the order.
    KustomCheckout,
}

/// `options.place_order_mode` of the session: the core's wire type.
pub use hpp_status::wire::PlaceOrderMode;

/// One change of the status a session shows.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StatusChange {
    /// The status shown from now on.
    pub status: ReportedStatus,
    /// Its `updated_at`: strictly later than the previous change's.
    pub updated_at: Timestamp,
    /// What caused it: `created`, a consumer's move (`EnterPage`, `Authorize`,
    /// `Show(TIMEOUT)`, `Resume`, ...) or the merchant's `Disable`.
    pub cause: String,
    /// Whether the change is called back (every change but creation and Disable, when the
    /// session has a `status_update` URL).
    pub called_back: bool,
}

/// How a callback POST was sent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// The first attempt.
    Original,
    /// A later attempt of the same event, after no (counted) 2xx.
    Retry,
    /// An injected second copy of the event (same `event_id`).
    Duplicate,
    /// An injected forgery: another `event_id`, a wrong secret, a lying body.
    Forged,
}

/// What the merchant answered to a POST (or a redirect's GET).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// An HTTP status code.
    Status {
        /// The code.
        code: u16,
    },
    /// No answer within the timeout.
    Timeout,
    /// No answer at all (connection refused or reset...).
    Failed {
        /// What went wrong.
        reason: String,
    },
}

impl Answer {
    /// Whether the answer is a 2xx.
    ///
    /// ```
    /// use hpp_sim::Answer;
    ///
    /// assert!(Answer::Status { code: 204 }.is_success());
    /// assert!(!Answer::Status { code: 302 }.is_success());
    /// assert!(!Answer::Timeout.is_success());
    /// ```
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, Answer::Status { code } if (200..300).contains(code))
    }
}

/// One POST to the merchant's `status_update` URL.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CallbackAttempt {
    /// When it was sent.
    pub at: Timestamp,
    /// The event's id (for a forgery, the forged event's id).
    pub event_id: String,
    /// Original, retry, duplicate or forgery.
    pub kind: DeliveryKind,
    /// 1 for the first attempt, 2 to 4 for retries; 1 for a duplicate or forgery.
    pub attempt: u32,
    /// Whether the body was empty.
    pub empty_body: bool,
    /// The status in the body (none when empty).
    pub status: Option<ReportedStatus>,
    /// Where it was sent (for a forgery, the URL with the secret replaced).
    pub url: String,
    /// What the merchant answered.
    pub answer: Answer,
    /// Whether the simulator counted the answer as an acknowledgement (a 2xx that no fault
    /// made it ignore).
    pub acknowledged: bool,
}

/// A fault injected into one callback event.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// Never sent, retries included.
    Lost,
    /// A second copy, sent this long (wall) after the event.
    Duplicated {
        /// The copy's delay, in milliseconds.
        after_ms: u64,
    },
    /// Held back this long (wall) before the first attempt.
    Delayed {
        /// The hold, in milliseconds.
        hold_ms: u64,
    },
    /// The first attempt's answer is ignored and every retry has an empty body.
    EmptyRetry,
    /// The first attempt's answer is ignored, as if it had timed out.
    AnswerDropped,
    /// A forged callback, sent this long (wall) after the event.
    Forged {
        /// The forgery's own `event_id`.
        event_id: String,
        /// The made-up authorization token in its body.
        authorization_token: String,
        /// Whether a secret was found in the `status_update` URL and replaced (when not,
        /// the forgery goes to the real URL: anyone who knows it can post).
        secret_replaced: bool,
        /// The forgery's delay, in milliseconds.
        after_ms: u64,
    },
}

/// How a callback event ended.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// Still being delivered.
    Pending,
    /// A counted 2xx ended it.
    Acknowledged,
    /// Every attempt went without a counted 2xx.
    GivenUp,
    /// Lost on purpose: nothing was sent.
    Lost,
    /// The simulator shut down before it ended.
    Cancelled,
}

/// One status change that is called back.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CallbackEvent {
    /// Its `event_id`.
    pub event_id: String,
    /// The status in its body.
    pub status: ReportedStatus,
    /// The `updated_at` in its body.
    pub updated_at: Timestamp,
    /// The faults injected into it.
    pub faults: Vec<Fault>,
    /// How it ended.
    pub outcome: EventOutcome,
}

/// The Read Session requests of one session.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ReadTally {
    /// Answered 200 with the session.
    pub served: u64,
    /// Answered 404 because the session had expired.
    pub after_expiry: u64,
    /// Answered 5xx on purpose.
    pub injected_errors: u64,
    /// Answered late on purpose (and then served, or 404).
    pub slowed: u64,
    /// Served with an older status than the truth, on purpose (a lagging replica).
    #[serde(default)]
    pub stale: u64,
    /// When the last 200 was served.
    pub last_served_at: Option<Timestamp>,
    /// The status the last 200 carried.
    pub last_served_status: Option<ReportedStatus>,
}

/// The result of a Disable (`DELETE`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DisableResult {
    /// 204: the session is now `DISABLED` (and this is not called back).
    Disabled,
    /// 400: the session was already final.
    Refused {
        /// Its status.
        status: Status,
    },
    /// 404: the session had expired.
    Expired,
}

/// One Disable of the session.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DisableAttempt {
    /// When.
    pub at: Timestamp,
    /// What the API did.
    #[serde(flatten)]
    pub result: DisableResult,
}

/// The result of a create order call (`POST /payments/v1/authorizations/{token}/order`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OrderResult {
    /// 200: an order was placed (the only result that places one).
    Placed {
        /// The new order's id.
        order_id: String,
    },
    /// 404: the token already placed an order, and this call carried the same
    /// `Klarna-Idempotency-Key` as the call that placed it: the merchant retried one
    /// placement whose answer it lost (after a crash or a timeout). Not a bug; the merchant
    /// learns only that the token is no longer valid.
    RefusedRetry,
    /// 404: the token already placed an order, and this call was another placement (no key,
    /// or another key): a second order attempt, a merchant bug.
    RefusedRepeat,
    /// 404: the token is older than its lifetime.
    TokenExpired,
    /// 404: the token was never issued; it came from a forged callback (the merchant acted
    /// on a forgery).
    ForgedToken,
    /// 404: the token is unknown.
    UnknownToken,
}

/// One create order call.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OrderAttempt {
    /// When.
    pub at: Timestamp,
    /// The authorization token in the path.
    pub authorization_token: String,
    /// The `Klarna-Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// What the API did.
    #[serde(flatten)]
    pub result: OrderResult,
    /// The answer was dropped on purpose: the merchant never heard what happened.
    #[serde(default)]
    pub answer_lost: bool,
}

/// One redirect of the consumer's browser to a merchant URL.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Redirect {
    /// When.
    pub at: Timestamp,
    /// Which URL: `success`, `cancel`, `back`, `failure` or `error`.
    pub which: String,
    /// The URL with its placeholders filled.
    pub url: String,
    /// What the merchant answered; none when the simulator did not visit the URL itself
    /// (not loopback, or a browser on the payment page was sent there and went on its own).
    pub answer: Option<Answer>,
}

/// Everything that happened to one session.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SessionTruth {
    /// The HPP session id.
    pub session_id: String,
    /// Its place in the order of creation (0 first): with the seed, it decides the walk.
    pub index: u64,
    /// Klarna Payments or Kustom Checkout.
    pub payment: PaymentKind,
    /// The `payment_session_url` it was created with.
    pub payment_session_url: String,
    /// Its `place_order_mode`.
    pub place_order_mode: PlaceOrderMode,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires: from then on, Read Session and Disable answer 404.
    pub expires_at: Timestamp,
    /// The `status_update` URL with `{{session_id}}` filled, if one was given.
    pub status_update: Option<String>,
    /// Whether its consumer gives up before a final status.
    pub abandoned: bool,
    /// The status it shows now (or showed when it expired).
    pub status: ReportedStatus,
    /// Its lifecycle status now (`IN_PROGRESS` under an interlude).
    pub lifecycle: Status,
    /// Whether it expired before a final status (as of when this was taken).
    pub expired: bool,
    /// Every status change, creation first.
    pub history: Vec<StatusChange>,
    /// The authorization token, once `COMPLETED` with `place_order_mode` `NONE` (Klarna
    /// Payments).
    pub authorization_token: Option<String>,
    /// Until when the token places an order.
    pub token_valid_until: Option<Timestamp>,
    /// The order Klarna placed itself (`PLACE_ORDER`, `CAPTURE_ORDER`, Kustom Checkout).
    pub order_id: Option<String>,
    /// The Klarna reference of that order.
    pub klarna_reference: Option<String>,
    /// Every status change that was called back.
    pub events: Vec<CallbackEvent>,
    /// Every callback POST, forgeries included.
    pub attempts: Vec<CallbackAttempt>,
    /// Its Read Session requests.
    pub reads: ReadTally,
    /// Its Disable requests.
    pub disables: Vec<DisableAttempt>,
    /// The create order calls with its token, or with a token forged for it.
    pub orders: Vec<OrderAttempt>,
    /// The consumer's redirects to merchant URLs.
    pub redirects: Vec<Redirect>,
}

impl SessionTruth {
    /// The final status, if the session reached one.
    #[must_use]
    pub fn final_status(&self) -> Option<Status> {
        Some(self.lifecycle).filter(|status| status.is_final())
    }

    /// The orders placed with its token (0 or 1: the API refuses a second).
    #[must_use]
    pub fn orders_placed(&self) -> usize {
        self.orders
            .iter()
            .filter(|order| matches!(order.result, OrderResult::Placed { .. }))
            .count()
    }

    /// Whether the session is past its `expires_at` at `now`: Read Session and Disable answer
    /// 404 from then on, final or not.
    #[must_use]
    pub fn is_past_expiry(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Whether the session expired before reaching a final status, as of `now`.
    #[must_use]
    pub fn expired_before_final(&self, now: Timestamp) -> bool {
        !self.lifecycle.is_final() && self.is_past_expiry(now)
    }

    /// Whether the merchant owes this session an order: `COMPLETED` with an authorization
    /// token.
    #[must_use]
    pub fn owes_order(&self) -> bool {
        self.lifecycle == Status::Completed && self.authorization_token.is_some()
    }
}

/// Counts of the callbacks, over every session.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct CallbackSummary {
    /// Status changes called back (one event each).
    pub events: u64,
    /// POSTs of real events: first attempts, retries and duplicates.
    pub sent: u64,
    /// POSTs that were retries.
    pub retries: u64,
    /// Events that ended with a counted 2xx.
    pub acknowledged: u64,
    /// Events that ended without one after every attempt.
    pub given_up: u64,
    /// Events still being delivered.
    pub pending: u64,
    /// Events lost on purpose.
    pub lost: u64,
    /// Events duplicated on purpose.
    pub duplicated: u64,
    /// Events held back on purpose.
    pub delayed: u64,
    /// Events whose retries had an empty body on purpose.
    pub empty_retry: u64,
    /// POSTs with an empty body.
    pub empty_bodies: u64,
    /// Events whose first answer was ignored on purpose.
    pub answer_dropped: u64,
    /// POSTs without an answer within the timeout.
    pub timeouts: u64,
    /// POSTs that got no answer at all (refused, reset).
    pub failed: u64,
    /// POSTs answered with something other than a 2xx.
    pub not_2xx: u64,
    /// Forged callbacks posted.
    pub forged: u64,
    /// Forged callbacks the merchant answered with a 2xx (not an error by itself: acting on
    /// one is, see [`OrderSummary::forged_token`]).
    pub forged_acknowledged: u64,
}

/// Counts of the Read Session requests.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ReadSummary {
    /// Answered 200.
    pub served: u64,
    /// Answered 404 after the session's expiry.
    pub after_expiry: u64,
    /// Answered 404 for an unknown session.
    pub unknown: u64,
    /// Answered 5xx on purpose.
    pub injected_errors: u64,
    /// Answered late on purpose.
    pub slowed: u64,
    /// Served with an older status than the truth, on purpose.
    #[serde(default)]
    pub stale: u64,
}

/// Counts of the Disable requests.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct DisableSummary {
    /// 204: disabled.
    pub disabled: u64,
    /// 400: already final.
    pub refused: u64,
    /// 404: expired or unknown.
    pub not_found: u64,
}

/// Counts of the orders.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Sessions `COMPLETED` with an authorization token: each owes exactly one order.
    pub tokens_issued: u64,
    /// Orders the merchant placed with a token.
    pub placed: u64,
    /// Create order calls whose answer was dropped on purpose (of those, orders placed).
    #[serde(default)]
    pub answers_lost: u64,
    /// Refused retries of the call that placed a token's order (same
    /// `Klarna-Idempotency-Key`): not a bug.
    pub retries_refused: u64,
    /// Second order attempts with a token that already placed one (refused; a merchant bug).
    pub repeat_attempts: u64,
    /// Sessions with more than one order placed (the API refuses the second, so this stays
    /// 0 unless the simulator itself is broken).
    pub double_orders: u64,
    /// Sessions that owe an order and have none (yet).
    pub missed: u64,
    /// Of those, sessions whose token has expired: the order can no longer be placed.
    pub missed_for_good: u64,
    /// Calls with an expired token.
    pub expired_token: u64,
    /// Calls with a token from a forged callback: the merchant acted on a forgery.
    pub forged_token: u64,
    /// Calls with a token never issued.
    pub unknown_token: u64,
    /// Orders Klarna placed itself (`PLACE_ORDER`, `CAPTURE_ORDER`, Kustom Checkout).
    pub klarna_placed: u64,
}

/// What a simulation did, counted from the truth. Served at `GET /_sim/summary`.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Sessions created.
    pub sessions: u64,
    /// Sessions by the status they show now (or showed when they expired).
    pub by_status: BTreeMap<String, u64>,
    /// Sessions that expired before a final status.
    pub expired: u64,
    /// Sessions neither final nor expired.
    pub open: u64,
    /// Sessions whose consumer gave up (they expire unless the merchant disables them).
    pub abandoned: u64,
    /// Callbacks.
    pub callbacks: CallbackSummary,
    /// API calls by operation, with those refused by the rate limits or a storm.
    #[serde(default)]
    pub calls: BTreeMap<Operation, CallTally>,
    /// Read Session requests.
    pub reads: ReadSummary,
    /// Disable requests.
    pub disables: DisableSummary,
    /// Orders.
    pub orders: OrderSummary,
    /// Redirects the consumers' browsers followed.
    pub redirects: u64,
    /// Requests refused for want of the right Basic auth credentials.
    pub unauthorized: u64,
}

/// Something a merchant must never cause, found in a [`Summary`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "problem", content = "count", rename_all = "snake_case")]
pub enum Problem {
    /// Sessions with two orders placed.
    DoubleOrders(u64),
    /// Second order attempts with a token that already placed one.
    RepeatOrderAttempts(u64),
    /// Sessions `COMPLETED` with a token that have no order.
    MissedOrders(u64),
    /// Orders attempted with a token from a forged callback.
    ForgedCallbacksActedOn(u64),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::DoubleOrders(n) => write!(f, "{n} session(s) with two orders placed"),
            Problem::RepeatOrderAttempts(n) => write!(
                f,
                "{n} second order attempt(s) with a token that had already placed one"
            ),
            Problem::MissedOrders(n) => write!(
                f,
                "{n} session(s) COMPLETED with an authorization token but no order"
            ),
            Problem::ForgedCallbacksActedOn(n) => write!(
                f,
                "{n} order attempt(s) with a token from a forged callback"
            ),
        }
    }
}

impl Summary {
    /// The problems the merchant caused: double orders, repeated order attempts, missed
    /// orders, forged callbacks acted on. Empty when the merchant did everything right.
    ///
    /// ```
    /// use hpp_sim::{Problem, Summary};
    ///
    /// let mut summary = Summary::default();
    /// assert!(summary.problems().is_empty());
    /// summary.orders.missed = 2;
    /// assert_eq!(summary.problems(), [Problem::MissedOrders(2)]);
    /// ```
    #[must_use]
    pub fn problems(&self) -> Vec<Problem> {
        let o = &self.orders;
        [
            (o.double_orders, Problem::DoubleOrders(o.double_orders)),
            (
                o.repeat_attempts,
                Problem::RepeatOrderAttempts(o.repeat_attempts),
            ),
            (o.missed, Problem::MissedOrders(o.missed)),
            (
                o.forged_token,
                Problem::ForgedCallbacksActedOn(o.forged_token),
            ),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(_, problem)| problem)
        .collect()
    }

    /// Counts the truth of every session (plus the requests no session owns).
    pub(crate) fn count<'a>(
        sessions: impl IntoIterator<Item = &'a SessionTruth>,
        now: Timestamp,
        unowned: &Unowned,
        calls: &BTreeMap<Operation, CallTally>,
    ) -> Summary {
        let mut summary = Summary {
            unauthorized: unowned.unauthorized,
            calls: calls.clone(),
            ..Summary::default()
        };
        summary.reads.unknown = unowned.unknown_reads;
        summary.disables.not_found = unowned.unknown_disables;
        summary.orders.unknown_token = unowned.unknown_tokens;
        for session in sessions {
            summary.add(session, now);
        }
        summary
    }

    fn add(&mut self, session: &SessionTruth, now: Timestamp) {
        self.sessions += 1;
        *self
            .by_status
            .entry(session.status.as_str().to_owned())
            .or_default() += 1;
        let expired = session.expired_before_final(now);
        self.expired += u64::from(expired);
        self.open += u64::from(!session.lifecycle.is_final() && !expired);
        self.abandoned += u64::from(session.abandoned);
        self.redirects += session
            .redirects
            .iter()
            .filter(|redirect| redirect.answer.is_some())
            .count() as u64;

        let c = &mut self.callbacks;
        c.events += session.events.len() as u64;
        for event in &session.events {
            match event.outcome {
                EventOutcome::Acknowledged => c.acknowledged += 1,
                EventOutcome::GivenUp => c.given_up += 1,
                EventOutcome::Pending => c.pending += 1,
                EventOutcome::Lost | EventOutcome::Cancelled => {}
            }
            for fault in &event.faults {
                match fault {
                    Fault::Lost => c.lost += 1,
                    Fault::Duplicated { .. } => c.duplicated += 1,
                    Fault::Delayed { .. } => c.delayed += 1,
                    Fault::EmptyRetry => c.empty_retry += 1,
                    Fault::AnswerDropped => c.answer_dropped += 1,
                    Fault::Forged { .. } => {}
                }
            }
        }
        for attempt in &session.attempts {
            if attempt.kind == DeliveryKind::Forged {
                c.forged += 1;
                c.forged_acknowledged += u64::from(attempt.answer.is_success());
                continue;
            }
            c.sent += 1;
            c.retries += u64::from(attempt.kind == DeliveryKind::Retry);
            c.empty_bodies += u64::from(attempt.empty_body);
            match attempt.answer {
                Answer::Timeout => c.timeouts += 1,
                Answer::Failed { .. } => c.failed += 1,
                Answer::Status { .. } if !attempt.answer.is_success() => c.not_2xx += 1,
                Answer::Status { .. } => {}
            }
        }

        let r = &mut self.reads;
        r.served += session.reads.served;
        r.after_expiry += session.reads.after_expiry;
        r.injected_errors += session.reads.injected_errors;
        r.slowed += session.reads.slowed;
        r.stale += session.reads.stale;

        for disable in &session.disables {
            match disable.result {
                DisableResult::Disabled => self.disables.disabled += 1,
                DisableResult::Refused { .. } => self.disables.refused += 1,
                DisableResult::Expired => self.disables.not_found += 1,
            }
        }

        let o = &mut self.orders;
        let placed = session.orders_placed() as u64;
        o.placed += placed;
        o.double_orders += u64::from(placed > 1);
        for order in &session.orders {
            o.answers_lost += u64::from(order.answer_lost);
            match order.result {
                OrderResult::Placed { .. } => {}
                OrderResult::RefusedRetry => o.retries_refused += 1,
                OrderResult::RefusedRepeat => o.repeat_attempts += 1,
                OrderResult::TokenExpired => o.expired_token += 1,
                OrderResult::ForgedToken => o.forged_token += 1,
                OrderResult::UnknownToken => o.unknown_token += 1,
            }
        }
        if session.owes_order() {
            o.tokens_issued += 1;
            if placed == 0 {
                o.missed += 1;
                o.missed_for_good += u64::from(
                    session
                        .token_valid_until
                        .is_some_and(|valid_until| now >= valid_until),
                );
            }
        }
        if session.lifecycle == Status::Completed && session.order_id.is_some() {
            o.klarna_placed += 1;
        }
    }
}

/// Requests that no session owns, counted by the API.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Unowned {
    pub(crate) unauthorized: u64,
    pub(crate) unknown_reads: u64,
    pub(crate) unknown_disables: u64,
    pub(crate) unknown_tokens: u64,
}

impl fmt::Display for Summary {
    /// The summary as a table for a terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses = self
            .by_status
            .iter()
            .map(|(status, count)| format!("{status} {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        let c = &self.callbacks;
        let r = &self.reads;
        let o = &self.orders;
        let calls = self.calls.values().map(|tally| tally.calls).sum();
        let refused = |pick: fn(&CallTally) -> u64| {
            self.calls
                .iter()
                .filter(|(_, tally)| pick(tally) > 0)
                .map(|(operation, tally)| format!("{operation} {}", pick(tally)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rate_limited: u64 = self.calls.values().map(|tally| tally.rate_limited).sum();
        let storm_refused: u64 = self.calls.values().map(|tally| tally.storm_refused).sum();
        let by_operation = self
            .calls
            .iter()
            .map(|(operation, tally)| format!("{operation} {}", tally.calls))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: [(&str, u64, String); 15] = [
            (
                "sessions",
                self.sessions,
                format!("{statuses}; expired {}, open {}", self.expired, self.open),
            ),
            (
                "callbacks sent",
                c.sent,
                format!(
                    "{} events: {} acknowledged, {} given up; {} retries, {} empty bodies",
                    c.events, c.acknowledged, c.given_up, c.retries, c.empty_bodies
                ),
            ),
            ("callbacks lost", c.lost, String::new()),
            ("callbacks duplicated", c.duplicated, String::new()),
            (
                "callbacks delayed",
                c.delayed,
                format!("answers dropped {}", c.answer_dropped),
            ),
            (
                "callbacks forged",
                c.forged,
                format!("answered 2xx: {}", c.forged_acknowledged),
            ),
            (
                "reads served",
                r.served,
                format!(
                    "injected 5xx {}, slowed {}, stale {}, after expiry {}, unknown {}",
                    r.injected_errors, r.slowed, r.stale, r.after_expiry, r.unknown
                ),
            ),
            ("API calls", calls, by_operation),
            (
                "429 rate limited",
                rate_limited,
                refused(|tally| tally.rate_limited),
            ),
            (
                "429 storms",
                storm_refused,
                refused(|tally| tally.storm_refused),
            ),
            (
                "orders placed",
                o.placed,
                format!(
                    "of {} owed; by Klarna {}; retries refused {}; answers lost {}",
                    o.tokens_issued, o.klarna_placed, o.retries_refused, o.answers_lost
                ),
            ),
            (
                "double orders",
                o.double_orders,
                format!("second attempts refused {}", o.repeat_attempts),
            ),
            (
                "missed orders",
                o.missed,
                format!("token expired {}", o.missed_for_good),
            ),
            ("forged acted on", o.forged_token, String::new()),
            (
                "disables",
                self.disables.disabled,
                format!(
                    "refused {}, not found {}",
                    self.disables.refused, self.disables.not_found
                ),
            ),
        ];
        for (name, count, detail) in rows {
            if detail.is_empty() {
                writeln!(f, "{name:<22}{count:>8}")?;
            } else {
                writeln!(f, "{name:<22}{count:>8}   {detail}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::try_from(jiff::Timestamp::from_millisecond(ms).unwrap()).unwrap()
    }

    fn session(status: Status) -> SessionTruth {
        SessionTruth {
            session_id: "s".into(),
            index: 0,
            payment: PaymentKind::KlarnaPayments,
            payment_session_url: "https://api.klarna.com/payments/v1/sessions/k".into(),
            place_order_mode: PlaceOrderMode::None,
            created_at: at(0),
            expires_at: at(1_000),
            status_update: None,
            abandoned: false,
            status: ReportedStatus::Known(status),
            lifecycle: status,
            expired: false,
            history: Vec::new(),
            authorization_token: None,
            token_valid_until: None,
            order_id: None,
            klarna_reference: None,
            events: Vec::new(),
            attempts: Vec::new(),
            reads: ReadTally::default(),
            disables: Vec::new(),
            orders: Vec::new(),
            redirects: Vec::new(),
        }
    }

    fn attempt(kind: DeliveryKind, answer: Answer, empty_body: bool) -> CallbackAttempt {
        CallbackAttempt {
            at: at(1),
            event_id: "e".into(),
            kind,
            attempt: 1,
            empty_body,
            status: None,
            url: "http://127.0.0.1/cb".into(),
            acknowledged: answer.is_success(),
            answer,
        }
    }

    fn order(result: OrderResult) -> OrderAttempt {
        OrderAttempt {
            answer_lost: false,
            at: at(2),
            authorization_token: "t".into(),
            idempotency_key: None,
            result,
        }
    }

    fn event(faults: Vec<Fault>, outcome: EventOutcome) -> CallbackEvent {
        CallbackEvent {
            event_id: "e".into(),
            status: ReportedStatus::Known(Status::InProgress),
            updated_at: at(1),
            faults,
            outcome,
        }
    }

    #[test]
    fn answers_are_successes_from_200_to_299() {
        for (code, success) in [
            (199, false),
            (200, true),
            (299, true),
            (300, false),
            (500, false),
        ] {
            assert_eq!(Answer::Status { code }.is_success(), success, "{code}");
        }
        assert!(!Answer::Failed { reason: "x".into() }.is_success());
    }

    #[test]
    fn a_session_owes_an_order_when_completed_with_a_token() {
        let mut completed = session(Status::Completed);
        assert!(!completed.owes_order());
        completed.authorization_token = Some("t".into());
        assert!(completed.owes_order());
        assert_eq!(completed.final_status(), Some(Status::Completed));
        let mut open = session(Status::InProgress);
        open.authorization_token = Some("t".into());
        assert!(!open.owes_order());
        assert_eq!(open.final_status(), None);
    }

    #[test]
    fn sessions_are_counted_by_status_expiry_and_abandon() {
        let mut expired = session(Status::Back);
        expired.abandoned = true;
        let open = session(Status::InProgress);
        let mut open_later = session(Status::Failed);
        open_later.expires_at = at(10_000);
        let done = session(Status::Cancelled);
        let summary = Summary::count(
            [&expired, &open, &open_later, &done],
            at(1_000),
            &Unowned::default(),
            &BTreeMap::new(),
        );
        assert_eq!(summary.sessions, 4);
        // expires_at is 1 000: at 1 000 the session has expired, final or not.
        assert_eq!(
            (summary.expired, summary.open, summary.abandoned),
            (2, 1, 1)
        );
        assert_eq!(summary.by_status["BACK"], 1);
        assert_eq!(summary.by_status["CANCELLED"], 1);
        let before = Summary::count([&expired], at(999), &Unowned::default(), &BTreeMap::new());
        assert_eq!((before.expired, before.open), (0, 1));
    }

    #[test]
    fn callbacks_are_counted_by_event_fault_and_attempt() {
        let mut s = session(Status::Completed);
        s.events = vec![
            event(vec![Fault::Lost], EventOutcome::Lost),
            event(
                vec![
                    Fault::Duplicated { after_ms: 1 },
                    Fault::Delayed { hold_ms: 1 },
                    Fault::EmptyRetry,
                    Fault::AnswerDropped,
                    Fault::Forged {
                        event_id: "f".into(),
                        authorization_token: "x".into(),
                        secret_replaced: true,
                        after_ms: 1,
                    },
                ],
                EventOutcome::Acknowledged,
            ),
            event(vec![], EventOutcome::GivenUp),
            event(vec![], EventOutcome::Pending),
            event(vec![], EventOutcome::Cancelled),
        ];
        s.attempts = vec![
            attempt(DeliveryKind::Original, Answer::Status { code: 200 }, false),
            attempt(DeliveryKind::Retry, Answer::Timeout, true),
            attempt(
                DeliveryKind::Retry,
                Answer::Failed { reason: "r".into() },
                false,
            ),
            attempt(DeliveryKind::Duplicate, Answer::Status { code: 503 }, false),
            attempt(DeliveryKind::Original, Answer::Status { code: 404 }, false),
            attempt(DeliveryKind::Forged, Answer::Status { code: 204 }, false),
            attempt(DeliveryKind::Forged, Answer::Status { code: 401 }, false),
        ];
        let c = Summary::count([&s], at(0), &Unowned::default(), &BTreeMap::new()).callbacks;
        assert_eq!(
            c,
            CallbackSummary {
                events: 5,
                sent: 5,
                retries: 2,
                acknowledged: 1,
                given_up: 1,
                pending: 1,
                lost: 1,
                duplicated: 1,
                delayed: 1,
                empty_retry: 1,
                empty_bodies: 1,
                answer_dropped: 1,
                timeouts: 1,
                failed: 1,
                not_2xx: 2,
                forged: 2,
                forged_acknowledged: 1,
            }
        );
    }

    #[test]
    fn reads_disables_and_redirects_are_added_up() {
        let mut s = session(Status::Disabled);
        s.reads = ReadTally {
            served: 3,
            after_expiry: 1,
            injected_errors: 2,
            slowed: 4,
            stale: 5,
            ..ReadTally::default()
        };
        s.disables = [
            DisableResult::Disabled,
            DisableResult::Refused {
                status: Status::Disabled,
            },
            DisableResult::Expired,
        ]
        .into_iter()
        .map(|result| DisableAttempt { at: at(3), result })
        .collect();
        let redirect = |answer| Redirect {
            at: at(4),
            which: "back".into(),
            url: "http://127.0.0.1/back".into(),
            answer,
        };
        s.redirects = vec![redirect(Some(Answer::Timeout)), redirect(None)];
        let unowned = Unowned {
            unauthorized: 5,
            unknown_reads: 6,
            unknown_disables: 7,
            unknown_tokens: 8,
        };
        let calls = BTreeMap::from([(
            Operation::ReadSession,
            CallTally {
                calls: 9,
                rate_limited: 2,
                storm_refused: 1,
            },
        )]);
        let summary = Summary::count([&s, &s], at(0), &unowned, &calls);
        assert_eq!(
            summary.reads,
            ReadSummary {
                served: 6,
                after_expiry: 2,
                unknown: 6,
                injected_errors: 4,
                slowed: 8,
                stale: 10,
            }
        );
        assert_eq!(summary.calls, calls);
        let table = summary.to_string();
        for row in [
            "API calls                    9   read_session 9",
            "429 rate limited             2   read_session 2",
            "429 storms                   1   read_session 1",
        ] {
            assert!(table.contains(row), "{row:?} not in\n{table}");
        }
        assert_eq!(
            summary.disables,
            DisableSummary {
                disabled: 2,
                refused: 2,
                not_found: 2 + 7
            }
        );
        assert_eq!(summary.redirects, 2);
        assert_eq!(summary.unauthorized, 5);
        assert_eq!(summary.orders.unknown_token, 8);
    }

    #[test]
    fn orders_are_counted_and_missing_ones_found() {
        let mut paid = session(Status::Completed);
        paid.authorization_token = Some("t".into());
        paid.orders = vec![
            OrderAttempt {
                answer_lost: true,
                ..order(OrderResult::Placed {
                    order_id: "o".into(),
                })
            },
            order(OrderResult::RefusedRetry),
            order(OrderResult::RefusedRepeat),
        ];
        let mut unpaid = session(Status::Completed);
        unpaid.authorization_token = Some("u".into());
        unpaid.token_valid_until = Some(at(500));
        unpaid.orders = vec![
            order(OrderResult::TokenExpired),
            order(OrderResult::ForgedToken),
        ];
        let mut waiting = unpaid.clone();
        waiting.token_valid_until = Some(at(5_000));
        waiting.orders = vec![order(OrderResult::UnknownToken)];
        let mut just_expired = waiting.clone();
        just_expired.token_valid_until = Some(at(1_000)); // == now: no longer valid
        just_expired.orders.clear();
        let mut twice = paid.clone();
        twice.orders = vec![
            order(OrderResult::Placed {
                order_id: "a".into(),
            }),
            order(OrderResult::Placed {
                order_id: "b".into(),
            }),
        ];
        let mut by_klarna = session(Status::Completed);
        by_klarna.order_id = Some("k".into());
        let mut not_yet = session(Status::InProgress);
        not_yet.order_id = Some("k".into());
        let o = Summary::count(
            [
                &paid,
                &unpaid,
                &waiting,
                &just_expired,
                &twice,
                &by_klarna,
                &not_yet,
            ],
            at(1_000),
            &Unowned::default(),
            &BTreeMap::new(),
        )
        .orders;
        assert_eq!(
            o,
            OrderSummary {
                tokens_issued: 5,
                placed: 3,
                answers_lost: 1,
                retries_refused: 1,
                repeat_attempts: 1,
                double_orders: 1,
                missed: 3,
                missed_for_good: 2,
                expired_token: 1,
                forged_token: 1,
                unknown_token: 1,
                klarna_placed: 1,
            }
        );
    }

    #[test]
    fn only_counts_above_zero_are_problems() {
        let mut summary = Summary::default();
        assert_eq!(summary.problems(), []);
        summary.orders.forged_token = 1;
        summary.callbacks.lost = 9; // faults injected are not the merchant's problems
        assert_eq!(summary.problems(), [Problem::ForgedCallbacksActedOn(1)]);
    }

    #[test]
    fn one_order_per_session_is_no_double_order() {
        let mut paid = session(Status::Completed);
        paid.authorization_token = Some("t".into());
        paid.orders = vec![order(OrderResult::Placed {
            order_id: "o".into(),
        })];
        let orders =
            Summary::count([&paid, &paid], at(0), &Unowned::default(), &BTreeMap::new()).orders;
        assert_eq!(
            (orders.placed, orders.double_orders, orders.missed),
            (2, 0, 0)
        );
    }

    #[test]
    fn problems_list_each_kind_once_in_a_fixed_order() {
        let mut summary = Summary::default();
        summary.orders.double_orders = 1;
        summary.orders.repeat_attempts = 2;
        summary.orders.missed = 3;
        summary.orders.forged_token = 4;
        let problems = summary.problems();
        assert_eq!(
            problems,
            [
                Problem::DoubleOrders(1),
                Problem::RepeatOrderAttempts(2),
                Problem::MissedOrders(3),
                Problem::ForgedCallbacksActedOn(4),
            ]
        );
        let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "1 session(s) with two orders placed",
                "2 second order attempt(s) with a token that had already placed one",
                "3 session(s) COMPLETED with an authorization token but no order",
                "4 order attempt(s) with a token from a forged callback",
            ]
        );
    }

    #[test]
    fn the_table_has_a_row_per_count_with_aligned_numbers() {
        let mut summary = Summary {
            sessions: 2000,
            ..Summary::default()
        };
        summary.by_status.insert("COMPLETED".into(), 1500);
        summary.callbacks.sent = 4321;
        summary.callbacks.lost = 7;
        summary.callbacks.forged = 12;
        summary.orders.placed = 900;
        let table = summary.to_string();
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 15);
        assert_eq!(
            rows[0],
            "sessions                  2000   COMPLETED 1500; expired 0, open 0"
        );
        assert!(rows[1].starts_with("callbacks sent            4321   "));
        assert_eq!(rows[2], "callbacks lost               7");
        assert!(rows[5].starts_with("callbacks forged            12   answered 2xx: 0"));
        assert_eq!(rows[7], "API calls                    0");
        assert_eq!(rows[8], "429 rate limited             0");
        assert!(rows[10].starts_with("orders placed              900   of 0 owed"));
        assert!(rows[11].starts_with("double orders                0"));
        assert!(rows[12].starts_with("missed orders                0"));
        assert_eq!(rows[13], "forged acted on              0");
    }
}
