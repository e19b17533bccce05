//! The happy paths end to end through the shared mock: finalizer, phases, status contents,
//! deletion, and one status write per state change.

use controllers::api::AIAnalysis;
use controllers::api::AIAnalysisPhase::*;
use controllers::api::FINALIZER;
use controllers::api::aianalysis::{ApprovalDecision, EnrichmentResults};
use fixtures::{condition_status, eventually};
use hapi_mock::Endpoint;
use kube::ResourceExt as _;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use crate::env::{T, reason, retries, session};

#[tokio::test]
async fn a_confident_workflow_in_production_completes_approved() {
    let Some(t) = T::new("default").await else {
        return;
    };
    let done = t.run(&t.aia("default", "HighMemoryUsage"), Completed).await;
    let status = done.status.clone().unwrap();
    let rca = status.rca_result.unwrap();
    assert!(
        rca.root_cause
            .contains("HighMemoryUsage on Deployment/default"),
        "{}",
        rca.root_cause
    );
    let workflow = rca.selected_workflow.unwrap();
    assert_eq!(workflow.workflow_id, "restart-deployment-v1");
    assert_eq!(workflow.action_type, "RestartDeployment");
    assert_eq!(workflow.confidence, 0.9);
    assert_eq!(workflow.parameters["TARGET_NAMESPACE"], t.ns);
    let approval = status.approval.unwrap();
    assert!(!approval.approval_required);
    let evaluation = approval.policy_evaluation.unwrap();
    assert_eq!(evaluation.decision, ApprovalDecision::Approved);
    assert_eq!(
        evaluation.policy_name.as_deref(),
        Some("policies/aianalysis/approval.rego")
    );
    assert_eq!(reason(&done), "WorkflowSelected");
    assert_eq!(condition_status(&done, "Ready").as_deref(), Some("True"));
    assert!(status.start_time.is_some() && status.completed_at.is_some());
    assert_eq!(retries(&done), 0);
    // The session the result came from stays recorded.
    let calls = t.mock("default").await;
    assert_eq!(calls.count(Endpoint::Analyze), 1);
    assert_eq!(calls.count(Endpoint::Result), 1);
    assert_eq!(calls.calls[0].session_id, session(&done));
    assert!(done.finalizers().iter().any(|f| f == FINALIZER));
}

#[tokio::test]
async fn the_incident_sent_to_hapi_carries_the_signal_context() {
    let Some(t) = T::new("request").await else {
        return;
    };
    let mut aia = t.aia("req", "HighMemoryUsage");
    let ctx = &mut aia.spec.analysis_request.signal_context;
    ctx.enrichment_results = Some(EnrichmentResults {
        custom_labels: [("team".to_owned(), "payments".to_owned())].into(),
        ..EnrichmentResults::default()
    });
    t.run(&aia, Completed).await;
    let calls = t.mock("req").await;
    let sent = calls.calls[0].request.clone().expect("the analyze body");
    let ctx = &aia.spec.analysis_request.signal_context;
    assert_eq!(
        sent,
        json!({
            "remediation_id": t.rr("req"),
            "signal_name": "HighMemoryUsage",
            "severity": "critical",
            "environment": "Production",
            "fingerprint": ctx.fingerprint,
            "business_priority": "P1",
            "target_resource": {"kind": "Deployment", "name": "req", "namespace": t.ns},
            "enrichment_results": {"customLabels": {"team": "payments"}},
        })
    );
}

#[tokio::test]
async fn the_finalizer_is_added_before_anything_else() {
    let Some(t) = T::new("finalizer").await else {
        return;
    };
    // A session that never finishes keeps the object in Investigating.
    t.create(&t.aia("fin", "mock-never-finishes")).await;
    let api = t.api::<AIAnalysis>();
    let aia = eventually("the finalizer", || async {
        let aia = api.get("fin").await.map_err(|e| e.to_string())?;
        if aia.finalizers().iter().any(|f| f == FINALIZER) {
            Ok(aia)
        } else {
            Err(format!("finalizers {:?}", aia.finalizers()))
        }
    })
    .await;
    let _ = aia;
    let investigating = t.wait_phase("fin", Investigating).await;
    assert_eq!(investigating.finalizers(), [FINALIZER]);
}

#[tokio::test]
async fn deleting_a_completed_analysis_removes_the_finalizer_and_the_object() {
    let Some(t) = T::new("delete-done").await else {
        return;
    };
    t.run(&t.aia("del", "HighMemoryUsage"), Completed).await;
    t.api::<AIAnalysis>()
        .delete("del", &DeleteParams::default())
        .await
        .expect("delete");
    gone(&t, "del").await;
}

#[tokio::test]
async fn deleting_an_investigation_in_progress_stops_it() {
    let Some(t) = T::new("delete-busy").await else {
        return;
    };
    t.create(&t.aia("busy", "mock-never-finishes")).await;
    let api = t.api::<AIAnalysis>();
    eventually("a session in status", || async {
        let aia = api.get("busy").await.map_err(|e| e.to_string())?;
        session(&aia).ok_or_else(|| "no session yet".to_owned())
    })
    .await;
    api.delete("busy", &DeleteParams::default())
        .await
        .expect("delete");
    gone(&t, "busy").await;
    // One session only: deletion never resubmits.
    assert_eq!(t.mock("busy").await.count(Endpoint::Analyze), 1);
}

async fn gone(t: &T, name: &str) {
    let api = t.api::<AIAnalysis>();
    eventually(&format!("AIAnalysis {name} to be gone"), || async {
        match api.get_opt(name).await {
            Ok(None) => Ok(()),
            Ok(Some(a)) => Err(format!("still there, finalizers {:?}", a.finalizers())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

#[tokio::test]
async fn no_workflow_needed_completes_straight_from_investigating() {
    let Some(t) = T::new("no-workflow").await else {
        return;
    };
    let done = t.run(&t.aia("nowf", "mock-no-workflow"), Completed).await;
    let status = done.status.clone().unwrap();
    assert_eq!(reason(&done), "NoWorkflowNeeded");
    let rca = status.rca_result.unwrap();
    assert!(rca.selected_workflow.is_none());
    assert!(rca.root_cause.contains("no remediation is needed"));
    let approval = status.approval.unwrap();
    assert!(!approval.approval_required);
    assert!(
        approval.policy_evaluation.is_none(),
        "no policy without a workflow"
    );
    // Pending → Investigating, session, → Completed: three writes, never Analyzing.
    assert_eq!(t.status_writes_at_least::<AIAnalysis>("nowf", 3).await, 3);
}

#[tokio::test]
async fn one_status_write_per_state_change() {
    let Some(t) = T::new("writes").await else {
        return;
    };
    t.run(&t.aia("writes", "HighMemoryUsage"), Completed).await;
    // Investigating, session recorded, Analyzing, Completed: nothing else (polls that find the
    // session still running write nothing).
    assert_eq!(t.status_writes_at_least::<AIAnalysis>("writes", 4).await, 4);
    assert!(t.mock("writes").await.count(Endpoint::Status) >= 2);
}

#[tokio::test]
async fn the_spec_is_immutable() {
    let Some(t) = T::new("immutable").await else {
        return;
    };
    t.run(&t.aia("imm", "HighMemoryUsage"), Completed).await;
    let patch = json!({"spec": {"remediationId": "another"}});
    let err = t
        .api::<AIAnalysis>()
        .patch("imm", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect_err("spec changes are rejected");
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!(status.code, 422, "{status:?}");
    assert!(
        status.message.contains("spec is immutable"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn an_invalid_spec_is_rejected_by_the_api_server() {
    let Some(t) = T::new("invalid").await else {
        return;
    };
    let mut aia = t.aia("bad", "HighMemoryUsage");
    aia.spec.analysis_request.signal_context.fingerprint = "not-hex".into();
    aia.spec.remediation_id = String::new();
    let err = t
        .api::<AIAnalysis>()
        .create(&Default::default(), &aia)
        .await
        .expect_err("invalid spec");
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!(status.code, 422);
    assert!(status.message.contains("fingerprint"), "{}", status.message);
    assert!(
        status.message.contains("remediationId"),
        "{}",
        status.message
    );
}
