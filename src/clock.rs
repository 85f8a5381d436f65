//! The engine's clock: the one place that reads system time for the core.

use std::time::{SystemTime, UNIX_EPOCH};

use fixring_core::{Instant, UtcTimestamp, WallClock};

/// A monotonic clock whose origin is the engine's start, with its wall-clock mapping.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: std::time::Instant,
    wall: WallClock,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn start() -> Self {
        let origin = std::time::Instant::now();
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
    pub(crate) fn now(&self) -> Instant {
        let nanos = self.origin.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The mapping of instants to wall-clock time, for SendingTime and events.
    pub(crate) fn wall(&self) -> WallClock {
        self.wall
    }
}
