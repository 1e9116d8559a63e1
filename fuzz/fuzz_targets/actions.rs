//! An arbitrary start status and action sequence, applied step by step.
//! The properties are in `hpp_fuzz_checks::actions`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hpp_fuzz_checks::actions as checks;

fuzz_target!(|data: &[u8]| checks::check(data));
