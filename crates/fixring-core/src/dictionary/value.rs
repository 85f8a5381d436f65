//! Field types and the formats QuickFIX accepts for them.

/// The type of a field, as the dictionary's `type` attribute names it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// INT, LENGTH, SEQNUM, TAGNUM, DAYOFMONTH: an optionally signed run of digits.
    Int,
    /// NUMINGROUP: the count of a repeating group's entries.
    NumInGroup,
    /// FLOAT, QTY, PRICE, PRICEOFFSET, AMT, PERCENTAGE: digits with an optional sign and
    /// decimal point.
    Float,
    /// CHAR: one character.
    Char,
    /// BOOLEAN: `Y` or `N`.
    Boolean,
    /// UTCTIMESTAMP: `YYYYMMDD-HH:MM:SS` with optional fractions of a second.
    UtcTimestamp,
    /// UTCTIMEONLY: `HH:MM:SS` with optional fractions of a second.
    UtcTimeOnly,
    /// UTCDATEONLY, UTCDATE, DATE: `YYYYMMDD`.
    UtcDateOnly,
    /// MULTIPLEVALUESTRING, MULTIPLESTRINGVALUE, MULTIPLECHARVALUE: words separated by
    /// spaces, each checked against the enumerated values.
    MultipleValue,
    /// Every other type (STRING, DATA, CURRENCY, MONTHYEAR, LOCALMKTDATE, …): any value.
    String,
}

impl FieldType {
    /// The type a dictionary's `type` attribute names; unknown names are [`FieldType::String`],
    /// as QuickFIX checks no format for them.
    pub fn from_name(name: &str) -> Self {
        match name {
            "INT" | "LENGTH" | "SEQNUM" | "TAGNUM" | "DAYOFMONTH" => Self::Int,
            "NUMINGROUP" => Self::NumInGroup,
            "FLOAT" | "QTY" | "PRICE" | "PRICEOFFSET" | "AMT" | "PERCENTAGE" => Self::Float,
            "CHAR" => Self::Char,
            "BOOLEAN" => Self::Boolean,
            "UTCTIMESTAMP" | "TIME" => Self::UtcTimestamp,
            "UTCTIMEONLY" => Self::UtcTimeOnly,
            "UTCDATEONLY" | "UTCDATE" | "DATE" => Self::UtcDateOnly,
            "MULTIPLEVALUESTRING" | "MULTIPLESTRINGVALUE" | "MULTIPLECHARVALUE" => {
                Self::MultipleValue
            }
            _ => Self::String,
        }
    }

    /// Whether a value of this type is a list of space-separated words.
    pub fn is_multiple_value(self) -> bool {
        self == Self::MultipleValue
    }

    /// Whether `value` has this type's format, as QuickFIX's converters read it.
    #[inline(always)]
    pub fn accepts(self, value: &[u8]) -> bool {
        match self {
            Self::Int => is_int(value),
            Self::NumInGroup => all_digits(value),
            Self::Float => is_float(value),
            Self::Char => value.len() == 1,
            Self::Boolean => value == b"Y" || value == b"N",
            Self::UtcTimestamp => is_timestamp(value),
            Self::UtcTimeOnly => is_time(value),
            Self::UtcDateOnly => value.len() == 8 && word_at(value, 0).is_some_and(is_date),
            Self::MultipleValue | Self::String => true,
        }
    }
}

#[inline]
fn is_int(value: &[u8]) -> bool {
    all_digits(value.strip_prefix(b"-").unwrap_or(value))
}

/// Whether `bytes` is one or more ASCII digits; up to eight at once.
#[inline]
fn all_digits(bytes: &[u8]) -> bool {
    match short_word(bytes) {
        Some(word) => digits_in(word, low_bytes(bytes.len())),
        None => !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit),
    }
}

#[inline]
fn is_float(value: &[u8]) -> bool {
    let number = value.strip_prefix(b"-").unwrap_or(value);
    if let Some(word) = short_word(number) {
        // 0x80 in each byte that is a point.
        let points = zero_bytes(word ^ (u64::from(b'.') * BYTES)) & low_bytes(number.len());
        let one_point_at_most = points & points.wrapping_sub(1) == 0;
        // A point plus 2 is a `0`, without carry: then all must be digits.
        let digits = word + (points >> 7) * 2;
        return one_point_at_most
            && (number.len() > 1 || points == 0)
            && digits_in(digits, low_bytes(number.len()));
    }
    let mut digits = 0;
    let mut points = 0;
    for &b in number {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return false,
        }
    }
    digits > 0 && points <= 1
}

/// Each byte of a word, eight at a time.
const BYTES: u64 = 0x0101_0101_0101_0101;

/// The bytes of `bytes`, one to eight of them, as a little-endian word, zero past them;
/// none for more or none. Two overlapping loads, without a loop.
#[inline]
fn short_word(bytes: &[u8]) -> Option<u64> {
    let len = bytes.len();
    if len >= 4 {
        if len > 8 {
            return None;
        }
        let head = u32::from_le_bytes(*bytes.first_chunk()?);
        let tail = u32::from_le_bytes(*bytes.last_chunk()?);
        return Some(u64::from(head) | u64::from(tail) << (8 * (len - 4)));
    }
    // One to three bytes: the first, the middle and the last, some of them the same.
    let (first, middle, last) = (*bytes.first()?, *bytes.get(len / 2)?, *bytes.last()?);
    Some(
        u64::from(first)
            | u64::from(middle) << (8 * (len / 2))
            | u64::from(last) << (8 * (len - 1)),
    )
}

/// A mask of the low `len` bytes of a word, `len` from 1 to 8.
#[inline]
fn low_bytes(len: usize) -> u64 {
    u64::MAX >> (8 * (8 - len.clamp(1, 8)))
}

/// 0x80 in each zero byte of `word`, nothing elsewhere: exact, adding 0x7f to seven bits
/// never carries into the next byte.
#[inline]
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f * BYTES;
    !(((word & LOW7) + LOW7) | word) & !LOW7
}

/// Whether the bytes of `word` that `mask` keeps (whole bytes of `0xff`) are ASCII digits:
/// their high nibble is 3, and adding 6 to their low nibble does not carry into it.
#[inline]
fn digits_in(word: u64, mask: u64) -> bool {
    let high = (0xf0 * BYTES) & mask;
    let threes = (0x30 * BYTES) & mask;
    word & high == threes && (word & mask).wrapping_add((0x06 * BYTES) & mask) & high == threes
}

/// The eight bytes of `value` from `at` as one little-endian word.
#[inline]
fn word_at(value: &[u8], at: usize) -> Option<u64> {
    let bytes = value.get(at..)?.first_chunk()?;
    Some(u64::from_le_bytes(*bytes))
}

/// The two bytes of `word` from byte `at`, the first as the high one: two ASCII digits
/// compare as the numbers they write.
#[inline]
fn pair(word: u64, at: u32) -> u16 {
    ((word >> (8 * at)) as u16).swap_bytes()
}

/// Whether the two ASCII digits `pair` are from `low` to `high`.
#[inline]
fn pair_in(pair: u16, low: &[u8; 2], high: &[u8; 2]) -> bool {
    (u16::from_be_bytes(*low)..=u16::from_be_bytes(*high)).contains(&pair)
}

/// `YYYYMMDD-HH:MM:SS` with optional fractions of a second.
#[inline(never)]
fn is_timestamp(value: &[u8]) -> bool {
    match (word_at(value, 0), value.get(8), word_at(value, 9)) {
        (Some(date), Some(b'-'), Some(clock)) => {
            is_date(date) && is_clock(clock) && is_fraction(value.get(17..).unwrap_or_default())
        }
        _ => false,
    }
}

/// `YYYYMMDD` in one word: eight digits, a month from 01 to 12, a day from 01 to 31.
#[inline]
fn is_date(word: u64) -> bool {
    digits_in(word, u64::MAX)
        && pair_in(pair(word, 4), b"01", b"12")
        && pair_in(pair(word, 6), b"01", b"31")
}

/// `HH:MM:SS`, then optionally `.` and one to nine digits.
fn is_time(value: &[u8]) -> bool {
    word_at(value, 0).is_some_and(is_clock) && is_fraction(value.get(8..).unwrap_or_default())
}

/// `HH:MM:SS` in one word. A leap second (60) is allowed.
#[inline]
fn is_clock(word: u64) -> bool {
    // Digits but at 2 and 5, the colons.
    const DIGITS: u64 = 0xffff_00ff_ff00_ffff;
    const COLONS: u64 = 0x0000_3a00_003a_0000;
    word & !DIGITS == COLONS
        && digits_in(word, DIGITS)
        && pair_in(pair(word, 0), b"00", b"23")
        && pair_in(pair(word, 3), b"00", b"59")
        && pair_in(pair(word, 6), b"00", b"60")
}

/// What may follow the seconds: nothing, or `.` and one to nine digits.
#[inline]
fn is_fraction(rest: &[u8]) -> bool {
    match rest {
        [] => true,
        [b'.', digits @ ..] => digits.len() <= 9 && all_digits(digits),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::FieldType;

    #[test]
    fn formats_as_quickfix_reads_them() {
        let cases: &[(FieldType, &[u8], bool)] = &[
            (FieldType::Int, b"-12", true),
            (FieldType::Int, b"+12", false),
            (FieldType::Int, b"1.0", false),
            (FieldType::Int, b"-", false),
            (FieldType::Int, b"", false),
            (FieldType::Int, b"7", true),
            (FieldType::Int, b"-0", true),
            (FieldType::Int, b"12345678", true),
            (FieldType::Int, b"-12345678", true),
            (FieldType::Int, b"123456789012", true),
            (FieldType::Int, b"1234567a", false),
            (FieldType::Int, b"a2", false),
            (FieldType::Int, b"1:3", false),
            (FieldType::Int, b"1/3", false),
            (FieldType::Int, b"1 ", false),
            (FieldType::Int, b"12345678901a", false),
            (FieldType::Float, b"101.25", true),
            (FieldType::Float, b"1500", true),
            (FieldType::Float, b"1.", true),
            (FieldType::Float, b"-.5", true),
            (FieldType::Float, b"-", false),
            (FieldType::Float, b"-.", false),
            (FieldType::Float, b"..", false),
            (FieldType::Float, b"1.2.3", false),
            (FieldType::Float, b"1234567.", true),
            (FieldType::Float, b"1234.5.7", false),
            (FieldType::Float, b"12345.789", true),
            (FieldType::Float, b"12345.7.9", false),
            (FieldType::Float, b"1,5", false),
            (FieldType::Float, b"1\xae5", false),
            (FieldType::Float, b"1\x305", true),
            (FieldType::NumInGroup, b"", false),
            (FieldType::NumInGroup, b"3", true),
            (FieldType::NumInGroup, b"300", true),
            (
                FieldType::UtcTimestamp,
                b"20040415-10:11:12.123456789",
                true,
            ),
            (FieldType::UtcTimestamp, b"20040415-10:11:12.12a", false),
            (FieldType::UtcTimeOnly, b"23:59:59.1", true),
            (FieldType::Float, b"002000.00", true),
            (FieldType::Float, b"+200.00", false),
            (FieldType::Float, b"1e5", false),
            (FieldType::Float, b".5", true),
            (FieldType::Float, b".", false),
            (FieldType::Char, b"AB", false),
            (FieldType::Boolean, b"Y", true),
            (FieldType::Boolean, b"y", false),
            (FieldType::UtcTimestamp, b"20040415-10:11:12.123", true),
            (FieldType::UtcTimestamp, b"20040415-10:11:12", true),
            (FieldType::UtcTimestamp, b"20040415", false),
            (FieldType::UtcTimestamp, b"20041315-10:11:12", false),
            (FieldType::UtcTimeOnly, b"24:00:00", false),
            (FieldType::UtcDateOnly, b"20040415", true),
            (FieldType::NumInGroup, b"-1", false),
            (FieldType::UtcTimestamp, b"20040415-10:11:60", true),
            (FieldType::UtcTimestamp, b"20040415-10:11:61", false),
            (FieldType::UtcTimestamp, b"20040415-10:60:12", false),
            (FieldType::UtcTimestamp, b"20040415-10:11:12.", false),
            (
                FieldType::UtcTimestamp,
                b"20040415-10:11:12.1234567890",
                false,
            ),
            (FieldType::UtcTimestamp, b"20040415 10:11:12", false),
            (FieldType::UtcTimestamp, b"20040415-10-11:12", false),
            (FieldType::UtcTimestamp, b"2004041a-10:11:12", false),
            (FieldType::UtcTimestamp, b"20040400-10:11:12", false),
            (FieldType::UtcTimestamp, b"20040015-10:11:12", false),
            (FieldType::UtcTimestamp, b"20040432-10:11:12", false),
            (FieldType::UtcTimeOnly, b"23:59:59.999", true),
            (FieldType::UtcTimeOnly, b"2:59:59", false),
            (FieldType::UtcTimeOnly, b"23:5\x3a:59", false),
            (FieldType::UtcTimeOnly, b"23:5/:59", false),
            (FieldType::UtcDateOnly, b"20041231", true),
            (FieldType::UtcDateOnly, b"200412310", false),
            (FieldType::UtcDateOnly, b"2004123", false),
            (FieldType::UtcDateOnly, b"2004:231", false),
        ];
        for &(kind, value, ok) in cases {
            assert_eq!(
                kind.accepts(value),
                ok,
                "{kind:?} {:?}",
                String::from_utf8_lossy(value)
            );
        }
    }
}
