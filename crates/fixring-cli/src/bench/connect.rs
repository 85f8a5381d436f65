//! `fixring bench --connect`: how long an initiator takes from start to logged on, and how
//! long it takes to log on again after the acceptor dropped it.

use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use fixring::{Application, Echo, Engine};
use fixring_core::SessionId;
use fixring_core::config::Transport;
use hdrhistogram::Histogram;

use super::engine_pair::{Watch, acceptor_settings, initiator_settings, start_acceptor};
use super::tls::TlsFiles;
use super::{BenchError, Options, Scenario, nanos, new_histogram};

/// The initiators' ReconnectInterval, taken off the reconnect times.
const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);

/// Connection set-up times of one transport.
#[derive(Clone, Debug)]
pub(crate) struct ConnectMeasured {
    /// The scenario (`uring` or `epoll`).
    pub scenario: Scenario,
    /// [`Engine::start`] of an initiator, in nanoseconds: its event loop's set-up (thread,
    /// pinning, ring or epoll instance, buffers).
    pub start: Histogram<u64>,
    /// [`Engine::start`] returned → Logon complete, in nanoseconds: TCP connect and the
    /// Logon exchange (the loop begins connecting just before `start` returns, so this slightly
    /// under-counts the connect).
    pub connect: Histogram<u64>,
    /// Session lost → logged on again, minus the 1 s ReconnectInterval, in nanoseconds: the
    /// engine's own part of a reconnect.
    pub reconnect: Histogram<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stamp {
    Logon,
    Logout,
}

/// Reports logons and logouts with the time they were seen.
#[derive(Clone)]
struct Stamps(Sender<(Stamp, Instant)>);

impl Application for Stamps {
    fn on_logon(&mut self, _session: &SessionId) {
        let _ = self.0.send((Stamp::Logon, Instant::now()));
    }

    fn on_logout(&mut self, _session: &SessionId) {
        let _ = self.0.send((Stamp::Logout, Instant::now()));
    }
}

fn expect(
    rx: &Receiver<(Stamp, Instant)>,
    want: Stamp,
    watch: &Watch,
) -> Result<Instant, BenchError> {
    let deadline = Instant::now() + watch.stall;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((stamp, at)) if stamp == want => return Ok(at),
            Ok(_) => {}
            Err(_) => return Err(watch.stalled(&format!("{want:?}"))),
        }
    }
}

/// Measures `attempts` connects and `attempts` reconnects on the engine scenario `scenario`
/// (each reconnect costs the 1 s ReconnectInterval). `progress(done, total)` counts both.
pub(crate) fn run_connect(
    scenario: Scenario,
    attempts: u64,
    options: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ConnectMeasured, BenchError> {
    let super::ScenarioKind::Engine(transport) = scenario.kind else {
        return Err(BenchError::Protocol(format!(
            "{}: connection set-up is measured for engine scenarios only",
            scenario.name
        )));
    };
    let watch = Watch {
        scenario,
        stall: options.stall,
    };
    let total = attempts.saturating_mul(2);
    let tls = scenario.tls.then(TlsFiles::create).transpose()?;
    let tls = tls.as_ref();
    let (mut acceptor, port) = start_acceptor(transport, options, tls)?;
    let mut start = new_histogram()?;
    let mut connect = new_histogram()?;
    for n in 0..attempts {
        let (tx, rx) = mpsc::channel();
        let settings = initiator_settings(transport, port, options, tls)?;
        let mut initiator = Engine::new(settings, Stamps(tx));
        let began = Instant::now();
        initiator.start()?;
        let started = Instant::now();
        let logged_on = expect(&rx, Stamp::Logon, &watch)?;
        start.saturating_record(nanos(started - began));
        connect.saturating_record(nanos(logged_on.saturating_duration_since(started)));
        initiator.stop();
        initiator.wait()?;
        progress(n + 1, total);
    }

    let mut reconnect = new_histogram()?;
    let (tx, rx) = mpsc::channel();
    let mut initiator = Engine::new(
        initiator_settings(transport, port, options, tls)?,
        Stamps(tx),
    );
    initiator.start()?;
    expect(&rx, Stamp::Logon, &watch)?;
    for n in 0..attempts {
        acceptor.stop();
        acceptor.wait()?;
        let lost = expect(&rx, Stamp::Logout, &watch)?;
        acceptor = restart_acceptor(transport, port, options, tls)?;
        let back = expect(&rx, Stamp::Logon, &watch)?;
        reconnect.saturating_record(nanos((back - lost).saturating_sub(RECONNECT_INTERVAL)));
        progress(attempts + n + 1, total);
    }
    initiator.stop();
    initiator.wait()?;
    acceptor.stop();
    acceptor.wait()?;
    Ok(ConnectMeasured {
        scenario,
        start,
        connect,
        reconnect,
    })
}

/// The acceptor again on its port, retrying for a second while the port is still held.
fn restart_acceptor(
    transport: Transport,
    port: u16,
    options: &Options,
    tls: Option<&TlsFiles>,
) -> Result<Engine<Echo>, BenchError> {
    let began = Instant::now();
    loop {
        let mut engine = Engine::new(
            acceptor_settings(transport, port, options, tls)?,
            Echo::default(),
        );
        match engine.start() {
            Ok(()) => return Ok(engine),
            Err(error) if began.elapsed() >= RECONNECT_INTERVAL => return Err(error.into()),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
