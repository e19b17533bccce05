//! Runs the manager against the embedded API server: readiness covers every watch, shutdown
//! waits for in-flight reconciles and is bounded, controller failures are reported.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiserver::ApiServer;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Client, CustomResource, CustomResourceExt, ResourceExt};
use manager::{ControllerError, Manager, ManagerError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

/// Generous bound for anything that should take milliseconds: tests share 2 cores with other
/// builds, and a deadline only matters when something is broken.
const DEADLINE: Duration = Duration::from_secs(20);
/// Short bound for waits that are expected to fail.
const SHORT: Duration = Duration::from_millis(300);

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "manager.test",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
struct WidgetSpec {
    size: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
struct WidgetStatus {
    seen: i32,
}

#[derive(Debug, thiserror::Error)]
#[error("test reconcile error")]
struct TestError;

async fn server() -> (ApiServer, Client) {
    let server = ApiServer::builder()
        .crd(Widget::crd())
        .start()
        .await
        .expect("embedded API server starts");
    let client = server.client().expect("client for the embedded API server");
    (server, client)
}

async fn create_widget(client: &Client, name: &str) {
    let api: Api<Widget> = Api::namespaced(client.clone(), "default");
    api.create(
        &PostParams::default(),
        &Widget::new(name, WidgetSpec { size: 1 }),
    )
    .await
    .expect("create widget");
}

fn noop_policy(_: Arc<Widget>, _: &TestError, _: Arc<()>) -> Action {
    Action::requeue(Duration::from_millis(50))
}

/// Polls `cond` until it holds or `DEADLINE` passes.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The controller's own store and its owned-ConfigMap store, handed out of the build closure.
type Stores = (Store<Widget>, Store<ConfigMap>);

#[tokio::test]
async fn ready_only_after_every_watch_synced() {
    let (_server, client) = server().await;
    for name in ["a", "b", "c"] {
        create_widget(&client, name).await;
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("cm1".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create configmap");

    let stores: Arc<Mutex<Option<Stores>>> = Arc::default();
    let mut mgr = Manager::new(client.clone(), CancellationToken::new());
    let slot = stores.clone();
    mgr.add("widgets", move |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        let widgets = controller.store();
        let (controller, owned) = ctx.owns(
            controller,
            Api::<ConfigMap>::all(ctx.client()),
            Default::default(),
        );
        *slot.lock().unwrap() = Some((widgets, owned));
        ctx.run(
            controller,
            |_, _| async { Ok::<_, TestError>(Action::await_change()) },
            noop_policy,
            Arc::new(()),
        )
    });
    let running = mgr.start();
    running
        .ready(DEADLINE)
        .await
        .expect("manager becomes ready");

    let (widgets, owned) = stores
        .lock()
        .unwrap()
        .clone()
        .expect("closure ran at start");
    let mut names: Vec<_> = widgets.state().iter().map(|w| w.name_any()).collect();
    names.sort();
    assert_eq!(
        names,
        ["a", "b", "c"],
        "ready() returned before the main watch listed everything"
    );
    assert!(
        owned.state().iter().any(|c| c.name_any() == "cm1"),
        "ready() returned before the owned watch synced"
    );
    running.shutdown(DEADLINE).await.expect("clean shutdown");
}

#[tokio::test]
async fn not_ready_names_the_watch_that_cannot_sync() {
    // No CRD installed for Widget: its list returns 404 and the watch never syncs.
    let server = ApiServer::builder().start().await.expect("server starts");
    let client = server.client().unwrap();
    let mut mgr = Manager::new(client, CancellationToken::new());
    mgr.add("missing-crd", |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        ctx.run(
            controller,
            |_, _| async { Ok::<_, TestError>(Action::await_change()) },
            noop_policy,
            Arc::new(()),
        )
    });
    let running = mgr.start();
    let err = running
        .ready(SHORT)
        .await
        .expect_err("cannot be ready without the CRD");
    let msg = err.to_string();
    assert!(
        matches!(&err, ManagerError::NotReady { pending, .. } if pending.len() == 1),
        "{msg}"
    );
    assert!(
        msg.contains("widgets")
            && msg.contains("missing-crd")
            && msg.contains("CRDs are installed"),
        "{msg}"
    );
    running
        .shutdown(DEADLINE)
        .await
        .expect("shutdown still clean");
}

/// A kind the test servers never install, for a secondary watch that cannot sync.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(group = "manager.test", version = "v1", kind = "Sprocket", namespaced)]
struct SprocketSpec {
    teeth: i32,
}

#[tokio::test]
async fn readiness_waits_for_secondary_watches_too() {
    let (_server, client) = server().await;
    let mut mgr = Manager::new(client, CancellationToken::new());
    mgr.add("widgets", |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        // Sprockets are not served: this secondary watch never syncs, the main one does.
        let (controller, _sprockets) = ctx.watches(
            controller,
            Api::<Sprocket>::all(ctx.client()),
            Default::default(),
            |_| None::<kube::runtime::reflector::ObjectRef<Widget>>,
        );
        ctx.run(
            controller,
            |_, _| async { Ok::<_, TestError>(Action::await_change()) },
            noop_policy,
            Arc::new(()),
        )
    });
    let running = mgr.start();
    let err = running
        .ready(SHORT)
        .await
        .expect_err("the sprocket watch cannot sync");
    match &err {
        ManagerError::NotReady { pending, .. } => {
            assert_eq!(pending.len(), 1, "{err}");
            assert!(pending[0].resource.contains("sprockets"), "{err}");
            assert_eq!(pending[0].controller, "widgets");
            assert!(
                pending[0]
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("404")),
                "{err}"
            );
        }
        other => panic!("expected NotReady, got {other}"),
    }
    running
        .shutdown(DEADLINE)
        .await
        .expect("shutdown stays clean");
}

#[tokio::test]
async fn reconciles_run_and_shutdown_waits_for_the_one_in_flight() {
    let (_server, client) = server().await;
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let finished = Arc::new(AtomicUsize::new(0));
    let mut mgr = Manager::new(client.clone(), CancellationToken::new());
    let (s, r, f) = (started.clone(), release.clone(), finished.clone());
    mgr.add("widgets", move |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        ctx.run(
            controller,
            move |_, _| {
                let (s, r, f) = (s.clone(), r.clone(), f.clone());
                async move {
                    s.notify_one();
                    r.notified().await;
                    f.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, TestError>(Action::await_change())
                }
            },
            noop_policy,
            Arc::new(()),
        )
    });
    let running = mgr.start();
    running.ready(DEADLINE).await.unwrap();
    create_widget(&client, "slow").await;
    tokio::time::timeout(DEADLINE, started.notified())
        .await
        .expect("reconcile started");

    let shutdown = tokio::spawn(running.shutdown(DEADLINE));
    // Shutdown cannot finish while the reconcile is blocked.
    tokio::task::yield_now().await;
    assert!(!shutdown.is_finished());
    release.notify_one();
    tokio::time::timeout(DEADLINE, shutdown)
        .await
        .expect("shutdown finishes")
        .unwrap()
        .expect("clean shutdown");
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the in-flight reconcile ran to completion"
    );
}

#[tokio::test]
async fn shutdown_is_bounded_when_a_reconcile_hangs() {
    let (_server, client) = server().await;
    let started = Arc::new(Notify::new());
    let mut mgr = Manager::new(client.clone(), CancellationToken::new());
    let s = started.clone();
    mgr.add("stuck", move |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        ctx.run(
            controller,
            move |_, _| {
                let s = s.clone();
                async move {
                    s.notify_one();
                    std::future::pending::<()>().await;
                    Ok::<_, TestError>(Action::await_change())
                }
            },
            noop_policy,
            Arc::new(()),
        )
    });
    let running = mgr.start();
    running.ready(DEADLINE).await.unwrap();
    create_widget(&client, "w").await;
    tokio::time::timeout(DEADLINE, started.notified())
        .await
        .expect("reconcile started");
    let err = running
        .shutdown(SHORT)
        .await
        .expect_err("a hung reconcile must not hang shutdown");
    assert!(
        matches!(&err, ManagerError::ShutdownTimeout { controllers, .. } if controllers == &["stuck"]),
        "{err}"
    );
}

#[tokio::test]
async fn reconcile_errors_are_counted_not_swallowed() {
    let (_server, client) = server().await;
    let mut mgr = Manager::new(client.clone(), CancellationToken::new());
    mgr.add("failing", |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        ctx.run(
            controller,
            |_, _| async { Err::<Action, _>(TestError) },
            noop_policy,
            Arc::new(()),
        )
    });
    let running = mgr.start();
    running.ready(DEADLINE).await.unwrap();
    assert_eq!(running.last_reconcile_error("failing"), None);
    create_widget(&client, "w").await;
    eventually("a counted reconcile error", || {
        running.reconcile_errors("failing").unwrap_or(0) >= 1
    })
    .await;
    assert_eq!(running.reconcile_errors("nope"), None);
    // The last failure names the object and the error, for a person inspecting the run.
    let last = running.last_reconcile_error("failing").unwrap();
    assert!(last.starts_with("Widget.") && last.contains("/w"), "{last}");
    assert!(last.ends_with(&TestError.to_string()), "{last}");
    assert_eq!(running.last_reconcile_error("nope"), None);
    running.shutdown(DEADLINE).await.unwrap();
}

#[tokio::test]
async fn a_controller_that_fails_or_stops_early_is_reported() {
    let (_server, client) = server().await;
    let (fail_tx, fail_rx) = oneshot::channel::<()>();
    let mut mgr = Manager::new(client.clone(), CancellationToken::new());
    mgr.add("healthy", |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        ctx.run(
            controller,
            |_, _| async { Ok::<_, TestError>(Action::await_change()) },
            noop_policy,
            Arc::new(()),
        )
    });
    mgr.add("broken", move |ctx| {
        let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        let run = ctx.run(
            controller,
            |_, _| async { Ok::<_, TestError>(Action::await_change()) },
            noop_policy,
            Arc::new(()),
        );
        async move {
            tokio::select! {
                // biased: when both are ready at shutdown the failure must win the race.
                biased;
                _ = fail_rx => Err("lost connection to the widget backend".into()),
                r = run => r,
            }
        }
    });
    let running = mgr.start();
    running.ready(DEADLINE).await.unwrap();
    fail_tx.send(()).unwrap();
    let err = running
        .shutdown(DEADLINE)
        .await
        .expect_err("the failure must surface");
    let msg = err.to_string();
    assert!(
        msg.contains("broken") && msg.contains("lost connection"),
        "{msg}"
    );
    assert!(!msg.contains("healthy"), "{msg}");

    // Stopping early (Ok before shutdown) is a failure too, and ready() reports it at once.
    let mut mgr = Manager::new(client.clone(), CancellationToken::new());
    mgr.add("quitter", |ctx| {
        let _controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        async { Ok::<(), manager::BoxError>(()) }
    });
    let running = mgr.start();
    let err = running.ready(DEADLINE).await.expect_err("stopped early");
    assert!(
        matches!(&err, ManagerError::ControllerExited(f) if f.controller == "quitter" && matches!(f.error, ControllerError::StoppedEarly)),
        "{err}"
    );
}

#[tokio::test]
async fn a_panicking_controller_is_reported() {
    let (_server, client) = server().await;
    let mut mgr = Manager::new(client, CancellationToken::new());
    mgr.add("panics", |ctx| {
        let _controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
        async {
            panic!("boom");
            #[allow(unreachable_code)]
            Ok::<(), manager::BoxError>(())
        }
    });
    let running = mgr.start();
    let err = running.ready(DEADLINE).await.expect_err("panicked");
    assert!(
        matches!(&err, ManagerError::ControllerExited(f) if matches!(&f.error, ControllerError::Panicked(m) if m == "boom")),
        "{err}"
    );
}

#[tokio::test]
async fn a_controller_without_watches_is_rejected_by_ready() {
    let (_server, client) = server().await;
    let shutdown = CancellationToken::new();
    let mut mgr = Manager::new(client, shutdown.clone());
    mgr.add("blind", |ctx| {
        let token = ctx.shutdown_token();
        async move {
            token.cancelled().await;
            Ok::<(), manager::BoxError>(())
        }
    });
    let running = mgr.start();
    let err = running
        .ready(DEADLINE)
        .await
        .expect_err("no watch registered");
    assert!(
        matches!(&err, ManagerError::NoWatches { controller } if controller == "blind"),
        "{err}"
    );
    // An external cancel of the token stops it like shutdown() would.
    shutdown.cancel();
    running
        .wait()
        .await
        .expect("stops cleanly on the external token");
}

/// Two managers on one API server, each scoped to its own namespace: each reconciles only
/// the objects of its namespace. Counted, not timed: each reconcile records the object's
/// namespace, and the check runs after a sentinel object, created after both namespaces'
/// objects, was reconciled by each manager. A watch delivers events in resourceVersion order and
/// the reflector applies them before the controller sees the next one, so by the time a manager
/// reconciles its sentinel, its store holds every earlier object it was given: without the
/// scope that includes the other namespace's objects (the store check fails at once).
#[tokio::test]
async fn scoped_managers_on_one_server_see_only_their_own_namespaces() {
    use k8s_openapi::api::core::v1::Namespace;
    use manager::NamespaceScope;

    let (_server, client) = server().await;
    for ns in ["team-a", "team-b"] {
        Api::<Namespace>::all(client.clone())
            .create(
                &PostParams::default(),
                &Namespace {
                    metadata: ObjectMeta {
                        name: Some(ns.into()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    // Per manager: the namespaces of the objects it reconciled, and of its store's objects
    // when it reconciled its sentinel.
    type Seen = Arc<Mutex<Vec<String>>>;
    let start = |ns: &'static str| {
        let scope = NamespaceScope::new();
        scope.insert(ns);
        let reconciled: Seen = Arc::default();
        let store_at_sentinel: Seen = Arc::default();
        let mut mgr = Manager::new(client.clone(), CancellationToken::new()).scoped(scope);
        let (r, s) = (reconciled.clone(), store_at_sentinel.clone());
        mgr.add("widgets", move |ctx| {
            let controller = ctx.controller(Api::<Widget>::all(ctx.client()), Default::default());
            let store = controller.store();
            ctx.run(
                controller,
                move |w: Arc<Widget>, _| {
                    let (r, s, store) = (r.clone(), s.clone(), store.clone());
                    async move {
                        r.lock().unwrap().push(w.namespace().unwrap_or_default());
                        if w.name_any() == "sentinel" {
                            *s.lock().unwrap() = store
                                .state()
                                .iter()
                                .map(|o| o.namespace().unwrap_or_default())
                                .collect();
                        }
                        Ok::<_, TestError>(Action::await_change())
                    }
                },
                noop_policy,
                Arc::new(()),
            )
        });
        (mgr.start(), reconciled, store_at_sentinel)
    };
    let (a, a_reconciled, a_store) = start("team-a");
    let (b, b_reconciled, b_store) = start("team-b");
    a.ready(DEADLINE).await.unwrap();
    b.ready(DEADLINE).await.unwrap();
    for (ns, names) in [("team-a", ["a1", "a2"]), ("team-b", ["b1", "b2"])] {
        for name in names {
            Api::<Widget>::namespaced(client.clone(), ns)
                .create(
                    &PostParams::default(),
                    &Widget::new(name, WidgetSpec { size: 1 }),
                )
                .await
                .unwrap();
        }
    }
    for ns in ["team-a", "team-b"] {
        Api::<Widget>::namespaced(client.clone(), ns)
            .create(
                &PostParams::default(),
                &Widget::new("sentinel", WidgetSpec { size: 1 }),
            )
            .await
            .unwrap();
    }
    eventually("both managers reconciled their sentinels", || {
        !a_store.lock().unwrap().is_empty() && !b_store.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(*a_store.lock().unwrap(), vec!["team-a"; 3], "store of a");
    assert_eq!(*b_store.lock().unwrap(), vec!["team-b"; 3], "store of b");
    eventually("each manager reconciled its three objects", || {
        a_reconciled.lock().unwrap().len() >= 3 && b_reconciled.lock().unwrap().len() >= 3
    })
    .await;
    assert!(a_reconciled.lock().unwrap().iter().all(|ns| ns == "team-a"));
    assert!(b_reconciled.lock().unwrap().iter().all(|ns| ns == "team-b"));
    a.shutdown(DEADLINE).await.unwrap();
    b.shutdown(DEADLINE).await.unwrap();
}

#[tokio::test]
async fn a_controller_given_a_client_of_its_own_gets_it_and_the_others_the_managers() {
    let (server, client) = server().await;
    // Told apart by their default namespace: the identity a client carries is not observable.
    let mut config = server.kube_config();
    config.default_namespace = "own-identity".into();
    let own = Client::try_from(config).unwrap();
    let mut mgr = Manager::new(client, CancellationToken::new());
    // Given before the controller is added: the lookup happens at start.
    mgr.client_for("a", own);
    mgr.client_for("never-registered", server.client().unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for name in ["a", "b"] {
        let tx = tx.clone();
        mgr.add(name, move |ctx| {
            tx.send((
                ctx.name().to_owned(),
                ctx.client().default_namespace().to_owned(),
            ))
            .unwrap();
            let token = ctx.shutdown_token();
            async move {
                token.cancelled().await;
                Ok::<(), TestError>(())
            }
        });
    }
    assert_eq!(mgr.registered(), ["a", "b"]);
    let running = mgr.start();
    let mut seen = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
    seen.sort();
    assert_eq!(
        seen,
        [
            ("a".to_owned(), "own-identity".to_owned()),
            ("b".to_owned(), "default".to_owned())
        ]
    );
    running.shutdown(DEADLINE).await.unwrap();
}
