//! [`StoreError`]: what went wrong, with the session or effect it concerns.

use hpp_status::PrecedenceKeyError;

/// Why a [`Store`](crate::Store) call failed.
///
/// ```
/// use hpp_store::StoreError;
///
/// let error = StoreError::UnsupportedUrl("mysql://db".into());
/// assert_eq!(
///     error.to_string(),
///     "unsupported database URL \"mysql://db\": use sqlite::memory:, sqlite://PATH?mode=rwc \
///      or (with feature `postgres`) postgres://..."
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no database this build supports.
    #[error(
        "unsupported database URL {0:?}: use sqlite::memory:, sqlite://PATH?mode=rwc or \
         (with feature `postgres`) postgres://..."
    )]
    UnsupportedUrl(String),
    /// The database has none of the store's tables, and the store was not allowed to
    /// create them ([`StoreOptions::create`](crate::StoreOptions::create) is `false`).
    #[error(
        "the {backend} database has none of the store's tables: it is new, emptied, or not \
         the one meant; create the tables on purpose (StoreOptions::create) only for a new \
         database"
    )]
    NotInitialized {
        /// `"sqlite"` or `"postgres"`.
        backend: &'static str,
    },
    /// The database refused or failed an operation.
    #[error("{operation}: {source}")]
    Database {
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A SQLite write failed with the batch of writes committed together with it (the
    /// transaction could not start or commit: a full disk, an I/O error, the database
    /// locked by another process past the busy timeout). None of the batch is stored; the
    /// store's writer works again as soon as the cause is gone.
    #[error("{operation} (a batch of {writes} writes, none of them stored): {source}")]
    WriteBatch {
        /// What the writer was doing.
        operation: &'static str,
        /// How many writes the batch held.
        writes: usize,
        /// The driver's error, shared by the batch's writes.
        source: std::sync::Arc<sqlx::Error>,
    },
    /// Applying the schema failed.
    #[error("applying the store's migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A delivery the tracker cannot use (an unrecognized status, a missing field, another
    /// session's payload). It was recorded whole as an unusable delivery; nothing was merged.
    #[error(
        "the delivery for session {session_id} cannot be used ({reason}); \
         it is kept as unusable delivery #{delivery_id}"
    )]
    Unusable {
        /// The session the delivery was for.
        session_id: String,
        /// Why it cannot be used.
        reason: String,
        /// Its id among [`Store::unusable_deliveries`](crate::Store::unusable_deliveries).
        delivery_id: i64,
    },
    /// [`Store::register`](crate::Store::register) was called again for a session with
    /// other data than the first time.
    #[error(
        "session {session_id} is already registered with other data (expires_at {registered_expires_at}); \
         a registration cannot change"
    )]
    RegistrationMismatch {
        /// The session.
        session_id: String,
        /// The `expires_at` it was registered with.
        registered_expires_at: String,
    },
    /// The session is not in the store.
    #[error("session {0} is not in the store")]
    UnknownSession(String),
    /// [`Store::complete_effect`](crate::Store::complete_effect) or
    /// [`release_effect`](crate::Store::release_effect) of a claim that no longer holds
    /// the effect's lease: another worker may be doing, or have done, the work.
    #[error("effect #{effect_id} (attempt {attempt}): the lease was lost: {detail}")]
    LeaseLost {
        /// The effect.
        effect_id: i64,
        /// The claim's attempt number.
        attempt: u32,
        /// What happened to it.
        detail: String,
    },
    /// A row the store reads back is not one it writes (edited by hand, or a bug).
    #[error("corrupt row for session {session_id}: {detail}")]
    Corrupt {
        /// The session of the row.
        session_id: String,
        /// What is wrong.
        detail: String,
    },
    /// The database's merge and the tracker's disagree: a bug, reported rather than
    /// acted on.
    #[error(
        "session {session_id}: the database holds {stored:?} after the merge, the tracker {expected:?}"
    )]
    Disagreement {
        /// The session.
        session_id: String,
        /// The key the database holds.
        stored: Vec<u8>,
        /// The key the tracker holds.
        expected: Vec<u8>,
    },
}

impl StoreError {
    /// A `Database` error for `operation`.
    pub(crate) fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { operation, source }
    }

    /// A `Corrupt` error for a bad precedence key in `session_id`'s row.
    pub(crate) fn bad_key(session_id: &str, column: &str, error: PrecedenceKeyError) -> StoreError {
        StoreError::Corrupt {
            session_id: session_id.into(),
            detail: format!("{column}: {error}"),
        }
    }
}
