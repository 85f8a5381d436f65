//! Helpers for building frames by hand in tests.

/// `text` with every `|` replaced by SOH.
pub(super) fn wire(text: &str) -> Vec<u8> {
    text.bytes()
        .map(|b| if b == b'|' { 0x01 } else { b })
        .collect()
}

/// A whole message: `8=<begin>|9=<len>|<body>10=<sum>|`, with `|` for SOH in `body`, and
/// BodyLength and CheckSum computed independently of the codec.
pub(super) fn message(begin: &str, body: &str) -> Vec<u8> {
    let body = wire(body);
    let mut out = wire(&format!("8={begin}|9={}|", body.len()));
    out.extend_from_slice(&body);
    let sum = out.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    out.extend_from_slice(&wire(&format!("10={sum:03}|")));
    out
}

/// A QuickFIX-style NewOrderSingle (header order 8, 9, 35, 34, 49, 52, 56, body sorted by tag).
pub(super) fn new_order_single() -> Vec<u8> {
    message(
        "FIX.4.4",
        "35=D|34=215|49=CLIENT12|52=20261125-23:59:58.123|56=EXCHANGE|1=ACCT-0042|\
         11=ORD-20261125-000017|21=1|38=1500|40=2|44=101.25|54=1|55=MSFT|\
         59=0|60=20261125-23:59:58.120|",
    )
}
