//! A flood reported, not narrated: the router's counts of the connections it closed for
//! newer ones or refused, turned into one `fix.connection.flood` event per
//! [`FLOOD_REPORT_INTERVAL`] at most.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::event::FLOOD_REPORT_INTERVAL;
use crate::{EventKind, Instant};

/// How many refusals of one interval get a `fix.connection.error` each; the rest are counted.
pub(super) const DETAILED_PER_INTERVAL: usize = 20;

/// The addresses a `fix.connection.flood` names at most.
const SOURCES: usize = 3;

/// The counts of the current interval, and the totals since the router was made.
#[derive(Debug, Default)]
pub(super) struct FloodReport {
    /// When the current interval began: at its first refusal or eviction.
    started: Option<Instant>,
    /// Refusals of the interval reported one by one so far.
    detailed: usize,
    evicted: u64,
    refused: u64,
    sources: HashMap<IpAddr, u64>,
    evicted_total: u64,
    refused_total: u64,
}

impl FloodReport {
    /// A refusal at `now` from `peer`: `true` when it gets an event of its own, `false` when
    /// the interval's share of those is spent and it is counted instead.
    pub(super) fn refused(&mut self, now: Instant, peer: Option<IpAddr>) -> bool {
        self.refused_total += 1;
        self.start(now);
        if self.detailed < DETAILED_PER_INTERVAL {
            self.detailed += 1;
            return true;
        }
        self.refused += 1;
        self.count(peer);
        false
    }

    /// A connection from `peer` closed at `now` to make room for a newer one.
    pub(super) fn evicted(&mut self, now: Instant, peer: Option<IpAddr>) {
        self.evicted_total += 1;
        self.start(now);
        self.evicted += 1;
        self.count(peer);
    }

    /// Whether the current interval has evicted a connection, or counted refusals beyond
    /// those it reports one by one.
    pub(super) fn is_on(&self) -> bool {
        self.evicted > 0 || self.refused > 0
    }

    /// When the interval's counts are due to be reported.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.started.map(|started| started + FLOOD_REPORT_INTERVAL)
    }

    /// The interval's `fix.connection.flood` once it is over at `now` (or at once with
    /// `force`: the router stops), if it counted anything; a new interval begins with the
    /// next refusal or eviction.
    pub(super) fn poll(&mut self, now: Instant, force: bool) -> Option<EventKind> {
        let started = self.started?;
        if !force && now < started + FLOOD_REPORT_INTERVAL {
            return None;
        }
        let (evicted, refused) = (self.evicted, self.refused);
        let mut sources: Vec<(IpAddr, u64)> = self.sources.drain().collect();
        sources.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        sources.truncate(SOURCES);
        self.started = None;
        self.detailed = 0;
        self.evicted = 0;
        self.refused = 0;
        (evicted + refused > 0).then(|| EventKind::ConnectionFlood {
            evicted,
            refused,
            sources,
            window: now.saturating_duration_since(started),
        })
    }

    /// Connections closed for newer ones since the router was made.
    pub(super) fn evicted_total(&self) -> u64 {
        self.evicted_total
    }

    /// Connections refused since the router was made, reported one by one or not.
    pub(super) fn refused_total(&self) -> u64 {
        self.refused_total
    }

    fn start(&mut self, now: Instant) {
        self.started.get_or_insert(now);
    }

    fn count(&mut self, peer: Option<IpAddr>) {
        if let Some(peer) = peer {
            *self.sources.entry(peer).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_flood_is_one_event_per_interval_after_the_first_refusals() {
        let mut report = FloodReport::default();
        let t0 = Instant::from_secs(100);
        let detailed = (0..1000).filter(|_| report.refused(t0, Some(A))).count();
        assert_eq!(detailed, DETAILED_PER_INTERVAL);
        for _ in 0..5 {
            report.evicted(t0, Some(B));
        }
        assert_eq!(report.poll(t0 + FLOOD_REPORT_INTERVAL / 2, false), None);
        assert_eq!(report.deadline(), Some(t0 + FLOOD_REPORT_INTERVAL));
        let event = report.poll(t0 + FLOOD_REPORT_INTERVAL, false);
        assert_eq!(
            event,
            Some(EventKind::ConnectionFlood {
                evicted: 5,
                refused: 980,
                sources: vec![(A, 980), (B, 5)],
                window: FLOOD_REPORT_INTERVAL,
            })
        );
        assert_eq!(report.deadline(), None, "quiet until the next refusal");
        assert!(report.refused(t0 + FLOOD_REPORT_INTERVAL, Some(A)));
        assert_eq!((report.evicted_total(), report.refused_total()), (5, 1001));
    }

    #[test]
    fn an_interval_with_only_detailed_refusals_reports_nothing_and_a_stop_flushes() {
        let mut report = FloodReport::default();
        let t0 = Instant::from_secs(1);
        assert!(report.refused(t0, None));
        assert_eq!(report.poll(t0 + FLOOD_REPORT_INTERVAL, false), None);
        report.evicted(t0 + FLOOD_REPORT_INTERVAL, Some(A));
        let flushed = report.poll(t0 + FLOOD_REPORT_INTERVAL * 3 / 2, true);
        assert!(matches!(
            flushed,
            Some(EventKind::ConnectionFlood {
                evicted: 1,
                refused: 0,
                ..
            })
        ));
    }
}
