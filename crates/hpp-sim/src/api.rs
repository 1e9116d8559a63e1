//! The HTTP API: the HPP endpoints at their real paths, Klarna Payments' create session and
//! create order, and the simulator's own `/_sim/*`.
//!
//! | endpoint | answers |
//! |---|---|
//! | `POST /hpp/v1/sessions` | 201 the session; 400 a bad body; 401 |
//! | `GET /hpp/v1/sessions/{id}` | 200 the session; 404 unknown or expired; 500/502/503 injected; 401 |
//! | `DELETE /hpp/v1/sessions/{id}` | 204; 400 already final; 404 unknown or expired; 401 |
//! | `POST /payments/v1/sessions` | 200 a Klarna Payments session to build `payment_session_url` from; 401 |
//! | `POST /payments/v1/authorizations/{token}/order` | 200 the order, once per token; 404 `Invalid authorization token` for an unknown, expired, forged or already used token; 401 |
//! | `GET /_sim/summary` | 200 the [`Summary`](crate::Summary); loopback clients only |
//! | `GET /_sim/sessions`, `GET /_sim/sessions/{id}` | 200 the [`SessionTruth`](crate::SessionTruth) of every session, or of one; loopback clients only |
//!
//! Errors have Klarna's error body: `{"error_code", "error_messages", "correlation_id"}`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use hpp_status::wire::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::state::{DisableOutcome, MerchantUrls, NewSession, ReadResult, Shared, fill};
use crate::truth::{PaymentKind, PlaceOrderMode};

/// The header Klarna reads an idempotency key from.
pub const IDEMPOTENCY_KEY: &str = "Klarna-Idempotency-Key";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/hpp/v1/sessions", post(create_session))
        .route(
            "/hpp/v1/sessions/{session_id}",
            get(read_session).delete(disable_session),
        )
        .route("/payments/v1/sessions", post(create_payment_session))
        .route(
            "/payments/v1/authorizations/{token}/order",
            post(create_order),
        )
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            basic_auth,
        ));
    let sim = Router::new()
        .route("/_sim/summary", get(summary))
        .route("/_sim/sessions", get(all_sessions))
        .route("/_sim/sessions/{session_id}", get(one_session))
        .layer(middleware::from_fn(loopback_only));
    Router::new()
        .merge(api)
        .merge(sim)
        .route("/hpp/pay/{session_id}", get(payment_page))
        .fallback(not_found)
        .with_state(shared)
}

fn json(code: StatusCode, body: &impl Serialize) -> Response {
    (code, axum::Json(body)).into_response()
}

fn error(shared: &Shared, code: StatusCode, error_code: &str, message: &str) -> Response {
    json(code, &shared.error_body(error_code, message))
}

/// Requires Basic auth with the configured credentials.
async fn basic_auth(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let credentials = &shared.config.credentials;
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, encoded) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
            })?
        });
    let expected = format!("{}:{}", credentials.user, credentials.password);
    if presented.as_deref() == Some(expected.as_bytes()) {
        return next.run(request).await;
    }
    shared.count_unauthorized();
    tracing::info!(path = %request.uri().path(), "request refused: missing or wrong Basic auth");
    let mut response = error(
        &shared,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "Basic auth with the API credentials is required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"hpp-sim\""),
    );
    response
}

/// `/_sim/*` tells everything, secrets in URLs included: loopback clients only.
async fn loopback_only(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if peer.ip().is_loopback() {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "/_sim is for loopback clients only\n",
        )
            .into_response()
    }
}

async fn not_found(State(shared): State<Arc<Shared>>) -> Response {
    error(
        &shared,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "No such endpoint",
    )
}

#[derive(Deserialize)]
struct CreateRequest {
    payment_session_url: Option<String>,
    #[serde(default)]
    merchant_urls: RequestUrls,
    #[serde(default)]
    options: RequestOptions,
}

#[derive(Deserialize, Default)]
struct RequestUrls {
    success: Option<String>,
    cancel: Option<String>,
    back: Option<String>,
    failure: Option<String>,
    error: Option<String>,
    status_update: Option<String>,
}

#[derive(Deserialize, Default)]
struct RequestOptions {
    place_order_mode: Option<String>,
}

#[derive(Serialize)]
struct CreateResponse {
    session_id: String,
    session_url: String,
    redirect_url: String,
    qr_code_url: String,
    distribution_url: String,
    expires_at: Timestamp,
    manual_identification_check_url: String,
}

/// The payment session a `payment_session_url` names, or why it names none.
pub(crate) fn parse_payment_session_url(text: &str) -> Result<(PaymentKind, String), String> {
    let url = Url::parse(text)
        .map_err(|error| format!("payment_session_url {text:?} is not a URL: {error}"))?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    let kind = match segments.as_slice() {
        ["payments", "v1", "sessions", id] => Some((PaymentKind::KlarnaPayments, *id)),
        ["checkout", "v3", "orders", id] => Some((PaymentKind::KustomCheckout, *id)),
        _ => None,
    };
    match kind {
        Some((kind, id))
            if !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok((kind, id.to_owned()))
        }
        _ => Err(format!(
            "payment_session_url {text:?} is neither a Klarna Payments session \
             (/payments/v1/sessions/{{id}}) nor a Kustom Checkout order (/checkout/v3/orders/{{id}})"
        )),
    }
}

/// Checks a merchant URL template; `status_update` must also be callable.
fn check_template(
    shared: &Shared,
    name: &str,
    template: &str,
    callable: bool,
) -> Result<(), String> {
    let sample = fill(
        template,
        "00000000-0000-4000-8000-000000000000",
        Some("t"),
        Some("o"),
    );
    let url = Url::parse(&sample)
        .map_err(|error| format!("merchant_urls.{name} {template:?} is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("merchant_urls.{name} {template:?} is not http(s)"));
    }
    if callable && !shared.may_call(&url) {
        return Err(format!(
            "merchant_urls.{name} {template:?} is not on a loopback address; \
             the simulator only calls loopback unless started with --allow-remote"
        ));
    }
    Ok(())
}

fn validate(shared: &Shared, request: CreateRequest) -> Result<NewSession, String> {
    let payment_session_url = request
        .payment_session_url
        .ok_or_else(|| "payment_session_url is required".to_owned())?;
    let (payment, payment_id) = parse_payment_session_url(&payment_session_url)?;
    let place_order_mode = match request.options.place_order_mode.as_deref() {
        None => PlaceOrderMode::None,
        Some(text) => PlaceOrderMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or_else(|| {
                format!("place_order_mode {text:?} is not NONE, PLACE_ORDER or CAPTURE_ORDER")
            })?,
    };
    let urls = request.merchant_urls;
    for (name, template) in [
        ("success", &urls.success),
        ("cancel", &urls.cancel),
        ("back", &urls.back),
        ("failure", &urls.failure),
        ("error", &urls.error),
        ("status_update", &urls.status_update),
    ] {
        if let Some(template) = template {
            check_template(shared, name, template, name == "status_update")?;
        }
    }
    Ok(NewSession {
        payment,
        payment_session_url,
        payment_id,
        place_order_mode,
        merchant_urls: MerchantUrls {
            success: urls.success,
            cancel: urls.cancel,
            back: urls.back,
            failure: urls.failure,
            error: urls.error,
            status_update: urls.status_update,
        },
    })
}

async fn create_session(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = match serde_json::from_slice::<CreateRequest>(&body) {
        Ok(request) => request,
        Err(parse) => {
            let message = format!("the body is not a create session request: {parse}");
            return error(&shared, StatusCode::BAD_REQUEST, "BAD_VALUE", &message);
        }
    };
    let new = match validate(&shared, request) {
        Ok(new) => new,
        Err(message) => {
            tracing::info!(%message, "create session refused");
            return error(&shared, StatusCode::BAD_REQUEST, "BAD_VALUE", &message);
        }
    };
    let created = shared.create_session(new);
    let base = &shared.base_url;
    let id = &created.session_id;
    json(
        StatusCode::CREATED,
        &CreateResponse {
            session_url: format!("{base}/hpp/v1/sessions/{id}"),
            redirect_url: format!("{base}/hpp/pay/{id}"),
            qr_code_url: format!("{base}/hpp/pay/{id}/qr"),
            distribution_url: format!("{base}/hpp/v1/sessions/{id}/distribution"),
            manual_identification_check_url: format!("{base}/hpp/pay/{id}/manual-identification"),
            expires_at: created.expires_at,
            session_id: created.session_id,
        },
    )
}

async fn read_session(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
) -> Response {
    let fault = shared.draw_read_fault();
    if fault.slow {
        tokio::time::sleep(shared.timing.read_slow_delay).await;
    }
    match shared.read_session(&session_id, fault) {
        ReadResult::Served(session) => json(StatusCode::OK, &session),
        ReadResult::Injected(code) => error(
            &shared,
            StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "INTERNAL_ERROR",
            "Injected failure of Read Session (hpp-sim); try again",
        ),
        ReadResult::Expired | ReadResult::Unknown => error(
            &shared,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Session expired or not found",
        ),
    }
}

async fn disable_session(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
) -> Response {
    match shared.disable(&session_id) {
        DisableOutcome::Disabled => StatusCode::NO_CONTENT.into_response(),
        DisableOutcome::Refused { status, reason } => {
            tracing::debug!(%session_id, %status, "disable refused");
            error(&shared, StatusCode::BAD_REQUEST, "NOT_ALLOWED", &reason)
        }
        DisableOutcome::Expired | DisableOutcome::Unknown => error(
            &shared,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Session expired or not found",
        ),
    }
}

async fn create_payment_session(State(shared): State<Arc<Shared>>) -> Response {
    let session_id = shared.misc_uuid();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "session_id": session_id,
            "client_token": format!("hpp-sim.{session_id}"),
            "payment_method_categories": [
                {"identifier": "klarna", "name": "Pay with Klarna"}
            ],
        }),
    )
}

async fn create_order(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let answer = shared.place_order(&token, key);
    let code = StatusCode::from_u16(answer.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(code, &answer.body)
}

async fn payment_page(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
) -> Response {
    // The consumer of a session waiting for its page starts now (an unknown id: nothing).
    shared.open_page(&session_id);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "hpp-sim: the consumer of session {session_id} is simulated; nothing to do here.\n"
        ),
    )
        .into_response()
}

async fn summary(State(shared): State<Arc<Shared>>) -> Response {
    json(StatusCode::OK, &shared.summary())
}

async fn all_sessions(State(shared): State<Arc<Shared>>) -> Response {
    json(StatusCode::OK, &shared.truth())
}

async fn one_session(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
) -> Response {
    match shared.session_truth(&session_id) {
        Some(truth) => json(StatusCode::OK, &truth),
        None => error(
            &shared,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "No such session",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_session_urls_name_a_kp_session_or_a_kco_order() {
        assert_eq!(
            parse_payment_session_url("https://api.klarna.com/payments/v1/sessions/abc-1"),
            Ok((PaymentKind::KlarnaPayments, "abc-1".into()))
        );
        assert_eq!(
            parse_payment_session_url("http://127.0.0.1:1/checkout/v3/orders/o_9"),
            Ok((PaymentKind::KustomCheckout, "o_9".into()))
        );
        for bad in [
            "not a url",
            "https://api.klarna.com/payments/v1/sessions/",
            "https://api.klarna.com/payments/v1/sessions/a/b",
            "https://api.klarna.com/payments/v2/sessions/a",
            "https://api.klarna.com/checkout/v3/orders/a%20b",
            "https://api.klarna.com/",
        ] {
            assert!(parse_payment_session_url(bad).is_err(), "{bad} accepted");
        }
    }
}
