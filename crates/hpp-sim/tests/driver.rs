//! Runs against a merchant service: the [`Driver`] in process and the `hpp-sim` binary,
//! with a merchant that does it right and merchants with the bugs the simulator must catch.

mod merchant;
mod support;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use hpp_sim::{Driver, FaultConfig, PlaceOrderMode, Problem, SimHandle, Summary};
use merchant::{Flaw, Merchant};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{fast_config, start};

/// A hostile run of `sessions` checkouts against a merchant with `flaw`.
async fn run(flaw: Flaw, sessions: u64) -> (SimHandle, Summary, Vec<hpp_sim::Checkout>) {
    let mut config = fast_config();
    // Sessions live 1.7 s: the merchant's batch reads every open session many times, even
    // on a loaded machine.
    config.time.compression = 100_000.0;
    config.faults = FaultConfig {
        forged: 0.2,
        read_slow_delay: Duration::from_millis(5),
        ..FaultConfig::default()
    };
    config.faults.max_hold = Duration::from_secs(3_000);
    // Consumers start when the driver opens the page the merchant answered.
    config.consumers_wait_for_page = true;
    let sim = start(config).await;
    let merchant = Merchant::start(sim.base_url(), flaw).await;
    let driver = Driver {
        place_order_share: 0.4,
        ..Driver::new(merchant.base.parse().unwrap(), sessions)
    };
    let checkouts = driver.create_checkouts(|_| {}).await.unwrap();
    sim.wait_until_settled(Duration::from_secs(20))
        .await
        .expect("the run settles");
    let summary = sim.wait_for_orders(Duration::from_secs(3)).await;
    (sim, summary, checkouts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_merchant_places_every_owed_order_once_and_acts_on_no_forgery() {
    let (sim, summary, checkouts) = run(Flaw::None, 150).await;
    assert_eq!(summary.problems(), [], "{summary}");
    assert_eq!(summary.sessions, 150);
    assert!(summary.orders.tokens_issued > 10, "{summary}");
    assert_eq!(summary.orders.placed, summary.orders.tokens_issued);
    assert!(summary.callbacks.lost > 0 && summary.callbacks.forged > 0);
    assert_eq!(
        summary.callbacks.forged_acknowledged, 0,
        "forgeries answered 2xx"
    );
    // Every checkout is a session of the truth, with the mode the driver asked for.
    let truth = sim.truth();
    let ids: HashSet<&str> = truth.iter().map(|s| s.session_id.as_str()).collect();
    let mut modes = HashSet::new();
    for checkout in &checkouts {
        let id = checkout.result.as_ref().expect("the checkout succeeded");
        assert!(ids.contains(id.as_str()));
        let session = sim.session(id).unwrap();
        assert_eq!(session.place_order_mode, checkout.place_order_mode);
        modes.insert(checkout.place_order_mode);
    }
    assert_eq!(
        modes,
        HashSet::from([PlaceOrderMode::None, PlaceOrderMode::PlaceOrder])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_that_trusts_callback_bodies_is_caught() {
    let (_sim, summary, _) = run(Flaw::TrustsBodies, 80).await;
    assert!(
        summary
            .problems()
            .iter()
            .any(|problem| matches!(problem, Problem::ForgedCallbacksActedOn(n) if *n > 0)),
        "{summary}"
    );
    assert_eq!(summary.orders.forged_token, summary.callbacks.forged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_that_never_orders_is_caught() {
    let (_sim, summary, _) = run(Flaw::NeverOrders, 60).await;
    assert!(summary.orders.tokens_issued > 0);
    assert_eq!(
        summary.problems(),
        [Problem::MissedOrders(summary.orders.tokens_issued)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_that_orders_twice_is_caught_and_no_second_order_is_placed() {
    let (_sim, summary, _) = run(Flaw::OrdersTwice, 60).await;
    let owed = summary.orders.tokens_issued;
    assert!(owed > 0);
    assert_eq!(summary.orders.placed, owed);
    assert_eq!(summary.orders.double_orders, 0);
    assert_eq!(summary.problems(), [Problem::RepeatOrderAttempts(owed)]);
}

#[tokio::test]
async fn failed_checkouts_are_reported_one_by_one() {
    // Nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let driver = Driver::new(format!("http://{closed}").parse().unwrap(), 3);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&done);
    let checkouts = driver
        .create_checkouts(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .await
        .unwrap();
    assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), 3);
    let indices: Vec<u64> = checkouts.iter().map(|checkout| checkout.index).collect();
    assert_eq!(indices, [0, 1, 2]);
    for checkout in checkouts {
        let error = checkout.result.unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("POST http://{closed}/checkouts failed")),
            "{error}"
        );
    }
}

#[tokio::test]
async fn checkouts_go_round_robin_and_fail_over_to_an_instance_that_answers() {
    let sim = start(fast_config()).await;
    let up = Merchant::start(sim.base_url(), Flaw::None).await;
    let down = format!("http://127.0.0.1:{}", free_port());
    let driver = Driver {
        concurrency: 2,
        ..Driver::with_instances(vec![down.parse().unwrap(), up.base.parse().unwrap()], 6)
    };
    assert_eq!(driver.checkouts_url(0), format!("{down}/checkouts"));
    assert_eq!(driver.checkouts_url(1), format!("{}/checkouts", up.base));
    let checkouts = driver.create_checkouts(|_| {}).await.unwrap();
    assert_eq!(checkouts.len(), 6);
    for checkout in &checkouts {
        assert!(checkout.result.is_ok(), "{:?}", checkout.result);
        assert_eq!(checkout.merchant_url, format!("{}/checkouts", up.base));
    }
    assert_eq!(sim.summary().sessions, 6);
}

/// A free loopback port (bound, noted, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the binary against a merchant with `flaw`; returns its exit code, its stdout and
/// the truth file's lines.
async fn run_binary(flaw: Flaw) -> (Option<i32>, String, Vec<serde_json::Value>) {
    let port = free_port();
    let sim_url = format!("http://127.0.0.1:{port}");
    let merchant = Merchant::start(&sim_url, flaw).await;
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.jsonl");
    let merchant_url = merchant.base.clone();
    let truth_arg = truth.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--merchant-url", &merchant_url, "--sessions", "40"])
            .args(["--compression", "100000", "--token-lifetime", "1000h"])
            .args(["--think-min", "1s", "--think-max", "2000s"])
            .args(["--retry-delay", "5000s", "--max-hold", "10000s"])
            .args(["--callback-timeout", "2s", "--read-slow-delay", "5ms"])
            .args(["--grace", "2s", "--no-progress", "--seed", "9"])
            // This merchant does not shape its traffic: no rate limits.
            .args(["--rate-limit-create", "0", "--rate-limit-other", "0"])
            .arg("--truth")
            .arg(&truth_arg)
            .env("RUST_LOG", "hpp_sim=error")
            .output()
            .expect("the hpp-sim binary runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.code() != Some(2),
        "the run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = std::fs::read_to_string(&truth)
        .expect("the truth file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    (output.status.code(), stdout, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_passes_a_correct_merchant_and_writes_the_truth() {
    let (code, stdout, lines) = run_binary(Flaw::None).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("sessions"), "{stdout}");
    assert!(!stdout.contains("PROBLEM"), "{stdout}");
    let kinds: Vec<&str> = lines
        .iter()
        .map(|line| line["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.last(), Some(&"summary"));
    let summary: Summary = serde_json::from_value(lines.last().unwrap().clone()).unwrap();
    assert_eq!(summary.sessions, 40);
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "session_final")
            .count(),
        40
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| **kind == "session_created")
            .count(),
        40
    );
    let attempts = kinds
        .iter()
        .filter(|kind| **kind == "callback_attempt")
        .count() as u64;
    assert_eq!(attempts, summary.callbacks.sent + summary.callbacks.forged);
    let orders = lines
        .iter()
        .filter(|line| line["type"] == "order" && line["result"] == "placed")
        .count() as u64;
    assert_eq!(orders, summary.orders.placed);
    assert!(
        stdout.contains(&format!("orders placed{:>17}", summary.orders.placed)),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_fails_a_merchant_that_misses_orders() {
    let (code, stdout, _) = run_binary(Flaw::NeverOrders).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("PROBLEM: "), "{stdout}");
    assert!(
        stdout.contains("COMPLETED with an authorization token but no order"),
        "{stdout}"
    );
}

#[test]
fn the_binary_documents_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--seed",
        "--lost",
        "--duplicated",
        "--delayed",
        "--empty-retry",
        "--answer-dropped",
        "--forged",
        "--read-error",
        "--read-slow",
        "--timeout-rate",
        "--manual-id-check-rate",
        "--abandon-rate",
        "--compression",
        "--merchant-url",
        "--truth",
        "--no-faults",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    assert!(help.contains("[default: 0.3]") && help.contains("[default: 47h]"));
}

#[test]
fn the_binary_refuses_a_bad_flag_and_a_remote_address() {
    let bad_rate = Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
        .args(["--lost", "1.5"])
        .output()
        .unwrap();
    assert_eq!(bad_rate.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_rate.stderr).contains("not a rate between 0 and 1"));
    let remote = Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(remote.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&remote.stderr).contains("not a loopback address"));
    // A merchant not on a loopback address is refused before any checkout. 0.0.0.0 is not
    // one, yet Linux connects it to this machine: even a binary that failed to refuse it
    // would send nothing off loopback.
    let merchant = format!("http://0.0.0.0:{}", free_port());
    let remote_merchant = Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--merchant-url", &merchant, "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(remote_merchant.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&remote_merchant.stderr);
    assert!(
        stderr.contains(&format!(
            "--merchant-url {merchant}/ is not on a loopback address"
        )),
        "{stderr}"
    );
}

#[test]
fn the_binary_gives_up_when_every_checkout_fails() {
    // Nothing listens on the merchant's port.
    let merchant = format!("http://127.0.0.1:{}", free_port());
    let output = Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args([
            "--merchant-url",
            &merchant,
            "--sessions",
            "3",
            "--no-progress",
        ])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("every checkout failed; first: "),
        "{stderr}"
    );
    // A run against a merchant logs warnings and errors only, unless RUST_LOG says more:
    // the progress and the summary are what to read.
    assert!(!stderr.contains("INFO"), "{stderr}");
}

/// Starts the binary serving (no merchant), sends `signal` once it answers, and returns its
/// exit status, its stdout and the truth file's lines.
async fn serve_until(signal: Signal) -> (std::process::ExitStatus, String, Vec<String>) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.jsonl");
    let child = Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--truth")
        .arg(&truth)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start hpp-sim");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let summary = format!("http://127.0.0.1:{port}/_sim/summary");
    let started = std::time::Instant::now();
    while !client
        .get(&summary)
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "hpp-sim not serving"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), signal).unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let lines = std::fs::read_to_string(&truth)
        .expect("the truth file")
        .lines()
        .map(str::to_owned)
        .collect();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        lines,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_stops_on_sigterm_or_sigint_with_the_summary_and_the_truth_written() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let (status, stdout, truth) = serve_until(signal).await;
        assert!(status.success(), "{signal}: {status}");
        assert!(stdout.contains("sessions"), "{signal}: {stdout}");
        assert_eq!(truth.len(), 1, "{signal}: no session, the summary alone");
        assert!(truth[0].contains(r#""type":"summary""#), "{}", truth[0]);
    }
}
