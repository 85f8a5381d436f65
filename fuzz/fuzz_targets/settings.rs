//! Fuzz target: `fixring_core::fuzzing::settings_text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fixring_core::fuzzing::settings_text(data));
