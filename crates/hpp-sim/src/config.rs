//! [`SimConfig`]: every rate, duration and seed of a simulation, checked by
//! [`SimConfig::validate`].
//!
//! Durations come in two kinds, and each field says which:
//!
//! - **world** durations are what the real HPP would take (a 47-hour session lifetime, a
//!   consumer thinking for minutes, a retry "a few seconds later"); the simulator divides
//!   each by [`TimeConfig::compression`];
//! - **wall** durations are taken as given (an HTTP timeout, a slow answer), because the
//!   merchant's network code measures them with a real clock.
//!
//! Timestamps on the wire are always real wall-clock UTC, so a merchant that compares
//! `expires_at` with its own clock sees a consistent (if short) lifetime.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use hpp_status::Action;
use url::Url;

use crate::limits::{RateLimits, Storm};

/// The shortest callback timeout the default derives: below it, a merchant on a busy
/// machine would time out on every answer, however fast its handler.
pub const MIN_DEFAULT_CALLBACK_TIMEOUT: Duration = Duration::from_millis(250);

/// How long Klarna waits for a callback's answer before it counts the attempt as failed.
pub const WORLD_CALLBACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything that shapes a simulation. [`Default`] is the hostile simulation the binary
/// runs without flags: see each field for its default.
///
/// ```
/// use hpp_sim::{FaultConfig, SimConfig};
///
/// let mut config = SimConfig::default();
/// config.faults = FaultConfig::none();
/// config.faults.lost = 0.3;
/// config.validate()?;
///
/// config.faults.duplicated = 1.5;
/// assert_eq!(
///     config.validate().unwrap_err().to_string(),
///     "faults.duplicated must be a rate between 0 and 1, not 1.5"
/// );
/// # Ok::<(), hpp_sim::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// The seed of every random choice (default 42). Session `n` (in order of creation)
    /// draws from its own generators derived from the seed and `n`, so a run is
    /// reproducible given the seed and the order in which sessions are created.
    pub seed: u64,
    /// How fast time runs.
    pub time: TimeConfig,
    /// The Basic auth credentials every API endpoint requires.
    pub credentials: Credentials,
    /// What the simulated consumers do.
    pub consumer: ConsumerConfig,
    /// How status callbacks are delivered when nothing goes wrong.
    pub delivery: DeliveryConfig,
    /// What goes wrong, on purpose.
    pub faults: FaultConfig,
    /// Requests per second per merchant and category (default [`RateLimits::LIVE`]).
    pub rate_limits: RateLimits,
    /// The base URL the simulator hands out in `session_url` and `redirect_url` (default:
    /// `http://` and the address it listens on).
    pub public_url: Option<String>,
    /// Allow addresses other than loopback: a listen address, status callbacks and redirects
    /// to other hosts (default `false`: the simulator talks to 127.0.0.0/8, `::1` and
    /// `localhost` only, and refuses a `status_update` URL elsewhere with a 400).
    pub allow_remote: bool,
    /// Where to write the truth as JSON Lines (default: nowhere; the truth is always kept
    /// in memory, see [`SimHandle::truth`](crate::SimHandle::truth)).
    pub truth_file: Option<PathBuf>,
    /// Each consumer starts only when the session's payment page (`redirect_url`,
    /// `GET /hpp/pay/{id}`) is first opened, as a real consumer starts when the merchant
    /// sends them there (default `false`: the consumer starts when the session is created).
    /// A session the merchant created but never handed out (it crashed before answering
    /// its checkout) is then never paid: it waits until it expires. The [`Driver`](crate::Driver)
    /// opens the page of every checkout whose answer has a `redirect_url`.
    pub consumers_wait_for_page: bool,
    /// No simulated consumers at all (default `false`): every session stays `WAITING` until
    /// a test steps it (`POST /_sim/sessions/{id}/step`) or a person pays on its payment
    /// page, and expires otherwise.
    pub manual: bool,
    /// Serve HTTPS with a certificate generated at start (default `None`: plain HTTP); see
    /// [`ServeTls`](crate::ServeTls).
    pub tls: Option<crate::tls::ServeTls>,
    /// A PEM file of CA certificates that status callbacks and redirects to an `https`
    /// merchant trust besides the platform's roots (default: none). When `SSL_CERT_FILE` or
    /// `SSL_CERT_DIR` is set, the roots are read from there instead of the system's store.
    pub merchant_ca: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 42,
            time: TimeConfig::default(),
            credentials: Credentials::default(),
            consumer: ConsumerConfig::default(),
            delivery: DeliveryConfig::default(),
            faults: FaultConfig::default(),
            rate_limits: RateLimits::default(),
            public_url: None,
            allow_remote: false,
            truth_file: None,
            consumers_wait_for_page: false,
            manual: false,
            tls: None,
            merchant_ca: None,
        }
    }
}

/// How fast simulated time runs.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeConfig {
    /// Every world duration is divided by this factor (default 3600: an hour takes a
    /// second, the 47-hour session lifetime 47 seconds). At least 1 (1 is real time).
    pub compression: f64,
    /// World: how long an HPP session lives (default 47 h: the Klarna Payments session's
    /// 48 h minus the hour the HPP session expires before it).
    pub session_lifetime: Duration,
    /// World: how long an authorization token places an order (default 60 min).
    pub token_lifetime: Duration,
}

impl Default for TimeConfig {
    fn default() -> TimeConfig {
        TimeConfig {
            compression: 3600.0,
            session_lifetime: Duration::from_secs(47 * 3600),
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

impl TimeConfig {
    /// A world duration in wall time: `world / compression`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_sim::TimeConfig;
    ///
    /// let time = TimeConfig { compression: 3600.0, ..TimeConfig::default() };
    /// assert_eq!(time.compress(Duration::from_secs(7200)), Duration::from_secs(2));
    /// ```
    #[must_use]
    pub fn compress(&self, world: Duration) -> Duration {
        // Validation keeps the factor finite and >= 1, so the quotient never overflows;
        // the guard only keeps an unvalidated config from panicking.
        if self.compression.is_finite() && self.compression >= 1.0 {
            world.div_f64(self.compression)
        } else {
            world
        }
    }
}

/// The Basic auth credentials of the API (default user `merchant`, password `hpp-sim`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (no `:`).
    pub user: String,
    /// The password.
    pub password: String,
}

impl Default for Credentials {
    fn default() -> Credentials {
        Credentials {
            user: "merchant".into(),
            password: "hpp-sim".into(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// What the simulated consumers do. Each session gets one consumer, which walks it through
/// the lifecycle ([`hpp_status::STEPS`]) and may pass through `TIMEOUT` and
/// `MANUAL_ID_CHECK` on the way (see the crate documentation for what those mean here).
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerConfig {
    /// World: the shortest pause before each of the consumer's moves (default 10 s).
    pub think_min: Duration,
    /// World: the longest pause before each move (default 10 min).
    pub think_max: Duration,
    /// The share of consumers that never finish: they stop at a random point before a
    /// final status, and the session expires (default 0.1).
    pub abandon_rate: f64,
    /// For each visit of the page, the chance that the consumer leaves it for a while
    /// without Back or Cancel, which shows `TIMEOUT` until they return (default 0.1).
    pub timeout_rate: f64,
    /// For each visit of the page, the chance of a manual identification check, which
    /// shows `MANUAL_ID_CHECK` before the visit's outcome (default 0.05).
    pub manual_id_check_rate: f64,
    /// How many times at most a consumer opens the page; the last visit ends in
    /// `COMPLETED` or `CANCELLED` (default 4).
    pub max_visits: u32,
    /// How a visit ends, as relative weights.
    pub outcomes: OutcomeWeights,
    /// The chance that the consumer's browser follows the redirect to the merchant's
    /// `success`, `cancel`, `back`, `failure` or `error` URL after an outcome (default 0.5).
    pub redirect_rate: f64,
}

impl Default for ConsumerConfig {
    fn default() -> ConsumerConfig {
        ConsumerConfig {
            think_min: Duration::from_secs(10),
            think_max: Duration::from_secs(600),
            abandon_rate: 0.1,
            timeout_rate: 0.1,
            manual_id_check_rate: 0.05,
            max_visits: 4,
            outcomes: OutcomeWeights::default(),
            redirect_rate: 0.5,
        }
    }
}

/// Relative weights of the ways a visit of the payment page ends (they need not add up to
/// 1; at least one of `authorize` and `cancel` must be positive so that the last visit can
/// end in a final status).
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeWeights {
    /// `COMPLETED` (default 0.55).
    pub authorize: f64,
    /// `FAILED` (default 0.15).
    pub decline: f64,
    /// `CANCELLED` (default 0.1).
    pub cancel: f64,
    /// `BACK` (default 0.1).
    pub back: f64,
    /// `ERROR` (default 0.1).
    pub error: f64,
}

impl Default for OutcomeWeights {
    fn default() -> OutcomeWeights {
        OutcomeWeights {
            authorize: 0.55,
            decline: 0.15,
            cancel: 0.1,
            back: 0.1,
            error: 0.1,
        }
    }
}

impl OutcomeWeights {
    /// Every outcome with its weight, in a fixed order.
    #[must_use]
    pub fn weighted(&self) -> [(Action, f64); 5] {
        [
            (Action::Authorize, self.authorize),
            (Action::Decline, self.decline),
            (Action::Cancel, self.cancel),
            (Action::GoBack, self.back),
            (Action::Fail, self.error),
        ]
    }
}

/// How status callbacks are delivered, faults aside: the rules the HPP documents.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryConfig {
    /// Wall: how long an attempt waits for the merchant's answer (default: the documented
    /// 3 s divided by the compression, but at least [`MIN_DEFAULT_CALLBACK_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// World: the pause between an attempt without a 2xx and the next (default 5 s: "a few
    /// seconds later").
    pub retry_delay: Duration,
    /// How many more attempts after the first (default 3, as documented; at most 10).
    pub max_retries: u32,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            timeout: None,
            retry_delay: Duration::from_secs(5),
            max_retries: 3,
        }
    }
}

/// The faults the simulator injects, each a rate in `[0, 1]` drawn per callback (or per
/// read). [`Default`] is hostile; [`FaultConfig::none`] injects nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    /// A callback is never sent, retries included (default 0.3).
    pub lost: f64,
    /// A callback is sent twice with the same `event_id`, the copy a random time later
    /// (default 0.2).
    pub duplicated: f64,
    /// A callback is held back a random time up to `max_hold`, so that later callbacks of
    /// the session overtake it (default 0.2).
    pub delayed: f64,
    /// The first attempt's answer is ignored and every retry has an empty body (default 0.1).
    pub empty_retry: f64,
    /// The first attempt is delivered but its answer is ignored, as if it had timed out, so
    /// the callback is retried (default 0.1).
    pub answer_dropped: f64,
    /// An extra callback is posted to the `status_update` URL with its secret replaced and
    /// a lying body: `COMPLETED` with a made-up authorization token (default 0.05).
    pub forged: f64,
    /// World: the longest hold of a delayed callback, and of a duplicate or forged copy
    /// (default 10 min).
    pub max_hold: Duration,
    /// Read Session answers 500, 502 or 503 (default 0.05).
    pub read_error: f64,
    /// Read Session answers only after `read_slow_delay` (default 0.05).
    pub read_slow: f64,
    /// Wall: how long a slow Read Session takes (default 200 ms).
    pub read_slow_delay: Duration,
    /// Read Session answers an older status than the truth, with its older `updated_at`,
    /// as a lagging replica would (default 0: the contract's faults are asked for).
    pub read_stale: f64,
    /// Create order places the order, then its answer is lost: the simulator never answers
    /// and the merchant's call times out (default 0).
    pub order_answer_lost: f64,
    /// Windows of world time in which one operation is refused with 429 (default none).
    pub storms: Vec<Storm>,
}

impl Default for FaultConfig {
    fn default() -> FaultConfig {
        FaultConfig {
            lost: 0.3,
            duplicated: 0.2,
            delayed: 0.2,
            empty_retry: 0.1,
            answer_dropped: 0.1,
            forged: 0.05,
            max_hold: Duration::from_secs(600),
            read_error: 0.05,
            read_slow: 0.05,
            read_slow_delay: Duration::from_millis(200),
            read_stale: 0.0,
            order_answer_lost: 0.0,
            storms: Vec::new(),
        }
    }
}

impl FaultConfig {
    /// No fault at all: callbacks are delivered by the documented rules only, and every
    /// read is answered at once.
    ///
    /// ```
    /// use hpp_sim::FaultConfig;
    ///
    /// let none = FaultConfig::none();
    /// assert_eq!((none.lost, none.forged, none.read_error), (0.0, 0.0, 0.0));
    /// ```
    #[must_use]
    pub fn none() -> FaultConfig {
        FaultConfig {
            lost: 0.0,
            duplicated: 0.0,
            delayed: 0.0,
            empty_retry: 0.0,
            answer_dropped: 0.0,
            forged: 0.0,
            read_error: 0.0,
            read_slow: 0.0,
            read_stale: 0.0,
            order_answer_lost: 0.0,
            storms: Vec::new(),
            ..FaultConfig::default()
        }
    }
}

/// A [`SimConfig`] that cannot run, with the field at fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A rate outside `[0, 1]` (or not a number).
    #[error("{field} must be a rate between 0 and 1, not {value}")]
    Rate {
        /// The field, such as `faults.lost`.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A weight that is negative or not a number, or weights that allow no final outcome.
    #[error("{field} must be a finite weight of at least 0, not {value}")]
    Weight {
        /// The field, such as `consumer.outcomes.back`.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// Neither `authorize` nor `cancel` has a positive weight.
    #[error(
        "consumer.outcomes: authorize or cancel needs a positive weight, so that the last visit can end"
    )]
    NoFinalOutcome,
    /// The compression factor is below 1 or not a number.
    #[error("time.compression must be a finite factor of at least 1, not {0}")]
    Compression(f64),
    /// A duration that must be positive is zero.
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
    /// `think_min` is longer than `think_max`.
    #[error("consumer.think_min ({min:?}) is longer than consumer.think_max ({max:?})")]
    ThinkRange {
        /// `think_min`.
        min: Duration,
        /// `think_max`.
        max: Duration,
    },
    /// `max_visits` is zero.
    #[error("consumer.max_visits must be at least 1")]
    NoVisit,
    /// `max_retries` is above 10.
    #[error("delivery.max_retries must be at most 10, not {0}")]
    TooManyRetries(u32),
    /// The user name is empty or contains `:`, which Basic auth cannot carry.
    #[error("credentials.user must be non-empty and without ':', not {0:?}")]
    User(String),
    /// The public URL is not an absolute `http` or `https` URL.
    #[error("public_url {url:?} is not an absolute http(s) URL: {reason}")]
    PublicUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
}

impl SimConfig {
    /// Checks every field; the first problem found is the error.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field and the value at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.consumer;
        let f = &self.faults;
        for (field, value) in [
            ("consumer.abandon_rate", c.abandon_rate),
            ("consumer.timeout_rate", c.timeout_rate),
            ("consumer.manual_id_check_rate", c.manual_id_check_rate),
            ("consumer.redirect_rate", c.redirect_rate),
            ("faults.lost", f.lost),
            ("faults.duplicated", f.duplicated),
            ("faults.delayed", f.delayed),
            ("faults.empty_retry", f.empty_retry),
            ("faults.answer_dropped", f.answer_dropped),
            ("faults.forged", f.forged),
            ("faults.read_error", f.read_error),
            ("faults.read_slow", f.read_slow),
            ("faults.read_stale", f.read_stale),
            ("faults.order_answer_lost", f.order_answer_lost),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::Rate { field, value });
            }
        }
        let o = &c.outcomes;
        for (field, value) in [
            ("consumer.outcomes.authorize", o.authorize),
            ("consumer.outcomes.decline", o.decline),
            ("consumer.outcomes.cancel", o.cancel),
            ("consumer.outcomes.back", o.back),
            ("consumer.outcomes.error", o.error),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(ConfigError::Weight { field, value });
            }
        }
        if o.authorize <= 0.0 && o.cancel <= 0.0 {
            return Err(ConfigError::NoFinalOutcome);
        }
        if !self.time.compression.is_finite() || self.time.compression < 1.0 {
            return Err(ConfigError::Compression(self.time.compression));
        }
        for (field, value) in [
            ("time.session_lifetime", self.time.session_lifetime),
            ("time.token_lifetime", self.time.token_lifetime),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroDuration(field));
            }
        }
        if self
            .delivery
            .timeout
            .is_some_and(|timeout| timeout.is_zero())
        {
            return Err(ConfigError::ZeroDuration("delivery.timeout"));
        }
        if c.think_min > c.think_max {
            return Err(ConfigError::ThinkRange {
                min: c.think_min,
                max: c.think_max,
            });
        }
        if c.max_visits == 0 {
            return Err(ConfigError::NoVisit);
        }
        if self.delivery.max_retries > 10 {
            return Err(ConfigError::TooManyRetries(self.delivery.max_retries));
        }
        let user = &self.credentials.user;
        if user.is_empty() || user.contains(':') {
            return Err(ConfigError::User(user.clone()));
        }
        if let Some(url) = &self.public_url {
            let refuse = |reason: &str| ConfigError::PublicUrl {
                url: url.clone(),
                reason: reason.into(),
            };
            let parsed = Url::parse(url).map_err(|error| refuse(&error.to_string()))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(refuse("the scheme is not http or https"));
            }
            if parsed.host_str().is_none() {
                return Err(refuse("it has no host"));
            }
        }
        Ok(())
    }

    /// The wall durations this configuration implies.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_sim::SimConfig;
    ///
    /// let timing = SimConfig::default().timing(); // compression 3600
    /// assert_eq!(timing.session_lifetime, Duration::from_secs(47));
    /// assert_eq!(timing.callback_timeout, Duration::from_millis(250)); // 3 s / 3600, floored
    /// ```
    #[must_use]
    pub fn timing(&self) -> Timing {
        let time = &self.time;
        Timing {
            session_lifetime: time.compress(time.session_lifetime),
            token_lifetime: time.compress(time.token_lifetime),
            think_min: time.compress(self.consumer.think_min),
            think_max: time.compress(self.consumer.think_max),
            retry_delay: time.compress(self.delivery.retry_delay),
            callback_timeout: self.delivery.timeout.unwrap_or_else(|| {
                time.compress(WORLD_CALLBACK_TIMEOUT)
                    .max(MIN_DEFAULT_CALLBACK_TIMEOUT)
            }),
            max_hold: time.compress(self.faults.max_hold),
            read_slow_delay: self.faults.read_slow_delay,
        }
    }

    /// How long, at most, after its last session is created, a run needs to settle: the
    /// session lifetime plus every callback attempt and pause of a delivery, plus a hold.
    ///
    /// ```
    /// use hpp_sim::SimConfig;
    ///
    /// let config = SimConfig::default();
    /// assert!(config.settle_bound() > config.timing().session_lifetime);
    /// ```
    #[must_use]
    pub fn settle_bound(&self) -> Duration {
        let timing = self.timing();
        let attempts = self.delivery.max_retries + 1;
        timing.session_lifetime
            + (timing.callback_timeout + timing.retry_delay) * attempts
            + timing.max_hold * 2
    }
}

/// The wall durations of a [`SimConfig`], from [`SimConfig::timing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// From creation to `expires_at`.
    pub session_lifetime: Duration,
    /// From `COMPLETED` until the authorization token no longer places an order.
    pub token_lifetime: Duration,
    /// The shortest pause before a consumer's move.
    pub think_min: Duration,
    /// The longest pause before a consumer's move.
    pub think_max: Duration,
    /// The pause between a callback attempt without a 2xx and the next.
    pub retry_delay: Duration,
    /// How long a callback attempt waits for the answer.
    pub callback_timeout: Duration,
    /// The longest hold of a delayed, duplicated or forged callback.
    pub max_hold: Duration,
    /// How long a slow Read Session takes.
    pub read_slow_delay: Duration,
}

/// Whether `url`'s host is a loopback address or `localhost`.
///
/// ```
/// use hpp_sim::is_loopback_url;
///
/// assert!(is_loopback_url(&"http://127.0.0.1:8080/x".parse().unwrap()));
/// assert!(is_loopback_url(&"http://localhost/x".parse().unwrap()));
/// assert!(is_loopback_url(&"http://[::1]:1/".parse().unwrap()));
/// assert!(!is_loopback_url(&"http://10.0.0.1/".parse().unwrap()));
/// ```
#[must_use]
pub fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(change: impl FnOnce(&mut SimConfig)) -> String {
        let mut config = SimConfig::default();
        change(&mut config);
        config.validate().unwrap_err().to_string()
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(SimConfig::default().validate(), Ok(()));
        let mut none = SimConfig::default();
        none.faults = FaultConfig::none();
        assert_eq!(none.validate(), Ok(()));
    }

    #[test]
    fn every_rate_is_checked_at_both_ends() {
        type Field = fn(&mut SimConfig) -> &mut f64;
        let fields: [(&str, Field); 12] = [
            ("consumer.abandon_rate", |c| &mut c.consumer.abandon_rate),
            ("consumer.timeout_rate", |c| &mut c.consumer.timeout_rate),
            ("consumer.manual_id_check_rate", |c| {
                &mut c.consumer.manual_id_check_rate
            }),
            ("consumer.redirect_rate", |c| &mut c.consumer.redirect_rate),
            ("faults.lost", |c| &mut c.faults.lost),
            ("faults.duplicated", |c| &mut c.faults.duplicated),
            ("faults.delayed", |c| &mut c.faults.delayed),
            ("faults.empty_retry", |c| &mut c.faults.empty_retry),
            ("faults.answer_dropped", |c| &mut c.faults.answer_dropped),
            ("faults.forged", |c| &mut c.faults.forged),
            ("faults.read_error", |c| &mut c.faults.read_error),
            ("faults.read_slow", |c| &mut c.faults.read_slow),
        ];
        for (name, field) in fields {
            for good in [0.0, 1.0] {
                let mut config = SimConfig::default();
                *field(&mut config) = good;
                assert_eq!(config.validate(), Ok(()), "{name} = {good}");
            }
            for bad in [-0.01, 1.01, f64::NAN] {
                let message = refused(|config| *field(config) = bad);
                assert!(
                    message.starts_with(&format!("{name} must be a rate")),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn weights_must_be_finite_non_negative_and_allow_an_end() {
        let message = refused(|c| c.consumer.outcomes.back = -1.0);
        assert_eq!(
            message,
            "consumer.outcomes.back must be a finite weight of at least 0, not -1"
        );
        let message = refused(|c| c.consumer.outcomes.decline = f64::INFINITY);
        assert!(
            message.starts_with("consumer.outcomes.decline"),
            "{message}"
        );
        let message = refused(|c| {
            c.consumer.outcomes.authorize = 0.0;
            c.consumer.outcomes.cancel = 0.0;
        });
        assert!(message.contains("authorize or cancel needs a positive weight"));
        let mut only_cancel = SimConfig::default();
        only_cancel.consumer.outcomes.authorize = 0.0;
        assert_eq!(only_cancel.validate(), Ok(()));
        let mut only_authorize = SimConfig::default();
        only_authorize.consumer.outcomes.cancel = 0.0;
        assert_eq!(only_authorize.validate(), Ok(()));
    }

    #[test]
    fn durations_counts_and_names_are_checked() {
        assert_eq!(
            refused(|c| c.time.compression = 0.5),
            "time.compression must be a finite factor of at least 1, not 0.5"
        );
        assert!(refused(|c| c.time.compression = f64::NAN).starts_with("time.compression"));
        let mut real_time = SimConfig::default();
        real_time.time.compression = 1.0;
        assert_eq!(real_time.validate(), Ok(()));
        assert_eq!(
            refused(|c| c.time.session_lifetime = Duration::ZERO),
            "time.session_lifetime must be longer than zero"
        );
        assert_eq!(
            refused(|c| c.time.token_lifetime = Duration::ZERO),
            "time.token_lifetime must be longer than zero"
        );
        assert_eq!(
            refused(|c| c.delivery.timeout = Some(Duration::ZERO)),
            "delivery.timeout must be longer than zero"
        );
        assert!(
            refused(|c| c.consumer.think_min = Duration::from_secs(601))
                .starts_with("consumer.think_min (601s) is longer than consumer.think_max (600s)")
        );
        let mut equal = SimConfig::default();
        equal.consumer.think_min = equal.consumer.think_max;
        assert_eq!(equal.validate(), Ok(()));
        assert_eq!(
            refused(|c| c.consumer.max_visits = 0),
            "consumer.max_visits must be at least 1"
        );
        assert_eq!(
            refused(|c| c.delivery.max_retries = 11),
            "delivery.max_retries must be at most 10, not 11"
        );
        let mut ten = SimConfig::default();
        ten.delivery.max_retries = 10;
        assert_eq!(ten.validate(), Ok(()));
        assert!(refused(|c| c.credentials.user = "a:b".into()).contains("without ':'"));
        assert!(refused(|c| c.credentials.user = String::new()).contains("non-empty"));
    }

    #[test]
    fn the_public_url_must_be_absolute_http() {
        for bad in [
            "/relative",
            "ftp://127.0.0.1/",
            "mailto:someone@example.com",
        ] {
            let message = refused(|c| c.public_url = Some(bad.into()));
            assert!(
                message.starts_with(&format!("public_url {bad:?}")),
                "{message}"
            );
        }
        let good = SimConfig {
            public_url: Some("https://sim.test:8443/base".into()),
            ..SimConfig::default()
        };
        assert_eq!(good.validate(), Ok(()));
    }

    #[test]
    fn timing_divides_world_durations_and_floors_the_default_timeout() {
        let mut config = SimConfig::default();
        config.time.compression = 1000.0;
        let timing = config.timing();
        assert_eq!(timing.session_lifetime, Duration::from_millis(169_200));
        assert_eq!(timing.token_lifetime, Duration::from_millis(3_600));
        assert_eq!(timing.think_min, Duration::from_millis(10));
        assert_eq!(timing.think_max, Duration::from_millis(600));
        assert_eq!(timing.retry_delay, Duration::from_millis(5));
        assert_eq!(timing.max_hold, Duration::from_millis(600));
        assert_eq!(timing.read_slow_delay, Duration::from_millis(200)); // wall: not divided
        assert_eq!(timing.callback_timeout, MIN_DEFAULT_CALLBACK_TIMEOUT);
        config.time.compression = 2.0;
        assert_eq!(
            config.timing().callback_timeout,
            Duration::from_millis(1500)
        );
        config.delivery.timeout = Some(Duration::from_millis(7));
        assert_eq!(config.timing().callback_timeout, Duration::from_millis(7));
        // An unvalidated factor below 1 leaves durations as they are instead of panicking.
        let odd = TimeConfig {
            compression: 0.0,
            ..TimeConfig::default()
        };
        assert_eq!(odd.compress(Duration::from_secs(3)), Duration::from_secs(3));
    }

    #[test]
    fn the_settle_bound_covers_the_lifetime_every_attempt_and_two_holds() {
        let mut config = SimConfig::default();
        config.time.compression = 1000.0;
        config.delivery.timeout = Some(Duration::from_millis(100));
        // 169.2 s + 4 × (100 ms + 5 ms) + 2 × 600 ms
        assert_eq!(
            config.settle_bound(),
            Duration::from_millis(169_200 + 420 + 1_200)
        );
    }

    #[test]
    fn no_faults_means_every_rate_zero_and_the_durations_kept() {
        let none = FaultConfig::none();
        let rates = [
            none.lost,
            none.duplicated,
            none.delayed,
            none.empty_retry,
            none.answer_dropped,
            none.forged,
            none.read_error,
            none.read_slow,
        ];
        assert_eq!(rates, [0.0; 8]);
        let hostile = FaultConfig::default();
        assert!(hostile.read_error > 0.0 && hostile.read_slow > 0.0 && hostile.lost > 0.0);
        assert_eq!(none.max_hold, hostile.max_hold);
        assert_eq!(none.read_slow_delay, hostile.read_slow_delay);
    }

    #[test]
    fn loopback_means_127_0_0_0_8_the_ipv6_loopback_or_localhost() {
        let loopback = |url: &str| is_loopback_url(&url.parse().unwrap());
        for yes in [
            "http://127.0.0.1/",
            "http://127.9.8.7:1/x",
            "http://[::1]/",
            "http://LOCALHOST/",
        ] {
            assert!(loopback(yes), "{yes}");
        }
        for no in [
            "http://128.0.0.1/",
            "http://[::2]/",
            "http://example.com/",
            "http://localhost.evil/",
        ] {
            assert!(!loopback(no), "{no}");
        }
        assert!(!loopback("mailto:a@b.c")); // no host at all
    }

    #[test]
    fn credentials_never_print_the_password() {
        let text = format!("{:?}", Credentials::default());
        assert!(text.contains("merchant") && !text.contains("hpp-sim"));
    }
}
