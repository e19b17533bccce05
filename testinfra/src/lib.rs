//! Starts and supervises the shared test infrastructure (PostgreSQL, Redis) from local
//! binaries, external URLs or containers, and reads what a setup script exported.
//!
//! Two ways in:
//! - **Once per run** (the nextest setup script `ds-bootstrap`): a [`RunDir`] keyed by
//!   `NEXTEST_RUN_ID`, [`Infra::start`] with [`Provider::from_env`], a supervisor watching the
//!   nextest process, then [`Infra::detach`] so the servers outlive the script. Tests read the
//!   result with [`SharedInfra::from_env`].
//! - **Once per process** (a test that needs its own server, or plain `cargo test` without the
//!   setup script): [`RunDir::for_process`] then [`postgres::start`] / [`redis::start`]. The
//!   handles stop their servers on drop, and the run's supervisor stops them when the process
//!   dies without dropping them (statics, panics, `kill -9`).
//!
//! Nothing here uses global state; every daemon writes to a log file under the run directory,
//! and errors quote that file.

pub mod binaries;
pub mod built;
pub mod ca;
mod daemon;
#[cfg(feature = "docker")]
mod docker;
mod error;
pub mod leaks;
mod logs;
pub mod ports;
pub mod postgres;
pub mod process;
mod provider;
pub mod prune;
pub mod redis;
mod run_dir;
pub mod secret;
mod shared;
mod supervisor;

pub use ca::{CaFiles, TEST_CA_CERT_FILE, TEST_CA_KEY_FILE, write_run_ca};
pub use error::{Error, Result};
pub use process::ProcId;
pub use provider::{INFRA_VAR, Infra, POSTGRES_URL_VAR, Provider, REDIS_URL_VAR};
pub use run_dir::{RunDir, extend_lease, infra_root, remove_leftovers, target_dir};
pub use shared::{
    DS_POSTGRES_URL_FILE, DS_REDIS_URL_FILE, DS_RUN_DIR, DS_TOKEN_FILE, DS_URL, SharedInfra,
};
