//! Hands each controller its client, shutdown signal and watch builders, and records every
//! watch it creates so the manager can tell when all of them have synced.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::channel::mpsc;
use futures::{Stream, StreamExt as _};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::BoxError;
use crate::scope::NamespaceScope;

/// A registered watch and its sync flag.
pub(crate) struct WatchProbe {
    pub(crate) controller: Arc<str>,
    pub(crate) resource: String,
    /// Becomes `true` once the watch has listed everything (its store is complete); the
    /// sender is dropped if the watch stops first.
    pub(crate) ready: watch::Receiver<bool>,
    pub(crate) stats: Arc<ControllerStats>,
}

/// Per-controller counters, the last watch error (for readiness error messages) and the last
/// failed reconcile (for a person inspecting a held test environment).
#[derive(Default)]
pub(crate) struct ControllerStats {
    pub(crate) reconcile_errors: AtomicU64,
    pub(crate) last_watch_error: Mutex<Option<String>>,
    pub(crate) last_reconcile_error: Mutex<Option<String>>,
}

impl ControllerStats {
    fn record_reconcile_error(
        &self,
        object: &dyn std::fmt::Display,
        err: &(dyn std::error::Error + 'static),
    ) {
        self.reconcile_errors.fetch_add(1, Ordering::Relaxed);
        *self
            .last_reconcile_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some(format!("{object}: {}", error_chain(err)));
    }

    pub(crate) fn last_reconcile_error(&self) -> Option<String> {
        self.last_reconcile_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record_watch_error(&self, err: &watcher::Error) {
        *self
            .last_watch_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error_chain(err));
    }

    pub(crate) fn last_watch_error(&self) -> Option<String> {
        self.last_watch_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The list of probes shared by the manager and every context.
pub(crate) type Probes = Arc<Mutex<Vec<Arc<WatchProbe>>>>;

/// What a controller gets from the [`crate::Manager`]: the shared client, the shutdown
/// signal, and watch builders that register with readiness.
///
/// Build every watch (the controller's own and those of owned or watched resources) through
/// this context, in the closure given to [`crate::Manager::add`] before it returns its future,
/// so that [`crate::RunningManager::ready`] covers all of them.
#[derive(Clone)]
pub struct ControllerContext {
    name: Arc<str>,
    client: Client,
    shutdown: CancellationToken,
    probes: Probes,
    stats: Arc<ControllerStats>,
    scope: Option<NamespaceScope>,
}

impl ControllerContext {
    pub(crate) fn new(
        name: Arc<str>,
        client: Client,
        shutdown: CancellationToken,
        probes: Probes,
        stats: Arc<ControllerStats>,
        scope: Option<NamespaceScope>,
    ) -> Self {
        Self {
            name,
            client,
            shutdown,
            probes,
            stats,
            scope,
        }
    }

    /// The namespaces this manager's watches are limited to, if it has a scope (see
    /// [`crate::Manager::scoped`]); `None` when the controllers see every namespace.
    pub fn scope(&self) -> Option<&NamespaceScope> {
        self.scope.as_ref()
    }

    /// The controller's name (as given to [`crate::Manager::add`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client of this controller: its own when the manager was given one for it
    /// ([`crate::Manager::client_for`]), else the manager's (cheap to clone).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The manager's shutdown token: cancelled when the manager shuts down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// A `Controller` for `api` that shuts down gracefully with the manager and whose
    /// reflector store counts towards readiness.
    pub fn controller<K>(&self, api: Api<K>, wc: watcher::Config) -> Controller<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let (store, events) = self.tracked_watch(api, wc);
        Controller::for_stream(events.applied_objects(), store)
            .graceful_shutdown_on(self.shutdown.clone().cancelled_owned())
    }

    /// [`ControllerContext::controller`], but woken by a watch event only when the object's
    /// `metadata.generation` changed: when it is created or its spec changes, not when its status
    /// or metadata is written. Requeues still wake it. A controller that records each failed
    /// attempt in its status needs this: otherwise the watch event of its own write reconciles
    /// the object again at once, and its error backoff never applies (a hot loop against a
    /// failing dependency).
    pub fn controller_on_generation<K>(&self, api: Api<K>, wc: watcher::Config) -> Controller<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let (store, events) = self.tracked_watch(api, wc);
        let changed = events
            .applied_objects()
            .predicate_filter(kube::runtime::predicates::generation, Default::default());
        Controller::for_stream(changed, store)
            .graceful_shutdown_on(self.shutdown.clone().cancelled_owned())
    }

    /// A reflected watch of `api`: a store (a cache the reconciler can read) and the stream of
    /// touched objects to feed `Controller::owns_stream` / `watches_stream`. The store counts
    /// towards readiness; watch errors are retried by the controller's backoff and remembered
    /// for error messages.
    pub fn watch<K>(
        &self,
        api: Api<K>,
        wc: watcher::Config,
    ) -> (
        Store<K>,
        impl Stream<Item = Result<K, watcher::Error>> + Send + 'static + use<K>,
    )
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let (store, events) = self.tracked_watch(api, wc);
        (store, events.touched_objects())
    }

    /// A watcher reflected into a new store by its own task, registered with readiness; the
    /// task stops (dropping the store writer) when the manager shuts down.
    ///
    /// Readiness is a flag set when the reflector passes `InitDone`, not
    /// `Store::wait_until_ready`: that future keeps a single waker per store and kube-runtime's
    /// applier already waits on it, so a second waiter would steal the applier's wake-up and
    /// stall the controller. The reflector runs in its own task so that shutdown can drop the
    /// writer even while the controller's trigger stream sleeps in backoff: an applier whose
    /// store never synced waits for that writer and would otherwise block graceful shutdown.
    fn tracked_watch<K>(
        &self,
        api: Api<K>,
        wc: watcher::Config,
    ) -> (
        Store<K>,
        impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static + use<K>,
    )
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let resource = api.resource_url().to_owned();
        let (store, writer) = reflector::store();
        let (ready_tx, ready_rx) = watch::channel(false);
        // Unbounded: the reflector must never wait for the controller (the store has to stay
        // current); the controller drains events as fast as they come except while backing
        // off, so the queue is bounded by the changes made during one backoff.
        let (events_tx, events_rx) = mpsc::unbounded();
        let stats = self.stats.clone();
        let shutdown = self.shutdown.clone();
        // default_backoff: the watcher retries immediately after an error unless told to wait.
        // With a scope, events of other namespaces' objects are dropped before the reflector:
        // neither the store nor the controller ever sees them.
        let scope = self.scope.clone();
        let events = watcher(api, wc)
            .default_backoff()
            .filter_map(move |event| {
                let kept = match (event, &scope) {
                    (Ok(event), Some(scope)) => scope.filter(event).map(Ok),
                    (event, _) => Some(event),
                };
                std::future::ready(kept)
            })
            .reflect(writer);
        tokio::spawn(async move {
            let mut events = std::pin::pin!(events);
            loop {
                let event = tokio::select! {
                    biased;
                    () = shutdown.cancelled() => break,
                    event = events.next() => event,
                };
                match &event {
                    Some(Ok(Event::InitDone)) => {
                        ready_tx.send_replace(true);
                    }
                    Some(Err(e)) => stats.record_watch_error(e),
                    Some(Ok(_)) => {}
                    None => break,
                }
                if event.is_some_and(|event| events_tx.unbounded_send(event).is_err()) {
                    break; // the controller is gone
                }
            }
        });
        let probe = WatchProbe {
            controller: self.name.clone(),
            resource,
            ready: ready_rx,
            stats: self.stats.clone(),
        };
        self.probes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(probe));
        (store, events_rx)
    }

    /// `controller.owns_stream(..)` over a tracked watch of `api`; returns the controller and a
    /// store of the owned objects.
    pub fn owns<K, C>(
        &self,
        controller: Controller<K>,
        api: Api<C>,
        wc: watcher::Config,
    ) -> (Controller<K>, Store<C>)
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        C: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let (store, stream) = self.watch(api, wc);
        (controller.owns_stream(stream), store)
    }

    /// `controller.watches_stream(..)` over a tracked watch of `api`, mapping each touched
    /// object to the objects to reconcile; returns the controller and a store of the watched
    /// objects.
    pub fn watches<K, O, I>(
        &self,
        controller: Controller<K>,
        api: Api<O>,
        wc: watcher::Config,
        mapper: impl Fn(O) -> I + Sync + Send + 'static,
    ) -> (Controller<K>, Store<O>)
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        O: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        I: IntoIterator<Item = ObjectRef<K>> + Send + 'static,
        I::IntoIter: Send,
    {
        let (store, stream) = self.watch(api, wc);
        (controller.watches_stream(stream, mapper), store)
    }

    /// Runs `controller` until shutdown, reporting every error it yields: failed reconciles
    /// and watch errors are logged with the controller's name and counted (see
    /// [`crate::RunningManager::reconcile_errors`]). Watch errors are retried by kube-runtime,
    /// so they do not end the run.
    pub fn run<K, Fut, Ctx, R, P>(
        &self,
        controller: Controller<K>,
        reconcile: R,
        error_policy: P,
        context: Arc<Ctx>,
    ) -> impl Future<Output = Result<(), BoxError>> + Send + 'static + use<K, Fut, Ctx, R, P>
    where
        R: FnMut(Arc<K>, Arc<Ctx>) -> Fut + Send + 'static,
        P: Fn(Arc<K>, &Fut::Error, Arc<Ctx>) -> Action + Send + Sync + 'static,
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        Fut: futures::TryFuture<Ok = Action> + Send + 'static,
        Fut::Error: std::error::Error + Send + Sync + 'static,
        Ctx: Send + Sync + 'static,
    {
        let name = self.name.clone();
        let stats = self.stats.clone();
        let shutdown = self.shutdown.clone();
        let stream = controller.run(reconcile, error_policy, context);
        async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(_) => {}
                    Err(controller::Error::ReconcilerFailed(err, object)) => {
                        stats.record_reconcile_error(&object, &err);
                        tracing::warn!(controller = %name, %object, error = %error_chain(&err), "reconcile failed");
                    }
                    Err(controller::Error::QueueError(err)) => {
                        stats.record_watch_error(&err);
                        tracing::warn!(controller = %name, error = %error_chain(&err), "watch failed; retrying with backoff");
                    }
                    // Normal after a delete: a queued reconcile found the object gone.
                    Err(controller::Error::ObjectNotFound(object)) => {
                        tracing::debug!(controller = %name, %object, "queued object no longer exists");
                    }
                    // Expected while stopping: a store that never synced has its writer dropped
                    // at shutdown, which ends the applier's wait with an error.
                    Err(err) if shutdown.is_cancelled() => {
                        tracing::debug!(controller = %name, error = %error_chain(&err), "controller stopping");
                    }
                    Err(err) => {
                        tracing::error!(controller = %name, error = %error_chain(&err), "controller runner failed");
                        return Err(Box::new(err) as BoxError);
                    }
                }
            }
            Ok(())
        }
    }
}

/// An error and its sources, joined by ": " (tracing's `%` shows only the top level).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        // Many errors already embed their source in their message; skip exact repeats.
        if !text.ends_with(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
