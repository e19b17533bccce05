//! Failure paths: the deadline (at creation and by moving the clock), transient API server
//! errors with backoff and recovery, policy errors answered by the documented fallback, and a
//! policy directory that does not load.

use std::time::Duration;

use apiserver::Match;
use controllers::api::SignalProcessingPhase::*;
use controllers::api::{Environment, Priority, SignalProcessing};
use controllers::signalprocessing::Config;
use fixtures::eventually;

use fixtures::builtin::deployment;

use crate::env::{BROKEN_POLICIES, CLOCK, ERRORS, FAULTS, MOVABLE_CLOCK, SLOW_RETRY, T};

/// Faults that outlast any test: cleared by the test once it has seen what it needs.
const FOREVER: usize = 1_000_000;

/// Every read of the test namespace fails with 500 until the test clears the faults:
/// enrichment cannot finish. 500, not 503: the kube client itself retries 429, 503 and 504 (15
/// times, backing off from 5 ms) before the controller sees an error.
fn fail_namespace_reads(t: &T) {
    t.own_server()
        .faults()
        .fail(
            Match::verb("get").resource("namespaces").name(&t.ns),
            500,
            FOREVER,
        )
        .unwrap();
}

#[tokio::test]
async fn a_deadline_already_past_fails_the_signal_in_pending() {
    let Some(t) = T::new("late").await else {
        return;
    };
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let sp = t.sp("late").with_times_out_at(past);
    t.create(&sp).await;
    let failed = t.wait_phase("late", Failed).await;
    let status = failed.status.clone().unwrap();
    let info = status.failure_info.unwrap();
    assert!(
        info.error.contains("TimedOut") && info.error.contains("Pending"),
        "{}",
        info.error
    );
    assert!(status.completion_time.is_some());
    assert_eq!(status.kubernetes_context, None, "nothing was enriched");
    assert_eq!(
        fixtures::condition(&failed, "Ready").map(|c| (c.status, c.reason)),
        Some(("False".into(), "TimedOut".into()))
    );
    // Pending → Failed is the one transition.
    assert_eq!(
        t.status_writes_at_least::<SignalProcessing>("late", 1)
            .await,
        1
    );
    let events = t.audit(&sp, 1).await;
    let failed_event = events
        .iter()
        .find(|e| e.event_type == "signalprocessing.signal.failed")
        .expect("signal.failed event");
    assert_eq!(failed_event.event_outcome, audit::EventOutcome::Failure);
    assert_eq!(failed_event.error_code.as_deref(), Some("TimedOut"));
    assert_eq!(failed_event.event_data["failed_phase"], "Pending");
}

#[tokio::test]
async fn moving_the_clock_past_the_deadline_fails_a_signal_stuck_in_enrichment() {
    if fixtures::skip_in_cluster_mode(
        "it makes the embedded API server fail namespace reads (fault injection)",
    ) {
        return;
    }
    let Some(t) = T::on(&MOVABLE_CLOCK, "stuck").await else {
        return;
    };
    fail_namespace_reads(&t);
    let deadline = CLOCK.now() + jiff::SignedDuration::from_secs(3600);
    t.create(&t.sp("stuck").with_times_out_at(deadline)).await;
    let sps = t.sps();
    eventually("the failure to be recorded while enriching", || async {
        let sp = sps.get("stuck").await.map_err(|e| e.to_string())?;
        let failures = sp
            .status
            .as_ref()
            .and_then(|s| s.failure_info.as_ref())
            .map_or(0, |f| f.consecutive_failures);
        if sp.phase() == Enriching && failures >= 2 {
            Ok(())
        } else {
            Err(format!("phase {}, status {:?}", sp.phase(), sp.status))
        }
    })
    .await;
    assert!(CLOCK.advance(Duration::from_secs(2 * 3600)));
    // The next retry (within the 200 ms backoff cap) sees the deadline.
    let failed = t.wait_phase("stuck", Failed).await;
    t.own_server().faults().clear();
    let info = failed.status.clone().unwrap().failure_info.unwrap();
    assert!(
        info.error.contains("TimedOut") && info.error.contains("Enriching"),
        "{}",
        info.error
    );
    assert!(info.consecutive_failures >= 2, "{info:?}");
    assert_eq!(
        fixtures::condition(&failed, "Ready").map(|c| (c.status, c.reason)),
        Some(("False".into(), "TimedOut".into()))
    );
}

#[tokio::test]
async fn a_long_error_backoff_neither_loops_nor_oversleeps_the_deadline() {
    if fixtures::skip_in_cluster_mode(
        "it makes the embedded API server fail namespace reads (fault injection)",
    ) {
        return;
    }
    let Some(t) = T::on(&SLOW_RETRY, "backoff").await else {
        return;
    };
    fail_namespace_reads(&t);
    // The spec is immutable, so the deadline is set at creation, far inside the 10-minute
    // backoff. The first enrichment fails at once; its retry must come at the deadline, which
    // fails the signal. A machine too busy to make the first enrichment attempt before the
    // deadline shows nothing: the signal times out in Pending, or in Enriching with no failed
    // attempt (the reconcile after Pending → Enriching came after the deadline; seen under
    // stress). Then the next attempt gets twice the margin.
    for margin_s in [1, 2, 4, 8] {
        let name = format!("backoff-{margin_s}s");
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(margin_s);
        t.create(&t.sp(&name).with_times_out_at(soon)).await;
        let failed = t.wait_phase(&name, Failed).await;
        let info = failed.status.clone().unwrap().failure_info.unwrap();
        assert!(info.error.contains("TimedOut"), "{}", info.error);
        if info.error.contains("Enriching") && info.consecutive_failures > 0 {
            // Exactly one attempt: the controller's own failureInfo write did not wake it
            // again, so the backoff held until the deadline.
            assert_eq!(info.consecutive_failures, 1, "{info:?}");
            // The timeout keeps the cause it was retrying.
            assert!(
                info.error.contains("last error:") && info.error.contains(&t.ns),
                "{}",
                info.error
            );
            t.own_server().faults().clear();
            return;
        }
        assert!(
            info.error.contains("Pending") || info.error.contains("Enriching"),
            "{}",
            info.error
        );
        assert!(
            !info.error.contains("last error:"),
            "a timeout after no failed attempt names no error: {info:?}"
        );
        eprintln!(
            "{name}: timed out before the first enrichment attempt ({}); trying a longer margin",
            info.error
        );
    }
    panic!(
        "no signal made its first enrichment attempt within 8 s of its creation: the backoff was never exercised"
    );
}

/// How long after the signal's deadline its enrichment attempt's read is answered (and fails).
const HELD_PAST_DEADLINE: Duration = Duration::from_millis(500);

/// A signal whose deadline passes while a failing reconcile runs is timed out soon after, not
/// after its error backoff: under the `all` fault campaign (50–200 ms per request) a signal two
/// seconds from its deadline began an enrichment attempt just before it, the attempt failed just
/// after it, and the failure's 10-minute backoff kept the signal Enriching for ten minutes.
#[tokio::test]
async fn a_deadline_passing_during_a_failing_attempt_times_out_soon_not_after_the_backoff() {
    if fixtures::skip_in_cluster_mode(
        "it makes the embedded API server delay and fail namespace reads (fault injection)",
    ) {
        return;
    }
    let Some(t) = T::on(&SLOW_RETRY, "overdue").await else {
        return;
    };
    let faults = t.own_server().faults();
    let reads = Match::verb("get").resource("namespaces").name(&t.ns);
    faults.fail(reads.clone(), 500, FOREVER).unwrap();
    // A machine too busy to make the attempt before the deadline shows nothing (the signal times
    // out in Pending): the next try gets twice the margin.
    for margin_s in [1, 2, 4, 8] {
        let name = format!("overdue-{margin_s}s");
        // The attempt's namespace read is held past the deadline, then fails. The read arrives
        // after the signal is created, so it is answered at least `HELD_PAST_DEADLINE` after
        // the deadline however the machine is loaded.
        faults.delay(
            reads.clone(),
            Duration::from_secs(margin_s) + HELD_PAST_DEADLINE,
            1,
        );
        let deadline = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(margin_s as i64);
        t.create(&t.sp(&name).with_times_out_at(deadline)).await;
        // The fixture's wait (30 s, scaled) is far inside the 10-minute backoff.
        let failed = t.wait_phase(&name, Failed).await;
        let info = failed.status.unwrap().failure_info.unwrap();
        assert!(info.error.contains("TimedOut"), "{}", info.error);
        if info.error.contains("Enriching") && info.consecutive_failures > 0 {
            return;
        }
        eprintln!(
            "{name}: timed out before its first attempt ({}); trying a longer margin",
            info.error
        );
    }
    panic!("no signal made its first enrichment attempt before its deadline: nothing was tested");
}

#[tokio::test]
async fn transient_errors_back_off_count_by_type_and_recover() {
    if fixtures::skip_in_cluster_mode(
        "it makes the embedded API server fail requests (fault injection)",
    ) {
        return;
    }
    // A registry of its own: the counts are exact.
    let Some(t) = T::on(&ERRORS, "transient").await else {
        return;
    };
    let faults = t.own_server().faults();
    // Two failed namespace reads, then one refused target read; the fourth attempt succeeds.
    let namespace_reads = Match::verb("get").resource("namespaces").name(&t.ns);
    let target_reads = Match::verb("get").resource("deployments").namespace(&t.ns);
    faults.fail(namespace_reads.clone(), 500, 2).unwrap();
    faults.fail(target_reads.clone(), 403, 1).unwrap();
    t.create(&deployment("api", &[])).await;
    let done = t.process(&t.sp("api")).await;
    // Only this test's rules: under plain `cargo test` other tests share the server.
    assert_eq!(
        faults.pending_matching(&namespace_reads) + faults.pending_matching(&target_reads),
        0,
        "every injected fault fired"
    );
    let status = done.status.unwrap();
    assert!(status.enrichment.unwrap().target_found);
    // The last error stays for inspection; the failures in a row ended with the transition.
    let info = status.failure_info.unwrap();
    assert_eq!(info.consecutive_failures, 0);
    assert!(
        info.error.contains(&format!("Deployment {}/api", t.ns)),
        "{}",
        info.error
    );

    let errors = "signalprocessing_enrichment_errors_total";
    t.metric_reaches(errors, &[("error_type", "server_error")], 2.0)
        .await;
    t.metric_reaches(errors, &[("error_type", "forbidden")], 1.0)
        .await;
    t.metric_reaches(errors, &[], 3.0).await;
    let processing = "signalprocessing_processing_total";
    t.metric_reaches(
        processing,
        &[("phase", "Enriching"), ("result", "error")],
        3.0,
    )
    .await;
    t.metric_reaches(
        processing,
        &[("phase", "Enriching"), ("result", "success")],
        1.0,
    )
    .await;
    // One write per transition, plus one failureInfo write per failed attempt.
    assert_eq!(
        t.status_writes_at_least::<SignalProcessing>("api", 4 + 3)
            .await,
        4 + 3
    );
}

#[tokio::test]
async fn failure_info_counts_consecutive_failures_until_the_api_server_recovers() {
    if fixtures::skip_in_cluster_mode(
        "it makes the embedded API server fail requests (fault injection)",
    ) {
        return;
    }
    let Some(t) = T::on(&FAULTS, "flaky").await else {
        return;
    };
    fail_namespace_reads(&t);
    t.create(&t.sp("flaky")).await;
    let sps = t.sps();
    let info = eventually("three failures in a row", || async {
        let sp = sps.get("flaky").await.map_err(|e| e.to_string())?;
        match sp.status.as_ref().and_then(|s| s.failure_info.clone()) {
            Some(info) if info.consecutive_failures >= 3 => Ok(info),
            other => Err(format!("phase {}, failureInfo {other:?}", sp.phase())),
        }
    })
    .await;
    assert!(
        info.error.contains(&format!("namespace {}", t.ns)),
        "{}",
        info.error
    );
    assert_eq!(sps.get("flaky").await.unwrap().phase(), Enriching);
    t.own_server().faults().clear();
    let done = t.wait_phase("flaky", Completed).await;
    assert_eq!(
        done.status
            .unwrap()
            .failure_info
            .unwrap()
            .consecutive_failures,
        0
    );
}

#[tokio::test]
async fn policy_errors_fall_back_to_unknown_and_the_severity_priority() {
    let Some(t) = T::on(&BROKEN_POLICIES, "fallback").await else {
        return;
    };
    t.label_namespace(&t.ns, &[("kubernaut.ai/environment", "production")])
        .await;
    let sp = t.sp("fallback");
    let done = t.process(&sp).await;
    let status = done.status.clone().unwrap();
    // The environment policy is undefined for this input: Unknown, by the fallback.
    let env = status.environment_classification.unwrap();
    assert_eq!(
        (env.environment, env.source.as_str()),
        (Environment::Unknown, "policy-fallback")
    );
    // The priority policy answers "urgent": the severity decides, never P0.
    let priority = status.priority_assignment.unwrap();
    assert_eq!(
        (priority.priority, priority.source.as_str()),
        (Priority::P1, "severity-fallback")
    );
    assert_eq!(priority.policy_name, None);
    // The business policy fails on P1: the criticality follows the fallback priority.
    let business = status.business_classification.unwrap();
    assert_eq!(
        (business.criticality.as_str(), business.source.as_str()),
        ("high", "priority-fallback")
    );
    assert_eq!(business.business_unit, None);
    let message = status.message.unwrap();
    assert!(
        message.contains("policy fallback")
            && message.contains("urgent")
            && message.contains("business policy"),
        "{message}"
    );
    assert_eq!(
        fixtures::condition(&done, "Ready").map(|c| (c.status, c.reason)),
        Some(("True".into(), "Completed".into()))
    );
    // The errors are in the audit trail and the degraded counts.
    let events = t.audit(&sp, 4).await;
    let decision = events
        .iter()
        .find(|e| e.event_type == "signalprocessing.classification.decision")
        .expect("classification.decision");
    let error = decision.event_data["policy_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains("environment policy") && error.contains("undefined"),
        "{error}"
    );
    for phase in ["Classifying", "Categorizing"] {
        t.metric_reaches(
            "signalprocessing_processing_total",
            &[("phase", phase), ("result", "degraded")],
            1.0,
        )
        .await;
    }
}

#[tokio::test]
async fn a_policy_directory_that_does_not_load_is_an_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!(
        "sp-bad-policies-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let e = Config::with_policy_dir(&dir).unwrap_err().to_string();
    assert!(
        e.contains(&dir.join("environment.rego").display().to_string()),
        "{e}"
    );
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/signalprocessing");
    for file in ["environment.rego", "business.rego"] {
        std::fs::copy(format!("{shipped}/{file}"), dir.join(file)).unwrap();
    }
    std::fs::write(
        dir.join("priority.rego"),
        "package signalprocessing.priority\nresult := {\n",
    )
    .unwrap();
    let e = Config::with_policy_dir(&dir).unwrap_err().to_string();
    assert!(
        e.contains(&dir.join("priority.rego").display().to_string()),
        "{e}"
    );
    assert!(e.contains("Rego"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kubernaut_manager_refuses_to_start_with_a_bad_policy_naming_the_file() {
    let dir = std::env::temp_dir().join(format!(
        "sp-manager-policies-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/signalprocessing");
    for file in ["priority.rego", "business.rego"] {
        std::fs::copy(format!("{shipped}/{file}"), dir.join(file)).unwrap();
    }
    std::fs::write(
        dir.join("environment.rego"),
        "package signalprocessing.environment\nresult := [\n",
    )
    .unwrap();
    // Nothing listens at these addresses: start-up must fail on the policy before using them.
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: a\n  context:\n    cluster: a\n    user: a\ncurrent-context: a\nusers:\n- name: a\n  user:\n    token: x\n").unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    let out = fixtures::output_within(
        std::process::Command::new(env!("CARGO_BIN_EXE_kubernaut-manager"))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg("--datastorage-url=http://127.0.0.1:1")
            .arg(format!("--datastorage-token-file={}", token.display()))
            .arg(format!("--sp-policy-dir={}", dir.display()))
            .arg("--sp-phase-requeue-ms=10"),
        std::time::Duration::from_secs(60),
    )
    .expect("kubernaut-manager exits on a bad start-up flag");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("registering the signalprocessing controller"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&dir.join("environment.rego").display().to_string()),
        "{stderr}"
    );
}
