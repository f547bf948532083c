#![no_main]
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run rules`: see `sendguard_fuzz::rules` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sendguard_fuzz::rules(data));
