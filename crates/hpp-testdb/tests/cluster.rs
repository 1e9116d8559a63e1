//! The cluster starts, serves a database per test, and leaves nothing behind: not when it is
//! dropped, and not when the process that started it is killed with SIGKILL.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hpp_testdb::Cluster;

/// Runs `sql` with `psql` against `database` of `cluster`; what it prints, unaligned.
fn psql(cluster: &Cluster, database: &str, sql: &str) -> String {
    let output = Command::new(cluster.bin_dir().join("psql"))
        .arg("-h")
        .arg(cluster.socket_dir())
        .args(["-p", "5432", "-U", "postgres", "-d", database, "-XAtc", sql])
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The server's process id, from the first line of `postmaster.pid`.
fn server_pid(root: &Path) -> u32 {
    let pid_file = std::fs::read_to_string(root.join("data/postmaster.pid")).unwrap();
    pid_file.lines().next().unwrap().parse().unwrap()
}

fn is_running(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits up to 30 s for `done`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serves_a_database_per_test() {
    let cluster = Cluster::shared().unwrap();
    let first = cluster.create_database("Serves a DB!").unwrap();
    let second = cluster.create_database("Serves a DB!").unwrap();
    assert_ne!(first, second);
    let name = |url: &str| {
        url.trim_start_matches("postgres://postgres@localhost/")
            .split('?')
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(name(&first).starts_with("serves_a_db__"), "{first}");
    assert_eq!(
        first,
        format!(
            "postgres://postgres@localhost/{}?host={}&port=5432",
            name(&first),
            cluster.socket_dir().display()
        )
    );
    psql(
        cluster,
        &name(&first),
        "CREATE TABLE t (x int); INSERT INTO t VALUES (42)",
    );
    assert_eq!(psql(cluster, &name(&first), "SELECT x FROM t"), "42");
    // The databases are separate.
    assert_eq!(
        psql(
            cluster,
            &name(&second),
            "SELECT count(*) FROM pg_tables WHERE tablename = 't'"
        ),
        "0"
    );
    // Nothing listens on TCP, and fsync is off.
    assert_eq!(psql(cluster, "postgres", "SHOW listen_addresses"), "");
    assert_eq!(psql(cluster, "postgres", "SHOW fsync"), "off");
    assert!(
        cluster.socket_dir().join(".s.PGSQL.5432").exists(),
        "the socket is in the cluster's directory"
    );
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let cluster = Cluster::start().unwrap();
    let root = cluster.socket_dir().to_owned();
    let pid = server_pid(&root);
    assert!(is_running(pid));
    assert_eq!(psql(&cluster, "postgres", "SELECT 1"), "1");
    // A new cluster numbers its databases from 1, as `Cluster::start`'s example shows.
    let url = cluster.create_database("my test").unwrap();
    assert!(url.contains("/my_test_1?host="), "{url}");
    drop(cluster);
    assert!(!is_running(pid), "the server {pid} still runs after drop");
    assert!(!root.exists(), "{} is left behind", root.display());
}

/// The helper process of the next test: starts a cluster, says where, and waits to be
/// killed. A plain run of the test suite (without the variable) skips it.
#[test]
fn helper_holds_a_cluster_until_killed() {
    if std::env::var_os("HPP_TESTDB_HELPER").is_none() {
        return;
    }
    let cluster = Cluster::start().unwrap();
    println!("ROOT {}", cluster.socket_dir().display());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn a_killed_process_leaves_no_server_and_no_directory() {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_holds_a_cluster_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HPP_TESTDB_HELPER", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(helper.stdout.take().unwrap());
    let root = stdout
        .lines()
        .map_while(Result::ok)
        // libtest writes `test NAME ... ` before the test's own output, on the same line.
        .find_map(|line| {
            line.split_once("ROOT ")
                .map(|(_, root)| PathBuf::from(root))
        })
        .expect("the helper prints its cluster's directory");
    let pid = server_pid(&root);
    assert!(is_running(pid));
    helper.kill().unwrap(); // SIGKILL: no destructor runs
    helper.wait().unwrap();
    eventually("the server stopping", || !is_running(pid));
    eventually("the directory being removed", || !root.exists());
}

#[test]
fn missing_binaries_say_how_to_install_them() {
    // Only this test sets the variable, in a child process, so that no other test sees it.
    if std::env::var_os("HPP_TESTDB_MISSING").is_some() {
        let error = Cluster::start().unwrap_err().to_string();
        println!("ERROR {error}");
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "missing_binaries_say_how_to_install_them",
            "--nocapture",
        ])
        .env("HPP_TESTDB_MISSING", "1")
        .env("HPP_TESTDB_PG_BIN", "/nonexistent")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.split_once("ERROR ").map(|(_, error)| error))
        .unwrap_or_else(|| panic!("no error line in {stdout}"));
    assert_eq!(
        line,
        "no Postgres server binaries (initdb, postgres) in HPP_TESTDB_PG_BIN=/nonexistent: \
         install the Postgres server with `apt-get install postgresql` (Debian, Ubuntu), or set \
         HPP_TESTDB_PG_BIN to the directory that holds `initdb`"
    );
}
