//! The truth file and the summary agree with each other, with the in-memory truth, and
//! with what a merchant on 127.0.0.1 received.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use hpp_sim::{FaultConfig, SessionTruth, Summary};
use support::{Api, Behavior, Recorder, fast_config, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_truth_file_holds_every_change_attempt_and_session_and_the_summary_last() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truth.jsonl");
    let mut config = fast_config();
    config.truth_file = Some(path.clone());
    config.faults = FaultConfig {
        max_hold: Duration::from_secs(10_000),
        ..FaultConfig::default()
    };
    let sim = start(config).await;
    let recorder = Recorder::start(Behavior::Answer(200)).await;
    let api = Api::new(&sim);
    for i in 0..60 {
        let mode = if i % 2 == 0 { "NONE" } else { "PLACE_ORDER" };
        let id = api.create_kp(mode, Some(&recorder.status_update())).await;
        if i % 10 == 0 {
            api.read(&id).await;
        }
    }
    sim.wait_until_settled(Duration::from_secs(10))
        .await
        .unwrap();
    let truth = sim.truth();
    let live = sim.summary();
    let summary = sim.shutdown().await.unwrap();
    assert_eq!(summary, live);

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut kinds = BTreeMap::<String, u64>::new();
    for line in &lines {
        *kinds
            .entry(line["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let count = |kind: &str| kinds.get(kind).copied().unwrap_or(0);
    assert_eq!(count("session_created"), 60);
    assert_eq!(count("session_final"), 60);
    let changes: usize = truth.iter().map(|session| session.history.len()).sum();
    assert_eq!(count("status_changed"), changes as u64);
    assert_eq!(count("callback_event"), summary.callbacks.events);
    assert_eq!(count("callback_attempt"), recorder.received().len() as u64);
    assert_eq!(
        count("callback_attempt"),
        summary.callbacks.sent + summary.callbacks.forged
    );
    let r = &summary.reads;
    assert_eq!(count("read"), r.served + r.injected_errors + r.after_expiry);
    assert_eq!(count("klarna_order"), summary.orders.klarna_placed);
    // Events that ended: every event but the lost ones writes how it ended.
    assert_eq!(
        count("callback_ended"),
        summary.callbacks.acknowledged + summary.callbacks.given_up
    );

    // The final lines are the in-memory truth, and the last line is the summary.
    let finals: Vec<SessionTruth> = lines
        .iter()
        .filter(|line| line["type"] == "session_final")
        .map(|line| serde_json::from_value(line.clone()).unwrap())
        .collect();
    assert_eq!(finals, truth);
    let last: Summary = serde_json::from_value(lines.last().unwrap().clone()).unwrap();
    assert_eq!(lines.last().unwrap()["type"], "summary");
    assert_eq!(last, summary);
}

#[tokio::test]
async fn an_unwritable_truth_file_stops_the_start_with_its_path() {
    let mut config = fast_config();
    config.truth_file = Some("/nonexistent-dir/truth.jsonl".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = hpp_sim::Simulator::new(config)
        .unwrap()
        .serve(listener)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot write the truth file /nonexistent-dir/truth.jsonl: "),
        "{error}"
    );
}

#[tokio::test]
async fn shutdown_cancels_pending_callbacks_and_still_writes_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truth.jsonl");
    let mut config = fast_config();
    config.truth_file = Some(path.clone());
    support::paying_consumers(&mut config);
    // Retries far apart: the events are still pending when the simulator stops.
    config.delivery.retry_delay = Duration::from_secs(3600 * 1_000_000);
    let sim = start(config).await;
    let recorder = Recorder::start(Behavior::Answer(500)).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", Some(&recorder.status_update())).await;
    api.read_until(&id, "COMPLETED").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!sim.is_settled());
    let summary = tokio::time::timeout(Duration::from_secs(5), sim.shutdown())
        .await
        .expect("shutdown is prompt")
        .unwrap();
    assert_eq!(summary.callbacks.pending, 0);
    assert_eq!(summary.callbacks.events, 2);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("\"type\":\"summary\"")
    );
    assert!(text.contains("\"outcome\":\"cancelled\""));
}

#[tokio::test]
async fn wait_until_settled_says_how_far_it_got() {
    let mut config = fast_config();
    support::idle_consumers(&mut config);
    let sim = start(config).await;
    Api::new(&sim).create_kp("NONE", None).await;
    let error = sim
        .wait_until_settled(Duration::from_millis(30))
        .await
        .unwrap_err();
    assert_eq!((error.progress.sessions, error.progress.settled), (1, 0));
    assert!(
        error
            .to_string()
            .contains("0 of 1 sessions final or expired"),
        "{error}"
    );
}
