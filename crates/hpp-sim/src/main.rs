//! `hpp-sim`: a hostile Klarna HPP API on loopback. Without `--merchant-url` it serves until
//! Ctrl-C or SIGTERM; with it, it also drives a run against a merchant service and exits
//! non-zero if the merchant placed a double order, missed one, or acted on a forged callback.
//! Every rate, duration and the seed are flags: `hpp-sim --help`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _, Parser};
use hpp_sim::{
    ConsumerConfig, Credentials, DeliveryConfig, Driver, FaultConfig, OutcomeWeights, RateLimits,
    ServeTls, SimConfig, SimHandle, Simulator, Storm, Summary, TimeConfig, is_loopback_url,
};
use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

/// A duration on the command line: `47h`, `10m`, `5s`, `250ms`, `1h 30m` or ISO 8601
/// (`PT5S`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dur(Duration);

impl std::str::FromStr for Dur {
    type Err = String;

    fn from_str(text: &str) -> Result<Dur, String> {
        let signed: jiff::SignedDuration = text
            .parse()
            .map_err(|error| format!("{text:?} is not a duration such as 5s, 10m, 47h: {error}"))?;
        Duration::try_from(signed)
            .map(Dur)
            .map_err(|_| format!("{text:?} is negative"))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::SignedDuration::try_from(self.0) {
            Ok(signed) => write!(f, "{signed:#}"),
            Err(_) => write!(f, "{:?}", self.0),
        }
    }
}

/// A rate in [0, 1].
fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text} is not a rate between 0 and 1"))
    }
}

fn defaults() -> SimConfig {
    SimConfig::default()
}

/// A hostile Klarna Hosted Payment Page (HPP) API simulator.
///
/// Serves the HPP API on loopback (POST /hpp/v1/sessions, GET and DELETE
/// /hpp/v1/sessions/{id}, POST /payments/v1/authorizations/{token}/order, Basic auth).
/// Every session a merchant creates is walked through the lifecycle by a simulated
/// consumer, in compressed time; its status callbacks are lost, duplicated, delayed,
/// retried with empty bodies and forged on purpose, at the rates below. The truth of every
/// session is served at GET /_sim/summary and /_sim/sessions (loopback clients only) and
/// written with --truth.
///
/// With --merchant-url, also drives a run: asks the merchant for --sessions checkouts
/// (POST {merchant-url}/checkouts with {"place_order_mode": "NONE" | "PLACE_ORDER"}),
/// waits until every session settled and every owed order is placed or its token expired
/// (at most --grace), prints the summary, and exits 1 if the merchant placed a second order,
/// missed one, or acted on a forged callback (2 if the run could not be done).
///
/// Klarna's rate limits apply per merchant (429 with Retry-After over them; --rate-limit-*),
/// and the contract's faults on request: lost create order answers, 429 storms, stale reads.
///
/// For a merchant's own tests (loopback clients, no auth): POST /_sim/sessions/{id}/step
/// {"action": "Authorize"} makes a session take a step now (409 with the refusal when it is
/// not legal); POST /_sim/clock {"advance": "2h"} moves the world's time forward; --manual
/// starts no consumers. GET /hpp/pay/{id} (the redirect_url) is a payment page a person can
/// click through; GET /_sim/ shows the run live.
///
/// Durations: 47h, 10m, 5s, 250ms, "1h 30m" or ISO 8601. World durations are divided by
/// --compression; wall durations are not. Logs: RUST_LOG (default hpp_sim=info).
#[derive(Parser, Debug)]
#[command(name = "hpp-sim", version, max_term_width = 100)]
struct Cli {
    /// Where to listen (loopback unless --allow-remote).
    #[arg(long, default_value = "127.0.0.1:8181")]
    listen: SocketAddr,
    /// The base URL handed out in session_url and redirect_url [default: http://LISTEN, or
    /// https://LISTEN with --tls].
    #[arg(long)]
    public_url: Option<String>,
    /// The Basic auth user of the API.
    #[arg(long, env = "HPP_SIM_USER", default_value_t = Credentials::default().user)]
    user: String,
    /// The Basic auth password of the API.
    #[arg(long, env = "HPP_SIM_PASSWORD", default_value_t = Credentials::default().password)]
    password: String,
    /// The seed of every random choice.
    #[arg(long, default_value_t = defaults().seed)]
    seed: u64,
    /// Write the truth as JSON Lines to this file.
    #[arg(long, value_name = "FILE")]
    truth: Option<PathBuf>,
    /// Allow a non-loopback listen address, merchant URL, status_update and redirect URLs.
    #[arg(long)]
    allow_remote: bool,
    /// Start no simulated consumers: every session waits until a test steps it
    /// (POST /_sim/sessions/{id}/step) or a person pays on its page (GET /hpp/pay/{id}).
    #[arg(long)]
    manual: bool,

    /// Serve HTTPS with a certificate for 127.0.0.1, ::1 and localhost (and the --listen and
    /// --public-url hosts), signed by a CA generated at start and kept in memory only.
    #[arg(long, help_heading = "HTTPS")]
    tls: bool,
    /// Write that CA's certificate (PEM) to FILE, for clients to trust: SSL_CERT_FILE=FILE,
    /// curl --cacert FILE.
    #[arg(long, help_heading = "HTTPS", value_name = "FILE", requires = "tls")]
    tls_ca: Option<PathBuf>,
    /// Trust the CA certificates (PEM) in FILE for callbacks, redirects and checkouts to an https
    /// merchant, besides the platform's roots (SSL_CERT_FILE / SSL_CERT_DIR when set).
    #[arg(long, help_heading = "HTTPS", value_name = "FILE")]
    merchant_ca: Option<PathBuf>,

    /// Divide every world duration by this factor (1 is real time).
    #[arg(long, help_heading = "Time", default_value_t = defaults().time.compression)]
    compression: f64,
    /// World: how long a session lives until expires_at.
    #[arg(long, help_heading = "Time", default_value_t = Dur(defaults().time.session_lifetime))]
    session_lifetime: Dur,
    /// World: how long an authorization token places an order.
    #[arg(long, help_heading = "Time", default_value_t = Dur(defaults().time.token_lifetime))]
    token_lifetime: Dur,

    /// World: the shortest pause before each consumer move.
    #[arg(long, help_heading = "Consumers", default_value_t = Dur(defaults().consumer.think_min))]
    think_min: Dur,
    /// World: the longest pause before each consumer move.
    #[arg(long, help_heading = "Consumers", default_value_t = Dur(defaults().consumer.think_max))]
    think_max: Dur,
    /// Share of consumers who give up before a final status (the session expires).
    #[arg(long, help_heading = "Consumers", value_parser = rate, default_value_t = defaults().consumer.abandon_rate)]
    abandon_rate: f64,
    /// Per visit: chance of leaving the page for a while (TIMEOUT, then IN_PROGRESS again).
    #[arg(long, help_heading = "Consumers", value_parser = rate, default_value_t = defaults().consumer.timeout_rate)]
    timeout_rate: f64,
    /// Per visit: chance of a manual identification check (MANUAL_ID_CHECK).
    #[arg(long, help_heading = "Consumers", value_parser = rate, default_value_t = defaults().consumer.manual_id_check_rate)]
    manual_id_check_rate: f64,
    /// Most visits of the page; the last ends COMPLETED or CANCELLED.
    #[arg(long, help_heading = "Consumers", default_value_t = defaults().consumer.max_visits)]
    max_visits: u32,
    /// Weight of a visit ending COMPLETED.
    #[arg(long, help_heading = "Consumers", default_value_t = defaults().consumer.outcomes.authorize)]
    weight_authorize: f64,
    /// Weight of a visit ending FAILED.
    #[arg(long, help_heading = "Consumers", default_value_t = defaults().consumer.outcomes.decline)]
    weight_decline: f64,
    /// Weight of a visit ending CANCELLED.
    #[arg(long, help_heading = "Consumers", default_value_t = defaults().consumer.outcomes.cancel)]
    weight_cancel: f64,
    /// Weight of a visit ending BACK.
    #[arg(long, help_heading = "Consumers", default_value_t = defaults().consumer.outcomes.back)]
    weight_back: f64,
    /// Weight of a visit ending ERROR.
    #[arg(long, help_heading = "Consumers", default_value_t = defaults().consumer.outcomes.error)]
    weight_error: f64,
    /// Chance that the browser follows the redirect to the merchant's success/cancel/... URL.
    #[arg(long, help_heading = "Consumers", value_parser = rate, default_value_t = defaults().consumer.redirect_rate)]
    redirect_rate: f64,

    /// Wall: how long a callback attempt waits for the answer [default: 3s / compression,
    /// at least 250ms].
    #[arg(long, help_heading = "Callback delivery")]
    callback_timeout: Option<Dur>,
    /// World: the pause before a retry.
    #[arg(long, help_heading = "Callback delivery", default_value_t = Dur(defaults().delivery.retry_delay))]
    retry_delay: Dur,
    /// Retries after the first attempt (at most 10).
    #[arg(long, help_heading = "Callback delivery", default_value_t = defaults().delivery.max_retries)]
    max_retries: u32,

    /// Set every fault rate to 0; rates given explicitly still apply.
    #[arg(long, help_heading = "Faults")]
    no_faults: bool,
    /// Callbacks never sent, retries included.
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.lost)]
    lost: f64,
    /// Callbacks sent twice with the same event_id.
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.duplicated)]
    duplicated: f64,
    /// Callbacks held back so that later ones overtake them.
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.delayed)]
    delayed: f64,
    /// Callbacks whose first answer is ignored and whose retries have an empty body.
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.empty_retry)]
    empty_retry: f64,
    /// Callbacks whose first answer is ignored, so that they are retried.
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.answer_dropped)]
    answer_dropped: f64,
    /// Per callback: an extra forged callback (wrong secret, COMPLETED with a made-up token).
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.forged)]
    forged: f64,
    /// World: the longest hold of a delayed callback, a duplicate or a forgery.
    #[arg(long, help_heading = "Faults", default_value_t = Dur(defaults().faults.max_hold))]
    max_hold: Dur,
    /// Read Session answers 500, 502 or 503.
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.read_error)]
    read_error: f64,
    /// Read Session answers late.
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.read_slow)]
    read_slow: f64,
    /// Wall: how late a slow Read Session answers.
    #[arg(long, help_heading = "Faults", default_value_t = Dur(defaults().faults.read_slow_delay))]
    read_slow_delay: Dur,
    /// Read Session answers the status before the last change (a lagging replica).
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.read_stale)]
    read_stale: f64,
    /// Create order places the order, then never answers (the merchant's call times out).
    #[arg(long, help_heading = "Faults", value_parser = rate, default_value_t = defaults().faults.order_answer_lost)]
    order_answer_lost: f64,
    /// A 429 storm: OPERATION@START+LENGTH (world durations from the start), e.g.
    /// create_order@10m+30s; repeat for more. Operations: create_session, read_session,
    /// disable_session, create_order, create_payment_session.
    #[arg(long, help_heading = "Faults", value_name = "OP@START+LENGTH")]
    storm: Vec<Storm>,

    /// Requests per second per merchant to create an HPP session (and, apart, a Klarna
    /// Payments session); 0 disables. Klarna: 40 live, 5 in the playground.
    #[arg(long, help_heading = "Rate limits", default_value_t = defaults().rate_limits.create)]
    rate_limit_create: u32,
    /// Requests per second per merchant for every other operation together; 0 disables.
    /// Klarna: 200 live, 50 in the playground.
    #[arg(long, help_heading = "Rate limits", default_value_t = defaults().rate_limits.other)]
    rate_limit_other: u32,

    /// Drive a run against this merchant service (POST {URL}/checkouts); repeat it for
    /// several instances: checkouts go round-robin, to the next instance when one does not
    /// answer.
    #[arg(long, help_heading = "Run against a merchant", value_name = "URL")]
    merchant_url: Vec<url::Url>,
    /// The merchant's checkout token, sent as Authorization: Bearer <token>.
    #[arg(
        long,
        help_heading = "Run against a merchant",
        env = "HPP_SIM_CHECKOUT_TOKEN",
        hide_env_values = true
    )]
    checkout_token: Option<String>,
    /// Checkouts to ask the merchant for.
    #[arg(long, help_heading = "Run against a merchant", default_value_t = 100)]
    sessions: u64,
    /// Share of checkouts with place_order_mode PLACE_ORDER (the rest NONE).
    #[arg(long, help_heading = "Run against a merchant", value_parser = rate, default_value_t = 0.5)]
    place_order_share: f64,
    /// Checkout requests at once (1 creates sessions in a reproducible order).
    #[arg(long, help_heading = "Run against a merchant", default_value_t = 8)]
    concurrency: usize,
    /// Wall: after everything settled, how long the merchant gets to place owed orders; the
    /// wait ends sooner once every owed order is placed or its token expired [default: the
    /// token lifetime, compressed].
    #[arg(long, help_heading = "Run against a merchant")]
    grace: Option<Dur>,
    /// Wall: give up waiting for the sessions to settle after this long [default: the
    /// session lifetime plus every callback retry, compressed, plus 30s].
    #[arg(long, help_heading = "Run against a merchant")]
    settle_timeout: Option<Dur>,
    /// No progress bar.
    #[arg(long, help_heading = "Run against a merchant")]
    no_progress: bool,
}

impl Cli {
    /// The checkouts to ask the `--merchant-url` instances for.
    fn driver(&self) -> Driver {
        Driver {
            place_order_share: self.place_order_share,
            concurrency: self.concurrency,
            seed: self.seed,
            checkout_token: self.checkout_token.clone(),
            ..Driver::with_instances(self.merchant_url.clone(), self.sessions)
        }
    }

    fn config(&self, matches: &ArgMatches) -> SimConfig {
        let explicit = |id: &str| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        let fault = |id: &str, value: f64| {
            if self.no_faults && !explicit(id) {
                0.0
            } else {
                value
            }
        };
        SimConfig {
            seed: self.seed,
            time: TimeConfig {
                compression: self.compression,
                session_lifetime: self.session_lifetime.0,
                token_lifetime: self.token_lifetime.0,
            },
            credentials: Credentials {
                user: self.user.clone(),
                password: self.password.clone(),
            },
            consumer: ConsumerConfig {
                think_min: self.think_min.0,
                think_max: self.think_max.0,
                abandon_rate: self.abandon_rate,
                timeout_rate: self.timeout_rate,
                manual_id_check_rate: self.manual_id_check_rate,
                max_visits: self.max_visits,
                outcomes: OutcomeWeights {
                    authorize: self.weight_authorize,
                    decline: self.weight_decline,
                    cancel: self.weight_cancel,
                    back: self.weight_back,
                    error: self.weight_error,
                },
                redirect_rate: self.redirect_rate,
            },
            delivery: DeliveryConfig {
                timeout: self.callback_timeout.map(|timeout| timeout.0),
                retry_delay: self.retry_delay.0,
                max_retries: self.max_retries,
            },
            faults: FaultConfig {
                lost: fault("lost", self.lost),
                duplicated: fault("duplicated", self.duplicated),
                delayed: fault("delayed", self.delayed),
                empty_retry: fault("empty_retry", self.empty_retry),
                answer_dropped: fault("answer_dropped", self.answer_dropped),
                forged: fault("forged", self.forged),
                max_hold: self.max_hold.0,
                read_error: fault("read_error", self.read_error),
                read_slow: fault("read_slow", self.read_slow),
                read_slow_delay: self.read_slow_delay.0,
                read_stale: fault("read_stale", self.read_stale),
                order_answer_lost: fault("order_answer_lost", self.order_answer_lost),
                storms: self.storm.clone(),
            },
            rate_limits: RateLimits {
                create: self.rate_limit_create,
                other: self.rate_limit_other,
            },
            public_url: self.public_url.clone(),
            allow_remote: self.allow_remote,
            truth_file: self.truth.clone(),
            consumers_wait_for_page: false,
            manual: self.manual,
            tls: self.tls.then(|| ServeTls {
                ca_file: self.tls_ca.clone(),
            }),
            merchant_ca: self.merchant_ca.clone(),
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let driving = !cli.merchant_url.is_empty();
    let default_filter = if driving {
        "hpp_sim=warn"
    } else {
        "hpp_sim=info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = cli.config(&matches);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hpp-sim: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli, config))
}

async fn run(cli: Cli, config: SimConfig) -> ExitCode {
    // Listened for before binding: a signal once the API answers stops it with the summary
    // and the truth written.
    let stop = hpp_shutdown::stop_signal(|error| {
        eprintln!("hpp-sim: cannot listen for SIGTERM ({error}); Ctrl-C only");
    });
    let simulator = match Simulator::new(config) {
        Ok(simulator) => simulator,
        Err(error) => return fail(&format!("invalid configuration: {error}")),
    };
    let sim = match simulator.bind(cli.listen).await {
        Ok(sim) => sim,
        Err(error) => return fail(&error.to_string()),
    };
    let timing = sim.timing();
    eprintln!(
        "hpp-sim: serving {} (user {:?}); sessions live {:?}, tokens {:?}, callback timeout {:?}",
        sim.base_url(),
        cli.user,
        timing.session_lifetime,
        timing.token_lifetime,
        timing.callback_timeout,
    );
    let outcome = if cli.merchant_url.is_empty() {
        eprintln!("hpp-sim: Ctrl-C or SIGTERM to stop and print the summary");
        stop.await;
        Ok(())
    } else {
        drive(&cli, &sim, stop).await
    };
    let summary = match sim.shutdown().await {
        Ok(summary) => summary,
        Err(error) => return fail(&error.to_string()),
    };
    report(&summary, cli.truth.as_deref());
    match outcome {
        Err(message) => fail(&message),
        Ok(()) if summary.problems().is_empty() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(1),
    }
}

/// The run against a merchant: checkouts, settling, grace. `Err` when it could not be done.
async fn drive(cli: &Cli, sim: &SimHandle, stop: impl Future<Output = ()>) -> Result<(), String> {
    if let Some(remote) = cli.merchant_url.iter().find(|url| !is_loopback_url(url))
        && !cli.allow_remote
    {
        return Err(format!(
            "--merchant-url {remote} is not on a loopback address (--allow-remote permits it)"
        ));
    }
    let mut driver = cli.driver();
    // The merchant's CA for its /checkouts, the simulator's for the payment pages.
    if let Some(path) = &cli.merchant_ca {
        driver.root_certificates =
            hpp_sim::tls::read_ca_file(path).map_err(|error| error.to_string())?;
    }
    if let Some(pem) = sim.tls_ca_pem() {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|error| format!("the simulator's CA certificate: {error}"))?;
        driver.root_certificates.push(ca);
    }
    let bar = if cli.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(cli.sessions)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("checkouts");
    let counter = bar.clone();
    let work = async {
        let checkouts = driver
            .create_checkouts(move |_| counter.inc(1))
            .await
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        let failed: Vec<_> = checkouts
            .iter()
            .filter_map(|checkout| checkout.result.as_ref().err())
            .collect();
        if let Some(first) = failed.first() {
            bar.println(format!(
                "hpp-sim: {} of {} checkouts failed; first: {first}",
                failed.len(),
                checkouts.len()
            ));
        }
        if failed.len() == checkouts.len() && !checkouts.is_empty() {
            return Err(format!("every checkout failed; first: {}", failed[0]));
        }
        bar.set_prefix("settling");
        bar.set_position(0);
        let timeout = cli.settle_timeout.map_or(
            sim.config().settle_bound() + Duration::from_secs(30),
            |dur| dur.0,
        );
        let started = tokio::time::Instant::now();
        loop {
            let progress = sim.progress();
            bar.set_length(progress.sessions);
            bar.set_position(progress.settled);
            bar.set_message(format!("{} deliveries under way", progress.deliveries));
            if sim.is_settled() {
                break;
            }
            if started.elapsed() >= timeout {
                return Err(format!(
                    "not settled after {timeout:?}: {} of {} sessions final or expired, {} deliveries under way",
                    progress.settled, progress.sessions, progress.deliveries
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bar.set_prefix("grace");
        bar.set_message("waiting for owed orders");
        let grace = cli.grace.map_or(sim.timing().token_lifetime, |dur| dur.0);
        sim.wait_for_orders(grace).await;
        Ok(())
    };
    let result = tokio::select! {
        result = work => result,
        () = stop => Err("interrupted".to_owned()),
    };
    bar.finish_and_clear();
    result
}

fn report(summary: &Summary, truth: Option<&std::path::Path>) {
    println!("{summary}");
    for problem in summary.problems() {
        println!("PROBLEM: {problem}");
    }
    if let Some(path) = truth {
        println!("truth: {}", path.display());
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("hpp-sim: {message}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> (Cli, SimConfig) {
        let matches = Cli::command()
            .try_get_matches_from(std::iter::once("hpp-sim").chain(args.iter().copied()))
            .expect("valid flags");
        let cli = Cli::from_arg_matches(&matches).expect("valid flags");
        let config = cli.config(&matches);
        (cli, config)
    }

    #[test]
    fn the_flags_default_to_the_library_defaults() {
        let (cli, config) = parse(&[]);
        assert_eq!(config, SimConfig::default());
        assert_eq!(cli.listen, "127.0.0.1:8181".parse().unwrap());
        assert!(cli.merchant_url.is_empty());
    }

    #[test]
    fn every_flag_reaches_the_configuration() {
        let (cli, config) = parse(&[
            "--seed",
            "7",
            "--compression",
            "100",
            "--session-lifetime",
            "2h",
            "--token-lifetime",
            "PT30M",
            "--think-min",
            "1s",
            "--think-max",
            "1h 30m",
            "--abandon-rate",
            "0.5",
            "--timeout-rate",
            "0.25",
            "--manual-id-check-rate",
            "0.125",
            "--max-visits",
            "2",
            "--weight-authorize",
            "1",
            "--weight-decline",
            "2",
            "--weight-cancel",
            "3",
            "--weight-back",
            "4",
            "--weight-error",
            "5",
            "--redirect-rate",
            "0",
            "--callback-timeout",
            "250ms",
            "--retry-delay",
            "7s",
            "--max-retries",
            "5",
            "--lost",
            "0.1",
            "--duplicated",
            "0.2",
            "--delayed",
            "0.3",
            "--empty-retry",
            "0.4",
            "--answer-dropped",
            "0.5",
            "--forged",
            "0.6",
            "--max-hold",
            "1m",
            "--read-error",
            "0.7",
            "--read-slow",
            "0.8",
            "--read-slow-delay",
            "9ms",
            "--read-stale",
            "0.25",
            "--order-answer-lost",
            "0.125",
            "--storm",
            "create_order@1m+30s",
            "--storm",
            "read_session@0s+1s",
            "--rate-limit-create",
            "5",
            "--rate-limit-other",
            "0",
            "--user",
            "u",
            "--password",
            "p",
            "--public-url",
            "http://127.0.0.1:1",
            "--allow-remote",
            "--manual",
            "--truth",
            "t.jsonl",
            "--merchant-url",
            "http://127.0.0.1:2",
            "--merchant-url",
            "http://127.0.0.1:3",
            "--checkout-token",
            "shop-token",
            "--sessions",
            "12",
            "--place-order-share",
            "0.25",
            "--concurrency",
            "3",
            "--tls",
            "--tls-ca",
            "ca.pem",
            "--merchant-ca",
            "merchant-ca.pem",
        ]);
        let expected = SimConfig {
            seed: 7,
            time: TimeConfig {
                compression: 100.0,
                session_lifetime: Duration::from_secs(7200),
                token_lifetime: Duration::from_secs(1800),
            },
            credentials: Credentials {
                user: "u".into(),
                password: "p".into(),
            },
            consumer: ConsumerConfig {
                think_min: Duration::from_secs(1),
                think_max: Duration::from_secs(5400),
                abandon_rate: 0.5,
                timeout_rate: 0.25,
                manual_id_check_rate: 0.125,
                max_visits: 2,
                outcomes: OutcomeWeights {
                    authorize: 1.0,
                    decline: 2.0,
                    cancel: 3.0,
                    back: 4.0,
                    error: 5.0,
                },
                redirect_rate: 0.0,
            },
            delivery: DeliveryConfig {
                timeout: Some(Duration::from_millis(250)),
                retry_delay: Duration::from_secs(7),
                max_retries: 5,
            },
            faults: FaultConfig {
                lost: 0.1,
                duplicated: 0.2,
                delayed: 0.3,
                empty_retry: 0.4,
                answer_dropped: 0.5,
                forged: 0.6,
                max_hold: Duration::from_secs(60),
                read_error: 0.7,
                read_slow: 0.8,
                read_slow_delay: Duration::from_millis(9),
                read_stale: 0.25,
                order_answer_lost: 0.125,
                storms: vec![
                    "create_order@1m+30s".parse().unwrap(),
                    "read_session@0s+1s".parse().unwrap(),
                ],
            },
            rate_limits: RateLimits {
                create: 5,
                other: 0,
            },
            public_url: Some("http://127.0.0.1:1".into()),
            allow_remote: true,
            truth_file: Some("t.jsonl".into()),
            consumers_wait_for_page: false,
            manual: true,
            tls: Some(ServeTls {
                ca_file: Some("ca.pem".into()),
            }),
            merchant_ca: Some("merchant-ca.pem".into()),
        };
        assert_eq!(config, expected);
        assert_eq!(cli.merchant_url.len(), 2);
        let driver = cli.driver();
        assert_eq!(driver.merchant_urls, cli.merchant_url);
        assert_eq!(
            (
                driver.sessions,
                driver.place_order_share,
                driver.concurrency,
                driver.seed
            ),
            (12, 0.25, 3, 7)
        );
        assert_eq!(driver.checkout_token.as_deref(), Some("shop-token"));
    }

    #[test]
    fn tls_ca_needs_tls() {
        let error = Cli::command()
            .try_get_matches_from(["hpp-sim", "--tls-ca", "ca.pem"])
            .unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(error.to_string().contains("--tls"), "{error}");
    }

    #[test]
    fn no_faults_zeroes_the_rates_not_given() {
        let (_, config) = parse(&["--no-faults", "--lost", "0.3"]);
        assert_eq!(
            config.faults,
            FaultConfig {
                lost: 0.3,
                ..FaultConfig::none()
            }
        );
    }

    #[test]
    fn durations_and_rates_are_checked() {
        assert_eq!("250ms".parse::<Dur>(), Ok(Dur(Duration::from_millis(250))));
        assert!("-5s".parse::<Dur>().unwrap_err().contains("is negative"));
        assert!(
            "soon"
                .parse::<Dur>()
                .unwrap_err()
                .starts_with("\"soon\" is not a duration")
        );
        assert_eq!(Dur(Duration::from_secs(47 * 3600)).to_string(), "47h");
        assert_eq!(rate("0"), Ok(0.0));
        assert_eq!(rate("1"), Ok(1.0));
        assert!(
            rate("1.5")
                .unwrap_err()
                .contains("not a rate between 0 and 1")
        );
        assert!(rate("-0.1").is_err());
        assert!(rate("x").unwrap_err().contains("not a number"));
    }
}
