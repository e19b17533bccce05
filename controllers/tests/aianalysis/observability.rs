//! What the controller tells the outside world: audit events in DataStorage by correlation id
//! and exact metric values from the process's own registry.

use audit::EventOutcome;
use controllers::api::AIAnalysis;
use controllers::api::AIAnalysisPhase::*;
use controllers::api::Environment;
use controllers::api::{Condition, Time};
use fixtures::campaign::Campaign;
use fixtures::{condition_status, eventually};
use kube::api::PostParams;

use std::time::Duration;

use apiserver::Match;

use crate::env::{CONCURRENT, METRICS, T, session};
use crate::mock::release;

fn types(events: &[audit::AuditEvent]) -> Vec<String> {
    let mut types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
    types.sort_unstable();
    types
}

#[tokio::test]
async fn a_completed_analysis_is_audited_by_correlation_id() {
    let Some(t) = T::new("audit-ok").await else {
        return;
    };
    t.run(&t.aia("ok", "HighMemoryUsage"), Completed).await;
    let events = t.audit("ok", 5).await;
    assert_eq!(
        types(&events),
        [
            "aianalysis.analysis.completed",
            "aianalysis.analysis.started",
            "aianalysis.approval.decision",
            "aianalysis.holmesgpt.call",
            "aianalysis.holmesgpt.call",
        ]
    );
    for e in &events {
        assert_eq!(e.correlation_id, t.rr("ok"));
        assert_eq!(e.actor_type.as_deref(), Some("service"));
        assert_eq!(e.actor_id.as_deref(), Some("aianalysis"));
        assert_eq!(e.resource_type.as_deref(), Some("AIAnalysis"));
        assert_eq!(e.namespace.as_deref(), Some(t.ns.as_str()));
        assert_eq!(e.event_category, "aianalysis");
    }
    let decision = events
        .iter()
        .find(|e| e.event_type == "aianalysis.approval.decision")
        .unwrap();
    assert_eq!(decision.event_data["decision"], "Approved");
    assert_eq!(decision.event_data["approval_required"], false);
    let completed = events
        .iter()
        .find(|e| e.event_type == "aianalysis.analysis.completed")
        .unwrap();
    assert_eq!(completed.event_outcome, EventOutcome::Success);
    assert_eq!(completed.event_data["workflow_id"], "restart-deployment-v1");
    assert!(completed.duration_ms.is_some());
    let calls: Vec<&str> = events
        .iter()
        .filter(|e| e.event_type == "aianalysis.holmesgpt.call")
        .map(|e| e.event_data["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(calls.len(), 2);
    assert!(
        calls.contains(&"analyze") && calls.contains(&"result"),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_failed_analysis_is_audited_with_every_failed_call() {
    let Some(t) = T::new("audit-fail").await else {
        return;
    };
    t.run(&t.aia("fail", "mock-always-500"), Failed).await;
    // started, six failed calls, failed.
    let events = t.audit("fail", 8).await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "aianalysis.analysis.failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].event_outcome, EventOutcome::Failure);
    assert_eq!(failed[0].error_code.as_deref(), Some("MaxRetriesExceeded"));
    let calls: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "aianalysis.holmesgpt.call")
        .collect();
    assert_eq!(calls.len(), 6);
    assert!(
        calls
            .iter()
            .all(|e| e.event_outcome == EventOutcome::Failure)
    );
    assert!(
        calls
            .iter()
            .all(|e| e.error_code.as_deref() == Some("HolmesGPTCallFailed"))
    );
}

#[tokio::test]
async fn a_denial_is_audited_as_a_decision_and_a_failure() {
    let Some(t) = T::new("audit-denied").await else {
        return;
    };
    t.run(&t.aia("deny", "mock-destructive-action"), Failed)
        .await;
    let events = t.audit("deny", 5).await;
    let decision = events
        .iter()
        .find(|e| e.event_type == "aianalysis.approval.decision")
        .expect("a decision event");
    assert_eq!(decision.event_data["decision"], "Denied");
    assert_eq!(
        decision.event_data["matched_rules"],
        serde_json::json!(["DestructiveAction"])
    );
    let failed = events
        .iter()
        .find(|e| e.event_type == "aianalysis.analysis.failed")
        .expect("a failed event");
    assert_eq!(failed.error_code.as_deref(), Some("ApprovalDenied"));
}

#[tokio::test]
async fn metrics_count_decisions_confidence_and_failures_exactly() {
    // A suite of its own: nothing else writes to this registry, so values are exact.
    let Some(t) = T::on(&METRICS, "metrics").await else {
        return;
    };
    let staging = Environment::Staging;
    let cases = [
        (t.aia("approved", "HighMemoryUsage"), Completed),
        (t.aia("review", "mock-low-confidence"), Completed),
        (
            t.aia("denied", "mock-very-low-confidence")
                .with_environment(staging),
            Failed,
        ),
        (t.aia("broken", "mock-always-500"), Failed),
        (t.aia("nothing", "mock-no-workflow"), Completed),
    ];
    for (aia, _) in &cases {
        t.create(aia).await;
    }
    for (aia, phase) in &cases {
        t.wait_phase(aia.metadata.name.as_deref().unwrap(), *phase)
            .await;
    }
    // The controller counts a decision or failure right after its status write and before the
    // analysis's last audit event: once every last event is in DataStorage the counters are
    // final. Events per case: started, the calls (analyze, result; six failed analyze calls
    // for "broken"), the decision when there is one, completed or failed.
    for (name, events) in [
        ("approved", 5),
        ("review", 5),
        ("denied", 5),
        ("broken", 8),
        ("nothing", 4),
    ] {
        t.audit(name, events).await;
    }
    let env = &t.env;
    let value = |name: &'static str, labels: Vec<(&'static str, &'static str)>| async move {
        env.metric_or_zero(name, &labels).await
    };
    assert_eq!(
        value(
            "aianalysis_rego_evaluations_total",
            vec![("outcome", "success")]
        )
        .await,
        3.0
    );
    assert_eq!(
        value(
            "aianalysis_rego_evaluations_total",
            vec![("outcome", "error")]
        )
        .await,
        0.0
    );
    let decisions = "aianalysis_approval_decisions_total";
    assert_eq!(
        value(
            decisions,
            vec![("decision", "Approved"), ("environment", "Production")]
        )
        .await,
        1.0
    );
    assert_eq!(
        value(
            decisions,
            vec![
                ("decision", "ManualReviewRequired"),
                ("environment", "Production")
            ]
        )
        .await,
        1.0
    );
    assert_eq!(
        value(
            decisions,
            vec![("decision", "Denied"), ("environment", "Staging")]
        )
        .await,
        1.0
    );
    assert_eq!(value(decisions, vec![]).await, 3.0);
    // Three workflows selected: 0.9, 0.6 and 0.3.
    assert_eq!(
        value("aianalysis_confidence_score_distribution_count", vec![]).await,
        3.0
    );
    let sum = value("aianalysis_confidence_score_distribution_sum", vec![]).await;
    assert!((sum - 1.8).abs() < 1e-9, "{sum}");
    assert_eq!(
        value(
            "aianalysis_failures_total",
            vec![("reason", "MaxRetriesExceeded")]
        )
        .await,
        1.0
    );
    assert_eq!(
        value(
            "aianalysis_failures_total",
            vec![("reason", "ApprovalDenied")]
        )
        .await,
        1.0
    );
    assert_eq!(value("aianalysis_failures_total", vec![]).await, 2.0);
    // Audit events reach DataStorage without loss.
    eventually("the audit buffer to drain", || async {
        let dropped = env.metric_or_zero("audit_events_dropped_total", &[]).await;
        if dropped == 0.0 { Ok(()) } else { Err(dropped) }
    })
    .await;
}

/// The most the controller's status write is held while another writer's write lands: the
/// test releases it as soon as that write has landed (milliseconds), so this only bounds a test
/// that fails before releasing.
const HELD_WRITE_AT_MOST: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_concurrent_status_writer_is_never_overwritten() {
    if fixtures::skip_in_cluster_mode(
        "it holds the controller's status write on the embedded API server (fault injection)",
    ) || fixtures::campaign::skipped_under(
        &[Campaign::ApiErrors, Campaign::Restarts],
        "it forces one race on the controller's next status write; an injected failure of that write, or a restart cutting it, is retried after a refetch and takes the race's place",
    ) {
        return;
    }
    // DD-PERF-001: the controller refetches before each write and retries on 409, so a
    // condition another writer adds between the controller's read and its write survives. The
    // race is forced: the controller's next status write is held by a fault (after it read the
    // object) until the other writer's write has landed; the held write then carries a stale
    // resourceVersion and must be refused and redone.
    let Some(t) = T::on(&CONCURRENT, "concurrent").await else {
        return;
    };
    t.create(&t.aia("conc", "mock-held")).await;
    let api = t.api::<AIAnalysis>();
    eventually("a session in status", || async {
        let aia = api.get("conc").await.map_err(|e| e.to_string())?;
        session(&aia).ok_or_else(|| "no session yet".to_owned())
    })
    .await;
    let server = t.env.server().expect("a per-process API server");
    let status_writes = || async {
        t.env
            .requests(Some(&t.ns))
            .await
            .unwrap()
            .iter()
            .filter(|r| r.verb == "update" && r.subresource == "status" && r.name == "conc")
            .map(|r| r.code)
            .collect::<Vec<u16>>()
    };
    let writes_before = status_writes().await.len();
    let controller_write = Match::verb("update")
        .resource("aianalyses")
        .namespace(&t.ns)
        .name("conc")
        .subresource("status");
    let hold = server
        .faults()
        .hold(controller_write.clone(), 1, HELD_WRITE_AT_MOST);
    // Held in Investigating (polls write nothing) until released: the next status write is
    // the controller's, after the analysis completes.
    release(&t.rr("conc")).await;
    eventually("the controller's status write to be held", || async {
        if server.faults().pending_matching(&controller_write) == 0 {
            Ok(())
        } else {
            Err("not yet")
        }
    })
    .await;
    // Inside the hold: another writer reads the current object and adds its condition.
    let mut aia = api.get("conc").await.unwrap();
    let generation = aia.metadata.generation;
    aia.status
        .as_mut()
        .expect("a status")
        .conditions
        .push(Condition {
            type_: "ExternalCheck".to_owned(),
            status: "True".to_owned(),
            reason: "Checked".to_owned(),
            message: "added by another writer".to_owned(),
            observed_generation: generation,
            last_transition_time: Time(jiff::Timestamp::now()),
        });
    api.replace_status("conc", &PostParams::default(), &aia)
        .await
        .expect("the other writer's status write lands while the controller's is held");
    hold.release();
    let done = t.wait_phase("conc", Completed).await;
    assert_eq!(condition_status(&done, "Ready").as_deref(), Some("True"));
    let conditions = done.status.unwrap().conditions;
    let external = conditions
        .iter()
        .find(|c| c.type_ == "ExternalCheck")
        .expect("the other writer's condition survived");
    assert_eq!(external.message, "added by another writer");
    // The race happened, in the log's order (the order writes were answered): the other
    // writer's write, the held write refused as stale (409), the held write redone.
    let codes = status_writes().await;
    assert_eq!(
        codes.get(writes_before..writes_before + 3),
        Some(&[200, 409, 200][..]),
        "status writes of conc since the hold: {:?}",
        &codes[writes_before.min(codes.len())..]
    );
}
