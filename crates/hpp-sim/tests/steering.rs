//! A merchant's integration test steering the simulator: `--manual` (no consumers), the
//! step endpoint and the test clock, over real HTTP on 127.0.0.1.

mod support;

use std::time::{Duration, Instant};

use hpp_status::wire::Timestamp;
use hpp_status::{Action, Status};
use serde_json::json;
use support::{Api, Behavior, Recorder, manual_config, start};

/// Waits until `recorder` has `count` callbacks of `session_id` (or fails after 5 s).
async fn callbacks(recorder: &Recorder, session_id: &str, count: usize) -> Vec<support::Received> {
    let started = Instant::now();
    loop {
        let received = recorder.for_session(session_id);
        if received.len() >= count {
            return received;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} of {count} callbacks of {session_id}",
            received.len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn in_manual_mode_a_session_moves_only_when_a_test_steps_it() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let recorder = Recorder::start(Behavior::Answer(200)).await;
    let id = api.create_kp("NONE", Some(&recorder.status_update())).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(api.read(&id).await.body["status"], "WAITING");
    assert!(recorder.for_session(&id).is_empty());

    let entered = api.step(&id, "EnterPage").await;
    assert_eq!(
        (entered.code, entered.body["status"].as_str()),
        (200, Some("IN_PROGRESS"))
    );
    let completed = api.step(&id, "Authorize").await;
    assert_eq!(completed.code, 200, "{:?}", completed.body);
    assert_eq!(completed.body["status"], "COMPLETED");
    let token = completed.body["authorization_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let received = callbacks(&recorder, &id, 2).await;
    let statuses: Vec<Option<String>> = received.iter().map(support::Received::status).collect();
    assert!(statuses.contains(&Some("COMPLETED".into())), "{statuses:?}");
    assert_eq!(api.order(&token, None).await.code, 200);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_illegal_step_is_409_with_the_core_refusal() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", None).await;
    let refused = api.step(&id, "Authorize").await;
    assert_eq!(refused.code, 409);
    let core = Status::Waiting
        .apply(Action::Authorize)
        .unwrap_err()
        .to_string();
    let message = refused.body["error_messages"][0].as_str().unwrap();
    assert!(message.contains(&core), "{message:?} lacks {core:?}");
    assert_eq!(api.read(&id).await.body["status"], "WAITING");

    // The merchant's Disable is a step too, and a final status refuses every other.
    let disabled = api.step(&id, "Disable").await;
    assert_eq!(
        (disabled.code, disabled.body["status"].as_str()),
        (200, Some("DISABLED"))
    );
    let again = api.step(&id, "EnterPage").await;
    assert_eq!(again.code, 409, "{:?}", again.body);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_actions_sessions_and_bodies_are_refused() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", None).await;
    let bad = api.step(&id, "Pay").await;
    assert_eq!(bad.code, 400);
    let message = bad.body["error_messages"][0].as_str().unwrap();
    assert!(
        message.contains("\"Pay\"") && message.contains("Authorize"),
        "{message}"
    );
    assert_eq!(api.step("no-such-session", "EnterPage").await.code, 404);
    let not_json = api
        .send_raw(
            &format!("{}/_sim/sessions/{id}/step", api.base),
            "[\"Authorize\"]",
        )
        .await;
    assert_eq!(not_json.code, 400);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn advancing_the_clock_expires_tokens_then_sessions() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let now: Timestamp = api.clock(&json!({"advance": "0s"})).await.body["now"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let id = api.create_kp("NONE", None).await;
    api.step(&id, "EnterPage").await;
    let token = api.step(&id, "Authorize").await.body["authorization_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let moved = api.clock(&json!({"advance": "61m"})).await;
    assert_eq!(moved.code, 200);
    let after: Timestamp = moved.body["now"].as_str().unwrap().parse().unwrap();
    assert!(after >= now.checked_add(Duration::from_secs(61 * 60)).unwrap());
    // The token lives 60 minutes: the order is refused as expired.
    assert_eq!(api.order(&token, None).await.code, 404);
    let truth = sim.session(&id).unwrap();
    assert_eq!(truth.orders[0].result, hpp_sim::OrderResult::TokenExpired);
    // COMPLETED is final but the session still answers until expires_at (47 h).
    assert_eq!(api.read(&id).await.code, 200);
    assert_eq!(api.clock(&json!({"advance": "PT47H"})).await.code, 200);
    assert_eq!(api.read(&id).await.code, 404);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bad_or_negative_advance_is_refused_and_moves_nothing() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    for body in [
        json!({"advance": "-1h"}),
        json!({"advance": "soon"}),
        json!({"by": "1h"}),
    ] {
        let reply = api.clock(&body).await;
        assert_eq!(reply.code, 400, "{body}: {:?}", reply.body);
    }
    let id = api.create_kp("NONE", None).await;
    assert_eq!(api.read(&id).await.code, 200, "no advance happened");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn advancing_the_clock_fires_a_due_callback_retry_at_once() {
    let sim = start(manual_config()).await; // a retry waits an hour of world time
    let api = Api::new(&sim);
    let recorder = Recorder::start(Behavior::Answer(500)).await;
    let id = api.create_kp("NONE", Some(&recorder.status_update())).await;
    api.step(&id, "EnterPage").await;
    callbacks(&recorder, &id, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        recorder.for_session(&id).len(),
        1,
        "the retry waits an hour"
    );
    api.clock(&json!({"advance": "1h"})).await;
    let received = callbacks(&recorder, &id, 2).await;
    assert_eq!(received[0].event_id(), received[1].event_id());
    sim.shutdown().await.unwrap();
}
