//! The channels the suites deliver to: the routing every suite uses (console, a file of this
//! process's own, a file that cannot be written, the process's webhook target) and readers of
//! what a notification's delivery attempts recorded.

use std::path::PathBuf;
use std::sync::LazyLock;

use controllers::api::NotificationRequest;
use controllers::notification::RoutingConfig;

use crate::webhook::WEBHOOK;

/// The webhook channel's timeout: far below the target's scripted delay, far above a local
/// answer even at -j 12 on a busy 2-core machine (500 ms was exceeded there once: a
/// successful delivery was recorded as a timeout).
pub const WEBHOOK_TIMEOUT_MS: u64 = 3000;

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

/// The file channel's lines about `ns/name`.
pub fn file_lines(ns: &str, name: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(file_path()).unwrap_or_default();
    text.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .expect("every line of the file channel is JSON")
        })
        .filter(|v| v["namespace"] == ns && v["name"] == name)
        .collect()
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
