//! A full disk halfway through a run: one merchant on SQLite whose database lives on a small
//! tmpfs, the simulator as Klarna, sessions flowing (callbacks, batch reads, orders). When
//! the sessions are created, a ballast file fills the tmpfs until the merchant's writes fail,
//! stays for 8 s, and is removed. Then every order owed must be placed (the simulator's
//! truth) and no write may fail once the disk has room again (the merchant's and the store's
//! error events, counted by a tracing layer, and a write probe on the merchant's own pool).
//!
//! Mounting a tmpfs needs root (CI runs as root): as another user the test fails and says
//! so; it never skips.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{World, check_run, fault_counts, start_sim};
use hpp_merchant::serve;
use hpp_sim::{Driver, FaultConfig};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// Time runs 300 times faster: sessions live 2 world hours (24 s), tokens as long, so a
/// completion during the 8 s outage still has its token when the disk has room again.
const WORLD: World = World {
    compression: 300.0,
    session_lifetime: Duration::from_secs(2 * 3600),
    token_lifetime: Duration::from_secs(2 * 3600),
};
const SESSIONS: u64 = 200;
/// The tmpfs: room for the database and its WAL, and little else.
const TMPFS_SIZE: &str = "size=24m";
/// How long writes fail.
const OUTAGE: Duration = Duration::from_secs(8);
/// After the ballast is removed, calls that were under way may still end in the error they
/// met; from then on no write may fail.
const GRACE: Duration = Duration::from_secs(1);

/// A tmpfs mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Tmpfs {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .expect("running `id -u`");
        let uid = String::from_utf8_lossy(&uid.stdout).trim().to_owned();
        assert_eq!(
            uid, "0",
            "this test mounts a tmpfs (`mount -t tmpfs`) to fill the database's disk: it \
             needs root, as CI runs it; run it as root (uid {uid} here)"
        );
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", TMPFS_SIZE, "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("running mount");
        assert!(
            output.status.success(),
            "mount -t tmpfs -o {TMPFS_SIZE} tmpfs {}: {}",
            dir.path().display(),
            String::from_utf8_lossy(&output.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            // Busy (a connection still open after a failed assertion): detach it.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Fills the file system of `path` with a file there until a write fails.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("the ballast file");
    let chunk = vec![0_u8; 64 * 1024];
    let mut written = 0;
    while file.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    // The last bytes, smaller than a chunk.
    while file.write_all(&[0]).is_ok() {
        written += 1;
    }
    let _ = file.sync_all();
    written
}

/// An error event of the merchant or the store: when, and what it said.
#[derive(Clone, Debug)]
struct ErrorEvent {
    at: Instant,
    text: String,
}

/// Records every ERROR event whose target is the merchant's or the store's.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<ErrorEvent>>>);

impl Errors {
    fn since(&self, from: Instant) -> Vec<ErrorEvent> {
        let events = self.0.lock().unwrap();
        events.iter().filter(|e| e.at >= from).cloned().collect()
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Errors {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() == tracing::Level::ERROR
            && (meta.target().starts_with("hpp_merchant") || meta.target().starts_with("hpp_store"))
        {
            let mut fields = Fields(meta.target().to_owned());
            event.record(&mut fields);
            self.0.lock().unwrap().push(ErrorEvent {
                at: Instant::now(),
                text: fields.0,
            });
        }
    }
}

fn summarize(events: &[ErrorEvent]) -> String {
    let mut texts: Vec<&str> = events.iter().map(|e| e.text.as_str()).collect();
    texts.sort_unstable();
    texts.dedup();
    texts.truncate(5);
    format!("{} errors, such as {texts:#?}", events.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_for_eight_seconds_loses_no_order_and_leaves_writes_working() {
    let errors = Errors::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(errors.clone()))
        .expect("the test's tracing subscriber");
    let tmpfs = Tmpfs::mount();
    let database: PathBuf = tmpfs.path().join("merchant.db");
    let ballast = tmpfs.path().join("ballast");

    let mut sim_config = WORLD.sim_config(FaultConfig::none());
    sim_config.consumers_wait_for_page = true;
    let sim = start_sim(sim_config).await;
    let url = format!("sqlite://{}?mode=rwc", database.display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let merchant = serve(WORLD.merchant_config(url, sim.base_url()), listener)
        .await
        .expect("the merchant starts");

    let started = Instant::now();
    let driver = Driver {
        concurrency: 8,
        request_timeout: Duration::from_secs(30),
        checkout_token: Some(common::CHECKOUT_TOKEN.into()),
        ..Driver::new(merchant.base_url().parse().unwrap(), SESSIONS)
    };
    let checkouts = driver
        .create_checkouts(|_| {})
        .await
        .expect("the driver's HTTP client");
    let failed: Vec<String> = checkouts
        .iter()
        .filter_map(|c| c.result.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(failed.is_empty(), "checkouts failed: {failed:?}");

    // Halfway: the consumers are paying, callbacks and reads are under way.
    tokio::time::sleep(WORLD.wall(WORLD.session_lifetime) / 5).await;
    let filled_at = Instant::now();
    let bytes = fill(&ballast);
    // Until a write fails (the WAL may have had room left): the merchant's work logs an
    // error, or a write probe on its pool fails.
    loop {
        let probe = merchant.store().check_writable().await;
        if probe.is_err() || !errors.since(filled_at).is_empty() {
            break;
        }
        assert!(
            filled_at.elapsed() < Duration::from_secs(20),
            "no write failed within 20 s of filling the disk ({bytes} bytes of ballast)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failing_at = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    std::fs::remove_file(&ballast).expect("removing the ballast");
    let room_at = Instant::now();
    let during = errors.since(filled_at);
    eprintln!(
        "disk full for {:.1} s ({bytes} bytes of ballast), writes failing for {:.1} s: {}",
        room_at.duration_since(filled_at).as_secs_f64(),
        room_at.duration_since(failing_at).as_secs_f64(),
        summarize(&during)
    );

    // The merchant's own pool writes again as soon as the disk has room.
    tokio::time::sleep(GRACE).await;
    if let Err(error) = merchant.store().check_writable().await {
        panic!(
            "the disk has had room for {GRACE:?}, but the merchant's store still fails a write: \
             {error}; since then: {}",
            summarize(&errors.since(room_at + GRACE))
        );
    }

    let bound = sim.config().settle_bound() + Duration::from_secs(30);
    if let Err(error) = sim.wait_until_settled(bound).await {
        panic!("{error}");
    }
    let summary = sim.wait_for_orders(sim.timing().token_lifetime).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = errors.since(room_at + GRACE);
    assert!(
        after.is_empty(),
        "writes failed after the disk had room again: {}",
        summarize(&after)
    );
    eprintln!("{}", fault_counts("disk-full", &summary, started.elapsed()));
    let truth = sim.truth();
    let checked = check_run(&summary, &truth, merchant.store(), true).await;
    eprintln!("disk-full: {checked:?}");
    assert!(checked.completed_with_token > 0, "{checked:?}");
    merchant.shutdown().await;
    sim.shutdown().await.unwrap();
    drop(tmpfs);
}
