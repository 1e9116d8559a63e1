//! Arbitrary bytes as a status name, as a JSON document and as the content of a JSON string.
//! The properties are in `hpp_fuzz_checks::parse_status`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hpp_fuzz_checks::parse_status as checks;

fuzz_target!(|data: &[u8]| checks::check(data));
