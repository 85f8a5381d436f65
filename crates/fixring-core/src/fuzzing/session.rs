//! The session harness: an acceptor session driven by operations decoded from fuzz input.

use std::time::Duration;

use crate::codec::{Decoded, Framer, Header, Message, encode, msg_type};
use crate::config::{AcceptorConfig, Role, SessionConfig};
use crate::session::{ProtocolViolation, Session};
use crate::{Instant, SessionId, UtcTimestamp, WallClock};

/// The session's identity as the acceptor sees it (our SenderCompID first).
const BEGIN_STRING: &str = "FIX.4.4";
const OUR_COMP_ID: &str = "ACC";
const PEER_COMP_ID: &str = "INIT";

/// Room for any admin message the session writes; far more than it ever needs.
const TRANSMIT_BUFFER: usize = 8 * 1024;

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

/// Drives an acceptor [`Session`] with the operations `data` encodes, checking that
/// everything it writes is valid FIX.
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
/// After every operation the inbound stream is framed and parsed, each message handed to
/// [`Session::handle_message`] (bytes that do not frame or parse to
/// [`Session::handle_malformed`]), and the session's output, events and close request drained.
/// A session that asks to close is disconnected and connected again, like an acceptor taking
/// the next connection.
pub fn session_input(data: &[u8]) {
    let Some((&mode, mut input)) = data.split_first() else {
        return;
    };
    let mut driver = Driver::new(mode & 0b10 != 0);
    if mode & 1 != 0 {
        let logon = driver.peer_message(msg_type::LOGON, 1, false, b"98=0\x01108=30\x01");
        driver.inbound.extend_from_slice(&logon);
        driver.peer_seq = 2;
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
                    0b01 => driver.inbound.extend_from_slice(chunk),
                    0b10 => {
                        let wrapped = envelope(chunk);
                        driver.inbound.extend_from_slice(&wrapped);
                    }
                    _ => driver.generated(control, chunk),
                }
            }
        }
        driver.pump();
    }
}

/// The session under test, its clock and the bytes it has not read yet.
struct Driver {
    session: Session,
    now: Instant,
    wall: UtcTimestamp,
    inbound: Vec<u8>,
    framer: Framer,
    /// The MsgSeqNum the peer's next generated message carries by default.
    peer_seq: u64,
    /// Where the session's output is written.
    out: Vec<u8>,
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
        let mut session = Session::new(&config, WallClock::new(Instant::ZERO, wall));
        session.connected(Instant::ZERO);
        Self {
            session,
            now: Instant::ZERO,
            wall,
            inbound: Vec::new(),
            framer: Framer::default(),
            peer_seq: 1,
            out: vec![0u8; TRANSMIT_BUFFER],
        }
    }

    fn clock_or_connection(&mut self, arg: u8) {
        match arg {
            63 => self.session.logout(self.now, "fuzz"),
            62 => self.reconnect(),
            secs => {
                let elapsed = Duration::from_secs(u64::from(secs));
                self.now += elapsed;
                self.wall = self.wall.advanced_by(elapsed);
                self.session.handle_timeout(self.now);
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
        self.inbound.extend_from_slice(&message);
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

    /// Reads every whole message of the inbound stream, then drains the session's output.
    fn pump(&mut self) {
        let mut consumed = 0;
        while let Some(rest) = self.inbound.get(consumed..).filter(|r| !r.is_empty()) {
            match self.framer.decode(rest) {
                Decoded::Message { len } => {
                    let frame = rest.get(..len).unwrap_or_default();
                    match Message::parse(frame) {
                        Ok(message) => {
                            let _ = self.session.handle_message(self.now, &message);
                        }
                        Err(e) => self
                            .session
                            .handle_malformed(ProtocolViolation::BadField(e)),
                    }
                    consumed += len;
                }
                Decoded::Incomplete => break,
                Decoded::Invalid { discard, error } => {
                    self.session
                        .handle_malformed(ProtocolViolation::Malformed(error));
                    consumed += discard.max(1);
                }
            }
            self.drain();
        }
        self.inbound.drain(..consumed.min(self.inbound.len()));
        self.drain();
    }

    /// Writes and checks everything the session has to send, collects its events, and
    /// re-opens the connection when the session asks to close it.
    fn drain(&mut self) {
        // Every admin message leaves the queue once written, and one inbound message queues
        // a few at most: a session that never runs dry is a finding.
        let mut written = 0;
        loop {
            match self.session.poll_transmit(self.now, &mut self.out) {
                Ok(Some(len)) => check_outbound(self.out.get(..len).unwrap_or_default()),
                Ok(None) => break,
                Err(e) => panic!("poll_transmit with a {TRANSMIT_BUFFER}-byte buffer: {e}"),
            }
            written += 1;
            assert!(written <= 1024, "poll_transmit never runs dry");
        }
        while self.session.poll_event().is_some() {}
        if let Some(reason) = self.session.poll_close() {
            assert!(!reason.to_string().is_empty(), "empty close reason");
            self.reconnect();
        }
    }

    fn reconnect(&mut self) {
        self.session.disconnected(self.now);
        while self.session.poll_event().is_some() {}
        self.inbound.clear();
        self.session.connected(self.now);
        self.peer_seq = self.session.next_target_seq();
    }
}

/// Checks that `wire` is exactly one valid FIX message from us to the peer.
fn check_outbound(wire: &[u8]) {
    assert_eq!(
        Framer::default().decode(wire),
        Decoded::Message { len: wire.len() },
        "the session wrote bytes that do not frame as one message"
    );
    let message = match Message::parse(wire) {
        Ok(message) => message,
        Err(e) => panic!("the session wrote a message that does not parse: {e}"),
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
/// session's fixed buffers.
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
