//! `hpp-demo`: the whole system in one process. The hostile simulator (default faults:
//! callbacks lost, duplicated, reordered, retried empty, forged; reads failing), one
//! reference merchant on SQLite in a temporary directory, a few hundred checkouts, a
//! progress bar, and a table of what happened. Exits 1 if the merchant placed a second
//! order, missed one, or acted on a forged callback; 2 if the run could not be done.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use hpp_merchant::{BatchConfig, EffectConfig, MerchantConfig};
use hpp_sim::{Driver, RateLimits, SimConfig, Simulator, Summary};
use hpp_store::ReadSchedule;
use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

/// Runs the hostile HPP simulator and the reference merchant together, and shows that
/// every order owed is placed exactly once and no forged callback is acted on.
///
/// The merchant is one instance on SQLite, which sustains about 1,900 Read Session reads
/// and merges a second against this simulator, 600 a second when every read takes 100 ms
/// (`cargo bench -p hpp-merchant --bench read_pace`; Klarna allows a merchant 200): the
/// checkouts here need a small part of that.
#[derive(Debug, Parser)]
#[command(name = "hpp-demo", version)]
struct Cli {
    /// How many checkouts.
    #[arg(long, default_value_t = 300)]
    sessions: u64,
    /// The seed of the simulator's choices (walks, faults) and of the checkout modes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How much faster than real time the simulated world runs: sessions live 4 world
    /// hours (30 s at 480), authorization tokens 60 world minutes.
    #[arg(long, default_value_t = 480.0)]
    compression: f64,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
    /// After the table, print the merchant's GET /metrics (Prometheus text).
    #[arg(long)]
    metrics: bool,
}

/// The token the demo's merchant requires of checkouts, and the demo's driver sends. The
/// merchant listens on loopback only, for the length of the run.
const CHECKOUT_TOKEN: &str = "hpp-demo-checkout-token";

/// Checkouts per second the demo's merchant takes: the simulator is not Klarna (whose limit
/// the default, 20/s, stays under), and its time runs compressed.
const CHECKOUT_RATE: u32 = 1000;

/// A world duration in wall time.
fn wall(world: Duration, compression: f64) -> Duration {
    world.div_f64(compression)
}

fn sim_config(cli: &Cli) -> SimConfig {
    let mut config = SimConfig {
        seed: cli.seed,
        // Consumers start when sent to the payment page, as real ones do.
        consumers_wait_for_page: true,
        // The reference merchant does not shape its traffic to Klarna's budgets yet.
        rate_limits: RateLimits::OFF,
        ..SimConfig::default()
    };
    config.time.compression = cli.compression;
    config.time.session_lifetime = Duration::from_secs(4 * 3600);
    config
}

/// The merchant, its schedule in the simulator's time: a read every 20 world minutes (three
/// per token hour), the last within 10 world minutes of expiry.
fn merchant_config(cli: &Cli, database_url: String, klarna_url: &str) -> MerchantConfig {
    let at = |secs| wall(Duration::from_secs(secs), cli.compression);
    let read_schedule = ReadSchedule {
        interval: at(20 * 60),
        margin: at(10 * 60),
        lease: at(2 * 60),
    };
    MerchantConfig {
        database_url,
        // A new database in a temporary directory: created on purpose.
        init_database: true,
        checkout_token: CHECKOUT_TOKEN.into(),
        checkout_rate: std::num::NonZeroU32::new(CHECKOUT_RATE)
            .unwrap_or(std::num::NonZeroU32::MIN),
        klarna_url: klarna_url.to_owned(),
        batch: Some(BatchConfig {
            interval: (read_schedule.margin - read_schedule.lease) / 4,
            limit: 100,
            read_schedule,
        }),
        // Half the lease: no worker takes an order over while its call is under way.
        klarna_timeout: (at(5 * 60).max(Duration::from_millis(300)) / 2)
            .min(Duration::from_secs(10)),
        effects: EffectConfig {
            interval: Duration::from_millis(20),
            batch_size: 20,
            lease: at(5 * 60).max(Duration::from_millis(300)),
            retry_min: at(10).max(Duration::from_millis(10)),
            retry_max: at(120).max(Duration::from_millis(100)),
        },
        ..MerchantConfig::default()
    }
}

/// The checkouts of the run: `cli.sessions` of them, their modes drawn from `cli.seed`.
fn driver(cli: &Cli, merchant_url: url::Url) -> Driver {
    Driver {
        seed: cli.seed,
        checkout_token: Some(CHECKOUT_TOKEN.into()),
        ..Driver::new(merchant_url, cli.sessions)
    }
}

/// How long the run may take to settle: the simulator's bound on a session's life and its
/// callbacks, and a minute for the merchant to catch up.
fn settle_deadline(settle_bound: Duration) -> Duration {
    settle_bound + Duration::from_secs(60)
}

/// The run is over when every checkout was asked for and every session has settled
/// (either alone is not enough: no session has been created yet, or some are still open).
fn is_over(checkouts_done: bool, sessions_settled: bool) -> bool {
    checkouts_done && sessions_settled
}

/// The final table: one `name  value` line each, so that scripts can read it too.
fn table(summary: &Summary, wall: Duration) -> String {
    let c = &summary.callbacks;
    let o = &summary.orders;
    let rows: [(&str, u64); 15] = [
        ("sessions", summary.sessions),
        ("callbacks sent", c.sent),
        ("callbacks lost", c.lost),
        ("callbacks duplicated", c.duplicated),
        ("callbacks forged", c.forged),
        ("forged answered 2xx", c.forged_acknowledged),
        ("reads", summary.reads.served),
        ("read errors injected", summary.reads.injected_errors),
        ("orders owed", o.tokens_issued),
        ("orders placed", o.placed),
        ("orders placed by Klarna", o.klarna_placed),
        ("double orders", o.double_orders),
        ("second order attempts", o.repeat_attempts),
        ("missed orders", o.missed),
        ("forged tokens acted on", o.forged_token),
    ];
    let mut text = String::new();
    for (name, value) in rows {
        text.push_str(&format!("{name:<26}{value:>8}\n"));
    }
    text.push_str(&format!("{:<26}{:>8.1}\n", "seconds", wall.as_secs_f64()));
    text
}

async fn run(cli: Cli) -> Result<Summary, String> {
    let started = Instant::now();
    let dir = tempfile::tempdir().map_err(|error| format!("a temporary directory: {error}"))?;
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("hpp-merchant.db").display()
    );
    let config = sim_config(&cli);
    let settle_bound = config.settle_bound();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("binding 127.0.0.1:0 for the simulator: {error}"))?;
    let sim = Simulator::new(config)
        .map_err(|error| error.to_string())?
        .serve(listener)
        .await
        .map_err(|error| error.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("binding 127.0.0.1:0 for the merchant: {error}"))?;
    let merchant = hpp_merchant::serve(
        merchant_config(&cli, database_url, sim.base_url()),
        listener,
    )
    .await
    .map_err(|error| error.to_string())?;
    let merchant_url = merchant
        .base_url()
        .parse()
        .map_err(|error| format!("the merchant's URL: {error}"))?;

    let bar = if cli.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(cli.sessions)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} settled {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("sessions");
    let driver = driver(&cli, merchant_url);
    let checkouts = tokio::spawn(async move { driver.create_checkouts(|_| {}).await });
    let watch = async {
        loop {
            let progress = sim.progress();
            bar.set_position(progress.settled);
            bar.set_message(format!(
                "({} created, {} orders placed)",
                progress.sessions,
                sim.summary().orders.placed
            ));
            if is_over(checkouts.is_finished(), sim.is_settled()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if tokio::time::timeout(settle_deadline(settle_bound), watch)
        .await
        .is_err()
    {
        bar.abandon();
        let progress = sim.progress();
        return Err(format!(
            "not settled in time: {} of {} sessions",
            progress.settled, progress.sessions
        ));
    }
    let checkouts = checkouts
        .await
        .map_err(|error| format!("the checkouts: {error}"))?
        .map_err(|error| format!("the checkouts: {error}"))?;
    let failed: Vec<String> = checkouts
        .iter()
        .filter_map(|checkout| checkout.result.as_ref().err().map(ToString::to_string))
        .collect();
    if let Some(first) = failed.first() {
        bar.abandon();
        return Err(format!(
            "{} checkouts failed, the first: {first}",
            failed.len()
        ));
    }
    // The merchant gets as long as a token lives to place the last orders.
    let summary = sim.wait_for_orders(sim.timing().token_lifetime).await;
    bar.finish();
    let scrape = if cli.metrics {
        Some(scrape_metrics(&merchant.base_url()).await)
    } else {
        None
    };
    merchant.shutdown().await;
    let summary = match sim.shutdown().await {
        Ok(last) => last,
        Err(error) => {
            eprintln!("hpp-demo: stopping the simulator: {error}");
            summary
        }
    };
    println!("\n{}", table(&summary, started.elapsed()));
    if let Some(scrape) = scrape {
        println!("\nGET /metrics of the merchant:\n{scrape}");
    }
    Ok(summary)
}

/// The merchant's `GET /metrics`, or why it could not be had.
async fn scrape_metrics(base_url: &str) -> String {
    let scrape = async {
        let client = reqwest::Client::builder().no_proxy().build()?;
        client
            .get(format!("{base_url}/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await
    };
    scrape
        .await
        .unwrap_or_else(|error| format!("(the scrape failed: {})", error.without_url()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hpp-demo: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(summary) => {
            let problems = summary.problems();
            if problems.is_empty() {
                println!("every order owed placed exactly once; no forged callback acted on");
                ExitCode::SUCCESS
            } else {
                for problem in problems {
                    println!("PROBLEM: {problem}");
                }
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("hpp-demo: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(seed: u64, compression: f64) -> Cli {
        Cli::parse_from([
            "hpp-demo",
            "--seed",
            &seed.to_string(),
            "--compression",
            &compression.to_string(),
            "--sessions",
            "17",
        ])
    }

    #[test]
    fn the_simulator_runs_the_seed_at_the_compression_with_consumers_waiting_for_the_page() {
        let config = sim_config(&cli(9, 600.0));
        assert_eq!(config.seed, 9);
        assert!(config.consumers_wait_for_page);
        assert_eq!(config.time.compression, 600.0);
        assert_eq!(config.time.session_lifetime, Duration::from_secs(14_400));
        let default = SimConfig::default();
        assert_eq!(
            config.faults, default.faults,
            "the demo keeps the default faults"
        );
    }

    #[test]
    fn the_merchant_reads_on_the_simulators_clock() {
        // At 600x: 20 world minutes are 2 s, 10 are 1 s, 2 are 0.2 s, 5 are 0.5 s.
        let config = merchant_config(&cli(9, 600.0), "sqlite::memory:".into(), "http://k");
        assert_eq!(config.database_url, "sqlite::memory:");
        assert_eq!(config.klarna_url, "http://k");
        let batch = config.batch.expect("the batch runs");
        let schedule = batch.read_schedule;
        assert_eq!(schedule.interval, Duration::from_secs(2));
        assert_eq!(schedule.margin, Duration::from_secs(1));
        assert_eq!(schedule.lease, Duration::from_millis(200));
        assert_eq!(batch.interval, Duration::from_millis(200)); // (1 s - 0.2 s) / 4
        assert_eq!(batch.limit, 100);
        assert_eq!(config.effects.interval, Duration::from_millis(20));
        assert_eq!(config.effects.batch_size, 20);
        assert_eq!(config.effects.lease, Duration::from_millis(500));
        // Never a lease shorter than a round trip, however fast the world runs.
        let fast = merchant_config(&cli(9, 1e6), String::new(), "");
        assert_eq!(fast.effects.lease, Duration::from_millis(300));
        assert_eq!(wall(Duration::from_secs(30), 3.0), Duration::from_secs(10));
    }

    #[test]
    fn the_driver_asks_for_the_sessions_with_the_seed() {
        let driver = driver(&cli(5, 600.0), "http://127.0.0.1:1".parse().unwrap());
        assert_eq!(driver.seed, 5);
        assert_eq!(driver.sessions, 17);
    }

    #[test]
    fn the_run_is_over_only_when_checkouts_are_done_and_sessions_settled() {
        assert!(is_over(true, true));
        assert!(!is_over(true, false));
        assert!(!is_over(false, true));
        assert_eq!(
            settle_deadline(Duration::from_secs(5)),
            Duration::from_secs(65)
        );
    }
}
