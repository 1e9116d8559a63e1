//! Deliveries per second and latency of three ways to keep a session's status in a shared
//! database, at several connection counts, on a spread workload (10,000 sessions) and a hot
//! row (one session every connection hits):
//!
//! - `store`: [`Store::observe`], the store's merge (one statement on Postgres; on SQLite
//!   the store's write path), effect included;
//! - `naive`: the plainest correct integration a user would write: the session's
//!   [`Tracker`] serialized (its JSON form) in one row per session of its own table; in one
//!   transaction (`BEGIN IMMEDIATE` on SQLite, `SELECT ... FOR UPDATE` on Postgres) read it,
//!   `Tracker::observe` in Rust, write it back, insert the order to place if the delivery
//!   made the session final, commit;
//! - `blind`: an unconditional `UPDATE` of the key, the write floor; it loses updates (the
//!   regressions column counts sessions it leaves behind a stale key) and records no effect.
//!
//! On SQLite both pools are a file in WAL mode with `synchronous = FULL`, foreign keys on
//! and the store's default busy timeout (30 s): the store's pool gets them from hpp-store
//! (WAL set there, `FULL` being SQLite's compiled default, which neither sqlx nor
//! libsqlite3-sys changes), `naive`'s and `blind`'s pool sets them explicitly.
//!
//! Each measurement starts from the same tables (every session registered, nothing
//! observed), after a warm-up. Rotations run the methods in a rotating order; the table
//! shows medians. Targets, at 16 connections: on Postgres, `store` at least 2.5x `naive` on
//! the hot row and 1.3x on the spread workload, a lower p99 than `naive` on the hot row,
//! within 25 % of `blind`; on SQLite, `store` at least 4x `naive` on the spread workload and
//! never slower than `naive` on the hot row; on every backend, no regression and no duplicate
//! effect for `store` and `naive`. The process exits 1 if a target fails.
//!
//! `cargo bench -p hpp-store --features postgres --bench merge` (add `-- --help` for the
//! flags). Postgres is a throwaway cluster (hpp-testdb); SQLite a file in a temporary
//! directory.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hpp_status::strategy::history_with_deliveries;
use hpp_status::wire::{ReportedStatus, SessionResponse, Timestamp};
use hpp_status::{Observation, Tracker};
use hpp_store::{Store, StoreOptions};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Benchmark the store's merge against a naive integration and a blind UPDATE.
#[derive(Parser, Debug)]
#[command(about)]
struct Args {
    /// Seconds per measurement (after a warm-up of a quarter of it).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Rotations of every measurement; the table shows their medians.
    #[arg(long, default_value_t = 5)]
    rotations: usize,
    /// Connection counts (one task per connection).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 4, 16, 32])]
    connections: Vec<u32>,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
    backends: Vec<BackendName>,
    /// Sessions of the spread workload.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Also time variants of the SQLite write path phase by phase (pool acquire,
    /// `BEGIN IMMEDIATE`, statements, `COMMIT`), at the largest connection count: what makes
    /// the store's SQLite path slower or faster than `naive`.
    #[arg(long)]
    phases: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendName {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Store,
    Naive,
    Blind,
}

const METHODS: [Method; 3] = [Method::Store, Method::Naive, Method::Blind];

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Store => "store",
            Method::Naive => "naive",
            Method::Blind => "blind",
        }
    }
}

/// One delivery, prepared for every method.
struct Item {
    session: usize,
    seen: Observation<Timestamp>,
    key: Vec<u8>,
    payload: SessionResponse,
}

struct Workload {
    name: &'static str,
    sessions: Vec<String>,
    items: Vec<Item>,
}

fn runner(seed: u8) -> TestRunner {
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

fn at(ms: u64) -> Timestamp {
    Timestamp::try_from(jiff::Timestamp::from_millisecond(ms as i64).unwrap()).unwrap()
}

fn item(sessions: &[String], session: usize, seen: Observation<u64>) -> Item {
    let seen = Observation::new(seen.status, at(seen.updated_at));
    let id = &sessions[session];
    Item {
        session,
        seen,
        key: seen.precedence_key().as_bytes().to_vec(),
        payload: SessionResponse {
            session_id: Some(id.clone()),
            status: Some(ReportedStatus::Known(seen.status)),
            updated_at: Some(seen.updated_at),
            authorization_token: seen.status.is_final().then(|| format!("tok-{id}")),
            ..SessionResponse::default()
        },
    }
}

/// A deterministic shuffle, so that a run replays: rand's, seeded.
fn shuffle<T>(items: &mut [T], seed: u64) {
    use rand::SeedableRng as _;
    use rand::seq::SliceRandom as _;
    items.shuffle(&mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed));
}

/// `sessions` legal histories (up to 10 steps), each observation delivered 1 to 3 times,
/// all shuffled together.
fn spread(sessions: usize) -> Workload {
    let ids: Vec<String> = (0..sessions).map(|i| format!("s{i:05}")).collect();
    let mut runner = runner(1);
    let mut items = Vec::new();
    for session in 0..sessions {
        let (_, deliveries) = history_with_deliveries(10, 1..=3)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        items.extend(deliveries.into_iter().map(|seen| item(&ids, session, seen)));
    }
    shuffle(&mut items, 2);
    Workload {
        name: "spread",
        sessions: ids,
        items,
    }
}

/// One session: a long legal history whose observations are delivered over and over, in
/// a shuffled order, by every connection.
fn hot() -> Workload {
    let ids = vec!["hot".to_owned()];
    let (history, _) = history_with_deliveries(24, 1..=1)
        .prop_filter("a long history", |(history, _)| history.len() >= 12)
        .new_tree(&mut runner(3))
        .unwrap()
        .current();
    let mut items: Vec<Item> = (0..400_000)
        .map(|i| item(&ids, 0, history[i % history.len()]))
        .collect();
    shuffle(&mut items, 4);
    Workload {
        name: "hot row",
        sessions: ids,
        items,
    }
}

/// The database for `naive` and `blind`, beside the store's own pool.
#[derive(Clone)]
enum Raw {
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

async fn raw_pool(url: &str, connections: u32) -> Raw {
    if url.starts_with("sqlite:") {
        use std::str::FromStr as _;
        // The same settings as the store's pool (hpp-store's `sqlite::connect`): WAL,
        // `synchronous = FULL` (SQLite's compiled default, which the store keeps; stated here),
        // the store's default busy timeout, foreign keys on.
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .unwrap()
            .busy_timeout(StoreOptions::default().busy_timeout)
            .foreign_keys(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await
            .unwrap();
        return Raw::Sqlite(pool);
    }
    #[cfg(feature = "postgres")]
    {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(connections)
            .connect(url)
            .await
            .unwrap();
        Raw::Postgres(pool)
    }
    #[cfg(not(feature = "postgres"))]
    unreachable!("Postgres needs feature `postgres`")
}

/// Empties the tables and registers every session of `workload` (nothing observed).
async fn reset(raw: &Raw, workload: &Workload) {
    match raw {
        Raw::Sqlite(pool) => {
            let ids = serde_json::to_string(&workload.sessions).unwrap();
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            for sql in [
                "DELETE FROM hpp_effect",
                "DELETE FROM hpp_unusable_delivery",
                "DELETE FROM hpp_session",
                "DELETE FROM naive_order",
                "DELETE FROM naive_session",
            ] {
                sqlx::query(sql).execute(&mut *tx).await.unwrap();
            }
            sqlx::query("INSERT INTO hpp_session (session_id) SELECT value FROM json_each(?1)")
                .bind(&ids)
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO naive_session (session_id, tracker) \
                 SELECT value, ?2 FROM json_each(?1)",
            )
            .bind(&ids)
            .bind(empty_tracker())
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
                .unwrap();
        }
        #[cfg(feature = "postgres")]
        Raw::Postgres(pool) => {
            sqlx::query(
                "TRUNCATE hpp_order_attempt, hpp_effect, hpp_session, hpp_unusable_delivery, \
                 naive_order, naive_session",
            )
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("INSERT INTO hpp_session (session_id) SELECT unnest($1::text[])")
                .bind(&workload.sessions)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO naive_session (session_id, tracker) SELECT unnest($1::text[]), $2",
            )
            .bind(&workload.sessions)
            .bind(empty_tracker())
            .execute(pool)
            .await
            .unwrap();
            for table in ["hpp_session", "naive_session"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }
}

/// The naive integration's tables, beside the store's: the tracker serialized (its stable
/// JSON form) in one row per session, and the orders it decided to place.
const NAIVE_TABLES: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS naive_session (session_id TEXT PRIMARY KEY NOT NULL, \
     tracker TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS naive_order (session_id TEXT PRIMARY KEY NOT NULL, \
     status TEXT NOT NULL, authorization_token TEXT)",
];

async fn create_naive_tables(raw: &Raw) {
    for sql in NAIVE_TABLES {
        match raw {
            Raw::Sqlite(pool) => drop(sqlx::query(sql).execute(pool).await.unwrap()),
            #[cfg(feature = "postgres")]
            Raw::Postgres(pool) => drop(sqlx::query(sql).execute(pool).await.unwrap()),
        }
    }
}

fn empty_tracker() -> String {
    serde_json::to_string(&Tracker::<Timestamp>::new()).unwrap()
}

/// The naive integration, the plainest correct one: in one transaction, read the session's
/// tracker, `Tracker::observe` in Rust, write the tracker back, and insert the order to place
/// if the delivery made the session final. Whether it did.
async fn naive(raw: &Raw, session_id: &str, item: &Item) -> bool {
    match raw {
        Raw::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            let stored: String =
                sqlx::query_scalar("SELECT tracker FROM naive_session WHERE session_id = ?1")
                    .bind(session_id)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            let mut tracker: Tracker<Timestamp> = serde_json::from_str(&stored).unwrap();
            let outcome = tracker.observe(item.seen);
            sqlx::query("UPDATE naive_session SET tracker = ?2 WHERE session_id = ?1")
                .bind(session_id)
                .bind(serde_json::to_string(&tracker).unwrap())
                .execute(&mut *tx)
                .await
                .unwrap();
            if outcome.became_final() {
                // A plain INSERT: a second order for the session would fail here.
                sqlx::query(
                    "INSERT INTO naive_order (session_id, status, authorization_token) \
                     VALUES (?1, ?2, ?3)",
                )
                .bind(session_id)
                .bind(outcome.current().status.as_str())
                .bind(&item.payload.authorization_token)
                .execute(&mut *tx)
                .await
                .expect("naive: one order per session");
            }
            tx.commit().await.unwrap();
            outcome.became_final()
        }
        #[cfg(feature = "postgres")]
        Raw::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            let stored: String = sqlx::query_scalar(
                "SELECT tracker FROM naive_session WHERE session_id = $1 FOR UPDATE",
            )
            .bind(session_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            let mut tracker: Tracker<Timestamp> = serde_json::from_str(&stored).unwrap();
            let outcome = tracker.observe(item.seen);
            sqlx::query("UPDATE naive_session SET tracker = $2 WHERE session_id = $1")
                .bind(session_id)
                .bind(serde_json::to_string(&tracker).unwrap())
                .execute(&mut *tx)
                .await
                .unwrap();
            if outcome.became_final() {
                sqlx::query(
                    "INSERT INTO naive_order (session_id, status, authorization_token) \
                     VALUES ($1, $2, $3)",
                )
                .bind(session_id)
                .bind(outcome.current().status.as_str())
                .bind(&item.payload.authorization_token)
                .execute(&mut *tx)
                .await
                .expect("naive: one order per session");
            }
            tx.commit().await.unwrap();
            outcome.became_final()
        }
    }
}

/// The write floor: the delivery's key, written whatever was there.
async fn blind(raw: &Raw, session_id: &str, item: &Item) {
    match raw {
        Raw::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query(
                "UPDATE hpp_session SET precedence_key = ?2, status = ?3, is_final = ?4 \
                 WHERE session_id = ?1",
            )
            .bind(session_id)
            .bind(&item.key)
            .bind(item.seen.status.as_str())
            .bind(item.seen.status.is_final())
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        #[cfg(feature = "postgres")]
        Raw::Postgres(pool) => {
            sqlx::query(
                "UPDATE hpp_session SET precedence_key = $2, status = $3, is_final = $4 \
                 WHERE session_id = $1",
            )
            .bind(session_id)
            .bind(&item.key)
            .bind(item.seen.status.as_str())
            .bind(item.seen.status.is_final())
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

/// What one measurement saw.
struct Measurement {
    deliveries: usize,
    elapsed: Duration,
    /// Latencies in microseconds, sorted.
    latencies: Vec<u32>,
    became_final: usize,
    /// Sessions whose stored key is not the maximum of what was delivered to them.
    regressions: usize,
    /// Effects beyond one per final session, and `became_final` beyond one per final session.
    duplicates: usize,
}

impl Measurement {
    fn per_second(&self) -> f64 {
        self.deliveries as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> u32 {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or(0)
    }
}

/// Runs `method` with `connections` tasks for `duration`, from the workload's start.
async fn run(
    method: Method,
    store: &Store,
    raw: &Raw,
    workload: &Arc<Workload>,
    connections: u32,
    duration: Duration,
) -> (usize, Duration, Vec<u32>, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (store, raw, workload, next) =
                (store.clone(), raw.clone(), workload.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut became_final = 0;
                while Instant::now() < deadline {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = workload.items.get(index) else {
                        break;
                    };
                    let session_id = &workload.sessions[item.session];
                    let begun = Instant::now();
                    let finalized = match method {
                        Method::Store => store
                            .observe(session_id, &item.payload)
                            .await
                            .unwrap()
                            .became_final(),
                        Method::Naive => naive(&raw, session_id, item).await,
                        Method::Blind => {
                            blind(&raw, session_id, item).await;
                            false
                        }
                    };
                    latencies.push(u32::try_from(begun.elapsed().as_micros()).unwrap_or(u32::MAX));
                    became_final += usize::from(finalized);
                }
                (latencies, became_final)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut became_final = 0;
    for task in tasks {
        let (mut mine, finals) = task.await.unwrap();
        latencies.append(&mut mine);
        became_final += finals;
    }
    let elapsed = started.elapsed();
    let processed = next.load(Ordering::Relaxed).min(workload.items.len());
    latencies.sort_unstable();
    debug_assert_eq!(latencies.len(), processed);
    (processed, elapsed, latencies, became_final)
}

/// Regressions and duplicates after `processed` deliveries of the workload.
/// The naive integration's rows as (session, key of the tracker's latest observation).
fn naive_keys(rows: Vec<(String, String)>) -> Vec<(String, Option<Vec<u8>>)> {
    rows.into_iter()
        .map(|(id, stored)| {
            let tracker: Tracker<Timestamp> = serde_json::from_str(&stored).unwrap();
            let key = tracker
                .latest()
                .map(|seen| seen.precedence_key().as_bytes().to_vec());
            (id, key)
        })
        .collect()
}

async fn check(
    method: Method,
    raw: &Raw,
    workload: &Workload,
    processed: usize,
    became_final: usize,
) -> (usize, usize) {
    let mut expected: Vec<Tracker<Timestamp>> = vec![Tracker::new(); workload.sessions.len()];
    for item in &workload.items[..processed] {
        expected[item.session].observe(item.seen);
    }
    /// A session and its stored key.
    type KeyRow = (String, Option<Vec<u8>>);
    // The store's and blind's rows, or the naive integration's (its trackers' keys).
    let (sessions, effects) = if method == Method::Naive {
        (
            "SELECT session_id, tracker FROM naive_session",
            "SELECT count(*) FROM naive_order",
        )
    } else {
        (
            "SELECT session_id, precedence_key FROM hpp_session",
            "SELECT count(*) FROM hpp_effect WHERE kind <> 'conflict'",
        )
    };
    let (rows, effects): (Vec<KeyRow>, i64) = match raw {
        Raw::Sqlite(pool) if method == Method::Naive => (
            naive_keys(sqlx::query_as(sessions).fetch_all(pool).await.unwrap()),
            sqlx::query_scalar(effects).fetch_one(pool).await.unwrap(),
        ),
        Raw::Sqlite(pool) => (
            sqlx::query_as(sessions).fetch_all(pool).await.unwrap(),
            sqlx::query_scalar(effects).fetch_one(pool).await.unwrap(),
        ),
        #[cfg(feature = "postgres")]
        Raw::Postgres(pool) if method == Method::Naive => (
            naive_keys(sqlx::query_as(sessions).fetch_all(pool).await.unwrap()),
            sqlx::query_scalar(effects).fetch_one(pool).await.unwrap(),
        ),
        #[cfg(feature = "postgres")]
        Raw::Postgres(pool) => (
            sqlx::query_as(sessions).fetch_all(pool).await.unwrap(),
            sqlx::query_scalar(effects).fetch_one(pool).await.unwrap(),
        ),
    };
    let index: HashMap<&str, usize> = workload
        .sessions
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let regressions = rows
        .iter()
        .filter(|(id, key)| {
            let wanted = expected[index[id.as_str()]]
                .latest()
                .map(|seen| seen.precedence_key().as_bytes().to_vec());
            *key != wanted
        })
        .count();
    let finals = expected
        .iter()
        .filter(|t| t.status().is_some_and(|s| s.is_final()))
        .count();
    let effects = usize::try_from(effects).unwrap();
    let duplicates = effects.saturating_sub(finals) + became_final.saturating_sub(finals);
    (regressions, duplicates)
}

async fn measure(
    method: Method,
    store: &Store,
    raw: &Raw,
    workload: &Arc<Workload>,
    connections: u32,
    duration: Duration,
) -> Measurement {
    reset(raw, workload).await;
    run(method, store, raw, workload, connections, duration / 4).await;
    reset(raw, workload).await;
    let (deliveries, elapsed, latencies, became_final) =
        run(method, store, raw, workload, connections, duration).await;
    let (regressions, duplicates) = if method == Method::Blind {
        // No effects: only the lost updates count.
        (check(method, raw, workload, deliveries, 0).await.0, 0)
    } else {
        check(method, raw, workload, deliveries, became_final).await
    };
    Measurement {
        deliveries,
        elapsed,
        latencies,
        became_final,
        regressions,
        duplicates,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One row of the table: medians over rotations.
struct Row {
    backend: BackendName,
    workload: &'static str,
    connections: u32,
    method: Method,
    per_second: f64,
    p50: f64,
    p99: f64,
    regressions: usize,
    duplicates: usize,
}

async fn bench_backend(backend: BackendName, args: &Args, workloads: &[Arc<Workload>]) -> Vec<Row> {
    // The SQLite file's directory, or the Postgres cluster: removed when the backend is done.
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let url = match backend {
        BackendName::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            );
            keep.push(Box::new(dir));
            url
        }
        BackendName::Postgres => {
            #[cfg(feature = "postgres")]
            {
                let cluster =
                    hpp_testdb::Cluster::start().unwrap_or_else(|error| panic!("{error}"));
                let url = cluster.create_database("bench").unwrap();
                keep.push(Box::new(cluster));
                url
            }
            #[cfg(not(feature = "postgres"))]
            {
                eprintln!("Postgres skipped: run with `--features postgres`");
                return Vec::new();
            }
        }
    };
    let duration = Duration::from_secs_f64(args.seconds);
    let mut samples: HashMap<(usize, u32, usize), Vec<Measurement>> = HashMap::new();
    for &connections in &args.connections {
        let options = StoreOptions {
            max_connections: connections,
            ..StoreOptions::default()
        };
        let store = Store::connect_with(&url, options).await.unwrap();
        store.migrate().await.unwrap();
        let raw = raw_pool(&url, connections).await;
        create_naive_tables(&raw).await;
        for rotation in 0..args.rotations {
            for (w, workload) in workloads.iter().enumerate() {
                for turn in 0..METHODS.len() {
                    let m = (turn + rotation) % METHODS.len();
                    let measurement =
                        measure(METHODS[m], &store, &raw, workload, connections, duration).await;
                    eprintln!(
                        "{backend:?} {} {connections} conn {} rotation {rotation}: {:.0}/s \
                         p50 {} µs p99 {} µs, {} became final, {} regressions, {} duplicates",
                        workload.name,
                        METHODS[m].name(),
                        measurement.per_second(),
                        measurement.percentile(0.5),
                        measurement.percentile(0.99),
                        measurement.became_final,
                        measurement.regressions,
                        measurement.duplicates,
                    );
                    samples
                        .entry((w, connections, m))
                        .or_default()
                        .push(measurement);
                }
            }
        }
        store.close().await;
    }
    if args.phases && backend == BackendName::Sqlite {
        let connections = args.connections.iter().copied().max().unwrap_or(16);
        let raw = raw_pool(&url, connections).await;
        println!(
            "\nPhases, SQLite, {connections} connections: mean µs per delivery; \
             `begin` is the wait for BEGIN IMMEDIATE (the write lock)\n"
        );
        println!(
            "| workload / variant | deliveries/s | acquire | begin | statements | commit | \
             busy retries | BEGIN wait histogram |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---|");
        for workload in workloads {
            for probe in (0..args.rotations).flat_map(|_| phases::PROBES) {
                reset(&raw, workload).await;
                phases::run(probe, &raw, &url, workload, connections, duration / 4).await;
                reset(&raw, workload).await;
                let (measured, elapsed) =
                    phases::run(probe, &raw, &url, workload, connections, duration).await;
                println!(
                    "{}",
                    measured.report(&format!("{} / {probe:?}", workload.name), elapsed)
                );
            }
        }
    }
    let mut rows = Vec::new();
    for (w, workload) in workloads.iter().enumerate() {
        for &connections in &args.connections {
            for (m, &method) in METHODS.iter().enumerate() {
                let runs = &samples[&(w, connections, m)];
                rows.push(Row {
                    backend,
                    workload: workload.name,
                    connections,
                    method,
                    per_second: median(runs.iter().map(Measurement::per_second).collect()),
                    p50: median(runs.iter().map(|r| f64::from(r.percentile(0.5))).collect()),
                    p99: median(runs.iter().map(|r| f64::from(r.percentile(0.99))).collect()),
                    regressions: runs.iter().map(|r| r.regressions).max().unwrap_or(0),
                    duplicates: runs.iter().map(|r| r.duplicates).max().unwrap_or(0),
                });
            }
        }
    }
    rows
}

fn find<'a>(
    rows: &'a [Row],
    backend: BackendName,
    workload: &str,
    connections: u32,
    method: Method,
) -> Option<&'a Row> {
    rows.iter().find(|r| {
        r.backend == backend
            && r.workload == workload
            && r.connections == connections
            && r.method == method
    })
}

/// The targets; each line says whether it holds.
fn targets(rows: &[Row]) -> (String, bool) {
    let mut report = String::new();
    let mut all = true;
    let mut target = |holds: bool, text: String| {
        all &= holds;
        writeln!(report, "{} {text}", if holds { "ok  " } else { "FAIL" }).unwrap();
    };
    for row in rows.iter().filter(|r| r.method != Method::Blind) {
        if row.regressions > 0 || row.duplicates > 0 {
            target(
                false,
                format!(
                    "{:?} {} {} conn {}: {} regressions, {} duplicates",
                    row.backend,
                    row.workload,
                    row.connections,
                    row.method.name(),
                    row.regressions,
                    row.duplicates
                ),
            );
        }
    }
    let store_rows = rows.iter().filter(|r| r.method == Method::Store);
    target(
        store_rows
            .clone()
            .all(|r| r.regressions == 0 && r.duplicates == 0),
        format!(
            "store: no regression and no duplicate effect in {} rows",
            store_rows.count()
        ),
    );
    let postgres = BackendName::Postgres;
    for (workload, ratio) in [("hot row", 2.5), ("spread", 1.3)] {
        let (Some(store), Some(naive), Some(blind)) = (
            find(rows, postgres, workload, 16, Method::Store),
            find(rows, postgres, workload, 16, Method::Naive),
            find(rows, postgres, workload, 16, Method::Blind),
        ) else {
            continue;
        };
        let versus_naive = store.per_second / naive.per_second;
        target(
            versus_naive >= ratio,
            format!(
                "Postgres {workload}, 16 conn: store/naive = {versus_naive:.2} (target >= {ratio})"
            ),
        );
        let versus_blind = store.per_second / blind.per_second;
        target(
            versus_blind >= 0.75,
            format!(
                "Postgres {workload}, 16 conn: store/blind = {versus_blind:.2} (target >= 0.75)"
            ),
        );
        if workload == "hot row" {
            target(
                store.p99 < naive.p99,
                format!(
                    "Postgres hot row, 16 conn: p99 store {:.0} µs < naive {:.0} µs",
                    store.p99, naive.p99
                ),
            );
        }
    }
    let sqlite = BackendName::Sqlite;
    for (workload, ratio) in [("spread", 4.0), ("hot row", 1.0)] {
        let (Some(store), Some(naive)) = (
            find(rows, sqlite, workload, 16, Method::Store),
            find(rows, sqlite, workload, 16, Method::Naive),
        ) else {
            continue;
        };
        let versus_naive = store.per_second / naive.per_second;
        target(
            versus_naive >= ratio,
            format!(
                "SQLite {workload}, 16 conn: store/naive = {versus_naive:.2} (target >= {ratio})"
            ),
        );
    }
    (report, all)
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let workloads = [Arc::new(spread(args.sessions)), Arc::new(hot())];
    let hot_history: std::collections::BTreeSet<_> = workloads[1]
        .items
        .iter()
        .map(|item| item.key.clone())
        .collect();
    eprintln!(
        "workloads: spread {} deliveries over {} sessions; hot row {} deliveries of {} observations",
        workloads[0].items.len(),
        workloads[0].sessions.len(),
        workloads[1].items.len(),
        hot_history.len()
    );
    let mut rows = Vec::new();
    for &backend in &args.backends {
        rows.extend(runtime.block_on(bench_backend(backend, &args, &workloads)));
    }
    println!(
        "\n| backend | workload | conn | method | deliveries/s | p50 µs | p99 µs | regressions | duplicate effects |"
    );
    println!("|---|---|---:|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {:?} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {} | {} |",
            row.backend,
            row.workload,
            row.connections,
            row.method.name(),
            row.per_second,
            row.p50,
            row.p99,
            row.regressions,
            if row.method == Method::Blind {
                "-".to_owned()
            } else {
                row.duplicates.to_string()
            },
        );
    }
    let (report, all) = targets(&rows);
    println!("\n{report}");
    if !all {
        std::process::exit(1);
    }
}

/// The diagnostics of `--phases`: variants of the SQLite write path, timed phase by phase.
mod phases {
    use super::{Duration, Instant, Item, Raw, Tracker, Workload};
    use hpp_status::wire::Timestamp;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    /// A variant of the write path.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Probe {
        /// `naive`, timed.
        Naive,
        /// The store's SQLite statements (hpp-store's `sqlite::observe`: `BEGIN IMMEDIATE`,
        /// the upsert with `RETURNING`, the effect if final, `COMMIT`) on the bench's pool.
        StoreSql,
        /// The same on the store's own tables with foreign keys off.
        StoreSqlNoFk,
        /// The store's merge as a plain `UPDATE ... RETURNING` of the same columns (no
        /// `INSERT ... ON CONFLICT`): what the upsert's insert path costs.
        StoreSqlUpdate,
        /// `naive` with a busy timeout of 0: a `BEGIN IMMEDIATE` that finds the lock taken
        /// fails at once and is retried after a yield, instead of SQLite's busy handler
        /// sleeping 1, 2, 5, 10, ... ms.
        NaiveNoSleep,
        /// The store's statements with the same retry instead of the busy handler.
        StoreSqlNoSleep,
    }

    pub(crate) const PROBES: [Probe; 6] = [
        Probe::Naive,
        Probe::StoreSql,
        Probe::StoreSqlNoFk,
        Probe::StoreSqlUpdate,
        Probe::NaiveNoSleep,
        Probe::StoreSqlNoSleep,
    ];

    /// Upper bounds (µs) of the histogram of `BEGIN IMMEDIATE` waits: SQLite's busy handler
    /// sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, so a wait that found the lock
    /// taken ends after about 1, 3, 8, 18, 33, 53, 78, ... ms.
    const BUCKETS: [u64; 9] = [
        500,
        1_500,
        4_000,
        10_000,
        20_000,
        40_000,
        80_000,
        200_000,
        u64::MAX,
    ];

    #[derive(Default)]
    pub(crate) struct Phases {
        count: AtomicU64,
        acquire_us: AtomicU64,
        begin_us: AtomicU64,
        work_us: AtomicU64,
        commit_us: AtomicU64,
        /// `BEGIN IMMEDIATE` answered SQLITE_BUSY (busy timeout 0 only), retried.
        busy_retries: AtomicU64,
        begin_histogram: [AtomicU64; 9],
    }

    fn micros(since: Instant) -> u64 {
        u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    impl Phases {
        fn record(&self, acquire: u64, begin: u64, work: u64, commit: u64) {
            self.count.fetch_add(1, Ordering::Relaxed);
            self.acquire_us.fetch_add(acquire, Ordering::Relaxed);
            self.begin_us.fetch_add(begin, Ordering::Relaxed);
            self.work_us.fetch_add(work, Ordering::Relaxed);
            self.commit_us.fetch_add(commit, Ordering::Relaxed);
            let bucket = BUCKETS.iter().position(|&b| begin < b).unwrap_or(8);
            self.begin_histogram[bucket].fetch_add(1, Ordering::Relaxed);
        }

        pub(crate) fn report(&self, label: &str, elapsed: Duration) -> String {
            let n = self.count.load(Ordering::Relaxed).max(1);
            let mean = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / n as f64;
            let histogram: Vec<String> = self
                .begin_histogram
                .iter()
                .zip([
                    "<0.5", "<1.5", "<4", "<10", "<20", "<40", "<80", "<200", ">=200",
                ])
                .map(|(count, label)| {
                    format!(
                        "{label} ms {:.1}%",
                        100.0 * count.load(Ordering::Relaxed) as f64 / n as f64
                    )
                })
                .collect();
            format!(
                "| {label} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} |",
                n as f64 / elapsed.as_secs_f64(),
                mean(&self.acquire_us),
                mean(&self.begin_us),
                mean(&self.work_us),
                mean(&self.commit_us),
                self.busy_retries.load(Ordering::Relaxed),
                histogram.join(", ")
            )
        }
    }

    const MERGE: &str = "\
INSERT INTO hpp_session (session_id, precedence_key, status, is_final, expires_at_us)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (session_id) DO UPDATE SET
    held_before = precedence_key,
    precedence_key = CASE WHEN precedence_key IS NULL OR excluded.precedence_key > precedence_key
                          THEN excluded.precedence_key ELSE precedence_key END,
    status = CASE WHEN precedence_key IS NULL OR excluded.precedence_key > precedence_key
                  THEN excluded.status ELSE status END,
    is_final = is_final OR excluded.is_final,
    expires_at_us = coalesce(expires_at_us, excluded.expires_at_us)
RETURNING held_before, precedence_key";

    const UPDATE: &str = "\
UPDATE hpp_session SET
    held_before = precedence_key,
    precedence_key = CASE WHEN precedence_key IS NULL OR ?2 > precedence_key
                          THEN ?2 ELSE precedence_key END,
    status = CASE WHEN precedence_key IS NULL OR ?2 > precedence_key THEN ?3 ELSE status END,
    is_final = is_final OR ?4,
    expires_at_us = coalesce(expires_at_us, ?5)
WHERE session_id = ?1
RETURNING held_before, precedence_key";

    async fn one(probe: Probe, pool: &sqlx::SqlitePool, id: &str, item: &Item, phases: &Phases) {
        use sqlx::Connection as _;
        let started = Instant::now();
        let mut conn = pool.acquire().await.unwrap();
        let acquire = micros(started);
        let begun = Instant::now();
        let mut tx = loop {
            match conn.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => break tx,
                Err(sqlx::Error::Database(error))
                    if matches!(probe, Probe::NaiveNoSleep | Probe::StoreSqlNoSleep)
                        && error.code().as_deref() == Some("5") =>
                {
                    phases.busy_retries.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
                Err(error) => panic!("BEGIN IMMEDIATE: {error}"),
            }
        };
        let begin = micros(begun);
        let worked = Instant::now();
        match probe {
            Probe::Naive | Probe::NaiveNoSleep => {
                let stored: String =
                    sqlx::query_scalar("SELECT tracker FROM naive_session WHERE session_id = ?1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .unwrap();
                let mut tracker: Tracker<Timestamp> = serde_json::from_str(&stored).unwrap();
                let outcome = tracker.observe(item.seen);
                sqlx::query("UPDATE naive_session SET tracker = ?2 WHERE session_id = ?1")
                    .bind(id)
                    .bind(serde_json::to_string(&tracker).unwrap())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                if outcome.became_final() {
                    sqlx::query(
                        "INSERT INTO naive_order (session_id, status, authorization_token) \
                         VALUES (?1, ?2, ?3)",
                    )
                    .bind(id)
                    .bind(outcome.current().status.as_str())
                    .bind(&item.payload.authorization_token)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                }
            }
            Probe::StoreSql
            | Probe::StoreSqlNoFk
            | Probe::StoreSqlUpdate
            | Probe::StoreSqlNoSleep => {
                let sql = if probe == Probe::StoreSqlUpdate {
                    UPDATE
                } else {
                    MERGE
                };
                let (held_before, _held_now): (Option<Vec<u8>>, Vec<u8>) = sqlx::query_as(sql)
                    .bind(id)
                    .bind(&item.key)
                    .bind(item.seen.status.as_str())
                    .bind(item.seen.status.is_final())
                    .bind(None::<i64>)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                let was_final = held_before
                    .as_deref()
                    .map(|key| {
                        hpp_status::Observation::<Timestamp>::from_precedence_key(key)
                            .unwrap()
                            .status
                            .is_final()
                    })
                    .unwrap_or(false);
                if item.seen.status.is_final() && !was_final {
                    sqlx::query(
                        "INSERT INTO hpp_effect (session_id, kind, status, authorization_token, \
                         created_at_us) VALUES (?1, 'place_order', ?2, ?3, \
                         CAST(unixepoch('subsec') * 1000000 AS INTEGER)) \
                         ON CONFLICT DO NOTHING RETURNING id",
                    )
                    .bind(id)
                    .bind(item.seen.status.as_str())
                    .bind(&item.payload.authorization_token)
                    .fetch_optional(&mut *tx)
                    .await
                    .unwrap();
                }
            }
        }
        let work = micros(worked);
        let committed = Instant::now();
        tx.commit().await.unwrap();
        phases.record(acquire, begin, work, micros(committed));
    }

    /// Runs `probe` with `connections` tasks for `duration` from the workload's start.
    pub(crate) async fn run(
        probe: Probe,
        raw: &Raw,
        url: &str,
        workload: &Arc<Workload>,
        connections: u32,
        duration: Duration,
    ) -> (Arc<Phases>, Duration) {
        let pool = match raw {
            Raw::Sqlite(pool) => pool,
            #[cfg(feature = "postgres")]
            Raw::Postgres(_) => unreachable!("phases are SQLite's"),
        };
        let pool = match probe {
            Probe::Naive | Probe::StoreSql | Probe::StoreSqlUpdate => pool.clone(),
            Probe::StoreSqlNoFk | Probe::NaiveNoSleep | Probe::StoreSqlNoSleep => {
                use std::str::FromStr as _;
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .unwrap()
                    .foreign_keys(probe != Probe::StoreSqlNoFk)
                    .busy_timeout(if probe == Probe::StoreSqlNoFk {
                        hpp_store::StoreOptions::default().busy_timeout
                    } else {
                        Duration::ZERO
                    })
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(connections)
                    .connect_with(options)
                    .await
                    .unwrap()
            }
        };
        let phases = Arc::new(Phases::default());
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let deadline = started + duration;
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let (pool, workload, next, phases) =
                    (pool.clone(), workload.clone(), next.clone(), phases.clone());
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = workload.items.get(index) else {
                            break;
                        };
                        let id = &workload.sessions[item.session];
                        one(probe, &pool, id, item, &phases).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        (phases, started.elapsed())
    }
}
