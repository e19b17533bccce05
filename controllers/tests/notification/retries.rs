//! Retries: backoff between attempts, timeouts, MaxRetriesExhausted, PartiallySent, and no
//! channel delivered again once it succeeded.

use std::time::Duration;

use controllers::api::NotificationPhase::*;
use controllers::api::notificationrequest::{NotificationReason, NotificationType, RetryPolicy};

use crate::channels::{at, attempts};
use crate::env::{BACKOFF_UNIT, T, fast};

#[tokio::test]
async fn a_webhook_failing_twice_is_retried_until_sent() {
    let Some(t) = T::new("fail2").await else {
        return;
    };
    let nr = t
        .nr("fail2", "fail:2")
        .with_type(NotificationType::Escalation);
    let done = t.run(&nr, Sent).await;
    assert_eq!(
        attempts(&done),
        [
            at("webhook", 1, "failed"),
            at("webhook", 2, "failed"),
            at("webhook", 3, "success")
        ]
    );
    let status = done.status.unwrap();
    assert_eq!(
        status.reason,
        Some(NotificationReason::AllDeliveriesSucceeded)
    );
    assert_eq!(
        (
            status.total_attempts,
            status.successful_deliveries,
            status.failed_deliveries
        ),
        (3, 1, 0)
    );
    assert!(
        status.delivery_attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("500")
    );
    let heard: Vec<String> = t
        .received("fail2")
        .iter()
        .map(|r| r.attempt.clone())
        .collect();
    assert_eq!(heard, ["webhook#1", "webhook#2", "webhook#3"]);
}

#[tokio::test]
async fn retries_wait_the_policy_backoff_at_least_minus_jitter() {
    let Some(t) = T::new("backoff").await else {
        return;
    };
    // 100 then 200 spec-seconds (ms here); jitter is ±10 %, so at least 90 and 180 ms.
    let policy = RetryPolicy {
        max_attempts: 3,
        initial_backoff_seconds: 100,
        backoff_multiplier: 2,
        max_backoff_seconds: 1000,
    };
    let nr = t
        .nr("backoff", "fail:2")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(policy);
    t.run(&nr, Sent).await;
    let r = t.received("backoff");
    assert_eq!(r.len(), 3);
    let unit = BACKOFF_UNIT.as_secs_f64();
    let (gap1, gap2) = (r[1].at - r[0].at, r[2].at - r[1].at);
    assert!(
        gap1 >= Duration::from_secs_f64(90.0 * unit),
        "first retry after {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_secs_f64(180.0 * unit),
        "second retry after {gap2:?}"
    );
}

#[tokio::test]
async fn a_channel_failing_every_attempt_ends_in_max_retries_exhausted() {
    let Some(t) = T::new("exhaust").await else {
        return;
    };
    let nr = t
        .nr("exhaust", "fail:99")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(fast(4));
    let done = t.run(&nr, Failed).await;
    let status = done.status.clone().unwrap();
    assert_eq!(status.reason, Some(NotificationReason::MaxRetriesExhausted));
    assert_eq!(
        attempts(&done),
        (1..=4)
            .map(|n| at("webhook", n, "failed"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        (
            status.total_attempts,
            status.successful_deliveries,
            status.failed_deliveries
        ),
        (4, 0, 1)
    );
    assert_eq!(
        t.received("exhaust").len(),
        4,
        "exactly maxAttempts requests"
    );
}

#[tokio::test]
async fn a_timeout_is_recorded_as_such_and_retried() {
    let Some(t) = T::new("timeout").await else {
        return;
    };
    let nr = t
        .nr("timeout", "timeout:1")
        .with_type(NotificationType::Escalation);
    let done = t.run(&nr, Sent).await;
    assert_eq!(
        attempts(&done),
        [at("webhook", 1, "timeout"), at("webhook", 2, "success")]
    );
    let error = done.status.unwrap().delivery_attempts[0]
        .error
        .clone()
        .unwrap();
    assert!(error.contains("did not answer within"), "{error}");
}

#[tokio::test]
async fn one_channel_exhausted_next_to_a_delivered_one_is_partially_sent() {
    let Some(t) = T::new("partial").await else {
        return;
    };
    let nr = t
        .nr("partial", "fail:99")
        .with_type(NotificationType::Approval)
        .with_retry_policy(fast(2));
    let done = t.run(&nr, PartiallySent).await;
    let mut got = attempts(&done);
    got.sort();
    assert_eq!(
        got,
        [
            at("file", 1, "success"),
            at("webhook", 1, "failed"),
            at("webhook", 2, "failed")
        ]
    );
    let status = done.status.unwrap();
    assert_eq!(
        status.reason,
        Some(NotificationReason::PartialDeliverySuccess)
    );
    assert_eq!(
        (
            status.successful_deliveries,
            status.failed_deliveries,
            status.total_attempts
        ),
        (1, 1, 3)
    );
}

#[tokio::test]
async fn a_delivered_channel_is_not_delivered_again_while_another_retries() {
    let Some(t) = T::new("no-repeat").await else {
        return;
    };
    let nr = t
        .nr("norepeat", "fail:2")
        .with_type(NotificationType::Approval);
    t.run(&nr, Sent).await;
    assert_eq!(
        t.file_lines("norepeat").len(),
        1,
        "the file channel succeeded once and was left alone"
    );
    assert_eq!(t.received("norepeat").len(), 3);
}

#[tokio::test]
async fn a_broken_file_channel_exhausts_its_retries_naming_the_path() {
    let Some(t) = T::new("broken-file").await else {
        return;
    };
    let done = t
        .run(
            &t.nr("broken", "").with_type(NotificationType::ManualReview),
            Failed,
        )
        .await;
    let status = done.status.unwrap();
    assert_eq!(status.reason, Some(NotificationReason::MaxRetriesExhausted));
    assert_eq!(status.total_attempts, 3);
    assert!(
        status
            .delivery_attempts
            .iter()
            .all(|a| a.channel == "broken-file")
    );
    let error = status.delivery_attempts[0].error.clone().unwrap();
    assert!(error.contains("no-such-dir/notifications.jsonl"), "{error}");
}
