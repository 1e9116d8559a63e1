//! The Postgres backend (feature `postgres`), for several instances on one database.
//!
//! The merge is one statement, run in autocommit under READ COMMITTED: an `UPDATE` of the
//! session's row that always matches and keeps the greater precedence key, writing the key it
//! found into `held_before` (a session's first delivery, when it has no row, is an `INSERT`).
//! An `UPDATE` that finds its row changed by a concurrent transaction waits for it, then
//! re-evaluates its `SET` against the row's latest committed version (not the statement's
//! snapshot), so concurrent merges of one session serialize on the row lock, and
//! `held_before` is exactly the version each delivery was compared against, refused
//! deliveries included.
//!
//! For a final delivery the `UPDATE` (or `INSERT`) is a data-modifying CTE feeding the
//! `INSERT` of the session's effect, whose columns Rust worked out
//! (`EffectKind::on_final`) and binds as parameters; the `INSERT` takes the row the merge
//! returned, so it sees the version after the merge, and inserts when the row now holds the
//! delivery's key and held no final key before it (whole keys compared with
//! `PrecedenceKey::MIN_FINAL`). No crash can separate "became final" from "the order is
//! recorded", and no rule is written in SQL. Non-final deliveries, which never record an
//! effect, run the plain `UPDATE`.
//!
//! Conflicts are recorded by a second statement after the tracker classified the delivery;
//! a retry of the delivery records them if this process dies in between, as the retry meets
//! the same held key. The exception is a final that would replace the final held (an
//! earlier one): the retry would find the new key held and see a duplicate, so the final
//! statement never replaces a held final; such a delivery is merged again, by the plain
//! `UPDATE`, in a transaction that records its conflict before it commits
//! (`replace_final`).

use std::str::FromStr as _;

use hpp_status::PrecedenceKey;
use sqlx::postgres::{PgConnectOptions, PgExecutor, PgPool, PgPoolOptions};

use crate::effect::{EffectColumns, EffectKind};
use crate::merge::{self, Delivery, Settled};
use crate::{ReadSchedule, StoreError, StoreOptions};

/// The database's clock, in microseconds since the Unix epoch.
macro_rules! now {
    () => {
        "(extract(epoch FROM statement_timestamp()) * 1000000)::bigint"
    };
}

/// Instances claiming at once skip each other's rows instead of waiting for them.
macro_rules! skip_locked {
    () => {
        "FOR UPDATE SKIP LOCKED"
    };
}

/// A session that is not final, as the partial index `hpp_session_open_by_expiry` says it.
macro_rules! open {
    () => {
        "NOT is_final"
    };
}

crate::sql::shared!(sqlx::Postgres);

pub(crate) use shared::{
    answer_order_attempt, begin_order_attempt, claim_effects, due_for_read, effect, effect_backlog,
    effects, end_claim, order_attempts, precedence_key, record_read, registration, sessions,
    unusable_deliveries,
};

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
    shared::write_probe(&mut *tx).await?;
    tx.rollback()
        .await
        .map_err(StoreError::database("rolling back the write probe"))
}

/// The merge of a delivery into its session's existing row, `$replaces` being the condition
/// under which the delivery's key (`$2`) replaces the one held: `$1` session id, `$2` the
/// delivery's precedence key, `$3` its status, `$4` whether it is final, `$5` the payload's
/// `expires_at` (µs). Returns `held_before` (the version the delivery was merged with) and
/// the key now held; no row when the session has no row yet.
///
/// The row is always updated, also when the delivery does not win: that is what makes
/// `held_before` the version it was compared against (a `WHERE $2 > precedence_key` would
/// leave a refused delivery nothing but the statement's older snapshot to be classified
/// against). See `docs/SPEC.md`, "Running several instances".
macro_rules! update_session {
    ($replaces:literal) => {
        concat!(
            "UPDATE hpp_session AS s SET
    held_before = s.precedence_key,
    precedence_key = CASE WHEN ",
            $replaces,
            " THEN $2 ELSE s.precedence_key END,
    status = CASE WHEN ",
            $replaces,
            " THEN $3 ELSE s.status END,
    is_final = s.is_final OR $4,
    expires_at_us = coalesce(s.expires_at_us, $5)
WHERE s.session_id = $1
RETURNING s.held_before, s.precedence_key"
        )
    };
}

/// The first delivery of a session that has no row (not registered), with the parameters of
/// [`update_session!`]; no row when another instance inserted it first (then the update
/// again).
macro_rules! insert_session {
    () => {
        "INSERT INTO hpp_session (session_id, precedence_key, status, is_final, expires_at_us)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (session_id) DO NOTHING
RETURNING held_before, precedence_key"
    };
}

/// `$merge` (a row merge that returns `held_before, precedence_key`) feeding the `INSERT` of
/// the effect of a final delivery when it made the session final: when the row now holds the
/// delivery's key and held no final key before it (`$6` is [`PrecedenceKey::MIN_FINAL`]).
/// `$7`..`$11` are the effect's columns, worked out in Rust (`EffectKind::on_final`): kind,
/// status, authorization token, order id, Klarna reference. Returns `held_before`, the key
/// now held, and whether the effect was inserted.
macro_rules! with_final_effect {
    ($merge:expr) => {
        concat!(
            "WITH merged AS (",
            $merge,
            "),
effect AS (
    INSERT INTO hpp_effect (session_id, kind, status, authorization_token, order_id,
                            klarna_reference, created_at_us)
    SELECT $1, $7, $8, $9, $10, $11, ",
            now!(),
            " FROM merged
    WHERE merged.precedence_key = $2 AND (merged.held_before IS NULL OR merged.held_before < $6)
    ON CONFLICT DO NOTHING
    RETURNING id)
SELECT merged.held_before, merged.precedence_key, EXISTS (SELECT FROM effect) FROM merged"
        )
    };
}

/// The merge of a delivery that is not final into an existing row (it records no effect),
/// and the merge of a final into a row that holds a final, inside [`replace_final`]'s
/// transaction.
const MERGE: &str = concat!(
    update_session!("(s.precedence_key IS NULL OR $2 > s.precedence_key)"),
    ", false"
);

/// The first delivery of a session that is not final.
const MERGE_NEW: &str = concat!(insert_session!(), ", false");

/// The merge of a final delivery into an existing row, and the session's effect when it
/// makes the session final, in one statement. A final held (`$6` and above) is never
/// replaced here: the row keeps it and [`observe`] goes to [`replace_final`].
const MERGE_FINAL: &str = with_final_effect!(update_session!(
    "(s.precedence_key IS NULL OR ($2 > s.precedence_key AND s.precedence_key < $6))"
));

/// The first delivery of a session, final, and its effect, in one statement.
const MERGE_NEW_FINAL: &str = with_final_effect!(insert_session!());

/// How often a delivery goes round [`MERGE`] and [`MERGE_NEW`] when its session's row is
/// inserted by another instance in between (each round trip after that finds the row, so
/// one more is enough; the rest is a margin).
const INSERT_RACE_RETRIES: usize = 3;

/// What a merge statement returns: `held_before`, the key now held, and whether the statement
/// recorded the session's effect.
type Merged = (Option<Vec<u8>>, Vec<u8>, bool);

/// Runs one of the merge statements for `delivery`; `on_final` is the effect of a final
/// delivery (the statements with an effect take its parameters, the others not).
async fn merge_row<'e>(
    executor: impl PgExecutor<'e>,
    statement: &'static str,
    delivery: &Delivery,
    on_final: Option<&EffectColumns>,
) -> Result<Option<Merged>, StoreError> {
    let query = sqlx::query_as(statement)
        .bind(&delivery.session_id)
        .bind(delivery.key.as_bytes())
        .bind(delivery.seen.status.as_str())
        .bind(delivery.seen.status.is_final())
        .bind(delivery.expires_at_us);
    let query = match on_final {
        Some(effect) => query
            .bind(PrecedenceKey::MIN_FINAL.as_bytes())
            .bind(effect.kind)
            .bind(effect.status)
            .bind(&effect.authorization_token)
            .bind(&effect.order_id)
            .bind(&effect.klarna_reference),
        None => query,
    };
    query
        .fetch_optional(executor)
        .await
        .map_err(StoreError::database("merging a delivery"))
}

/// The merge statement (and, for a session's first delivery, the insert), which records the
/// session's effect when the delivery makes it final; then, in the rare case of a conflict
/// that does not change which final is held, a second statement records it (a retry of the
/// delivery records it if this process dies in between). A final that would replace the
/// final held is merged again by [`replace_final`].
pub(crate) async fn observe(pool: &PgPool, delivery: Delivery) -> Result<Settled, StoreError> {
    let delivery = &delivery;
    let on_final = delivery.on_final.as_ref().map(EffectKind::columns);
    let statements = match on_final {
        Some(_) => [MERGE_FINAL, MERGE_NEW_FINAL],
        None => [MERGE, MERGE_NEW],
    };
    let mut rounds = 0;
    let (held_before, held_now, recorded) = 'merged: loop {
        for statement in statements {
            if let Some(row) = merge_row(pool, statement, delivery, on_final.as_ref()).await? {
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
    if held_now.as_slice() >= PrecedenceKey::MIN_FINAL.as_bytes()
        && delivery.key.as_bytes() > held_now.as_slice()
    {
        // MERGE_FINAL kept the final held, which the delivery would replace.
        return replace_final(pool, delivery).await;
    }
    let settled = merge::settle(delivery, held_before.as_deref(), &held_now)?;
    let mut effects = settled.effects.iter();
    if settled.first_in_statement {
        // The statement recorded the session's effect, unless the session already had one.
        if let Some(first) = effects.next()
            && !recorded
        {
            merge::warn_not_recorded(&delivery.session_id, first);
        }
    } else if recorded {
        return Err(StoreError::Corrupt {
            session_id: delivery.session_id.clone(),
            detail: format!(
                "the merge recorded an effect for {}, which the tracker says did not make the session final",
                delivery.seen
            ),
        });
    }
    // The other conflicts.
    for effect in effects {
        if !shared::insert_effect(pool, &delivery.session_id, effect).await? {
            merge::warn_not_recorded(&delivery.session_id, effect);
        }
    }
    Ok(settled)
}

/// A final delivery that would replace the final the row holds (an earlier final: the same
/// one at an earlier time, or a different one, a conflict that changes which final is held):
/// merged again in a transaction that also records what the tracker says it means, so that
/// no crash can separate the change of the key from its conflict (a retry would find the new
/// key held and see a duplicate). The transaction holds the row lock from the merge to the
/// commit; `held_before` is, as in every merge, the version the delivery was compared
/// against, and since it is final, the session's first effect is not this delivery's.
async fn replace_final(pool: &PgPool, delivery: &Delivery) -> Result<Settled, StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(StoreError::database("starting a transaction"))?;
    let (held_before, held_now, _) = merge_row(&mut *tx, MERGE, delivery, None)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            session_id: delivery.session_id.clone(),
            detail: "the row of a final session is gone".into(),
        })?;
    let settled = merge::settle(delivery, held_before.as_deref(), &held_now)?;
    for effect in &settled.effects {
        if !shared::insert_effect(&mut *tx, &delivery.session_id, effect).await? {
            merge::warn_not_recorded(&delivery.session_id, effect);
        }
    }
    tx.commit()
        .await
        .map_err(StoreError::database("committing a change of final"))?;
    Ok(settled)
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
    let id = shared::record_unusable(pool, session_id, reason, payload).await?;
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
    if shared::register(pool, session_id, expires_at_us, callback_secret).await? {
        return Ok(None);
    }
    // Refused: the row has a registration, which never changes once set, so this later
    // read sees the one that refused it.
    shared::registered(pool, session_id).await.map(Some)
}
