//! `--max-rate`: the highest open-loop rate of a `--sessions` run at which p99 stays under a
//! limit, found by a few short probes.

use std::time::Duration;

use fixring_core::config::Transport;

use super::sessions::{Load, run};
use super::{BenchError, Options, Scenario, nanos};

/// A bounded search for the highest rate whose p99 stays under a limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Search {
    /// The rate no probe goes above (the closed-loop throughput).
    pub ceiling: f64,
    /// The p99 a probe must stay under.
    pub limit: Duration,
    /// Open-loop runs at most.
    pub probes: u32,
}

/// About how long one probe of the rate search runs, at most `--orders` round trips.
const PROBE: Duration = Duration::from_secs(1);

/// The round trips one probe at `rate` measures: about a [`PROBE`]'s worth, at least 200,
/// at most `orders`.
fn probe_orders(rate: f64, orders: u64) -> u64 {
    let worth = (rate * PROBE.as_secs_f64()) as u64;
    worth.max(200).min(orders.max(1))
}

/// The lowest rate tried, as a fraction of the ceiling.
const LOWEST: f64 = 1.0 / 128.0;

/// The highest rate, among a few short open-loop runs, at which p99 stayed under the limit:
/// from half the ceiling down by quarters until one passes (not below [`LOWEST`] of it), then
/// a bisection (on a log scale) between the best pass and the lowest failure above it. `None`
/// when every probe failed.
pub(crate) fn max_rate(
    scenario: Scenario,
    transport: Transport,
    options: &Options,
    load: Load,
    search: Search,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<f64>, BenchError> {
    let mut bad = search.ceiling.max(1.0);
    let mut good = None::<f64>;
    let mut rate = bad / 2.0;
    for _ in 0..search.probes {
        let mut probe = options.clone();
        probe.rate = Some(rate);
        probe.orders = probe_orders(rate, options.orders);
        probe.warmup = probe.orders / 10;
        let measured = run(scenario, transport, &probe, load, progress)?;
        if measured.histogram.value_at_quantile(0.99) < nanos(search.limit) {
            good = Some(rate);
        } else {
            bad = rate;
        }
        rate = match good {
            Some(good) if bad / good < 1.1 => break,
            Some(good) => (good * bad).sqrt(),
            None if rate / 4.0 < search.ceiling * LOWEST => break,
            None => rate / 4.0,
        };
    }
    Ok(good)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_short() {
        assert_eq!(probe_orders(50_000.0, 100_000), 50_000);
        assert_eq!(probe_orders(10.0, 100_000), 200);
        assert_eq!(probe_orders(10.0, 150), 150);
    }
}
