//! Arbitrary observation sequences, legal or not, shown to trackers in several orders and
//! pieces. The properties are in `hpp_fuzz_checks::tracker`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hpp_fuzz_checks::tracker as checks;

fuzz_target!(|data: &[u8]| checks::check(data));
