//! Events as one-line JSON objects, for `fixring run --events json` and log shippers.

use std::fmt::Write;

use fixring_core::{ErrorSource, Event, EventKind};

/// One JSON object for `event`: its dotted name under `"event"`, when the loop took it under
/// `"time"` (RFC 3339, UTC, microseconds) and the blueprint's payload fields. Failures also
/// carry `"code"`, and `error_detail` starts with the code's name.
pub(crate) fn event_json(event: &Event) -> String {
    let mut out = Json::new(event.name());
    out.str("time", &event.at.rfc3339().to_string());
    match &event.kind {
        EventKind::ConnectionAttempt {
            session_id,
            remote_host,
            remote_port,
            attempt,
        } => {
            out.str("session_id", &session_id.to_string());
            out.str("remote_host", remote_host);
            out.num("remote_port", u64::from(*remote_port));
            out.num("attempt", *attempt);
        }
        EventKind::ConnectionEstablished {
            session_id,
            remote_host,
            remote_port,
            is_ssl,
        } => {
            out.str("session_id", &session_id.to_string());
            out.str("remote_host", remote_host);
            out.num("remote_port", u64::from(*remote_port));
            out.bool("is_ssl", *is_ssl);
        }
        EventKind::ConnectionLost {
            session_id,
            remote_host,
            code,
            error_detail,
        } => {
            out.str("session_id", &session_id.to_string());
            out.str("remote_host", remote_host);
            out.str("code", code.code());
            out.str("error_detail", &format!("{}: {error_detail}", code.code()));
        }
        EventKind::ConnectionFailed {
            session_id,
            remote_host,
            remote_port,
            code,
            error_detail,
        } => {
            out.str("session_id", &session_id.to_string());
            out.str("remote_host", remote_host);
            out.num("remote_port", u64::from(*remote_port));
            out.str("code", code.code());
            out.str("error_detail", &format!("{}: {error_detail}", code.code()));
        }
        EventKind::ConnectionStopped { connection_type } => {
            out.str("connection_type", connection_type.as_str());
        }
        EventKind::ConnectionError {
            remote_host,
            code,
            error_detail,
        } => {
            out.str("remote_host", remote_host);
            out.str("code", code.code());
            out.str("error_detail", &format!("{}: {error_detail}", code.code()));
        }
        EventKind::Logon { session_id } => out.str("session_id", &session_id.to_string()),
        EventKind::Logout { session_id, reason } => {
            out.str("session_id", &session_id.to_string());
            out.str("reason", reason);
        }
        EventKind::SequenceGap {
            session_id,
            expected,
            received,
        } => {
            out.str("session_id", &session_id.to_string());
            out.num("expected", *expected);
            out.num("received", *received);
        }
        EventKind::MessagesNotResent {
            session_id,
            begin,
            end,
        } => {
            out.str("session_id", &session_id.to_string());
            out.num("begin", *begin);
            out.num("end", *end);
        }
        EventKind::StoreError { session_id, detail } => {
            out.str("session_id", &session_id.to_string());
            out.str("detail", detail);
        }
        EventKind::SessionReset { session_id, reason } => {
            out.str("session_id", &session_id.to_string());
            out.str("reason", reason);
        }
        EventKind::LogOverflow { session_id, lost } => {
            out.str("session_id", &session_id.to_string());
            out.num("lost", *lost);
        }
        EventKind::ConnectionEscalation {
            source,
            count,
            window,
        } => {
            match source {
                ErrorSource::Session(session_id) => {
                    out.str("session_id", &session_id.to_string());
                }
                ErrorSource::Port(port) => out.num("port", u64::from(*port)),
                _ => {}
            }
            out.num("count", *count);
            out.num("window_secs", window.as_secs());
        }
        EventKind::BackendFallback { reason } => out.str("reason", reason),
        EventKind::MessageInvalid {
            session_id,
            msg_seq_num,
            reason,
        } => {
            out.str("session_id", &session_id.to_string());
            if let Some(seq) = msg_seq_num {
                out.num("msg_seq_num", *seq);
            }
            out.str("reason", reason);
        }
        EventKind::ConnectionFlood {
            evicted,
            refused,
            sources,
            window,
        } => {
            out.num("evicted", *evicted);
            out.num("refused", *refused);
            let sources: Vec<String> = sources
                .iter()
                .map(|(address, count)| format!("{address} ({count})"))
                .collect();
            out.str("sources", &sources.join(", "));
            out.num("window_secs", window.as_secs());
        }
        _ => {}
    }
    out.finish()
}

/// Appends `value` to `out` as a JSON string literal.
pub(crate) fn write_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A flat JSON object under construction.
struct Json {
    buf: String,
}

impl Json {
    fn new(name: &str) -> Self {
        let mut json = Self {
            buf: String::with_capacity(160),
        };
        json.buf.push('{');
        json.key("event");
        json.quoted(name);
        json
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        self.quoted(key);
        self.buf.push(':');
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.quoted(value);
    }

    fn num(&mut self, key: &str, value: u64) {
        self.key(key);
        let _ = write!(self.buf, "{value}");
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
    }

    fn quoted(&mut self, value: &str) {
        write_quoted(&mut self.buf, value);
    }

    fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use fixring_core::{ErrorCode, SessionId, UtcTimestamp};

    use super::*;

    /// `kind` taken at 2026-11-25T23:59:58.123456Z.
    fn stamped(kind: EventKind) -> Event {
        Event::new(UtcTimestamp::from_unix_micros(1_795_651_198_123_456), kind)
    }

    #[test]
    fn established_has_the_blueprint_fields() {
        let event = stamped(EventKind::ConnectionEstablished {
            session_id: SessionId::new("FIX.4.4", "A", "B"),
            remote_host: "127.0.0.1".into(),
            remote_port: 5001,
            is_ssl: false,
        });
        assert_eq!(
            event_json(&event),
            r#"{"event":"fix.connection.established","time":"2026-11-25T23:59:58.123456Z","session_id":"FIX.4.4:A->B","remote_host":"127.0.0.1","remote_port":5001,"is_ssl":false}"#
        );
    }

    #[test]
    fn details_are_escaped_and_carry_the_code() {
        let event = stamped(EventKind::ConnectionError {
            remote_host: "0.0.0.0:5001".into(),
            code: ErrorCode::PortBindFailed,
            error_detail: "Address \"in\" use\n".into(),
        });
        assert_eq!(
            event_json(&event),
            r#"{"event":"fix.connection.error","time":"2026-11-25T23:59:58.123456Z","remote_host":"0.0.0.0:5001","code":"PORT_BIND_FAILED","error_detail":"PORT_BIND_FAILED: Address \"in\" use\n"}"#
        );
    }

    #[test]
    fn store_events_name_the_session() {
        let session_id = SessionId::new("FIX.4.4", "A", "B");
        let skipped = stamped(EventKind::MessagesNotResent {
            session_id: session_id.clone(),
            begin: 2,
            end: 9,
        });
        assert_eq!(
            event_json(&skipped),
            r#"{"event":"fix.session.messages_not_resent","time":"2026-11-25T23:59:58.123456Z","session_id":"FIX.4.4:A->B","begin":2,"end":9}"#
        );
        let failed = stamped(EventKind::StoreError {
            session_id,
            detail: "No space left on device".into(),
        });
        assert_eq!(
            event_json(&failed),
            r#"{"event":"fix.session.store_error","time":"2026-11-25T23:59:58.123456Z","session_id":"FIX.4.4:A->B","detail":"No space left on device"}"#
        );
    }

    #[test]
    fn an_escalation_names_its_session_or_its_port() {
        let session = stamped(EventKind::ConnectionEscalation {
            source: ErrorSource::Session(SessionId::new("FIX.4.4", "A", "B")),
            count: 6,
            window: std::time::Duration::from_secs(60),
        });
        assert_eq!(
            event_json(&session),
            r#"{"event":"fix.connection.escalation","time":"2026-11-25T23:59:58.123456Z","session_id":"FIX.4.4:A->B","count":6,"window_secs":60}"#
        );
        let port = stamped(EventKind::ConnectionEscalation {
            source: ErrorSource::Port(5001),
            count: 6,
            window: std::time::Duration::from_secs(60),
        });
        assert_eq!(
            event_json(&port),
            r#"{"event":"fix.connection.escalation","time":"2026-11-25T23:59:58.123456Z","port":5001,"count":6,"window_secs":60}"#
        );
    }
}
