//! Latency histograms kept by every event loop.
//!
//! Each loop records, without allocating, into histograms of its own: the inbound path (a
//! receive completion seen by the loop → the application callback for each message) and the
//! outbound path (a message handed over through a [`crate::SessionHandle`] or
//! [`crate::Context::reply`] → the flush that starts its write). Every 100 ms a loop hands what
//! it recorded over by swapping histograms (see [`Published`]); the reader,
//! [`crate::Engine::latency`] or the status server, merges and clears them on its own thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::stamp::Stamp;

/// The longest latency recorded exactly; longer ones are recorded as this value.
const HIGHEST_NS: u64 = 60_000_000_000;

/// How often a loop publishes what it recorded, in nanoseconds.
const PUBLISH_EVERY_NS: u64 = 100_000_000;

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
    /// Empty histograms, 1 ns to 60 s at two significant digits (values within 1 %).
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

/// Two significant digits keep each histogram's array at about 30 KB, where three took about
/// 220 KB: a loop records two values a message, and in a flood on one session (32 orders in
/// flight, parked loops) the larger arrays' cache misses made recording 4.2–4.7 % of all CPU
/// samples, about 1 % with the smaller ones.
fn histogram() -> Histogram<u64> {
    let mut histogram =
        Histogram::new_with_bounds(1, HIGHEST_NS, 2).expect("constant bounds hdrhistogram accepts");
    histogram.auto(false);
    histogram
}

/// What one loop publishes, read from other threads: its latency histograms, handed over
/// without merging or clearing anything on the loop, and its counters.
///
/// The loop records into a pair of histograms of its own. Every 100 ms it swaps that pair
/// with an empty one waiting in the exchange (a few pointer moves), if the previous pair has
/// been taken; a reader takes the recorded pair, adds it into the total and clears it on its
/// own thread, and puts it back as the next empty one. Nothing is lost when no one reads:
/// the loop then goes on recording into the pair it has.
#[derive(Debug)]
pub(crate) struct Published {
    exchange: Mutex<Exchange>,
    total: Mutex<LatencyStats>,
    /// Hand-overs so far: a reader waits for the next one to see what was recorded since.
    swaps: AtomicU64,
    /// The loop has ended, its last records added into the total.
    ended: AtomicBool,
    system_calls: AtomicU64,
    cpu_clock: OnceLock<libc::clockid_t>,
}

#[derive(Debug)]
struct Exchange {
    /// Recorded by the loop, not yet added into the total.
    full: Option<LatencyStats>,
    /// Cleared, for the loop to swap in.
    empty: Option<LatencyStats>,
}

impl Published {
    pub(crate) fn new() -> Self {
        Self {
            exchange: Mutex::new(Exchange {
                full: None,
                empty: Some(LatencyStats::new()),
            }),
            total: Mutex::new(LatencyStats::new()),
            swaps: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            system_calls: AtomicU64::new(0),
            cpu_clock: OnceLock::new(),
        }
    }

    /// The hand-overs so far, to pass to [`Published::handed_over_since`].
    pub(crate) fn swaps(&self) -> u64 {
        self.swaps.load(Ordering::Acquire)
    }

    /// Whether the loop has handed over again since [`Published::swaps`] read `seen`, or
    /// ended: what it had recorded then is now published.
    pub(crate) fn handed_over_since(&self, seen: u64) -> bool {
        self.ended.load(Ordering::Acquire) || self.swaps() > seen
    }

    /// Everything the loop has published, merged into the total on this thread.
    pub(crate) fn latency(&self) -> MutexGuard<'_, LatencyStats> {
        let mut total = self.total.lock().unwrap_or_else(PoisonError::into_inner);
        let full = self
            .exchange
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .full
            .take();
        if let Some(mut full) = full {
            total.add(&full);
            full.reset();
            let mut exchange = self.exchange.lock().unwrap_or_else(PoisonError::into_inner);
            exchange.empty = Some(full);
        }
        total
    }

    /// The loop's counters now.
    pub(crate) fn counters(&self) -> LoopCounters {
        LoopCounters {
            system_calls: self.system_calls.load(Ordering::Relaxed),
            cpu_time: self.cpu_clock.get().and_then(|&clock| cpu_time(clock)),
        }
    }
}

/// What one event loop has spent since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopCounters {
    /// The system calls its backend has made.
    pub system_calls: u64,
    /// The CPU time of the loop's thread (user and system); `None` once the thread has
    /// ended or where the clock cannot be read.
    pub cpu_time: Option<Duration>,
}

/// The CPU time a thread clock shows.
fn cpu_time(clock: libc::clockid_t) -> Option<Duration> {
    let (secs, nanos) = crate::clock::read(clock)?;
    Some(Duration::new(secs, u32::try_from(nanos).ok()?))
}

/// The CPU-time clock of the calling thread.
fn this_thread_clock() -> Option<libc::clockid_t> {
    let mut clock: libc::clockid_t = 0;
    // Safety: `pthread_self` is always valid for the calling thread, and `clock` is a valid
    // place for the result.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &raw mut clock) };
    (rc == 0).then_some(clock)
}

/// One loop's recording side.
pub(crate) struct LoopStats {
    local: LatencyStats,
    /// Hand-over times of messages committed since the last flush.
    pending: Vec<Stamp>,
    shared: Arc<Published>,
    published: Stamp,
}

impl LoopStats {
    /// The recording side of `shared`, on the loop's own thread (whose CPU clock it notes).
    pub(crate) fn new(shared: Arc<Published>) -> Self {
        if let Some(clock) = this_thread_clock() {
            let _ = shared.cpu_clock.set(clock);
        }
        Self {
            local: LatencyStats::new(),
            pending: Vec::with_capacity(1024),
            shared,
            published: Stamp::now(),
        }
    }

    /// A message reached the application `since` its receive completion was seen; returns
    /// how long that took, in nanoseconds.
    pub(crate) fn inbound(&mut self, since: Stamp) -> u64 {
        let took = since.elapsed_nanos().min(HIGHEST_NS);
        let _ = self.local.inbound.record(took);
        took
    }

    /// A message handed over at `at` was committed to a send buffer.
    pub(crate) fn committed(&mut self, at: Stamp) {
        if self.pending.len() < self.pending.capacity() {
            self.pending.push(at);
        }
    }

    /// The writes of everything committed have started.
    pub(crate) fn flushed(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let now = Stamp::now();
        for at in self.pending.drain(..) {
            let _ = self
                .local
                .outbound
                .record(at.nanos_until(now).min(HIGHEST_NS));
        }
    }

    /// The backend's system calls so far: one relaxed store.
    pub(crate) fn system_calls(&self, count: u64) {
        self.shared.system_calls.store(count, Ordering::Relaxed);
    }

    /// Hands what was recorded over, at most every 100 ms, never waiting for the lock: a
    /// swap with the empty pair when the last one has been taken, nothing otherwise.
    pub(crate) fn publish_if_due(&mut self) {
        let now = Stamp::now();
        if self.published.nanos_until(now) < PUBLISH_EVERY_NS {
            return;
        }
        self.published = now;
        if let Ok(mut exchange) = self.shared.exchange.try_lock()
            && exchange.full.is_none()
            && let Some(mut empty) = exchange.empty.take()
        {
            std::mem::swap(&mut self.local, &mut empty);
            exchange.full = Some(empty);
            self.shared.swaps.fetch_add(1, Ordering::Release);
        }
    }

    /// Publishes everything, merging on this thread: as the loop ends.
    pub(crate) fn publish(&mut self) {
        // Said first, so that a reader waiting for a hand-over, the total's lock held, stops.
        self.shared.ended.store(true, Ordering::Release);
        let mut total = self.shared.latency();
        total.add(&self.local);
        self.local.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_publish_into_the_shared_histograms() {
        let shared = Arc::new(Published::new());
        let mut stats = LoopStats::new(Arc::clone(&shared));
        let start = Stamp::now();
        stats.inbound(start);
        stats.committed(start);
        stats.committed(start);
        stats.flushed();
        stats.publish();
        let total = shared.latency();
        assert_eq!(total.inbound().len(), 1);
        assert_eq!(total.outbound().len(), 2);
        let outbound = Percentiles::of(total.outbound());
        assert!(outbound.p50 >= 1 && outbound.max >= outbound.p50);
    }

    #[test]
    fn a_swap_hands_over_without_losing_what_no_one_read() {
        let shared = Arc::new(Published::new());
        let mut stats = LoopStats::new(Arc::clone(&shared));
        let start = Stamp::now();
        stats.inbound(start);
        stats.published = Stamp::LONG_AGO;
        assert!(!shared.handed_over_since(0));
        stats.publish_if_due();
        assert!(shared.handed_over_since(0) && !shared.handed_over_since(1));
        // Not read yet: the next hand-over cannot swap, and keeps recording locally.
        stats.inbound(start);
        stats.published = Stamp::LONG_AGO;
        stats.publish_if_due();
        assert_eq!(stats.local.inbound().len(), 1);
        assert_eq!(shared.latency().inbound().len(), 1);
        stats.published = Stamp::LONG_AGO;
        stats.publish_if_due();
        assert_eq!(stats.local.inbound().len(), 0);
        assert_eq!(shared.latency().inbound().len(), 2);
        let seen = shared.swaps();
        stats.publish();
        assert!(
            shared.handed_over_since(seen),
            "a loop that ended has nothing more"
        );
        stats.system_calls(7);
        let counters = shared.counters();
        assert_eq!(counters.system_calls, 7);
        assert!(counters.cpu_time.is_some_and(|t| t > Duration::ZERO));
    }
}
