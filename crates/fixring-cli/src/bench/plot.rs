//! A percentile-distribution plot of several scenarios as a self-contained SVG.
//!
//! The x axis is in "nines": 0 at 0 %, 1 at 90 %, 2 at 99 %, … 5 at 99.999 %, i.e.
//! −log10(1 − percentile); the y axis is latency in microseconds on a log scale, so that
//! the body (microseconds) and the tail (often milliseconds on a shared machine) both show.

use std::fmt::Write;

use hdrhistogram::Histogram;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
/// The x axis ends at 99.999 %.
const NINES: f64 = 5.0;
const COLOURS: [&str; 6] = [
    "#444444", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
];

/// The plot of `series` (a name and latencies in nanoseconds each) titled `title`.
pub(crate) fn percentile_plot(title: &str, series: &[(&str, &Histogram<u64>)]) -> String {
    let top_us = series
        .iter()
        .map(|(_, h)| h.max() as f64 / 1000.0)
        .fold(0.0f64, f64::max);
    let bottom_us = series
        .iter()
        .map(|(_, h)| h.min() as f64 / 1000.0)
        .fold(f64::INFINITY, f64::min);
    // Decades: from the power of ten at or below the fastest to the one at or above the slowest.
    let low = decade_floor(bottom_us);
    let high = decade_ceiling(top_us).max(low + 1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |nines: f64| LEFT + nines.min(NINES) / NINES * plot_w;
    let span = f64::from(high - low);
    let y = |us: f64| {
        let decades = us.max(1e-3).log10().clamp(f64::from(low), f64::from(high));
        TOP + plot_h - (decades - f64::from(low)) / span * plot_h
    };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        svg,
        "<text x=\"10\" y=\"24\" font-size=\"12\">{}</text>",
        escape(title)
    );
    for (n, label) in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
        .iter()
        .enumerate()
    {
        let gx = x(n as f64);
        let _ = writeln!(
            svg,
            "<line x1=\"{gx:.1}\" y1=\"{TOP}\" x2=\"{gx:.1}\" y2=\"{:.1}\" stroke=\"#dddddd\"/>\
             <text x=\"{gx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    for decade in low..=high {
        let us = 10f64.powi(decade);
        let gy = y(us);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{gy:.1}\" x2=\"{:.1}\" y2=\"{gy:.1}\" stroke=\"#dddddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            gy + 4.0,
            trim(us)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">percentile</text>\
         <text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\">\
         latency (µs)</text>",
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0,
        TOP + plot_h / 2.0
    );
    for (n, (name, histogram)) in series.iter().enumerate() {
        let colour = COLOURS.get(n % COLOURS.len()).copied().unwrap_or("black");
        let mut points = String::new();
        for step in histogram.iter_quantiles(10) {
            let q = step.quantile_iterated_to();
            let nines = if q >= 1.0 { NINES } else { -(1.0 - q).log10() };
            let us = step.value_iterated_to() as f64 / 1000.0;
            let _ = write!(points, "{:.1},{:.1} ", x(nines), y(us));
        }
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            points.trim_end()
        );
        let ly = TOP + 10.0 + 20.0 * n as f64;
        let lx = LEFT + plot_w + 15.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\" \
             stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The exponent of the power of ten at or below `us` (for 0.001 µs and more).
fn decade_floor(us: f64) -> i32 {
    if us.is_finite() && us > 0.0 {
        us.max(1e-3).log10().floor() as i32
    } else {
        0
    }
}

/// The exponent of the power of ten at or above `us` (up to an hour).
fn decade_ceiling(us: f64) -> i32 {
    if us.is_finite() && us > 0.0 {
        us.min(3.6e9).log10().ceil() as i32
    } else {
        1
    }
}

fn trim(value: f64) -> String {
    if value >= 1.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_series_with_a_legend() {
        let mut a = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        let mut b = a.clone();
        for v in 1..=100u64 {
            a.record(v * 100).unwrap();
            b.record(v * 300).unwrap();
        }
        let svg = percentile_plot("round <trip>", &[("baseline", &a), ("uring", &b)]);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">baseline</text>") && svg.contains(">uring</text>"));
        assert!(svg.contains("round &lt;trip&gt;"));
        assert!(svg.contains(">99.999%</text>"));
        assert!(svg.contains(">10</text>") && svg.contains(">100</text>"));
        assert_eq!((decade_floor(7.2), decade_ceiling(7.2)), (0, 1));
        assert_eq!((decade_floor(0.05), decade_ceiling(12_000.0)), (-2, 5));
    }
}
