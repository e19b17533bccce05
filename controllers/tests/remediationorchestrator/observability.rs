//! What the orchestrator tells the outside world: metrics on the process's own registry
//! (exact values: the suite serves one test) and audit events in DataStorage, correlated by
//! the request's name.

use audit::EventOutcome;
use controllers::api::RemediationPhase::*;
use fixtures::builtin::JobOutcome;
use kube::ResourceExt as _;

use crate::env::{METRICS, Scenario, T};

#[tokio::test]
async fn metrics_count_transitions_children_and_reconciles_exactly() {
    let Some(t) = T::on(&METRICS, "metrics").await else {
        return;
    };
    let rr = t.create(&t.rr("metrics", Scenario::Workflow)).await;
    let name = rr.name_any();
    t.finish_job(&name, JobOutcome::Complete).await;
    t.wait_phase(&name, Completed).await;
    // The controller counts a transition right after its status write, and records the
    // completion's audit event after that: once the event is in DataStorage, every count is.
    t.ro_events(&name, &["orchestrator.lifecycle.completed"])
        .await;
    let ns = t.ns.as_str();
    for (from, to) in [
        ("Pending", "Processing"),
        ("Processing", "Analyzing"),
        ("Analyzing", "Executing"),
        ("Executing", "Verifying"),
        ("Verifying", "Completed"),
    ] {
        let got = t
            .env
            .metric_or_zero(
                "remediationorchestrator_phase_transitions_total",
                &[("from_phase", from), ("to_phase", to), ("namespace", ns)],
            )
            .await;
        assert_eq!(got, 1.0, "{from} -> {to}");
    }
    assert_eq!(
        t.env
            .metric_or_zero("remediationorchestrator_phase_transitions_total", &[])
            .await,
        5.0
    );
    for child in [
        "SignalProcessing",
        "AIAnalysis",
        "WorkflowExecution",
        "NotificationRequest",
    ] {
        let got = t
            .env
            .metric_or_zero(
                "remediationorchestrator_child_crd_creations_total",
                &[("child_type", child)],
            )
            .await;
        assert_eq!(got, 1.0, "{child}");
    }
    assert_eq!(
        t.env
            .metric_or_zero("remediationorchestrator_timeouts_total", &[])
            .await,
        0.0
    );
    assert_eq!(
        t.env
            .metric_or_zero("remediationorchestrator_blocked_total", &[])
            .await,
        0.0
    );
    // Every phase was reconciled at least once, each reconcile timed under its namespace. A
    // reconcile is timed when it returns, which can be just after its last audit event was
    // stored: poll.
    for phase in [Pending, Processing, Analyzing, Executing, Verifying] {
        fixtures::eventually(&format!("a timed {phase} reconcile"), || async {
            let n = t.reconciles(phase).await;
            if n >= 1.0 { Ok(()) } else { Err(n) }
        })
        .await;
    }
}

#[tokio::test]
async fn a_completed_request_is_audited_from_start_to_completion() {
    let Some(t) = T::new("audit-ok").await else {
        return;
    };
    let rr = t.create(&t.rr("audit-ok", Scenario::NoWorkflow)).await;
    let name = rr.name_any();
    t.wait_phase(&name, Completed).await;
    let events = t
        .ro_events(
            &name,
            &[
                "orchestrator.lifecycle.started",
                "orchestrator.lifecycle.completed",
            ],
        )
        .await;
    let events = eventually_transitions(&t, &name, 3, events).await;
    for e in &events {
        assert_eq!(e.correlation_id, name);
        assert_eq!(e.actor_type.as_deref(), Some("service"));
        assert_eq!(e.actor_id.as_deref(), Some("remediationorchestrator"));
        assert_eq!(e.namespace.as_deref(), Some(t.ns.as_str()));
    }
    let mut transitions: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.event_type == "orchestrator.phase.transitioned")
        .map(|e| {
            (
                e.event_data["from_phase"].as_str().unwrap().to_owned(),
                e.event_data["to_phase"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    transitions.sort();
    assert_eq!(
        transitions,
        vec![
            ("Analyzing".to_owned(), "Completed".to_owned()),
            ("Pending".to_owned(), "Processing".to_owned()),
            ("Processing".to_owned(), "Analyzing".to_owned()),
        ]
    );
    let completed = events
        .iter()
        .find(|e| e.event_type == "orchestrator.lifecycle.completed")
        .unwrap();
    assert_eq!(completed.event_outcome, EventOutcome::Success);
    assert_eq!(completed.event_data["outcome"], "NoActionRequired");
}

#[tokio::test]
async fn a_failed_request_is_audited_with_its_failure_phase() {
    let Some(t) = T::new("audit-fail").await else {
        return;
    };
    let rr = t.create(&t.rr("audit-fail", Scenario::Rejected)).await;
    let name = rr.name_any();
    t.wait_phase(&name, Failed).await;
    let events = t.ro_events(&name, &["orchestrator.lifecycle.failed"]).await;
    let failed = events
        .iter()
        .find(|e| e.event_type == "orchestrator.lifecycle.failed")
        .unwrap();
    assert_eq!(failed.event_outcome, EventOutcome::Failure);
    assert_eq!(failed.event_data["failure_phase"], "Analyzing");
    assert_eq!(failed.error_code.as_deref(), Some("Failed"));
}

/// Waits until `min` phase transitions of `rr` are in DataStorage too.
async fn eventually_transitions(
    t: &T,
    rr: &str,
    min: usize,
    first: Vec<audit::AuditEvent>,
) -> Vec<audit::AuditEvent> {
    let count = |events: &[audit::AuditEvent]| {
        events
            .iter()
            .filter(|e| e.event_type == "orchestrator.phase.transitioned")
            .count()
    };
    if count(&first) >= min {
        return first;
    }
    fixtures::eventually(
        &format!("{min} phase transitions of {rr} audited"),
        || async {
            let events = t.ro_events(rr, &["orchestrator.phase.transitioned"]).await;
            if count(&events) >= min {
                Ok(events)
            } else {
                Err(count(&events))
            }
        },
    )
    .await
}
