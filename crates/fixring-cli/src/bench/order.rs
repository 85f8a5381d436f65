//! The orders the benchmark sends, padded to a size.

/// Bytes of a FIX.4.4 header and trailer around the body, as the engine writes them between
/// the benchmark's CompIDs: `8=FIX.4.4|9=NNN|35=D|34=NNNNNN|49=BENCHI|52=…|56=BENCHA|` and
/// `10=NNN|`.
const FRAME_BYTES: usize = 82;

/// Bytes of an ExecutionReport [`fixring::Echo`] sends for one of these orders, frame included:
/// what the baseline answers with.
pub(super) const EXECUTION_REPORT_BYTES: usize = 172;

/// The fields every order carries before its padding; `{id}` is ten digits.
const FIXED: &str = "55=EURUSD\x0154=1\x0138=100\x0140=1\x0160=20261126-00:00:00.000\x01";

/// The ClOrdID prefix.
const PREFIX: &str = "ORD-";

/// Builds NewOrderSingle bodies with ClOrdID `ORD-nnnnnnnnnn` and enough Text (58) to reach
/// about the asked size on the wire.
#[derive(Clone, Debug)]
pub(super) struct OrderBody {
    padding: usize,
    /// The body of an order whose number has ten digits, with zeros for them: each order
    /// copies it and writes its digits in, rather than appending field after field.
    template: Vec<u8>,
}

/// Where the ten digits of the order number are in a body: after `11=` and the prefix.
const DIGITS_AT: usize = 3 + PREFIX.len();

impl OrderBody {
    /// Orders of about `size` bytes on the wire (never less than the fixed fields take).
    pub(super) fn new(size: usize) -> Self {
        // "11=" + prefix + 10 digits + SOH, the fixed fields, and "58=" + SOH around padding.
        let unpadded = FRAME_BYTES + 3 + PREFIX.len() + 10 + 1 + FIXED.len();
        let mut orders = Self {
            padding: size.saturating_sub(unpadded + 4),
            template: Vec::new(),
        };
        let mut template = Vec::new();
        orders.write_fields(0, &mut template);
        orders.template = template;
        orders
    }

    /// Replaces `out` with the body of order `id`.
    ///
    /// An order number of ten digits (all but the last of 2^64) is written into a copy of
    /// the template: `write!` machinery cost about 900 instructions per order (callgrind),
    /// and appending the fields one by one about 350.
    pub(super) fn write(&self, id: u64, out: &mut Vec<u8>) {
        if id >= 10_000_000_000 {
            return self.write_fields(id, out);
        }
        out.clear();
        out.extend_from_slice(&self.template);
        if let Some(digits) = out
            .get_mut(DIGITS_AT..)
            .and_then(<[u8]>::first_chunk_mut::<10>)
        {
            let mut rest = id;
            for digit in digits.iter_mut().rev() {
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
        }
    }

    /// Replaces `out` with the body of order `id`, field by field.
    fn write_fields(&self, id: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(b"11=");
        out.extend_from_slice(PREFIX.as_bytes());
        // `{id:010}`: at least ten digits, zero-padded.
        let mut digits = [b'0'; 20];
        let mut rest = id;
        let mut start = digits.len();
        while rest > 0 || start > digits.len() - 10 {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend_from_slice(&digits[start..]);
        out.push(1);
        out.extend_from_slice(FIXED.as_bytes());
        if self.padding > 0 {
            out.extend_from_slice(b"58=");
            out.resize(out.len() + self.padding, b'x');
            out.push(1);
        }
    }
}

/// The order number in a ClOrdID written by [`OrderBody::write`], read as `str::parse`
/// reads a `u64` (an optional `+`, then digits), without its UTF-8 check.
pub(super) fn order_id(cl_ord_id: &[u8]) -> Option<u64> {
    let digits = cl_ord_id.strip_prefix(PREFIX.as_bytes())?;
    fixring_core::codec::parse_u64(digits.strip_prefix(b"+").unwrap_or(digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_padded_and_ids_read_back() {
        let orders = OrderBody::new(200);
        let mut body = Vec::new();
        orders.write(42, &mut body);
        assert_eq!(body.len() + FRAME_BYTES, 200);
        assert!(body.starts_with(b"11=ORD-0000000042\x01"));
        assert_eq!(order_id(b"ORD-0000000042"), Some(42));
        assert_eq!(order_id(b"XYZ-1"), None);
        for id in [
            "",
            "+",
            "+7",
            "-7",
            "12a",
            "18446744073709551615",
            "18446744073709551616",
        ] {
            let cl_ord_id = format!("{PREFIX}{id}");
            assert_eq!(order_id(cl_ord_id.as_bytes()), id.parse().ok(), "{id:?}");
        }
        for id in [0, 1, 42, 9_999_999_999, 10_000_000_000, u64::MAX] {
            let mut fields = Vec::new();
            orders.write_fields(id, &mut fields);
            orders.write(id, &mut body);
            assert_eq!(body, fields, "{id}");
        }
        orders.write(u64::MAX, &mut body);
        assert!(body.starts_with(b"11=ORD-18446744073709551615\x0155="));
        orders.write(0, &mut body);
        assert!(body.starts_with(b"11=ORD-0000000000\x0155="));

        OrderBody::new(10).write(7, &mut body);
        assert!(!body.windows(3).any(|w| w == b"58="));
    }
}
