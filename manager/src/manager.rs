//! Runs a set of kube-runtime controllers on one client with one shutdown token, tells when
//! every watch has synced, and stops them gracefully.
//!
//! kube-runtime has no manager of its own: this is the small piece that controller-runtime's
//! `Manager` provides in Go (start, wait for cache sync, stop), without leader election or a
//! metrics server.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::{BoxFuture, join_all};
use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::context::{ControllerContext, ControllerStats, Probes};
use crate::error::{BoxError, ControllerError, ControllerFailure, ManagerError, PendingWatch};
use crate::scope::NamespaceScope;

type Build = Box<dyn FnOnce(ControllerContext) -> BoxFuture<'static, Result<(), BoxError>> + Send>;

struct Registration {
    name: Arc<str>,
    build: Build,
}

/// Collects controllers before they start.
///
/// ```ignore
/// let mut mgr = Manager::new(client, shutdown_token);
/// mgr.add("workflowexecution", |ctx| {
///     let controller = ctx.controller(Api::<WorkflowExecution>::all(ctx.client()), Default::default());
///     ctx.run(controller, reconcile, error_policy, Arc::new(state))
/// });
/// let running = mgr.start();
/// running.ready(Duration::from_secs(5)).await?;
/// // ...
/// running.shutdown(Duration::from_secs(5)).await?;
/// ```
pub struct Manager {
    client: Client,
    shutdown: CancellationToken,
    registrations: Vec<Registration>,
    scope: Option<NamespaceScope>,
    /// Clients of their own for some controllers, by name (see [`Manager::client_for`]).
    clients: HashMap<String, Client>,
}

impl Manager {
    /// A manager whose controllers share `client` and stop when `shutdown` is cancelled.
    pub fn new(client: Client, shutdown: CancellationToken) -> Self {
        // A child token: cancelling the caller's token stops the manager, and the manager can
        // stop itself (shutdown, drop) without cancelling anything else of the caller's.
        Self {
            client,
            shutdown: shutdown.child_token(),
            registrations: Vec::new(),
            scope: None,
            clients: HashMap::new(),
        }
    }

    /// Limits every watch of this manager's controllers to the namespaces of `scope` (and
    /// cluster-scoped objects): for several managers sharing one API server, each reconciling
    /// only its own namespaces. Namespaces added to `scope` later are seen from then on.
    /// Without it (the default) the controllers see every namespace.
    pub fn scoped(mut self, scope: NamespaceScope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Gives the controller registered as `controller` a client of its own instead of the
    /// manager's: its [`ControllerContext::client`] returns `client`, so every request it makes
    /// carries that client's identity (e.g. the controller's ServiceAccount token, checked by
    /// RBAC as in a cluster). Takes effect at [`Manager::start`], whether the controller is added
    /// before or after this call; a name never registered is ignored.
    pub fn client_for(&mut self, controller: &str, client: Client) -> &mut Self {
        self.clients.insert(controller.to_owned(), client);
        self
    }

    /// The names of the controllers registered so far, in registration order.
    pub fn registered(&self) -> Vec<String> {
        self.registrations
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    }

    /// Registers a controller. `build` runs once at [`Manager::start`], on the current
    /// runtime; it must create its watches through the context before returning, and return a
    /// future that runs until shutdown (typically [`ControllerContext::run`]).
    pub fn add<F, Fut, E>(&mut self, name: &str, build: F) -> &mut Self
    where
        F: FnOnce(ControllerContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let build: Build = Box::new(move |ctx| build(ctx).map(|r| r.map_err(Into::into)).boxed());
        self.registrations.push(Registration {
            name: Arc::from(name),
            build,
        });
        self
    }

    /// Starts every controller as a task on the current tokio runtime.
    ///
    /// # Panics
    /// Panics when called outside a tokio runtime (like `tokio::spawn`).
    pub fn start(self) -> RunningManager {
        let probes: Probes = Arc::default();
        let (exit_tx, exit_rx) = watch::channel(0usize);
        let exit_tx = Arc::new(exit_tx);
        let failures: Arc<Mutex<Vec<ControllerFailure>>> = Arc::default();
        let mut controllers = Vec::with_capacity(self.registrations.len());
        for Registration { name, build } in self.registrations {
            let stats = Arc::new(ControllerStats::default());
            let client = self.clients.get(&*name).unwrap_or(&self.client).clone();
            let ctx = ControllerContext::new(
                name.clone(),
                client,
                self.shutdown.clone(),
                probes.clone(),
                stats.clone(),
                self.scope.clone(),
            );
            let shutdown = self.shutdown.clone();
            let (failures, exit_tx, task_name) = (failures.clone(), exit_tx.clone(), name.clone());
            // Build synchronously so every watch is registered before `start` returns.
            let built = std::panic::catch_unwind(AssertUnwindSafe(|| build(ctx)));
            let task = tokio::spawn(async move {
                let result = match built {
                    Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
                    Err(panic) => Err(panic),
                };
                let error = match result {
                    Ok(Ok(())) if shutdown.is_cancelled() => None,
                    Ok(Ok(())) => Some(ControllerError::StoppedEarly),
                    Ok(Err(e)) => Some(
                        e.downcast::<ControllerError>()
                            .map_or_else(ControllerError::Failed, |e| *e),
                    ),
                    Err(panic) => Some(ControllerError::Panicked(panic_message(panic.as_ref()))),
                };
                if let Some(error) = error {
                    tracing::error!(controller = %task_name, %error, "controller stopped");
                    failures
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(ControllerFailure {
                            controller: task_name.to_string(),
                            error,
                        });
                }
                exit_tx.send_modify(|n| *n += 1);
            });
            controllers.push(RunningController { name, stats, task });
        }
        RunningManager {
            shutdown: self.shutdown,
            probes,
            controllers,
            failures,
            exits: exit_rx,
        }
    }
}

struct RunningController {
    name: Arc<str>,
    stats: Arc<ControllerStats>,
    task: JoinHandle<()>,
}

/// The started controllers: readiness, shutdown and error counters.
pub struct RunningManager {
    shutdown: CancellationToken,
    probes: Probes,
    controllers: Vec<RunningController>,
    failures: Arc<Mutex<Vec<ControllerFailure>>>,
    exits: watch::Receiver<usize>,
}

impl RunningManager {
    /// Waits until every registered watch has completed its first list (the reflector stores
    /// are ready), failing after `timeout` with the watches still pending, or as soon as a
    /// controller stops (that failure is then reported here, not again by `shutdown`).
    pub async fn ready(&self, timeout: Duration) -> Result<(), ManagerError> {
        let probes = self
            .probes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let watched: HashSet<&str> = probes.iter().map(|p| &*p.controller).collect();
        if let Some(c) = self
            .controllers
            .iter()
            .find(|c| !watched.contains(&*c.name))
        {
            return Err(ManagerError::NoWatches {
                controller: c.name.to_string(),
            });
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut exits = self.exits.clone();
        let all_ready = join_all(probes.iter().map(|p| {
            let mut ready = p.ready.clone();
            async move { ready.wait_for(|synced| *synced).await.is_ok() }
        }));
        let mut all_ready = std::pin::pin!(all_ready);
        let mut exits_open = true;
        loop {
            exits.borrow_and_update();
            if let Some(failure) = self.take_failure() {
                return Err(ManagerError::ControllerExited(failure));
            }
            tokio::select! {
                results = &mut all_ready => {
                    // `false`: a watch stopped before it synced.
                    if results.iter().all(|ok| *ok) {
                        return Ok(());
                    }
                    // A watch stopped, so its controller is exiting: wait (bounded by the
                    // deadline) for the exit to be recorded and report it.
                    let recorded = async {
                        while self.failures.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
                            if exits.changed().await.is_err() {
                                break;
                            }
                        }
                    };
                    let _ = tokio::time::timeout_at(deadline, recorded).await;
                    if let Some(failure) = self.take_failure() {
                        return Err(ManagerError::ControllerExited(failure));
                    }
                    return Err(self.not_ready(&probes, timeout));
                }
                changed = exits.changed(), if exits_open => {
                    // Err: every controller task is gone, so no further exit can be reported;
                    // the loop checks the recorded failures once more and stops listening.
                    exits_open = changed.is_ok();
                }
                () = tokio::time::sleep_until(deadline) => return Err(self.not_ready(&probes, timeout)),
            }
        }
    }

    /// Cancels the shutdown token and waits up to `timeout` for every controller to finish its
    /// in-flight reconciles; controllers still running then are aborted. Reports controllers
    /// that failed at any time since start.
    pub async fn shutdown(self, timeout: Duration) -> Result<(), ManagerError> {
        self.shutdown.cancel();
        self.join(Some(timeout)).await
    }

    /// Waits until every controller has stopped (after someone cancels the shutdown token),
    /// reporting controllers that failed. For binaries whose shutdown comes from a signal.
    pub async fn wait(self) -> Result<(), ManagerError> {
        self.join(None).await
    }

    /// The shutdown token the controllers watch (a child of the token given to `Manager::new`).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Failed reconciles so far for the named controller (`None` for an unknown name).
    pub fn reconcile_errors(&self, controller: &str) -> Option<u64> {
        self.controllers
            .iter()
            .find(|c| &*c.name == controller)
            .map(|c| c.stats.reconcile_errors.load(Ordering::Relaxed))
    }

    /// The last failed reconcile of the named controller, `<object>: <error and its causes>`
    /// (`None` when none failed yet, or for an unknown name).
    pub fn last_reconcile_error(&self, controller: &str) -> Option<String> {
        self.controllers
            .iter()
            .find(|c| &*c.name == controller)
            .and_then(|c| c.stats.last_reconcile_error())
    }

    /// The names of the controllers, in registration order.
    pub fn controllers(&self) -> Vec<String> {
        self.controllers
            .iter()
            .map(|c| c.name.to_string())
            .collect()
    }

    async fn join(mut self, timeout: Option<Duration>) -> Result<(), ManagerError> {
        let mut still_running = Vec::new();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        for mut c in std::mem::take(&mut self.controllers) {
            let finished = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, &mut c.task).await.is_ok(),
                None => (&mut c.task).await.map(|()| true).unwrap_or(true),
            };
            if !finished {
                c.task.abort();
                still_running.push(c.name.to_string());
            }
        }
        if let (false, Some(timeout)) = (still_running.is_empty(), timeout) {
            return Err(ManagerError::ShutdownTimeout {
                timeout,
                controllers: still_running,
            });
        }
        let failures =
            std::mem::take(&mut *self.failures.lock().unwrap_or_else(PoisonError::into_inner));
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ManagerError::ControllersFailed { failures })
        }
    }

    fn take_failure(&self) -> Option<ControllerFailure> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        (!failures.is_empty()).then(|| failures.remove(0))
    }

    fn not_ready(
        &self,
        probes: &[Arc<crate::context::WatchProbe>],
        timeout: Duration,
    ) -> ManagerError {
        let mut pending = Vec::new();
        for p in probes {
            if !*p.ready.borrow() {
                pending.push(PendingWatch {
                    controller: p.controller.to_string(),
                    resource: p.resource.clone(),
                    last_error: p.stats.last_watch_error(),
                });
            }
        }
        ManagerError::NotReady { timeout, pending }
    }
}

impl Drop for RunningManager {
    /// Dropping without `shutdown` still stops the controllers and their watches: no task
    /// outlives its manager.
    fn drop(&mut self) {
        self.shutdown.cancel();
        for c in &self.controllers {
            c.task.abort();
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
