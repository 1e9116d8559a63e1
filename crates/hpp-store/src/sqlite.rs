//! The SQLite backend: one writer connection does every write of the process, committing
//! the writes waiting for it together ([`writer`]: group commit, one fsync per batch); reads
//! use a pool of their own (in WAL mode they never wait for the writer). The merge and its
//! effects are one write, with no window between the read of the row and its update.
//! `sqlite::memory:` has a single connection (the database lives in it): the writer's, which
//! then serves the reads too.

mod writer;

use std::str::FromStr as _;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use crate::effect::EffectRow;
use crate::merge::{self, Delivery, Settled};
use crate::rows::{DueRow, SessionRow};
use crate::{ReadSchedule, StoreError, StoreOptions};

use writer::{BoxFuture, Work, Writer};

/// The database's clock, in microseconds since the Unix epoch.
macro_rules! now {
    () => {
        "CAST(unixepoch('subsec') * 1000000 AS INTEGER)"
    };
}

/// One writer at a time: claims need no row locks.
macro_rules! skip_locked {
    () => {
        ""
    };
}

/// A session that is not final, as the partial index `hpp_session_open_by_expiry` says it
/// (SQLite uses a partial index only for a query whose terms say it the same way).
macro_rules! open {
    () => {
        "is_final = 0"
    };
}

crate::sql::shared!(sqlx::Sqlite);

/// The SQLite database: its writer, and its readers unless they share the writer's connection.
#[derive(Clone, Debug)]
pub(crate) struct Database {
    writer: Writer,
    readers: Option<SqlitePool>,
}

/// A [`Work`] running `f` on its connection with `data`, a copy of which each run takes (a
/// write runs again when another write of its batch failed). The signature pins the
/// closure's lifetimes.
fn work<D, T, F>(data: D, f: F) -> Work<T>
where
    D: Clone + Send + 'static,
    F: for<'c> Fn(&'c mut SqliteConnection, D) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + 'static,
{
    Box::new(move |conn| f(conn, data.clone()))
}

impl Database {
    /// Runs `work` in the writer's next batch.
    async fn write<T: Send + 'static>(&self, work: Work<T>) -> Result<T, StoreError> {
        self.writer.write(work).await
    }

    /// Runs `work` on a reader connection (the writer's, in memory).
    async fn read<T: Send + 'static>(&self, work: Work<T>) -> Result<T, StoreError> {
        match &self.readers {
            Some(pool) => {
                let mut conn = pool
                    .acquire()
                    .await
                    .map_err(StoreError::database("getting a reader connection"))?;
                work(&mut conn).await
            }
            None => self.writer.write(work).await,
        }
    }
}

/// Whether `url` names an in-memory database.
fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Opens the writer's connection (creating the file when allowed) and the reader pool of
/// `options.max_connections`. Files get WAL mode and `synchronous = FULL`: a write that
/// returned is on disk.
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<Database, StoreError> {
    let memory = in_memory(url);
    let mut connect = SqliteConnectOptions::from_str(url)
        .map_err(StoreError::database("reading the SQLite URL"))?
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Full)
        // A file the store creates has 1 KB pages, not 4 KB: a commit writes each page it
        // changed whole to the WAL, and a merge changes one row of about a hundred bytes
        // in a random page; on the store's bench, spread over 10,000 sessions, a commit of
        // 15 merges took 200 µs instead of 500 µs (512-byte pages were no faster). An
        // existing file keeps its page size.
        .page_size(1024)
        // Statement journals (and the write probe's savepoint) stay in memory.
        .pragma("temp_store", "memory")
        // A checkpoint copies each page of the WAL once, however many commits changed it:
        // checkpointing every 10,000 pages (40 MB of WAL at most) instead of SQLite's 1,000
        // copies a page changed by many batches once instead of ten times (on the store's
        // bench, spread over 10,000 sessions, commits took a third of the time).
        .pragma("wal_autocheckpoint", "10000")
        // 32 MB of page cache per connection instead of 2 MB, and reads of up to 256 MB of
        // the file through a memory map instead of a read() each: the merge reads random
        // rows (on the store's bench, spread over 10,000 sessions, 9,700 -> 12,400 merges/s).
        .pragma("cache_size", "-32000")
        .pragma("mmap_size", "268435456");
    if !memory {
        connect = connect.journal_mode(SqliteJournalMode::Wal);
        if !options.create {
            connect = connect.create_if_missing(false);
        }
    }
    let conn = connect
        .connect()
        .await
        .map_err(StoreError::database("connecting to SQLite"))?;
    let readers = if memory {
        None
    } else {
        // The writer made the file; readers never create it.
        let reader = connect.clone().create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_lazy_with(reader);
        Some(pool)
    };
    Ok(Database {
        writer: Writer::start(conn, connect, !memory),
        readers,
    })
}

pub(crate) async fn migrate(db: &Database) -> Result<(), StoreError> {
    db.writer
        .alone(work((), |conn, ()| {
            Box::pin(async move {
                sqlx::migrate!("./migrations/sqlite")
                    .run_direct(None, conn, false)
                    .await?;
                Ok(())
            })
        }))
        .await
}

/// Closes the writer (after the writes handed over before) and the readers.
pub(crate) async fn close(db: &Database) {
    db.writer.close().await;
    if let Some(pool) = &db.readers {
        pool.close().await;
    }
}

/// Whether the store's tables are there.
pub(crate) async fn has_tables(db: &Database) -> Result<bool, StoreError> {
    db.read(work((), |conn, ()| {
        Box::pin(async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'hpp_session'",
            )
            .fetch_one(conn)
            .await
            .map(|count| count > 0)
            .map_err(StoreError::database("looking for the store's tables"))
        })
    }))
    .await
}

/// A write, rolled back (to a savepoint of its own, inside the writer's transaction).
pub(crate) async fn check_writable(db: &Database) -> Result<(), StoreError> {
    db.write(work((), |conn, ()| {
        Box::pin(async move {
            sqlx::query("SAVEPOINT probe")
                .execute(&mut *conn)
                .await
                .map_err(StoreError::database("opening the write probe's savepoint"))?;
            let written = shared::write_probe(&mut *conn).await;
            sqlx::query("ROLLBACK TO probe")
                .execute(&mut *conn)
                .await
                .map_err(StoreError::database("rolling back the write probe"))?;
            sqlx::query("RELEASE probe")
                .execute(&mut *conn)
                .await
                .map_err(StoreError::database(
                    "releasing the write probe's savepoint",
                ))?;
            written
        })
    }))
    .await
}

/// How many effects are not completed, and the oldest one's `created_at_us`.
pub(crate) async fn effect_backlog(db: &Database) -> Result<(i64, Option<i64>), StoreError> {
    db.read(work((), |conn, ()| Box::pin(shared::effect_backlog(conn))))
        .await
}

/// The merge writes only what changes. An `UPDATE` rewrites the entries of every index whose
/// columns (its partial `WHERE`'s included) it sets, even to the same value: setting
/// `is_final` and `expires_at_us` on every merge rewrote a page of
/// `hpp_session_open_by_expiry` per merge, half of what a commit wrote (on the store's bench,
/// spread over 10,000 sessions: 27 pages for 15 merges, 13 of them the index's). So the upsert
/// sets only the key, its status and `held_before`; a final delivery first marks the session
/// final ([`MERGE_FINAL`], one round trip), and a row without an expiry takes the delivery's
/// ([`TAKE_EXPIRY`]).
macro_rules! upsert {
    () => {
        "INSERT INTO hpp_session (session_id, precedence_key, status, is_final, expires_at_us)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (session_id) DO UPDATE SET
    held_before = precedence_key,
    precedence_key = CASE WHEN precedence_key IS NULL OR excluded.precedence_key > precedence_key
                          THEN excluded.precedence_key ELSE precedence_key END,
    status = CASE WHEN precedence_key IS NULL OR excluded.precedence_key > precedence_key
                  THEN excluded.status ELSE status END
RETURNING held_before, precedence_key, expires_at_us"
    };
}

/// The merge of an open status.
const MERGE: &str = upsert!();

/// The merge of a final status: the session is final (whatever wins, a final was seen).
const MERGE_FINAL: &str = concat!(
    "UPDATE hpp_session SET is_final = 1 WHERE session_id = ?1 AND is_final = 0;\n",
    upsert!()
);

/// Session `?1`, seen without an expiry so far, takes `?2`.
const TAKE_EXPIRY: &str =
    "UPDATE hpp_session SET expires_at_us = ?2 WHERE session_id = ?1 AND expires_at_us IS NULL";

/// The merge and its effects, in one write.
pub(crate) async fn observe(db: &Database, delivery: Delivery) -> Result<Settled, StoreError> {
    db.write(work(delivery, |conn, delivery| {
        Box::pin(async move { merge_in(conn, &delivery).await })
    }))
    .await
}

/// The merge of a read, its effects and the read's bookkeeping ([`record_read`]), in one
/// write: whether the session is known is implied (the merge creates its row).
pub(crate) async fn observe_read(
    db: &Database,
    delivery: Delivery,
    read_at_us: i64,
    schedule: &ReadSchedule,
) -> Result<Settled, StoreError> {
    db.write(work(
        (delivery, *schedule),
        move |conn, (delivery, schedule)| {
            Box::pin(async move {
                let settled = merge_in(conn, &delivery).await?;
                shared::record_read(conn, &delivery.session_id, read_at_us, &schedule).await?;
                Ok(settled)
            })
        },
    ))
    .await
}

async fn merge_in(conn: &mut SqliteConnection, delivery: &Delivery) -> Result<Settled, StoreError> {
    let is_final = delivery.seen.status.is_final();
    let (held_before, held_now, expires_at_us): (Option<Vec<u8>>, Vec<u8>, Option<i64>) =
        sqlx::query_as(if is_final { MERGE_FINAL } else { MERGE })
            .bind(&delivery.session_id)
            .bind(delivery.key.as_bytes())
            .bind(delivery.seen.status.as_str())
            .bind(is_final)
            .bind(delivery.expires_at_us)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::database("merging a delivery"))?;
    if expires_at_us.is_none()
        && let Some(expires_at_us) = delivery.expires_at_us
    {
        sqlx::query(TAKE_EXPIRY)
            .bind(&delivery.session_id)
            .bind(expires_at_us)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::database("recording a session's expiry"))?;
    }
    let settled = merge::settle(delivery, held_before.as_deref(), &held_now)?;
    for effect in &settled.effects {
        let recorded = shared::insert_effect(&mut *conn, &delivery.session_id, effect).await?;
        if !recorded {
            merge::warn_not_recorded(&delivery.session_id, effect);
        }
    }
    Ok(settled)
}

/// Records an unusable payload, and, for a read (`read`: when and the schedule), the read.
pub(crate) async fn record_unusable(
    db: &Database,
    session_id: &str,
    reason: &str,
    payload: &str,
    read: Option<(i64, ReadSchedule)>,
) -> Result<i64, StoreError> {
    let data = (session_id.to_owned(), reason.to_owned(), payload.to_owned());
    db.write(work(data, move |conn, (session_id, reason, payload)| {
        Box::pin(async move {
            let id = shared::record_unusable(&mut *conn, &session_id, &reason, &payload).await?;
            if let Some((read_at_us, schedule)) = read {
                shared::record_read(conn, &session_id, read_at_us, &schedule).await?;
            }
            Ok(id)
        })
    }))
    .await
}

/// Registers a session, or says which registration it has.
pub(crate) async fn register(
    db: &Database,
    session_id: &str,
    expires_at_us: i64,
    callback_secret: &str,
) -> Result<Option<(Option<i64>, Option<String>)>, StoreError> {
    let data = (session_id.to_owned(), callback_secret.to_owned());
    db.write(work(data, move |conn, (session_id, callback_secret)| {
        Box::pin(async move {
            if shared::register(&mut *conn, &session_id, expires_at_us, &callback_secret).await? {
                return Ok(None);
            }
            shared::registered(conn, &session_id).await.map(Some)
        })
    }))
    .await
}

/// Runs one of the shared statements (`$via`: `read` or `write`) on the owned values
/// `$owned`, which its arguments may borrow.
macro_rules! run {
    ($via:ident, $db:expr, ($($owned:ident),*) => $function:ident ( $($argument:expr),* )) => {
        $db.$via(work(($($owned,)*), |conn, ($($owned,)*)| {
            Box::pin(async move { shared::$function(conn $(, $argument)*).await })
        }))
        .await
    };
}

pub(crate) async fn registration(
    db: &Database,
    session_id: &str,
) -> Result<Option<crate::rows::RegistrationRow>, StoreError> {
    let session_id = session_id.to_owned();
    run!(read, db, (session_id) => registration(&session_id))
}

pub(crate) async fn precedence_key(
    db: &Database,
    session_id: &str,
) -> Result<Option<Option<Vec<u8>>>, StoreError> {
    let session_id = session_id.to_owned();
    run!(read, db, (session_id) => precedence_key(&session_id))
}

pub(crate) async fn claim_effects(
    db: &Database,
    worker: &str,
    limit: i64,
    lease_us: i64,
) -> Result<Vec<EffectRow>, StoreError> {
    let worker = worker.to_owned();
    run!(write, db, (worker, limit, lease_us) => claim_effects(&worker, limit, lease_us))
}

pub(crate) async fn end_claim(
    db: &Database,
    id: i64,
    attempt: i64,
    complete: bool,
    delay_us: i64,
) -> Result<bool, StoreError> {
    run!(write, db, (id, attempt, complete, delay_us) => end_claim(id, attempt, complete, delay_us))
}

pub(crate) async fn effect(db: &Database, id: i64) -> Result<Option<EffectRow>, StoreError> {
    run!(read, db, (id) => effect(id))
}

pub(crate) async fn effects(db: &Database) -> Result<Vec<EffectRow>, StoreError> {
    run!(read, db, () => effects())
}

pub(crate) async fn due_for_read(
    db: &Database,
    now_us: i64,
    limit: i64,
    schedule: &ReadSchedule,
) -> Result<Vec<DueRow>, StoreError> {
    let schedule = *schedule;
    run!(write, db, (now_us, limit, schedule) => due_for_read(now_us, limit, &schedule))
}

pub(crate) async fn record_read(
    db: &Database,
    session_id: &str,
    read_at_us: i64,
    schedule: &ReadSchedule,
) -> Result<bool, StoreError> {
    let (session_id, schedule) = (session_id.to_owned(), *schedule);
    run!(write, db, (session_id, read_at_us, schedule) => record_read(&session_id, read_at_us, &schedule))
}

pub(crate) async fn sessions(db: &Database) -> Result<Vec<SessionRow>, StoreError> {
    run!(read, db, () => sessions())
}

pub(crate) async fn unusable_deliveries(
    db: &Database,
) -> Result<Vec<crate::rows::UnusableRow>, StoreError> {
    run!(read, db, () => unusable_deliveries())
}

pub(crate) async fn begin_order_attempt(
    db: &Database,
    effect_id: i64,
    claim: i64,
    worker: &str,
    idempotency_key: &str,
) -> Result<Option<i64>, StoreError> {
    let (worker, key) = (worker.to_owned(), idempotency_key.to_owned());
    run!(write, db, (effect_id, claim, worker, key) => begin_order_attempt(effect_id, claim, &worker, &key))
}

pub(crate) async fn answer_order_attempt(
    db: &Database,
    effect_id: i64,
    attempt: i64,
    answer: &str,
    order_id: Option<&str>,
    detail: Option<&str>,
) -> Result<bool, StoreError> {
    let answer = answer.to_owned();
    let (order_id, detail) = (order_id.map(str::to_owned), detail.map(str::to_owned));
    run!(write, db, (effect_id, attempt, answer, order_id, detail) => answer_order_attempt(
        effect_id,
        attempt,
        &answer,
        order_id.as_deref(),
        detail.as_deref()
    ))
}

pub(crate) async fn order_attempts(
    db: &Database,
    effect_id: Option<i64>,
) -> Result<Vec<crate::order::AttemptRow>, StoreError> {
    run!(read, db, (effect_id) => order_attempts(effect_id))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::writer::MAX_BATCH;
    use super::*;

    /// A write that runs `sql`, statement by statement.
    fn statements(sql: &'static [&'static str]) -> Work<()> {
        work(sql, |conn, sql| {
            Box::pin(async move {
                for &statement in sql {
                    sqlx::query(statement)
                        .execute(&mut *conn)
                        .await
                        .map_err(StoreError::database("running a test statement"))?;
                }
                Ok(())
            })
        })
    }

    /// The statements of a write whose `COMMIT` fails: a deferred foreign key left violated.
    const VIOLATING: &[&str] = &[
        "PRAGMA defer_foreign_keys = ON",
        "INSERT INTO hpp_effect (session_id, kind, status, created_at_us) \
         VALUES ('nobody', 'session_ended', 'CANCELLED', 0)",
    ];

    /// Lets every other task of the test's (single-threaded) runtime run until it waits.
    async fn let_others_run() {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    /// An in-memory database whose writer is held inside a batch by a write that waits for
    /// the returned gate to open; the task of that write.
    async fn held_writer() -> (
        Database,
        Arc<tokio::sync::Semaphore>,
        tokio::task::JoinHandle<Result<(), StoreError>>,
    ) {
        let db = connect("sqlite::memory:", &StoreOptions::default())
            .await
            .unwrap();
        migrate(&db).await.unwrap();
        let started = Arc::new(tokio::sync::Semaphore::new(0));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let holding = work(
            (Arc::clone(&started), Arc::clone(&gate)),
            |_, (started, gate)| {
                Box::pin(async move {
                    started.add_permits(1);
                    let _open = gate.acquire().await;
                    Ok(())
                })
            },
        );
        let held = tokio::spawn({
            let db = db.clone();
            async move { db.write(holding).await }
        });
        let running = tokio::time::timeout(std::time::Duration::from_secs(10), started.acquire());
        drop(
            running
                .await
                .expect("the writer runs the holding write")
                .unwrap(),
        );
        (db, gate, held)
    }

    /// The writes that wait while the writer commits are its next batch, up to `MAX_BATCH` of
    /// them: a `COMMIT` that fails fails exactly those, and the rest go on.
    #[tokio::test]
    async fn the_writes_waiting_are_the_next_batch_up_to_its_limit() {
        let (db, gate, held) = held_writer().await;
        let spawn_write = |sql: &'static [&'static str]| {
            let db = db.clone();
            tokio::spawn(async move { db.write(statements(sql)).await })
        };
        let violating = spawn_write(VIOLATING);
        let_others_run().await;
        let others: Vec<_> = (0..MAX_BATCH + 44)
            .map(|_| spawn_write(&["SELECT 1"]))
            .collect();
        let_others_run().await;
        gate.add_permits(1);
        held.await.unwrap().unwrap();
        let error = violating.await.unwrap().unwrap_err();
        assert!(
            matches!(error, StoreError::WriteBatch { writes, .. } if writes == MAX_BATCH),
            "{error:?}"
        );
        let mut failed = 0;
        for other in others {
            failed += usize::from(other.await.unwrap().is_err());
        }
        assert_eq!(failed, MAX_BATCH - 1);
    }

    /// Closing waits for the writes handed over before it; those handed over after fail.
    #[tokio::test]
    async fn writes_after_close_fail_and_those_before_are_done() {
        let (db, gate, held) = held_writer().await;
        let before = tokio::spawn({
            let db = db.clone();
            async move {
                db.write(statements(&["CREATE TABLE before (x INTEGER)"]))
                    .await
            }
        });
        let_others_run().await;
        let closing = tokio::spawn({
            let db = db.clone();
            async move { close(&db).await }
        });
        let_others_run().await;
        let after = tokio::spawn({
            let db = db.clone();
            async move { db.write(statements(&["SELECT 1"])).await }
        });
        let_others_run().await;
        gate.add_permits(1);
        held.await.unwrap().unwrap();
        before.await.unwrap().unwrap();
        closing.await.unwrap();
        let error = after.await.unwrap().unwrap_err();
        assert!(
            matches!(
                &error,
                StoreError::Database {
                    source: sqlx::Error::PoolClosed,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    /// A batch whose `COMMIT` fails (a deferred foreign key left violated) is reported as
    /// such, and the writer goes on: on a file with a new connection, in memory with the one
    /// connection the database lives in (a new one would be a new, empty database).
    #[tokio::test]
    async fn a_failed_commit_fails_its_batch_and_the_database_stays() {
        let dir = tempfile::tempdir().unwrap();
        let file = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("store.db").display()
        );
        for url in ["sqlite::memory:", file.as_str()] {
            let db = connect(url, &StoreOptions::default()).await.unwrap();
            migrate(&db).await.unwrap();
            let kept = &[
                "CREATE TABLE kept (x INTEGER)",
                "INSERT INTO kept VALUES (1)",
            ];
            db.write(statements(kept)).await.unwrap();
            let error = db.write(statements(VIOLATING)).await.unwrap_err();
            assert!(
                matches!(
                    error,
                    StoreError::WriteBatch {
                        operation: "committing a batch of writes",
                        writes: 1,
                        ..
                    }
                ),
                "{url}: {error:?}"
            );
            let count = work((), |conn, ()| {
                Box::pin(async move {
                    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM kept")
                        .fetch_one(conn)
                        .await
                        .map_err(StoreError::database("counting"))
                })
            });
            assert_eq!(db.write(count).await.unwrap(), 1, "{url}");
            assert_eq!(effect_backlog(&db).await.unwrap().0, 0, "{url}");
            close(&db).await;
        }
    }
}
