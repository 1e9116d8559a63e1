//! Klarna's contract beyond the payloads: rate limits with `Retry-After`, 429 storms, a
//! create order whose answer is lost after the order was placed, and stale reads, over real
//! HTTP on 127.0.0.1.

mod support;

use std::time::Duration;

use hpp_sim::{Operation, OrderResult, RateLimits, Storm};
use support::{Api, manual_config, start};

/// Sleeps until the start of the next wall-clock second, so that a short burst falls in one
/// second of the limiter.
async fn at_the_next_second() {
    let (_, nanos) = hpp_status::wire::Timestamp::now().unix();
    tokio::time::sleep(Duration::from_nanos(u64::from(1_000_000_000 - nanos))).await;
}

#[track_caller]
fn header<'a>(reply: &'a support::Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", reply.headers))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn over_the_budget_a_merchant_gets_429_with_retry_after_until_the_second_ends() {
    let mut config = manual_config();
    config.rate_limits = RateLimits {
        create: 2,
        other: 0,
    };
    let sim = start(config).await;
    let api = Api::new(&sim);
    let body = serde_json::json!({
        "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp-1",
    });
    at_the_next_second().await;
    let first = api.create(&body).await;
    let second = api.create(&body).await;
    let third = api.create(&body).await;
    assert_eq!((first.code, second.code, third.code), (201, 201, 429));
    assert_eq!(
        header(&first, "x-ratelimit-limit"),
        "2;w=1;name=\"create-hosted-page-session\""
    );
    assert_eq!(header(&first, "x-ratelimit-remaining"), "1");
    assert_eq!(header(&second, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&third, "retry-after"), "1");
    assert_eq!(header(&third, "x-ratelimit-remaining"), "0");
    assert_eq!(third.body["error_code"], "TOO_MANY_REQUESTS");
    // Other operations have no limit here, and the next second has a budget again.
    let id = first.body["session_id"].as_str().unwrap();
    assert_eq!(api.read(id).await.code, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(api.create(&body).await.code, 201);

    let summary = sim.summary();
    let creates = summary.calls[&Operation::CreateSession];
    assert_eq!((creates.calls, creates.rate_limited), (4, 1));
    assert_eq!(summary.calls[&Operation::ReadSession].calls, 1);
    assert_eq!(summary.sessions, 3, "a refused create creates nothing");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_storm_refuses_its_operation_for_its_window_and_nothing_else() {
    let mut config = manual_config();
    config.faults.storms = vec![Storm {
        operation: Operation::CreateOrder,
        start: Duration::ZERO,
        length: Duration::from_secs(3600),
    }];
    let sim = start(config).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", None).await;
    api.step(&id, "EnterPage").await;
    let token = api.step(&id, "Authorize").await.body["authorization_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = api.order(&token, None).await;
    assert_eq!(refused.code, 429);
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((3590..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(api.read(&id).await.code, 200, "reads are not in the storm");
    assert!(
        sim.session(&id).unwrap().orders.is_empty(),
        "nothing reached create order"
    );

    // Once the storm is over (the test clock moves past it), the order goes through.
    api.clock(&serde_json::json!({"advance": "1h"})).await;
    assert_eq!(
        api.order(&token, None).await.code,
        404,
        "the token expired meanwhile"
    );
    let orders = sim.summary().calls[&Operation::CreateOrder];
    assert_eq!((orders.calls, orders.storm_refused), (2, 1));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_lost_answer_leaves_the_order_placed_and_the_merchant_without_an_answer() {
    let mut config = manual_config();
    config.faults.order_answer_lost = 1.0;
    let sim = start(config).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", None).await;
    api.step(&id, "EnterPage").await;
    let token = api.step(&id, "Authorize").await.body["authorization_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let call = api
        .client
        .post(format!(
            "{}/payments/v1/authorizations/{token}/order",
            api.base
        ))
        .basic_auth(support::USER, Some(support::PASSWORD))
        .header(hpp_sim::IDEMPOTENCY_KEY, "attempt-1")
        .json(&serde_json::json!({"order_amount": 1000}))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    let error = call.expect_err("the answer is lost");
    assert!(error.is_timeout(), "{error}");
    let truth = sim.session(&id).unwrap();
    assert_eq!(truth.orders_placed(), 1, "placed all the same");
    assert!(truth.orders[0].answer_lost);
    // The merchant's retry with the same key is refused, and told apart from a second order.
    assert_eq!(api.order(&token, Some("attempt-1")).await.code, 404);
    let truth = sim.session(&id).unwrap();
    assert_eq!(truth.orders[1].result, OrderResult::RefusedRetry);
    assert!(
        !truth.orders[1].answer_lost,
        "only a placing call loses its answer"
    );
    let summary = sim.summary();
    assert_eq!((summary.orders.placed, summary.orders.answers_lost), (1, 1));
    assert_eq!(summary.orders.double_orders, 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stale_read_answers_the_status_before_the_last_change() {
    let mut config = manual_config();
    config.faults.read_stale = 1.0;
    let sim = start(config).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", None).await;
    // Nothing older than WAITING: served as it is.
    assert_eq!(api.read(&id).await.body["status"], "WAITING");
    let entered = api.step(&id, "EnterPage").await.body;
    let completed = api.step(&id, "Authorize").await.body;
    let stale = api.read(&id).await.body;
    assert_eq!(stale["status"], "IN_PROGRESS");
    assert_eq!(stale["updated_at"], entered["updated_at"]);
    assert!(stale["authorization_token"].is_null(), "{stale}");
    assert_ne!(stale["updated_at"], completed["updated_at"]);
    let reads = sim.session(&id).unwrap().reads;
    assert_eq!((reads.served, reads.stale), (2, 1));
    assert_eq!(sim.summary().reads.stale, 1);
    sim.shutdown().await.unwrap();
}
