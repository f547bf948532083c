#![no_main]
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run send_json`: see `sendguard_fuzz::send_json` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sendguard_fuzz::send_json(data));
