//! Routing: a duplicate of a request in progress (same fingerprint) waits Blocked until the
//! original finishes; a target whose last three remediations failed is blocked for a cooldown,
//! measured on the orchestrator's clock; other targets are not affected.

use std::time::Duration;

use controllers::api::RemediationPhase::*;
use controllers::api::remediationrequest::BlockReason;
use controllers::api::{RemediationRequest, SignalProcessing, TargetResource};
use controllers::remediationorchestrator::config::DEFAULT_BLOCKING_COOLDOWN;
use fixtures::builtin::JobOutcome;
use fixtures::eventually;
use kube::ResourceExt as _;

use crate::env::{BLOCKED_METRICS, CLOCK_COOLDOWN, Scenario, T};

fn routing(rr: &RemediationRequest) -> controllers::api::remediationrequest::RoutingStatus {
    rr.status
        .as_ref()
        .unwrap()
        .routing_status
        .clone()
        .unwrap_or_default()
}

/// Fails three requests on `target` (the analysis is refused) and returns.
async fn three_failures(t: &T, target: &TargetResource) {
    for i in 0..3 {
        let mut rr = t.rr(&format!("fail{i}"), Scenario::Rejected);
        rr.spec.target_resource = target.clone();
        let rr = t.create(&rr).await;
        t.wait_phase(&rr.name_any(), Failed).await;
    }
}

#[tokio::test]
async fn a_duplicate_of_a_request_in_progress_is_blocked() {
    let Some(t) = T::new("dup").await else { return };
    let first = t.create(&t.rr("dup", Scenario::NeverFinishes)).await;
    t.wait_phase(&first.name_any(), Analyzing).await;
    let second = t
        .rr("dup2", Scenario::NeverFinishes)
        .with_fingerprint(&first.spec.signal_fingerprint);
    let second = t.create(&second).await;
    let blocked = t.wait_phase(&second.name_any(), Blocked).await;
    let r = routing(&blocked);
    assert_eq!(r.block_reason, Some(BlockReason::DuplicateInProgress));
    assert_eq!(r.duplicate_of.as_deref(), Some(first.name_any().as_str()));
    assert!(r.blocked_until.is_none());
    assert!(
        !t.exists::<SignalProcessing>(&format!("sp-{}", second.name_any()))
            .await
    );
    let events = t
        .ro_events(&second.name_any(), &["orchestrator.routing.blocked"])
        .await;
    let e = events
        .iter()
        .find(|e| e.event_type == "orchestrator.routing.blocked")
        .unwrap();
    assert_eq!(e.event_data["duplicate_of"], first.name_any());
}

#[tokio::test]
async fn a_duplicate_starts_when_the_original_finishes() {
    let Some(t) = T::new("dup-go").await else {
        return;
    };
    let first = t.create(&t.rr("dupgo", Scenario::Workflow)).await;
    t.wait_phase(&first.name_any(), Executing).await;
    let second = t
        .rr("dupgo2", Scenario::NoWorkflow)
        .with_fingerprint(&first.spec.signal_fingerprint);
    let second = t.create(&second).await;
    t.wait_phase(&second.name_any(), Blocked).await;
    t.finish_job(&first.name_any(), JobOutcome::Complete).await;
    t.wait_phase(&first.name_any(), Completed).await;
    // The original's change wakes its duplicate: it goes back to Pending and runs.
    let done = t.wait_phase(&second.name_any(), Completed).await;
    let r = routing(&done);
    assert_eq!((r.block_reason, r.duplicate_of), (None, None));
    t.sp(&second.name_any()).await;
}

#[tokio::test]
async fn three_consecutive_failures_on_a_target_block_the_next_request() {
    // A suite of its own: its blocked counter is exact.
    let Some(t) = T::on(&BLOCKED_METRICS, "streak").await else {
        return;
    };
    let target = TargetResource::new("Deployment", "streak", &t.ns);
    three_failures(&t, &target).await;
    let mut next = t.rr("streak-next", Scenario::Workflow);
    next.spec.target_resource = target;
    let next = t.create(&next).await;
    let blocked = t.wait_phase(&next.name_any(), Blocked).await;
    let r = routing(&blocked);
    assert_eq!(r.block_reason, Some(BlockReason::ConsecutiveFailures));
    assert_eq!(r.consecutive_failure_count, 3);
    // The cooldown runs from the end of the last failure, as that request's status says.
    let last_failure = t
        .rrs()
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|rr| rr.phase() == Failed)
        .map(|rr| rr.status.as_ref().unwrap().completed_at.clone().unwrap().0)
        .max()
        .expect("three failed requests");
    let cooldown = jiff::SignedDuration::try_from(DEFAULT_BLOCKING_COOLDOWN).unwrap();
    assert_eq!(r.blocked_until.unwrap().0, last_failure + cooldown);
    assert!(
        !t.exists::<SignalProcessing>(&format!("sp-{}", next.name_any()))
            .await
    );
    // Counted right after the status write, audited after that: wait for the event.
    t.ro_events(&next.name_any(), &["orchestrator.routing.blocked"])
        .await;
    assert_eq!(
        t.env
            .metric_or_zero(
                "remediationorchestrator_blocked_total",
                &[("reason", "ConsecutiveFailures")]
            )
            .await,
        1.0
    );
    assert_eq!(
        t.env
            .metric_or_zero(
                "remediationorchestrator_blocked_total",
                &[("reason", "DuplicateInProgress")]
            )
            .await,
        0.0
    );
}

#[tokio::test]
async fn other_targets_are_not_blocked_by_a_failing_one() {
    let Some(t) = T::new("elsewhere").await else {
        return;
    };
    three_failures(&t, &TargetResource::new("Deployment", "broken", &t.ns)).await;
    let other = t.create(&t.rr("fine", Scenario::NoWorkflow)).await;
    t.wait_phase(&other.name_any(), Completed).await;
}

#[tokio::test]
async fn the_block_lifts_when_the_cooldown_ends() {
    let Some(t) = T::on(&CLOCK_COOLDOWN.suite, "cool").await else {
        return;
    };
    let target = TargetResource::new("Deployment", "cool", &t.ns);
    three_failures(&t, &target).await;
    let mut next = t.rr("cool-next", Scenario::NoWorkflow);
    next.spec.target_resource = target;
    let next = t.create(&next).await;
    let name = next.name_any();
    t.wait_phase(&name, Blocked).await;
    assert!(
        CLOCK_COOLDOWN
            .clock
            .advance(DEFAULT_BLOCKING_COOLDOWN + Duration::from_secs(60))
    );
    t.reconcile_now::<RemediationRequest>(&name).await;
    let done = t.wait_phase(&name, Completed).await;
    // The failures are remembered; the block is gone.
    let r = routing(&done);
    assert_eq!((r.block_reason, r.consecutive_failure_count), (None, 3));
    eventually("the request ran its own SignalProcessing", || async {
        if t.exists::<SignalProcessing>(&format!("sp-{name}")).await {
            Ok(())
        } else {
            Err(())
        }
    })
    .await;
}
