//! Reading the FIX `UTCTimestamp` type (SendingTime, OrigSendingTime, TransactTime …).

use core::fmt;

use crate::{TimestampPrecision, UtcTimestamp};

/// Why a `UTCTimestamp` value could not be read by [`parse_utc_timestamp`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampError {
    /// Not `YYYYMMDD-HH:MM:SS`, optionally followed by `.` and 3, 6 or 9 digits.
    BadFormat,
    /// A day that does not exist: month 0 or 13, 31 April, 29 February of a common year …
    BadDate,
    /// An hour above 23, a minute above 59 or a second above 60 (60 is a leap second).
    BadTime,
    /// A time before 1970-01-01T00:00:00Z, which [`UtcTimestamp`] cannot hold.
    BeforeEpoch,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadFormat => "not a UTCTimestamp (YYYYMMDD-HH:MM:SS[.sss])",
            Self::BadDate => "UTCTimestamp names a day that does not exist",
            Self::BadTime => "UTCTimestamp has an hour, minute or second out of range",
            Self::BeforeEpoch => "UTCTimestamp is before 1970",
        })
    }
}

impl std::error::Error for TimestampError {}

/// Reads a FIX `UTCTimestamp`: `YYYYMMDD-HH:MM:SS`, optionally with milliseconds (`.sss`),
/// microseconds (`.ssssss`) or nanoseconds (`.sssssssss`).
///
/// [`UtcTimestamp`] counts milliseconds: finer digits are cut off, not rounded. A leap
/// second (`:60`) reads as the first millisecond after `:59.999`'s.
///
/// ```
/// use fixring_core::codec::{TimestampError, parse_utc_timestamp};
///
/// let t = parse_utc_timestamp(b"20261126-00:00:01.250")?;
/// assert_eq!(t.unix_millis(), 1_795_651_201_250);
/// assert_eq!(parse_utc_timestamp(b"20260230-00:00:00"), Err(TimestampError::BadDate));
/// # Ok::<(), TimestampError>(())
/// ```
pub fn parse_utc_timestamp(value: &[u8]) -> Result<UtcTimestamp, TimestampError> {
    let time = time_of_day(value)?;
    let year = digits(&value[0..4])?;
    let month = digits(&value[4..6])?;
    let day = digits(&value[6..8])?;
    if month == 0 || month > 12 || day == 0 || day > days_in_month(year, month) {
        return Err(TimestampError::BadDate);
    }
    let days = u64::try_from(days_from_civil(year, month, day))
        .map_err(|_| TimestampError::BeforeEpoch)?;
    Ok(UtcTimestamp::from_unix_millis(days * 86_400_000 + time))
}

/// Reads `UTCTimestamp`s one after another as [`parse_utc_timestamp`] does, remembering the
/// last day and the last second read: the SendingTimes of a session share their date, and
/// many their second; only what differs from the last value needs reading.
#[derive(Clone, Debug, Default)]
pub struct TimestampReader {
    /// The date bytes of the last value read, and the Unix milliseconds of its midnight.
    day: Option<([u8; 8], u64)>,
    /// The bytes to the second (`YYYYMMDD-HH:MM:SS`) of the last value read, and the Unix
    /// milliseconds of that second.
    second: Option<([u8; SECOND_LEN], u64)>,
}

impl TimestampReader {
    /// Reads `value`, as [`parse_utc_timestamp`] would.
    pub fn read(&mut self, value: &[u8]) -> Result<UtcTimestamp, TimestampError> {
        if let (Some((second, at)), Some(prefix)) = (&self.second, value.first_chunk())
            && prefix == second
        {
            // The second was read before: only the fraction can be wrong.
            let millis = fraction_millis(value.get(SECOND_LEN..).unwrap_or_default())?;
            return Ok(UtcTimestamp::from_unix_millis(at + millis));
        }
        let read = self.read_day(value)?;
        if let (Some(prefix), Ok(millis)) = (
            value.first_chunk(),
            fraction_millis(value.get(SECOND_LEN..).unwrap_or_default()),
        ) {
            self.second = Some((*prefix, read.unix_millis() - millis));
        }
        Ok(read)
    }

    /// Reads `value` as [`parse_utc_timestamp`] would, reading its date only when it is not
    /// the last one read.
    fn read_day(&mut self, value: &[u8]) -> Result<UtcTimestamp, TimestampError> {
        if let (Some((date, midnight)), Some(prefix)) = (&self.day, value.get(..8))
            && prefix == date
        {
            let time = time_of_day(value)?;
            return Ok(UtcTimestamp::from_unix_millis(midnight + time));
        }
        let read = parse_utc_timestamp(value)?;
        if let (Some(date), Ok(time)) = (value.get(..8), time_of_day(value)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(date);
            self.day = Some((bytes, read.unix_millis() - time));
        }
        Ok(read)
    }
}

/// Writes `UTCTimestamp`s one after another as [`UtcTimestamp::write_fix_precise`] does,
/// remembering the last second written: the SendingTimes a session stamps share it for many
/// messages, and only their fraction then needs formatting.
///
/// Measured with callgrind on `fixring bench`: about 220 instructions a SendingTime for the
/// calendar arithmetic, against about 40 for a second already written.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimestampWriter {
    /// The Unix second last written, and its `YYYYMMDD-HH:MM:SS`.
    second: Option<(u64, [u8; SECOND_LEN])>,
}

/// Length of a `UTCTimestamp` to the second: `YYYYMMDD-HH:MM:SS`.
const SECOND_LEN: usize = 17;

impl TimestampWriter {
    /// Writes `time` with `precision` into `out` and returns how many bytes it wrote.
    pub(crate) fn write(
        &mut self,
        time: UtcTimestamp,
        precision: TimestampPrecision,
        out: &mut [u8; UtcTimestamp::FIX_MAX_LEN],
    ) -> usize {
        let nanos = time.unix_nanos();
        let second = nanos / 1_000_000_000;
        let prefix = match self.second {
            Some((cached, prefix)) if cached == second => prefix,
            _ => {
                let prefix = second_prefix(time);
                self.second = Some((second, prefix));
                prefix
            }
        };
        let (head, rest) = out.split_at_mut(SECOND_LEN);
        head.copy_from_slice(&prefix);
        let Some((dot, fraction)) = rest.split_first_mut() else {
            return SECOND_LEN;
        };
        // Within the second: below 10^9, so it fits a `u32`.
        let sub = (nanos - second * 1_000_000_000) as u32;
        // The fraction's first digits, cut off as `write_fix_precise` cuts them.
        let digits = match precision {
            TimestampPrecision::Seconds => return SECOND_LEN,
            TimestampPrecision::Millis => fixed_digits::<3>(fraction, sub / 1_000_000),
            TimestampPrecision::Micros => fixed_digits::<6>(fraction, sub / 1_000),
            TimestampPrecision::Nanos => fixed_digits::<9>(fraction, sub),
        };
        *dot = b'.';
        SECOND_LEN + 1 + digits
    }
}

/// `time`'s `YYYYMMDD-HH:MM:SS`.
#[cold]
fn second_prefix(time: UtcTimestamp) -> [u8; SECOND_LEN] {
    let mut whole = [0u8; UtcTimestamp::FIX_MAX_LEN];
    time.write_fix_precise(TimestampPrecision::Seconds, &mut whole);
    let mut prefix = [0u8; SECOND_LEN];
    prefix.copy_from_slice(&whole[..SECOND_LEN]);
    prefix
}

/// Writes the last `N` decimal digits of `value` at the start of `out` and returns `N`.
#[inline(always)]
fn fixed_digits<const N: usize>(out: &mut [u8], mut value: u32) -> usize {
    if let Some(out) = out.first_chunk_mut::<N>() {
        for byte in out.iter_mut().rev() {
            *byte = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    N
}

/// The milliseconds since midnight of a `UTCTimestamp` value, checking everything after its
/// date: the separators, the time, the fraction.
fn time_of_day(value: &[u8]) -> Result<u64, TimestampError> {
    let (whole, fraction) = value
        .split_at_checked(17)
        .ok_or(TimestampError::BadFormat)?;
    if whole[8] != b'-' || whole[11] != b':' || whole[14] != b':' {
        return Err(TimestampError::BadFormat);
    }
    let (hour, minute, second) = (
        digits(&whole[9..11])?,
        digits(&whole[12..14])?,
        digits(&whole[15..17])?,
    );
    let millis = fraction_millis(fraction)?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err(TimestampError::BadTime);
    }
    Ok((hour * 3_600 + minute * 60 + second) * 1_000 + millis)
}

/// The milliseconds of what follows the seconds of a `UTCTimestamp` value: nothing, or `.`
/// and 3, 6 or 9 digits.
fn fraction_millis(fraction: &[u8]) -> Result<u64, TimestampError> {
    match fraction {
        [] => Ok(0),
        [b'.', rest @ ..] if matches!(rest.len(), 3 | 6 | 9) => {
            // Every digit must be one, the ones cut off included.
            digits(rest)?;
            digits(&rest[..3])
        }
        _ => Err(TimestampError::BadFormat),
    }
}

/// The value of a run of ASCII digits (at most nine, so it cannot overflow).
fn digits(bytes: &[u8]) -> Result<u64, TimestampError> {
    bytes.iter().try_fold(0, |value, &b| {
        if b.is_ascii_digit() {
            Ok(value * 10 + u64::from(b - b'0'))
        } else {
            Err(TimestampError::BadFormat)
        }
    })
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date, negative before it.
///
/// Howard Hinnant's `days_from_civil` algorithm, the inverse of the one that formats
/// timestamps in [`crate::time`].
fn days_from_civil(year: u64, month: u64, day: u64) -> i64 {
    // Four digits at most: the casts cannot truncate.
    let (year, month, day) = (year as i64, month as i64, day as i64);
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(value: &str) -> Result<u64, TimestampError> {
        parse_utc_timestamp(value.as_bytes()).map(UtcTimestamp::unix_millis)
    }

    #[test]
    fn the_reader_reads_as_the_parser_does_across_days() {
        let mut reader = TimestampReader::default();
        let values: [&[u8]; 7] = [
            b"20261130-23:59:59.999",
            b"20261130-00:00:00",
            b"20261201-00:00:00.001",
            b"20261201-12:34:56.789123",
            b"20261201-25:00:00",
            b"20261201-12:00",
            b"20240229-23:59:60",
        ];
        for value in values {
            assert_eq!(reader.read(value), parse_utc_timestamp(value), "{value:?}");
        }
        // A second the cache holds, with every fraction, good or bad.
        for value in [
            &b"20240229-23:59:60.5"[..],
            b"20240229-23:59:60.123456",
            b"20240229-23:59:60",
            b"20240229-23:59:60.12x",
            b"20240229-23:59:60.",
            b"20240229-23:59:601",
        ] {
            assert_eq!(reader.read(value), parse_utc_timestamp(value), "{value:?}");
        }
        // A day the cache holds, then an impossible one after it.
        assert!(reader.read(b"20261201-01:00:00").is_ok());
        assert_eq!(
            reader.read(b"20261301-01:00:00"),
            Err(TimestampError::BadDate)
        );
    }

    #[test]
    fn the_writer_writes_as_the_timestamp_does_across_seconds_and_days() {
        let mut writer = TimestampWriter::default();
        let precisions = [
            TimestampPrecision::Seconds,
            TimestampPrecision::Millis,
            TimestampPrecision::Micros,
            TimestampPrecision::Nanos,
        ];
        let base = 1_795_651_198_123_456_789u64;
        for step in 0..2_000u64 {
            // Steps of 0.37 s from before midnight, across it, and a jump back.
            let nanos = if step == 1_500 {
                5
            } else {
                base + step * 370_000_001
            };
            let time = UtcTimestamp::from_unix_nanos(nanos);
            let precision = precisions[(step % 4) as usize];
            let mut expected = [0u8; UtcTimestamp::FIX_MAX_LEN];
            let len = time.write_fix_precise(precision, &mut expected);
            let mut written = [0u8; UtcTimestamp::FIX_MAX_LEN];
            assert_eq!(writer.write(time, precision, &mut written), len);
            assert_eq!(written[..len], expected[..len], "{nanos} {precision:?}");
        }
    }

    #[test]
    fn reads_every_precision() {
        assert_eq!(millis("19700101-00:00:00"), Ok(0));
        assert_eq!(millis("20261126-00:00:00"), Ok(1_795_651_200_000));
        assert_eq!(millis("20261125-23:59:58.123"), Ok(1_795_651_198_123));
        assert_eq!(millis("20261125-23:59:58.123999"), Ok(1_795_651_198_123));
        assert_eq!(millis("20261125-23:59:58.123456789"), Ok(1_795_651_198_123));
        assert_eq!(millis("20000229-12:34:56.789"), Ok(951_827_696_789));
        assert_eq!(millis("20161231-23:59:60"), Ok(1_483_228_800_000));
    }

    #[test]
    fn reads_back_what_it_writes() {
        for ms in [0, 951_827_696_789, 1_795_651_198_123, 4_102_444_799_999] {
            let t = UtcTimestamp::from_unix_millis(ms);
            assert_eq!(parse_utc_timestamp(t.to_string().as_bytes()), Ok(t));
        }
    }

    #[test]
    fn refuses_days_that_do_not_exist() {
        for value in [
            "20260001-00:00:00",
            "20261301-00:00:00",
            "20260100-00:00:00",
            "20260132-00:00:00",
            "20260431-00:00:00",
            "20260229-00:00:00",
            "19000229-00:00:00",
            "00000000-00:00:00.000",
        ] {
            assert_eq!(millis(value), Err(TimestampError::BadDate), "{value}");
        }
        assert_eq!(millis("20240229-00:00:00"), Ok(1_709_164_800_000));
    }

    #[test]
    fn refuses_times_out_of_range() {
        for value in [
            "20261126-24:00:00",
            "20261126-23:60:00",
            "20261126-23:59:61",
        ] {
            assert_eq!(millis(value), Err(TimestampError::BadTime), "{value}");
        }
    }

    #[test]
    fn refuses_what_is_not_the_format() {
        for value in [
            "",
            "20261126",
            "20261126-00:00",
            "20261126 00:00:00",
            "20261126-00-00-00",
            "2026112a-00:00:00",
            "20261126-00:00:00.",
            "20261126-00:00:00.1",
            "20261126-00:00:00.1234",
            "20261126-00:00:00.12345678901",
            "20261126-00:00:00.12x",
            "20261126-00:00:00.123x56",
            "20261126-00:00:00,123",
            "+0261126-00:00:00",
        ] {
            assert_eq!(millis(value), Err(TimestampError::BadFormat), "{value}");
        }
    }

    #[test]
    fn refuses_times_before_1970() {
        assert_eq!(
            millis("19691231-23:59:59.999"),
            Err(TimestampError::BeforeEpoch)
        );
    }
}
