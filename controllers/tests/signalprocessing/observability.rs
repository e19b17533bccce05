//! What the controller tells the outside world: exact metrics on the process's own registry,
//! and audit events in DataStorage under the parent RemediationRequest's name.

use audit::EventOutcome;
use controllers::api::SignalProcessingPhase::Completed;

use fixtures::builtin::deployment;

use crate::env::{METRICS, T};

#[tokio::test]
async fn metrics_count_every_phase_exactly() {
    // A suite of its own: nothing else writes to this registry.
    let Some(t) = T::on(&METRICS, "metrics").await else {
        return;
    };
    t.create(&deployment("found", &[])).await;
    let found = t.sp("found");
    let missing = t.sp("missing");
    t.create(&found).await;
    t.create(&missing).await;
    t.wait_phase("found", Completed).await;
    t.wait_phase("missing", Completed).await;
    let total = "signalprocessing_processing_total";
    let count = "signalprocessing_processing_duration_seconds_count";
    for (phase, success, degraded) in [
        ("Pending", 2.0, 0.0),
        ("Enriching", 1.0, 1.0),
        ("Classifying", 2.0, 0.0),
        ("Categorizing", 2.0, 0.0),
    ] {
        let result = |r: &'static str| [("phase", phase), ("result", r)];
        t.metric_reaches(total, &result("success"), success).await;
        t.metric_reaches(total, &result("degraded"), degraded).await;
        t.metric_reaches(total, &result("error"), 0.0).await;
        // Every phase reconcile is timed once.
        t.metric_reaches(count, &[("phase", phase)], 2.0).await;
    }
    // Settled: the totals are exact, and nothing else was counted.
    assert_eq!(t.env.metric_or_zero(total, &[]).await, 8.0);
    assert_eq!(
        t.env.metric_or_zero(total, &[("result", "failure")]).await,
        0.0
    );
    assert_eq!(
        t.env
            .metric_or_zero("signalprocessing_enrichment_errors_total", &[])
            .await,
        0.0
    );
    // Nothing is reconciled in a terminal phase.
    assert_eq!(
        t.env.metric_or_zero(count, &[("phase", "Completed")]).await,
        0.0
    );
}

#[tokio::test]
async fn audit_events_are_found_by_the_remediation_request_name() {
    let Some(t) = T::new("audit").await else {
        return;
    };
    t.label_namespace(&t.ns, &[("kubernaut.ai/environment", "staging")])
        .await;
    let sp = t.sp("audited");
    t.process(&sp).await;
    let events = t.audit(&sp, 4).await;
    let correlation = sp.spec.remediation_request_ref.name.clone().unwrap();
    let mut types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        vec![
            "signalprocessing.categorization.completed",
            "signalprocessing.classification.decision",
            "signalprocessing.enrichment.completed",
            "signalprocessing.signal.processed",
        ]
    );
    for e in &events {
        assert_eq!(e.correlation_id, correlation);
        assert_eq!(e.event_category, "signalprocessing");
        assert_eq!(e.event_outcome, EventOutcome::Success);
        assert_eq!(e.actor_type.as_deref(), Some("service"));
        assert_eq!(e.actor_id.as_deref(), Some("signalprocessing"));
        assert_eq!(e.resource_type.as_deref(), Some("SignalProcessing"));
        assert_eq!(e.resource_id.as_deref(), Some("audited"));
        assert_eq!(e.namespace.as_deref(), Some(t.ns.as_str()));
    }
    let by_type = |ty: &str| events.iter().find(|e| e.event_type == ty).unwrap();
    let enrichment = by_type("signalprocessing.enrichment.completed");
    assert_eq!(enrichment.event_data["target_found"], false);
    assert_eq!(enrichment.event_data["degraded"], true);
    let decision = by_type("signalprocessing.classification.decision");
    assert_eq!(decision.event_data["environment"], "Staging");
    assert_eq!(decision.event_data["environment_source"], "namespace-label");
    let categorized = by_type("signalprocessing.categorization.completed");
    assert_eq!(categorized.event_data["priority"], "P1");
    assert_eq!(categorized.event_data["policy_name"], "staging-critical");
    let processed = by_type("signalprocessing.signal.processed");
    assert_eq!(processed.event_data["priority"], "P1");
    assert!(processed.duration_ms.is_some_and(|ms| ms >= 0));
}
