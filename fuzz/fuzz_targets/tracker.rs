//! Arbitrary observation sequences, legal or not, shown to trackers in several orders and
//! pieces. The properties are in `fuzz/checks/tracker.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/tracker.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check(data));
