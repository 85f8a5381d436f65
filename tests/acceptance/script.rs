//! QuickFIX's acceptance-script language: what each line of a `.def` file asks, and the two
//! transformations its runner applies to a message line (time substitution, then BodyLength
//! and CheckSum filled in where the line leaves them out).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fixring::core::UtcTimestamp;

const SOH: u8 = 0x01;

/// One line of a script that does something, on connection `cid` (1 unless the line names
/// one, as `I2,…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `iCONNECT`: open a connection to the acceptor.
    Connect(u8),
    /// `iDISCONNECT`: close it.
    Disconnect(u8),
    /// `eDISCONNECT`: the acceptor must close the connection (within ten seconds).
    ExpectDisconnect(u8),
    /// `I…`: send this message (before time substitution and fixification).
    Send(u8, Vec<u8>),
    /// `E…`: the acceptor must send a message like this one.
    Expect(u8, Vec<u8>),
}

/// A step and the line of the script it comes from.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub(crate) number: usize,
    pub(crate) step: Step,
}

/// The steps of a script, comments and blank lines left out.
pub(crate) fn parse(text: &[u8]) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some((&kind, rest)) = line.split_first() else {
            continue;
        };
        if kind == b'#' {
            continue;
        }
        let (cid, body) = match rest {
            [digit @ b'0'..=b'9', b',', body @ ..] => (digit - b'0', body),
            body => (1, body),
        };
        let step = match (kind, body) {
            (b'i', b"CONNECT") => Step::Connect(cid),
            (b'i', b"DISCONNECT") => Step::Disconnect(cid),
            (b'e', b"DISCONNECT") => Step::ExpectDisconnect(cid),
            (b'e', b"CONNECT") => {
                return Err(format!(
                    "line {number}: the acceptor scripts never wait for a connect"
                ));
            }
            (b'I', body) => Step::Send(cid, body.to_vec()),
            (b'E', body) => Step::Expect(cid, body.to_vec()),
            _ => {
                return Err(format!(
                    "line {number}: syntax error: {}",
                    String::from_utf8_lossy(line)
                ));
            }
        };
        lines.push(Line { number, step });
    }
    Ok(lines)
}

/// Replaces every `<TIME>` and `<TIME+N>`/`<TIME-N>` (seconds) with the UTC time now, as
/// `YYYYMMDD-HH:MM:SS`.
pub(crate) fn timify(message: &[u8]) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = find(rest, b"<TIME") {
        let Some(close) = rest[at..].iter().position(|&b| b == b'>').map(|p| at + p) else {
            break;
        };
        let offset = &rest[at + 5..close];
        let shifted = match offset {
            [] => Some(now),
            [b'+', digits @ ..] => seconds(digits).map(|s| now + s),
            [b'-', digits @ ..] => seconds(digits).map(|s| now.saturating_sub(s)),
            _ => None,
        };
        let Some(time) = shifted else {
            break;
        };
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(&fix_time(time));
        rest = &rest[close + 1..];
    }
    out.extend_from_slice(rest);
    out
}

/// Fills in BodyLength (9) and CheckSum (10) when the line leaves them out, as QuickFIX's
/// runner does: a line that gives either keeps what it gives, however wrong.
pub(crate) fn fixify(message: &[u8]) -> Vec<u8> {
    let Some(head_end) = message
        .iter()
        .position(|&b| b == SOH)
        .filter(|_| message.starts_with(b"8="))
    else {
        return message.to_vec();
    };
    let head = &message[..=head_end];
    let mut rest = &message[head_end + 1..];
    let has_length = find(message, b"\x019=").is_some();
    // A CheckSum the line gives: from the SOH before `10=` to the end.
    let mut checksum = None;
    if let Some(at) = find(rest, b"\x0110=")
        && rest.last() == Some(&SOH)
    {
        checksum = Some(rest[at..].to_vec());
        rest = &rest[..at];
    }
    let mut out = head.to_vec();
    if !has_length {
        out.extend_from_slice(format!("9={}\x01", rest.len()).as_bytes());
    }
    out.extend_from_slice(rest);
    match checksum {
        Some(checksum) => out.extend_from_slice(&checksum),
        None => {
            let sum = out.iter().fold(0u8, |sum, &b| sum.wrapping_add(b));
            out.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        }
    }
    out
}

/// Whether `received` is the message `expected` describes: the same fields in the same
/// order, each value equal, except the fields matched by pattern (CheckSum, and the
/// timestamps 42, 52, 60, 122).
pub(crate) fn compare(expected: &[u8], received: &[u8]) -> Result<(), String> {
    let expected: Vec<&[u8]> = fields(expected);
    let received: Vec<&[u8]> = fields(received);
    if expected.len() != received.len() {
        return Err("Number of fields do not match".to_owned());
    }
    for (left, right) in expected.iter().zip(&received) {
        let (tag, value) = split(left);
        let (got_tag, got) = split(right);
        if tag != got_tag {
            return Err(format!(
                "Expected field ({}) but found field ({})",
                text(tag),
                text(got_tag)
            ));
        }
        let matches = match tag {
            b"10" => got.len() == 3 && got.iter().all(u8::is_ascii_digit),
            b"42" | b"52" | b"60" | b"122" => is_timestamp(got),
            _ => value == got,
        };
        if !matches {
            return Err(format!(
                "Value in field ({}) should be ({}) but was ({})",
                text(tag),
                text(value),
                text(got)
            ));
        }
    }
    Ok(())
}

/// A message for a report, SOH shown as `|`.
pub(crate) fn show(message: &[u8]) -> String {
    String::from_utf8_lossy(message).replace('\x01', "|")
}

fn fields(message: &[u8]) -> Vec<&[u8]> {
    let trimmed = message.strip_suffix(&[SOH]).unwrap_or(message);
    trimmed.split(|&b| b == SOH).collect()
}

fn split(field: &[u8]) -> (&[u8], &[u8]) {
    match field.iter().position(|&b| b == b'=') {
        Some(at) => (&field[..at], &field[at + 1..]),
        None => (field, &[]),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `YYYYMMDD-HH:MM:SS` somewhere in `value`, as the runner's pattern asks.
fn is_timestamp(value: &[u8]) -> bool {
    value.windows(17).any(|w| {
        let digits = |range: std::ops::Range<usize>| w[range].iter().all(u8::is_ascii_digit);
        digits(0..8)
            && w[8] == b'-'
            && digits(9..11)
            && w[11] == b':'
            && digits(12..14)
            && w[14] == b':'
            && digits(15..17)
    })
}

fn seconds(digits: &[u8]) -> Option<Duration> {
    std::str::from_utf8(digits)
        .ok()?
        .parse()
        .ok()
        .map(Duration::from_secs)
}

fn fix_time(since_epoch: Duration) -> Vec<u8> {
    let millis = u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX);
    let mut buf = [0u8; UtcTimestamp::FIX_LEN];
    UtcTimestamp::from_unix_millis(millis).write_fix(&mut buf);
    // Seconds precision, as the runner writes it: drop `.sss`.
    buf[..17].to_vec()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_their_connection() {
        let script = b"# comment\n\niCONNECT\nI8=FIX.4.4\x0135=A\x01\ni2,CONNECT\nE2,8=X\x01\ne2,DISCONNECT\ni1,DISCONNECT";
        let steps: Vec<Step> = parse(script).unwrap().into_iter().map(|l| l.step).collect();
        assert_eq!(
            steps,
            [
                Step::Connect(1),
                Step::Send(1, b"8=FIX.4.4\x0135=A\x01".to_vec()),
                Step::Connect(2),
                Step::Expect(2, b"8=X\x01".to_vec()),
                Step::ExpectDisconnect(2),
                Step::Disconnect(1),
            ]
        );
        assert!(parse(b"X nonsense").is_err());
    }

    #[test]
    fn fixify_fills_in_length_and_checksum_only_where_missing() {
        let plain = fixify(b"8=FIX.4.4\x0135=0\x0134=2\x01");
        let sum = plain[..plain.len() - 7]
            .iter()
            .fold(0u8, |s, &b| s.wrapping_add(b));
        assert_eq!(
            show(&plain),
            format!("8=FIX.4.4|9=10|35=0|34=2|10={sum:03}|")
        );
        // A given CheckSum is kept, and the length is what the runner computes without it.
        let kept = fixify(b"8=FIX.4.4\x0135=0\x0134=2\x0110=999\x01");
        assert_eq!(show(&kept), "8=FIX.4.4|9=9|35=0|34=2|10=999|");
        let given_length = fixify(b"8=FIX.4.4\x019=99\x0135=0\x01");
        assert!(show(&given_length).starts_with("8=FIX.4.4|9=99|35=0|10="));
    }

    #[test]
    fn times_are_substituted_with_offsets() {
        let out = show(&timify(b"52=<TIME>\x01122=<TIME-120>\x0160=<TIME+5>\x01"));
        let values: Vec<&str> = out.split('|').filter(|f| !f.is_empty()).collect();
        assert_eq!(values.len(), 3, "{out}");
        for field in values {
            let value = field.split_once('=').unwrap().1;
            assert!(is_timestamp(value.as_bytes()) && value.len() == 17, "{out}");
        }
    }

    #[test]
    fn comparison_matches_patterns_and_nothing_else() {
        let expected = b"8=FIX.4.4\x019=51\x0135=0\x0134=2\x0152=00000000-00:00:00.000\x0110=0\x01";
        let good = b"8=FIX.4.4\x019=51\x0135=0\x0134=2\x0152=20261201-12:00:00.123\x0110=042\x01";
        assert_eq!(compare(expected, good), Ok(()));
        let wrong_seq =
            b"8=FIX.4.4\x019=51\x0135=0\x0134=3\x0152=20261201-12:00:00.123\x0110=042\x01";
        assert!(compare(expected, wrong_seq).unwrap_err().contains("(34)"));
        let reordered =
            b"8=FIX.4.4\x019=51\x0135=0\x0152=20261201-12:00:00.123\x0134=2\x0110=042\x01";
        assert!(
            compare(expected, reordered)
                .unwrap_err()
                .starts_with("Expected field (34)")
        );
        let short = b"8=FIX.4.4\x019=51\x0135=0\x0134=2\x0110=042\x01";
        assert!(compare(expected, short).is_err());
        let bad_time = b"8=FIX.4.4\x019=51\x0135=0\x0134=2\x0152=soon\x0110=042\x01";
        assert!(compare(expected, bad_time).is_err());
    }
}
