//! [`Simulator`] and the [`SimHandle`] of a running one.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{ConfigError, SimConfig, Timing};
use crate::log::TruthLog;
use crate::tls::{LocalCa, TlsError};
use crate::truth::{SessionTruth, Summary};
use crate::world::World;

/// A simulator, configured and checked, not yet serving.
///
/// ```
/// use hpp_sim::{SimConfig, Simulator};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let sim = Simulator::new(SimConfig::default())?.serve(listener).await?;
/// assert!(sim.base_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(sim.summary().sessions, 0);
/// sim.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Simulator {
    config: SimConfig,
}

/// Why a simulator could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The address is not loopback and `allow_remote` is off.
    #[error(
        "refusing to listen on {0}: not a loopback address (allow_remote / --allow-remote permits it)"
    )]
    NotLoopback(SocketAddr),
    /// The listener could not be bound or read.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// The truth file could not be created or written.
    #[error("cannot write the truth file {}: {source}", path.display())]
    Truth {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The HTTP client for callbacks could not be built.
    #[error("cannot build the HTTP client for callbacks: {}", chain(.0))]
    Client(#[source] reqwest::Error),
    /// HTTPS could not be set up: the certificates, the CA file, or the merchant's CA.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The server stopped with an error.
    #[error("the HTTP server failed: {0}")]
    Server(#[source] io::Error),
}

impl Simulator {
    /// Checks `config`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the field at fault.
    pub fn new(config: SimConfig) -> Result<Simulator, ConfigError> {
        config.validate()?;
        Ok(Simulator { config })
    }

    /// Binds `addr` and serves; see [`Simulator::serve`].
    ///
    /// # Errors
    ///
    /// [`SimError::NotLoopback`] for a non-loopback address without `allow_remote`,
    /// [`SimError::Listen`] when the address cannot be bound, and those of
    /// [`Simulator::serve`].
    pub async fn bind(self, addr: SocketAddr) -> Result<SimHandle, SimError> {
        if !addr.ip().is_loopback() && !self.config.allow_remote {
            return Err(SimError::NotLoopback(addr));
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Listen {
                addr: addr.to_string(),
                source,
            })?;
        self.serve(listener).await
    }

    /// Serves the API on `listener` (bind `127.0.0.1:0` for a free port) in the background,
    /// and opens the truth file if one is configured.
    ///
    /// # Errors
    ///
    /// [`SimError::Listen`] when the listener has no local address,
    /// [`SimError::NotLoopback`] when it is not loopback and `allow_remote` is off,
    /// [`SimError::Truth`] when the truth file cannot be created, [`SimError::Tls`] when
    /// the certificates cannot be made, the CA file written or the merchant's CA read,
    /// [`SimError::Client`].
    pub async fn serve(self, listener: TcpListener) -> Result<SimHandle, SimError> {
        let addr = listener.local_addr().map_err(|source| SimError::Listen {
            addr: "the given listener".into(),
            source,
        })?;
        if !addr.ip().is_loopback() && !self.config.allow_remote {
            return Err(SimError::NotLoopback(addr));
        }
        let ca = match &self.config.tls {
            Some(tls) => {
                let ca = LocalCa::generate(&extra_names(&self.config, addr))?;
                if let Some(path) = &tls.ca_file {
                    ca.write_ca_pem(path)?;
                }
                Some(ca)
            }
            None => None,
        };
        let scheme = if ca.is_some() { "https" } else { "http" };
        let base_url = match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("{scheme}://{addr}"),
        };
        let log = match &self.config.truth_file {
            Some(path) => TruthLog::create(path).map_err(|source| SimError::Truth {
                path: path.clone(),
                source,
            })?,
            None => TruthLog::disabled(),
        };
        // rustls with the platform's roots (rustls-platform-verifier), and the merchant's CA.
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hpp-sim/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &self.config.merchant_ca {
            client = client.tls_certs_merge(crate::tls::read_ca_file(path)?);
        }
        let client = client.build().map_err(SimError::Client)?;
        let world = Arc::new(World::new(self.config, base_url, client, log));
        let app = crate::api::router(Arc::clone(&world))
            .into_make_service_with_connect_info::<SocketAddr>();
        let stop = world.cancel.clone();
        let ca_pem = ca.as_ref().map(|ca| ca.ca_pem().to_owned());
        let server = match ca {
            None => tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            }),
            Some(ca) => {
                let listener = ca.listener(listener).map_err(|source| SimError::Listen {
                    addr: addr.to_string(),
                    source,
                })?;
                // axum gives `ConnectInfo<SocketAddr>` (the /_sim routes check the peer is
                // loopback) for a listener of another crate only through `tap_io`.
                let listener = listener.tap_io(|_| {});
                tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stop.cancelled_owned())
                        .await
                })
            }
        };
        tracing::info!(base_url = %world.base_url, seed = world.config.seed,
            compression = world.config.time.compression, "hpp-sim serving");
        Ok(SimHandle {
            world,
            addr,
            ca_pem,
            server: Some(server),
        })
    }
}

/// The names the server certificate is for besides loopback's: the listen address (when it
/// is a specific one) and the public URL's host.
fn extra_names(config: &SimConfig, addr: SocketAddr) -> Vec<String> {
    let mut names = Vec::new();
    if !addr.ip().is_unspecified() {
        names.push(addr.ip().to_string());
    }
    let public_host = config
        .public_url
        .as_deref()
        .and_then(|url| url::Url::parse(url).ok())
        .and_then(|url| match url.host()? {
            url::Host::Domain(domain) => Some(domain.to_owned()),
            url::Host::Ipv4(ip) => Some(ip.to_string()),
            url::Host::Ipv6(ip) => Some(ip.to_string()),
        });
    names.extend(public_host);
    names
}

/// An error and its causes, `: `-separated.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How far a run is: sessions created and sessions settled (final, or expired).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Progress {
    /// Sessions created so far.
    pub sessions: u64,
    /// Of those, sessions final or expired.
    pub settled: u64,
    /// Callback deliveries (and redirects) still under way.
    pub deliveries: u64,
}

/// The simulator did not settle in time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "not settled after {waited:?}: {} of {} sessions final or expired, {} deliveries under way",
    progress.settled, progress.sessions, progress.deliveries
)]
pub struct NotSettled {
    /// How long was waited.
    pub waited: Duration,
    /// Where things stood.
    pub progress: Progress,
}

/// A running simulator. Dropping it stops every consumer and delivery; call
/// [`SimHandle::shutdown`] to also finish the truth file and get the final summary.
pub struct SimHandle {
    world: Arc<World>,
    addr: SocketAddr,
    ca_pem: Option<String>,
    server: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.world.base_url)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The base URL of the API, such as `http://127.0.0.1:8181`, or `https://127.0.0.1:8181`
    /// with [`SimConfig::tls`] (no trailing `/`): what a merchant uses as its Klarna API URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.world.base_url
    }

    /// The certificate (PEM) of the CA that signed the server's certificate when it serves
    /// HTTPS ([`SimConfig::tls`]): what a client must trust, for example with
    /// `reqwest::Certificate::from_pem`. `None` over plain HTTP.
    #[must_use]
    pub fn tls_ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The address the API listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration it runs with.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.world.config
    }

    /// The wall durations it runs with.
    #[must_use]
    pub fn timing(&self) -> Timing {
        self.world.timing
    }

    /// The counts of everything so far.
    #[must_use]
    pub fn summary(&self) -> Summary {
        self.world.summary()
    }

    /// The truth of every session so far, in order of creation.
    #[must_use]
    pub fn truth(&self) -> Vec<SessionTruth> {
        self.world.truth()
    }

    /// The truth of one session.
    #[must_use]
    pub fn session(&self, session_id: &str) -> Option<SessionTruth> {
        self.world.session_truth(session_id)
    }

    /// How far the run is.
    #[must_use]
    pub fn progress(&self) -> Progress {
        let (sessions, settled) = self.world.progress();
        Progress {
            sessions,
            settled,
            deliveries: self.world.courier.tasks.len() as u64,
        }
    }

    /// Whether nothing more will happen by itself: every session final or expired, every
    /// callback delivered or given up, every redirect done.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.world.is_settled()
    }

    /// Waits until [`is_settled`](SimHandle::is_settled), at most `timeout`, and returns the
    /// summary then. [`SimConfig::settle_bound`] is how long a run can take after its last
    /// session was created.
    ///
    /// # Errors
    ///
    /// [`NotSettled`] with the progress when `timeout` passes first.
    pub async fn wait_until_settled(&self, timeout: Duration) -> Result<Summary, NotSettled> {
        let started = tokio::time::Instant::now();
        loop {
            if self.is_settled() {
                return Ok(self.summary());
            }
            let waited = started.elapsed();
            if waited >= timeout {
                return Err(NotSettled {
                    waited,
                    progress: self.progress(),
                });
            }
            tokio::time::sleep(Duration::from_millis(10).min(timeout - waited)).await;
        }
    }

    /// Waits until no session owes an order that can still be placed (every `COMPLETED`
    /// session with a token has its order, or its token has expired), at most `grace`: the
    /// time a merchant gets after the sessions settled. Returns the summary then.
    ///
    /// A merchant that learns of a completion only from its batch of reads places the order
    /// up to a read interval after it, and the last session may complete just before the run
    /// settles: a grace of [`Timing::token_lifetime`](crate::Timing::token_lifetime) (the
    /// longest any order can still be placed) never cuts a merchant short.
    pub async fn wait_for_orders(&self, grace: Duration) -> Summary {
        let started = tokio::time::Instant::now();
        loop {
            let summary = self.summary();
            let waited = started.elapsed();
            if summary.orders.missed == summary.orders.missed_for_good || waited >= grace {
                return summary;
            }
            tokio::time::sleep(Duration::from_millis(10).min(grace - waited)).await;
        }
    }

    /// Stops serving, stops every consumer and delivery (events still pending end as
    /// `cancelled`), writes each session's final truth and the summary to the truth file,
    /// and returns the summary.
    ///
    /// # Errors
    ///
    /// [`SimError::Truth`] when the truth file could not be written in full,
    /// [`SimError::Server`] when the server had failed.
    pub async fn shutdown(mut self) -> Result<Summary, SimError> {
        let world = &self.world;
        world.cancel.cancel();
        world.consumers.close();
        world.courier.tasks.close();
        // Every task watches the cancellation token, so these end at once.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            world.consumers.wait().await;
            world.courier.tasks.wait().await;
        })
        .await;
        let served = match self.server.take() {
            Some(server) => match tokio::time::timeout(Duration::from_secs(5), server).await {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => Err(io::Error::other(join)),
                Err(_) => Ok(()), // connections still open: they go with the runtime
            },
            None => Ok(()),
        };
        let at = world.clock.now();
        let summary = world.with(|registry| {
            registry.cancel_pending_events();
            registry.write_final(at)
        });
        if let Some(written) = world.log.close() {
            let lines = written.map_err(|source| SimError::Truth {
                path: world.log.path().map(PathBuf::from).unwrap_or_default(),
                source,
            })?;
            tracing::info!(lines, path = ?world.log.path(), "truth written");
        }
        served.map_err(SimError::Server)?;
        Ok(summary)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.world.cancel.cancel();
    }
}
