//! Turns nextest's libtest-json event stream into one timed record per test.
//!
//! nextest (0.9.143, `--message-format libtest-json-plus` with `NEXTEST_EXPERIMENTAL_LIBTEST_JSON=1`)
//! prints `started` and `ok`/`failed` events as they happen, but without timestamps; the finish
//! event carries the test's `exec_time`. The runner stamps every line with its arrival time, and
//! a test is placed at `[finish arrival − exec_time, finish arrival]`: both ends then carry the
//! same small pipe delay, so tests that ran back to back in one slot do not appear to overlap.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// How a test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Passed at the first attempt.
    Passed,
    /// Failed (at its last attempt), timed out, or never finished.
    Failed,
    /// Failed at least once, then passed on a retry.
    Flaky,
}

/// One test's place in a run's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestTiming {
    /// `crate::binary`, e.g. `controllers::workflowexecution`: the timeline colours by it.
    pub suite: String,
    /// The test's name within its binary.
    pub name: String,
    /// Seconds from the start of the run.
    pub start_s: f64,
    /// Seconds from the start of the run.
    pub end_s: f64,
    /// How it ended.
    pub outcome: Outcome,
    /// How many times it ran (1, or more when nextest retried it); 0 in reports from before
    /// attempts were counted.
    #[serde(default)]
    pub attempts: u32,
    /// Seconds its longest attempt ran: what nextest's slow-timeout is measured against, since
    /// the timeout applies to each attempt. 0 in reports from before it was recorded.
    #[serde(default)]
    pub slowest_attempt_s: f64,
}

impl TestTiming {
    /// Seconds the test ran.
    pub fn duration_s(&self) -> f64 {
        (self.end_s - self.start_s).max(0.0)
    }
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    event: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    exec_time: Option<f64>,
    /// A suite event's counts (nextest wraps each test execution in a suite of its own).
    #[serde(default)]
    passed: Option<u64>,
    #[serde(default)]
    failed: Option<u64>,
    #[serde(default)]
    ignored: Option<u64>,
    /// Which binary a suite event is about.
    #[serde(default)]
    nextest: Option<SuiteOf>,
}

#[derive(Deserialize)]
struct SuiteOf {
    #[serde(rename = "crate")]
    krate: String,
    test_binary: String,
}

/// Collects events line by line.
#[derive(Debug, Default)]
pub struct Collector {
    /// Tests started and not yet finished: name → arrival of `started`.
    open: HashMap<String, f64>,
    /// Every finished attempt, in finishing order.
    attempts: Vec<(String, f64, f64, bool)>,
    /// Lines that were not libtest-json events (kept for the log, never fatal).
    pub ignored_lines: usize,
}

impl Collector {
    /// Feeds one line of nextest's stdout that arrived `at_s` seconds after the run started.
    pub fn line(&mut self, at_s: f64, line: &str) {
        let Ok(event) = serde_json::from_str::<Event>(line) else {
            self.ignored_lines += 1;
            return;
        };
        if event.kind == "suite" {
            self.suite_event(&event);
            return;
        }
        if event.kind != "test" {
            return;
        }
        let Some(name) = event.name else { return };
        match event.event.as_str() {
            "started" => {
                self.open.insert(name, at_s);
            }
            // Ignored tests never run: they take no slot.
            "ignored" => {
                self.open.remove(&name);
            }
            finish => {
                let started = self.open.remove(&name).unwrap_or(at_s);
                let start = match event.exec_time {
                    Some(exec) if exec.is_finite() && exec >= 0.0 => (at_s - exec).max(0.0),
                    _ => started,
                };
                self.attempts.push((name, start, at_s, finish == "ok"));
            }
        }
    }

    /// An `#[ignore]`d test: nextest 0.9.143 reports it as a suite of its own holding a `started`
    /// event and no end, closed by a suite end that counts it `ignored` (passed 0, failed 0).
    /// Without this the test stayed open and counted as a failure at the end of the run (three
    /// such tests, the helper tests other tests run as child processes, failed every soak run).
    /// nextest prints the three lines together, so the ignored test is the binary's latest
    /// open one.
    fn suite_event(&mut self, event: &Event) {
        let ended = matches!(event.event.as_str(), "ok" | "failed");
        let only_ignored = event.passed == Some(0)
            && event.failed == Some(0)
            && event.ignored.is_some_and(|n| n > 0);
        let Some(of) = event.nextest.as_ref().filter(|_| ended && only_ignored) else {
            return;
        };
        let prefix = format!("{}::{}$", of.krate, of.test_binary);
        let latest = self
            .open
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(name, _)| name.clone());
        if let Some(name) = latest {
            self.open.remove(&name);
        }
    }

    /// The tests of the run; tests still open when the run ended (killed, timed out) end at
    /// `run_end_s` as failures.
    pub fn finish(mut self, run_end_s: f64) -> Vec<TestTiming> {
        for (name, start) in std::mem::take(&mut self.open) {
            self.attempts
                .push((name, start, run_end_s.max(start), false));
        }
        // Retries of one test are merged: first start to last end, flaky if it passed at last.
        let mut order: Vec<String> = Vec::new();
        let mut merged: HashMap<String, Merged> = HashMap::new();
        for (name, start, end, ok) in self.attempts {
            let took = (end - start).max(0.0);
            match merged.get_mut(&name) {
                Some(entry) => {
                    entry.start = entry.start.min(start);
                    entry.end = entry.end.max(end);
                    entry.last_ok = ok;
                    entry.ever_failed |= !ok;
                    entry.attempts += 1;
                    entry.slowest = entry.slowest.max(took);
                }
                None => {
                    order.push(name.clone());
                    merged.insert(
                        name,
                        Merged {
                            start,
                            end,
                            last_ok: ok,
                            ever_failed: !ok,
                            attempts: 1,
                            slowest: took,
                        },
                    );
                }
            }
        }
        let mut tests: Vec<TestTiming> = order
            .into_iter()
            .filter_map(|full| {
                let m = merged.remove(&full)?;
                let (suite, name) = split_name(&full);
                let outcome = match (m.last_ok, m.ever_failed) {
                    (true, false) => Outcome::Passed,
                    (true, true) => Outcome::Flaky,
                    (false, _) => Outcome::Failed,
                };
                Some(TestTiming {
                    suite,
                    name,
                    start_s: m.start,
                    end_s: m.end,
                    outcome,
                    attempts: m.attempts,
                    slowest_attempt_s: m.slowest,
                })
            })
            .collect();
        tests.sort_by(|a, b| {
            a.start_s
                .total_cmp(&b.start_s)
                .then_with(|| a.name.cmp(&b.name))
        });
        tests
    }
}

/// The attempts of one test, merged.
struct Merged {
    start: f64,
    end: f64,
    last_ok: bool,
    ever_failed: bool,
    attempts: u32,
    slowest: f64,
}

/// `crate::binary$test` → (`crate::binary`, `test`).
fn split_name(full: &str) -> (String, String) {
    match full.split_once('$') {
        Some((suite, name)) => (suite.to_owned(), name.to_owned()),
        None => (String::from("?"), full.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_tests_by_finish_arrival_and_exec_time() {
        let mut c = Collector::default();
        c.line(0.0, r#"{"type":"suite","event":"started","test_count":3}"#);
        c.line(
            0.10,
            r#"{"type":"test","event":"started","name":"k::t$fast"}"#,
        );
        c.line(
            0.11,
            r#"{"type":"test","event":"started","name":"k::t$fails"}"#,
        );
        c.line(
            0.40,
            r#"{"type":"test","event":"ok","name":"k::t$fast","exec_time":0.25}"#,
        );
        c.line(
            0.41,
            r#"{"type":"test","event":"started","name":"k::t$slow"}"#,
        );
        c.line(0.50, r#"{"type":"test","event":"failed","name":"k::t$fails","exec_time":0.3,"stdout":"boom"}"#);
        c.line(0.55, "    PASS [ 0.1s] not json");
        c.line(
            0.60,
            r#"{"type":"test","event":"ignored","name":"k::t$skipped"}"#,
        );
        let tests = c.finish(2.0);
        let names: Vec<_> = tests.iter().map(|t| (t.name.as_str(), t.outcome)).collect();
        assert_eq!(
            names,
            vec![
                ("fast", Outcome::Passed),
                ("fails", Outcome::Failed),
                ("slow", Outcome::Failed)
            ]
        );
        assert!((tests[0].start_s - 0.15).abs() < 1e-9 && (tests[0].end_s - 0.40).abs() < 1e-9);
        assert_eq!(tests[0].suite, "k::t");
        // `slow` never finished: it runs to the end of the run and counts as a failure.
        assert_eq!((tests[2].start_s, tests[2].end_s), (0.41, 2.0));
    }

    #[test]
    fn an_ignored_test_is_neither_run_nor_failed() {
        // What nextest 0.9.143 prints for an `#[ignore]`d test, while another test of the same
        // binary runs.
        let mut c = Collector::default();
        let suite = r#""nextest":{"crate":"fixtures","test_binary":"own_infra","kind":"test"}"#;
        c.line(
            0.0,
            &format!(r#"{{"type":"suite","event":"started","test_count":2,{suite}}}"#),
        );
        c.line(
            0.0,
            r#"{"type":"test","event":"started","name":"fixtures::own_infra$runs"}"#,
        );
        c.line(
            0.1,
            &format!(r#"{{"type":"suite","event":"started","test_count":2,{suite}}}"#),
        );
        c.line(
            0.1,
            r#"{"type":"test","event":"started","name":"fixtures::own_infra$child"}"#,
        );
        c.line(
            0.1,
            &format!(
                r#"{{"type":"suite","event":"ok","passed":0,"failed":0,"ignored":1,"measured":0,"filtered_out":0,"exec_time":0,{suite}}}"#
            ),
        );
        c.line(
            1.5,
            r#"{"type":"test","event":"ok","name":"fixtures::own_infra$runs","exec_time":1.5}"#,
        );
        c.line(
            1.5,
            &format!(
                r#"{{"type":"suite","event":"ok","passed":1,"failed":0,"ignored":1,"measured":0,"filtered_out":0,"exec_time":1.5,{suite}}}"#
            ),
        );
        let tests = c.finish(9.0);
        let names: Vec<_> = tests.iter().map(|t| (t.name.as_str(), t.outcome)).collect();
        assert_eq!(names, vec![("runs", Outcome::Passed)]);
    }

    #[test]
    fn a_retry_that_passes_is_flaky() {
        let mut c = Collector::default();
        c.line(0.0, r#"{"type":"test","event":"started","name":"k::t$a"}"#);
        c.line(
            1.0,
            r#"{"type":"test","event":"failed","name":"k::t$a","exec_time":1.0}"#,
        );
        c.line(1.0, r#"{"type":"test","event":"started","name":"k::t$a"}"#);
        c.line(
            1.5,
            r#"{"type":"test","event":"ok","name":"k::t$a","exec_time":0.5}"#,
        );
        let tests = c.finish(2.0);
        assert_eq!(tests.len(), 1);
        assert_eq!(tests[0].outcome, Outcome::Flaky);
        assert_eq!((tests[0].start_s, tests[0].end_s), (0.0, 1.5));
        // Two attempts; the slower (1 s) is what a per-attempt timeout is compared with.
        assert_eq!((tests[0].attempts, tests[0].slowest_attempt_s), (2, 1.0));
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut c = Collector::default();
        c.line(0.0, "{not json");
        c.line(0.0, r#"{"type":"test","event":"ok"}"#);
        c.line(
            0.0,
            r#"{"type":"test","event":"ok","name":"no-dollar","exec_time":-1}"#,
        );
        assert_eq!(c.ignored_lines, 1);
        let tests = c.finish(1.0);
        assert_eq!(tests.len(), 1);
        assert_eq!(
            (tests[0].suite.as_str(), tests[0].name.as_str()),
            ("?", "no-dollar")
        );
    }
}
