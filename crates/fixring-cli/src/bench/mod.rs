//! The round-trip latency benchmark behind `fixring bench`.
//!
//! Each [`Scenario`] times NewOrderSingle → ExecutionReport round trips of about the same size:
//! `baseline` is a raw socket ping-pong over loopback (no FIX, no engine: the floor of the
//! machine), the engine scenarios run a fixring acceptor answering with [`fixring::Echo`] and a
//! fixring initiator in the same process. Latencies are recorded in nanoseconds into an
//! HdrHistogram; [`report`] prints them as a table or JSON, [`hgrm`] and [`plot`] write files.
//!
//! Closed loop by default: the next order leaves as soon as the previous ExecutionReport is
//! in. With [`Options::rate`] set, orders leave at fixed intervals and every round trip is
//! measured from its intended send time, so a stall counts against every order it delays
//! (the coordinated-omission correction of wrk2).

mod baseline;
mod connect;
mod engine_pair;
pub(crate) mod hgrm;
mod order;
mod pin;
pub(crate) mod plot;
pub(crate) mod rate_search;
pub(crate) mod report;
pub(crate) mod rounds;
pub(crate) mod sessions;
mod tls;

use core::fmt;
use std::time::Duration;

use fixring::EngineError;
use fixring_core::config::{BusyPoll, Transport};
use hdrhistogram::Histogram;

pub(crate) use connect::{ConnectMeasured, run_connect};

/// What a scenario runs.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScenarioKind {
    /// A raw non-blocking socket ping-pong: no FIX, no engine.
    Baseline,
    /// A fixring acceptor and initiator on this transport.
    Engine(Transport),
}

/// One line of the benchmark: a name and what it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scenario {
    /// The name on the command line and in the report.
    pub name: &'static str,
    /// What it runs.
    pub kind: ScenarioKind,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// Whether both engines validate every message against [`Options::data_dictionary`].
    pub dictionary: bool,
}

/// Every scenario, in the order they run. The first is the baseline the others are compared
/// with.
pub(crate) const SCENARIOS: [Scenario; 5] = [
    Scenario {
        name: "baseline",
        kind: ScenarioKind::Baseline,
        tls: false,
        dictionary: false,
    },
    Scenario {
        name: "uring",
        kind: ScenarioKind::Engine(Transport::Uring),
        tls: false,
        dictionary: false,
    },
    Scenario {
        name: "epoll",
        kind: ScenarioKind::Engine(Transport::Epoll),
        tls: false,
        dictionary: false,
    },
    Scenario {
        name: "uring-tls",
        kind: ScenarioKind::Engine(Transport::Uring),
        tls: true,
        dictionary: false,
    },
    Scenario {
        name: "epoll-tls",
        kind: ScenarioKind::Engine(Transport::Epoll),
        tls: true,
        dictionary: false,
    },
];

/// The engine scenarios again with a data dictionary on both sides (`--data-dictionary`),
/// each run beside the one without.
pub(crate) const DICTIONARY_SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "uring-dictionary",
        kind: ScenarioKind::Engine(Transport::Uring),
        tls: false,
        dictionary: true,
    },
    Scenario {
        name: "epoll-dictionary",
        kind: ScenarioKind::Engine(Transport::Epoll),
        tls: false,
        dictionary: true,
    },
    Scenario {
        name: "uring-tls-dictionary",
        kind: ScenarioKind::Engine(Transport::Uring),
        tls: true,
        dictionary: true,
    },
    Scenario {
        name: "epoll-tls-dictionary",
        kind: ScenarioKind::Engine(Transport::Epoll),
        tls: true,
        dictionary: true,
    },
];

/// The scenario called `name`.
pub(crate) fn scenario(name: &str) -> Option<Scenario> {
    SCENARIOS.iter().copied().find(|s| s.name == name)
}

/// `scenario` with a data dictionary on both sides; none for the baseline.
pub(crate) fn with_dictionary(scenario: Scenario) -> Option<Scenario> {
    DICTIONARY_SCENARIOS
        .iter()
        .copied()
        .find(|s| s.kind == scenario.kind && s.tls == scenario.tls)
}

/// How a run is set up.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Options {
    /// Round trips measured per scenario.
    pub orders: u64,
    /// Round trips run (and not measured) before them.
    pub warmup: u64,
    /// About how many bytes each order has on the wire.
    pub size: usize,
    /// Orders per second for an open-loop run; `None` for a closed loop.
    pub rate: Option<f64>,
    /// How the engine's event loops wait.
    pub busy_poll: BusyPoll,
    /// The acceptor's and the initiator's cores (the baseline's two threads too); `None`
    /// runs unpinned.
    pub cores: Option<(usize, usize)>,
    /// How long a scenario may go without progress before it fails.
    pub stall: Duration,
    /// Both engines keep their sessions in a file store in this directory
    /// (`FileStorePath`), to measure what it costs; `None` keeps them in memory.
    pub file_store: Option<std::path::PathBuf>,
    /// Both engines log every message and event of their sessions in this directory
    /// (`FileLogPath`), to measure what it costs; `None` logs nothing.
    pub file_log: Option<std::path::PathBuf>,
    /// The QuickFIX data dictionary (`DataDictionary`) both engines validate every message
    /// against in the scenarios with [`Scenario::dictionary`]; the others validate nothing.
    pub data_dictionary: Option<std::path::PathBuf>,
}

impl Options {
    /// The defaults: 100,000 orders after 10,000 of warm-up, 200 bytes, closed loop, spinning
    /// loops on cores 0 and 1 when the machine has two cores or more, unpinned and
    /// spin-then-park otherwise.
    pub(crate) fn new() -> Self {
        let cores = pin::default_cores();
        Self {
            orders: 100_000,
            warmup: 10_000,
            size: 200,
            rate: None,
            busy_poll: if cores.is_some() {
                BusyPoll::Spin
            } else {
                BusyPoll::SpinThenPark(Duration::from_micros(50))
            },
            cores,
            stall: Duration::from_secs(30),
            file_store: None,
            file_log: None,
            data_dictionary: None,
        }
    }

    fn total(&self) -> u64 {
        self.warmup.saturating_add(self.orders)
    }

    fn interval(&self) -> Option<Duration> {
        self.rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r))
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

/// The round trips one scenario measured.
#[derive(Clone, Debug)]
pub(crate) struct Measured {
    /// The scenario.
    pub scenario: Scenario,
    /// Round-trip latencies in nanoseconds.
    pub histogram: Histogram<u64>,
    /// The time the measured round trips took, first send to last reply.
    pub elapsed: Duration,
}

impl Measured {
    /// Round trips per second over the measured part.
    pub(crate) fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.histogram.len() as f64 / secs
        } else {
            0.0
        }
    }
}

/// Why a scenario could not be measured.
#[non_exhaustive]
#[derive(Debug)]
pub(crate) enum BenchError {
    /// A socket operation of the baseline, or writing a report file, failed.
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// An engine did not start or stopped with an error.
    Engine(EngineError),
    /// The generated settings did not parse (a bug of the benchmark).
    Settings(String),
    /// A scenario made no progress for too long.
    Stalled {
        /// The scenario.
        scenario: String,
        /// What it was waiting for.
        waiting_for: String,
        /// How long it waited.
        waited: Duration,
    },
    /// An order could not be sent, or a reply did not match an order.
    Protocol(String),
    /// A thread of the benchmark could not be started or panicked.
    Thread(String),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { what, source } => write!(f, "{what}: {source}"),
            Self::Engine(error) => write!(f, "engine: {error}"),
            Self::Settings(detail) => write!(f, "benchmark settings rejected: {detail}"),
            Self::Stalled {
                scenario,
                waiting_for,
                waited,
            } => write!(
                f,
                "{scenario}: no progress for {:.1} s while waiting for {waiting_for}",
                waited.as_secs_f64()
            ),
            Self::Protocol(detail) => f.write_str(detail),
            Self::Thread(detail) => write!(f, "benchmark thread: {detail}"),
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Engine(error) => Some(error),
            _ => None,
        }
    }
}

impl From<EngineError> for BenchError {
    fn from(error: EngineError) -> Self {
        Self::Engine(error)
    }
}

/// Whether this machine lets a process use io_uring: `Err` says why not.
pub(crate) fn uring_available() -> Result<(), String> {
    // A small ring: the default one registers tens of MiB of buffers.
    let options = fixring::io::BackendOptions {
        max_connections: 1,
        buffer_size: 4096,
        ..fixring::io::BackendOptions::default()
    };
    match fixring_uring::UringBackend::new(&options) {
        Ok(_) => Ok(()),
        Err(error) if fixring::io::is_unavailable(&error) => Err(error.to_string()),
        Err(error) => Err(format!("io_uring set-up failed: {error}")),
    }
}

/// Runs one scenario; `progress(done, total)` is called a few times a second with the round
/// trips completed so far, warm-up included.
pub(crate) fn run_scenario(
    scenario: Scenario,
    options: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Measured, BenchError> {
    let mut options = options.clone();
    if !scenario.dictionary {
        options.data_dictionary = None;
    }
    match scenario.kind {
        ScenarioKind::Baseline => baseline::run(scenario, &options, progress),
        ScenarioKind::Engine(transport) => {
            engine_pair::run(scenario, transport, &options, progress)
        }
    }
}

/// A histogram for nanosecond latencies from 1 ns to an hour, three significant digits.
fn new_histogram() -> Result<Histogram<u64>, BenchError> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
        .map_err(|e| BenchError::Protocol(format!("histogram: {e}")))
}

/// Nanoseconds in `d`, saturating, at least 1 (the histogram's lowest value).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// When order `n` of an open-loop run is due.
fn scheduled(start: std::time::Instant, interval: Duration, n: u64) -> std::time::Instant {
    start + Duration::from_nanos(nanos(interval).saturating_mul(n))
}

/// The `BusyPoll` settings value for `busy_poll`.
pub(crate) fn busy_poll_text(busy_poll: BusyPoll) -> String {
    match busy_poll {
        BusyPoll::Spin => "spin".to_owned(),
        BusyPoll::Park => "park".to_owned(),
        BusyPoll::SpinThenPark(d) => format!("spin-then-park:{}", d.as_micros()),
    }
}
