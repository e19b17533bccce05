//! Owns the server's lifecycle: the builder, CRD loading, the accept loop (HTTPS unless plain HTTP
//! is asked for), and the handle tests use (URL, token, CA, kube config and client, kubeconfig
//! file, request log, shutdown).

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
use crate::start_cache::{self, StartCache};
use crate::store::{Limits, Store, Target, WriteOpts};
use crate::tls::Ca;

/// Watch events kept for resuming watches and paging lists; a watch or continue token older than
/// this window gets 410 Expired. kube-apiserver's watch cache keeps a comparable number per resource.
pub const DEFAULT_WATCH_HISTORY: usize = 10_000;
/// Encoded bytes of the objects the watch history keeps (the JSON of each event's object; in memory
/// an event costs about twice that or more, its parsed value included). About a thousand events of
/// ordinary test objects (1–2 KiB with their managedFields) stay resumable, while a process that
/// stored and deleted large objects gets its memory back: the history then holds about 4–8 MB,
/// well within the per-process budget of 40 MB (README) and within 2× of a test process's start
/// (`tests/memory.rs`). Older events are compacted away as by etcd: resuming from them answers
/// 410 Expired, and kube-runtime watchers relist.
pub const DEFAULT_WATCH_HISTORY_BYTES: usize = 2 * 1024 * 1024;
/// The largest object a write may store, in encoded bytes: etcd's default `--max-request-bytes`
/// (1.5 MiB), which kube-apiserver's objects must fit in. Larger writes answer what
/// kube-apiserver answers: 500 `etcdserver: request is too large`.
pub const MAX_OBJECT_BYTES: usize = 1536 * 1024;
/// How long `shutdown()` waits for open connections to finish after cancelling them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a client may take to finish the TLS handshake before its connection is dropped, so a
/// client that connects and says nothing cannot hold a task for ever.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Lifetime of the tokens `service_account_token` signs: a day, longer than any test run, so a
/// client never sees its token expire mid-test.
const SERVICE_ACCOUNT_TOKEN_S: i64 = 24 * 3600;
/// Bytes of randomness in the bearer token.
const TOKEN_BYTES: usize = 24;
/// How long the connections of a restarted server get to finish the requests they are serving,
/// as kube-apiserver drains in-flight requests when it terminates; what is still open then (a
/// watch, a request held by an injected delay) is dropped. Ordinary requests take milliseconds.
const RESTART_DRAIN: Duration = Duration::from_millis(500);

/// Configures a server before it starts.
#[derive(Debug, Default)]
pub struct Builder {
    crd_dirs: Vec<PathBuf>,
    crds: Vec<(String, Value)>,
    listen: Option<SocketAddr>,
    history: Option<usize>,
    history_bytes: Option<usize>,
    max_object_bytes: Option<usize>,
    garbage_collection: Option<bool>,
    service_cidr: Option<String>,
    node_port_range: Option<String>,
    namespace_defaults: Option<bool>,
    allow_privileged: Option<bool>,
    ca: Option<Arc<Ca>>,
    plain_http: bool,
    plain_http_too: bool,
    user_tokens: std::collections::HashMap<String, crate::UserInfo>,
    anonymous: Option<bool>,
    token_cache_ttl: Option<std::time::Duration>,
    start_cache: Option<PathBuf>,
    /// Objects created at start, with their field managers (`Builder::object`).
    objects: Vec<(String, Value)>,
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

    /// Keeps at most `bytes` of encoded objects in the watch history (default
    /// [`DEFAULT_WATCH_HISTORY_BYTES`]); whichever of this and [`Builder::watch_history`] is
    /// reached first compacts the oldest events.
    pub fn watch_history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = Some(bytes);
        self
    }

    /// Refuses to store objects whose encoding is over `bytes` (default [`MAX_OBJECT_BYTES`],
    /// etcd's default request limit) with kube-apiserver's 500 `etcdserver: request is too
    /// large`. Request bodies stay limited to 3 MiB whatever this is.
    pub fn max_object_bytes(mut self, bytes: usize) -> Self {
        self.max_object_bytes = Some(bytes);
        self
    }

    /// Signs the server's certificate with `ca` (e.g. one CA for a whole test run, so one trusted
    /// certificate covers every server) instead of the CA made once per process.
    pub fn ca(mut self, ca: Arc<Ca>) -> Self {
        self.ca = Some(ca);
        self
    }

    /// Serves plain HTTP instead of HTTPS. kubectl and other client-go programs then send no
    /// credentials (they only send kubeconfig credentials over TLS), so only clients that send the
    /// bearer token themselves (kube-rs, hand-made ones) get in.
    pub fn plain_http(mut self) -> Self {
        self.plain_http = true;
        self
    }

    /// Serves HTTPS and, on the same port, plain HTTP for this process's own clients: a
    /// connection whose first byte starts a TLS record (0x16) gets TLS, any other (an HTTP
    /// method's first letter) plain HTTP. [`ApiServer::kube_config`] and [`ApiServer::client`]
    /// then use the `http://` URL, while [`ApiServer::url`] and the kubeconfig written for
    /// kubectl stay HTTPS. For a test process that hosts its server: each of its clients and
    /// watches opens a connection of its own, and their TLS handshakes (client and server side,
    /// both in the process) were about an eighth of such a process's instructions. Only on a
    /// loopback address (the default): elsewhere the server stays HTTPS only, since the token
    /// would cross a network in the clear.
    pub fn plain_http_for_own_clients(mut self) -> Self {
        self.plain_http_too = true;
        self
    }

    /// Runs the garbage collector and the namespace controller (default: on). Off mimics envtest
    /// exactly: ownerReferences are never followed, `orphan`/`foregroundDeletion` finalizers are
    /// never removed, and a deleted namespace stays Terminating with everything inside it.
    pub fn garbage_collection(mut self, on: bool) -> Self {
        self.garbage_collection = Some(on);
        self
    }

    /// Hands out Service cluster IPs from `cidrs`, kube-apiserver's
    /// `--service-cluster-ip-range`: one CIDR of either family (default `10.96.0.0/12`, as
    /// kubeadm and kind configure kube-apiserver), or two comma-separated CIDRs of different
    /// families for a dual-stack cluster, the primary first (`10.96.0.0/12,fd00:10:96::/112`).
    /// The primary range's family is a Service's default, and the `default/kubernetes` Service
    /// takes its first address. A range kube would refuse (not a CIDR, a primary of fewer than
    /// 8 addresses, more than two CIDRs, two of one family, an IPv6 prefix shorter than /64)
    /// fails `start` with [`Error::ServiceRanges`].
    pub fn service_cidr(mut self, cidrs: impl Into<String>) -> Self {
        self.service_cidr = Some(cidrs.into());
        self
    }

    /// Hands out node ports of NodePort and LoadBalancer Services from `range`, `FIRST-LAST`
    /// (default `30000-32767`, kube-apiserver's `--service-node-port-range`).
    pub fn node_port_range(mut self, range: impl Into<String>) -> Self {
        self.node_port_range = Some(range.into());
        self
    }

    /// Keeps the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap in every namespace,
    /// as kube-controller-manager's serviceaccounts and root-ca-cert-publisher controllers do
    /// (default: on). Off mimics envtest, which runs no controller manager.
    pub fn namespace_defaults(mut self, on: bool) -> Self {
        self.namespace_defaults = Some(on);
        self
    }

    /// Accepts privileged containers (`securityContext.privileged: true`) and Windows
    /// HostProcess pods, as kube-apiserver's `--allow-privileged` (default: on here, as kubeadm
    /// and kind start kube-apiserver; kube-apiserver's own default is off). Off, every pod spec
    /// (Pods and the templates of workloads, on create and on update) is refused such
    /// containers with kube's `Forbidden: disallowed by cluster policy` (`hostProcess containers
    /// are disallowed by cluster policy` for HostProcess pods). Host namespaces (`hostNetwork`,
    /// `hostPID`, `hostIPC`) are not part of it: kube ties them to the kubelet's pod sources,
    /// not to this flag.
    pub fn allow_privileged(mut self, on: bool) -> Self {
        self.allow_privileged = Some(on);
        self
    }

    /// Accepts `token` as a bearer token for `user`, as kube-apiserver's `--token-auth-file`
    /// (the groups are taken as given: add `system:authenticated` to have what every
    /// authenticated user is bound to). Repeatable; a later call for the same token wins.
    pub fn user_token(mut self, token: impl Into<String>, user: crate::UserInfo) -> Self {
        self.user_tokens.insert(token.into(), user);
        self
    }

    /// Whether requests without credentials are served as `system:anonymous` (group
    /// `system:unauthenticated`), kube-apiserver's `--anonymous-auth`. On by default, as in
    /// kube-apiserver, so a request without a token gets what a real cluster answers: RBAC's 403
    /// naming `system:anonymous` (only `system:public-info-viewer`'s health and version paths are
    /// open to it); `false` answers every such request 401. A token that is presented and not
    /// valid is a 401 either way.
    pub fn anonymous(mut self, on: bool) -> Self {
        self.anonymous = Some(on);
        self
    }

    /// Remembers a successful ServiceAccount token authentication for `ttl` (default
    /// [`crate::DEFAULT_TOKEN_CACHE_TTL`], kube-apiserver's 10 s): within it, a token whose
    /// ServiceAccount (or bound Pod, Secret or Node) was deleted still authenticates, as on a
    /// real cluster. Zero checks every request's token against the store, for tests of
    /// revocation that should not wait out the cache.
    pub fn token_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.token_cache_ttl = Some(ttl);
        self
    }

    /// Keeps what this start builds (the bootstrap objects, the namespaces' default objects
    /// and the CRDs, as stored) in `dir`, and starts from it when a snapshot of the same inputs
    /// is there: for many servers started from one build, e.g. a server per test process.
    /// Such a start stores the same objects with uids and timestamps of its own, without
    /// creating them through the write path again. The snapshot is keyed on this build, the
    /// options that change what is stored at start and the CRDs' content; any failure to read,
    /// decode or write it falls back to the full start.
    pub fn start_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.start_cache = Some(dir.into());
        self
    }

    /// Creates `obj` (a whole object: `apiVersion`, `kind`, `metadata`) at start, as the
    /// server's admin with field manager `manager` (the create path of
    /// [`ApiServer::create_as_admin`]), after the bootstrap objects and the CRDs, in the order
    /// given. One that exists already (a namespace `default`, the same object twice) is left as
    /// it is; one the server refuses fails `start` with [`Error::StartObject`]. The objects are
    /// part of the [`Builder::start_cache`] key, so a server started from the cache has them
    /// without creating them again: for what every server of a run needs before its first
    /// request, e.g. the controllers' ServiceAccounts and RBAC rules. Repeatable.
    pub fn object(mut self, obj: Value, manager: impl Into<String>) -> Self {
        self.objects.push((manager.into(), obj));
        self
    }

    /// Binds, installs the CRDs and starts serving on the current tokio runtime; ready when this returns.
    pub async fn start(self) -> Result<ApiServer, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let ranges = crate::registry::ServiceRanges::parse(
            self.service_cidr
                .as_deref()
                .unwrap_or(crate::registry::DEFAULT_SERVICE_CIDR),
            self.node_port_range
                .as_deref()
                .unwrap_or(crate::registry::DEFAULT_NODE_PORT_RANGE),
        )?;
        let store = Store::new(
            Limits {
                history_events: self.history.unwrap_or(DEFAULT_WATCH_HISTORY),
                history_bytes: self.history_bytes.unwrap_or(DEFAULT_WATCH_HISTORY_BYTES),
                max_object_bytes: self.max_object_bytes.unwrap_or(MAX_OBJECT_BYTES),
            },
            self.garbage_collection.unwrap_or(true),
            ranges,
        );
        let namespace_defaults = self.namespace_defaults.unwrap_or(true);
        store.set_namespace_defaults(namespace_defaults);
        let policy = crate::validation::Policy {
            allow_privileged: self.allow_privileged.unwrap_or(true),
        };
        store.set_policy(policy);
        let cache = match &self.start_cache {
            Some(dir) => StartCache::new(
                dir,
                &start_cache::Inputs {
                    namespace_defaults,
                    allow_privileged: policy.allow_privileged,
                    service_cidr: self
                        .service_cidr
                        .as_deref()
                        .unwrap_or(crate::registry::DEFAULT_SERVICE_CIDR),
                    node_port_range: self
                        .node_port_range
                        .as_deref()
                        .unwrap_or(crate::registry::DEFAULT_NODE_PORT_RANGE),
                    crd_dirs: &self.crd_dirs,
                    crds: &self.crds,
                    objects: &self.objects,
                },
            )?,
            None => None,
        };
        let restored = cache.as_ref().and_then(|c| {
            let snapshot = c.read()?;
            store
                .restore(snapshot.into())
                .inspect_err(|why| {
                    tracing::debug!(path = %c.path().display(), why, "start snapshot not used; starting the full way");
                })
                .ok()
        });
        if restored.is_none() {
            store.bootstrap();
            let mut crds = Vec::new();
            for dir in &self.crd_dirs {
                crds.extend(read_crd_dir(dir)?);
            }
            crds.extend(self.crds);
            for (origin, crd) in crds {
                install_crd(&store, &origin, crd)?;
            }
            for (manager, obj) in self.objects {
                create_start_object(&store, obj, &manager)?;
            }
            if let Some(cache) = &cache {
                cache.write(&store.snapshot());
            }
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
        let (tls, ca) = if self.plain_http {
            (None, None)
        } else {
            let ca = match self.ca {
                Some(ca) => ca,
                None => Ca::process()?,
            };
            (
                Some(tokio_rustls::TlsAcceptor::from(ca.server_config()?)),
                Some(ca),
            )
        };
        let token: String = (0..TOKEN_BYTES)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let cancel = CancellationToken::new();
        // After the bootstrap and the CRDs: the RBAC mirror starts from what they stored.
        let authz = crate::auth::Authorizer::new(&store);
        let state = Arc::new(State {
            store,
            token: token.clone(),
            requests: crate::reqlog::RequestLog::default(),
            faults: crate::faults::Faults::default(),
            cancel: cancel.clone(),
            address: local.to_string(),
            tokens: crate::tokens::Tokens::default(),
            authn: crate::auth::Authenticator::new(
                self.user_tokens,
                self.anonymous.unwrap_or(true),
                self.token_cache_ttl
                    .unwrap_or(crate::auth::DEFAULT_TOKEN_CACHE_TTL),
            ),
            authz,
        });
        let tracker = TaskTracker::new();
        let generation = cancel.child_token();
        // Tracked, so that `shutdown()` returns only after the listener is closed.
        let transport = Transport {
            plain_too: self.plain_http_too && tls.is_some() && local.ip().is_loopback(),
            tls,
        };
        let accept = runtime.spawn(tracker.track_future(accept_loop(
            listener,
            transport.clone(),
            state.clone(),
            cancel.clone(),
            generation.clone(),
            tracker.clone(),
        )));
        let scheme = if ca.is_some() { "https" } else { "http" };
        let client_url = if transport.plain_too {
            format!("http://{local}")
        } else {
            format!("{scheme}://{local}")
        };
        Ok(ApiServer {
            url: format!("{scheme}://{local}"),
            client_url,
            addr: local,
            ca,
            token,
            state,
            cancel,
            tracker,
            runtime,
            transport,
            serving: std::sync::Mutex::new(Serving { generation, accept }),
            restarting: tokio::sync::Mutex::new(()),
            restarts: std::sync::atomic::AtomicU64::new(0),
        })
    }
}

/// A kubeconfig naming the server at `url`, trusting `ca` and authenticating with `token`.
fn kubeconfig_text(url: &str, ca: Option<&Ca>, token: &str) -> String {
    use base64::Engine;
    let ca_line = ca
        .map(|ca| {
            format!(
                "    certificate-authority-data: {}\n",
                base64::engine::general_purpose::STANDARD.encode(ca.cert_pem())
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: apiserver\n  cluster:\n    server: {url}\n{ca_line}contexts:\n- name: apiserver\n  context:\n    cluster: apiserver\n    user: apiserver\n    namespace: default\ncurrent-context: apiserver\nusers:\n- name: apiserver\n  user:\n    token: {token}\n"
    )
}

/// [`ApiServer::create_as_admin`] on `store`: `authorizer` is the admin's answers for validating
/// admission's `authorizer` variable (None at start, before the RBAC mirror exists; the admin
/// is allowed everything either way).
fn create_admin(
    store: &Store,
    obj: Value,
    manager: &str,
    authorizer: Option<crate::auth::AuthzSnapshot>,
) -> Result<(), crate::ApiError> {
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let (group, version) = api_version
        .rsplit_once('/')
        .unwrap_or(("", api_version.as_str()));
    let catalog = store.catalog();
    let Some(info) = catalog.by_kind(group, version, &kind).cloned() else {
        return Err(crate::ApiError::bad_request(format!(
            "this server serves no kind {kind:?} in {api_version:?}: check the object's apiVersion and kind"
        )));
    };
    let namespace = if info.namespaced {
        crate::meta::meta_str(&obj, "namespace").to_owned()
    } else {
        String::new()
    };
    if info.namespaced && namespace.is_empty() {
        return Err(crate::ApiError::bad_request(format!(
            "{kind} {:?} is namespaced: set metadata.namespace",
            crate::meta::meta_str(&obj, "name")
        )));
    }
    let t = Target {
        group,
        version,
        plural: &info.plural,
        namespace: &namespace,
        name: "",
    };
    let admin = Arc::new(crate::UserInfo::admin());
    let opts = WriteOpts {
        fields: crate::store::Fields::Update(manager.to_owned()),
        authorizer,
        user: Some(admin),
        ..WriteOpts::default()
    };
    store.create(&t, obj, &opts).map(|_| ())
}

/// One of [`Builder::object`]'s objects, created at start: an object that exists already is
/// left as it is.
fn create_start_object(store: &Store, obj: Value, manager: &str) -> Result<(), Error> {
    let what = format!(
        "{} {}",
        obj.get("kind")
            .and_then(Value::as_str)
            .unwrap_or("<no kind>"),
        match crate::meta::meta_str(&obj, "namespace") {
            "" => crate::meta::meta_str(&obj, "name").to_owned(),
            ns => format!("{ns}/{}", crate::meta::meta_str(&obj, "name")),
        }
    );
    match create_admin(store, obj, manager, None) {
        Ok(()) => Ok(()),
        Err(e) if e.code == 409 => Ok(()),
        Err(source) => Err(Error::StartObject { what, source }),
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

/// The YAML files of a CRD directory, in file-name order.
pub(crate) fn crd_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
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
    Ok(files)
}

/// Reads every CRD document of the YAML files in `dir`, in file-name order.
fn read_crd_dir(dir: &Path) -> Result<Vec<(String, Value)>, Error> {
    let mut out = Vec::new();
    for path in crd_files(dir)? {
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

/// How connections are served: TLS with `tls` (None: plain HTTP), and with `plain_too` a
/// connection that does not start a TLS handshake is served plain HTTP
/// ([`Builder::plain_http_for_own_clients`]).
#[derive(Clone)]
struct Transport {
    tls: Option<tokio_rustls::TlsAcceptor>,
    plain_too: bool,
}

/// The first byte of a TLS record that carries a handshake (RFC 8446 §5.1, `ContentType`).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Whether the client on `stream` starts a TLS handshake, read without consuming its bytes;
/// None when it closes or errs before sending anything.
async fn starts_tls(stream: &tokio::net::TcpStream) -> Option<bool> {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) => Some(first[0] == TLS_HANDSHAKE_RECORD),
        _ => None,
    }
}

/// Accepts connections until the server shuts down (`cancel`: open connections finish
/// gracefully, the listener closes) or restarts (`generation`: open connections get
/// [`RESTART_DRAIN`] to finish, and the listener is handed back for the next generation).
async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    state: Arc<State>,
    cancel: CancellationToken,
    generation: CancellationToken,
    tracker: TaskTracker,
) -> Option<TcpListener> {
    loop {
        let (stream, _) = tokio::select! {
            _ = cancel.cancelled() => return None,
            _ = generation.cancelled() => return Some(listener),
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
        let generation = generation.clone();
        let transport = transport.clone();
        // The handshake runs in the connection's task, so a slow client never stalls accepting.
        tracker.spawn(async move {
            if transport.plain_too {
                // A client that connects and sends nothing gets the handshake's time limit.
                let first = tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = generation.cancelled() => return,
                    f = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, starts_tls(&stream)) => f,
                };
                match first {
                    Ok(Some(true)) => {}
                    Ok(Some(false)) => {
                        return serve(TokioIo::new(stream), state, cancel, generation).await;
                    }
                    Ok(None) | Err(_) => return,
                }
            }
            match transport.tls {
                None => serve(TokioIo::new(stream), state, cancel, generation).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = generation.cancelled() => return,
                        h = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => h,
                    };
                    match handshake {
                        Ok(Ok(stream)) => {
                            let stream = crate::tls_close::ClosingTls::new(stream);
                            serve(TokioIo::new(stream), state, cancel, generation).await
                        }
                        // A client that does not trust the CA, or speaks plain HTTP, fails here:
                        // its own error says why; the server only notes it.
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection until it closes, the server restarts (`generation`) or it
/// shuts down (`cancel`).
async fn serve<I>(
    io: I,
    state: Arc<State>,
    cancel: CancellationToken,
    generation: CancellationToken,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| http::handle(state.clone(), req));
    let conn = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // A restart: in-flight requests finish, then the connection closes; a watch (a response
        // that never finishes) is cut when the drain time is up.
        _ = generation.cancelled(), if !cancel.is_cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(RESTART_DRAIN, conn).await;
        }
        _ = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// A running API server. Dropping it stops it (without waiting); `shutdown()` waits.
pub struct ApiServer {
    url: String,
    addr: SocketAddr,
    /// The CA that signed the server's certificate (None: plain HTTP).
    ca: Option<Arc<Ca>>,
    token: String,
    state: Arc<State>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    /// The runtime the server was started on; a restart serves on it again.
    runtime: tokio::runtime::Handle,
    /// The URL of this process's own clients ([`ApiServer::kube_config`]): `url`, or `http://`
    /// with [`Builder::plain_http_for_own_clients`].
    client_url: String,
    /// How connections are served: the TLS acceptor (the server's certificate, signed by
    /// `ca`) and whether plain HTTP is served too, kept so that a restarted server presents the
    /// same certificate and clients that trust the CA reconnect.
    transport: Transport,
    serving: std::sync::Mutex<Serving>,
    /// One restart at a time.
    restarting: tokio::sync::Mutex<()>,
    /// Restarts done, for a fault campaign's figures.
    restarts: std::sync::atomic::AtomicU64,
}

/// The writes an [`ApiServer`] commits after [`ApiServer::commits`] was called. Not a watch:
/// it carries no objects, has no filter, and may skip writes it fell behind on; it only says
/// that something changed.
pub struct Commits(tokio::sync::broadcast::Receiver<Arc<crate::store::Event>>);

impl Commits {
    /// Waits for a commit not yet reported by this `Commits`: returns at once when one
    /// happened meanwhile. `false` when the server's store is gone, so nothing will commit.
    pub async fn next(&mut self) -> bool {
        use tokio::sync::broadcast::error::RecvError;
        match self.0.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => true,
            Err(RecvError::Closed) => false,
        }
    }
}

impl std::fmt::Debug for Commits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commits").finish_non_exhaustive()
    }
}

/// The current accept loop (it hands its listener back when its generation ends) and the token
/// that ends it and its connections.
struct Serving {
    generation: CancellationToken,
    accept: tokio::task::JoinHandle<Option<TcpListener>>,
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

    /// `https://127.0.0.1:PORT` (`http://` when built with [`Builder::plain_http`]).
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

    /// The CA clients must trust (None when serving plain HTTP).
    pub fn ca(&self) -> Option<&Arc<Ca>> {
        self.ca.as_ref()
    }

    /// A kube config for this server (default namespace `default`), trusting the server's CA;
    /// with [`Builder::plain_http_for_own_clients`], plain HTTP to the same port.
    pub fn kube_config(&self) -> kube::Config {
        let uri = self.client_url.parse().unwrap_or_default();
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        config.auth_info.token = Some(self.token.clone().into());
        // Also for plain HTTP: without roots of its own, kube's client loads the system's
        // whole CA store, about 29 M instructions a client, though it never uses TLS.
        config.root_cert = self.ca.as_ref().map(|ca| vec![ca.cert_der().to_vec()]);
        config
    }

    /// A kube config for this server that authenticates with `token` instead of the admin's
    /// (a static token given to [`Builder::user_token`] or a ServiceAccount token).
    pub fn kube_config_with_token(&self, token: &str) -> kube::Config {
        let mut config = self.kube_config();
        config.auth_info.token = Some(token.to_owned().into());
        config
    }

    /// A kube client authenticating with `token` (see [`ApiServer::kube_config_with_token`]),
    /// bound to the caller's tokio runtime.
    pub fn client_with_token(&self, token: &str) -> Result<kube::Client, Error> {
        kube::Client::try_from(self.kube_config_with_token(token)).map_err(|source| Error::Client {
            url: self.url.clone(),
            source,
        })
    }

    /// A signed token of ServiceAccount `namespace/name` (which must exist) for this server's API,
    /// valid for a day: what a pod of that ServiceAccount would mount. It stops authenticating
    /// when the ServiceAccount is deleted or recreated.
    pub fn service_account_token(&self, namespace: &str, name: &str) -> Result<String, Error> {
        crate::tokens::mint(&self.state, namespace, name, SERVICE_ACCOUNT_TOKEN_S).map_err(
            |source| Error::ServiceAccount {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                source,
            },
        )
    }

    /// Creates `obj` (a whole object: `apiVersion`, `kind`, `metadata`) as the server's admin,
    /// with field manager `manager`, in this process: the same create path as a `POST` with the
    /// server's token (decoding, defaulting, validation, admission, RBAC's escalation checks,
    /// watch events), without the HTTP, TLS and JSON round trip. For a fixture that installs
    /// objects into a running server; objects every server of a run needs before its first
    /// request belong on [`Builder::object`], which keeps them in the start snapshot. A test's
    /// own writes belong on a client, where the request log sees them. A create that fails
    /// returns kube's error for it (a kind this server does not serve is a 400 naming it).
    pub fn create_as_admin(&self, obj: Value, manager: &str) -> Result<(), crate::ApiError> {
        let admin = Arc::new(crate::UserInfo::admin());
        let authorizer = self.state.authz.snapshot(&self.state.store, admin);
        create_admin(&self.state.store, obj, manager, Some(authorizer))
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
    /// The CA is inline (`certificate-authority-data`) and the token is in the user entry only,
    /// where kubectl and kube-rs send it as a bearer token; the server URL carries no credentials.
    /// With [`Builder::plain_http`] kubectl sends no token (client-go sends kubeconfig
    /// credentials over TLS only), so kubectl needs the default HTTPS.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = path.as_ref();
        let text = kubeconfig_text(&self.url, self.ca.as_deref(), &self.token);
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

    /// How many requests this server is handling now (arrived, not answered yet): lets a test
    /// know that a request it sent has reached the server before it acts on it, e.g. a read
    /// waiting for a resourceVersion the test is about to reach by a write.
    pub fn requests_in_flight(&self) -> usize {
        self.state.requests.in_flight()
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

    /// Serves the Service `namespace/name` at `addr` (e.g. a webhook server the test runs on
    /// loopback) whenever this server calls it: admission webhooks whose `clientConfig.service`
    /// names it. There is no cluster network here, and kube refuses loopback addresses in
    /// EndpointSlices, so a test routes the Service instead (envtest rewrites such webhook
    /// configurations to URLs). The Service must still exist, as in a cluster; its port is
    /// ignored. Without a route, the Service's ready EndpointSlice or Endpoints address is used.
    pub fn route_service(&self, namespace: &str, name: &str, addr: std::net::SocketAddr) {
        self.state.store.route_service(namespace, name, addr);
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

    /// Wakes a waiter at this server's next committed write (any object, any client, the
    /// server's own garbage collection included): for code that polls the server for a
    /// condition, so that it reads again when something changed rather than on a timer. Take
    /// it before reading, then await [`Commits::next`]: a write between the two still wakes.
    pub fn commits(&self) -> Commits {
        Commits(self.state.store.subscribe())
    }

    /// Restarts the server as a process restart looks to its clients: every open connection
    /// closes (requests in flight are answered first, as kube-apiserver drains them when it
    /// terminates; watches end without a final event), pooled connections must reconnect, and the
    /// server serves again on the same address with the same token.
    ///
    /// The listening socket is kept across the restart, as systemd's socket activation hands it
    /// to the restarted process: a client that connects meanwhile waits in the backlog instead of
    /// being refused. What a restart cannot lose here is the store: it lives in this process, as
    /// etcd outlives a kube-apiserver restart, so objects, resourceVersions and the watch history
    /// are kept, and so are the fault rules and the request log.
    pub async fn restart(&self) -> Result<(), Error> {
        let _one_at_a_time = self.restarting.lock().await;
        if self.cancel.is_cancelled() {
            return Err(Error::ShutDown);
        }
        let (old, accept) = {
            let mut serving = self
                .serving
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let old = std::mem::replace(&mut serving.generation, self.cancel.child_token());
            // A finished placeholder stands in until the next loop runs.
            let accept = std::mem::replace(&mut serving.accept, self.runtime.spawn(async { None }));
            (old, accept)
        };
        old.cancel();
        // The old loop hands its listener back once it has stopped accepting.
        let Ok(Some(listener)) = accept.await else {
            return Err(Error::ShutDown);
        };
        let mut serving = self
            .serving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        serving.accept = self.runtime.spawn(self.tracker.track_future(accept_loop(
            listener,
            self.transport.clone(),
            self.state.clone(),
            self.cancel.clone(),
            serving.generation.clone(),
            self.tracker.clone(),
        )));
        self.restarts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// How many times [`ApiServer::restart`] has restarted the server.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(std::sync::atomic::Ordering::Relaxed)
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
