//! The three forms of the status: the page, `/metrics` (Prometheus's text exposition format,
//! 0.0.4) and `/status.json`, rendered on the status server's thread from copies of what the
//! loops published.

use std::fmt::Write;
use std::sync::PoisonError;

use fixring_core::SessionId;
use fixring_core::session::SessionState;

use super::{
    AdmissionCounts, ESCALATION, EventCounts, LoopSnapshot, LoopView, SessionLatency,
    SessionSnapshot,
};
use crate::stats::Percentiles;

/// How often the page reloads itself, in seconds.
const REFRESH_SECS: u32 = 2;

/// Everything shown, copied out of the loops' shared state.
pub(super) struct Status {
    loops: Vec<LoopStatusCopy>,
}

struct LoopStatusCopy {
    number: usize,
    sessions: Vec<SessionId>,
    snapshot: LoopSnapshot,
    inbound: Percentiles,
    outbound: Percentiles,
}

impl Status {
    /// Copies what every loop published, holding each lock only for the copy.
    pub(super) fn read(views: &[LoopView]) -> Self {
        let loops = views
            .iter()
            .map(|view| {
                let snapshot = view
                    .snapshot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let latency = view.latency.latency();
                LoopStatusCopy {
                    number: view.number,
                    sessions: view
                        .sessions
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone(),
                    snapshot,
                    inbound: Percentiles::of(latency.inbound()),
                    outbound: Percentiles::of(latency.outbound()),
                }
            })
            .collect();
        Self { loops }
    }

    fn sessions(&self) -> impl Iterator<Item = (&LoopStatusCopy, &SessionId, &SessionSnapshot)> {
        self.loops.iter().flat_map(|l| {
            l.sessions
                .iter()
                .zip(&l.snapshot.sessions)
                .map(move |(id, s)| (l, id, s))
        })
    }

    /// The page a person reads: one row per session, reloading itself.
    pub(super) fn html(&self) -> String {
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\
             <title>fixring status</title><style>\
             body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}\
             th,td{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}\
             th{{background:#eee}}.connected{{color:#070}}.disconnected{{color:#a00}}\
             </style></head><body>\n<h1>fixring</h1>\n\
             <p>Reloads every {REFRESH_SECS} s. Also <a href=\"/metrics\">/metrics</a> and \
             <a href=\"/status.json\">/status.json</a>.</p>\n\
             <table id=\"sessions\">\n<tr><th>session</th><th>type</th><th>state</th>\
             <th>session state</th><th>host</th><th>next MsgSeqNum out</th>\
             <th>next MsgSeqNum in</th><th>messages in</th><th>messages out</th>\
             <th>last in</th><th>last out</th><th>reconnects</th><th>errors</th>\
             <th>latency in p50 / p99 / max</th><th>loop latency out p50 / p99 / max</th>\
             </tr>\n"
        );
        for (l, id, s) in self.sessions() {
            let _ = writeln!(
                out,
                "<tr class=\"session\" data-session=\"{id}\"><td>{id}</td><td>{kind}</td>\
                 <td class=\"state {state}\">{state}</td><td>{session_state}</td>\
                 <td class=\"host\">{host}</td><td class=\"next-sender-seq\">{sender}</td>\
                 <td class=\"next-target-seq\">{target}</td><td>{msgs_in}</td>\
                 <td>{msgs_out}</td><td>{last_in}</td><td>{last_out}</td><td>{reconnects}</td>\
                 <td>{errors}</td><td>{lin}</td><td>{lout}</td></tr>",
                id = escape(&id.to_string()),
                kind = s.connection_type.as_str(),
                state = s.state,
                session_state = session_state(s.session_state),
                host = s.peer.map_or_else(|| "–".to_owned(), |p| p.to_string()),
                sender = s.next_sender_seq,
                target = s.next_target_seq,
                msgs_in = s.messages_in,
                msgs_out = s.messages_out,
                last_in = s
                    .last_in
                    .map_or_else(|| "–".to_owned(), |t| t.rfc3339().to_string()),
                last_out = s
                    .last_out
                    .map_or_else(|| "–".to_owned(), |t| t.rfc3339().to_string()),
                reconnects = s.reconnects,
                errors = errors_cell(&s.errors),
                lin = session_latency_cell(&s.latency),
                lout = latency_cell(&l.outbound),
            );
        }
        out.push_str(
            "</table>\n<p>Latency in: receive to application callback of the session's \
             application messages, within a quarter; latency out: hand-over to write of the \
             session's event loop. In microseconds, since the engine started.</p>\n\
             </body></html>\n",
        );
        out
    }

    /// `/status.json`.
    pub(super) fn json(&self) -> String {
        let mut out = String::from("{\"sessions\":[");
        for (n, (l, id, s)) in self.sessions().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"session_id\":{},\"loop\":{},\"connection_type\":\"{}\",\"state\":\"{}\",\
                 \"session_state\":\"{}\",\"remote_host\":{},\"next_sender_seq_num\":{},\
                 \"next_target_seq_num\":{},\"messages_in\":{},\"messages_out\":{},\
                 \"last_in\":{},\"last_out\":{},\"reconnects\":{},\"errors\":{},\"events\":{},\
                 \"latency_ns\":{{\"inbound\":{},\"outbound\":{}}}}}",
                json_string(&id.to_string()),
                l.number,
                s.connection_type.as_str(),
                s.state,
                session_state(s.session_state),
                s.peer
                    .map_or_else(|| "null".to_owned(), |p| json_string(&p.to_string())),
                s.next_sender_seq,
                s.next_target_seq,
                s.messages_in,
                s.messages_out,
                json_time(s.last_in),
                json_time(s.last_out),
                s.reconnects,
                json_counts(&s.errors),
                json_counts(&s.events),
                json_session_latency(&s.latency),
                json_percentiles(&l.outbound),
            );
        }
        out.push_str("],\"events\":");
        let mut events = EventCounts::default();
        for l in &self.loops {
            for (name, count) in l.snapshot.events.iter() {
                events.add_n(name, count);
            }
        }
        out.push_str(&json_counts(&events));
        out.push_str("}\n");
        out
    }

    /// `/metrics`, in Prometheus's text exposition format.
    pub(super) fn metrics(&self) -> String {
        let mut out = String::with_capacity(4096);
        let sessions: Vec<_> = self.sessions().collect();
        let gauge =
            |out: &mut String, name: &str, help: &str, value: &dyn Fn(&SessionSnapshot) -> u64| {
                family(out, name, "gauge", help);
                for (_, id, s) in &sessions {
                    let _ = writeln!(out, "{name}{{{}}} {}", labels(id), value(s));
                }
            };
        let counter =
            |out: &mut String, name: &str, help: &str, value: &dyn Fn(&SessionSnapshot) -> u64| {
                family(out, name, "counter", help);
                for (_, id, s) in &sessions {
                    let _ = writeln!(out, "{name}{{{}}} {}", labels(id), value(s));
                }
            };
        family(
            &mut out,
            "fixring_session_state",
            "gauge",
            "1 when the session's connection is in the state of the label.",
        );
        for (_, id, s) in &sessions {
            for state in fixring_core::connection::StateKind::ALL {
                let _ = writeln!(
                    out,
                    "fixring_session_state{{{},state=\"{state}\"}} {}",
                    labels(id),
                    u8::from(s.state == state)
                );
            }
        }
        gauge(
            &mut out,
            "fixring_session_next_sender_seq_num",
            "The MsgSeqNum of the session's next outbound message.",
            &|s| s.next_sender_seq,
        );
        gauge(
            &mut out,
            "fixring_session_next_target_seq_num",
            "The MsgSeqNum the session expects on the peer's next message.",
            &|s| s.next_target_seq,
        );
        counter(
            &mut out,
            "fixring_session_messages_received_total",
            "Messages received since the engine started, counted by MsgSeqNum.",
            &|s| s.messages_in,
        );
        counter(
            &mut out,
            "fixring_session_messages_sent_total",
            "Messages sent since the engine started, counted by MsgSeqNum.",
            &|s| s.messages_out,
        );
        counter(
            &mut out,
            "fixring_session_reconnects_total",
            "Logons of the session after its first since the engine started.",
            &|s| s.reconnects,
        );
        family(
            &mut out,
            "fixring_session_latency_nanoseconds",
            "gauge",
            "Receive to application callback of the session's application messages since the \
             engine started, within a quarter of the true value (the loop's series are exact).",
        );
        for (_, id, s) in &sessions {
            let l = &s.latency;
            for (quantile, value) in [("0.5", l.p50), ("0.99", l.p99), ("1", l.max)] {
                let _ = writeln!(
                    out,
                    "fixring_session_latency_nanoseconds{{{},quantile=\"{quantile}\"}} {value}",
                    labels(id)
                );
            }
        }
        counter(
            &mut out,
            "fixring_session_latency_samples_total",
            "Application messages of the session its latency counted.",
            &|s| s.latency.count,
        );
        counter(
            &mut out,
            "fixring_session_escalations_total",
            "fix.connection.escalation events of the session.",
            &|s| s.events.of(ESCALATION),
        );
        family(
            &mut out,
            "fixring_session_errors_total",
            "counter",
            "Events of the session that report a failure, by event name.",
        );
        for (_, id, s) in &sessions {
            for (event, count) in s.errors.iter() {
                let _ = writeln!(
                    out,
                    "fixring_session_errors_total{{{},event=\"{event}\"}} {count}",
                    labels(id)
                );
            }
        }
        family(
            &mut out,
            "fixring_session_events_total",
            "counter",
            "Events of the session, by event name.",
        );
        for (_, id, s) in &sessions {
            for (event, count) in s.events.iter() {
                let _ = writeln!(
                    out,
                    "fixring_session_events_total{{{},event=\"{event}\"}} {count}",
                    labels(id)
                );
            }
        }
        family(
            &mut out,
            "fixring_events_total",
            "counter",
            "Every event of an event loop, a session's or not (refused sockets, ports), by name.",
        );
        for l in &self.loops {
            for (event, count) in l.snapshot.events.iter() {
                let _ = writeln!(
                    out,
                    "fixring_events_total{{loop=\"{}\",event=\"{event}\"}} {count}",
                    l.number
                );
            }
        }
        let admission: [AdmissionMetric; 4] = [
            (
                "fixring_pending_connections",
                "gauge",
                "Accepted connections waiting for their Logon (MaxPendingConnections bounds them).",
                |a| a.pending,
            ),
            (
                "fixring_parked_connections",
                "gauge",
                "Connections a flood's admission turned away, held open but unread until \
                 PressureLogonTimeout has passed.",
                |a| a.parked,
            ),
            (
                "fixring_connections_evicted_total",
                "counter",
                "Connections not logged on turned away to admit newer ones (see fix.connection.flood).",
                |a| a.evicted,
            ),
            (
                "fixring_connections_refused_total",
                "counter",
                "Connections refused before their Logon: bad first bytes, no Logon in time, an \
                 address not allowed, an unknown or busy session.",
                |a| a.refused,
            ),
        ];
        for (name, kind, help, value) in admission {
            family(&mut out, name, kind, help);
            for l in &self.loops {
                let _ = writeln!(
                    out,
                    "{name}{{loop=\"{}\"}} {}",
                    l.number,
                    value(&l.snapshot.admission)
                );
            }
        }
        family(
            &mut out,
            "fixring_connection_escalations_total",
            "counter",
            "fix.connection.escalation events of an event loop, a session's or a port's.",
        );
        for l in &self.loops {
            let _ = writeln!(
                out,
                "fixring_connection_escalations_total{{loop=\"{}\"}} {}",
                l.number,
                l.snapshot.events.of(ESCALATION)
            );
        }
        family(
            &mut out,
            "fixring_loop_latency_nanoseconds",
            "gauge",
            "Latency percentiles of an event loop since the engine started: inbound (receive \
             to application callback) and outbound (hand-over to write started).",
        );
        for l in &self.loops {
            for (direction, p) in [("inbound", &l.inbound), ("outbound", &l.outbound)] {
                for (quantile, value) in [
                    ("0.5", p.p50),
                    ("0.9", p.p90),
                    ("0.99", p.p99),
                    ("0.999", p.p999),
                    ("1", p.max),
                ] {
                    let _ = writeln!(
                        out,
                        "fixring_loop_latency_nanoseconds{{loop=\"{}\",direction=\"{direction}\",\
                         quantile=\"{quantile}\"}} {value}",
                        l.number
                    );
                }
            }
        }
        family(
            &mut out,
            "fixring_loop_latency_samples_total",
            "counter",
            "Messages an event loop's latency histograms recorded.",
        );
        for l in &self.loops {
            for (direction, p) in [("inbound", &l.inbound), ("outbound", &l.outbound)] {
                let _ = writeln!(
                    out,
                    "fixring_loop_latency_samples_total{{loop=\"{}\",direction=\"{direction}\"}} {}",
                    l.number, p.count
                );
            }
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A session's labels: its id, CompIDs and qualifier.
fn labels(id: &SessionId) -> String {
    format!(
        "session=\"{}\",begin_string=\"{}\",sender_comp_id=\"{}\",target_comp_id=\"{}\"",
        label_value(&id.to_string()),
        label_value(&id.begin_string),
        label_value(&id.sender_comp_id),
        label_value(&id.target_comp_id),
    )
}

/// A label value, with `\`, `"` and newlines escaped as the text format asks.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn session_state(state: SessionState) -> &'static str {
    match state {
        SessionState::Disconnected => "disconnected",
        SessionState::AwaitingLogon { .. } => "awaiting_logon",
        SessionState::Active => "active",
        SessionState::LoggingOut => "logging_out",
        SessionState::Closing => "closing",
    }
}

fn errors_cell(errors: &EventCounts) -> String {
    let cells: Vec<String> = errors
        .iter()
        .map(|(name, count)| format!("{name}: {count}"))
        .collect();
    if cells.is_empty() {
        "0".to_owned()
    } else {
        escape(&cells.join(", "))
    }
}

fn session_latency_cell(l: &SessionLatency) -> String {
    if l.count == 0 {
        return "–".to_owned();
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    format!("{:.1} / {:.1} / {:.1} µs", us(l.p50), us(l.p99), us(l.max))
}

fn latency_cell(p: &Percentiles) -> String {
    if p.count == 0 {
        return "–".to_owned();
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    format!("{:.1} / {:.1} / {:.1} µs", us(p.p50), us(p.p99), us(p.max))
}

/// Text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_time(at: Option<fixring_core::UtcTimestamp>) -> String {
    at.map_or_else(|| "null".to_owned(), |t| format!("\"{}\"", t.rfc3339()))
}

fn json_counts(counts: &EventCounts) -> String {
    let fields: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{}:{count}", json_string(name)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn json_session_latency(l: &SessionLatency) -> String {
    format!(
        "{{\"count\":{},\"p50\":{},\"p99\":{},\"max\":{}}}",
        l.count, l.p50, l.p99, l.max
    )
}

fn json_percentiles(p: &Percentiles) -> String {
    format!(
        "{{\"count\":{},\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{}}}",
        p.count, p.p50, p.p90, p.p99, p.p999, p.max
    )
}

/// A metric of a loop's admission: its name, its type, its help, and its value.
type AdmissionMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&AdmissionCounts) -> u64,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
        assert_eq!(json_string("a\"\\\u{1}"), "\"a\\\"\\\\\\u0001\"");
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
