//! Arbitrary bytes as a status callback, a Read Session body, a timestamp and a status text.
//! The properties are in `hpp_fuzz_checks::wire_json`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hpp_fuzz_checks::wire_json as checks;

fuzz_target!(|data: &[u8]| checks::check(data));
