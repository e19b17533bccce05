//! An embedded Kubernetes API server for tests: the real Kubernetes HTTP API (HTTPS on a
//! loopback port, or plain HTTP) served from memory, ready in about a millisecond, with CRDs
//! (structural schemas, defaulting, pruning, CEL rules), watches, server-side apply, status and
//! scale subresources, garbage collection and namespace deletion. `kube::Client`, kube-runtime
//! watchers, reflectors and Controllers, and `kubectl` talk to it unchanged.
//!
//! One server per test process (or per test) replaces a shared envtest or kind cluster: no
//! etcd, no binaries to download, no state shared between tests. The `fixtures` crate of this
//! workspace builds one per test process, with a controller manager; this crate is the server
//! alone:
//!
//! ```
//! use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
//! use kube::api::{Api, ListParams, ObjectMeta, PostParams};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = apiserver::ApiServer::builder().start().await?; // .crd_dir("config/crd"), .crd(Widget::crd())
//! let client = server.client()?; // a kube::Client on the caller's runtime
//! let ns = Namespace { metadata: ObjectMeta { name: Some("demo".into()), ..Default::default() }, ..Default::default() };
//! Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await?;
//! let cms: Api<ConfigMap> = Api::namespaced(client, "demo");
//! let cm = ConfigMap { metadata: ObjectMeta { name: Some("c".into()), ..Default::default() }, ..Default::default() };
//! cms.create(&PostParams::default(), &cm).await?;
//! let listed = cms.list(&ListParams::default().fields("metadata.name=c")).await?;
//! assert_eq!(listed.items.len(), 1);
//! assert!(server.requests().iter().any(|r| r.verb == "create" && r.resource == "configmaps"));
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Also: `server.write_kubeconfig(path)` for kubectl, `server.faults()` to inject errors and
//! delays, `server.dump_yaml()`, and `ApiServer::watch_violations` (every watch checked against
//! the write history). The same server runs as a binary, `apiserver`.
//!
//! **What differs from a real cluster**: no kubelet (Pods stay `Pending`), no scheduler; of
//! kube-controller-manager only the garbage collector, the namespace controller and the
//! `default` ServiceAccount / `kube-root-ca.crt`; one bearer token with every right (RBAC is not
//! enforced); JSON and YAML only on the wire; storage in memory. The table, with the reason for
//! each, is the crate README's section "What still differs from kube-apiserver 1.37"; the README
//! also lists what is implemented and the measured figures.

mod admission;
mod auth;
mod bootstrap;
mod builtin;
mod catalog;
mod componentstatus;
mod conversion;
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
mod memory;
mod meta;
mod openapi;
mod order;
mod presence;
mod printers;
pub mod protobuf;
mod registry;
mod reqlog;
mod selector;
mod server;
mod smp;
mod start_cache;
mod status;
mod store;
mod strict;
mod subresources;
mod tls;
mod tls_close;
mod tokens;
mod validation;
mod watch;
mod watchcheck;

pub use auth::{DEFAULT_TOKEN_CACHE_TTL, UserInfo};
pub use error::Error;
pub use faults::{Faults, Hold, Injected, Match};
pub use memory::return_freed_memory;
pub use registry::ServiceRangesError;
pub use server::{
    ApiServer, Builder, Commits, DEFAULT_WATCH_HISTORY, DEFAULT_WATCH_HISTORY_BYTES,
    MAX_OBJECT_BYTES,
};
pub use start_cache::keep_cel_trees_in;
pub use status::{ApiError, Cause, Details};
pub use tls::Ca;
pub use validation::decode::keep_decoding_trees_in;
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
    /// Who the request was made as (the user after impersonation, e.g. `admin` or
    /// `system:serviceaccount:ns:name`); "" when it was answered before authentication (a 401,
    /// `/version`, `/healthz`, ...).
    pub user: String,
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
