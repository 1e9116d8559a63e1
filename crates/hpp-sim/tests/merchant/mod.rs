//! A small merchant service for the tests: checkouts, callbacks checked against a
//! per-session secret, a batch that reads every open session, and orders placed once with
//! an idempotency key. Its [`Flaw`]s are the bugs the simulator must catch.

#![allow(dead_code)] // each test file uses a different part

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// The bug the merchant has, if any.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flaw {
    /// None: reads before acting, one order per token, a batch for lost callbacks.
    None,
    /// Places an order with any token a callback body carries, secret or not.
    TrustsBodies,
    /// Never places an order.
    NeverOrders,
    /// Places every order twice, without an idempotency key.
    OrdersTwice,
}

#[derive(Default)]
struct Checkout {
    secret: String,
    ordered: bool,
    done: bool,
}

pub struct Merchant {
    pub base: String,
    sim: Mutex<String>,
    flaw: Flaw,
    client: reqwest::Client,
    checkouts: Mutex<HashMap<String, Checkout>>,
    secrets: AtomicU64,
}

impl Merchant {
    /// Starts the merchant on 127.0.0.1:0 against the simulator at `sim` (which may be set
    /// later with [`Merchant::set_sim`]).
    pub async fn start(sim: &str, flaw: Flaw) -> Arc<Merchant> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the merchant");
        let merchant = Arc::new(Merchant {
            base: format!("http://{}", listener.local_addr().unwrap()),
            sim: Mutex::new(sim.to_owned()),
            flaw,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            checkouts: Mutex::new(HashMap::new()),
            secrets: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/checkouts", post(create_checkout))
            .route("/cb/{session_id}", post(callback))
            .with_state(Arc::clone(&merchant));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let batch = Arc::clone(&merchant);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let open: Vec<String> = batch
                    .checkouts
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(_, checkout)| !checkout.done)
                    .map(|(id, _)| id.clone())
                    .collect();
                // Concurrent reads: a batch that reads one session after the other falls
                // behind, and a completion whose callback was lost expires unread.
                let reads: Vec<_> = open
                    .into_iter()
                    .map(|id| {
                        let merchant = Arc::clone(&batch);
                        tokio::spawn(async move { merchant.read_and_act(&id).await })
                    })
                    .collect();
                for read in reads {
                    let _ = read.await;
                }
            }
        });
        merchant
    }

    fn sim(&self) -> String {
        self.sim.lock().unwrap().clone()
    }

    async fn read_and_act(&self, session_id: &str) {
        let Ok(response) = self
            .client
            .get(format!("{}/hpp/v1/sessions/{session_id}", self.sim()))
            .basic_auth("merchant", Some("hpp-sim"))
            .send()
            .await
        else {
            return;
        };
        match response.status().as_u16() {
            404 => {
                if let Some(checkout) = self.checkouts.lock().unwrap().get_mut(session_id) {
                    checkout.done = true;
                }
                return;
            }
            200 => {}
            _ => return, // an injected 5xx: the batch reads again
        }
        let Ok(session) = response.json::<Value>().await else {
            return;
        };
        let status = session["status"].as_str().unwrap_or_default();
        let token = session["authorization_token"].as_str();
        let place = {
            let mut checkouts = self.checkouts.lock().unwrap();
            let Some(checkout) = checkouts.get_mut(session_id) else {
                return;
            };
            if matches!(status, "COMPLETED" | "CANCELLED" | "DISABLED") {
                checkout.done = true;
            }
            let place = status == "COMPLETED"
                && token.is_some()
                && !checkout.ordered
                && self.flaw != Flaw::NeverOrders;
            checkout.ordered |= place;
            place
        };
        if let (true, Some(token)) = (place, token) {
            self.order(token, Some(session_id)).await;
            if self.flaw == Flaw::OrdersTwice {
                self.order(token, None).await;
            }
        }
    }

    async fn order(&self, token: &str, key: Option<&str>) {
        let mut request = self
            .client
            .post(format!(
                "{}/payments/v1/authorizations/{token}/order",
                self.sim()
            ))
            .basic_auth("merchant", Some("hpp-sim"))
            .json(&json!({"order_amount": 1000}));
        if let Some(key) = key {
            request = request.header("Klarna-Idempotency-Key", key);
        }
        let _ = request.send().await;
    }
}

async fn create_checkout(State(merchant): State<Arc<Merchant>>, body: Bytes) -> Response {
    let mode = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body["place_order_mode"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "NONE".into());
    let n = merchant.secrets.fetch_add(1, Ordering::Relaxed);
    let secret = format!("secret-{n:016}");
    let created = merchant
        .client
        .post(format!("{}/hpp/v1/sessions", merchant.sim()))
        .basic_auth("merchant", Some("hpp-sim"))
        .json(&json!({
            "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp",
            "merchant_urls": {
                "status_update": format!("{}/cb/{{{{session_id}}}}?secret={secret}", merchant.base),
            },
            "options": {"place_order_mode": mode},
        }))
        .send()
        .await;
    let Ok(created) = created else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if created.status().as_u16() != 201 {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let body: Value = created.json().await.unwrap_or_default();
    let Some(session_id) = body["session_id"].as_str() else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    merchant.checkouts.lock().unwrap().insert(
        session_id.to_owned(),
        Checkout {
            secret,
            ..Checkout::default()
        },
    );
    (
        StatusCode::CREATED,
        axum::Json(json!({"session_id": session_id, "redirect_url": body["redirect_url"]})),
    )
        .into_response()
}

async fn callback(
    State(merchant): State<Arc<Merchant>>,
    Path(session_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> StatusCode {
    if merchant.flaw == Flaw::TrustsBodies
        && let Ok(body) = serde_json::from_slice::<Value>(&body)
        && let Some(token) = body["session"]["authorization_token"].as_str()
    {
        merchant.order(token, None).await;
    }
    let expected = merchant
        .checkouts
        .lock()
        .unwrap()
        .get(&session_id)
        .map(|checkout| checkout.secret.clone());
    if expected.is_none() || query.get("secret") != expected.as_ref() {
        return StatusCode::UNAUTHORIZED;
    }
    let reader = Arc::clone(&merchant);
    tokio::spawn(async move { reader.read_and_act(&session_id).await });
    StatusCode::OK
}

impl Merchant {
    pub fn set_sim(&self, sim: &str) {
        *self.sim.lock().unwrap() = sim.to_owned();
    }
}
