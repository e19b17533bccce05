//! Routing and the first delivery round: which channels a notification reaches, what they
//! receive, and the terminal phase and reason of each outcome that needs no retry.

use controllers::api::NotificationPhase::*;
use controllers::api::notificationrequest::{NotificationReason, NotificationType, RetryPolicy};
use controllers::api::{CONDITION_READY, NotificationRequest};
use fixtures::condition_status;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::channels::{at, attempts};
use crate::env::T;

fn reason(nr: &NotificationRequest) -> Option<NotificationReason> {
    nr.status.as_ref()?.reason
}

#[tokio::test]
async fn a_simple_notification_goes_to_the_default_console_channel_and_is_sent() {
    let Some(t) = T::new("simple").await else {
        return;
    };
    let nr = t.run(&t.nr("simple", ""), Sent).await;
    let status = nr.status.clone().unwrap();
    assert_eq!(attempts(&nr), [at("console", 1, "success")]);
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
        (1, 1, 0)
    );
    assert!(status.completion_time.is_some());
    assert_eq!(
        condition_status(&nr, CONDITION_READY).as_deref(),
        Some("True")
    );
    assert!(
        t.received("simple").is_empty(),
        "console only: the webhook was not called"
    );
    assert!(t.file_lines("simple").is_empty());
}

#[tokio::test]
async fn a_critical_escalation_reaches_console_file_and_webhook() {
    let Some(t) = T::new("critical").await else {
        return;
    };
    let nr = t
        .nr("critical", "")
        .with_type(NotificationType::Escalation)
        .with_severity("critical");
    let done = t.run(&nr, Sent).await;
    let mut got = attempts(&done);
    got.sort();
    assert_eq!(
        got,
        [
            at("console", 1, "success"),
            at("file", 1, "success"),
            at("webhook", 1, "success")
        ]
    );
    let lines = t.file_lines("critical");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["type"], "Escalation");
    assert_eq!(lines[0]["subject"], "critical");
    assert_eq!(lines[0]["attempt"], 1);
    assert_eq!(t.received("critical").len(), 1);
}

#[tokio::test]
async fn the_webhook_receives_slack_like_json_with_attempt_and_idempotency_headers() {
    let Some(t) = T::new("payload").await else {
        return;
    };
    let nr = t
        .nr("payload", "")
        .with_type(NotificationType::Escalation)
        .with_severity("warning");
    let created = t.create(&nr).await;
    t.wait_phase("payload", Sent).await;
    let received = t.received("payload");
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.attempt, "webhook#1");
    assert_eq!(
        r.idempotency_key,
        format!("{}/webhook/1", created.metadata.uid.unwrap())
    );
    assert!(
        r.body["text"].as_str().unwrap().contains("payload"),
        "{}",
        r.body
    );
    assert_eq!(r.body["blocks"][1]["text"]["text"], "Test body");
    assert_eq!(r.body["notification"]["priority"], "Medium");
    assert_eq!(
        r.body["notification"]["remediationRequest"],
        format!("rr-{}-payload", t.ns)
    );
}

#[tokio::test]
async fn routing_matches_on_severity_first_match_wins() {
    let Some(t) = T::new("severity").await else {
        return;
    };
    // Escalation without severity critical: the second route, webhook only.
    let nr = t
        .run(
            &t.nr("warning", "")
                .with_type(NotificationType::Escalation)
                .with_severity("warning"),
            Sent,
        )
        .await;
    assert_eq!(attempts(&nr), [at("webhook", 1, "success")]);
    assert!(t.file_lines("warning").is_empty());
    // StatusUpdate: file only.
    let nr = t
        .run(
            &t.nr("update", "").with_type(NotificationType::StatusUpdate),
            Sent,
        )
        .await;
    assert_eq!(attempts(&nr), [at("file", 1, "success")]);
    assert_eq!(t.file_lines("update").len(), 1);
    assert!(t.received("update").is_empty());
}

#[tokio::test]
async fn no_matching_channel_fails_with_no_channels_resolved() {
    let Some(t) = T::new("nochan").await else {
        return;
    };
    let nr = t
        .run(
            &t.nr("nochan", "").with_type(NotificationType::Completion),
            Failed,
        )
        .await;
    assert_eq!(reason(&nr), Some(NotificationReason::NoChannelsResolved));
    assert!(attempts(&nr).is_empty());
    assert_eq!(nr.status.as_ref().unwrap().total_attempts, 0);
    assert_eq!(
        condition_status(&nr, CONDITION_READY).as_deref(),
        Some("False")
    );
}

#[tokio::test]
async fn an_invalid_answer_is_not_retried_and_fails_all_deliveries() {
    let Some(t) = T::new("reject").await else {
        return;
    };
    let nr = t
        .nr("reject", "reject")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(crate::env::fast(5));
    let done = t.run(&nr, Failed).await;
    assert_eq!(reason(&done), Some(NotificationReason::AllDeliveriesFailed));
    assert_eq!(attempts(&done), [at("webhook", 1, "invalid")]);
    let error = done.status.unwrap().delivery_attempts[0]
        .error
        .clone()
        .unwrap();
    assert!(
        error.contains("400") && error.contains("payload rejected"),
        "{error}"
    );
    assert_eq!(
        t.received("reject").len(),
        1,
        "an invalid request is never repeated"
    );
}

#[tokio::test]
async fn a_rejected_channel_next_to_a_delivered_one_is_partially_sent() {
    let Some(t) = T::new("partial-invalid").await else {
        return;
    };
    let done = t
        .run(
            &t.nr("pi", "reject").with_type(NotificationType::Approval),
            PartiallySent,
        )
        .await;
    let mut got = attempts(&done);
    got.sort();
    assert_eq!(got, [at("file", 1, "success"), at("webhook", 1, "invalid")]);
    let status = done.status.unwrap();
    assert_eq!(
        status.reason,
        Some(NotificationReason::PartialDeliverySuccess)
    );
    assert_eq!(
        (status.successful_deliveries, status.failed_deliveries),
        (1, 1)
    );
}

#[tokio::test]
async fn the_spec_is_immutable_and_the_retry_policy_is_validated() {
    let Some(t) = T::new("immutable").await else {
        return;
    };
    t.create(&t.nr("immutable", "")).await;
    let patch = json!({"spec": {"subject": "changed"}});
    let err = t
        .api::<NotificationRequest>()
        .patch("immutable", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422, "{s:?}");
            assert!(s.message.contains("spec is immutable"), "{}", s.message);
        }
        other => panic!("expected 422, got {other}"),
    }
    let bad = t.nr("bad-policy", "").with_retry_policy(RetryPolicy {
        max_attempts: 11,
        ..RetryPolicy::default()
    });
    match t
        .api::<NotificationRequest>()
        .create(&PostParams::default(), &bad)
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422, "{s:?}");
            assert!(s.message.contains("maxAttempts"), "{}", s.message);
        }
        other => panic!("expected 422, got {other}"),
    }
}

#[tokio::test]
async fn a_status_update_goes_to_the_file_channel_only() {
    let Some(t) = T::new("status-update").await else {
        return;
    };
    let nr = t
        .nr("update", "")
        .with_type(NotificationType::StatusUpdate)
        .with_severity("critical");
    let done = t.run(&nr, Sent).await;
    assert_eq!(attempts(&done), [at("file", 1, "success")]);
    assert_eq!(
        reason(&done),
        Some(NotificationReason::AllDeliveriesSucceeded)
    );
    let lines = t.file_lines("update");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["type"], "StatusUpdate");
    assert!(
        t.received("update").is_empty(),
        "the StatusUpdate route has no webhook, so severity critical must not reach it"
    );
}

#[tokio::test]
async fn an_approval_request_reaches_the_file_and_the_webhook() {
    let Some(t) = T::new("approval").await else {
        return;
    };
    let nr = t.nr("approve", "").with_type(NotificationType::Approval);
    let done = t.run(&nr, Sent).await;
    let mut got = attempts(&done);
    got.sort();
    assert_eq!(got, [at("file", 1, "success"), at("webhook", 1, "success")]);
    let status = done.status.clone().unwrap();
    assert_eq!(
        (status.successful_deliveries, status.failed_deliveries),
        (2, 0)
    );
    assert_eq!(t.file_lines("approve").len(), 1);
    assert_eq!(t.received("approve").len(), 1);
}
