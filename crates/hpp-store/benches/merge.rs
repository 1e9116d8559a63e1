//! Deliveries per second and latency of three ways to keep a session's status in a shared
//! database, at several connection counts, on a spread workload (10,000 sessions) and a hot
//! row (one session every connection hits):
//!
//! - `store`: [`Store::observe`], the store's merge (one statement on Postgres, one
//!   `BEGIN IMMEDIATE` transaction on SQLite), effect included;
//! - `naive`: what an integrator writes: in a transaction, `SELECT ... FOR UPDATE` the
//!   stored key, `Tracker::observe` in Rust, `UPDATE`, insert the effect if it became final;
//! - `blind`: an unconditional `UPDATE` of the key, the write floor; it loses updates (the
//!   regressions column counts sessions it leaves behind a stale key) and records no effect.
//!
//! Each measurement starts from the same table (every session registered, nothing
//! observed), after a warm-up. Rotations run the methods in a rotating order; the table
//! shows medians. Targets (Postgres, 16 connections): `store` at least 2.5x `naive` on the
//! hot row and 1.3x on the spread workload, a lower p99 than `naive` on the hot row, within
//! 25 % of `blind`; on every backend, no regression and no duplicate effect for `store`.
//! The process exits 1 if a target fails.
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
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .unwrap()
            .busy_timeout(Duration::from_secs(60))
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
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
            ] {
                sqlx::query(sql).execute(&mut *tx).await.unwrap();
            }
            sqlx::query("INSERT INTO hpp_session (session_id) SELECT value FROM json_each(?1)")
                .bind(ids)
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
                "TRUNCATE hpp_order_attempt, hpp_effect, hpp_session, hpp_unusable_delivery",
            )
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("INSERT INTO hpp_session (session_id) SELECT unnest($1::text[])")
                .bind(&workload.sessions)
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("VACUUM ANALYZE hpp_session")
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

fn tracker_of(key: Option<Vec<u8>>) -> Tracker<Timestamp> {
    let mut tracker = Tracker::new();
    if let Some(key) = key {
        tracker.observe(Observation::from_precedence_key(&key).unwrap());
    }
    tracker
}

/// The naive integration: lock, read, decide in Rust, write, in one transaction. Whether
/// the delivery made the session final.
async fn naive(raw: &Raw, session_id: &str, item: &Item) -> bool {
    match raw {
        Raw::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            let key: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT precedence_key FROM hpp_session WHERE session_id = ?1")
                    .bind(session_id)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            let mut tracker = tracker_of(key);
            let outcome = tracker.observe(item.seen);
            let current = outcome.current();
            sqlx::query(
                "UPDATE hpp_session SET precedence_key = ?2, status = ?3, is_final = ?4 \
                 WHERE session_id = ?1",
            )
            .bind(session_id)
            .bind(current.precedence_key().as_bytes())
            .bind(current.status.as_str())
            .bind(current.status.is_final())
            .execute(&mut *tx)
            .await
            .unwrap();
            if outcome.became_final() {
                sqlx::query(
                    "INSERT INTO hpp_effect (session_id, kind, status, authorization_token, \
                     created_at_us) VALUES (?1, 'place_order', ?2, ?3, 0) ON CONFLICT DO NOTHING",
                )
                .bind(session_id)
                .bind(current.status.as_str())
                .bind(&item.payload.authorization_token)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
            outcome.became_final()
        }
        #[cfg(feature = "postgres")]
        Raw::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            let key: Option<Vec<u8>> = sqlx::query_scalar(
                "SELECT precedence_key FROM hpp_session WHERE session_id = $1 FOR UPDATE",
            )
            .bind(session_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            let mut tracker = tracker_of(key);
            let outcome = tracker.observe(item.seen);
            let current = outcome.current();
            sqlx::query(
                "UPDATE hpp_session SET precedence_key = $2, status = $3, is_final = $4 \
                 WHERE session_id = $1",
            )
            .bind(session_id)
            .bind(current.precedence_key().as_bytes())
            .bind(current.status.as_str())
            .bind(current.status.is_final())
            .execute(&mut *tx)
            .await
            .unwrap();
            if outcome.became_final() {
                sqlx::query(
                    "INSERT INTO hpp_effect (session_id, kind, status, authorization_token, \
                     created_at_us) VALUES ($1, 'place_order', $2, $3, 0) ON CONFLICT DO NOTHING",
                )
                .bind(session_id)
                .bind(current.status.as_str())
                .bind(&item.payload.authorization_token)
                .execute(&mut *tx)
                .await
                .unwrap();
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
async fn check(
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
    let (rows, effects): (Vec<KeyRow>, i64) = match raw {
        Raw::Sqlite(pool) => (
            sqlx::query_as("SELECT session_id, precedence_key FROM hpp_session")
                .fetch_all(pool)
                .await
                .unwrap(),
            sqlx::query_scalar("SELECT count(*) FROM hpp_effect WHERE kind <> 'conflict'")
                .fetch_one(pool)
                .await
                .unwrap(),
        ),
        #[cfg(feature = "postgres")]
        Raw::Postgres(pool) => (
            sqlx::query_as("SELECT session_id, precedence_key FROM hpp_session")
                .fetch_all(pool)
                .await
                .unwrap(),
            sqlx::query_scalar("SELECT count(*) FROM hpp_effect WHERE kind <> 'conflict'")
                .fetch_one(pool)
                .await
                .unwrap(),
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
        (check(raw, workload, deliveries, 0).await.0, 0)
    } else {
        check(raw, workload, deliveries, became_final).await
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
