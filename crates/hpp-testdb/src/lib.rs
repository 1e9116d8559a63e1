//! A throwaway Postgres cluster for tests and benches.
//!
//! [`Cluster::start`] runs `initdb` in a fresh temporary directory (trust authentication,
//! no fsync) and starts a server that listens only on a Unix socket in that directory, so
//! that clusters of concurrent test processes never collide and nothing listens on the
//! network. [`Cluster::create_database`] gives each test its own database and the URL to
//! reach it. When the cluster is dropped, or when the process that started it ends in any
//! way (a panic, `exit`, `SIGKILL`), the server stops and the directory is removed: the
//! server runs under a small shell wrapper that holds the other end of a pipe from this
//! process, and shuts everything down when that pipe closes.
//!
//! It needs the Postgres server binaries (`initdb`, `postgres`, `pg_isready`, `createdb`):
//! on Debian and Ubuntu, `apt-get install postgresql`. They are looked for in
//! `$HPP_TESTDB_PG_BIN`, then the newest `/usr/lib/postgresql/*/bin`, then `PATH`. Postgres
//! refuses to run as root: as root, the cluster runs as the `postgres` user (which the
//! Debian package creates).
//!
//! ```no_run
//! # fn main() -> Result<(), hpp_testdb::Error> {
//! // One cluster for the whole test process, started by the first test that asks.
//! let cluster = hpp_testdb::Cluster::shared()?;
//! let url = cluster.create_database("orders")?;
//! assert!(url.starts_with("postgres://postgres@localhost/orders_"));
//! // Connect with sqlx, psql... (`psql "$url"` works too).
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt as _;

/// The environment variable that names the directory of the Postgres binaries, overriding
/// the search.
pub const BIN_DIR_VARIABLE: &str = "HPP_TESTDB_PG_BIN";

/// What to do to get the binaries, in every error that lacks them.
const INSTALL_HINT: &str = "install the Postgres server with `apt-get install postgresql` \
    (Debian, Ubuntu), or set HPP_TESTDB_PG_BIN to the directory that holds `initdb`";

/// How long the server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The port number the socket file is named after (`.s.PGSQL.5432`). Nothing listens on a
/// TCP port; the socket is in the cluster's private directory, so the number never clashes.
const PORT: u16 = 5432;

/// Runs the server in the foreground of a shell that stops it, and removes the cluster's
/// directory, when its standard input (a pipe held by the process that started the cluster)
/// reaches end of file: when that process drops the cluster or ends in any way.
///
/// Arguments: `$1` the `postgres` binary, `$2` the data directory, `$3` the socket
/// directory, `$4` the port, `$5` the log file, `$6` the directory to remove.
const WRAPPER: &str = r#"
"$1" -D "$2" -k "$3" -p "$4" -c listen_addresses= -c fsync=off -c max_connections=400 \
    </dev/null >>"$5" 2>&1 &
server=$!
cat >/dev/null
kill -INT "$server" 2>/dev/null
wait "$server"
rm -rf "$6"
"#;

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Postgres server binaries are not installed where they are looked for.
    #[error("no Postgres server binaries (initdb, postgres) in {searched}: {INSTALL_HINT}")]
    BinariesNotFound {
        /// Where they were looked for.
        searched: String,
    },
    /// This process runs as root, which Postgres refuses, and there is no `postgres` user
    /// to run it as.
    #[error(
        "running as root, and Postgres refuses to run as root, but there is no `postgres` \
         user to run it as: {INSTALL_HINT} (the package creates the user)"
    )]
    NoPostgresUser,
    /// A file-system or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: io::Error,
    },
    /// A Postgres command exited with a failure.
    #[error("{command} failed ({status}):\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        output: String,
    },
    /// The server did not come up.
    #[error("the Postgres server in {root} {reason}; the end of its log:\n{log}")]
    NotReady {
        /// The cluster's directory.
        root: String,
        /// What happened: it exited, or did not accept connections in time.
        reason: String,
        /// The last lines of the server's log.
        log: String,
    },
    /// The process-wide cluster of [`Cluster::shared`] failed to start (earlier, or now).
    #[error("the shared test cluster could not be started: {0}")]
    Shared(String),
}

/// The user the cluster's processes run as, when this process is root.
#[derive(Clone, Copy, Debug)]
struct Owner {
    uid: u32,
    gid: u32,
}

/// A running throwaway Postgres cluster. Dropping it stops the server and removes its
/// directory.
///
/// ```no_run
/// let cluster = hpp_testdb::Cluster::start()?;
/// let url = cluster.create_database("my test")?;
/// assert!(url.contains("/my_test_1?host="));
/// drop(cluster); // stops the server, removes the directory
/// # Ok::<(), hpp_testdb::Error>(())
/// ```
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    owner: Option<Owner>,
    wrapper: Option<Wrapper>,
    databases: AtomicU32,
}

/// The shell that runs the server, and our end of its standard input.
#[derive(Debug)]
struct Wrapper {
    child: Child,
    stdin: ChildStdin,
}

impl Cluster {
    /// A cluster in `root` whose server is not running (yet).
    fn stopped(root: PathBuf, bin: PathBuf, owner: Option<Owner>) -> Cluster {
        Cluster {
            root,
            bin,
            owner,
            wrapper: None,
            databases: AtomicU32::new(0),
        }
    }

    /// Creates a cluster in a new temporary directory and starts its server; returns when
    /// the server accepts connections (a few seconds).
    ///
    /// ```no_run
    /// let cluster = hpp_testdb::Cluster::start()?;
    /// assert!(cluster.socket_dir().exists());
    /// # Ok::<(), hpp_testdb::Error>(())
    /// ```
    pub fn start() -> Result<Cluster, Error> {
        let started = Instant::now();
        let bin = find_binaries()?;
        let owner = owner()?;
        let root = tempfile::Builder::new()
            .prefix("hpp-testdb-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "creating the cluster's temporary directory".into(),
                source,
            })?
            .keep();
        let mut cluster = Cluster::stopped(root, bin, owner);
        // On any failure from here, `cluster` is dropped, which removes the directory.
        cluster.init()?;
        cluster.spawn_server()?;
        cluster.wait_until_ready(READY_TIMEOUT)?;
        tracing::info!(
            root = %cluster.root.display(),
            bin = %cluster.bin.display(),
            elapsed_ms = started.elapsed().as_millis(),
            "started a throwaway Postgres cluster"
        );
        Ok(cluster)
    }

    /// The cluster of this process, started by the first call; later calls return the same
    /// one, or the same failure. It stops when the process ends.
    ///
    /// ```no_run
    /// let a = hpp_testdb::Cluster::shared()?;
    /// let b = hpp_testdb::Cluster::shared()?;
    /// assert_eq!(a.socket_dir(), b.socket_dir());
    /// # Ok::<(), hpp_testdb::Error>(())
    /// ```
    pub fn shared() -> Result<&'static Cluster, Error> {
        static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Cluster::start().map_err(|error| error.to_string()))
            .as_ref()
            .map_err(|error| Error::Shared(error.clone()))
    }

    /// Creates a new, empty database whose name starts with `name` (lower-cased, anything
    /// but letters, digits and `_` replaced by `_`, then a number unique in the cluster)
    /// and returns its URL (see [`url`](Cluster::url)).
    ///
    /// ```no_run
    /// let cluster = hpp_testdb::Cluster::shared()?;
    /// let first = cluster.create_database("Store-Tests")?;
    /// let second = cluster.create_database("Store-Tests")?;
    /// assert_ne!(first, second);
    /// assert!(first.contains("/store_tests_"));
    /// # Ok::<(), hpp_testdb::Error>(())
    /// ```
    pub fn create_database(&self, name: &str) -> Result<String, Error> {
        let number = self.databases.fetch_add(1, Ordering::Relaxed) + 1;
        let database: String = name
            .chars()
            .take(40)
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let database = format!("{database}_{number}");
        let port = PORT.to_string();
        let mut createdb = self.command("createdb");
        createdb.args(["-h".as_ref(), self.root.as_os_str()]);
        createdb.args(["-p", &port, "-U", "postgres", &database]);
        run(&mut createdb, &format!("createdb {database}"))?;
        Ok(self.url(&database))
    }

    /// The URL of `database` in this cluster, for sqlx, libpq or `psql`:
    /// `postgres://postgres@localhost/DATABASE?host=SOCKET_DIR&port=5432`. No password:
    /// the cluster trusts every local connection.
    ///
    /// ```no_run
    /// let cluster = hpp_testdb::Cluster::shared()?;
    /// let url = cluster.url("postgres"); // the database initdb creates
    /// assert!(url.ends_with("&port=5432"));
    /// # Ok::<(), hpp_testdb::Error>(())
    /// ```
    #[must_use]
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}&port={PORT}",
            self.root.display()
        )
    }

    /// The directory of the server's Unix socket (also the cluster's directory, holding
    /// `data/` and `postgres.log`). Give it to `psql -h`.
    ///
    /// ```no_run
    /// let cluster = hpp_testdb::Cluster::shared()?;
    /// assert!(cluster.socket_dir().join(".s.PGSQL.5432").exists());
    /// # Ok::<(), hpp_testdb::Error>(())
    /// ```
    #[must_use]
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    /// The directory of the Postgres binaries in use.
    ///
    /// ```no_run
    /// let cluster = hpp_testdb::Cluster::shared()?;
    /// assert!(cluster.bin_dir().join("initdb").exists());
    /// # Ok::<(), hpp_testdb::Error>(())
    /// ```
    #[must_use]
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The server's log file.
    fn log(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// A command for the Postgres binary `name`, run as the cluster's owner in its directory.
    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin.join(name));
        command.current_dir(&self.root).env_remove("PGDATA");
        if let Some(owner) = self.owner {
            command.uid(owner.uid).gid(owner.gid);
        }
        command
    }

    /// `initdb`, after handing the directory to the owner.
    fn init(&self) -> Result<(), Error> {
        if let Some(owner) = self.owner {
            std::os::unix::fs::chown(&self.root, Some(owner.uid), Some(owner.gid)).map_err(
                |source| Error::Io {
                    what: format!("handing {} to the postgres user", self.root.display()),
                    source,
                },
            )?;
        }
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(self.root.join("data")).args([
            "--auth=trust",
            "--username=postgres",
            "--no-sync",
            "--no-instructions",
            "--encoding=UTF8",
            "--locale=C",
        ]);
        run(&mut initdb, "initdb").map(drop)
    }

    /// Starts the wrapper that runs the server.
    fn spawn_server(&mut self) -> Result<(), Error> {
        let mut shell = Command::new("/bin/sh");
        shell
            .current_dir(&self.root)
            .arg("-c")
            .arg(WRAPPER)
            .arg("hpp-testdb")
            .arg(self.bin.join("postgres"))
            .arg(self.root.join("data"))
            .arg(&self.root)
            .arg(PORT.to_string())
            .arg(self.log())
            .arg(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C to the tests reaches the tests only, and the
            // closing pipe then stops the server cleanly.
            .process_group(0);
        if let Some(owner) = self.owner {
            shell.uid(owner.uid).gid(owner.gid);
        }
        let mut child = shell.spawn().map_err(|source| Error::Io {
            what: "starting the Postgres server".into(),
            source,
        })?;
        let stdin = child.stdin.take().ok_or_else(|| Error::Io {
            what: "starting the Postgres server".into(),
            source: io::Error::other("the wrapper has no standard input pipe"),
        })?;
        self.wrapper = Some(Wrapper { child, stdin });
        Ok(())
    }

    /// Polls `pg_isready` until the server accepts connections, or fails with its log when
    /// the server exits or `timeout` has passed.
    fn wait_until_ready(&mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(wrapper) = &mut self.wrapper
                && let Ok(Some(status)) = wrapper.child.try_wait()
            {
                return Err(
                    self.not_ready(format!("exited ({status}) before accepting connections"))
                );
            }
            let mut ready = self.command("pg_isready");
            ready
                .arg("-h")
                .arg(&self.root)
                .args(["-p", &PORT.to_string(), "-U", "postgres", "-q"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if ready.status().is_ok_and(|status| status.success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(
                    self.not_ready(format!("did not accept connections within {timeout:?}"))
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn not_ready(&self, reason: String) -> Error {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        Error::NotReady {
            root: self.root.display().to_string(),
            reason,
            log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        }
    }
}

impl Drop for Cluster {
    /// Stops the server and removes the directory, and waits for both.
    fn drop(&mut self) {
        match self.wrapper.take() {
            Some(Wrapper { mut child, stdin }) => {
                drop(stdin); // end of file: the wrapper stops the server, removes the directory
                if let Err(error) = child.wait() {
                    tracing::warn!(%error, root = %self.root.display(), "waiting for the Postgres cluster to stop");
                }
            }
            // Never started: nothing runs, only the directory is left.
            None => {
                if let Err(error) = std::fs::remove_dir_all(&self.root) {
                    tracing::warn!(%error, root = %self.root.display(), "removing the cluster's directory");
                }
            }
        }
        tracing::info!(root = %self.root.display(), "stopped the throwaway Postgres cluster");
    }
}

/// Runs `command` to completion; an error with its output when it fails.
fn run(command: &mut Command, what: &str) -> Result<Output, Error> {
    let output = command.output().map_err(|source| Error::Io {
        what: format!("running {what}"),
        source,
    })?;
    if output.status.success() {
        return Ok(output);
    }
    Err(Error::Command {
        command: what.into(),
        status: output.status,
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// Whether `dir` holds the server binaries this crate runs.
fn has_binaries(dir: &Path) -> bool {
    ["initdb", "postgres", "pg_isready", "createdb"]
        .iter()
        .all(|name| dir.join(name).is_file())
}

/// The directory of the Postgres binaries: `$HPP_TESTDB_PG_BIN`, the newest
/// `/usr/lib/postgresql/*/bin`, or the first directory of `PATH` that has them.
fn find_binaries() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os(BIN_DIR_VARIABLE) {
        let dir = PathBuf::from(dir);
        if has_binaries(&dir) {
            return Ok(dir);
        }
        return Err(Error::BinariesNotFound {
            searched: format!("{BIN_DIR_VARIABLE}={}", dir.display()),
        });
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| has_binaries(dir))
        .ok_or_else(|| Error::BinariesNotFound {
            searched: format!("${BIN_DIR_VARIABLE} (unset), /usr/lib/postgresql/*/bin and PATH"),
        })
}

/// The user to run the cluster as: `postgres` when this process is root, else this user.
fn owner() -> Result<Option<Owner>, Error> {
    if !nix::unistd::Uid::effective().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name("postgres") {
        Ok(Some(user)) => Ok(Some(Owner {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })),
        Ok(None) => Err(Error::NoPostgresUser),
        Err(errno) => Err(Error::Io {
            what: "looking up the postgres user".into(),
            source: io::Error::from(errno),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_never_answers_is_given_up_on_after_the_timeout() {
        // A cluster directory in which no server runs: `pg_isready` never succeeds.
        let mut cluster = Cluster::stopped(
            tempfile::tempdir().unwrap().keep(),
            find_binaries().unwrap(),
            None,
        );
        let started = Instant::now();
        let error = cluster
            .wait_until_ready(Duration::from_millis(300))
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(
            error
                .to_string()
                .contains("did not accept connections within 300ms"),
            "{error}"
        );
    }
}
