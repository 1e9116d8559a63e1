//! How many sessions a second one merchant instance on SQLite reads and merges: the batch's
//! sustained Read Session + merge rate against the simulator in process, with Klarna's rate
//! limits off in the simulator and the merchant's budgets raised out of the way, so that
//! only the merchant (its database and how many reads it keeps in flight) sets the pace.
//!
//! Thousands of open sessions are created through `POST /checkouts` (their consumers never
//! open the payment page, so nothing changes and no callback comes), each due for a read
//! every `--read-interval`: more reads are due than an instance can make, and the figure is
//! what it sustains. It runs once per `--latency` (each Read Session answered after that
//! long; 0 and 100 ms by default), after a warm-up. Target: at least 400 reads a second
//! (twice Klarna's read budget) at every latency. The process exits 1 if a target fails.
//!
//! `cargo bench -p hpp-merchant --bench read_pace` (add `-- --help` for the flags).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hpp_merchant::{BatchConfig, Budgets, EffectConfig, MerchantConfig, serve};
use hpp_sim::{FaultConfig, RateLimits, SimConfig, Simulator};
use hpp_store::ReadSchedule;

/// The checkout token the bench's merchant requires.
const CHECKOUT_TOKEN: &str = "read-pace-checkout-token-0123456789";
/// Reads a second the instance must sustain.
const TARGET: f64 = 400.0;

/// The sustained Read Session + merge rate of one merchant instance on SQLite.
#[derive(Parser, Debug)]
#[command(about)]
struct Args {
    /// Open sessions due for reading.
    #[arg(long, default_value_t = 2000)]
    sessions: usize,
    /// How often each open session is due for a read, in milliseconds: `sessions` over
    /// this is the demand, which should exceed what an instance sustains.
    #[arg(long, default_value_t = 1000)]
    read_interval_ms: u64,
    /// Seconds measured per latency, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of warm-up per latency (the batch reaching its pace).
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// How long each Read Session takes, in milliseconds, one run each.
    #[arg(long, value_delimiter = ',', default_values_t = [0, 100])]
    latency_ms: Vec<u64>,
    /// How many sessions a batch round claims at most.
    #[arg(long, default_value_t = 500)]
    batch_limit: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What one run measured.
struct Pace {
    latency_ms: u64,
    /// Read Session calls the simulator answered, a second.
    served: f64,
    /// Reads the merchant merged (`hpp_merchant_reads_total{outcome="merged"}`), a second.
    merged: f64,
    /// Reads that failed (the merchant's count), in the measured window.
    failed: u64,
}

/// The sum of `hpp_merchant_reads_total` samples with `outcome="OUTCOME"` in `/metrics`.
fn reads(metrics: &str, outcome: &str) -> u64 {
    let label = format!("outcome=\"{outcome}\"");
    metrics
        .lines()
        .filter(|line| line.starts_with("hpp_merchant_reads_total{") && line.contains(&label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

async fn scrape(client: &reqwest::Client, base: &str) -> String {
    client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics")
}

async fn run(args: &Args, latency_ms: u64) -> Pace {
    let mut sim_config = SimConfig {
        faults: FaultConfig {
            read_slow: if latency_ms > 0 { 1.0 } else { 0.0 },
            read_slow_delay: Duration::from_millis(latency_ms),
            ..FaultConfig::none()
        },
        rate_limits: RateLimits::OFF,
        // Nobody pays: the consumers wait for a page nobody opens. Sessions stay open.
        consumers_wait_for_page: true,
        ..SimConfig::default()
    };
    sim_config.time.compression = 1.0;
    sim_config.time.session_lifetime = Duration::from_secs(4 * 3600);
    let sim = Simulator::new(sim_config)
        .expect("the simulator's configuration")
        .serve(
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the simulator"),
        )
        .await
        .expect("the simulator starts");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let interval = Duration::from_millis(args.read_interval_ms);
    let config = MerchantConfig {
        database_url: format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("merchant.db").display()
        ),
        klarna_url: sim.base_url().to_owned(),
        init_database: true,
        checkout_token: CHECKOUT_TOKEN.into(),
        checkout_rate: NonZeroU32::new(100_000).unwrap(),
        max_requests: 4096,
        // Out of the way: the simulator enforces no limit either.
        budgets: Budgets {
            create: 100_000,
            other: 100_000,
            reads: 100_000,
        },
        batch: Some(BatchConfig {
            interval: Duration::from_millis(20),
            limit: args.batch_limit,
            read_schedule: ReadSchedule {
                interval,
                margin: Duration::from_secs(60),
                lease: Duration::from_secs(30),
            },
        }),
        effects: EffectConfig::default(),
        ..MerchantConfig::default()
    };
    let merchant = serve(
        config,
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the merchant"),
    )
    .await
    .expect("the merchant starts");
    let base = merchant.base_url();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let created = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut checkouts = tokio::task::JoinSet::new();
    for _ in 0..args.sessions {
        let (client, gate, url) = (
            client.clone(),
            Arc::clone(&gate),
            format!("{base}/checkouts"),
        );
        checkouts.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let response = client
                .post(url)
                .bearer_auth(CHECKOUT_TOKEN)
                .json(&serde_json::json!({ "place_order_mode": "NONE" }))
                .send()
                .await
                .expect("POST /checkouts");
            assert_eq!(response.status().as_u16(), 201, "a checkout");
        });
    }
    while let Some(done) = checkouts.join_next().await {
        done.expect("a checkout task");
    }
    eprintln!(
        "latency {latency_ms} ms: {} sessions created in {:.1} s",
        args.sessions,
        created.elapsed().as_secs_f64()
    );

    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let (served_from, metrics_from, from) = (
        sim.summary().reads.served,
        scrape(&client, &base).await,
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let (served_to, metrics_to, elapsed) = (
        sim.summary().reads.served,
        scrape(&client, &base).await,
        from.elapsed().as_secs_f64(),
    );
    merchant.shutdown().await;
    sim.shutdown().await.expect("the simulator stops");
    Pace {
        latency_ms,
        served: (served_to - served_from) as f64 / elapsed,
        merged: reads(&metrics_to, "merged").saturating_sub(reads(&metrics_from, "merged")) as f64
            / elapsed,
        failed: reads(&metrics_to, "failed").saturating_sub(reads(&metrics_from, "failed")),
    }
}

fn main() {
    let args = Args::parse();
    let shown: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    println!(
        "cargo bench -p hpp-merchant --bench read_pace --{}{}",
        if shown.is_empty() { "" } else { " " },
        shown.join(" ")
    );
    println!(
        "{} open sessions, each due every {} ms: {:.0} reads/s due",
        args.sessions,
        args.read_interval_ms,
        args.sessions as f64 * 1000.0 / args.read_interval_ms as f64
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the runtime");
    let paces: Vec<Pace> = args
        .latency_ms
        .iter()
        .map(|&latency| runtime.block_on(run(&args, latency)))
        .collect();
    println!("\n| Read Session latency | reads served/s | reads merged/s | failed reads |");
    println!("|---:|---:|---:|---:|");
    for pace in &paces {
        println!(
            "| {} ms | {:.0} | {:.0} | {} |",
            pace.latency_ms, pace.served, pace.merged, pace.failed
        );
    }
    println!();
    let mut all = true;
    for pace in &paces {
        let holds = pace.merged >= TARGET;
        all &= holds;
        println!(
            "{} latency {} ms: {:.0} reads merged/s (target >= {TARGET:.0})",
            if holds { "ok  " } else { "FAIL" },
            pace.latency_ms,
            pace.merged
        );
    }
    if !all {
        std::process::exit(1);
    }
}
