//! `fixring bench`: the round-trip latency benchmark, see [`crate::bench`].
//!
//! Prints a progress line on stderr while it runs, then the machine, the options and a table
//! (or, with `--json`, one JSON object) on stdout. Exits 1 when a scenario fails, 2 on bad
//! options.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use fixring::core::config::{BusyPoll, Transport};

use crate::bench::report::{self, Machine};
use crate::bench::{
    self, ConnectMeasured, Measured, Options, SCENARIOS, Scenario, ScenarioKind, hgrm, plot,
};

/// Arguments of `fixring bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Round trips measured per scenario.
    #[arg(long, default_value_t = 100_000)]
    orders: u64,
    /// Round trips run before measuring.
    #[arg(long, default_value_t = 10_000)]
    warmup: u64,
    /// Scenarios to run, comma-separated (baseline, uring, epoll); all by default.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// The acceptor's and the initiator's cores, e.g. `0,1` (the baseline's threads too).
    /// Default: 0,1 on a machine with two cores or more, unpinned otherwise.
    #[arg(long, value_delimiter = ',', num_args = 1)]
    cores: Vec<usize>,
    /// About how many bytes each order has on the wire (padded with Text).
    #[arg(long, default_value_t = 200)]
    size: usize,
    /// Open loop: orders per second, sent on a fixed schedule and each timed from its
    /// intended send time.
    #[arg(long)]
    rate: Option<f64>,
    /// How the event loops wait: spin, park or spin-then-park:US. Default: spin, since each
    /// loop has a core of its own (spin-then-park:50 when unpinned).
    #[arg(long, value_parser = parse_busy_poll)]
    busy_poll: Option<BusyPoll>,
    /// Measure connect + Logon and reconnect times over this many attempts instead.
    #[arg(long, value_name = "ATTEMPTS", num_args = 0..=1, default_missing_value = "20")]
    connect: Option<u64>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Write one .hgrm file per scenario and latency.svg into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Fail a scenario that makes no progress for this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Keep both engines' sessions in a file store in this directory (FileStorePath), to
    /// measure its cost.
    #[arg(long, value_name = "DIR")]
    file_store: Option<PathBuf>,
    /// Log every message and event of both engines' sessions in this directory
    /// (FileLogPath), to measure its cost.
    #[arg(long, value_name = "DIR")]
    file_log: Option<PathBuf>,
}

fn parse_busy_poll(text: &str) -> Result<BusyPoll, String> {
    const EXPECTED: &str = "expected spin, park or spin-then-park:MICROSECONDS";
    match text {
        "spin" => Ok(BusyPoll::Spin),
        "park" => Ok(BusyPoll::Park),
        _ => text
            .strip_prefix("spin-then-park:")
            .and_then(|us| us.parse().ok())
            .map(|us| BusyPoll::SpinThenPark(Duration::from_micros(us)))
            .ok_or_else(|| EXPECTED.to_owned()),
    }
}

/// The exit code of bad options.
const USAGE: u8 = 2;

/// Runs the subcommand.
pub(crate) fn run(args: &Args) -> ExitCode {
    match plan(args) {
        Ok((options, scenarios)) => match measure(args, &options, &scenarios) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                clear_progress();
                eprintln!("fixring bench: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("fixring bench: {error}");
            ExitCode::from(USAGE)
        }
    }
}

/// The options and the scenarios to run, with a note on stderr for each one skipped.
fn plan(args: &Args) -> Result<(Options, Vec<Scenario>), String> {
    if args.connect.is_some() && (args.out.is_some() || args.rate.is_some()) {
        return Err(
            "--connect measures connection set-up: --out and --rate do not apply".to_owned(),
        );
    }
    let mut options = Options::new();
    options.orders = args.orders;
    options.warmup = args.warmup;
    options.size = args.size;
    options.stall = Duration::from_secs(args.timeout.max(1));
    options.file_store.clone_from(&args.file_store);
    options.file_log.clone_from(&args.file_log);
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "--rate {rate}: expected orders per second above zero"
            ));
        }
        options.rate = Some(rate);
    }
    match args.cores.as_slice() {
        [] => {}
        [acceptor, initiator] => options.cores = Some((*acceptor, *initiator)),
        other => return Err(format!("--cores takes two cores, got {}", other.len())),
    }
    if let Some(busy_poll) = args.busy_poll {
        options.busy_poll = busy_poll;
    }
    let mut scenarios = Vec::new();
    if args.scenarios.is_empty() {
        scenarios.extend(SCENARIOS);
    } else {
        for name in &args.scenarios {
            let scenario = bench::scenario(name.trim()).ok_or_else(|| {
                let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                format!("unknown scenario {name:?}; known: {}", known.join(", "))
            })?;
            if !scenarios.contains(&scenario) {
                scenarios.push(scenario);
            }
        }
    }
    if args.connect.is_some() {
        scenarios.retain(|s| matches!(s.kind, ScenarioKind::Engine(_)));
    }
    if scenarios
        .iter()
        .any(|s| s.kind == ScenarioKind::Engine(Transport::Uring))
        && let Err(reason) = bench::uring_available()
    {
        eprintln!("fixring bench: skipping uring, io_uring is not available here: {reason}");
        scenarios.retain(|s| s.kind != ScenarioKind::Engine(Transport::Uring));
    }
    if scenarios.is_empty() {
        return Err("no scenario to run".to_owned());
    }
    Ok((options, scenarios))
}

/// How the options read in the report header.
fn describe(args: &Args, options: &Options) -> String {
    let busy_poll = bench::busy_poll_text(options.busy_poll);
    let cores = options
        .cores
        .map_or_else(|| "unpinned".to_owned(), |(a, b)| format!("{a},{b}"));
    if let Some(attempts) = args.connect {
        return format!("connect attempts={attempts} busy-poll={busy_poll} cores={cores}");
    }
    let mode = options.rate.map_or_else(
        || "closed loop".to_owned(),
        |r| format!("open loop at {r} orders/s"),
    );
    let store = options
        .file_store
        .as_ref()
        .map_or_else(String::new, |dir| format!(" file-store={}", dir.display()));
    let log = options
        .file_log
        .as_ref()
        .map_or_else(String::new, |dir| format!(" file-log={}", dir.display()));
    format!(
        "orders={} warmup={} size={}B {mode} busy-poll={busy_poll} cores={cores}{store}{log}",
        options.orders, options.warmup, options.size
    )
}

fn measure(args: &Args, options: &Options, scenarios: &[Scenario]) -> Result<(), String> {
    let machine = Machine::detect();
    let described = describe(args, options);
    let mut stdout = std::io::stdout().lock();
    if let Some(attempts) = args.connect {
        let mut results: Vec<ConnectMeasured> = Vec::new();
        for scenario in scenarios {
            let mut show = progress(scenario.name, "attempts");
            let measured = bench::run_connect(*scenario, attempts, options, &mut show)
                .map_err(|e| e.to_string())?;
            results.push(measured);
        }
        clear_progress();
        let text = if args.json {
            report::connect_json(&machine, &described, &results) + "\n"
        } else {
            report::header(&machine, &described) + "\n" + &report::connect_table(&results)
        };
        return stdout.write_all(text.as_bytes()).map_err(|e| e.to_string());
    }
    let mut results: Vec<Measured> = Vec::new();
    for scenario in scenarios {
        let mut show = progress(scenario.name, "round trips");
        let measured =
            bench::run_scenario(*scenario, options, &mut show).map_err(|e| e.to_string())?;
        results.push(measured);
    }
    clear_progress();
    if let Some(dir) = &args.out {
        write_files(dir, &described, &results)?;
    }
    let text = if args.json {
        report::json(&machine, &described, &results) + "\n"
    } else {
        report::header(&machine, &described) + "\n" + &report::table(&results)
    };
    stdout.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

/// A progress callback that rewrites one stderr line.
fn progress(name: &'static str, unit: &'static str) -> impl FnMut(u64, u64) {
    move |done, total| {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{name}: {done}/{total} {unit}\x1b[K");
        let _ = err.flush();
    }
}

fn clear_progress() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[K");
    let _ = err.flush();
}

/// `NAME.hgrm` per scenario and `latency.svg` with all of them.
fn write_files(dir: &Path, described: &str, results: &[Measured]) -> Result<(), String> {
    let write = |path: PathBuf, text: String| {
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for m in results {
        write(
            dir.join(format!("{}.hgrm", m.scenario.name)),
            hgrm::percentile_distribution(&m.histogram),
        )?;
    }
    let series: Vec<(&str, &_)> = results
        .iter()
        .map(|m| (m.scenario.name, &m.histogram))
        .collect();
    let title = format!("fixring round trip, {described}");
    write(
        dir.join("latency.svg"),
        plot::percentile_plot(&title, &series),
    )
}
