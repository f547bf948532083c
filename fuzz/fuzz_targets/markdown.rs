#![no_main]
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run markdown`: see `sendguard_fuzz::markdown` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sendguard_fuzz::markdown(data));
