//! The engine's clock: the one place that reads system time for the core.

use std::time::{SystemTime, UNIX_EPOCH};

use fixring_core::{Instant, UtcTimestamp, WallClock};

/// A monotonic clock whose origin is the engine's start, with its wall-clock mapping.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    /// `CLOCK_MONOTONIC` at the start, in nanoseconds.
    origin: u64,
    wall: WallClock,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn start() -> Self {
        let origin = monotonic_nanos();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self {
            origin,
            wall: WallClock::new(Instant::ZERO, UtcTimestamp::from_unix_nanos(nanos)),
        }
    }

    /// The current instant.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(monotonic_nanos().saturating_sub(self.origin))
    }

    /// The mapping of instants to wall-clock time, for SendingTime and events.
    pub(crate) fn wall(&self) -> WallClock {
        self.wall
    }
}

/// `CLOCK_MONOTONIC` (what `std::time::Instant` reads) in nanoseconds: a loop reads it once
/// or twice a turn, and this skips `Instant`'s checked `Duration` arithmetic (callgrind, on
/// `fixring bench`: about 70 instructions fewer a reading than through `Instant::elapsed`).
#[inline]
fn monotonic_nanos() -> u64 {
    read(libc::CLOCK_MONOTONIC).map_or(0, |(secs, nanos)| {
        secs.saturating_mul(1_000_000_000).saturating_add(nanos)
    })
}

/// Seconds and nanoseconds of `clock`, if it can be read: a thread's CPU clock fails once the
/// thread has ended.
#[inline]
pub(crate) fn read(clock: libc::clockid_t) -> Option<(u64, u64)> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Safety: `ts` is a valid, writable timespec for the call; a clock that cannot be read
    // fails (EINVAL), which is reported as `None`.
    let rc = unsafe { libc::clock_gettime(clock, &raw mut ts) };
    if rc != 0 {
        return None;
    }
    Some((
        u64::try_from(ts.tv_sec).ok()?,
        u64::try_from(ts.tv_nsec).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_with_the_monotonic_clock() {
        let clock = Clock::start();
        // The same clock underneath: the readings of `clock` lie within `start..` its end.
        let start = std::time::Instant::now();
        let first = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = clock.now();
        let elapsed = start.elapsed();
        let moved = second.saturating_duration_since(first);
        assert!(moved >= std::time::Duration::from_millis(20));
        assert!(moved <= elapsed);
    }
}
