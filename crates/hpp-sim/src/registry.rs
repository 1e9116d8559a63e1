//! The registry: every session with its truth, the tokens, and the operations on them
//! (create, step, read, disable, place order, record what deliveries did). Synchronous and
//! free of I/O: every operation takes the world's time as an argument and returns what must
//! happen next (a callback to deliver with its drawn faults, a redirect to follow, an answer
//! to send); the HTTP API, the consumers and the deliveries are the shell around it.
//!
//! Each fact is kept once: a session's status lives in its [`SessionTruth`] (its
//! [`SessionState`] is derived from it), its `status_update` URL is the truth's text, and
//! whether it is past its expiry is [`SessionTruth::is_past_expiry`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hpp_status::wire::{
    ManualIdentification, ReportedStatus, SessionResponse, StatusCallback, Timestamp,
};
use hpp_status::{Action, Status};
use rand::RngExt as _;
use rand::rngs::Xoshiro256PlusPlus;
use url::Url;

use crate::config::{FaultConfig, SimConfig, Timing};
use crate::faults::{DrawnFaults, forge_url};
use crate::limits::{Admission, Limiter, Operation};
use crate::log::{Journal, Line};
use crate::seed::{self, Purpose};
use crate::truth::{
    CallbackAttempt, CallbackEvent, DisableAttempt, DisableResult, EventOutcome, Fault,
    OrderAttempt, OrderResult, PaymentKind, PlaceOrderMode, ReadTally, Redirect, SessionTruth,
    StatusChange, Summary, Unowned,
};
use crate::walk::{Interlude, Move, MoveError, SessionState, Walk};

/// `at + wall`, saturating at the last instant RFC 3339 can write.
pub(crate) fn later(at: Timestamp, wall: Duration) -> Timestamp {
    at.checked_add(wall).unwrap_or(Timestamp::MAX)
}

/// A journal that keeps nothing.
#[cfg(test)]
pub(crate) struct NoJournal;

#[cfg(test)]
impl Journal for NoJournal {
    fn write(&self, _: &Line<'_>) {}
}

/// The merchant URLs of a session, as templates with their placeholders.
#[derive(Clone, Debug, Default)]
pub(crate) struct MerchantUrls {
    pub(crate) success: Option<String>,
    pub(crate) cancel: Option<String>,
    pub(crate) back: Option<String>,
    pub(crate) failure: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) status_update: Option<String>,
}

impl MerchantUrls {
    /// The template the consumer's browser is sent to after `action`, with its name.
    fn after(&self, action: Action) -> Option<(&'static str, &str)> {
        let (which, template) = match action {
            Action::Authorize => ("success", &self.success),
            Action::Cancel => ("cancel", &self.cancel),
            Action::GoBack => ("back", &self.back),
            Action::Decline => ("failure", &self.failure),
            Action::Fail => ("error", &self.error),
            Action::EnterPage | Action::Disable => return None,
        };
        Some((which, template.as_deref()?))
    }
}

/// A validated create request.
#[derive(Clone, Debug)]
pub(crate) struct NewSession {
    pub(crate) payment: PaymentKind,
    pub(crate) payment_session_url: String,
    /// The id at the end of `payment_session_url` (the Kustom Checkout order id).
    pub(crate) payment_id: String,
    pub(crate) place_order_mode: PlaceOrderMode,
    pub(crate) merchant_urls: MerchantUrls,
}

/// What the API answers a create with, and the walk its consumer will take.
#[derive(Clone, Debug)]
pub(crate) struct CreatedSession {
    pub(crate) session_id: String,
    pub(crate) expires_at: Timestamp,
    pub(crate) walk: Walk,
}

/// What Read Session finds.
#[derive(Debug)]
pub(crate) enum ReadResult {
    Served(Box<SessionResponse>),
    Injected(u16),
    Expired,
    Unknown,
}

/// What a Disable does.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DisableOutcome {
    Disabled,
    Refused { status: Status, reason: String },
    Expired,
    Unknown,
}

/// A create order call's answer: the HTTP status and the JSON body, unless it is lost.
#[derive(Clone, Debug)]
pub(crate) struct OrderAnswer {
    pub(crate) code: u16,
    pub(crate) body: serde_json::Value,
    /// The answer is dropped on purpose: the merchant's call must never be answered.
    pub(crate) lost: bool,
}

/// What a Read Session fault draw decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadFault {
    pub(crate) error: Option<u16>,
    pub(crate) slow: bool,
    /// Answer the status before the last change, if there was one.
    pub(crate) stale: bool,
}

/// Why a step was not taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepRefused {
    /// No session has that id.
    #[error("no session {0}")]
    Unknown(String),
    /// The session is past its `expires_at`.
    #[error("the session expired at {0}")]
    Expired(Timestamp),
    /// The move does not fit the session's state: the core's refusal.
    #[error(transparent)]
    Move(#[from] MoveError),
}

/// What a step changed, and what must happen next.
#[derive(Debug)]
pub(crate) struct Stepped {
    /// The session as Read Session shows it now.
    pub(crate) session: SessionResponse,
    /// The callback to deliver, when the session has a `status_update` URL.
    pub(crate) callback: Option<Delivery>,
    /// Where the consumer's browser is sent after an outcome, when the merchant gave that
    /// URL (the browser may or may not follow it).
    pub(crate) redirect: Option<RedirectVisit>,
}

/// One event to deliver, with its forgery ready in case one was drawn.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) session_id: String,
    pub(crate) event_id: String,
    pub(crate) url: Url,
    pub(crate) body: String,
    pub(crate) status: ReportedStatus,
    pub(crate) faults: DrawnFaults,
    pub(crate) forged_url: Url,
    pub(crate) forged_event_id: String,
    pub(crate) forged_body: String,
    pub(crate) forged_token: String,
}

/// A redirect of the consumer's browser to a merchant URL, placeholders filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedirectVisit {
    pub(crate) session_id: String,
    pub(crate) which: &'static str,
    pub(crate) url: String,
}

/// Ids a session will need, drawn at creation so that the draws never depend on timing.
#[derive(Clone, Debug)]
struct PreparedIds {
    token: String,
    order_id: String,
    klarna_reference: String,
    challenge: String,
}

struct Session {
    truth: SessionTruth,
    urls: MerchantUrls,
    prepared: PreparedIds,
    fault_rng: Xoshiro256PlusPlus,
}

impl Session {
    /// Where the session is, from its truth.
    fn state(&self) -> SessionState {
        SessionState {
            lifecycle: self.truth.lifecycle,
            interlude: Interlude::shown_as(&self.truth.status),
        }
    }

    /// Records a change to `state`, with an `updated_at` strictly after the last.
    fn change(
        &mut self,
        state: SessionState,
        cause: String,
        called_back: bool,
        at: Timestamp,
    ) -> StatusChange {
        let floor = self
            .truth
            .history
            .last()
            .map(|last| later(last.updated_at, Duration::from_millis(1)));
        let updated_at = floor.map_or(at, |floor| floor.max(at));
        self.truth.status = state.shown();
        self.truth.lifecycle = state.lifecycle;
        let change = StatusChange {
            status: state.shown(),
            updated_at,
            cause,
            called_back,
        };
        self.truth.history.push(change.clone());
        change
    }

    /// The session as Read Session (and a callback) shows it.
    fn response(&self, timing: &Timing) -> SessionResponse {
        let truth = &self.truth;
        let completed = truth.lifecycle == Status::Completed;
        let manual = self.state().interlude == Some(Interlude::ManualIdCheck);
        SessionResponse {
            session_id: Some(truth.session_id.clone()),
            status: Some(truth.status.clone()),
            updated_at: truth.history.last().map(|change| change.updated_at),
            expires_at: Some(truth.expires_at),
            authorization_token: truth.authorization_token.clone().filter(|_| completed),
            order_id: truth.order_id.clone().filter(|_| completed),
            klarna_reference: truth.klarna_reference.clone().filter(|_| completed),
            customer: None,
            problems: Vec::new(),
            manual_identification: manual.then(|| ManualIdentification {
                challenge: Some(self.prepared.challenge.clone()),
                expires_at: truth
                    .history
                    .last()
                    .map(|change| later(change.updated_at, timing.token_lifetime / 6)),
                ..ManualIdentification::default()
            }),
        }
    }

    /// The session as a lagging replica shows it: the status before the last change, with
    /// that change's `updated_at`, and none of what the last change handed out.
    fn stale_response(&self) -> SessionResponse {
        let truth = &self.truth;
        let older = &truth.history[truth.history.len().saturating_sub(2)];
        SessionResponse {
            session_id: Some(truth.session_id.clone()),
            status: Some(older.status.clone()),
            updated_at: Some(older.updated_at),
            expires_at: Some(truth.expires_at),
            ..SessionResponse::default()
        }
    }

    /// A snapshot of the truth, with `expired` as of `at`.
    fn snapshot(&self, at: Timestamp) -> SessionTruth {
        let mut truth = self.truth.clone();
        truth.expired = truth.expired_before_final(at);
        truth
    }
}

/// Every session of a run and what happened to it.
pub(crate) struct Registry {
    seed: u64,
    faults: FaultConfig,
    consumer: crate::config::ConsumerConfig,
    timing: Timing,
    base_url: String,
    sessions: HashMap<String, Session>,
    order: Vec<String>,
    /// Issued authorization tokens: token -> session id.
    tokens: HashMap<String, String>,
    /// Tokens made up by forged callbacks: token -> the session forged for.
    forged_tokens: HashMap<String, String>,
    /// The `Klarna-Idempotency-Key` of the call that placed each token's order, if it had
    /// one: token -> key. It tells a retry of that call from a second placement.
    placed_with_key: HashMap<String, String>,
    unowned: Unowned,
    read_rng: Xoshiro256PlusPlus,
    order_rng: Xoshiro256PlusPlus,
    misc_rng: Xoshiro256PlusPlus,
    limiter: Limiter,
    journal: Arc<dyn Journal>,
}

/// The registry as the shell shares it.
pub(crate) type SharedRegistry = Arc<Mutex<Registry>>;

/// Locks the registry. A panic while holding the lock leaves consistent data behind (every
/// update is a push or an assignment), so a poisoned lock is still usable.
pub(crate) fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Registry {
    /// An empty registry for `config`, started at `started_at` (storms are placed from
    /// then), handing out URLs under `base_url`.
    pub(crate) fn new(
        config: &SimConfig,
        started_at: Timestamp,
        base_url: String,
        journal: Arc<dyn Journal>,
    ) -> Self {
        let limiter = Limiter::new(config.rate_limits, &config.faults.storms, |world| {
            later(started_at, config.time.compress(world))
        });
        Registry {
            seed: config.seed,
            faults: config.faults.clone(),
            consumer: config.consumer.clone(),
            timing: config.timing(),
            base_url,
            sessions: HashMap::new(),
            order: Vec::new(),
            tokens: HashMap::new(),
            forged_tokens: HashMap::new(),
            placed_with_key: HashMap::new(),
            unowned: Unowned::default(),
            read_rng: seed::generator(config.seed, 0, Purpose::Reads),
            order_rng: seed::generator(config.seed, 0, Purpose::Orders),
            misc_rng: seed::generator(config.seed, 0, Purpose::Misc),
            limiter,
            journal,
        }
    }

    /// A fresh id for things no session owns (correlation ids, payment sessions).
    pub(crate) fn misc_uuid(&mut self) -> String {
        seed::uuid(&mut self.misc_rng)
    }

    /// Klarna's error body: `error_code`, `error_messages`, `correlation_id`.
    pub(crate) fn error_body(&mut self, code: &str, message: &str) -> serde_json::Value {
        serde_json::json!({
            "error_code": code,
            "error_messages": [message],
            "correlation_id": self.misc_uuid(),
        })
    }

    /// Counts a call of `operation` by `merchant` at `at` against the rate limits and the
    /// storms, and says whether it may run.
    pub(crate) fn admit(
        &mut self,
        merchant: &str,
        operation: Operation,
        at: Timestamp,
    ) -> Admission {
        self.limiter.admit(merchant, operation, at)
    }

    /// Counts a request refused for its credentials.
    pub(crate) fn count_unauthorized(&mut self) {
        self.unowned.unauthorized += 1;
    }

    /// Creates a session at `at`; its consumer's walk is planned from the seed.
    pub(crate) fn create(&mut self, new: NewSession, at: Timestamp) -> CreatedSession {
        let index = self.order.len() as u64;
        let mut ids = seed::generator(self.seed, index, Purpose::Ids);
        let mut session_id = seed::uuid(&mut ids);
        while self.sessions.contains_key(&session_id) {
            // Only a second registry fed the same ids could collide; stay unique.
            session_id = seed::uuid(&mut ids);
        }
        let prepared = PreparedIds {
            token: seed::uuid(&mut ids),
            order_id: match new.payment {
                PaymentKind::KustomCheckout => new.payment_id.clone(),
                PaymentKind::KlarnaPayments => seed::uuid(&mut ids),
            },
            klarna_reference: seed::reference(&mut ids, 8),
            challenge: format!("A{:02}", ids.random_range(0..100)),
        };
        let mut walk_rng = seed::generator(self.seed, index, Purpose::Walk);
        let walk = Walk::plan(
            &mut walk_rng,
            &self.consumer,
            (self.timing.think_min, self.timing.think_max),
        );
        let status_update = new
            .merchant_urls
            .status_update
            .as_deref()
            .map(|template| fill(template, &session_id, None, None))
            .filter(|url| Url::parse(url).is_ok());
        let expires_at = later(at, self.timing.session_lifetime);
        let truth = SessionTruth {
            session_id: session_id.clone(),
            index,
            payment: new.payment,
            payment_session_url: new.payment_session_url,
            place_order_mode: new.place_order_mode,
            created_at: at,
            expires_at,
            status_update,
            abandoned: walk.abandons,
            status: SessionState::NEW.shown(),
            lifecycle: SessionState::NEW.lifecycle,
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
        };
        let mut session = Session {
            truth,
            urls: new.merchant_urls,
            prepared,
            fault_rng: seed::generator(self.seed, index, Purpose::Faults),
        };
        let change = session.change(SessionState::NEW, "created".into(), false, at);
        self.journal.write(&Line::SessionCreated {
            at,
            session_id: &session_id,
            index,
            payment_session_url: &session.truth.payment_session_url,
            place_order_mode: session.truth.place_order_mode,
            expires_at,
            status_update: session.truth.status_update.as_deref(),
            abandons: walk.abandons,
        });
        self.journal.write(&Line::StatusChanged {
            session_id: &session_id,
            change: &change,
        });
        self.sessions.insert(session_id.clone(), session);
        self.order.push(session_id.clone());
        CreatedSession {
            session_id,
            expires_at,
            walk,
        }
    }

    /// The session takes `step` at `at` (a consumer's move, or a test's).
    ///
    /// # Errors
    ///
    /// [`StepRefused`] when the session is unknown, past its expiry, or the step does not fit
    /// its state (the state is then unchanged).
    pub(crate) fn step(
        &mut self,
        session_id: &str,
        step: Move,
        at: Timestamp,
    ) -> Result<Stepped, StepRefused> {
        let session = self
            .sessions
            .get_mut(session_id)
            .ok_or_else(|| StepRefused::Unknown(session_id.to_owned()))?;
        if session.truth.is_past_expiry(at) {
            return Err(StepRefused::Expired(session.truth.expires_at));
        }
        let mut state = session.state();
        state.apply(step)?;
        if state.lifecycle == Status::Completed {
            complete(
                session,
                &mut self.tokens,
                &self.timing,
                self.journal.as_ref(),
                at,
            );
        }
        let called_back = session.truth.status_update.is_some();
        let change = session.change(state, step.to_string(), called_back, at);
        self.journal.write(&Line::StatusChanged {
            session_id,
            change: &change,
        });
        let callback = new_event(
            session,
            &change,
            &self.faults,
            &self.timing,
            self.journal.as_ref(),
            at,
        );
        if let Some(delivery) = &callback
            && delivery.faults.forged_after.is_some()
        {
            self.forged_tokens
                .insert(delivery.forged_token.clone(), session_id.to_owned());
        }
        let redirect = match step {
            Move::Outcome(action) => redirect_for(session, action),
            _ => None,
        };
        Ok(Stepped {
            session: session.response(&self.timing),
            callback,
            redirect,
        })
    }

    /// Records one POST of a callback.
    pub(crate) fn record_attempt(&mut self, session_id: &str, attempt: CallbackAttempt) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            self.journal.write(&Line::CallbackAttempt {
                session_id,
                attempt: &attempt,
            });
            session.truth.attempts.push(attempt);
        }
    }

    /// Records how a callback event ended.
    pub(crate) fn end_event(
        &mut self,
        session_id: &str,
        event_id: &str,
        outcome: EventOutcome,
        at: Timestamp,
    ) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            if let Some(event) = session
                .truth
                .events
                .iter_mut()
                .find(|event| event.event_id == event_id)
            {
                event.outcome = outcome;
            }
            self.journal.write(&Line::CallbackEnded {
                at,
                session_id,
                event_id,
                outcome,
            });
        }
    }

    /// Records a redirect the consumer's browser followed (or could not).
    pub(crate) fn record_redirect(&mut self, session_id: &str, redirect: Redirect) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            self.journal.write(&Line::Redirect {
                session_id,
                redirect: &redirect,
            });
            session.truth.redirects.push(redirect);
        }
    }

    /// Draws the faults of one Read Session request (always the same number of draws).
    pub(crate) fn draw_read_fault(&mut self) -> ReadFault {
        let rng = &mut self.read_rng;
        let error = rng.random_bool(self.faults.read_error);
        let code = [500, 502, 503][rng.random_range(0..3)];
        let slow = rng.random_bool(self.faults.read_slow);
        let stale = rng.random_bool(self.faults.read_stale);
        ReadFault {
            error: error.then_some(code),
            slow,
            stale,
        }
    }

    /// Read Session at `at`, after the fault draw (an injected error is recorded here too).
    pub(crate) fn read(&mut self, session_id: &str, fault: ReadFault, at: Timestamp) -> ReadResult {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return match fault.error {
                Some(code) => ReadResult::Injected(code),
                None => {
                    self.unowned.unknown_reads += 1;
                    ReadResult::Unknown
                }
            };
        };
        let expired = session.truth.is_past_expiry(at);
        let stale = fault.stale && session.truth.history.len() > 1;
        let response = (fault.error.is_none() && !expired).then(|| {
            if stale {
                session.stale_response()
            } else {
                session.response(&self.timing)
            }
        });
        let tally = &mut session.truth.reads;
        tally.slowed += u64::from(fault.slow);
        let (result, code, answer) = match (fault.error, response) {
            (Some(code), _) => {
                tally.injected_errors += 1;
                ("injected_error", code, ReadResult::Injected(code))
            }
            (None, None) => {
                tally.after_expiry += 1;
                ("expired", 404, ReadResult::Expired)
            }
            (None, Some(response)) => {
                tally.served += 1;
                tally.stale += u64::from(stale);
                tally.last_served_at = Some(at);
                tally.last_served_status = response.status.clone();
                ("served", 200, ReadResult::Served(Box::new(response)))
            }
        };
        self.journal.write(&Line::Read {
            at,
            session_id,
            result,
            code,
        });
        answer
    }

    /// Disable (`DELETE`) at `at`: any session that is not final becomes `DISABLED`, without
    /// a callback.
    pub(crate) fn disable(&mut self, session_id: &str, at: Timestamp) -> DisableOutcome {
        let Some(session) = self.sessions.get_mut(session_id) else {
            self.unowned.unknown_disables += 1;
            return DisableOutcome::Unknown;
        };
        let (result, outcome) = if session.truth.is_past_expiry(at) {
            (DisableResult::Expired, DisableOutcome::Expired)
        } else {
            let mut state = session.state();
            match state.disable() {
                Ok(()) => {
                    let change = session.change(state, "Disable".into(), false, at);
                    self.journal.write(&Line::StatusChanged {
                        session_id,
                        change: &change,
                    });
                    (DisableResult::Disabled, DisableOutcome::Disabled)
                }
                Err(error) => {
                    let status = state.lifecycle;
                    let reason = if status == Status::Completed {
                        "The session has already been successfully completed".to_owned()
                    } else {
                        error.to_string()
                    };
                    (
                        DisableResult::Refused { status },
                        DisableOutcome::Refused { status, reason },
                    )
                }
            }
        };
        let attempt = DisableAttempt { at, result };
        self.journal.write(&Line::Disable {
            session_id,
            attempt: &attempt,
        });
        session.truth.disables.push(attempt);
        outcome
    }

    /// Create order (`POST /payments/v1/authorizations/{token}/order`) at `at`: one order per
    /// token.
    pub(crate) fn place_order(
        &mut self,
        token: &str,
        idempotency_key: Option<String>,
        at: Timestamp,
    ) -> OrderAnswer {
        let owner = self
            .tokens
            .get(token)
            .or_else(|| self.forged_tokens.get(token))
            .cloned();
        // Klarna documents idempotency keys for the Order Management API, not for create
        // order: a repeat is answered as any used token is (404), whatever its key. The key
        // only tells the truth whether the repeat retried the call that placed the order (the
        // merchant lost its answer) or placed a second time (a merchant bug).
        let (mut result, mut answer) = self.new_order(token, owner.as_deref(), at);
        // Drawn for every call, so that one call's draw never depends on another's result.
        let lost = self.order_rng.random_bool(self.faults.order_answer_lost);
        answer.lost = lost && matches!(result, OrderResult::Placed { .. });
        match (&result, &idempotency_key) {
            (OrderResult::Placed { .. }, Some(key)) => {
                self.placed_with_key.insert(token.to_owned(), key.clone());
            }
            (OrderResult::RefusedRepeat, Some(key))
                if self.placed_with_key.get(token) == Some(key) =>
            {
                result = OrderResult::RefusedRetry;
            }
            _ => {}
        }
        let attempt = OrderAttempt {
            at,
            authorization_token: token.to_owned(),
            idempotency_key,
            result,
            answer_lost: answer.lost,
        };
        self.journal.write(&Line::Order {
            session_id: owner.as_deref(),
            attempt: &attempt,
        });
        match owner.and_then(|id| self.sessions.get_mut(&id)) {
            Some(session) => session.truth.orders.push(attempt),
            None => self.unowned.unknown_tokens += 1,
        }
        answer
    }

    fn new_order(
        &mut self,
        token: &str,
        owner: Option<&str>,
        at: Timestamp,
    ) -> (OrderResult, OrderAnswer) {
        let refusal = match owner.and_then(|id| self.sessions.get(id)) {
            None => Some(OrderResult::UnknownToken),
            Some(session) => {
                let truth = &session.truth;
                if truth.authorization_token.as_deref() != Some(token) {
                    Some(OrderResult::ForgedToken)
                } else if truth.orders_placed() > 0 {
                    Some(OrderResult::RefusedRepeat)
                } else if truth.token_valid_until.is_some_and(|until| at >= until) {
                    Some(OrderResult::TokenExpired)
                } else {
                    None
                }
            }
        };
        if let Some(result) = refusal {
            let answer = OrderAnswer {
                code: 404,
                body: self.error_body("NOT_FOUND", "Invalid authorization token"),
                lost: false,
            };
            return (result, answer);
        }
        let order_id = self.misc_uuid();
        let answer = OrderAnswer {
            code: 200,
            body: serde_json::json!({
                "order_id": order_id,
                "redirect_url": format!("{}/payments/v1/redirect/{order_id}", self.base_url),
                "fraud_status": "ACCEPTED",
                "authorized_payment_method": "invoice",
            }),
            lost: false,
        };
        (OrderResult::Placed { order_id }, answer)
    }

    /// The session as Read Session would show it at `at`, without a fault and without
    /// counting a read; `None` when unknown or past its expiry.
    pub(crate) fn peek(&self, session_id: &str, at: Timestamp) -> Option<SessionResponse> {
        self.sessions
            .get(session_id)
            .filter(|session| !session.truth.is_past_expiry(at))
            .map(|session| session.response(&self.timing))
    }

    /// The truth of every session as of `at`, in order of creation.
    pub(crate) fn truth(&self, at: Timestamp) -> Vec<SessionTruth> {
        self.order
            .iter()
            .filter_map(|id| self.sessions.get(id))
            .map(|session| session.snapshot(at))
            .collect()
    }

    /// The truth of one session as of `at`.
    pub(crate) fn session_truth(&self, session_id: &str, at: Timestamp) -> Option<SessionTruth> {
        self.sessions
            .get(session_id)
            .map(|session| session.snapshot(at))
    }

    /// The counts of everything as of `at`.
    pub(crate) fn summary(&self, at: Timestamp) -> Summary {
        Summary::count(
            self.order
                .iter()
                .filter_map(|id| self.sessions.get(id))
                .map(|session| &session.truth),
            at,
            &self.unowned,
            self.limiter.tallies(),
        )
    }

    /// How many sessions exist and how many are settled (final or past expiry) at `at`.
    pub(crate) fn progress(&self, at: Timestamp) -> (u64, u64) {
        let settled = self
            .sessions
            .values()
            .filter(|session| {
                session.truth.lifecycle.is_final() || session.truth.is_past_expiry(at)
            })
            .count();
        (self.sessions.len() as u64, settled as u64)
    }

    /// Marks events still pending as cancelled (at shutdown).
    pub(crate) fn cancel_pending_events(&mut self) {
        for session in self.sessions.values_mut() {
            for event in &mut session.truth.events {
                if event.outcome == EventOutcome::Pending {
                    event.outcome = EventOutcome::Cancelled;
                }
            }
        }
    }

    /// Writes each session's final truth and the summary to the journal (at shutdown).
    pub(crate) fn write_final(&self, at: Timestamp) -> Summary {
        let summary = self.summary(at);
        for truth in self.truth(at) {
            self.journal.write(&Line::SessionFinal { truth: &truth });
        }
        self.journal.write(&Line::Summary {
            at,
            summary: &summary,
        });
        summary
    }
}

/// What `COMPLETED` hands out: a token (Klarna Payments, `NONE`), or an order Klarna placed
/// itself.
fn complete(
    session: &mut Session,
    tokens: &mut HashMap<String, String>,
    timing: &Timing,
    journal: &dyn Journal,
    at: Timestamp,
) {
    let truth = &mut session.truth;
    let merchant_places = truth.payment == PaymentKind::KlarnaPayments
        && truth.place_order_mode == PlaceOrderMode::None;
    if merchant_places {
        let token = session.prepared.token.clone();
        tokens.insert(token.clone(), truth.session_id.clone());
        truth.authorization_token = Some(token);
        truth.token_valid_until = Some(later(at, timing.token_lifetime));
    } else {
        truth.order_id = Some(session.prepared.order_id.clone());
        truth.klarna_reference = Some(session.prepared.klarna_reference.clone());
        journal.write(&Line::KlarnaOrder {
            at,
            session_id: &truth.session_id,
            order_id: &session.prepared.order_id,
            klarna_reference: &session.prepared.klarna_reference,
        });
    }
}

/// A new callback event for `change`, its faults drawn and recorded; `None` when the session
/// has no `status_update` URL.
fn new_event(
    session: &mut Session,
    change: &StatusChange,
    faults: &FaultConfig,
    timing: &Timing,
    journal: &dyn Journal,
    at: Timestamp,
) -> Option<Delivery> {
    let url = Url::parse(session.truth.status_update.as_deref()?).ok()?;
    let rng = &mut session.fault_rng;
    let event_id = seed::uuid(rng);
    let drawn = DrawnFaults::draw(rng, faults, timing.max_hold);
    let forged_token = seed::uuid(rng);
    let forged_event = seed::uuid(rng);
    let (forged_url, secret_replaced) = forge_url(&url, &session.truth.session_id, rng);

    let mut listed = Vec::new();
    if drawn.lost {
        listed.push(Fault::Lost);
    } else {
        if let Some(after) = drawn.duplicate_after {
            listed.push(Fault::Duplicated {
                after_ms: millis(after),
            });
        }
        if let Some(hold) = drawn.hold {
            listed.push(Fault::Delayed {
                hold_ms: millis(hold),
            });
        }
        if drawn.empty_retry {
            listed.push(Fault::EmptyRetry);
        }
        if drawn.answer_dropped {
            listed.push(Fault::AnswerDropped);
        }
    }
    if let Some(after) = drawn.forged_after {
        listed.push(Fault::Forged {
            event_id: forged_event.clone(),
            authorization_token: forged_token.clone(),
            secret_replaced,
            after_ms: millis(after),
        });
    }
    let event = CallbackEvent {
        event_id: event_id.clone(),
        status: change.status.clone(),
        updated_at: change.updated_at,
        faults: listed,
        outcome: if drawn.lost {
            EventOutcome::Lost
        } else {
            EventOutcome::Pending
        },
    };
    journal.write(&Line::CallbackEvent {
        at,
        session_id: &session.truth.session_id,
        event: &event,
    });
    session.truth.events.push(event);

    let body = StatusCallback {
        event_id: Some(event_id.clone()),
        session: session.response(timing),
        problems: Vec::new(),
    };
    let forged_body = StatusCallback {
        event_id: Some(forged_event.clone()),
        session: SessionResponse {
            session_id: Some(session.truth.session_id.clone()),
            status: Some(ReportedStatus::Known(Status::Completed)),
            // A lie that wins by timestamp: later than anything true so far.
            updated_at: Some(later(change.updated_at, Duration::from_secs(1))),
            expires_at: Some(session.truth.expires_at),
            authorization_token: Some(forged_token.clone()),
            ..SessionResponse::default()
        },
        problems: Vec::new(),
    };
    Some(Delivery {
        session_id: session.truth.session_id.clone(),
        event_id,
        url,
        body: serde_json::to_string(&body).unwrap_or_default(),
        status: change.status.clone(),
        faults: drawn,
        forged_url,
        forged_event_id: forged_event,
        forged_body: serde_json::to_string(&forged_body).unwrap_or_default(),
        forged_token,
    })
}

/// The redirect the consumer's browser follows after `action`, if the merchant gave that URL.
fn redirect_for(session: &Session, action: Action) -> Option<RedirectVisit> {
    let (which, template) = session.urls.after(action)?;
    let truth = &session.truth;
    let token = (action == Action::Authorize)
        .then_some(truth.authorization_token.as_deref())
        .flatten();
    Some(RedirectVisit {
        session_id: truth.session_id.clone(),
        which,
        url: fill(
            template,
            &truth.session_id,
            token,
            truth.order_id.as_deref(),
        ),
    })
}

/// Fills the URL placeholders: `{{session_id}}` always, `{{authorization_token}}` and
/// `{{order_id}}` when known.
pub(crate) fn fill(
    template: &str,
    session_id: &str,
    token: Option<&str>,
    order_id: Option<&str>,
) -> String {
    let mut url = template.replace("{{session_id}}", session_id);
    if let Some(token) = token {
        url = url.replace("{{authorization_token}}", token);
    }
    if let Some(order_id) = order_id {
        url = url.replace("{{order_id}}", order_id);
    }
    url
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::config::FaultConfig;

    /// A journal that keeps the type of every line.
    #[derive(Default)]
    struct Kept(Mutex<Vec<String>>);

    impl Journal for Kept {
        fn write(&self, line: &Line<'_>) {
            let value = serde_json::to_value(line).unwrap();
            self.0
                .lock()
                .unwrap()
                .push(value["type"].as_str().unwrap().to_owned());
        }
    }

    /// `ms` milliseconds after 2027-01-15T08:00:00Z.
    fn at(ms: u32) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + i64::from(ms / 1000), ms % 1000 * 1_000_000).unwrap()
    }

    fn config() -> SimConfig {
        let mut config = SimConfig {
            faults: FaultConfig::none(),
            ..SimConfig::default()
        };
        config.time.compression = 1.0;
        config
    }

    fn registry() -> Registry {
        Registry::new(&config(), at(0), "http://sim".into(), Arc::new(NoJournal))
    }

    fn new_session(mode: PlaceOrderMode, status_update: Option<&str>) -> NewSession {
        NewSession {
            payment: PaymentKind::KlarnaPayments,
            payment_session_url: "https://api.klarna.com/payments/v1/sessions/kp-1".into(),
            payment_id: "kp-1".into(),
            place_order_mode: mode,
            merchant_urls: MerchantUrls {
                success: Some(
                    "http://127.0.0.1:9/ok/{{session_id}}?token={{authorization_token}}".into(),
                ),
                status_update: status_update.map(str::to_owned),
                ..MerchantUrls::default()
            },
        }
    }

    /// A session created at 0 that entered the page at 1 and was authorized at 2.
    #[track_caller]
    fn completed(registry: &mut Registry, mode: PlaceOrderMode) -> (String, Stepped) {
        let id = registry
            .create(
                new_session(mode, Some("http://127.0.0.1:9/cb/{{session_id}}")),
                at(0),
            )
            .session_id;
        registry.step(&id, Move::EnterPage, at(1)).unwrap();
        let stepped = registry
            .step(&id, Move::Outcome(Action::Authorize), at(2))
            .unwrap();
        (id, stepped)
    }

    #[track_caller]
    fn status_of(registry: &Registry, id: &str) -> String {
        registry
            .session_truth(id, at(3))
            .unwrap()
            .status
            .as_str()
            .to_owned()
    }

    #[test]
    fn a_new_session_waits_and_expires_after_its_lifetime() {
        let mut registry = registry();
        let created = registry.create(new_session(PlaceOrderMode::None, None), at(0));
        let lifetime = config().timing().session_lifetime;
        assert_eq!(created.expires_at, later(at(0), lifetime));
        assert_eq!(status_of(&registry, &created.session_id), "WAITING");
        assert!(!created.walk.moves.is_empty());
        let truth = registry.session_truth(&created.session_id, at(0)).unwrap();
        assert_eq!(truth.history.len(), 1);
        assert!(!truth.expired);
        let later_truth = registry
            .session_truth(&created.session_id, created.expires_at)
            .unwrap();
        assert!(later_truth.expired, "not final at expires_at: expired");
    }

    #[test]
    fn completing_hands_out_a_token_and_calls_back_with_it() {
        let mut registry = registry();
        let (id, stepped) = completed(&mut registry, PlaceOrderMode::None);
        let token = stepped.session.authorization_token.clone().unwrap();
        assert_eq!(stepped.session.status.unwrap().as_str(), "COMPLETED");
        let callback = stepped.callback.unwrap();
        assert_eq!(callback.url.as_str(), format!("http://127.0.0.1:9/cb/{id}"));
        assert!(callback.body.contains(&token), "{}", callback.body);
        assert_eq!(callback.status.as_str(), "COMPLETED");
        let redirect = stepped.redirect.unwrap();
        assert_eq!(redirect.which, "success");
        assert_eq!(
            redirect.url,
            format!("http://127.0.0.1:9/ok/{id}?token={token}")
        );
        let truth = registry.session_truth(&id, at(3)).unwrap();
        assert_eq!(truth.events.len(), 2, "EnterPage and Authorize called back");
        assert_eq!(
            truth.token_valid_until,
            Some(later(at(2), config().timing().token_lifetime))
        );
    }

    #[test]
    fn klarna_places_the_order_itself_with_place_order() {
        let mut registry = registry();
        let (_, stepped) = completed(&mut registry, PlaceOrderMode::PlaceOrder);
        assert!(stepped.session.authorization_token.is_none());
        assert!(stepped.session.order_id.is_some());
        assert!(stepped.session.klarna_reference.is_some());
    }

    #[test]
    fn an_illegal_step_is_refused_with_the_core_text_and_changes_nothing() {
        let mut registry = registry();
        let id = registry
            .create(new_session(PlaceOrderMode::None, None), at(0))
            .session_id;
        let refused = registry
            .step(&id, Move::Outcome(Action::Authorize), at(1))
            .unwrap_err();
        let core = Status::Waiting.apply(Action::Authorize).unwrap_err();
        assert!(
            refused.to_string().contains(&core.to_string()),
            "{refused} does not carry {core}"
        );
        assert_eq!(status_of(&registry, &id), "WAITING");
        assert_eq!(registry.session_truth(&id, at(1)).unwrap().history.len(), 1);
    }

    #[test]
    fn no_step_read_or_disable_after_expiry() {
        let mut registry = registry();
        let created = registry.create(new_session(PlaceOrderMode::None, None), at(0));
        let id = created.session_id;
        let expired = created.expires_at;
        assert!(matches!(
            registry.step(&id, Move::EnterPage, expired),
            Err(StepRefused::Expired(when)) if when == expired
        ));
        assert!(matches!(
            registry.read(&id, ReadFault::default(), expired),
            ReadResult::Expired
        ));
        assert_eq!(registry.disable(&id, expired), DisableOutcome::Expired);
        assert!(registry.peek(&id, expired).is_none());
        let truth = registry.session_truth(&id, expired).unwrap();
        assert_eq!(truth.reads.after_expiry, 1);
    }

    #[test]
    fn unknown_sessions_are_counted_and_injected_errors_win() {
        let mut registry = registry();
        assert!(matches!(
            registry.read("nope", ReadFault::default(), at(0)),
            ReadResult::Unknown
        ));
        let injected = ReadFault {
            error: Some(503),
            ..ReadFault::default()
        };
        assert!(matches!(
            registry.read("nope", injected, at(0)),
            ReadResult::Injected(503)
        ));
        assert_eq!(registry.disable("nope", at(0)), DisableOutcome::Unknown);
        let summary = registry.summary(at(0));
        assert_eq!(summary.reads.unknown, 1);
        assert_eq!(summary.disables.not_found, 1);
    }

    #[test]
    fn a_token_places_one_order_and_a_retry_is_told_from_a_second_placement() {
        let mut registry = registry();
        let (id, stepped) = completed(&mut registry, PlaceOrderMode::None);
        let token = stepped.session.authorization_token.unwrap();
        let placed = registry.place_order(&token, Some("k1".into()), at(3));
        assert_eq!(placed.code, 200);
        assert!(placed.body["order_id"].is_string());
        let retry = registry.place_order(&token, Some("k1".into()), at(4));
        let second = registry.place_order(&token, Some("k2".into()), at(5));
        assert_eq!((retry.code, second.code), (404, 404));
        let results: Vec<OrderResult> = registry
            .session_truth(&id, at(6))
            .unwrap()
            .orders
            .into_iter()
            .map(|order| order.result)
            .collect();
        assert!(matches!(results[0], OrderResult::Placed { .. }));
        assert_eq!(
            results[1..],
            [OrderResult::RefusedRetry, OrderResult::RefusedRepeat]
        );
    }

    #[test]
    fn an_expired_or_unknown_token_places_nothing() {
        let mut registry = registry();
        let (id, stepped) = completed(&mut registry, PlaceOrderMode::None);
        let token = stepped.session.authorization_token.unwrap();
        let until = registry
            .session_truth(&id, at(3))
            .unwrap()
            .token_valid_until
            .unwrap();
        assert_eq!(registry.place_order(&token, None, until).code, 404);
        assert_eq!(registry.place_order("made-up", None, at(3)).code, 404);
        let truth = registry.session_truth(&id, at(3)).unwrap();
        assert_eq!(truth.orders[0].result, OrderResult::TokenExpired);
        assert_eq!(truth.orders_placed(), 0);
        assert_eq!(registry.summary(at(3)).orders.unknown_token, 1);
    }

    #[test]
    fn disable_ends_an_open_session_without_a_callback_and_never_a_completed_one() {
        let mut registry = registry();
        let id = registry
            .create(
                new_session(PlaceOrderMode::None, Some("http://127.0.0.1:9/cb")),
                at(0),
            )
            .session_id;
        assert_eq!(registry.disable(&id, at(1)), DisableOutcome::Disabled);
        let truth = registry.session_truth(&id, at(1)).unwrap();
        assert_eq!(truth.final_status(), Some(Status::Disabled));
        assert!(truth.events.is_empty(), "Disable is never called back");

        let (done, _) = completed(&mut registry, PlaceOrderMode::None);
        assert_eq!(
            registry.disable(&done, at(3)),
            DisableOutcome::Refused {
                status: Status::Completed,
                reason: "The session has already been successfully completed".into()
            }
        );
    }

    #[test]
    fn updated_at_strictly_increases_even_within_one_millisecond() {
        let mut registry = registry();
        let id = registry
            .create(new_session(PlaceOrderMode::None, None), at(0))
            .session_id;
        registry.step(&id, Move::EnterPage, at(0)).unwrap();
        registry
            .step(&id, Move::Outcome(Action::GoBack), at(0))
            .unwrap();
        let history = registry.session_truth(&id, at(0)).unwrap().history;
        let times: Vec<Timestamp> = history.iter().map(|change| change.updated_at).collect();
        assert_eq!(times, [at(0), at(1), at(2)]);
    }

    #[test]
    fn every_change_is_journaled() {
        let kept = Arc::new(Kept::default());
        let mut registry = Registry::new(
            &config(),
            at(0),
            "http://sim".into(),
            Arc::clone(&kept) as _,
        );
        let (id, stepped) = completed(&mut registry, PlaceOrderMode::None);
        let token = stepped.session.authorization_token.unwrap();
        registry.read(&id, ReadFault::default(), at(3));
        registry.place_order(&token, None, at(3));
        registry.write_final(at(4));
        let lines = kept.0.lock().unwrap().clone();
        assert_eq!(
            lines,
            [
                "session_created",
                "status_changed",
                "status_changed",
                "callback_event",
                "status_changed",
                "callback_event",
                "read",
                "order",
                "session_final",
                "summary"
            ]
        );
    }
}
