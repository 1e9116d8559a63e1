//! Session rows as the backends read them, and the public records made from them.

use hpp_status::wire::Timestamp;
use hpp_status::{Observation, Status, Tracker};

use crate::{StoreError, time};

/// A session the batch should read now: see [`Store::due_for_read`](crate::Store::due_for_read).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DueSession {
    /// The session.
    pub session_id: String,
    /// When it expires (Read Session answers 404 after it).
    pub expires_at: Timestamp,
    /// What the store holds for it (empty if nothing was observed yet).
    pub tracker: Tracker<Timestamp>,
    /// When it was last read, if ever.
    pub last_read_at: Option<Timestamp>,
}

/// Everything the store knows about one session: see
/// [`Store::sessions`](crate::Store::sessions).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SessionRecord {
    /// The session.
    pub session_id: String,
    /// The observation to believe (empty if nothing was observed yet).
    pub tracker: Tracker<Timestamp>,
    /// When it expires: registered, or from the first payload that had it.
    pub expires_at: Option<Timestamp>,
    /// Whether [`Store::register`](crate::Store::register) was called for it.
    pub registered: bool,
    /// When it was registered, on the database's clock.
    pub registered_at: Option<Timestamp>,
    /// When it was last read ([`Store::record_read`](crate::Store::record_read)).
    pub last_read_at: Option<Timestamp>,
    /// When it is due to be read next; `None` means as soon as possible (never read yet).
    /// A final session is never due, whatever this says.
    pub next_read_at: Option<Timestamp>,
}

impl SessionRecord {
    /// The status the store holds, or `None` before the first observation.
    ///
    /// ```
    /// # async fn example() -> Result<(), hpp_store::StoreError> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// for session in store.sessions().await? {
    ///     println!("{}: {:?}, last read {:?}", session.session_id, session.status(), session.last_read_at);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<Status> {
        self.tracker.status()
    }
}

/// A payload the tracker could not use, kept whole: see
/// [`Store::unusable_deliveries`](crate::Store::unusable_deliveries).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnusableDelivery {
    /// Its id.
    pub id: i64,
    /// The session it was delivered for.
    pub session_id: String,
    /// When it was received, on the database's clock.
    pub received_at: Timestamp,
    /// Why it could not be used.
    pub reason: String,
    /// The payload as JSON, every field it had (an unrecognized status with its text).
    pub payload: String,
}

/// What the store knows of a registered session that a callback needs: see
/// [`Store::registration`](crate::Store::registration).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Registration {
    /// The secret of the session's `status_update` URL: compare the URL's with it in
    /// constant time.
    pub callback_secret: String,
    /// When the session expires, if known.
    pub expires_at: Option<Timestamp>,
    /// What the store holds for it (empty if nothing was observed yet): a callback for a
    /// session already final needs no read.
    pub tracker: Tracker<Timestamp>,
}

/// A row of `registration`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RegistrationRow {
    pub callback_secret: String,
    pub expires_at_us: Option<i64>,
    pub precedence_key: Option<Vec<u8>>,
}

/// A registered session's row for a callback (the same SQL on both backends).
pub(crate) const REGISTRATION: &str = "SELECT callback_secret, expires_at_us, precedence_key \
    FROM hpp_session WHERE session_id = $1 AND callback_secret IS NOT NULL";

impl RegistrationRow {
    pub(crate) fn into_registration(self, session_id: &str) -> Result<Registration, StoreError> {
        Ok(Registration {
            tracker: tracker(session_id, self.precedence_key.as_deref())?,
            expires_at: self
                .expires_at_us
                .map(|us| stored_time(session_id, us))
                .transpose()?,
            callback_secret: self.callback_secret,
        })
    }
}

/// A row of `due_for_read`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DueRow {
    pub session_id: String,
    pub expires_at_us: i64,
    pub precedence_key: Option<Vec<u8>>,
    pub last_read_at_us: Option<i64>,
}

/// A row of `sessions`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub session_id: String,
    pub precedence_key: Option<Vec<u8>>,
    pub expires_at_us: Option<i64>,
    pub registered: bool,
    pub registered_at_us: Option<i64>,
    pub last_read_at_us: Option<i64>,
    pub next_read_at_us: Option<i64>,
}

/// The columns of `sessions`, in [`SessionRow`]'s names (the same SQL on both backends).
pub(crate) const SESSIONS: &str = "SELECT session_id, precedence_key, expires_at_us, \
    callback_secret IS NOT NULL AS registered, registered_at_us, last_read_at_us, \
    next_read_at_us FROM hpp_session ORDER BY session_id";

/// A row of `unusable_deliveries`: an [`UnusableDelivery`] with its time in microseconds.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UnusableRow {
    pub id: i64,
    pub session_id: String,
    pub received_at_us: i64,
    pub reason: String,
    pub payload: String,
}

/// The unusable deliveries, oldest first (the same SQL on both backends).
pub(crate) const UNUSABLE_DELIVERIES: &str = "SELECT id, session_id, received_at_us, reason, \
    payload FROM hpp_unusable_delivery ORDER BY id";

/// The tracker a session's stored key stands for.
pub(crate) fn tracker(
    session_id: &str,
    key: Option<&[u8]>,
) -> Result<Tracker<Timestamp>, StoreError> {
    let mut tracker = Tracker::new();
    if let Some(key) = key {
        let held = Observation::from_precedence_key(key)
            .map_err(|error| StoreError::bad_key(session_id, "precedence_key", error))?;
        tracker.observe(held);
    }
    Ok(tracker)
}

/// A stored time, or a `Corrupt` error naming the session.
pub(crate) fn stored_time(session_id: &str, us: i64) -> Result<Timestamp, StoreError> {
    time::from_micros(us).map_err(|detail| StoreError::Corrupt {
        session_id: session_id.into(),
        detail,
    })
}

impl DueRow {
    pub(crate) fn into_due(self) -> Result<DueSession, StoreError> {
        let id = &self.session_id;
        Ok(DueSession {
            tracker: tracker(id, self.precedence_key.as_deref())?,
            expires_at: stored_time(id, self.expires_at_us)?,
            last_read_at: self
                .last_read_at_us
                .map(|us| stored_time(id, us))
                .transpose()?,
            session_id: self.session_id,
        })
    }
}

impl SessionRow {
    pub(crate) fn into_record(self) -> Result<SessionRecord, StoreError> {
        let id = &self.session_id;
        let time = |us: Option<i64>| us.map(|us| stored_time(id, us)).transpose();
        Ok(SessionRecord {
            tracker: tracker(id, self.precedence_key.as_deref())?,
            expires_at: time(self.expires_at_us)?,
            registered: self.registered,
            registered_at: time(self.registered_at_us)?,
            last_read_at: time(self.last_read_at_us)?,
            next_read_at: time(self.next_read_at_us)?,
            session_id: self.session_id,
        })
    }
}
