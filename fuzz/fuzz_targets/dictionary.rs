//! Fuzz target: `fixring_core::fuzzing::dictionary_input`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fixring_core::fuzzing::dictionary_input(data));
