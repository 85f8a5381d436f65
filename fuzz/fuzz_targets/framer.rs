//! Fuzz target: `fixring_core::fuzzing::frame_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fixring_core::fuzzing::frame_stream(data));
