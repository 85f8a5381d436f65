//! TLS handshakes of sockets waiting for their Logon, run away from the router's thread
//! (`Router::take_handshake`, `HandshakeStep::run`, `Router::handle_handshake`): the step
//! runs on another thread, the Logon behind it is routed, bytes that came meanwhile are not
//! lost, and a step whose socket has gone, or that is dropped unrun, leaves nothing behind.

use std::net::SocketAddr;
use std::sync::Arc;

use fixring_core::config::Admission;
use fixring_core::connection::{HandshakeStep, Lent, Port, Routed, Router};
use fixring_core::testing::MemorySocket;
use fixring_core::tls::{ClientConfig, ServerConfig, TlsConnection, TlsSetup};
use fixring_core::{ErrorCode, EventKind, Instant, SessionId};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

const SERVER_NAME: &str = "fix.example.test";
const SIZE: usize = 16 * 1024;

/// A TLS server set-up and a client trusting it, from a CA made for the test.
fn pki() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.distinguished_name.push(DnType::CommonName, "CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec![SERVER_NAME.to_owned()])
        .expect("leaf params")
        .signed_by(&key, &ca, &ca_key)
        .expect("leaf certificate");
    let server = TlsSetup::from_pem(
        Some(leaf.pem().as_bytes()),
        Some(key.serialize_pem().as_bytes()),
        None,
    )
    .and_then(|setup| setup.server_config())
    .expect("a server set-up");
    let client = TlsSetup::from_pem(None, None, Some(ca.pem().as_bytes()))
        .and_then(|setup| setup.client_config())
        .expect("a client set-up");
    (server, client)
}

fn router(tls: Arc<ServerConfig>) -> Router<u32> {
    let port = Port {
        number: 9880,
        sessions: vec![(0, SessionId::new("FIX.4.4", "SERVER", "CLIENT"))],
        logon_timeout: std::time::Duration::from_secs(10),
        tls: Some(tls),
        allowed: Vec::new(),
        templates: Vec::new(),
    };
    Router::new(vec![port], SIZE, Admission::default())
}

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40000))
}

/// The client's Logon to SERVER, framed.
fn logon() -> Vec<u8> {
    let body = "35=A\x0134=1\x0149=CLIENT\x0152=20261202-00:00:00.000\x0156=SERVER\x0198=0\x01\
                108=30\x01";
    let mut msg = format!("8=FIX.4.4\x019={}\x01{body}", body.len()).into_bytes();
    let sum = msg.iter().map(|&b| u32::from(b)).sum::<u32>() % 256;
    msg.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
    msg
}

/// The client end: what it sends for what it received.
struct Client {
    tls: TlsConnection,
    inbox: Vec<u8>,
}

impl Client {
    fn new(config: Arc<ClientConfig>) -> Self {
        Self {
            tls: TlsConnection::client(config, SERVER_NAME).expect("a client"),
            inbox: Vec::new(),
        }
    }

    /// Processes what the server sent; returns what to send back.
    fn answer(&mut self, from_server: &[u8]) -> Vec<u8> {
        self.inbox.extend_from_slice(from_server);
        let mut out = vec![0; SIZE];
        let progress = self
            .tls
            .process(&mut self.inbox, &mut out, &mut |_| {})
            .expect("the client's handshake");
        self.inbox.drain(..progress.consumed);
        out.truncate(progress.written);
        out
    }

    fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = vec![0; plaintext.len() + 256];
        let n = self
            .tls
            .encrypt(&mut self.inbox, plaintext, &mut out)
            .expect("sealed");
        out.truncate(n);
        out
    }
}

/// Runs `step` on a thread of its own, as the engine does.
fn run_elsewhere(mut step: HandshakeStep) -> HandshakeStep {
    std::thread::spawn(move || {
        step.run();
        step
    })
    .join()
    .expect("the step ran")
}

fn handle(
    router: &mut Router<u32>,
    key: u32,
    step: HandshakeStep,
    socket: &mut MemorySocket,
) -> Routed {
    let mut scratch = vec![0; SIZE];
    let mut lent = Lent {
        socket,
        scratch: &mut scratch,
    };
    router.handle_handshake(key, step, &mut lent, false, |_| false)
}

fn received(router: &mut Router<u32>, key: u32, socket: &mut MemorySocket) -> Routed {
    let mut scratch = vec![0; SIZE];
    let mut lent = Lent {
        socket,
        scratch: &mut scratch,
    };
    router.handle_received(key, &mut lent, false, |_| false)
}

/// A router with a TLS port that has accepted socket 1, the socket, and a client trusting
/// the port with its ClientHello (not received yet).
struct Accepted {
    router: Router<u32>,
    socket: MemorySocket,
    client: Client,
    client_config: Arc<ClientConfig>,
    hello: Vec<u8>,
}

fn accepted() -> Accepted {
    let (server, client_config) = pki();
    let mut router = router(server);
    assert!(router.handle_accepted(Instant::ZERO, 1, 0, peer()));
    let mut client = Client::new(Arc::clone(&client_config));
    let hello = client.answer(&[]);
    Accepted {
        router,
        socket: MemorySocket::new(SIZE),
        client,
        client_config,
        hello,
    }
}

#[test]
fn the_handshake_runs_elsewhere_and_the_logon_behind_it_is_routed() {
    let Accepted {
        mut router,
        mut socket,
        mut client,
        hello,
        ..
    } = accepted();
    socket.receive(&hello);

    let step = router
        .take_handshake(1, &mut &mut socket)
        .expect("a ClientHello is a step to take");
    assert!(
        router.take_handshake(1, &mut &mut socket).is_none(),
        "one step away at a time"
    );
    assert!(matches!(
        received(&mut router, 1, &mut socket),
        Routed::Waiting
    ));
    assert_eq!(socket.received(), &hello[..], "the bytes wait for the step");
    assert_eq!(socket.queued(), 0, "nothing was answered on this thread");

    let routed = handle(&mut router, 1, run_elsewhere(step), &mut socket);
    assert!(matches!(routed, Routed::Waiting), "{routed:?}");
    assert!(socket.received().is_empty(), "the ClientHello was consumed");
    let flight = socket.take_sent(SIZE);
    assert!(!flight.is_empty(), "the server's flight was committed");

    let mut finish = client.answer(&flight);
    finish.extend_from_slice(&client.seal(&logon()));
    socket.receive(&finish);
    let step = router
        .take_handshake(1, &mut &mut socket)
        .expect("the client's Finished is a step");
    match handle(&mut router, 1, run_elsewhere(step), &mut socket) {
        Routed::Session { session, link } => {
            assert_eq!(session, 0);
            assert!(link.is_tls());
        }
        other => panic!("the Logon was not routed: {other:?}"),
    }
    assert_eq!(router.pending_len(), 0);
}

#[test]
fn bytes_that_come_while_a_step_is_away_make_the_next_step() {
    let Accepted {
        mut router,
        mut socket,
        hello,
        ..
    } = accepted();
    let (first, rest) = hello.split_at(hello.len() / 2);
    socket.receive(first);
    let step = router.take_handshake(1, &mut &mut socket).expect("a step");
    socket.receive(rest);
    let routed = handle(&mut router, 1, run_elsewhere(step), &mut socket);
    assert!(matches!(routed, Routed::Waiting));
    assert_eq!(socket.queued(), 0, "half a ClientHello is not answered");
    assert_eq!(socket.received(), &hello[..], "nothing was lost");

    let step = router
        .take_handshake(1, &mut &mut socket)
        .expect("the rest of the ClientHello is a step");
    let routed = handle(&mut router, 1, run_elsewhere(step), &mut socket);
    assert!(matches!(routed, Routed::Waiting));
    assert!(socket.received().is_empty());
    assert!(socket.queued() > 0, "the whole ClientHello was answered");
    assert!(
        router.take_handshake(1, &mut &mut socket).is_none(),
        "nothing new, no step"
    );
}

#[test]
fn a_step_whose_socket_has_gone_is_dropped() {
    let Accepted {
        mut router,
        mut socket,
        client_config,
        hello,
        ..
    } = accepted();
    socket.receive(&hello);
    let stale = run_elsewhere(router.take_handshake(1, &mut &mut socket).expect("a step"));
    router.handle_closed(1);

    // The key is reused by the next socket: the old step is not its.
    let mut next = MemorySocket::new(SIZE);
    assert!(router.handle_accepted(Instant::ZERO, 1, 0, peer()));
    let hello = Client::new(client_config).answer(&[]);
    next.receive(&hello);
    let routed = handle(&mut router, 1, stale, &mut next);
    assert!(matches!(routed, Routed::Waiting));
    assert_eq!(
        next.received(),
        &hello[..],
        "the new socket's bytes untouched"
    );
    assert_eq!(next.queued(), 0);
    assert!(router.take_handshake(1, &mut &mut next).is_some());
}

#[test]
fn a_step_dropped_unrun_refuses_its_socket_with_an_event() {
    let Accepted {
        mut router,
        mut socket,
        hello,
        ..
    } = accepted();
    socket.receive(&hello);
    let step = router.take_handshake(1, &mut &mut socket).expect("a step");
    let reason = "128 handshakes were waiting for the thread";
    assert!(router.shed_handshake(1, &step, reason));
    assert_eq!(router.pending_len(), 0);
    assert!(!router.shed_handshake(1, &step, reason), "refused once");
    match router.poll_event(Instant::ZERO) {
        Some(EventKind::ConnectionError {
            code, error_detail, ..
        }) => {
            assert_eq!(code, ErrorCode::SslHandshakeFailed);
            assert_eq!(
                error_detail,
                "TLS handshake not started: 128 handshakes were waiting for the thread"
            );
        }
        other => panic!("no refusal: {other:?}"),
    }
}
