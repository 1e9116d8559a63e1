//! Durability under SIGKILL: a child process (this test binary again, running this test
//! with `HPP_STORE_CRASH_CHILD_DATABASE` set) opens a SQLite file store and runs 64 tasks of
//! concurrent `observe` calls, each making a distinct session final, and prints each
//! session's id on stdout right after its `observe` returned `Ok`. The parent SIGKILLs it
//! while writes are in flight, then opens the file with a fresh store: every printed
//! session must be there, final, with its one effect.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{at, payload};
use hpp_status::wire::SessionResponse;
use hpp_status::{Observation, Status};
use hpp_store::{EffectKind, Store};

/// The database file the child writes to; its presence selects the child role.
const CHILD_DATABASE: &str = "HPP_STORE_CRASH_CHILD_DATABASE";
/// Concurrent `observe` calls in the child.
const TASKS: usize = 64;
/// Sessions the parent sees reported before it kills the child.
const KILL_AFTER: usize = 600;
/// What the child prints before each session id.
const PREFIX: &str = "observed ";

fn url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn completed(session_id: &str, n: usize) -> SessionResponse {
    let ms = 1_557_759_106_288 + u64::try_from(n).unwrap();
    payload(session_id, Observation::new(Status::Completed, at(ms)))
}

/// The child role: writes to the store at `path` until it is killed.
fn observe_until_killed(path: &std::ffi::OsStr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = Store::connect(&url(std::path::Path::new(&path)))
            .await
            .expect("the child's store");
        store.migrate().await.expect("migrating the child's store");
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0.. {
                        let id = format!("crash-{task:02}-{n:06}");
                        let outcome = store
                            .observe(&id, &completed(&id, n))
                            .await
                            .unwrap_or_else(|error| panic!("observe {id}: {error}"));
                        assert!(outcome.became_final(), "{id}: {outcome:?}");
                        // One line per write, flushed before the next write starts.
                        use std::io::Write as _;
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "{PREFIX}{id}").unwrap();
                        out.flush().unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

/// The parent role, and (this binary run again with its database in `CHILD_DATABASE`) the
/// child's.
#[test]
fn every_observe_that_returned_survives_sigkill() {
    if let Some(path) = std::env::var_os(CHILD_DATABASE) {
        return observe_until_killed(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "every_observe_that_returned_survives_sigkill",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DATABASE, &database)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the child");
    let stdout = child.stdout.take().unwrap();
    // Lines read on a thread, so that the parent can give up on a silent child.
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut observed = BTreeSet::new();
    let started = Instant::now();
    while observed.len() < KILL_AFTER {
        let left = Duration::from_secs(120).saturating_sub(started.elapsed());
        match received.recv_timeout(left) {
            Ok(line) => {
                if let Some(id) = line.strip_prefix(PREFIX) {
                    observed.insert(id.to_owned());
                }
            }
            Err(error) => {
                let _ = child.kill();
                panic!(
                    "the child reported {} sessions, then {error} (status {:?})",
                    observed.len(),
                    child.try_wait()
                );
            }
        }
    }
    // SIGKILL on Unix: no destructor, no flush, writes of all 64 tasks under way.
    child.kill().expect("SIGKILL the child");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed: {status}");
    // Every line the child wrote before it died is in the pipe: those sessions returned too.
    reader.join().unwrap();
    observed.extend(
        received
            .try_iter()
            .filter_map(|line| line.strip_prefix(PREFIX).map(str::to_owned)),
    );
    eprintln!(
        "the child reported {} sessions before SIGKILL",
        observed.len()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect(&url(&database)).await.unwrap();
        store.migrate().await.unwrap();
        let mut effects: BTreeMap<String, Vec<EffectKind>> = BTreeMap::new();
        for effect in store.effects().await.unwrap() {
            effects
                .entry(effect.session_id.clone())
                .or_default()
                .push(effect.kind);
        }
        for id in &observed {
            let tracker = store.session(id).await.unwrap();
            assert_eq!(
                tracker.and_then(|t| t.status()),
                Some(Status::Completed),
                "{id} returned Ok before the kill, but the file has {tracker:?}"
            );
            let expected = EffectKind::PlaceOrder {
                authorization_token: format!("tok-{id}"),
            };
            assert_eq!(
                effects.get(id).map(Vec::as_slice),
                Some(std::slice::from_ref(&expected)),
                "{id}: its one effect"
            );
        }
        // Nothing beyond what the child wrote: at most one effect per session it touched.
        assert!(
            effects.values().all(|kinds| kinds.len() == 1),
            "{effects:?}"
        );
        store.close().await;
    });
}
