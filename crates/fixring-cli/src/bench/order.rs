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
}

impl OrderBody {
    /// Orders of about `size` bytes on the wire (never less than the fixed fields take).
    pub(super) fn new(size: usize) -> Self {
        // "11=" + prefix + 10 digits + SOH, the fixed fields, and "58=" + SOH around padding.
        let unpadded = FRAME_BYTES + 3 + PREFIX.len() + 10 + 1 + FIXED.len();
        Self {
            padding: size.saturating_sub(unpadded + 4),
        }
    }

    /// Replaces `out` with the body of order `id`.
    ///
    /// Written without `format!` machinery, which cost about 900 instructions per order
    /// (callgrind), as much as a tenth of the engine's own work on a round trip.
    pub(super) fn write(&self, id: u64, out: &mut Vec<u8>) {
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

/// The order number in a ClOrdID written by [`OrderBody::write`].
pub(super) fn order_id(cl_ord_id: &[u8]) -> Option<u64> {
    let digits = cl_ord_id.strip_prefix(PREFIX.as_bytes())?;
    std::str::from_utf8(digits).ok()?.parse().ok()
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
        orders.write(u64::MAX, &mut body);
        assert!(body.starts_with(b"11=ORD-18446744073709551615\x0155="));
        orders.write(0, &mut body);
        assert!(body.starts_with(b"11=ORD-0000000000\x0155="));

        OrderBody::new(10).write(7, &mut body);
        assert!(!body.windows(3).any(|w| w == b"58="));
    }
}
