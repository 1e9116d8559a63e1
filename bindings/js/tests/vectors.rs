//! The shared test vectors of the bindings, `bindings/vectors.json`: what the core answers
//! for every transition, action, status text, timestamp, tracker history, stored form and
//! wire payload (hostile ones from the fuzz corpora included). The Python suite
//! (`bindings/python/tests`) and the JavaScript suite (`bindings/js/tests`) replay the file
//! against the packages; this test computes it from the core and fails when the file
//! differs, so a change in any language shows up as a failing suite.
//!
//! ```sh
//! UPDATE_VECTORS=1 cargo test -p hpp-status-js --test vectors   # rewrite the file
//! ```
//!
//! It also replays the file through this crate's own conversions (the pure twins of the
//! WebAssembly exports), so the raw layer is checked on the host too.

use std::fs;
use std::path::{Path, PathBuf};

use hpp_status::wire::{SessionResponse, StatusCallback, Timestamp};
use hpp_status::{Action, Observation, Status, Tracker};
use hpp_status_js::{Session, Tracker as JsTracker};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vectors_path() -> PathBuf {
    repo().join("bindings/vectors.json")
}

/// The files of a fuzz corpus, sorted by name, with their bytes.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.expect("corpus entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, fs::read(entry.path()).expect("corpus file"))
        })
        .collect();
    files.sort();
    files
}

/// A small deterministic generator (an LCG), so that the histories are the same every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn statuses() -> Value {
    Status::ALL
        .iter()
        .map(|s| json!({"name": s.as_str(), "final": s.is_final()}))
        .collect()
}

fn actions() -> Value {
    // The Python names are the upper snake case of the action's name.
    fn snake(name: &str) -> String {
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }
    Action::ALL
        .iter()
        .map(|a| json!({"name": a.as_str(), "python": snake(a.as_str()), "target": a.target().as_str()}))
        .collect()
}

fn transitions() -> Value {
    let mut out = Vec::new();
    for from in Status::ALL {
        for to in Status::ALL {
            out.push(json!({
                "from": from.as_str(),
                "to": to.as_str(),
                "can_transition": from.can_transition_to(to),
                "can_reach": from.can_reach(to),
            }));
        }
    }
    Value::Array(out)
}

fn applications() -> Value {
    let mut out = Vec::new();
    for from in Status::ALL {
        for action in Action::ALL {
            let (next, error) = match from.apply(action) {
                Ok(next) => (Value::from(next.as_str()), Value::Null),
                Err(error) => (Value::Null, Value::from(error.to_string())),
            };
            out.push(json!({"from": from.as_str(), "action": action.as_str(), "next": next, "error": error}));
        }
    }
    Value::Array(out)
}

fn status_texts() -> Value {
    let mut texts: Vec<String> = Status::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    for extra in [
        "",
        "back",
        "In_Progress",
        "TIMEOUT",
        "MANUAL_ID_CHECK",
        " BACK",
        "BACK\n",
        "COMPLETE",
        "ÉCHEC",
        "\u{0}",
    ] {
        texts.push(extra.to_owned());
    }
    texts.push("X".repeat(100));
    texts.push("é".repeat(40));
    for (_, bytes) in corpus("parse_status") {
        if let Ok(text) = String::from_utf8(bytes)
            && text.len() <= 80
            && !texts.contains(&text)
        {
            texts.push(text);
        }
    }
    texts
        .into_iter()
        .map(|text| {
            let error = text.parse::<Status>().err().map(|error| error.to_string());
            json!({"text": text, "error": error})
        })
        .collect()
}

/// Every UTF-8 text of the timestamp corpus (each file is two texts split at a newline).
fn timestamp_texts() -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    for (_, bytes) in corpus("timestamp") {
        for part in bytes.splitn(2, |b| *b == b'\n') {
            if let Ok(text) = std::str::from_utf8(part)
                && text.len() <= 120
                && !texts.iter().any(|t| t == text)
            {
                texts.push(text.to_owned());
            }
        }
    }
    texts
}

fn timestamps() -> Value {
    timestamp_texts()
        .into_iter()
        .map(|text| match text.parse::<Timestamp>() {
            Ok(at) => json!({"text": text, "written": at.to_string(), "error": null}),
            Err(error) => json!({"text": text, "written": null, "error": error.to_string()}),
        })
        .collect()
}

/// Tracker histories: deliveries of statuses at times (a few of them malformed), each with
/// what the core's tracker said and held after it, and the stored form at the end.
fn histories() -> Value {
    let times = [
        "2019-05-13T14:51:46.288Z",
        "2019-05-13T14:51:46.288Z",
        "2019-05-13T16:51:46.288+02:00",
        "2019-05-13T14:51:47Z",
        "2019-05-13T14:51:47.000000001Z",
        "2019-05-13T14:52:00.000Z",
        "2019-05-13T14:50:00.000Z",
        "2019-05-13t14:53:00.5z",
        "0000-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59.999999999-23:59",
        "2019-05-13T14:51:60Z",
        "2019-05-13 14:51:46Z",
        "yesterday",
    ];
    let names = [
        "WAITING",
        "IN_PROGRESS",
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "BACK",
        "ERROR",
        "DISABLED",
        "IN_PROGRESS",
        "BACK",
        "TIMEOUT",
        "in_progress",
    ];
    let mut lcg = Lcg(20);
    let mut out = Vec::new();
    for _ in 0..60 {
        let length = 1 + lcg.below(8);
        let mut tracker: Tracker<Timestamp> = Tracker::new();
        let mut deliveries = Vec::new();
        for _ in 0..length {
            let status = names[lcg.below(names.len())];
            let updated_at = times[lcg.below(times.len())];
            let seen = status
                .parse::<Status>()
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    updated_at
                        .parse::<Timestamp>()
                        .map(|at| Observation::new(s, at))
                        .map_err(|e| e.to_string())
                });
            deliveries.push(match seen {
                Ok(seen) => {
                    let outcome = tracker.observe(seen);
                    json!({
                        "status": status,
                        "updated_at": updated_at,
                        "kind": outcome.kind().as_str(),
                        "became_final": outcome.became_final(),
                        "held_status": outcome.current().status.as_str(),
                        "held_updated_at": outcome.current().updated_at.to_string(),
                        "error": null,
                    })
                }
                Err(error) => json!({"status": status, "updated_at": updated_at, "error": error}),
            });
        }
        let stored = serde_json::to_string(&tracker).expect("a tracker serializes");
        out.push(json!({"deliveries": deliveries, "stored": stored}));
    }
    Value::Array(out)
}

/// Stored forms read back: what the core accepts (with the status and time it holds) and
/// what it refuses.
fn stored_forms() -> Value {
    let texts = [
        r#"{"latest":null}"#,
        r#"{"latest":{"status":"BACK","updated_at":"2019-05-13T14:51:46.288Z"}}"#,
        r#"{"latest":{"status":"COMPLETED","updated_at":"2019-05-13T16:51:46.288+02:00"}}"#,
        r#" { "latest" : { "updated_at" : "2019-05-13T14:51:46Z" , "status" : "DISABLED" } } "#,
        "{}",
        r#"{"v":2,"latest":null}"#,
        r#"{"latest":{"status":"BACK"}}"#,
        r#"{"latest":{"status":"TIMEOUT","updated_at":"2019-05-13T14:51:46.288Z"}}"#,
        r#"{"latest":{"status":"back","updated_at":"2019-05-13T14:51:46.288Z"}}"#,
        r#"{"latest":{"status":"BACK","updated_at":"2019-05-13"}}"#,
        r#"{"latest":{"status":"BACK","updated_at":1557759106288}}"#,
        r#"{"latest":{"status":"BACK","updated_at":"2019-05-13T14:51:46.288Z","by":"me"}}"#,
        r#"{"latest":null,"latest":null}"#,
        "[]",
        "null",
        "",
        r#"{"latest":null"#,
    ];
    texts
        .into_iter()
        .map(
            |text| match serde_json::from_str::<Tracker<Timestamp>>(text) {
                Ok(tracker) => json!({
                    "text": text,
                    "refused": false,
                    "status": tracker.status().map(Status::as_str),
                    "updated_at": tracker.latest().map(|seen| seen.updated_at.to_string()),
                    "stored": serde_json::to_string(&tracker).expect("a tracker serializes"),
                }),
                Err(_) => json!({"text": text, "refused": true}),
            },
        )
        .collect()
}

fn session_fields(session: &SessionResponse, problems: Vec<&str>) -> Value {
    let observation = match session.observation() {
        Ok(seen) => {
            json!({"status": seen.status.as_str(), "updated_at": seen.updated_at.to_string(), "error": null})
        }
        Err(error) => json!({"error": error.to_string()}),
    };
    json!({
        "refused": false,
        "status": session.status.as_ref().map(|s| s.as_str()),
        "updated_at": session.updated_at.map(|at| at.to_string()),
        "expires_at": session.expires_at.map(|at| at.to_string()),
        "session_id": session.session_id,
        "authorization_token": session.authorization_token,
        "order_id": session.order_id,
        "klarna_reference": session.klarna_reference,
        "problems": problems,
        "observation": observation,
    })
}

fn read_session(body: &[u8]) -> Value {
    match serde_json::from_slice::<SessionResponse>(body) {
        Ok(session) => {
            let problems = session.problems.iter().map(|p| p.field()).collect();
            session_fields(&session, problems)
        }
        Err(_) => json!({"refused": true}),
    }
}

fn read_callback(body: &[u8]) -> Value {
    match serde_json::from_slice::<StatusCallback>(body) {
        Ok(callback) => {
            let problems = (callback.problems.iter())
                .chain(&callback.session.problems)
                .map(|p| p.field())
                .collect();
            let mut fields = session_fields(&callback.session, problems);
            fields["event_id"] = json!(callback.event_id);
            fields
        }
        Err(_) => json!({"refused": true}),
    }
}

/// The wire payloads: the repository's sample bodies, every named seed of the `wire_json`
/// corpus, and those of its other inputs of at most 256 bytes that the core reads as a
/// session or a callback; bodies that are not UTF-8 as hex.
fn payloads() -> Value {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for name in ["read_session_completed.json", "status_callback.json"] {
        let bytes = fs::read(repo().join("tests/data").join(name)).expect("sample body");
        inputs.push((format!("tests/data/{name}"), bytes));
    }
    for (name, bytes) in corpus("wire_json") {
        let read = |b: &[u8]| {
            serde_json::from_slice::<SessionResponse>(b).is_ok()
                || serde_json::from_slice::<StatusCallback>(b).is_ok()
        };
        if name.starts_with("seed-") || (bytes.len() <= 256 && read(&bytes)) {
            inputs.push((format!("fuzz/corpus/wire_json/{name}"), bytes));
        }
    }
    inputs
        .into_iter()
        .map(|(name, bytes)| {
            let mut case = json!({
                "name": name,
                "session": read_session(&bytes),
                "callback": read_callback(&bytes),
            });
            match String::from_utf8(bytes.clone()) {
                Ok(text) => case["body"] = json!(text),
                Err(_) => {
                    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    case["body_hex"] = json!(hex);
                }
            }
            case
        })
        .collect()
}

fn vectors() -> Value {
    json!({
        "about": "Generated from the hpp-status core by bindings/js/tests/vectors.rs \
                  (UPDATE_VECTORS=1 cargo test -p hpp-status-js --test vectors); replayed by \
                  the Python and JavaScript suites. Do not edit by hand.",
        "statuses": statuses(),
        "actions": actions(),
        "transitions": transitions(),
        "applications": applications(),
        "status_texts": status_texts(),
        "timestamps": timestamps(),
        "histories": histories(),
        "stored_forms": stored_forms(),
        "payloads": payloads(),
    })
}

#[test]
fn the_vectors_file_is_what_the_core_says() {
    let text = serde_json::to_string_pretty(&vectors()).expect("vectors serialize") + "\n";
    let path = vectors_path();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        fs::write(&path, &text).expect("write the vectors");
        return;
    }
    let on_disk = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} differs from what the core says: rerun with UPDATE_VECTORS=1 and review the diff",
        path.display()
    );
}

/// The raw layer of the npm package agrees with the vectors on the host: the same conversions
/// the WebAssembly exports make.
#[test]
fn the_raw_layer_replays_the_vectors() {
    let vectors = vectors();
    let kinds = ["advanced", "duplicate", "stale", "conflict"];
    let mut checked = 0;
    for history in vectors["histories"].as_array().unwrap() {
        let mut tracker = JsTracker::default();
        for delivery in history["deliveries"].as_array().unwrap() {
            let status = delivery["status"].as_str().unwrap();
            let at = delivery["updated_at"].as_str().unwrap();
            match tracker.observe_text(status, at) {
                Ok(code) => {
                    assert_eq!(kinds[code as usize / 2], delivery["kind"], "{delivery}");
                    assert_eq!(code % 2 == 1, delivery["became_final"], "{delivery}");
                }
                Err(error) => assert_eq!(error, delivery["error"], "{delivery}"),
            }
            // The JavaScript layer holds the tracker as its state between calls.
            let state = tracker.state();
            tracker = JsTracker::from_state(state).unwrap();
            assert_eq!(tracker.state(), state, "{delivery}");
            checked += 1;
        }
        assert_eq!(tracker.stored().unwrap(), history["stored"]);
        let reread = JsTracker::from_stored(history["stored"].as_str().unwrap()).unwrap();
        assert_eq!(reread.stored().unwrap(), history["stored"]);
        let rebuilt = JsTracker::from_state(reread.state()).unwrap();
        assert_eq!(rebuilt.stored().unwrap(), history["stored"]);
    }
    for case in vectors["payloads"].as_array().unwrap() {
        let body = match (case["body"].as_str(), case["body_hex"].as_str()) {
            (Some(text), _) => text.as_bytes().to_vec(),
            (None, Some(hex)) => (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect(),
            (None, None) => panic!("no body in {case}"),
        };
        for (expected, read) in [
            (&case["session"], Session::read_session(&body)),
            (&case["callback"], Session::read_callback(&body)),
        ] {
            match read {
                Err(_) => assert_eq!(expected["refused"], true, "{}", case["name"]),
                Ok(session) => {
                    assert_eq!(expected["refused"], false, "{}", case["name"]);
                    assert_eq!(json!(session.status()), expected["status"]);
                    assert_eq!(json!(session.updated_at()), expected["updated_at"]);
                    assert_eq!(json!(session.problems()), expected["problems"]);
                    let mut tracker = JsTracker::default();
                    match tracker.observe_read(&session) {
                        Ok(code) => {
                            // A first observation is `advanced` (code 0 or 1), final or not.
                            let status = expected["observation"]["status"].as_str().unwrap();
                            let is_final = status.parse::<Status>().unwrap().is_final();
                            assert_eq!(code, u32::from(is_final), "{}", case["name"]);
                        }
                        Err(error) => assert_eq!(error, expected["observation"]["error"]),
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} cases");
}
