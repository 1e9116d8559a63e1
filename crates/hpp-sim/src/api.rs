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
//! | `GET /_sim/clock` | 200 `{"now": RFC 3339}`: the world's time; loopback clients only |
//! | `POST /_sim/clock` `{"advance": "2h"}` | 200 `{"now": ...}` after moving the world's time forward by that world duration (compressed like every other); 400 a bad or negative duration; loopback clients only |
//! | `POST /_sim/sessions/{id}/step` `{"action": "Authorize"}` | 200 the session as Read Session shows it, after the step (its callback is on its way); 409 with the core's refusal when the step is not legal; 404 unknown or expired; 400 an unknown action; loopback clients only |
//! | `GET /hpp/pay/{id}` (the `redirect_url`) | 200 the payment page (HTML): the session and the consumer's legal moves as buttons; opening it lets a consumer waiting for its page start; 404 page unknown or expired |
//! | `POST /hpp/pay/{id}` `action=NAME` (a form) | the consumer's move (`EnterPage`, `Authorize`, `Decline`, `Cancel`, `GoBack`, `Fail`, `Resume`), then 303 to the merchant's URL for the outcome, placeholders filled, or back to the page; 409 page with the core's refusal; 400 page a merchant's or unknown action; 404 page unknown or expired |
//! | `GET /_sim/`, `GET /_sim` | 200 the run's page (HTML, reloads itself): counts, what the merchant got wrong, the newest sessions; loopback clients only |
//!
//! The Klarna endpoints above are rate limited per merchant (the Basic auth user): creating
//! an HPP session, and creating a Klarna Payments session, each [`RateLimits::create`]
//! a second; the rest together [`RateLimits::other`]. Over the budget: 429
//! `TOO_MANY_REQUESTS` with `Retry-After` (whole seconds); every answer carries
//! `X-Ratelimit-Limit` (`200;w=1;name="other-operations"`), `X-Ratelimit-Remaining` and
//! `X-Ratelimit-Reset` (seconds). A storm ([`Storm`]) refuses one operation the same way for
//! a window of time. Create order may place the order and then never answer
//! ([`FaultConfig::order_answer_lost`]).
//!
//! [`RateLimits::create`]: crate::RateLimits::create
//! [`RateLimits::other`]: crate::RateLimits::other
//! [`Storm`]: crate::Storm
//! [`FaultConfig::order_answer_lost`]: crate::FaultConfig::order_answer_lost
//!
//! Errors have Klarna's error body: `{"error_code", "error_messages", "correlation_id"}`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use hpp_status::wire::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::limits::{Admission, Operation};
use crate::registry::{DisableOutcome, MerchantUrls, NewSession, ReadResult, StepRefused, fill};
use crate::truth::{PaymentKind, PlaceOrderMode};
use crate::walk::Move;
use crate::world::World;
use hpp_status::Action;

/// The header Klarna reads an idempotency key from.
pub const IDEMPOTENCY_KEY: &str = "Klarna-Idempotency-Key";

pub(crate) fn router(world: Arc<World>) -> Router {
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
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&world),
            rate_limit,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&world),
            basic_auth,
        ));
    let sim = Router::new()
        .route("/_sim/summary", get(summary))
        .route("/_sim/sessions", get(all_sessions))
        .route("/_sim/sessions/{session_id}", get(one_session))
        .route("/_sim/sessions/{session_id}/step", post(step_session))
        .route("/_sim/clock", get(clock_now).post(advance_clock))
        .route("/_sim/", get(crate::pages::run_page))
        .route("/_sim", get(crate::pages::run_page))
        .layer(middleware::from_fn(loopback_only));
    Router::new()
        .merge(api)
        .merge(sim)
        .route(
            "/hpp/pay/{session_id}",
            get(crate::pages::payment_page).post(crate::pages::pay),
        )
        .fallback(not_found)
        .with_state(world)
}

/// A request body that must be a JSON object (serde would also take an array for a struct).
fn object<T: serde::de::DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, String> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|parse| format!("the body is not {expected}: {parse}"))?;
    if !value.is_object() {
        return Err(format!("the body is not {expected}: not a JSON object"));
    }
    serde_json::from_value(value).map_err(|parse| format!("the body is not {expected}: {parse}"))
}

fn json(code: StatusCode, body: &impl Serialize) -> Response {
    (code, axum::Json(body)).into_response()
}

fn error(world: &World, code: StatusCode, error_code: &str, message: &str) -> Response {
    json(
        code,
        &world.with(|registry| registry.error_body(error_code, message)),
    )
}

/// Requires Basic auth with the configured credentials.
async fn basic_auth(State(world): State<Arc<World>>, request: Request, next: Next) -> Response {
    let credentials = &world.config.credentials;
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
        let mut request = request;
        request
            .extensions_mut()
            .insert(Merchant(credentials.user.clone()));
        return next.run(request).await;
    }
    world.with(crate::registry::Registry::count_unauthorized);
    tracing::info!(path = %request.uri().path(), "request refused: missing or wrong Basic auth");
    let mut response = error(
        &world,
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

/// The merchant a request authenticated as (its Basic auth user): what rate limits count by.
#[derive(Clone)]
struct Merchant(String);

/// The operation a matched route performs.
fn operation_of(method: &axum::http::Method, route: &str) -> Option<Operation> {
    use axum::http::Method;
    Some(match (method, route) {
        (&Method::POST, "/hpp/v1/sessions") => Operation::CreateSession,
        (&Method::GET, "/hpp/v1/sessions/{session_id}") => Operation::ReadSession,
        (&Method::DELETE, "/hpp/v1/sessions/{session_id}") => Operation::DisableSession,
        (&Method::POST, "/payments/v1/sessions") => Operation::CreatePaymentSession,
        (&Method::POST, "/payments/v1/authorizations/{token}/order") => Operation::CreateOrder,
        _ => return None,
    })
}

/// Klarna's rate limits and the storms: 429 with `Retry-After` over the budget, and the
/// quota left in `X-Ratelimit-*` on every answer.
async fn rate_limit(
    State(world): State<Arc<World>>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let Some(operation) = operation_of(request.method(), route.as_str()) else {
        return next.run(request).await;
    };
    let merchant = request
        .extensions()
        .get::<Merchant>()
        .map_or_else(String::new, |merchant| merchant.0.clone());
    let at = world.clock.now();
    let admission = world.with(|registry| registry.admit(&merchant, operation, at));
    match admission {
        Admission::Unlimited => next.run(request).await,
        Admission::Admitted {
            limit,
            category,
            remaining,
            reset,
        } => {
            let mut response = next.run(request).await;
            quota_headers(response.headers_mut(), limit, category, remaining, reset);
            response
        }
        Admission::Refused {
            limit,
            category,
            retry_after,
            storm,
        } => {
            let message = if storm {
                format!("{operation} is refused for now (a storm injected by hpp-sim); retry later")
            } else {
                format!("Rate limit of {limit} requests per second for {category} exceeded")
            };
            tracing::debug!(%operation, storm, ?retry_after, "429");
            let mut response = error(
                &world,
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
                &message,
            );
            let headers = response.headers_mut();
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(whole_seconds(retry_after)),
            );
            quota_headers(headers, limit, category, 0, retry_after);
            response
        }
    }
}

/// A wait in whole seconds, rounded up, at least 1: what `Retry-After` can say.
fn whole_seconds(wait: std::time::Duration) -> u64 {
    wait.as_millis()
        .div_ceil(1000)
        .max(1)
        .try_into()
        .unwrap_or(u64::MAX)
}

fn quota_headers(
    headers: &mut HeaderMap,
    limit: u32,
    category: &str,
    remaining: u32,
    reset: std::time::Duration,
) {
    let policy = format!("{limit};w=1;name=\"{category}\"");
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert("x-ratelimit-limit", policy);
    }
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(whole_seconds(reset)));
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

async fn not_found(State(world): State<Arc<World>>) -> Response {
    error(
        &world,
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
fn check_template(world: &World, name: &str, template: &str, callable: bool) -> Result<(), String> {
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
    if callable && !(world.config.allow_remote || crate::config::is_loopback_url(&url)) {
        return Err(format!(
            "merchant_urls.{name} {template:?} is not on a loopback address; \
             the simulator only calls loopback unless started with --allow-remote"
        ));
    }
    Ok(())
}

fn validate(world: &World, request: CreateRequest) -> Result<NewSession, String> {
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
            check_template(world, name, template, name == "status_update")?;
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

async fn create_session(State(world): State<Arc<World>>, body: Bytes) -> Response {
    let request = match object::<CreateRequest>(&body, "a create session request") {
        Ok(request) => request,
        Err(message) => return error(&world, StatusCode::BAD_REQUEST, "BAD_VALUE", &message),
    };
    let new = match validate(&world, request) {
        Ok(new) => new,
        Err(message) => {
            tracing::info!(%message, "create session refused");
            return error(&world, StatusCode::BAD_REQUEST, "BAD_VALUE", &message);
        }
    };
    let created = world.create_session(new);
    let base = &world.base_url;
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

async fn read_session(State(world): State<Arc<World>>, Path(session_id): Path<String>) -> Response {
    let fault = world.with(crate::registry::Registry::draw_read_fault);
    if fault.slow {
        tokio::time::sleep(world.timing.read_slow_delay).await;
    }
    match world.read(&session_id, fault) {
        ReadResult::Served(session) => json(StatusCode::OK, &session),
        ReadResult::Injected(code) => error(
            &world,
            StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "INTERNAL_ERROR",
            "Injected failure of Read Session (hpp-sim); try again",
        ),
        ReadResult::Expired | ReadResult::Unknown => error(
            &world,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Session expired or not found",
        ),
    }
}

async fn disable_session(
    State(world): State<Arc<World>>,
    Path(session_id): Path<String>,
) -> Response {
    match world.disable(&session_id) {
        DisableOutcome::Disabled => StatusCode::NO_CONTENT.into_response(),
        DisableOutcome::Refused { status, reason } => {
            tracing::debug!(%session_id, %status, "disable refused");
            error(&world, StatusCode::BAD_REQUEST, "NOT_ALLOWED", &reason)
        }
        DisableOutcome::Expired | DisableOutcome::Unknown => error(
            &world,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Session expired or not found",
        ),
    }
}

async fn create_payment_session(State(world): State<Arc<World>>) -> Response {
    let session_id = world.with(crate::registry::Registry::misc_uuid);
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
    State(world): State<Arc<World>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let answer = world.place_order(&token, key);
    if answer.lost {
        // The order is placed; its answer never comes. The merchant's call ends by its own
        // timeout (the connection closes and this future is dropped), or at shutdown.
        tracing::debug!("create order answer lost on purpose");
        world.cancel.cancelled().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let code = StatusCode::from_u16(answer.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(code, &answer.body)
}

async fn summary(State(world): State<Arc<World>>) -> Response {
    json(StatusCode::OK, &world.summary())
}

async fn all_sessions(State(world): State<Arc<World>>) -> Response {
    json(StatusCode::OK, &world.truth())
}

async fn one_session(State(world): State<Arc<World>>, Path(session_id): Path<String>) -> Response {
    match world.session_truth(&session_id) {
        Some(truth) => json(StatusCode::OK, &truth),
        None => error(
            &world,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "No such session",
        ),
    }
}

#[derive(Serialize)]
struct ClockAnswer {
    now: Timestamp,
}

async fn clock_now(State(world): State<Arc<World>>) -> Response {
    json(
        StatusCode::OK,
        &ClockAnswer {
            now: world.clock.now(),
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    advance: String,
}

/// A world duration a test may advance the clock by: `2h`, `90m`, `1h 30m`, `PT2H`.
fn world_duration(text: &str) -> Result<std::time::Duration, String> {
    let signed: jiff::SignedDuration = text.parse().map_err(|error| {
        format!("advance {text:?} is not a duration such as 2h, 90s or PT2H: {error}")
    })?;
    std::time::Duration::try_from(signed)
        .map_err(|_| format!("advance {text:?} is negative: the clock only moves forward"))
}

async fn advance_clock(State(world): State<Arc<World>>, body: Bytes) -> Response {
    let advance = object::<AdvanceRequest>(&body, "{\"advance\": DURATION}")
        .and_then(|request| world_duration(&request.advance));
    match advance {
        Ok(world_time) => {
            let now = world.clock.advance(world.config.time.compress(world_time));
            tracing::info!(advance = ?world_time, %now, "clock advanced");
            json(StatusCode::OK, &ClockAnswer { now })
        }
        Err(message) => error(&world, StatusCode::BAD_REQUEST, "BAD_VALUE", &message),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepRequest {
    action: String,
}

/// The core's action named `text` (`"Authorize"`, `"EnterPage"`, ...).
fn action_named(text: &str) -> Result<Action, String> {
    Action::ALL
        .into_iter()
        .find(|action| action.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = Action::ALL.iter().map(|action| action.as_str()).collect();
            format!("action {text:?} is not one of {}", names.join(", "))
        })
}

async fn step_session(
    State(world): State<Arc<World>>,
    Path(session_id): Path<String>,
    body: Bytes,
) -> Response {
    let action = object::<StepRequest>(&body, "{\"action\": NAME}")
        .and_then(|request| action_named(&request.action));
    let action = match action {
        Ok(action) => action,
        Err(message) => return error(&world, StatusCode::BAD_REQUEST, "BAD_VALUE", &message),
    };
    if action == Action::Disable {
        // The merchant's step: as the API's Disable does it, never called back.
        return match world.disable(&session_id) {
            DisableOutcome::Disabled => read_now(&world, &session_id),
            DisableOutcome::Refused { reason, .. } => {
                error(&world, StatusCode::CONFLICT, "NOT_ALLOWED", &reason)
            }
            DisableOutcome::Expired | DisableOutcome::Unknown => not_found_session(&world),
        };
    }
    let step = match action {
        Action::EnterPage => Move::EnterPage,
        other => Move::Outcome(other),
    };
    match world.step(&session_id, step, false) {
        Ok(stepped) => json(StatusCode::OK, &stepped.session),
        Err(StepRefused::Move(refused)) => error(
            &world,
            StatusCode::CONFLICT,
            "NOT_ALLOWED",
            &refused.to_string(),
        ),
        Err(StepRefused::Unknown(_) | StepRefused::Expired(_)) => not_found_session(&world),
    }
}

/// The session as Read Session shows it now, without a fault draw and without counting it
/// as the merchant's read.
fn read_now(world: &World, session_id: &str) -> Response {
    match world.peek(session_id) {
        Some(session) => json(StatusCode::OK, &session),
        None => not_found_session(world),
    }
}

fn not_found_session(world: &World) -> Response {
    error(
        world,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session expired or not found",
    )
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
