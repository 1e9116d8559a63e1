//! Callbacks: the documented delivery rules, each fault at its rate, and the truth against
//! what a merchant on 127.0.0.1 really received.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use hpp_sim::{Answer, DeliveryKind, EventOutcome, Fault, FaultConfig, SessionTruth};
use hpp_status::wire::Timestamp;
use support::{Api, Behavior, Received, Recorder, SECRET, fast_config, paying_consumers, start};

/// Sessions that go WAITING -> IN_PROGRESS -> COMPLETED: two events each.
async fn paid_sessions(
    config: hpp_sim::SimConfig,
    behavior: Behavior,
    count: usize,
) -> (hpp_sim::SimHandle, std::sync::Arc<Recorder>) {
    let sim = start(config).await;
    let recorder = Recorder::start(behavior).await;
    let api = Api::new(&sim);
    for _ in 0..count {
        api.create_kp("NONE", Some(&recorder.status_update())).await;
    }
    sim.wait_until_settled(Duration::from_secs(10))
        .await
        .expect("settles");
    (sim, recorder)
}

fn by_event(received: &[Received]) -> HashMap<String, Vec<Received>> {
    let mut events: HashMap<String, Vec<Received>> = HashMap::new();
    for post in received {
        if let Some(event_id) = post.event_id() {
            events.entry(event_id).or_default().push(post.clone());
        }
    }
    events
}

#[tokio::test]
async fn without_a_2xx_an_event_is_retried_three_more_times_with_the_same_event_id() {
    let mut config = fast_config();
    paying_consumers(&mut config);
    let (sim, recorder) = paid_sessions(config, Behavior::Answer(500), 3).await;
    for session in sim.truth() {
        assert_eq!(session.events.len(), 2);
        let received = recorder.for_session(&session.session_id);
        assert_eq!(received.len(), 8, "two events, four attempts each");
        for event in &session.events {
            assert_eq!(event.outcome, EventOutcome::GivenUp);
            let posts: Vec<_> = received
                .iter()
                .filter(|post| post.event_id().as_deref() == Some(event.event_id.as_str()))
                .collect();
            assert_eq!(posts.len(), 4);
            assert!(
                posts
                    .iter()
                    .all(|post| post.body == posts[0].body && post.has_secret())
            );
            // "A few seconds later": the 5 s world pause, compressed to 5 ms.
            for pair in posts.windows(2) {
                assert!(pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(5));
            }
            let attempts: Vec<_> = session
                .attempts
                .iter()
                .filter(|attempt| attempt.event_id == event.event_id)
                .collect();
            let numbers: Vec<u32> = attempts.iter().map(|attempt| attempt.attempt).collect();
            assert_eq!(numbers, [1, 2, 3, 4]);
            assert_eq!(attempts[0].kind, DeliveryKind::Original);
            assert!(
                attempts[1..]
                    .iter()
                    .all(|attempt| attempt.kind == DeliveryKind::Retry)
            );
            assert!(
                attempts
                    .iter()
                    .all(|attempt| attempt.answer == Answer::Status { code: 500 }
                        && !attempt.acknowledged)
            );
        }
    }
    let summary = sim.summary().callbacks;
    assert_eq!(
        (
            summary.events,
            summary.sent,
            summary.retries,
            summary.given_up,
            summary.not_2xx
        ),
        (6, 24, 18, 6, 24)
    );
}

#[tokio::test]
async fn max_retries_bounds_the_attempts() {
    let mut config = fast_config();
    paying_consumers(&mut config);
    config.delivery.max_retries = 1;
    let (sim, recorder) = paid_sessions(config, Behavior::Answer(503), 2).await;
    assert_eq!(recorder.received().len(), 2 * 2 * 2);
    assert_eq!(sim.summary().callbacks.given_up, 4);
}

#[tokio::test]
async fn the_last_attempt_gives_up_at_once() {
    let mut config = fast_config();
    paying_consumers(&mut config);
    config.delivery.max_retries = 0;
    config.time.compression = 1_000_000.0;
    config.delivery.retry_delay = Duration::from_secs(2_000_000); // 2 s of wall time
    let sim = start(config).await;
    let recorder = Recorder::start(Behavior::Answer(500)).await;
    Api::new(&sim)
        .create_kp("NONE", Some(&recorder.status_update()))
        .await;
    // Without retries, no pause follows the only attempt.
    let summary = sim
        .wait_until_settled(Duration::from_millis(1500))
        .await
        .expect("given up without waiting for a retry that never comes");
    assert_eq!((summary.callbacks.sent, summary.callbacks.given_up), (2, 2));
}

#[tokio::test]
async fn an_answer_later_than_the_timeout_is_no_answer() {
    let mut config = fast_config();
    paying_consumers(&mut config);
    config.delivery.timeout = Some(Duration::from_millis(40));
    let (sim, recorder) =
        paid_sessions(config, Behavior::Hang(Duration::from_millis(400)), 1).await;
    let session = &sim.truth()[0];
    assert_eq!(session.attempts.len(), 8);
    assert!(
        session
            .attempts
            .iter()
            .all(|attempt| attempt.answer == Answer::Timeout)
    );
    assert!(
        session
            .events
            .iter()
            .all(|event| event.outcome == EventOutcome::GivenUp)
    );
    // The merchant did receive every attempt; its answers came too late.
    assert_eq!(recorder.received().len(), 8);
    assert_eq!(sim.summary().callbacks.timeouts, 8);
}

#[tokio::test]
async fn a_2xx_ends_an_event_after_one_attempt() {
    let mut config = fast_config();
    paying_consumers(&mut config);
    let (sim, recorder) = paid_sessions(config, Behavior::Answer(204), 5).await;
    assert_eq!(recorder.received().len(), 10);
    let summary = sim.summary().callbacks;
    assert_eq!(
        (summary.sent, summary.acknowledged, summary.retries),
        (10, 10, 0)
    );
    for post in recorder.received() {
        let body = post.json().expect("a JSON body");
        let callback: hpp_status::wire::StatusCallback = serde_json::from_value(body).unwrap();
        assert_eq!(
            callback.session.session_id.as_deref(),
            Some(post.session_id.as_str())
        );
        assert!(callback.session.observation().is_ok());
    }
}

#[tokio::test]
async fn an_unreachable_merchant_is_retried_then_given_up() {
    let mut config = fast_config();
    paying_consumers(&mut config);
    let sim = start(config).await;
    // A port nobody listens on: bind, note, close.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let api = Api::new(&sim);
    api.create_kp(
        "NONE",
        Some(&format!("http://{closed}/cb/{{{{session_id}}}}")),
    )
    .await;
    sim.wait_until_settled(Duration::from_secs(10))
        .await
        .unwrap();
    let session = &sim.truth()[0];
    assert_eq!(session.attempts.len(), 8);
    assert!(
        session
            .attempts
            .iter()
            .all(|attempt| matches!(attempt.answer, Answer::Failed { .. }))
    );
    assert_eq!(sim.summary().callbacks.failed, 8);
}

fn faults_of(session: &SessionTruth, event_id: &str) -> Vec<Fault> {
    session
        .events
        .iter()
        .find(|event| event.event_id == event_id)
        .map(|event| event.faults.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_injected_at_its_rate_and_the_truth_matches_what_the_merchant_saw() {
    let mut config = fast_config();
    config.faults = FaultConfig {
        lost: 0.3,
        duplicated: 0.2,
        delayed: 0.2,
        empty_retry: 0.1,
        answer_dropped: 0.1,
        forged: 0.1,
        ..FaultConfig::default()
    };
    config.faults.max_hold = Duration::from_secs(20_000); // 20 ms: overtakes many pauses
    let (sim, recorder) = paid_sessions(config, Behavior::Answer(200), 250).await;
    let received = recorder.received();
    let truth = sim.truth();
    let summary = sim.summary();
    let c = &summary.callbacks;

    // Every POST the simulator recorded, the merchant received, and nothing else.
    assert_eq!(received.len() as u64, c.sent + c.forged);
    assert_eq!(c.pending, 0);

    // The rates (seeded, so fixed counts; the bands document the configured rates).
    let events = c.events;
    let delivered = events - c.lost;
    let band = |count: u64, of: u64, rate: f64| {
        let expected = of as f64 * rate;
        let slack = 4.0 * (of as f64 * rate * (1.0 - rate)).sqrt() + 1.0;
        assert!(
            (count as f64 - expected).abs() <= slack,
            "{count} of {of} at rate {rate}"
        );
    };
    assert!(events > 400, "{events} events");
    band(c.lost, events, 0.3);
    band(c.duplicated, delivered, 0.2);
    band(c.delayed, delivered, 0.2);
    band(c.empty_retry, delivered, 0.1);
    band(c.answer_dropped, delivered, 0.1);
    band(c.forged, events, 0.1);

    // Each hold is recorded in milliseconds, within the configured maximum (20 ms here).
    let holds: Vec<u64> = truth
        .iter()
        .flat_map(|session| &session.events)
        .flat_map(|event| &event.faults)
        .filter_map(|fault| match fault {
            Fault::Delayed { hold_ms } => Some(*hold_ms),
            _ => None,
        })
        .collect();
    assert!(
        holds.iter().any(|&ms| ms > 1) && holds.iter().all(|&ms| ms <= 20),
        "{holds:?}"
    );

    let tokens: HashSet<String> = truth
        .iter()
        .filter_map(|session| session.authorization_token.clone())
        .collect();
    let mut reordered = 0;
    let mut empty_seen = 0;
    for session in &truth {
        let posts = recorder.for_session(&session.session_id);
        let events = by_event(&posts);
        for event in &session.events {
            let copies = events.get(&event.event_id).map_or(0, Vec::len);
            let faults = &event.faults;
            let has = |wanted: fn(&Fault) -> bool| faults.iter().any(wanted);
            if has(|f| matches!(f, Fault::Lost)) {
                assert_eq!(copies, 0, "a lost event arrived");
                continue;
            }
            // Full-body copies: the first attempt, one more when its answer was ignored
            // without emptying the retries, and the duplicate.
            let expected =
                1 + usize::from(
                    has(|f| matches!(f, Fault::AnswerDropped))
                        && !has(|f| matches!(f, Fault::EmptyRetry)),
                ) + usize::from(has(|f| matches!(f, Fault::Duplicated { .. })));
            assert_eq!(copies, expected, "{faults:?}");
        }
        // Empty bodies come from events with the empty-retry fault, one each (the retry is
        // answered 200).
        let empty = posts.iter().filter(|post| post.body.is_empty()).count();
        let expected_empty = session
            .events
            .iter()
            .filter(|event| event.faults.contains(&Fault::EmptyRetry))
            .count();
        assert_eq!(empty, expected_empty);
        empty_seen += empty;
        // In the truth: empty bodies are retries, never a first attempt, and carry no
        // status; every other POST carries its event's status.
        for attempt in &session.attempts {
            assert_eq!(attempt.status.is_none(), attempt.empty_body);
            if attempt.empty_body {
                assert_eq!((attempt.kind, attempt.attempt), (DeliveryKind::Retry, 2));
            }
        }
        assert!(
            posts
                .iter()
                .filter(|post| post.body.is_empty())
                .all(Received::has_secret)
        );

        // Forgeries: wrong secret, a lying COMPLETED with a token never issued.
        let forged: Vec<_> = posts.iter().filter(|post| !post.has_secret()).collect();
        let forged_faults: Vec<_> = session
            .events
            .iter()
            .flat_map(|event| &event.faults)
            .filter_map(|fault| match fault {
                Fault::Forged {
                    event_id,
                    authorization_token,
                    secret_replaced,
                    ..
                } => {
                    assert!(secret_replaced);
                    Some((event_id.clone(), authorization_token.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(forged.len(), forged_faults.len());
        for post in forged {
            assert!(post.query.as_deref().unwrap().starts_with("secret="));
            assert_eq!(
                post.query.as_deref().unwrap().len(),
                format!("secret={SECRET}").len()
            );
            assert_eq!(post.status().as_deref(), Some("COMPLETED"));
            let body = post.json().unwrap();
            // About this session, and a lie that wins by time: dated after every true
            // change before it.
            assert_eq!(body["session"]["session_id"], session.session_id.as_str());
            let expires_at: Timestamp = body["session"]["expires_at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(expires_at, session.expires_at);
            let updated_at: Timestamp = body["session"]["updated_at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(updated_at > session.history[0].updated_at, "{body}");
            let token = body["session"]["authorization_token"].as_str().unwrap();
            assert!(!tokens.contains(token));
            let event_id = post.event_id().unwrap();
            assert!(forged_faults.contains(&(event_id.clone(), token.to_owned())));
            assert!(
                faults_of(session, &event_id).is_empty(),
                "a forged event_id is a real one"
            );
        }

        // Reordering: the first arrival of each delivered event, in arrival order, against
        // the order of the changes.
        let mut firsts: Vec<(std::time::Instant, String)> = events
            .iter()
            .filter(|(event_id, _)| session.events.iter().any(|e| &e.event_id == *event_id))
            .map(|(event_id, posts)| (posts.iter().map(|p| p.at).min().unwrap(), event_id.clone()))
            .collect();
        firsts.sort();
        let order: Vec<usize> = firsts
            .iter()
            .map(|(_, id)| {
                session
                    .events
                    .iter()
                    .position(|e| &e.event_id == id)
                    .unwrap()
            })
            .collect();
        reordered += usize::from(order.windows(2).any(|w| w[1] < w[0]));

        // Nothing is ever called back for a Disable (none here) and DISABLED never arrives.
        assert!(
            posts
                .iter()
                .all(|post| post.status().as_deref() != Some("DISABLED"))
        );
    }
    assert_eq!(empty_seen as u64, c.empty_bodies);
    assert!(empty_seen > 0);
    assert!(
        reordered > 5,
        "only {reordered} sessions saw callbacks out of order"
    );
    // The recorder answers 200 to anything, forgeries included.
    assert_eq!(c.forged_acknowledged, c.forged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_disable_stops_the_consumer_and_is_never_called_back() {
    let mut config = fast_config();
    config.consumer.abandon_rate = 0.0;
    config.time.compression = 5_000.0; // pauses of 2 ms to 120 ms
    config.consumer.think_max = Duration::from_secs(600);
    let sim = start(config).await;
    let recorder = Recorder::start(Behavior::Answer(200)).await;
    let api = Api::new(&sim);
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(api.create_kp("NONE", Some(&recorder.status_update())).await);
    }
    tokio::time::sleep(Duration::from_millis(15)).await;
    let mut disabled = Vec::new();
    for id in &ids {
        if api.disable(id).await.code == 204 {
            disabled.push(id.clone());
        }
    }
    assert!(
        disabled.len() > 5,
        "only {} sessions were still open",
        disabled.len()
    );
    sim.wait_until_settled(Duration::from_secs(10))
        .await
        .unwrap();
    for id in &disabled {
        let truth = sim.session(id).unwrap();
        let last = truth.history.last().unwrap();
        assert_eq!(
            (last.status.as_str(), last.cause.as_str()),
            ("DISABLED", "Disable")
        );
        assert!(!last.called_back);
        // No event for the Disable, and none after it: the consumer stopped.
        assert_eq!(truth.events.len(), truth.history.len() - 2);
        assert!(
            truth
                .events
                .iter()
                .all(|event| event.updated_at < last.updated_at)
        );
    }
    assert!(
        recorder
            .received()
            .iter()
            .all(|post| post.status().as_deref() != Some("DISABLED"))
    );
}

/// A simulator on `config` with one Klarna Payments session whose merchant URLs are
/// `urls(base)` (`base`: a recorder's, answering 200), after it settled: the simulator, the
/// recorder and the session's id.
async fn settled_with_merchant_urls(
    config: hpp_sim::SimConfig,
    urls: impl FnOnce(&str) -> serde_json::Value,
) -> (hpp_sim::SimHandle, std::sync::Arc<Recorder>, String) {
    let sim = start(config).await;
    let recorder = Recorder::start(Behavior::Answer(200)).await;
    let reply = Api::new(&sim)
        .create(&serde_json::json!({
            "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp",
            "merchant_urls": urls(&recorder.base),
        }))
        .await;
    let id = reply.body["session_id"].as_str().unwrap().to_owned();
    sim.wait_until_settled(Duration::from_secs(5))
        .await
        .unwrap();
    (sim, recorder, id)
}

#[tokio::test]
async fn redirects_follow_the_merchant_urls_with_placeholders_filled() {
    let mut config = fast_config();
    config.consumer.redirect_rate = 1.0;
    config.consumer.abandon_rate = 0.0;
    config.consumer.outcomes.authorize = 0.0;
    config.consumer.outcomes.decline = 0.0;
    config.consumer.outcomes.error = 0.0;
    config.consumer.outcomes.back = 1.0;
    config.consumer.outcomes.cancel = 1e-9;
    config.consumer.max_visits = 2;
    let (sim, recorder, id) = settled_with_merchant_urls(config, |base| {
        serde_json::json!({
            "back": format!("{base}/back/{{{{session_id}}}}"),
            "cancel": "http://192.0.2.7/cancel/{{session_id}}",
        })
    })
    .await;
    let truth = sim.session(&id).unwrap();
    let back = truth.redirects.iter().find(|r| r.which == "back").unwrap();
    assert_eq!(back.url, format!("{}/back/{id}", recorder.base));
    assert_eq!(back.answer, Some(Answer::Status { code: 200 }));
    // Not loopback: recorded, never visited.
    let cancel = truth
        .redirects
        .iter()
        .find(|r| r.which == "cancel")
        .unwrap();
    assert_eq!(cancel.url, format!("http://192.0.2.7/cancel/{id}"));
    assert_eq!(cancel.answer, None);
    assert_eq!(sim.summary().redirects, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_success_redirect_carries_the_token_and_a_zero_rate_makes_none() {
    for redirect_rate in [1.0, 0.0] {
        let mut config = fast_config();
        paying_consumers(&mut config);
        config.consumer.redirect_rate = redirect_rate;
        let (sim, recorder, id) = settled_with_merchant_urls(config, |base| {
            serde_json::json!({
                "success": format!("{base}/success/{{{{session_id}}}}/{{{{authorization_token}}}}"),
            })
        })
        .await;
        let truth = sim.session(&id).unwrap();
        if redirect_rate == 0.0 {
            assert!(truth.redirects.is_empty(), "{:?}", truth.redirects);
            continue;
        }
        let token = truth.authorization_token.as_deref().unwrap();
        let success = truth
            .redirects
            .iter()
            .find(|r| r.which == "success")
            .unwrap();
        assert_eq!(
            success.url,
            format!("{}/success/{id}/{token}", recorder.base)
        );
    }
}
