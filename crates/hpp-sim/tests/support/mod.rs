//! What the integration tests share: a simulator on 127.0.0.1:0 with time compressed hard,
//! an HTTP client for its API, and a merchant that records every callback it receives.

#![allow(dead_code)] // each test file uses a different part

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Html;
use axum::routing::{get, post};
use hpp_sim::{FaultConfig, SimConfig, SimHandle, Simulator};
use serde_json::{Value, json};

pub const USER: &str = "merchant";
pub const PASSWORD: &str = "hpp-sim";
/// The secret the recorder's `status_update` URLs carry.
pub const SECRET: &str = "s3cr3t-0123456789abcdef";

/// A configuration for tests: no faults, every world duration divided by a million (a
/// 47-hour session lives 169 ms), long tokens, short pauses.
pub fn fast_config() -> SimConfig {
    let mut config = SimConfig {
        faults: FaultConfig::none(),
        // Tests of the rate limits turn them on; the rest send as fast as they like.
        rate_limits: hpp_sim::RateLimits::OFF,
        ..SimConfig::default()
    };
    config.time.compression = 1_000_000.0;
    config.time.session_lifetime = Duration::from_secs(47 * 3600);
    // Tokens live a day of world time: 86 ms of wall time would race the tests.
    config.time.token_lifetime = Duration::from_secs(3600 * 1_000_000 / 1000);
    config.consumer.think_min = Duration::from_secs(1); // 1 µs
    config.consumer.think_max = Duration::from_secs(2000); // 2 ms
    config.delivery.timeout = Some(Duration::from_secs(2));
    config.delivery.retry_delay = Duration::from_secs(5000); // 5 ms
    config.faults.max_hold = Duration::from_secs(10_000); // 10 ms
    config
}

/// A consumer that never leaves WAITING within a test: its first pause is an hour of
/// wall time.
pub fn idle_consumers(config: &mut SimConfig) {
    config.time.compression = 1.0;
    config.consumer.think_min = Duration::from_secs(3600);
    config.consumer.think_max = Duration::from_secs(3600);
}

/// No consumers: a test steps every session itself; real time (compression 1), so that
/// nothing expires unless the test advances the clock.
pub fn manual_config() -> SimConfig {
    let mut config = fast_config();
    config.manual = true;
    config.time = hpp_sim::TimeConfig::default();
    config.time.compression = 1.0;
    config.delivery.timeout = Some(Duration::from_secs(2));
    config.delivery.retry_delay = Duration::from_secs(3600);
    config
}

/// A consumer that pays at once: authorize only, no interludes, no abandon.
pub fn paying_consumers(config: &mut SimConfig) {
    config.consumer.abandon_rate = 0.0;
    config.consumer.timeout_rate = 0.0;
    config.consumer.manual_id_check_rate = 0.0;
    config.consumer.outcomes = hpp_sim::OutcomeWeights {
        authorize: 1.0,
        decline: 0.0,
        cancel: 0.0,
        back: 0.0,
        error: 0.0,
    };
}

pub async fn start(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0 for the simulator");
    Simulator::new(config)
        .expect("a valid test configuration")
        .serve(listener)
        .await
        .expect("the simulator starts")
}

/// A client of the simulator's API.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

/// A status code and a JSON body (Null when the body is empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Api {
    pub fn new(sim: &SimHandle) -> Api {
        Api {
            base: sim.base_url().to_owned(),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the simulator answers");
        let code = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        Reply {
            code,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    /// POSTs `body` as it is, with a JSON content type.
    pub async fn send_raw(&self, url: &str, body: &str) -> Reply {
        self.send(
            self.client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned()),
        )
        .await
    }

    pub async fn create(&self, body: &Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}/hpp/v1/sessions", self.base))
                .basic_auth(USER, Some(PASSWORD))
                .json(body),
        )
        .await
    }

    /// Creates a Klarna Payments session with `mode` and an optional `status_update`.
    pub async fn create_kp(&self, mode: &str, status_update: Option<&str>) -> String {
        let mut body = json!({
            "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp-session-1",
            "options": {"place_order_mode": mode},
        });
        if let Some(url) = status_update {
            body["merchant_urls"] = json!({ "status_update": url });
        }
        let reply = self.create(&body).await;
        assert_eq!(reply.code, 201, "create: {:?}", reply.body);
        reply.body["session_id"].as_str().unwrap().to_owned()
    }

    pub async fn read(&self, session_id: &str) -> Reply {
        self.send(
            self.client
                .get(format!("{}/hpp/v1/sessions/{session_id}", self.base))
                .basic_auth(USER, Some(PASSWORD)),
        )
        .await
    }

    pub async fn disable(&self, session_id: &str) -> Reply {
        self.send(
            self.client
                .delete(format!("{}/hpp/v1/sessions/{session_id}", self.base))
                .basic_auth(USER, Some(PASSWORD)),
        )
        .await
    }

    pub async fn order(&self, token: &str, idempotency_key: Option<&str>) -> Reply {
        let mut request = self
            .client
            .post(format!(
                "{}/payments/v1/authorizations/{token}/order",
                self.base
            ))
            .basic_auth(USER, Some(PASSWORD))
            .json(&json!({"purchase_country": "SE", "order_amount": 1000}));
        if let Some(key) = idempotency_key {
            request = request.header(hpp_sim::IDEMPOTENCY_KEY, key);
        }
        self.send(request).await
    }

    /// `POST /_sim/sessions/{id}/step` with `{"action": action}`.
    pub async fn step(&self, session_id: &str, action: &str) -> Reply {
        self.send(
            self.client
                .post(format!("{}/_sim/sessions/{session_id}/step", self.base))
                .json(&json!({ "action": action })),
        )
        .await
    }

    /// `POST /_sim/clock` with `body`.
    pub async fn clock(&self, body: &Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}/_sim/clock", self.base))
                .json(body),
        )
        .await
    }

    /// Reads until the session shows `status` (or fails after 5 s).
    pub async fn read_until(&self, session_id: &str, status: &str) -> Value {
        let started = Instant::now();
        loop {
            let reply = self.read(session_id).await;
            if reply.code == 200 && reply.body["status"] == status {
                return reply.body;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "session {session_id} never showed {status}; last: {} {:?}",
                reply.code,
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// One callback the recorder received.
#[derive(Clone, Debug)]
pub struct Received {
    pub session_id: String,
    pub query: Option<String>,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn event_id(&self) -> Option<String> {
        self.json()?["event_id"].as_str().map(str::to_owned)
    }

    pub fn status(&self) -> Option<String> {
        self.json()?["session"]["status"]
            .as_str()
            .map(str::to_owned)
    }

    pub fn has_secret(&self) -> bool {
        self.query.as_deref() == Some(&format!("secret={SECRET}"))
    }
}

/// How the recorder answers.
#[derive(Clone, Copy, Debug)]
pub enum Behavior {
    /// Answer at once with this status code.
    Answer(u16),
    /// Answer 200 after this long.
    Hang(Duration),
}

/// A merchant that records every callback and answers as told.
pub struct Recorder {
    pub base: String,
    received: Mutex<Vec<Received>>,
    behavior: Mutex<Behavior>,
    /// Every GET of `/ok/...` and `/back/...` (path and query): the browser's redirects.
    visits: Mutex<Vec<String>>,
}

impl Recorder {
    pub async fn start(behavior: Behavior) -> Arc<Recorder> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the recorder");
        let recorder = Arc::new(Recorder {
            base: format!("http://{}", listener.local_addr().unwrap()),
            received: Mutex::new(Vec::new()),
            behavior: Mutex::new(behavior),
            visits: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/cb/{session_id}", post(receive))
            .route("/back/{session_id}", get(visit))
            .route("/ok/{session_id}", get(visit))
            .with_state(Arc::clone(&recorder));
        tokio::spawn(async move { axum::serve(listener, app).await });
        recorder
    }

    /// The `status_update` template with the secret.
    pub fn status_update(&self) -> String {
        format!("{}/cb/{{{{session_id}}}}?secret={SECRET}", self.base)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn for_session(&self, session_id: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|received| received.session_id == session_id)
            .collect()
    }

    /// The `success` template: `/ok/{{session_id}}?token={{authorization_token}}`.
    pub fn success(&self) -> String {
        format!(
            "{}/ok/{{{{session_id}}}}?token={{{{authorization_token}}}}",
            self.base
        )
    }

    /// The paths (with query) of every redirect visit so far.
    pub fn visits(&self) -> Vec<String> {
        self.visits.lock().unwrap().clone()
    }

    pub fn set_behavior(&self, behavior: Behavior) {
        *self.behavior.lock().unwrap() = behavior;
    }
}

/// A redirect of the consumer's browser: recorded, answered with a small page.
async fn visit(State(recorder): State<Arc<Recorder>>, uri: Uri) -> Html<&'static str> {
    recorder.visits.lock().unwrap().push(uri.to_string());
    Html("<!doctype html><title>merchant</title><h1 id=\"merchant\">redirected</h1>")
}

async fn receive(
    State(recorder): State<Arc<Recorder>>,
    Path(session_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> StatusCode {
    recorder.received.lock().unwrap().push(Received {
        session_id,
        query,
        body,
        at: Instant::now(),
    });
    let behavior = *recorder.behavior.lock().unwrap();
    match behavior {
        Behavior::Answer(code) => StatusCode::from_u16(code).unwrap(),
        Behavior::Hang(wait) => {
            tokio::time::sleep(wait).await;
            StatusCode::OK
        }
    }
}
