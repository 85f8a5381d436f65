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

/// Copies `src` into `dst` (of the same length): byte by byte when short, where a call to
/// `memcpy` would cost more than the copy.
#[inline]
fn copy(dst: &mut [u8], src: &[u8]) {
    if src.len() <= 16 {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s;
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// Builds body fields (`tag=value<SOH>…`) in a caller's buffer, for [`super::encode`].
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
    pub fn field(&mut self, tag: Tag, value: &[u8]) -> Result<(), InsufficientSize> {
        let mut tag_buf = [0u8; U64_DIGITS];
        let tag = format_u64(&mut tag_buf, u64::from(tag));
        let end = self.len + tag.len() + 1 + value.len() + 1;
        let dst = self
            .buf
            .get_mut(..end)
            .ok_or(InsufficientSize { required: end })?;
        let mut cursor = Cursor::new(dst, self.len);
        cursor.field(tag, value)?;
        self.len = cursor.pos();
        Ok(())
    }

    /// Appends `tag=value<SOH>` with a string value.
    pub fn field_str(&mut self, tag: Tag, value: &str) -> Result<(), InsufficientSize> {
        self.field(tag, value.as_bytes())
    }

    /// Appends `tag=value<SOH>` with `value` in decimal.
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
