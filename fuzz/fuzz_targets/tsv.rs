#![no_main]
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run tsv`: see `sendguard_fuzz::tsv` for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sendguard_fuzz::tsv(data));
