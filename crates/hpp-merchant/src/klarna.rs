//! The calls the merchant makes to Klarna (or the simulator): create a Klarna Payments
//! session, create an HPP session, Read Session, create order; over HTTPS (rustls, the
//! platform's roots, `SSL_CERT_FILE` honoured) and within Klarna's rate limits.
//!
//! The merchant shapes its own traffic: each of Klarna's rate-limit categories has a budget
//! ([`Budgets`]) the calls wait for (GCRA, `governor`), and a 429 pauses the whole category
//! for its `Retry-After`, so that one busy caller does not earn everyone else a 429 too.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hpp_status::wire::{PlaceOrderMode, SessionResponse, Timestamp};
use hpp_store::AttemptAnswer;
use serde::Deserialize;
use tokio::time::Instant;

use crate::metrics::{Metrics, name};

/// The header Klarna reads an idempotency key from.
pub const IDEMPOTENCY_KEY: &str = "Klarna-Idempotency-Key";

/// A call to Klarna that did not give the expected answer; says which call and why.
///
/// ```
/// use hpp_merchant::KlarnaError;
///
/// let error = KlarnaError::Status { call: "create order", code: 503, body: "busy".into() };
/// assert_eq!(error.to_string(), "create order answered 503: busy");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KlarnaError {
    /// No answer (refused, reset, timed out).
    #[error("{call} failed: {reason}")]
    Request {
        /// The call.
        call: &'static str,
        /// Why.
        reason: String,
    },
    /// An unexpected HTTP status.
    #[error("{call} answered {code}: {body}")]
    Status {
        /// The call.
        call: &'static str,
        /// The HTTP status.
        code: u16,
        /// The start of the body.
        body: String,
    },
    /// A body that is not what the call answers.
    #[error("{call} answered a body it should not: {reason}")]
    Body {
        /// The call.
        call: &'static str,
        /// Why.
        reason: String,
    },
}

/// An HPP session just created.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct CreatedSession {
    pub(crate) session_id: String,
    pub(crate) redirect_url: String,
    pub(crate) expires_at: Timestamp,
}

/// What Read Session said.
#[derive(Debug)]
pub(crate) enum Read {
    /// 200 with the session.
    Session(Box<SessionResponse>),
    /// 404: expired or unknown.
    NotFound,
}

/// Requests per second the merchant allows itself in each of Klarna's rate-limit
/// categories; 0 sets no budget (the calls still honour a 429's `Retry-After`).
///
/// ```
/// use hpp_merchant::Budgets;
///
/// let budgets = Budgets::default();
/// assert!(budgets.create < 40 && budgets.other < 200); // Klarna's live limits
/// assert!(budgets.reads < budgets.other); // orders keep a share
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budgets {
    /// Creating an HPP session, and (a budget of its own) creating a Klarna Payments
    /// session (default 36 a second: Klarna allows 40 live, 5 in the playground).
    pub create: u32,
    /// Every other call together: reads, orders, disables (default 180: Klarna allows 200
    /// live, 50 in the playground).
    pub other: u32,
    /// Of `other`, what Read Session calls may use, the batch's and those callbacks ask for
    /// (default 150): the rest is kept for placing orders, whose tokens expire, so that
    /// orders never wait behind reads.
    pub reads: u32,
}

impl Default for Budgets {
    fn default() -> Budgets {
        Budgets {
            create: 36,
            other: 180,
            reads: 150,
        }
    }
}

/// Klarna's rate-limit categories, as the merchant's calls fall in them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Category {
    CreateHppSession,
    CreatePaymentSession,
    Other,
}

impl Category {
    const ALL: [Category; 3] = [
        Category::CreateHppSession,
        Category::CreatePaymentSession,
        Category::Other,
    ];

    const fn name(self) -> &'static str {
        match self {
            Category::CreateHppSession => "create_hpp_session",
            Category::CreatePaymentSession => "create_payment_session",
            Category::Other => "other",
        }
    }
}

/// A budget of `per_second`, in bursts of a tenth of it: at most `per_second` plus the
/// burst in any second, which stays under Klarna's window for a budget just under its limit.
/// `None` for 0 (no budget).
pub(crate) fn limiter(per_second: u32) -> Option<DefaultDirectRateLimiter> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(per_second / 10).unwrap_or(NonZeroU32::MIN);
    Some(RateLimiter::direct(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

/// One category's budget and the pause a 429 asked for.
#[derive(Debug)]
struct Lane {
    budget: Option<DefaultDirectRateLimiter>,
    paused_until: Mutex<Option<Instant>>,
}

/// The Klarna API client: base URL, Basic auth credentials, and the traffic budgets.
#[derive(Clone, Debug)]
pub(crate) struct Klarna {
    client: reqwest::Client,
    base_url: String,
    user: String,
    password: String,
    metrics: Arc<Metrics>,
    lanes: Arc<[Lane; 3]>,
    /// The longest pause a 429 may impose: a `Retry-After` of an hour would stall every
    /// order and read for that hour; past this, retries resume and back off on their own.
    longest_pause: Duration,
}

/// An error and every cause under it, `: `-separated: "error sending request" alone says
/// nothing; its causes say "Connection refused" or "invalid peer certificate".
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// How many times a call refused with 429 is sent in all (create order excepted).
const CALLS_ON_429: u32 = 3;

/// `Retry-After` in seconds (the form Klarna and the simulator send), if the answer has it.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Whether a call that got no answer may have reached Klarna: every failure but one to
/// connect may have happened after the request was sent.
fn may_have_reached(error: &reqwest::Error) -> bool {
    !error.is_connect()
}

const BODY_PREFIX: usize = 300;

async fn body_prefix(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    text.chars().take(BODY_PREFIX).collect()
}

/// The error for an answer `call` did not expect: its code and the head of its body.
async fn unexpected(call: &'static str, response: reqwest::Response) -> KlarnaError {
    let code = response.status().as_u16();
    KlarnaError::Status {
        call,
        code,
        body: body_prefix(response).await,
    }
}

impl Klarna {
    /// A client for `config`'s Klarna URL and credentials, timeout, budgets and longest
    /// pause (its effects' `retry_max`), trusting `extra_roots` besides the platform's.
    pub(crate) fn new(
        config: &crate::MerchantConfig,
        extra_roots: &[reqwest::Certificate],
        metrics: Arc<Metrics>,
    ) -> Result<Klarna, reqwest::Error> {
        let budgets = config.budgets;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(config.klarna_timeout)
            .user_agent(concat!("hpp-merchant/", env!("CARGO_PKG_VERSION")));
        for root in extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder.build()?;
        let lane = |per_second| Lane {
            budget: limiter(per_second),
            paused_until: Mutex::new(None),
        };
        Ok(Klarna {
            client,
            base_url: config.klarna_url.trim_end_matches('/').to_owned(),
            user: config.klarna_user.clone(),
            password: config.klarna_password.clone(),
            metrics,
            lanes: Arc::new([
                lane(budgets.create),
                lane(budgets.create),
                lane(budgets.other),
            ]),
            longest_pause: config.effects.retry_max,
        })
    }

    fn lane(&self, category: Category) -> &Lane {
        &self.lanes[Category::ALL
            .iter()
            .position(|each| *each == category)
            .unwrap_or(2)]
    }

    /// Waits until a call in `category` may go: after a 429's pause, within the budget.
    async fn admit(&self, category: Category) {
        let lane = self.lane(category);
        let paused = *lane
            .paused_until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut waited = false;
        if let Some(until) = paused
            && until > Instant::now()
        {
            waited = true;
            tokio::time::sleep_until(until).await;
        }
        if let Some(budget) = &lane.budget
            && budget.check().is_err()
        {
            waited = true;
            budget.until_ready().await;
        }
        if waited {
            self.metrics.count(
                name::RATE_LIMIT_WAITS,
                &[("category", category.name().into())],
            );
        }
    }

    /// A 429 pauses the whole category for its `Retry-After` (1 s without one), at most the
    /// longest pause.
    fn pause(&self, category: Category, response: &reqwest::Response) {
        let wait = retry_after(response)
            .unwrap_or(Duration::from_secs(1))
            .min(self.longest_pause);
        let until = Instant::now() + wait;
        let mut paused = self
            .lane(category)
            .paused_until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
        tracing::warn!(
            category = category.name(),
            ?wait,
            "Klarna answered 429: pausing the category"
        );
    }

    /// How long calls in `category` are still paused by a 429.
    pub(crate) fn paused_for(&self, category: Category) -> Duration {
        let paused = *self
            .lane(category)
            .paused_until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        paused.map_or(Duration::ZERO, |until| {
            until.saturating_duration_since(Instant::now())
        })
    }

    /// One call: waits for `category`'s admission, sends `request` with the credentials,
    /// counts it by `operation` and HTTP status (`error`: no answer).
    async fn call(
        &self,
        category: Category,
        operation: &'static str,
        request: reqwest::RequestBuilder,
    ) -> reqwest::Result<reqwest::Response> {
        self.admit(category).await;
        let sent = request
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await;
        let status = match &sent {
            Ok(response) => response.status().as_u16().to_string(),
            Err(_) => "error".to_owned(),
        };
        self.metrics.count(
            name::KLARNA_CALLS,
            &[("operation", operation.into()), ("status", status)],
        );
        sent
    }

    /// Sends `request` like [`call`](Klarna::call). A 429 pauses the category and the call is sent again
    /// after the pause, up to [`CALLS_ON_429`] calls: Klarna did nothing with a refused call,
    /// and a budget just under its limit still meets a 429 now and then (calls admitted a
    /// little apart can arrive together). Not for create order, whose every call is recorded.
    async fn send(
        &self,
        category: Category,
        operation: &'static str,
        call: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, KlarnaError> {
        let mut request = request;
        let mut calls = 1;
        loop {
            let again = request.try_clone();
            let sent = self.call(category, operation, request).await;
            match sent {
                Ok(response) if response.status().as_u16() == 429 => {
                    self.pause(category, &response);
                    match again {
                        Some(again) if calls < CALLS_ON_429 => {
                            calls += 1;
                            request = again;
                        }
                        _ => return Ok(response),
                    }
                }
                Ok(response) => return Ok(response),
                Err(error) => {
                    return Err(KlarnaError::Request {
                        call,
                        reason: chain(&error.without_url()),
                    });
                }
            }
        }
    }

    /// Whether Klarna answers with these credentials: a Read Session of a session that does
    /// not exist (404 expected). No answer, or 401/403, is an error; any other answer means
    /// Klarna is reachable (a 5xx is Klarna's trouble, not this instance's).
    pub(crate) async fn probe(&self) -> Result<(), KlarnaError> {
        const CALL: &str = "readiness probe (GET /hpp/v1/sessions/{id})";
        let url = format!(
            "{}/hpp/v1/sessions/hpp-merchant-readiness-probe",
            self.base_url
        );
        let request = self.client.get(url).timeout(Duration::from_secs(3));
        let response = self.send(Category::Other, "probe", CALL, request).await?;
        match response.status().as_u16() {
            401 | 403 => Err(unexpected(CALL, response).await),
            _ => Ok(()),
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
        call: &'static str,
        response: reqwest::Response,
    ) -> Result<T, KlarnaError> {
        let bytes = response
            .bytes()
            .await
            .map_err(|error| KlarnaError::Request {
                call,
                reason: chain(&error.without_url()),
            })?;
        serde_json::from_slice(&bytes).map_err(|error| KlarnaError::Body {
            call,
            reason: error.to_string(),
        })
    }

    /// `POST /payments/v1/sessions`: a Klarna Payments session, returned as the
    /// `payment_session_url` an HPP session is created for.
    pub(crate) async fn create_payment_session(&self) -> Result<String, KlarnaError> {
        const CALL: &str = "create payment session (POST /payments/v1/sessions)";
        #[derive(Deserialize)]
        struct Created {
            session_id: String,
        }
        let body = serde_json::json!({
            "purchase_country": "SE",
            "purchase_currency": "SEK",
            "locale": "sv-SE",
            "order_amount": 10000,
            "order_lines": [{"name": "Demo item", "quantity": 1, "unit_price": 10000,
                             "total_amount": 10000}],
            "intent": "buy",
        });
        let url = format!("{}/payments/v1/sessions", self.base_url);
        let response = self
            .send(
                Category::CreatePaymentSession,
                "create_payment_session",
                CALL,
                self.client.post(url).json(&body),
            )
            .await?;
        if response.status().as_u16() != 200 {
            return Err(unexpected(CALL, response).await);
        }
        let created: Created = Klarna::json(CALL, response).await?;
        Ok(format!(
            "{}/payments/v1/sessions/{}",
            self.base_url, created.session_id
        ))
    }

    /// `POST /hpp/v1/sessions` for `payment_session_url`, calling back `status_update`.
    pub(crate) async fn create_hpp_session(
        &self,
        payment_session_url: &str,
        mode: PlaceOrderMode,
        status_update: &str,
    ) -> Result<CreatedSession, KlarnaError> {
        const CALL: &str = "create HPP session (POST /hpp/v1/sessions)";
        let body = serde_json::json!({
            "payment_session_url": payment_session_url,
            "merchant_urls": {"status_update": status_update},
            "options": {"place_order_mode": mode.as_str()},
        });
        let url = format!("{}/hpp/v1/sessions", self.base_url);
        let response = self
            .send(
                Category::CreateHppSession,
                "create_hpp_session",
                CALL,
                self.client.post(url).json(&body),
            )
            .await?;
        if response.status().as_u16() != 201 {
            return Err(unexpected(CALL, response).await);
        }
        Klarna::json(CALL, response).await
    }

    /// `DELETE /hpp/v1/sessions/{id}`: best effort, for a session the merchant could not
    /// record (so that nobody pays on it).
    pub(crate) async fn disable_session(&self, session_id: &str) -> Result<(), KlarnaError> {
        const CALL: &str = "disable HPP session (DELETE /hpp/v1/sessions/{id})";
        let url = format!("{}/hpp/v1/sessions/{session_id}", self.base_url);
        let response = self
            .send(
                Category::Other,
                "disable_session",
                CALL,
                self.client.delete(url),
            )
            .await?;
        if response.status().as_u16() == 204 {
            Ok(())
        } else {
            Err(unexpected(CALL, response).await)
        }
    }

    /// `GET /hpp/v1/sessions/{id}`.
    pub(crate) async fn read_session(&self, session_id: &str) -> Result<Read, KlarnaError> {
        const CALL: &str = "read HPP session (GET /hpp/v1/sessions/{id})";
        let url = format!("{}/hpp/v1/sessions/{session_id}", self.base_url);
        let response = self
            .send(Category::Other, "read_session", CALL, self.client.get(url))
            .await?;
        match response.status().as_u16() {
            200 => Klarna::json(CALL, response)
                .await
                .map(|session| Read::Session(Box::new(session))),
            404 => Ok(Read::NotFound),
            _ => Err(unexpected(CALL, response).await),
        }
    }

    /// `POST /payments/v1/authorizations/{token}/order` with `idempotency_key`, and
    /// `merchant_reference1` (what a person searches the order by): what Klarna answered, or
    /// why there is no answer. Never an error: every outcome is an [`AttemptAnswer`] to
    /// record, and only a 200 says placed.
    pub(crate) async fn create_order(
        &self,
        authorization_token: &str,
        idempotency_key: &str,
        merchant_reference: &str,
    ) -> AttemptAnswer {
        const CALL: &str = "create order (POST /payments/v1/authorizations/{token}/order)";
        #[derive(Deserialize)]
        struct Placed {
            order_id: String,
        }
        let url = format!(
            "{}/payments/v1/authorizations/{authorization_token}/order",
            self.base_url
        );
        let body = serde_json::json!({
            "purchase_country": "SE",
            "purchase_currency": "SEK",
            "order_amount": 10000,
            "order_lines": [{"name": "Demo item", "quantity": 1, "unit_price": 10000,
                             "total_amount": 10000}],
            "merchant_reference1": merchant_reference,
        });
        let request = self
            .client
            .post(url)
            .header(IDEMPOTENCY_KEY, idempotency_key)
            .json(&body);
        let sent = self.call(Category::Other, "create_order", request).await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let reached = may_have_reached(&error);
                let detail = format!("{CALL} failed: {}", chain(&error.without_url()));
                return if reached {
                    AttemptAnswer::Lost { detail }
                } else {
                    AttemptAnswer::NotSent { detail }
                };
            }
        };
        match response.status().as_u16() {
            200 => match response.bytes().await {
                Ok(bytes) => match serde_json::from_slice::<Placed>(&bytes) {
                    Ok(placed) => AttemptAnswer::Placed {
                        order_id: placed.order_id,
                    },
                    Err(error) => AttemptAnswer::Lost {
                        detail: format!(
                            "{CALL} answered 200 with a body without an order id: {error}"
                        ),
                    },
                },
                Err(error) => AttemptAnswer::Lost {
                    detail: format!(
                        "{CALL} answered 200, then its body was lost: {}",
                        chain(&error.without_url())
                    ),
                },
            },
            404 => AttemptAnswer::Refused {
                detail: body_prefix(response).await,
            },
            code => {
                if code == 429 {
                    self.pause(Category::Other, &response);
                }
                // 429, 5xx, any other refusal: Klarna did nothing with the call.
                AttemptAnswer::NotSent {
                    detail: format!("{CALL} answered {code}: {}", body_prefix(response).await),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::{get, post};

    /// A merchant's configuration for a Klarna at `url` answering within `timeout`.
    fn config(url: &str, timeout: Duration) -> crate::MerchantConfig {
        crate::MerchantConfig {
            klarna_url: url.to_owned(),
            klarna_timeout: timeout,
            ..crate::MerchantConfig::default()
        }
    }

    /// A client of a Klarna on loopback that answers every Read Session and every create
    /// order with `code` and `body`.
    async fn klarna_answering(code: u16, body: &'static str) -> Klarna {
        let code = StatusCode::from_u16(code).unwrap();
        let answer = move || async move { (code, body) };
        let app = Router::new()
            .route("/hpp/v1/sessions/{id}", get(answer))
            .route("/payments/v1/authorizations/{token}/order", post(answer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Klarna::new(
            &config(&url, Duration::from_secs(10)),
            &[],
            Arc::new(Metrics::new()),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_call_without_an_answer_names_its_cause() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let klarna = Klarna::new(
            &config(&url, Duration::from_secs(10)),
            &[],
            Arc::new(Metrics::new()),
        )
        .unwrap();
        let error = klarna.read_session("s-1").await.unwrap_err().to_string();
        assert!(error.contains("Connection refused"), "{error}");
    }

    #[tokio::test]
    async fn read_session_tells_a_session_from_a_404_and_from_any_other_code() {
        let session =
            r#"{"session_id":"s-1","status":"COMPLETED","updated_at":"2019-05-13T14:53:00.000Z"}"#;
        match klarna_answering(200, session)
            .await
            .read_session("s-1")
            .await
        {
            Ok(Read::Session(read)) => assert_eq!(read.session_id.as_deref(), Some("s-1")),
            other => panic!("200 with a session read as {other:?}"),
        }
        let gone = klarna_answering(404, "").await.read_session("s-1").await;
        assert!(matches!(gone, Ok(Read::NotFound)), "{gone:?}");
        let busy = klarna_answering(503, "busy")
            .await
            .read_session("s-1")
            .await;
        assert!(
            matches!(busy, Err(KlarnaError::Status { code: 503, ref body, .. }) if body == "busy"),
            "{busy:?}"
        );
    }

    #[tokio::test]
    async fn create_order_says_placed_only_on_a_200_with_an_order() {
        let placed = klarna_answering(200, r#"{"order_id":"o-1","fraud_status":"ACCEPTED"}"#)
            .await
            .create_order("token", "key", "s-1")
            .await;
        assert_eq!(
            placed,
            AttemptAnswer::Placed {
                order_id: "o-1".into()
            }
        );
        let refused = klarna_answering(404, "Invalid authorization token")
            .await
            .create_order("token", "key", "s-1")
            .await;
        assert_eq!(
            refused,
            AttemptAnswer::Refused {
                detail: "Invalid authorization token".into()
            }
        );
        // A 200 whose body has no order: the order exists, its id is not known.
        let no_id = klarna_answering(200, "{}")
            .await
            .create_order("token", "key", "s-1")
            .await;
        assert!(matches!(no_id, AttemptAnswer::Lost { .. }), "{no_id:?}");
        for code in [400, 500, 503] {
            let failed = klarna_answering(code, "oops")
                .await
                .create_order("token", "key", "s-1")
                .await;
            assert!(
                matches!(failed, AttemptAnswer::NotSent { ref detail } if detail.contains(&format!("answered {code}"))),
                "{failed:?}"
            );
        }
    }

    /// A Klarna that answers every call 429 with `Retry-After: 1`, and counts the calls.
    async fn klarna_throttling() -> (Klarna, Arc<std::sync::atomic::AtomicUsize>) {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let answer = move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, "1")],
                    "slow down",
                )
            }
        };
        let app = Router::new()
            .route("/hpp/v1/sessions/{id}", get(answer.clone()))
            .route("/payments/v1/authorizations/{token}/order", post(answer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let klarna = Klarna::new(
            &config(&url, Duration::from_secs(10)),
            &[],
            Arc::new(Metrics::new()),
        )
        .unwrap();
        (klarna, calls)
    }

    #[tokio::test]
    async fn a_429_is_not_sent_and_pauses_its_category_for_its_retry_after() {
        let (klarna, calls) = klarna_throttling().await;
        let count = || calls.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(klarna.paused_for(Category::Other), Duration::ZERO);
        let answer = klarna.create_order("token", "key", "s-1").await;
        assert!(
            matches!(answer, AttemptAnswer::NotSent { ref detail } if detail.contains("429")),
            "{answer:?}"
        );
        assert_eq!(
            count(),
            1,
            "create order is sent once: each call is recorded"
        );
        let paused = klarna.paused_for(Category::Other);
        assert!(
            paused > Duration::from_millis(500) && paused <= Duration::from_secs(1),
            "{paused:?}"
        );
        assert_eq!(
            klarna.paused_for(Category::CreateHppSession),
            Duration::ZERO
        );
        // A read waits out the pause, and is sent again after each 429: three calls in all.
        let started = Instant::now();
        let again = klarna.read_session("s-1").await;
        assert!(
            started.elapsed() >= Duration::from_millis(2500),
            "{:?}",
            started.elapsed()
        );
        assert!(
            matches!(again, Err(KlarnaError::Status { code: 429, .. })),
            "{again:?}"
        );
        assert_eq!(count(), 1 + 3);
    }

    #[tokio::test]
    async fn a_call_that_never_connected_placed_nothing_and_one_without_an_answer_may_have() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let klarna = |url: &str| {
            Klarna::new(
                &config(url, Duration::from_millis(300)),
                &[],
                Arc::new(Metrics::new()),
            )
            .unwrap()
        };
        let refused = klarna(&url).create_order("token", "key", "s-1").await;
        assert!(
            matches!(refused, AttemptAnswer::NotSent { ref detail } if detail.contains("Connection refused")),
            "{refused:?}"
        );
        // Accepts the connection, reads the call, never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", silent.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                held.push(socket);
            }
        });
        let lost = klarna(&url).create_order("token", "key", "s-1").await;
        assert!(
            matches!(lost, AttemptAnswer::Lost { ref detail } if detail.contains("timed out") || detail.contains("timeout")),
            "{lost:?}"
        );
    }

    #[test]
    fn a_budget_admits_a_tenth_at_once_and_none_for_zero() {
        assert!(limiter(0).is_none());
        let budget = limiter(100).unwrap();
        let burst = (0..50).take_while(|_| budget.check().is_ok()).count();
        assert_eq!(burst, 10);
        let one = limiter(5).unwrap();
        assert!(one.check().is_ok() && one.check().is_err());
    }

    #[test]
    fn an_error_chain_names_every_cause_once() {
        let inner =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Outer(#[source] std::io::Error);
        assert_eq!(
            chain(&Outer(inner)),
            "error sending request: Connection refused"
        );
    }
}
