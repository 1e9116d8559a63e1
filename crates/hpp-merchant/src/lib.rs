//! A reference merchant service for Klarna's Hosted Payment Page (HPP): the code a merchant
//! can copy.
//!
//! - `POST /checkouts` creates a Klarna Payments session and an HPP session whose
//!   `status_update` URL carries a per-session random secret, and registers the session in
//!   the [`hpp_store::Store`] before it answers `201 {"session_id", "redirect_url"}`.
//! - `POST /hpp/callbacks/{session_id}?secret=...` is the status callback. The secret is
//!   compared in constant time; an unknown session or a wrong secret gets a 404 and nothing
//!   else happens. The body is only a hint (it is unsigned, can be forged, and retries come
//!   with an empty one): the handler reads the session from Klarna and merges that.
//! - The batch reads every open session on the store's [`ReadSchedule`], so that a
//!   session whose callbacks were all lost is still seen before it expires.
//! - The effect worker does what a final status asks for, once across every instance:
//!   places the order with the authorization token (with a `Klarna-Idempotency-Key` stable
//!   per effect), records an order Klarna placed, releases the cart, surfaces conflicts.
//!
//! Several instances share one Postgres database (`postgres://...`); one instance can use
//! SQLite (`sqlite://FILE?mode=rwc`).
//!
//! ```
//! use std::time::Duration;
//! use hpp_merchant::{MerchantConfig, serve};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = MerchantConfig {
//!     database_url: "sqlite::memory:".into(),
//!     init_database: true, // a new database: create the tables
//!     klarna_url: "http://127.0.0.1:8181".into(), // the simulator's default address
//!     checkout_token: "a long random token the shop sends".into(),
//!     ..MerchantConfig::default()
//! };
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let merchant = serve(config, listener).await?;
//! let health = reqwest::get(format!("{}/health", merchant.base_url())).await?;
//! assert_eq!(health.status(), 200);
//! merchant.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
mod http;
mod klarna;
mod metrics;
pub mod report;
mod server;
mod work;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::num::NonZeroU32;
use std::time::Instant;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hpp_store::{ReadSchedule, Store, StoreError, StoreOptions};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use crate::klarna::{Budgets, IDEMPOTENCY_KEY, KlarnaError};
/// Who places the order (`options.place_order_mode`): the core's wire type.
pub use hpp_status::wire::PlaceOrderMode;

/// The batch that reads open sessions.
///
/// ```
/// use hpp_merchant::BatchConfig;
///
/// let batch = BatchConfig::default();
/// assert!(batch.interval < batch.read_schedule.margin - batch.read_schedule.lease);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// How often a round claims the sessions due (default 30 s); a full round goes on at
    /// once.
    pub interval: Duration,
    /// How many sessions a round claims at most (default 100).
    pub limit: usize,
    /// When a session is due: every `interval`, and once more within `margin` of its
    /// expiry (the store's [`ReadSchedule`]).
    pub read_schedule: ReadSchedule,
}

impl Default for BatchConfig {
    fn default() -> BatchConfig {
        BatchConfig {
            interval: Duration::from_secs(30),
            limit: 100,
            read_schedule: ReadSchedule::default(),
        }
    }
}

/// The effect worker.
///
/// ```
/// use hpp_merchant::EffectConfig;
///
/// assert_eq!(EffectConfig::default().batch_size, 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectConfig {
    /// How often it looks for effects to do when there were none (default 1 s).
    pub interval: Duration,
    /// How many effects it claims at once (default 10).
    pub batch_size: usize,
    /// How long a claim keeps other workers off an effect (default 60 s): after it, a
    /// crashed worker's effect is done by another.
    pub lease: Duration,
    /// The first pause before an effect that failed is tried again (default 1 s); each
    /// further failure doubles it, with jitter, up to `retry_max` (default 60 s). A 429's
    /// `Retry-After` is never cut short. Meanwhile the other effects are done.
    pub retry_min: Duration,
    /// The longest pause between two tries of an effect, and the longest a 429's
    /// `Retry-After` pauses the calls to Klarna.
    pub retry_max: Duration,
}

impl Default for EffectConfig {
    fn default() -> EffectConfig {
        EffectConfig {
            interval: Duration::from_secs(1),
            batch_size: 10,
            lease: Duration::from_secs(60),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
        }
    }
}

/// Everything a merchant instance needs. [`Default`] talks to the simulator on its default
/// address with its default credentials, and keeps its data in `hpp-merchant.db`.
///
/// ```
/// use hpp_merchant::MerchantConfig;
///
/// let config = MerchantConfig::default();
/// assert_eq!(config.klarna_url, "http://127.0.0.1:8181");
/// assert_eq!((config.klarna_user.as_str(), config.klarna_password.as_str()), ("merchant", "hpp-sim"));
/// assert!(config.batch.is_some());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MerchantConfig {
    /// `sqlite://FILE?mode=rwc` (one instance) or `postgres://...` (a fleet).
    pub database_url: String,
    /// The store's pool size ([`StoreOptions::max_connections`]); `None`: the store's
    /// default (8). The store decides its connections from the URL: on SQLite these are the
    /// readers, beside the store's own single writer (one file is written by one connection
    /// at a time); on Postgres, the one pool for everything.
    pub max_connections: Option<u32>,
    /// Read Session calls (after callbacks and by the batch) in flight at once (default
    /// [`DEFAULT_READS_IN_FLIGHT`]; at least 1). Independent of the database's pools: a read
    /// spends most of its time waiting for Klarna, not for the database.
    pub reads_in_flight: usize,
    /// Klarna's API base URL (the simulator's, in tests).
    pub klarna_url: String,
    /// The API user name.
    pub klarna_user: String,
    /// The API password.
    pub klarna_password: String,
    /// How long a call to Klarna may take.
    pub klarna_timeout: Duration,
    /// The base URL Klarna calls back (`{public_url}/hpp/callbacks/...`); `None`: `http://`
    /// and the listener's address.
    pub public_url: Option<String>,
    /// The batch; `None` disables it (callbacks alone then keep sessions up to date).
    pub batch: Option<BatchConfig>,
    /// The effect worker.
    pub effects: EffectConfig,
    /// The name this instance claims effects under (default: `hpp-merchant-` and the
    /// listener's port and the process id).
    pub worker_name: Option<String>,
    /// Create the database's tables when they are missing (and a missing SQLite file).
    /// Default `false`: a missing or empty database stops the start with an error, instead
    /// of a fresh one silently forgetting every session in flight.
    pub init_database: bool,
    /// The bearer token `POST /checkouts` requires (`Authorization: Bearer <token>`); at
    /// least [`MIN_CHECKOUT_TOKEN`] characters. No default: the start fails without one.
    pub checkout_token: String,
    /// Checkouts per second at most (default 20, half of Klarna's 40/s for creating
    /// sessions: each checkout creates one); a burst of as many is allowed. One over it
    /// waits up to a second for its turn, then gets 429.
    pub checkout_rate: NonZeroU32,
    /// Requests under way at once (default 256); one more is refused with 503 at once.
    pub max_requests: usize,
    /// The calls to Klarna a second this instance allows itself, per rate-limit category
    /// (default just under Klarna's live limits; the playground's are 5 and 50).
    pub budgets: Budgets,
    /// A PEM file of certificate authorities to trust for Klarna's URL besides the
    /// platform's (and `SSL_CERT_FILE`'s): a test CA, a TLS-inspecting proxy's.
    pub klarna_ca: Option<std::path::PathBuf>,
}

/// The shortest checkout token taken.
pub const MIN_CHECKOUT_TOKEN: usize = 16;

/// The default of [`MerchantConfig::reads_in_flight`]: enough for one instance to use
/// Klarna's read budget. The instance allows itself 180 calls a second for everything but
/// creating sessions ([`Budgets::other`], the batch 150 of them); a Read Session answers in
/// about 100 to 300 ms, so keeping 180 calls a second going needs 18 to 54 of them under way
/// (rate × latency). 64 covers the slow end with room, and stays small: a read waiting for
/// Klarna holds a socket and a task, no database connection.
///
/// ```
/// use hpp_merchant::{Budgets, DEFAULT_READS_IN_FLIGHT};
///
/// // At 300 ms a read, the budget for other calls fits in what may be in flight.
/// let needed = Budgets::default().other as usize * 300 / 1000;
/// assert!(DEFAULT_READS_IN_FLIGHT >= needed);
/// ```
pub const DEFAULT_READS_IN_FLIGHT: usize = 64;

impl Default for MerchantConfig {
    fn default() -> MerchantConfig {
        MerchantConfig {
            database_url: "sqlite://hpp-merchant.db?mode=rwc".into(),
            max_connections: None,
            reads_in_flight: DEFAULT_READS_IN_FLIGHT,
            klarna_url: "http://127.0.0.1:8181".into(),
            klarna_user: "merchant".into(),
            klarna_password: "hpp-sim".into(),
            klarna_timeout: Duration::from_secs(10),
            public_url: None,
            batch: Some(BatchConfig::default()),
            effects: EffectConfig::default(),
            worker_name: None,
            init_database: false,
            checkout_token: String::new(),
            checkout_rate: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
            max_requests: 256,
            budgets: Budgets::default(),
            klarna_ca: None,
        }
    }
}

impl std::fmt::Debug for MerchantConfig {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantConfig")
            .field("database_url", &self.database_url)
            .field("max_connections", &self.max_connections)
            .field("reads_in_flight", &self.reads_in_flight)
            .field("klarna_url", &self.klarna_url)
            .field("klarna_user", &self.klarna_user)
            .field("klarna_password", &"<hidden>")
            .field("klarna_timeout", &self.klarna_timeout)
            .field("public_url", &self.public_url)
            .field("batch", &self.batch)
            .field("effects", &self.effects)
            .field("worker_name", &self.worker_name)
            .field("init_database", &self.init_database)
            .field("checkout_token", &"<hidden>")
            .field("checkout_rate", &self.checkout_rate)
            .field("max_requests", &self.max_requests)
            .field("budgets", &self.budgets)
            .field("klarna_ca", &self.klarna_ca)
            .finish()
    }
}

/// Why an instance could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MerchantError {
    /// The configuration cannot be served.
    #[error("the configuration: {0}")]
    Config(String),
    /// The database is missing or has no tables, and creating it was not asked for.
    #[error(
        "the database {url} is missing or empty ({source}). If it is meant to be new, start \
         once with --init-database (HPP_MERCHANT_INIT_DATABASE=1) to create it; otherwise \
         point --database-url at the right one or restore it from a backup: the sessions in \
         flight are in it"
    )]
    NotInitialized {
        /// The database URL.
        url: String,
        /// What the store said.
        source: StoreError,
    },
    /// The database could not be opened, and creating it was not asked for: it may be
    /// missing (a SQLite file, a Postgres database) or unreachable.
    #[error(
        "the database {url} cannot be opened ({source}). If it is missing and meant to be \
         new, start once with --init-database (HPP_MERCHANT_INIT_DATABASE=1) to create it; \
         otherwise point --database-url at the right one, check that it can be reached, or \
         restore it from a backup: the sessions in flight are in it"
    )]
    CannotOpen {
        /// The database URL.
        url: String,
        /// What the store said.
        source: StoreError,
    },
    /// The database could not be reached or migrated.
    #[error("the database {url}: {source}")]
    Store {
        /// The database URL.
        url: String,
        /// Why.
        source: StoreError,
    },
    /// The listener has no address.
    #[error("the listener: {0}")]
    Listen(#[source] std::io::Error),
    /// The HTTP client could not be built.
    #[error("the HTTP client: {}", klarna::chain(.0))]
    Client(#[source] reqwest::Error),
    /// The certificate authorities to trust for Klarna could not be read.
    #[error("the Klarna CA file {}: {reason}", path.display())]
    KlarnaCa {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// What the handlers and workers share.
pub(crate) struct Shared {
    /// The one store: it decides its connections (on SQLite, readers that never wait for
    /// its writer).
    pub(crate) store: Store,
    pub(crate) klarna: klarna::Klarna,
    pub(crate) public_url: String,
    pub(crate) worker: String,
    pub(crate) cancel: CancellationToken,
    /// Reads after callbacks, waited for on shutdown.
    pub(crate) tasks: TaskTracker,
    /// Reads (after callbacks and by the batch) under way at once:
    /// [`MerchantConfig::reads_in_flight`].
    pub(crate) reads: tokio::sync::Semaphore,
    /// The reads' share of Klarna's budget for other calls (`None`: no budget of its own).
    pub(crate) read_budget: Option<governor::DefaultDirectRateLimiter>,
    /// The pauses between the tries of an effect: from, up to.
    pub(crate) effect_retry: (Duration, Duration),
    pub(crate) metrics: Arc<metrics::Metrics>,
    pub(crate) checkout_token: String,
    pub(crate) checkout_limiter: DefaultDirectRateLimiter,
    /// The last write probe of the database, and the last Klarna probe.
    pub(crate) writable_probe: Probe,
    pub(crate) klarna_probe: Probe,
}

/// How long a probe's result is reused: probes cost a write and a call to Klarna.
const PROBE_REUSE: Duration = Duration::from_secs(1);

/// A check's last result and when it ran.
#[derive(Default)]
pub(crate) struct Probe(tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>);

impl Probe {
    /// The last result if it is recent, else runs `check` (one caller at a time).
    async fn get(
        &self,
        check: impl Future<Output = Result<(), String>>,
    ) -> (Result<(), String>, bool) {
        let mut last = self.0.lock().await;
        if let Some((at, result)) = &*last
            && at.elapsed() < PROBE_REUSE
        {
            return (result.clone(), false);
        }
        let result = check.await;
        *last = Some((Instant::now(), result.clone()));
        (result, true)
    }
}

impl Shared {
    /// Whether the database takes writes (a write probe, reused for a second).
    pub(crate) async fn writable(&self) -> Result<(), String> {
        let (result, fresh) = self
            .writable_probe
            .get(async { self.store.check_writable().await.map_err(|e| e.to_string()) })
            .await;
        if fresh {
            let up = if result.is_ok() { 1.0 } else { 0.0 };
            self.metrics
                .set(metrics::name::READY, &[("check", "database".into())], up);
        }
        result
    }

    /// Whether Klarna answers with the credentials (reused for a second).
    pub(crate) async fn klarna_reachable(&self) -> Result<(), String> {
        let (result, fresh) = self
            .klarna_probe
            .get(async { self.klarna.probe().await.map_err(|e| e.to_string()) })
            .await;
        if fresh {
            let up = if result.is_ok() { 1.0 } else { 0.0 };
            self.metrics
                .set(metrics::name::READY, &[("check", "klarna".into())], up);
        }
        result
    }
}

/// A running merchant instance.
pub struct MerchantHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for MerchantHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantHandle")
            .field("addr", &self.addr)
            .field("public_url", &self.shared.public_url)
            .finish_non_exhaustive()
    }
}

/// The store's options: the pool size asked for (else the store's default), the batch's
/// read schedule, and whether the database may be created. The store decides from the URL
/// what connections it opens.
fn store_options(config: &MerchantConfig) -> StoreOptions {
    let defaults = StoreOptions::default();
    StoreOptions {
        max_connections: config.max_connections.unwrap_or(defaults.max_connections),
        read_schedule: config
            .batch
            .as_ref()
            .map(|batch| batch.read_schedule)
            .unwrap_or_default(),
        create: config.init_database,
        ..defaults
    }
}

/// Why the store could not be opened and made ready, as the start reports it: a database
/// without the store's tables, or one that cannot be opened while creating it was not asked
/// for, says what to do about it.
fn start_error(config: &MerchantConfig, source: StoreError, connecting: bool) -> MerchantError {
    let url = config.database_url.clone();
    match source {
        StoreError::NotInitialized { .. } => MerchantError::NotInitialized { url, source },
        source if connecting && !config.init_database => MerchantError::CannotOpen { url, source },
        source => MerchantError::Store { url, source },
    }
}

/// Connects to the database (and migrates it), then serves the endpoints on `listener` and
/// runs the batch and the effect worker in the background, until
/// [`MerchantHandle::shutdown`].
///
/// # Errors
///
/// [`MerchantError`] when the checkout token is too short, the database cannot be reached or
/// migrated, or is missing or empty without [`MerchantConfig::init_database`], or the
/// listener has no address.
pub async fn serve(
    config: MerchantConfig,
    listener: TcpListener,
) -> Result<MerchantHandle, MerchantError> {
    let addr = listener.local_addr().map_err(MerchantError::Listen)?;
    if config.checkout_token.chars().count() < MIN_CHECKOUT_TOKEN {
        return Err(MerchantError::Config(format!(
            "the checkout token (--checkout-token, HPP_MERCHANT_CHECKOUT_TOKEN) must have at \
             least {MIN_CHECKOUT_TOKEN} characters; the shop sends it as Authorization: Bearer <token>"
        )));
    }
    if config.effects.lease <= config.klarna_timeout {
        return Err(MerchantError::Config(format!(
            "the effect lease ({:?}, --effect-lease) must be longer than a call to Klarna may              take ({:?}, --klarna-timeout): otherwise another worker takes an order over while              its create order call is still under way",
            config.effects.lease, config.klarna_timeout
        )));
    }
    if config.reads_in_flight == 0 {
        return Err(MerchantError::Config(
            "the reads in flight (--reads-in-flight, HPP_MERCHANT_READS_IN_FLIGHT) must be at \
             least 1: with none, no session would ever be read"
                .into(),
        ));
    }
    let store = Store::connect_with(&config.database_url, store_options(&config))
        .await
        .map_err(|source| start_error(&config, source, true))?;
    if let Err(source) = store.migrate().await {
        store.close().await;
        return Err(start_error(&config, source, false));
    }
    let metrics = Arc::new(metrics::Metrics::new());
    let extra_roots = match &config.klarna_ca {
        Some(path) => {
            let ca_error = |reason: String| MerchantError::KlarnaCa {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|error| ca_error(error.to_string()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|error| ca_error(klarna::chain(&error)))?;
            if roots.is_empty() {
                return Err(ca_error("no PEM certificate in it".into()));
            }
            roots
        }
        None => Vec::new(),
    };
    let klarna = klarna::Klarna::new(&config, &extra_roots, Arc::clone(&metrics))
        .map_err(MerchantError::Client)?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let worker = config
        .worker_name
        .clone()
        .unwrap_or_else(|| format!("hpp-merchant-{}-{}", addr.port(), std::process::id()));
    let shared = Arc::new(Shared {
        store,
        klarna,
        public_url,
        worker,
        cancel: CancellationToken::new(),
        tasks: TaskTracker::new(),
        reads: tokio::sync::Semaphore::new(config.reads_in_flight),
        read_budget: klarna::limiter(config.budgets.reads),
        effect_retry: (config.effects.retry_min, config.effects.retry_max),
        metrics,
        checkout_token: config.checkout_token.clone(),
        checkout_limiter: RateLimiter::direct(Quota::per_second(config.checkout_rate)),
        writable_probe: Probe::default(),
        klarna_probe: Probe::default(),
    });
    let app = http::router(Arc::clone(&shared), config.max_requests);
    let server = tokio::spawn(server::serve(listener, app, shared.cancel.clone()));
    let mut workers = Vec::new();
    if let Some(batch) = &config.batch {
        workers.push(tokio::spawn(work::batch_loop(
            Arc::clone(&shared),
            batch.interval,
            batch.limit.max(1),
        )));
    }
    let effects = &config.effects;
    workers.push(tokio::spawn(work::effect_loop(
        Arc::clone(&shared),
        effects.interval,
        effects.batch_size.max(1),
        effects.lease,
    )));
    tracing::info!(%addr, public_url = %shared.public_url, worker = %shared.worker,
        backend = shared.store.backend_name(), klarna_url = %config.klarna_url,
        batch = config.batch.is_some(), "hpp-merchant serving");
    Ok(MerchantHandle {
        shared,
        addr,
        server,
        workers,
    })
}

impl MerchantHandle {
    /// The address it listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` and the address it listens on.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL Klarna calls back.
    #[must_use]
    pub fn public_url(&self) -> &str {
        &self.shared.public_url
    }

    /// The store it uses: to look at sessions and effects.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Stops taking requests, lets the requests and work under way finish (an effect is
    /// completed or left to its lease), and closes the database pool.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        if let Err(join) = self.server.await {
            tracing::error!(%join, "the HTTP server task failed");
        }
        for worker in self.workers {
            if let Err(join) = worker.await {
                tracing::error!(%join, "a worker task failed");
            }
        }
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        self.shared.store.close().await;
        tracing::info!(addr = %self.addr, "hpp-merchant stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_gets_the_pool_size_asked_for_and_the_batch_schedule_whatever_the_url() {
        let batch = BatchConfig {
            read_schedule: ReadSchedule {
                interval: Duration::from_secs(7),
                margin: Duration::from_secs(3),
                lease: Duration::from_secs(1),
            },
            ..BatchConfig::default()
        };
        let config = |url: &str| MerchantConfig {
            database_url: url.into(),
            batch: Some(batch.clone()),
            ..MerchantConfig::default()
        };
        let defaults = StoreOptions::default();
        // The same options for every backend: the store decides its connections.
        for url in [
            "sqlite:///tmp/shop.db?mode=rwc",
            "sqlite://x?mode=memory",
            "sqlite::memory:",
            "postgres://shop@localhost/shop",
        ] {
            let options = store_options(&config(url));
            assert_eq!(options.max_connections, defaults.max_connections, "{url}");
            assert_eq!(options.read_schedule, batch.read_schedule, "{url}");
            assert!(!options.create, "{url}");
        }
        let options = store_options(&MerchantConfig {
            max_connections: Some(3),
            init_database: true,
            ..config("sqlite:///tmp/shop.db?mode=rwc")
        });
        assert_eq!((options.max_connections, options.create), (3, true));
        let options = store_options(&MerchantConfig {
            batch: None,
            ..config("postgres://x")
        });
        assert_eq!(options.read_schedule, ReadSchedule::default());
    }

    #[test]
    fn start_errors_say_what_to_do_from_the_stores_error() {
        let config = MerchantConfig::default();
        let not_initialized = || StoreError::NotInitialized { backend: "sqlite" };
        let other = || StoreError::UnknownSession("x".into());
        for connecting in [true, false] {
            assert!(matches!(
                start_error(&config, not_initialized(), connecting),
                MerchantError::NotInitialized { .. }
            ));
        }
        assert!(matches!(
            start_error(&config, other(), true),
            MerchantError::CannotOpen { .. }
        ));
        assert!(matches!(
            start_error(&config, other(), false),
            MerchantError::Store { .. }
        ));
        let creating = MerchantConfig {
            init_database: true,
            ..MerchantConfig::default()
        };
        assert!(matches!(
            start_error(&creating, other(), true),
            MerchantError::Store { .. }
        ));
        let text = start_error(&config, other(), true).to_string();
        assert!(
            text.contains("hpp-merchant.db") && text.contains("--init-database"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn no_reads_in_flight_is_refused_with_the_flag_named() {
        let config = MerchantConfig {
            database_url: "sqlite::memory:".into(),
            init_database: true,
            checkout_token: "a long random token the shop sends".into(),
            reads_in_flight: 0,
            ..MerchantConfig::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let error = serve(config.clone(), listener).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("--reads-in-flight"), "{text}");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let merchant = serve(
            MerchantConfig {
                reads_in_flight: 1,
                ..config
            },
            listener,
        )
        .await
        .expect("one read in flight is enough to start");
        assert_eq!(merchant.shared.reads.available_permits(), 1);
        merchant.shutdown().await;
    }

    #[test]
    fn the_config_debug_hides_the_password() {
        let config = MerchantConfig {
            klarna_password: "s3cret-password".into(),
            ..MerchantConfig::default()
        };
        let config = MerchantConfig {
            checkout_token: "s3cret-checkout-token".into(),
            ..config
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret-password"), "{debug}");
        assert!(!debug.contains("s3cret-checkout-token"), "{debug}");
        assert!(
            debug.contains("<hidden>") && debug.contains("hpp-merchant.db"),
            "{debug}"
        );
    }
}
