//! The errors the library API returns (HTTP errors are `status::ApiError`, sent as metav1.Status).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::status::ApiError;

/// Why starting the server or using its handle failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CRD directory or file could not be read.
    #[error(
        "failed to read CRDs from {path}: {source}; check that the path exists and is readable"
    )]
    ReadCrds {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A CRD file is not valid YAML.
    #[error(
        "failed to parse {path} as YAML: {message}; fix the file or remove it from the CRD directory"
    )]
    ParseCrds { path: PathBuf, message: String },
    /// A document in a CRD file is not a CustomResourceDefinition.
    #[error(
        "{path} contains a {kind} document, not a CustomResourceDefinition; keep only CRDs in CRD directories"
    )]
    NotACrd { path: PathBuf, kind: String },
    /// A CRD was rejected like kube-apiserver would reject it.
    #[error("the CRD {name} from {origin} was rejected: {source}; fix the CRD")]
    InvalidCrd {
        name: String,
        origin: String,
        #[source]
        source: ApiError,
    },
    /// An object given to `Builder::object` was refused as kube-apiserver would refuse it.
    #[error("the start object {what} was refused: {source}; fix the object or leave it out")]
    StartObject {
        what: String,
        #[source]
        source: ApiError,
    },
    /// The listen address could not be bound.
    #[error("failed to listen on {addr}: {source}; pick a free address or 127.0.0.1:0")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A ServiceAccount token was asked for a ServiceAccount that cannot be read.
    #[error(
        "cannot sign a token for ServiceAccount {namespace}/{name}: {source}; create the ServiceAccount first"
    )]
    ServiceAccount {
        namespace: String,
        name: String,
        #[source]
        source: crate::status::ApiError,
    },
    /// `service_cidr` or `node_port_range` does not parse.
    #[error("the service ranges were refused: {0}")]
    ServiceRanges(#[from] crate::registry::ServiceRangesError),
    /// `start()` was called outside a tokio runtime.
    #[error("ApiServer::start must run inside a tokio runtime (the server's tasks run on it)")]
    NoRuntime,
    /// The kubeconfig file could not be written.
    #[error(
        "failed to write the kubeconfig {path}: {source}; check that its directory exists and is writable"
    )]
    WriteKubeconfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A kube client could not be built (must be called inside a tokio runtime).
    #[error(
        "failed to build a kube client for {url}: {source}; call client() inside a tokio runtime"
    )]
    Client {
        url: String,
        #[source]
        source: kube::Error,
    },
    /// A fault rule asked for a status code that is not an error.
    #[error(
        "cannot inject HTTP status {code}: an injected fault must be an error code from 400 to 599"
    )]
    FaultCode { code: u16 },
    /// A certificate or key for the server's TLS could not be made or read.
    #[error(
        "TLS setup failed while {what}: {message}; give a PEM certificate and PKCS#8 PEM key of a CA, or let the server make its own CA"
    )]
    Tls { what: String, message: String },
    /// A CA certificate or key file could not be read.
    #[error("failed to read {path}: {source}; check that the CA files exist and are readable")]
    ReadTls {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A probabilistic fault rule was given a share outside (0, 1].
    #[error(
        "cannot inject faults into a share {share} of requests: the share must be above 0 and at most 1 (e.g. 0.1 for 10%)"
    )]
    FaultShare { share: f64 },
    /// `restart()` was called on a server that was shut down, or whose tokio runtime has ended.
    #[error(
        "the API server was shut down or the tokio runtime it was started on has ended: it cannot be restarted; start a new one on a runtime that outlives it"
    )]
    ShutDown,
}
