//! Measures the memory of a run's test processes, and the machine's CPU use, from `/proc`.
//!
//! A sample sums the resident set size of every process whose parent chain leads to the
//! nextest command the runner started, except the tools around the tests (cargo, rustc,
//! nextest itself) and the shared infrastructure (PostgreSQL, Redis, DataStorage, the setup
//! script and its supervisor): those are the same for every `-j`, so they would only blur what
//! the per-process pattern costs. The root is a parameter so tests can use a fake tree.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Process names (`/proc/<pid>/comm`, at most 15 bytes) that are not test processes.
/// Everything these start is left out too (a build's linkers and build scripts, the daemons'
/// children), except under nextest, whose children are the tests.
const EXCLUDED_COMMS: &[&str] = &[
    "cargo",
    "rustc",
    "cargo-nextest",
    "ds-bootstrap",
    "single-bootstra", // single-bootstrap, cut to 15 bytes
    "cluster-bootstr", // cluster-bootstrap (its clean-up runs after each test process)
    "apiserver",
    "kubernaut-manag", // kubernaut-manager
    "postgres",
    "redis-server",
    "datastorage",
    "initdb",
];

/// The test runner: excluded itself, but its children are the test processes.
const RUNNER_COMM: &str = "cargo-nextest";

/// Command-line fragments of infrastructure processes whose name says nothing (the supervisor
/// is a `/bin/sh -c` script named by its `$0`).
const EXCLUDED_CMDLINE: &[&str] = &["testinfra-supervisor"];

/// One process as `/proc` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    /// The process id.
    pub pid: u32,
    /// The parent's process id.
    pub ppid: u32,
    /// The name (`comm`).
    pub comm: String,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

/// One look at a run's processes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Σ RSS of the test processes, in bytes.
    pub rss_bytes: u64,
    /// The test processes counted.
    pub pids: Vec<u32>,
}

/// The machine's CPU counters (`/proc/stat`'s first line), in clock ticks summed over every
/// core since boot. Two readings give the busy share of an interval without knowing the tick
/// rate: busy ticks ÷ all ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTicks {
    /// user + nice + system + irq + softirq + steal.
    pub busy: u64,
    /// busy + idle + iowait.
    pub total: u64,
    /// Online cores (`cpuN` lines).
    pub cores: u32,
}

impl CpuTicks {
    /// The busy fraction of all cores between `earlier` and `self`; `None` when no tick passed
    /// or the counters went backwards (they do not, short of a reboot).
    pub fn busy_since(&self, earlier: &CpuTicks) -> Option<f64> {
        let busy = self.busy.checked_sub(earlier.busy)?;
        let total = self.total.checked_sub(earlier.total)?;
        (total > 0).then(|| busy as f64 / total as f64)
    }
}

/// Reads a `/proc`-like directory.
#[derive(Clone, Debug)]
pub struct ProcFs {
    root: PathBuf,
}

impl ProcFs {
    /// The real `/proc`.
    pub fn system() -> ProcFs {
        ProcFs {
            root: PathBuf::from("/proc"),
        }
    }

    /// A `/proc`-like tree at `root` (tests).
    pub fn at(root: impl Into<PathBuf>) -> ProcFs {
        ProcFs { root: root.into() }
    }

    /// The machine's CPU counters now; `None` when `stat` is missing or not in the kernel's
    /// format.
    pub fn cpu_ticks(&self) -> Option<CpuTicks> {
        parse_cpu_ticks(&std::fs::read_to_string(self.root.join("stat")).ok()?)
    }

    /// Every process that can be read now. Processes that exit while being read are skipped.
    pub fn processes(&self) -> Vec<ProcInfo> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| self.process(pid))
            .collect()
    }

    /// One process, or `None` when it is gone or unreadable.
    pub fn process(&self, pid: u32) -> Option<ProcInfo> {
        let dir = self.root.join(pid.to_string());
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        let (comm, ppid) = parse_stat(&stat)?;
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        // Kernel threads and zombies have no VmRSS line: they hold no memory of their own.
        let rss_bytes = parse_vm_rss_kib(&status).unwrap_or(0) * 1024;
        Some(ProcInfo {
            pid,
            ppid,
            comm,
            rss_bytes,
        })
    }

    /// The command line of `pid`, arguments joined by spaces.
    pub fn cmdline(&self, pid: u32) -> Option<String> {
        let raw = std::fs::read(self.root.join(pid.to_string()).join("cmdline")).ok()?;
        Some(
            raw.split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
                .trim()
                .to_owned(),
        )
    }

    /// A file of `self/` (this process), e.g. `status`.
    pub fn read_self(&self, file: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join("self").join(file)).ok()
    }

    /// The value of environment variable `key` of `pid` (readable for our own processes).
    pub fn environ_var(&self, pid: u32, key: &str) -> Option<String> {
        let raw = std::fs::read(self.root.join(pid.to_string()).join("environ")).ok()?;
        raw.split(|b| *b == 0).find_map(|entry| {
            let entry = std::str::from_utf8(entry).ok()?;
            let (k, v) = entry.split_once('=')?;
            (k == key).then(|| v.to_owned())
        })
    }

    /// Sums the RSS of the test processes under `root_pid`; `cmdlines` caches each pid's
    /// exclusion verdict so a process's command line is read once.
    pub fn sample(&self, root_pid: u32, verdicts: &mut HashMap<u32, bool>) -> Sample {
        self.sample_in(&self.cpu_table(), root_pid, verdicts)
    }

    /// [`ProcFs::sample`] over a table read already (one read of every `stat` per sample
    /// serves the memory sample and the CPU tracker).
    pub fn sample_in(
        &self,
        cpu_table: &HashMap<u32, ProcCpu>,
        root_pid: u32,
        verdicts: &mut HashMap<u32, bool>,
    ) -> Sample {
        // Only `stat` of every process (for the parent chain); `status` only of the run's own.
        let table: HashMap<u32, (u32, String)> = cpu_table
            .iter()
            .map(|(&pid, p)| (pid, (p.ppid, p.comm.clone())))
            .collect();
        let parents: HashMap<u32, u32> =
            table.iter().map(|(&pid, (ppid, _))| (pid, *ppid)).collect();
        let under = descendants(root_pid, &parents);
        let mut sample = Sample::default();
        for p in under.iter().filter_map(|&pid| self.process(pid)) {
            let counted = *verdicts.entry(p.pid).or_insert_with(|| {
                self.is_test_process(&p) && !self.under_a_tool(p.ppid, root_pid, &table)
            });
            if counted {
                sample.rss_bytes += p.rss_bytes;
                sample.pids.push(p.pid);
            }
        }
        sample.pids.sort_unstable();
        sample
    }

    /// pid → parent pid of every process that can be read now.
    pub fn parents(&self) -> HashMap<u32, u32> {
        self.cpu_table()
            .into_iter()
            .map(|(pid, p)| (pid, p.ppid))
            .collect()
    }

    /// pid → (parent pid, name, CPU ticks used so far: user + system) of every process that
    /// can be read now.
    pub fn cpu_table(&self) -> HashMap<u32, ProcCpu> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return HashMap::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat =
                    std::fs::read_to_string(self.root.join(pid.to_string()).join("stat")).ok()?;
                let (comm, ppid) = parse_stat(&stat)?;
                // A stat line too short for CPU times (a fake one in tests) counts as none.
                let ticks = parse_stat_cpu_ticks(&stat).unwrap_or(0);
                Some((pid, ProcCpu { ppid, comm, ticks }))
            })
            .collect()
    }

    /// Whether `pid` or one of its ancestors below `root` is an excluded tool (other than the
    /// test runner): a compiler's linker, a setup script's daemon.
    fn under_a_tool(&self, mut pid: u32, root: u32, table: &HashMap<u32, (u32, String)>) -> bool {
        for _ in 0..=table.len() {
            if pid == root {
                return false;
            }
            let Some((ppid, comm)) = table.get(&pid) else {
                return false;
            };
            if comm != RUNNER_COMM && EXCLUDED_COMMS.contains(&comm.as_str()) {
                return true;
            }
            pid = *ppid;
        }
        false
    }

    fn is_test_process(&self, p: &ProcInfo) -> bool {
        if EXCLUDED_COMMS.contains(&p.comm.as_str()) {
            return false;
        }
        let cmdline = self.cmdline(p.pid).unwrap_or_default();
        !EXCLUDED_CMDLINE.iter().any(|frag| cmdline.contains(frag))
    }
}

/// Every pid whose parent chain reaches `root` (excluding `root`).
pub fn descendants(root: u32, parents: &HashMap<u32, u32>) -> HashSet<u32> {
    let mut out = HashSet::new();
    for &pid in parents.keys() {
        let mut chain = Vec::new();
        let mut cur = pid;
        // The chain is at most as long as the table; a cycle (pid reuse mid-read) ends it.
        for _ in 0..=parents.len() {
            if cur == root {
                out.extend(chain.iter().copied());
                break;
            }
            if out.contains(&cur) {
                out.extend(chain.iter().copied());
                break;
            }
            chain.push(cur);
            match parents.get(&cur) {
                Some(&parent) if parent != 0 && parent != cur => cur = parent,
                _ => break,
            }
        }
    }
    out.remove(&root);
    out
}

/// `/proc/stat`: `cpu  user nice system idle iowait irq softirq steal guest guest_nice`, then a
/// `cpuN` line per core. Guest time is already inside user and nice, so it is not added again.
fn parse_cpu_ticks(stat: &str) -> Option<CpuTicks> {
    let mut lines = stat.lines();
    let mut fields = lines.next()?.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.map_while(|f| f.parse().ok()).collect();
    if v.len() < 4 {
        return None;
    }
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    let cores = lines
        .filter(|l| {
            l.strip_prefix("cpu")
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .count();
    Some(CpuTicks {
        busy,
        total: busy + at(3) + at(4),
        cores: u32::try_from(cores).ok().filter(|&c| c > 0)?,
    })
}

/// One process's CPU use as `/proc/<pid>/stat` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcCpu {
    /// The parent's process id.
    pub ppid: u32,
    /// The name (`comm`).
    pub comm: String,
    /// user + system time so far, in clock ticks ([`USER_HZ`] per second).
    pub ticks: u64,
}

/// The unit of `/proc`'s CPU times: the kernel reports them in `USER_HZ` ticks, which is 100
/// per second on every architecture Linux runs this workspace on (x86-64, arm64), whatever the
/// kernel's internal tick rate.
pub const USER_HZ: f64 = 100.0;

/// Fields 14 and 15 of `/proc/<pid>/stat` (utime, stime), summed; counting starts after the
/// name's last `)`, where field 3 is.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `pid (comm) S ppid ...` → (comm, ppid). The name may hold spaces and parentheses, so it
/// ends at the last `)`.
fn parse_stat(stat: &str) -> Option<(String, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, ppid))
}

/// The `VmRSS:   1234 kB` line of `/proc/<pid>/status`.
fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        l.strip_prefix("VmRSS:")?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

/// Writes a fake process into a `/proc`-like tree (for tests of this crate and its users).
pub fn write_fake_process(
    root: &Path,
    pid: u32,
    ppid: u32,
    comm: &str,
    rss_kib: Option<u64>,
    cmdline: &[&str],
) -> std::io::Result<()> {
    let dir = root.join(pid.to_string());
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("stat"),
        format!("{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 0 0 0 0"),
    )?;
    let rss = rss_kib
        .map(|k| format!("VmRSS:\t{k:>8} kB\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.join("status"),
        format!("Name:\t{comm}\nPPid:\t{ppid}\n{rss}Threads:\t1\n"),
    )?;
    let mut raw = Vec::new();
    for arg in cmdline {
        raw.extend_from_slice(arg.as_bytes());
        raw.push(0);
    }
    std::fs::write(dir.join("cmdline"), raw)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_test_processes_under_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // 100 = the `cargo nextest` we started; 101 = cargo-nextest; 102 = a cargo build check.
        write_fake_process(
            root,
            100,
            1,
            "cargo",
            Some(50_000),
            &["cargo", "nextest", "run"],
        )
        .unwrap();
        write_fake_process(
            root,
            101,
            100,
            "cargo-nextest",
            Some(40_000),
            &["cargo-nextest"],
        )
        .unwrap();
        write_fake_process(root, 102, 101, "cargo", Some(30_000), &["cargo"]).unwrap();
        // Two test processes, one with a child it re-executed.
        write_fake_process(
            root,
            110,
            101,
            "workflowexecut",
            Some(1_000),
            &["wfe", "--exact", "a"],
        )
        .unwrap();
        write_fake_process(
            root,
            111,
            101,
            "fixture-d0b1c2",
            Some(2_000),
            &["fixture", "--exact", "b"],
        )
        .unwrap();
        write_fake_process(
            root,
            112,
            111,
            "fixture-d0b1c2",
            Some(500),
            &["fixture", "--exact", "probe"],
        )
        .unwrap();
        // The setup script and the supervisor it started, still under nextest at this instant.
        write_fake_process(
            root,
            120,
            101,
            "ds-bootstrap",
            Some(9_000),
            &["ds-bootstrap"],
        )
        .unwrap();
        write_fake_process(
            root,
            121,
            120,
            "sh",
            Some(700),
            &["/bin/sh", "-c", "...", "testinfra-supervisor"],
        )
        .unwrap();
        // A linker under the build's rustc, a build script under cargo: tools, not tests.
        write_fake_process(root, 130, 102, "rustc", Some(300_000), &["rustc"]).unwrap();
        write_fake_process(root, 131, 130, "cc", Some(200_000), &["cc"]).unwrap();
        write_fake_process(
            root,
            132,
            102,
            "build-script-bu",
            Some(10_000),
            &["build-script-build"],
        )
        .unwrap();
        // A zombie (no VmRSS) and a process of someone else.
        write_fake_process(root, 113, 101, "gone", None, &[]).unwrap();
        write_fake_process(root, 200, 1, "workflowexecut", Some(99_000), &["other"]).unwrap();
        std::fs::create_dir_all(root.join("self")).unwrap();

        let mut verdicts = HashMap::new();
        let s = ProcFs::at(root).sample(100, &mut verdicts);
        assert_eq!(s.pids, vec![110, 111, 112, 113]);
        assert_eq!(s.rss_bytes, 3_500 * 1024);
        // Verdicts are cached per pid.
        assert_eq!(verdicts.get(&121), Some(&false));
        assert_eq!(verdicts.get(&110), Some(&true));
    }

    #[test]
    fn cpu_times_of_a_process_are_user_plus_system() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 10 0 0 0 30 12 0 0 20 0 1 0 99 1000 10";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(42));
        assert_eq!(parse_stat_cpu_ticks("42 (x) S 1 2"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("42")).unwrap();
        std::fs::write(dir.path().join("42/stat"), stat).unwrap();
        let table = ProcFs::at(dir.path()).cpu_table();
        assert_eq!(
            table.get(&42),
            Some(&ProcCpu {
                ppid: 1,
                comm: "a (b) c".into(),
                ticks: 42
            })
        );
    }

    #[test]
    fn cpu_counters_give_the_busy_share_of_an_interval() {
        let dir = tempfile::tempdir().unwrap();
        let procfs = ProcFs::at(dir.path());
        assert_eq!(procfs.cpu_ticks(), None, "no stat file");
        let stat = |user: u64, idle: u64| {
            format!(
                "cpu  {user} 0 10 {idle} 5 1 2 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 1 2 3\nctxt 99\n"
            )
        };
        std::fs::write(dir.path().join("stat"), stat(100, 1000)).unwrap();
        let before = procfs.cpu_ticks().unwrap();
        assert_eq!(
            before,
            CpuTicks {
                busy: 113,
                total: 1118,
                cores: 2
            }
        );
        // 300 busy and 100 idle ticks later: 75% busy.
        std::fs::write(dir.path().join("stat"), stat(400, 1100)).unwrap();
        let after = procfs.cpu_ticks().unwrap();
        assert_eq!(after.busy_since(&before), Some(0.75));
        assert_eq!(before.busy_since(&after), None, "counters never go back");
        assert_eq!(after.busy_since(&after), None, "no time passed");
        std::fs::write(dir.path().join("stat"), "intr 1 2 3\n").unwrap();
        assert_eq!(procfs.cpu_ticks(), None, "not the kernel's format");
        std::fs::write(dir.path().join("stat"), "cpu  1 2\ncpu0 1 2\n").unwrap();
        assert_eq!(procfs.cpu_ticks(), None, "too few fields");
    }

    #[test]
    fn reads_names_with_spaces_and_parentheses() {
        assert_eq!(
            parse_stat("7 (a (b) c) R 3 7 7"),
            Some(("a (b) c".to_owned(), 3))
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_vm_rss_kib("Name:\tx\nVmRSS:\t   12 kB\n"), Some(12));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn a_parent_cycle_does_not_hang() {
        let parents: HashMap<u32, u32> = [(5, 6), (6, 5), (7, 1), (8, 7)].into_iter().collect();
        assert_eq!(descendants(7, &parents), HashSet::from([8]));
        assert!(descendants(42, &parents).is_empty());
    }

    #[test]
    fn reads_one_environment_variable() {
        let dir = tempfile::tempdir().unwrap();
        write_fake_process(dir.path(), 5, 1, "t", Some(1), &["t"]).unwrap();
        std::fs::write(
            dir.path().join("5/environ"),
            b"A=1\0NEXTEST_RUN_ID=abc-def\0B=x=y\0",
        )
        .unwrap();
        let fs = ProcFs::at(dir.path());
        assert_eq!(
            fs.environ_var(5, "NEXTEST_RUN_ID").as_deref(),
            Some("abc-def")
        );
        assert_eq!(fs.environ_var(5, "B").as_deref(), Some("x=y"));
        assert_eq!(fs.environ_var(5, "C"), None);
        assert_eq!(fs.environ_var(6, "A"), None);
        assert_eq!(fs.cmdline(5).as_deref(), Some("t"));
    }
}
