//! The payment page in a real browser: headless Chromium (Debian's `chromium`), driven by
//! Playwright's driver library from `tests/browser/pay.cjs`, opens a session's `redirect_url`
//! in `--manual` mode, presses "Open the page" then "Pay", and lands on the merchant's
//! `success` URL; the merchant (a recorder on 127.0.0.1) gets the `COMPLETED` callback and
//! the browser's visit. Needs `bash scripts/browser-deps.sh` (CI's `.ci/run` and
//! `scripts/test.sh` run it): without chromium, node or playwright-core the test fails and
//! says so, it never skips. Leaves screenshots in `target/tmp/pages-browser/`.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, Behavior, Recorder, manual_config, start};

/// `target/browser-deps/node_modules`, where scripts/browser-deps.sh installs playwright-core.
fn node_modules() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .join("browser-deps/node_modules")
}

fn require_browser_deps() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let playwright = node_modules().join("playwright-core/package.json");
    let node = Command::new("node").arg("--version").output();
    assert!(
        PathBuf::from(&chromium).exists()
            && playwright.exists()
            && node.is_ok_and(|out| out.status.success()),
        "the browser test needs {chromium}, node and {}: run `bash scripts/browser-deps.sh`",
        playwright.display()
    );
}

#[tokio::test]
async fn a_person_pays_in_chromium_and_lands_on_the_merchant_success_url() {
    require_browser_deps();
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let recorder = Recorder::start(Behavior::Answer(200)).await;
    let created = api
        .create(&json!({
            "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp-browser",
            "options": {"place_order_mode": "NONE"},
            "merchant_urls": {
                "status_update": recorder.status_update(),
                "success": recorder.success(),
            },
        }))
        .await;
    assert_eq!(created.code, 201, "{:?}", created.body);
    let id = created.body["session_id"].as_str().unwrap().to_owned();
    let redirect_url = created.body["redirect_url"].as_str().unwrap().to_owned();
    let run_url = format!("{}/_sim/", api.base);

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pages-browser");
    std::fs::create_dir_all(&shots).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/pay.cjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .arg("180")
            .arg("node")
            .arg(script)
            .arg(&redirect_url)
            .arg(&run_url)
            .env("NODE_PATH", node_modules())
            .env("SCREENSHOTS", &shots)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pay.cjs failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");

    assert_eq!(seen["first_code"], 200, "{seen}");
    assert_eq!(
        seen["statuses"],
        json!(["WAITING", "IN_PROGRESS", "COMPLETED"]),
        "{seen}"
    );
    assert_eq!(
        seen["buttons"],
        json!([
            "do-Authorize",
            "do-Decline",
            "do-Cancel",
            "do-GoBack",
            "do-Fail"
        ]),
        "{seen}"
    );
    let session = api.read(&id).await.body;
    assert_eq!(session["status"], "COMPLETED");
    let token = session["authorization_token"].as_str().unwrap();
    let success = format!("{}/ok/{id}?token={token}", recorder.base);
    assert_eq!(seen["landed"], success, "{seen}");
    assert_eq!(seen["heading"], "redirected", "the merchant's page: {seen}");
    assert_eq!(recorder.visits(), [format!("/ok/{id}?token={token}")]);

    // The callbacks reached the merchant, COMPLETED among them.
    let started = Instant::now();
    loop {
        let statuses: Vec<Option<String>> = recorder
            .for_session(&id)
            .iter()
            .map(support::Received::status)
            .collect();
        if statuses.contains(&Some("COMPLETED".into())) {
            assert!(
                statuses.contains(&Some("IN_PROGRESS".into())),
                "{statuses:?}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no COMPLETED callback: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.shutdown().await.unwrap();
}
