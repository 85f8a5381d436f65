//! Timers as a small table of named deadlines.
//!
//! The core never sleeps and never spawns anything: a state machine keeps one optional deadline
//! per named timer, reports the earliest through its `poll_timeout()`, and the caller calls its
//! `handle_timeout(now)` once that instant has come. [`TimerTable`] is that table, generic over
//! the machine's own enum of timers so that the connection lifecycle and the session layer share
//! one implementation.
//!
//! ```
//! use fixring_core::Instant;
//! use fixring_core::timer::{TimerName, TimerTable};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq)]
//! enum Timer {
//!     Heartbeat,
//!     TestRequest,
//! }
//!
//! impl TimerName for Timer {
//!     const ALL: &'static [Self] = &[Self::Heartbeat, Self::TestRequest];
//!     fn index(self) -> usize {
//!         self as usize
//!     }
//!     fn as_str(self) -> &'static str {
//!         match self {
//!             Self::Heartbeat => "heartbeat",
//!             Self::TestRequest => "test_request",
//!         }
//!     }
//! }
//!
//! let mut timers = TimerTable::<Timer, 2>::new();
//! timers.set(Timer::TestRequest, Instant::from_secs(36));
//! timers.set(Timer::Heartbeat, Instant::from_secs(30));
//! assert_eq!(timers.next(), Some((Timer::Heartbeat, Instant::from_secs(30))));
//! assert_eq!(timers.poll_expired(Instant::from_secs(29)), None);
//! assert_eq!(
//!     timers.poll_expired(Instant::from_secs(31)),
//!     Some((Timer::Heartbeat, Instant::from_secs(30)))
//! );
//! assert_eq!(timers.next_deadline(), Some(Instant::from_secs(36)));
//! ```

use core::fmt;
use core::marker::PhantomData;

use crate::Instant;

/// An enum naming the timers of one state machine.
///
/// Implementors list every variant in [`TimerName::ALL`], and [`TimerName::index`] returns the
/// variant's position in that list (for a field-less enum declared in the same order, `self as
/// usize`).
pub trait TimerName: Copy + Eq + fmt::Debug + 'static {
    /// Every timer, in index order.
    const ALL: &'static [Self];

    /// The timer's position in [`TimerName::ALL`].
    fn index(self) -> usize;

    /// A short lower-case name for logs, e.g. `reconnect`.
    fn as_str(self) -> &'static str;
}

/// One optional deadline per timer of `T`; `N` is the number of timers (`T::ALL.len()`).
///
/// Setting a timer replaces its previous deadline; a deadline is reported as expired once `now`
/// has reached it (`deadline <= now`). When two deadlines are equal, the timer listed first in
/// [`TimerName::ALL`] comes first.
#[derive(Clone, PartialEq, Eq)]
pub struct TimerTable<T: TimerName, const N: usize> {
    deadlines: [Option<Instant>; N],
    names: PhantomData<T>,
}

impl<T: TimerName, const N: usize> TimerTable<T, N> {
    /// A table with every timer stopped.
    ///
    /// Fails to compile when `N` is not the number of timers in `T::ALL`.
    pub const fn new() -> Self {
        const { assert!(N == T::ALL.len(), "N must equal T::ALL.len()") };
        Self {
            deadlines: [None; N],
            names: PhantomData,
        }
    }

    /// Arms `timer` to expire at `deadline`, replacing any earlier setting.
    pub fn set(&mut self, timer: T, deadline: Instant) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = Some(deadline);
        }
    }

    /// Stops `timer`; it no longer expires.
    pub fn stop(&mut self, timer: T) {
        if let Some(slot) = self.deadlines.get_mut(timer.index()) {
            *slot = None;
        }
    }

    /// Stops every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; N];
    }

    /// The deadline of `timer`, if it is armed.
    pub fn get(&self, timer: T) -> Option<Instant> {
        self.deadlines.get(timer.index()).copied().flatten()
    }

    /// Whether `timer` is armed.
    pub fn is_armed(&self, timer: T) -> bool {
        self.get(timer).is_some()
    }

    /// Whether `timer` is armed and its deadline has been reached at `now`.
    pub fn expired(&self, timer: T, now: Instant) -> bool {
        self.get(timer).is_some_and(|deadline| deadline <= now)
    }

    /// The earliest armed timer and its deadline.
    pub fn next(&self) -> Option<(T, Instant)> {
        let mut earliest: Option<(T, Instant)> = None;
        for (&timer, deadline) in T::ALL.iter().zip(self.deadlines.iter()) {
            if let Some(deadline) = *deadline
                && earliest.is_none_or(|(_, best)| deadline < best)
            {
                earliest = Some((timer, deadline));
            }
        }
        earliest
    }

    /// The earliest armed deadline: what a state machine's `poll_timeout()` returns.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next().map(|(_, deadline)| deadline)
    }

    /// Stops and returns the earliest timer that has expired at `now`, with its deadline.
    ///
    /// Call it in a loop from `handle_timeout(now)` to handle every expired timer in deadline
    /// order; the deadline is when the timer's event happened, however late `now` is.
    pub fn poll_expired(&mut self, now: Instant) -> Option<(T, Instant)> {
        let (timer, deadline) = self.next()?;
        if deadline > now {
            return None;
        }
        self.stop(timer);
        Some((timer, deadline))
    }
}

impl<T: TimerName, const N: usize> Default for TimerTable<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TimerName, const N: usize> fmt::Debug for TimerTable<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (timer, deadline) in T::ALL.iter().zip(self.deadlines.iter()) {
            if let Some(deadline) = deadline {
                map.entry(&timer.as_str(), &format_args!("{deadline}"));
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Name {
        A,
        B,
        C,
    }

    impl TimerName for Name {
        const ALL: &'static [Self] = &[Self::A, Self::B, Self::C];
        fn index(self) -> usize {
            self as usize
        }
        fn as_str(self) -> &'static str {
            match self {
                Self::A => "a",
                Self::B => "b",
                Self::C => "c",
            }
        }
    }

    type Table = TimerTable<Name, 3>;

    #[test]
    fn empty_table_has_no_deadline() {
        let mut table = Table::new();
        assert_eq!(table.next(), None);
        assert_eq!(table.next_deadline(), None);
        assert_eq!(table.poll_expired(Instant::from_nanos(u64::MAX)), None);
        assert!(!table.is_armed(Name::A));
    }

    #[test]
    fn next_is_the_minimum_and_ties_follow_declaration_order() {
        let mut table = Table::new();
        table.set(Name::C, Instant::from_secs(5));
        table.set(Name::B, Instant::from_secs(5));
        table.set(Name::A, Instant::from_secs(9));
        assert_eq!(table.next(), Some((Name::B, Instant::from_secs(5))));
        table.set(Name::A, Instant::from_secs(1));
        assert_eq!(table.next(), Some((Name::A, Instant::from_secs(1))));
        table.stop(Name::A);
        assert_eq!(table.next_deadline(), Some(Instant::from_secs(5)));
        assert_eq!(
            format!("{table:?}"),
            "{\"b\": 5.000000000s, \"c\": 5.000000000s}"
        );
    }

    #[test]
    fn expiry_is_inclusive_and_polling_stops_the_timer() {
        let mut table = Table::new();
        table.set(Name::A, Instant::from_secs(10));
        table.set(Name::B, Instant::from_secs(20));
        let just_before = Instant::from_nanos(Instant::from_secs(10).as_nanos() - 1);
        assert!(!table.expired(Name::A, just_before));
        assert_eq!(table.poll_expired(just_before), None);
        assert!(table.expired(Name::A, Instant::from_secs(10)));
        let late = Instant::from_secs(30);
        assert_eq!(
            table.poll_expired(late),
            Some((Name::A, Instant::from_secs(10)))
        );
        assert_eq!(
            table.poll_expired(late),
            Some((Name::B, Instant::from_secs(20)))
        );
        assert_eq!(table.poll_expired(late), None);
        assert!(!table.is_armed(Name::A));
    }

    #[test]
    fn stop_all_clears_everything() {
        let mut table = Table::default();
        for &name in Name::ALL {
            table.set(name, Instant::from_secs(1));
        }
        table.stop_all();
        assert_eq!(table, Table::new());
    }
}
