//! A session's latency, small enough to keep one per session on the loop: 256 counters on
//! a logarithmic scale, four to each doubling, so a percentile read from it is within a
//! quarter of its true value. The loop's own histograms keep the exact figures.

/// Counters of nanosecond values, four buckets to each power of two.
#[derive(Clone, Debug)]
pub(crate) struct LatencySketch {
    counts: [u32; BUCKETS],
    count: u64,
    max: u64,
}

/// 4 buckets for 0–3 ns, then 4 for each doubling from 4 ns up to `u64::MAX`.
const BUCKETS: usize = 4 + 62 * 4;

impl Default for LatencySketch {
    fn default() -> Self {
        Self {
            counts: [0; BUCKETS],
            count: 0,
            max: 0,
        }
    }
}

impl LatencySketch {
    /// Counts one value.
    pub(crate) fn record(&mut self, nanos: u64) {
        let bucket = &mut self.counts[bucket_of(nanos)];
        *bucket = bucket.saturating_add(1);
        self.count += 1;
        self.max = self.max.max(nanos);
    }

    /// How many values were counted.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The largest value counted, exactly.
    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0.0–1.0): the upper bound of the bucket it falls in, never
    /// above the largest value counted; 0 with nothing counted.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        // The rank of the value sought, 1-based: at least the first, at most the last.
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return upper_bound(index).min(self.max);
            }
        }
        self.max
    }
}

/// The bucket of `v`: itself below 4, else four to each doubling by the two bits after the
/// leading one.
fn bucket_of(v: u64) -> usize {
    if v < 4 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros() as usize;
    let sub = ((v >> (exp - 2)) & 0b11) as usize;
    4 + (exp - 2) * 4 + sub
}

/// The largest value of bucket `index`.
fn upper_bound(index: usize) -> u64 {
    if index < 4 {
        return index as u64;
    }
    let (exp, sub) = ((index - 4) / 4 + 2, (index - 4) % 4);
    // The first value of the next bucket, less one; the last bucket ends at `u64::MAX`.
    let next = (5 + sub as u64).checked_mul(1u64 << (exp - 2));
    next.map_or(u64::MAX, |n| n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_doublings_and_cover_every_value() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(3), 3);
        assert_eq!((bucket_of(4), bucket_of(5), bucket_of(7)), (4, 5, 7));
        assert_eq!(bucket_of(8), 8);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        for v in [4u64, 5, 9, 1_000, 12_345, 1 << 40, u64::MAX] {
            let b = bucket_of(v);
            assert!(v <= upper_bound(b), "{v} in bucket {b}");
            assert!(b == 0 || v > upper_bound(b - 1), "{v} in bucket {b}");
        }
    }

    #[test]
    fn percentiles_are_within_a_quarter() {
        let mut sketch = LatencySketch::default();
        for v in 1..=1_000u64 {
            sketch.record(v * 1_000);
        }
        assert_eq!(sketch.count(), 1_000);
        assert_eq!(sketch.max(), 1_000_000);
        for (q, exact) in [(0.5, 500_000.0), (0.99, 990_000.0)] {
            let got = sketch.quantile(q) as f64;
            assert!(got >= exact && got <= exact * 1.25, "q {q}: {got}");
        }
        assert_eq!(sketch.quantile(1.0), 1_000_000);
        assert_eq!(LatencySketch::default().quantile(0.5), 0);
    }
}
