//! The merchant's HTTP endpoints: `POST /checkouts`, the status callback, `GET /health`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use crate::Shared;
use crate::work;
use hpp_status::wire::PlaceOrderMode;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/checkouts", post(create_checkout))
        .route("/hpp/callbacks/{session_id}", post(status_callback))
        .route("/health", get(health))
        .with_state(shared)
}

fn problem(code: StatusCode, message: impl Into<String>) -> Response {
    (
        code,
        axum::Json(serde_json::json!({ "error": message.into() })),
    )
        .into_response()
}

/// The body of `POST /checkouts`: every field optional, unknown fields ignored.
#[derive(Deserialize, Default)]
struct CheckoutRequest {
    #[serde(default)]
    place_order_mode: PlaceOrderMode,
}

/// Parses the checkout body: empty is `NONE`; otherwise JSON naming the problem.
pub(crate) fn parse_checkout(body: &[u8]) -> Result<PlaceOrderMode, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(PlaceOrderMode::None);
    }
    serde_json::from_slice::<CheckoutRequest>(body)
        .map(|request| request.place_order_mode)
        .map_err(|error| {
            format!(
                "the body must be a JSON object such as {{\"place_order_mode\": \"NONE\"}} \
                 (NONE, PLACE_ORDER or CAPTURE_ORDER): {error}"
            )
        })
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

async fn create_checkout(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mode = match parse_checkout(&body) {
        Ok(mode) => mode,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    let payment_session_url = match shared.klarna.create_payment_session().await {
        Ok(url) => url,
        Err(error) => {
            tracing::warn!(%error, "checkout failed");
            return problem(StatusCode::BAD_GATEWAY, error.to_string());
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
            return problem(StatusCode::BAD_GATEWAY, error.to_string());
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
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the session {session_id} could not be recorded ({error}); {disabled}"),
        );
    }
    tracing::info!(session_id, mode = mode.as_str(), "checkout created");
    (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "session_id": session_id,
            "redirect_url": created.redirect_url,
        })),
    )
        .into_response()
}

/// The `secret` parameter of a query string, if any (malformed input is just no secret).
fn secret_of(query: Option<&str>) -> String {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "secret")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// `POST /hpp/callbacks/{session_id}?secret=...`. The body is never trusted, nor even
/// parsed: a callback only says "read this session now".
async fn status_callback(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let presented = secret_of(query.as_deref());
    match shared.reader.callback_secret(&session_id).await {
        Ok(Some(expected)) if bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) => {}
        Ok(_) => {
            // Unknown session or wrong secret: a forgery or a stale URL. Nothing happens.
            tracing::warn!(
                session_id,
                "callback refused: unknown session or wrong secret"
            );
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(error) => {
            tracing::error!(%error, session_id, "reading the callback secret");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    tracing::debug!(session_id, body_bytes = body.len(), "callback received");
    // Answered now, read in the background: the answer must not wait on Klarna and the
    // database (a slow answer is a timeout to Klarna, which retries, and every retry is one
    // more read: load feeds itself). A failed read is retried here, then by the batch.
    let task_shared = Arc::clone(&shared);
    shared.tasks.spawn(async move {
        work::read_after_callback(&task_shared, &session_id).await;
    });
    StatusCode::OK.into_response()
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    match shared.reader.callback_secret("health-check").await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => problem(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
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
