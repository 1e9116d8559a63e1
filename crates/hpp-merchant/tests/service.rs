//! The merchant service in process against the simulator in process, over loopback HTTP,
//! with a SQLite file in a temporary directory.

mod common;

use std::time::Duration;

use common::{FAST, check_run, sqlite_url, start_sim};
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
            .post(format!("{}/checkouts", self.merchant.base_url()));
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
    // The writer pool closed: registering fails (the reader pool still answers).
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
        "HPP_MERCHANT_DATABASE_URL",
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
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("HPP_MERCHANT_DATABASE_URL", sqlite_url(&dir, "bin"))
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
        .output()
        .expect("run hpp-merchant");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("--batch-interval") && error.contains("sometimes"),
        "{error}"
    );
}
