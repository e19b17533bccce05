//! Per-phase and global timeouts, reached by moving the orchestrator's clock (each test has a
//! suite, and so a clock, of its own): the request times out only past its deadline, ends
//! TimedOut with the phase that ran out, escalates, and counts the timeout by phase.

use std::time::Duration;

use apiserver::Match;

use controllers::api::RemediationPhase::{self, *};
use controllers::api::RemediationRequest;
use controllers::remediationorchestrator::config::{
    DEFAULT_ANALYZING_TIMEOUT, DEFAULT_AWAITING_APPROVAL_TIMEOUT, DEFAULT_EXECUTING_TIMEOUT,
    DEFAULT_GLOBAL_TIMEOUT, DEFAULT_PROCESSING_TIMEOUT,
};
use kube::ResourceExt as _;

use crate::env::{
    CLOCK_ANALYZING, CLOCK_APPROVAL, CLOCK_EXECUTING, CLOCK_GLOBAL, CLOCK_PROCESSING, ClockSuite,
    Scenario, T, failure,
};

/// A margin around a deadline: far above the time a test takes, far below the timeouts.
const MARGIN: Duration = Duration::from_secs(60);

/// Moves `suite`'s clock by `by` and makes the controller reconcile `rr` with it: returns
/// once a reconcile that began after the move has finished (see [`T::sync`]).
async fn advance(t: &T, suite: &ClockSuite, rr: &str, _phase: RemediationPhase, by: Duration) {
    assert!(suite.clock.advance(by));
    t.reconcile_now::<RemediationRequest>(rr).await;
}

/// Runs request `name` (of `scenario`) into `phase`, checks it survives until just before
/// `timeout`, then times it out and checks the outcome. With `lose_first_end` (on the embedded
/// server) the first write of the TimedOut phase is lost, every attempt conflicting, so the
/// reconcile that saw the deadline fails and a later one ends the request: the timeout is
/// still counted once.
async fn times_out(
    suite: &'static ClockSuite,
    prefix: &str,
    scenario: Scenario,
    phase: RemediationPhase,
    timeout: Duration,
    lose_first_end: bool,
    drive: impl AsyncFnOnce(&T, &str),
) -> Option<()> {
    let t = T::on(&suite.suite, prefix).await?;
    let rr = t.create(&t.rr(prefix, scenario)).await;
    let name = rr.name_any();
    drive(&t, &name).await;
    t.wait_phase(&name, phase).await;
    advance(&t, suite, &name, phase, timeout - MARGIN).await;
    assert_eq!(
        t.rrs().get(&name).await.unwrap().phase(),
        phase,
        "timed out early"
    );
    let lost_end = Match::verb("update")
        .resource("remediationrequests")
        .subresource("status")
        .namespace(&t.ns)
        .name(&name);
    let server = t.env.server().filter(|_| lose_first_end);
    if let Some(server) = server {
        let attempts = crate::env::config().status_write_attempts;
        server
            .faults()
            .fail(lost_end.clone(), 409, attempts as usize)
            .unwrap();
    }
    advance(&t, suite, &name, phase, 2 * MARGIN).await;
    let timed_out = t.wait_phase(&name, TimedOut).await;
    if let Some(server) = server {
        assert_eq!(
            server.faults().pending_matching(&lost_end),
            0,
            "the first TimedOut write was lost"
        );
    }
    let (failure_phase, reason) = failure(&timed_out);
    assert_eq!(failure_phase, Some(phase));
    assert!(reason.contains(&format!("the {phase} timeout")), "{reason}");
    let nr = t.nr(&name, "escalation").await;
    assert!(
        nr.spec.subject.contains(&format!("timed out in {phase}")),
        "{}",
        nr.spec.subject
    );
    // Counted once the TimedOut write has returned, which the test can see before it has: wait
    // for the count, do not sample it.
    t.metric_reaches(
        "remediationorchestrator_timeouts_total",
        &[("phase", phase.name())],
        1.0,
    )
    .await;
    assert_eq!(
        t.env
            .metric_or_zero(
                "remediationorchestrator_timeouts_total",
                &[("phase", "Global")]
            )
            .await,
        0.0
    );
    Some(())
}

#[tokio::test]
async fn processing_times_out_when_signal_processing_never_finishes() {
    // This suite runs no SignalProcessing controller: its child stays Pending.
    times_out(
        &CLOCK_PROCESSING,
        "t-proc",
        Scenario::Workflow,
        Processing,
        DEFAULT_PROCESSING_TIMEOUT,
        false,
        async |_, _| {},
    )
    .await;
}

#[tokio::test]
async fn analyzing_times_out_when_the_investigation_never_finishes() {
    times_out(
        &CLOCK_ANALYZING,
        "t-anal",
        Scenario::NeverFinishes,
        Analyzing,
        DEFAULT_ANALYZING_TIMEOUT,
        false,
        async |_, _| {},
    )
    .await;
}

#[tokio::test]
async fn awaiting_approval_times_out_without_a_decision() {
    times_out(
        &CLOCK_APPROVAL,
        "t-appr",
        Scenario::LowConfidence,
        AwaitingApproval,
        DEFAULT_AWAITING_APPROVAL_TIMEOUT,
        false,
        async |_, _| {},
    )
    .await;
}

#[tokio::test]
async fn executing_times_out_when_the_job_never_finishes() {
    times_out(
        &CLOCK_EXECUTING,
        "t-exec",
        Scenario::Workflow,
        Executing,
        DEFAULT_EXECUTING_TIMEOUT,
        true,
        async |_, _| {},
    )
    .await;
}

#[tokio::test]
async fn the_global_timeout_ends_a_request_in_any_phase() {
    let Some(t) = T::on(&CLOCK_GLOBAL.suite, "t-global").await else {
        return;
    };
    let rr = t.create(&t.rr("t-global", Scenario::LowConfidence)).await;
    let name = rr.name_any();
    t.wait_phase(&name, AwaitingApproval).await;
    // Past every phase timeout too: the global one is checked first and named.
    advance(
        &t,
        &CLOCK_GLOBAL,
        &name,
        AwaitingApproval,
        DEFAULT_GLOBAL_TIMEOUT + MARGIN,
    )
    .await;
    let timed_out = t.wait_phase(&name, TimedOut).await;
    let (phase, reason) = failure(&timed_out);
    assert_eq!(phase, Some(AwaitingApproval));
    assert!(reason.contains("the global timeout"), "{reason}");
    t.metric_reaches(
        "remediationorchestrator_timeouts_total",
        &[("phase", "Global")],
        1.0,
    )
    .await;
    assert_eq!(
        t.env
            .metric_or_zero(
                "remediationorchestrator_timeouts_total",
                &[("phase", "AwaitingApproval")]
            )
            .await,
        0.0
    );
    t.nr(&name, "escalation").await;
}
