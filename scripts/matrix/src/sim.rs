//! The projection to other core counts: a **simulation**, not a measurement.
//!
//! Each test is replayed as a CPU demand (CPU-seconds) and a wait (seconds in which it needs no
//! core: polls, timers, I/O), under nextest's scheduling: `-j` slots, tests started in the
//! order the measured run started them, each as soon as a slot frees. A test alternates
//! between computing and waiting, so alone on a free core it takes `cpu + wait` and uses
//! `cpu ÷ (cpu + wait)` of a core on average: its demand. The running tests share the cores as
//! a closed queueing network does ([`core_shares`]): tests computing at the same moment split
//! the cores equally, one core each at most, so a test also queues when others whose demands
//! fit on average happen to compute with it, and a core idles when all happen to wait. A test
//! given `a` cores on average progresses at `a ÷ cpu` of its whole per second, so its wait
//! stretches with its computing, as it does when a reconcile waits for a request that waits for
//! a core. (Dividing the cores by demand alone, max-min fairly, predicted the one-core runs at
//! -j 4 and 12 a fifth to a third short; see [`core_shares`].)
//!
//! Where the inputs come from ([`inputs_of`]): a test's CPU is its process's own (the phase
//! record), plus a share of the run's services (PostgreSQL, Redis, DataStorage, and in the
//! baseline the shared API server and manager, whose CPU is work done for the tests) and of the
//! runner, spread over the tests by wall time. Its wait is not measured directly: it is
//! calibrated ([`calibrate`]) so that the simulation of the measured run, on its own cores and
//! `-j`, reproduces every test's measured duration; the machine's other load during the run
//! counts there as cores taken away. The calibrated tests are then replayed on other cores.
//!
//! Contention ([`Contention`]): a test does not compute the same amount whatever shares its core.
//! Measured here, a test process at -j 12 on 2 cores spent about a sixth more CPU than alone,
//! and on one core the tests also waited longer than their calibrated waits (wake-ups that wait
//! for a core, more context switches and cache misses). So while `n` tests run on `c` cores,
//! each test's CPU is `cpu × (1 + cpu_growth × x)` and its wait `wait × (1 + wait_growth × x)`,
//! with `x = max(0, n ÷ c − 1)` the oversubscription: nothing changes while the tests fit
//! on the cores, as at -j 1 where the waits are calibrated. `cpu_growth` is measured directly
//! (CPU per test against the same tests at -j 1, [`fit_contention`]); `wait_growth` is the
//! value that makes the projections of the fitting runs' spans right. Both are fitted per
//! mode on some runs and checked on others: the report fits them on the runs of the other core
//! counts than the one it predicts.
//!
//! nextest's test groups ([`TestGroups`], from the profile's overrides with a `test-group`) are
//! part of the scheduling: a test whose group has `max-threads` tests running waits, and the
//! next test in order that may start takes the free slot. The baseline runs its controller tests
//! in a group of one; without it the simulation let them run side by side and predicted its
//! -j 4 and -j 12 spans half as long as measured.

use serde::Serialize;

use crate::costs;
use crate::model::RunData;
use crate::stats;

/// A test to replay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SimTest {
    /// CPU-seconds it needs.
    pub cpu_s: f64,
    /// Seconds it waits without needing a core.
    pub wait_s: f64,
    /// Its nextest test group: (index, max-threads); None for the global pool only.
    pub group: Option<(usize, u32)>,
}

/// A profile's test groups: the overrides that put tests in a group, in order (the first that
/// selects a test wins, as in nextest), with each group's `max-threads`.
#[derive(Clone, Debug, Default)]
pub struct TestGroups {
    /// (filter, group index, max-threads).
    overrides: Vec<(crate::filterset::Filter, usize, u32)>,
}

impl TestGroups {
    /// The groups of `profile` in a `.config/nextest.toml` text. An override whose filter the
    /// matrix cannot evaluate, or a group without a numeric `max-threads`, is an error naming
    /// it: a projection that silently ignored a group would be wrong without saying so.
    pub fn from_config(config: &str, profile: &str) -> Result<TestGroups, String> {
        let doc: toml_edit::DocumentMut = config
            .parse()
            .map_err(|e| format!("nextest config is not valid TOML: {e}"))?;
        let limits = doc.get("test-groups");
        let mut names: Vec<String> = Vec::new();
        let mut overrides = Vec::new();
        for table in crate::filterset::profile_overrides(&doc, profile) {
            let (Some(filter), Some(group)) = (
                table.get("filter").and_then(|f| f.as_str()),
                table.get("test-group").and_then(|g| g.as_str()),
            ) else {
                continue;
            };
            let max = limits
                .and_then(|l| l.get(group))
                .and_then(|g| g.get("max-threads"))
                .and_then(|m| m.as_integer())
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(|| {
                    format!(
                        "test group {group:?} of profile {profile:?} has no numeric max-threads under [test-groups]"
                    )
                })?;
            let parsed = crate::filterset::Filter::parse(filter).map_err(|e| {
                format!(
                    "the test-group override {filter:?} of profile {profile:?}: {}",
                    e.0
                )
            })?;
            let index = match names.iter().position(|n| n == group) {
                Some(i) => i,
                None => {
                    names.push(group.to_owned());
                    names.len() - 1
                }
            };
            overrides.push((parsed, index, max));
        }
        Ok(TestGroups { overrides })
    }

    /// The group of test `name` of nextest binary id `suite`.
    pub fn of(&self, suite: &str, name: &str) -> Option<(usize, u32)> {
        let id = crate::filterset::TestId::from_suite(suite, name);
        self.overrides
            .iter()
            .find(|(f, _, _)| f.matches(&id))
            .map(|&(_, g, m)| (g, m))
    }
}

/// The tests a profile starts first: nextest's `priority` overrides, the profile's own and then
/// the default profile's (which nextest applies to every profile after its own), the first that
/// selects a test and sets a priority winning. The simulation needs none of it (it replays the
/// measured start order, priorities included); the report uses it to show which of the slowest
/// tests start first.
#[derive(Clone, Debug, Default)]
pub struct TestPriorities {
    /// (filter, priority).
    overrides: Vec<(crate::filterset::Filter, i64)>,
}

impl TestPriorities {
    /// The priorities of `profile` in a `.config/nextest.toml` text; an override whose filter
    /// the matrix cannot evaluate is an error naming it.
    pub fn from_config(config: &str, profile: &str) -> Result<TestPriorities, String> {
        let doc: toml_edit::DocumentMut = config
            .parse()
            .map_err(|e| format!("nextest config is not valid TOML: {e}"))?;
        let mut overrides = Vec::new();
        let tables = crate::filterset::profile_overrides(&doc, profile).chain(
            (profile != "default")
                .then(|| crate::filterset::profile_overrides(&doc, "default"))
                .into_iter()
                .flatten(),
        );
        for table in tables {
            let (Some(filter), Some(priority)) = (
                table.get("filter").and_then(|f| f.as_str()),
                table.get("priority").and_then(|p| p.as_integer()),
            ) else {
                continue;
            };
            let parsed = crate::filterset::Filter::parse(filter).map_err(|e| {
                format!(
                    "the priority override {filter:?} of profile {profile:?}: {}",
                    e.0
                )
            })?;
            overrides.push((parsed, priority));
        }
        Ok(TestPriorities { overrides })
    }

    /// The priority of test `name` of nextest binary id `suite` (0 when nothing sets one).
    pub fn of(&self, suite: &str, name: &str) -> i64 {
        let id = crate::filterset::TestId::from_suite(suite, name);
        self.overrides
            .iter()
            .find(|(f, _)| f.matches(&id))
            .map_or(0, |&(_, p)| p)
    }
}

/// One simulated run.
#[derive(Clone, Debug, PartialEq)]
pub struct SimRun {
    /// Each test's (start, end), seconds from the first start.
    pub intervals: Vec<(f64, f64)>,
    /// The first start to the last end.
    pub span_s: f64,
}

/// Progress left below this counts as done (floating-point slack).
const DONE_EPS: f64 = 1e-9;

/// The calibration stops after this many rounds; each round moves every test's wait by its
/// error, which settles within a few rounds unless a test cannot be matched at all (measured
/// shorter than its CPU alone allows).
const CALIBRATION_ROUNDS: usize = 60;

/// How tests slow one another beyond sharing the cores (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Contention {
    /// A test's CPU grows by this fraction per unit of oversubscription.
    pub cpu_growth: f64,
    /// A test's wait grows by this fraction per unit of oversubscription.
    pub wait_growth: f64,
}

impl Contention {
    /// `t` while `running` tests share `cores`.
    fn apply(self, t: SimTest, running: usize, cores: f64) -> SimTest {
        let x = oversubscription(running as f64, cores);
        SimTest {
            cpu_s: t.cpu_s * (1.0 + self.cpu_growth * x),
            wait_s: t.wait_s * (1.0 + self.wait_growth * x),
            group: t.group,
        }
    }
}

/// `max(0, running ÷ cores − 1)`: how far more tests run than there are cores.
fn oversubscription(running: f64, cores: f64) -> f64 {
    (running / cores.max(f64::MIN_POSITIVE) - 1.0).max(0.0)
}

/// Replays `tests` in order on `jobs` slots and `cores` cores (a fractional count is allowed:
/// cores minus the load of others), without contention.
pub fn simulate(tests: &[SimTest], jobs: u32, cores: f64) -> SimRun {
    simulate_contended(tests, jobs, cores, Contention::default())
}

/// [`simulate`] with the tests slowing one another as `contention` says.
pub fn simulate_contended(
    tests: &[SimTest],
    jobs: u32,
    cores: f64,
    contention: Contention,
) -> SimRun {
    let jobs = jobs.max(1) as usize;
    let cores = cores.max(f64::MIN_POSITIVE);
    let mut intervals = vec![(0.0, 0.0); tests.len()];
    // (test index, progress left: 1 → 0)
    let mut running: Vec<(usize, f64)> = Vec::new();
    // Not yet started, in start order.
    let mut pending: std::collections::VecDeque<usize> = (0..tests.len()).collect();
    let mut now = 0.0f64;
    loop {
        // Each free slot goes to the first pending test whose group has room.
        let mut i = 0;
        while running.len() < jobs && i < pending.len() {
            let t = pending[i];
            let room = match tests[t].group {
                None => true,
                Some((g, max)) => {
                    let in_group = running
                        .iter()
                        .filter(|&&(r, _)| tests[r].group.map(|x| x.0) == Some(g))
                        .count();
                    in_group < max.max(1) as usize
                }
            };
            if room {
                pending.remove(i);
                intervals[t].0 = now;
                running.push((t, 1.0));
            } else {
                i += 1;
            }
        }
        // Tests with nothing to do end at once.
        running.retain(|&(i, _)| {
            let t = tests[i];
            let empty = t.cpu_s + t.wait_s <= 0.0;
            if empty {
                intervals[i].1 = now;
            }
            !empty
        });
        if running.is_empty() {
            if pending.is_empty() {
                break;
            }
            continue;
        }
        let running_tests: Vec<SimTest> = running
            .iter()
            .map(|&(i, _)| contention.apply(tests[i], running.len(), cores))
            .collect();
        let shares = core_shares(&running_tests, cores);
        // Progress per second of each running test.
        let rates: Vec<f64> = running_tests
            .iter()
            .zip(&shares)
            .map(|(&t, &a)| {
                if t.cpu_s > 0.0 {
                    a / t.cpu_s
                } else {
                    1.0 / t.wait_s
                }
            })
            .collect();
        let dt = running
            .iter()
            .zip(&rates)
            .map(|(&(_, left), &r)| if r > 0.0 { left / r } else { f64::INFINITY })
            .fold(f64::INFINITY, f64::min);
        if !dt.is_finite() {
            // Cannot happen with positive cores; stop rather than spin.
            break;
        }
        now += dt;
        for ((_, left), r) in running.iter_mut().zip(&rates) {
            *left -= r * dt;
        }
        running.retain(|&(i, left)| {
            let done = left <= DONE_EPS;
            if done {
                intervals[i].1 = now;
            }
            !done
        });
    }
    let span_s = intervals.iter().map(|i| i.1).fold(0.0, f64::max);
    SimRun { intervals, span_s }
}

/// Each running test's average share of `cores`, from the closed queueing network the tests
/// form: a test alternates between computing (at the cores, shared equally by the tests
/// computing at the moment, at most one core each) and waiting (a delay no other test
/// prolongs), in the proportion of its `cpu_s` to its `wait_s`. Such a network has a product
/// form whatever the distributions of the bursts (BCMP: processor sharing with a load-dependent
/// rate, and an infinite server): the chance that exactly the set `A` of tests is computing is
/// proportional to `g(|A|) × Π r_i` over `A`, with `r_i = cpu ÷ wait` and
/// `g(n) = n! ÷ Π min(k, cores)` for `k` in `1..=n`. A test's share is then the chance it is
/// waiting times `r_i` (its cycles per second times its CPU per cycle).
///
/// Unlike dividing the cores by demand alone ([`water_fill`]), this counts the moments when
/// tests that fit on the cores on average happen to compute at once, and those when all wait
/// at once and a core idles: measured on one core, tests at -j 4 and 12 took a fifth to a
/// third longer than the division predicted. Falls back to the division if the sums overflow
/// (far more tests at once than any `-j` here).
pub fn core_shares(tests: &[SimTest], cores: f64) -> Vec<f64> {
    // A test that never waits computes all the time: a ratio large enough to be that, small
    // enough that the sums stay finite for the -j levels nextest is run at.
    const MAX_RATIO: f64 = 1e9;
    let ratios: Vec<f64> = tests
        .iter()
        .map(|t| {
            if t.cpu_s <= 0.0 {
                0.0
            } else if t.wait_s <= 0.0 {
                MAX_RATIO
            } else {
                (t.cpu_s / t.wait_s).min(MAX_RATIO)
            }
        })
        .collect();
    let n = ratios.len();
    // g(k), k = 0..=n.
    let mut g = Vec::with_capacity(n + 1);
    g.push(1.0f64);
    for k in 1..=n {
        let rate = (k as f64).min(cores);
        g.push(g[k - 1] * k as f64 / rate);
    }
    // Σ_k g(k) × e_k(values): e_k the elementary symmetric polynomials.
    let weighted = |skip: Option<usize>| {
        let mut e = vec![0.0f64; n + 1];
        e[0] = 1.0;
        let mut len = 0;
        for (j, &r) in ratios.iter().enumerate() {
            if Some(j) == skip {
                continue;
            }
            len += 1;
            for k in (1..=len).rev() {
                e[k] += e[k - 1] * r;
            }
        }
        e.iter().zip(&g).map(|(e, g)| e * g).sum::<f64>()
    };
    let all = weighted(None);
    let shares: Vec<f64> = ratios
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            if r == 0.0 {
                0.0
            } else {
                weighted(Some(i)) / all * r
            }
        })
        .collect();
    if all.is_finite() && all > 0.0 && shares.iter().all(|s| s.is_finite()) {
        shares
    } else {
        let demands: Vec<f64> = tests.iter().map(|&t| demand(t)).collect();
        water_fill(&demands, cores)
    }
}

/// A test's demand alone on a free core: its average share of a core.
fn demand(t: SimTest) -> f64 {
    let total = t.cpu_s + t.wait_s;
    if total <= 0.0 { 0.0 } else { t.cpu_s / total }
}

/// Max-min fair shares of `cores` for `demands`: every demand met when they fit, else the
/// smaller demands met and the rest sharing what is left equally.
pub fn water_fill(demands: &[f64], cores: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by(|&a, &b| demands[a].total_cmp(&demands[b]));
    let mut shares = vec![0.0; demands.len()];
    let mut left = cores;
    for (k, &i) in order.iter().enumerate() {
        let fair = left / (order.len() - k) as f64;
        let share = demands[i].min(fair);
        shares[i] = share;
        left -= share;
    }
    shares
}

/// The waits that make the simulation of a measured run (its `jobs`, its `cores`) reproduce
/// every test's measured duration `walls`, given each test's CPU `cpus` (same order: the
/// order the run started them). Returns the calibrated tests and the remaining mean absolute
/// error per test (seconds): large when tests were faster than their CPU allows on those
/// cores (e.g. a process computing on two cores at once).
pub fn calibrate(cpus: &[f64], walls: &[f64], jobs: u32, cores: f64) -> (Vec<SimTest>, f64) {
    calibrate_grouped(cpus, walls, &[], jobs, cores)
}

/// [`calibrate`] with each test's group (same order; an empty slice: no groups).
pub fn calibrate_grouped(
    cpus: &[f64],
    walls: &[f64],
    groups: &[Option<(usize, u32)>],
    jobs: u32,
    cores: f64,
) -> (Vec<SimTest>, f64) {
    // Waits start at zero and grow by each test's shortfall: where a measurement fits several
    // waits (a test that ran CPU-bound, its duration its share of the cores whatever its
    // wait), the calibration keeps the least, the wait the measurement proves.
    let mut tests: Vec<SimTest> = cpus
        .iter()
        .enumerate()
        .map(|(i, &c)| SimTest {
            cpu_s: c.max(0.0),
            wait_s: 0.0,
            group: groups.get(i).copied().flatten(),
        })
        .collect();
    let mut error = f64::INFINITY;
    for _ in 0..CALIBRATION_ROUNDS {
        let run = simulate(&tests, jobs, cores);
        let mut abs = 0.0;
        for (t, (&(s, e), &w)) in tests.iter_mut().zip(run.intervals.iter().zip(walls)) {
            let diff = w - (e - s);
            abs += diff.abs();
            t.wait_s = (t.wait_s + diff).max(0.0);
        }
        error = abs / walls.len().max(1) as f64;
        if error < 1e-6 {
            break;
        }
    }
    (tests, error)
}

/// What a measured run gives the simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInputs {
    /// Each test's CPU-seconds (own plus its share of services and runner), in start order.
    pub cpus: Vec<f64>,
    /// Each test's own CPU-seconds (its process's phase record; None without one), same order.
    pub own: Vec<Option<f64>>,
    /// Each test's measured duration, same order.
    pub walls: Vec<f64>,
    /// Each test's nextest test group, same order.
    pub groups: Vec<Option<(usize, u32)>>,
    /// Each test's (nextest binary id, test name), same order.
    pub ids: Vec<(String, String)>,
    /// The measured test span.
    pub span_s: f64,
    /// The cores the run had (its affinity).
    pub cores: u32,
    /// Cores' worth of other load during the run (the machine's busy CPU no process of the
    /// run accounts for, spread evenly over the machine's cores, the run's share of it).
    pub others_cores: f64,
}

/// The inputs of a measured run, or `None` when it lacks what the simulation needs (phase
/// records, its CPU series, its core count).
pub fn inputs_of(run: &RunData, groups: &TestGroups) -> Option<RunInputs> {
    let cores = run.cores_allowed.or(run.cpu.map(|c| c.cores))?;
    if run.tests.is_empty() || run.phases.is_empty() || run.cpu_series.len() < 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..run.tests.len()).collect();
    order.sort_by(|&a, &b| run.tests[a].start_s.total_cmp(&run.tests[b].start_s));
    let costs = costs::test_costs(run);
    let walls: Vec<f64> = order.iter().map(|&i| run.tests[i].duration_s()).collect();
    let test_groups: Vec<Option<(usize, u32)>> = order
        .iter()
        .map(|&i| groups.of(&run.tests[i].suite, &run.tests[i].name))
        .collect();
    let own: Vec<Option<f64>> = order.iter().map(|&i| costs[i].cpu_s).collect();
    let outside = costs::outside_cpu(run)?;
    let series_tests = {
        let (a, b) = (run.cpu_series.first()?, run.cpu_series.last()?);
        (b.tests_s - a.tests_s).max(0.0)
    };
    let recorded: f64 = own.iter().flatten().sum();
    // Tests without a record: their share of what /proc saw the test processes use beyond the
    // records, by wall time.
    let unrecorded_wall: f64 = own
        .iter()
        .zip(&walls)
        .filter(|(c, _)| c.is_none())
        .map(|(_, w)| w)
        .sum();
    let unrecorded_cpu = (series_tests - recorded).max(0.0);
    let total_wall: f64 = walls.iter().sum();
    let shared = outside.services_s + outside.runner_s;
    let cpus: Vec<f64> = own
        .iter()
        .zip(&walls)
        .map(|(c, &w)| {
            let own = c.unwrap_or_else(|| {
                if unrecorded_wall > 0.0 {
                    unrecorded_cpu * w / unrecorded_wall
                } else {
                    0.0
                }
            });
            let share = if total_wall > 0.0 {
                shared * w / total_wall
            } else {
                0.0
            };
            own + share
        })
        .collect();
    let machine_cores = run.cpu.map(|c| c.cores).unwrap_or(cores).max(1);
    let others_rate = if run.wall_s > 0.0 {
        outside.others_s / run.wall_s
    } else {
        0.0
    };
    let ids = order
        .iter()
        .map(|&i| (run.tests[i].suite.clone(), run.tests[i].name.clone()))
        .collect();
    Some(RunInputs {
        cpus,
        own,
        walls,
        groups: test_groups,
        ids,
        span_s: stats::test_span_s(&run.tests),
        cores,
        others_cores: others_rate * f64::from(cores) / f64::from(machine_cores),
    })
}

/// The fewest cores a simulation is given after others' load is taken away: a run always got
/// some CPU.
const MIN_EFFECTIVE_CORES: f64 = 0.1;

/// A measured run calibrated for replay.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibrated {
    /// The tests, in start order.
    pub tests: Vec<SimTest>,
    /// The measured run's `-j`.
    pub jobs: u32,
    /// The measured span.
    pub span_s: f64,
    /// The measured run's cores.
    pub cores: u32,
    /// Mean absolute error per test left after calibration (seconds).
    pub residual_s: f64,
    /// Each test's (nextest binary id, test name), same order as `tests`.
    pub ids: Vec<(String, String)>,
}

/// Calibrates one measured run (see the module documentation).
pub fn calibrate_run(run: &RunData, groups: &TestGroups) -> Option<Calibrated> {
    let inputs = inputs_of(run, groups)?;
    let effective = (f64::from(inputs.cores) - inputs.others_cores).max(MIN_EFFECTIVE_CORES);
    let (tests, residual_s) = calibrate_grouped(
        &inputs.cpus,
        &inputs.walls,
        &inputs.groups,
        run.jobs,
        effective,
    );
    Some(Calibrated {
        tests,
        jobs: run.jobs,
        span_s: inputs.span_s,
        cores: inputs.cores,
        residual_s,
        ids: inputs.ids,
    })
}

/// The span of measured run `target` replayed with `source`'s calibrated waits but with what
/// only measuring `target` can tell: each test's own CPU in that run (and its share of the
/// services and runner), the run's start order and `-j`, and the cores its other load left.
///
/// Not a prediction: an attribution of a projection's error. When this replay lands on the
/// measured span and the projection does not, the difference is what the projection cannot
/// know in advance — tests computing more than they did at the calibration's `-j`, and load
/// that was not the run's — rather than the scheduling model. A test the source did not run
/// replays with no wait.
pub fn replay_with_measured_cpu(
    source: &Calibrated,
    target: &RunData,
    groups: &TestGroups,
) -> Option<f64> {
    let inputs = inputs_of(target, groups)?;
    let waits: std::collections::HashMap<&(String, String), f64> = source
        .ids
        .iter()
        .zip(&source.tests)
        .map(|(id, t)| (id, t.wait_s))
        .collect();
    let tests: Vec<SimTest> = inputs
        .ids
        .iter()
        .zip(&inputs.cpus)
        .zip(&inputs.groups)
        .map(|((id, &cpu_s), &group)| SimTest {
            cpu_s,
            wait_s: waits.get(id).copied().unwrap_or(0.0),
            group,
        })
        .collect();
    let effective = (f64::from(inputs.cores) - inputs.others_cores).max(MIN_EFFECTIVE_CORES);
    Some(simulate(&tests, target.jobs, effective).span_s)
}

/// The projected test span of `calibrated` replayed at `jobs` on `cores` dedicated cores,
/// with the tests slowing one another as `contention` says.
pub fn project(calibrated: &Calibrated, jobs: u32, cores: u32, contention: Contention) -> f64 {
    simulate_contended(&calibrated.tests, jobs, f64::from(cores), contention).span_s
}

/// What [`fit_contention`] found, and from how much.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ContentionFit {
    /// The fitted contention.
    pub contention: Contention,
    /// Oversubscribed runs it was fitted on (runs whose tests never outnumbered the cores
    /// say nothing about it).
    pub runs: usize,
    /// The mean |error| of the fitting runs' projected spans with it (a fraction).
    pub span_error: f64,
}

/// The largest growth [`fit_contention`] considers (per unit of oversubscription).
const MAX_WAIT_GROWTH: f64 = 3.0;
/// The step of its search.
const WAIT_GROWTH_STEP: f64 = 0.02;

/// Fits one mode's [`Contention`] on its measured `runs` (any -j and core counts). Per core
/// count, the runs at the lowest -j are the base: they are calibrated, as the projections are.
/// `cpu_growth` comes straight from the other runs' CPU: each run's Σ CPU over its tests
/// against the same tests' mean CPU in the base runs, against the oversubscription its tests
/// saw (from their measured start and end), by least squares through the origin. Then
/// `wait_growth` is the value whose projections of these runs (from their base, with that
/// `cpu_growth`) have the least mean squared relative span error. `None` without a base to
/// calibrate or a run to fit.
pub fn fit_contention(runs: &[&RunData], groups: &TestGroups) -> Option<ContentionFit> {
    let mut by_cores: Vec<(u32, Vec<&RunData>)> = Vec::new();
    for &r in runs {
        let Some(cores) = r.cores_allowed.or(r.cpu.map(|c| c.cores)) else {
            continue;
        };
        match by_cores.iter_mut().find(|(c, _)| *c == cores) {
            Some((_, v)) => v.push(r),
            None => by_cores.push((cores, vec![r])),
        }
    }
    // (base calibrations, base mean CPU per test, the other runs with their inputs)
    struct Level<'a> {
        bases: Vec<Calibrated>,
        base_cpu: std::collections::HashMap<(String, String), f64>,
        targets: Vec<(&'a RunData, RunInputs)>,
    }
    let mut levels = Vec::new();
    for (_, runs) in &by_cores {
        let Some(low) = runs.iter().map(|r| r.jobs).min() else {
            continue;
        };
        let bases: Vec<&RunData> = runs.iter().copied().filter(|r| r.jobs == low).collect();
        let mut sums: std::collections::HashMap<(String, String), (f64, usize)> =
            std::collections::HashMap::new();
        for b in &bases {
            if let Some(inputs) = inputs_of(b, groups) {
                for (id, cpu) in inputs.ids.iter().zip(&inputs.own) {
                    let Some(cpu) = *cpu else { continue };
                    let e = sums.entry(id.clone()).or_insert((0.0, 0));
                    e.0 += cpu;
                    e.1 += 1;
                }
            }
        }
        let base_cpu = sums
            .into_iter()
            .map(|(id, (sum, n))| (id, sum / n as f64))
            .collect();
        let targets = runs
            .iter()
            .copied()
            .filter(|r| r.jobs != low)
            .filter_map(|r| inputs_of(r, groups).map(|i| (r, i)))
            .collect();
        let bases = bases
            .iter()
            .filter_map(|r| calibrate_run(r, groups))
            .collect();
        levels.push(Level {
            bases,
            base_cpu,
            targets,
        });
    }
    // CPU growth: Σ x̄ (ρ − 1) ÷ Σ x̄² over the oversubscribed runs.
    let (mut num, mut den, mut fitted) = (0.0, 0.0, 0usize);
    for level in &levels {
        for (run, inputs) in &level.targets {
            let effective =
                (f64::from(inputs.cores) - inputs.others_cores).max(MIN_EFFECTIVE_CORES);
            let intervals: Vec<(f64, f64)> = {
                let mut order: Vec<usize> = (0..run.tests.len()).collect();
                order.sort_by(|&a, &b| run.tests[a].start_s.total_cmp(&run.tests[b].start_s));
                order
                    .iter()
                    .map(|&i| (run.tests[i].start_s, run.tests[i].end_s))
                    .collect()
            };
            let (mut base_sum, mut target_sum, mut weighted_x) = (0.0, 0.0, 0.0);
            for (k, (id, cpu)) in inputs.ids.iter().zip(&inputs.own).enumerate() {
                let (Some(cpu), Some(&base)) = (*cpu, level.base_cpu.get(id)) else {
                    continue;
                };
                let Some(&(start, end)) = intervals.get(k) else {
                    continue;
                };
                base_sum += base;
                target_sum += cpu;
                weighted_x += base * mean_oversubscription(&intervals, start, end, effective);
            }
            if base_sum <= 0.0 {
                continue;
            }
            let x = weighted_x / base_sum;
            if x <= 0.0 {
                continue;
            }
            num += x * (target_sum / base_sum - 1.0);
            den += x * x;
            fitted += 1;
        }
    }
    if fitted == 0 {
        return None;
    }
    let cpu_growth = (num / den).max(0.0);
    // Wait growth: the least mean squared relative span error over a grid.
    let error_with = |wait_growth: f64| -> (f64, f64) {
        let contention = Contention {
            cpu_growth,
            wait_growth,
        };
        let (mut sq, mut abs, mut n) = (0.0, 0.0, 0usize);
        for level in &levels {
            for (run, inputs) in &level.targets {
                let measured = inputs.span_s;
                if measured <= 0.0 || level.bases.is_empty() {
                    continue;
                }
                let projected = level
                    .bases
                    .iter()
                    .map(|b| project(b, run.jobs, inputs.cores, contention))
                    .sum::<f64>()
                    / level.bases.len() as f64;
                let e = (projected - measured) / measured;
                sq += e * e;
                abs += e.abs();
                n += 1;
            }
        }
        let n = n.max(1) as f64;
        (sq / n, abs / n)
    };
    let steps = (MAX_WAIT_GROWTH / WAIT_GROWTH_STEP).round() as usize;
    let (wait_growth, (_, span_error)) = (0..=steps)
        .map(|i| i as f64 * WAIT_GROWTH_STEP)
        .map(|w| (w, error_with(w)))
        .min_by(|a, b| a.1.0.total_cmp(&b.1.0))?;
    Some(ContentionFit {
        contention: Contention {
            cpu_growth,
            wait_growth,
        },
        runs: fitted,
        span_error,
    })
}

/// The mean oversubscription over `[start, end]` of tests running in `intervals` on `cores`.
fn mean_oversubscription(intervals: &[(f64, f64)], start: f64, end: f64, cores: f64) -> f64 {
    if end <= start {
        return 0.0;
    }
    // The moments the count of running tests changes inside the window.
    let mut cuts: Vec<f64> = vec![start, end];
    for &(s, e) in intervals {
        for t in [s, e] {
            if t > start && t < end {
                cuts.push(t);
            }
        }
    }
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut integral = 0.0;
    for w in cuts.windows(2) {
        let mid = (w[0] + w[1]) / 2.0;
        let running = intervals
            .iter()
            .filter(|&&(s, e)| s <= mid && mid < e)
            .count();
        integral += oversubscription(running as f64, cores) * (w[1] - w[0]);
    }
    integral / (end - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_bound(s: f64) -> SimTest {
        SimTest {
            cpu_s: s,
            wait_s: 0.0,
            group: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn a_test_group_of_one_runs_its_tests_one_at_a_time_and_others_take_the_free_slots() {
        // Three 1 s sleepers in a group of one and one outside it, at -j 4 on 4 cores: the
        // group's tests run one after the other (3 s), the outsider starts at once.
        let serial = SimTest {
            cpu_s: 0.0,
            wait_s: 1.0,
            group: Some((0, 1)),
        };
        let free = SimTest {
            group: None,
            ..serial
        };
        let run = simulate(&[serial, serial, free, serial], 4, 4.0);
        assert!(close(run.span_s, 3.0), "{run:?}");
        let starts: Vec<f64> = run.intervals.iter().map(|i| i.0).collect();
        assert!(
            close(starts[0], 0.0)
                && close(starts[1], 1.0)
                && close(starts[2], 0.0)
                && close(starts[3], 2.0),
            "{starts:?}"
        );
        // Without the group: all four at once.
        let ungrouped = [free; 4];
        assert!(close(simulate(&ungrouped, 4, 4.0).span_s, 1.0));
    }

    #[test]
    fn priorities_come_from_the_profile_then_the_default_profile() {
        let config = r#"
[[profile.default.overrides]]
filter = """
    (package(controllers) & binary(wfe) & (
        test(=slow::one) | test(=slow::two)))
    | package(other)
"""
priority = 100
[[profile.base.overrides]]
filter = "test(=slow::two)"
priority = -5
[[profile.base.overrides]]
filter = "all()"
slow-timeout = "60s"
"#;
        let p = TestPriorities::from_config(config, "base").unwrap();
        assert_eq!(p.of("controllers::wfe", "slow::one"), 100);
        // The profile's own override comes first.
        assert_eq!(p.of("controllers::wfe", "slow::two"), -5);
        assert_eq!(p.of("other", "anything"), 100);
        assert_eq!(p.of("controllers::wfe", "fast"), 0);
        let bad = "[[profile.default.overrides]]\nfilter = \"nonsense(\"\npriority = 1\n";
        let e = TestPriorities::from_config(bad, "base").unwrap_err();
        assert!(
            e.contains("priority override") && e.contains("nonsense("),
            "{e}"
        );
    }

    #[test]
    fn the_workspaces_priorities_can_be_evaluated() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.config/nextest.toml"),
        )
        .unwrap();
        for profile in ["integration", "integration-single", "ci"] {
            let p = TestPriorities::from_config(&text, profile).unwrap();
            assert_eq!(
                p.of(
                    "controllers::signalprocessing",
                    "failures::a_deadline_passing_during_a_failing_attempt_times_out_soon_not_after_the_backoff"
                ),
                100,
                "{profile}"
            );
            assert_eq!(
                p.of(
                    "controllers::workflowexecution",
                    "lifecycle::the_job_is_deleted_after_the_cooldown"
                ),
                0
            );
        }
    }

    #[test]
    fn test_groups_are_read_from_the_profiles_overrides() {
        let config = r#"
[test-groups]
one = { max-threads = 1 }
[profile.base]
[[profile.base.overrides]]
filter = "package(controllers) & binary(wfe) & not test(=free)"
test-group = "one"
[[profile.base.overrides]]
filter = "all()"
slow-timeout = "60s"
"#;
        let groups = TestGroups::from_config(config, "base").unwrap();
        assert_eq!(groups.of("controllers::wfe", "lifecycle::a"), Some((0, 1)));
        assert_eq!(groups.of("controllers::wfe", "free"), None);
        assert_eq!(groups.of("fixtures::fixture", "x"), None);
        // Another profile has none.
        assert_eq!(
            TestGroups::from_config(config, "other")
                .unwrap()
                .of("controllers::wfe", "a"),
            None
        );
        // A group without max-threads, or a filter the matrix cannot evaluate, is named.
        let missing = config.replace("one = { max-threads = 1 }", "");
        let e = TestGroups::from_config(&missing, "base").unwrap_err();
        assert!(e.contains("\"one\"") && e.contains("max-threads"), "{e}");
        let odd = config.replace("not test(=free)", "rdeps(testinfra)");
        let e = TestGroups::from_config(&odd, "base").unwrap_err();
        assert!(e.contains("test-group override"), "{e}");
    }

    #[test]
    fn the_workspaces_baseline_groups_can_be_evaluated() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.config/nextest.toml"),
        )
        .unwrap();
        let groups = TestGroups::from_config(&text, "integration-single").unwrap();
        assert!(
            groups
                .of(
                    "controllers::workflowexecution",
                    "lifecycle::the_job_is_deleted_after_the_cooldown"
                )
                .is_some_and(|(_, max)| max == 1)
        );
        assert_eq!(
            groups.of(
                "controllers::workflowexecution",
                "validation::an_unknown_engine_is_not_supported"
            ),
            None
        );
    }

    #[test]
    fn four_cpu_bound_tests_on_two_cores_take_twice_as_long() {
        // 4 × 1 s of CPU at -j 4 on 2 cores: each gets half a core, all end at 2 s.
        let run = simulate(&[cpu_bound(1.0); 4], 4, 2.0);
        assert!(close(run.span_s, 2.0), "{run:?}");
        assert!(
            run.intervals
                .iter()
                .all(|&(s, e)| s == 0.0 && close(e, 2.0))
        );
        // At -j 2 on 2 cores: two rounds of 1 s, the same 2 s.
        let run = simulate(&[cpu_bound(1.0); 4], 2, 2.0);
        assert!(
            close(run.span_s, 2.0) && close(run.intervals[2].0, 1.0),
            "{run:?}"
        );
        // On 4 cores at -j 4: 1 s; at -j 1 on any number of cores: 4 s.
        assert!(close(simulate(&[cpu_bound(1.0); 4], 4, 4.0).span_s, 1.0));
        assert!(close(simulate(&[cpu_bound(1.0); 4], 1, 16.0).span_s, 4.0));
        // A test uses one core at most: 16 cores do not speed up 4 tests beyond 1 s.
        assert!(close(simulate(&[cpu_bound(1.0); 4], 12, 16.0).span_s, 1.0));
    }

    #[test]
    fn waits_overlap_with_other_tests_computing() {
        // Two tests, each 1 s of CPU and 1 s of waiting (half a core on average), -j 2 on 1
        // core: their demands fit on average, but at times both compute and one queues
        // (product form, r = 1, g = 1, 1, 2: a test waits 2/5 of the time), so each gets 0.4
        // of the core and takes 2.5 s. On 2 cores they never queue: 2 s.
        let t = SimTest {
            cpu_s: 1.0,
            wait_s: 1.0,
            group: None,
        };
        assert!(close(simulate(&[t, t], 2, 1.0).span_s, 2.5));
        assert!(close(simulate(&[t, t], 2, 2.0).span_s, 2.0));
        // Four of them on 1 core: demand 2 cores; each waits 16/65 of the time and gets 16/65
        // of the core, close to the CPU bound of 4 s.
        assert!(close(simulate(&[t; 4], 4, 1.0).span_s, 65.0 / 16.0));
        // A pure wait takes its wait whatever the load, and uses no core.
        let sleeper = SimTest {
            cpu_s: 0.0,
            wait_s: 3.0,
            group: None,
        };
        let run = simulate(&[sleeper, cpu_bound(1.0), cpu_bound(1.0)], 3, 1.0);
        assert!(
            close(run.intervals[0].1, 3.0) && close(run.intervals[1].1, 2.0),
            "{run:?}"
        );
        // At -j 1 tests run back to back: 1 + 2 + 1 s.
        let run = simulate(&[cpu_bound(1.0), t, cpu_bound(1.0)], 1, 8.0);
        assert!(
            close(run.span_s, 4.0) && close(run.intervals[2].0, 3.0),
            "{run:?}"
        );
    }

    #[test]
    fn nothing_to_do_ends_at_once() {
        let empty = SimTest {
            cpu_s: 0.0,
            wait_s: 0.0,
            group: None,
        };
        let run = simulate(&[empty, cpu_bound(1.0)], 1, 1.0);
        assert_eq!(run.intervals[0], (0.0, 0.0));
        assert!(close(run.span_s, 1.0));
        assert_eq!(simulate(&[], 4, 2.0).span_s, 0.0);
    }

    #[test]
    fn core_shares_follow_the_product_form() {
        let t = |cpu_s, wait_s| SimTest {
            cpu_s,
            wait_s,
            group: None,
        };
        // Alone, a test gets its demand: cpu ÷ (cpu + wait).
        let alone = core_shares(&[t(1.0, 3.0)], 2.0);
        assert!(close(alone[0], 0.25), "{alone:?}");
        // Tests that never wait share the cores equally, one core each at most.
        let busy = core_shares(&[cpu_bound(1.0); 3], 2.0);
        assert!(
            busy.iter().all(|&s| (s - 2.0 / 3.0).abs() < 1e-6),
            "{busy:?}"
        );
        let spread = core_shares(&[cpu_bound(1.0); 3], 8.0);
        assert!(spread.iter().all(|&s| (s - 1.0).abs() < 1e-6), "{spread:?}");
        // A computing test slows a light one more than the light one's demand alone says:
        // the light one queues behind it whenever it computes.
        let mixed = core_shares(&[cpu_bound(1.0), t(1.0, 3.0)], 1.0);
        assert!(mixed[1] < 0.25 && mixed[0] < 1.0, "{mixed:?}");
        assert!((mixed.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{mixed:?}");
        // A pure wait takes no core. Fewer cores than one (others' load) cap a lone test.
        assert_eq!(core_shares(&[t(0.0, 1.0), cpu_bound(1.0)], 1.0)[0], 0.0);
        assert!((core_shares(&[cpu_bound(1.0)], 0.5)[0] - 0.5).abs() < 1e-6);
        // Far more tests than any -j overflow the product form: the fluid division answers.
        let many = core_shares(&[cpu_bound(1.0); 200], 2.0);
        assert!(many.iter().all(|&s| close(s, 0.01)), "{:?}", &many[..3]);
    }

    #[test]
    fn water_filling_meets_small_demands_first() {
        let shares = water_fill(&[0.2, 1.0, 1.0], 1.0);
        assert!(close(shares[0], 0.2) && close(shares[1], 0.4) && close(shares[2], 0.4));
        let shares = water_fill(&[0.5, 0.5], 4.0);
        assert_eq!(shares, vec![0.5, 0.5]);
    }

    #[test]
    fn calibration_recovers_the_waits_of_a_known_run() {
        // The truth: six tests with known CPU and waits, measured at -j 1 on 1 core (alone, a
        // test's wait shows in full: at -j > 1 on too few cores a test's duration is its fair
        // share of the CPU whatever its wait, so the wait cannot be recovered from there).
        let truth = [
            SimTest {
                cpu_s: 0.5,
                wait_s: 0.2,
                group: None,
            },
            SimTest {
                cpu_s: 0.1,
                wait_s: 1.0,
                group: None,
            },
            SimTest {
                cpu_s: 0.3,
                wait_s: 0.0,
                group: None,
            },
            SimTest {
                cpu_s: 0.2,
                wait_s: 0.4,
                group: None,
            },
            SimTest {
                cpu_s: 0.05,
                wait_s: 0.6,
                group: None,
            },
            SimTest {
                cpu_s: 0.4,
                wait_s: 0.1,
                group: None,
            },
        ];
        let measured = simulate(&truth, 1, 1.0);
        let walls: Vec<f64> = measured.intervals.iter().map(|(s, e)| e - s).collect();
        let cpus: Vec<f64> = truth.iter().map(|t| t.cpu_s).collect();
        let (tests, residual) = calibrate(&cpus, &walls, 1, 1.0);
        assert!(residual < 1e-6, "{residual}");
        // Replayed at -j 3 on 1 and 2 cores, the calibrated tests give the truth's spans.
        for cores in [1.0, 2.0] {
            let want = simulate(&truth, 3, cores).span_s;
            let got = simulate(&tests, 3, cores).span_s;
            assert!(
                (got - want).abs() / want < 1e-6,
                "{got} vs {want} on {cores}"
            );
        }
        // Others' load during the measurement (half a core taken) is not wait: calibrated on
        // the half core left, tests that needed less than that replay on 2 free cores as the
        // truth does. (A test that needed more ran CPU-bound: its wait is taken as the least
        // the measurement proves, none.)
        let light = [truth[1], truth[3], truth[4]];
        let loaded = simulate(&light, 1, 0.5);
        let walls: Vec<f64> = loaded.intervals.iter().map(|(s, e)| e - s).collect();
        let cpus: Vec<f64> = light.iter().map(|t| t.cpu_s).collect();
        let (tests, _) = calibrate(&cpus, &walls, 1, 0.5);
        let want = simulate(&light, 3, 2.0).span_s;
        assert!((simulate(&tests, 3, 2.0).span_s - want).abs() / want < 1e-6);
    }

    #[test]
    fn an_attribution_replays_the_targets_own_cpu_and_load_with_the_sources_waits() {
        use crate::costs::tests::run;
        let groups = TestGroups::default();
        // Tests `a` (with a phase record: 0.23 CPU-s in 1 s) and `b` (0.07 CPU-s in 0.5 s), at
        // -j 1 on 2 cores with nothing else running.
        let quiet = || {
            let mut r = run("integration", 100.0);
            let last = r.cpu_series.len() - 1;
            let p = &mut r.cpu_series[last];
            (p.services_s, p.runner_s, p.machine_s) = (0.0, 0.0, p.tests_s);
            r
        };
        let source = calibrate_run(&quiet(), &groups).unwrap();
        assert_eq!(
            source.ids[0],
            ("controllers::wfe".to_owned(), "a".to_owned())
        );
        let waits: f64 = source.tests.iter().map(|t| t.wait_s).sum();
        assert!(waits > 0.0, "{source:?}");
        // The target: `a` computed 0.5 s more. At -j 1 each test runs alone, so the replay is
        // the target's CPU and the source's waits end to end.
        let mut target = quiet();
        target.phases[0].exit.cpu_ms += 500.0;
        let inputs = inputs_of(&target, &groups).unwrap();
        let span = replay_with_measured_cpu(&source, &target, &groups).unwrap();
        let want = inputs.cpus.iter().sum::<f64>() + waits;
        assert!((span - want).abs() < 1e-6, "{span} vs {want}");
        // The projection, which knows neither, replays the source's CPU: shorter.
        assert!(project(&source, 1, 2, Contention::default()) < span - 0.4);
        // At -j 2 both tests run at once; other load of 1.75 cores leaves less than `a` needs
        // (0.73 CPU-s over 1.5 s, half a core): the replay is longer, as the run was.
        target.jobs = 2;
        let free = replay_with_measured_cpu(&source, &target, &groups).unwrap();
        let last = target.cpu_series.len() - 1;
        target.cpu_series[last].machine_s += 7.5;
        assert!(inputs_of(&target, &groups).unwrap().others_cores > 1.7);
        let loaded = replay_with_measured_cpu(&source, &target, &groups).unwrap();
        assert!(loaded > free + 1e-3, "{loaded} vs {free}");
    }

    #[test]
    fn contention_changes_nothing_while_the_tests_fit_on_the_cores_and_slows_them_beyond() {
        let strong = Contention {
            cpu_growth: 0.1,
            wait_growth: 0.5,
        };
        let tests = [SimTest {
            cpu_s: 1.0,
            wait_s: 1.0,
            group: None,
        }; 4];
        // Four tests on four cores: no oversubscription, no change.
        let fit = simulate_contended(&tests, 4, 4.0, strong).span_s;
        assert!(close(fit, simulate(&tests, 4, 4.0).span_s), "{fit}");
        // Four CPU-bound 1 s tests at -j 4 on one core: 3 units of oversubscription throughout,
        // each computes 1.3 s, all four end together.
        let bound = [cpu_bound(1.0); 4];
        let run = simulate_contended(&bound, 4, 1.0, strong);
        assert!(close(run.span_s, 5.2), "{run:?}");
        // Waits stretch too: two 1 s sleepers on one core at -j 2 (x = 1) wait 1.5 s.
        let sleepers = [SimTest {
            cpu_s: 0.0,
            wait_s: 1.0,
            group: None,
        }; 2];
        let run = simulate_contended(&sleepers, 2, 1.0, strong);
        assert!(close(run.span_s, 1.5), "{run:?}");
    }

    #[test]
    fn the_mean_oversubscription_is_the_time_average_inside_the_window() {
        // On one core: [0, 2) one test, [1, 3) a second: over [0, 2) the first sees one test
        // for a second and two for a second, x = 0 then 1.
        let intervals = [(0.0, 2.0), (1.0, 3.0)];
        assert!(close(mean_oversubscription(&intervals, 0.0, 2.0, 1.0), 0.5));
        assert!(close(mean_oversubscription(&intervals, 0.0, 2.0, 2.0), 0.0));
        assert_eq!(mean_oversubscription(&intervals, 1.0, 1.0, 1.0), 0.0);
    }

    /// A run at `jobs` on `cores` of `tests` (name, start, end, own CPU-seconds), each with a
    /// phase record, and nothing else using CPU.
    fn run_of(jobs: u32, cores: u32, tests: &[(&str, f64, f64, f64)]) -> RunData {
        use crate::costs::tests::{run, timing};
        use crate::costs::{PhaseMark, PhaseTime};
        let mut r = run("integration", 10.0);
        r.jobs = jobs;
        r.cores_allowed = Some(cores);
        r.tests = tests.iter().map(|&(n, s, e, _)| timing(n, s, e)).collect();
        let mark = |at_s: f64, cpu_ms: f64| PhaseMark { at_s, cpu_ms };
        r.phases = tests
            .iter()
            .enumerate()
            .map(|(i, &(n, s, e, cpu))| PhaseTime {
                suite: "wfe".into(),
                test: Some(n.into()),
                pid: i as u32 + 1,
                age_at_touch_ms: Some(1.0),
                touch: mark(s + 0.01, 1.0),
                ready: Some(mark(s + 0.02, 2.0)),
                body_end: Some(mark(e - 0.02, cpu * 1e3 - 1.0)),
                exit: mark(e - 0.01, cpu * 1e3),
            })
            .collect();
        let total: f64 = tests.iter().map(|t| t.3).sum();
        let end = tests.iter().map(|t| t.2).fold(0.0, f64::max);
        let last = r.cpu_series.len() - 1;
        r.cpu_series[last] = crate::costs::CpuPoint {
            at_s: end,
            tests_s: total,
            services_s: 0.0,
            runner_s: 0.0,
            machine_s: total,
        };
        r.wall_s = end;
        r
    }

    #[test]
    fn the_cpu_growth_is_fitted_from_the_oversubscribed_runs_own_cpu() {
        let groups = TestGroups::default();
        // Alone on one core, `a` and `b` compute 0.5 s each; at -j 2 on that core they run
        // together throughout (oversubscription 1) and compute 0.6 s each: +20% per unit.
        let base = run_of(1, 1, &[("a", 0.0, 1.0, 0.5), ("b", 1.0, 2.0, 0.5)]);
        let target = run_of(2, 1, &[("a", 0.0, 2.0, 0.6), ("b", 0.0, 2.0, 0.6)]);
        let fit = fit_contention(&[&base, &target], &groups).expect("one oversubscribed run");
        assert_eq!(fit.runs, 1);
        assert!((fit.contention.cpu_growth - 0.2).abs() < 1e-6, "{fit:?}");
        // Tests that compute less together than alone do not make the growth negative.
        let cheaper = run_of(2, 1, &[("a", 0.0, 2.0, 0.4), ("b", 0.0, 2.0, 0.4)]);
        let fit = fit_contention(&[&base, &cheaper], &groups).expect("fitted");
        assert_eq!(fit.contention.cpu_growth, 0.0, "{fit:?}");
        // Runs whose tests never outnumber the cores say nothing: no fit.
        let fits = run_of(2, 2, &[("a", 0.0, 1.0, 0.5), ("b", 0.0, 1.0, 0.5)]);
        let base2 = run_of(1, 2, &[("a", 0.0, 1.0, 0.5), ("b", 1.0, 2.0, 0.5)]);
        assert_eq!(fit_contention(&[&base2, &fits], &groups), None);
        assert_eq!(fit_contention(&[&base], &groups), None);
    }

    #[test]
    fn a_test_faster_than_its_cpu_allows_leaves_a_residual() {
        // 2 CPU-seconds in 1 s is two cores at once, which one slot of the model cannot do.
        let (tests, residual) = calibrate(&[2.0], &[1.0], 1, 2.0);
        assert_eq!(tests[0].wait_s, 0.0);
        assert!(close(residual, 1.0), "{residual}");
    }
}
