//! The idle policy: how a backend's `poll` waits while nothing has completed, by
//! [`BusyPoll`].
//!
//! - `Spin`: look again and again without sleeping, until something is found or the deadline
//!   passes; a spinning loop never sleeps.
//! - `Park`: sleep in the kernel until something is found or the deadline passes.
//! - `SpinThenPark(window)`: spin for `window` (never past the deadline), then park.
//!
//! Every policy that spins looks at least once, however close the deadline.

use std::io;
use std::time::Instant;

use fixring_core::config::BusyPoll;

/// What a backend does while it waits.
pub trait Waiter {
    /// Looks for completions without sleeping; whether it found any.
    fn look(&mut self) -> io::Result<bool>;

    /// Sleeps until something is found or `deadline` passes (forever when `None`).
    fn park(&mut self, deadline: Option<Instant>) -> io::Result<()>;
}

/// The earlier of two deadlines, `None` meaning never.
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Waits by `policy`, from a poll that started at `start`, until `waiter` finds something
/// or `deadline` passes (forever when `None`).
pub fn wait(
    policy: BusyPoll,
    start: Instant,
    deadline: Option<Instant>,
    waiter: &mut impl Waiter,
) -> io::Result<()> {
    let spin_until = match policy {
        BusyPoll::Park => return waiter.park(deadline),
        BusyPoll::Spin => deadline,
        // A window too long to represent spins until the deadline.
        BusyPoll::SpinThenPark(window) => earliest(start.checked_add(window), deadline),
    };
    loop {
        if waiter.look()? {
            return Ok(());
        }
        // A deadline no later than the start (a poll that must not wait, every turn of a
        // spinning loop) has passed without reading the clock.
        if spin_until.is_some_and(|until| until <= start || Instant::now() >= until) {
            break;
        }
        std::hint::spin_loop();
    }
    match policy {
        BusyPoll::Spin => Ok(()),
        BusyPoll::Park | BusyPoll::SpinThenPark(_) => waiter.park(deadline),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn earliest_treats_none_as_never() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        assert_eq!(earliest(Some(later), Some(now)), Some(now));
        assert_eq!(earliest(None, Some(later)), Some(later));
        assert_eq!(earliest(None, None), None);
    }
}
