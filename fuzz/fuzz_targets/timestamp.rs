//! Arbitrary bytes as one or two RFC 3339 texts (split at the first newline), read by
//! `wire::Timestamp` and by a reference reading of the grammar. The properties are in
//! `hpp_fuzz_checks::timestamp`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hpp_fuzz_checks::timestamp as checks;

fuzz_target!(|data: &[u8]| checks::check(data));
