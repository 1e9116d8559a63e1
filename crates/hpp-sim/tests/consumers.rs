//! Consumers: every planned walk fits the lifecycle, and every history the simulator serves
//! is a legal observation sequence for the core.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hpp_sim::{ConsumerConfig, Interlude, Move, OutcomeWeights, SessionState, Walk};
use hpp_status::Status;
use hpp_status::wire::{ReportedStatus, Timestamp};
use proptest::prelude::*;
use rand::SeedableRng as _;
use serde_json::json;
use support::{Api, Recorder, fast_config, start};

fn consumer_config() -> impl Strategy<Value = ConsumerConfig> {
    (
        0.0..=1.0f64,
        0.0..=1.0f64,
        0.0..=1.0f64,
        1u32..=6,
        proptest::array::uniform5(0.0..=3.0f64),
        0.01..=3.0f64,
    )
        .prop_map(
            |(abandon, timeout, manual, visits, weights, authorize)| ConsumerConfig {
                abandon_rate: abandon,
                timeout_rate: timeout,
                manual_id_check_rate: manual,
                max_visits: visits,
                outcomes: OutcomeWeights {
                    authorize,
                    decline: weights[1],
                    cancel: weights[2],
                    back: weights[3],
                    error: weights[4],
                },
                ..ConsumerConfig::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every move of a planned walk fits; a consumer who does not abandon ends in a final
    /// status within `max_visits` visits; one who abandons never does, and has left the
    /// page (TIMEOUT) if it was on it.
    #[test]
    fn planned_walks_fit_the_lifecycle(config in consumer_config(), seed in any::<u64>()) {
        let think = (Duration::from_millis(1), Duration::from_millis(9));
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let walk = Walk::plan(&mut rng, &config, think);
        let mut state = SessionState::NEW;
        let mut visits = 0;
        for planned in &walk.moves {
            prop_assert!(!state.is_final(), "a move after a final status");
            prop_assert!((think.0..=think.1).contains(&planned.pause));
            if planned.step == Move::EnterPage {
                visits += 1;
            }
            if planned.redirect {
                prop_assert!(matches!(planned.step, Move::Outcome(_)));
            }
            state.apply(planned.step).map_err(|error| TestCaseError::fail(error.to_string()))?;
        }
        prop_assert!(visits <= config.max_visits);
        if walk.abandons {
            prop_assert!(!state.is_final());
            if state.lifecycle == Status::InProgress {
                prop_assert_eq!(state.interlude, Some(Interlude::Timeout));
            }
        } else {
            prop_assert!(matches!(state.lifecycle, Status::Completed | Status::Cancelled));
        }
    }

    /// The same generator state plans the same walk.
    #[test]
    fn walks_are_reproducible(seed in any::<u64>()) {
        let config = ConsumerConfig::default();
        let think = (Duration::ZERO, Duration::from_millis(3));
        let plan = || Walk::plan(&mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed), &config, think);
        prop_assert_eq!(plan(), plan());
    }
}

#[test]
fn weights_decide_the_outcomes() {
    let only_cancel = ConsumerConfig {
        abandon_rate: 0.0,
        outcomes: OutcomeWeights {
            authorize: 0.0,
            decline: 0.0,
            cancel: 1.0,
            back: 0.0,
            error: 0.0,
        },
        ..ConsumerConfig::default()
    };
    let think = (Duration::ZERO, Duration::ZERO);
    for seed in 0..200 {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let walk = Walk::plan(&mut rng, &only_cancel, think);
        let outcomes: Vec<_> = walk
            .moves
            .iter()
            .filter_map(|planned| match planned.step {
                Move::Outcome(action) => Some(action),
                _ => None,
            })
            .collect();
        assert_eq!(outcomes, [hpp_status::Action::Cancel]);
    }
    // Retries: with only declines allowed before the last visit, every walk has max_visits
    // visits and ends COMPLETED (the last visit can only authorize or cancel).
    let decline_then_pay = ConsumerConfig {
        abandon_rate: 0.0,
        max_visits: 3,
        outcomes: OutcomeWeights {
            authorize: 1e-9,
            decline: 1.0,
            cancel: 0.0,
            back: 0.0,
            error: 0.0,
        },
        ..ConsumerConfig::default()
    };
    for seed in 0..200 {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let walk = Walk::plan(&mut rng, &decline_then_pay, think);
        let visits = walk
            .moves
            .iter()
            .filter(|m| m.step == Move::EnterPage)
            .count();
        assert_eq!(visits, 3);
        assert_eq!(
            walk.moves.last().unwrap().step,
            Move::Outcome(hpp_status::Action::Authorize)
        );
    }
}

/// Checks that a sequence of (status, updated_at) is what an observer may legally see:
/// times increase (strictly for `strict`), nothing follows a final status, and each known
/// status can be reached from the known status before it.
fn assert_legal(session_id: &str, sequence: &[(ReportedStatus, Timestamp)], strict: bool) {
    let mut last_known: Option<Status> = None;
    for pair in sequence.windows(2) {
        let ((before, t0), (after, t1)) = (&pair[0], &pair[1]);
        if strict {
            assert!(t1 > t0, "{session_id}: updated_at {t1} not after {t0}");
        } else {
            assert!(
                t1 >= t0,
                "{session_id}: updated_at went back from {t0} to {t1}"
            );
            if t1 == t0 {
                assert_eq!(before, after, "{session_id}: two statuses at {t0}");
                continue;
            }
        }
        if let Some(known) = before.known() {
            last_known = Some(known);
        }
        assert!(
            !last_known.is_some_and(Status::is_final),
            "{session_id}: {after} after final {before}"
        );
        if let (Some(from), Some(to)) = (last_known, after.known()) {
            assert!(from.can_reach(to), "{session_id}: {from} cannot reach {to}");
        }
    }
}

/// What a poller saw of one session: each status served, with its `updated_at`.
type Observed = Vec<(ReportedStatus, Timestamp)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_histories_are_legal_observation_sequences() {
    let mut config = fast_config();
    config.consumer.timeout_rate = 0.2;
    config.consumer.manual_id_check_rate = 0.2;
    config.consumer.abandon_rate = 0.15;
    let sim = start(config).await;
    let api = Api::new(&sim);
    let recorder = Recorder::start(support::Behavior::Answer(200)).await;
    let mut ids = Vec::new();
    for i in 0..300 {
        let (url, mode) = match i % 3 {
            0 => ("https://api.klarna.com/payments/v1/sessions/kp", "NONE"),
            1 => (
                "https://api.klarna.com/payments/v1/sessions/kp",
                "PLACE_ORDER",
            ),
            _ => ("https://api.klarna.com/checkout/v3/orders/kco", "NONE"),
        };
        let reply = api
            .create(&json!({
                "payment_session_url": url,
                "merchant_urls": {"status_update": recorder.status_update()},
                "options": {"place_order_mode": mode},
            }))
            .await;
        ids.push(reply.body["session_id"].as_str().unwrap().to_owned());
    }
    // Poll every session while they move, recording what Read Session served.
    let served: Arc<Mutex<HashMap<String, Observed>>> = Arc::default();
    let poller = {
        let (api, ids, served) = (api.clone(), ids.clone(), Arc::clone(&served));
        tokio::spawn(async move {
            for _ in 0..4 {
                for id in &ids {
                    let reply = api.read(id).await;
                    if reply.code != 200 {
                        continue;
                    }
                    let status = ReportedStatus::from_wire(reply.body["status"].as_str().unwrap());
                    let at: Timestamp = reply.body["updated_at"].as_str().unwrap().parse().unwrap();
                    served
                        .lock()
                        .unwrap()
                        .entry(id.clone())
                        .or_default()
                        .push((status, at));
                }
            }
        })
    };
    let summary = sim
        .wait_until_settled(Duration::from_secs(20))
        .await
        .expect("every session settles");
    poller.await.unwrap();
    assert_eq!(summary.sessions, 300);
    assert_eq!(summary.open, 0);

    let truth = sim.truth();
    let mut interludes = HashMap::<&str, usize>::new();
    let mut visits = 0;
    for session in &truth {
        let history: Vec<_> = session
            .history
            .iter()
            .map(|change| (change.status.clone(), change.updated_at))
            .collect();
        assert_eq!(history[0].0.as_str(), "WAITING");
        assert_legal(&session.session_id, &history, true);
        for change in &session.history {
            match change.cause.as_str() {
                "Show(TIMEOUT)" => *interludes.entry("TIMEOUT").or_default() += 1,
                "Show(MANUAL_ID_CHECK)" => *interludes.entry("MANUAL_ID_CHECK").or_default() += 1,
                "EnterPage" => visits += 1,
                _ => {}
            }
        }
        // What Read Session served is a legal sequence, and each served pair is in the
        // history.
        if let Some(reads) = served.lock().unwrap().get(&session.session_id) {
            assert_legal(&session.session_id, reads, false);
            for read in reads {
                assert!(
                    history.contains(read),
                    "{}: served {read:?} is not in the history",
                    session.session_id
                );
            }
        }
        // Interludes are never final; a session left in one expired.
        match session.final_status() {
            Some(Status::Completed) => {
                let mode_none = session.place_order_mode == hpp_sim::PlaceOrderMode::None
                    && session.payment == hpp_sim::PaymentKind::KlarnaPayments;
                assert_eq!(session.authorization_token.is_some(), mode_none);
                assert_eq!(session.order_id.is_some(), !mode_none);
                assert_eq!(session.klarna_reference.is_some(), !mode_none);
            }
            Some(_) => assert!(session.authorization_token.is_none() && session.order_id.is_none()),
            None => {
                assert!(session.expired, "{} is open", session.session_id);
                assert!(
                    session.abandoned,
                    "{} expired but its consumer did not give up",
                    session.session_id
                );
            }
        }
        // The callbacks carried the same sequence: one event per change after creation.
        assert_eq!(session.events.len(), session.history.len() - 1);
        for (event, change) in session.events.iter().zip(&session.history[1..]) {
            assert_eq!(
                (&event.status, event.updated_at),
                (&change.status, change.updated_at)
            );
        }
    }
    // Rates: seeded, so the counts are fixed; the bands document the configured rates.
    let timeouts = interludes["TIMEOUT"];
    let manual = interludes["MANUAL_ID_CHECK"];
    assert!(
        (visits / 8..=visits * 3 / 10).contains(&manual),
        "{manual} MANUAL_ID_CHECK in {visits} visits at 0.2"
    );
    assert!(
        (visits / 10..=visits / 2).contains(&timeouts),
        "{timeouts} TIMEOUT in {visits} visits at 0.2 (+ abandons)"
    );
    assert!(
        (20..=80).contains(&summary.abandoned),
        "{} of 300 abandoned at 0.15",
        summary.abandoned
    );
    assert_eq!(summary.expired, summary.abandoned);
    for status in ["COMPLETED", "CANCELLED"] {
        assert!(summary.by_status[status] > 20, "{:?}", summary.by_status);
    }
    assert!(summary.orders.tokens_issued > 20 && summary.orders.klarna_placed > 20);
    sim.shutdown().await.unwrap();
}

/// Creates `count` sessions one after the other and returns (id, causes, event ids, faults)
/// of each once settled.
async fn run(
    seed: u64,
    count: usize,
) -> Vec<(String, Vec<String>, Vec<String>, Vec<hpp_sim::Fault>)> {
    let mut config = fast_config();
    config.seed = seed;
    config.faults = hpp_sim::FaultConfig::default();
    config.faults.max_hold = Duration::from_secs(10_000);
    let sim = start(config).await;
    let api = Api::new(&sim);
    let recorder = Recorder::start(support::Behavior::Answer(200)).await;
    for _ in 0..count {
        api.create_kp("NONE", Some(&recorder.status_update())).await;
    }
    sim.wait_until_settled(Duration::from_secs(10))
        .await
        .unwrap();
    sim.truth()
        .into_iter()
        .map(|session| {
            let causes = session
                .history
                .iter()
                .map(|change| change.cause.clone())
                .collect();
            let events = session
                .events
                .iter()
                .map(|event| event.event_id.clone())
                .collect();
            let faults = session
                .events
                .iter()
                .flat_map(|event| event.faults.clone())
                .collect();
            (session.session_id, causes, events, faults)
        })
        .collect()
}

#[tokio::test]
async fn a_seed_and_the_order_of_creation_fix_ids_walks_and_faults() {
    let first = run(7, 30).await;
    let again = run(7, 30).await;
    assert_eq!(first, again);
    let other = run(8, 30).await;
    assert_ne!(first[0].0, other[0].0);
    assert_ne!(
        first.iter().map(|s| &s.1).collect::<Vec<_>>(),
        other.iter().map(|s| &s.1).collect::<Vec<_>>()
    );
}

/// With `consumers_wait_for_page`, a session nobody was sent to is never paid: it waits in
/// `WAITING` until it expires; opening its page (`redirect_url`) starts its consumer.
#[tokio::test]
async fn consumers_that_wait_for_the_page_start_only_when_it_is_opened() {
    let mut config = fast_config();
    support::paying_consumers(&mut config);
    config.consumers_wait_for_page = true;
    config.time.compression = 100_000.0; // a 47-hour session lives 1.7 s
    let sim = start(config).await;
    let api = Api::new(&sim);
    let handed_out = api.create_kp("NONE", None).await;
    let never_handed_out = api.create_kp("NONE", None).await;
    let page = reqwest::get(format!("{}/hpp/pay/{handed_out}", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    sim.wait_until_settled(Duration::from_secs(10))
        .await
        .unwrap();
    let paid = sim.session(&handed_out).unwrap();
    assert_eq!(paid.final_status(), Some(Status::Completed));
    let waiting = sim.session(&never_handed_out).unwrap();
    assert!(waiting.expired, "{waiting:?}");
    assert_eq!(
        waiting.history.len(),
        1,
        "only `created`: {:?}",
        waiting.history
    );
    assert_eq!(waiting.authorization_token, None);
    assert!(!waiting.owes_order());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_id_check_carries_its_challenge_and_expiry_and_no_other_status_does() {
    let mut config = fast_config();
    config.consumer.timeout_rate = 0.0;
    config.consumer.manual_id_check_rate = 1.0;
    let sim = start(config).await;
    let api = Api::new(&sim);
    let recorder = Recorder::start(support::Behavior::Answer(200)).await;
    for _ in 0..20 {
        api.create_kp("NONE", Some(&recorder.status_update())).await;
    }
    sim.wait_until_settled(Duration::from_secs(20))
        .await
        .expect("every session settles");
    let token_lifetime = sim.timing().token_lifetime;
    let (mut manual, mut other) = (0, 0);
    for received in recorder.received() {
        let Some(body) = received.json() else {
            continue; // an empty-body retry
        };
        let session = &body["session"];
        let identification = &session["manual_identification"];
        if session["status"] == "MANUAL_ID_CHECK" {
            manual += 1;
            assert!(
                !identification["challenge"].as_str().unwrap().is_empty(),
                "{session}"
            );
            let updated_at: Timestamp = session["updated_at"].as_str().unwrap().parse().unwrap();
            let expires_at: Timestamp = identification["expires_at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            // A sixth of the token's lifetime after the check began (the API writes
            // milliseconds).
            let expected = updated_at.checked_add(token_lifetime / 6).unwrap();
            let (expected, written) = (expected.unix(), expires_at.unix());
            assert_eq!(
                (written.0, written.1 / 1_000_000),
                (expected.0, expected.1 / 1_000_000),
                "{session}"
            );
        } else {
            other += 1;
            assert!(identification.is_null(), "{session}");
        }
    }
    assert!(
        manual > 0 && other > 0,
        "{manual} MANUAL_ID_CHECK, {other} others"
    );
}
