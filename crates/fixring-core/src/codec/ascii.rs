//! Byte-level helpers shared by the framer, the message view and the encoder.
//!
//! Each is written so LLVM can vectorise it or needs no per-byte branch: the CheckSum is a
//! wrapping `u8` sum (a plain add reduction), the SOH search tests eight bytes per step, and
//! integers are formatted two digits at a time from a table.

/// The FIX field delimiter, SOH (0x01).
pub(crate) const SOH: u8 = 0x01;

/// The FIX CheckSum of `bytes`: their sum modulo 256.
///
/// A wrapping `u8` addition is exactly "sum mod 256", and as an associative reduction it
/// compiles to packed byte additions, 16 or 32 bytes per instruction.
#[inline]
pub(crate) fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// The index of the first SOH in `bytes`, if any.
///
/// Scans eight bytes per step with the classic "has a zero byte" word trick applied to
/// `word ^ 0x0101…`; the lowest flagged byte is always a true match.
#[inline]
pub(crate) fn find_soh(bytes: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // Bytes equal to SOH become zero.
        let x = u64::from_le_bytes(word) ^ LO;
        let zeros = x.wrapping_sub(LO) & !x & HI;
        if zeros != 0 {
            return Some(base + (zeros.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == SOH)
        .map(|i| base + i)
}

/// Longest decimal form of a `u64`.
pub(crate) const U64_DIGITS: usize = 20;

/// "00", "01", … "99": two ASCII digits per entry.
static DIGIT_PAIRS: [u8; 200] = digit_pairs();

const fn digit_pairs() -> [u8; 200] {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
}

/// Formats `value` in decimal at the end of `buf` and returns the digits written.
#[inline]
pub(crate) fn format_u64(buf: &mut [u8; U64_DIGITS], mut value: u64) -> &[u8] {
    let mut start = U64_DIGITS;
    while value >= 100 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        start -= 2;
        buf[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if value >= 10 {
        let pair = value as usize * 2;
        start -= 2;
        buf[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        start -= 1;
        buf[start] = b'0' + value as u8;
    }
    &buf[start..]
}

/// The three-digit form of a CheckSum, e.g. `b"007"`.
#[inline]
pub(crate) fn checksum_digits(sum: u8) -> [u8; 3] {
    [b'0' + sum / 100, b'0' + sum / 10 % 10, b'0' + sum % 10]
}

/// Parses a non-empty run of ASCII digits as a `u64`; `None` on any other byte or overflow.
#[inline]
pub fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sum_mod_256() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let expected = bytes.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
        assert_eq!(u32::from(checksum(&bytes)), expected);
        assert_eq!(checksum(b""), 0);
    }

    #[test]
    fn finds_the_first_soh_at_every_position() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = SOH;
                if at + 1 < len {
                    bytes[len - 1] = SOH;
                }
                assert_eq!(find_soh(&bytes), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_soh(&vec![b'x'; len]), None);
        }
        // Bytes just above and below SOH must not match.
        assert_eq!(
            find_soh(&[0x00, 0x02, 0x81, 0xff, 0x00, 0x02, 0x01]),
            Some(6)
        );
    }

    #[test]
    fn formats_integers() {
        let mut buf = [0u8; U64_DIGITS];
        for value in [0, 7, 10, 99, 100, 101, 999, 1000, 123_456_789, u64::MAX] {
            assert_eq!(format_u64(&mut buf, value), value.to_string().as_bytes());
        }
        assert_eq!(&checksum_digits(7), b"007");
        assert_eq!(&checksum_digits(255), b"255");
    }

    #[test]
    fn parses_integers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b"-1"), None);
    }
}
