//! The figures computed from a run: utilization, percentiles, speedups, lanes.

use crate::events::TestTiming;

/// Two tests that ran back to back in one slot may appear to overlap by the jitter of the
/// pipe that reports them (well under a millisecond on an idle machine, a few under load).
/// Overlaps shorter than this do not open a new lane.
pub const LANE_TOLERANCE_S: f64 = 0.010;

/// Σ test durations ÷ (`span_s` × `jobs`): the share of the slots' time spent running tests.
/// `None` when the span or `jobs` is zero.
pub fn utilization(tests: &[TestTiming], span_s: f64, jobs: u32) -> Option<f64> {
    if span_s <= 0.0 || jobs == 0 || !span_s.is_finite() {
        return None;
    }
    // A fold from +0.0: an empty `sum()` of floats is -0.0, which prints as "-0%".
    let busy = tests
        .iter()
        .map(TestTiming::duration_s)
        .fold(0.0, |a, b| a + b);
    Some(busy / (span_s * f64::from(jobs)))
}

/// The time from the first test's start to the last test's end.
pub fn test_span_s(tests: &[TestTiming]) -> f64 {
    let start = tests
        .iter()
        .map(|t| t.start_s)
        .fold(f64::INFINITY, f64::min);
    let end = tests
        .iter()
        .map(|t| t.end_s)
        .fold(f64::NEG_INFINITY, f64::max);
    if start.is_finite() && end.is_finite() {
        (end - start).max(0.0)
    } else {
        0.0
    }
}

/// The `p`-th percentile (0–100) of `values`, interpolating linearly between the closest ranks
/// (numpy's default); `None` for no values. NaNs are ignored.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

/// `reference ÷ this`: how many times faster `this` is than `reference`.
pub fn speedup(reference_s: f64, this_s: f64) -> Option<f64> {
    (reference_s > 0.0 && this_s > 0.0 && reference_s.is_finite() && this_s.is_finite())
        .then(|| reference_s / this_s)
}

/// The arithmetic mean, `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Assigns each test (in `tests` order) a lane: the lowest-numbered lane free at its start,
/// which is how nextest hands out its slots, so with exact times the lanes are the slots.
/// At most `max_lanes` lanes (the run's `-j`): when the reported times of a loaded machine make
/// more tests overlap than there were slots, the test goes to the lane that frees first.
/// Returns one lane index per test and the number of lanes.
pub fn assign_lanes(tests: &[TestTiming], max_lanes: usize) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..tests.len()).collect();
    order.sort_by(|&a, &b| {
        tests[a]
            .start_s
            .total_cmp(&tests[b].start_s)
            .then(tests[a].end_s.total_cmp(&tests[b].end_s))
    });
    let mut lane_end: Vec<f64> = Vec::new();
    let mut lanes = vec![0; tests.len()];
    for i in order {
        let t = &tests[i];
        let lane = match lane_end
            .iter()
            .position(|&end| end <= t.start_s + LANE_TOLERANCE_S)
        {
            Some(lane) => lane,
            None if lane_end.len() < max_lanes.max(1) => {
                lane_end.push(f64::NEG_INFINITY);
                lane_end.len() - 1
            }
            None => lane_end
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map(|(lane, _)| lane)
                .unwrap_or(0),
        };
        lane_end[lane] = t.end_s;
        lanes[i] = lane;
    }
    (lanes, lane_end.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;

    fn t(name: &str, start_s: f64, end_s: f64) -> TestTiming {
        TestTiming {
            suite: "s".into(),
            name: name.into(),
            start_s,
            end_s,
            outcome: Outcome::Passed,
            attempts: 1,
            slowest_attempt_s: end_s - start_s,
        }
    }

    #[test]
    fn utilization_is_busy_time_over_slot_time() {
        // Two slots for 10 s; 5 + 10 + 3 s of tests.
        let tests = [t("a", 0.0, 5.0), t("b", 0.0, 10.0), t("c", 6.0, 9.0)];
        assert_eq!(utilization(&tests, 10.0, 2), Some(0.9));
        assert_eq!(utilization(&tests, 0.0, 2), None);
        assert_eq!(utilization(&tests, 10.0, 0), None);
        assert_eq!(utilization(&[], 10.0, 4), Some(0.0));
        assert_eq!(test_span_s(&tests), 10.0);
        assert_eq!(test_span_s(&[]), 0.0);
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(5.0));
        assert_eq!(percentile(&v, 95.0), Some(4.8));
        assert_eq!(percentile(&[1.0, 2.0], 50.0), Some(1.5));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[f64::NAN, 2.0], 50.0), Some(2.0));
    }

    #[test]
    fn speedup_and_mean() {
        assert_eq!(speedup(30.0, 10.0), Some(3.0));
        assert_eq!(speedup(30.0, 0.0), None);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn lanes_reuse_the_lowest_free_slot() {
        let tests = [
            t("a", 0.0, 4.0),
            t("b", 0.0, 2.0),
            t("c", 1.995, 3.0), // starts a jitter before b ends: b's lane
            t("d", 1.0, 5.0),   // both busy: a third lane
            t("e", 4.5, 6.0),   // lane 0 (a ended at 4) is the lowest free
        ];
        let (lanes, n) = assign_lanes(&tests, 12);
        // b (shorter) goes first of the two that start together.
        assert_eq!(lanes, vec![1, 0, 0, 2, 0]);
        assert_eq!(n, 3);
        assert_eq!(assign_lanes(&[], 4), (vec![], 0));
        // Only two slots: d overlaps both (skewed times) and goes to the one freeing first (b's).
        let (lanes, n) = assign_lanes(&tests, 2);
        assert_eq!(n, 2);
        assert_eq!(lanes[3], 0);
    }
}
