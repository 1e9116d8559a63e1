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

use crate::effect::{EFFECT_COLUMNS, EffectColumns, EffectKind, EffectRow};
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

/// The SQLite database: its writer, and its readers unless they share the writer's connection.
#[derive(Clone, Debug)]
pub(crate) struct Database {
    writer: Writer,
    readers: Option<SqlitePool>,
}

/// Boxes `f` as a [`Work`] (the signature pins the closure's lifetimes).
fn work<T, F>(f: F) -> Work<T>
where
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + 'static,
{
    Box::new(f)
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
        // A write's savepoint journal stays in memory.
        .pragma("temp_store", "memory")
        // A checkpoint copies each page of the WAL once, however many commits changed it:
        // checkpointing every 10,000 pages (40 MB of WAL at most) instead of SQLite's 1,000
        // copies a page changed by many batches once instead of ten times (on the store's
        // bench, spread over 10,000 sessions, commits took a third of the time).
        .pragma("wal_autocheckpoint", "10000")
        // 32 MB of page cache per connection instead of 2 MB.
        .pragma("cache_size", "-32000");
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
        .alone(work(|conn| {
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
    db.read(work(|conn| {
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
    db.write(work(|conn| {
        Box::pin(async move {
            sqlx::query("SAVEPOINT probe")
                .execute(&mut *conn)
                .await
                .map_err(StoreError::database("opening the write probe's savepoint"))?;
            let written = sqlx::query(
                "INSERT INTO hpp_unusable_delivery (session_id, received_at_us, reason, payload) \
                 VALUES ('', 0, 'write probe', '')",
            )
            .execute(&mut *conn)
            .await
            .map_err(StoreError::database("writing (a probe, rolled back)"));
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
            written.map(drop)
        })
    }))
    .await
}

/// How many effects are not completed, and the oldest one's `created_at_us`.
pub(crate) async fn effect_backlog(db: &Database) -> Result<(i64, Option<i64>), StoreError> {
    db.read(work(|conn| {
        Box::pin(async move {
            sqlx::query_as(
                "SELECT count(*), min(created_at_us) FROM hpp_effect WHERE completed_at_us IS NULL",
            )
            .fetch_one(conn)
            .await
            .map_err(StoreError::database("counting pending effects"))
        })
    }))
    .await
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

const INSERT_EFFECT: &str = concat!(
    "INSERT INTO hpp_effect (session_id, kind, status, authorization_token, order_id, ",
    "klarna_reference, kept_key, rejected_key, created_at_us) ",
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ",
    now!(),
    ") ON CONFLICT DO NOTHING RETURNING id"
);

/// The merge and its effects, in one write.
pub(crate) async fn observe(db: &Database, delivery: Delivery) -> Result<Settled, StoreError> {
    db.write(work(move |conn| {
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
    let schedule = *schedule;
    db.write(work(move |conn| {
        Box::pin(async move {
            let settled = merge_in(conn, &delivery).await?;
            record_read_in(conn, &delivery.session_id, read_at_us, &schedule).await?;
            Ok(settled)
        })
    }))
    .await
}

async fn merge_in(conn: &mut SqliteConnection, delivery: &Delivery) -> Result<Settled, StoreError> {
    let (held_before, held_now): (Option<Vec<u8>>, Vec<u8>) = sqlx::query_as(MERGE)
        .bind(&delivery.session_id)
        .bind(delivery.key.as_bytes())
        .bind(delivery.seen.status.as_str())
        .bind(delivery.seen.status.is_final())
        .bind(delivery.expires_at_us)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::database("merging a delivery"))?;
    let settled = merge::settle(delivery, held_before.as_deref(), &held_now)?;
    for effect in &settled.effects {
        let recorded = insert_effect(conn, &delivery.session_id, effect).await?;
        if !recorded {
            merge::warn_not_recorded(&delivery.session_id, effect);
        }
    }
    Ok(settled)
}

/// Inserts an effect unless the session already has it (or, for one that is not a conflict,
/// any effect that is not a conflict); whether it was inserted.
async fn insert_effect(
    conn: &mut SqliteConnection,
    session_id: &str,
    effect: &EffectKind,
) -> Result<bool, StoreError> {
    let EffectColumns {
        kind,
        status,
        authorization_token,
        order_id,
        klarna_reference,
        kept_key,
        rejected_key,
    } = effect.columns();
    let inserted = sqlx::query(INSERT_EFFECT)
        .bind(session_id)
        .bind(kind)
        .bind(status)
        .bind(authorization_token)
        .bind(order_id)
        .bind(klarna_reference)
        .bind(kept_key)
        .bind(rejected_key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::database("recording an effect"))?;
    Ok(inserted.is_some())
}

/// Records an unusable payload, and, for a read (`read`: when and the schedule), the read.
pub(crate) async fn record_unusable(
    db: &Database,
    session_id: &str,
    reason: &str,
    payload: &str,
    read: Option<(i64, ReadSchedule)>,
) -> Result<i64, StoreError> {
    let (session_id, reason, payload) =
        (session_id.to_owned(), reason.to_owned(), payload.to_owned());
    db.write(work(move |conn| {
        Box::pin(async move {
            let id: i64 = sqlx::query_scalar(concat!(
                "INSERT INTO hpp_unusable_delivery (session_id, received_at_us, reason, payload) ",
                "VALUES (?1, ",
                now!(),
                ", ?2, ?3) RETURNING id"
            ))
            .bind(&session_id)
            .bind(reason)
            .bind(payload)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::database("recording an unusable delivery"))?;
            if let Some((read_at_us, schedule)) = read {
                record_read_in(conn, &session_id, read_at_us, &schedule).await?;
            }
            Ok(id)
        })
    }))
    .await
}

pub(crate) async fn register(
    db: &Database,
    session_id: &str,
    expires_at_us: i64,
    callback_secret: &str,
) -> Result<Option<(Option<i64>, Option<String>)>, StoreError> {
    let (session_id, callback_secret) = (session_id.to_owned(), callback_secret.to_owned());
    db.write(work(move |conn| {
        Box::pin(async move {
            let registered = sqlx::query(concat!(
                "INSERT INTO hpp_session (session_id, expires_at_us, callback_secret, registered_at_us) ",
                "VALUES (?1, ?2, ?3, ",
                now!(),
                ") ON CONFLICT (session_id) DO UPDATE SET expires_at_us = excluded.expires_at_us, ",
                "callback_secret = excluded.callback_secret, registered_at_us = excluded.registered_at_us ",
                "WHERE callback_secret IS NULL RETURNING session_id"
            ))
            .bind(&session_id)
            .bind(expires_at_us)
            .bind(&callback_secret)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::database("registering a session"))?;
            if registered.is_some() {
                return Ok(None);
            }
            let row = sqlx::query_as(
                "SELECT expires_at_us, callback_secret FROM hpp_session WHERE session_id = ?1",
            )
            .bind(&session_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::database("reading a registration"))?;
            Ok(Some(row))
        })
    }))
    .await
}

/// A session's callback secret, expiry and precedence key, if it was registered.
pub(crate) async fn registration(
    db: &Database,
    session_id: &str,
) -> Result<Option<crate::rows::RegistrationRow>, StoreError> {
    let session_id = session_id.to_owned();
    db.read(work(move |conn| {
        Box::pin(async move {
            sqlx::query_as(crate::rows::REGISTRATION)
                .bind(session_id)
                .fetch_optional(conn)
                .await
                .map_err(StoreError::database("reading a registration"))
        })
    }))
    .await
}

pub(crate) async fn precedence_key(
    db: &Database,
    session_id: &str,
) -> Result<Option<Option<Vec<u8>>>, StoreError> {
    let session_id = session_id.to_owned();
    db.read(work(move |conn| {
        Box::pin(async move {
            sqlx::query_scalar("SELECT precedence_key FROM hpp_session WHERE session_id = ?1")
                .bind(session_id)
                .fetch_optional(conn)
                .await
                .map_err(StoreError::database("reading a session"))
        })
    }))
    .await
}

pub(crate) async fn claim_effects(
    db: &Database,
    worker: &str,
    limit: i64,
    lease_us: i64,
) -> Result<Vec<EffectRow>, StoreError> {
    let worker = worker.to_owned();
    db.write(work(move |conn| {
        Box::pin(async move {
            let sql = format!(
                "UPDATE hpp_effect SET attempts = attempts + 1, claimed_by = ?1, \
                 lease_until_us = {now} + ?3 \
                 WHERE id IN (SELECT id FROM hpp_effect WHERE completed_at_us IS NULL \
                 AND (lease_until_us IS NULL OR lease_until_us <= {now}) ORDER BY id LIMIT ?2) \
                 RETURNING {EFFECT_COLUMNS}",
                now = now!()
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(worker)
                .bind(limit)
                .bind(lease_us)
                .fetch_all(conn)
                .await
                .map_err(StoreError::database("claiming effects"))
        })
    }))
    .await
}

/// Ends the claim `attempt` of effect `id` while it holds the lease: completes the effect,
/// or (`complete` false) releases it for another claim after `delay_us`. Whether the claim
/// held it.
pub(crate) async fn end_claim(
    db: &Database,
    id: i64,
    attempt: i64,
    complete: bool,
    delay_us: i64,
) -> Result<bool, StoreError> {
    let sql = if complete {
        concat!(
            "UPDATE hpp_effect SET completed_at_us = ",
            now!(),
            " WHERE id = ?1 AND attempts = ?2 AND completed_at_us IS NULL AND lease_until_us > ",
            now!(),
            " RETURNING id"
        )
    } else {
        // Released: claimable again once the delay has passed (a retry's backoff).
        concat!(
            "UPDATE hpp_effect SET lease_until_us = ",
            now!(),
            " + ?3 WHERE id = ?1 AND attempts = ?2 AND completed_at_us IS NULL AND lease_until_us > ",
            now!(),
            " RETURNING id"
        )
    };
    db.write(work(move |conn| {
        Box::pin(async move {
            let ended = sqlx::query(sql)
                .bind(id)
                .bind(attempt)
                .bind(delay_us)
                .fetch_optional(conn)
                .await
                .map_err(StoreError::database("ending an effect's claim"))?;
            Ok(ended.is_some())
        })
    }))
    .await
}

pub(crate) async fn effect(db: &Database, id: i64) -> Result<Option<EffectRow>, StoreError> {
    db.read(work(move |conn| {
        Box::pin(async move {
            let sql = format!("SELECT {EFFECT_COLUMNS} FROM hpp_effect WHERE id = ?1");
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(conn)
                .await
                .map_err(StoreError::database("reading an effect"))
        })
    }))
    .await
}

pub(crate) async fn effects(db: &Database) -> Result<Vec<EffectRow>, StoreError> {
    db.read(work(|conn| {
        Box::pin(async move {
            let sql = format!("SELECT {EFFECT_COLUMNS} FROM hpp_effect ORDER BY id");
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(conn)
                .await
                .map_err(StoreError::database("listing effects"))
        })
    }))
    .await
}

pub(crate) async fn due_for_read(
    db: &Database,
    now_us: i64,
    limit: i64,
    schedule: &ReadSchedule,
) -> Result<Vec<DueRow>, StoreError> {
    let lease_us = crate::time::duration_micros(schedule.lease);
    db.write(work(move |conn| {
        Box::pin(async move {
            sqlx::query_as(
                "UPDATE hpp_session SET next_read_at_us = ?1 + ?3 \
                 WHERE session_id IN (SELECT session_id FROM hpp_session \
                     WHERE is_final = 0 AND expires_at_us > ?1 \
                     AND (next_read_at_us IS NULL OR next_read_at_us <= ?1) \
                     ORDER BY expires_at_us, session_id LIMIT ?2) \
                 RETURNING session_id, expires_at_us, precedence_key, last_read_at_us",
            )
            .bind(now_us)
            .bind(limit)
            .bind(lease_us)
            .fetch_all(conn)
            .await
            .map_err(StoreError::database("claiming sessions to read"))
        })
    }))
    .await
}

pub(crate) async fn record_read(
    db: &Database,
    session_id: &str,
    read_at_us: i64,
    schedule: &ReadSchedule,
) -> Result<bool, StoreError> {
    let (session_id, schedule) = (session_id.to_owned(), *schedule);
    db.write(work(move |conn| {
        Box::pin(async move { record_read_in(conn, &session_id, read_at_us, &schedule).await })
    }))
    .await
}

/// Records a read at `read_at_us` and schedules the next; whether the session is known.
async fn record_read_in(
    conn: &mut SqliteConnection,
    session_id: &str,
    read_at_us: i64,
    schedule: &ReadSchedule,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        // The schedule follows the latest read, also when an older one is recorded late.
        "UPDATE hpp_session SET \
             last_read_at_us = max(coalesce(last_read_at_us, ?2), ?2), \
             next_read_at_us = CASE \
                 WHEN expires_at_us IS NULL THEN NULL \
                 WHEN max(coalesce(last_read_at_us, ?2), ?2) < expires_at_us - ?4 \
                     THEN min(max(coalesce(last_read_at_us, ?2), ?2) + ?3, expires_at_us - ?4) \
                 ELSE expires_at_us END \
         WHERE session_id = ?1 RETURNING session_id",
    )
    .bind(session_id)
    .bind(read_at_us)
    .bind(crate::time::duration_micros(schedule.interval))
    .bind(crate::time::duration_micros(schedule.margin))
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::database("recording a read"))?;
    Ok(updated.is_some())
}

pub(crate) async fn sessions(db: &Database) -> Result<Vec<SessionRow>, StoreError> {
    db.read(work(|conn| {
        Box::pin(async move {
            sqlx::query_as(crate::rows::SESSIONS)
                .fetch_all(conn)
                .await
                .map_err(StoreError::database("listing sessions"))
        })
    }))
    .await
}

pub(crate) async fn unusable_deliveries(
    db: &Database,
) -> Result<Vec<crate::rows::UnusableRow>, StoreError> {
    db.read(work(|conn| {
        Box::pin(async move {
            sqlx::query_as(crate::rows::UNUSABLE_DELIVERIES)
                .fetch_all(conn)
                .await
                .map_err(StoreError::database("listing unusable deliveries"))
        })
    }))
    .await
}

/// Records a create order call of effect `effect_id` about to be sent, if claim `claim`
/// still holds the effect's lease; the call's number, or `None` when the claim lost it.
pub(crate) async fn begin_order_attempt(
    db: &Database,
    effect_id: i64,
    claim: i64,
    worker: &str,
    idempotency_key: &str,
) -> Result<Option<i64>, StoreError> {
    let sql = concat!(
        "INSERT INTO hpp_order_attempt (effect_id, attempt, claim, worker, idempotency_key, started_at_us) ",
        "SELECT ?1, coalesce((SELECT max(attempt) FROM hpp_order_attempt WHERE effect_id = ?1), 0) + 1, ",
        "?2, ?3, ?4, ",
        now!(),
        " WHERE EXISTS (SELECT 1 FROM hpp_effect WHERE id = ?1 AND attempts = ?2 ",
        "AND completed_at_us IS NULL AND lease_until_us > ",
        now!(),
        ") RETURNING attempt"
    );
    let (worker, idempotency_key) = (worker.to_owned(), idempotency_key.to_owned());
    db.write(work(move |conn| {
        Box::pin(async move {
            sqlx::query_scalar(sql)
                .bind(effect_id)
                .bind(claim)
                .bind(worker)
                .bind(idempotency_key)
                .fetch_optional(conn)
                .await
                .map_err(StoreError::database("recording a create order call"))
        })
    }))
    .await
}

/// Records what Klarna answered call `attempt` of effect `effect_id` (once); whether it was
/// recorded.
pub(crate) async fn answer_order_attempt(
    db: &Database,
    effect_id: i64,
    attempt: i64,
    answer: &str,
    order_id: Option<&str>,
    detail: Option<&str>,
) -> Result<bool, StoreError> {
    let sql = concat!(
        "UPDATE hpp_order_attempt SET answer = ?3, order_id = ?4, detail = ?5, answered_at_us = ",
        now!(),
        " WHERE effect_id = ?1 AND attempt = ?2 AND answer IS NULL RETURNING attempt"
    );
    let answer = answer.to_owned();
    let (order_id, detail) = (order_id.map(str::to_owned), detail.map(str::to_owned));
    db.write(work(move |conn| {
        Box::pin(async move {
            let recorded: Option<i64> = sqlx::query_scalar(sql)
                .bind(effect_id)
                .bind(attempt)
                .bind(answer)
                .bind(order_id)
                .bind(detail)
                .fetch_optional(conn)
                .await
                .map_err(StoreError::database("recording a create order answer"))?;
            Ok(recorded.is_some())
        })
    }))
    .await
}

/// The create order calls of effect `effect_id`, or of every effect, in order.
pub(crate) async fn order_attempts(
    db: &Database,
    effect_id: Option<i64>,
) -> Result<Vec<crate::order::AttemptRow>, StoreError> {
    let sql = concat!(
        "SELECT effect_id, attempt, claim, worker, idempotency_key, started_at_us, answer, ",
        "order_id, detail, answered_at_us FROM hpp_order_attempt ",
        "WHERE ?1 IS NULL OR effect_id = ?1 ORDER BY effect_id, attempt"
    );
    db.read(work(move |conn| {
        Box::pin(async move {
            sqlx::query_as(sql)
                .bind(effect_id)
                .fetch_all(conn)
                .await
                .map_err(StoreError::database("listing create order calls"))
        })
    }))
    .await
}
