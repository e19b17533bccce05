//! Delivers one attempt of a notification on one channel — console (a log line), file (one
//! JSON line appended) or webhook (Slack-like JSON POSTed with a timeout) — and classifies the
//! result as success, failed, timeout or invalid.

use std::path::Path;
use std::time::{Duration, Instant};

use kube::ResourceExt as _;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

use super::config::{ChannelConfig, DEFAULT_WEBHOOK_TIMEOUT};
use crate::api::NotificationRequest;
use crate::api::notificationrequest::DeliveryStatus;

/// Header naming the notification (`namespace/name`), so a receiver can group attempts.
pub const HEADER_NOTIFICATION: &str = "x-kubernaut-notification";
/// Header naming the attempt (`channel#n`).
pub const HEADER_ATTEMPT: &str = "x-kubernaut-attempt";
/// Header a receiver can deduplicate on: `uid/channel/n`, the same for the same attempt.
pub const HEADER_IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Webhook answers that mean "this request is wrong", not "try later": client errors other
/// than 408 Request Timeout and 429 Too Many Requests.
const RETRYABLE_CLIENT_ERRORS: [u16; 2] = [408, 429];
/// How much of an error answer's body goes into the attempt's error message.
const MAX_ERROR_BODY: usize = 200;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The result.
    pub status: DeliveryStatus,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// How long it took.
    pub seconds: f64,
}

/// The notification as the file channel and webhook payloads describe it.
fn describe(nr: &NotificationRequest, channel: &str, attempt: i32) -> Value {
    json!({
        "namespace": nr.namespace().unwrap_or_default(),
        "name": nr.name_any(),
        "type": nr.spec.type_.name(),
        "priority": nr.spec.priority.name(),
        "severity": nr.spec.severity,
        "subject": nr.spec.subject,
        "body": nr.spec.body,
        "channel": channel,
        "attempt": attempt,
        "remediationRequest": nr.spec.remediation_request_ref.as_ref().and_then(|r| r.name.clone()),
    })
}

/// Delivers attempt `attempt` of `nr` on `channel` (configured as `config`).
pub async fn deliver(
    http: &reqwest::Client,
    channel: &str,
    config: &ChannelConfig,
    nr: &NotificationRequest,
    attempt: i32,
) -> Outcome {
    let started = Instant::now();
    let (status, error) = match config {
        ChannelConfig::Console => {
            tracing::info!(
                target: "notification.console",
                notification = %format!("{}/{}", nr.namespace().unwrap_or_default(), nr.name_any()),
                priority = nr.spec.priority.name(),
                subject = %nr.spec.subject,
                body = %nr.spec.body,
                "notification"
            );
            (DeliveryStatus::Success, None)
        }
        ChannelConfig::File { path } => {
            match append_line(path, &describe(nr, channel, attempt)).await {
                Ok(()) => (DeliveryStatus::Success, None),
                Err(e) => (
                    DeliveryStatus::Failed,
                    Some(format!("failed to append to {}: {e}", path.display())),
                ),
            }
        }
        ChannelConfig::Webhook { url, timeout_ms } => {
            let timeout = timeout_ms.map_or(DEFAULT_WEBHOOK_TIMEOUT, Duration::from_millis);
            post(http, url, timeout, nr, channel, attempt).await
        }
    };
    Outcome {
        status,
        error,
        seconds: started.elapsed().as_secs_f64(),
    }
}

async fn append_line(path: &Path, line: &Value) -> std::io::Result<()> {
    let mut text = line.to_string();
    text.push('\n');
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    // One write of the whole line: O_APPEND keeps concurrent writers' lines whole.
    file.write_all(text.as_bytes()).await?;
    file.flush().await
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
    nr: &NotificationRequest,
    channel: &str,
    attempt: i32,
) -> (DeliveryStatus, Option<String>) {
    let emoji = match nr.spec.priority.name() {
        "Critical" => ":rotating_light:",
        "High" => ":warning:",
        _ => ":information_source:",
    };
    let payload = json!({
        "text": format!("{emoji} [{}] {}", nr.spec.priority.name(), nr.spec.subject),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": nr.spec.subject}},
            {"type": "section", "text": {"type": "mrkdwn", "text": nr.spec.body}},
        ],
        "notification": describe(nr, channel, attempt),
    });
    let key = format!("{}/{channel}/{attempt}", nr.uid().unwrap_or_default());
    let request = http
        .post(url)
        .timeout(timeout)
        .header(
            HEADER_NOTIFICATION,
            format!("{}/{}", nr.namespace().unwrap_or_default(), nr.name_any()),
        )
        .header(HEADER_ATTEMPT, format!("{channel}#{attempt}"))
        .header(HEADER_IDEMPOTENCY_KEY, key)
        .json(&payload);
    match request.send().await {
        Ok(response) if response.status().is_success() => (DeliveryStatus::Success, None),
        Ok(response) => {
            let code = response.status().as_u16();
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(MAX_ERROR_BODY)
                .collect();
            let error = Some(format!("webhook {url} answered {code}: {body}"));
            if response_is_invalid(code) {
                (DeliveryStatus::Invalid, error)
            } else {
                (DeliveryStatus::Failed, error)
            }
        }
        Err(e) if e.is_timeout() => (
            DeliveryStatus::Timeout,
            Some(format!("webhook {url} did not answer within {timeout:?}")),
        ),
        Err(e) => (
            DeliveryStatus::Failed,
            Some(format!("webhook {url} unreachable: {e}")),
        ),
    }
}

fn response_is_invalid(code: u16) -> bool {
    (400..500).contains(&code) && !RETRYABLE_CLIENT_ERRORS.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_invalid_except_timeout_and_throttling() {
        assert!(response_is_invalid(400) && response_is_invalid(404) && response_is_invalid(422));
        assert!(
            !response_is_invalid(408)
                && !response_is_invalid(429)
                && !response_is_invalid(500)
                && !response_is_invalid(503)
        );
    }

    #[tokio::test]
    async fn file_channel_appends_json_lines_and_fails_on_a_missing_directory() {
        let dir = tempfile_dir();
        let path = dir.join("n.jsonl");
        let nr = NotificationRequest::test("file");
        let http = reqwest::Client::new();
        let config = ChannelConfig::File { path: path.clone() };
        assert_eq!(
            deliver(&http, "file", &config, &nr, 1).await.status,
            DeliveryStatus::Success
        );
        assert_eq!(
            deliver(&http, "file", &config, &nr, 2).await.status,
            DeliveryStatus::Success
        );
        let lines: Vec<Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["attempt"], 2);
        assert_eq!(lines[0]["subject"], "Test notification file");
        let broken = ChannelConfig::File {
            path: dir.join("missing/n.jsonl"),
        };
        let outcome = deliver(&http, "file", &broken, &nr, 1).await;
        assert_eq!(outcome.status, DeliveryStatus::Failed);
        assert!(outcome.error.unwrap().contains("missing/n.jsonl"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_webhook_fails_and_console_succeeds() {
        // Bind then drop a listener: the port is (almost certainly) closed afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let http = reqwest::Client::new();
        let nr = NotificationRequest::test("w");
        let hook = ChannelConfig::Webhook {
            url: format!("http://127.0.0.1:{port}/"),
            timeout_ms: Some(2000),
        };
        let outcome = deliver(&http, "webhook", &hook, &nr, 1).await;
        assert_eq!(outcome.status, DeliveryStatus::Failed, "{outcome:?}");
        assert_eq!(
            deliver(&http, "console", &ChannelConfig::Console, &nr, 1)
                .await
                .status,
            DeliveryStatus::Success
        );
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "notif-unit-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
