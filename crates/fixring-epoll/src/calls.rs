//! The backend's count of its own system calls.

use std::cell::Cell;

/// System calls made, counted beside each call site. A `Cell` so that the `&self` paths
/// (registration, `local_addr`) count too; the backend lives on one thread.
#[derive(Debug, Default)]
pub(crate) struct Calls(Cell<u64>);

impl Calls {
    /// Counts `n` more calls.
    pub(crate) fn add(&self, n: u64) {
        self.0.set(self.0.get().wrapping_add(n));
    }

    /// The calls counted so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.get()
    }
}
