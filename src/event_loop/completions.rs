//! What the loop does with each backend completion, and with received bytes.

use std::sync::Arc;

use fixring_core::codec::{Decoded, Message};
use fixring_core::connection::SessionIndex;
use fixring_core::session::{Inbound, ProtocolViolation};
use fixring_core::tls::{TlsConnection, TlsError};
use fixring_core::{ErrorCode, Event, Instant};
use fixring_io::{Backend, Completion, ConnId};

use super::EventLoop;
use super::conns::Owner;
use super::tls::{Sealer, TlsLink, Writer, looks_like_tls};
use crate::application::{Application, Context};

/// Why received bytes ended the reading of a connection early.
enum Stop {
    /// A message could not be framed or parsed.
    Malformed(ProtocolViolation),
    /// An accepted connection's Logon was refused.
    Refused(String),
    /// An accepted connection's Logon is for a session whose connection has gone silent:
    /// that connection gives way (the slot's index), and the Logon is read again.
    Replace(usize),
}

impl<B: Backend, A: Application> EventLoop<B, A> {
    pub(super) fn handle_completion(&mut self, now: Instant, completion: Completion) {
        match completion {
            Completion::Accepted {
                listener,
                conn,
                peer,
            } => {
                let Some(index) = self.listeners.iter().position(|l| l.id == listener) else {
                    self.backend.close(conn);
                    return;
                };
                let deadline = now + self.listeners[index].logon_timeout;
                if self.stopping_until.is_some() {
                    self.backend.close(conn);
                    return;
                }
                self.conns.insert(
                    conn,
                    Owner::Unrouted {
                        listener: index,
                        deadline,
                    },
                    Some(peer),
                );
                if let Some(config) = &self.listeners[index].tls {
                    match TlsConnection::server(Arc::clone(config)) {
                        Ok(tls) => self
                            .conns
                            .set_tls(conn, TlsLink::new(tls, self.buffer_size)),
                        Err(error) => {
                            self.refuse(conn, ErrorCode::SslHandshakeFailed, error.to_string());
                            return;
                        }
                    }
                }
                self.note_deadline(Some(deadline));
            }
            Completion::Connected { conn, peer } => {
                let Some(Owner::Slot(index)) = self.conns.owner(conn) else {
                    return;
                };
                self.conns.set_peer(conn, peer);
                if let Some((config, server_name)) = self.slots[index].tls_client() {
                    // The session starts once the handshake is done.
                    match TlsConnection::client(config, &server_name) {
                        Ok(tls) => {
                            self.conns
                                .set_tls(conn, TlsLink::new(tls, self.buffer_size));
                            self.tls_receive(now, conn);
                        }
                        Err(error) => {
                            self.tls_failed(now, conn, &TlsError::Protocol(error.to_string()))
                        }
                    }
                } else if self.slots[index].connected(now) {
                    self.touched.push(index);
                } else {
                    self.conns.remove(conn);
                    self.backend.close(conn);
                }
            }
            Completion::ConnectFailed { conn, error } => {
                let Some(Owner::Slot(index)) = self.conns.owner(conn) else {
                    return;
                };
                self.conns.remove(conn);
                let slot = &mut self.slots[index];
                slot.conn = None;
                let host = slot.connect_failed(now);
                self.report_failed(index, host, error.to_string());
                self.start_connects(index, now);
            }
            Completion::Received { conn } => self.on_received(now, conn),
            Completion::Closed {
                conn,
                error,
                unsent,
            } => {
                let owner = self.conns.owner(conn);
                self.conns.remove(conn);
                if let Some(Owner::Slot(index)) = owner {
                    let mut detail = match error {
                        Some(error) => error.to_string(),
                        None => "peer closed the connection".to_owned(),
                    };
                    if unsent > 0 {
                        detail.push_str(&format!("; {unsent} bytes not sent"));
                    }
                    if self.slots[index].session.state().is_logged_on()
                        || self.slots[index].is_connected()
                    {
                        self.slots[index].conn = None;
                        self.connection_lost(index, now, detail);
                    } else {
                        self.slots[index].conn = None;
                        let host = self.slots[index].connect_failed(now);
                        self.report_failed(index, host, detail);
                        self.start_connects(index, now);
                    }
                }
            }
            Completion::Writable { conn } => {
                if let Some(Owner::Slot(index)) = self.conns.owner(conn) {
                    self.backlogged.retain(|&i| i != index);
                    self.write_pending(now, index);
                }
            }
            Completion::Woken => {}
        }
    }

    /// Frames, parses and hands on every complete message received on `conn`, after
    /// decrypting it on a TLS connection.
    fn on_received(&mut self, now: Instant, conn: ConnId) {
        if self.conns.is_tls(conn) && !self.tls_receive(now, conn) {
            return;
        }
        self.handle_input(now, conn, true);
    }

    /// Frames and hands on what `conn` holds, plain or decrypted. A Logon for a session whose
    /// connection went silent replaces that connection when `may_replace`.
    fn handle_input(&mut self, now: Instant, conn: ConnId, may_replace: bool) {
        let seen = std::time::Instant::now();
        let Some(owner) = self.conns.owner(conn) else {
            return;
        };
        let mut slot_index = match owner {
            Owner::Slot(index) => Some(index),
            Owner::Unrouted { .. } => None,
        };
        let Self {
            backend,
            slots,
            listeners,
            app,
            framer,
            conns,
            scratch,
            stats,
            ..
        } = self;
        let Some(mut io) = backend.io(conn) else {
            return;
        };
        let (rx, tx) = io.split();
        // The bytes to frame: the receive buffer itself, or the decrypted plaintext.
        let (input, mut sealing): (&[u8], Option<(&mut TlsConnection, &mut [u8])>) =
            match conns.tls_mut(conn) {
                Some(link) => (&link.plain[..], Some((&mut link.conn, rx))),
                None => (&*rx, None),
            };
        let tls_on_plain_port = sealing.is_none() && looks_like_tls(input);
        let mut consumed = 0;
        let mut stop = None;
        let mut routed = None;
        let mut backlog_grew = false;
        while consumed < input.len() {
            let len = match framer.decode(&input[consumed..]) {
                Decoded::Message { len } => len,
                Decoded::Incomplete => break,
                Decoded::Invalid { discard, error } => {
                    consumed += discard;
                    stop = Some(Stop::Malformed(ProtocolViolation::Malformed(error)));
                    break;
                }
            };
            let frame = &input[consumed..consumed + len];
            consumed += len;
            let msg = match Message::parse(frame) {
                Ok(msg) => msg,
                Err(error) => {
                    stop = Some(Stop::Malformed(ProtocolViolation::BadField(error)));
                    break;
                }
            };
            let index = match slot_index {
                Some(index) => index,
                None => {
                    let Owner::Unrouted { listener, .. } = owner else {
                        break;
                    };
                    let Some(l) = listeners.get_mut(listener) else {
                        break;
                    };
                    let sender = msg.sender_comp_id().unwrap_or_default();
                    let target = msg.target_comp_id().unwrap_or_default();
                    match l.router.route(msg.begin_string(), sender, target) {
                        Ok(entry) => {
                            let SessionIndex(r) = entry;
                            let Some(&index) = l.slots.get(r) else {
                                break;
                            };
                            // The slot takes the connection before the Logon is handled.
                            slots[index].take_connection(now, conn);
                            routed = Some((index, listener, entry));
                            slot_index = Some(index);
                            index
                        }
                        Err(refusal) => {
                            let begin = msg.begin_string();
                            let silent = l
                                .router
                                .logged_on_matches(begin, sender, target)
                                .filter_map(|SessionIndex(r)| l.slots.get(r).copied())
                                .find(|&i| slots.get(i).is_some_and(|s| s.session.is_silent(now)));
                            stop = Some(match silent {
                                Some(index) if may_replace => {
                                    // Read again once the silent connection is gone.
                                    consumed -= len;
                                    Stop::Replace(index)
                                }
                                _ => Stop::Refused(refusal.to_string()),
                            });
                            break;
                        }
                    }
                }
            };
            let slot = &mut slots[index];
            match slot.session.handle_message(now, &msg) {
                Inbound::Application => {
                    stats.inbound(seen);
                    let tls = sealing.as_mut().map(|(conn, incoming)| Sealer {
                        conn,
                        incoming,
                        scratch: &mut scratch[..],
                    });
                    let mut ctx = Context {
                        session: &mut slot.session,
                        backlog: &mut slot.backlog,
                        writer: Writer { tx: &mut *tx, tls },
                        stats: &mut *stats,
                        now,
                    };
                    app.on_app_message(&mut ctx, &msg);
                    if !slot.backlog.is_empty() {
                        backlog_grew = true;
                    }
                }
                Inbound::Admin => app.on_admin_message(slot.session.id(), &msg),
                Inbound::Ignored => {}
            }
            if slot.session.poll_close().is_some() {
                break;
            }
        }
        match conns.tls_mut(conn) {
            Some(link) => {
                link.plain.drain(..consumed);
            }
            None => io.consume(consumed),
        }
        let stuck = stop.is_none() && io.receive_buffer_full();
        if let Some((index, listener, entry)) = routed {
            self.attach(index, now, conn, (listener, entry));
        }
        match (slot_index, stop) {
            (Some(index), Some(Stop::Malformed(violation))) => {
                self.slots[index].session.handle_malformed(violation);
            }
            (Some(index), None) if stuck => {
                let too_large = fixring_core::codec::DecodeError::TooLarge {
                    length: self.buffer_size + 1,
                    max: self.buffer_size,
                };
                let violation = ProtocolViolation::Malformed(too_large);
                self.slots[index].session.handle_malformed(violation);
            }
            (None, Some(Stop::Malformed(violation))) => {
                let detail = if tls_on_plain_port {
                    "a TLS handshake on a plain-text port".to_owned()
                } else {
                    violation.to_string()
                };
                self.refuse(conn, ErrorCode::ConnectionRefused, detail);
            }
            (_, Some(Stop::Refused(detail))) => {
                self.refuse(conn, ErrorCode::ConnectionRefused, detail)
            }
            (_, Some(Stop::Replace(silent))) => {
                self.replace_silent(silent, now);
                self.handle_input(now, conn, false);
            }
            _ => {}
        }
        if let Some(index) = slot_index {
            self.touched.push(index);
            if backlog_grew && !self.backlogged.contains(&index) {
                self.backlogged.push(index);
            }
        }
    }

    /// Closes an accepted connection that never became a session's, saying why.
    pub(super) fn refuse(&mut self, conn: ConnId, code: ErrorCode, detail: String) {
        let peer = self.conns.peer(conn);
        self.conns.remove(conn);
        self.backend.close(conn);
        self.app.on_event(&Event::ConnectionError {
            remote_host: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            code,
            error_detail: detail,
        });
    }
}
