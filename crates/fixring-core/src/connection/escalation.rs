//! The blueprint's escalation trigger, `error_rate > 5`: more than [`ErrorRate::LIMIT`]
//! connection errors within [`ErrorRate::WINDOW`], sans-IO.

use std::collections::VecDeque;
use std::time::Duration;

use crate::Instant;

/// The connection errors of one session or one acceptor port, in a sliding window: says when
/// an error makes them more than [`ErrorRate::LIMIT`] within [`ErrorRate::WINDOW`], once per
/// crossing. It holds the times of the last `LIMIT + 1` errors only, which is enough to know
/// whether the window holds more than `LIMIT`.
///
/// Driven by the [`Instant`] of the inputs that reported the errors; nothing here reads a
/// clock.
#[derive(Clone, Debug, Default)]
pub struct ErrorRate {
    /// The times of the last errors, oldest first; never more than `LIMIT + 1`.
    times: VecDeque<Instant>,
    /// The rate crossed the limit and has not fallen back to it since.
    escalated: bool,
}

impl ErrorRate {
    /// The most errors within [`ErrorRate::WINDOW`] that do not escalate.
    pub const LIMIT: usize = 5;
    /// The length of the sliding window.
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// An error happened at `now`. The rate is measured at each error: the errors within
    /// the window that ends with it, this one included. Returns that count (always
    /// `LIMIT + 1`) when this error takes the rate above [`ErrorRate::LIMIT`]; `None` while
    /// the rate stays at or below the limit, and while it stays above after a crossing. Once
    /// an error finds the rate at the limit or below again, the next crossing is reported
    /// too.
    pub fn record(&mut self, now: Instant) -> Option<usize> {
        while self
            .times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= Self::WINDOW)
        {
            self.times.pop_front();
        }
        self.times.push_back(now);
        if self.times.len() > Self::LIMIT + 1 {
            self.times.pop_front();
        }
        if self.times.len() <= Self::LIMIT {
            self.escalated = false;
            return None;
        }
        if self.escalated {
            return None;
        }
        self.escalated = true;
        Some(self.times.len())
    }

    /// Whether the rate was above the limit at the last error recorded.
    pub fn is_escalated(&self) -> bool {
        self.escalated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records an error at each of `secs` and gives what each returned.
    fn record_at(rate: &mut ErrorRate, secs: &[u64]) -> Vec<Option<usize>> {
        secs.iter()
            .map(|&s| rate.record(Instant::from_secs(s)))
            .collect()
    }

    #[test]
    fn not_before_the_sixth_error_within_a_minute() {
        let mut rate = ErrorRate::new();
        assert_eq!(record_at(&mut rate, &[0, 1, 2, 3, 4]), vec![None; 5]);
        assert!(!rate.is_escalated());
        assert_eq!(rate.record(Instant::from_secs(59)), Some(6));
        assert!(rate.is_escalated());
    }

    #[test]
    fn six_errors_spread_over_more_than_a_minute_do_not_escalate() {
        let mut rate = ErrorRate::new();
        // The first error is 60 s before the sixth: out of the window.
        assert_eq!(
            record_at(&mut rate, &[0, 12, 24, 36, 48, 60]),
            vec![None; 6]
        );
        assert!(!rate.is_escalated());
    }

    #[test]
    fn once_per_crossing() {
        let mut rate = ErrorRate::new();
        let got = record_at(&mut rate, &(0..20).collect::<Vec<_>>());
        let expected: Vec<_> = (0..20).map(|i| (i == 5).then_some(6)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn again_after_the_rate_falls_back() {
        let mut rate = ErrorRate::new();
        assert_eq!(record_at(&mut rate, &[0, 1, 2, 3, 4, 5])[5], Some(6));
        // At 61 s the errors of 0 and 1 s have left the window: 4 of them, plus this one.
        assert_eq!(rate.record(Instant::from_secs(61)), None);
        assert!(!rate.is_escalated());
        // Another at the same time: six within the window again.
        assert_eq!(rate.record(Instant::from_secs(61)), Some(6));
        assert_eq!(rate.record(Instant::from_secs(62)), None);
    }

    #[test]
    fn still_above_the_limit_is_not_a_new_crossing() {
        let mut rate = ErrorRate::new();
        // Errors every 10 s: six within any minute from the sixth on.
        let got = record_at(&mut rate, &(0..30).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(got.iter().filter(|r| r.is_some()).count(), 1);
        assert_eq!(got[5], Some(6));
    }

    #[test]
    fn the_ring_stays_bounded() {
        let mut rate = ErrorRate::new();
        for i in 0..1000 {
            rate.record(Instant::from_millis(i));
        }
        assert_eq!(rate.times.len(), ErrorRate::LIMIT + 1);
    }
}
