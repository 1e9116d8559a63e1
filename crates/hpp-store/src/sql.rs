//! The statements both backends run, written once. Parameters are `$N` (SQLite reads them as
//! numbered parameters too). What differs is spelled by the backend's own macros, which the
//! statements invoke where they are expanded: `now!()`, the database's clock in microseconds,
//! `skip_locked!()`, what makes claims by concurrent instances skip each other's rows
//! (Postgres: `FOR UPDATE SKIP LOCKED`; SQLite has one writer at a time and needs nothing),
//! and `open!()`, a session that is not final as the backend's partial index says it.
//!
//! A backend's module says `crate::sql::shared!(sqlx::Sqlite);` (or `Postgres`) after
//! defining both macros: that defines its module `shared`, with the statements and the calls
//! that run them (binding the parameters, reading the rows), on any executor of the backend.

/// The columns every query that reads effects selects, in `EffectRow`'s order.
macro_rules! effect_columns {
    () => {
        "id, session_id, kind, status, authorization_token, order_id, klarna_reference, \
         kept_key, rejected_key, created_at_us, attempts, claimed_by, lease_until_us, \
         completed_at_us"
    };
}

pub(crate) use effect_columns;

/// Defines the module `shared` of the backend module that invokes it, for database `$db`.
macro_rules! shared {
    ($db:ty) => {
        /// The statements both backends run and the calls that run them (`crate::sql`).
        mod shared {
        use $crate::StoreError;
        use $crate::effect::{EffectColumns, EffectKind, EffectRow};
        use $crate::order::AttemptRow;
        use $crate::rows::{RegistrationRow, SessionRow, UnusableRow};

        /// How many effects are not completed, and the oldest one's `created_at_us`.
        const EFFECT_BACKLOG: &str =
            "SELECT count(*), min(created_at_us) FROM hpp_effect WHERE completed_at_us IS NULL";

        /// A write for a readiness probe (always rolled back).
        const WRITE_PROBE: &str = "INSERT INTO hpp_unusable_delivery \
            (session_id, received_at_us, reason, payload) VALUES ('', 0, 'write probe', '')";

        /// An effect, unless the session already has it (or, for one that is not a conflict,
        /// any effect that is not a conflict): `$1` session, `$2`..`$8` its columns.
        const INSERT_EFFECT: &str = concat!(
            "INSERT INTO hpp_effect (session_id, kind, status, authorization_token, order_id, ",
            "klarna_reference, kept_key, rejected_key, created_at_us) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ",
            now!(),
            ") ON CONFLICT DO NOTHING RETURNING id"
        );

        /// An unusable payload: `$1` session, `$2` reason, `$3` payload.
        const RECORD_UNUSABLE: &str = concat!(
            "INSERT INTO hpp_unusable_delivery (session_id, received_at_us, reason, payload) ",
            "VALUES ($1, ",
            now!(),
            ", $2, $3) RETURNING id"
        );

        /// A registration, unless the session has one: `$1` session, `$2` expiry (µs), `$3`
        /// callback secret. No row when it had one ([`REGISTERED`] then says which).
        const REGISTER: &str = concat!(
            "INSERT INTO hpp_session AS s (session_id, expires_at_us, callback_secret, ",
            "registered_at_us) VALUES ($1, $2, $3, ",
            now!(),
            ") ON CONFLICT (session_id) DO UPDATE SET expires_at_us = excluded.expires_at_us, ",
            "callback_secret = excluded.callback_secret, ",
            "registered_at_us = excluded.registered_at_us ",
            "WHERE s.callback_secret IS NULL RETURNING session_id"
        );

        /// The registration a session has: `$1` session.
        const REGISTERED: &str =
            "SELECT expires_at_us, callback_secret FROM hpp_session WHERE session_id = $1";

        /// The key a session holds: `$1` session.
        const PRECEDENCE_KEY: &str = "SELECT precedence_key FROM hpp_session WHERE session_id = $1";

        /// Claims effects to do: `$1` worker, `$2` how many at most, `$3` lease (µs).
        const CLAIM_EFFECTS: &str = concat!(
            "WITH due AS (SELECT id AS due_id FROM hpp_effect WHERE completed_at_us IS NULL ",
            "AND (lease_until_us IS NULL OR lease_until_us <= ",
            now!(),
            ") ORDER BY id LIMIT $2 ",
            skip_locked!(),
            ") UPDATE hpp_effect SET attempts = attempts + 1, claimed_by = $1, lease_until_us = ",
            now!(),
            " + $3 FROM due WHERE id = due.due_id RETURNING ",
            $crate::sql::effect_columns!()
        );

        /// Completes effect `$1` if claim `$2` still holds its lease.
        const COMPLETE_EFFECT: &str = concat!(
            "UPDATE hpp_effect SET completed_at_us = ",
            now!(),
            " WHERE id = $1 AND attempts = $2 AND completed_at_us IS NULL AND lease_until_us > ",
            now!(),
            " RETURNING id"
        );

        /// Releases effect `$1` if claim `$2` still holds its lease: claimable again once
        /// `$3` µs have passed (a retry's backoff).
        const RELEASE_EFFECT: &str = concat!(
            "UPDATE hpp_effect SET lease_until_us = ",
            now!(),
            " + $3 WHERE id = $1 AND attempts = $2 AND completed_at_us IS NULL ",
            "AND lease_until_us > ",
            now!(),
            " RETURNING id"
        );

        /// Effect `$1`.
        const EFFECT: &str = concat!(
            "SELECT ",
            $crate::sql::effect_columns!(),
            " FROM hpp_effect WHERE id = $1"
        );

        /// Every effect, by id.
        const EFFECTS: &str = concat!(
            "SELECT ",
            $crate::sql::effect_columns!(),
            " FROM hpp_effect ORDER BY id"
        );

        /// Claims up to `$2` open sessions due for reading at `$1` (µs), nearest expiry first,
        /// for `$3` µs.
        const DUE_FOR_READ: &str = concat!(
            "WITH due AS (SELECT session_id AS due_id FROM hpp_session WHERE ",
            open!(),
            " AND expires_at_us > $1 AND (next_read_at_us IS NULL OR next_read_at_us <= $1) ",
            "ORDER BY expires_at_us, session_id LIMIT $2 ",
            skip_locked!(),
            ") UPDATE hpp_session SET next_read_at_us = $1 + $3 FROM due ",
            "WHERE session_id = due.due_id ",
            "RETURNING session_id, expires_at_us, precedence_key, last_read_at_us"
        );

        /// Records a read of session `$1` at `$2` (µs) and schedules the next: every `$3` µs,
        /// the last `$4` µs before expiry. The schedule follows the latest read, also when an
        /// older one is recorded late.
        const RECORD_READ: &str = "UPDATE hpp_session SET \
             last_read_at_us = CASE WHEN last_read_at_us > $2 THEN last_read_at_us ELSE $2 END, \
             next_read_at_us = CASE \
                 WHEN expires_at_us IS NULL THEN NULL \
                 WHEN (CASE WHEN last_read_at_us > $2 THEN last_read_at_us ELSE $2 END) \
                      >= expires_at_us - $4 THEN expires_at_us \
                 WHEN (CASE WHEN last_read_at_us > $2 THEN last_read_at_us ELSE $2 END) + $3 \
                      < expires_at_us - $4 \
                     THEN (CASE WHEN last_read_at_us > $2 THEN last_read_at_us ELSE $2 END) + $3 \
                 ELSE expires_at_us - $4 END \
             WHERE session_id = $1 RETURNING session_id";

        /// Records create order call of effect `$1` by claim `$2` (worker `$3`, idempotency
        /// key `$4`) if the claim still holds the lease; its number.
        const BEGIN_ORDER_ATTEMPT: &str = concat!(
            "INSERT INTO hpp_order_attempt (effect_id, attempt, claim, worker, idempotency_key, ",
            "started_at_us) SELECT $1, coalesce((SELECT max(attempt) FROM hpp_order_attempt ",
            "WHERE effect_id = $1), 0) + 1, $2, $3, $4, ",
            now!(),
            " WHERE EXISTS (SELECT 1 FROM hpp_effect WHERE id = $1 AND attempts = $2 ",
            "AND completed_at_us IS NULL AND lease_until_us > ",
            now!(),
            ") RETURNING attempt"
        );

        /// Records the answer `$3` (order id `$4`, detail `$5`) to call `$2` of effect `$1`,
        /// once.
        const ANSWER_ORDER_ATTEMPT: &str = concat!(
            "UPDATE hpp_order_attempt SET answer = $3, order_id = $4, detail = $5, ",
            "answered_at_us = ",
            now!(),
            " WHERE effect_id = $1 AND attempt = $2 AND answer IS NULL RETURNING attempt"
        );

        /// The create order calls of effect `$1`, or of every effect when it is NULL.
        const ORDER_ATTEMPTS: &str = concat!(
            "SELECT effect_id, attempt, claim, worker, idempotency_key, started_at_us, answer, ",
            "order_id, detail, answered_at_us FROM hpp_order_attempt ",
            "WHERE $1 IS NULL OR effect_id = $1 ORDER BY effect_id, attempt"
        );

        /// How many effects are not completed, and the oldest one's `created_at_us`.
        pub(crate) async fn effect_backlog<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
        ) -> Result<(i64, Option<i64>), StoreError> {
            sqlx::query_as(EFFECT_BACKLOG)
                .fetch_one(exec)
                .await
                .map_err(StoreError::database("counting pending effects"))
        }

        /// The write probe of a readiness check (the caller rolls it back).
        pub(crate) async fn write_probe<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
        ) -> Result<(), StoreError> {
            sqlx::query(WRITE_PROBE)
                .execute(exec)
                .await
                .map(drop)
                .map_err(StoreError::database("writing (a probe, rolled back)"))
        }

        /// Inserts an effect unless the session already has it (or, for one that is not a
        /// conflict, any effect that is not a conflict); whether it was inserted.
        pub(crate) async fn insert_effect<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
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
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("recording an effect"))?;
            Ok(inserted.is_some())
        }

        /// Records an unusable payload; its id.
        pub(crate) async fn record_unusable<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            session_id: &str,
            reason: &str,
            payload: &str,
        ) -> Result<i64, StoreError> {
            sqlx::query_scalar(RECORD_UNUSABLE)
                .bind(session_id)
                .bind(reason)
                .bind(payload)
                .fetch_one(exec)
                .await
                .map_err(StoreError::database("recording an unusable delivery"))
        }

        /// Registers a session unless it has a registration; whether it was registered.
        pub(crate) async fn register<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            session_id: &str,
            expires_at_us: i64,
            callback_secret: &str,
        ) -> Result<bool, StoreError> {
            sqlx::query(REGISTER)
                .bind(session_id)
                .bind(expires_at_us)
                .bind(callback_secret)
                .fetch_optional(exec)
                .await
                .map(|row| row.is_some())
                .map_err(StoreError::database("registering a session"))
        }

        /// The expiry and callback secret a session is registered with.
        pub(crate) async fn registered<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            session_id: &str,
        ) -> Result<(Option<i64>, Option<String>), StoreError> {
            sqlx::query_as(REGISTERED)
                .bind(session_id)
                .fetch_one(exec)
                .await
                .map_err(StoreError::database("reading a registration"))
        }

        /// A session's callback secret, expiry and precedence key, if it was registered.
        pub(crate) async fn registration<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            session_id: &str,
        ) -> Result<Option<RegistrationRow>, StoreError> {
            sqlx::query_as($crate::rows::REGISTRATION)
                .bind(session_id)
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("reading a registration"))
        }

        /// The key a session holds: `None` for an unknown session.
        pub(crate) async fn precedence_key<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            session_id: &str,
        ) -> Result<Option<Option<Vec<u8>>>, StoreError> {
            sqlx::query_scalar(PRECEDENCE_KEY)
                .bind(session_id)
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("reading a session"))
        }

        /// Claims up to `limit` effects for `worker` until `lease_us` from now.
        pub(crate) async fn claim_effects<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            worker: &str,
            limit: i64,
            lease_us: i64,
        ) -> Result<Vec<EffectRow>, StoreError> {
            sqlx::query_as(CLAIM_EFFECTS)
                .bind(worker)
                .bind(limit)
                .bind(lease_us)
                .fetch_all(exec)
                .await
                .map_err(StoreError::database("claiming effects"))
        }

        /// Ends the claim `attempt` of effect `id` while it holds the lease: completes the
        /// effect, or (`complete` false) releases it for another claim after `delay_us`.
        /// Whether the claim held it.
        pub(crate) async fn end_claim<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            id: i64,
            attempt: i64,
            complete: bool,
            delay_us: i64,
        ) -> Result<bool, StoreError> {
            let sql = if complete { COMPLETE_EFFECT } else { RELEASE_EFFECT };
            let ended = sqlx::query(sql)
                .bind(id)
                .bind(attempt)
                .bind(delay_us)
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("ending an effect's claim"))?;
            Ok(ended.is_some())
        }

        /// Effect `id`.
        pub(crate) async fn effect<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            id: i64,
        ) -> Result<Option<EffectRow>, StoreError> {
            sqlx::query_as(EFFECT)
                .bind(id)
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("reading an effect"))
        }

        /// Every effect, by id.
        pub(crate) async fn effects<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
        ) -> Result<Vec<EffectRow>, StoreError> {
            sqlx::query_as(EFFECTS)
                .fetch_all(exec)
                .await
                .map_err(StoreError::database("listing effects"))
        }

        /// Claims up to `limit` open sessions due for reading at `now_us`, for the lease.
        pub(crate) async fn due_for_read<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            now_us: i64,
            limit: i64,
            schedule: &$crate::ReadSchedule,
        ) -> Result<Vec<$crate::rows::DueRow>, StoreError> {
            sqlx::query_as(DUE_FOR_READ)
                .bind(now_us)
                .bind(limit)
                .bind($crate::time::duration_micros(schedule.lease))
                .fetch_all(exec)
                .await
                .map_err(StoreError::database("claiming sessions to read"))
        }

        /// Records a read at `read_at_us` and schedules the next; whether the session is known.
        pub(crate) async fn record_read<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            session_id: &str,
            read_at_us: i64,
            schedule: &$crate::ReadSchedule,
        ) -> Result<bool, StoreError> {
            let updated = sqlx::query(RECORD_READ)
                .bind(session_id)
                .bind(read_at_us)
                .bind($crate::time::duration_micros(schedule.interval))
                .bind($crate::time::duration_micros(schedule.margin))
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("recording a read"))?;
            Ok(updated.is_some())
        }

        /// Every session, by id.
        pub(crate) async fn sessions<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
        ) -> Result<Vec<SessionRow>, StoreError> {
            sqlx::query_as($crate::rows::SESSIONS)
                .fetch_all(exec)
                .await
                .map_err(StoreError::database("listing sessions"))
        }

        /// Every unusable delivery, by id.
        pub(crate) async fn unusable_deliveries<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
        ) -> Result<Vec<UnusableRow>, StoreError> {
            sqlx::query_as($crate::rows::UNUSABLE_DELIVERIES)
                .fetch_all(exec)
                .await
                .map_err(StoreError::database("listing unusable deliveries"))
        }

        /// Records a create order call of effect `effect_id` about to be sent, if claim
        /// `claim` still holds the effect's lease; the call's number, or `None`.
        pub(crate) async fn begin_order_attempt<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            effect_id: i64,
            claim: i64,
            worker: &str,
            idempotency_key: &str,
        ) -> Result<Option<i64>, StoreError> {
            sqlx::query_scalar(BEGIN_ORDER_ATTEMPT)
                .bind(effect_id)
                .bind(claim)
                .bind(worker)
                .bind(idempotency_key)
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("recording a create order call"))
        }

        /// Records what Klarna answered call `attempt` of effect `effect_id` (once); whether
        /// it was recorded.
        pub(crate) async fn answer_order_attempt<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            effect_id: i64,
            attempt: i64,
            answer: &str,
            order_id: Option<&str>,
            detail: Option<&str>,
        ) -> Result<bool, StoreError> {
            let recorded: Option<i64> = sqlx::query_scalar(ANSWER_ORDER_ATTEMPT)
                .bind(effect_id)
                .bind(attempt)
                .bind(answer)
                .bind(order_id)
                .bind(detail)
                .fetch_optional(exec)
                .await
                .map_err(StoreError::database("recording a create order answer"))?;
            Ok(recorded.is_some())
        }

        /// The create order calls of effect `effect_id`, or of every effect, in order.
        pub(crate) async fn order_attempts<'e>(
            exec: impl sqlx::Executor<'e, Database = $db>,
            effect_id: Option<i64>,
        ) -> Result<Vec<AttemptRow>, StoreError> {
            sqlx::query_as(ORDER_ATTEMPTS)
                .bind(effect_id)
                .fetch_all(exec)
                .await
                .map_err(StoreError::database("listing create order calls"))
        }
        }
    };
}

pub(crate) use shared;
