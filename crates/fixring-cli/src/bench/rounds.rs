//! `--rounds K`: every scenario run K times in short interleaved rounds, so that drift of a
//! noisy machine lands on all of them alike instead of on whichever ran during it.
//!
//! Round `r` runs the scenarios forward when `r` is even and backward when it is odd (ABBA:
//! each scenario is as often early as late). The percentiles are those of all rounds merged;
//! the comparisons are per round — a scenario against the baseline of the same round, io_uring
//! against epoll of the same round, a scenario with a data dictionary against the same without
//! — summed up as the median ratio, its range, and the rounds
//! in which the first was faster.

use super::{BenchError, Measured, Options, Scenario, ScenarioKind, run_scenario};
use fixring_core::config::Transport;

/// The results of a run in rounds.
#[derive(Debug)]
pub(crate) struct RoundsMeasured {
    /// Each scenario over all rounds, in the order of the scenarios.
    pub merged: Vec<Measured>,
    /// The per-round ratios.
    pub ratios: Vec<Ratio>,
    /// How many rounds ran.
    pub rounds: u32,
}

/// One comparison over the rounds: `over`'s percentile divided by `under`'s, per round.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ratio {
    /// The scenario compared.
    pub over: &'static str,
    /// The scenario it is compared with.
    pub under: &'static str,
    /// The percentile's label (`p50`, `p99`).
    pub percentile: &'static str,
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

    /// Rounds in which `over` was faster than `under` (a ratio below 1).
    pub(crate) fn wins(&self) -> usize {
        self.values.iter().filter(|&&r| r < 1.0).count()
    }

    /// The JSON key stem, e.g. `uring_over_epoll_p50`.
    pub(crate) fn key(&self) -> String {
        format!(
            "{}_over_{}_{}",
            self.over.replace('-', "_"),
            self.under.replace('-', "_"),
            self.percentile.replace('.', "")
        )
    }
}

/// The percentiles compared round by round.
const COMPARED: [(&str, f64); 2] = [("p50", 0.5), ("p99", 0.99)];

/// The scenarios of round `round`, forward or backward.
pub(crate) fn round_order(scenarios: &[Scenario], round: u32) -> Vec<Scenario> {
    let mut order = scenarios.to_vec();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// Runs `rounds` rounds of `scenarios`, each measuring its share of `options.orders` (and of
/// the warm-up), at least one round trip; `progress(name, round, done, total)` as it goes.
pub(crate) fn run(
    scenarios: &[Scenario],
    options: &Options,
    rounds: u32,
    progress: &mut dyn FnMut(&'static str, u32, u64, u64),
) -> Result<RoundsMeasured, BenchError> {
    let rounds = rounds.max(1);
    let mut round_options = options.clone();
    round_options.orders = options.orders.div_ceil(u64::from(rounds)).max(1);
    round_options.warmup = options.warmup.div_ceil(u64::from(rounds));
    // by_round[r][s]: scenario s (in the order of `scenarios`) in round r.
    let mut by_round: Vec<Vec<Measured>> = Vec::with_capacity(rounds as usize);
    for round in 0..rounds {
        let mut results: Vec<Option<Measured>> = vec![None; scenarios.len()];
        for scenario in round_order(scenarios, round) {
            let mut show = |done, total| progress(scenario.name, round, done, total);
            let measured = run_scenario(scenario, &round_options, &mut show)?;
            if let Some(at) = scenarios.iter().position(|s| *s == scenario) {
                results[at] = Some(measured);
            }
        }
        by_round.push(results.into_iter().flatten().collect());
    }
    let ratios = ratios(scenarios, &by_round);
    let merged = merge(scenarios, &by_round)?;
    Ok(RoundsMeasured {
        merged,
        ratios,
        rounds,
    })
}

/// Each scenario's rounds added together.
fn merge(scenarios: &[Scenario], by_round: &[Vec<Measured>]) -> Result<Vec<Measured>, BenchError> {
    let mut merged = Vec::with_capacity(scenarios.len());
    for (at, scenario) in scenarios.iter().enumerate() {
        let mut histogram = super::new_histogram()?;
        let mut elapsed = std::time::Duration::ZERO;
        for round in by_round {
            if let Some(m) = round.get(at) {
                histogram
                    .add(&m.histogram)
                    .map_err(|e| BenchError::Protocol(format!("merging rounds: {e}")))?;
                elapsed += m.elapsed;
            }
        }
        merged.push(Measured {
            scenario: *scenario,
            histogram,
            elapsed,
        });
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

/// The per-round ratios of every pair, p50 then p99.
pub(crate) fn ratios(scenarios: &[Scenario], by_round: &[Vec<Measured>]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for (over, under) in pairs(scenarios) {
        for (percentile, q) in COMPARED {
            let values = by_round
                .iter()
                .filter_map(|round| {
                    let a = round.get(over)?.histogram.value_at_quantile(q);
                    let b = round.get(under)?.histogram.value_at_quantile(q);
                    (b > 0).then(|| a as f64 / b as f64)
                })
                .collect();
            out.push(Ratio {
                over: scenarios[over].name,
                under: scenarios[under].name,
                percentile,
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
        let merged = merge(three, &by_round).unwrap();
        assert_eq!(merged[1].histogram.len(), 30);
        assert_eq!(merged[1].elapsed, Duration::from_millis(3));
    }
}
