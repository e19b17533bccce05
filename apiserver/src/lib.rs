//! An embedded Kubernetes API server for tests: real HTTP on loopback, in-memory store, ready in milliseconds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), apiserver::Error> {
//! let server = apiserver::ApiServer::builder().crd_dir("config/crd").start().await?;
//! let client = server.client()?;
//! # drop(client); server.shutdown().await; Ok(()) }
//! ```
//!
//! `kube::Client`, kube-runtime watchers and Controllers, and kubectl talk to it unchanged. See the
//! crate README for what is implemented and the measured figures.

mod bootstrap;
mod builtin;
mod catalog;
mod componentstatus;
mod crd;
mod debug;
pub mod defaults;
mod discovery;
mod error;
mod events;
mod faults;
mod http;
mod jsonpatch;
mod managed;
mod meta;
mod openapi;
mod order;
pub mod protobuf;
mod registry;
mod reqlog;
mod selector;
mod server;
mod smp;
mod status;
mod store;
mod subresources;
mod tls;
mod tokens;
mod validation;
mod watch;
mod watchcheck;

pub use error::Error;
pub use faults::{Faults, Match};
pub use registry::ServiceRangesError;
pub use server::{
    ApiServer, Builder, DEFAULT_WATCH_HISTORY, DEFAULT_WATCH_HISTORY_BYTES, MAX_OBJECT_BYTES,
};
pub use status::{ApiError, Cause, Details};
pub use tls::Ca;
pub use watchcheck::{CHECKED_EVENTS, Problem as WatchProblem, WatchViolation};

/// The Kubernetes version this server imitates.
pub const KUBERNETES_VERSION: &str = "v1.37.0";

/// One request as the server saw it (the request log, for assertions like "one status write per reconcile").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method (`GET`, `PUT`, ...).
    pub method: String,
    /// The URL path without the query.
    pub path: String,
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection ("" if not a resource request).
    pub verb: String,
    pub group: String,
    pub version: String,
    /// Plural resource name, e.g. `pods`.
    pub resource: String,
    /// `status`, `scale`, `eviction`, ... or "".
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// HTTP status code answered.
    pub code: u16,
}

/// `/version`.
fn version_info() -> serde_json::Value {
    serde_json::json!({
        "major": "1",
        "minor": "37",
        "emulationMajor": "1",
        "emulationMinor": "37",
        "gitVersion": KUBERNETES_VERSION,
        "gitCommit": "embedded",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "none (Rust)",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    })
}
