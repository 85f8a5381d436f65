//! `fixring bench` end to end: the built binary with small counts.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, PoisonError};

/// Runs share two cores: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const SMALL: [&str; 4] = ["--orders", "2000", "--warmup", "200"];

fn bench(args: &[&str]) -> Output {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    Command::new(env!("CARGO_BIN_EXE_fixring"))
        .arg("bench")
        .args(args)
        .output()
        .expect("the fixring binary runs")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The scenarios a run should list: uring only where io_uring works.
fn expected(output: &Output) -> Vec<&'static str> {
    let skipped = String::from_utf8_lossy(&output.stderr).contains("skipping uring");
    let mut names = vec!["baseline", "uring", "epoll", "uring-tls", "epoll-tls"];
    if skipped {
        names.retain(|n| !n.starts_with("uring"));
    }
    names
}

#[test]
fn the_table_lists_every_scenario_with_its_percentiles() {
    let output = bench(&SMALL);
    let text = stdout_of(&output);
    assert!(text.contains("machine: ") && text.contains("options: orders=2000 warmup=200"));
    let header = text
        .lines()
        .find(|l| l.starts_with("scenario"))
        .expect("a column header");
    let columns: Vec<&str> = header.split_whitespace().collect();
    for column in [
        "count", "rate/s", "p50", "p90", "p99", "p99.9", "p99.99", "max",
    ] {
        assert!(columns.contains(&column), "{column} in {header}");
    }
    for name in expected(&output) {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.get(1), Some(&"2000"), "{row}");
        for cell in cells.iter().skip(2).take(7) {
            let value: f64 = cell.parse().unwrap_or_else(|_| panic!("{cell} in {row}"));
            assert!(value > 0.0, "{row}");
        }
        if name != "baseline" {
            assert!(row.contains('x'), "overhead ratio in {row}");
        }
    }
}

#[test]
fn json_is_one_object_with_the_keys() {
    let output = bench(&[&SMALL[..], &["--json"]].concat());
    let text = stdout_of(&output);
    let json = text.trim();
    json::check(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(json.starts_with("{\"machine\":{\"cores\":"), "{json}");
    for key in ["\"kernel\":", "\"cpu\":", "\"date\":", "\"scenarios\":["] {
        assert!(json.contains(key), "{key}");
    }
    for name in expected(&output) {
        let entry = entry(json, name);
        let tls = format!("\"tls\":{}", name.ends_with("-tls"));
        assert!(entry.contains(&tls), "{tls} in {entry}");
        for key in [
            "\"count\":2000",
            "\"rate\":",
            "\"p50_ns\":",
            "\"p90_ns\":",
            "\"p99_ns\":",
            "\"p999_ns\":",
            "\"p9999_ns\":",
            "\"max_ns\":",
        ] {
            assert!(entry.contains(key), "{key} in {entry}");
        }
    }
}

#[test]
fn out_writes_one_hgrm_per_scenario_and_a_plot() {
    let dir = std::env::temp_dir().join(format!("fixring-bench-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = bench(&[&SMALL[..], &["--out", dir.to_str().unwrap()]].concat());
    stdout_of(&output);
    let names = expected(&output);
    for name in &names {
        let path: PathBuf = dir.join(format!("{name}.hgrm"));
        let hgrm = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let head: Vec<&str> = hgrm.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(
            head,
            ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
        );
        assert!(hgrm.contains("Total count    =         2000"), "{hgrm}");
    }
    let svg = std::fs::read_to_string(dir.join("latency.svg")).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), names.len());
    // The files written are listed at the end, one line each.
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in names
        .iter()
        .map(|n| format!("{n}.hgrm"))
        .chain(["latency.svg".into()])
    {
        let line = format!("fixring bench: wrote {}", dir.join(&name).display());
        assert!(stderr.lines().any(|l| l == line), "{line} in {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_out_directory_that_cannot_be_written_fails_before_the_run() {
    // A regular file where the directory should be: nothing can be created under it.
    let file = std::env::temp_dir().join(format!("fixring-bench-file-{}", std::process::id()));
    std::fs::write(&file, "not a directory").unwrap();
    let out = file.join("results");
    let began = std::time::Instant::now();
    // Enough orders that a run would take far longer than a refusal.
    let output = bench(&["--orders", "10000000", "--out", out.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--out"), "{stderr}");
    assert!(!stderr.contains("round trips"), "measured first: {stderr}");
    assert!(began.elapsed() < std::time::Duration::from_secs(10));
    assert!(output.stdout.is_empty());
}

#[test]
fn zero_orders_is_a_usage_error() {
    let output = bench(&["--orders", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--orders"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn progress_is_not_written_to_a_log() {
    // stderr is a pipe here, not a terminal.
    let output = bench(&[&SMALL[..], &["--scenarios", "baseline"]].concat());
    stdout_of(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "{stderr:?}"
    );
    assert!(!stderr.contains("round trips"), "{stderr:?}");
}

#[test]
fn help_names_every_scenario() {
    let output = bench(&["--help"]);
    let help = stdout_of(&output);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("(baseline, uring, epoll, uring-tls, epoll-tls)"),
        "{help}"
    );
}

#[test]
fn an_open_loop_run_at_a_fixed_rate() {
    let output = bench(&[&SMALL[..], &["--rate", "2000"]].concat());
    let text = stdout_of(&output);
    assert!(text.contains("open loop at 2000 orders/s"), "{text}");
    for name in expected(&output) {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.get(1), Some(&"2000"), "{row}");
        let rate: f64 = cells[2].parse().unwrap();
        assert!((1500.0..2500.0).contains(&rate), "{row}");
    }
}

#[test]
fn rounds_report_per_round_ratios() {
    let args = [
        "--orders",
        "400",
        "--warmup",
        "40",
        "--rounds",
        "2",
        "--scenarios",
        "baseline,uring,epoll",
    ];
    let output = bench(&[&args[..], &["--json"]].concat());
    let text = stdout_of(&output);
    let json = text.trim();
    json::check(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(json.contains("\"rounds\":2,\"ratios\":{"), "{json}");
    let mut keys = vec![
        "epoll_over_baseline_p50_median",
        "epoll_over_baseline_p99_wins",
    ];
    if !String::from_utf8_lossy(&output.stderr).contains("skipping uring") {
        keys.extend([
            "uring_over_epoll_p50_median",
            "uring_over_baseline_p50_median",
        ]);
    }
    for key in keys {
        let value = number(json, key).unwrap_or_else(|| panic!("{key} in {json}"));
        assert!(value >= 0.0, "{key}: {value}");
    }
    // Both rounds' round trips are in the percentiles: 2 x 200.
    assert!(
        json.contains("\"name\":\"epoll\",\"tls\":false,\"count\":400"),
        "{json}"
    );
}

/// The number after `"key":` in `json`.
fn number(json: &str, key: &str) -> Option<f64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let value = &json[at..];
    value[..value.find([',', '}'])?].parse().ok()
}

/// Scenario `name`'s object in the `scenarios` array of `json`, up to its closing brace.
fn entry<'a>(json: &'a str, name: &str) -> &'a str {
    let at = json
        .find(&format!("{{\"name\":\"{name}\""))
        .unwrap_or_else(|| panic!("{name} in {json}"));
    &json[at..at + json[at..].find('}').unwrap() + 1]
}

/// The engine scenarios `uring` and `epoll` a `--sessions` run should list: uring only where
/// io_uring works.
fn sessions_expected(output: &Output) -> Vec<&'static str> {
    let mut names = vec!["uring", "epoll"];
    if String::from_utf8_lossy(&output.stderr).contains("skipping uring") {
        names.remove(0);
    }
    names
}

#[test]
fn many_sessions_report_throughput_cpu_and_system_calls() {
    let args = [
        "--orders",
        "600",
        "--warmup",
        "60",
        "--sessions",
        "4",
        "--inflight",
        "2",
        "--scenarios",
        "uring,epoll",
        "--max-rate",
        "1",
        "--json",
    ];
    let output = bench(&args);
    let text = stdout_of(&output);
    let json = text.trim();
    json::check(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(json.contains("sessions=4 inflight=2"), "{json}");
    for name in sessions_expected(&output) {
        let entry = entry(json, name);
        assert!(entry.contains("\"count\":600"), "{entry}");
        for key in ["msgs_per_s", "cpu_us_per_msg", "syscalls_per_msg", "p99_ns"] {
            let value = number(entry, key).unwrap_or_else(|| panic!("{key} in {entry}"));
            assert!(value > 0.0, "{key} in {entry}");
        }
        assert!(entry.contains("\"max_rate_p99_under_1ms\":"), "{entry}");
    }
}

#[test]
fn sessions_in_rounds_add_up_and_compare_every_figure() {
    let args = [
        "--sessions",
        "4",
        "--rounds",
        "2",
        "--orders",
        "2000",
        "--warmup",
        "200",
        "--scenarios",
        "uring,epoll",
        "--json",
    ];
    let output = bench(&args);
    let text = stdout_of(&output);
    let json = text.trim();
    json::check(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(
        json.contains("rounds=2 (ABBA) sessions=4 inflight=1"),
        "{json}"
    );
    assert!(json.contains("\"rounds\":2,\"ratios\":{"), "{json}");
    let names = sessions_expected(&output);
    let uring = names.contains(&"uring");
    for name in names {
        let entry = entry(json, name);
        // Both rounds' round trips, 2 x 1000, are in the figures.
        assert!(entry.contains("\"count\":2000"), "{entry}");
        for key in [
            "msgs_per_s",
            "cpu_us_per_msg",
            "syscalls_per_msg",
            "p50_ns",
            "p99_ns",
        ] {
            let value = number(entry, key).unwrap_or_else(|| panic!("{key} in {entry}"));
            assert!(value.is_finite() && value > 0.0, "{key} in {entry}");
        }
    }
    if !uring {
        return;
    }
    for measure in [
        "cpu_us_per_msg",
        "msgs_per_s",
        "syscalls_per_msg",
        "p50",
        "p99",
    ] {
        let key = format!("uring_over_epoll_{measure}");
        let stat = |stat: &str| {
            let key = format!("{key}_{stat}");
            number(json, &key).unwrap_or_else(|| panic!("{key} in {json}"))
        };
        let (median, min, max) = (stat("median"), stat("min"), stat("max"));
        for value in [median, min, max] {
            assert!(value.is_finite() && value > 0.0, "{key}: {value} in {json}");
        }
        assert!(min <= median && median <= max, "{key} in {json}");
        assert!((0.0..=2.0).contains(&stat("wins")), "{key} in {json}");
        assert_eq!(stat("rounds"), 2.0, "{key} in {json}");
    }
}

#[test]
fn sessions_refuse_zero_rounds_and_max_rate_with_rounds() {
    for args in [
        &["--sessions", "2", "--rounds", "0"][..],
        &["--sessions", "2", "--rounds", "2", "--max-rate"],
    ] {
        let output = bench(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--rounds"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn connect_times_for_each_transport() {
    let output = bench(&["--connect", "2", "--json"]);
    let text = stdout_of(&output);
    let json = text.trim();
    json::check(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let mut names = expected(&output);
    names.retain(|n| *n != "baseline");
    for name in names {
        assert!(json.contains(&format!("{{\"name\":\"{name}\"")), "{json}");
    }
    for key in [
        "\"connect_p50_ns\":",
        "\"connect_max_ns\":",
        "\"reconnect_p99_ns\":",
    ] {
        assert!(json.contains(key), "{key} in {json}");
    }
}

#[test]
fn an_unknown_scenario_is_a_usage_error() {
    let output = bench(&["--scenarios", "baseline,warp"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown scenario \"warp\""));
}

/// QuickFIX's FIX.4.4 data dictionary, as the conformance suite has it.
const FIX44: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/dictionaries/FIX44.xml"
);

#[test]
fn a_data_dictionary_is_measured_beside_none_in_the_same_run() {
    let args = [
        "--orders",
        "400",
        "--warmup",
        "40",
        "--rounds",
        "2",
        "--scenarios",
        "baseline,epoll",
        "--data-dictionary",
        FIX44,
        "--json",
    ];
    let output = bench(&args);
    let text = stdout_of(&output);
    let json = text.trim();
    json::check(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(json.contains("data-dictionary="), "{json}");
    // Every order validated and answered: a rejected one fails the run.
    for name in ["epoll", "epoll-dictionary"] {
        let entry = format!("\"name\":\"{name}\",\"tls\":false,\"count\":400");
        assert!(json.contains(&entry), "{entry} in {json}");
    }
    for key in [
        "epoll_dictionary_over_epoll_p50_median",
        "epoll_dictionary_over_epoll_p99_median",
        "epoll_dictionary_over_baseline_p50_median",
    ] {
        let value = number(json, key).unwrap_or_else(|| panic!("{key} in {json}"));
        assert!(value > 0.0, "{key}: {value}");
    }
    assert_eq!(
        number(json, "epoll_dictionary_over_epoll_p50_rounds"),
        Some(2.0)
    );
}

#[test]
fn a_data_dictionary_of_another_version_is_a_usage_error() {
    let fix42 = FIX44.replace("FIX44.xml", "FIX42.xml");
    let output = bench(&["--data-dictionary", &fix42]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("describes FIX.4.2"), "{stderr}");
}

/// Just enough of a JSON reader to say whether a text is one well-formed value.
mod json {
    pub(crate) fn check(text: &str) -> Result<(), String> {
        let bytes = text.as_bytes();
        let end = value(bytes, skip(bytes, 0))?;
        if skip(bytes, end) == bytes.len() {
            Ok(())
        } else {
            Err(format!("trailing text at {end}"))
        }
    }

    fn skip(b: &[u8], mut at: usize) -> usize {
        while b.get(at).is_some_and(|c| c.is_ascii_whitespace()) {
            at += 1;
        }
        at
    }

    fn value(b: &[u8], at: usize) -> Result<usize, String> {
        match b.get(at) {
            Some(b'{') => sequence(b, at, b'}', true),
            Some(b'[') => sequence(b, at, b']', false),
            Some(b'"') => string(b, at),
            Some(b't') if b[at..].starts_with(b"true") => Ok(at + 4),
            Some(b'f') if b[at..].starts_with(b"false") => Ok(at + 5),
            Some(b'n') if b[at..].starts_with(b"null") => Ok(at + 4),
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let len = b[at..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || b"-+.eE".contains(c))
                    .count();
                std::str::from_utf8(&b[at..at + len])
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .map(|_| at + len)
                    .ok_or_else(|| format!("bad number at {at}"))
            }
            _ => Err(format!("no value at {at}")),
        }
    }

    fn string(b: &[u8], mut at: usize) -> Result<usize, String> {
        at += 1;
        loop {
            match b.get(at) {
                Some(b'"') => return Ok(at + 1),
                Some(b'\\') => at += 2,
                Some(c) if *c < 0x20 => return Err(format!("control byte in a string at {at}")),
                Some(_) => at += 1,
                None => return Err("unterminated string".to_owned()),
            }
        }
    }

    fn sequence(b: &[u8], at: usize, close: u8, object: bool) -> Result<usize, String> {
        let mut at = skip(b, at + 1);
        if b.get(at) == Some(&close) {
            return Ok(at + 1);
        }
        loop {
            if object {
                at = skip(b, string(b, at)?);
                if b.get(at) != Some(&b':') {
                    return Err(format!("expected ':' at {at}"));
                }
                at = skip(b, at + 1);
            }
            at = skip(b, value(b, at)?);
            match b.get(at) {
                Some(c) if *c == close => return Ok(at + 1),
                Some(b',') => at = skip(b, at + 1),
                _ => return Err(format!("expected ',' or the end at {at}")),
            }
        }
    }
}
