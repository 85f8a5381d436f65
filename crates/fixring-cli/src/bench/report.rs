//! What `fixring bench` prints: the machine, then a table of percentiles per scenario with
//! the overhead over the baseline, or the same as one JSON object.

use std::fmt::Write;

use fixring_core::UtcTimestamp;
use hdrhistogram::Histogram;

use super::rounds::Ratio;
use super::sessions::Searched;
use super::{ConnectMeasured, Measured};
use crate::json::write_quoted;

/// The percentiles reported, as column labels, JSON key stems and quantiles.
pub(crate) const PERCENTILES: [(&str, &str, f64); 5] = [
    ("p50", "p50", 0.5),
    ("p90", "p90", 0.9),
    ("p99", "p99", 0.99),
    ("p99.9", "p999", 0.999),
    ("p99.99", "p9999", 0.9999),
];

/// The machine a run happened on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// The kernel release.
    pub kernel: String,
    /// The CPU model name.
    pub cpu: String,
    /// When the run started, `YYYY-MM-DD HH:MM:SS UTC`.
    pub date: String,
}

impl Machine {
    /// This machine, now.
    pub(crate) fn detect() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            cores,
            kernel,
            cpu,
            date: date_text(UtcTimestamp::from_unix_millis(millis)),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
fn date_text(at: UtcTimestamp) -> String {
    let mut fix = [0u8; UtcTimestamp::FIX_LEN];
    at.write_fix(&mut fix);
    let s = String::from_utf8_lossy(&fix);
    match (s.get(0..4), s.get(4..6), s.get(6..8), s.get(9..17)) {
        (Some(y), Some(m), Some(d), Some(time)) => format!("{y}-{m}-{d} {time} UTC"),
        _ => s.into_owned(),
    }
}

/// Nanoseconds as microseconds with one decimal.
pub(crate) fn micros(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

/// The lines above every report: machine, date and the options of the run.
pub(crate) fn header(machine: &Machine, options: &str) -> String {
    format!(
        "fixring bench  {}\nmachine: {} cores, {}, Linux {}\noptions: {options}\n",
        machine.date, machine.cores, machine.cpu, machine.kernel
    )
}

/// `1.23x +4.5` (ratio and µs over the baseline), or `-` without a baseline value.
fn overhead(value: u64, base: Option<u64>) -> String {
    match base {
        Some(base) if base > 0 => {
            let ratio = value as f64 / base as f64;
            let diff = (value as f64 - base as f64) / 1000.0;
            format!("{ratio:.2}x {diff:+.1}")
        }
        _ => "-".to_owned(),
    }
}

/// The round-trip table, latencies in microseconds; overheads are against the `baseline`
/// row when there is one.
pub(crate) fn table(results: &[Measured]) -> String {
    let baseline = results.iter().find(|m| m.scenario.name == "baseline");
    let base = |q: f64| baseline.map(|b| b.histogram.value_at_quantile(q));
    let mut out = String::from("round trip NewOrderSingle -> ExecutionReport, microseconds\n");
    let width = results
        .iter()
        .map(|m| m.scenario.name.len())
        .fold(10, usize::max);
    let _ = write!(out, "{:<width$} {:>8} {:>9}", "scenario", "count", "rate/s");
    for (label, _, _) in PERCENTILES {
        let _ = write!(out, " {label:>8}");
    }
    let _ = writeln!(
        out,
        " {:>8}  {:>16}  {:>16}",
        "max", "p50 vs baseline", "p99 vs baseline"
    );
    for m in results {
        let h = &m.histogram;
        let _ = write!(
            out,
            "{:<width$} {:>8} {:>9.0}",
            m.scenario.name,
            h.len(),
            m.rate()
        );
        for (_, _, q) in PERCENTILES {
            let _ = write!(out, " {:>8}", micros(h.value_at_quantile(q)));
        }
        let (p50, p99) = if m.scenario.name == "baseline" {
            ("-".to_owned(), "-".to_owned())
        } else {
            (
                overhead(h.value_at_quantile(0.5), base(0.5)),
                overhead(h.value_at_quantile(0.99), base(0.99)),
            )
        };
        let _ = writeln!(out, " {:>8}  {p50:>16}  {p99:>16}", micros(h.max()));
    }
    out
}

/// The per-round comparisons of a run in rounds: one row per pair of scenarios, one column
/// per figure compared, each cell the median ratio, its range, and in how many rounds the
/// first scenario won; each column's heading says whether a ratio below or above 1 wins.
pub(crate) fn ratio_table(rounds: u32, ratios: &[Ratio]) -> String {
    let mut out = format!(
        "per-round ratios over {rounds} rounds: median [min-max], rounds won by the first\n"
    );
    let rows: Vec<&[Ratio]> = ratios
        .chunk_by(|a, b| (a.over, a.under) == (b.over, b.under))
        .collect();
    let name = |r: &Ratio| format!("{} / {}", r.over, r.under);
    let width = ratios.iter().map(|r| name(r).len()).fold(24, usize::max);
    let cell = |r: &Ratio| {
        format!(
            "{:.2} [{:.2}-{:.2}] {}/{}",
            r.median(),
            r.min(),
            r.max(),
            r.wins(),
            r.values.len()
        )
    };
    let headings: Vec<String> = rows.first().map_or_else(Vec::new, |row| {
        row.iter()
            .map(|r| {
                let wins = if r.measure.higher_wins() { ">1" } else { "<1" };
                format!("{} ({wins} wins)", r.measure.label())
            })
            .collect()
    });
    let widths: Vec<usize> = headings
        .iter()
        .enumerate()
        .map(|(column, heading)| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|r| cell(r).len())
                .fold(heading.len().max(20), usize::max)
        })
        .collect();
    let _ = write!(out, "{:<width$}", "comparison");
    for (heading, w) in headings.iter().zip(&widths) {
        let _ = write!(out, "  {heading:>w$}");
    }
    out.push('\n');
    for row in rows {
        let Some(first) = row.first() else { continue };
        let _ = write!(out, "{:<width$}", name(first));
        for (ratio, w) in row.iter().zip(&widths) {
            let _ = write!(out, "  {:>w$}", cell(ratio));
        }
        out.push('\n');
    }
    out
}

/// The `"rounds"` and `"ratios"` members of a run in rounds, each with a leading comma:
/// `KEY_median`, `KEY_min`, `KEY_max`, `KEY_wins` and `KEY_rounds` per comparison, e.g.
/// `uring_over_epoll_p50_median`.
pub(crate) fn ratios_json(rounds: u32, ratios: &[Ratio]) -> String {
    let mut out = format!(",\"rounds\":{rounds},\"ratios\":{{");
    for (n, ratio) in ratios.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let key = ratio.key();
        let _ = write!(
            out,
            "\"{key}_median\":{},\"{key}_min\":{},\"{key}_max\":{},\"{key}_wins\":{},\"{key}_rounds\":{}",
            json_number(ratio.median()),
            json_number(ratio.min()),
            json_number(ratio.max()),
            ratio.wins(),
            ratio.values.len()
        );
    }
    out.push('}');
    out
}

/// A number with four decimals, or `null` when it is not finite.
pub(crate) fn json_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.4}")
    } else {
        "null".to_owned()
    }
}

/// The table of a `--sessions` run: throughput, the loops' CPU time and system calls per
/// round trip, latency percentiles in microseconds, and the highest rate found with p99 under
/// 1 ms when searched.
pub(crate) fn sessions_table(results: &[Searched]) -> String {
    let mut out = String::from(
        "round trips of all sessions; CPU and system calls of every loop of both engines\n",
    );
    let _ = writeln!(
        out,
        "{:<10} {:>8} {:>9} {:>10} {:>12} {:>8} {:>8} {:>8} {:>8} {:>14}",
        "scenario",
        "count",
        "msgs/s",
        "cpu us/msg",
        "syscalls/msg",
        "p50",
        "p99",
        "p99.9",
        "max",
        "max rate p99<1ms"
    );
    for (m, found) in results {
        let h = &m.histogram;
        let cpu = m
            .cpu_us_per_msg()
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
        let found = match found {
            None => "-".to_owned(),
            Some(None) => "none".to_owned(),
            Some(Some(rate)) => format!("{rate:.0}"),
        };
        let _ = writeln!(
            out,
            "{:<10} {:>8} {:>9.0} {cpu:>10} {:>12.2} {:>8} {:>8} {:>8} {:>8} {found:>14}",
            m.scenario.name,
            h.len(),
            m.msgs_per_s(),
            m.syscalls_per_msg(),
            micros(h.value_at_quantile(0.5)),
            micros(h.value_at_quantile(0.99)),
            micros(h.value_at_quantile(0.999)),
            micros(h.max()),
        );
    }
    out
}

/// A `--sessions` run as one JSON object: per scenario `msgs_per_s`, `cpu_us_per_msg`
/// (`null` where the clocks could not be read), `syscalls_per_msg`, the percentiles in
/// nanoseconds, and `max_rate_p99_under_1ms` when searched (`null` when no rate passed); then
/// `extra` as in [`json`].
pub(crate) fn sessions_json(
    machine: &Machine,
    options: &str,
    results: &[Searched],
    extra: &str,
) -> String {
    scenarios_json(machine, options, results, extra, |out, (m, found)| {
        let _ = write!(
            out,
            ",\"tls\":{},\"count\":{},\"msgs_per_s\":{},\"cpu_us_per_msg\":{},\"syscalls_per_msg\":{}",
            m.scenario.tls,
            m.histogram.len(),
            json_number(m.msgs_per_s()),
            m.cpu_us_per_msg()
                .map_or_else(|| "null".to_owned(), json_number),
            json_number(m.syscalls_per_msg()),
        );
        quantiles_json(out, "", &m.histogram);
        if let Some(found) = found {
            let _ = write!(
                out,
                ",\"max_rate_p99_under_1ms\":{}",
                found.map_or_else(|| "null".to_owned(), json_number)
            );
        }
        m.scenario.name
    })
}

/// The connection set-up table: p50, p99 and max in microseconds.
pub(crate) fn connect_table(results: &[ConnectMeasured]) -> String {
    let mut out = String::from(
        "start = Engine::start of an initiator; connect = start returned -> logged on;\n\
         reconnect = logged out -> logged on again, minus ReconnectInterval (1 s); microseconds\n",
    );
    let _ = write!(out, "{:<10} {:>6}", "scenario", "count");
    for what in ["start", "connect", "reconnect"] {
        for stat in ["p50", "p99", "max"] {
            let _ = write!(out, " {:>13}", format!("{what} {stat}"));
        }
    }
    out.push('\n');
    for m in results {
        let _ = write!(out, "{:<10} {:>6}", m.scenario.name, m.connect.len());
        for h in [&m.start, &m.connect, &m.reconnect] {
            for q in [0.5, 0.99, 1.0] {
                let _ = write!(out, " {:>13}", micros(h.value_at_quantile(q)));
            }
        }
        out.push('\n');
    }
    out
}

fn machine_json(out: &mut String, machine: &Machine, options: &str) {
    let _ = write!(
        out,
        "{{\"machine\":{{\"cores\":{},\"kernel\":",
        machine.cores
    );
    write_quoted(out, &machine.kernel);
    out.push_str(",\"cpu\":");
    write_quoted(out, &machine.cpu);
    out.push_str(",\"date\":");
    write_quoted(out, &machine.date);
    out.push_str("},\"options\":");
    write_quoted(out, options);
}

fn quantiles_json(out: &mut String, prefix: &str, h: &Histogram<u64>) {
    for (_, key, q) in PERCENTILES {
        let _ = write!(out, ",\"{prefix}{key}_ns\":{}", h.value_at_quantile(q));
    }
    let _ = write!(out, ",\"{prefix}max_ns\":{}", h.max());
}

/// The round trips as one JSON object: `machine`, `options` and one entry per scenario with
/// `name`, `tls`, `count`, `rate` and the percentiles in nanoseconds, then `extra` (members
/// with a leading comma, such as [`ratios_json`]'s).
pub(crate) fn json(machine: &Machine, options: &str, results: &[Measured], extra: &str) -> String {
    scenarios_json(machine, options, results, extra, |out, m| {
        let _ = write!(
            out,
            ",\"tls\":{},\"count\":{},\"rate\":{:.1}",
            m.scenario.tls,
            m.histogram.len(),
            m.rate()
        );
        quantiles_json(out, "", &m.histogram);
        m.scenario.name
    })
}

/// The connection set-up times as one JSON object, like [`json`], with `start_…_ns`,
/// `connect_…_ns` and `reconnect_…_ns` percentiles per scenario.
pub(crate) fn connect_json(
    machine: &Machine,
    options: &str,
    results: &[ConnectMeasured],
) -> String {
    scenarios_json(machine, options, results, "", |out, m| {
        let _ = write!(
            out,
            ",\"tls\":{},\"count\":{}",
            m.scenario.tls,
            m.connect.len()
        );
        quantiles_json(out, "start_", &m.start);
        quantiles_json(out, "connect_", &m.connect);
        quantiles_json(out, "reconnect_", &m.reconnect);
        m.scenario.name
    })
}

/// `machine`, `options` and a `scenarios` array: one object per result, its `name` first,
/// then the fields `fields` writes (each with a leading comma); `fields` returns the name.
/// `extra` (members with a leading comma) follows the array.
fn scenarios_json<T>(
    machine: &Machine,
    options: &str,
    results: &[T],
    extra: &str,
    fields: impl Fn(&mut String, &T) -> &'static str,
) -> String {
    let mut out = String::new();
    machine_json(&mut out, machine, options);
    out.push_str(",\"scenarios\":[");
    let mut entry = String::new();
    for (n, result) in results.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        entry.clear();
        let name = fields(&mut entry, result);
        out.push_str("{\"name\":");
        write_quoted(&mut out, name);
        out.push_str(&entry);
        out.push('}');
    }
    out.push(']');
    out.push_str(extra);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::SCENARIOS;
    use crate::bench::rounds::Measure;

    fn measured(index: usize, values: &[u64]) -> Measured {
        let mut histogram = Histogram::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for v in values {
            histogram.record(*v).unwrap();
        }
        Measured {
            scenario: SCENARIOS[index],
            histogram,
            elapsed: Duration::from_secs(1),
        }
    }

    fn machine() -> Machine {
        Machine {
            cores: 2,
            kernel: "6.1.0".into(),
            cpu: "Test \"CPU\"".into(),
            date: "2026-11-26 00:00:00 UTC".into(),
        }
    }

    #[test]
    fn the_table_has_percentiles_and_overheads() {
        let results = [measured(0, &[10_000; 100]), measured(1, &[12_000; 100])];
        let table = table(&results);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        for column in [
            "count", "rate/s", "p50", "p90", "p99", "p99.9", "p99.99", "max",
        ] {
            assert!(lines[1].split_whitespace().any(|c| c == column), "{column}");
        }
        assert!(lines[2].starts_with("baseline"));
        assert!(lines[2].contains(" 10.0 "), "{}", lines[2]);
        assert!(lines[3].starts_with("uring"));
        assert!(lines[3].contains("1.20x +2.0"), "{}", lines[3]);
        assert!(lines[3].contains(" 100 "), "{}", lines[3]);
    }

    #[test]
    fn json_has_the_keys_and_escapes() {
        let json = json(
            &machine(),
            "--orders 1",
            &[measured(2, &[1_500, 2_500])],
            "",
        );
        assert!(json.starts_with(r#"{"machine":{"cores":2,"kernel":"6.1.0","cpu":"Test \"CPU\"""#));
        for key in [
            "\"name\":\"epoll\"",
            "\"tls\":false",
            "\"count\":2",
            "\"rate\":2.0",
            "\"p50_ns\":1500",
            "\"p90_ns\":",
            "\"p99_ns\":",
            "\"p999_ns\":",
            "\"p9999_ns\":",
            "\"max_ns\":2501",
        ] {
            assert!(json.contains(key), "{key} in {json}");
        }
        assert!(json.ends_with("}]}"));
    }

    #[test]
    fn ratios_read_as_a_table_and_as_json() {
        let ratios = [
            Ratio {
                over: "uring",
                under: "epoll",
                measure: Measure::P50,
                values: vec![0.9, 1.1, 0.95],
            },
            Ratio {
                over: "uring",
                under: "epoll",
                measure: Measure::P99,
                values: vec![1.0, 1.2, 0.8],
            },
        ];
        let table = ratio_table(3, &ratios);
        assert!(table.contains("over 3 rounds"), "{table}");
        let row = table
            .lines()
            .find(|l| l.starts_with("uring / epoll"))
            .unwrap();
        assert!(row.contains("0.95 [0.90-1.10] 2/3"), "{row}");
        assert!(row.contains("1.00 [0.80-1.20] 1/3"), "{row}");
        let json = ratios_json(3, &ratios);
        for key in [
            ",\"rounds\":3,\"ratios\":{",
            "\"uring_over_epoll_p50_median\":0.9500",
            "\"uring_over_epoll_p50_wins\":2",
            "\"uring_over_epoll_p99_max\":1.2000",
            "\"uring_over_epoll_p99_rounds\":3",
        ] {
            assert!(json.contains(key), "{key} in {json}");
        }
        assert_eq!(json_number(f64::NAN), "null");
    }

    #[test]
    fn the_ratio_table_says_which_way_wins() {
        let ratio = |over, under, measure| Ratio {
            over,
            under,
            measure,
            values: vec![1.2, 0.8],
        };
        let mut ratios = Vec::new();
        for (over, under) in [("uring", "epoll"), ("uring-tls", "epoll-tls")] {
            for measure in [Measure::MsgsPerS, Measure::CpuUsPerMsg, Measure::P99] {
                ratios.push(ratio(over, under, measure));
            }
        }
        let table = ratio_table(2, &ratios);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].contains("rounds won"), "{table}");
        for heading in ["msgs/s (>1 wins)", "cpu us/msg (<1 wins)", "p99 (<1 wins)"] {
            assert!(lines[1].contains(heading), "{heading} in {table}");
        }
        for (line, name) in lines[2..]
            .iter()
            .zip(["uring / epoll", "uring-tls / epoll-tls"])
        {
            assert!(line.starts_with(name), "{table}");
            assert_eq!(line.matches("1.00 [0.80-1.20] 1/2").count(), 3, "{table}");
        }
    }

    #[test]
    fn dates_and_micros_read_well() {
        assert_eq!(
            date_text(UtcTimestamp::from_unix_millis(1_764_115_200_000)),
            "2025-11-26 00:00:00 UTC"
        );
        assert_eq!(micros(12_345), "12.3");
        assert_eq!(overhead(15_000, Some(10_000)), "1.50x +5.0");
        assert_eq!(overhead(15_000, None), "-");
    }
}
