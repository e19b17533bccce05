//! The phase machine: every phase in order, the final status, and one status write per phase
//! transition.

use controllers::api::SignalProcessingPhase::{self, *};
use controllers::api::{Environment, Priority, SignalProcessing};
use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{WatchEvent, WatchParams};

use fixtures::builtin::deployment;

use crate::env::{NO_CONTROLLER, T, config};

/// How long the watch test waits for Completed: far above the milliseconds processing takes,
/// so only a stuck controller reaches it.
const WATCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[tokio::test]
async fn a_signal_is_enriched_classified_and_categorized_to_completed() {
    let Some(t) = T::new("lifecycle").await else {
        return;
    };
    t.label_namespace(&t.ns, &[("kubernaut.ai/environment", "production")])
        .await;
    t.create(&deployment(
        "api",
        &[("kubernaut.ai/business-unit", "payments")],
    ))
    .await;
    let done = t.process(&t.sp("api")).await;
    let status = done.status.clone().unwrap();
    assert_eq!(status.phase, Some(Completed));
    assert_eq!(status.observed_generation, done.metadata.generation);
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    assert!(status.start_time.as_ref().unwrap().0 <= status.completion_time.as_ref().unwrap().0);
    let context = status.kubernetes_context.unwrap();
    assert_eq!(context.namespace.as_deref(), Some(t.ns.as_str()));
    assert_eq!(
        context
            .namespace_labels
            .get("kubernaut.ai/environment")
            .map(String::as_str),
        Some("production")
    );
    let workload = context.workload.unwrap();
    assert_eq!(
        (workload.kind.as_str(), workload.name.as_str()),
        ("Deployment", "api")
    );
    let enrichment = status.enrichment.unwrap();
    assert!(enrichment.namespace_found && enrichment.target_found && !enrichment.degraded);
    assert_eq!(enrichment.detail, None);
    let env = status.environment_classification.unwrap();
    assert_eq!(
        (env.environment, env.source.as_str()),
        (Environment::Production, "namespace-label")
    );
    let priority = status.priority_assignment.unwrap();
    assert_eq!(priority.priority, Priority::P0);
    assert_eq!(priority.source, "rego-policy");
    assert_eq!(priority.policy_name.as_deref(), Some("production-critical"));
    let business = status.business_classification.unwrap();
    assert_eq!(business.business_unit.as_deref(), Some("payments"));
    assert_eq!(
        (business.criticality.as_str(), business.source.as_str()),
        ("critical", "priority-derived")
    );
    assert_eq!(status.failure_info, None);
    assert_eq!(
        fixtures::condition(&done, "Ready").map(|c| (c.status, c.reason)),
        Some(("True".to_owned(), "Completed".to_owned()))
    );
    assert!(status.message.unwrap().contains("priority P0"));
}

#[tokio::test]
async fn a_watch_sees_every_phase_in_order() {
    let Some(t) = T::new("phases").await else {
        return;
    };
    let sps = t.sps();
    let watch = sps
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch SignalProcessings")
        .boxed();
    t.create(&t.sp("phases")).await;
    // Every status write is a watch event: the phases arrive one by one, none skipped.
    let collect = watch
        .try_filter_map(|event| async move {
            Ok(match event {
                WatchEvent::Added(sp) | WatchEvent::Modified(sp) => Some(sp.phase()),
                _ => None,
            })
        })
        .try_take_while(|phase| {
            let more = *phase != Completed;
            async move { Ok(more) }
        })
        .try_collect::<Vec<SignalProcessingPhase>>();
    let phases = tokio::time::timeout(WATCH_TIMEOUT, collect)
        .await
        .expect("Completed within the watch timeout")
        .expect("watch events");
    let mut seen = phases.clone();
    seen.dedup();
    assert_eq!(
        seen,
        vec![Pending, Enriching, Classifying, Categorizing],
        "{phases:?}"
    );
}

#[tokio::test]
async fn each_phase_transition_is_exactly_one_status_write() {
    let Some(t) = T::new("writes").await else {
        return;
    };
    t.create(&deployment("writes", &[])).await;
    t.process(&t.sp("writes")).await;
    // Pending→Enriching, →Classifying, →Categorizing, →Completed.
    assert_eq!(
        t.status_writes_at_least::<SignalProcessing>("writes", 4)
            .await,
        4
    );
}

/// Bound on a controller's start (watches synced) and on its graceful stop (in-flight
/// reconciles finish): far above the milliseconds either takes.
const START_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[tokio::test]
async fn a_completed_signal_is_left_alone() {
    // The controller is woken by spec changes only (and the spec is immutable), so the one
    // sure way to make it reconcile a completed signal is a fresh controller, whose first list
    // reconciles every object. Controllers of the test's own: the first processes the signal
    // and stops; the second must read it (its reconcile began), and stop (its reconciles
    // finished), having written nothing.
    let Some(t) = T::on(&NO_CONTROLLER, "terminal").await else {
        return;
    };
    let start = || {
        let mut manager = t
            .env
            .new_manager(tokio_util::sync::CancellationToken::new());
        let mut registry = prometheus_client::registry::Registry::default();
        controllers::signalprocessing::register(
            &mut manager,
            config(controllers::signalprocessing::Policies::builtin()),
            controllers::signalprocessing::Metrics::register(&mut registry),
            t.env.audit().clone(),
        );
        manager.start()
    };
    let first = start();
    first
        .ready(START_STOP_TIMEOUT)
        .await
        .expect("first controller ready");
    let done = t.process(&t.sp("terminal")).await;
    first
        .shutdown(START_STOP_TIMEOUT)
        .await
        .expect("first controller stops");
    let writes = t.status_writes::<SignalProcessing>("terminal").await;
    assert_eq!(writes, 4, "one status write per phase transition");
    // The test reads the signal no more until the second controller has stopped: every read
    // of it from here on is the controller's.
    let reads = || async {
        t.env
            .requests(Some(&t.ns))
            .await
            .expect("the request log")
            .iter()
            .filter(|r| {
                r.verb == "get" && r.resource == "signalprocessings" && r.name == "terminal"
            })
            .count()
    };
    let reads_before = reads().await;
    let second = start();
    second
        .ready(START_STOP_TIMEOUT)
        .await
        .expect("second controller ready");
    fixtures::eventually(
        "the second controller to reconcile the completed signal",
        || async {
            let n = reads().await;
            if n > reads_before {
                Ok(())
            } else {
                Err(format!("{n} reads, {reads_before} before it started"))
            }
        },
    )
    .await;
    second
        .shutdown(START_STOP_TIMEOUT)
        .await
        .expect("second controller stops after its reconciles");
    assert_eq!(
        t.status_writes::<SignalProcessing>("terminal").await,
        writes,
        "the completed signal was written"
    );
    let now: SignalProcessing = t.sps().get("terminal").await.unwrap();
    assert_eq!(now.status, done.status);
}
