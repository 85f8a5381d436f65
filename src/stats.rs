//! Latency histograms kept by every event loop.
//!
//! Each loop records, without allocating, into histograms of its own: the inbound path (a
//! receive completion seen by the loop → the application callback for each message) and the
//! outbound path (a message handed over through a [`crate::SessionHandle`] or
//! [`crate::Context::reply`] → the flush that starts its write). Every 100 ms, off the hot path,
//! a loop adds what it recorded into a shared copy that [`crate::Engine::latency`] reads.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// The longest latency recorded exactly; longer ones are recorded as this value.
const HIGHEST_NS: u64 = 60_000_000_000;

/// How often a loop publishes what it recorded.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// The inbound and outbound latency of the engine's loops, in nanoseconds.
#[derive(Clone, Debug)]
pub struct LatencyStats {
    inbound: Histogram<u64>,
    outbound: Histogram<u64>,
}

/// A few percentiles of one histogram, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest value.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `histogram`.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Self {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            p9999: histogram.value_at_quantile(0.9999),
            max: histogram.max(),
        }
    }
}

impl LatencyStats {
    /// Empty histograms, 1 ns to 60 s at three significant digits.
    pub fn new() -> Self {
        Self {
            inbound: histogram(),
            outbound: histogram(),
        }
    }

    /// Receive completion → application callback, per message.
    pub fn inbound(&self) -> &Histogram<u64> {
        &self.inbound
    }

    /// Hand-over → write started, per message.
    pub fn outbound(&self) -> &Histogram<u64> {
        &self.outbound
    }

    /// Adds `other` into these histograms.
    pub fn add(&mut self, other: &Self) {
        // Same bounds on both sides: adding cannot fail or resize.
        let _ = self.inbound.add(&other.inbound);
        let _ = self.outbound.add(&other.outbound);
    }

    fn reset(&mut self) {
        self.inbound.reset();
        self.outbound.reset();
    }
}

impl Default for LatencyStats {
    fn default() -> Self {
        Self::new()
    }
}

fn histogram() -> Histogram<u64> {
    let mut histogram =
        Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("constant bounds hdrhistogram accepts");
    histogram.auto(false);
    histogram
}

/// One loop's recording side.
pub(crate) struct LoopStats {
    local: LatencyStats,
    /// Hand-over times of messages committed since the last flush.
    pending: Vec<Instant>,
    shared: Arc<Mutex<LatencyStats>>,
    published: Instant,
}

impl LoopStats {
    pub(crate) fn new(shared: Arc<Mutex<LatencyStats>>) -> Self {
        Self {
            local: LatencyStats::new(),
            pending: Vec::with_capacity(1024),
            shared,
            published: Instant::now(),
        }
    }

    /// A message reached the application `since` its receive completion was seen; returns
    /// how long that took, in nanoseconds.
    pub(crate) fn inbound(&mut self, since: Instant) -> u64 {
        let took = nanos(since.elapsed()).min(HIGHEST_NS);
        let _ = self.local.inbound.record(took);
        took
    }

    /// A message handed over at `at` was committed to a send buffer.
    pub(crate) fn committed(&mut self, at: Instant) {
        if self.pending.len() < self.pending.capacity() {
            self.pending.push(at);
        }
    }

    /// The writes of everything committed have started.
    pub(crate) fn flushed(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let now = Instant::now();
        for at in self.pending.drain(..) {
            let _ = self
                .local
                .outbound
                .record(nanos(now.saturating_duration_since(at)).min(HIGHEST_NS));
        }
    }

    /// Publishes what was recorded, at most every 100 ms, never waiting for the lock.
    pub(crate) fn publish_if_due(&mut self) {
        if self.published.elapsed() < PUBLISH_EVERY {
            return;
        }
        self.published = Instant::now();
        if let Ok(mut shared) = self.shared.try_lock() {
            shared.add(&self.local);
            self.local.reset();
        }
    }

    /// Publishes everything, e.g. as the loop ends.
    pub(crate) fn publish(&mut self) {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.add(&self.local);
        self.local.reset();
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_publish_into_the_shared_histograms() {
        let shared = Arc::new(Mutex::new(LatencyStats::new()));
        let mut stats = LoopStats::new(Arc::clone(&shared));
        let start = Instant::now();
        stats.inbound(start);
        stats.committed(start);
        stats.committed(start);
        stats.flushed();
        stats.publish();
        let shared = shared.lock().unwrap();
        assert_eq!(shared.inbound().len(), 1);
        assert_eq!(shared.outbound().len(), 2);
        let outbound = Percentiles::of(shared.outbound());
        assert!(outbound.p50 >= 1 && outbound.max >= outbound.p50);
    }
}
