//! Approval: a workflow the policy does not let run on its own waits in AwaitingApproval with
//! an approval notification, until the request is annotated `kubernaut.ai/approval: approved`
//! (runs) or `rejected` (fails); anything else is ignored.

use controllers::api::RemediationPhase::*;
use controllers::api::RemediationRequest;
use controllers::api::WorkflowExecution;
use controllers::api::notificationrequest::NotificationType;
use controllers::remediationorchestrator::{
    APPROVAL_ANNOTATION, APPROVED, APPROVED_BY_ANNOTATION, REJECTED,
};
use fixtures::builtin::JobOutcome;
use fixtures::{ApiExt as _, is_controlled_by};
use kube::ResourceExt as _;

use crate::env::{Scenario, T, failure, outcome};

#[tokio::test]
async fn a_workflow_needing_approval_waits_with_an_approval_notification() {
    let Some(t) = T::new("await").await else {
        return;
    };
    let rr = t.create(&t.rr("await", Scenario::LowConfidence)).await;
    let name = rr.name_any();
    let waiting = t.wait_phase(&name, AwaitingApproval).await;
    let nr = t.nr(&name, "approval").await;
    assert_eq!(nr.spec.type_, NotificationType::Approval);
    assert!(is_controlled_by(&nr, &waiting));
    assert!(
        nr.spec.body.contains(APPROVAL_ANNOTATION),
        "{}",
        nr.spec.body
    );
    assert!(!t.exists::<WorkflowExecution>(&format!("we-{name}")).await);
    let refs = &waiting.status.unwrap().notification_request_refs;
    assert_eq!(refs.len(), 1);
}

#[tokio::test]
async fn approved_runs_the_workflow_to_completion() {
    let Some(t) = T::new("approve").await else {
        return;
    };
    let rr = t.create(&t.rr("approve", Scenario::LowConfidence)).await;
    let name = rr.name_any();
    t.wait_phase(&name, AwaitingApproval).await;
    t.rrs()
        .annotate(&name, APPROVED_BY_ANNOTATION, "alice")
        .await;
    t.rrs().annotate(&name, APPROVAL_ANNOTATION, APPROVED).await;
    let executing = t.wait_phase(&name, Executing).await;
    assert!(
        executing
            .status
            .unwrap()
            .message
            .unwrap()
            .contains("approved by alice")
    );
    t.finish_job(&name, JobOutcome::Complete).await;
    let done = t.wait_phase(&name, Completed).await;
    assert_eq!(outcome(&done).as_deref(), Some("Remediated"));
    let events = t
        .ro_events(
            &name,
            &[
                "orchestrator.approval.decided",
                "orchestrator.lifecycle.completed",
            ],
        )
        .await;
    let decided = events
        .iter()
        .find(|e| e.event_type == "orchestrator.approval.decided")
        .unwrap();
    assert_eq!(decided.event_data["decision"], "approved");
    assert_eq!(decided.event_data["decided_by"], "alice");
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "orchestrator.approval.requested")
    );
}

#[tokio::test]
async fn rejected_fails_without_running_anything() {
    let Some(t) = T::new("reject").await else {
        return;
    };
    let rr = t.create(&t.rr("reject", Scenario::LowConfidence)).await;
    let name = rr.name_any();
    t.wait_phase(&name, AwaitingApproval).await;
    t.rrs().annotate(&name, APPROVAL_ANNOTATION, REJECTED).await;
    let failed = t.wait_phase(&name, Failed).await;
    let (phase, reason) = failure(&failed);
    assert_eq!(phase, Some(AwaitingApproval));
    assert!(reason.contains("rejected"), "{reason}");
    let nr = t.nr(&name, "escalation").await;
    assert_eq!(nr.spec.type_, NotificationType::Escalation);
    assert!(!t.exists::<WorkflowExecution>(&format!("we-{name}")).await);
}

#[tokio::test]
async fn an_unknown_approval_value_is_ignored_until_a_valid_one_arrives() {
    let Some(t) = T::new("maybe").await else {
        return;
    };
    let rr = t.create(&t.rr("maybe", Scenario::LowConfidence)).await;
    let name = rr.name_any();
    t.wait_phase(&name, AwaitingApproval).await;
    // Let the approval notification settle (its changes wake the request too).
    t.settled_notification(&name, "approval").await;
    let writes = t.status_writes::<RemediationRequest>(&name).await;
    t.rrs()
        .annotate(&name, APPROVAL_ANNOTATION, "maybe-later")
        .await;
    // A reconcile that began after the annotation has run (and seen it).
    t.reconcile_now::<RemediationRequest>(&name).await;
    let got = t.rrs().get(&name).await.unwrap();
    assert_eq!(got.phase(), AwaitingApproval);
    assert_eq!(t.status_writes::<RemediationRequest>(&name).await, writes);
    assert!(!t.exists::<WorkflowExecution>(&format!("we-{name}")).await);
    t.rrs().annotate(&name, APPROVAL_ANNOTATION, APPROVED).await;
    t.wait_phase(&name, Executing).await;
}
