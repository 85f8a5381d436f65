//! Appending `tag=value<SOH>` fields into a caller's buffer.

use core::fmt;

use super::ascii::{SOH, U64_DIGITS, format_u64};
use super::tags::Tag;

/// The output buffer is too small; nothing usable was written.
///
/// `required` is the total buffer length the operation needs, as in rustls's unbuffered API:
/// retry with a buffer at least that long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InsufficientSize {
    /// The buffer length the operation needs.
    pub required: usize,
}

impl fmt::Display for InsufficientSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "output buffer too small: {} bytes required",
            self.required
        )
    }
}

impl std::error::Error for InsufficientSize {}

/// Sequential writes into a slice that the caller has already checked is long enough.
///
/// Each write still checks its bounds (a predictable branch), so a miscount cannot panic.
pub(crate) struct Cursor<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(out: &'a mut [u8], pos: usize) -> Self {
        Self { out, pos }
    }

    #[inline]
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<(), InsufficientSize> {
        let end = self.pos + bytes.len();
        self.out
            .get_mut(self.pos..end)
            .ok_or(InsufficientSize { required: end })?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Writes `tag=value<SOH>`, all or nothing.
    ///
    /// One bounds check for the whole field, and short tags and values copied byte by byte:
    /// a `memcpy` call for each of them cost more than the copy (callgrind).
    #[inline]
    pub(crate) fn field(&mut self, tag: &[u8], value: &[u8]) -> Result<(), InsufficientSize> {
        let end = self.pos + tag.len() + 1 + value.len() + 1;
        let room = self.out.get_mut(self.pos..end);
        let Some((tag_out, [eq, rest @ ..])) = room.and_then(|r| r.split_at_mut_checked(tag.len()))
        else {
            return Err(InsufficientSize { required: end });
        };
        let Some((soh, value_out)) = rest.split_last_mut() else {
            return Err(InsufficientSize { required: end });
        };
        copy(tag_out, tag);
        *eq = b'=';
        copy(value_out, value);
        *soh = SOH;
        self.pos = end;
        Ok(())
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn written(&self) -> &[u8] {
        self.out.get(..self.pos).unwrap_or_default()
    }
}

/// The decimal digits of `tag`, written in `buf`: those of a tag below 1000, nearly every
/// tag, without `format_u64`'s loop.
#[inline]
fn tag_digits(buf: &mut [u8; U64_DIGITS], tag: Tag) -> &[u8] {
    let digit = |value: Tag| b'0' + (value % 10) as u8;
    match tag {
        0..=9 => {
            buf[0] = digit(tag);
            &buf[..1]
        }
        10..=99 => {
            buf[..2].copy_from_slice(&[digit(tag / 10), digit(tag)]);
            &buf[..2]
        }
        100..=999 => {
            buf[..3].copy_from_slice(&[digit(tag / 100), digit(tag / 10), digit(tag)]);
            &buf[..3]
        }
        _ => format_u64(buf, u64::from(tag)),
    }
}

/// Copies `src` into `dst` (of the same length): a short one as two overlapping words (or
/// halves, or bytes), where a call to `memcpy` would cost more than the copy and a byte loop
/// five instructions a byte (callgrind).
#[inline]
fn copy(dst: &mut [u8], src: &[u8]) {
    match src.len() {
        8..=16 => copy_ends::<8>(dst, src),
        4..=7 => copy_ends::<4>(dst, src),
        0 => {}
        // The first, middle and last byte: all of one to three. (A loop over them would be
        // turned into a `memcpy` call.)
        len @ 1..=3 => {
            for at in [0, len / 2, len - 1] {
                if let (Some(d), Some(&s)) = (dst.get_mut(at), src.get(at)) {
                    *d = s;
                }
            }
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Copies the first and the last `N` bytes of `src` (of `N` to `2 * N` bytes) into `dst`, of
/// the same length: all of it.
#[inline(always)]
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
        *d = *s;
    }
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
        *d = *s;
    }
}

/// Builds body fields (`tag=value<SOH>…`) in a caller's buffer, for [`super::encode()`].
///
/// Each append either writes the whole field or, when it does not fit, leaves the buffer as it
/// was and returns the length the buffer would need. Values are written as given: they must not
/// contain SOH.
#[derive(Debug)]
pub struct FieldWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> FieldWriter<'a> {
    /// A writer appending from the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Appends `tag=value<SOH>`.
    #[inline(always)]
    pub fn field(&mut self, tag: Tag, value: &[u8]) -> Result<(), InsufficientSize> {
        let mut tag_buf = [0u8; U64_DIGITS];
        let tag = tag_digits(&mut tag_buf, tag);
        let mut cursor = Cursor::new(self.buf, self.len);
        cursor.field(tag, value)?;
        self.len = cursor.pos();
        Ok(())
    }

    /// Appends `tag=value<SOH>` with a string value.
    #[inline]
    pub fn field_str(&mut self, tag: Tag, value: &str) -> Result<(), InsufficientSize> {
        self.field(tag, value.as_bytes())
    }

    /// Appends `tag=value<SOH>` with `value` in decimal.
    #[inline]
    pub fn field_u64(&mut self, tag: Tag, value: u64) -> Result<(), InsufficientSize> {
        let mut digits = [0u8; U64_DIGITS];
        let value = format_u64(&mut digits, value);
        self.field(tag, value)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fields written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_tags_of_every_length() {
        let mut buf = [0u8; U64_DIGITS];
        for tag in [
            0,
            1,
            9,
            10,
            58,
            99,
            100,
            150,
            999,
            1000,
            9999,
            123_456,
            Tag::MAX,
        ] {
            assert_eq!(tag_digits(&mut buf, tag), tag.to_string().as_bytes());
        }
    }

    #[test]
    fn copies_every_short_length() {
        let src: Vec<u8> = (1..=40).collect();
        for len in 0..=40 {
            let mut dst = vec![0u8; len];
            copy(&mut dst, &src[..len]);
            assert_eq!(dst, src[..len], "{len}");
        }
    }

    #[test]
    fn writes_fields_and_refuses_overflow_atomically() {
        let mut buf = [0u8; 24];
        let mut w = FieldWriter::new(&mut buf);
        assert!(w.is_empty());
        w.field_str(55, "EUR/USD").unwrap();
        w.field_u64(38, 1_000_000).unwrap();
        assert_eq!(w.as_bytes(), b"55=EUR/USD\x0138=1000000\x01");
        assert_eq!(w.len(), 22);
        assert_eq!(w.field(54, b"1"), Err(InsufficientSize { required: 27 }));
        assert_eq!(w.as_bytes(), b"55=EUR/USD\x0138=1000000\x01");
        assert_eq!(
            InsufficientSize { required: 27 }.to_string(),
            "output buffer too small: 27 bytes required"
        );
    }
}
