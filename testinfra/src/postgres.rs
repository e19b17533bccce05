//! Runs a private PostgreSQL server: `initdb` into a fresh directory of the run, a free
//! loopback port, a random password, unix sockets inside the data directory, and durability
//! switched off (test data need not survive a crash; fsync costs seconds per run).
//!
//! ```no_run
//! # fn main() -> testinfra::Result<()> {
//! let run = testinfra::RunDir::for_process()?;
//! let mut pg = testinfra::postgres::start(&run, testinfra::postgres::Options::default())?;
//! let url = pg.url(); // postgres://postgres:<password>@127.0.0.1:<port>/postgres
//! pg.stop()?;         // e.g. to test behaviour while the database is down
//! pg.start()?;        // same data, same port
//! # Ok(()) }
//! ```

use std::fs;
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::{Uid, User, chown};

use crate::binaries::{self, PostgresBinaries};
use crate::daemon::{self, Daemon};
use crate::error::{Error, Result};
use crate::logs;
use crate::ports;
use crate::process::ProcId;
use crate::run_dir::{RunDir, world_traversable};
use crate::secret;

const COMPONENT: &str = "PostgreSQL";

/// The superuser and database every URL names.
pub const USER: &str = "postgres";
const DATABASE: &str = "postgres";

/// The account PostgreSQL runs as when we are root (it refuses to run as root); Debian's
/// postgresql package creates it.
const SYSTEM_USER: &str = "postgres";

/// Readiness normally takes well under a second; the slack covers a machine loaded by parallel
/// builds and test runs.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// `initdb` takes about a second; same slack as above.
const INITDB_TIMEOUT: Duration = Duration::from_secs(120);

/// Fast shutdown (SIGINT) normally takes milliseconds; after this, SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Unix socket paths are limited to 108 bytes including the socket's file name
/// (`.s.PGSQL.<port>`, 17 bytes); longer directories get no unix socket (TCP only).
const MAX_SOCKET_DIR_LEN: usize = 90;

/// Random characters that keep data directories in /tmp apart (run keys of run directories
/// under different roots may be equal).
const TMP_SUFFIX_LEN: usize = 8;

/// Test suites open a connection pool per test process; the default 100 is too few for a
/// parallel run against one server.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 500;

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Names the data directory and log file within the run directory (several servers may
    /// share a run).
    pub name: String,
    /// A fixed port; `None` picks a free one.
    pub port: Option<u16>,
    /// `max_connections`.
    pub max_connections: u32,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: "postgres".into(),
            port: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }
}

/// A PostgreSQL server we started. Dropping it stops the server unless [`Postgres::detach`]ed.
#[derive(Debug)]
pub struct Postgres {
    run: RunDir,
    bins: PostgresBinaries,
    opts: Options,
    pgdata: PathBuf,
    socket_dir: Option<PathBuf>,
    log: PathBuf,
    port: u16,
    password: String,
    user: Option<(u32, u32)>,
    daemon: Option<Daemon>,
    detached: bool,
}

/// A temporary directory the postgres account can reach: `TMPDIR` when it can, else `/tmp`.
/// Under nextest the setup script points the tests' `TMPDIR` into the run directory, which can be
/// below a private home as well.
fn daemon_tmp() -> PathBuf {
    let tmp = std::env::temp_dir();
    if crate::run_dir::world_traversable(&tmp.join("x")) {
        tmp
    } else {
        PathBuf::from("/tmp")
    }
}

/// Creates a cluster in `run` and starts the server.
pub fn start(run: &RunDir, opts: Options) -> Result<Postgres> {
    let bins = binaries::postgres()?;
    let user = daemon_user()?;
    let mut base = run.data_path(&opts.name);
    if user.is_some() && !world_traversable(&base) {
        // The postgres account cannot reach a data directory below a private home (a clone in
        // /root): keep its data in /tmp and let the supervisor remove it.
        let unique: String = secret::random_secret()
            .chars()
            .take(TMP_SUFFIX_LEN)
            .collect();
        base = daemon_tmp().join(format!("testinfra-{}-{}-{unique}", run.key(), opts.name));
        run.register_cleanup(&base)?;
    }
    fs::create_dir_all(&base).map_err(Error::io(COMPONENT, "create data directory", &base))?;
    if let Some((uid, gid)) = user {
        chown(&base, Some(uid.into()), Some(gid.into())).map_err(|e| {
            Error::io(
                COMPONENT,
                "hand data directory to the postgres account",
                &base,
            )(e.into())
        })?;
    }
    let pgdata = base.join("pgdata");
    let log = run.log_path(&opts.name);
    let password = secret::random_secret();
    initdb(
        &bins,
        &base,
        &pgdata,
        &password,
        user,
        &run.log_path(&format!("{}-initdb", opts.name)),
    )?;
    let socket_dir = (pgdata.as_os_str().len() <= MAX_SOCKET_DIR_LEN).then(|| pgdata.clone());
    let mut pg = Postgres {
        run: run.clone(),
        bins,
        port: 0,
        opts,
        pgdata,
        socket_dir,
        log,
        password,
        user,
        daemon: None,
        detached: false,
    };
    pg.launch()?;
    Ok(pg)
}

fn daemon_user() -> Result<Option<(u32, u32)>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    match User::from_name(SYSTEM_USER) {
        Ok(Some(u)) => Ok(Some((u.uid.as_raw(), u.gid.as_raw()))),
        _ => Err(Error::NoUnprivilegedUser { user: SYSTEM_USER }),
    }
}

fn initdb(
    bins: &PostgresBinaries,
    base: &Path,
    pgdata: &Path,
    password: &str,
    user: Option<(u32, u32)>,
    log: &Path,
) -> Result<()> {
    let pwfile = base.join("pwfile");
    secret::write_secret(COMPONENT, &pwfile, password)?;
    if let Some((uid, gid)) = user {
        chown(&pwfile, Some(uid.into()), Some(gid.into())).map_err(|e| {
            Error::io(
                COMPONENT,
                "hand password file to the postgres account",
                &pwfile,
            )(e.into())
        })?;
    }
    let (out, err) = logs::stdio(COMPONENT, log)?;
    let mut cmd = Command::new(&bins.initdb);
    // A working directory the postgres account can enter (ours may be a private home).
    cmd.current_dir(base)
        .arg("-D")
        .arg(pgdata)
        .args([
            "-U",
            USER,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(gid);
    }
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        component: COMPONENT,
        program: bins.initdb.clone(),
        source,
    })?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < INITDB_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => {
                if let Some(id) = ProcId::of(pid) {
                    id.terminate(Signal::SIGKILL, STOP_GRACE);
                }
                let _ = child.wait();
                break None;
            }
        }
    };
    let _ = fs::remove_file(&pwfile);
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(Error::StepFailed {
            component: COMPONENT,
            step: "initdb",
            status: s.to_string(),
            log: log.to_path_buf(),
            tail: logs::tail(log),
        }),
        None => Err(Error::NotReady {
            component: "PostgreSQL initdb",
            after: INITDB_TIMEOUT,
            log: log.to_path_buf(),
            tail: logs::tail(log),
        }),
    }
}

impl Postgres {
    /// `postgres://postgres:<password>@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{DATABASE}",
            self.password, self.port
        )
    }

    /// The TCP port (kept across [`Postgres::stop`] / [`Postgres::start`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The postmaster's identity while it runs.
    pub fn process(&self) -> Option<ProcId> {
        self.daemon.as_ref().map(|d| d.id)
    }

    /// Whether the server process runs.
    pub fn is_running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(Daemon::is_running)
    }

    /// Stops the server (fast shutdown: open connections are cut). Data is kept.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut d) = self.daemon.take() {
            d.stop(Signal::SIGINT, STOP_GRACE);
        }
        Ok(())
    }

    /// Starts the stopped server again on the same port with the same data.
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.launch()
    }

    /// Leaves the server running when this handle is dropped: from now on only the run's
    /// supervisor stops it.
    pub fn detach(mut self) {
        self.detached = true;
    }

    fn launch(&mut self) -> Result<()> {
        let fixed = self.opts.port.or((self.port != 0).then_some(self.port));
        let log = self.log.clone();
        ports::launch_with_retry(COMPONENT, fixed, &log, |port| self.launch_on(port))
    }

    fn launch_on(&mut self, port: u16) -> Result<()> {
        // A stale pid file from a killed server would make the new one refuse to start.
        let _ = fs::remove_file(self.pgdata.join("postmaster.pid"));
        let socket_dirs = self
            .socket_dir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let args = vec![
            "-D".into(),
            self.pgdata.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            format!("unix_socket_directories={socket_dirs}"),
            "-c".into(),
            format!("max_connections={}", self.opts.max_connections),
            // Durability off: test data need not survive a crash of the machine.
            "-c".into(),
            "fsync=off".into(),
            "-c".into(),
            "synchronous_commit=off".into(),
            "-c".into(),
            "full_page_writes=off".into(),
        ];
        let spec = daemon::Spec {
            component: COMPONENT,
            program: &self.bins.postgres,
            args,
            log: self.log.clone(),
            dir: &self.pgdata,
            user: self.user,
            stop_signal: Signal::SIGINT,
            name: self.opts.name.clone(),
        };
        let log_len = fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let mut daemon = daemon::spawn(&self.run, &spec)?;
        let pidfile = self.pgdata.join("postmaster.pid");
        let ready = daemon.wait_ready(COMPONENT, &self.log, self.opts.ready_timeout, || {
            postmaster_ready(&pidfile) && TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
        });
        match ready {
            Ok(()) => {
                self.port = port;
                self.daemon = Some(daemon);
                Ok(())
            }
            Err(e) => {
                daemon.stop(Signal::SIGINT, STOP_GRACE);
                if new_log_says_in_use(&self.log, log_len) {
                    return Err(Error::PortTaken {
                        component: COMPONENT,
                        port,
                        log: self.log.clone(),
                    });
                }
                Err(e)
            }
        }
    }
}

/// Whether only the part of the log written since `offset` reports a bind conflict (earlier
/// attempts are in the same file).
fn new_log_says_in_use(log: &Path, offset: u64) -> bool {
    fs::read(log)
        .map(|b| {
            String::from_utf8_lossy(b.get(offset as usize..).unwrap_or_default())
                .contains("Address already in use")
        })
        .unwrap_or_else(|_| logs::says_address_in_use(log))
}

/// PostgreSQL writes its state as the 8th line of `postmaster.pid`; "ready" means it accepts
/// connections.
fn postmaster_ready(pidfile: &Path) -> bool {
    fs::read_to_string(pidfile).is_ok_and(|t| t.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if !self.detached {
            let _ = self.stop();
        }
    }
}
