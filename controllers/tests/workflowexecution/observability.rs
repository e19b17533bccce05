//! What the controller tells the outside world: metrics on the process's own registry, audit
//! events in DataStorage, and status writes that never lose a concurrent writer's change.

use std::sync::LazyLock;

use audit::EventOutcome;
use controllers::api::WorkflowExecutionPhase::*;
use fixtures::campaign::Campaign;
use fixtures::{ApiExt as _, Suite, eventually};
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::env::{FAMILY, LATE_EXEC_NS, METRICS, T};

/// A suite whose execution namespace does not exist at start.
static LATE_NAMESPACE: LazyLock<Suite> = LazyLock::new(|| {
    let why = "its controller watches a namespace that does not exist yet";
    FAMILY.variant("workflowexecution-late-namespace", why, |c, setup| {
        c.execution_namespace = setup.namespace_name(LATE_EXEC_NS);
    })
});

#[tokio::test]
async fn metrics_count_every_reconcile_and_every_audit_event_exactly() {
    if fixtures::campaign::skipped_under(
        &[Campaign::ApiErrors],
        "it asserts that no reconcile fails; the campaign fails some of the controller's writes",
    ) {
        return;
    }
    // A suite of its own: nothing else writes to this registry, so values are exact. Deltas
    // (before/after) keep them exact in the single-controller baseline too, where the shared
    // manager's registry has counted earlier tests, which ran before this one (serialized).
    let Some(t) = T::on(&METRICS, "metrics").await else {
        return;
    };
    let before = baseline_metrics(&t).await;
    let wfe = t.wfe("metrics");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Complete", "Completed", "done").await;
    t.wait_phase("metrics", Completed).await;
    t.jobs().wait_gone(&job).await;
    // selection.completed, execution.started, workflow.completed: three events reach
    // DataStorage (the controller's store flushes on its own interval), and the counters follow.
    t.audit(&wfe, 3).await;
    // At least: finalizer added, Pending → Running, Running → Completed, Job deleted. The last
    // reconcile is counted when it returns, which may be after the test saw the Job go.
    let after = settled_metrics(&t, &before, 3.0, 4.0).await;
    let delta = |name: &str, labels: &[(&str, &str)]| after.delta(&before, name, labels);

    let success = delta(
        "workflowexecution_reconciler_total",
        &[("outcome", "success")],
    );
    assert!(success >= 4.0, "{success}");
    assert_eq!(
        delta(
            "workflowexecution_reconciler_total",
            &[("outcome", "error")]
        ),
        0.0
    );
    // Every reconcile is timed once.
    assert_eq!(
        delta(
            "workflowexecution_reconciler_duration_seconds_count",
            &[("outcome", "success")]
        ),
        success
    );
    // Three events, none lost.
    assert_eq!(delta("audit_events_sent_total", &[]), 3.0);
    assert_eq!(delta("audit_events_dropped_total", &[]), 0.0);
}

/// The reconcile and audit counters of one scrape: (reconciles, timed reconciles, audit events
/// sent). A reconcile is counted, then timed, so a scrape between the two sees them differ.
fn counters(m: &fixtures::Snapshot) -> (f64, f64, f64) {
    let sum = |name: &str| {
        ["success", "error"]
            .iter()
            .map(|o| m.value_or_zero(name, &[("outcome", o)]))
            .sum::<f64>()
    };
    (
        sum("workflowexecution_reconciler_total"),
        sum("workflowexecution_reconciler_duration_seconds_count"),
        m.value_or_zero("audit_events_sent_total", &[]),
    )
}

/// The metrics a delta starts from: every audit event recorded so far is flushed first, so
/// the audit counters are exact from here. A per-process environment's registry is this test's
/// alone and nothing has been reconciled yet; the single-controller baseline's shared manager
/// has counted earlier tests (serialized before this one) and may still hold some of their
/// events in its buffer, which the flush (its `/audit/flush`) sends and counts now instead of
/// in the middle of this test's delta.
async fn baseline_metrics(t: &T) -> fixtures::Snapshot {
    t.env.flush_audit().await.expect("flush the audit store");
    t.env.metrics().await.expect("metrics")
}

/// The first scrape after `before` with at least `audit_events` more events sent, at least
/// `reconciles` more reconciles, and every counted reconcile also timed. The store counts a
/// batch as sent after DataStorage stored it, so the events the test saw in DataStorage are
/// counted once this holds; the caller then checks the values are exact.
async fn settled_metrics(
    t: &T,
    before: &fixtures::Snapshot,
    audit_events: f64,
    reconciles: f64,
) -> fixtures::Snapshot {
    let (reconciles_before, _, sent_before) = counters(before);
    eventually("the audit and reconcile counters to settle", || async {
        let now = t.env.metrics().await.map_err(|e| e.to_string())?;
        let (counted, timed, sent) = counters(&now);
        if sent - sent_before >= audit_events
            && counted - reconciles_before >= reconciles
            && counted == timed
        {
            Ok(now)
        } else {
            Err(format!(
                "{} audit events sent (want {audit_events}); {} reconciles (want {reconciles}), {counted} counted in all, {timed} timed",
                sent - sent_before,
                counted - reconciles_before
            ))
        }
    })
    .await
}

#[tokio::test]
async fn a_successful_run_is_audited_in_datastorage_by_correlation_id() {
    let Some(t) = T::new("audit-ok").await else {
        return;
    };
    let wfe = t.wfe("audit-ok");
    let job = t.start(&wfe).await;
    t.job_condition(&job, "Complete", "Completed", "done").await;
    t.wait_phase("audit-ok", Completed).await;
    let events = t.audit(&wfe, 3).await;
    let mut types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "workflowexecution.execution.started",
            "workflowexecution.selection.completed",
            "workflowexecution.workflow.completed"
        ]
    );
    for e in &events {
        assert_eq!(
            e.correlation_id,
            wfe.spec.remediation_request_ref.name.clone().unwrap()
        );
        assert_eq!(e.actor_type.as_deref(), Some("service"));
        assert_eq!(e.actor_id.as_deref(), Some("workflowexecution-controller"));
        assert_eq!(e.resource_type.as_deref(), Some("WorkflowExecution"));
        assert_eq!(e.namespace.as_deref(), Some(t.ns.as_str()));
        assert_eq!(e.event_category, "workflowexecution");
    }
    let completed = events
        .iter()
        .find(|e| e.event_type == "workflowexecution.workflow.completed")
        .unwrap();
    assert_eq!(completed.event_outcome, EventOutcome::Success);
    assert!(completed.duration_ms.is_some());
    // Newest first.
    assert!(
        events
            .windows(2)
            .all(|w| w[0].event_timestamp >= w[1].event_timestamp)
    );
}

#[tokio::test]
async fn a_failure_is_audited_with_its_reason_and_exit_code() {
    let Some(t) = T::new("audit-fail").await else {
        return;
    };
    let wfe = t.wfe("audit-fail");
    let job = t.start(&wfe).await;
    t.terminated_pod(&job, "OOMKilled", 137, "").await;
    t.job_condition(&job, "Failed", "BackoffLimitExceeded", "backoff")
        .await;
    t.wait_phase("audit-fail", Failed).await;
    let events = t.audit(&wfe, 3).await;
    let failed = events
        .iter()
        .find(|e| e.event_type == "workflowexecution.workflow.failed")
        .expect("workflow.failed event");
    assert_eq!(failed.event_outcome, EventOutcome::Failure);
    assert_eq!(failed.error_code.as_deref(), Some("OOMKilled"));
    assert_eq!(
        failed.event_data.get("failure_reason"),
        Some(&json!("OOMKilled"))
    );
    assert_eq!(failed.event_data.get("exit_code"), Some(&json!(137)));
}

#[tokio::test]
async fn a_concurrent_status_writer_is_never_overwritten() {
    // DD-PERF-001: the controller refetches before writing and retries on 409, so a condition
    // another writer adds at any moment survives every transition.
    let Some(t) = T::new("conflict").await else {
        return;
    };
    let wfe = t.wfe("conflict");
    t.create(&wfe).await;
    let api = t.wfes();
    let marker = |i: u32| {
        json!({"status": {"conditions": [{
            "type": "ExternalMarker", "status": "True", "reason": "Test", "message": format!("write {i}"),
            "lastTransitionTime": "2026-01-01T00:00:00Z"
        }]}})
    };
    // Hammer the status while the controller moves Pending → Running. Each marker write
    // replaces `conditions` (merge patch), so the controller's conditions must be re-added by
    // its refetch-and-retry, and ours must survive its writes.
    let mut wrote = false;
    for i in 0..1000 {
        // A merge patch replaces the whole conditions list: keep the controller's, add ours,
        // guarded by the resourceVersion we read (a 409 just means "try again").
        let current = api.get("conflict").await.unwrap();
        let mut conditions: Vec<serde_json::Value> = current
            .status
            .clone()
            .unwrap_or_default()
            .conditions
            .iter()
            .filter(|c| c.type_ != "ExternalMarker")
            .map(|c| serde_json::to_value(c).unwrap())
            .collect();
        let mut patch = marker(i);
        conditions.push(patch["status"]["conditions"][0].clone());
        patch["status"]["conditions"] = json!(conditions);
        patch["metadata"] = json!({"resourceVersion": current.metadata.resource_version});
        wrote |= api
            .patch_status("conflict", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .is_ok();
        if wrote && current.phase() == Running {
            break;
        }
    }
    assert!(wrote, "no marker write succeeded");
    let running = t.wait_phase("conflict", Running).await;
    let conditions = &running.status.as_ref().unwrap().conditions;
    assert!(
        conditions.iter().any(|c| c.type_ == "ExternalMarker"),
        "the concurrent writer's condition was lost: {conditions:?}"
    );
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "ExecutionCreated" && c.status == "True"),
        "{conditions:?}"
    );
}

#[tokio::test]
async fn a_missing_execution_namespace_is_retried_until_it_exists() {
    let Some(t) = T::on(&LATE_NAMESPACE, "late-ns").await else {
        return;
    };
    let wfe = t.wfe("late-ns");
    t.create(&wfe).await;
    // The Job cannot be created (its namespace does not exist): reconciles fail and back off.
    eventually(
        "reconcile errors while the execution namespace is missing",
        || async {
            let errors = t
                .env
                .metric_or_zero(
                    "workflowexecution_reconciler_total",
                    &[("outcome", "error")],
                )
                .await;
            if errors >= 1.0 { Ok(()) } else { Err(errors) }
        },
    )
    .await;
    assert_eq!(t.wfes().get("late-ns").await.unwrap().phase(), Pending);
    // Through the fixture: in the cluster mode the namespace is this process's (its own name,
    // labels and controller scope).
    let late = t.env.namespace_name(LATE_EXEC_NS);
    t.env.create_namespace(&late).await.unwrap();
    let running = t.wait_phase("late-ns", Running).await;
    let exec = running.status.unwrap().execution_ref.unwrap();
    assert_eq!(exec.namespace, Some(late));
}
