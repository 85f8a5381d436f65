//! Cheap instants for the loops' latency stats.
//!
//! A loop reads the clock three or four times a message: when it sees a receive completion,
//! before each application callback, when a message is handed over and after each flush. On
//! x86-64, where the kernel keeps its own time with the CPU's time-stamp counter (its
//! clocksource is `tsc`, which it picks only when the counter is invariant and in step on
//! every core), a [`Stamp`] reads that counter: about 10 ns on a 2-vCPU VM, against about
//! 27 ns for `std::time::Instant::now` (the vDSO's `clock_gettime` and its conversion), and
//! a difference is one subtraction and one multiplication. Elsewhere a stamp is the system's
//! monotonic clock, as before.
//!
//! Stamps measure short intervals only. The counter's rate is calibrated once, against the
//! monotonic clock over a few milliseconds, to within a few parts per million; the engine's
//! timers and SendingTime keep reading the system's clocks (see `crate::clock`).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A reading of the loops' stats clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

/// How long the calibration watches the counter against the monotonic clock.
const CALIBRATION: Duration = Duration::from_millis(5);

/// Where stamps come from, chosen once per process.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// The time-stamp counter, with nanoseconds per tick in 32.32 fixed point.
    Counter { nanos_per_tick: u64 },
    /// Nanoseconds of the monotonic clock since `origin`.
    Monotonic { origin: Instant },
}

static SOURCE: OnceLock<Source> = OnceLock::new();

fn source() -> Source {
    *SOURCE.get_or_init(choose)
}

impl Stamp {
    /// A stamp before any other, for tests that need something long past.
    #[cfg(test)]
    pub(crate) const LONG_AGO: Self = Self(0);

    /// Now. The first stamp a process takes calibrates the counter, which takes a few
    /// milliseconds; [`calibrate`] does it ahead of time.
    #[inline]
    pub(crate) fn now() -> Self {
        source().now()
    }

    /// Nanoseconds from this stamp to `later`; 0 when `later` is not later.
    #[inline]
    pub(crate) fn nanos_until(self, later: Self) -> u64 {
        source().nanos(later.0.saturating_sub(self.0))
    }

    /// Nanoseconds from this stamp to now.
    #[inline]
    pub(crate) fn elapsed_nanos(self) -> u64 {
        self.nanos_until(Self::now())
    }
}

/// Chooses and calibrates the stats clock, so that no loop pays for it on its first
/// message.
pub(crate) fn calibrate() {
    let _ = source();
}

impl Source {
    #[inline]
    fn now(self) -> Stamp {
        match self {
            Self::Counter { .. } => Stamp(counter()),
            Self::Monotonic { origin } => Stamp(nanos(origin.elapsed())),
        }
    }

    #[inline]
    fn nanos(self, elapsed: u64) -> u64 {
        match self {
            Self::Counter { nanos_per_tick } => {
                let product = u128::from(elapsed) * u128::from(nanos_per_tick);
                u64::try_from(product >> 32).unwrap_or(u64::MAX)
            }
            Self::Monotonic { .. } => elapsed,
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The counter where the kernel keeps time with it and its rate is plausible, the monotonic
/// clock otherwise.
fn choose() -> Source {
    let monotonic = Source::Monotonic {
        origin: Instant::now(),
    };
    if !kernel_uses_counter() {
        return monotonic;
    }
    match calibrated(CALIBRATION) {
        Some(nanos_per_tick) => Source::Counter { nanos_per_tick },
        None => monotonic,
    }
}

/// Whether the kernel's clocksource is the time-stamp counter.
fn kernel_uses_counter() -> bool {
    cfg!(target_arch = "x86_64")
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|name| name.trim() == "tsc")
}

/// The counter's nanoseconds per tick in 32.32 fixed point, from watching it against the
/// monotonic clock for `over`; `None` when the rate is not that of a counter between 100 MHz
/// and 20 GHz.
fn calibrated(over: Duration) -> Option<u64> {
    let (ticks0, start) = paired();
    std::thread::sleep(over);
    let (ticks1, end) = paired();
    let ticks = ticks1.checked_sub(ticks0).filter(|&t| t > 0)?;
    let elapsed = u128::from(nanos(end.duration_since(start)));
    let per_tick = u64::try_from((elapsed << 32) / u128::from(ticks)).ok()?;
    // 0.05 ns (20 GHz) to 10 ns (100 MHz) a tick.
    ((1u64 << 32) / 20..=(1u64 << 32) * 10)
        .contains(&per_tick)
        .then_some(per_tick)
}

/// A counter reading and a monotonic-clock reading taken together: the counter halfway
/// between two readings around the clock's, from the closest of a few tries.
fn paired() -> (u64, Instant) {
    let reading = || {
        let before = counter();
        let at = Instant::now();
        let spread = counter().wrapping_sub(before);
        (spread, before.wrapping_add(spread / 2), at)
    };
    let (_, mid, at) = (0..5)
        .map(|_| reading())
        .min_by_key(|&(spread, _, _)| spread)
        .unwrap_or_else(reading);
    (mid, at)
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn counter() -> u64 {
    // Safety: RDTSC has no preconditions and every x86-64 processor has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn counter() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_measure_what_the_monotonic_clock_measures() {
        // A few tries, so that a preemption between two readings on a busy host does not
        // count as a clock's error.
        let mut last = (0, 0);
        for _ in 0..5 {
            let (stamp, start) = (Stamp::now(), Instant::now());
            std::thread::sleep(Duration::from_millis(30));
            let (by_stamp, by_clock) = (stamp.elapsed_nanos(), nanos(start.elapsed()));
            assert!(by_clock >= 30_000_000);
            if by_stamp.abs_diff(by_clock) < by_clock / 100 + 50_000 {
                return;
            }
            last = (by_stamp, by_clock);
        }
        panic!("stamps {} ns, monotonic clock {} ns", last.0, last.1);
    }

    #[test]
    fn an_earlier_later_stamp_is_zero_nanoseconds_away() {
        let earlier = Stamp::now();
        let later = Stamp::now();
        assert!(later >= earlier);
        assert_eq!(later.nanos_until(earlier), 0);
    }

    #[test]
    fn the_monotonic_source_counts_nanoseconds() {
        let source = Source::Monotonic {
            origin: Instant::now(),
        };
        let a = source.now();
        std::thread::sleep(Duration::from_millis(2));
        let b = source.now();
        assert!(source.nanos(b.0 - a.0) >= 2_000_000);
    }

    #[test]
    fn a_counter_rate_converts_ticks_to_nanoseconds() {
        // 2 GHz: half a nanosecond a tick.
        let source = Source::Counter {
            nanos_per_tick: 1 << 31,
        };
        assert_eq!(source.nanos(3_000), 1_500);
        assert_eq!(source.nanos(0), 0);
        assert_eq!(source.nanos(u64::MAX), u64::MAX / 2);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn calibration_finds_a_plausible_rate_where_the_kernel_uses_the_counter() {
        if !kernel_uses_counter() {
            return;
        }
        let rate = calibrated(Duration::from_millis(5));
        assert!(rate.is_some(), "the counter's rate was not plausible");
    }
}
