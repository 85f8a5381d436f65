//! QuickFIX C++'s layout of its logs: file names, lines, the screen, and how fixring's
//! events read in them.

use std::fmt::Write as _;

use fixring_core::config::LogPrecision;
use fixring_core::{ErrorSource, EventKind, SessionId, UtcTimestamp};

/// The file-name prefix of a session's logs: `BEGIN-SENDER-TARGET`, then `-QUALIFIER` when
/// it has one (QuickFIX C++'s `FileLog::generatePrefix`).
pub(crate) fn prefix(id: &SessionId) -> String {
    let mut prefix = format!(
        "{}-{}-{}",
        id.begin_string, id.sender_comp_id, id.target_comp_id
    );
    if !id.qualifier.is_empty() {
        prefix.push('-');
        prefix.push_str(&id.qualifier);
    }
    prefix
}

/// The prefix of the logs of what belongs to no session.
pub(crate) const GLOBAL: &str = "GLOBAL";

/// The current messages log of `prefix`.
pub(crate) fn messages_file(prefix: &str) -> String {
    format!("{prefix}.messages.current.log")
}

/// The current event log of `prefix`.
pub(crate) fn event_file(prefix: &str) -> String {
    format!("{prefix}.event.current.log")
}

/// The `n`th backup of the messages log of `prefix`.
pub(crate) fn messages_backup(prefix: &str, n: u32) -> String {
    format!("{prefix}.messages.backup.{n}.log")
}

/// The `n`th backup of the event log of `prefix`.
pub(crate) fn event_backup(prefix: &str, n: u32) -> String {
    format!("{prefix}.event.backup.{n}.log")
}

/// Appends `at` as a FIX UTCTimestamp with `precision`: `YYYYMMDD-HH:MM:SS[.fraction]`.
pub(crate) fn timestamp(out: &mut Vec<u8>, at: UtcTimestamp, precision: LogPrecision) {
    let mut fix = [0u8; UtcTimestamp::FIX_LEN];
    at.write_fix(&mut fix);
    match precision {
        LogPrecision::Seconds => out.extend_from_slice(&fix[..17]),
        LogPrecision::Millis => out.extend_from_slice(&fix),
        LogPrecision::Nanos => {
            out.extend_from_slice(&fix[..18]);
            let nanos = at.unix_nanos() % 1_000_000_000;
            let mut digits = [b'0'; 9];
            let mut rest = nanos;
            for digit in digits.iter_mut().rev() {
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            out.extend_from_slice(&digits);
        }
    }
}

/// Appends one line of a file log: `TIMESTAMP : TEXT` and a newline, or `TEXT` alone
/// without the timestamp.
pub(crate) fn line(out: &mut Vec<u8>, at: Option<(UtcTimestamp, LogPrecision)>, text: &[u8]) {
    if let Some((at, precision)) = at {
        timestamp(out, at, precision);
        out.extend_from_slice(b" : ");
    }
    out.extend_from_slice(text);
    out.push(b'\n');
}

/// What a screen-log entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScreenKind {
    Incoming,
    Outgoing,
    Event,
}

/// Appends one entry of the screen log, as QuickFIX C++'s `ScreenLog`:
/// `<TIMESTAMP, FIX.4.4:SENDER->TARGET, incoming>` and `  (TEXT)` on the next line.
pub(crate) fn screen(
    out: &mut Vec<u8>,
    at: UtcTimestamp,
    precision: LogPrecision,
    who: &str,
    kind: ScreenKind,
    text: &[u8],
) {
    out.push(b'<');
    timestamp(out, at, precision);
    out.extend_from_slice(b", ");
    out.extend_from_slice(who.as_bytes());
    out.extend_from_slice(match kind {
        ScreenKind::Incoming => b", incoming>\n  (",
        ScreenKind::Outgoing => b", outgoing>\n  (",
        ScreenKind::Event => b", event>\n  (",
    });
    out.extend_from_slice(text);
    out.extend_from_slice(b")\n");
}

/// The line that accounts for what the loop could not hand over to a writer behind.
pub(crate) fn lost_text(messages: u64, events: u64) -> String {
    format!(
        "fixring: {messages} messages and {events} events not logged: the log writer had \
         fallen behind (FileLogOverflow=drop)"
    )
}

/// Whether a whole message is a Heartbeat (35=0).
pub(crate) fn is_heartbeat(message: &[u8]) -> bool {
    message.windows(6).any(|w| w == b"\x0135=0\x01")
}

/// Writes the event-log text of an event: its name, then what it carries.
pub(crate) fn event_text(out: &mut String, kind: &EventKind) {
    out.push_str(kind.name());
    // Writing into a String cannot fail.
    let _ = match kind {
        EventKind::ConnectionAttempt {
            remote_host,
            remote_port,
            attempt,
            ..
        } => write!(
            out,
            ": connecting to {remote_host}:{remote_port}, attempt {attempt}"
        ),
        EventKind::ConnectionEstablished {
            remote_host,
            remote_port,
            is_ssl,
            ..
        } => write!(
            out,
            ": logged on with {remote_host}:{remote_port}{}",
            if *is_ssl { " over TLS" } else { "" }
        ),
        EventKind::ConnectionLost {
            remote_host,
            code,
            error_detail,
            ..
        } => write!(out, ": {} from {remote_host}: {error_detail}", code.code()),
        EventKind::ConnectionFailed {
            remote_host,
            remote_port,
            code,
            error_detail,
            ..
        } => write!(
            out,
            ": {} to {remote_host}:{remote_port}: {error_detail}",
            code.code()
        ),
        EventKind::ConnectionStopped { connection_type } => {
            write!(out, ": the {} stopped", connection_type.as_str())
        }
        EventKind::ConnectionError {
            remote_host,
            code,
            error_detail,
        } => write!(out, ": {} with {remote_host}: {error_detail}", code.code()),
        EventKind::Logon { session_id } => write!(out, ": {session_id} logged on"),
        EventKind::Logout { reason, .. } => write!(out, ": logged out: {reason}"),
        EventKind::BackendFallback { reason } => {
            write!(out, ": io_uring refused, running on epoll: {reason}")
        }
        EventKind::ConnectionFlood {
            evicted, refused, ..
        } => write!(
            out,
            ": {evicted} connections closed for newer ones, {refused} refused"
        ),
        EventKind::SequenceGap {
            expected, received, ..
        } => write!(out, ": expected MsgSeqNum {expected}, received {received}"),
        EventKind::MessagesNotResent { begin, end, .. } => {
            write!(
                out,
                ": MsgSeqNum {begin} to {end} not stored, skipped with a gap fill"
            )
        }
        EventKind::StoreError { detail, .. } => write!(out, ": {detail}"),
        EventKind::MessageInvalid {
            msg_seq_num: Some(seq),
            reason,
            ..
        } => write!(out, ": message {seq} invalid: {reason}"),
        EventKind::MessageInvalid { reason, .. } => write!(out, ": invalid message: {reason}"),
        EventKind::SessionReset { reason, .. } => write!(out, ": session reset: {reason}"),
        EventKind::LogOverflow { lost, .. } => write!(
            out,
            ": {lost} lines not logged, the log writer had fallen behind"
        ),
        EventKind::ConnectionEscalation { count, window, .. } => write!(
            out,
            ": {count} connection errors within {} s",
            window.as_secs()
        ),
        _ => Ok(()),
    };
}

/// The session an event is about, if any.
pub(crate) fn event_session(kind: &EventKind) -> Option<&SessionId> {
    match kind {
        EventKind::ConnectionAttempt { session_id, .. }
        | EventKind::ConnectionEstablished { session_id, .. }
        | EventKind::ConnectionLost { session_id, .. }
        | EventKind::ConnectionFailed { session_id, .. }
        | EventKind::Logon { session_id }
        | EventKind::Logout { session_id, .. }
        | EventKind::SequenceGap { session_id, .. }
        | EventKind::MessageInvalid { session_id, .. }
        | EventKind::MessagesNotResent { session_id, .. }
        | EventKind::SessionReset { session_id, .. }
        | EventKind::StoreError { session_id, .. }
        | EventKind::LogOverflow { session_id, .. }
        | EventKind::ConnectionEscalation {
            source: ErrorSource::Session(session_id),
            ..
        } => Some(session_id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25T23:59:58.123456789Z.
    const AT: UtcTimestamp = UtcTimestamp::from_unix_nanos(1_795_651_198_123_456_789);

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn file_names_are_quickfix_cpp_s() {
        let mut id = SessionId::new("FIX.4.4", "SENDER", "TARGET");
        assert_eq!(prefix(&id), "FIX.4.4-SENDER-TARGET");
        id.qualifier = "Q1".into();
        let prefix = prefix(&id);
        assert_eq!(prefix, "FIX.4.4-SENDER-TARGET-Q1");
        assert_eq!(
            messages_file(&prefix),
            "FIX.4.4-SENDER-TARGET-Q1.messages.current.log"
        );
        assert_eq!(
            event_file(&prefix),
            "FIX.4.4-SENDER-TARGET-Q1.event.current.log"
        );
        assert_eq!(
            messages_backup(&prefix, 2),
            "FIX.4.4-SENDER-TARGET-Q1.messages.backup.2.log"
        );
        assert_eq!(
            event_backup(&prefix, 1),
            "FIX.4.4-SENDER-TARGET-Q1.event.backup.1.log"
        );
    }

    #[test]
    fn lines_carry_the_time_in_each_precision() {
        let msg = b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01";
        let nanos = text(|out| line(out, Some((AT, LogPrecision::Nanos)), msg));
        assert_eq!(
            nanos,
            "20261125-23:59:58.123456789 : 8=FIX.4.4\x019=5\x0135=0\x0110=000\x01\n"
        );
        let millis = text(|out| line(out, Some((AT, LogPrecision::Millis)), b"x"));
        assert_eq!(millis, "20261125-23:59:58.123 : x\n");
        let secs = text(|out| line(out, Some((AT, LogPrecision::Seconds)), b"x"));
        assert_eq!(secs, "20261125-23:59:58 : x\n");
        assert_eq!(text(|out| line(out, None, b"x")), "x\n");
        let small = UtcTimestamp::from_unix_nanos(1_795_651_198_000_000_042);
        let padded = text(|out| timestamp(out, small, LogPrecision::Nanos));
        assert_eq!(padded, "20261125-23:59:58.000000042");
    }

    #[test]
    fn the_screen_reads_as_quickfix_cpp_s() {
        let entry = text(|out| {
            screen(
                out,
                AT,
                LogPrecision::Nanos,
                "FIX.4.4:A->B",
                ScreenKind::Incoming,
                b"8=x",
            )
        });
        assert_eq!(
            entry,
            "<20261125-23:59:58.123456789, FIX.4.4:A->B, incoming>\n  (8=x)\n"
        );
    }

    #[test]
    fn heartbeats_are_told_apart() {
        assert!(is_heartbeat(b"8=FIX.4.4\x019=5\x0135=0\x0134=2\x01"));
        assert!(!is_heartbeat(b"8=FIX.4.4\x019=5\x0135=D\x0158=35=0\x01"));
    }

    #[test]
    fn events_read_as_their_name_and_payload() {
        let mut out = String::new();
        let id = SessionId::new("FIX.4.4", "A", "B");
        event_text(
            &mut out,
            &EventKind::SequenceGap {
                session_id: id.clone(),
                expected: 3,
                received: 7,
            },
        );
        assert_eq!(
            out,
            "fix.session.sequence_gap: expected MsgSeqNum 3, received 7"
        );
        assert_eq!(
            event_session(&EventKind::Logon {
                session_id: id.clone()
            }),
            Some(&id)
        );
    }
}
