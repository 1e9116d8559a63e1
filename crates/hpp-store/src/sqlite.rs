//! The SQLite backend: every write is a `BEGIN IMMEDIATE` transaction, so writers queue on
//! the database's write lock (with a busy timeout) instead of failing when a deferred read
//! turns into a write. SQLite has one writer at a time: the merge and its effects are one
//! transaction, with no window between the read of the row and its update.

use std::str::FromStr as _;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Sqlite, Transaction};

use crate::effect::{EFFECT_COLUMNS, EffectColumns, EffectKind, EffectRow};
use crate::merge::{self, Delivery, Settled};
use crate::rows::{DueRow, SessionRow};
use crate::{ReadSchedule, StoreError, StoreOptions};

/// The database's clock, in microseconds since the Unix epoch.
macro_rules! now {
    () => {
        "CAST(unixepoch('subsec') * 1000000 AS INTEGER)"
    };
}

/// Opens the pool. `sqlite::memory:` gets exactly one connection, kept for the life of the
/// pool (the database lives as long as a connection to it); files get WAL mode.
pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<SqlitePool, StoreError> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let mut connect = SqliteConnectOptions::from_str(url)
        .map_err(StoreError::database("reading the SQLite URL"))?
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true);
    let pool = if memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        connect = connect.journal_mode(SqliteJournalMode::Wal);
        if !options.create {
            connect = connect.create_if_missing(false);
        }
        SqlitePoolOptions::new().max_connections(options.max_connections)
    };
    pool.connect_with(connect)
        .await
        .map_err(StoreError::database("connecting to SQLite"))
}

pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations/sqlite").run(pool).await?;
    Ok(())
}

/// Whether the store's tables are there.
pub(crate) async fn has_tables(pool: &SqlitePool) -> Result<bool, StoreError> {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'hpp_session'",
    )
    .fetch_one(pool)
    .await
    .map(|count| count > 0)
    .map_err(StoreError::database("looking for the store's tables"))
}

/// A write, rolled back.
pub(crate) async fn check_writable(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = begin(pool).await?;
    sqlx::query(
        "INSERT INTO hpp_unusable_delivery (session_id, received_at_us, reason, payload) \
         VALUES ('', 0, 'write probe', '')",
    )
    .execute(&mut *tx)
    .await
    .map_err(StoreError::database("writing (a probe, rolled back)"))?;
    tx.rollback()
        .await
        .map_err(StoreError::database("rolling back the write probe"))
}

/// How many effects are not completed, and the oldest one's `created_at_us`.
pub(crate) async fn effect_backlog(pool: &SqlitePool) -> Result<(i64, Option<i64>), StoreError> {
    sqlx::query_as(
        "SELECT count(*), min(created_at_us) FROM hpp_effect WHERE completed_at_us IS NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(StoreError::database("counting pending effects"))
}

async fn begin(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::database("starting a write transaction"))
}

async fn commit(tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
    tx.commit()
        .await
        .map_err(StoreError::database("committing"))
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

/// The merge and its effects, in one `BEGIN IMMEDIATE` transaction.
pub(crate) async fn observe(
    pool: &SqlitePool,
    delivery: &Delivery<'_>,
) -> Result<Settled, StoreError> {
    let mut tx = begin(pool).await?;
    let (held_before, held_now): (Option<Vec<u8>>, Vec<u8>) = sqlx::query_as(MERGE)
        .bind(delivery.session_id)
        .bind(delivery.key.as_bytes())
        .bind(delivery.seen.status.as_str())
        .bind(delivery.seen.status.is_final())
        .bind(delivery.expires_at_us)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::database("merging a delivery"))?;
    let settled = merge::settle(delivery, held_before.as_deref(), &held_now)?;
    for effect in &settled.effects {
        let recorded = insert_effect(&mut tx, delivery.session_id, effect).await?;
        if !recorded {
            merge::warn_not_recorded(delivery.session_id, effect);
        }
    }
    commit(tx).await?;
    Ok(settled)
}

/// Inserts an effect unless the session already has it (or, for one that is not a conflict,
/// any effect that is not a conflict); whether it was inserted.
async fn insert_effect(
    tx: &mut Transaction<'static, Sqlite>,
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
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::database("recording an effect"))?;
    Ok(inserted.is_some())
}

pub(crate) async fn record_unusable(
    pool: &SqlitePool,
    session_id: &str,
    reason: &str,
    payload: &str,
) -> Result<i64, StoreError> {
    let mut tx = begin(pool).await?;
    let id: i64 = sqlx::query_scalar(concat!(
        "INSERT INTO hpp_unusable_delivery (session_id, received_at_us, reason, payload) ",
        "VALUES (?1, ",
        now!(),
        ", ?2, ?3) RETURNING id"
    ))
    .bind(session_id)
    .bind(reason)
    .bind(payload)
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::database("recording an unusable delivery"))?;
    commit(tx).await?;
    Ok(id)
}

pub(crate) async fn register(
    pool: &SqlitePool,
    session_id: &str,
    expires_at_us: i64,
    callback_secret: &str,
) -> Result<Option<(Option<i64>, Option<String>)>, StoreError> {
    let mut tx = begin(pool).await?;
    let registered = sqlx::query(concat!(
        "INSERT INTO hpp_session (session_id, expires_at_us, callback_secret, registered_at_us) ",
        "VALUES (?1, ?2, ?3, ",
        now!(),
        ") ON CONFLICT (session_id) DO UPDATE SET expires_at_us = excluded.expires_at_us, ",
        "callback_secret = excluded.callback_secret, registered_at_us = excluded.registered_at_us ",
        "WHERE callback_secret IS NULL RETURNING session_id"
    ))
    .bind(session_id)
    .bind(expires_at_us)
    .bind(callback_secret)
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::database("registering a session"))?;
    let existing = if registered.is_some() {
        None
    } else {
        let row = sqlx::query_as(
            "SELECT expires_at_us, callback_secret FROM hpp_session WHERE session_id = ?1",
        )
        .bind(session_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::database("reading a registration"))?;
        Some(row)
    };
    commit(tx).await?;
    Ok(existing)
}

pub(crate) async fn callback_secret(
    pool: &SqlitePool,
    session_id: &str,
) -> Result<Option<String>, StoreError> {
    let secret: Option<Option<String>> =
        sqlx::query_scalar("SELECT callback_secret FROM hpp_session WHERE session_id = ?1")
            .bind(session_id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::database("reading a callback secret"))?;
    Ok(secret.flatten())
}

pub(crate) async fn precedence_key(
    pool: &SqlitePool,
    session_id: &str,
) -> Result<Option<Option<Vec<u8>>>, StoreError> {
    sqlx::query_scalar("SELECT precedence_key FROM hpp_session WHERE session_id = ?1")
        .bind(session_id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("reading a session"))
}

pub(crate) async fn claim_effects(
    pool: &SqlitePool,
    worker: &str,
    limit: i64,
    lease_us: i64,
) -> Result<Vec<EffectRow>, StoreError> {
    let mut tx = begin(pool).await?;
    let sql = format!(
        "UPDATE hpp_effect SET attempts = attempts + 1, claimed_by = ?1, \
         lease_until_us = {now} + ?3 \
         WHERE id IN (SELECT id FROM hpp_effect WHERE completed_at_us IS NULL \
         AND (lease_until_us IS NULL OR lease_until_us <= {now}) ORDER BY id LIMIT ?2) \
         RETURNING {EFFECT_COLUMNS}",
        now = now!()
    );
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(worker)
        .bind(limit)
        .bind(lease_us)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::database("claiming effects"))?;
    commit(tx).await?;
    Ok(rows)
}

/// Ends the claim `attempt` of effect `id` while it holds the lease: completes the effect,
/// or (`complete` false) releases it for another claim now. Whether the claim held it.
pub(crate) async fn end_claim(
    pool: &SqlitePool,
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
    let mut tx = begin(pool).await?;
    let ended = sqlx::query(sql)
        .bind(id)
        .bind(attempt)
        .bind(delay_us)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::database("ending an effect's claim"))?;
    commit(tx).await?;
    Ok(ended.is_some())
}

pub(crate) async fn effect(pool: &SqlitePool, id: i64) -> Result<Option<EffectRow>, StoreError> {
    let sql = format!("SELECT {EFFECT_COLUMNS} FROM hpp_effect WHERE id = ?1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("reading an effect"))
}

pub(crate) async fn effects(pool: &SqlitePool) -> Result<Vec<EffectRow>, StoreError> {
    let sql = format!("SELECT {EFFECT_COLUMNS} FROM hpp_effect ORDER BY id");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing effects"))
}

pub(crate) async fn due_for_read(
    pool: &SqlitePool,
    now_us: i64,
    limit: i64,
    schedule: &ReadSchedule,
) -> Result<Vec<DueRow>, StoreError> {
    let mut tx = begin(pool).await?;
    let rows = sqlx::query_as(
        "UPDATE hpp_session SET next_read_at_us = ?1 + ?3 \
         WHERE session_id IN (SELECT session_id FROM hpp_session \
             WHERE is_final = 0 AND expires_at_us > ?1 \
             AND (next_read_at_us IS NULL OR next_read_at_us <= ?1) \
             ORDER BY expires_at_us, session_id LIMIT ?2) \
         RETURNING session_id, expires_at_us, precedence_key, last_read_at_us",
    )
    .bind(now_us)
    .bind(limit)
    .bind(crate::time::duration_micros(schedule.lease))
    .fetch_all(&mut *tx)
    .await
    .map_err(StoreError::database("claiming sessions to read"))?;
    commit(tx).await?;
    Ok(rows)
}

pub(crate) async fn record_read(
    pool: &SqlitePool,
    session_id: &str,
    read_at_us: i64,
    schedule: &ReadSchedule,
) -> Result<bool, StoreError> {
    let mut tx = begin(pool).await?;
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
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::database("recording a read"))?;
    commit(tx).await?;
    Ok(updated.is_some())
}

pub(crate) async fn sessions(pool: &SqlitePool) -> Result<Vec<SessionRow>, StoreError> {
    sqlx::query_as(crate::rows::SESSIONS)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing sessions"))
}

pub(crate) async fn unusable_deliveries(
    pool: &SqlitePool,
) -> Result<Vec<crate::rows::UnusableRow>, StoreError> {
    sqlx::query_as(crate::rows::UNUSABLE_DELIVERIES)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing unusable deliveries"))
}

/// Records a create order call of effect `effect_id` about to be sent, if claim `claim`
/// still holds the effect's lease; the call's number, or `None` when the claim lost it.
pub(crate) async fn begin_order_attempt(
    pool: &SqlitePool,
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
    sqlx::query_scalar(sql)
        .bind(effect_id)
        .bind(claim)
        .bind(worker)
        .bind(idempotency_key)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("recording a create order call"))
}

/// Records what Klarna answered call `attempt` of effect `effect_id` (once); whether it was
/// recorded.
pub(crate) async fn answer_order_attempt(
    pool: &SqlitePool,
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
    let recorded: Option<i64> = sqlx::query_scalar(sql)
        .bind(effect_id)
        .bind(attempt)
        .bind(answer)
        .bind(order_id)
        .bind(detail)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("recording a create order answer"))?;
    Ok(recorded.is_some())
}

/// The create order calls of effect `effect_id`, or of every effect, in order.
pub(crate) async fn order_attempts(
    pool: &SqlitePool,
    effect_id: Option<i64>,
) -> Result<Vec<crate::order::AttemptRow>, StoreError> {
    let sql = concat!(
        "SELECT effect_id, attempt, claim, worker, idempotency_key, started_at_us, answer, ",
        "order_id, detail, answered_at_us FROM hpp_order_attempt ",
        "WHERE ?1 IS NULL OR effect_id = ?1 ORDER BY effect_id, attempt"
    );
    sqlx::query_as(sql)
        .bind(effect_id)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing create order calls"))
}
