//! The merchant service in process against the simulator in process, over loopback HTTP,
//! with a SQLite file in a temporary directory.

mod common;

use std::time::Duration;

use common::{CHECKOUT_TOKEN, FAST, check_run, sqlite_url, start_sim};
use hpp_merchant::{MerchantHandle, serve};
use hpp_sim::{FaultConfig, SimConfig, SimHandle};
use hpp_status::Status;
use serde_json::{Value, json};

struct Run {
    sim: SimHandle,
    merchant: MerchantHandle,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(config: SimConfig, batch: bool) -> Run {
    let sim = start_sim(config).await;
    let dir = tempfile::tempdir().unwrap();
    let mut merchant_config = FAST.merchant_config(sqlite_url(&dir, "merchant"), sim.base_url());
    if !batch {
        merchant_config.batch = None;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant = serve(merchant_config, listener)
        .await
        .expect("the merchant starts");
    Run {
        sim,
        merchant,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        _dir: dir,
    }
}

impl Run {
    async fn checkout(&self, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/checkouts", self.merchant.base_url()))
            .bearer_auth(CHECKOUT_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let code = response.status().as_u16();
        (code, response.json().await.unwrap_or(Value::Null))
    }

    async fn session_id(&self, mode: &str) -> String {
        let (code, body) = self
            .checkout(Some(json!({ "place_order_mode": mode })))
            .await;
        assert_eq!(code, 201, "{body}");
        assert!(
            body["redirect_url"].as_str().unwrap().contains("/hpp/pay/"),
            "{body}"
        );
        body["session_id"].as_str().unwrap().to_owned()
    }

    async fn callback(&self, session_id: &str, query: &str, body: &str) -> u16 {
        self.client
            .post(format!(
                "{}/hpp/callbacks/{session_id}{query}",
                self.merchant.base_url()
            ))
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Waits until settled and the orders are in, checks everything, stops.
    async fn finish(self, batch: bool) -> (hpp_sim::Summary, common::Checked) {
        let bound = FAST.wall(FAST.session_lifetime) + Duration::from_secs(20);
        self.sim
            .wait_until_settled(bound)
            .await
            .expect("the run settles");
        let summary = self.sim.wait_for_orders(Duration::from_secs(5)).await;
        // The effects of the last sessions to end (releasing carts) may still be under way.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let truth = self.sim.truth();
        let checked = check_run(&summary, &truth, self.merchant.store(), batch).await;
        self.merchant.shutdown().await;
        self.sim.shutdown().await.unwrap();
        (summary, checked)
    }
}

fn paying(config: &mut SimConfig) {
    config.consumer.abandon_rate = 0.0;
    config.consumer.outcomes.authorize = 1.0;
    config.consumer.outcomes.cancel = 0.0;
}

/// An idle world: consumers never move within a test.
fn idle() -> SimConfig {
    let mut config = FAST.sim_config(FaultConfig::none());
    config.time.compression = 1.0;
    config.time.session_lifetime = Duration::from_secs(3600);
    config.consumer.think_min = Duration::from_secs(3600);
    config.consumer.think_max = Duration::from_secs(3600);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_end_to_end_place_one_order_per_completed_session() {
    let mut config = FAST.sim_config(FaultConfig::none());
    paying(&mut config);
    let run = start(config, true).await;
    for i in 0..20 {
        let mode = if i % 2 == 0 { "NONE" } else { "PLACE_ORDER" };
        run.session_id(mode).await;
    }
    let (code, _) = run.checkout(None).await; // no body: NONE
    assert_eq!(code, 201);
    let bound = FAST.wall(FAST.session_lifetime) + Duration::from_secs(20);
    run.sim
        .wait_until_settled(bound)
        .await
        .expect("the run settles");
    run.sim.wait_for_orders(Duration::from_secs(5)).await;
    // Each order was placed with the idempotency key of its effect.
    let effects = run.merchant.store().effects().await.unwrap();
    let mut keyed = 0;
    for session in run.sim.truth() {
        for order in &session.orders {
            let effect = effects
                .iter()
                .find(|e| e.session_id == session.session_id && e.kind.name() == "place_order")
                .expect("the order's effect");
            let key = format!("hpp-merchant-effect-{}", effect.id);
            assert_eq!(order.idempotency_key.as_deref(), Some(key.as_str()));
            keyed += 1;
        }
    }
    assert!(keyed >= 5, "{keyed} orders");
    let (summary, checked) = run.finish(true).await;
    assert_eq!(summary.sessions, 21);
    assert!(checked.completed_with_token >= 5, "{checked:?}");
    assert!(checked.completed_by_klarna >= 5, "{checked:?}");
    assert_eq!(summary.orders.placed, checked.completed_with_token as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_callbacks_are_never_acted_on() {
    let mut config = FAST.sim_config(FaultConfig {
        forged: 1.0,
        ..FaultConfig::none()
    });
    paying(&mut config);
    let run = start(config, true).await;
    for _ in 0..10 {
        run.session_id("NONE").await;
    }
    let (summary, checked) = run.finish(true).await;
    assert!(summary.callbacks.forged >= 10, "{summary}");
    assert_eq!(summary.callbacks.forged_acknowledged, 0);
    assert_eq!(summary.orders.forged_token, 0);
    assert_eq!(checked.completed_with_token, 10);
}

#[tokio::test]
async fn a_wrong_or_missing_secret_or_an_unknown_session_gets_404_and_no_read() {
    let run = start(idle(), false).await;
    let id = run.session_id("NONE").await;
    let reads = || run.sim.session(&id).unwrap().reads.served;
    let before = reads();
    let forged = r#"{"session_id":"x","status":"COMPLETED","authorization_token":"forged"}"#;
    assert_eq!(run.callback(&id, "?secret=guess", forged).await, 404);
    assert_eq!(run.callback(&id, "", forged).await, 404);
    assert_eq!(run.callback(&id, "?secret=", "").await, 404);
    assert_eq!(run.callback("unknown", "?secret=guess", forged).await, 404);
    assert_eq!(reads(), before, "a refused callback made a read");
    assert!(run.merchant.store().effects().await.unwrap().is_empty());
    let stored = run.merchant.store().session(&id).await.unwrap().unwrap();
    assert_eq!(stored.status(), None, "nothing observed");
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn the_handle_names_its_urls_answers_health_and_stops_serving_on_shutdown() {
    let run = start(idle(), false).await;
    let base = run.merchant.base_url();
    assert_eq!(base, format!("http://{}", run.merchant.local_addr()));
    assert_eq!(run.merchant.public_url(), base, "the default public URL");
    assert!(format!("{:?}", run.merchant).contains(&run.merchant.local_addr().to_string()));
    // The callback URL Klarna got is built on the public URL.
    let id = run.session_id("NONE").await;
    let status_update = run.sim.session(&id).unwrap().status_update.unwrap();
    assert!(
        status_update.starts_with(&format!("{base}/hpp/callbacks/{id}?secret=")),
        "{status_update}"
    );
    let health = run
        .client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    run.merchant.shutdown().await;
    assert!(
        run.client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_err(),
        "still serving"
    );
}

#[tokio::test]
async fn a_session_that_cannot_be_registered_is_disabled_and_the_checkout_fails() {
    let run = start(idle(), false).await;
    // The store closed: registering fails.
    run.merchant.store().close().await;
    let (code, body) = run.checkout(None).await;
    assert_eq!(code, 500, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("could not be recorded") && error.contains("the HPP session was disabled"),
        "{error}"
    );
    let truth = run.sim.truth();
    assert_eq!(truth.len(), 1);
    assert_eq!(truth[0].disables.len(), 1, "{:?}", truth[0].disables);
    assert_eq!(truth[0].lifecycle, Status::Disabled);
    run.merchant.shutdown().await;
}

/// Polls `condition` for up to 5 s.
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let started = std::time::Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not within 5 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_empty_or_unparsable_callback_body_triggers_a_read() {
    let run = start(idle(), false).await;
    let id = run.session_id("NONE").await;
    let secret = run
        .merchant
        .store()
        .callback_secret(&id)
        .await
        .unwrap()
        .unwrap();
    let before = run.sim.session(&id).unwrap().reads.served;
    assert_eq!(
        run.callback(&id, &format!("?secret={secret}"), "").await,
        200
    );
    eventually("the read after an empty callback", async || {
        run.merchant
            .store()
            .session(&id)
            .await
            .unwrap()
            .unwrap()
            .status()
            == Some(Status::Waiting)
    })
    .await;
    assert_eq!(run.sim.session(&id).unwrap().reads.served, before + 1);
    assert_eq!(
        run.callback(&id, &format!("?secret={secret}&x=1"), "{not json")
            .await,
        200
    );
    eventually("the read after an unparsable callback", async || {
        run.sim.session(&id).unwrap().reads.served == before + 2
    })
    .await;
    eventually("the read recorded", async || {
        run.merchant.store().sessions().await.unwrap()[0]
            .last_read_at
            .is_some()
    })
    .await;
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn a_failed_read_after_a_callback_is_retried_with_growing_pauses_then_left() {
    let mut config = idle();
    config.faults.read_error = 1.0; // every Read Session answers 5xx
    let run = start(config, false).await;
    let id = run.session_id("NONE").await;
    let secret = run
        .merchant
        .store()
        .callback_secret(&id)
        .await
        .unwrap()
        .unwrap();
    let errors = || run.sim.session(&id).unwrap().reads.injected_errors;
    let started = std::time::Instant::now();
    assert_eq!(
        run.callback(&id, &format!("?secret={secret}"), "").await,
        200
    );
    eventually("four reads", async || errors() == 4).await;
    // Pauses of 50, 100 and 200 ms between the four attempts.
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(errors(), 4, "no fifth attempt: the batch takes over");
    let records = run.merchant.store().sessions().await.unwrap();
    assert_eq!(
        records[0].last_read_at, None,
        "a failed read is not recorded"
    );
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn a_callback_for_a_session_stored_final_makes_no_read() {
    let run = start(idle(), false).await;
    let id = run.session_id("NONE").await;
    let secret = run
        .merchant
        .store()
        .callback_secret(&id)
        .await
        .unwrap()
        .unwrap();
    let reads = || run.sim.session(&id).unwrap().reads.served;
    let cancelled: hpp_status::wire::SessionResponse =
        serde_json::from_str(r#"{"status":"CANCELLED","updated_at":"2038-01-19T01:00:00.000Z"}"#)
            .unwrap();
    run.merchant.store().observe(&id, &cancelled).await.unwrap();
    let before = reads();
    assert_eq!(
        run.callback(&id, &format!("?secret={secret}"), "").await,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reads(), before, "a final session was read again");
    let metrics = run
        .client
        .get(format!("{}/metrics", run.merchant.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hpp_merchant_callbacks_total{verdict=\"final\"} 1"),
        "{metrics}"
    );
    // The session the same merchant has open is read.
    let open = run.session_id("NONE").await;
    let secret = run
        .merchant
        .store()
        .callback_secret(&open)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        run.callback(&open, &format!("?secret={secret}"), "").await,
        200
    );
    eventually("the read of the open session", async || {
        run.sim.session(&open).unwrap().reads.served == 1
    })
    .await;
    run.merchant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_callback_lost_the_batch_still_places_every_order() {
    let mut config = FAST.sim_config(FaultConfig {
        lost: 1.0,
        ..FaultConfig::none()
    });
    paying(&mut config);
    let run = start(config, true).await;
    for _ in 0..15 {
        run.session_id("NONE").await;
    }
    let (summary, checked) = run.finish(true).await;
    assert_eq!(summary.callbacks.sent, 0, "every callback lost");
    assert_eq!(checked.completed_with_token, 15);
    assert_eq!(summary.orders.placed, 15);
}

#[tokio::test]
async fn a_bad_checkout_body_is_400_and_a_klarna_failure_502() {
    let run = start(idle(), false).await;
    let (code, body) = run
        .checkout(Some(json!({"place_order_mode": "LATER"})))
        .await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("LATER"), "{body}");
    run.merchant.shutdown().await;

    // Klarna refuses the credentials.
    let dir = tempfile::tempdir().unwrap();
    let mut config = FAST.merchant_config(sqlite_url(&dir, "m"), run.sim.base_url());
    config.klarna_password = "wrong".into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant = serve(config, listener).await.unwrap();
    let response = run
        .client
        .post(format!("{}/checkouts", merchant.base_url()))
        .bearer_auth(CHECKOUT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("create payment session") && error.contains("401"),
        "{error}"
    );
    assert!(error.contains("UNAUTHORIZED"), "Klarna's body: {error}");
    merchant.shutdown().await;

    // Klarna refuses the HPP session: a status_update URL outside loopback.
    let mut config = FAST.merchant_config(sqlite_url(&dir, "m2"), run.sim.base_url());
    config.public_url = Some("http://192.0.2.1:8080".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant = serve(config, listener).await.unwrap();
    let response = run
        .client
        .post(format!("{}/checkouts", merchant.base_url()))
        .bearer_auth(CHECKOUT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("create HPP session") && error.contains("400") && error.contains("loopback"),
        "{error}"
    );
    merchant.shutdown().await;
}

#[test]
fn the_binary_lists_every_flag_in_help() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hpp-merchant"))
        .arg("--help")
        .output()
        .expect("run hpp-merchant --help");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--database-url",
        "--klarna-url",
        "--klarna-user",
        "--klarna-password",
        "--public-url",
        "--no-batch",
        "--batch-interval",
        "--batch-limit",
        "--read-interval",
        "--read-margin",
        "--read-lease",
        "--effect-interval",
        "--effect-batch",
        "--effect-lease",
        "--init-database",
        "--checkout-token",
        "--checkout-rate",
        "--max-requests",
        "HPP_MERCHANT_DATABASE_URL",
        "HPP_MERCHANT_CHECKOUT_TOKEN",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[tokio::test]
async fn the_binary_serves_until_sigterm_then_stops_cleanly() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hpp-merchant"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--init-database"])
        .env("HPP_MERCHANT_DATABASE_URL", sqlite_url(&dir, "bin"))
        .env("HPP_MERCHANT_CHECKOUT_TOKEN", CHECKOUT_TOKEN)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start hpp-merchant");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let health = format!("http://127.0.0.1:{port}/health");
    eventually("the binary answers /health", async || {
        client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert_eq!(child.try_wait().unwrap(), None, "still serving");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(client.get(&health).send().await.is_err(), "stopped serving");
}

#[test]
fn the_binary_refuses_a_bad_duration_naming_it() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hpp-merchant"))
        .args(["--batch-interval", "sometimes"])
        .env("HPP_MERCHANT_CHECKOUT_TOKEN", CHECKOUT_TOKEN)
        .output()
        .expect("run hpp-merchant");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("--batch-interval") && error.contains("sometimes"),
        "{error}"
    );
}

/// What a raw client saw: an answer's status line, or the connection closed without one.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// The status code of the answer's first line.
    Answer(u16),
    /// Closed (EOF or reset) before any answer.
    Closed,
}

/// Opens a raw connection to `base` (http://ADDR), writes `head`, then `drip` one byte at a
/// time every `pause` (looping), until the server answers or closes or `within` passes.
/// What it saw and when, or `None` when nothing happened within `within`.
async fn slow_client(
    base: &str,
    head: &[u8],
    drip: &[u8],
    pause: Duration,
    within: Duration,
) -> Option<(Seen, Duration)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let started = std::time::Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head).await.unwrap();
    let drip = drip.to_vec();
    let dripping = tokio::spawn(async move {
        for byte in drip.iter().cycle() {
            if drip.is_empty() || writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(pause).await;
        }
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let seen = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
            if answer.windows(2).any(|w| w == b"\r\n") {
                break;
            }
        }
    })
    .await;
    dripping.abort();
    seen.ok()?;
    let text = String::from_utf8_lossy(&answer);
    let seen = match text.strip_prefix("HTTP/1.1 ") {
        Some(rest) => Seen::Answer(rest[..3].parse().unwrap()),
        None => Seen::Closed,
    };
    Some((seen, started.elapsed()))
}

#[tokio::test]
async fn slow_or_silent_clients_are_cut_off_within_seconds() {
    let run = start(idle(), false).await;
    let base = run.merchant.base_url();
    let within = Duration::from_secs(15);
    let pause = Duration::from_millis(500);
    // A header line every half second, never the end of the head.
    let headers = slow_client(
        &base,
        b"GET /health HTTP/1.1\r\nHost: x\r\n",
        b"X-Slow: 1\r\n",
        pause,
        within,
    );
    // Connected, sending nothing.
    let silent = slow_client(&base, b"", b"", pause, within);
    // A checkout body a byte every half second.
    let checkout_head = format!(
        "POST /checkouts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CHECKOUT_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let body = slow_client(&base, checkout_head.as_bytes(), b" ", pause, within);
    let (headers, silent, body) = tokio::join!(headers, silent, body);
    for (what, seen) in [
        ("slow headers", headers),
        ("silent", silent),
        ("slow body", body),
    ] {
        let (seen, after) = seen.unwrap_or_else(|| panic!("{what}: still open after {within:?}"));
        assert!(
            after < Duration::from_secs(12),
            "{what}: cut after {after:?} ({seen:?})"
        );
        eprintln!("{what}: {seen:?} after {after:?}");
    }
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn a_callback_with_a_wrong_secret_is_refused_before_its_body_is_read() {
    let run = start(idle(), false).await;
    let id = run.session_id("NONE").await;
    // A body announced, none sent: the answer must not wait for it. 60 KB (under the cap:
    // the secret decides) and 2 MB (over it: refused on its length alone).
    for (length, code) in [(60_000, 404), (2_097_152, 413)] {
        let head = format!(
            "POST /hpp/callbacks/{id}?secret=guess HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
        );
        let seen = slow_client(
            &run.merchant.base_url(),
            head.as_bytes(),
            b"",
            Duration::from_millis(100),
            Duration::from_secs(3),
        )
        .await;
        assert!(
            matches!(seen, Some((Seen::Answer(c), _)) if c == code),
            "{length} bytes announced: the body was waited for: {seen:?}"
        );
    }
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn a_callback_body_larger_than_a_klarna_payload_is_refused() {
    let run = start(idle(), false).await;
    let id = run.session_id("NONE").await;
    let secret = run
        .merchant
        .store()
        .callback_secret(&id)
        .await
        .unwrap()
        .unwrap();
    let before = run.sim.session(&id).unwrap().reads.served;
    let big = "x".repeat(100 * 1024);
    assert_eq!(
        run.callback(&id, &format!("?secret={secret}"), &big).await,
        413
    );
    let few_kb = "x".repeat(4 * 1024);
    assert_eq!(
        run.callback(&id, &format!("?secret={secret}"), &few_kb)
            .await,
        200
    );
    eventually("the read after the small callback", async || {
        run.sim.session(&id).unwrap().reads.served == before + 1
    })
    .await;
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn refused_callbacks_with_long_session_ids_log_a_short_prefix() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("merchant.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hpp-merchant"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--init-database"])
        .env("HPP_MERCHANT_DATABASE_URL", sqlite_url(&dir, "bin"))
        .env("HPP_MERCHANT_CHECKOUT_TOKEN", CHECKOUT_TOKEN)
        .env("RUST_LOG", "debug")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start hpp-merchant");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    eventually("the binary answers /health", async || {
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let before = std::fs::metadata(&log).unwrap().len();
    let long_id = "a".repeat(65_000);
    for _ in 0..20 {
        let response = client
            .post(format!("{base}/hpp/callbacks/{long_id}?secret=guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    let grown = std::fs::metadata(&log).unwrap().len() - before;
    // Each refusal may log a line, with at most a short prefix of the id.
    assert!(
        grown < 20 * 1_000,
        "the log grew by {grown} bytes for 20 refused callbacks"
    );
}

#[tokio::test]
async fn checkouts_need_the_bearer_token_and_a_json_object() {
    let run = start(idle(), false).await;
    let url = format!("{}/checkouts", run.merchant.base_url());
    let body = json!({"place_order_mode": "NONE"});
    let anonymous = run.client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    for header in [
        "Bearer wrong-token-0123456789",
        "Basic dGVzdDp0ZXN0",
        "Bearer ",
        &format!("bearer {CHECKOUT_TOKEN}"),
        &format!("Bearer {CHECKOUT_TOKEN}x"),
    ] {
        let response = run
            .client
            .post(&url)
            .header("authorization", header)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
    }
    assert!(
        run.sim.truth().is_empty(),
        "a refused checkout reached Klarna"
    );
    // A JSON array is not a checkout (it once became PLACE_ORDER).
    let (code, answer) = run.checkout(Some(json!(["PLACE_ORDER"]))).await;
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("JSON object"),
        "{answer}"
    );
    assert!(run.sim.truth().is_empty());
    run.session_id("NONE").await;
    assert_eq!(run.sim.truth().len(), 1);
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn a_merchant_without_a_long_enough_checkout_token_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    for token in ["", "short"] {
        let mut config = FAST.merchant_config(sqlite_url(&dir, "m"), "http://127.0.0.1:1");
        config.checkout_token = token.into();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let error = serve(config, listener).await.unwrap_err().to_string();
        assert!(error.contains("at least 16 characters"), "{error}");
    }
}

#[tokio::test]
async fn checkouts_over_the_rate_wait_a_little_then_get_429() {
    let sim = start_sim(idle()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = FAST.merchant_config(sqlite_url(&dir, "m"), sim.base_url());
    config.batch = None;
    config.checkout_rate = std::num::NonZeroU32::new(2).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant = serve(config, listener).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/checkouts", merchant.base_url());
    let started = std::time::Instant::now();
    let answers =
        futures_join_all((0..10).map(|_| client.post(&url).bearer_auth(CHECKOUT_TOKEN))).await;
    let elapsed = started.elapsed();
    let codes: Vec<u16> = answers
        .iter()
        .map(|a| a.as_ref().unwrap().status().as_u16())
        .collect();
    let created = codes.iter().filter(|&&c| c == 201).count();
    let limited = codes.iter().filter(|&&c| c == 429).count();
    assert_eq!(created + limited, 10, "{codes:?}");
    // A burst of 2, then 2 a second, for at most the 1 s a checkout waits: 4, maybe 5.
    assert!((2..=5).contains(&created), "{codes:?} in {elapsed:?}");
    assert!(limited >= 5, "{codes:?}");
    let retry = answers
        .iter()
        .flatten()
        .find(|a| a.status() == 429)
        .unwrap()
        .headers()["retry-after"]
        .clone();
    assert_eq!(retry, "1");
    assert_eq!(
        sim.truth().len(),
        created,
        "only created checkouts reached Klarna"
    );
    let metrics = client
        .get(format!("{}/metrics", merchant.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "hpp_merchant_checkouts_total{{result=\"rate_limited\"}} {limited}"
        )),
        "{metrics}"
    );
    merchant.shutdown().await;
}

/// Sends every request at once; their answers in order.
async fn futures_join_all(
    requests: impl Iterator<Item = reqwest::RequestBuilder>,
) -> Vec<reqwest::Result<reqwest::Response>> {
    let tasks: Vec<_> = requests.map(|r| tokio::spawn(r.send())).collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn requests_beyond_the_cap_under_way_are_shed_with_503() {
    let sim = start_sim(idle()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = FAST.merchant_config(sqlite_url(&dir, "m"), sim.base_url());
    config.batch = None;
    config.max_requests = 2;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant = serve(config, listener).await.unwrap();
    let base = merchant.base_url();
    // Two checkouts under way, their bodies never sent (cut after 5 s).
    let head = format!(
        "POST /checkouts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {CHECKOUT_TOKEN}\r\n\
         Content-Length: 100\r\n\r\n"
    );
    let hold = |head: String, base: String| async move {
        slow_client(
            &base,
            head.as_bytes(),
            b"",
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
        .await
    };
    let held = [
        tokio::spawn(hold(head.clone(), base.clone())),
        tokio::spawn(hold(head.clone(), base.clone())),
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let shed = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(shed.status(), 503);
    for held in held {
        let (seen, _) = held.await.unwrap().expect("cut by the body timeout");
        assert_eq!(seen, Seen::Answer(408));
    }
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "served again once the two ended");
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("hpp_merchant_requests_shed_total 1"),
        "{metrics}"
    );
    merchant.shutdown().await;
}

#[tokio::test]
async fn the_driver_sends_the_checkout_token() {
    let run = start(idle(), false).await;
    let url: url::Url = run.merchant.base_url().parse().unwrap();
    let without = hpp_sim::Driver::new(url.clone(), 2);
    let checkouts = without.create_checkouts(|_| {}).await.unwrap();
    assert!(
        checkouts.iter().all(|c| matches!(
            c.result,
            Err(hpp_sim::CheckoutError::Status { code: 401, .. })
        )),
        "{checkouts:?}"
    );
    let with = hpp_sim::Driver {
        checkout_token: Some(CHECKOUT_TOKEN.into()),
        ..hpp_sim::Driver::new(url, 2)
    };
    let checkouts = with.create_checkouts(|_| {}).await.unwrap();
    assert!(checkouts.iter().all(|c| c.result.is_ok()), "{checkouts:?}");
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn ready_says_why_when_the_database_takes_no_writes_or_klarna_is_unreachable() {
    let run = start(idle(), false).await;
    let base = run.merchant.base_url();
    let get = |url: String| {
        let client = run.client.clone();
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get(format!("{base}/ready")).await, (200, "ready\n".into()));
    // A session whose end is an effect to do, then the file opened read-only.
    let id = run.session_id("NONE").await;
    let url = run.merchant.store().session(&id).await.unwrap().map(|_| ());
    assert!(url.is_some());
    let cancelled: hpp_status::wire::SessionResponse =
        serde_json::from_str(r#"{"status":"CANCELLED","updated_at":"2038-01-19T01:00:00.000Z"}"#)
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file_url = sqlite_url(&dir, "ro");
    {
        let store = hpp_store::Store::connect(&file_url).await.unwrap();
        store.migrate().await.unwrap();
        store.observe("s-ro", &cancelled).await.unwrap();
        store.close().await;
    }
    let mut config =
        FAST.merchant_config(file_url.replace("mode=rwc", "mode=ro"), run.sim.base_url());
    config.init_database = false;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let read_only = serve(config, listener)
        .await
        .expect("starts on a read-only file");
    let ro = read_only.base_url();
    assert_eq!(get(format!("{ro}/health")).await.0, 200, "alive");
    let (code, text) = get(format!("{ro}/ready")).await;
    assert_eq!(code, 503, "{text}");
    assert!(
        text.contains("database: ") && text.contains("readonly"),
        "{text}"
    );
    assert!(!text.contains("klarna:"), "{text}");
    // It claims no work: the effect stays unclaimed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let effects = read_only.store().effects().await.unwrap();
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].attempt, 0, "{effects:?}");
    read_only.shutdown().await;

    // Klarna unreachable: nothing listens on its port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir2 = tempfile::tempdir().unwrap();
    let config = FAST.merchant_config(sqlite_url(&dir2, "k"), &format!("http://127.0.0.1:{port}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cut_off = serve(config, listener).await.unwrap();
    let (code, text) = get(format!("{}/ready", cut_off.base_url())).await;
    assert_eq!(code, 503, "{text}");
    assert!(
        text.contains("klarna: readiness probe") && !text.contains("database:"),
        "{text}"
    );
    cut_off.shutdown().await;
    run.merchant.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_empty_database_stops_the_start_unless_asked_to_create_it() {
    let sim = start_sim(idle()).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    for file in [&missing, &empty] {
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let mut config = FAST.merchant_config(url.clone(), sim.base_url());
        config.init_database = false;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let error = serve(config, listener).await.unwrap_err().to_string();
        // Missing: it cannot be opened without creating it; empty: it has no tables.
        assert!(
            (error.contains("missing or empty") || error.contains("cannot be opened"))
                && error.contains("--init-database")
                && error.contains(&url),
            "{error}"
        );
        // Asked to: it starts, and then it starts without being asked.
        let config = FAST.merchant_config(url.clone(), sim.base_url());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        serve(config, listener).await.unwrap().shutdown().await;
        let mut config = FAST.merchant_config(url, sim.base_url());
        config.init_database = false;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        serve(config, listener).await.unwrap().shutdown().await;
    }
    assert!(missing.exists());
}

#[test]
fn the_binary_refuses_to_start_on_a_missing_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.db");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hpp-merchant"))
        .args(["--listen", "127.0.0.1:0"])
        .env(
            "HPP_MERCHANT_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", file.display()),
        )
        .env("HPP_MERCHANT_CHECKOUT_TOKEN", CHECKOUT_TOKEN)
        .output()
        .expect("run hpp-merchant");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("--init-database"), "{error}");
    assert!(!file.exists(), "the file was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_callbacks_reads_klarna_calls_and_effects() {
    let mut config = FAST.sim_config(FaultConfig::none());
    paying(&mut config);
    let run = start(config, true).await;
    for _ in 0..5 {
        run.session_id("NONE").await;
    }
    assert_eq!(run.callback("unknown", "?secret=guess", "").await, 404);
    let bound = FAST.wall(FAST.session_lifetime) + Duration::from_secs(20);
    run.sim
        .wait_until_settled(bound)
        .await
        .expect("the run settles");
    run.sim.wait_for_orders(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = run
        .client
        .get(format!("{}/metrics", run.merchant.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |line: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line} in\n{text}"))
    };
    assert_eq!(
        value("hpp_merchant_checkouts_total{result=\"created\"}"),
        5.0
    );
    assert_eq!(
        value("hpp_merchant_callbacks_total{verdict=\"refused\"}"),
        1.0
    );
    assert!(value("hpp_merchant_callbacks_total{verdict=\"accepted\"}") >= 5.0);
    assert!(value("hpp_merchant_reads_total{source=\"callback\",outcome=\"merged\"}") >= 5.0);
    assert_eq!(
        value("hpp_merchant_klarna_calls_total{operation=\"create_hpp_session\",status=\"201\"}"),
        5.0
    );
    assert_eq!(
        value("hpp_merchant_klarna_calls_total{operation=\"create_order\",status=\"200\"}"),
        5.0
    );
    assert_eq!(
        value("hpp_merchant_effects_total{kind=\"place_order\",result=\"done\"}"),
        5.0
    );
    assert_eq!(value("hpp_merchant_effects_pending"), 0.0);
    assert_eq!(value("hpp_merchant_effect_oldest_pending_age_seconds"), 0.0);
    assert!(
        text.contains("# TYPE hpp_merchant_callbacks_total counter"),
        "{text}"
    );
    let (summary, _) = run.finish(true).await;
    assert_eq!(summary.orders.placed, 5);
}
