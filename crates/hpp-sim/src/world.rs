//! The world: the registry behind a lock, the clock, the consumers that walk sessions and
//! the courier that delivers callbacks. The I/O shell around [`Registry`]: it reads the
//! clock, calls the registry, and carries out what the registry says must happen next. The
//! lock is held only inside registry calls, never across an `.await` or an I/O call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::{SimConfig, Timing};
use crate::deliver::Courier;
use crate::log::TruthLog;
use crate::registry::{
    CreatedSession, DisableOutcome, NewSession, OrderAnswer, ReadFault, ReadResult, Registry,
    SharedRegistry, StepRefused, Stepped, lock,
};
use crate::truth::{SessionTruth, Summary};
use crate::walk::{Move, Walk};

/// Everything the API handlers, consumers and deliveries share.
pub(crate) struct World {
    pub(crate) config: SimConfig,
    pub(crate) timing: Timing,
    pub(crate) base_url: String,
    pub(crate) registry: SharedRegistry,
    pub(crate) clock: Arc<Clock>,
    pub(crate) courier: Arc<Courier>,
    pub(crate) log: Arc<TruthLog>,
    pub(crate) consumers: TaskTracker,
    pub(crate) cancel: CancellationToken,
    /// The consumers waiting for their payment page to be opened (see
    /// `SimConfig::consumers_wait_for_page`): one stored permit each, however often it is
    /// opened.
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
}

impl World {
    pub(crate) fn new(
        config: SimConfig,
        base_url: String,
        client: reqwest::Client,
        log: TruthLog,
    ) -> World {
        let timing = config.timing();
        let log = Arc::new(log);
        let clock = Arc::new(Clock::default());
        let registry = Arc::new(Mutex::new(Registry::new(
            &config,
            clock.now(),
            base_url.clone(),
            Arc::clone(&log) as _,
        )));
        let cancel = CancellationToken::new();
        let courier = Arc::new(Courier {
            registry: Arc::clone(&registry),
            clock: Arc::clone(&clock),
            client,
            timing,
            max_retries: config.delivery.max_retries,
            allow_remote: config.allow_remote,
            tasks: TaskTracker::new(),
            cancel: cancel.clone(),
        });
        World {
            config,
            timing,
            base_url,
            registry,
            clock,
            courier,
            log,
            consumers: TaskTracker::new(),
            cancel,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` on the registry, under its lock.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        f(&mut lock(&self.registry))
    }

    /// Creates a session and starts its consumer (none with `manual`; with
    /// `consumers_wait_for_page`, once its page is opened).
    pub(crate) fn create_session(self: &Arc<Self>, new: NewSession) -> CreatedSession {
        let at = self.clock.now();
        let created = self.with(|registry| registry.create(new, at));
        tracing::debug!(session_id = %created.session_id, moves = created.walk.moves.len(),
            abandons = created.walk.abandons, "session created");
        if !self.config.manual {
            let page = self.config.consumers_wait_for_page.then(|| {
                let page = Arc::new(Notify::new());
                self.waiting_consumers()
                    .insert(created.session_id.clone(), Arc::clone(&page));
                page
            });
            let world = Arc::clone(self);
            let session_id = created.session_id.clone();
            let walk = created.walk.clone();
            self.consumers
                .spawn(async move { world.run_consumer(session_id, walk, page).await });
        }
        created
    }

    /// The consumer of one session: waits for its page to be opened when so configured,
    /// then takes each move after its pause, until the walk ends, a move no longer fits (the
    /// merchant disabled the session, or a test stepped it), the session expires, or the
    /// simulator shuts down.
    async fn run_consumer(
        self: Arc<Self>,
        session_id: String,
        walk: Walk,
        page: Option<Arc<Notify>>,
    ) {
        if let Some(page) = page {
            let opened = tokio::select! {
                () = self.cancel.cancelled() => false,
                () = self.clock.sleep(self.timing.session_lifetime) => false,
                () = page.notified() => true,
            };
            self.waiting_consumers().remove(&session_id);
            if !opened {
                return;
            }
        }
        for planned in walk.moves {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = self.clock.sleep(planned.pause) => {}
            }
            if let Err(refused) = self.step(&session_id, planned.step, planned.redirect) {
                tracing::debug!(%session_id, %refused, "the consumer stops");
                return;
            }
        }
    }

    /// The session takes `step` now; the callback it causes is on its way before this
    /// returns, and so is the consumer's browser to the merchant's URL when `follow_redirect`.
    pub(crate) fn step(
        &self,
        session_id: &str,
        step: Move,
        follow_redirect: bool,
    ) -> Result<Stepped, StepRefused> {
        let at = self.clock.now();
        // Dispatched under the lock, so that no one sees the change without its delivery
        // under way (and takes the run for settled).
        let mut registry = lock(&self.registry);
        let stepped = registry.step(session_id, step, at)?;
        if let Some(callback) = &stepped.callback {
            self.courier.spawn(callback.clone());
        }
        if let Some(visit) = stepped.redirect.as_ref().filter(|_| follow_redirect) {
            self.courier.spawn_redirect(visit.clone());
        }
        drop(registry);
        Ok(stepped)
    }

    fn waiting_consumers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The consumer's browser opened the payment page: lets a waiting consumer start.
    pub(crate) fn open_page(&self, session_id: &str) {
        if let Some(page) = self.waiting_consumers().get(session_id) {
            page.notify_one();
        }
    }

    /// The session as Read Session would show it now, without a fault or a counted read.
    pub(crate) fn peek(&self, session_id: &str) -> Option<hpp_status::wire::SessionResponse> {
        let at = self.clock.now();
        self.with(|registry| registry.peek(session_id, at))
    }

    pub(crate) fn read(&self, session_id: &str, fault: ReadFault) -> ReadResult {
        let at = self.clock.now();
        self.with(|registry| registry.read(session_id, fault, at))
    }

    pub(crate) fn disable(&self, session_id: &str) -> DisableOutcome {
        let at = self.clock.now();
        self.with(|registry| registry.disable(session_id, at))
    }

    pub(crate) fn place_order(&self, token: &str, idempotency_key: Option<String>) -> OrderAnswer {
        let at = self.clock.now();
        self.with(|registry| registry.place_order(token, idempotency_key, at))
    }

    /// The truth of every session, in order of creation.
    pub(crate) fn truth(&self) -> Vec<SessionTruth> {
        let at = self.clock.now();
        self.with(|registry| registry.truth(at))
    }

    /// The truth of one session.
    pub(crate) fn session_truth(&self, session_id: &str) -> Option<SessionTruth> {
        let at = self.clock.now();
        self.with(|registry| registry.session_truth(session_id, at))
    }

    /// The counts of everything so far.
    pub(crate) fn summary(&self) -> Summary {
        let at = self.clock.now();
        self.with(|registry| registry.summary(at))
    }

    /// How many sessions exist and how many are settled (final or expired).
    pub(crate) fn progress(&self) -> (u64, u64) {
        let at = self.clock.now();
        self.with(|registry| registry.progress(at))
    }

    /// Whether nothing more will happen by itself: every session final or expired, and every
    /// callback delivered or given up.
    pub(crate) fn is_settled(&self) -> bool {
        let (sessions, settled) = self.progress();
        sessions == settled && self.courier.tasks.is_empty()
    }
}
