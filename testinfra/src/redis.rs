//! Runs a private Redis server: a free loopback port, a random `requirepass`, no persistence
//! by default (no RDB snapshots, no AOF: test data is disposable and snapshots cost forks and
//! disk). [`Options::append_only`] turns on the append-only file, fsynced on every write, for
//! tests whose data must survive a restart (DataStorage's dead-letter queue).
//!
//! ```no_run
//! # fn main() -> testinfra::Result<()> {
//! let run = testinfra::RunDir::for_process()?;
//! let redis = testinfra::redis::start(&run, testinfra::redis::Options::default())?;
//! let url = redis.url(); // redis://:<password>@127.0.0.1:<port>/0
//! # Ok(()) }
//! ```

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::binaries;
use crate::daemon::{self, Daemon};
use crate::error::{Error, Result};
use crate::ports;
use crate::process::ProcId;
use crate::run_dir::RunDir;
use crate::secret;

const COMPONENT: &str = "Redis";

/// Readiness normally takes milliseconds; the slack covers a machine loaded by parallel builds.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Redis without persistence exits at once on SIGTERM; after this, SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A readiness probe that does not answer within this is retried at the next poll.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Names the data directory and log file within the run directory.
    pub name: String,
    /// A fixed port; `None` picks a free one.
    pub port: Option<u16>,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
    /// Keep the data across [`Redis::stop`] / [`Redis::start`] (and a crash): `appendonly yes`
    /// with `appendfsync always`, so every acknowledged write is on disk first.
    pub append_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: "redis".into(),
            port: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            append_only: false,
        }
    }
}

/// A Redis server we started. Dropping it stops the server unless [`Redis::detach`]ed.
#[derive(Debug)]
pub struct Redis {
    run: RunDir,
    program: PathBuf,
    opts: Options,
    dir: PathBuf,
    log: PathBuf,
    port: u16,
    password: String,
    daemon: Option<Daemon>,
    detached: bool,
}

/// Starts a server in `run`.
pub fn start(run: &RunDir, opts: Options) -> Result<Redis> {
    let program = binaries::redis()?;
    let dir = run.data_path(&opts.name);
    fs::create_dir_all(&dir).map_err(Error::io(COMPONENT, "create data directory", &dir))?;
    let mut redis = Redis {
        run: run.clone(),
        program,
        log: run.log_path(&opts.name),
        opts,
        dir,
        port: 0,
        password: secret::random_secret(),
        daemon: None,
        detached: false,
    };
    redis.launch()?;
    Ok(redis)
}

impl Redis {
    /// `redis://:<password>@127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}/0", self.password, self.port)
    }

    /// The TCP port (kept across [`Redis::stop`] / [`Redis::start`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The server's identity while it runs.
    pub fn process(&self) -> Option<ProcId> {
        self.daemon.as_ref().map(|d| d.id)
    }

    /// Whether the server process runs.
    pub fn is_running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(Daemon::is_running)
    }

    /// Stops the server; its data is lost unless [`Options::append_only`] was set.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut d) = self.daemon.take() {
            d.stop(Signal::SIGTERM, STOP_GRACE);
        }
        Ok(())
    }

    /// Starts the stopped server again on the same port.
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
        // The password goes in a 0600 config file, not on the command line (visible in ps).
        let conf = self.dir.join("redis.conf");
        let persistence = if self.opts.append_only {
            "appendonly yes\nappendfsync always\n"
        } else {
            "appendonly no\n"
        };
        let text = format!(
            "bind 127.0.0.1\nport {port}\nrequirepass {}\nsave \"\"\n{persistence}dir {}\ndaemonize no\nprotected-mode yes\nlogfile \"\"\n",
            self.password,
            self.dir.display()
        );
        secret::write_secret(COMPONENT, &conf, &text)?;
        let spec = daemon::Spec {
            component: COMPONENT,
            program: &self.program,
            args: vec![conf.display().to_string()],
            log: self.log.clone(),
            dir: &self.dir,
            user: None,
            stop_signal: Signal::SIGTERM,
            name: self.opts.name.clone(),
        };
        let log_len = fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let mut daemon = daemon::spawn(&self.run, &spec)?;
        let password = self.password.clone();
        match daemon.wait_ready(COMPONENT, &self.log, self.opts.ready_timeout, || {
            ping(port, &password)
        }) {
            Ok(()) => {
                self.port = port;
                self.daemon = Some(daemon);
                Ok(())
            }
            Err(e) => {
                daemon.stop(Signal::SIGTERM, STOP_GRACE);
                let new = fs::read(&self.log)
                    .map(|b| b.get(log_len as usize..).unwrap_or_default().to_vec())
                    .unwrap_or_default();
                if String::from_utf8_lossy(&new).contains("Address already in use") {
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

/// `AUTH` + `PING` over a raw connection: ready means both answered.
fn ping(port: u16, password: &str) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(PROBE_TIMEOUT));
    let _ = s.set_write_timeout(Some(PROBE_TIMEOUT));
    let cmd = format!(
        "*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n",
        password.len()
    );
    if s.write_all(cmd.as_bytes()).is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"+PONG\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if got.starts_with(b"-") {
            return false;
        }
    }
    got.starts_with(b"+OK\r\n")
}

impl Drop for Redis {
    fn drop(&mut self) {
        if !self.detached {
            let _ = self.stop();
        }
    }
}
