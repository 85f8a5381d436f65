//! Time as the core sees it: values handed in by the caller, never read from the system.
//!
//! [`Instant`] is a monotonic point in time counted in nanoseconds from an origin the caller
//! chooses (engine start-up, or zero on a test's virtual clock). [`UtcTimestamp`] is wall-clock
//! time, used only to stamp SendingTime on outbound messages.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A monotonic point in time, in nanoseconds since an origin chosen by the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    nanos: u64,
}

impl Instant {
    /// The origin of the caller's clock.
    pub const ZERO: Self = Self { nanos: 0 };

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Self {
            nanos: millis * 1_000_000,
        }
    }

    /// An instant `secs` seconds after the origin.
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            nanos: secs * 1_000_000_000,
        }
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }
}

impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, rhs: Duration) -> Self {
        let add = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Self {
            nanos: self.nanos.saturating_add(add),
        }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub for Instant {
    type Output = Duration;

    fn sub(self, rhs: Self) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.nanos / 1_000_000_000,
            self.nanos % 1_000_000_000
        )
    }
}

/// Wall-clock time since the Unix epoch, UTC, to the nanosecond (until the year 2554).
///
/// SendingTime and the other FIX timestamps are written with milliseconds
/// ([`UtcTimestamp::write_fix`], also its `Display`); events are stamped with microseconds
/// ([`UtcTimestamp::rfc3339`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTimestamp {
    nanos: u64,
}

impl UtcTimestamp {
    /// Length of [`UtcTimestamp::write_fix`]'s output: `YYYYMMDD-HH:MM:SS.sss`.
    pub const FIX_LEN: usize = 21;

    /// The longest output of [`UtcTimestamp::write_fix_precise`]: `YYYYMMDD-HH:MM:SS.sssssssss`.
    pub const FIX_MAX_LEN: usize = 27;

    /// A timestamp `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self::from_unix_nanos(millis.saturating_mul(1_000_000))
    }

    /// A timestamp `micros` microseconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix_micros(micros: u64) -> Self {
        Self::from_unix_nanos(micros.saturating_mul(1_000))
    }

    /// A timestamp `nanos` nanoseconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    /// Whole milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> u64 {
        self.nanos / 1_000_000
    }

    /// Whole microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> u64 {
        self.nanos / 1_000
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> u64 {
        self.nanos
    }

    /// This timestamp advanced by the time elapsed between two instants.
    pub fn advanced_by(self, elapsed: Duration) -> Self {
        let add = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        Self {
            nanos: self.nanos.saturating_add(add),
        }
    }

    /// Writes the FIX `UTCTimestamp` form with milliseconds, `YYYYMMDD-HH:MM:SS.sss`; finer
    /// digits are cut off.
    pub fn write_fix(self, out: &mut [u8; Self::FIX_LEN]) {
        let civil = Civil::of(self);
        civil.write_fix_seconds(&mut out[..17]);
        out[17] = b'.';
        write_digits(&mut out[18..21], civil.nanos / 1_000_000);
    }

    /// Writes the FIX `UTCTimestamp` form with `precision`'s digits of a second
    /// (`YYYYMMDD-HH:MM:SS`, then `.sss`, `.ssssss` or `.sssssssss`), finer digits cut off;
    /// returns how many bytes it wrote, at most [`UtcTimestamp::FIX_MAX_LEN`].
    pub fn write_fix_precise(
        self,
        precision: TimestampPrecision,
        out: &mut [u8; Self::FIX_MAX_LEN],
    ) -> usize {
        let civil = Civil::of(self);
        civil.write_fix_seconds(&mut out[..17]);
        let digits = precision.digits();
        if digits == 0 {
            return 17;
        }
        out[17] = b'.';
        let fraction = civil.nanos / 10u32.pow(9 - digits as u32);
        write_digits(&mut out[18..18 + digits], fraction);
        18 + digits
    }

    /// The RFC 3339 form with microseconds, `YYYY-MM-DDTHH:MM:SS.ssssssZ`, as events and
    /// logs carry it.
    pub fn rfc3339(self) -> Rfc3339 {
        Rfc3339(self)
    }
}

impl fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; Self::FIX_LEN];
        self.write_fix(&mut buf);
        // The buffer holds ASCII digits and separators only.
        f.write_str(core::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// How many digits of a second SendingTime and OrigSendingTime carry (`TimestampPrecision`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimestampPrecision {
    /// Whole seconds, `YYYYMMDD-HH:MM:SS`.
    Seconds,
    /// Milliseconds, `.sss` (QuickFIX's default).
    #[default]
    Millis,
    /// Microseconds, `.ssssss`.
    Micros,
    /// Nanoseconds, `.sssssssss`.
    Nanos,
}

impl TimestampPrecision {
    /// The digits after the seconds: 0, 3, 6 or 9.
    pub const fn digits(self) -> usize {
        match self {
            Self::Seconds => 0,
            Self::Millis => 3,
            Self::Micros => 6,
            Self::Nanos => 9,
        }
    }

    /// The length of a `UTCTimestamp` written with this precision.
    pub const fn fix_len(self) -> usize {
        match self {
            Self::Seconds => 17,
            precision => 18 + precision.digits(),
        }
    }
}

/// A [`UtcTimestamp`] displayed in RFC 3339 form with microseconds; see
/// [`UtcTimestamp::rfc3339`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfc3339(UtcTimestamp);

impl Rfc3339 {
    /// Length of the form: `YYYY-MM-DDTHH:MM:SS.ssssssZ`.
    const LEN: usize = 27;
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let civil = Civil::of(self.0);
        let mut out = [0u8; Self::LEN];
        write_digits(&mut out[0..4], civil.year);
        out[4] = b'-';
        write_digits(&mut out[5..7], civil.month);
        out[7] = b'-';
        write_digits(&mut out[8..10], civil.day);
        out[10] = b'T';
        civil.write_time(&mut out[11..19]);
        out[19] = b'.';
        write_digits(&mut out[20..26], civil.nanos / 1_000);
        out[26] = b'Z';
        // The buffer holds ASCII digits and separators only.
        f.write_str(core::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// A timestamp taken apart into its calendar date and time of day.
struct Civil {
    year: u32,
    month: u32,
    day: u32,
    secs_of_day: u32,
    nanos: u32,
}

impl Civil {
    fn of(t: UtcTimestamp) -> Self {
        let secs = t.nanos / 1_000_000_000;
        let (year, month, day) = civil_from_days((secs / 86_400) as i64);
        Self {
            year: year as u32,
            month,
            day,
            secs_of_day: (secs % 86_400) as u32,
            nanos: (t.nanos % 1_000_000_000) as u32,
        }
    }

    /// Writes the FIX form to the second, `YYYYMMDD-HH:MM:SS`, into `out` (17 bytes).
    fn write_fix_seconds(&self, out: &mut [u8]) {
        write_digits(&mut out[0..4], self.year);
        write_digits(&mut out[4..6], self.month);
        write_digits(&mut out[6..8], self.day);
        out[8] = b'-';
        self.write_time(&mut out[9..17]);
    }

    /// Writes `HH:MM:SS` into `out` (eight bytes).
    fn write_time(&self, out: &mut [u8]) {
        let rem = self.secs_of_day;
        write_digits(&mut out[0..2], rem / 3600);
        out[2] = b':';
        write_digits(&mut out[3..5], rem / 60 % 60);
        out[5] = b':';
        write_digits(&mut out[6..8], rem % 60);
    }
}

fn write_digits(out: &mut [u8], mut value: u32) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day).
///
/// Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Maps the caller's monotonic [`Instant`]s onto wall-clock time.
///
/// The engine captures one pair of readings at start-up; SendingTime of every outbound
/// message is derived from it, so the core never reads a clock and a test's virtual clock gives
/// reproducible bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WallClock {
    origin: Instant,
    utc: UtcTimestamp,
}

impl WallClock {
    /// A mapping where `origin` corresponds to the wall-clock time `utc`.
    pub const fn new(origin: Instant, utc: UtcTimestamp) -> Self {
        Self { origin, utc }
    }

    /// The wall-clock time at `now`.
    pub fn utc_at(&self, now: Instant) -> UtcTimestamp {
        self.utc
            .advanced_by(now.saturating_duration_since(self.origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_fix_utc_timestamps() {
        assert_eq!(
            UtcTimestamp::from_unix_millis(0).to_string(),
            "19700101-00:00:00.000"
        );
        // 2026-11-25T23:59:58.123Z
        let t = UtcTimestamp::from_unix_millis(1_795_651_198_123);
        assert_eq!(t.to_string(), "20261125-23:59:58.123");
        // 2000-02-29T12:34:56.789Z, a leap day.
        let t = UtcTimestamp::from_unix_millis(951_827_696_789);
        assert_eq!(t.to_string(), "20000229-12:34:56.789");
    }

    #[test]
    fn formats_rfc3339_with_microseconds() {
        // 2026-11-25T23:59:58.123456789Z: the nanoseconds are cut to microseconds.
        let t = UtcTimestamp::from_unix_nanos(1_795_651_198_123_456_789);
        assert_eq!(t.rfc3339().to_string(), "2026-11-25T23:59:58.123456Z");
        assert_eq!(t.to_string(), "20261125-23:59:58.123");
        assert_eq!(t.unix_micros(), 1_795_651_198_123_456);
        assert_eq!(
            UtcTimestamp::from_unix_micros(0).rfc3339().to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn formats_every_precision() {
        let t = UtcTimestamp::from_unix_nanos(1_795_651_198_123_456_789);
        let mut buf = [0u8; UtcTimestamp::FIX_MAX_LEN];
        let cases = [
            (TimestampPrecision::Seconds, "20261125-23:59:58"),
            (TimestampPrecision::Millis, "20261125-23:59:58.123"),
            (TimestampPrecision::Micros, "20261125-23:59:58.123456"),
            (TimestampPrecision::Nanos, "20261125-23:59:58.123456789"),
        ];
        for (precision, expected) in cases {
            let len = t.write_fix_precise(precision, &mut buf);
            assert_eq!(&buf[..len], expected.as_bytes());
            assert_eq!(len, precision.fix_len());
        }
        let mut millis = [0u8; UtcTimestamp::FIX_LEN];
        t.write_fix(&mut millis);
        assert_eq!(&millis[..], &buf[..21], "the millisecond forms agree");
    }

    #[test]
    fn wall_clock_follows_instants() {
        let clock = WallClock::new(
            Instant::from_secs(10),
            UtcTimestamp::from_unix_millis(5_000),
        );
        let later = Instant::from_secs(10) + Duration::from_millis(1_250);
        assert_eq!(clock.utc_at(later).unix_millis(), 6_250);
        assert_eq!(clock.utc_at(Instant::ZERO).unix_millis(), 5_000);
    }

    #[test]
    fn instants_saturate() {
        let a = Instant::from_secs(1);
        let b = a + Duration::from_millis(500);
        assert_eq!(b - a, Duration::from_millis(500));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(
            Instant::from_nanos(u64::MAX) + Duration::from_secs(1),
            Instant::from_nanos(u64::MAX)
        );
    }
}
