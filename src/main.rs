//! The fixring command line.

fn main() {}
