//! What the bench programs' reports share: latency distributions and a
//! description of the machine the figures were taken on.

use std::time::Duration;

use serde_json::{Value, json};

/// Nearest-rank percentiles and the maximum of latencies, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Dist {
    pub n: usize,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Dist {
    /// The distribution of `latencies`; `None` when there are none.
    pub fn of(latencies: impl IntoIterator<Item = Duration>) -> Option<Dist> {
        let mut ms: Vec<f64> = latencies.into_iter().map(|it| it.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| hearth_tests::stats::percentile(&ms, p);
        Some(Dist { n: ms.len(), p50: rank(50.0)?, p95: rank(95.0)?, max: *ms.last()? })
    }

    /// One line for a report: the count right-aligned in `count_width`
    /// columns, then p50, p95 and the maximum with `decimals` digits after
    /// the point (`n 0` when there were no latencies).
    pub fn text(dist: Option<Dist>, count_width: usize, decimals: usize) -> String {
        match dist {
            Some(it) => format!(
                "n {:>count_width$}  p50 {:>6.decimals$} ms  p95 {:>6.decimals$} ms  max {:>6.decimals$} ms",
                it.n, it.p50, it.p95, it.max
            ),
            None => format!("n {:>count_width$}", 0),
        }
    }

    /// The distribution as JSON (`n`, `p50Ms`, `p95Ms`, `maxMs`).
    pub fn json(dist: Option<Dist>) -> Value {
        match dist {
            Some(it) => json!({ "n": it.n, "p50Ms": it.p50, "p95Ms": it.p95, "maxMs": it.max }),
            None => json!({ "n": 0 }),
        }
    }
}

/// The CPU model from `/proc/cpuinfo`, where there is one.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// How many CPUs the OS lets this process use.
pub fn logical_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |it| it.get())
}

/// The 1, 5 and 15 minute load averages, to tell a quiet machine's figures
/// from a busy one's.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|it| it.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_is_nearest_rank_and_text_keeps_the_benches_formats() {
        let dist = Dist::of((1..=20).map(Duration::from_millis)).unwrap();
        assert_eq!((dist.n, dist.p50, dist.p95, dist.max), (20, 10.0, 19.0, 20.0));
        assert_eq!(
            Dist::text(Some(dist), 3, 1),
            "n  20  p50   10.0 ms  p95   19.0 ms  max   20.0 ms"
        );
        assert_eq!(
            Dist::text(Some(dist), 4, 0),
            "n   20  p50     10 ms  p95     19 ms  max     20 ms"
        );
        assert_eq!(Dist::text(None, 3, 1), "n   0");
        assert_eq!(Dist::text(None, 4, 0), "n    0");
        assert!(Dist::of([]).is_none());
    }
}
