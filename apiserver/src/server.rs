//! Owns the server's lifecycle: the builder, CRD loading, the accept loop, and the handle tests use
//! (URL, token, kube config and client, kubeconfig file, request log, shutdown).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::RequestRecord;
use crate::error::Error;
use crate::http::{self, State};
use crate::store::{Store, Target, WriteOpts};

/// Watch events kept for resuming watches and paging lists; a watch or continue token older than
/// this window gets 410 Expired. kube-apiserver's watch cache keeps a comparable number per resource.
pub const DEFAULT_WATCH_HISTORY: usize = 10_000;
/// How long `shutdown()` waits for open connections to finish after cancelling them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Bytes of randomness in the bearer token.
const TOKEN_BYTES: usize = 24;

/// Configures a server before it starts.
#[derive(Debug, Default)]
pub struct Builder {
    crd_dirs: Vec<PathBuf>,
    crds: Vec<(String, Value)>,
    listen: Option<SocketAddr>,
    history: Option<usize>,
    garbage_collection: Option<bool>,
}

impl Builder {
    /// Installs every CRD in `*.yaml`/`*.yml` files of `dir` (multi-document files allowed). Repeatable.
    pub fn crd_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.crd_dirs.push(dir.into());
        self
    }

    /// Installs one CRD value.
    pub fn crd(mut self, crd: CustomResourceDefinition) -> Self {
        let origin = format!(
            "builder CRD {}",
            crd.metadata.name.as_deref().unwrap_or("<unnamed>")
        );
        self.crds
            .push((origin, serde_json::to_value(&crd).unwrap_or(Value::Null)));
        self
    }

    /// Listens on `addr` instead of `127.0.0.1:0`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    /// Keeps `events` watch events (default [`DEFAULT_WATCH_HISTORY`]); small values make 410 Expired easy to test.
    pub fn watch_history(mut self, events: usize) -> Self {
        self.history = Some(events);
        self
    }

    /// Runs the garbage collector and the namespace controller (default: on). Off mimics envtest
    /// exactly: ownerReferences are never followed, `orphan`/`foregroundDeletion` finalizers are
    /// never removed, and a deleted namespace stays Terminating with everything inside it.
    pub fn garbage_collection(mut self, on: bool) -> Self {
        self.garbage_collection = Some(on);
        self
    }

    /// Binds, installs the CRDs and starts serving on the current tokio runtime; ready when this returns.
    pub async fn start(self) -> Result<ApiServer, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let store = Store::new(
            self.history.unwrap_or(DEFAULT_WATCH_HISTORY),
            self.garbage_collection.unwrap_or(true),
        );
        store.bootstrap();
        let mut crds = Vec::new();
        for dir in &self.crd_dirs {
            crds.extend(read_crd_dir(dir)?);
        }
        crds.extend(self.crds);
        for (origin, crd) in crds {
            install_crd(&store, &origin, crd)?;
        }
        let addr = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let token: String = (0..TOKEN_BYTES)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let cancel = CancellationToken::new();
        let state = Arc::new(State {
            store,
            token: token.clone(),
            requests: crate::reqlog::RequestLog::default(),
            faults: crate::faults::Faults::default(),
            cancel: cancel.clone(),
            address: local.to_string(),
        });
        let tracker = TaskTracker::new();
        // Tracked, so that `shutdown()` returns only after the listener is closed.
        runtime.spawn(tracker.track_future(accept_loop(
            listener,
            state.clone(),
            cancel.clone(),
            tracker.clone(),
        )));
        Ok(ApiServer {
            url: format!("http://{local}"),
            addr: local,
            token,
            state,
            cancel,
            tracker,
        })
    }
}

fn install_crd(store: &Store, origin: &str, crd: Value) -> Result<(), Error> {
    let name = crate::meta::meta_str(&crd, "name").to_owned();
    let t = Target {
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        namespace: "",
        name: "",
    };
    store
        .create(&t, crd, &WriteOpts::default())
        .map(|_| ())
        .map_err(|source| Error::InvalidCrd {
            name,
            origin: origin.to_owned(),
            source,
        })
}

/// Reads every CRD document of the YAML files in `dir`, in file-name order.
fn read_crd_dir(dir: &Path) -> Result<Vec<(String, Value)>, Error> {
    let read_err = |source| Error::ReadCrds {
        path: dir.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml") && p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadCrds {
            path: path.clone(),
            source,
        })?;
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| Error::ParseCrds {
                path: path.clone(),
                message: e.to_string(),
            })?;
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let kind = doc
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("<no kind>");
            if kind != "CustomResourceDefinition" {
                return Err(Error::NotACrd {
                    path,
                    kind: kind.to_owned(),
                });
            }
            out.push((path.display().to_string(), doc));
        }
    }
    Ok(out)
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let (stream, _) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Transient accept errors (e.g. out of file descriptors) must not end the server.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::task::yield_now().await;
                    continue;
                }
            },
        };
        // Watch events and small responses must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            let service = hyper::service::service_fn(move |req| http::handle(state.clone(), req));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = cancel.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
                }
            }
        });
    }
}

/// A running API server. Dropping it stops it (without waiting); `shutdown()` waits.
pub struct ApiServer {
    url: String,
    addr: SocketAddr,
    token: String,
    state: Arc<State>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ApiServer {
    /// Starts configuring a server.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token every request must carry.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A kube config for this server (default namespace `default`).
    pub fn kube_config(&self) -> kube::Config {
        let uri = self.url.parse().unwrap_or_default();
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        config.auth_info.token = Some(self.token.clone().into());
        config
    }

    /// A kube client bound to the caller's tokio runtime (call it on the runtime that will use it).
    pub fn client(&self) -> Result<kube::Client, Error> {
        kube::Client::try_from(self.kube_config()).map_err(|source| Error::Client {
            url: self.url.clone(),
            source,
        })
    }

    /// Writes a kubeconfig for this server to `path` with mode 0600 (it holds the token).
    ///
    /// The token is in the user entry (kube-rs and most clients send it as a bearer token) and also
    /// as the password in the server URL (`http://token:TOKEN@127.0.0.1:PORT`): kubectl and other
    /// client-go programs never send kubeconfig credentials over plain HTTP, but Go's HTTP client
    /// sends URL user info as Basic auth, which this server accepts when the password is the token.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = path.as_ref();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: apiserver\n  cluster:\n    server: {}\ncontexts:\n- name: apiserver\n  context:\n    cluster: apiserver\n    user: apiserver\n    namespace: default\ncurrent-context: apiserver\nusers:\n- name: apiserver\n  user:\n    token: {}\n",
            self.url
                .replacen("http://", &format!("http://token:{}@", self.token), 1),
            self.token
        );
        let err = |source| Error::WriteKubeconfig {
            path: path.to_owned(),
            source,
        };
        // Written to a temporary file first, so a reader never sees a half-written kubeconfig.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        file.write_all(text.as_bytes()).map_err(err)?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// The requests logged so far, oldest first (the last 100,000 at most). A request is logged
    /// when its handler returns, a moment after its effect is visible: to count what a test
    /// has seen happen, use [`ApiServer::requests_settled`].
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.requests.snapshot(|_| true)
    }

    /// The request log once every request that arrived before this call has been logged (each
    /// is logged when its handler returns, just after its write is visible to readers), so a
    /// test that saw a write's effect finds that write in the log. Waits at most
    /// 10 s, for requests held by an injected delay.
    pub async fn requests_settled(&self) -> Vec<RequestRecord> {
        self.state.requests.settled(None, |_| true).await
    }

    /// The fault injection rules: fail or delay the next requests matching a [`crate::Match`].
    ///
    /// ```no_run
    /// # async fn demo(server: &apiserver::ApiServer) -> Result<(), apiserver::Error> {
    /// use apiserver::Match;
    /// server.faults().fail(Match::verb("update").resource("workflowexecutions").subresource("status"), 409, 1)?;
    /// # Ok(()) }
    /// ```
    pub fn faults(&self) -> &crate::Faults {
        &self.state.faults
    }

    /// Every stored object as YAML documents (`---` separated), ordered by API group, resource,
    /// namespace and name: one consistent snapshot taken under the store lock.
    pub fn dump_yaml(&self) -> String {
        crate::store::to_yaml(&self.state.store.dump())
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.state.requests.clear();
    }

    /// Every watch connection of this server whose events differ from the write history: an
    /// event its filter matches that it never sent, one sent twice or out of resourceVersion
    /// order, or one it should not have sent. Empty when every watch is consistent. Cheap: a
    /// test fixture calls it at the end of every test.
    pub fn watch_violations(&self) -> Vec<crate::WatchViolation> {
        self.state.store.watch_violations()
    }

    /// [`ApiServer::watch_violations`], leaving the watches found inconsistent out of later
    /// checks: for a test that broke the server on purpose and must not fail the checks after it.
    pub fn take_watch_violations(&self) -> Vec<crate::WatchViolation> {
        self.state.store.take_watch_violations()
    }

    /// Breaks the server on purpose, to prove [`ApiServer::watch_violations`] catches it: the
    /// next `events` live watch events are skipped instead of sent, as a server that loses an
    /// event would. Take what it caused with [`ApiServer::take_watch_violations`].
    pub fn drop_next_watch_events(&self, events: usize) {
        self.state.store.watch_ledger().drop_next_events(events);
    }

    /// Ends every watch connection open now (a network cut): clients resume from the last
    /// resourceVersion they saw, which the watch consistency check then covers across the cut.
    pub fn cut_watches(&self) {
        self.state.store.watch_ledger().cut();
    }

    /// The current resourceVersion (the number of committed writes).
    pub fn resource_version(&self) -> u64 {
        self.state.store.resource_version()
    }

    /// Stops accepting, ends watches and waits (bounded) for open connections to close.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait()).await;
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
