//! Codec benchmarks.

fn main() {}
