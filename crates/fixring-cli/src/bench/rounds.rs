//! `--rounds K`: every scenario run K times in short interleaved rounds, so that drift of a
//! noisy machine lands on all of them alike instead of on whichever ran during it.
//!
//! Round `r` runs the scenarios forward when `r` is even and backward when it is odd (ABBA:
//! each scenario is as often early as late). The figures reported are those of all rounds
//! added up; the comparisons are per round — a scenario against the baseline of the same round,
//! io_uring against epoll of the same round, a scenario with a data dictionary against the same
//! without — summed up as the median ratio, its range, and the rounds the first won. The same
//! rounds run single-session scenarios ([`Measured`]) and `--sessions` ones
//! ([`SessionsMeasured`]), which compare throughput, CPU and system calls besides latency.

use hdrhistogram::Histogram;

use super::sessions::SessionsMeasured;
use super::{BenchError, Measured, Options, Scenario, ScenarioKind};
use fixring_core::config::Transport;

/// The results of a run in rounds.
#[derive(Debug)]
pub(crate) struct RoundsMeasured<T> {
    /// Each scenario over all rounds, in the order of the scenarios.
    pub merged: Vec<T>,
    /// The per-round ratios.
    pub ratios: Vec<Ratio>,
    /// How many rounds ran.
    pub rounds: u32,
}

/// A figure compared between two scenarios of a round, and which way of it is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Round trips per second: higher is better.
    MsgsPerS,
    /// Loop CPU time per round trip: lower is better.
    CpuUsPerMsg,
    /// System calls per round trip: lower is better.
    SyscallsPerMsg,
    /// The median latency: lower is better.
    P50,
    /// The 99th percentile latency: lower is better.
    P99,
}

impl Measure {
    /// The JSON key stem, as in the scenarios' own members (`msgs_per_s`, `p50`).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::MsgsPerS => "msgs_per_s",
            Self::CpuUsPerMsg => "cpu_us_per_msg",
            Self::SyscallsPerMsg => "syscalls_per_msg",
            Self::P50 => "p50",
            Self::P99 => "p99",
        }
    }

    /// The column label, as in the tables (`msgs/s`, `p50`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::MsgsPerS => "msgs/s",
            Self::CpuUsPerMsg => "cpu us/msg",
            Self::SyscallsPerMsg => "syscalls/msg",
            Self::P50 => "p50",
            Self::P99 => "p99",
        }
    }

    /// Whether a ratio above 1 wins (throughput) rather than one below 1 (costs, latencies).
    pub(crate) fn higher_wins(self) -> bool {
        self == Self::MsgsPerS
    }

    /// The percentile of `histogram` this measure is, if it is one, in nanoseconds.
    fn of_histogram(self, histogram: &Histogram<u64>) -> Option<f64> {
        let quantile = match self {
            Self::P50 => 0.5,
            Self::P99 => 0.99,
            Self::MsgsPerS | Self::CpuUsPerMsg | Self::SyscallsPerMsg => return None,
        };
        Some(histogram.value_at_quantile(quantile) as f64)
    }
}

/// One comparison over the rounds: `over`'s figure divided by `under`'s, per round.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ratio {
    /// The scenario compared.
    pub over: &'static str,
    /// The scenario it is compared with.
    pub under: &'static str,
    /// The figure compared.
    pub measure: Measure,
    /// The ratio of each round, in the order of the rounds.
    pub values: Vec<f64>,
}

impl Ratio {
    /// The median of the rounds' ratios (the mean of the middle two for an even count).
    pub(crate) fn median(&self) -> f64 {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    /// The smallest ratio of a round.
    pub(crate) fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::NAN, f64::min)
    }

    /// The largest ratio of a round.
    pub(crate) fn max(&self) -> f64 {
        self.values.iter().copied().fold(f64::NAN, f64::max)
    }

    /// Rounds in which `over` did better than `under`: a ratio above 1 where higher is
    /// better ([`Measure::higher_wins`]), below 1 otherwise.
    pub(crate) fn wins(&self) -> usize {
        let won = |r: f64| {
            if self.measure.higher_wins() {
                r > 1.0
            } else {
                r < 1.0
            }
        };
        self.values.iter().filter(|&&r| won(r)).count()
    }

    /// The JSON key stem, e.g. `uring_over_epoll_p50`, `uring_over_epoll_msgs_per_s`.
    pub(crate) fn key(&self) -> String {
        format!(
            "{}_over_{}_{}",
            self.over.replace('-', "_"),
            self.under.replace('-', "_"),
            self.measure.key()
        )
    }
}

/// What one scenario measured in one round, as far as rounds are concerned: the figures
/// compared round by round, and how two rounds of a scenario add up.
pub(crate) trait RoundResult {
    /// The figures compared between the scenarios of a round, in the order reported.
    const COMPARED: &'static [Measure];

    /// This result's `measure`, when it has one.
    fn value(&self, measure: Measure) -> Option<f64>;

    /// Adds `other`, the same scenario in another round, to this result.
    fn add(&mut self, other: &Self) -> Result<(), BenchError>;
}

/// Adds the latencies of `other` to `histogram`.
fn add_histogram(histogram: &mut Histogram<u64>, other: &Histogram<u64>) -> Result<(), BenchError> {
    histogram
        .add(other)
        .map_err(|e| BenchError::Protocol(format!("merging rounds: {e}")))
}

impl RoundResult for Measured {
    const COMPARED: &'static [Measure] = &[Measure::P50, Measure::P99];

    fn value(&self, measure: Measure) -> Option<f64> {
        measure.of_histogram(&self.histogram)
    }

    fn add(&mut self, other: &Self) -> Result<(), BenchError> {
        add_histogram(&mut self.histogram, &other.histogram)?;
        self.elapsed += other.elapsed;
        Ok(())
    }
}

impl RoundResult for SessionsMeasured {
    const COMPARED: &'static [Measure] = &[
        Measure::MsgsPerS,
        Measure::CpuUsPerMsg,
        Measure::SyscallsPerMsg,
        Measure::P50,
        Measure::P99,
    ];

    fn value(&self, measure: Measure) -> Option<f64> {
        match measure {
            Measure::MsgsPerS => Some(self.msgs_per_s()),
            Measure::CpuUsPerMsg => self.cpu_us_per_msg(),
            Measure::SyscallsPerMsg => Some(self.syscalls_per_msg()),
            Measure::P50 | Measure::P99 => measure.of_histogram(&self.histogram),
        }
    }

    /// Round trips, windows, CPU time (unknown if either is) and system calls add up, so the
    /// rates of the sum are over all rounds.
    fn add(&mut self, other: &Self) -> Result<(), BenchError> {
        add_histogram(&mut self.histogram, &other.histogram)?;
        self.round_trips += other.round_trips;
        self.window += other.window;
        self.cpu = self.cpu.zip(other.cpu).map(|(a, b)| a + b);
        self.system_calls += other.system_calls;
        Ok(())
    }
}

/// The scenarios of round `round`, forward or backward.
pub(crate) fn round_order(scenarios: &[Scenario], round: u32) -> Vec<Scenario> {
    let mut order = scenarios.to_vec();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// Measures one scenario with the options of a round, reporting `(done, total)` as it goes.
pub(crate) type MeasureOne<'a, T> =
    dyn FnMut(Scenario, &Options, &mut dyn FnMut(u64, u64)) -> Result<T, BenchError> + 'a;

/// Runs `rounds` rounds of `scenarios` with `measure`, each measuring its share of
/// `options.orders` (and of the warm-up), at least one round trip;
/// `progress(name, round, done, total)` as it goes.
pub(crate) fn run<T: RoundResult>(
    scenarios: &[Scenario],
    options: &Options,
    rounds: u32,
    measure: &mut MeasureOne<'_, T>,
    progress: &mut dyn FnMut(&'static str, u32, u64, u64),
) -> Result<RoundsMeasured<T>, BenchError> {
    let rounds = rounds.max(1);
    let mut round_options = options.clone();
    round_options.orders = options.orders.div_ceil(u64::from(rounds)).max(1);
    round_options.warmup = options.warmup.div_ceil(u64::from(rounds));
    // by_round[r][s]: scenario s (in the order of `scenarios`) in round r.
    let mut by_round: Vec<Vec<T>> = Vec::with_capacity(rounds as usize);
    for round in 0..rounds {
        let mut results: Vec<Option<T>> = scenarios.iter().map(|_| None).collect();
        for scenario in round_order(scenarios, round) {
            let mut show = |done, total| progress(scenario.name, round, done, total);
            let measured = measure(scenario, &round_options, &mut show)?;
            if let Some(at) = scenarios.iter().position(|s| *s == scenario) {
                results[at] = Some(measured);
            }
        }
        by_round.push(results.into_iter().flatten().collect());
    }
    let ratios = ratios(scenarios, &by_round);
    let merged = merge(by_round)?;
    Ok(RoundsMeasured {
        merged,
        ratios,
        rounds,
    })
}

/// Each scenario's rounds added together.
fn merge<T: RoundResult>(by_round: Vec<Vec<T>>) -> Result<Vec<T>, BenchError> {
    let mut rounds = by_round.into_iter();
    let mut merged = rounds.next().unwrap_or_default();
    for round in rounds {
        for (sum, m) in merged.iter_mut().zip(&round) {
            sum.add(m)?;
        }
    }
    Ok(merged)
}

/// The pairs compared: every scenario against the baseline, io_uring against epoll with and
/// without TLS, and each scenario with a data dictionary against the same without.
fn pairs(scenarios: &[Scenario]) -> Vec<(usize, usize)> {
    let find = |pred: &dyn Fn(&Scenario) -> bool| scenarios.iter().position(pred);
    let mut pairs = Vec::new();
    if let Some(base) = find(&|s| s.kind == ScenarioKind::Baseline) {
        for (at, s) in scenarios.iter().enumerate() {
            if s.kind != ScenarioKind::Baseline {
                pairs.push((at, base));
            }
        }
    }
    for tls in [false, true] {
        let engine = |transport| {
            find(&|s| s.kind == ScenarioKind::Engine(transport) && s.tls == tls && !s.dictionary)
        };
        if let (Some(uring), Some(epoll)) = (engine(Transport::Uring), engine(Transport::Epoll)) {
            pairs.push((uring, epoll));
        }
    }
    for (at, s) in scenarios.iter().enumerate() {
        if s.dictionary
            && let Some(none) = find(&|n| n.kind == s.kind && n.tls == s.tls && !n.dictionary)
        {
            pairs.push((at, none));
        }
    }
    pairs
}

/// The per-round ratios of every pair, one per figure of [`RoundResult::COMPARED`] in its
/// order; a round whose `under` figure is zero or unknown is left out of that ratio.
pub(crate) fn ratios<T: RoundResult>(scenarios: &[Scenario], by_round: &[Vec<T>]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for (over, under) in pairs(scenarios) {
        for &measure in T::COMPARED {
            let values = by_round
                .iter()
                .filter_map(|round| {
                    let a = round.get(over)?.value(measure)?;
                    let b = round.get(under)?.value(measure)?;
                    (b > 0.0).then(|| a / b)
                })
                .collect();
            out.push(Ratio {
                over: scenarios[over].name,
                under: scenarios[under].name,
                measure,
                values,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hdrhistogram::Histogram;

    use super::*;
    use crate::bench::SCENARIOS;

    fn measured(index: usize, value: u64) -> Measured {
        let mut histogram = Histogram::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        histogram.record_n(value, 10).unwrap();
        Measured {
            scenario: SCENARIOS[index],
            histogram,
            elapsed: Duration::from_millis(1),
        }
    }

    #[test]
    fn a_scenario_with_a_dictionary_is_compared_with_the_same_without() {
        let scenarios = [
            SCENARIOS[0],
            SCENARIOS[1],
            crate::bench::DICTIONARY_SCENARIOS[0],
        ];
        let mut uring = measured(1, 10);
        uring.scenario = scenarios[1];
        let mut validated = measured(1, 11);
        validated.scenario = scenarios[2];
        let by_round = vec![vec![measured(0, 5), uring, validated]];
        let ratios = ratios(&scenarios, &by_round);
        let keys: Vec<String> = ratios.iter().map(Ratio::key).collect();
        assert_eq!(
            keys,
            [
                "uring_over_baseline_p50",
                "uring_over_baseline_p99",
                "uring_dictionary_over_baseline_p50",
                "uring_dictionary_over_baseline_p99",
                "uring_dictionary_over_uring_p50",
                "uring_dictionary_over_uring_p99",
            ]
        );
        assert!((ratios[4].median() - 1.1).abs() < 1e-9, "{:?}", ratios[4]);
    }

    #[test]
    fn rounds_alternate_their_order() {
        let three = &SCENARIOS[..3];
        let names = |r| {
            round_order(three, r)
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(0), ["baseline", "uring", "epoll"]);
        assert_eq!(names(1), ["epoll", "uring", "baseline"]);
        assert_eq!(names(2), names(0));
    }

    #[test]
    fn ratios_are_per_round_with_median_spread_and_wins() {
        let three = &SCENARIOS[..3];
        // baseline, uring, epoll in µs, per round.
        let by_round: Vec<Vec<Measured>> = [(10, 12, 13), (20, 22, 21), (10, 11, 12)]
            .iter()
            .map(|&(b, u, e)| vec![measured(0, b), measured(1, u), measured(2, e)])
            .collect();
        let ratios = ratios(three, &by_round);
        let find = |key: &str| ratios.iter().find(|r| r.key() == key).unwrap();
        let u_e = find("uring_over_epoll_p50");
        assert_eq!(u_e.wins(), 2);
        assert!((u_e.median() - 12.0 / 13.0).abs() < 1e-9, "{u_e:?}");
        assert!((u_e.max() - 22.0 / 21.0).abs() < 1e-9);
        let u_b = find("uring_over_baseline_p99");
        assert!((u_b.median() - 1.1).abs() < 1e-9, "{u_b:?}");
        assert!((u_b.min() - 1.1).abs() < 1e-9);
        assert_eq!(u_b.wins(), 0);
        assert!(ratios.iter().any(|r| r.key() == "epoll_over_baseline_p50"));
        let merged = merge(by_round).unwrap();
        assert_eq!(merged[1].histogram.len(), 30);
        assert_eq!(merged[1].elapsed, Duration::from_millis(3));
    }

    #[test]
    fn throughput_wins_above_one_and_costs_below() {
        let ratio = |measure| Ratio {
            over: "uring",
            under: "epoll",
            measure,
            values: vec![1.2, 0.9, 1.1, 1.0],
        };
        assert_eq!(ratio(Measure::MsgsPerS).wins(), 2);
        for measure in [
            Measure::CpuUsPerMsg,
            Measure::SyscallsPerMsg,
            Measure::P50,
            Measure::P99,
        ] {
            assert_eq!(ratio(measure).wins(), 1, "{measure:?}");
        }
        assert_eq!(
            ratio(Measure::CpuUsPerMsg).key(),
            "uring_over_epoll_cpu_us_per_msg"
        );
    }

    /// A sessions run of `SCENARIOS[index]`: `round_trips` in `millis` ms, each taking
    /// `millis` µs, with `cpu_us` of loop CPU and `calls` system calls.
    fn sessions(
        index: usize,
        round_trips: u64,
        millis: u64,
        cpu_us: Option<u64>,
        calls: u64,
    ) -> SessionsMeasured {
        let mut histogram = Histogram::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        histogram.record_n(1_000 * millis, round_trips).unwrap();
        SessionsMeasured {
            scenario: SCENARIOS[index],
            histogram,
            round_trips,
            window: Duration::from_millis(millis),
            cpu: cpu_us.map(Duration::from_micros),
            system_calls: calls,
        }
    }

    #[test]
    fn sessions_rounds_add_up_and_compare_every_figure() {
        let two = &SCENARIOS[1..3];
        // uring, then epoll, per round: round trips, ms, CPU µs, system calls.
        let by_round = vec![
            vec![
                sessions(1, 100, 10, Some(300), 10),
                sessions(2, 100, 20, Some(600), 40),
            ],
            vec![
                sessions(1, 300, 20, Some(600), 60),
                sessions(2, 300, 10, Some(900), 30),
            ],
        ];
        let ratios = ratios(two, &by_round);
        let keys: Vec<String> = ratios.iter().map(Ratio::key).collect();
        assert_eq!(
            keys,
            [
                "uring_over_epoll_msgs_per_s",
                "uring_over_epoll_cpu_us_per_msg",
                "uring_over_epoll_syscalls_per_msg",
                "uring_over_epoll_p50",
                "uring_over_epoll_p99",
            ]
        );
        let close = |n: usize, expected: [f64; 2]| {
            let values = &ratios[n].values;
            assert_eq!(values.len(), 2, "{:?}", ratios[n]);
            for (value, expected) in values.iter().zip(expected) {
                assert!((value - expected).abs() < 1e-9, "{:?}", ratios[n]);
            }
        };
        // uring did twice the round trips a second in round 0, half in round 1.
        close(0, [2.0, 0.5]);
        assert_eq!(ratios[0].wins(), 1);
        close(1, [0.5, 2.0 / 3.0]);
        assert_eq!(ratios[1].wins(), 2);
        close(2, [0.25, 2.0]);
        assert_eq!(ratios[2].wins(), 1);
        assert_eq!(ratios[3].wins(), 1);
        let merged = merge(by_round).unwrap();
        let uring = &merged[0];
        assert_eq!(
            (uring.round_trips, uring.histogram.len(), uring.system_calls),
            (400, 400, 70)
        );
        assert_eq!(uring.window, Duration::from_millis(30));
        assert_eq!(uring.cpu, Some(Duration::from_micros(900)));
        assert!((uring.msgs_per_s() - 400.0 / 0.03).abs() < 1e-6);
        assert!((uring.cpu_us_per_msg().unwrap() - 2.25).abs() < 1e-9);
    }

    #[test]
    fn unknown_cpu_time_stays_unknown_over_the_rounds() {
        let by_round = vec![
            vec![sessions(2, 10, 1, Some(5), 1)],
            vec![sessions(2, 10, 1, None, 1)],
        ];
        let merged = merge(by_round).unwrap();
        assert_eq!(merged[0].cpu, None);
        assert_eq!(merged[0].cpu_us_per_msg(), None);
    }
}
