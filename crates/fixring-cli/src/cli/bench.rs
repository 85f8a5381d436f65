//! `fixring bench`: the round-trip latency benchmark, see [`crate::bench`].
//!
//! Prints a progress line on stderr while it runs (only when stderr is a terminal), then the
//! machine, the options and a table (or, with `--json`, one JSON object) on stdout, and on
//! stderr the files `--out` wrote. Exits 1 when a scenario fails, 2 on bad options (an
//! `--out` directory it cannot write to among them, found before anything is measured).

use std::fs::File;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use fixring::core::config::{BusyPoll, Transport};
use fixring::core::dictionary::Dictionary;

use crate::bench::rate_search::{self, Search};
use crate::bench::report::{self, Machine};
use crate::bench::rounds::{self, MeasureOne, RoundResult, RoundsMeasured};
use crate::bench::sessions::{self, Load, Searched, SessionsMeasured};
use crate::bench::{
    self, BenchError, ConnectMeasured, Measured, Options, SCENARIOS, Scenario, ScenarioKind, hgrm,
    plot,
};

/// Arguments of `fixring bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Round trips measured per scenario (at least one).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    orders: u64,
    /// Round trips run before measuring.
    #[arg(long, default_value_t = 10_000)]
    warmup: u64,
    /// Scenarios to run, comma-separated (baseline, uring, epoll, uring-tls, epoll-tls); all
    /// by default.
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
    /// Run every scenario this many times, in short interleaved rounds (forward, then
    /// backward: ABBA), sharing --orders and --warmup among them; report the percentiles of
    /// all rounds and per-round ratios (each scenario against the baseline, io_uring against
    /// epoll) as a median with range and rounds won. With --sessions: the figures of all
    /// rounds added up, and per-round ratios of io_uring against epoll of msgs/s (above 1
    /// wins), CPU and system calls per round trip, p50 and p99 (below 1 wins).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    rounds: Option<u32>,
    /// Run N initiator sessions against one acceptor instead (engine scenarios only):
    /// round trips per second, CPU and system calls per round trip, latency percentiles;
    /// in interleaved rounds with --rounds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    sessions: Option<u64>,
    /// With --sessions, closed loop: orders in flight per session.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    inflight: u64,
    /// With --sessions: also search for the highest --rate at which p99 stays under 1 ms:
    /// at most this many open-loop runs of about a second each (at most --orders), from half
    /// the closed-loop throughput down, then bisecting. Not with --rounds: the probes run one
    /// scenario after another, not interleaved.
    #[arg(long, value_name = "PROBES", num_args = 0..=1, default_missing_value = "6")]
    max_rate: Option<u32>,
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
    /// Run every engine scenario also with this QuickFIX data dictionary (DataDictionary, a
    /// FIX.4.4 one such as FIX44.xml) on both engines, beside the same without, in rounds
    /// (one unless --rounds says more), and report the ratio of each with to without.
    #[arg(long, value_name = "FILE")]
    data_dictionary: Option<PathBuf>,
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
    let planned = plan(args).and_then(|(options, scenarios)| {
        let out = match &args.out {
            Some(dir) => Some(OutFiles::create(dir, &scenarios)?),
            None => None,
        };
        Ok((options, scenarios, out))
    });
    match planned {
        Ok((options, scenarios, out)) => match measure(args, &options, &scenarios, out) {
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
    if args.connect.is_some()
        && (args.out.is_some() || args.rate.is_some() || args.rounds.is_some())
    {
        return Err(
            "--connect measures connection set-up: --out, --rate and --rounds do not apply"
                .to_owned(),
        );
    }
    if args.sessions.is_some() && args.connect.is_some() {
        return Err("--sessions does not combine with --connect".to_owned());
    }
    if args.data_dictionary.is_some() && (args.connect.is_some() || args.sessions.is_some()) {
        return Err("--data-dictionary does not combine with --connect or --sessions".to_owned());
    }
    if args.sessions.is_none() && args.max_rate.is_some() {
        return Err("--max-rate searches a --sessions run".to_owned());
    }
    if args.max_rate.is_some() && args.rate.is_some() {
        return Err("--max-rate searches the rate itself: --rate does not apply".to_owned());
    }
    if args.max_rate.is_some() && args.rounds.is_some() {
        return Err(
            "--max-rate does not combine with --rounds: its probes are not interleaved".to_owned(),
        );
    }
    let mut options = Options::new();
    options.orders = args.orders;
    options.warmup = args.warmup;
    options.size = args.size;
    options.stall = Duration::from_secs(args.timeout.max(1));
    options.file_store.clone_from(&args.file_store);
    options.file_log.clone_from(&args.file_log);
    if let Some(file) = &args.data_dictionary {
        check_dictionary(file)?;
        options.data_dictionary = Some(file.clone());
    }
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
    if args.connect.is_some() || args.sessions.is_some() {
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
    if options.data_dictionary.is_some() {
        scenarios = scenarios
            .into_iter()
            .flat_map(|s| std::iter::once(s).chain(bench::with_dictionary(s)))
            .collect();
    }
    Ok((options, scenarios))
}

/// The BeginString of the benchmark's sessions, which a `--data-dictionary` must describe.
const BENCH_VERSION: &str = "FIX.4.4";

/// Loads `file` once to refuse, before anything runs, one that is broken or of another FIX
/// version than the benchmark's sessions.
fn check_dictionary(file: &Path) -> Result<(), String> {
    let dictionary = Dictionary::load(file).map_err(|e| format!("--data-dictionary {e}"))?;
    if dictionary.version() != BENCH_VERSION {
        return Err(format!(
            "--data-dictionary {}: describes {}, the benchmark's sessions are {BENCH_VERSION}",
            file.display(),
            dictionary.version()
        ));
    }
    Ok(())
}

/// The rounds to run: `--rounds`, or one with `--data-dictionary`, whose report is the ratio
/// of each scenario with the dictionary to the same without.
fn rounds(args: &Args) -> Option<u32> {
    args.rounds
        .or_else(|| args.data_dictionary.as_ref().map(|_| 1))
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
    let rounds = rounds(args).map_or_else(String::new, |k| format!(" rounds={k} (ABBA)"));
    let dictionary = options
        .data_dictionary
        .as_ref()
        .map_or_else(String::new, |file| {
            format!(" data-dictionary={}", file.display())
        });
    let rounds = match args.sessions {
        Some(n) if options.rate.is_some() => format!("{rounds} sessions={n}"),
        Some(n) => format!("{rounds} sessions={n} inflight={}", args.inflight),
        None => rounds,
    };
    format!(
        "orders={} warmup={} size={}B {mode} busy-poll={busy_poll} cores={cores}{rounds}{store}{log}{dictionary}",
        options.orders, options.warmup, options.size
    )
}

fn measure(
    args: &Args,
    options: &Options,
    scenarios: &[Scenario],
    out: Option<OutFiles>,
) -> Result<(), String> {
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
    if let Some(sessions) = args.sessions {
        let load = Load {
            sessions: usize::try_from(sessions).unwrap_or(usize::MAX),
            inflight: usize::try_from(args.inflight).unwrap_or(usize::MAX),
        };
        let measured = match args.rounds {
            Some(rounds) => run_sessions_rounds(scenarios, options, load, rounds).map(|m| {
                let (merged, ratio_table, ratio_json) = ratio_reports(m);
                let merged = merged.into_iter().map(|m| (m, None)).collect();
                (merged, ratio_table, ratio_json)
            }),
            None => run_sessions(scenarios, options, load, args.max_rate)
                .map(|r| (r, String::new(), String::new())),
        };
        let (results, ratio_table, ratio_json) = measured.map_err(|e| e.to_string())?;
        clear_progress();
        let text = if args.json {
            report::sessions_json(&machine, &described, &results, &ratio_json) + "\n"
        } else {
            let table = report::sessions_table(&results);
            with_ratios(report::header(&machine, &described), &table, &ratio_table)
        };
        return stdout.write_all(text.as_bytes()).map_err(|e| e.to_string());
    }
    let measured = match rounds(args) {
        Some(rounds) => {
            run_rounds(scenarios, options, rounds, &mut bench::run_scenario).map(ratio_reports)
        }
        None => run_each(scenarios, options).map(|r| (r, String::new(), String::new())),
    };
    let (results, ratio_table, ratio_json) = match measured {
        Ok(measured) => measured,
        Err(error) => {
            if let Some(out) = out {
                out.discard();
            }
            return Err(error.to_string());
        }
    };
    clear_progress();
    let written = match out {
        Some(out) => out.write(&described, &results)?,
        None => Vec::new(),
    };
    let text = if args.json {
        report::json(&machine, &described, &results, &ratio_json) + "\n"
    } else {
        let table = report::table(&results);
        with_ratios(report::header(&machine, &described), &table, &ratio_table)
    };
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    drop(stdout);
    for path in written {
        eprintln!("fixring bench: wrote {}", path.display());
    }
    Ok(())
}

/// Each scenario once, one after another.
fn run_each(scenarios: &[Scenario], options: &Options) -> Result<Vec<Measured>, BenchError> {
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let mut show = progress(scenario.name, "round trips");
        results.push(bench::run_scenario(*scenario, options, &mut show)?);
    }
    Ok(results)
}

/// Every scenario with `load`, and the rate search after each when asked.
fn run_sessions(
    scenarios: &[Scenario],
    options: &Options,
    load: Load,
    probes: Option<u32>,
) -> Result<Vec<Searched>, BenchError> {
    let mut results = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        let ScenarioKind::Engine(transport) = scenario.kind else {
            continue;
        };
        let mut show = progress(scenario.name, "round trips");
        let measured = sessions::run(*scenario, transport, options, load, &mut show)?;
        let found = match probes {
            Some(probes) => {
                let search = Search {
                    ceiling: measured.msgs_per_s(),
                    limit: Duration::from_millis(1),
                    probes,
                };
                let mut show = progress(scenario.name, "round trips, rate search");
                let found =
                    rate_search::max_rate(*scenario, transport, options, load, search, &mut show)?;
                Some(found)
            }
            None => None,
        };
        results.push((measured, found));
    }
    Ok(results)
}

/// Every scenario with `load` in `rounds` interleaved rounds.
fn run_sessions_rounds(
    scenarios: &[Scenario],
    options: &Options,
    load: Load,
    rounds: u32,
) -> Result<RoundsMeasured<SessionsMeasured>, BenchError> {
    let mut measure = |scenario: Scenario, options: &Options, show: &mut dyn FnMut(u64, u64)| {
        let ScenarioKind::Engine(transport) = scenario.kind else {
            return Err(BenchError::Protocol(format!(
                "{}: --sessions runs engine scenarios only",
                scenario.name
            )));
        };
        sessions::run(scenario, transport, options, load, show)
    };
    run_rounds(scenarios, options, rounds, &mut measure)
}

/// The merged results of a run in rounds, with its per-round ratios as a table and as JSON
/// members.
fn ratio_reports<T>(measured: RoundsMeasured<T>) -> (Vec<T>, String, String) {
    let table = report::ratio_table(measured.rounds, &measured.ratios);
    let json = report::ratios_json(measured.rounds, &measured.ratios);
    (measured.merged, table, json)
}

/// The header, a blank line and the table, then the ratios of a run in rounds (if any) after
/// another blank line.
fn with_ratios(header: String, table: &str, ratio_table: &str) -> String {
    let mut text = header + "\n" + table;
    if !ratio_table.is_empty() {
        text = text + "\n" + ratio_table;
    }
    text
}

/// Every scenario in `rounds` interleaved rounds, each measured by `measure`.
fn run_rounds<T: RoundResult>(
    scenarios: &[Scenario],
    options: &Options,
    rounds: u32,
    measure: &mut MeasureOne<'_, T>,
) -> Result<RoundsMeasured<T>, BenchError> {
    let terminal = std::io::stderr().is_terminal();
    let mut show = |name: &str, round: u32, done: u64, total: u64| {
        if terminal {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\rround {}/{rounds} {name}: {done}/{total} round trips\x1b[K",
                round + 1
            );
            let _ = err.flush();
        }
    };
    rounds::run(scenarios, options, rounds, measure, &mut show)
}

/// A progress callback that rewrites one stderr line; silent when stderr is not a terminal,
/// so that a log gets no carriage returns or escape codes.
fn progress(name: &'static str, unit: &'static str) -> impl FnMut(u64, u64) {
    let terminal = std::io::stderr().is_terminal();
    move |done, total| {
        if terminal {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{name}: {done}/{total} {unit}\x1b[K");
            let _ = err.flush();
        }
    }
}

/// Clears the progress line, on a terminal.
fn clear_progress() {
    let mut err = std::io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}

/// The files `--out` writes, `NAME.hgrm` per scenario and `latency.svg` with all of them,
/// created before anything is measured so that a directory that cannot be written to fails
/// the run at once.
struct OutFiles {
    /// Each scenario's `.hgrm` file, in the order of the scenarios.
    hgrm: Vec<(PathBuf, File)>,
    svg: (PathBuf, File),
}

impl OutFiles {
    /// Creates `dir` if need be and the (empty) files of `scenarios` in it.
    fn create(dir: &Path, scenarios: &[Scenario]) -> Result<Self, String> {
        let failed = |path: &Path, e: std::io::Error| format!("--out {}: {e}", path.display());
        std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
        let open = |path: PathBuf| match File::create(&path) {
            Ok(file) => Ok((path, file)),
            Err(e) => Err(failed(&path, e)),
        };
        let svg = open(dir.join("latency.svg"))?;
        let mut hgrm = Vec::with_capacity(scenarios.len());
        for scenario in scenarios {
            hgrm.push(open(dir.join(format!("{}.hgrm", scenario.name)))?);
        }
        Ok(Self { hgrm, svg })
    }

    /// Writes the results of the scenarios into the files; returns their paths.
    fn write(self, described: &str, results: &[Measured]) -> Result<Vec<PathBuf>, String> {
        let write = |(path, mut file): (PathBuf, File), text: String| {
            file.write_all(text.as_bytes())
                .map(|()| path.clone())
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        let mut written = Vec::with_capacity(results.len() + 1);
        for (file, m) in self.hgrm.into_iter().zip(results) {
            written.push(write(file, hgrm::percentile_distribution(&m.histogram))?);
        }
        let series: Vec<(&str, &_)> = results
            .iter()
            .map(|m| (m.scenario.name, &m.histogram))
            .collect();
        let title = format!("fixring round trip, {described}");
        written.push(write(self.svg, plot::percentile_plot(&title, &series))?);
        Ok(written)
    }

    /// Removes the files again: the run failed before it had anything to put in them.
    fn discard(self) {
        for (path, file) in self.hgrm.into_iter().chain([self.svg]) {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    /// `fixring bench` alone, as clap sees it.
    #[derive(clap::Parser)]
    struct Bench {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn help_names_every_scenario() {
        let help = Bench::command().render_long_help().to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        let listed = format!("({})", names.join(", "));
        assert!(help.contains(&listed), "{listed} in {help}");
    }
}
