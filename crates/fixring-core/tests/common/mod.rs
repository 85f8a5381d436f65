//! The sessions the pair tests join: an initiator `INIT` and an acceptor `ACC`.
#![allow(
    dead_code,
    reason = "each test crate compiles this module and uses only part of it"
)]

use std::time::Duration;

use fixring_core::codec::{self, Header};
use fixring_core::config::{AcceptorConfig, HostConfig, InitiatorConfig, Role, SessionConfig};
use fixring_core::session::SessionState;
use fixring_core::testing::Side;
use fixring_core::testing::{Pair, PairConfig};
use fixring_core::{EventKind, SessionId, UtcTimestamp};

pub(crate) const HEARTBEAT: Duration = Duration::from_secs(30);

/// The initiator's and the acceptor's sessions, HeartBtInt 30 s.
pub(crate) fn configs(reset_on_logon: bool) -> (SessionConfig, SessionConfig) {
    let id = SessionId::new("FIX.4.4", "INIT", "ACC");
    let role = Role::Initiator(InitiatorConfig::new(vec![HostConfig::new(
        "127.0.0.1",
        5001,
    )]));
    let mut initiator = SessionConfig::new(id.clone(), role);
    let role = Role::Acceptor(AcceptorConfig {
        accept_host: None,
        accept_port: 5001,
    });
    let mut acceptor = SessionConfig::new(id.reversed(), role);
    for config in [&mut initiator, &mut acceptor] {
        config.heartbeat_interval = HEARTBEAT;
        config.reset_on_logon = reset_on_logon;
    }
    // The acceptor's own HeartBtInt is ignored: it adopts the initiator's.
    acceptor.heartbeat_interval = Duration::from_secs(99);
    (initiator, acceptor)
}

/// A pair of `config`, connected and driven through the Logon exchange.
pub(crate) fn logged_on_with(config: PairConfig) -> Pair {
    let mut pair = Pair::new(config).expect("the pair's connections");
    pair.connect();
    pair.drive();
    assert_eq!(pair.initiator.conn.session().state(), SessionState::Active);
    assert_eq!(pair.acceptor.conn.session().state(), SessionState::Active);
    pair
}

/// A message as `sender` would write it to `target`, with a header of our choosing.
pub(crate) fn encoded(header: Header<'_>, body: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let len = codec::encode(&header, body, &mut buf).expect("fits");
    buf[..len].to_vec()
}

pub(crate) fn header<'a>(
    msg_type: &'a [u8],
    sender: &'a str,
    target: &'a str,
    seq: u64,
) -> Header<'a> {
    Header {
        begin_string: "FIX.4.4",
        msg_type,
        sender_comp_id: sender,
        target_comp_id: target,
        msg_seq_num: seq,
        sending_time: UtcTimestamp::from_unix_millis(1_795_651_200_000),
        poss_dup: false,
        orig_sending_time: None,
        ..Default::default()
    }
}

/// How many Logons `side` reported.
pub(crate) fn logons(side: &Side) -> usize {
    side.kinds()
        .iter()
        .filter(|e| matches!(e, EventKind::Logon { .. }))
        .count()
}
