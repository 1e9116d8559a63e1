//! The simulator's state: every session with its truth, the tokens, and the operations the
//! API, the consumers and the callback deliveries perform on them. One mutex guards it all,
//! held briefly and never across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hpp_status::Status;
use hpp_status::wire::{ManualIdentification, ReportedStatus, SessionResponse, Timestamp};
use rand::RngExt as _;
use rand::rngs::Xoshiro256PlusPlus;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use crate::config::{SimConfig, Timing, is_loopback_url};
use crate::deliver::{self, Delivery, DrawnFaults, RedirectVisit};
use crate::log::{Line, TruthLog};
use crate::seed::{self, Purpose};
use crate::truth::{
    CallbackAttempt, CallbackEvent, DisableAttempt, DisableResult, EventOutcome, Fault,
    OrderAttempt, OrderResult, PaymentKind, PlaceOrderMode, ReadTally, Redirect, SessionTruth,
    StatusChange, Summary, Unowned,
};
use crate::walk::{Interlude, Move, PlannedMove, SessionState, Walk};

/// The wall clock, to the millisecond as the API writes it.
pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

/// `at + wall`, saturating at the last instant RFC 3339 can write.
pub(crate) fn later(at: Timestamp, wall: Duration) -> Timestamp {
    at.checked_add(wall).unwrap_or(Timestamp::MAX)
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

/// What the API answers a create with.
#[derive(Clone, Debug)]
pub(crate) struct CreatedSession {
    pub(crate) session_id: String,
    pub(crate) expires_at: Timestamp,
}

/// What Read Session finds.
pub(crate) enum ReadResult {
    Served(Box<SessionResponse>),
    Injected(u16),
    Expired,
    Unknown,
}

/// What a Disable does.
pub(crate) enum DisableOutcome {
    Disabled,
    Refused { status: Status, reason: String },
    Expired,
    Unknown,
}

/// A create order call's answer: the HTTP status and the JSON body.
#[derive(Clone, Debug)]
pub(crate) struct OrderAnswer {
    pub(crate) code: u16,
    pub(crate) body: serde_json::Value,
}

/// What a Read Session fault draw decided.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReadFault {
    pub(crate) error: Option<u16>,
    pub(crate) slow: bool,
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
    state: SessionState,
    status_update: Option<Url>,
    urls: MerchantUrls,
    prepared: PreparedIds,
    fault_rng: Xoshiro256PlusPlus,
    /// Notified when the payment page is opened (see `SimConfig::consumers_wait_for_page`):
    /// one stored permit, however often it is opened.
    page_opened: Arc<tokio::sync::Notify>,
}

impl Session {
    /// Records a change of the shown status, with an `updated_at` strictly after the last.
    fn change(&mut self, cause: String, called_back: bool, at: Timestamp) -> StatusChange {
        let floor = self
            .truth
            .history
            .last()
            .map(|last| later(last.updated_at, Duration::from_millis(1)));
        let updated_at = floor.map_or(at, |floor| floor.max(at));
        self.truth.status = self.state.shown();
        self.truth.lifecycle = self.state.lifecycle;
        let change = StatusChange {
            status: self.state.shown(),
            updated_at,
            cause,
            called_back,
        };
        self.truth.history.push(change.clone());
        change
    }

    fn expired(&self, at: Timestamp) -> bool {
        at >= self.truth.expires_at
    }

    /// The session as Read Session (and a callback) shows it.
    fn response(&self, timing: &Timing) -> SessionResponse {
        let truth = &self.truth;
        let completed = self.state.lifecycle == Status::Completed;
        let manual = self.state.interlude == Some(Interlude::ManualIdCheck);
        SessionResponse {
            session_id: Some(truth.session_id.clone()),
            status: Some(self.state.shown()),
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

    /// A snapshot of the truth, with `expired` as of `at`.
    fn snapshot(&self, at: Timestamp) -> SessionTruth {
        let mut truth = self.truth.clone();
        truth.expired = !truth.lifecycle.is_final() && self.expired(at);
        truth
    }
}

#[derive(Default)]
struct Registry {
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
}

/// Everything the API handlers, consumers and deliveries share.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) timing: Timing,
    pub(crate) base_url: String,
    registry: Mutex<Registry>,
    read_rng: Mutex<Xoshiro256PlusPlus>,
    misc_rng: Mutex<Xoshiro256PlusPlus>,
    pub(crate) client: reqwest::Client,
    pub(crate) log: TruthLog,
    pub(crate) consumers: TaskTracker,
    pub(crate) deliveries: TaskTracker,
    pub(crate) cancel: CancellationToken,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data behind (every update is a
    // push or an assignment), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Shared {
    pub(crate) fn new(
        config: SimConfig,
        base_url: String,
        client: reqwest::Client,
        log: TruthLog,
    ) -> Shared {
        let timing = config.timing();
        Shared {
            read_rng: Mutex::new(seed::generator(config.seed, 0, Purpose::Reads)),
            misc_rng: Mutex::new(seed::generator(config.seed, 0, Purpose::Misc)),
            config,
            timing,
            base_url,
            registry: Mutex::new(Registry::default()),
            client,
            log,
            consumers: TaskTracker::new(),
            deliveries: TaskTracker::new(),
            cancel: CancellationToken::new(),
        }
    }

    /// A fresh id for things no session owns (correlation ids, payment sessions).
    pub(crate) fn misc_uuid(&self) -> String {
        seed::uuid(&mut *lock(&self.misc_rng))
    }

    /// Whether a URL the simulator would call is allowed.
    pub(crate) fn may_call(&self, url: &Url) -> bool {
        self.config.allow_remote || is_loopback_url(url)
    }

    pub(crate) fn count_unauthorized(&self) {
        lock(&self.registry).unowned.unauthorized += 1;
    }

    /// Creates a session and starts its consumer.
    pub(crate) fn create_session(self: &Arc<Self>, new: NewSession) -> CreatedSession {
        let at = now();
        let mut registry = lock(&self.registry);
        let index = registry.order.len() as u64;
        let mut ids = seed::generator(self.config.seed, index, Purpose::Ids);
        let mut session_id = seed::uuid(&mut ids);
        while registry.sessions.contains_key(&session_id) {
            // Only a second simulator state fed the same ids could collide; stay unique.
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
        let mut walk_rng = seed::generator(self.config.seed, index, Purpose::Walk);
        let walk = Walk::plan(
            &mut walk_rng,
            &self.config.consumer,
            (self.timing.think_min, self.timing.think_max),
        );
        let status_update = new
            .merchant_urls
            .status_update
            .as_deref()
            .and_then(|template| Url::parse(&fill(template, &session_id, None, None)).ok());
        let expires_at = later(at, self.timing.session_lifetime);
        let truth = SessionTruth {
            session_id: session_id.clone(),
            index,
            payment: new.payment,
            payment_session_url: new.payment_session_url.clone(),
            place_order_mode: new.place_order_mode,
            created_at: at,
            expires_at,
            status_update: status_update.as_ref().map(Url::to_string),
            abandoned: walk.abandons,
            status: ReportedStatus::Known(Status::Waiting),
            lifecycle: Status::Waiting,
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
            state: SessionState::NEW,
            status_update,
            urls: new.merchant_urls,
            prepared,
            fault_rng: seed::generator(self.config.seed, index, Purpose::Faults),
            page_opened: Arc::new(tokio::sync::Notify::new()),
        };
        let page_opened = Arc::clone(&session.page_opened);
        let change = session.change("created".into(), false, at);
        self.log.write(&Line::SessionCreated {
            at,
            session_id: &session_id,
            index,
            payment_session_url: &session.truth.payment_session_url,
            place_order_mode: session.truth.place_order_mode,
            expires_at,
            status_update: session.truth.status_update.as_deref(),
            abandons: walk.abandons,
        });
        self.log.write(&Line::StatusChanged {
            session_id: &session_id,
            change: &change,
        });
        tracing::debug!(%session_id, index, moves = walk.moves.len(), abandons = walk.abandons, "session created");
        registry.sessions.insert(session_id.clone(), session);
        registry.order.push(session_id.clone());
        drop(registry);

        let shared = Arc::clone(self);
        let consumer_id = session_id.clone();
        let wait = self.config.consumers_wait_for_page;
        let lifetime = self.timing.session_lifetime;
        self.consumers.spawn(async move {
            if wait {
                // Until the consumer is sent to the page; after expiry there is no page.
                tokio::select! {
                    () = shared.cancel.cancelled() => return,
                    () = tokio::time::sleep(lifetime) => return,
                    () = page_opened.notified() => {}
                }
            }
            shared.run_consumer(consumer_id, walk).await;
        });
        CreatedSession {
            session_id,
            expires_at,
        }
    }

    /// The consumer of one session: each move after its pause, until the walk ends, a move
    /// no longer fits (the merchant disabled the session), the session expires, or the
    /// simulator shuts down.
    async fn run_consumer(self: Arc<Self>, session_id: String, walk: Walk) {
        for planned in walk.moves {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(planned.pause) => {}
            }
            if !self.consumer_move(&session_id, &planned) {
                return;
            }
        }
    }

    /// Takes one move of a consumer; `false` when the consumer stops.
    fn consumer_move(self: &Arc<Self>, session_id: &str, planned: &PlannedMove) -> bool {
        let at = now();
        let mut registry = lock(&self.registry);
        let Registry {
            sessions,
            tokens,
            forged_tokens,
            ..
        } = &mut *registry;
        let Some(session) = sessions.get_mut(session_id) else {
            return false;
        };
        if session.expired(at) {
            tracing::debug!(%session_id, "the session expired before the consumer's {}", planned.step);
            return false;
        }
        if let Err(error) = session.state.apply(planned.step) {
            tracing::debug!(%session_id, %error, "the consumer stops");
            return false;
        }
        if session.state.lifecycle == Status::Completed {
            self.complete(session, tokens, at);
        }
        let called_back = session.status_update.is_some();
        let change = session.change(planned.step.to_string(), called_back, at);
        self.log.write(&Line::StatusChanged {
            session_id,
            change: &change,
        });
        let delivery = self.new_event(session, &change, at);
        let redirect = match planned.step {
            Move::Outcome(action) if planned.redirect => self.redirect_for(session, action),
            _ => None,
        };
        // Spawned before the lock is released, so that no one sees the change without its
        // delivery under way (and takes the run for settled).
        if let Some(delivery) = delivery {
            if delivery.faults.forged_after.is_some() {
                forged_tokens.insert(delivery.forged_token.clone(), delivery.session_id.clone());
            }
            deliver::spawn(self, delivery);
        }
        if let Some(visit) = redirect {
            deliver::spawn_redirect(self, visit);
        }
        drop(registry);
        true
    }

    /// What `COMPLETED` hands out: a token (Klarna Payments, `NONE`), or an order Klarna
    /// placed itself.
    fn complete(&self, session: &mut Session, tokens: &mut HashMap<String, String>, at: Timestamp) {
        let truth = &mut session.truth;
        let merchant_places = truth.payment == PaymentKind::KlarnaPayments
            && truth.place_order_mode == PlaceOrderMode::None;
        if merchant_places {
            let token = session.prepared.token.clone();
            tokens.insert(token.clone(), truth.session_id.clone());
            truth.authorization_token = Some(token);
            truth.token_valid_until = Some(later(at, self.timing.token_lifetime));
        } else {
            truth.order_id = Some(session.prepared.order_id.clone());
            truth.klarna_reference = Some(session.prepared.klarna_reference.clone());
            self.log.write(&Line::KlarnaOrder {
                at,
                session_id: &truth.session_id,
                order_id: &session.prepared.order_id,
                klarna_reference: &session.prepared.klarna_reference,
            });
        }
    }

    /// A new callback event for `change`, its faults drawn and recorded.
    fn new_event(
        &self,
        session: &mut Session,
        change: &StatusChange,
        at: Timestamp,
    ) -> Option<Delivery> {
        let url = session.status_update.clone()?;
        let rng = &mut session.fault_rng;
        let event_id = seed::uuid(rng);
        let drawn = DrawnFaults::draw(rng, &self.config.faults, self.timing.max_hold);
        let forged_token = seed::uuid(rng);
        let forged_event = seed::uuid(rng);
        let (forged_url, secret_replaced) =
            deliver::forge_url(&url, &session.truth.session_id, rng);

        let mut faults = Vec::new();
        if drawn.lost {
            faults.push(Fault::Lost);
        } else {
            if let Some(after) = drawn.duplicate_after {
                faults.push(Fault::Duplicated {
                    after_ms: millis(after),
                });
            }
            if let Some(hold) = drawn.hold {
                faults.push(Fault::Delayed {
                    hold_ms: millis(hold),
                });
            }
            if drawn.empty_retry {
                faults.push(Fault::EmptyRetry);
            }
            if drawn.answer_dropped {
                faults.push(Fault::AnswerDropped);
            }
        }
        if let Some(after) = drawn.forged_after {
            faults.push(Fault::Forged {
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
            faults,
            outcome: if drawn.lost {
                EventOutcome::Lost
            } else {
                EventOutcome::Pending
            },
        };
        self.log.write(&Line::CallbackEvent {
            at,
            session_id: &session.truth.session_id,
            event: &event,
        });
        session.truth.events.push(event);

        let body = hpp_status::wire::StatusCallback {
            event_id: Some(event_id.clone()),
            session: session.response(&self.timing),
            problems: Vec::new(),
        };
        let forged_body = hpp_status::wire::StatusCallback {
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

    /// The redirect the consumer's browser follows after `action`, if the merchant gave
    /// that URL.
    fn redirect_for(&self, session: &Session, action: hpp_status::Action) -> Option<RedirectVisit> {
        use hpp_status::Action;
        let urls = &session.urls;
        let (which, template) = match action {
            Action::Authorize => ("success", urls.success.as_ref()),
            Action::Cancel => ("cancel", urls.cancel.as_ref()),
            Action::GoBack => ("back", urls.back.as_ref()),
            Action::Decline => ("failure", urls.failure.as_ref()),
            Action::Fail => ("error", urls.error.as_ref()),
            Action::EnterPage | Action::Disable => return None,
        };
        let truth = &session.truth;
        let token = (which == "success")
            .then_some(truth.authorization_token.as_deref())
            .flatten();
        let filled = fill(
            template?,
            &truth.session_id,
            token,
            truth.order_id.as_deref(),
        );
        Some(RedirectVisit {
            session_id: truth.session_id.clone(),
            which,
            url: filled,
        })
    }

    /// Records one POST of a callback.
    pub(crate) fn record_attempt(&self, session_id: &str, attempt: CallbackAttempt) {
        let mut registry = lock(&self.registry);
        if let Some(session) = registry.sessions.get_mut(session_id) {
            self.log.write(&Line::CallbackAttempt {
                session_id,
                attempt: &attempt,
            });
            session.truth.attempts.push(attempt);
        }
    }

    /// Records how a callback event ended.
    pub(crate) fn end_event(&self, session_id: &str, event_id: &str, outcome: EventOutcome) {
        let mut registry = lock(&self.registry);
        if let Some(session) = registry.sessions.get_mut(session_id) {
            if let Some(event) = session
                .truth
                .events
                .iter_mut()
                .find(|event| event.event_id == event_id)
            {
                event.outcome = outcome;
            }
            self.log.write(&Line::CallbackEnded {
                at: now(),
                session_id,
                event_id,
                outcome,
            });
        }
    }

    /// Records a redirect the consumer's browser followed (or could not).
    pub(crate) fn record_redirect(&self, session_id: &str, redirect: Redirect) {
        let mut registry = lock(&self.registry);
        if let Some(session) = registry.sessions.get_mut(session_id) {
            self.log.write(&Line::Redirect {
                session_id,
                redirect: &redirect,
            });
            session.truth.redirects.push(redirect);
        }
    }

    /// Draws the faults of one Read Session request (always the same number of draws).
    pub(crate) fn draw_read_fault(&self) -> ReadFault {
        let faults = &self.config.faults;
        let mut rng = lock(&self.read_rng);
        let error = rng.random_bool(faults.read_error);
        let code = [500, 502, 503][rng.random_range(0..3)];
        let slow = rng.random_bool(faults.read_slow);
        ReadFault {
            error: error.then_some(code),
            slow,
        }
    }

    /// Read Session, after the fault draw (an injected error is recorded here too).
    pub(crate) fn read_session(&self, session_id: &str, fault: ReadFault) -> ReadResult {
        let at = now();
        let mut registry = lock(&self.registry);
        let Some(session) = registry.sessions.get_mut(session_id) else {
            return match fault.error {
                Some(code) => ReadResult::Injected(code),
                None => {
                    registry.unowned.unknown_reads += 1;
                    ReadResult::Unknown
                }
            };
        };
        let expired = session.expired(at);
        let response = (fault.error.is_none() && !expired).then(|| session.response(&self.timing));
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
                tally.last_served_at = Some(at);
                tally.last_served_status = response.status.clone();
                ("served", 200, ReadResult::Served(Box::new(response)))
            }
        };
        self.log.write(&Line::Read {
            at,
            session_id,
            result,
            code,
        });
        answer
    }

    /// Disable (`DELETE`): any session that is not final becomes `DISABLED`, without a
    /// callback.
    pub(crate) fn disable(&self, session_id: &str) -> DisableOutcome {
        let at = now();
        let mut registry = lock(&self.registry);
        let Some(session) = registry.sessions.get_mut(session_id) else {
            registry.unowned.unknown_disables += 1;
            return DisableOutcome::Unknown;
        };
        let (result, outcome) = if session.expired(at) {
            (DisableResult::Expired, DisableOutcome::Expired)
        } else {
            match session.state.disable() {
                Ok(()) => {
                    let change = session.change("Disable".into(), false, at);
                    self.log.write(&Line::StatusChanged {
                        session_id,
                        change: &change,
                    });
                    (DisableResult::Disabled, DisableOutcome::Disabled)
                }
                Err(error) => {
                    let status = session.state.lifecycle;
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
        self.log.write(&Line::Disable {
            session_id,
            attempt: &attempt,
        });
        session.truth.disables.push(attempt);
        outcome
    }

    /// Create order (`POST /payments/v1/authorizations/{token}/order`): one order per token.
    pub(crate) fn place_order(&self, token: &str, idempotency_key: Option<String>) -> OrderAnswer {
        let at = now();
        let mut registry = lock(&self.registry);
        let owner = registry
            .tokens
            .get(token)
            .or_else(|| registry.forged_tokens.get(token))
            .cloned();
        // Klarna documents idempotency keys for the Order Management API, not for create
        // order: a repeat is answered as any used token is (404), whatever its key. The key
        // only tells the truth whether the repeat retried the call that placed the order (the
        // merchant lost its answer) or placed a second time (a merchant bug).
        let (mut result, answer) = self.new_order(&mut registry, token, owner.as_deref(), at);
        match (&result, &idempotency_key) {
            (OrderResult::Placed { .. }, Some(key)) => {
                registry
                    .placed_with_key
                    .insert(token.to_owned(), key.clone());
            }
            (OrderResult::RefusedRepeat, Some(key))
                if registry.placed_with_key.get(token) == Some(key) =>
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
        };
        self.log.write(&Line::Order {
            session_id: owner.as_deref(),
            attempt: &attempt,
        });
        match owner.and_then(|id| registry.sessions.get_mut(&id)) {
            Some(session) => session.truth.orders.push(attempt),
            None => registry.unowned.unknown_tokens += 1,
        }
        answer
    }

    fn new_order(
        &self,
        registry: &mut Registry,
        token: &str,
        owner: Option<&str>,
        at: Timestamp,
    ) -> (OrderResult, OrderAnswer) {
        let invalid = |result| {
            let answer = OrderAnswer {
                code: 404,
                body: self.error_body("NOT_FOUND", "Invalid authorization token"),
            };
            (result, answer)
        };
        let Some(session) = owner.and_then(|id| registry.sessions.get(id)) else {
            return invalid(OrderResult::UnknownToken);
        };
        let truth = &session.truth;
        if truth.authorization_token.as_deref() != Some(token) {
            return invalid(OrderResult::ForgedToken);
        }
        if truth.orders_placed() > 0 {
            return invalid(OrderResult::RefusedRepeat);
        }
        if truth.token_valid_until.is_some_and(|until| at >= until) {
            return invalid(OrderResult::TokenExpired);
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
        };
        (OrderResult::Placed { order_id }, answer)
    }

    /// Klarna's error body: `error_code`, `error_messages`, `correlation_id`.
    pub(crate) fn error_body(&self, code: &str, message: &str) -> serde_json::Value {
        serde_json::json!({
            "error_code": code,
            "error_messages": [message],
            "correlation_id": self.misc_uuid(),
        })
    }

    /// The truth of every session, in order of creation.
    pub(crate) fn truth(&self) -> Vec<SessionTruth> {
        let at = now();
        let registry = lock(&self.registry);
        registry
            .order
            .iter()
            .filter_map(|id| registry.sessions.get(id))
            .map(|session| session.snapshot(at))
            .collect()
    }

    /// The truth of one session.
    /// The consumer's browser opened the payment page: lets a waiting consumer start.
    pub(crate) fn open_page(&self, session_id: &str) {
        if let Some(session) = lock(&self.registry).sessions.get(session_id) {
            session.page_opened.notify_one();
        }
    }

    pub(crate) fn session_truth(&self, session_id: &str) -> Option<SessionTruth> {
        let at = now();
        lock(&self.registry)
            .sessions
            .get(session_id)
            .map(|session| session.snapshot(at))
    }

    /// The counts of everything so far.
    pub(crate) fn summary(&self) -> Summary {
        let at = now();
        let registry = lock(&self.registry);
        Summary::count(
            registry
                .order
                .iter()
                .filter_map(|id| registry.sessions.get(id))
                .map(|session| &session.truth),
            at,
            &registry.unowned,
        )
    }

    /// How many sessions exist and how many are settled (final or expired).
    pub(crate) fn progress(&self) -> (u64, u64) {
        let at = now();
        let registry = lock(&self.registry);
        let settled = registry
            .sessions
            .values()
            .filter(|session| session.state.is_final() || session.expired(at))
            .count();
        (registry.sessions.len() as u64, settled as u64)
    }

    /// Whether nothing more will happen by itself: every session final or expired, and every
    /// callback delivered or given up.
    pub(crate) fn is_settled(&self) -> bool {
        let (sessions, settled) = self.progress();
        sessions == settled && self.deliveries.is_empty()
    }

    /// Marks events still pending as cancelled (at shutdown).
    pub(crate) fn cancel_pending_events(&self) {
        let mut registry = lock(&self.registry);
        for session in registry.sessions.values_mut() {
            for event in &mut session.truth.events {
                if event.outcome == EventOutcome::Pending {
                    event.outcome = EventOutcome::Cancelled;
                }
            }
        }
    }
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
