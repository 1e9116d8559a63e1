//! The SQLite writer: one connection that does every write of the process, committing the
//! writes waiting for it together (group commit).
//!
//! SQLite has one writer at a time, and with `synchronous = FULL` each commit waits for an
//! fsync. Writers that each open their own transaction queue on the database's write lock
//! (sleeping in SQLite's busy handler, in steps of up to 100 ms) and pay one fsync each. Here
//! callers hand their write to one task instead; it takes every write that is waiting (up to
//! [`MAX_BATCH`]), runs them in one `BEGIN IMMEDIATE` transaction, commits once, and only then
//! answers each caller: a call that returned `Ok` is on disk. The writes that arrive during a
//! commit's fsync form the next batch, so the batch grows with the load.
//!
//! A write that fails fails alone: the transaction is rolled back and the batch runs again
//! without it (a write is a function that may run more than once; only the run that is
//! committed answers its caller). Failures are rare (a corrupt row), so this costs less than a
//! savepoint around every write, which is a round trip to SQLite's thread each: on the
//! store's bench, half of a merge's time. A batch with `f` failing writes runs at most `f + 1`
//! times.
//!
//! Any failure of the batch itself (`BEGIN`, the `COMMIT`: a full disk, an I/O
//! error, the write lock busy past the timeout) rolls the transaction back, fails every
//! write of that batch with the cause, and, for a file, closes the connection: the next
//! batch opens a new one, so the writer works again as soon as the cause is gone.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;

/// A boxed future that may borrow the writer's connection.
pub(crate) type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// One write (or read, on a database whose reads share the writer): runs on a connection,
/// inside the batch's transaction, and again if the batch is rolled back because another
/// of its writes failed.
pub(crate) type Work<T> =
    Box<dyn for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send>;

/// The most writes one transaction holds: bounds a batch's time and its callers' wait.
pub(crate) const MAX_BATCH: usize = 256;

/// A handle on the writer task; cheap to clone. The task ends when every handle is gone.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

/// How a job runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// With the other writes waiting, in one transaction.
    Batched,
    /// Alone, outside any transaction the writer opens (migrations open their own).
    Alone,
    /// Closes the connection; every later job fails.
    Close,
}

/// A job with its result type erased, as the writer task holds it.
trait Job: Send {
    fn mode(&self) -> Mode;
    /// Runs the work (again, if it ran before: its latest result counts); whether it succeeded.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Whether the latest run failed.
    fn failed(&self) -> bool;
    /// Answers the caller: the work's own result, or `failure` when the batch failed.
    fn answer(self: Box<Self>, failure: Option<StoreError>);
}

struct Pending<T> {
    mode: Mode,
    work: Work<T>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send + 'static> Job for Pending<T> {
    fn mode(&self) -> Mode {
        self.mode
    }

    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let result = (self.work)(conn).await;
            let succeeded = result.is_ok();
            self.result = Some(result);
            succeeded
        })
    }

    fn failed(&self) -> bool {
        self.result.as_ref().is_some_and(Result::is_err)
    }

    fn answer(self: Box<Self>, failure: Option<StoreError>) {
        let result = match (failure, self.result) {
            (Some(error), _) => Err(error),
            (None, Some(result)) => result,
            (None, None) => Err(StoreError::Database {
                operation: "writing",
                source: sqlx::Error::WorkerCrashed,
            }),
        };
        // The caller may have stopped waiting (cancelled): the write stands all the same.
        let _ = self.reply.send(result);
    }
}

impl Writer {
    /// Starts the writer task on the current Tokio runtime. `reopen`: whether a connection
    /// that failed may be replaced by a new one (a file; an in-memory database lives and
    /// dies with its one connection).
    pub(crate) fn start(
        conn: SqliteConnection,
        options: SqliteConnectOptions,
        reopen: bool,
    ) -> Writer {
        // A batch's worth of writes waits while the writer commits another; beyond that,
        // callers wait to hand theirs over (the writer takes no more at once anyway).
        let (jobs, inbox) = mpsc::channel(MAX_BATCH);
        let link = Link {
            options,
            conn: Some(conn),
            reopen,
            closed: false,
        };
        tokio::spawn(run(inbox, link));
        Writer { jobs }
    }

    /// Runs `work` in the next batch; returns once the batch that holds it is committed
    /// (its result), or failed (the batch's error).
    pub(crate) async fn write<T: Send + 'static>(&self, work: Work<T>) -> Result<T, StoreError> {
        self.submit(Mode::Batched, work).await
    }

    /// Runs `work` alone, outside the writer's transactions (migrations).
    pub(crate) async fn alone<T: Send + 'static>(&self, work: Work<T>) -> Result<T, StoreError> {
        self.submit(Mode::Alone, work).await
    }

    /// Closes the connection after the writes handed over before; later ones fail.
    pub(crate) async fn close(&self) {
        let _ = self
            .submit::<()>(Mode::Close, Box::new(|_| Box::pin(async { Ok(()) })))
            .await;
    }

    async fn submit<T: Send + 'static>(&self, mode: Mode, work: Work<T>) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            mode,
            work,
            result: None,
            reply,
        });
        if self.jobs.send(job).await.is_err() {
            return Err(closed());
        }
        answer.await.unwrap_or_else(|_| Err(closed()))
    }
}

/// The error of a write handed to a closed store.
fn closed() -> StoreError {
    StoreError::Database {
        operation: "writing",
        source: sqlx::Error::PoolClosed,
    }
}

/// The writer's connection, opened again after a failure.
struct Link {
    options: SqliteConnectOptions,
    conn: Option<SqliteConnection>,
    reopen: bool,
    closed: bool,
}

impl Link {
    async fn connection(&mut self) -> Result<&mut SqliteConnection, (&'static str, sqlx::Error)> {
        if self.closed {
            return Err(("writing", sqlx::Error::PoolClosed));
        }
        match &mut self.conn {
            Some(conn) => Ok(conn),
            slot @ None => {
                let conn = self
                    .options
                    .connect()
                    .await
                    .map_err(|error| ("opening the writer's connection again", error))?;
                tracing::info!("the SQLite writer opened a new connection");
                Ok(slot.insert(conn))
            }
        }
    }

    /// After a failed batch: the connection may hold a transaction SQLite did not roll back
    /// or a broken state; a file's is replaced by a new one at the next batch.
    async fn after_failure(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            // Often "no transaction is active": SQLite rolled back by itself.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        if self.reopen
            && let Some(conn) = self.conn.take()
        {
            let _ = conn.close().await;
        }
    }

    async fn close(&mut self) {
        self.closed = true;
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}

async fn run(mut inbox: mpsc::Receiver<Box<dyn Job>>, mut link: Link) {
    let mut carried: Option<Box<dyn Job>> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match inbox.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        match first.mode() {
            Mode::Close => {
                link.close().await;
                first.answer(None);
                continue;
            }
            Mode::Alone => {
                run_alone(&mut link, first).await;
                continue;
            }
            Mode::Batched => {}
        }
        // The callers answered by the last commit are about to hand over their next writes:
        // let them run first, so that those join this batch instead of each waiting for a
        // commit of its own.
        tokio::task::yield_now().await;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match inbox.try_recv() {
                Ok(job) if job.mode() == Mode::Batched => batch.push(job),
                Ok(job) => {
                    carried = Some(job);
                    break;
                }
                Err(_) => break,
            }
        }
        commit_batch(&mut link, batch).await;
    }
    link.close().await;
}

async fn run_alone(link: &mut Link, mut job: Box<dyn Job>) {
    let conn = match link.connection().await {
        Ok(conn) => conn,
        Err((operation, source)) => {
            return job.answer(Some(StoreError::Database { operation, source }));
        }
    };
    if !job.run(conn).await {
        link.after_failure().await;
    }
    job.answer(None);
}

/// What failed a whole batch, shared by its writes' errors.
struct BatchFailure {
    operation: &'static str,
    writes: usize,
    source: Arc<sqlx::Error>,
}

impl BatchFailure {
    fn error(&self) -> StoreError {
        StoreError::WriteBatch {
            operation: self.operation,
            writes: self.writes,
            source: Arc::clone(&self.source),
        }
    }
}

/// Runs `batch` in one transaction and answers every write.
async fn commit_batch(link: &mut Link, mut batch: Vec<Box<dyn Job>>) {
    if link.closed {
        for job in batch {
            job.answer(Some(closed()));
        }
        return;
    }
    let writes = batch.len();
    let outcome = match link.connection().await {
        Ok(conn) => run_batch(conn, &mut batch).await,
        Err(failure) => Err(failure),
    };
    match outcome {
        Ok(()) => {
            for job in batch {
                job.answer(None);
            }
        }
        Err((operation, source)) => {
            tracing::error!(operation, writes, error = %source, "a batch of SQLite writes failed: none of them is stored");
            link.after_failure().await;
            let failure = BatchFailure {
                operation,
                writes,
                source: Arc::new(source),
            };
            for job in batch {
                job.answer(Some(failure.error()));
            }
        }
    }
}

/// `BEGIN IMMEDIATE`, the writes, `COMMIT`; when a write fails, `ROLLBACK` and the same
/// without it. The error of the step that failed the batch.
async fn run_batch(
    conn: &mut SqliteConnection,
    batch: &mut [Box<dyn Job>],
) -> Result<(), (&'static str, sqlx::Error)> {
    loop {
        if batch.iter().all(|job| job.failed()) {
            // Nothing to make durable (and no transaction open).
            return Ok(());
        }
        execute(conn, "BEGIN IMMEDIATE", "starting a write transaction").await?;
        let mut all_succeeded = true;
        for job in batch.iter_mut().filter(|job| !job.failed()) {
            if !job.run(conn).await {
                all_succeeded = false;
                break;
            }
        }
        if all_succeeded {
            return execute(conn, "COMMIT", "committing a batch of writes").await;
        }
        // The failed write is out; what the others before it wrote goes with the transaction,
        // and they run again. SQLite may have rolled back by itself (a full disk, an I/O
        // error): then this fails with "no transaction is active", and if it failed for any
        // other reason, the next `BEGIN` fails the batch.
        let _ = execute(conn, "ROLLBACK", "rolling back after a failed write").await;
    }
}

async fn execute(
    conn: &mut SqliteConnection,
    sql: &'static str,
    operation: &'static str,
) -> Result<(), (&'static str, sqlx::Error)> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|error| (operation, error))
}
