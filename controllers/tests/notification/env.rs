//! The suites' declarations and the helpers their tests share.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::notificationrequest::RetryPolicy;
use controllers::api::{NotificationPhase, NotificationRequest};
use controllers::notification::{self, BreakerConfig, Config, Metrics, RoutingConfig};
use fixtures::{Suite, TestNamespace};
use kube::api::Api;
use manager::Backoff;

use crate::webhook::{Received, WEBHOOK};

/// The webhook channel's timeout: far below the target's scripted delay, far above a local
/// answer even at -j 12 on a busy 2-core machine (500 ms was exceeded there once: a
/// successful delivery was recorded as a timeout).
pub const WEBHOOK_TIMEOUT_MS: u64 = 3000;
/// Spec seconds last one millisecond in the suites, so `initialBackoffSeconds: 30` is 30 ms.
pub const BACKOFF_UNIT: Duration = Duration::from_millis(1);

/// This process's directory for the file channel (unique per process and run).
pub static FILE_DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    fixtures::scratch_dir("notification-file-channel").expect("create the file channel's directory")
});

/// The file channel's file.
pub fn file_path() -> PathBuf {
    FILE_DIR.join("notifications.jsonl")
}

/// The routing every suite uses.
pub fn routing() -> RoutingConfig {
    let yaml = format!(
        r#"
channels:
  console: {{type: console}}
  file: {{type: file, path: "{file}"}}
  broken-file: {{type: file, path: "{broken}"}}
  webhook: {{type: webhook, url: "{url}", timeoutMs: {WEBHOOK_TIMEOUT_MS}}}
routes:
  - match: {{type: Escalation, severity: critical}}
    channels: [console, file, webhook]
  - match: {{type: Escalation}}
    channels: [webhook]
  - match: {{type: StatusUpdate}}
    channels: [file]
  - match: {{type: Approval}}
    channels: [file, webhook]
  - match: {{type: ManualReview}}
    channels: [broken-file]
  - match: {{type: Completion}}
    channels: []
defaultChannels: [console]
"#,
        file = file_path().display(),
        broken = FILE_DIR.join("no-such-dir/notifications.jsonl").display(),
        url = WEBHOOK.url,
    );
    RoutingConfig::from_yaml(&yaml).expect("the suite's routing config")
}

/// The controller configuration of a suite with `breaker`.
pub fn config(breaker: BreakerConfig) -> Config {
    Config {
        routing: routing(),
        backoff_unit: BACKOFF_UNIT,
        breaker,
        phase_requeue: Duration::from_millis(10),
        error_backoff: Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(200),
            0.1,
        ),
        ..Config::default()
    }
}

/// The main suites disable the breaker: their tests fail the webhook on purpose, and under
/// `cargo test` they share one controller, so one test's failures must not open another's.
pub const NO_BREAKER: BreakerConfig = BreakerConfig {
    failure_threshold: 0,
    open_for: Duration::ZERO,
};

fn suite(name: &str, breaker: BreakerConfig, with_controller: bool) -> Suite {
    Suite::builder(name)
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        .per_process_only(
            "the shared manager of the single-controller baseline runs no Notification controller",
        )
        .controllers(move |setup| {
            if with_controller {
                let metrics = Metrics::register(setup.registry);
                notification::register(
                    setup.manager,
                    config(breaker),
                    metrics,
                    setup.audit.clone(),
                )?;
            }
            Ok(())
        })
        .build()
}

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| suite("notification", NO_BREAKER, true));
/// A registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite("notification-metrics", NO_BREAKER, true));
/// A breaker that stays open for the whole test once tripped.
pub static BREAKER_OPEN: LazyLock<Suite> = LazyLock::new(|| {
    suite(
        "notification-breaker-open",
        BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_secs(3600),
        },
        true,
    )
});
/// A breaker that lets a trial through soon after it opened.
pub static BREAKER_TRIAL: LazyLock<Suite> = LazyLock::new(|| {
    suite(
        "notification-breaker-trial",
        BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_millis(200),
        },
        true,
    )
});
/// No controller: the test runs (and restarts) its own.
pub static NO_CONTROLLER: LazyLock<Suite> =
    LazyLock::new(|| suite("notification-restart", NO_BREAKER, false));

/// A fast retry policy: `max` attempts, 10 ms then doubling, capped at 100 ms.
pub fn fast(max: i32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: max,
        initial_backoff_seconds: 10,
        backoff_multiplier: 2,
        max_backoff_seconds: 100,
    }
}

/// One test's view: its environment and its own namespace, with the shared helpers of
/// [`TestNamespace`] (create, wait_for, status writes, audit); these add the notification ones
/// and read what the channels delivered.
pub struct T(TestNamespace);

impl Deref for T {
    type Target = TestNamespace;
    fn deref(&self) -> &TestNamespace {
        &self.0
    }
}

impl T {
    /// On the main suite; `None` (skipped) in the shared mode.
    pub async fn new(prefix: &str) -> Option<T> {
        T::on(&SUITE, prefix).await
    }

    pub async fn on(suite: &Suite, prefix: &str) -> Option<T> {
        TestNamespace::new_or_skip(suite, prefix).await.map(T)
    }

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

    pub fn api(&self) -> Api<NotificationRequest> {
        self.0.api()
    }

    /// Waits until `name` is in `phase`.
    pub async fn wait_phase(&self, name: &str, phase: NotificationPhase) -> NotificationRequest {
        self.wait_for(
            name,
            &format!("in phase {phase}"),
            |nr: &NotificationRequest| {
                if nr.phase() == phase {
                    Ok(nr.clone())
                } else {
                    Err(format!("phase {}, status {:?}", nr.phase(), nr.status))
                }
            },
        )
        .await
    }

    /// Creates `nr` and waits for `phase`.
    pub async fn run(
        &self,
        nr: &NotificationRequest,
        phase: NotificationPhase,
    ) -> NotificationRequest {
        self.create(nr).await;
        self.wait_phase(nr.metadata.name.as_deref().unwrap(), phase)
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
        let text = std::fs::read_to_string(file_path()).unwrap_or_default();
        text.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .expect("every line of the file channel is JSON")
            })
            .filter(|v| v["namespace"] == self.ns.as_str() && v["name"] == name)
            .collect()
    }

    /// Waits until the request log shows `expected` status writes of `name` (for a test that
    /// has not itself seen the last write's effect), then checks there are no more.
    pub async fn expect_status_writes(&self, name: &str, expected: usize) {
        let seen = self
            .status_writes_at_least::<NotificationRequest>(name, expected)
            .await;
        assert_eq!(seen, expected, "status writes of {name}");
    }

    /// Audit events of `nr`'s parent RemediationRequest, once at least `min` arrived.
    pub async fn audit(&self, nr: &NotificationRequest, min: usize) -> Vec<audit::AuditEvent> {
        let correlation = nr
            .spec
            .remediation_request_ref
            .as_ref()
            .and_then(|r| r.name.clone())
            .unwrap();
        self.0.audit(&correlation, min).await
    }
}

/// `(channel, attempt, status)` of every recorded attempt.
pub fn attempts(nr: &NotificationRequest) -> Vec<(String, i32, String)> {
    nr.status
        .as_ref()
        .map(|s| {
            s.delivery_attempts
                .iter()
                .map(|a| {
                    (
                        a.channel.clone(),
                        a.attempt,
                        serde_json::to_value(a.status)
                            .unwrap()
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Shorthand for an expected attempt.
pub fn at(channel: &str, attempt: i32, status: &str) -> (String, i32, String) {
    (channel.to_owned(), attempt, status.to_owned())
}
