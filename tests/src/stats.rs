//! Percentiles of measured values, for the tests' and benchmarks' reports.

/// The nearest-rank `p`-th percentile (`p` in 0..=100) of `sorted` (in
/// ascending order): the smallest value with at least `p`% of the values at
/// or below it. `None` when there are no values.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let values: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&values, 50.0), Some(5));
        assert_eq!(percentile(&values, 95.0), Some(10));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&values, 100.0), Some(10));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
    }
}
