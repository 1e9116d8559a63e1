//! The fleet-safe HPP session store: the database merges every delivery of a session's
//! status (callbacks, polls, batch reads) by precedence in one atomic step, and each final
//! status records exactly one [`Effect`] (place the order, or release the cart) across every
//! instance, retry and restart.
//!
//! A [`Tracker`] keeps its promises (one status whatever the order of deliveries;
//! `became_final()` once) in one process's memory. Several instances behind a load balancer,
//! sharing a database and restarting, need those promises from the database: a
//! read-modify-write of a stored tracker lets two instances both see the session become
//! final (two orders), or save a stale status over a newer one. [`Store::observe`] instead
//! merges in the database, with the [`PrecedenceKey`](hpp_status::PrecedenceKey) of the
//! delivery, and returns the [`Outcome`] a tracker holding exactly the row version the
//! delivery was compared against would return; the effect is recorded by the same
//! statement (Postgres) or transaction (SQLite), unique per session. Workers
//! [claim](Store::claim_effects) effects under a lease on the database's clock and
//! [complete](Store::complete_effect) them; a crashed worker's effect is claimed again when
//! its lease ends.
//!
//! SQLite (bundled, the default, no set-up: `sqlite::memory:` or
//! `sqlite://PATH?mode=rwc`) serves one instance; Postgres (feature `postgres`,
//! `postgres://...`) serves a fleet. The API is the same.
//!
//! # A callback handler
//!
//! The `status_update` URL carries the session id and the per-session secret the merchant
//! registered. A callback is unsigned: its body is a nudge, not a fact. The handler checks
//! the secret (in constant time), reads the session from Klarna (Read Session), merges what
//! Klarna said, and answers quickly: it never places the order itself (that is an effect,
//! done by a worker).
//!
//! ```
//! use hpp_status::wire::{SessionResponse, Timestamp};
//! use hpp_store::{Store, StoreError};
//! use subtle::ConstantTimeEq as _;
//!
//! /// `GET /hpp/v1/sessions/{session_id}` with the merchant's credentials (reqwest in a
//! /// real service).
//! trait ReadSession {
//!     async fn read_session(&self, session_id: &str) -> Result<SessionResponse, String>;
//! }
//!
//! /// `POST /klarna/hpp/{session_id}/status?secret={secret}`: the HTTP status to answer.
//! /// The callback's body is not even parsed: whatever it says, Klarna's answer is merged.
//! async fn on_status_callback(
//!     store: &Store,
//!     klarna: &impl ReadSession,
//!     session_id: &str,
//!     secret: &str,
//! ) -> u16 {
//!     match store.callback_secret(session_id).await {
//!         Ok(Some(expected)) if bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) => {}
//!         Ok(_) => return 404, // unknown session or wrong secret: say nothing more
//!         Err(error) => {
//!             tracing::error!(%error, session_id, "reading the callback secret");
//!             return 503; // Klarna retries
//!         }
//!     }
//!     let session = match klarna.read_session(session_id).await {
//!         Ok(session) => session,
//!         Err(error) => {
//!             // The batch reads the session before it expires anyway.
//!             tracing::warn!(%error, session_id, "reading the session after a callback");
//!             return 503;
//!         }
//!     };
//!     match store.observe(session_id, &session).await {
//!         Ok(outcome) => {
//!             tracing::info!(session_id, outcome = %outcome.kind(), "session read after a callback");
//!             200
//!         }
//!         // Kept whole in the store for a person; retrying will not make it usable.
//!         Err(error @ StoreError::Unusable { .. }) => {
//!             tracing::warn!(%error, "unusable session");
//!             200
//!         }
//!         Err(error) => {
//!             tracing::error!(%error, session_id, "merging a session read");
//!             503 // not stored: let Klarna retry
//!         }
//!     }
//! }
//!
//! /// Klarna, as far as this example needs it: the session is COMPLETED.
//! struct Completed;
//!
//! impl ReadSession for Completed {
//!     async fn read_session(&self, session_id: &str) -> Result<SessionResponse, String> {
//!         let json = format!(
//!             r#"{{"session_id":"{session_id}","status":"COMPLETED",
//!                "updated_at":"2038-01-19T01:00:00.000Z","authorization_token":"70850a20"}}"#
//!         );
//!         serde_json::from_str(&json).map_err(|error| error.to_string())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::connect("sqlite::memory:").await?;
//! store.migrate().await?;
//! let expires_at: Timestamp = "2038-01-19T03:14:07.000Z".parse()?;
//! store.register("a15b228c", expires_at, "s3cret").await?;
//!
//! assert_eq!(on_status_callback(&store, &Completed, "a15b228c", "s3cret").await, 200);
//! assert_eq!(on_status_callback(&store, &Completed, "a15b228c", "s3cret").await, 200); // a retry
//! assert_eq!(on_status_callback(&store, &Completed, "a15b228c", "guess").await, 404);
//! assert_eq!(on_status_callback(&store, &Completed, "unknown", "s3cret").await, 404);
//! assert_eq!(store.effects().await?.len(), 1); // one order to place, however often it came
//! # Ok(())
//! # }
//! ```
//!
//! # An effect worker
//!
//! Each instance runs workers that claim effects, do them, and complete them. An effect is
//! done at least once: a worker that dies after placing the order but before
//! `complete_effect` leaves the effect to another worker after the lease, so the work must
//! be idempotent or checked first (a Klarna authorization token places one order only;
//! look the order up by session id before placing it again).
//!
//! ```
//! use std::time::Duration;
//!
//! use hpp_store::{Effect, EffectKind, Store, StoreError};
//!
//! /// Does one effect; an error leaves it to a later claim.
//! async fn perform(effect: &Effect) -> Result<(), String> {
//!     match &effect.kind {
//!         EffectKind::PlaceOrder { authorization_token } => {
//!             // POST /payments/v1/authorizations/{authorization_token}/order, then
//!             // mark the merchant's order paid.
//!             println!("placing the order of {} with {authorization_token}", effect.session_id);
//!         }
//!         EffectKind::OrderPlacedByKlarna { order_id, .. } => {
//!             println!("order {order_id} of {} is placed", effect.session_id);
//!         }
//!         EffectKind::CompletedWithoutReference => {
//!             // Read Session for the token or order id, then as above.
//!             println!("read {} for its authorization", effect.session_id);
//!         }
//!         EffectKind::SessionEnded { status } => {
//!             println!("release the cart of {}: {status}", effect.session_id);
//!         }
//!         EffectKind::Conflict { kept, rejected, .. } => {
//!             println!("a person must look at {}: {kept} vs {rejected}", effect.session_id);
//!         }
//!     }
//!     Ok(())
//! }
//!
//! /// One round of a worker: claim, do, complete. Returns how many it completed.
//! async fn work(store: &Store, worker: &str) -> Result<usize, StoreError> {
//!     let mut completed = 0;
//!     for effect in store.claim_effects(worker, 10, Duration::from_secs(60)).await? {
//!         match perform(&effect).await {
//!             Ok(()) => match store.complete_effect(&effect).await {
//!                 Ok(()) => completed += 1,
//!                 // Too slow: the lease ended and another worker may have it now.
//!                 Err(error @ StoreError::LeaseLost { .. }) => tracing::warn!(%error),
//!                 Err(error) => return Err(error),
//!             },
//!             Err(reason) => {
//!                 tracing::warn!(effect = effect.id, reason, "effect failed; retried later");
//!                 store.release_effect(&effect).await?;
//!             }
//!         }
//!     }
//!     Ok(completed)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let store = Store::connect("sqlite::memory:").await?;
//! # store.migrate().await?;
//! # let session: hpp_status::wire::SessionResponse = serde_json::from_str(
//! #     r#"{"status":"CANCELLED","updated_at":"2038-01-19T01:00:00.000Z"}"#)?;
//! # store.observe("a15b228c", &session).await?;
//! assert_eq!(work(&store, "worker-1").await?, 1);
//! assert_eq!(work(&store, "worker-2").await?, 0); // nothing left
//! # Ok(())
//! # }
//! ```
//!
//! # The batch reader
//!
//! Callbacks can all be lost; the batch finds every session again.
//! [`due_for_read`](Store::due_for_read) claims the open sessions to read now, nearest
//! expiry first, for a short lease (so that instances share the work); after reading one,
//! [`observe`](Store::observe) the body and [`record_read`](Store::record_read), which
//! schedules the next read so that the last one happens before `expires_at` (see
//! [`ReadSchedule`]).
//!
//! ```
//! # use hpp_status::wire::{SessionResponse, Timestamp};
//! # use hpp_store::Store;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let store = Store::connect("sqlite::memory:").await?;
//! # store.migrate().await?;
//! # store.register("a15b228c", "2038-01-19T03:14:07.000Z".parse()?, "s3cret").await?;
//! let now: Timestamp = "2038-01-19T01:00:00.000Z".parse()?; // Timestamp::now() in production
//! for due in store.due_for_read(now, 100).await? {
//!     // GET {session_url}; a 404 means the session expired.
//!     let read: SessionResponse = serde_json::from_str(
//!         r#"{"status":"IN_PROGRESS","updated_at":"2038-01-19T00:59:00.000Z"}"#)?;
//!     store.observe(&due.session_id, &read).await?;
//!     store.record_read(&due.session_id, now).await?;
//! }
//! assert!(store.due_for_read(now, 100).await?.is_empty()); // read; next in ReadSchedule::interval
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod effect;
mod error;
mod merge;
mod order;
#[cfg(feature = "postgres")]
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod time;

use std::time::Duration;

use hpp_status::wire::{SessionResponse, Timestamp};
use hpp_status::{Outcome, Tracker};

pub use crate::effect::{Effect, EffectKind};
pub use crate::error::StoreError;
pub use crate::order::{AttemptAnswer, OrderAttempt, OrderState};
pub use crate::rows::{DueSession, Registration, SessionRecord, UnusableDelivery};

/// When the batch reads an open session: every `interval`, and once more in the last
/// `margin` before it expires, so that the last read happens before `expires_at` (after it,
/// Read Session answers 404 and a completion whose callbacks were all lost is lost with it).
///
/// After a read at `t` ([`Store::record_read`]), the next is due at
/// `min(t + interval, expires_at - margin)` while `t < expires_at - margin`; a read within
/// the margin is the last. [`Store::due_for_read`] claims a session for `lease`: another
/// instance reads it only if this one has not recorded a read by then. Run the batch more
/// often than `margin - lease` so that the last read falls inside the margin.
///
/// ```
/// use std::time::Duration;
/// use hpp_store::ReadSchedule;
///
/// let schedule = ReadSchedule::default();
/// assert_eq!(schedule.interval, Duration::from_secs(10 * 60));
/// assert!(schedule.lease < schedule.margin);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ReadSchedule {
    /// Time between reads of an open session (default 10 minutes: an authorization token is
    /// valid for 60).
    pub interval: Duration,
    /// How long before `expires_at` the last read is due (default 5 minutes).
    pub margin: Duration,
    /// How long a claim from [`Store::due_for_read`] keeps other instances off the session
    /// (default 1 minute).
    pub lease: Duration,
}

impl Default for ReadSchedule {
    fn default() -> ReadSchedule {
        ReadSchedule {
            interval: Duration::from_secs(10 * 60),
            margin: Duration::from_secs(5 * 60),
            lease: Duration::from_secs(60),
        }
    }
}

/// The effects not completed yet ([`Store::effect_backlog`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EffectBacklog {
    /// How many (claimed or not).
    pub pending: u64,
    /// When the oldest of them was recorded; `None` when there are none.
    pub oldest_created_at: Option<Timestamp>,
}

/// How [`Store::connect_with`] connects.
///
/// ```
/// use hpp_store::StoreOptions;
///
/// let options = StoreOptions { max_connections: 16, ..StoreOptions::default() };
/// assert_eq!(options.max_connections, 16);
/// ```
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The connection pool's size (default 8). On SQLite, the readers' pool: every write
    /// goes through the store's one writer connection, which commits the writes waiting for
    /// it together; `sqlite::memory:` always has exactly one connection (the database lives
    /// in it), which then serves reads and writes.
    pub max_connections: u32,
    /// How long a SQLite write waits for the write lock before failing (default 30 s).
    pub busy_timeout: Duration,
    /// When sessions are due for reading.
    pub read_schedule: ReadSchedule,
    /// Whether the database may be created (default `true`). `false`: a missing SQLite
    /// file is not created, whatever the URL's `mode` says, and [`Store::migrate`] refuses a
    /// database that has none of the store's tables ([`StoreError::NotInitialized`]: a new,
    /// emptied or wrong database, where a service would silently forget every session in
    /// flight); it still applies newer migrations to a database that has them.
    pub create: bool,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(30),
            read_schedule: ReadSchedule::default(),
            create: true,
        }
    }
}

/// The session store. Cheap to clone (a handle on a connection pool); share one per process.
///
/// ```
/// use hpp_status::{OutcomeKind, Status};
/// use hpp_status::wire::SessionResponse;
/// use hpp_store::Store;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Store::connect("sqlite::memory:").await?;
/// store.migrate().await?;
/// let session: SessionResponse =
///     serde_json::from_str(r#"{"status":"BACK","updated_at":"2019-05-13T14:51:46.288Z"}"#)?;
/// let outcome = store.observe("a15b228c", &session).await?;
/// assert_eq!(outcome.kind(), OutcomeKind::Advanced);
/// assert_eq!(store.session("a15b228c").await?.and_then(|t| t.status()), Some(Status::Back));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    schedule: ReadSchedule,
    create: bool,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(sqlite::Database),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs the same call on whichever backend the store has.
macro_rules! on_backend {
    ($store:expr, $function:ident ( $($argument:expr),* )) => {
        match &$store.backend {
            Backend::Sqlite(db) => sqlite::$function(db $(, $argument)*).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => postgres::$function(pool $(, $argument)*).await,
        }
    };
}

impl Store {
    /// Connects to `url` with the default [`StoreOptions`]: `sqlite::memory:`,
    /// `sqlite://PATH?mode=rwc` (created if missing), or, with feature `postgres`,
    /// `postgres://...`. Call [`migrate`](Store::migrate) before first use.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// assert_eq!(store.backend_name(), "sqlite");
    /// assert!(hpp_store::Store::connect("mysql://db").await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, StoreOptions::default()).await
    }

    /// Connects to `url` (see [`connect`](Store::connect)) with `options`.
    ///
    /// ```
    /// use hpp_store::{Store, StoreOptions};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let url = format!("sqlite://{}?mode=rwc", dir.path().join("store.db").display());
    /// let store = Store::connect_with(&url, StoreOptions { max_connections: 4, ..Default::default() }).await?;
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite(sqlite::connect(url, &options).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                Backend::Postgres(postgres::connect(url, &options).await?)
            }
            #[cfg(not(feature = "postgres"))]
            {
                return Err(StoreError::UnsupportedUrl(format!(
                    "{url} (this build has no Postgres: enable feature `postgres` of hpp-store)"
                )));
            }
        } else {
            return Err(StoreError::UnsupportedUrl(url.into()));
        };
        tracing::debug!(backend = backend_name(&backend), "store connected");
        Ok(Store {
            backend,
            schedule: options.read_schedule,
            create: options.create,
        })
    }

    /// `"sqlite"` or `"postgres"`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// assert_eq!(store.backend_name(), "sqlite");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        backend_name(&self.backend)
    }

    /// Creates or updates the schema (`migrations/sqlite` or `migrations/postgres`).
    /// Idempotent; instances starting together are safe (Postgres takes an advisory lock).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// store.migrate().await?; // nothing to do
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Without [`StoreOptions::create`], a database that has none of the store's tables is
    /// refused with [`StoreError::NotInitialized`] instead of created.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if !self.create && !on_backend!(self, has_tables())? {
            return Err(StoreError::NotInitialized {
                backend: self.backend_name(),
            });
        }
        on_backend!(self, migrate())
    }

    /// Whether the database takes writes now: a write in a transaction that is rolled back
    /// (it leaves nothing behind). An error when it is read-only (a read-only file, mount or
    /// Postgres replica), has no tables, or cannot be reached; for a readiness check.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// assert!(store.check_writable().await.is_err()); // no tables yet
    /// store.migrate().await?;
    /// store.check_writable().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        on_backend!(self, check_writable())
    }

    /// The effects not completed yet (claimed or not), and when the oldest was recorded:
    /// a growing count or age means orders are not being placed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// let backlog = store.effect_backlog().await?;
    /// assert_eq!((backlog.pending, backlog.oldest_created_at), (0, None));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn effect_backlog(&self) -> Result<EffectBacklog, StoreError> {
        let (pending, oldest) = on_backend!(self, effect_backlog())?;
        let oldest_created_at = oldest
            .map(|us| {
                time::from_micros(us).map_err(|detail| StoreError::Corrupt {
                    session_id: String::new(),
                    detail: format!("the oldest pending effect's created_at_us: {detail}"),
                })
            })
            .transpose()?;
        Ok(EffectBacklog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest_created_at,
        })
    }

    /// Records a session the merchant created: when it expires, and the secret of its
    /// `status_update` URL. From then on it is open and due for reading until it is final
    /// or expires, even if no callback ever arrives.
    ///
    /// Idempotent: registering again with the same data does nothing; with other data it
    /// is a [`StoreError::RegistrationMismatch`]. `expires_at` is kept to the microsecond.
    ///
    /// ```
    /// use hpp_store::{Store, StoreError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = Store::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// let expires_at = "2038-01-19T03:14:07.000Z".parse()?;
    /// store.register("a15b228c", expires_at, "s3cret").await?;
    /// store.register("a15b228c", expires_at, "s3cret").await?; // the same: fine
    /// let again = store.register("a15b228c", expires_at, "other").await;
    /// assert!(matches!(again, Err(StoreError::RegistrationMismatch { .. })));
    /// assert_eq!(store.callback_secret("a15b228c").await?.as_deref(), Some("s3cret"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn register(
        &self,
        session_id: &str,
        expires_at: Timestamp,
        callback_secret: &str,
    ) -> Result<(), StoreError> {
        let expires_at_us = time::micros(expires_at);
        let existing = on_backend!(self, register(session_id, expires_at_us, callback_secret))?;
        match existing {
            None => {
                tracing::info!(session_id, %expires_at, "session registered");
                Ok(())
            }
            Some((Some(us), Some(secret))) if us == expires_at_us && secret == callback_secret => {
                Ok(())
            }
            Some((us, _)) => Err(StoreError::RegistrationMismatch {
                session_id: session_id.into(),
                registered_expires_at: us
                    .map(|us| rows::stored_time(session_id, us).map(|t| t.to_string()))
                    .transpose()?
                    .unwrap_or_else(|| "unknown".into()),
            }),
        }
    }

    /// The callback secret the session was registered with, or `None` for a session that
    /// is unknown or was never registered. Compare it with the URL's in constant time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// assert_eq!(store.callback_secret("unknown").await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn callback_secret(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .registration(session_id)
            .await?
            .map(|registration| registration.callback_secret))
    }

    /// What a callback handler needs of a registered session, in one read: its callback
    /// secret, its expiry and the status held (a callback for a session already final
    /// needs no read of Klarna). `None` for a session that is unknown or was never
    /// registered.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// assert_eq!(store.registration("s1").await?, None);
    /// store.register("s1", "2038-01-19T03:14:07Z".parse()?, "s3cret").await?;
    /// let registration = store.registration("s1").await?.unwrap();
    /// assert_eq!(registration.callback_secret, "s3cret");
    /// assert_eq!(registration.tracker.status(), None); // nothing observed yet
    /// # Ok(())
    /// # }
    /// ```
    pub async fn registration(&self, session_id: &str) -> Result<Option<Registration>, StoreError> {
        on_backend!(self, registration(session_id))?
            .map(|row| row.into_registration(session_id))
            .transpose()
    }

    /// Merges one delivery of `session_id` (a callback's `session`, or a Read Session body)
    /// in one atomic step on the database, and returns what
    /// [`Tracker::observe`](hpp_status::Tracker::observe) says for a tracker holding the
    /// row version the delivery was compared against.
    ///
    /// When the delivery first makes the session final, the same atomic step records the
    /// session's [`Effect`]: [`PlaceOrder`](EffectKind::PlaceOrder),
    /// [`OrderPlacedByKlarna`](EffectKind::OrderPlacedByKlarna),
    /// [`CompletedWithoutReference`](EffectKind::CompletedWithoutReference) or
    /// [`SessionEnded`](EffectKind::SessionEnded); at most one per session, whatever the
    /// number of instances, retries and conflicts. Every [`Outcome::Conflict`] records a
    /// [`Conflict`](EffectKind::Conflict) effect for a person to look at; a conflict never
    /// records a second order. The same final at an earlier time is a `Duplicate` that
    /// replaces the stored time.
    ///
    /// A payload the tracker cannot use (`TIMEOUT` or `MANUAL_ID_CHECK`, which are not
    /// among the eight statuses, an unrecognized status, a
    /// missing `status` or `updated_at`, another session's id) is kept whole in
    /// [`unusable_deliveries`](Store::unusable_deliveries) and returned as
    /// [`StoreError::Unusable`], which says why.
    ///
    /// ```
    /// use hpp_status::wire::SessionResponse;
    /// use hpp_store::{EffectKind, Store, StoreError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = Store::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// let read = |json: &str| serde_json::from_str::<SessionResponse>(json);
    /// let done = read(r#"{"status":"COMPLETED","updated_at":"2019-05-13T14:53:00Z","order_id":"o-1"}"#)?;
    /// assert!(store.observe("s1", &done).await?.became_final());
    /// assert!(!store.observe("s1", &done).await?.became_final()); // a retry: Duplicate
    /// let effects = store.effects().await?;
    /// assert!(matches!(&effects[..], [e] if e.kind == EffectKind::OrderPlacedByKlarna {
    ///     order_id: "o-1".into(), klarna_reference: None }));
    ///
    /// let timeout = read(r#"{"status":"TIMEOUT","updated_at":"2019-05-13T14:54:00Z"}"#)?;
    /// let error = store.observe("s1", &timeout).await.unwrap_err();
    /// assert!(matches!(error, StoreError::Unusable { .. }));
    /// assert!(error.to_string().contains("TIMEOUT, which the API documents without saying whether it is final"));
    /// assert_eq!(store.unusable_deliveries().await?.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn observe(
        &self,
        session_id: &str,
        session: &SessionResponse,
    ) -> Result<Outcome<Timestamp>, StoreError> {
        let delivery = self.usable(session_id, session, None).await?;
        let seen = delivery.seen;
        let settled = on_backend!(self, observe(delivery))?;
        Ok(log_merged(session_id, seen, settled.outcome))
    }

    /// [`observe`](Store::observe) for a Read Session answer, and
    /// [`record_read`](Store::record_read) at `read_at`, in one write: the merge, its
    /// effects and the next read's schedule are stored together (on SQLite, one commit of
    /// the writer's; on Postgres, two statements, and a crash between them only leaves the
    /// session to be read again). An unusable payload is kept, the read recorded, and
    /// [`StoreError::Unusable`] returned.
    ///
    /// ```
    /// use hpp_status::wire::SessionResponse;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// store.register("s1", "2038-01-19T03:14:07Z".parse()?, "s").await?;
    /// let read: SessionResponse =
    ///     serde_json::from_str(r#"{"status":"IN_PROGRESS","updated_at":"2038-01-19T00:59:00Z"}"#)?;
    /// let read_at = "2038-01-19T01:00:00Z".parse()?;
    /// store.observe_read("s1", &read, read_at).await?;
    /// let sessions = store.sessions().await?;
    /// assert_eq!(sessions[0].status(), Some(hpp_status::Status::InProgress));
    /// assert_eq!(sessions[0].last_read_at, Some(read_at));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn observe_read(
        &self,
        session_id: &str,
        session: &SessionResponse,
        read_at: Timestamp,
    ) -> Result<Outcome<Timestamp>, StoreError> {
        let read_at_us = time::micros(read_at);
        let read = Some((read_at_us, self.schedule));
        let delivery = self.usable(session_id, session, read).await?;
        let seen = delivery.seen;
        let schedule = &self.schedule;
        let settled = on_backend!(self, observe_read(delivery, read_at_us, schedule))?;
        tracing::debug!(session_id, %read_at, "read recorded");
        Ok(log_merged(session_id, seen, settled.outcome))
    }
}

/// Logs what a merge came to, and returns its outcome.
fn log_merged(
    session_id: &str,
    seen: hpp_status::Observation<Timestamp>,
    outcome: Outcome<Timestamp>,
) -> Outcome<Timestamp> {
    if outcome.became_final() {
        tracing::info!(session_id, current = %outcome.current(), "session became final");
    } else if let Outcome::Conflict { kept, rejected, .. } = outcome {
        tracing::warn!(session_id, %kept, %rejected, "conflicting deliveries");
    } else {
        tracing::debug!(session_id, outcome = %outcome.kind(), seen = %seen, "delivery merged");
    }
    outcome
}

impl Store {
    /// The delivery a payload for `session_id` makes, or, when the tracker cannot use it,
    /// the `Unusable` error after the payload (and, for a read, the read) was recorded.
    async fn usable(
        &self,
        session_id: &str,
        session: &SessionResponse,
        read: Option<(i64, ReadSchedule)>,
    ) -> Result<merge::Delivery, StoreError> {
        let seen = match session.observation() {
            Ok(seen) => seen,
            Err(error) => {
                return Err(self
                    .unusable(session_id, session, error.to_string(), read)
                    .await);
            }
        };
        if let Some(other) = session.session_id.as_deref().filter(|&id| id != session_id) {
            let reason = format!("the payload is session {other:?}'s");
            return Err(self.unusable(session_id, session, reason, read).await);
        }
        Ok(merge::Delivery::new(session_id, seen, session))
    }

    /// Records an unusable payload (and, for a read, the read) and returns the error that
    /// says so (or why it could not even be recorded).
    async fn unusable(
        &self,
        session_id: &str,
        session: &SessionResponse,
        reason: String,
        read: Option<(i64, ReadSchedule)>,
    ) -> StoreError {
        let payload = match serde_json::to_string(session) {
            Ok(payload) => payload,
            Err(error) => format!("{session:?} (not serializable: {error})"),
        };
        match on_backend!(self, record_unusable(session_id, &reason, &payload, read)) {
            Ok(delivery_id) => {
                tracing::warn!(session_id, delivery_id, reason, "unusable delivery kept");
                StoreError::Unusable {
                    session_id: session_id.into(),
                    reason,
                    delivery_id,
                }
            }
            Err(error) => error,
        }
    }

    /// The session's tracker as stored: `None` for a session the store does not know, an
    /// empty tracker for one registered but never observed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// assert_eq!(store.session("unknown").await?, None);
    /// store.register("s1", "2038-01-19T03:14:07.000Z".parse()?, "secret").await?;
    /// assert_eq!(store.session("s1").await?.map(|t| t.status()), Some(None));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn session(
        &self,
        session_id: &str,
    ) -> Result<Option<Tracker<Timestamp>>, StoreError> {
        let key = on_backend!(self, precedence_key(session_id))?;
        key.map(|key| rows::tracker(session_id, key.as_deref()))
            .transpose()
    }

    /// Claims up to `limit` effects that are to do (never claimed, or whose lease ended),
    /// oldest first, for `worker`, until `lease` from now on the database's clock. Several
    /// workers claiming at once get different effects (Postgres: `FOR UPDATE SKIP LOCKED`;
    /// SQLite: one writer at a time). Each claim's `attempt` is one more than the last.
    ///
    /// ```
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// let claimed = store.claim_effects("worker-1", 10, Duration::from_secs(60)).await?;
    /// assert!(claimed.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn claim_effects(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Effect>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = on_backend!(
            self,
            claim_effects(worker, limit, time::duration_micros(lease))
        )?;
        let mut effects = rows
            .into_iter()
            .map(effect::EffectRow::into_effect)
            .collect::<Result<Vec<_>, _>>()?;
        effects.sort_by_key(|effect| effect.id);
        for effect in &effects {
            tracing::debug!(
                worker,
                effect = effect.id,
                kind = effect.kind.name(),
                attempt = effect.attempt,
                "effect claimed"
            );
        }
        Ok(effects)
    }

    /// Marks a claimed effect done, if this claim still holds its lease; otherwise a
    /// [`StoreError::LeaseLost`] that says what happened (the lease ended; another worker
    /// claimed or completed it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::wire::SessionResponse;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// let ended: SessionResponse =
    ///     serde_json::from_str(r#"{"status":"DISABLED","updated_at":"2019-05-13T14:53:00Z"}"#)?;
    /// store.observe("s1", &ended).await?;
    /// let [effect] = &store.claim_effects("w", 10, Duration::from_secs(60)).await?[..] else { panic!() };
    /// store.complete_effect(effect).await?;
    /// assert!(store.complete_effect(effect).await.is_err()); // already done
    /// # Ok(())
    /// # }
    /// ```
    pub async fn complete_effect(&self, effect: &Effect) -> Result<(), StoreError> {
        self.end_claim(effect, true, Duration::ZERO).await?;
        tracing::info!(
            effect = effect.id,
            session_id = effect.session_id,
            kind = effect.kind.name(),
            "effect completed"
        );
        Ok(())
    }

    /// Gives a claimed effect back before its lease ends (the work failed and should be
    /// retried): it can be claimed again at once. A [`StoreError::LeaseLost`] if this claim
    /// no longer holds it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::wire::SessionResponse;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// # let ended: SessionResponse =
    /// #     serde_json::from_str(r#"{"status":"DISABLED","updated_at":"2019-05-13T14:53:00Z"}"#)?;
    /// # store.observe("s1", &ended).await?;
    /// let lease = Duration::from_secs(60);
    /// let first = store.claim_effects("w1", 10, lease).await?;
    /// store.release_effect(&first[0]).await?;
    /// let second = store.claim_effects("w2", 10, lease).await?;
    /// assert_eq!((second[0].id, second[0].attempt), (first[0].id, 2));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn release_effect(&self, effect: &Effect) -> Result<(), StoreError> {
        self.release_effect_for(effect, Duration::ZERO).await
    }

    /// Gives a claimed effect back, to be claimed again once `delay` has passed (on the
    /// database's clock): the backoff of a retry, which leaves the other effects to the
    /// workers meanwhile. A [`StoreError::LeaseLost`] if this claim no longer holds it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::wire::SessionResponse;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// # let ended: SessionResponse =
    /// #     serde_json::from_str(r#"{"status":"DISABLED","updated_at":"2019-05-13T14:53:00Z"}"#)?;
    /// # store.observe("s1", &ended).await?;
    /// let lease = Duration::from_secs(60);
    /// let first = store.claim_effects("w1", 10, lease).await?;
    /// store.release_effect_for(&first[0], Duration::from_secs(3600)).await?;
    /// assert!(store.claim_effects("w2", 10, lease).await?.is_empty()); // not for an hour
    /// # Ok(())
    /// # }
    /// ```
    pub async fn release_effect_for(
        &self,
        effect: &Effect,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.end_claim(effect, false, delay).await?;
        tracing::info!(
            effect = effect.id,
            session_id = effect.session_id,
            ?delay,
            "effect released for a retry"
        );
        Ok(())
    }

    async fn end_claim(
        &self,
        effect: &Effect,
        complete: bool,
        delay: Duration,
    ) -> Result<(), StoreError> {
        let attempt = i64::from(effect.attempt);
        let delay_us = time::duration_micros(delay);
        if on_backend!(self, end_claim(effect.id, attempt, complete, delay_us))? {
            return Ok(());
        }
        let current = on_backend!(self, effect(effect.id))?
            .map(effect::EffectRow::into_effect)
            .transpose()?;
        let detail = match current {
            None => "no such effect".to_owned(),
            Some(current) if current.attempt != effect.attempt => format!(
                "claimed again by {} (attempt {})",
                current.claimed_by.as_deref().unwrap_or("?"),
                current.attempt
            ),
            Some(Effect {
                completed_at: Some(at),
                ..
            }) => format!("already completed at {at}"),
            // The same claim, not completed: its lease ended before it could complete.
            Some(Effect {
                lease_until: Some(until),
                ..
            }) => format!("the lease ended at {until}"),
            Some(_) => "the effect was never claimed".to_owned(),
        };
        Err(StoreError::LeaseLost {
            effect_id: effect.id,
            attempt: effect.attempt,
            detail,
        })
    }

    /// Records a create order call the claim `effect` is about to send, and returns its
    /// number (1 for the effect's first call): record it *before* sending, so that a call
    /// whose worker dies mid-way is known to have perhaps reached Klarna. A
    /// [`StoreError::LeaseLost`] when this claim no longer holds the effect: then do not send.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::wire::SessionResponse;
    /// use hpp_store::{AttemptAnswer, OrderState};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// let paid: SessionResponse = serde_json::from_str(r#"{"status":"COMPLETED",
    ///     "updated_at":"2019-05-13T14:53:00Z","authorization_token":"t"}"#)?;
    /// store.observe("s1", &paid).await?;
    /// let [effect] = &store.claim_effects("w", 10, Duration::from_secs(60)).await?[..] else { panic!() };
    /// let call = store.begin_order_attempt(effect, "key-1", "w").await?;
    /// // ... POST /payments/v1/authorizations/t/order, and the answer is lost:
    /// store.answer_order_attempt(effect, call, &AttemptAnswer::Lost { detail: "timed out".into() }).await?;
    /// let calls = store.order_attempts(Some(effect.id)).await?;
    /// assert_eq!(OrderState::of(Some(&effect.kind), false, &calls), OrderState::Pending);
    /// assert_eq!(OrderState::of(Some(&effect.kind), true, &calls), OrderState::Unknown);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn begin_order_attempt(
        &self,
        effect: &Effect,
        idempotency_key: &str,
        worker: &str,
    ) -> Result<u32, StoreError> {
        let claim = i64::from(effect.attempt);
        let recorded = on_backend!(
            self,
            begin_order_attempt(effect.id, claim, worker, idempotency_key)
        )?;
        let Some(number) = recorded else {
            return Err(StoreError::LeaseLost {
                effect_id: effect.id,
                attempt: effect.attempt,
                detail: "the claim no longer holds the effect: the call was not sent".into(),
            });
        };
        u32::try_from(number).map_err(|_| StoreError::Corrupt {
            session_id: effect.session_id.clone(),
            detail: format!("create order call number {number} of effect {}", effect.id),
        })
    }

    /// Records what Klarna answered call `attempt` of `effect` (see
    /// [`begin_order_attempt`](Store::begin_order_attempt)). An answer already recorded is
    /// kept: a [`StoreError::Corrupt`] says so.
    pub async fn answer_order_attempt(
        &self,
        effect: &Effect,
        attempt: u32,
        answer: &AttemptAnswer,
    ) -> Result<(), StoreError> {
        let (order_id, detail) = answer.columns();
        let recorded = on_backend!(
            self,
            answer_order_attempt(
                effect.id,
                i64::from(attempt),
                answer.name(),
                order_id,
                detail
            )
        )?;
        if recorded {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                session_id: effect.session_id.clone(),
                detail: format!(
                    "create order call {attempt} of effect {} has an answer already, or none was recorded",
                    effect.id
                ),
            })
        }
    }

    /// The create order calls of one effect (`Some(id)`) or of every effect (`None`), in
    /// order of effect and call: what [`OrderState::of`] reads an order's state from.
    pub async fn order_attempts(
        &self,
        effect_id: Option<i64>,
    ) -> Result<Vec<OrderAttempt>, StoreError> {
        on_backend!(self, order_attempts(effect_id))?
            .into_iter()
            .map(|row| {
                let effect_id = row.0;
                order::attempt_from_row(row).map_err(|detail| StoreError::Corrupt {
                    session_id: format!("(effect {effect_id})"),
                    detail,
                })
            })
            .collect()
    }

    /// Claims up to `limit` open sessions the batch should read now, nearest `expires_at`
    /// first, for [`ReadSchedule::lease`]: sessions not final, not expired at `now`, and due
    /// (never read, or their next read is at or before `now`). A session registered but
    /// never observed is due. Instances calling at once get different sessions (Postgres:
    /// `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time).
    ///
    /// `now` is the caller's clock, the one `expires_at` (Klarna's) is compared with: the
    /// merchant's instances keep it in sync, and tests can move it. After reading a
    /// session, call [`observe`](Store::observe) and [`record_read`](Store::record_read).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// store.register("later", "2038-01-19T03:14:07Z".parse()?, "s").await?;
    /// store.register("sooner", "2038-01-19T02:00:00Z".parse()?, "s").await?;
    /// let due = store.due_for_read("2038-01-19T01:00:00Z".parse()?, 10).await?;
    /// let ids: Vec<&str> = due.iter().map(|d| d.session_id.as_str()).collect();
    /// assert_eq!(ids, ["sooner", "later"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn due_for_read(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<DueSession>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = on_backend!(self, due_for_read(time::micros(now), limit, &self.schedule))?;
        let mut due = rows
            .into_iter()
            .map(rows::DueRow::into_due)
            .collect::<Result<Vec<_>, _>>()?;
        due.sort_by(|a, b| (a.expires_at, &a.session_id).cmp(&(b.expires_at, &b.session_id)));
        tracing::debug!(%now, claimed = due.len(), "sessions claimed for reading");
        Ok(due)
    }

    /// Records that the session was read at `read_at` (the caller's clock, as for
    /// [`due_for_read`](Store::due_for_read)), whatever the read answered, and schedules
    /// the next read by the [`ReadSchedule`]. A [`StoreError::UnknownSession`] if the store
    /// does not know the session.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// store.register("s1", "2038-01-19T03:14:07Z".parse()?, "s").await?;
    /// let read_at = "2038-01-19T01:00:00Z".parse()?;
    /// store.record_read("s1", read_at).await?;
    /// let sessions = store.sessions().await?;
    /// assert_eq!(sessions[0].last_read_at, Some(read_at));
    /// assert_eq!(sessions[0].next_read_at, Some("2038-01-19T01:10:00Z".parse()?));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn record_read(
        &self,
        session_id: &str,
        read_at: Timestamp,
    ) -> Result<(), StoreError> {
        let known = on_backend!(
            self,
            record_read(session_id, time::micros(read_at), &self.schedule)
        )?;
        if !known {
            return Err(StoreError::UnknownSession(session_id.into()));
        }
        tracing::debug!(session_id, %read_at, "read recorded");
        Ok(())
    }

    /// Every session the store knows, by session id: its tracker (status), expiry,
    /// registration and read times. For tests, reports and people; not for hot paths.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// assert!(store.sessions().await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        on_backend!(self, sessions())?
            .into_iter()
            .map(rows::SessionRow::into_record)
            .collect()
    }

    /// Every effect, by id, with its claims and completion. For tests, reports and
    /// people; workers use [`claim_effects`](Store::claim_effects).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// assert!(store.effects().await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn effects(&self) -> Result<Vec<Effect>, StoreError> {
        on_backend!(self, effects())?
            .into_iter()
            .map(effect::EffectRow::into_effect)
            .collect()
    }

    /// Every payload [`observe`](Store::observe) could not use, by id, kept whole.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// # let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// # store.migrate().await?;
    /// assert!(store.unusable_deliveries().await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn unusable_deliveries(&self) -> Result<Vec<UnusableDelivery>, StoreError> {
        on_backend!(self, unusable_deliveries())?
            .into_iter()
            .map(|row| {
                Ok(UnusableDelivery {
                    id: row.id,
                    received_at: rows::stored_time(&row.session_id, row.received_at_us)?,
                    session_id: row.session_id,
                    reason: row.reason,
                    payload: row.payload,
                })
            })
            .collect()
    }

    /// Closes the pool's connections (waits for those in use).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hpp_store::StoreError> {
    /// let store = hpp_store::Store::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// assert!(store.effects().await.is_ok());
    /// store.close().await;
    /// let error = store.effects().await.unwrap_err(); // closed: no connection left
    /// assert!(error.to_string().contains("closed"), "{error}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(db) => sqlite::close(db).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

fn backend_name(backend: &Backend) -> &'static str {
    match backend {
        Backend::Sqlite(_) => "sqlite",
        #[cfg(feature = "postgres")]
        Backend::Postgres(_) => "postgres",
    }
}
