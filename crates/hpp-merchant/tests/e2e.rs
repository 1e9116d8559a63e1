//! The end-to-end chaos test: the simulator in process, the `hpp-merchant` binary as real
//! child processes (a fleet of three on one Postgres database, or one on SQLite), hostile
//! callbacks, one instance SIGKILLed mid-run and restarted on the same port. Each run is
//! checked against the simulator's truth and the merchant's database (`common::check_run`).
//!
//! Postgres comes from hpp-testdb: without the server binaries these tests fail, saying to
//! install the `postgresql` package. Run with `--nocapture` to see the counts per fault.

mod common;

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{World, check_run, fault_counts, start_sim};
use hpp_sim::{Driver, FaultConfig, SimHandle};
use hpp_store::Store;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The chaos world: time runs 600 times faster (sessions live 4 world hours, 24 s; tokens
/// 60 world minutes, 6 s; consumers pause 10 s to 10 min of world time, 17 ms to 1 s). The
/// fleet on Postgres and the one instance on SQLite both run in it.
const CHAOS: World = World {
    compression: 600.0,
    session_lifetime: Duration::from_secs(4 * 3600),
    token_lifetime: Duration::from_secs(3600),
};

/// The world under Klarna's contract: its rate limits are per second of wall time, so time
/// runs only 200 times faster (sessions live 2 world hours, 36 s; each open session read every
/// 20 world minutes, 6 s), and a run has 400 sessions: about 70 batch reads a second, within
/// Klarna's 200 for everything but creating sessions. Tokens live 2 world hours (36 s): six
/// reads per token, as a merchant reading every 10 minutes has within Klarna's hour, since
/// stale reads, injected errors and the storm on reads each cost a read here.
const CONTRACT: World = World {
    compression: 200.0,
    session_lifetime: Duration::from_secs(2 * 3600),
    token_lifetime: Duration::from_secs(2 * 3600),
};

/// Klarna's contract, hostile: every fault of the simulator, the live rate limits, a 429
/// storm on create order and one on Read Session (each shorter than a token's life), create
/// order answers lost after the order was placed, and stale reads.
fn contract_faults() -> FaultConfig {
    FaultConfig {
        storms: vec![
            "create_order@20m+15m".parse().unwrap(),
            "read_session@40m+10m".parse().unwrap(),
        ],
        order_answer_lost: 0.05,
        read_stale: 0.05,
        ..FaultConfig::default()
    }
}

/// One `hpp-merchant` process.
struct Instance {
    port: u16,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    /// The CA the process trusts for Klarna, given as `SSL_CERT_FILE`.
    ca_file: Option<PathBuf>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Instance {
    fn new(name: &str, index: usize, args: Vec<String>, ca_file: Option<PathBuf>) -> Instance {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{name}"));
        std::fs::create_dir_all(&dir).expect("the log directory");
        Instance {
            port: free_port(),
            args,
            log: dir.join(format!("instance-{index}.log")),
            child: None,
            ca_file,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process (appending to its log) and waits until it answers `/health`.
    async fn start(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the instance's log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_hpp-merchant"));
        if let Some(ca_file) = &self.ca_file {
            command.env("SSL_CERT_FILE", ca_file);
        }
        let child = command
            .args(&self.args)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start hpp-merchant");
        self.child = Some(child);
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{}/health", self.url())).send().await
                && response.status().is_success()
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "hpp-merchant exited with {status}; see {}",
                    self.log.display()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "hpp-merchant on port {} not healthy after 60 s; see {}",
                self.port,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, work under way left to leases.
    fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL hpp-merchant");
            let _ = child.wait();
        }
    }

    /// SIGTERM, and the process must stop cleanly.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
            kill(pid, Signal::SIGTERM).expect("SIGTERM hpp-merchant");
            let status = child.wait().expect("wait for hpp-merchant");
            assert!(
                status.success(),
                "hpp-merchant stopped with {status}; see {}",
                self.log.display()
            );
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A run: how many sessions, over how many instances, on which database, with which faults.
struct Scenario {
    name: &'static str,
    sessions: u64,
    instances: usize,
    postgres: bool,
    faults: FaultConfig,
    batch: bool,
    /// How fast time runs.
    world: World,
    /// Kill instance 1 with SIGKILL when this many sessions exist, restart it a second later.
    kill_at: Option<u64>,
    /// Klarna's rate limits on (each instance's budgets a share of them).
    rate_limits: bool,
    /// Klarna over HTTPS: the merchants trust the simulator's CA through `SSL_CERT_FILE`.
    tls: bool,
}

fn postgres_url(name: &str) -> String {
    let cluster = hpp_testdb::Cluster::shared().unwrap_or_else(|error| {
        panic!("the end-to-end test needs Postgres (install the `postgresql` package): {error}")
    });
    cluster
        .create_database(name)
        .unwrap_or_else(|error| panic!("creating the database {name}: {error}"))
}

async fn run(scenario: Scenario) {
    let started = Instant::now();
    let _dir = tempfile::tempdir().unwrap();
    let mut sim_config = scenario.world.sim_config(scenario.faults.clone());
    sim_config.consumers_wait_for_page = true;
    if scenario.rate_limits {
        sim_config.rate_limits = hpp_sim::RateLimits::LIVE;
    }
    let ca_file = scenario.tls.then(|| _dir.path().join("klarna-ca.pem"));
    sim_config.tls = ca_file.clone().map(|ca_file| hpp_sim::tls::ServeTls {
        ca_file: Some(ca_file),
    });
    let sim: Arc<SimHandle> = Arc::new(start_sim(sim_config).await);
    let database_url = if scenario.postgres {
        postgres_url(scenario.name)
    } else {
        common::sqlite_url(&_dir, scenario.name)
    };
    let mut args = scenario.world.merchant_args(scenario.batch);
    args.extend([
        "--database-url".to_owned(),
        database_url.clone(),
        "--klarna-url".to_owned(),
        sim.base_url().to_owned(),
    ]);
    if scenario.rate_limits {
        // The budgets are Klarna's per merchant: each instance of a fleet takes its share.
        let share = |budget: u32| (budget / scenario.instances as u32).to_string();
        let budgets = hpp_merchant::Budgets::default();
        args.extend([
            "--budget-create".to_owned(),
            share(budgets.create),
            "--budget-other".to_owned(),
            share(budgets.other),
            "--budget-reads".to_owned(),
            share(budgets.reads),
        ]);
    } else {
        // A world 600 times faster than Klarna's, with its rate limits off: budgets per wall
        // second would cap the merchants at a 600th of the pace Klarna allows.
        args.extend(["--budget-other", "0", "--budget-reads", "0"].map(str::to_owned));
    }
    let mut instances = Vec::new();
    for index in 0..scenario.instances {
        let mut instance = Instance::new(scenario.name, index, args.clone(), ca_file.clone());
        let _ = std::fs::remove_file(&instance.log);
        instance.start().await;
        instances.push(instance);
    }
    let urls = instances.iter().map(|i| i.url().parse().unwrap()).collect();
    let instances = Arc::new(tokio::sync::Mutex::new(instances));

    let killer = scenario.kill_at.map(|kill_at| {
        let instances = Arc::clone(&instances);
        let sim = Arc::clone(&sim);
        let progress = move || sim.progress().sessions;
        tokio::spawn(async move {
            while progress() < kill_at {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let mut instances = instances.lock().await;
            instances[1].kill_hard();
            eprintln!("e2e: instance 1 SIGKILLed at {} sessions", progress());
            tokio::time::sleep(Duration::from_secs(1)).await;
            instances[1].start().await;
            eprintln!(
                "e2e: instance 1 restarted on the same port at {} sessions",
                progress()
            );
        })
    });

    let driver = Driver {
        concurrency: 8,
        request_timeout: Duration::from_secs(30),
        checkout_token: Some(common::CHECKOUT_TOKEN.into()),
        // The payment pages are the simulator's: over HTTPS, its CA.
        root_certificates: sim
            .tls_ca_pem()
            .map(|pem| vec![reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
            .unwrap_or_default(),
        ..Driver::with_instances(urls, scenario.sessions)
    };
    let failed = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::clone(&failed);
    let checkouts = driver
        .create_checkouts(move |checkout| {
            if let Err(error) = &checkout.result {
                failures.lock().unwrap().push(error.to_string());
            }
        })
        .await
        .expect("the driver's HTTP client");
    let handed_out = checkouts.iter().filter(|c| c.result.is_ok()).count();
    assert_eq!(
        handed_out as u64,
        scenario.sessions,
        "checkouts failed: {:?}",
        failed.lock().unwrap()
    );
    let created_in = started.elapsed();
    if let Some(killer) = killer {
        killer.await.expect("the killer task");
    }
    let bound = sim.config().settle_bound() + Duration::from_secs(60);
    if let Err(error) = sim.wait_until_settled(bound).await {
        panic!("{}: {error}", scenario.name);
    }
    // A completion learnt only from the batch is acted on up to a read interval later, so the
    // merchant gets as long as a token lives.
    let summary = sim.wait_for_orders(sim.timing().token_lifetime).await;
    // The last effects (releasing carts) may still be under way.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let store = Store::connect(&database_url)
        .await
        .expect("the merchant's database");
    let truth = sim.truth();
    let checked = check_run(&summary, &truth, &store, scenario.batch).await;
    let orders = common::check_order_record(&truth, &store).await;
    let wall = started.elapsed();
    eprintln!("{}", fault_counts(scenario.name, &summary, wall));
    eprintln!("{}", common::call_counts(scenario.name, &summary, &orders));
    if scenario.rate_limits {
        eprintln!("{}: the simulator's summary\n{summary}", scenario.name);
        let calls: u64 = summary.calls.values().map(|tally| tally.calls).sum();
        let limited: u64 = summary.calls.values().map(|tally| tally.rate_limited).sum();
        assert!(
            limited * 100 <= calls,
            "{}: {limited} of {calls} calls over Klarna's rate limits",
            scenario.name
        );
    }
    eprintln!(
        "{}: created in {:.1} s; checked: {checked:?}; {} sessions more in the sim than handed out",
        scenario.name,
        created_in.as_secs_f64(),
        truth.len() - handed_out
    );
    assert!(summary.sessions >= scenario.sessions);
    assert!(checked.completed_with_token > 0);
    for instance in instances.lock().await.iter_mut() {
        instance.stop();
    }
    store.close().await;
    let sim = Arc::try_unwrap(sim).expect("the killer is done with the simulator");
    sim.shutdown().await.expect("the simulator stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_three_on_postgres_survives_chaos_and_a_kill() {
    run(Scenario {
        name: "fleet",
        sessions: 2000,
        instances: 3,
        postgres: true,
        faults: FaultConfig::default(),
        batch: true,
        world: CHAOS,
        kill_at: Some(1000),
        rate_limits: false,
        tls: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_on_sqlite_survives_chaos() {
    run(Scenario {
        name: "sqlite",
        sessions: 2000,
        instances: 1,
        postgres: false,
        faults: FaultConfig::default(),
        batch: true,
        world: CHAOS,
        kill_at: None,
        rate_limits: false,
        tls: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_loss_callbacks_alone_suffice() {
    run(Scenario {
        name: "no-loss-no-batch",
        sessions: 500,
        instances: 3,
        postgres: true,
        faults: FaultConfig {
            lost: 0.0,
            ..FaultConfig::default()
        },
        batch: false,
        world: CHAOS,
        kill_at: None,
        rate_limits: false,
        tls: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_callback_lost_the_batch_alone_suffices() {
    run(Scenario {
        name: "all-lost",
        sessions: 500,
        instances: 3,
        postgres: true,
        faults: FaultConfig {
            lost: 1.0,
            ..FaultConfig::default()
        },
        batch: true,
        world: CHAOS,
        kill_at: None,
        rate_limits: false,
        tls: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_three_keeps_klarnas_contract_through_storms_lost_answers_and_a_kill() {
    run(Scenario {
        name: "contract-fleet",
        sessions: 400,
        instances: 3,
        postgres: true,
        faults: contract_faults(),
        batch: true,
        world: CONTRACT,
        kill_at: Some(200),
        rate_limits: true,
        tls: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_on_sqlite_keeps_klarnas_contract_over_tls() {
    run(Scenario {
        name: "contract-sqlite-tls",
        sessions: 400,
        instances: 1,
        postgres: false,
        faults: contract_faults(),
        batch: true,
        world: CONTRACT,
        kill_at: None,
        rate_limits: true,
        tls: true,
    })
    .await;
}
