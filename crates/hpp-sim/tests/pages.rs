//! The payment page (`/hpp/pay/{id}`) and the run's page (`/_sim/`) over real HTTP on
//! 127.0.0.1, as a browser without scripts uses them: GETs and form POSTs, redirects not
//! followed so that each 303 is seen. The same in a real browser: tests/browser.rs.

mod support;

use std::time::{Duration, Instant};

use hpp_status::{Action, Status};
use reqwest::redirect::Policy;
use serde_json::json;
use support::{Api, Behavior, Recorder, fast_config, idle_consumers, manual_config, start};

/// A browser that shows each redirect instead of following it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

struct Page {
    code: u16,
    location: Option<String>,
    content_type: String,
    body: String,
}

async fn page(response: reqwest::Response) -> Page {
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value: &reqwest::header::HeaderValue| value.to_str().unwrap().to_owned())
    };
    let location = header(reqwest::header::LOCATION);
    let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
    Page {
        code: response.status().as_u16(),
        location,
        content_type,
        body: response.text().await.unwrap(),
    }
}

async fn open(api: &Api, id: &str) -> Page {
    page(
        browser()
            .get(format!("{}/hpp/pay/{id}", api.base))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Submits the page's form for `action` (as its button does: `action=NAME`, form-encoded).
async fn press(api: &Api, id: &str, action: &str) -> Page {
    page(
        browser()
            .post(format!("{}/hpp/pay/{id}", api.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(format!("action={action}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The buttons a page offers, by their ids (`do-NAME`).
fn buttons(body: &str) -> Vec<String> {
    body.split("id=\"do-")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The status the page shows.
fn shown_status(body: &str) -> String {
    let start = body.find("id=\"status\">").expect("a status on the page") + 12;
    body[start..].split('<').next().unwrap().to_owned()
}

/// Text as the templates escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

async fn wait_for_callback(recorder: &Recorder, id: &str, status: &str) {
    let started = Instant::now();
    while !recorder
        .for_session(id)
        .iter()
        .any(|received| received.status().as_deref() == Some(status))
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no {status} callback for {id}: {:?}",
            recorder.for_session(id)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_person_pays_on_the_page_and_lands_on_the_merchant_success_url() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let recorder = Recorder::start(Behavior::Answer(200)).await;
    let created = api
        .create(&json!({
            "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp-1",
            "options": {"place_order_mode": "NONE"},
            "merchant_urls": {
                "status_update": recorder.status_update(),
                "success": recorder.success(),
            },
        }))
        .await;
    assert_eq!(created.code, 201, "{:?}", created.body);
    let id = created.body["session_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["redirect_url"],
        format!("{}/hpp/pay/{id}", api.base)
    );

    let first = open(&api, &id).await;
    assert_eq!(first.code, 200);
    assert!(
        first.content_type.starts_with("text/html"),
        "{}",
        first.content_type
    );
    assert!(first.body.contains(&id));
    assert!(first.body.contains("NONE"), "place_order_mode shown");
    let expires_at = sim.session(&id).unwrap().expires_at.to_string();
    assert!(
        first.body.contains(&expires_at),
        "expires_at {expires_at} shown"
    );
    assert_eq!(shown_status(&first.body), "WAITING");
    assert_eq!(buttons(&first.body), ["EnterPage"]);
    // Opening the page is not a move: only a button is.
    assert_eq!(api.read(&id).await.body["status"], "WAITING");

    let entered = press(&api, &id, "EnterPage").await;
    assert_eq!(entered.code, 303);
    assert_eq!(
        entered.location.as_deref(),
        Some(&*format!("/hpp/pay/{id}"))
    );
    let open_page = open(&api, &id).await;
    assert_eq!(shown_status(&open_page.body), "IN_PROGRESS");
    assert_eq!(
        buttons(&open_page.body),
        ["Authorize", "Decline", "Cancel", "GoBack", "Fail"]
    );

    let paid = press(&api, &id, "Authorize").await;
    assert_eq!(paid.code, 303);
    let session = api.read(&id).await.body;
    assert_eq!(session["status"], "COMPLETED");
    let token = session["authorization_token"].as_str().unwrap();
    assert_eq!(
        paid.location.as_deref(),
        Some(&*format!("{}/ok/{id}?token={token}", recorder.base)),
        "the success URL with its placeholders filled"
    );
    wait_for_callback(&recorder, &id, "COMPLETED").await;
    let truth = sim.session(&id).unwrap();
    assert_eq!(truth.redirects.len(), 1, "{:?}", truth.redirects);
    assert_eq!(truth.redirects[0].which, "success");
    // The browser follows the redirect itself: the simulator visits nothing.
    assert!(recorder.visits().is_empty(), "{:?}", recorder.visits());

    let done = open(&api, &id).await;
    assert_eq!(shown_status(&done.body), "COMPLETED");
    assert!(done.body.contains(token), "the token is shown");
    assert!(buttons(&done.body).is_empty());
    assert!(done.body.contains("COMPLETED is final"));
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_outcome_without_a_merchant_url_returns_to_the_page() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let id = api.create_kp("PLACE_ORDER", None).await;
    press(&api, &id, "EnterPage").await;
    let declined = press(&api, &id, "Decline").await;
    assert_eq!(declined.code, 303);
    assert_eq!(
        declined.location.as_deref(),
        Some(&*format!("/hpp/pay/{id}"))
    );
    let failed = open(&api, &id).await;
    assert_eq!(shown_status(&failed.body), "FAILED");
    // FAILED stays open: the consumer can return to retry, and then pay.
    assert_eq!(buttons(&failed.body), ["EnterPage"]);
    press(&api, &id, "EnterPage").await;
    press(&api, &id, "Authorize").await;
    let done = open(&api, &id).await;
    let order_id = api.read(&id).await.body["order_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(done.body.contains(&order_id), "the order is shown");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_illegal_move_is_409_with_the_core_refusal_and_changes_nothing() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", None).await;
    let refused = press(&api, &id, "Authorize").await;
    assert_eq!(refused.code, 409);
    let core = Status::Waiting
        .apply(Action::Authorize)
        .unwrap_err()
        .to_string();
    assert!(
        refused.body.contains(&escaped(&core)),
        "the core's refusal {core:?} on the page"
    );
    assert_eq!(shown_status(&refused.body), "WAITING");
    assert_eq!(
        buttons(&refused.body),
        ["EnterPage"],
        "the legal moves still offered"
    );
    assert_eq!(api.read(&id).await.body["status"], "WAITING");

    // The merchant's Disable is no consumer's button; an unknown name and no name neither.
    for (body, expected) in [
        ("action=Disable", "merchant"),
        ("action=Pay", "is not one of"),
        ("nothing=here", "no &#34;action&#34; field"),
    ] {
        let answer = page(
            browser()
                .post(format!("{}/hpp/pay/{id}", api.base))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.code, 400, "{body}");
        assert!(answer.body.contains(expected), "{body}: {}", answer.body);
    }
    assert_eq!(api.read(&id).await.body["status"], "WAITING");

    // A final status offers nothing and refuses everything.
    assert_eq!(api.step(&id, "Disable").await.code, 200);
    let disabled = open(&api, &id).await;
    assert!(buttons(&disabled.body).is_empty());
    assert_eq!(press(&api, &id, "EnterPage").await.code, 409);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_and_expired_sessions_are_404_pages() {
    let sim = start(manual_config()).await;
    let api = Api::new(&sim);
    for answer in [
        open(&api, "no-such-session").await,
        press(&api, "no-such-session", "EnterPage").await,
    ] {
        assert_eq!(answer.code, 404);
        assert!(answer.content_type.starts_with("text/html"));
        assert!(answer.body.contains("Session expired or not found"));
    }
    let id = api.create_kp("NONE", None).await;
    assert_eq!(open(&api, &id).await.code, 200);
    assert_eq!(api.clock(&json!({"advance": "48h"})).await.code, 200);
    assert_eq!(open(&api, &id).await.code, 404);
    assert_eq!(press(&api, &id, "EnterPage").await.code, 404);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn with_simulated_consumers_the_page_still_shows_and_steps() {
    let mut config = fast_config();
    idle_consumers(&mut config); // the consumer's first move is an hour away
    let sim = start(config).await;
    let api = Api::new(&sim);
    let id = api.create_kp("NONE", None).await;
    let first = open(&api, &id).await;
    assert_eq!(first.code, 200);
    assert!(
        first
            .body
            .contains("simulated consumer walks this session too")
    );
    assert_eq!(buttons(&first.body), ["EnterPage"]);
    assert_eq!(press(&api, &id, "EnterPage").await.code, 303);
    assert_eq!(api.read(&id).await.body["status"], "IN_PROGRESS");
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_run_page_shows_the_counts_the_problems_and_the_sessions() {
    let mut config = manual_config();
    // Create order refused for the first hour: its 429s show on the page.
    config.faults.storms.push(hpp_sim::Storm {
        operation: hpp_sim::Operation::CreateOrder,
        start: Duration::ZERO,
        length: Duration::from_secs(3600),
    });
    let sim = start(config).await;
    let api = Api::new(&sim);
    let recorder = Recorder::start(Behavior::Answer(200)).await;
    let run = |api: Api| async move {
        page(
            browser()
                .get(format!("{}/_sim/", api.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let empty = run(api.clone()).await;
    assert_eq!(empty.code, 200);
    assert!(empty.content_type.starts_with("text/html"));
    assert!(
        empty
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"2\">")
    );
    assert!(empty.body.contains("id=\"no-problems\""));
    assert!(empty.body.contains("No session yet"));

    let paid = api.create_kp("NONE", Some(&recorder.status_update())).await;
    let waiting = api.create_kp("NONE", None).await;
    api.step(&paid, "EnterPage").await;
    api.step(&paid, "Authorize").await;
    // Both callbacks (IN_PROGRESS, COMPLETED) acknowledged and counted.
    let started = Instant::now();
    assert_eq!(api.order("no-such-token", None).await.code, 429);
    let summary = loop {
        let summary = sim.summary();
        if summary.callbacks.acknowledged == 2 {
            break summary;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{summary:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let body = run(api.clone()).await.body;
    // The token was never used: the merchant owes an order.
    assert!(
        body.contains(&escaped(&hpp_sim::Problem::MissedOrders(1).to_string())),
        "{body}"
    );
    assert!(!body.contains("id=\"no-problems\""));
    assert!(body.contains(&format!(
        "data-count=\"callbacks.sent\">{}<",
        summary.callbacks.sent
    )));
    assert_eq!(summary.callbacks.sent, 2, "{summary:?}");
    assert!(body.contains("data-count=\"sessions\">2<"));
    assert!(
        body.contains("data-count=\"calls.create_session\">2<"),
        "{body}"
    );
    assert!(body.contains("data-count=\"calls.create_order.storm_refused\">1<"));
    assert!(
        !body.contains("calls.create_session.storm_refused"),
        "no empty 429 rows"
    );
    assert!(body.contains("now COMPLETED"));
    assert!(body.contains("now WAITING"));
    for id in [&paid, &waiting] {
        assert!(
            body.contains(&format!("href=\"/hpp/pay/{id}\"")),
            "{id} linked"
        );
    }
    // The newest first.
    assert!(body.find(waiting.as_str()) < body.find(paid.as_str()));
    // `/_sim` without the slash is the same page.
    let bare = page(
        browser()
            .get(format!("{}/_sim", api.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bare.code, 200);
    assert!(bare.body.contains("What the merchant got wrong"));
    sim.shutdown().await.unwrap();
}
