//! Pinning the benchmark's threads.

use crate::bench::BenchError;

/// Cores 0 and 1 when the machine has two or more, else `None` (run unpinned).
pub(super) fn default_cores() -> Option<(usize, usize)> {
    let ids = core_affinity::get_core_ids()?;
    let mut ids = ids.into_iter().map(|id| id.id);
    let first = ids.next()?;
    let second = ids.next()?;
    Some((first, second))
}

/// Pins the calling thread to `core`, when one is given.
pub(super) fn pin_current(core: Option<usize>) -> Result<(), BenchError> {
    let Some(core) = core else {
        return Ok(());
    };
    let pinned = core_affinity::get_core_ids()
        .and_then(|ids| ids.into_iter().find(|id| id.id == core))
        .is_some_and(core_affinity::set_for_current);
    if pinned {
        Ok(())
    } else {
        Err(BenchError::Thread(format!(
            "cannot pin a thread to core {core}"
        )))
    }
}
