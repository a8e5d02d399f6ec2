//! Percentiles of latency samples.

use std::time::Duration;

/// Latencies, in microseconds.
#[derive(Default)]
pub struct Samples(Vec<u64>);

impl Samples {
    pub fn add(&mut self, latency: Duration) {
        self.0.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// "p50 1.2 ms, p99 3.4 ms, max 9.9 ms (n)".
    pub fn summary(&mut self) -> String {
        if self.0.is_empty() {
            return "no samples".to_owned();
        }
        self.0.sort_unstable();
        let at = |q: f64| self.0[((self.0.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
            at(0.5),
            at(0.99),
            at(1.0),
            self.0.len()
        )
    }
}
