//! Replays every committed fuzz corpus file through the same check the fuzz target runs
//! (this crate's modules), so the seeds and every past finding stay checked on stable Rust,
//! in plain `cargo test`, without cargo-fuzz.

use std::fs;
use std::path::{Path, PathBuf};

use hpp_fuzz_checks::{actions, parse_status, timestamp, tracker, wire_json};

/// The repository's root: this crate lives in `crates/hpp-fuzz-checks`.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files of `fuzz/corpus/<target>/`, sorted.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = repository().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Feeds every file of the corpus of `target` to `check`; returns how many there were.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let files = corpus(target);
    for file in &files {
        let data = fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails its check", file.display());
    }
    files.len()
}

#[test]
fn the_parse_status_corpus_passes_its_checks() {
    let replayed = replay("parse_status", parse_status::check);
    // The seeds alone are more than this: an empty or misplaced corpus must not pass.
    assert!(replayed >= 40, "only {replayed} files replayed");
}

#[test]
fn the_actions_corpus_passes_its_checks() {
    let replayed = replay("actions", actions::check);
    assert!(replayed >= 60, "only {replayed} files replayed");
}

#[test]
fn the_parse_status_corpus_holds_the_seeds_it_promises() {
    let files: Vec<Vec<u8>> = corpus("parse_status")
        .iter()
        .map(|file| fs::read(file).unwrap())
        .collect();
    let has = |seed: &[u8]| files.iter().any(|data| data == seed);
    for status in hpp_status::Status::ALL {
        assert!(has(status.as_str().as_bytes()), "{status}");
        assert!(has(format!("\"{status}\"").as_bytes()), "\"{status}\"");
    }
    for near_miss in ["in_progress", "COMPLETE", "MANUAL_ID_CHECK", "TIMEOUT", ""] {
        assert!(has(near_miss.as_bytes()), "{near_miss:?}");
    }
    assert!(files.iter().any(|data| std::str::from_utf8(data).is_err()));
    assert!(files.iter().any(|data| data.len() > 32));
}

#[test]
fn the_tracker_corpus_passes_its_checks() {
    let replayed = replay("tracker", tracker::check);
    assert!(replayed >= 30, "only {replayed} files replayed");
}

#[test]
fn the_timestamp_corpus_passes_its_checks() {
    let replayed = replay("timestamp", timestamp::check);
    assert!(replayed >= 50, "only {replayed} files replayed");
}

/// The file of `fuzz/corpus/<target>/` named `name`.
fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = repository().join("fuzz/corpus").join(target).join(name);
    fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_timestamp_corpus_holds_every_reproduction() {
    // Each defect of the former parser, and the edges of the range.
    for (name, text) in [
        ("seed-never", "9999-12-31T23:59:59.000Z"),
        ("seed-basic-format", "20190513T145146Z"),
        ("seed-hour-only", "2019-05-13T14Z"),
        ("seed-comma-fraction", "2019-05-13T14:51:46,288Z"),
        ("seed-offset-hours", "2019-05-13T14:51:46+02"),
        ("seed-offset-no-colon", "2019-05-13T14:51:46+0200"),
        ("seed-offset-seconds", "2019-05-13T14:51:46+02:00:30"),
        ("seed-offset-24", "2019-05-13T14:51:46+24:00"),
        ("seed-six-digit-year", "+002019-05-13T14:51:46Z"),
        ("seed-annotation", "2019-05-13T14:51:46Z[Europe/Paris]"),
        ("seed-year-0000-plus-one", "0000-01-01T00:00:00+01:00"),
        (
            "seed-leap-second-order",
            "2016-12-31T23:59:60.000Z\n2016-12-31T23:59:59.700Z",
        ),
        ("seed-min", "0000-01-01T00:00:00+23:59"),
        ("seed-max", "9999-12-31T23:59:59.999999999-23:59"),
    ] {
        assert_eq!(seed("timestamp", name), text.as_bytes(), "{name}");
    }
    assert_eq!(seed("timestamp", "seed-bogus-long").len(), 4096);
}

#[test]
fn the_wire_json_corpus_passes_its_checks() {
    let replayed = replay("wire_json", wire_json::check);
    assert!(replayed >= 100, "only {replayed} files replayed");
}

#[test]
fn the_wire_json_corpus_holds_the_seeds_it_promises() {
    let files: Vec<Vec<u8>> = corpus("wire_json")
        .iter()
        .map(|file| fs::read(file).unwrap())
        .collect();
    let has = |seed: &[u8]| files.iter().any(|data| data == seed);
    let root = repository();
    for data in [
        "tests/data/status_callback.json",
        "tests/data/read_session_completed.json",
    ] {
        assert!(has(&fs::read(root.join(data)).unwrap()), "{data}");
    }
    let deliveries =
        fs::read_to_string(root.join("crates/hpp-reconcile/data/deliveries.jsonl")).unwrap();
    for line in deliveries.lines() {
        assert!(has(line.as_bytes()), "{line}");
    }
    let contains = |needle: &str| {
        files
            .iter()
            .any(|data| data.windows(needle.len()).any(|w| w == needle.as_bytes()))
    };
    // The partial-payload reproductions.
    for (name, needle) in [
        ("seed-partial-never-expires", "\"9999-12-31T23:59:59.000Z\""),
        (
            "seed-partial-manual-expires-bad",
            "\"manual_identification\":{",
        ),
        ("seed-partial-order-number", "\"order_id\":93"),
        (
            "seed-partial-expires-no-offset",
            "\"2019-05-15T13:51:43.507\"",
        ),
        ("seed-partial-duplicate-status", "\"status\":\"CANCELLED\""),
        ("seed-partial-timeout", "\"TIMEOUT\""),
        ("seed-partial-order-only", "\"order_id\""),
        ("seed-partial-no-event-id", "{\"session\":"),
        ("seed-partial-long-updated-at", "\"updated_at\":\"22222"),
    ] {
        let data = seed("wire_json", name);
        assert!(
            data.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{name} lacks {needle}"
        );
    }
    for needle in [
        "\"MANUAL_ID_CHECK\"",
        "+02:00",
        "46.2881Z",
        "\"updated_at\":1557759106288",
        "1e400",
        &"[".repeat(200),
    ] {
        assert!(contains(needle), "no seed holds {needle:?}");
    }
}
