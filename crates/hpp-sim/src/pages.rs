//! The two HTML pages, server-rendered from `templates/` (askama: compiled in, every value
//! HTML-escaped):
//!
//! - `GET /hpp/pay/{id}`, the session's `redirect_url`: the session (status, `expires_at`,
//!   `place_order_mode`, its token or order once `COMPLETED`, its history) and the consumer's
//!   legal next moves as buttons, from the core's table ([`SessionState::apply`], which steps
//!   the lifecycle by [`hpp_status::Status::apply`]): each a plain form that
//!   `POST`s `action=NAME` to the same URL. The step is taken as `POST /_sim/sessions/{id}/step`
//!   takes it; then a 303 sends the browser on to the merchant's URL for the outcome
//!   (`success`, `cancel`, `back`, `failure`, `error`, placeholders filled) when the merchant
//!   gave one, else back to the page. A move that is not legal now: 409, the page with the
//!   core's refusal. Unknown or expired session: 404.
//! - `GET /_sim/`, the run: sessions by status, callbacks, reads, disables, orders, what the
//!   merchant got wrong ([`Summary::problems`]) and the newest sessions, linking to their
//!   payment pages; it reloads itself every [`RUN_PAGE_REFRESH_SECONDS`] seconds.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hpp_status::{Action, Actor};
use url::Url;

use crate::registry::StepRefused;
use crate::truth::{PaymentKind, Redirect, SessionTruth, Summary};
use crate::walk::{Interlude, Move, SessionState};
use crate::world::World;

/// How often the run's page reloads itself.
pub(crate) const RUN_PAGE_REFRESH_SECONDS: u32 = 2;

/// How many sessions the run's page lists, newest first.
const RECENT_SESSIONS: usize = 25;

/// The name of the form field that carries the move.
const ACTION_FIELD: &str = "action";

/// The session as the payment page shows it.
struct SessionView {
    session_id: String,
    status: String,
    lifecycle: String,
    updated_at: String,
    expires_at: String,
    payment: &'static str,
    place_order_mode: &'static str,
    authorization_token: Option<String>,
    order_id: Option<String>,
    klarna_reference: Option<String>,
    history: Vec<ChangeView>,
}

struct ChangeView {
    status: String,
    updated_at: String,
    cause: String,
    called_back: bool,
}

impl SessionView {
    fn new(truth: &SessionTruth) -> SessionView {
        SessionView {
            session_id: truth.session_id.clone(),
            status: truth.status.as_str().to_owned(),
            lifecycle: truth.lifecycle.as_str().to_owned(),
            updated_at: truth.history.last().map_or_else(
                || truth.created_at.to_string(),
                |c| c.updated_at.to_string(),
            ),
            expires_at: truth.expires_at.to_string(),
            payment: match truth.payment {
                PaymentKind::KlarnaPayments => "Klarna Payments",
                PaymentKind::KustomCheckout => "Kustom Checkout",
            },
            place_order_mode: truth.place_order_mode.as_str(),
            authorization_token: truth.authorization_token.clone(),
            order_id: truth.order_id.clone(),
            klarna_reference: truth.klarna_reference.clone(),
            history: truth
                .history
                .iter()
                .map(|change| ChangeView {
                    status: change.status.as_str().to_owned(),
                    updated_at: change.updated_at.to_string(),
                    cause: change.cause.clone(),
                    called_back: change.called_back,
                })
                .collect(),
        }
    }
}

/// One button: a move the consumer can make now.
struct Button {
    /// The form value: the core's action name, or `Resume`.
    name: String,
    label: &'static str,
    /// The status the move leads to.
    to: String,
    primary: bool,
}

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage {
    session: SessionView,
    actions: Vec<Button>,
    manual: bool,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// Where a session is, from its truth.
fn state_of(truth: &SessionTruth) -> SessionState {
    SessionState {
        lifecycle: truth.lifecycle,
        interlude: Interlude::shown_as(&truth.status),
    }
}

/// The move a consumer's action is.
fn move_of(action: Action) -> Move {
    match action {
        Action::EnterPage => Move::EnterPage,
        other => Move::Outcome(other),
    }
}

/// The moves a person on the page can make: every consumer action of the core that fits the
/// session's state now, and `Resume` after a `TIMEOUT` (the consumer comes back).
pub(crate) fn legal_moves(state: SessionState) -> Vec<(String, Move)> {
    let mut moves: Vec<(String, Move)> = Action::ALL
        .into_iter()
        .filter(|action| action.actor() == Actor::Consumer)
        .map(|action| (action.as_str().to_owned(), move_of(action)))
        .collect();
    moves.push(("Resume".to_owned(), Move::Resume));
    moves.retain(|(_, step)| {
        let mut next = state;
        next.apply(*step).is_ok()
    });
    moves
}

/// The move a form value names, for a consumer; or why it names none.
fn named_move(name: &str) -> Result<Move, String> {
    if name == "Resume" {
        return Ok(Move::Resume);
    }
    match Action::ALL
        .into_iter()
        .find(|action| action.as_str() == name)
    {
        Some(action) if action.actor() == Actor::Consumer => Ok(move_of(action)),
        Some(action) => Err(format!(
            "{action} is the merchant's action (the API's DELETE), not the consumer's"
        )),
        None => {
            let names: Vec<&str> = Action::ALL
                .iter()
                .filter(|action| action.actor() == Actor::Consumer)
                .map(|action| action.as_str())
                .chain(["Resume"])
                .collect();
            Err(format!(
                "action {name:?} is not one of {}",
                names.join(", ")
            ))
        }
    }
}

fn buttons(state: SessionState) -> Vec<Button> {
    legal_moves(state)
        .into_iter()
        .map(|(name, step)| {
            let mut after = state;
            // Legal by construction; the state stays as it was otherwise.
            let _ = after.apply(step);
            let label = match step {
                Move::EnterPage if state.lifecycle == hpp_status::Status::Waiting => {
                    "Open the page"
                }
                Move::EnterPage => "Return to the page",
                Move::Resume => "Come back to the page",
                Move::Outcome(Action::Authorize) => "Pay",
                Move::Outcome(Action::Decline) => "Be declined",
                Move::Outcome(Action::Cancel) => "Cancel",
                Move::Outcome(Action::GoBack) => "Go back",
                Move::Outcome(Action::Fail) => "Hit an error",
                Move::Outcome(_) | Move::Show(_) => "Step",
            };
            Button {
                primary: matches!(
                    step,
                    Move::EnterPage | Move::Resume | Move::Outcome(Action::Authorize)
                ),
                name,
                label,
                to: after.shown().as_str().to_owned(),
            }
        })
        .collect()
}

fn html(code: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            code,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("hpp-sim: the page failed to render: {error}\n"),
            )
                .into_response()
        }
    }
}

fn problem(code: StatusCode, title: &str, message: &str) -> Response {
    html(code, &ProblemPage { title, message })
}

fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Session expired or not found",
        "There is no payment session at this address, or it has expired.",
    )
}

/// The session's truth, unless it is unknown or past its `expires_at`.
fn live_truth(world: &World, session_id: &str) -> Option<SessionTruth> {
    let now = world.clock.now();
    world
        .session_truth(session_id)
        .filter(|truth| !truth.is_past_expiry(now))
}

fn pay_page(
    world: &World,
    truth: &SessionTruth,
    code: StatusCode,
    notice: Option<String>,
) -> Response {
    html(
        code,
        &PayPage {
            session: SessionView::new(truth),
            actions: buttons(state_of(truth)),
            manual: world.config.manual,
            notice,
        },
    )
}

/// `GET /hpp/pay/{id}`: the payment page. Opening it lets a consumer waiting for its page
/// start (`SimConfig::consumers_wait_for_page`).
pub(crate) async fn payment_page(
    State(world): State<Arc<World>>,
    Path(session_id): Path<String>,
) -> Response {
    world.open_page(&session_id);
    match live_truth(&world, &session_id) {
        Some(truth) => pay_page(&world, &truth, StatusCode::OK, None),
        None => not_found(),
    }
}

/// `POST /hpp/pay/{id}` with `action=NAME`: the consumer's move, then a 303 to the merchant's
/// URL for the outcome, or back to the page.
pub(crate) async fn pay(
    State(world): State<Arc<World>>,
    Path(session_id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(truth) = live_truth(&world, &session_id) else {
        return not_found();
    };
    let name = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == ACTION_FIELD)
        .map(|(_, value)| value.into_owned());
    let step = match name.as_deref().map(named_move) {
        Some(Ok(step)) => step,
        Some(Err(message)) => {
            return pay_page(&world, &truth, StatusCode::BAD_REQUEST, Some(message));
        }
        None => {
            let message = format!("the form carries no {ACTION_FIELD:?} field");
            return pay_page(&world, &truth, StatusCode::BAD_REQUEST, Some(message));
        }
    };
    let stepped = match world.step(&session_id, step, false) {
        Ok(stepped) => stepped,
        Err(StepRefused::Move(refused)) => {
            let truth = live_truth(&world, &session_id).unwrap_or(truth);
            return pay_page(
                &world,
                &truth,
                StatusCode::CONFLICT,
                Some(refused.to_string()),
            );
        }
        Err(StepRefused::Unknown(_) | StepRefused::Expired(_)) => return not_found(),
    };
    tracing::info!(%session_id, %step, "stepped on the payment page");
    let page = format!("/hpp/pay/{session_id}");
    let target = match stepped.redirect {
        Some(visit) => match Url::parse(&visit.url) {
            Ok(url) => {
                // The browser goes there itself: recorded without an answer.
                let at = world.clock.now();
                world.with(|registry| {
                    registry.record_redirect(
                        &session_id,
                        Redirect {
                            at,
                            which: visit.which.to_owned(),
                            url: visit.url.clone(),
                            answer: None,
                        },
                    );
                });
                url.to_string()
            }
            Err(error) => {
                tracing::warn!(%session_id, url = %visit.url, %error, "merchant URL is not a URL");
                page
            }
        },
        None => page,
    };
    see_other(&target)
}

fn see_other(target: &str) -> Response {
    match HeaderValue::from_str(target) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(error) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "No way on",
            &format!("the address {target:?} cannot be sent to a browser: {error}"),
        ),
    }
}

struct Row {
    key: String,
    label: String,
    count: u64,
}

struct Section {
    title: &'static str,
    rows: Vec<Row>,
}

struct SessionRow {
    index: u64,
    session_id: String,
    status: String,
    expired: bool,
    created_at: String,
    callbacks: usize,
    reads: u64,
    orders: usize,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    now: String,
    mode: &'static str,
    refresh_seconds: u32,
    problems: Vec<String>,
    sections: Vec<Section>,
    recent: Vec<SessionRow>,
    shown: usize,
    total: usize,
}

fn row(key: &'static str, label: &str, count: u64) -> Row {
    Row {
        key: key.to_owned(),
        label: label.to_owned(),
        count,
    }
}

fn sections(summary: &Summary) -> Vec<Section> {
    let mut statuses = vec![
        row("sessions", "created", summary.sessions),
        row("open", "open", summary.open),
        row("expired", "expired before a final status", summary.expired),
        row("abandoned", "abandoned by the consumer", summary.abandoned),
    ];
    statuses.extend(summary.by_status.iter().map(|(status, count)| Row {
        key: format!("status.{status}"),
        label: format!("now {status}"),
        count: *count,
    }));
    let c = &summary.callbacks;
    let r = &summary.reads;
    let d = &summary.disables;
    let o = &summary.orders;
    // Every operation called, and its 429s when there were any.
    let mut calls = Vec::new();
    for (operation, tally) in &summary.calls {
        calls.push(Row {
            key: format!("calls.{operation}"),
            label: operation.to_string(),
            count: tally.calls,
        });
        for (what, label, count) in [
            ("rate_limited", "429 over the limit", tally.rate_limited),
            ("storm_refused", "429 in a storm", tally.storm_refused),
        ] {
            if count > 0 {
                calls.push(Row {
                    key: format!("calls.{operation}.{what}"),
                    label: format!("{operation}: {label}"),
                    count,
                });
            }
        }
    }
    vec![
        Section {
            title: "Sessions",
            rows: statuses,
        },
        Section {
            title: "API calls (after Basic auth)",
            rows: calls,
        },
        Section {
            title: "Callbacks",
            rows: vec![
                row("callbacks.events", "events", c.events),
                row("callbacks.sent", "sent (POSTs)", c.sent),
                row("callbacks.acknowledged", "acknowledged", c.acknowledged),
                row("callbacks.retries", "retries", c.retries),
                row("callbacks.given_up", "given up", c.given_up),
                row("callbacks.lost", "lost on purpose", c.lost),
                row("callbacks.duplicated", "duplicated", c.duplicated),
                row("callbacks.delayed", "delayed", c.delayed),
                row("callbacks.forged", "forged", c.forged),
                row(
                    "callbacks.forged_acknowledged",
                    "forged, answered 2xx",
                    c.forged_acknowledged,
                ),
            ],
        },
        Section {
            title: "Reads and disables",
            rows: vec![
                row("reads.served", "reads served", r.served),
                row(
                    "reads.injected_errors",
                    "reads failed on purpose",
                    r.injected_errors,
                ),
                row("reads.slowed", "reads slowed", r.slowed),
                row("reads.stale", "reads answered stale", r.stale),
                row("reads.after_expiry", "reads after expiry", r.after_expiry),
                row("reads.unknown", "reads of unknown sessions", r.unknown),
                row("disables.disabled", "disabled", d.disabled),
                row("disables.refused", "disables refused", d.refused),
                row(
                    "unauthorized",
                    "refused: bad credentials",
                    summary.unauthorized,
                ),
            ],
        },
        Section {
            title: "Orders",
            rows: vec![
                row(
                    "orders.tokens_issued",
                    "owed (tokens issued)",
                    o.tokens_issued,
                ),
                row("orders.placed", "placed by the merchant", o.placed),
                row("orders.answers_lost", "placed, answer lost", o.answers_lost),
                row("orders.klarna_placed", "placed by Klarna", o.klarna_placed),
                row("orders.missed", "missed", o.missed),
                row(
                    "orders.repeat_attempts",
                    "repeat attempts",
                    o.repeat_attempts,
                ),
                row("orders.forged_token", "with a forged token", o.forged_token),
                row(
                    "orders.expired_token",
                    "with an expired token",
                    o.expired_token,
                ),
                row(
                    "redirects",
                    "redirects consumers followed",
                    summary.redirects,
                ),
            ],
        },
    ]
}

/// `GET /_sim/`: the run's page.
pub(crate) async fn run_page(State(world): State<Arc<World>>) -> Response {
    let summary = world.summary();
    let truth = world.truth();
    let now = world.clock.now();
    let recent: Vec<SessionRow> = truth
        .iter()
        .rev()
        .take(RECENT_SESSIONS)
        .map(|session| SessionRow {
            index: session.index,
            session_id: session.session_id.clone(),
            status: session.status.as_str().to_owned(),
            expired: session.expired_before_final(now),
            created_at: session.created_at.to_string(),
            callbacks: session.events.len(),
            reads: session.reads.served,
            orders: session.orders_placed(),
        })
        .collect();
    html(
        StatusCode::OK,
        &RunPage {
            now: now.to_string(),
            mode: if world.config.manual {
                "manual: no consumers"
            } else {
                "simulated consumers"
            },
            refresh_seconds: RUN_PAGE_REFRESH_SECONDS,
            problems: summary.problems().iter().map(ToString::to_string).collect(),
            sections: sections(&summary),
            shown: recent.len(),
            total: truth.len(),
            recent,
        },
    )
}

#[cfg(test)]
mod tests {
    use hpp_status::Status;

    use super::*;

    fn names(state: SessionState) -> Vec<String> {
        legal_moves(state)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    #[test]
    fn the_buttons_are_the_consumer_moves_the_core_allows() {
        assert_eq!(names(SessionState::NEW), ["EnterPage"]);
        let open = SessionState {
            lifecycle: Status::InProgress,
            interlude: None,
        };
        assert_eq!(
            names(open),
            ["Authorize", "Decline", "Cancel", "GoBack", "Fail"]
        );
        for retry in [Status::Failed, Status::Back, Status::Error] {
            let state = SessionState {
                lifecycle: retry,
                interlude: None,
            };
            assert_eq!(names(state), ["EnterPage"], "{retry}");
        }
        for done in [Status::Completed, Status::Cancelled, Status::Disabled] {
            let state = SessionState {
                lifecycle: done,
                interlude: None,
            };
            assert!(names(state).is_empty(), "{done}");
        }
        let away = SessionState {
            lifecycle: Status::InProgress,
            interlude: Some(Interlude::Timeout),
        };
        assert_eq!(names(away), ["Resume"]);
    }

    #[test]
    fn every_button_agrees_with_the_core_table() {
        for lifecycle in Status::ALL {
            let state = SessionState {
                lifecycle,
                interlude: None,
            };
            for button in buttons(state) {
                let action = Action::ALL
                    .into_iter()
                    .find(|action| action.as_str() == button.name)
                    .expect("a core action");
                assert_eq!(action.actor(), Actor::Consumer);
                let to = lifecycle.apply(action).expect("legal in the core");
                assert!(lifecycle.can_transition_to(to));
                assert_eq!(button.to, to.as_str());
            }
        }
    }

    #[test]
    fn form_values_name_consumer_moves_only() {
        assert_eq!(
            named_move("Authorize"),
            Ok(Move::Outcome(Action::Authorize))
        );
        assert_eq!(named_move("EnterPage"), Ok(Move::EnterPage));
        assert_eq!(named_move("Resume"), Ok(Move::Resume));
        let merchant = named_move("Disable").unwrap_err();
        assert!(merchant.contains("merchant"), "{merchant}");
        let unknown = named_move("<b>Pay</b>").unwrap_err();
        assert!(
            unknown.contains("\"<b>Pay</b>\"") && unknown.contains("GoBack"),
            "{unknown}"
        );
    }

    #[test]
    fn text_on_the_pages_is_escaped() {
        let page = ProblemPage {
            title: "<script>alert(1)</script>",
            message: "a & b \"c\"",
        }
        .render()
        .unwrap();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{page}"
        );
        assert!(!page.contains("a & b \"c\""), "{page}");
        assert!(page.contains("a &#38; b &#34;c&#34;"), "{page}");
    }
}
