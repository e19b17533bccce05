//! The phase machine: every phase in order, the final status, and one status write per phase
//! transition.

use controllers::api::SignalProcessingPhase::{self, *};
use controllers::api::{Environment, Priority, SignalProcessing};
use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{Patch, PatchParams, WatchEvent, WatchParams};

use crate::env::{T, condition};

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
    t.deployment(&t.ns, "api", &[("kubernaut.ai/business-unit", "payments")])
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
        condition(&done, "Ready"),
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
    t.deployment(&t.ns, "writes", &[]).await;
    t.process(&t.sp("writes")).await;
    // Pending→Enriching, →Classifying, →Categorizing, →Completed.
    assert_eq!(t.writes_at_least("writes", 4).await, 4);
}

#[tokio::test]
async fn a_completed_signal_is_left_alone() {
    let Some(t) = T::new("terminal").await else {
        return;
    };
    let done = t.process(&t.sp("terminal")).await;
    // A metadata change brings a reconcile; the terminal phase writes nothing.
    t.sps()
        .patch(
            "terminal",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"poke": "1"}}})),
        )
        .await
        .unwrap();
    // Then a second object through every phase on the same controller: once it is done, the
    // poke's reconcile (queued before it) has long run.
    let later = t.process(&t.sp("terminal-later")).await;
    assert_eq!(later.phase(), Completed);
    let now: SignalProcessing = t.sps().get("terminal").await.unwrap();
    assert_eq!(now.status, done.status);
    assert_eq!(t.writes_at_least("terminal", 4).await, 4);
}
