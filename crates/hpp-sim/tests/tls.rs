//! HTTPS: the simulator served over TLS with a CA generated at start, clients that trust
//! that CA and clients that do not, status callbacks to an HTTPS merchant, and the binary's
//! `--tls --tls-ca FILE`. Everything on 127.0.0.1.

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use hpp_sim::tls::LocalCa;
use hpp_sim::{Answer, ServeTls, SimConfig, SimHandle};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use support::{Api, PASSWORD, USER, manual_config, start};

/// A client that trusts the CA in `pem` and nothing else.
fn trusting(pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(pem).expect("a PEM certificate")])
        .build()
        .expect("a client")
}

/// An error and its causes, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn tls_config(ca_file: Option<&Path>) -> SimConfig {
    SimConfig {
        tls: Some(ServeTls {
            ca_file: ca_file.map(Path::to_path_buf),
        }),
        ..manual_config()
    }
}

async fn summary_sessions(client: &reqwest::Client, base: &str) -> u64 {
    let summary: Value = client
        .get(format!("{base}/_sim/summary"))
        .send()
        .await
        .expect("the summary answers")
        .error_for_status()
        .expect("200")
        .json()
        .await
        .expect("JSON");
    summary["sessions"].as_u64().expect("a session count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_api_answers_a_client_that_trusts_the_written_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let sim = start(tls_config(Some(&ca_file))).await;
    let port = sim.local_addr().port();
    assert_eq!(sim.base_url(), format!("https://127.0.0.1:{port}"));
    let written = std::fs::read_to_string(&ca_file).expect("the CA file is written");
    assert!(
        written.starts_with("-----BEGIN CERTIFICATE-----"),
        "{written}"
    );
    assert_eq!(sim.tls_ca_pem(), Some(written.as_str()));

    // The file's CA: the API, with Basic auth, over HTTPS.
    let api = Api {
        base: sim.base_url().to_owned(),
        client: trusting(written.as_bytes()),
    };
    let id = api.create_kp("NONE", None).await;
    let read = api.read(&id).await;
    assert_eq!(
        (read.code, &read.body["status"]),
        (200, &Value::from("WAITING"))
    );
    // The session hands out https URLs.
    let created = api
        .create(&serde_json::json!({
            "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp-2",
            "options": {"place_order_mode": "NONE"},
        }))
        .await;
    let redirect = created.body["redirect_url"].as_str().unwrap();
    assert!(
        redirect.starts_with(&format!("https://127.0.0.1:{port}/")),
        "{redirect}"
    );

    // The library's PEM, and the name localhost: the /_sim routes see a loopback peer.
    let client = trusting(sim.tls_ca_pem().unwrap().as_bytes());
    assert_eq!(summary_sessions(&client, sim.base_url()).await, 2);
    assert_eq!(
        summary_sessions(&client, &format!("https://localhost:{port}")).await,
        2
    );
    let page = client.get(redirect).send().await.unwrap();
    assert_eq!(page.status(), 200);

    // Shutting down ends the server, its open connections and the listener.
    let summary = tokio::time::timeout(Duration::from_secs(10), sim.shutdown())
        .await
        .expect("shutdown within 10 s")
        .expect("a clean shutdown");
    assert_eq!(summary.sessions, 2);
    let after = client
        .get(format!("https://127.0.0.1:{port}/_sim/summary"))
        .send()
        .await;
    assert!(after.is_err(), "still serving after shutdown: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_ca_is_refused() {
    let sim = start(tls_config(None)).await;
    let url = format!("{}/_sim/summary", sim.base_url());

    // The platform's roots (this machine's store) do not hold a CA made at start.
    let platform = reqwest::Client::builder().no_proxy().build().unwrap();
    let error = platform.get(&url).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    let text = chain(&error);
    assert!(text.contains("invalid peer certificate"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");

    // Another run's CA does not sign this run's certificate.
    let other = LocalCa::generate(&[]).unwrap();
    let text = chain(
        &trusting(other.ca_pem().as_bytes())
            .get(&url)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(text.contains("invalid peer certificate"), "{text}");

    // Plain HTTP to the HTTPS port gets no answer.
    let plain = format!("http://127.0.0.1:{}/_sim/summary", sim.local_addr().port());
    let answered = platform.get(&plain).send().await;
    assert!(answered.is_err(), "plain HTTP answered: {answered:?}");

    // None of them broke the server.
    let client = trusting(sim.tls_ca_pem().unwrap().as_bytes());
    assert_eq!(summary_sessions(&client, sim.base_url()).await, 0);
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_plain_simulator_has_no_ca() {
    let sim = start(manual_config()).await;
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(sim.tls_ca_pem(), None);
}

/// A merchant serving its callback endpoint over HTTPS with its own CA.
struct HttpsMerchant {
    base: String,
    ca: LocalCa,
    bodies: Arc<Mutex<Vec<Bytes>>>,
}

impl HttpsMerchant {
    async fn start() -> HttpsMerchant {
        let ca = LocalCa::generate(&[]).unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", tcp.local_addr().unwrap());
        let listener = ca.listener(tcp).unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route(
                "/cb",
                post(
                    |State(bodies): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                        bodies.lock().unwrap().push(body);
                        "ok"
                    },
                ),
            )
            .with_state(Arc::clone(&bodies));
        tokio::spawn(async move { axum::serve(listener, app).await });
        HttpsMerchant { base, ca, bodies }
    }
}

/// Creates a session with the merchant's callback URL, has the consumer authorize, and
/// waits until the callback event ended; returns the session's attempts' answers.
async fn authorize_and_wait(sim: &SimHandle, merchant: &HttpsMerchant) -> Vec<Answer> {
    let api = Api::new(sim);
    let id = api
        .create_kp("NONE", Some(&format!("{}/cb", merchant.base)))
        .await;
    assert_eq!(api.step(&id, "EnterPage").await.code, 200);
    assert_eq!(api.step(&id, "Authorize").await.code, 200);
    let started = Instant::now();
    loop {
        let truth = sim.session(&id).unwrap();
        let ended = truth
            .events
            .iter()
            .filter(|event| event.status.as_str() == "COMPLETED")
            .any(|event| event.outcome != hpp_sim::EventOutcome::Pending);
        if ended {
            return truth
                .attempts
                .into_iter()
                .filter(|attempt| {
                    attempt
                        .status
                        .as_ref()
                        .is_some_and(|status| status.as_str() == "COMPLETED")
                })
                .map(|attempt| attempt.answer)
                .collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the callback never ended: {:?}",
            truth.events
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_reaches_an_https_merchant_whose_ca_is_trusted() {
    let merchant = HttpsMerchant::start().await;
    let dir = tempfile::tempdir().unwrap();
    let merchant_ca = dir.path().join("merchant-ca.pem");
    std::fs::write(&merchant_ca, merchant.ca.ca_pem()).unwrap();
    let mut config = SimConfig {
        merchant_ca: Some(merchant_ca),
        ..manual_config()
    };
    // One attempt: a failure shows at once, with its reason.
    config.delivery.max_retries = 0;
    let sim = start(config).await;

    let answers = authorize_and_wait(&sim, &merchant).await;
    assert_eq!(answers, [Answer::Status { code: 200 }]);
    let bodies = merchant.bodies.lock().unwrap().clone();
    let completed: Vec<Value> = bodies
        .iter()
        .filter_map(|body| serde_json::from_slice::<Value>(body).ok())
        .filter(|body| body["session"]["status"] == "COMPLETED")
        .collect();
    assert_eq!(completed.len(), 1, "{bodies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_to_an_https_merchant_whose_ca_is_not_trusted_fails_with_the_reason() {
    let merchant = HttpsMerchant::start().await;
    let mut config = manual_config();
    config.delivery.max_retries = 0;
    let sim = start(config).await;

    let answers = authorize_and_wait(&sim, &merchant).await;
    let [Answer::Failed { reason }] = answers.as_slice() else {
        panic!("one failed attempt expected: {answers:?}");
    };
    // The whole cause chain, down to the certificate check.
    assert!(reason.contains("invalid peer certificate"), "{reason}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
    assert!(merchant.bodies.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_reaches_an_https_merchant_and_opens_https_pages_with_their_cas() {
    // The simulator over HTTPS; its consumers pay once their page is opened.
    let mut config = support::fast_config();
    support::paying_consumers(&mut config);
    config.time.compression = 1000.0; // sessions live 169 s
    config.consumer.think_max = Duration::from_secs(10); // 10 ms
    config.consumers_wait_for_page = true;
    config.tls = Some(ServeTls::default());
    let sim = start(config).await;
    // A merchant over HTTPS with its own CA: each checkout creates a session.
    let api = Api {
        base: sim.base_url().to_owned(),
        client: trusting(sim.tls_ca_pem().unwrap().as_bytes()),
    };
    let ca = LocalCa::generate(&[]).unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant: url::Url = format!("https://{}", tcp.local_addr().unwrap())
        .parse()
        .unwrap();
    let app = Router::new().route(
        "/checkouts",
        post(move || async move {
            let created = api
                .create(&serde_json::json!({
                    "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp-1",
                    "options": {"place_order_mode": "PLACE_ORDER"},
                }))
                .await;
            (axum::http::StatusCode::CREATED, axum::Json(created.body))
        }),
    );
    let listener = ca.listener(tcp).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Without the merchant's CA: no checkout, and the reason says why.
    let checkouts = hpp_sim::Driver::new(merchant.clone(), 1)
        .create_checkouts(|_| {})
        .await
        .unwrap();
    let Err(hpp_sim::CheckoutError::Request { reason, .. }) = &checkouts[0].result else {
        panic!("an untrusted merchant answered: {:?}", checkouts[0].result);
    };
    assert!(reason.contains("invalid peer certificate"), "{reason}");
    assert_eq!(sim.summary().sessions, 0);

    // With both CAs: the checkout, and its page opened, so that its consumer pays.
    let driver = hpp_sim::Driver {
        root_certificates: vec![
            reqwest::Certificate::from_pem(ca.ca_pem().as_bytes()).unwrap(),
            reqwest::Certificate::from_pem(sim.tls_ca_pem().unwrap().as_bytes()).unwrap(),
        ],
        ..hpp_sim::Driver::new(merchant, 1)
    };
    let checkouts = driver.create_checkouts(|_| {}).await.unwrap();
    let id = checkouts[0].result.as_ref().expect("a checkout");
    let started = Instant::now();
    while sim.session(id).unwrap().final_status().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the consumer never paid: its page was not opened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_bad_merchant_ca_file_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-ca.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = hpp_sim::Simulator::new(SimConfig {
        merchant_ca: Some(path.clone()),
        ..SimConfig::default()
    })
    .unwrap()
    .serve(listener)
    .await
    .unwrap_err();
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("no PEM block"), "{text}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let unwritable = dir.path().join("no-such-dir").join("ca.pem");
    let error = hpp_sim::Simulator::new(tls_config(Some(&unwritable)))
        .unwrap()
        .serve(listener)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot write the CA certificate to {}: ",
            unwritable.display()
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_with_tls_prints_and_serves_https_and_writes_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hpp-sim"))
        .args(["--listen", "127.0.0.1:0", "--tls", "--tls-ca"])
        .arg(&ca_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hpp-sim");
    // Its first line names where it serves; the rest is read on so that the pipe never
    // fills.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let serving = loop {
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .expect("hpp-sim says where it serves");
        if let Some(rest) = line.strip_prefix("hpp-sim: serving ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert!(serving.starts_with("https://127.0.0.1:"), "{serving}");
    let pem = std::fs::read(&ca_file).expect("the CA file, written before serving");
    let client = trusting(&pem);
    let summary = client
        .get(format!("{serving}/_sim/summary"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("the binary answers over HTTPS");
    assert_eq!(summary.status(), 200);

    kill(
        Pid::from_raw(i32::try_from(child.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{}", output.status);
    assert!(String::from_utf8_lossy(&output.stdout).contains("sessions"));
}
