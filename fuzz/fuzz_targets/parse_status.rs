//! Arbitrary bytes as a status name, as a JSON document and as the content of a JSON string.
//! The properties are in `fuzz/checks/parse_status.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/parse_status.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check(data));
