//! The laws each fuzz target of `hpp-status` checks: one module per target, each with one
//! `check(data: &[u8])` that panics when a law fails.
//!
//! Two callers share every check: the fuzz target of the same name (`fuzz/fuzz_targets/`,
//! run with `bash scripts/fuzz.sh`) and this crate's `tests/corpus_replay.rs`, which feeds it
//! every committed file of `fuzz/corpus/<target>/` in plain `cargo test` on stable Rust.
//!
//! ```
//! // A status name, then arbitrary bytes: every law holds, so nothing panics.
//! hpp_fuzz_checks::parse_status::check(b"IN_PROGRESS");
//! hpp_fuzz_checks::wire_json::check(br#"{"status":"BACK","updated_at":"2019-05-13T14:51:46.288Z"}"#);
//! hpp_fuzz_checks::timestamp::check(b"2019-05-13T14:51:46.288Z\n0000-01-01T00:00:00+01:00");
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
pub mod parse_status;
pub mod timestamp;
pub mod tracker;
pub mod wire_json;
