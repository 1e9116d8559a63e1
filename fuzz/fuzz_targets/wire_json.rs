//! Arbitrary bytes as a status callback, a Read Session body, a timestamp and a status text.
//! The properties are in `fuzz/checks/wire_json.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/wire_json.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check(data));
