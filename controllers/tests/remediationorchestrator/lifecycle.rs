//! The flow end to end: the children the orchestrator creates (what they carry, that it
//! controls them), the happy path to Completed, "no workflow needed", one status write per
//! phase transition, and garbage collection of the children with the request.

use controllers::api::RemediationPhase::*;
use controllers::api::notificationrequest::NotificationType;
use controllers::api::{
    AIAnalysis, Environment, NotificationRequest, Phase as _, RemediationRequest, SignalProcessing,
    WorkflowExecution,
};
use fixtures::builtin::JobOutcome;
use fixtures::eventually;
use fixtures::is_controlled_by;
use kube::ResourceExt as _;
use kube::api::DeleteParams;

use controllers::remediationorchestrator::config::DEFAULT_PROCESSING_TIMEOUT;

use crate::env::{Scenario, T, outcome};

#[tokio::test]
async fn a_request_goes_end_to_end_to_completed_through_four_owned_children() {
    let Some(t) = T::new("happy").await else {
        return;
    };
    let rr = t.create(&t.rr("happy", Scenario::Workflow)).await;
    let name = rr.name_any();
    t.finish_job(&name, JobOutcome::Complete).await;
    let done = t.wait_phase(&name, Completed).await;
    assert_eq!(outcome(&done).as_deref(), Some("Remediated"));

    let sp = t.sp(&name).await;
    let aia = t.aia(&name).await;
    let we = t.we(&name).await;
    let nr = t.nr(&name, "completion").await;
    assert!(is_controlled_by(&sp, &done), "{:?}", sp.owner_references());
    assert!(
        is_controlled_by(&aia, &done),
        "{:?}",
        aia.owner_references()
    );
    assert!(is_controlled_by(&we, &done), "{:?}", we.owner_references());
    assert!(is_controlled_by(&nr, &done), "{:?}", nr.owner_references());
    for ns in [
        sp.namespace(),
        aia.namespace(),
        we.namespace(),
        nr.namespace(),
    ] {
        assert_eq!(
            ns.as_ref(),
            Some(&t.ns),
            "children live in the request's namespace"
        );
    }
    assert_eq!(nr.spec.type_, NotificationType::Completion);

    let status = done.status.as_ref().unwrap();
    let names =
        |r: &Option<controllers::api::ObjectReference>| r.as_ref().and_then(|r| r.name.clone());
    assert_eq!(names(&status.signal_processing_ref), Some(sp.name_any()));
    assert_eq!(names(&status.ai_analysis_ref), Some(aia.name_any()));
    assert_eq!(names(&status.workflow_execution_ref), Some(we.name_any()));
    assert_eq!(status.signal_processing_ref.as_ref().unwrap().uid, sp.uid());
    assert_eq!(
        status
            .notification_request_refs
            .iter()
            .map(|r| r.name.clone().unwrap())
            .collect::<Vec<_>>(),
        vec![nr.name_any()]
    );
    assert!(
        !t.exists::<NotificationRequest>(&format!("nr-escalation-{name}"))
            .await
    );
}

#[tokio::test]
async fn signal_processing_carries_the_request_signal_and_a_deadline() {
    let Some(t) = T::new("sp-spec").await else {
        return;
    };
    let rr = t.create(&t.rr("sp-spec", Scenario::Workflow)).await;
    let sp: SignalProcessing = t.sp(&rr.name_any()).await;
    let s = &sp.spec.signal;
    assert_eq!(s.fingerprint, rr.spec.signal_fingerprint);
    assert_eq!(s.name, rr.spec.signal_name);
    assert_eq!(s.severity, rr.spec.severity);
    assert_eq!(s.type_, rr.spec.signal_type);
    assert_eq!(s.target_resource, rr.spec.target_resource);
    assert_eq!(s.labels, rr.spec.signal_labels);
    let parent = &sp.spec.remediation_request_ref;
    assert_eq!(parent.name.as_deref(), Some(rr.name_any().as_str()));
    assert_eq!(parent.uid, rr.uid());
    // The processing timeout (5 min by default) from the moment the orchestrator created the
    // SignalProcessing: after the request was created, and not after the orchestration's start
    // (written in the same reconcile, or a later one if that status write was retried).
    let started = eventually("the orchestration's start time", || async {
        let rr = t
            .rrs()
            .get(&rr.name_any())
            .await
            .map_err(|e| e.to_string())?;
        rr.status
            .and_then(|s| s.start_time)
            .ok_or_else(|| "no startTime yet".to_owned())
    })
    .await;
    let created = rr.metadata.creation_timestamp.clone().unwrap().0;
    let timeout = jiff::SignedDuration::try_from(DEFAULT_PROCESSING_TIMEOUT).unwrap();
    let from = sp.spec.times_out_at.unwrap().0 - timeout;
    assert!(
        created <= from && from <= started.0,
        "timesOutAt - {DEFAULT_PROCESSING_TIMEOUT:?} = {from}, outside [creationTimestamp {created}, startTime {}]",
        started.0
    );
}

#[tokio::test]
async fn the_analysis_is_built_from_the_request_and_the_classification() {
    let Some(t) = T::new("aia-spec").await else {
        return;
    };
    let rr = t.create(&t.rr("aia-spec", Scenario::Workflow)).await;
    let aia: AIAnalysis = t.aia(&rr.name_any()).await;
    let sp = t.sp(&rr.name_any()).await;
    let ctx = &aia.spec.analysis_request.signal_context;
    assert_eq!(aia.spec.remediation_id, rr.name_any());
    assert_eq!(ctx.signal_name, rr.spec.signal_name);
    assert_eq!(ctx.fingerprint, rr.spec.signal_fingerprint);
    assert_eq!(ctx.target_resource, rr.spec.target_resource);
    // The signal's `environment: staging` label classifies it as Staging.
    assert_eq!(ctx.environment, Environment::Staging);
    let sp_status = sp.status.unwrap();
    assert_eq!(
        Some(ctx.environment),
        sp_status.environment_classification.map(|c| c.environment)
    );
    assert_eq!(
        Some(ctx.business_priority),
        sp_status.priority_assignment.map(|p| p.priority)
    );
}

#[tokio::test]
async fn the_execution_runs_the_selected_workflow_on_the_target() {
    let Some(t) = T::new("we-spec").await else {
        return;
    };
    let rr = t.create(&t.rr("we-spec", Scenario::Workflow)).await;
    let name = rr.name_any();
    let we: WorkflowExecution = t.we(&name).await;
    let aia = t.aia(&name).await;
    let selected = aia
        .status
        .unwrap()
        .rca_result
        .unwrap()
        .selected_workflow
        .unwrap();
    assert_eq!(we.spec.workflow_ref.workflow_id, selected.workflow_id);
    assert_eq!(we.spec.workflow_ref.action_type, selected.action_type);
    assert_eq!(we.spec.parameters, selected.parameters);
    assert_eq!(we.spec.confidence, Some(selected.confidence));
    assert_eq!(
        we.spec.target_resource,
        format!("{}/Deployment/we-spec", t.ns)
    );
    assert_eq!(
        we.spec.remediation_request_ref.name.as_deref(),
        Some(name.as_str())
    );
    let running = t.wait_phase(&name, Executing).await;
    assert!(running.status.unwrap().workflow_execution_ref.is_some());
}

#[tokio::test]
async fn no_workflow_needed_completes_without_an_execution() {
    let Some(t) = T::new("noop").await else {
        return;
    };
    let rr = t.create(&t.rr("noop", Scenario::NoWorkflow)).await;
    let name = rr.name_any();
    let done = t.wait_phase(&name, Completed).await;
    assert_eq!(outcome(&done).as_deref(), Some("NoActionRequired"));
    let nr = t.nr(&name, "completion").await;
    assert_eq!(nr.spec.type_, NotificationType::Completion);
    assert!(!t.exists::<WorkflowExecution>(&format!("we-{name}")).await);
    assert!(done.status.unwrap().workflow_execution_ref.is_none());
}

#[tokio::test]
async fn status_records_start_completion_and_the_ready_condition() {
    let Some(t) = T::new("times").await else {
        return;
    };
    let rr = t.create(&t.rr("times", Scenario::NoWorkflow)).await;
    let done = t.wait_phase(&rr.name_any(), Completed).await;
    let s = done.status.unwrap();
    let (start, end) = (s.start_time.unwrap().0, s.completed_at.unwrap().0);
    assert!(start <= end, "{start} > {end}");
    assert_eq!(s.observed_generation, Some(1));
    let ready = s.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Completed")
    );
    assert!(Completed.is_terminal());
}

#[tokio::test]
async fn exactly_one_status_write_per_phase_transition() {
    let Some(t) = T::new("writes").await else {
        return;
    };
    let rr = t.create(&t.rr("writes", Scenario::Workflow)).await;
    let name = rr.name_any();
    t.finish_job(&name, JobOutcome::Complete).await;
    t.wait_phase(&name, Completed).await;
    // Let the notification's delivery and the children's last changes wake the request: a
    // finished request must not write again.
    let nr = t.nr(&name, "completion").await;
    let api = t.api::<NotificationRequest>();
    eventually("the completion notification delivered", || async {
        let nr = api.get(&nr.name_any()).await.map_err(|e| e.to_string())?;
        if nr.phase().is_terminal() {
            Ok(())
        } else {
            Err(format!("{}", nr.phase()))
        }
    })
    .await;
    // Pending → Processing → Analyzing → Executing → Verifying → Completed.
    assert_eq!(t.status_writes::<RemediationRequest>(&name).await, 5);
}

#[tokio::test]
async fn deleting_the_request_garbage_collects_its_children() {
    let Some(t) = T::new("gc").await else { return };
    let rr = t.create(&t.rr("gc", Scenario::Workflow)).await;
    let name = rr.name_any();
    t.finish_job(&name, JobOutcome::Complete).await;
    t.wait_phase(&name, Completed).await;
    t.rrs()
        .delete(&name, &DeleteParams::background())
        .await
        .expect("delete the request");
    eventually("the request and its children to be gone", || async {
        let mut left = Vec::new();
        if t.exists::<SignalProcessing>(&format!("sp-{name}")).await {
            left.push("sp")
        }
        if t.exists::<AIAnalysis>(&format!("ai-{name}")).await {
            left.push("aia")
        }
        if t.exists::<WorkflowExecution>(&format!("we-{name}")).await {
            left.push("we")
        }
        if t.exists::<NotificationRequest>(&format!("nr-completion-{name}"))
            .await
        {
            left.push("nr")
        }
        if t.rrs()
            .get_opt(&name)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            left.push("rr")
        }
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("still there: {left:?}"))
        }
    })
    .await;
}
