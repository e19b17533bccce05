//! The webhook channel's circuit breaker: three failures open it, an open breaker fails
//! attempts without contacting the target, and after the open period one trial closes it.
//! Each test has a suite (a controller, a breaker) of its own.

use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::NotificationPhase::*;
use controllers::api::notificationrequest::{NotificationReason, NotificationType, RetryPolicy};
use controllers::notification::BreakerConfig;
use fixtures::{Suite, eventually};

use crate::env::{T, fast, suite};
use crate::webhook::WEBHOOK;

/// A breaker that opens after 3 failures, for `open_for`.
const fn breaker(open_for: Duration) -> BreakerConfig {
    BreakerConfig {
        failure_threshold: 3,
        open_for,
    }
}

/// A breaker that stays open for the whole test once tripped.
static BREAKER_OPEN: LazyLock<Suite> = LazyLock::new(|| {
    suite(
        "notification-breaker-open",
        Some(breaker(Duration::from_secs(3600))),
    )
});
/// A breaker that lets a trial through soon after it opened.
static BREAKER_TRIAL: LazyLock<Suite> = LazyLock::new(|| {
    suite(
        "notification-breaker-trial",
        Some(breaker(Duration::from_millis(200))),
    )
});

async fn gauge(t: &T) -> f64 {
    t.env
        .metric_or_zero(
            "notification_circuit_breaker_state",
            &[("channel", "webhook")],
        )
        .await
}

#[tokio::test]
async fn three_failures_open_the_breaker_and_later_attempts_skip_the_target() {
    let Some(t) = T::on(&BREAKER_OPEN, "breaker-open").await else {
        return;
    };
    assert_eq!(gauge(&t).await, 0.0, "closed at start");
    let a = t
        .nr("a", "fail:99")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(fast(3));
    t.run(&a, Failed).await;
    assert_eq!(t.received("a").len(), 3);
    assert_eq!(
        gauge(&t).await,
        1.0,
        "open after three consecutive failures"
    );

    // A notification the target would accept: the open breaker never lets it through.
    let b = t
        .nr("b", "")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(fast(2));
    let done = t.run(&b, Failed).await;
    let status = done.status.unwrap();
    assert_eq!(status.reason, Some(NotificationReason::MaxRetriesExhausted));
    assert_eq!(status.total_attempts, 2);
    for attempt in &status.delivery_attempts {
        let error = attempt.error.as_deref().unwrap();
        assert!(
            error.contains("circuit breaker of channel webhook is open"),
            "{error}"
        );
        assert!(
            attempt.duration_seconds.is_none(),
            "not contacted, not timed"
        );
    }
    assert!(t.received("b").is_empty(), "the target was not contacted");
    // Exact: this suite's registry counts this test only.
    assert_eq!(
        t.env
            .metric_or_zero(
                "notification_delivery_attempts_total",
                &[("channel", "webhook"), ("status", "failed")]
            )
            .await,
        5.0
    );
    assert_eq!(
        t.env
            .metric_or_zero(
                "notification_delivery_duration_seconds_count",
                &[("channel", "webhook")]
            )
            .await,
        3.0
    );
}

#[tokio::test]
async fn after_the_open_period_one_trial_is_let_through_and_its_success_closes_the_breaker() {
    let Some(t) = T::on(&BREAKER_TRIAL, "breaker-trial").await else {
        return;
    };
    let a = t
        .nr("a", "fail:99")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(fast(3));
    t.run(&a, Failed).await;
    // Attempts of `b` while the breaker is open fail without contact; its retries (50 ms,
    // doubling to 400 ms, ten attempts) outlast the 200 ms open period, and the first
    // attempt after it is the trial, which the target holds until released.
    let policy = RetryPolicy {
        max_attempts: 10,
        initial_backoff_seconds: 50,
        backoff_multiplier: 2,
        max_backoff_seconds: 400,
    };
    let b = t
        .nr("b", "hold:1")
        .with_type(NotificationType::Escalation)
        .with_retry_policy(policy);
    t.create(&b).await;
    eventually("the trial delivery to reach the target", || async {
        let n = t.received("b").len();
        if n == 1 { Ok(()) } else { Err(n) }
    })
    .await;
    assert_eq!(
        gauge(&t).await,
        2.0,
        "half-open while the trial is in flight"
    );
    WEBHOOK.release(&t.key("b"));
    let done = t.wait_phase("b", Sent).await;
    assert_eq!(
        gauge(&t).await,
        0.0,
        "the trial's success closed the breaker"
    );
    let status = done.status.unwrap();
    let last = status.delivery_attempts.last().unwrap();
    assert_eq!(serde_json::to_value(last.status).unwrap(), "success");
    assert!(
        status.delivery_attempts[..status.delivery_attempts.len() - 1]
            .iter()
            .all(|a| a
                .error
                .as_deref()
                .is_some_and(|e| e.contains("circuit breaker"))),
        "every earlier attempt was refused by the breaker: {:?}",
        status.delivery_attempts
    );
    assert_eq!(
        t.received("b").len(),
        1,
        "only the trial reached the target"
    );
}
