//! The Postgres backend (feature `postgres`), for several instances on one database.
//!
//! The merge is one statement, run in autocommit under READ COMMITTED: an `UPDATE` of the
//! session's row that always matches and keeps the greater precedence key, writing the key it
//! found into `held_before` (a session's first delivery, when it has no row, is an `INSERT`).
//! An `UPDATE` that finds its row changed by a concurrent transaction waits for it, then
//! re-evaluates its `SET` against the row's latest committed version (not the statement's
//! snapshot), so concurrent merges of one session serialize on the row lock, and
//! `held_before` is exactly the version each delivery was compared against, refused
//! deliveries included. The session's first effect is inserted by a trigger of the same
//! statement, so no crash can separate "became final" from "the order is recorded".

use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::effect::{EFFECT_COLUMNS, EffectColumns, EffectKind, EffectRow};
use crate::merge::{self, Delivery, Settled};
use crate::rows::{DueRow, SessionRow};
use crate::{ReadSchedule, StoreError, StoreOptions};

/// The database's clock, in microseconds since the Unix epoch.
macro_rules! now {
    () => {
        "(extract(epoch FROM statement_timestamp()) * 1000000)::bigint"
    };
}

pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<PgPool, StoreError> {
    let connect = PgConnectOptions::from_str(url)
        .map_err(StoreError::database("reading the Postgres URL"))?;
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .connect_with(connect)
        .await
        .map_err(StoreError::database("connecting to Postgres"))
}

pub(crate) async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations/postgres").run(pool).await?;
    Ok(())
}

/// Whether the store's tables are there (in the connection's search path).
pub(crate) async fn has_tables(pool: &PgPool) -> Result<bool, StoreError> {
    sqlx::query_scalar::<_, bool>("SELECT to_regclass('hpp_session') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(StoreError::database("looking for the store's tables"))
}

/// A write, rolled back.
pub(crate) async fn check_writable(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(StoreError::database("starting a transaction"))?;
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
pub(crate) async fn effect_backlog(pool: &PgPool) -> Result<(i64, Option<i64>), StoreError> {
    sqlx::query_as(
        "SELECT count(*), min(created_at_us) FROM hpp_effect WHERE completed_at_us IS NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(StoreError::database("counting pending effects"))
}

/// The merge of a delivery into an existing row: one statement. `$1` session id, `$2` the
/// delivery's precedence key, `$3` its status, `$4` whether it is final, `$5` the
/// payload's `expires_at` (µs), `$6`..`$8` its authorization token, order id and Klarna
/// reference. Returns `held_before` (the version the delivery was merged with) and the key
/// now held; no row when the session has no row yet ([`MERGE_NEW`]). The trigger
/// `hpp_session_final_effect` records the effect inside the statement.
///
/// The row is always updated, also when the delivery does not win: that is what makes
/// `held_before` the version it was compared against (a `WHERE $2 > precedence_key` would
/// leave a refused delivery nothing but the statement's older snapshot to be classified
/// against). See `docs/SPEC.md`, "Running several instances".
pub(crate) const MERGE: &str = "\
UPDATE hpp_session AS s SET
    held_before = s.precedence_key,
    precedence_key = CASE WHEN s.precedence_key IS NULL OR $2 > s.precedence_key
                          THEN $2 ELSE s.precedence_key END,
    status = CASE WHEN s.precedence_key IS NULL OR $2 > s.precedence_key
                  THEN $3 ELSE s.status END,
    is_final = s.is_final OR $4,
    authorization_token = CASE WHEN s.precedence_key IS NULL OR $2 > s.precedence_key
                               THEN $6 ELSE s.authorization_token END,
    order_id = CASE WHEN s.precedence_key IS NULL OR $2 > s.precedence_key
                    THEN $7 ELSE s.order_id END,
    klarna_reference = CASE WHEN s.precedence_key IS NULL OR $2 > s.precedence_key
                            THEN $8 ELSE s.klarna_reference END,
    expires_at_us = coalesce(s.expires_at_us, $5)
WHERE s.session_id = $1
RETURNING s.held_before, s.precedence_key";

/// The first delivery of a session that has no row (not registered): the same parameters as
/// [`MERGE`]; no row when another instance inserted it first (then [`MERGE`] again). The
/// trigger `hpp_session_first_final_effect` records the effect of a final.
pub(crate) const MERGE_NEW: &str = "\
INSERT INTO hpp_session (session_id, precedence_key, status, is_final, expires_at_us,
                         authorization_token, order_id, klarna_reference)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (session_id) DO NOTHING
RETURNING held_before, precedence_key";

/// How often a delivery goes round [`MERGE`] and [`MERGE_NEW`] when its session's row is
/// inserted by another instance in between (each round trip after that finds the row, so
/// one more is enough; the rest is a margin).
const INSERT_RACE_RETRIES: usize = 3;

const INSERT_EFFECT: &str = concat!(
    "INSERT INTO hpp_effect (session_id, kind, status, authorization_token, order_id, ",
    "klarna_reference, kept_key, rejected_key, created_at_us) ",
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ",
    now!(),
    ") ON CONFLICT DO NOTHING RETURNING id"
);

/// The merge statement (and, for a session's first delivery, the insert); then, in the rare
/// case of a conflict that does not change which final is held, a second statement records
/// it (a retry of the delivery records it if this process dies in between).
pub(crate) async fn observe(pool: &PgPool, delivery: Delivery) -> Result<Settled, StoreError> {
    let delivery = &delivery;
    let (authorization_token, order_id, klarna_reference) = delivery.references();
    let mut rounds = 0;
    let (held_before, held_now): (Option<Vec<u8>>, Vec<u8>) = 'merged: loop {
        for statement in [MERGE, MERGE_NEW] {
            let row = sqlx::query_as(statement)
                .bind(&delivery.session_id)
                .bind(delivery.key.as_bytes())
                .bind(delivery.seen.status.as_str())
                .bind(delivery.seen.status.is_final())
                .bind(delivery.expires_at_us)
                .bind(&authorization_token)
                .bind(&order_id)
                .bind(&klarna_reference)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::database("merging a delivery"))?;
            if let Some(row) = row {
                break 'merged row;
            }
        }
        // Another instance inserted the row between the two statements: merge into it.
        rounds += 1;
        tracing::debug!(
            session_id = %delivery.session_id,
            rounds,
            "lost the race to insert the session"
        );
        if rounds > INSERT_RACE_RETRIES {
            return Err(StoreError::Corrupt {
                session_id: delivery.session_id.clone(),
                detail: format!(
                    "the merge neither found nor inserted the row, {rounds} times (is it being deleted?)"
                ),
            });
        }
    };
    let settled = merge::settle(delivery, held_before.as_deref(), &held_now)?;
    // The trigger recorded the first effect; the other conflicts are recorded here.
    let skip = usize::from(settled.first_in_statement);
    for effect in settled.effects.iter().skip(skip) {
        if !insert_effect(pool, &delivery.session_id, effect).await? {
            merge::warn_not_recorded(&delivery.session_id, effect);
        }
    }
    Ok(settled)
}

async fn insert_effect(
    pool: &PgPool,
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
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("recording an effect"))?;
    Ok(inserted.is_some())
}

/// The merge of a read, then the read's bookkeeping: two statements (a crash in between
/// leaves the read unrecorded, and the session is read again: nothing is lost).
pub(crate) async fn observe_read(
    pool: &PgPool,
    delivery: Delivery,
    read_at_us: i64,
    schedule: &ReadSchedule,
) -> Result<Settled, StoreError> {
    let session_id = delivery.session_id.clone();
    let settled = observe(pool, delivery).await?;
    record_read(pool, &session_id, read_at_us, schedule).await?;
    Ok(settled)
}

/// Records an unusable payload, and, for a read (`read`: when and the schedule), the read.
pub(crate) async fn record_unusable(
    pool: &PgPool,
    session_id: &str,
    reason: &str,
    payload: &str,
    read: Option<(i64, ReadSchedule)>,
) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(concat!(
        "INSERT INTO hpp_unusable_delivery (session_id, received_at_us, reason, payload) ",
        "VALUES ($1, ",
        now!(),
        ", $2, $3) RETURNING id"
    ))
    .bind(session_id)
    .bind(reason)
    .bind(payload)
    .fetch_one(pool)
    .await
    .map_err(StoreError::database("recording an unusable delivery"))?;
    if let Some((read_at_us, schedule)) = read {
        record_read(pool, session_id, read_at_us, &schedule).await?;
    }
    Ok(id)
}

pub(crate) async fn register(
    pool: &PgPool,
    session_id: &str,
    expires_at_us: i64,
    callback_secret: &str,
) -> Result<Option<(Option<i64>, Option<String>)>, StoreError> {
    let registered = sqlx::query(concat!(
        "INSERT INTO hpp_session AS s (session_id, expires_at_us, callback_secret, registered_at_us) ",
        "VALUES ($1, $2, $3, ",
        now!(),
        ") ON CONFLICT (session_id) DO UPDATE SET expires_at_us = excluded.expires_at_us, ",
        "callback_secret = excluded.callback_secret, registered_at_us = excluded.registered_at_us ",
        "WHERE s.callback_secret IS NULL RETURNING session_id"
    ))
    .bind(session_id)
    .bind(expires_at_us)
    .bind(callback_secret)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::database("registering a session"))?;
    if registered.is_some() {
        return Ok(None);
    }
    // Refused: the row has a registration, which never changes once set, so this later
    // read sees the one that refused it.
    sqlx::query_as("SELECT expires_at_us, callback_secret FROM hpp_session WHERE session_id = $1")
        .bind(session_id)
        .fetch_one(pool)
        .await
        .map(Some)
        .map_err(StoreError::database("reading a registration"))
}

/// A session's callback secret, expiry and precedence key, if it was registered.
pub(crate) async fn registration(
    pool: &PgPool,
    session_id: &str,
) -> Result<Option<crate::rows::RegistrationRow>, StoreError> {
    sqlx::query_as(crate::rows::REGISTRATION)
        .bind(session_id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("reading a registration"))
}

pub(crate) async fn precedence_key(
    pool: &PgPool,
    session_id: &str,
) -> Result<Option<Option<Vec<u8>>>, StoreError> {
    sqlx::query_scalar("SELECT precedence_key FROM hpp_session WHERE session_id = $1")
        .bind(session_id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("reading a session"))
}

pub(crate) async fn claim_effects(
    pool: &PgPool,
    worker: &str,
    limit: i64,
    lease_us: i64,
) -> Result<Vec<EffectRow>, StoreError> {
    let sql = format!(
        "WITH due AS (SELECT id AS due_id FROM hpp_effect WHERE completed_at_us IS NULL \
             AND (lease_until_us IS NULL OR lease_until_us <= {now}) \
             ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE hpp_effect SET attempts = attempts + 1, claimed_by = $1, \
             lease_until_us = {now} + $3 \
         FROM due WHERE id = due.due_id RETURNING {EFFECT_COLUMNS}",
        now = now!()
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(worker)
        .bind(limit)
        .bind(lease_us)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("claiming effects"))
}

pub(crate) async fn end_claim(
    pool: &PgPool,
    id: i64,
    attempt: i64,
    complete: bool,
    delay_us: i64,
) -> Result<bool, StoreError> {
    let sql = if complete {
        concat!(
            "UPDATE hpp_effect SET completed_at_us = ",
            now!(),
            " WHERE id = $1 AND attempts = $2 AND completed_at_us IS NULL AND lease_until_us > ",
            now!(),
            " RETURNING id"
        )
    } else {
        // Released: claimable again once the delay has passed (a retry's backoff).
        concat!(
            "UPDATE hpp_effect SET lease_until_us = ",
            now!(),
            " + $3 WHERE id = $1 AND attempts = $2 AND completed_at_us IS NULL AND lease_until_us > ",
            now!(),
            " RETURNING id"
        )
    };
    let ended = sqlx::query(sql)
        .bind(id)
        .bind(attempt)
        .bind(delay_us)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("ending an effect's claim"))?;
    Ok(ended.is_some())
}

pub(crate) async fn effect(pool: &PgPool, id: i64) -> Result<Option<EffectRow>, StoreError> {
    let sql = format!("SELECT {EFFECT_COLUMNS} FROM hpp_effect WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::database("reading an effect"))
}

pub(crate) async fn effects(pool: &PgPool) -> Result<Vec<EffectRow>, StoreError> {
    let sql = format!("SELECT {EFFECT_COLUMNS} FROM hpp_effect ORDER BY id");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing effects"))
}

pub(crate) async fn due_for_read(
    pool: &PgPool,
    now_us: i64,
    limit: i64,
    schedule: &ReadSchedule,
) -> Result<Vec<DueRow>, StoreError> {
    sqlx::query_as(
        "WITH due AS (SELECT session_id AS due_id FROM hpp_session \
             WHERE NOT is_final AND expires_at_us > $1 \
             AND (next_read_at_us IS NULL OR next_read_at_us <= $1) \
             ORDER BY expires_at_us, session_id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE hpp_session SET next_read_at_us = $1 + $3 FROM due \
         WHERE session_id = due.due_id \
         RETURNING session_id, expires_at_us, precedence_key, last_read_at_us",
    )
    .bind(now_us)
    .bind(limit)
    .bind(crate::time::duration_micros(schedule.lease))
    .fetch_all(pool)
    .await
    .map_err(StoreError::database("claiming sessions to read"))
}

pub(crate) async fn record_read(
    pool: &PgPool,
    session_id: &str,
    read_at_us: i64,
    schedule: &ReadSchedule,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        // The schedule follows the latest read, also when an older one is recorded late.
        "UPDATE hpp_session SET \
             last_read_at_us = greatest(last_read_at_us, $2), \
             next_read_at_us = CASE \
                 WHEN expires_at_us IS NULL THEN NULL \
                 WHEN greatest(last_read_at_us, $2) < expires_at_us - $4 \
                     THEN least(greatest(last_read_at_us, $2) + $3, expires_at_us - $4) \
                 ELSE expires_at_us END \
         WHERE session_id = $1 RETURNING session_id",
    )
    .bind(session_id)
    .bind(read_at_us)
    .bind(crate::time::duration_micros(schedule.interval))
    .bind(crate::time::duration_micros(schedule.margin))
    .fetch_optional(pool)
    .await
    .map_err(StoreError::database("recording a read"))?;
    Ok(updated.is_some())
}

pub(crate) async fn sessions(pool: &PgPool) -> Result<Vec<SessionRow>, StoreError> {
    sqlx::query_as(crate::rows::SESSIONS)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing sessions"))
}

pub(crate) async fn unusable_deliveries(
    pool: &PgPool,
) -> Result<Vec<crate::rows::UnusableRow>, StoreError> {
    sqlx::query_as(crate::rows::UNUSABLE_DELIVERIES)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing unusable deliveries"))
}

/// Records a create order call of effect `effect_id` about to be sent, if claim `claim`
/// still holds the effect's lease; the call's number, or `None` when the claim lost it.
pub(crate) async fn begin_order_attempt(
    pool: &PgPool,
    effect_id: i64,
    claim: i64,
    worker: &str,
    idempotency_key: &str,
) -> Result<Option<i64>, StoreError> {
    let sql = concat!(
        "INSERT INTO hpp_order_attempt (effect_id, attempt, claim, worker, idempotency_key, started_at_us) ",
        "SELECT $1, coalesce((SELECT max(attempt) FROM hpp_order_attempt WHERE effect_id = $1), 0) + 1, ",
        "$2, $3, $4, ",
        now!(),
        " WHERE EXISTS (SELECT 1 FROM hpp_effect WHERE id = $1 AND attempts = $2 ",
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
    pool: &PgPool,
    effect_id: i64,
    attempt: i64,
    answer: &str,
    order_id: Option<&str>,
    detail: Option<&str>,
) -> Result<bool, StoreError> {
    let sql = concat!(
        "UPDATE hpp_order_attempt SET answer = $3, order_id = $4, detail = $5, answered_at_us = ",
        now!(),
        " WHERE effect_id = $1 AND attempt = $2 AND answer IS NULL RETURNING attempt"
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
    pool: &PgPool,
    effect_id: Option<i64>,
) -> Result<Vec<crate::order::AttemptRow>, StoreError> {
    let sql = concat!(
        "SELECT effect_id, attempt, claim, worker, idempotency_key, started_at_us, answer, ",
        "order_id, detail, answered_at_us FROM hpp_order_attempt ",
        "WHERE $1 IS NULL OR effect_id = $1 ORDER BY effect_id, attempt"
    );
    sqlx::query_as(sql)
        .bind(effect_id)
        .fetch_all(pool)
        .await
        .map_err(StoreError::database("listing create order calls"))
}
