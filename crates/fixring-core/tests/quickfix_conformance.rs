//! The acceptor's bytes as QuickFIX's acceptance suite expects them: one test per behaviour,
//! each named after the suite's script it follows (its `fix44` folder). The test plays the
//! suite's peer: it writes the script's messages into the acceptor's socket and compares what
//! the acceptor writes back byte for byte, BodyLength and CheckSum included.
//!
//! Settings as QuickFIX's acceptance setup: the acceptor is `ISLD`, its peer `TW44`. The
//! virtual clock stands still unless a test moves it, so SendingTime is known exactly.

use std::time::Duration;

use fixring_core::config::{AcceptorConfig, HostConfig, InitiatorConfig, Role, SessionConfig};
use fixring_core::testing::{AppMessage, End, Pair, PairConfig};
use fixring_core::{SessionId, UtcTimestamp};

/// The virtual clock's zero as `PairConfig::new` maps it: 2026-11-26T00:00:00Z.
const ORIGIN_MILLIS: u64 = 1_795_651_200_000;

/// A script played against the acceptor `ISLD`.
struct Script {
    pair: Pair,
    /// How many of the acceptor's messages have been compared.
    seen: usize,
}

impl Script {
    /// The acceptor, with `reset_on_logon`, and a socket to it on which the test speaks for
    /// `TW44` (the pair's own initiator is muted: its Logon never arrives).
    fn new(reset_on_logon: bool) -> Self {
        Self::configured(|acceptor| acceptor.reset_on_logon = reset_on_logon)
    }

    /// As [`Script::new`], the acceptor's settings changed by `configure`.
    fn configured(configure: impl FnOnce(&mut SessionConfig)) -> Self {
        let id = SessionId::new("FIX.4.4", "TW44", "ISLD");
        let hosts = vec![HostConfig::new("127.0.0.1", 5001)];
        let initiator =
            SessionConfig::new(id.clone(), Role::Initiator(InitiatorConfig::new(hosts)));
        let role = Role::Acceptor(AcceptorConfig {
            accept_host: None,
            accept_port: 5001,
        });
        let mut acceptor = SessionConfig::new(id.reversed(), role);
        configure(&mut acceptor);
        let mut pair = Pair::new(PairConfig::new(initiator, acceptor)).expect("the pair");
        pair.initiator.muted = true;
        pair.connect();
        pair.drive();
        Self { pair, seen: 0 }
    }

    /// The Logon exchange most scripts begin with: HeartBtInt 30, MsgSeqNum 1 both ways.
    fn log_on(&mut self) {
        self.send("35=A|34=1|49=TW44|52=<TIME>|56=ISLD|98=0|108=30|");
        self.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=30|");
    }

    /// Sends the peer's message `fields` (`|` for SOH, from MsgType on, `<TIME>` for the
    /// clock's SendingTime, `<TIME-N>` / `<TIME+N>` for N seconds off it) and drives.
    fn send(&mut self, fields: &str) {
        self.send_as("FIX.4.4", fields);
    }

    /// Sends, as [`Script::send`], a message with BeginString `begin_string`.
    fn send_as(&mut self, begin_string: &str, fields: &str) {
        let wire = message_of(begin_string, &self.substituted(fields));
        self.pair.inject(End::Acceptor, &wire);
        self.pair.drive();
    }

    /// The acceptor's next message is exactly `fields` (written as for [`Script::send`]),
    /// with BodyLength and CheckSum.
    #[track_caller]
    fn expect(&mut self, fields: &str) {
        let written = &self.pair.acceptor.written;
        let Some(actual) = written.get(self.seen) else {
            panic!("no message from the acceptor; expected {fields}");
        };
        let expected = message(&self.substituted(fields));
        assert_eq!(readable(actual), readable(&expected));
        self.seen += 1;
    }

    /// The acceptor wrote nothing more.
    #[track_caller]
    fn expect_nothing(&self) {
        let rest: Vec<String> = self.pair.acceptor.written[self.seen..]
            .iter()
            .map(|m| readable(m))
            .collect();
        assert!(rest.is_empty(), "unexpected: {rest:?}");
    }

    /// Whether the acceptor has closed its connection.
    fn disconnected(&self) -> bool {
        !self.pair.acceptor.has_socket()
    }

    /// Moves the clock on by `by`, firing every timer on the way.
    fn wait(&mut self, by: Duration) {
        self.pair.advance(by);
    }

    fn substituted(&self, fields: &str) -> String {
        let now = ORIGIN_MILLIS + self.pair.clock.as_nanos() / 1_000_000;
        let mut out = String::new();
        let mut rest = fields;
        while let Some(start) = rest.find("<TIME") {
            out.push_str(&rest[..start]);
            let end = start + rest[start..].find('>').expect("a closed <TIME…>");
            let offset = &rest[start + 5..end];
            let millis = match offset.split_at_checked(1) {
                Some(("+", secs)) => now + secs.parse::<u64>().unwrap() * 1000,
                Some(("-", secs)) => now - secs.parse::<u64>().unwrap() * 1000,
                _ => now,
            };
            out.push_str(&UtcTimestamp::from_unix_millis(millis).to_string());
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// A whole FIX.4.4 message of `fields` (`|` for SOH), as [`message_of`] builds it.
fn message(fields: &str) -> Vec<u8> {
    message_of("FIX.4.4", fields)
}

/// BeginString, BodyLength, the fields (`|` for SOH), CheckSum: a whole message, built here
/// independently of the codec.
fn message_of(begin_string: &str, fields: &str) -> Vec<u8> {
    let body = fields.replace('|', "\x01");
    let mut out = format!("8={begin_string}\x019={}\x01{body}", body.len()).into_bytes();
    let sum = out.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    out.extend(format!("10={sum:03}\x01").into_bytes());
    out
}

fn readable(wire: &[u8]) -> String {
    String::from_utf8_lossy(wire).replace('\x01', "|")
}

/// 1a_ValidLogonWithCorrectMsgSeqNum, 8_AdminAndApplicationMessages: after 8, 9 and 35, the
/// header fields go in tag order, PossDupFlag and OrigSendingTime of a resent message
/// included.
#[test]
fn header_fields_follow_msg_type_in_tag_order() {
    let mut script = Script::new(false);
    script.log_on();

    let order = AppMessage::new(b"D", b"11=ID\x0121=3\x0140=1\x0154=1\x0155=INTC\x01");
    script.pair.acceptor.conn.send(order).expect("logged on");
    script.pair.drive();
    script.expect("35=D|34=2|49=ISLD|52=<TIME>|56=TW44|11=ID|21=3|40=1|54=1|55=INTC|");

    script.wait(Duration::from_secs(1));
    script.send("35=2|34=2|49=TW44|52=<TIME>|56=ISLD|7=2|16=0|");
    script.expect(
        "35=D|34=2|43=Y|49=ISLD|52=<TIME>|56=TW44|122=20261126-00:00:00.000|\
         11=ID|21=3|40=1|54=1|55=INTC|",
    );
    script.expect_nothing();
    assert!(!script.disconnected());
}

/// 8_OnlyAdminMessages: a ResendRequest for admin messages only is answered with one
/// SequenceReset-GapFill whose body is in tag order, NewSeqNo before GapFillFlag; the
/// Logon's body is in tag order too.
#[test]
fn admin_bodies_in_tag_order() {
    let mut script = Script::new(false);
    script.log_on();
    for seq in 2..=4 {
        script.send(&format!(
            "35=1|34={seq}|49=TW44|52=<TIME>|56=ISLD|112=HELLO|"
        ));
        script.expect(&format!(
            "35=0|34={seq}|49=ISLD|52=<TIME>|56=TW44|112=HELLO|"
        ));
    }
    script.send("35=2|34=5|49=TW44|52=<TIME>|56=ISLD|7=1|16=4|");
    script.expect("35=4|34=1|43=Y|49=ISLD|52=<TIME>|56=TW44|122=<TIME>|36=5|123=Y|");
    script.send("35=1|34=6|49=TW44|52=<TIME>|56=ISLD|112=HELLO|");
    script.expect("35=0|34=5|49=ISLD|52=<TIME>|56=TW44|112=HELLO|");
    script.expect_nothing();
}

/// 1a_ValidLogonWithCorrectMsgSeqNum with ResetOnLogon=Y: the numbers an earlier connection
/// left start again at 1, and the Logon reply does not say so (no ResetSeqNumFlag).
#[test]
fn reset_on_logon_resets_without_a_reset_seq_num_flag() {
    let mut script = Script::new(true);
    script
        .pair
        .acceptor
        .conn
        .session_mut()
        .set_sequence_numbers(5, 9);
    script.log_on();
    script.send("35=5|34=2|49=TW44|52=<TIME>|56=ISLD|");
    script.expect("35=5|34=2|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
    assert!(script.disconnected());
}

/// 1a_ValidLogonMsgSeqNumTooHigh with ResetOnLogon=Y: a Logon beyond the expected 1 is
/// answered without ResetSeqNumFlag, then the gap is asked for.
#[test]
fn a_logon_too_high_gets_a_plain_reply_then_a_resend_request() {
    let mut script = Script::new(true);
    script.send("35=A|34=5|49=TW44|52=<TIME>|56=ISLD|98=0|108=30|");
    script.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=30|");
    script.expect("35=2|34=2|49=ISLD|52=<TIME>|56=TW44|7=1|16=0|");
    script.send("35=5|34=6|49=TW44|52=<TIME>|56=ISLD|");
    script.expect("35=5|34=3|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
}

/// SessionReset's Logon: a peer's ResetSeqNumFlag=Y is answered with one.
#[test]
fn a_peer_reset_seq_num_flag_is_answered_with_one() {
    let mut script = Script::new(true);
    script.send("35=A|34=1|49=TW44|52=<TIME>|56=ISLD|98=0|108=30|141=Y|");
    script.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=30|141=Y|");
    script.expect_nothing();
}

/// 2i_BeginStringValueUnexpected: a message with another BeginString gets a Logout worded as
/// QuickFIX words it, and the connection closes; the reason reported names what came.
#[test]
fn a_wrong_begin_string_is_logged_out_as_incorrect() {
    let mut script = Script::new(true);
    script.log_on();
    script.send_as("FIX.4.1", "35=1|34=2|49=TW44|52=<TIME>|56=ISLD|112=id|");
    script.expect("35=5|34=2|49=ISLD|52=<TIME>|56=TW44|58=Incorrect BeginString|");
    script.expect_nothing();
    assert!(script.disconnected());
    assert_eq!(
        script.pair.acceptor.closed.as_deref(),
        Some("Incorrect BeginString: received FIX.4.1")
    );
}

/// 1d_InvalidLogonWrongBeginString: a Logon with another BeginString is not answered; its
/// connection is closed.
#[test]
fn a_logon_with_a_wrong_begin_string_is_disconnected() {
    let mut script = Script::new(true);
    script.send_as(
        "FIX.3.9",
        "35=A|34=1|49=TW44|52=<TIME>|56=ISLD|98=0|108=30|",
    );
    script.expect_nothing();
    assert_eq!(script.pair.pending_sockets(), 0);
    assert!(script.disconnected());
}

/// 6_SendTestRequest: with HeartBtInt 6 s, a Heartbeat after 6 s of our silence, a
/// TestRequest with TestReqID `TEST` after 7.2 s of the peer's, and, while it is unanswered,
/// no Heartbeat: the next thing after the second TestRequest is the close, 7.2 s later.
#[test]
fn a_test_request_carries_test_and_holds_heartbeats_back() {
    let mut script = Script::new(true);
    script.send("35=A|34=1|49=TW44|52=<TIME>|56=ISLD|98=0|108=6|");
    script.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=6|");
    script.wait(Duration::from_secs(6));
    script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|");
    script.send("35=0|34=2|49=TW44|52=<TIME>|56=ISLD|");
    script.wait(Duration::from_secs(6));
    script.expect("35=0|34=3|49=ISLD|52=<TIME>|56=TW44|");
    script.wait(Duration::from_millis(1_200));
    script.expect("35=1|34=4|49=ISLD|52=<TIME>|56=TW44|112=TEST|");
    script.send("35=0|34=3|49=TW44|52=<TIME>|56=ISLD|112=TEST|");
    script.wait(Duration::from_secs(6));
    script.expect("35=0|34=5|49=ISLD|52=<TIME>|56=TW44|");
    script.send("35=0|34=4|49=TW44|52=<TIME>|56=ISLD|");
    script.wait(Duration::from_secs(6));
    script.expect("35=0|34=6|49=ISLD|52=<TIME>|56=TW44|");
    script.wait(Duration::from_millis(1_200));
    script.expect("35=1|34=7|49=ISLD|52=<TIME>|56=TW44|112=TEST|");
    // The Heartbeat due 6 s after the TestRequest is held back.
    script.wait(Duration::from_millis(7_199));
    script.expect_nothing();
    assert!(!script.disconnected());
    script.wait(Duration::from_millis(1));
    script.expect_nothing();
    assert!(script.disconnected());
}

/// A Heartbeat held back while our TestRequest was unanswered is due as soon as the peer
/// answers.
#[test]
fn a_held_back_heartbeat_goes_out_with_the_answer() {
    let mut script = Script::new(true);
    script.send("35=A|34=1|49=TW44|52=<TIME>|56=ISLD|98=0|108=6|");
    script.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=6|");
    script.wait(Duration::from_secs(6));
    script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|");
    script.wait(Duration::from_millis(1_200));
    script.expect("35=1|34=3|49=ISLD|52=<TIME>|56=TW44|112=TEST|");
    script.wait(Duration::from_secs(7));
    script.expect_nothing();
    script.send("35=0|34=2|49=TW44|52=<TIME>|56=ISLD|112=TEST|");
    // Its timer is due at once.
    script.wait(Duration::ZERO);
    script.expect("35=0|34=4|49=ISLD|52=<TIME>|56=TW44|");
    script.wait(Duration::from_secs(6));
    script.expect("35=0|34=5|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
}

/// 2c_MsgSeqNumTooLow: a Heartbeat with a MsgSeqNum already received gets a Logout saying
/// so, and the connection closes.
#[test]
fn a_message_too_low_is_logged_out() {
    let mut script = Script::new(true);
    script.log_on();
    for seq in [2, 3, 4, 2] {
        script.send(&format!("35=0|34={seq}|49=TW44|52=<TIME>|56=ISLD|"));
    }
    script.expect(
        "35=5|34=2|49=ISLD|52=<TIME>|56=TW44|58=MsgSeqNum too low, expecting 5 but received 2|",
    );
    script.expect_nothing();
    assert!(script.disconnected());
}

/// 10_MsgSeqNumEqual: a Logout whose MsgSeqNum is below the expected one still gets its
/// Logout reply.
#[test]
fn a_logout_too_low_is_still_answered() {
    let mut script = Script::new(true);
    script.log_on();
    script.send("35=4|34=2|49=TW44|52=<TIME>|56=ISLD|36=20|123=Y|");
    script.send("35=1|34=20|49=TW44|52=<TIME>|56=ISLD|112=HELLO|");
    script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|112=HELLO|");
    script.send("35=5|34=3|49=TW44|52=<TIME>|56=ISLD|");
    script.expect("35=5|34=3|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
    assert!(script.disconnected());
}

/// 8_OnlyAdminMessages, second half: a ResendRequest whose own MsgSeqNum is below the
/// expected one is still answered, and the number expected next stays.
#[test]
fn a_resend_request_too_low_is_still_answered() {
    let mut script = Script::new(true);
    script.log_on();
    for seq in 2..=4 {
        script.send(&format!(
            "35=1|34={seq}|49=TW44|52=<TIME>|56=ISLD|112=HELLO|"
        ));
        script.expect(&format!(
            "35=0|34={seq}|49=ISLD|52=<TIME>|56=TW44|112=HELLO|"
        ));
    }
    script.send("35=2|34=5|49=TW44|52=<TIME>|56=ISLD|7=1|16=4|");
    script.expect("35=4|34=1|43=Y|49=ISLD|52=<TIME>|56=TW44|122=<TIME>|36=5|123=Y|");
    script.send("35=1|34=6|49=TW44|52=<TIME>|56=ISLD|112=HELLO|");
    script.expect("35=0|34=5|49=ISLD|52=<TIME>|56=TW44|112=HELLO|");
    // MsgSeqNum 5 again, where 7 is expected.
    script.send("35=2|34=5|49=TW44|52=<TIME>|56=ISLD|7=1|16=0|");
    script.expect("35=4|34=1|43=Y|49=ISLD|52=<TIME>|56=TW44|122=<TIME>|36=6|123=Y|");
    script.send("35=5|34=6|49=TW44|52=<TIME>|56=ISLD|");
    script.expect("35=5|34=6|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
    assert!(script.disconnected());
}

/// 11c_NewSeqNoLess: a SequenceReset-Reset whose NewSeqNo is below the number expected is
/// rejected (373=5) with QuickFIX's Text; the Reject takes a MsgSeqNum of ours, and the
/// number expected next stays.
#[test]
fn a_sequence_reset_going_backwards_is_rejected() {
    let mut script = Script::new(true);
    script.log_on();
    script.send("35=4|34=0|49=TW44|52=<TIME>|56=ISLD|36=1|");
    script.expect(
        "35=3|34=2|49=ISLD|52=<TIME>|56=TW44|45=0|\
         58=Value is incorrect (out of range) for this tag|372=4|373=5|",
    );
    script.send("35=1|34=2|49=TW44|52=<TIME>|56=ISLD|112=HELLO|");
    script.expect("35=0|34=3|49=ISLD|52=<TIME>|56=TW44|112=HELLO|");
    script.send("35=4|34=0|49=TW44|52=<TIME>|56=ISLD|36=1|123=N|");
    script.expect(
        "35=3|34=4|49=ISLD|52=<TIME>|56=TW44|45=0|\
         58=Value is incorrect (out of range) for this tag|372=4|373=5|",
    );
    script.send("35=1|34=3|49=TW44|52=<TIME>|56=ISLD|112=HELLO|");
    script.expect("35=0|34=5|49=ISLD|52=<TIME>|56=TW44|112=HELLO|");
    script.send("35=5|34=4|49=TW44|52=<TIME>|56=ISLD|");
    script.expect("35=5|34=6|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
}

/// 2k_CompIDDoesNotMatchProfile: a message with the wrong SenderCompID or TargetCompID, or
/// both, gets a Reject (373=9, "CompID problem"), then a Logout without Text.
#[test]
fn a_comp_id_problem_is_rejected_then_logged_out() {
    for (sender, target) in [("WT", "ISLD"), ("TW44", "DLSI"), ("WT", "DLSI")] {
        let mut script = Script::new(true);
        script.log_on();
        script.send(&format!(
            "35=D|34=2|49={sender}|52=<TIME>|56={target}|11=ID|21=3|40=1|54=1|55=INTC|60=<TIME>|"
        ));
        script.expect("35=3|34=2|49=ISLD|52=<TIME>|56=TW44|45=2|58=CompID problem|372=D|373=9|");
        script.expect("35=5|34=3|49=ISLD|52=<TIME>|56=TW44|");
        script.expect_nothing();
        assert!(script.pair.acceptor.delivered.is_empty());
        assert!(script.disconnected());
    }
}

/// 1d_InvalidLogonBadSendingTime: a Logon whose SendingTime is far from our clock is not
/// answered; its connection is closed.
#[test]
fn a_logon_with_a_bad_sending_time_is_disconnected() {
    let mut script = Script::new(true);
    script.send("35=A|34=1|49=TW44|52=20010101-00:00:00|56=ISLD|98=0|108=30|");
    script.expect_nothing();
    assert!(script.disconnected());
    assert_eq!(
        script.pair.acceptor.closed.as_deref(),
        Some("SendingTime accuracy problem: received \"20010101-00:00:00\"")
    );
}

/// 2o_SendingTimeValueOutOfRange: a Heartbeat sent 121 s early, or 121 s late, gets a
/// Reject (373=10, "SendingTime accuracy problem"), then a Logout without Text; 120 s
/// either way (MaxLatency) is still accurate.
#[test]
fn a_sending_time_out_of_range_is_rejected_then_logged_out() {
    for offset in ["-121", "+121"] {
        let mut script = Script::new(true);
        script.log_on();
        script.send("35=1|34=2|49=TW44|52=<TIME-120>|56=ISLD|112=EARLY|");
        script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|112=EARLY|");
        script.send("35=1|34=3|49=TW44|52=<TIME+120>|56=ISLD|112=LATE|");
        script.expect("35=0|34=3|49=ISLD|52=<TIME>|56=TW44|112=LATE|");
        script.send(&format!("35=0|34=4|49=TW44|52=<TIME{offset}>|56=ISLD|"));
        script.expect(
            "35=3|34=4|49=ISLD|52=<TIME>|56=TW44|45=4|58=SendingTime accuracy problem|\
             372=0|373=10|",
        );
        script.expect("35=5|34=5|49=ISLD|52=<TIME>|56=TW44|");
        // The connection closes once the Logout is written: the script's answering Logout
        // finds it gone.
        script.expect_nothing();
        assert!(script.disconnected());
    }
}

/// MaxLatency is honoured, in whole seconds; with CheckLatency=N any SendingTime goes.
#[test]
fn max_latency_and_check_latency_are_honoured() {
    let mut script = Script::configured(|acceptor| {
        acceptor.max_latency = Duration::from_secs(5);
    });
    script.send("35=A|34=1|49=TW44|52=<TIME+5>|56=ISLD|98=0|108=30|");
    script.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=30|");
    script.send("35=0|34=2|49=TW44|52=<TIME-6>|56=ISLD|");
    script.expect(
        "35=3|34=2|49=ISLD|52=<TIME>|56=TW44|45=2|58=SendingTime accuracy problem|\
         372=0|373=10|",
    );
    script.expect("35=5|34=3|49=ISLD|52=<TIME>|56=TW44|");

    let mut script = Script::configured(|acceptor| acceptor.check_latency = false);
    script.send("35=A|34=1|49=TW44|52=20010101-00:00:00|56=ISLD|98=0|108=30|");
    script.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=30|");
    script.send("35=1|34=2|49=TW44|52=<TIME+3600>|56=ISLD|112=LATE|");
    script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|112=LATE|");
    script.expect_nothing();
}

/// The script's `<TIME>` is the acceptor's clock: a peer whose clock moves with ours stays
/// accurate however long the session lasts (75 s here, against a MaxLatency of 120 s).
#[test]
fn the_script_clock_and_the_acceptor_clock_agree() {
    let mut script = Script::new(true);
    script.log_on();
    for seq in 2..=4 {
        script.wait(Duration::from_secs(25));
        script.send(&format!("35=1|34={seq}|49=TW44|52=<TIME>|56=ISLD|112=T|"));
        script.expect(&format!("35=0|34={seq}|49=ISLD|52=<TIME>|56=TW44|112=T|"));
    }
    script.expect_nothing();
}

/// Logs on and receives two orders, as 2f and 2g begin; the orders are echoed nowhere (the
/// core has no application), so only the Logon reply is compared.
fn logged_on_with_two_orders() -> Script {
    let mut script = Script::new(true);
    script.log_on();
    for seq in 2..=3 {
        script.send(&format!(
            "35=D|34={seq}|49=TW44|52=<TIME>|56=ISLD|11=ID|21=3|40=1|54=1|55=INTC|60=<TIME>|"
        ));
    }
    assert_eq!(script.pair.acceptor.delivered.len(), 2);
    script
}

/// 2g_PossDupNoOrigSendingTime: a possible duplicate below the expected MsgSeqNum without
/// OrigSendingTime gets a Reject (373=1, RefTagID 122); the number expected next stays.
#[test]
fn a_poss_dup_without_orig_sending_time_is_rejected() {
    let mut script = logged_on_with_two_orders();
    script.send("35=D|34=2|49=TW44|52=<TIME>|56=ISLD|43=Y|11=ID|21=3|40=1|54=1|55=INTC|60=<TIME>|");
    script.expect(
        "35=3|34=2|49=ISLD|52=<TIME>|56=TW44|45=2|58=Required tag missing|371=122|372=D|373=1|",
    );
    script.send("35=1|34=4|49=TW44|52=<TIME>|56=ISLD|112=HELLO|");
    script.expect("35=0|34=3|49=ISLD|52=<TIME>|56=TW44|112=HELLO|");
    script.send("35=5|34=5|49=TW44|52=<TIME>|56=ISLD|");
    script.expect("35=5|34=4|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
    assert_eq!(script.pair.acceptor.delivered.len(), 2);
    assert!(script.disconnected());
}

/// 2f_PossDupOrigSendingTimeTooHigh: a possible duplicate below the expected MsgSeqNum whose
/// OrigSendingTime is later than its SendingTime gets a Reject (373=10), then a Logout.
#[test]
fn a_poss_dup_sent_before_its_original_is_rejected_then_logged_out() {
    let mut script = logged_on_with_two_orders();
    script.send(
        "35=D|34=2|49=TW44|52=<TIME>|56=ISLD|43=Y|122=<TIME+10>|\
         11=ID|21=3|40=1|54=1|55=INTC|60=<TIME>|",
    );
    script.expect(
        "35=3|34=2|49=ISLD|52=<TIME>|56=TW44|45=2|58=SendingTime accuracy problem|372=D|373=10|",
    );
    script.expect("35=5|34=3|49=ISLD|52=<TIME>|56=TW44|");
    script.expect_nothing();
    assert_eq!(script.pair.acceptor.delivered.len(), 2);
    assert!(script.disconnected());
}

/// As QuickFIX, only a possible duplicate below the expected MsgSeqNum is checked: one in
/// sequence goes to the application without OrigSendingTime, and a too-low one whose
/// OrigSendingTime is no later than its SendingTime is dropped without a word, as is a
/// SequenceReset without one.
#[test]
fn only_poss_dups_below_the_expected_seq_num_are_checked() {
    let mut script = logged_on_with_two_orders();
    script.send("35=D|34=4|49=TW44|52=<TIME>|56=ISLD|43=Y|11=ID|21=3|40=1|54=1|55=INTC|60=<TIME>|");
    assert_eq!(script.pair.acceptor.delivered.len(), 3);
    script.send(
        "35=D|34=3|49=TW44|52=<TIME>|56=ISLD|43=Y|122=<TIME>|\
         11=ID|21=3|40=1|54=1|55=INTC|60=<TIME>|",
    );
    script.send("35=4|34=2|49=TW44|52=<TIME>|56=ISLD|43=Y|36=5|123=Y|");
    script.send("35=1|34=5|49=TW44|52=<TIME>|56=ISLD|112=HELLO|");
    script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|112=HELLO|");
    script.expect_nothing();
    assert_eq!(script.pair.acceptor.delivered.len(), 3);
    assert!(!script.disconnected());
}

/// SessionReset: a Logon with ResetSeqNumFlag on a session already logged on starts both
/// sequences again at 1, and is answered with a Logon 141=Y.
#[test]
fn a_reset_logon_on_a_logged_on_session_starts_both_sequences_again() {
    let mut script = Script::new(true);
    script.log_on();
    script.send("35=1|34=2|49=TW44|52=<TIME>|56=ISLD|112=1|");
    script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|112=1|");
    script.send("35=A|34=1|49=TW44|52=<TIME>|56=ISLD|98=0|108=30|141=Y|");
    script.expect("35=A|34=1|49=ISLD|52=<TIME>|56=TW44|98=0|108=30|141=Y|");
    script.send("35=1|34=2|49=TW44|52=<TIME>|56=ISLD|112=2|");
    script.expect("35=0|34=2|49=ISLD|52=<TIME>|56=TW44|112=2|");
    script.expect_nothing();
    assert!(!script.disconnected());
}
