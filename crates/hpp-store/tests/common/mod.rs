//! What the store's tests share: a migrated store on each backend, payloads, and the
//! mapping of the strategy's millisecond timestamps to wire timestamps.
#![allow(dead_code, unreachable_pub)] // each test file uses part of it

use hpp_status::wire::{ReportedStatus, SessionResponse, Timestamp};
use hpp_status::{Observation, Status};
use hpp_store::{Store, StoreOptions};

/// The backends every test runs on. Postgres is a throwaway cluster this process starts
/// (hpp-testdb); it never skips: without the binaries the test fails and says how to get
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite::memory:`, one connection.
    SqliteMemory,
    /// A SQLite file in a temporary directory, in WAL mode, several connections.
    SqliteFile,
    /// A database of its own in the process's Postgres cluster.
    #[cfg(feature = "postgres")]
    Postgres,
}

/// A migrated store and the URL that reaches its database (for a second pool, or raw SQL).
pub struct TestStore {
    pub store: Store,
    pub url: String,
    // Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

pub async fn store(backend: Backend, name: &str) -> TestStore {
    store_with(backend, name, StoreOptions::default()).await
}

pub async fn store_with(backend: Backend, name: &str, options: StoreOptions) -> TestStore {
    let (url, dir) = match backend {
        Backend::SqliteMemory => ("sqlite::memory:".to_owned(), None),
        Backend::SqliteFile => {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(format!("{name}.db"));
            let url = format!("sqlite://{}?mode=rwc", file.display());
            (url, Some(dir))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let cluster = hpp_testdb::Cluster::shared().unwrap_or_else(|error| panic!("{error}"));
            (cluster.create_database(name).unwrap(), None)
        }
    };
    let store = Store::connect_with(&url, options).await.unwrap();
    store.migrate().await.unwrap();
    TestStore {
        store,
        url,
        _dir: dir,
    }
}

/// Runs the async test body `$body` (a function of a `Backend`) once per backend, each in
/// its own `#[tokio::test]`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident => $body:ident;)*) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_memory() {
                    super::$body($crate::common::Backend::SqliteMemory).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_file() {
                    super::$body($crate::common::Backend::SqliteFile).await;
                }
                #[cfg(feature = "postgres")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$body($crate::common::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// The instant `ms` milliseconds after the Unix epoch (the strategy's timestamps).
pub fn at(ms: u64) -> Timestamp {
    Timestamp::try_from(jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap()).unwrap())
        .unwrap()
}

/// An observation with a wire timestamp, from the strategy's.
pub fn wire(seen: Observation<u64>) -> Observation<Timestamp> {
    Observation::new(seen.status, at(seen.updated_at))
}

/// The Read Session body of `seen` for `session_id`, with an authorization token when it is
/// `COMPLETED` (`tok-SESSION`).
pub fn payload(session_id: &str, seen: Observation<Timestamp>) -> SessionResponse {
    SessionResponse {
        session_id: Some(session_id.into()),
        status: Some(ReportedStatus::Known(seen.status)),
        updated_at: Some(seen.updated_at),
        expires_at: Some(at(4_000_000_000_000)),
        authorization_token: (seen.status == Status::Completed)
            .then(|| format!("tok-{session_id}")),
        ..SessionResponse::default()
    }
}
