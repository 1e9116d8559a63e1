//! The command line of the `hpp-merchant` binary: every flag also reads an environment
//! variable (`HPP_MERCHANT_*`).
//!
//! ```
//! use clap::Parser as _;
//! use hpp_merchant::cli::Cli;
//! use std::time::Duration;
//!
//! let cli = Cli::try_parse_from(["hpp-merchant", "--listen", "127.0.0.1:9000",
//!     "--checkout-token", "a long random token", "--batch-interval", "250ms",
//!     "--effect-lease", "1.5s"])?;
//! let config = cli.config();
//! assert_eq!(config.batch.unwrap().interval, Duration::from_millis(250));
//! assert_eq!(config.effects.lease, Duration::from_millis(1500));
//! assert_eq!(cli.public_url(), "http://127.0.0.1:9000");
//! # Ok::<(), clap::Error>(())
//! ```

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use clap::Parser;
use hpp_store::ReadSchedule;

use crate::{BatchConfig, Budgets, EffectConfig, MerchantConfig};

/// Parses a duration such as `30s`, `250ms`, `1.5s`, `10m`, `1h 30m` or ISO 8601 (`PT5S`),
/// with jiff.
///
/// ```
/// use std::time::Duration;
/// use hpp_merchant::cli::parse_duration;
///
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("PT2M"), Ok(Duration::from_secs(120)));
/// assert!(parse_duration("soon").unwrap_err().contains("soon"));
/// assert!(parse_duration("-1s").unwrap_err().contains("negative"));
/// ```
///
/// # Errors
///
/// A message naming the text when it is not a duration or is negative.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let signed: jiff::SignedDuration = text
        .parse()
        .map_err(|error| format!("{text:?} is not a duration such as 30s, 250ms, 10m: {error}"))?;
    Duration::try_from(signed).map_err(|_| format!("{text:?} is negative"))
}

/// The reference merchant service for Klarna's Hosted Payment Page.
///
/// Serves POST /checkouts (with the shop's bearer token: creates an HPP session on Klarna
/// and registers it), the status callback POST /hpp/callbacks/{session_id}?secret=...
/// (checks the secret, reads the session, merges it), GET /health, GET /ready and
/// GET /metrics; runs the batch that reads open sessions and the
/// effect worker that places each order once. Several instances share one Postgres
/// database. Stops gracefully on SIGTERM or Ctrl-C.
#[derive(Clone, Debug, Parser)]
#[command(name = "hpp-merchant", version, subcommand_negates_reqs = true)]
pub struct Cli {
    /// Something else than serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The address to listen on (loopback unless you mean otherwise).
    #[arg(long, env = "HPP_MERCHANT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database: sqlite://FILE?mode=rwc (one instance) or postgres://... (a fleet).
    #[arg(
        long,
        env = "HPP_MERCHANT_DATABASE_URL",
        default_value = "sqlite://hpp-merchant.db?mode=rwc"
    )]
    pub database_url: String,
    /// The store's pool size (default: the store's, 8). On SQLite these are the readers;
    /// the store has its own single writer besides. On Postgres, the one pool.
    #[arg(long, env = "HPP_MERCHANT_MAX_CONNECTIONS")]
    pub max_connections: Option<u32>,
    /// Read Session calls (after callbacks and by the batch) in flight at once, at least 1.
    /// Independent of the database pool: the default lets one instance use its budget for
    /// reads (--budget-other) at 100 to 300 ms a read.
    #[arg(long, env = "HPP_MERCHANT_READS_IN_FLIGHT", default_value_t = crate::DEFAULT_READS_IN_FLIGHT,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub reads_in_flight: usize,
    /// Klarna's API base URL (default: the simulator, `cargo run -p hpp-sim`).
    #[arg(
        long,
        env = "HPP_MERCHANT_KLARNA_URL",
        default_value = "http://127.0.0.1:8181"
    )]
    pub klarna_url: String,
    /// The Klarna API user name.
    #[arg(long, env = "HPP_MERCHANT_KLARNA_USER", default_value = "merchant")]
    pub klarna_user: String,
    /// The Klarna API password.
    #[arg(
        long,
        env = "HPP_MERCHANT_KLARNA_PASSWORD",
        default_value = "hpp-sim",
        hide_default_value = true
    )]
    pub klarna_password: String,
    /// How long a call to Klarna may take.
    #[arg(long, env = "HPP_MERCHANT_KLARNA_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub klarna_timeout: Duration,
    /// The base URL Klarna calls back (default: http:// and --listen).
    #[arg(long, env = "HPP_MERCHANT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Disable the batch: callbacks alone keep sessions up to date.
    #[arg(long, env = "HPP_MERCHANT_NO_BATCH")]
    pub no_batch: bool,
    /// How often the batch looks for sessions due for a read.
    #[arg(long, env = "HPP_MERCHANT_BATCH_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub batch_interval: Duration,
    /// How many sessions one batch round reads at most.
    #[arg(long, env = "HPP_MERCHANT_BATCH_LIMIT", default_value_t = 100)]
    pub batch_limit: usize,
    /// Time between two reads of an open session.
    #[arg(long, env = "HPP_MERCHANT_READ_INTERVAL", default_value = "10m", value_parser = parse_duration)]
    pub read_interval: Duration,
    /// How long before expires_at the last read of a session is due.
    #[arg(long, env = "HPP_MERCHANT_READ_MARGIN", default_value = "5m", value_parser = parse_duration)]
    pub read_margin: Duration,
    /// How long a batch claim keeps other instances off a session.
    #[arg(long, env = "HPP_MERCHANT_READ_LEASE", default_value = "1m", value_parser = parse_duration)]
    pub read_lease: Duration,
    /// How often the effect worker looks for work when it found none.
    #[arg(long, env = "HPP_MERCHANT_EFFECT_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub effect_interval: Duration,
    /// How many effects the worker claims at once.
    #[arg(long, env = "HPP_MERCHANT_EFFECT_BATCH", default_value_t = 10)]
    pub effect_batch: usize,
    /// How long a claim keeps other workers off an effect (a crashed worker's effect is
    /// done by another after it).
    #[arg(long, env = "HPP_MERCHANT_EFFECT_LEASE", default_value = "60s", value_parser = parse_duration)]
    pub effect_lease: Duration,
    /// The first pause before a failed effect is tried again (doubled with jitter each
    /// time, never shorter than a 429's Retry-After).
    #[arg(long, env = "HPP_MERCHANT_EFFECT_RETRY_MIN", default_value = "1s", value_parser = parse_duration)]
    pub effect_retry_min: Duration,
    /// The longest pause between two tries of a failed effect.
    #[arg(long, env = "HPP_MERCHANT_EFFECT_RETRY_MAX", default_value = "60s", value_parser = parse_duration)]
    pub effect_retry_max: Duration,
    /// Calls a second this instance allows itself to create sessions (Klarna: 40 live, 5 in
    /// the playground; each checkout creates a payment session and an HPP session, each
    /// with a budget of this size). 0: no budget.
    #[arg(long, env = "HPP_MERCHANT_BUDGET_CREATE", default_value_t = Budgets::default().create)]
    pub budget_create: u32,
    /// Calls a second for everything else together: reads, orders, disables (Klarna: 200
    /// live, 50 in the playground). 0: no budget.
    #[arg(long, env = "HPP_MERCHANT_BUDGET_OTHER", default_value_t = Budgets::default().other)]
    pub budget_other: u32,
    /// Of those, what Read Session calls may use (the batch's and those callbacks ask for):
    /// the rest stays for orders. 0: no budget of its own.
    #[arg(long, env = "HPP_MERCHANT_BUDGET_READS", default_value_t = Budgets::default().reads)]
    pub budget_reads: u32,
    /// A PEM file of certificate authorities to trust for --klarna-url besides the
    /// platform's (SSL_CERT_FILE is honoured too).
    #[arg(long, env = "HPP_MERCHANT_KLARNA_CA", value_name = "FILE")]
    pub klarna_ca: Option<std::path::PathBuf>,
    /// The name this instance claims effects under (default: from the port and process id).
    #[arg(long, env = "HPP_MERCHANT_WORKER_NAME")]
    pub worker_name: Option<String>,
    /// Create the database (a missing SQLite file, the tables) if it is missing or empty.
    /// Without it a missing or empty database stops the start: a fresh one would forget
    /// every session in flight.
    #[arg(long, env = "HPP_MERCHANT_INIT_DATABASE")]
    pub init_database: bool,
    /// The bearer token POST /checkouts requires (`Authorization: Bearer <token>`); at least
    /// 16 characters. Prefer the environment variable: flags show in the process list.
    #[arg(
        long,
        env = "HPP_MERCHANT_CHECKOUT_TOKEN",
        hide_env_values = true,
        required = true
    )]
    pub checkout_token: Option<String>,
    /// Checkouts per second at most (each creates a session on Klarna, whose limit is 40/s
    /// live, 5/s on the playground); one over it waits up to 1 s, then gets 429.
    #[arg(long, env = "HPP_MERCHANT_CHECKOUT_RATE", default_value = "20")]
    pub checkout_rate: NonZeroU32,
    /// Requests under way at once; one more is refused with 503 at once.
    #[arg(long, env = "HPP_MERCHANT_MAX_REQUESTS", default_value_t = 256)]
    pub max_requests: usize,
}

/// What the binary does instead of serving.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// List every session in the database with its status and what is known of its order:
    /// placed (with the order id), refused, unknown (a create order call's answer was lost:
    /// look the order up by its merchant_reference1, the session id), pending, none. The
    /// last line counts each state. Reads only.
    Sessions(SessionsArgs),
}

/// The flags of `hpp-merchant sessions`.
#[derive(Clone, Debug, clap::Args)]
pub struct SessionsArgs {
    /// The database the service uses.
    #[arg(
        long,
        env = "HPP_MERCHANT_DATABASE_URL",
        default_value = "sqlite://hpp-merchant.db?mode=rwc"
    )]
    pub database_url: String,
    /// One JSON object per line: {"session_id", "status", "order": {"state", "order_id"}}.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    /// The callback base URL: `--public-url`, or `http://` and `--listen`.
    #[must_use]
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// The configuration the flags describe.
    #[must_use]
    pub fn config(&self) -> MerchantConfig {
        MerchantConfig {
            database_url: self.database_url.clone(),
            max_connections: self.max_connections,
            reads_in_flight: self.reads_in_flight,
            klarna_url: self.klarna_url.clone(),
            klarna_user: self.klarna_user.clone(),
            klarna_password: self.klarna_password.clone(),
            klarna_timeout: self.klarna_timeout,
            public_url: Some(self.public_url()),
            batch: (!self.no_batch).then_some(BatchConfig {
                interval: self.batch_interval,
                limit: self.batch_limit,
                read_schedule: ReadSchedule {
                    interval: self.read_interval,
                    margin: self.read_margin,
                    lease: self.read_lease,
                },
            }),
            effects: EffectConfig {
                interval: self.effect_interval,
                batch_size: self.effect_batch,
                lease: self.effect_lease,
                retry_min: self.effect_retry_min,
                retry_max: self.effect_retry_max,
            },
            worker_name: self.worker_name.clone(),
            init_database: self.init_database,
            checkout_token: self.checkout_token.clone().unwrap_or_default(),
            checkout_rate: self.checkout_rate,
            max_requests: self.max_requests,
            budgets: Budgets {
                create: self.budget_create,
                other: self.budget_other,
                reads: self.budget_reads,
            },
            klarna_ca: self.klarna_ca.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_library_defaults() {
        let cli = Cli::try_parse_from(["hpp-merchant", "--checkout-token", "t"]).unwrap();
        let config = cli.config();
        let defaults = MerchantConfig::default();
        assert_eq!(config.checkout_rate, defaults.checkout_rate);
        assert_eq!(config.max_requests, defaults.max_requests);
        assert_eq!(config.reads_in_flight, defaults.reads_in_flight);
        assert_eq!(config.max_connections, defaults.max_connections);
        assert_eq!(config.budgets, defaults.budgets);
        assert_eq!(config.effects, defaults.effects);
        assert_eq!(config.klarna_ca, None);
        assert_eq!(config.init_database, defaults.init_database);
        assert_eq!(config.database_url, defaults.database_url);
        assert_eq!(config.klarna_url, defaults.klarna_url);
        assert_eq!(config.batch, defaults.batch);
        assert_eq!(config.effects, defaults.effects);
        assert_eq!(config.public_url.as_deref(), Some("http://127.0.0.1:8080"));
    }

    #[test]
    fn reads_in_flight_is_its_own_flag_and_at_least_one() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(["hpp-merchant", "--checkout-token", "t"].iter().chain(args))
        };
        let config = parse(&["--reads-in-flight", "7", "--max-connections", "2"])
            .unwrap()
            .config();
        assert_eq!(
            (config.reads_in_flight, config.max_connections),
            (7, Some(2))
        );
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(
            help.contains("--reads-in-flight")
                && help.contains("HPP_MERCHANT_READS_IN_FLIGHT")
                && help.contains(&format!("default: {}", crate::DEFAULT_READS_IN_FLIGHT)),
            "{help}"
        );
        for bad in ["0", "-1", "many"] {
            let flag = format!("--reads-in-flight={bad}");
            let text = parse(&[&flag]).unwrap_err().to_string();
            assert!(
                text.contains("--reads-in-flight") && text.contains(bad),
                "{text}"
            );
        }
    }

    #[test]
    fn no_batch_disables_the_batch() {
        let cli =
            Cli::try_parse_from(["hpp-merchant", "--checkout-token", "t", "--no-batch"]).unwrap();
        assert_eq!(cli.config().batch, None);
    }

    #[test]
    fn bad_durations_are_refused_with_the_flag_named() {
        let error = Cli::try_parse_from([
            "hpp-merchant",
            "--checkout-token",
            "t",
            "--read-interval",
            "often",
        ])
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("--read-interval") && text.contains("often"),
            "{text}"
        );
    }
}
