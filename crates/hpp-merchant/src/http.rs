//! The merchant's HTTP endpoints: `POST /checkouts`, the status callback, `GET /health`,
//! `GET /ready`, `GET /metrics`; and the limits every request is held to.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::Shared;
use crate::metrics::name;
use crate::work;
use hpp_status::wire::PlaceOrderMode;

/// The largest callback body taken: a Klarna callback is a few KB.
pub(crate) const CALLBACK_BODY_LIMIT: usize = 64 * 1024;
/// The largest checkout body taken.
pub(crate) const CHECKOUT_BODY_LIMIT: usize = 16 * 1024;
/// How long a client has to send a body, once its head is in.
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a checkout over the rate waits for its turn before it is refused with 429.
pub(crate) const CHECKOUT_RATE_WAIT: Duration = Duration::from_secs(1);
/// The longest session id looked up (Klarna's are UUIDs); longer ones are refused unread.
pub(crate) const MAX_SESSION_ID: usize = 128;
/// How much of a client-supplied text a log line shows.
pub(crate) const LOG_PREFIX: usize = 64;

/// The first [`LOG_PREFIX`] characters of `text`, with `…` when it was cut: what a log
/// line shows of anything a client sent.
pub(crate) fn short(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(LOG_PREFIX) {
        None => text.into(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()).into(),
    }
}

pub(crate) fn router(shared: Arc<Shared>, max_requests: usize) -> Router {
    let shed = Arc::clone(&shared);
    let callbacks = Router::new()
        .route("/hpp/callbacks/{session_id}", post(status_callback))
        .layer(RequestBodyLimitLayer::new(CALLBACK_BODY_LIMIT));
    let checkouts = Router::new()
        .route("/checkouts", post(create_checkout))
        .layer(RequestBodyLimitLayer::new(CHECKOUT_BODY_LIMIT));
    Router::new()
        .merge(callbacks)
        .merge(checkouts)
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        // Beyond `max_requests` under way, a request is refused at once (503), not queued.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |_: tower::BoxError| {
                    let shed = Arc::clone(&shed);
                    async move {
                        shed.metrics.count(name::REQUESTS_SHED, &[]);
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "too many requests under way\n",
                        )
                    }
                }))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(max_requests.max(1))),
        )
        .with_state(shared)
}

fn problem(code: StatusCode, message: impl Into<String>) -> Response {
    (
        code,
        axum::Json(serde_json::json!({ "error": message.into() })),
    )
        .into_response()
}

/// Reads a body of at most `limit` bytes within [`BODY_READ_TIMEOUT`]; the answer to give
/// when it cannot.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body could not be read whole within {limit} bytes: {error}"),
        )),
        Err(_) => Err(problem(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body was not sent within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// The body of `POST /checkouts`: every field optional, unknown fields ignored.
#[derive(Deserialize, Default)]
struct CheckoutRequest {
    #[serde(default)]
    place_order_mode: PlaceOrderMode,
}

/// Parses the checkout body: empty is `NONE`; otherwise a JSON object, or the problem.
pub(crate) fn parse_checkout(body: &[u8]) -> Result<PlaceOrderMode, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(PlaceOrderMode::None);
    }
    // An object, nothing else: serde would read `["PLACE_ORDER"]` as the struct's fields.
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
        .and_then(|object| CheckoutRequest::deserialize(serde_json::Value::Object(object)))
        .map(|request| request.place_order_mode)
        .map_err(|error| {
            let error = error.to_string();
            format!(
                "the body must be a JSON object such as {{\"place_order_mode\": \"NONE\"}} \
                 (NONE, PLACE_ORDER or CAPTURE_ORDER): {}",
                short(&error)
            )
        })
}

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time.
pub(crate) fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    !token.is_empty() && bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

/// A new random callback secret: 128 bits from the OS generator (UUID v4, 122 random
/// bits, twice), URL-safe hex.
fn new_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Counts the checkout's `result` and gives `response`.
fn checkout_answer(shared: &Shared, result: &'static str, response: Response) -> Response {
    shared
        .metrics
        .count(name::CHECKOUTS, &[("result", result.into())]);
    response
}

async fn create_checkout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The shop's credential, then the rate, then the body: a stranger costs no read.
    if !authorized(&headers, &shared.checkout_token) {
        let refused = (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({
                "error": "POST /checkouts needs Authorization: Bearer <the merchant's checkout token>"
            })),
        );
        return checkout_answer(&shared, "unauthorized", refused.into_response());
    }
    if shared.checkout_limiter.check().is_err() {
        shared.metrics.count(name::CHECKOUT_RATE_LIMIT_WAITS, &[]);
        let turn = tokio::time::timeout(CHECKOUT_RATE_WAIT, shared.checkout_limiter.until_ready());
        if turn.await.is_err() {
            let refused = (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "1")],
                axum::Json(serde_json::json!({
                    "error": "too many checkouts: the merchant stays below Klarna's session-creation limit; retry after 1 s"
                })),
            );
            return checkout_answer(&shared, "rate_limited", refused.into_response());
        }
    }
    let body = match read_body(body, CHECKOUT_BODY_LIMIT).await {
        Ok(body) => body,
        Err(response) => return checkout_answer(&shared, "bad_request", response),
    };
    let mode = match parse_checkout(&body) {
        Ok(mode) => mode,
        Err(message) => {
            let response = problem(StatusCode::BAD_REQUEST, message);
            return checkout_answer(&shared, "bad_request", response);
        }
    };
    let payment_session_url = match shared.klarna.create_payment_session().await {
        Ok(url) => url,
        Err(error) => {
            tracing::warn!(%error, "checkout failed");
            let response = problem(StatusCode::BAD_GATEWAY, error.to_string());
            return checkout_answer(&shared, "klarna_error", response);
        }
    };
    let secret = new_secret();
    // Klarna fills in {{session_id}}; the secret proves a callback comes from whoever
    // Klarna gave the URL to.
    let status_update = format!(
        "{}/hpp/callbacks/{{{{session_id}}}}?secret={secret}",
        shared.public_url
    );
    let created = match shared
        .klarna
        .create_hpp_session(&payment_session_url, mode, &status_update)
        .await
    {
        Ok(created) => created,
        Err(error) => {
            tracing::warn!(%error, "checkout failed");
            let response = problem(StatusCode::BAD_GATEWAY, error.to_string());
            return checkout_answer(&shared, "klarna_error", response);
        }
    };
    let session_id = created.session_id;
    // Registered before the consumer gets the page: from now on the batch reads it even if
    // every callback is lost.
    if let Err(error) = shared
        .store
        .register(&session_id, created.expires_at, &secret)
        .await
    {
        // Nobody must pay on a session the merchant does not know.
        let disabled = match shared.klarna.disable_session(&session_id).await {
            Ok(()) => "the HPP session was disabled".to_owned(),
            Err(disable) => format!("disabling the HPP session failed too: {disable}"),
        };
        tracing::error!(%error, session_id, disabled, "could not register the session");
        let response = problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the session {session_id} could not be recorded ({error}); {disabled}"),
        );
        return checkout_answer(&shared, "store_error", response);
    }
    tracing::info!(session_id, mode = mode.as_str(), "checkout created");
    let created = (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "session_id": session_id,
            "redirect_url": created.redirect_url,
        })),
    );
    checkout_answer(&shared, "created", created.into_response())
}

/// The `secret` parameter of a query string, if any (malformed input is just no secret).
fn secret_of(query: Option<&str>) -> String {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "secret")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Counts the callback's `verdict` and gives `response`.
fn callback_answer(shared: &Shared, verdict: &'static str, response: Response) -> Response {
    shared
        .metrics
        .count(name::CALLBACKS, &[("verdict", verdict.into())]);
    response
}

/// `POST /hpp/callbacks/{session_id}?secret=...`. The secret is checked before the body is
/// read: a stranger's body is never buffered. The body is never trusted, nor even parsed:
/// a callback only says "read this session now".
async fn status_callback(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let refused = || StatusCode::NOT_FOUND.into_response();
    if session_id.len() > MAX_SESSION_ID {
        tracing::warn!(session_id = %short(&session_id), "callback refused: no such session id");
        return callback_answer(&shared, "refused", refused());
    }
    let presented = secret_of(query.as_deref());
    let registration = match shared.store.registration(&session_id).await {
        Ok(Some(registration))
            if bool::from(
                registration
                    .callback_secret
                    .as_bytes()
                    .ct_eq(presented.as_bytes()),
            ) =>
        {
            registration
        }
        Ok(_) => {
            // Unknown session or wrong secret: a forgery or a stale URL. Nothing happens.
            tracing::warn!(
                session_id = %short(&session_id),
                "callback refused: unknown session or wrong secret"
            );
            return callback_answer(&shared, "refused", refused());
        }
        Err(error) => {
            tracing::error!(%error, session_id = %short(&session_id), "reading the callback secret");
            let response = StatusCode::SERVICE_UNAVAILABLE.into_response();
            return callback_answer(&shared, "store_error", response);
        }
    };
    let body = match read_body(body, CALLBACK_BODY_LIMIT).await {
        Ok(body) => body,
        Err(response) => return callback_answer(&shared, "too_large", response),
    };
    tracing::debug!(session_id, body_bytes = body.len(), "callback received");
    // A final status is final: nothing a read could add (a late or duplicated callback).
    if registration
        .tracker
        .status()
        .is_some_and(hpp_status::Status::is_final)
    {
        tracing::debug!(session_id, "callback for a final session: no read");
        return callback_answer(&shared, "final", StatusCode::OK.into_response());
    }
    // Answered now, read in the background: the answer must not wait on Klarna and the
    // database (a slow answer is a timeout to Klarna, which retries, and every retry is one
    // more read: load feeds itself). A failed read is retried here, then by the batch.
    let task_shared = Arc::clone(&shared);
    shared.tasks.spawn(async move {
        work::read_after_callback(&task_shared, &session_id, registration.expires_at).await;
    });
    callback_answer(&shared, "accepted", StatusCode::OK.into_response())
}

/// Liveness: the process answers and the database can be read.
async fn health(State(shared): State<Arc<Shared>>) -> Response {
    match shared.store.registration("health-check").await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// Readiness: the database takes writes and Klarna answers; 503 with the reasons otherwise.
async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    let (database, klarna) = tokio::join!(shared.writable(), shared.klarna_reachable());
    let failures: Vec<String> = [("database", database), ("klarna", klarna)]
        .into_iter()
        .filter_map(|(check, result)| result.err().map(|why| format!("{check}: {why}")))
        .collect();
    if failures.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        let text = format!("not ready\n{}\n", failures.join("\n"));
        (StatusCode::SERVICE_UNAVAILABLE, text).into_response()
    }
}

/// Prometheus text; the effect backlog is read from the database now.
async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    match shared.store.effect_backlog().await {
        Ok(backlog) => {
            shared
                .metrics
                .set(name::EFFECTS_PENDING, &[], backlog.pending as f64);
            let age = backlog.oldest_created_at.map_or(0.0, |created| {
                let now = jiff::Timestamp::now();
                jiff::Timestamp::try_from(created)
                    .ok()
                    .and_then(|created| now.duration_since(created).as_secs_f64().into())
                    .unwrap_or(0.0)
                    .max(0.0)
            });
            shared.metrics.set(name::OLDEST_PENDING, &[], age);
        }
        Err(error) => tracing::warn!(%error, "reading the effect backlog for /metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_body_is_optional_and_its_errors_say_what_is_wrong() {
        assert_eq!(parse_checkout(b""), Ok(PlaceOrderMode::None));
        assert_eq!(parse_checkout(b" \n"), Ok(PlaceOrderMode::None));
        assert_eq!(parse_checkout(b"{}"), Ok(PlaceOrderMode::None));
        assert_eq!(
            parse_checkout(br#"{"place_order_mode":"CAPTURE_ORDER","cart":[1]}"#),
            Ok(PlaceOrderMode::CaptureOrder)
        );
        assert_eq!(
            parse_checkout(br#"{"place_order_mode":"PLACE_ORDER"}"#),
            Ok(PlaceOrderMode::PlaceOrder)
        );
        let error = parse_checkout(br#"{"place_order_mode":"SOMETIMES"}"#).unwrap_err();
        assert!(error.contains("SOMETIMES"), "{error}");
        assert!(parse_checkout(b"[").is_err());
    }

    #[test]
    fn a_checkout_body_that_is_not_a_json_object_is_refused() {
        for body in [
            &br#"["PLACE_ORDER"]"#[..],
            b"\"NONE\"",
            b"42",
            b"null",
            b"true",
        ] {
            let error = parse_checkout(body).unwrap_err();
            assert!(error.contains("JSON object"), "{error}");
        }
    }

    #[test]
    fn logs_show_a_short_prefix_of_client_text() {
        assert_eq!(short("a15b228c"), "a15b228c");
        let long = "é".repeat(70_000);
        let shown = short(&long);
        assert!(shown.starts_with(&"é".repeat(LOG_PREFIX)), "{shown}");
        assert!(shown.ends_with("… (140000 bytes)"), "{shown}");
        assert!(shown.len() < 200);
        assert_eq!(short(&"x".repeat(LOG_PREFIX)), "x".repeat(LOG_PREFIX));
    }

    #[test]
    fn only_the_exact_bearer_token_is_authorized() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        let token = "0123456789abcdef";
        assert!(authorized(&with("Bearer 0123456789abcdef"), token));
        assert!(!authorized(&with("Bearer 0123456789abcdeX"), token));
        assert!(!authorized(&with("Bearer 0123456789abcde"), token));
        assert!(!authorized(&with("Basic 0123456789abcdef"), token));
        assert!(!authorized(&with("0123456789abcdef"), token));
        assert!(!authorized(&HeaderMap::new(), token));
        assert!(
            !authorized(&with("Bearer "), ""),
            "an empty token opens nothing"
        );
    }

    #[test]
    fn the_secret_is_taken_from_the_query_string() {
        assert_eq!(secret_of(Some("secret=abc&x=1")), "abc");
        assert_eq!(secret_of(Some("x=1&secret=a%2Bb")), "a+b");
        assert_eq!(secret_of(Some("x=1")), "");
        assert_eq!(secret_of(None), "");
    }

    #[test]
    fn secrets_are_long_random_and_url_safe() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
