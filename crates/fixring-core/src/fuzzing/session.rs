//! The session harness: an acceptor connection driven by operations decoded from fuzz input.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::codec::{Decoded, Framer, Header, Message, encode, msg_type};
use crate::config::{AcceptorConfig, Role, SessionConfig};
use crate::connection::{Connection, Deliver, Lent, Link, Output, Reply};
use crate::testing::{AppMessage, MemorySendBuffer, MemorySocket};
use crate::{EventKind, Instant, SessionId, UtcTimestamp, WallClock};

/// The session's identity as the acceptor sees it (our SenderCompID first).
const BEGIN_STRING: &str = "FIX.4.4";
const OUR_COMP_ID: &str = "ACC";
const PEER_COMP_ID: &str = "INIT";

/// The size of the socket's receive buffer and of its send buffer, and the largest message
/// the connection frames: smaller than the largest chunk, so that chunks can outgrow it.
const BUFFER: usize = 4 * 1024;

/// Rounds of [`Connection::poll_transmit`] after one operation: one inbound message queues a
/// few admin messages at most, and each round empties the send buffer.
const TRANSMIT_ROUNDS: usize = 1024;

/// Outputs the connection may queue after one operation.
const OUTPUT_LIMIT: usize = 1024;

/// MsgTypes a generated message can carry: every admin type and two application types.
const MSG_TYPES: [&[u8]; 8] = [
    msg_type::LOGON,
    msg_type::HEARTBEAT,
    msg_type::TEST_REQUEST,
    msg_type::RESEND_REQUEST,
    msg_type::REJECT,
    msg_type::SEQUENCE_RESET,
    msg_type::LOGOUT,
    msg_type::NEW_ORDER_SINGLE,
];

/// Drives an acceptor [`Connection`] over an in-memory socket with the operations `data`
/// encodes, checking that everything it writes is valid FIX from us to the peer.
///
/// The first byte selects the mode: bit 0 starts the stream with a valid Logon from the peer
/// (so the fuzzer reaches the logged-on states at once), bit 1 sets ResetOnLogon. Each
/// following operation starts with a control byte whose top two bits choose:
///
/// - `00`: advance the clock by the low six bits in seconds and run expired timers; the
///   values 62 and 63 instead drop and re-open the connection, or start a local Logout;
/// - `01`: append the next `n` bytes (`n` from the following byte or two, see `take_chunk`)
///   to the inbound stream as is;
/// - `10`: append the next `n` bytes wrapped in a valid envelope (BeginString, BodyLength,
///   CheckSum), so that the fuzzer reaches the session without computing checksums;
/// - `11`: append a message with a valid header and `n` fuzzed body bytes: MsgType from the
///   low three bits, PossDupFlag from bit 3, and from bits 4–5 a MsgSeqNum that is the next
///   one, one behind, two ahead, or 1.
///
/// Inbound bytes go into the socket's receive buffer as far as it has room; after every
/// operation, and whenever the buffer fills, the connection reads what it holds (framing,
/// parsing and the session's handling, or its handling of bytes that do not frame or parse),
/// writes everything it has to say into the send buffer, where each message is checked and
/// taken, until [`Connection::poll_transmit`] runs dry, and its outputs are drained. A
/// connection that closes its socket gets a new one, like an acceptor taking the next
/// connection.
pub fn session_input(data: &[u8]) {
    let Some((&mode, mut input)) = data.split_first() else {
        return;
    };
    let mut driver = Driver::new(mode & 0b10 != 0);
    if mode & 1 != 0 {
        let logon = driver.peer_message(msg_type::LOGON, 1, false, b"98=0\x01108=30\x01");
        driver.peer_seq = 2;
        driver.feed(&logon);
    }
    driver.pump();
    while let Some((&control, tail)) = input.split_first() {
        input = tail;
        match control >> 6 {
            0b00 => driver.clock_or_connection(control & 0x3f),
            op => {
                let (chunk, tail) = take_chunk(input);
                input = tail;
                match op {
                    0b01 => driver.feed(chunk),
                    0b10 => driver.feed(&envelope(chunk)),
                    _ => driver.generated(control, chunk),
                }
            }
        }
        driver.pump();
    }
}

/// The connection under test, its socket, its clock, and what the peer's next message says.
struct Driver {
    conn: Connection<AppMessage>,
    socket: MemorySocket,
    scratch: Vec<u8>,
    now: Instant,
    wall: UtcTimestamp,
    /// The MsgSeqNum the peer's next generated message carries by default.
    peer_seq: u64,
}

/// The application's side: it takes what is delivered and answers nothing.
struct Application;

impl Deliver<AppMessage, MemorySendBuffer> for Application {
    fn application(&mut self, _: Reply<'_, AppMessage, MemorySendBuffer>, _: &Message<'_>) {}

    fn admin(&mut self, _: &SessionId, _: &Message<'_>) {}
}

impl Driver {
    fn new(reset_on_logon: bool) -> Self {
        let id = SessionId::new(BEGIN_STRING, OUR_COMP_ID, PEER_COMP_ID);
        let role = Role::Acceptor(AcceptorConfig {
            accept_host: None,
            accept_port: 5001,
        });
        let mut config = SessionConfig::new(id, role);
        config.reset_on_logon = reset_on_logon;
        let wall = UtcTimestamp::from_unix_millis(1_795_651_200_000);
        let conn = match Connection::new(&config, WallClock::new(Instant::ZERO, wall), BUFFER) {
            Ok(conn) => conn,
            Err(e) => panic!("an acceptor's connection: {e}"),
        };
        let mut driver = Self {
            conn,
            socket: MemorySocket::new(BUFFER),
            scratch: vec![0; BUFFER],
            now: Instant::ZERO,
            wall,
            peer_seq: 1,
        };
        driver.accept();
        driver
    }

    fn clock_or_connection(&mut self, arg: u8) {
        match arg {
            63 => self.conn.stop(self.now),
            62 => self
                .conn
                .handle_closed(self.now, "dropped by the fuzz input".to_owned()),
            secs => {
                let elapsed = Duration::from_secs(u64::from(secs));
                self.now += elapsed;
                self.wall = self.wall.advanced_by(elapsed);
                self.conn.handle_timeout(self.now);
            }
        }
    }

    /// A message from the peer with a valid header and `body` after it.
    fn generated(&mut self, control: u8, body: &[u8]) {
        let kind = MSG_TYPES
            .get(usize::from(control & 0b111))
            .copied()
            .unwrap_or(msg_type::HEARTBEAT);
        let poss_dup = control & 0b1000 != 0;
        // Bits 4 and 5 move MsgSeqNum: expected, one behind, two ahead, or back to 1.
        let seq = match (control >> 4) & 0b11 {
            0 => self.peer_seq,
            1 => self.peer_seq.saturating_sub(1).max(1),
            2 => self.peer_seq + 2,
            _ => 1,
        };
        self.peer_seq = seq + 1;
        let message = self.peer_message(kind, seq, poss_dup, body);
        self.feed(&message);
    }

    fn peer_message(&self, kind: &[u8], seq: u64, poss_dup: bool, body: &[u8]) -> Vec<u8> {
        let header = Header {
            begin_string: BEGIN_STRING,
            msg_type: kind,
            sender_comp_id: PEER_COMP_ID,
            target_comp_id: OUR_COMP_ID,
            msg_seq_num: seq,
            sending_time: self.wall,
            poss_dup,
            orig_sending_time: poss_dup.then_some(self.wall),
            ..Default::default()
        };
        let mut out = vec![0u8; body.len() + 256];
        match encode(&header, body, &mut out) {
            Ok(len) => out.truncate(len),
            Err(e) => panic!(
                "encoding a {}-byte body into {}: {e}",
                body.len(),
                out.len()
            ),
        }
        out
    }

    /// Puts `bytes` into the receive buffer as it makes room: the connection reads each
    /// time it fills.
    fn feed(&mut self, mut bytes: &[u8]) {
        // Each round either moves bytes in, or reads a full buffer, which the connection
        // empties or closes (a new socket).
        for _ in 0..=2 * bytes.len() {
            let taken = self.socket.receive(bytes);
            bytes = bytes.get(taken..).unwrap_or_default();
            if bytes.is_empty() {
                return;
            }
            if taken == 0 {
                self.pump();
            }
        }
        panic!("the connection makes no room in its receive buffer");
    }

    /// Lets the connection read what it received, write what it has to say, and report.
    fn pump(&mut self) {
        if !self.socket.received().is_empty() {
            let mut lent = Lent {
                socket: &mut self.socket,
                scratch: &mut self.scratch,
            };
            self.conn
                .handle_received(self.now, &mut lent, &mut Application);
        }
        self.transmit();
        self.outputs();
    }

    /// Writes and checks everything the connection has to send.
    fn transmit(&mut self) {
        for _ in 0..TRANSMIT_ROUNDS {
            let mut lent = Lent {
                socket: &mut self.socket,
                scratch: &mut self.scratch,
            };
            let waiting = self.conn.poll_transmit(self.now, &mut lent, &mut drop);
            let wire = self.socket.take_sent(usize::MAX);
            check_outbound(&wire);
            if wire.is_empty() && !waiting {
                return;
            }
        }
        panic!("poll_transmit never runs dry");
    }

    /// Drains the connection's outputs, checking each; a closed socket is replaced by a new
    /// one.
    fn outputs(&mut self) {
        let mut closed = false;
        for _ in 0..OUTPUT_LIMIT {
            match self.conn.poll_output(self.now) {
                None if closed => {
                    self.accept();
                    closed = false;
                }
                None => return,
                Some(Output::Event(event)) => check_event(&event),
                Some(Output::Close) => closed = true,
                Some(Output::Refused(e)) => panic!("the lifecycle refused a transition: {e}"),
                Some(Output::NotSent(..)) => panic!("a message given back, none handed over"),
                Some(Output::Connect { .. }) => panic!("an acceptor asked to connect"),
            }
        }
        panic!("the connection's outputs never run dry");
    }

    /// A new socket, which the router would have routed to this connection.
    fn accept(&mut self) {
        self.socket = MemorySocket::new(BUFFER);
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40_001);
        self.conn.handle_accepted(self.now, Link::plain(Some(peer)));
        self.peer_seq = self.conn.session().next_target_seq();
    }
}

/// Checks that an event says what happened.
fn check_event(event: &EventKind) {
    if let EventKind::ConnectionLost { error_detail, .. }
    | EventKind::ConnectionError { error_detail, .. } = event
    {
        assert!(
            !error_detail.is_empty(),
            "an event without detail: {event:?}"
        );
    }
    if let EventKind::Logout { reason, .. } = event {
        assert!(!reason.is_empty(), "a Logout without reason");
    }
}

/// Checks that `wire` is a sequence of whole, valid FIX messages from us to the peer.
fn check_outbound(mut wire: &[u8]) {
    let framer = Framer::new(BUFFER);
    while !wire.is_empty() {
        let Decoded::Message { len } = framer.decode(wire) else {
            panic!("the connection wrote bytes that do not frame as whole messages");
        };
        let (frame, rest) = wire.split_at(len);
        check_message(frame);
        wire = rest;
    }
}

/// Checks that `wire` is one valid FIX message from us to the peer.
fn check_message(wire: &[u8]) {
    let message = match Message::parse(wire) {
        Ok(message) => message,
        Err(e) => panic!("the connection wrote a message that does not parse: {e}"),
    };
    assert_eq!(message.begin_string(), BEGIN_STRING.as_bytes());
    assert_eq!(message.sender_comp_id(), Some(OUR_COMP_ID.as_bytes()));
    assert_eq!(message.target_comp_id(), Some(PEER_COMP_ID.as_bytes()));
    assert!(
        matches!(message.msg_seq_num(), Ok(Some(seq)) if seq >= 1),
        "outbound MsgSeqNum missing or zero"
    );
}

/// Splits a length-prefixed chunk off `input`: a length byte below 255 is the length; 255
/// is followed by a second byte `n` for 255 + 16 n bytes, so that chunks can outgrow the
/// socket's fixed buffers.
fn take_chunk(input: &[u8]) -> (&[u8], &[u8]) {
    let (len, rest) = match input {
        [255, extra, rest @ ..] => (255 + 16 * usize::from(*extra), rest),
        [len, rest @ ..] => (usize::from(*len), rest),
        [] => (0, input),
    };
    rest.split_at(len.min(rest.len()))
}

/// `body` wrapped in BeginString, BodyLength and a correct CheckSum.
fn envelope(body: &[u8]) -> Vec<u8> {
    let mut out = format!("8={BEGIN_STRING}\x019={}\x01", body.len()).into_bytes();
    out.extend_from_slice(body);
    let sum = out.iter().fold(0u8, |sum, &b| sum.wrapping_add(b));
    out.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    out
}
