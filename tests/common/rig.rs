//! The set-up the reliability tests share: a fixring acceptor with two sessions, a victim
//! initiator connected through a [`FaultProxy`] and a bystander initiator connected directly,
//! plain or TLS, on either backend; and raw FIX messages for hostile-input tests.

use std::net::SocketAddr;
use std::time::Duration;

use fixring::core::config::Settings;
use fixring::core::{EventKind, SessionId};
use fixring::{Application, Engine};

use super::certs::{Pki, rsa_pki};
use super::proxy::FaultProxy;
use super::recorder::Recorder;
use super::{TempDir, free_port, temp_dir};

/// Both backends.
pub(crate) const TRANSPORTS: [&str; 2] = ["uring", "epoll"];

/// How long a test waits for something that should happen within a second or two.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// What a [`Rig`] looks like.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RigOptions {
    /// `uring` or `epoll`.
    pub(crate) transport: &'static str,
    /// Whether every connection runs TLS.
    pub(crate) tls: bool,
    /// The initiators' HeartBtInt.
    pub(crate) heart_bt_int: u32,
    /// Whether the initiators reset sequence numbers on every Logon.
    pub(crate) reset_on_logon: bool,
}

impl RigOptions {
    /// Plain text, HeartBtInt 30, no ResetOnLogon.
    pub(crate) fn new(transport: &'static str) -> Self {
        Self {
            transport,
            tls: false,
            heart_bt_int: 30,
            reset_on_logon: false,
        }
    }
}

/// A FIX message with BodyLength and CheckSum computed: `fields` are `tag=value` pairs after
/// BodyLength, without the trailer.
pub(crate) fn fix_message(fields: &[&str]) -> Vec<u8> {
    let mut body = String::new();
    for field in fields {
        body.push_str(field);
        body.push('\x01');
    }
    let mut msg = format!("8=FIX.4.4\x019={}\x01{body}", body.len()).into_bytes();
    let sum = msg.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    msg.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    msg
}

/// A Logon from `sender` to `ACC` with MsgSeqNum 1 and HeartBtInt 30.
pub(crate) fn logon(sender: &str) -> Vec<u8> {
    fix_message(&[
        "35=A",
        &format!("49={sender}"),
        "56=ACC",
        "34=1",
        &super::sending_time_now(),
        "98=0",
        "108=30",
    ])
}

/// An order's body fields, with ClOrdID `id`.
pub(crate) fn order(id: &str) -> Vec<u8> {
    format!("11={id}\x0155=EURUSD\x0154=1\x0138=100\x0140=1\x0160=20261126-00:00:00.000\x01")
        .into_bytes()
}

fn settings(text: &str) -> Settings {
    Settings::parse(text, None).unwrap_or_else(|e| panic!("bad test settings: {e}\n{text}"))
}

/// Starts an engine on `text`, calling `app`.
pub(crate) fn start<A: Application + Clone>(text: &str, app: A) -> Engine<A> {
    let mut engine = Engine::new(settings(text), app);
    engine
        .start()
        .unwrap_or_else(|e| panic!("engine did not start: {e}\n{text}"));
    engine
}

fn tls_keys(pki: &Pki, acceptor: bool) -> String {
    if acceptor {
        format!(
            "SocketUseSSL=Y\nSocketCertificateFile={}\nSocketPrivateKeyFile={}\n",
            pki.server_cert.display(),
            pki.server_key.display()
        )
    } else {
        format!("SocketUseSSL=Y\nSocketCAFile={}\n", pki.ca_cert.display())
    }
}

/// An acceptor `ACC` on `port` for the sessions of `peers`.
pub(crate) fn acceptor_text(
    transport: &str,
    port: u16,
    peers: &[String],
    pki: Option<&Pki>,
) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={transport}\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=ACC\nSocketAcceptPort={port}\nSocketAcceptHost=127.0.0.1\nHeartBtInt=30\n\
         LogonTimeout=1\nLogoutTimeout=1\n"
    );
    if let Some(pki) = pki {
        text.push_str(&tls_keys(pki, true));
    }
    for peer in peers {
        text.push_str(&format!("[SESSION]\nTargetCompID={peer}\n"));
    }
    text
}

/// An initiator `sender` → `ACC` on `port`.
pub(crate) fn initiator_text(
    options: RigOptions,
    sender: &str,
    port: u16,
    pki: Option<&Pki>,
) -> String {
    let mut text = format!(
        "[DEFAULT]\nTransport={}\n[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\n\
         SenderCompID={sender}\nTargetCompID=ACC\nHeartBtInt={}\nReconnectInterval=1\n\
         LogonTimeout=2\nLogoutTimeout=1\nSocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n",
        options.transport, options.heart_bt_int
    );
    if options.reset_on_logon {
        text.push_str("ResetOnLogon=Y\n");
    }
    if let Some(pki) = pki {
        text.push_str(&tls_keys(pki, false));
    }
    text
}

/// Certificates in a temporary directory that lives as long as they are used.
pub(crate) struct Certs {
    pub(crate) pki: Pki,
    _dir: TempDir,
}

/// Fresh test certificates.
pub(crate) fn certs() -> Certs {
    certs_of(rsa_pki)
}

/// [`certs`] made by `make` ([`super::certs::ecdsa_pki`], for instance).
pub(crate) fn certs_of(make: fn(&std::path::Path) -> Result<Pki, String>) -> Certs {
    let dir = temp_dir("faults-pki");
    let pki = make(dir.path()).unwrap_or_else(|e| panic!("certificates: {e}"));
    Certs { pki, _dir: dir }
}

/// An acceptor with sessions VICTIM and BYSTANDER; VICTIM's initiator goes through the proxy,
/// BYSTANDER's connects directly. Fields drop in order: initiators, proxy, acceptor.
pub(crate) struct Rig {
    pub(crate) victim: Engine<Recorder>,
    pub(crate) victim_app: Recorder,
    pub(crate) bystander: Engine<Recorder>,
    pub(crate) bystander_app: Recorder,
    pub(crate) proxy: FaultProxy,
    pub(crate) acceptor: Engine<Recorder>,
    pub(crate) acceptor_app: Recorder,
    /// The acceptor's port.
    pub(crate) port: u16,
    pub(crate) certs: Option<Certs>,
}

impl Rig {
    /// Starts everything and waits until both initiators are logged on.
    pub(crate) fn start(options: RigOptions) -> Self {
        let certs = options.tls.then(certs);
        let pki = certs.as_ref().map(|c| &c.pki);
        let port = free_port();
        let acceptor_app = Recorder::echoing();
        let peers = ["VICTIM".to_owned(), "BYSTANDER".to_owned()];
        let acceptor = start(
            &acceptor_text(options.transport, port, &peers, pki),
            acceptor_app.clone(),
        );
        let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], port)));
        let bystander_app = Recorder::new();
        let bystander = start(
            &initiator_text(options, "BYSTANDER", port, pki),
            bystander_app.clone(),
        );
        let victim_app = Recorder::new();
        let victim = start(
            &initiator_text(options, "VICTIM", proxy.port(), pki),
            victim_app.clone(),
        );
        victim_app.expect_events("fix.connection.established", 1, WAIT);
        bystander_app.expect_events("fix.connection.established", 1, WAIT);
        Self {
            victim,
            victim_app,
            bystander,
            bystander_app,
            proxy,
            acceptor,
            acceptor_app,
            port,
            certs,
        }
    }

    /// The victim's session.
    pub(crate) fn victim_id() -> SessionId {
        SessionId::new("FIX.4.4", "VICTIM", "ACC")
    }

    /// The bystander's session.
    pub(crate) fn bystander_id() -> SessionId {
        SessionId::new("FIX.4.4", "BYSTANDER", "ACC")
    }

    /// Asserts the bystander never lost its connection and still trades: an order goes
    /// through and its execution report comes back.
    pub(crate) fn assert_bystander_untouched(&self, label: &str) {
        assert_eq!(
            self.bystander_app.count("fix.connection.lost"),
            0,
            "{label}: the bystander lost its connection: {:?}",
            self.bystander_app.names()
        );
        assert_eq!(self.bystander_app.count("fix.connection.established"), 1);
        let handle = self
            .bystander
            .handle(&Self::bystander_id())
            .expect("a handle for the bystander");
        let before = self.bystander_app.with(|s| s.app_in.len());
        let id = format!("BY-{before}");
        handle.send(b"D", order(&id)).expect("queued");
        let echoed = self.bystander_app.wait_for(WAIT, |s| {
            s.app_in.iter().any(|(_, _, cl_ord_id)| *cl_ord_id == id)
        });
        assert!(echoed, "{label}: the bystander's order was not answered");
    }
}

/// The `error_detail` of every event named `name` `app` saw.
pub(crate) fn details(app: &Recorder, name: &str) -> Vec<String> {
    app.with(|s| {
        s.events
            .iter()
            .filter(|e| e.name() == name)
            .filter_map(|e| match &e.kind {
                EventKind::ConnectionLost { error_detail, .. }
                | EventKind::ConnectionFailed { error_detail, .. }
                | EventKind::ConnectionError { error_detail, .. } => Some(error_detail.clone()),
                _ => None,
            })
            .collect()
    })
}
