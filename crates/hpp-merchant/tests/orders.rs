//! The order record against Klarna's contract: no order is recorded as placed that Klarna did
//! not place, a lost answer leaves the order unknown, and `hpp-merchant sessions` says so.
//! The simulator runs in manual mode (each session stepped by the test, its clock moved by
//! the test); the merchant on a SQLite file.

mod common;

use std::time::{Duration, Instant};

use common::{CHECKOUT_TOKEN, FAST, sqlite_url, start_sim};
use hpp_merchant::report::session_orders;
use hpp_merchant::{MerchantHandle, serve};
use hpp_sim::{FaultConfig, Operation, OrderResult, SimConfig, SimHandle, Storm};
use hpp_store::OrderState;
use serde_json::json;

/// A manual simulator in real time (compression 1: tokens live 60 minutes, until the test
/// moves the clock), no faults but `faults`, no rate limits.
fn manual(faults: FaultConfig) -> SimConfig {
    let mut config = FAST.sim_config(faults);
    config.manual = true;
    config.time = hpp_sim::TimeConfig::default();
    config.time.compression = 1.0;
    config
}

struct Shop {
    sim: SimHandle,
    merchant: MerchantHandle,
    client: reqwest::Client,
    database_url: String,
    _dir: tempfile::TempDir,
}

async fn start(config: SimConfig, klarna_timeout: Duration) -> Shop {
    let sim = start_sim(config).await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = sqlite_url(&dir, "orders");
    let mut merchant_config = FAST.merchant_config(database_url.clone(), sim.base_url());
    merchant_config.klarna_timeout = klarna_timeout;
    // Real time here: a lease longer than any call.
    merchant_config.effects.lease = Duration::from_secs(30);
    merchant_config.effects.retry_min = Duration::from_millis(10);
    merchant_config.effects.retry_max = Duration::from_millis(100);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant = serve(merchant_config, listener).await.unwrap();
    Shop {
        sim,
        merchant,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        database_url,
        _dir: dir,
    }
}

impl Shop {
    /// A checkout whose consumer pays at once (stepped on the simulator).
    async fn paid_checkout(&self) -> String {
        let response = self
            .client
            .post(format!("{}/checkouts", self.merchant.base_url()))
            .bearer_auth(CHECKOUT_TOKEN)
            .json(&json!({"place_order_mode": "NONE"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        let id = body["session_id"].as_str().unwrap().to_owned();
        for action in ["EnterPage", "Authorize"] {
            let stepped = self
                .client
                .post(format!("{}/_sim/sessions/{id}/step", self.sim.base_url()))
                .json(&json!({ "action": action }))
                .send()
                .await
                .unwrap();
            assert_eq!(stepped.status().as_u16(), 200, "{action}");
        }
        id
    }

    async fn advance(&self, by: &str) {
        let moved = self
            .client
            .post(format!("{}/_sim/clock", self.sim.base_url()))
            .json(&json!({ "advance": by }))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status().as_u16(), 200);
    }

    /// Waits until the store says `session_id`'s order is no longer pending (or fails).
    async fn settled_order(&self, session_id: &str) -> OrderState {
        let started = Instant::now();
        loop {
            let orders = session_orders(self.merchant.store()).await.unwrap();
            let order = orders
                .iter()
                .find(|session| session.session_id == session_id)
                .map(|session| session.order.clone());
            if let Some(order) =
                order.filter(|order| !matches!(order, OrderState::Pending | OrderState::None))
            {
                return order;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the order of {session_id} never settled: {orders:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `hpp-merchant sessions --json` on the shop's database: one parsed line per session.
    fn listed(&self) -> Vec<serde_json::Value> {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hpp-merchant"))
            .args(["sessions", "--json", "--database-url", &self.database_url])
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// The defect: with create order answering 429 until the token expired, every call before
/// the one Klarna refused never reached it; the order was recorded as placed "by an earlier
/// attempt". It is refused, and Klarna has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_after_calls_that_never_reached_klarna_is_refused_never_placed() {
    let faults = FaultConfig {
        storms: vec![Storm {
            operation: Operation::CreateOrder,
            start: Duration::ZERO,
            length: Duration::from_secs(61 * 60),
        }],
        ..FaultConfig::none()
    };
    let shop = start(manual(faults), Duration::from_secs(5)).await;
    let id = shop.paid_checkout().await;
    // The merchant tries, gets 429s, backs off and tries again.
    let started = Instant::now();
    while shop.sim.session(&id).unwrap().orders.is_empty()
        && shop
            .sim
            .summary()
            .calls
            .get(&Operation::CreateOrder)
            .map_or(0, |tally| tally.storm_refused)
            < 3
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no create order call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The storm ends as the token expires: the next call is refused.
    shop.advance("61m").await;
    assert_eq!(shop.settled_order(&id).await, OrderState::Refused);
    let truth = shop.sim.session(&id).unwrap();
    assert_eq!(truth.orders_placed(), 0, "Klarna placed nothing");
    assert_eq!(
        truth.orders.last().unwrap().result,
        OrderResult::TokenExpired
    );
    let listed = shop.listed();
    assert_eq!(
        listed,
        [
            json!({"session_id": id, "status": "COMPLETED", "order": {"state": "refused", "order_id": null}})
        ]
    );
    shop.merchant.shutdown().await;
    shop.sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_leaves_the_order_unknown_and_a_prompt_one_placed() {
    let faults = FaultConfig {
        order_answer_lost: 1.0,
        ..FaultConfig::none()
    };
    let shop = start(manual(faults), Duration::from_millis(500)).await;
    let lost = shop.paid_checkout().await;
    assert_eq!(shop.settled_order(&lost).await, OrderState::Unknown);
    let truth = shop.sim.session(&lost).unwrap();
    // Really ambiguous: Klarna placed it, and its answer never came.
    assert_eq!(truth.orders_placed(), 1);
    assert!(truth.orders[0].answer_lost);
    // The retry carried the same idempotency key: a refused retry, not a second order.
    assert_eq!(truth.orders[1].result, OrderResult::RefusedRetry);
    assert_eq!(shop.sim.summary().orders.double_orders, 0);

    let listed = shop.listed();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["order"],
        json!({"state": "unknown", "order_id": null})
    );
    shop.merchant.shutdown().await;
    shop.sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placed_order_is_listed_with_klarnas_order_id() {
    let shop = start(manual(FaultConfig::none()), Duration::from_secs(5)).await;
    let id = shop.paid_checkout().await;
    let OrderState::Placed { order_id } = shop.settled_order(&id).await else {
        panic!("not placed")
    };
    let truth = shop.sim.session(&id).unwrap();
    assert_eq!(
        truth.orders[0].result,
        OrderResult::Placed {
            order_id: order_id.clone()
        }
    );
    assert_eq!(
        shop.listed(),
        [
            json!({"session_id": id, "status": "COMPLETED", "order": {"state": "placed", "order_id": order_id}})
        ]
    );
    shop.merchant.shutdown().await;
    shop.sim.shutdown().await.unwrap();
}

/// Klarna over HTTPS: a merchant that trusts the simulator's CA (`--klarna-ca`) places the
/// order; one that does not says why its call failed, cause and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_a_trusted_klarna_is_reached_and_an_untrusted_one_is_refused_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("klarna-ca.pem");
    let mut config = manual(FaultConfig::none());
    config.tls = Some(hpp_sim::tls::ServeTls {
        ca_file: Some(ca_file.clone()),
    });
    let sim = start_sim(config).await;
    assert!(sim.base_url().starts_with("https://"));
    let merchant = |klarna_ca: Option<std::path::PathBuf>, name: &'static str| {
        let mut merchant_config = FAST.merchant_config(sqlite_url(&dir, name), sim.base_url());
        merchant_config.klarna_ca = klarna_ca;
        merchant_config.klarna_timeout = Duration::from_secs(5);
        merchant_config.effects.lease = Duration::from_secs(30);
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            serve(merchant_config, listener).await.unwrap()
        }
    };
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let checkout = |merchant: &MerchantHandle| {
        client
            .post(format!("{}/checkouts", merchant.base_url()))
            .bearer_auth(CHECKOUT_TOKEN)
            .json(&json!({"place_order_mode": "NONE"}))
            .send()
    };

    let untrusting = merchant(None, "untrusting").await;
    let refused = checkout(&untrusting).await.unwrap();
    assert_eq!(refused.status().as_u16(), 502);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("error sending request") && text.contains("certificate"),
        "{text}"
    );
    untrusting.shutdown().await;

    let trusting = merchant(Some(ca_file), "trusting").await;
    let created = checkout(&trusting).await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    trusting.shutdown().await;
    sim.shutdown().await.unwrap();
}
