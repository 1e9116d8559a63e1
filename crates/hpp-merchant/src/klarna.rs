//! The calls the merchant makes to Klarna (or the simulator): create a Klarna Payments
//! session, create an HPP session, Read Session, create order.

use std::sync::Arc;
use std::time::Duration;

use hpp_status::wire::{PlaceOrderMode, SessionResponse, Timestamp};
use serde::Deserialize;

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

/// What create order said.
#[derive(Debug)]
pub(crate) enum OrderAnswer {
    /// 200: placed, with the order id.
    Placed { order_id: String },
    /// 404 "Invalid authorization token": expired, unknown, or already used (by an earlier
    /// attempt of this placement, if there was one).
    InvalidToken { body: String },
}

/// The Klarna API client: base URL and Basic auth credentials.
#[derive(Clone, Debug)]
pub(crate) struct Klarna {
    client: reqwest::Client,
    base_url: String,
    user: String,
    password: String,
    metrics: Arc<Metrics>,
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
    pub(crate) fn new(
        base_url: &str,
        user: &str,
        password: &str,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Klarna, reqwest::Error> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .user_agent(concat!("hpp-merchant/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Klarna {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
            metrics,
        })
    }

    /// Sends `request` with the credentials, counting it by `operation` and HTTP status.
    async fn send(
        &self,
        operation: &'static str,
        call: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, KlarnaError> {
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
        sent.map_err(|error| KlarnaError::Request {
            call,
            reason: error.without_url().to_string(),
        })
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
        let response = self.send("probe", CALL, request).await?;
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
                reason: error.without_url().to_string(),
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
            .send("disable_session", CALL, self.client.delete(url))
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
            .send("read_session", CALL, self.client.get(url))
            .await?;
        match response.status().as_u16() {
            200 => Klarna::json(CALL, response)
                .await
                .map(|session| Read::Session(Box::new(session))),
            404 => Ok(Read::NotFound),
            _ => Err(unexpected(CALL, response).await),
        }
    }

    /// `POST /payments/v1/authorizations/{token}/order` with `idempotency_key`.
    pub(crate) async fn create_order(
        &self,
        authorization_token: &str,
        idempotency_key: &str,
    ) -> Result<OrderAnswer, KlarnaError> {
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
        });
        let request = self
            .client
            .post(url)
            .header(IDEMPOTENCY_KEY, idempotency_key)
            .json(&body);
        let response = self.send("create_order", CALL, request).await?;
        match response.status().as_u16() {
            200 => {
                let placed: Placed = Klarna::json(CALL, response).await?;
                Ok(OrderAnswer::Placed {
                    order_id: placed.order_id,
                })
            }
            404 => Ok(OrderAnswer::InvalidToken {
                body: body_prefix(response).await,
            }),
            _ => Err(unexpected(CALL, response).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::{get, post};

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
            &url,
            "user",
            "password",
            Duration::from_secs(10),
            Arc::new(Metrics::new()),
        )
        .unwrap()
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
    async fn create_order_tells_a_placed_order_from_a_refused_token_and_from_any_other_code() {
        let placed = klarna_answering(200, r#"{"order_id":"o-1","fraud_status":"ACCEPTED"}"#)
            .await
            .create_order("token", "key")
            .await;
        assert!(
            matches!(placed, Ok(OrderAnswer::Placed { ref order_id }) if order_id == "o-1"),
            "{placed:?}"
        );
        let refused = klarna_answering(404, "Invalid authorization token")
            .await
            .create_order("token", "key")
            .await;
        assert!(
            matches!(refused, Ok(OrderAnswer::InvalidToken { ref body }) if body == "Invalid authorization token"),
            "{refused:?}"
        );
        let failed = klarna_answering(500, "oops")
            .await
            .create_order("token", "key")
            .await;
        assert!(
            matches!(failed, Err(KlarnaError::Status { code: 500, .. })),
            "{failed:?}"
        );
    }
}
