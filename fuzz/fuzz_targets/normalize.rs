#![no_main]
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run normalize`: see `sendguard_fuzz::normalize` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sendguard_fuzz::normalize(data));
