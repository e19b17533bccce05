//! Never the same attempt twice: not when extra watch events bring extra reconciles, not when
//! the controller stops in the middle of a delivery and a new one takes over; and no delivery
//! sent again because the API server failed its record for a moment.

use std::sync::LazyLock;
use std::time::Duration;

use apiserver::Match;

use controllers::api::NotificationPhase::*;
use controllers::api::NotificationRequest;
use controllers::api::notificationrequest::{NotificationType, RetryPolicy};
use controllers::notification::{self, CLAIM_ANNOTATION, Metrics, controller::INTERRUPTED};
use fixtures::{Suite, eventually};
use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};
use manager::RunningManager;
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::channels::{at, attempts};
use crate::env::{NO_BREAKER, T, config, suite};
use crate::webhook::WEBHOOK;

/// No controller: the test runs (and restarts) its own.
static NO_CONTROLLER: LazyLock<Suite> = LazyLock::new(|| suite("notification-restart", None));

/// How long a controller gets to sync its watch.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the stopped controller may finish its reconcile: far shorter than the held
/// delivery, so the delivery is cut off mid-flight, as in a crash.
const STOP_GRACE: Duration = Duration::from_millis(100);

#[tokio::test]
async fn extra_reconciles_never_deliver_an_attempt_twice() {
    let Some(t) = T::new("dup").await else { return };
    let policy = RetryPolicy {
        max_attempts: 4,
        initial_backoff_seconds: 40,
        backoff_multiplier: 2,
        max_backoff_seconds: 200,
    };
    let nr = t
        .nr("dup", "fail:3")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(policy);
    t.create(&nr).await;
    // Every label change is a watch event and so a reconcile, between and during rounds.
    let api = t.api::<NotificationRequest>();
    for i in 0..20 {
        let patch = json!({"metadata": {"labels": {"poke": i.to_string()}}});
        api.patch("dup", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("label patch");
        if api.get("dup").await.expect("get").phase() == Sent {
            break;
        }
    }
    let done = t.wait_phase("dup", Sent).await;
    let heard: Vec<String> = t
        .received("dup")
        .iter()
        .map(|r| r.attempt.clone())
        .collect();
    assert_eq!(heard, ["webhook#1", "webhook#2", "webhook#3", "webhook#4"]);
    assert_eq!(attempts(&done).len(), 4);
}

async fn start(t: &T, registry: &mut Registry) -> RunningManager {
    let mut manager = t.env.new_manager(CancellationToken::new());
    let metrics = Metrics::register(registry);
    notification::register(
        &mut manager,
        config(NO_BREAKER),
        metrics,
        t.env.audit().clone(),
    )
    .expect("valid config");
    let running = manager.start();
    running
        .ready(READY_TIMEOUT)
        .await
        .expect("controller ready");
    running
}

#[tokio::test]
async fn a_delivery_cut_off_by_a_restart_is_recorded_as_interrupted_and_not_redelivered() {
    let Some(t) = T::on(&NO_CONTROLLER, "restart").await else {
        return;
    };
    let mut first_registry = Registry::default();
    let first = start(&t, &mut first_registry).await;
    let nr = t
        .nr("restart", "hold:1")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(crate::env::fast(2));
    t.create(&nr).await;
    eventually("the first attempt to reach the target", || async {
        let n = t.received("restart").len();
        if n == 1 { Ok(()) } else { Err(n) }
    })
    .await;
    // The round was claimed before anything was sent.
    let claimed = t.api::<NotificationRequest>().get("restart").await.unwrap();
    assert_eq!(
        claimed
            .annotations()
            .get(CLAIM_ANNOTATION)
            .map(String::as_str),
        Some("webhook#1")
    );
    assert!(attempts(&claimed).is_empty(), "nothing recorded yet");
    // Stop the controller while the target holds the delivery: the reconcile is aborted.
    let _ = first.shutdown(STOP_GRACE).await;

    let mut second_registry = Registry::default();
    let second = start(&t, &mut second_registry).await;
    let done = t.wait_phase("restart", Sent).await;
    WEBHOOK.release(&t.key("restart"));
    assert_eq!(
        attempts(&done),
        [at("webhook", 1, "failed"), at("webhook", 2, "success")]
    );
    assert_eq!(
        done.status.as_ref().unwrap().delivery_attempts[0]
            .error
            .as_deref(),
        Some(INTERRUPTED)
    );
    let heard: Vec<String> = t
        .received("restart")
        .iter()
        .map(|r| r.attempt.clone())
        .collect();
    assert_eq!(
        heard,
        ["webhook#1", "webhook#2"],
        "attempt 1 was never sent again"
    );
    second
        .shutdown(READY_TIMEOUT)
        .await
        .expect("second controller stops cleanly");
}

#[tokio::test]
async fn a_delivery_whose_record_fails_transiently_is_recorded_and_not_sent_again() {
    if fixtures::skip_in_cluster_mode(
        "it makes the embedded API server fail a status write (fault injection)",
    ) {
        return;
    }
    let Some(t) = T::new("record").await else {
        return;
    };
    let nr = t
        .nr("record", "hold:1")
        .with_type(NotificationType::Escalation);
    t.create(&nr).await;
    eventually("the first attempt to reach the target", || async {
        let n = t.received("record").len();
        if n == 1 { Ok(()) } else { Err(n) }
    })
    .await;
    // The delivery is under way: the write that records it meets a failing, then a throttling
    // API server, as during a restart or a burst of load.
    let record = Match::verb("update")
        .resource("notificationrequests")
        .subresource("status")
        .namespace(&t.ns)
        .name("record");
    let faults = t.env.server().expect("a per-process API server").faults();
    faults.fail(record.clone(), 500, 1).unwrap();
    faults.fail(record.clone(), 429, 1).unwrap();
    WEBHOOK.release(&t.key("record"));
    let done = t.wait_phase("record", Sent).await;
    assert_eq!(faults.pending_matching(&record), 0, "both faults fired");
    assert_eq!(
        attempts(&done),
        [at("webhook", 1, "success")],
        "the record was retried, not replaced by an interrupted attempt and a resend"
    );
    let heard: Vec<String> = t
        .received("record")
        .iter()
        .map(|r| r.attempt.clone())
        .collect();
    assert_eq!(heard, ["webhook#1"], "delivered exactly once");
}
