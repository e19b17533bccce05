//! Owns the controller's configuration: the routing table (Alertmanager-style matchers on a
//! notification's type, severity and priority selecting named channels), the channel
//! definitions, the circuit-breaker thresholds and every duration, scaled so tests run in
//! milliseconds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use manager::Backoff;
use serde::Deserialize;

use crate::api::NotificationRequestSpec;

/// Channel timeout of a webhook without `timeoutMs` (Slack answers in well under a second; 10 s
/// leaves room for a slow proxy without holding a reconcile for long).
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Consecutive failures that open a channel's breaker (kubernaut's default).
pub const DEFAULT_BREAKER_FAILURES: u32 = 3;
/// How long an open breaker stays open before it lets one trial through (kubernaut's default).
pub const DEFAULT_BREAKER_OPEN_FOR: Duration = Duration::from_secs(30);
/// Relative jitter of retry delays (±10 %), so notifications that failed together do not
/// retry in lockstep.
pub const DEFAULT_RETRY_JITTER: f64 = 0.1;
/// Requeue after a phase change (as WorkflowExecution: the next step starts promptly).
pub const DEFAULT_PHASE_REQUEUE: Duration = Duration::from_millis(100);
/// Actor id of audit events.
pub const DEFAULT_SERVICE_NAME: &str = "notification-controller";
/// The matcher keys a route may use.
pub const MATCH_KEYS: [&str; 3] = ["type", "severity", "priority"];

/// Why a routing configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read routing config {path}: check the path and its permissions")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse into a routing config.
    #[error(
        "failed to parse routing config {origin}: expected `channels:` (name → {{type: console|file|webhook, ...}}), `routes:` and `defaultChannels:`"
    )]
    Parse {
        /// File name or `<inline>`.
        origin: String,
        /// The YAML error.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A route names a channel that is not defined.
    #[error(
        "routing config: route {route} sends to channel {channel:?}, which is not defined under `channels:`; define it or remove it from the route"
    )]
    UnknownChannel {
        /// Index of the route (`default` for `defaultChannels`).
        route: String,
        /// The channel name.
        channel: String,
    },
    /// A route matches on a key the controller does not know.
    #[error(
        "routing config: route {route} matches on {key:?}; only type, severity and priority can be matched"
    )]
    UnknownMatchKey {
        /// Index of the route.
        route: usize,
        /// The key.
        key: String,
    },
    /// A webhook URL is not http(s).
    #[error(
        "routing config: webhook channel {channel:?} has URL {url:?}; it must start with http:// or https://"
    )]
    BadUrl {
        /// The channel.
        channel: String,
        /// The URL.
        url: String,
    },
}

/// A delivery channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ChannelConfig {
    /// Logs the notification (target `notification.console`).
    Console,
    /// Appends one JSON line per delivery to `path`.
    File {
        /// The file (its directory must exist).
        path: PathBuf,
    },
    /// POSTs Slack-like JSON to `url`.
    Webhook {
        /// Target URL.
        url: String,
        /// Request timeout in milliseconds ([`DEFAULT_WEBHOOK_TIMEOUT`] when absent).
        #[serde(default, rename = "timeoutMs")]
        timeout_ms: Option<u64>,
    },
}

/// One route: when every matcher equals the notification's field, its channels are selected.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Field → required value (`type`, `severity`, `priority`); empty matches everything.
    #[serde(default, rename = "match")]
    pub matchers: BTreeMap<String, String>,
    /// Channel names.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Keep evaluating later routes after this one matched (Alertmanager's `continue`).
    #[serde(default, rename = "continue")]
    pub continue_: bool,
}

/// The routing table: the first matching route wins (unless it says `continue`); no match
/// falls back to `defaultChannels`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingConfig {
    /// Channel definitions by name.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Routes, in order.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Channels when no route matches.
    #[serde(default)]
    pub default_channels: Vec<String>,
}

impl RoutingConfig {
    /// Parses and validates YAML.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, "<inline>")
    }

    /// Reads, parses and validates a YAML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_saphyr::from_str(text).map_err(|source| ConfigError::Parse {
            origin: origin.to_owned(),
            source: Box::new(source),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks that routes name defined channels and known keys, and webhook URLs are http(s).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, channel) in &self.channels {
            if let ChannelConfig::Webhook { url, .. } = channel
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ConfigError::BadUrl {
                    channel: name.clone(),
                    url: url.clone(),
                });
            }
        }
        let known = |route: String, names: &[String]| {
            names
                .iter()
                .find(|c| !self.channels.contains_key(*c))
                .map_or(Ok(()), |c| {
                    Err(ConfigError::UnknownChannel {
                        route: route.clone(),
                        channel: c.clone(),
                    })
                })
        };
        for (i, route) in self.routes.iter().enumerate() {
            if let Some(key) = route
                .matchers
                .keys()
                .find(|k| !MATCH_KEYS.contains(&k.as_str()))
            {
                return Err(ConfigError::UnknownMatchKey {
                    route: i,
                    key: key.clone(),
                });
            }
            known(i.to_string(), &route.channels)?;
        }
        known("default".to_owned(), &self.default_channels)
    }

    /// The channels for `spec`, in first-selected order, without duplicates.
    pub fn resolve(&self, spec: &NotificationRequestSpec) -> Vec<String> {
        let type_ = spec.type_.name();
        let priority = spec.priority.name();
        let severity = spec.severity.as_deref();
        let mut selected: Vec<String> = Vec::new();
        let mut matched = false;
        for route in &self.routes {
            let hit = route.matchers.iter().all(|(key, want)| match key.as_str() {
                "type" => type_ == want,
                "priority" => priority == want,
                "severity" => severity == Some(want.as_str()),
                _ => false,
            });
            if !hit {
                continue;
            }
            matched = true;
            for c in &route.channels {
                if !selected.contains(c) {
                    selected.push(c.clone());
                }
            }
            if !route.continue_ {
                break;
            }
        }
        if matched {
            selected
        } else {
            self.default_channels.clone()
        }
    }
}

/// The per-channel circuit breaker's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker; 0 disables it.
    pub failure_threshold: u32,
    /// How long it stays open before one trial delivery is let through (half-open).
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: DEFAULT_BREAKER_FAILURES,
            open_for: DEFAULT_BREAKER_OPEN_FOR,
        }
    }
}

/// Everything the controller's behaviour depends on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where notifications go.
    pub routing: RoutingConfig,
    /// What one "second" of the spec's retry policy lasts: 1 s in production; tests use 1 ms so
    /// `initialBackoffSeconds: 30` waits 30 ms.
    pub backoff_unit: Duration,
    /// Relative jitter of retry delays, in `[0, 1]`.
    pub retry_jitter: f64,
    /// The per-channel circuit breaker.
    pub breaker: BreakerConfig,
    /// Requeue delay after a phase change.
    pub phase_requeue: Duration,
    /// Requeue delays after reconcile errors (API failures, not delivery failures).
    pub error_backoff: Backoff,
    /// Status write attempts before giving up on conflicts.
    pub status_write_attempts: u32,
    /// How long a status write retries transient API failures (429, 5xx, no connection) in
    /// place; for the write recording a round's deliveries, past it the round is left to the
    /// claim's interrupted-attempt path, which records the delivery as failed and sends again.
    pub record_retry_for: Duration,
    /// Actor id on audit events.
    pub service_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            routing: RoutingConfig::default(),
            backoff_unit: Duration::from_secs(1),
            retry_jitter: DEFAULT_RETRY_JITTER,
            breaker: BreakerConfig::default(),
            phase_requeue: DEFAULT_PHASE_REQUEUE,
            // 1 s doubling to 5 min with ±10 % jitter: kubernaut's transient-error backoff shape.
            error_backoff: Backoff::new(Duration::from_secs(1), 2.0, Duration::from_secs(300), 0.1),
            status_write_attempts: manager::status::DEFAULT_MAX_ATTEMPTS,
            record_retry_for: manager::status::DEFAULT_RECORD_RETRY_FOR,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::NotificationRequest;
    use crate::api::notificationrequest::{NotificationPriority, NotificationType};

    const YAML: &str = r#"
channels:
  console: {type: console}
  audit-log: {type: file, path: /tmp/notifications.jsonl}
  slack: {type: webhook, url: "http://127.0.0.1:9/hook", timeoutMs: 250}
routes:
  - match: {type: Escalation, severity: critical}
    channels: [slack, audit-log]
    continue: true
  - match: {type: Escalation}
    channels: [console, slack]
  - match: {priority: Low}
    channels: []
defaultChannels: [console]
"#;

    fn spec(
        t: NotificationType,
        p: NotificationPriority,
        severity: &str,
    ) -> NotificationRequestSpec {
        NotificationRequest::test("n")
            .with_type(t)
            .with_priority(p)
            .with_severity(severity)
            .spec
    }

    #[test]
    fn routes_first_match_continue_and_default() {
        let r = RoutingConfig::from_yaml(YAML).unwrap();
        assert_eq!(
            r.channels["slack"],
            ChannelConfig::Webhook {
                url: "http://127.0.0.1:9/hook".into(),
                timeout_ms: Some(250)
            }
        );
        use NotificationPriority::*;
        use NotificationType::*;
        assert_eq!(
            r.resolve(&spec(Escalation, High, "critical")),
            ["slack", "audit-log", "console"]
        );
        assert_eq!(
            r.resolve(&spec(Escalation, High, "warning")),
            ["console", "slack"]
        );
        assert_eq!(r.resolve(&spec(Simple, Medium, "warning")), ["console"]);
        assert!(
            r.resolve(&spec(Simple, Low, "warning")).is_empty(),
            "a matching route with no channels"
        );
    }

    #[test]
    fn reads_a_routing_file() {
        let path = std::env::temp_dir().join(format!(
            "routing-{}-{}.yaml",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::write(&path, YAML).unwrap();
        let from_file = RoutingConfig::from_file(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(from_file.unwrap(), RoutingConfig::from_yaml(YAML).unwrap());
    }

    #[test]
    fn refuses_unknown_channels_keys_and_urls() {
        let e = RoutingConfig::from_yaml("routes: [{channels: [pager]}]").unwrap_err();
        assert!(
            e.to_string().contains("\"pager\", which is not defined"),
            "{e}"
        );
        let e = RoutingConfig::from_yaml("defaultChannels: [x]").unwrap_err();
        assert!(matches!(e, ConfigError::UnknownChannel { .. }), "{e}");
        let e = RoutingConfig::from_yaml("routes: [{match: {team: a}}]").unwrap_err();
        assert!(e.to_string().contains("\"team\""), "{e}");
        let e =
            RoutingConfig::from_yaml("channels: {w: {type: webhook, url: ftp://x}}").unwrap_err();
        assert!(matches!(e, ConfigError::BadUrl { .. }), "{e}");
        let e = RoutingConfig::from_yaml("channels: {w: {type: carrier-pigeon}}").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
        let e = RoutingConfig::from_file(Path::new("/nonexistent/routing.yaml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/routing.yaml"), "{e}");
    }
}
