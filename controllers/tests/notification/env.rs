//! The suites' declarations and the helpers their tests share.

use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::notificationrequest::RetryPolicy;
use controllers::api::{NotificationPhase, NotificationRequest};
use controllers::notification::{self, BreakerConfig, Config, Metrics};
use fixtures::{FAST_ERROR_BACKOFF, Suite};

use crate::channels::{file_lines, routing};
use crate::webhook::{Received, WEBHOOK};

/// Spec seconds last one millisecond in the suites, so `initialBackoffSeconds: 30` is 30 ms.
pub const BACKOFF_UNIT: Duration = Duration::from_millis(1);

/// The controller configuration of a suite with `breaker`.
pub fn config(breaker: BreakerConfig) -> Config {
    Config {
        routing: routing(),
        backoff_unit: BACKOFF_UNIT,
        breaker,
        phase_requeue: Duration::from_millis(10),
        error_backoff: FAST_ERROR_BACKOFF,
        ..Config::default()
    }
}

/// The main suites disable the breaker: their tests fail the webhook on purpose, and under
/// `cargo test` they share one controller, so one test's failures must not open another's.
pub const NO_BREAKER: BreakerConfig = BreakerConfig {
    failure_threshold: 0,
    open_for: Duration::ZERO,
};

/// A suite running the controller with `breaker`, or no controller (`None`).
pub fn suite(name: &str, breaker: Option<BreakerConfig>) -> Suite {
    Suite::builder(name)
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        // Each controller under its own ServiceAccount (controllers/rbac/).
        .rbac_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rbac"))
        .per_process_only(
            "the shared manager of the single-controller baseline runs no Notification controller",
        )
        .controllers(move |setup| {
            if let Some(breaker) = breaker {
                let metrics = Metrics::register(setup.registry);
                let audit = setup.audit.clone();
                notification::register(setup.manager, config(breaker), metrics, audit)?;
            }
            Ok(())
        })
        .build()
}

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| suite("notification", Some(NO_BREAKER)));
/// A registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite("notification-metrics", Some(NO_BREAKER)));
/// A fast retry policy: `max` attempts, 10 ms then doubling, capped at 100 ms.
pub fn fast(max: i32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: max,
        initial_backoff_seconds: 10,
        backoff_multiplier: 2,
        max_backoff_seconds: 100,
    }
}

fixtures::test_view! {
    /// One test's view: its environment and its own namespace, with the shared helpers of
    /// [`fixtures::TestNamespace`]; these add the notification ones and read what the
    /// channels delivered.
    pub struct T for SUITE;
}

impl T {
    /// A valid notification in the test's namespace whose subject carries the webhook's
    /// `script`, whose parent RemediationRequest (the audit correlation id) is unique across
    /// runs, with a fast retry policy.
    pub fn nr(&self, name: &str, script: &str) -> NotificationRequest {
        let mut nr = NotificationRequest::test(name)
            .with_namespace(&self.ns)
            .with_retry_policy(fast(3));
        nr.spec.subject = format!("{name} {script}").trim().to_owned();
        if let Some(r) = nr.spec.remediation_request_ref.as_mut() {
            r.name = Some(format!("rr-{}-{name}", self.ns));
        }
        nr
    }

    pub async fn wait_phase(&self, name: &str, phase: NotificationPhase) -> NotificationRequest {
        self.wait_until(name, "phase", NotificationRequest::phase, phase)
            .await
    }

    /// Creates `nr` and waits for `phase`.
    pub async fn run(
        &self,
        nr: &NotificationRequest,
        phase: NotificationPhase,
    ) -> NotificationRequest {
        self.create_and_wait_until(nr, "phase", NotificationRequest::phase, phase)
            .await
    }

    /// `namespace/name`, as the webhook target keys requests.
    pub fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.ns)
    }

    /// What the webhook target received for `name`.
    pub fn received(&self, name: &str) -> Vec<Received> {
        WEBHOOK.received(&self.key(name))
    }

    /// The file channel's lines about `name`.
    pub fn file_lines(&self, name: &str) -> Vec<serde_json::Value> {
        file_lines(&self.ns, name)
    }

    /// Audit events of `nr`'s parent RemediationRequest, once at least `min` arrived.
    pub async fn audit(&self, nr: &NotificationRequest, min: usize) -> Vec<audit::AuditEvent> {
        let rr = nr.spec.remediation_request_ref.as_ref();
        let correlation = rr.and_then(|r| r.name.as_deref()).unwrap();
        self.0.audit(correlation, min).await
    }
}
