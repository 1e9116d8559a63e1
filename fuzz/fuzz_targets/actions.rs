//! An arbitrary start status and action sequence, applied step by step.
//! The properties are in `fuzz/checks/actions.rs`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks/actions.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check(data));
