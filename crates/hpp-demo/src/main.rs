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
use hpp_sim::{Driver, SimConfig, Simulator, Summary};
use hpp_store::ReadSchedule;
use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

/// Runs the hostile HPP simulator and the reference merchant together, and shows that
/// every order owed is placed exactly once and no forged callback is acted on.
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
}

/// A world duration in wall time.
fn wall(world: Duration, compression: f64) -> Duration {
    world.div_f64(compression)
}

fn sim_config(cli: &Cli) -> SimConfig {
    let mut config = SimConfig {
        seed: cli.seed,
        // Consumers start when sent to the payment page, as real ones do.
        consumers_wait_for_page: true,
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
        klarna_url: klarna_url.to_owned(),
        batch: Some(BatchConfig {
            interval: (read_schedule.margin - read_schedule.lease) / 4,
            limit: 100,
            read_schedule,
        }),
        effects: EffectConfig {
            interval: Duration::from_millis(20),
            batch_size: 20,
            lease: at(5 * 60).max(Duration::from_millis(300)),
        },
        ..MerchantConfig::default()
    }
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
    let driver = Driver {
        seed: cli.seed,
        ..Driver::new(merchant_url, cli.sessions)
    };
    let checkouts = tokio::spawn(async move { driver.create_checkouts(|_| {}).await });
    let deadline = Instant::now() + settle_bound + Duration::from_secs(60);
    loop {
        let progress = sim.progress();
        let summary_orders = sim.summary().orders.placed;
        bar.set_position(progress.settled);
        bar.set_message(format!(
            "({} created, {} orders placed)",
            progress.sessions, summary_orders
        ));
        if checkouts.is_finished() && sim.is_settled() {
            break;
        }
        if Instant::now() > deadline {
            bar.abandon();
            return Err(format!(
                "not settled in time: {} of {} sessions",
                progress.settled, progress.sessions
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
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
    // The effect worker gets a moment to place the last orders.
    let summary = sim.wait_for_orders(Duration::from_secs(10)).await;
    bar.finish();
    merchant.shutdown().await;
    let summary = match sim.shutdown().await {
        Ok(last) => last,
        Err(error) => {
            eprintln!("hpp-demo: stopping the simulator: {error}");
            summary
        }
    };
    println!("\n{}", table(&summary, started.elapsed()));
    Ok(summary)
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
