//! Reconciles NotificationRequests: Pending → Sending, then delivery rounds until every
//! selected channel delivered or failed for good (Sent, PartiallySent, Failed), waiting in
//! Retrying between rounds. Each round is claimed in an annotation before anything is sent and
//! recorded in one `/status` write afterwards, so an attempt is never delivered twice, not even
//! when the controller stops mid-delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use audit::{AuditEvent, AuditStore, EventOutcome};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use manager::{ControllerContext, Manager, StatusError};

use super::breaker::{CircuitBreaker, Permit};
use super::channels;
use super::config::{Config, ConfigError};
use super::metrics::{Metrics, status_name};
use super::plan::{self, ChannelState};
use crate::api::notificationrequest::{DeliveryAttempt, DeliveryStatus};
use crate::api::{CONDITION_READY, NotificationPhase, NotificationRequest, Phase, Time};
use crate::conditions::set_condition;
use crate::requeue::ErrorBackoff;

/// Name of the controller in the manager (and in logs).
pub const CONTROLLER_NAME: &str = "notification";
/// Annotation naming the attempts of the round being delivered (`channel#n,...`). Written
/// (guarded by the resourceVersion) before anything is sent; an attempt it names that the
/// status does not record was interrupted, and is recorded as failed instead of being resent.
pub const CLAIM_ANNOTATION: &str = "notification.kubernaut.ai/delivering";
/// Error recorded for an interrupted attempt.
pub const INTERRUPTED: &str = "delivery interrupted (the controller stopped or its status write was lost); outcome unknown, not redelivered";
/// Audit event category.
const AUDIT_CATEGORY: &str = "notification";
/// HTTP status for a conflicting write.
const HTTP_CONFLICT: u16 = 409;
/// HTTP status for NotFound.
const HTTP_NOT_FOUND: u16 = 404;

/// Why a reconcile failed (it is requeued with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object has no namespace (NotificationRequest is namespaced; a bug upstream).
    #[error("NotificationRequest {0} has no namespace")]
    MissingNamespace(String),
    /// Reading the NotificationRequest failed.
    #[error("failed to read NotificationRequest {name}")]
    Read {
        /// The object.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Writing the delivery claim failed.
    #[error(
        "failed to claim delivery round {claim:?} on NotificationRequest {name} (annotation {CLAIM_ANNOTATION})"
    )]
    Claim {
        /// The object.
        name: String,
        /// The claim.
        claim: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The status write failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// State shared by every reconcile.
pub struct Context {
    client: Client,
    config: Config,
    metrics: Metrics,
    audit: AuditStore,
    errors: ErrorBackoff,
    breaker: CircuitBreaker,
    http: reqwest::Client,
    /// When each channel of each notification (by uid) was last attempted by this process:
    /// status timestamps have one-second resolution, too coarse for millisecond backoffs.
    last_attempt: Mutex<HashMap<String, HashMap<String, Instant>>>,
}

impl Context {
    /// A context for reconciles; every configured channel's breaker gauge starts at closed.
    pub fn new(client: Client, config: Config, metrics: Metrics, audit: AuditStore) -> Self {
        for channel in config.routing.channels.keys() {
            metrics.breaker(channel, super::BreakerState::Closed);
        }
        Self {
            client,
            errors: ErrorBackoff::new(config.error_backoff),
            breaker: CircuitBreaker::new(config.breaker),
            config,
            metrics,
            audit,
            http: reqwest::Client::new(),
            last_attempt: Mutex::default(),
        }
    }

    fn attempted(&self, uid: &str, channel: &str, at: Instant) {
        let mut map = self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(uid.to_owned())
            .or_default()
            .insert(channel.to_owned(), at);
    }

    fn last_attempt(&self, uid: &str, channel: &str) -> Option<Instant> {
        let map = self
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(uid)?.get(channel).copied()
    }

    fn forget(&self, uid: &str) {
        self.last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uid);
    }
}

/// Registers the Notification controller on `manager`, after validating the routing.
pub fn register(
    manager: &mut Manager,
    config: Config,
    metrics: Metrics,
    audit: AuditStore,
) -> Result<(), ConfigError> {
    config.routing.validate()?;
    manager.add(CONTROLLER_NAME, move |ctx: ControllerContext| {
        let client = ctx.client();
        let controller = ctx.controller(
            Api::<NotificationRequest>::all(client.clone()),
            watcher::Config::default(),
        );
        let context = Arc::new(Context::new(client, config, metrics, audit));
        ctx.run(controller, reconcile, error_policy, context)
    });
    Ok(())
}

/// Reconciles one NotificationRequest.
pub async fn reconcile(nr: Arc<NotificationRequest>, ctx: Arc<Context>) -> Result<Action, Error> {
    let result = reconcile_inner(&nr, &ctx).await;
    if result.is_ok() {
        ctx.errors.on_success(&*nr);
    }
    result
}

/// Requeues a failed reconcile after the configured jittered backoff.
pub fn error_policy(nr: Arc<NotificationRequest>, error: &Error, ctx: Arc<Context>) -> Action {
    let action = ctx.errors.on_error(&*nr);
    tracing::warn!(notification = %nr.name_any(), %error, failures = ctx.errors.failures(&*nr), "reconcile failed; requeueing");
    action
}

async fn reconcile_inner(cached: &NotificationRequest, ctx: &Context) -> Result<Action, Error> {
    let namespace = cached
        .namespace()
        .ok_or_else(|| Error::MissingNamespace(cached.name_any()))?;
    let api: Api<NotificationRequest> = Api::namespaced(ctx.client.clone(), &namespace);
    // Always decide on the latest object, never the reflector's copy: a stale copy would not
    // show the last round's claim or attempts, and would deliver them again.
    let name = cached.name_any();
    let Some(nr) = api.get_opt(&name).await.map_err(|source| Error::Read {
        name: name.clone(),
        source,
    })?
    else {
        ctx.forget(&cached.uid().unwrap_or_default());
        return Ok(Action::await_change());
    };
    match nr.phase() {
        NotificationPhase::Pending => begin(&nr, &api, ctx).await,
        NotificationPhase::Sending | NotificationPhase::Retrying => round(&nr, &api, ctx).await,
        NotificationPhase::Sent | NotificationPhase::PartiallySent | NotificationPhase::Failed => {
            ctx.forget(&nr.uid().unwrap_or_default());
            Ok(Action::await_change())
        }
    }
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

/// Pending → Sending.
async fn begin(
    nr: &NotificationRequest,
    api: &Api<NotificationRequest>,
    ctx: &Context,
) -> Result<Action, Error> {
    let channels = ctx.config.routing.resolve(&nr.spec);
    let generation = nr.metadata.generation;
    manager::update_status_with(
        api,
        &nr.name_any(),
        manager::WritePolicy::conflicts(ctx.config.status_write_attempts)
            .retrying_transient(ctx.config.record_retry_for),
        |obj: &mut NotificationRequest| {
            if !obj.phase().can_transition_to(NotificationPhase::Sending) {
                return false;
            }
            let status = obj.status.get_or_insert_with(Default::default);
            status.phase = Some(NotificationPhase::Sending);
            status.message = Some(if channels.is_empty() {
                "no channel selected".to_owned()
            } else {
                format!("delivering to {}", channels.join(", "))
            });
            status.observed_generation = generation;
            true
        },
    )
    .await?;
    Ok(Action::requeue(ctx.config.phase_requeue))
}

/// One delivery round: record interrupted attempts, deliver every channel that is due, and
/// write the result (and the phase it implies) in one status write.
async fn round(
    nr: &NotificationRequest,
    api: &Api<NotificationRequest>,
    ctx: &Context,
) -> Result<Action, Error> {
    let uid = nr.uid().unwrap_or_default();
    let channels = ctx.config.routing.resolve(&nr.spec);
    let max = plan::max_attempts(&nr.spec.retry_policy);
    let recorded: Vec<DeliveryAttempt> = nr
        .status
        .as_ref()
        .map(|s| s.delivery_attempts.clone())
        .unwrap_or_default();
    let is_recorded = |ch: &str, n: i32| recorded.iter().any(|a| a.channel == ch && a.attempt == n);

    // Claimed but not recorded: sent or not, nobody knows. Record it as failed, never resend.
    let claimed = nr
        .annotations()
        .get(CLAIM_ANNOTATION)
        .map(|v| plan::parse_claim(v))
        .unwrap_or_default();
    let unrecorded: Vec<(String, i32)> = claimed
        .into_iter()
        .filter(|(ch, n)| !is_recorded(ch, *n))
        .collect();
    let mut new: Vec<DeliveryAttempt> = unrecorded
        .iter()
        .filter(|(ch, _)| channels.contains(ch))
        .map(|(ch, n)| DeliveryAttempt {
            channel: ch.clone(),
            attempt: *n,
            timestamp: now(),
            status: DeliveryStatus::Failed,
            error: Some(INTERRUPTED.to_owned()),
            duration_seconds: None,
        })
        .collect();
    let interrupted = new.len();
    let mut all = recorded.clone();
    plan::merge(&mut all, &new);

    let instant = Instant::now();
    let mut due: Vec<(String, i32)> = Vec::new();
    for ch in &channels {
        let ChannelState::Pending { attempts } = plan::channel_state(&all, ch, max) else {
            continue;
        };
        let delay = if attempts == 0 {
            Duration::ZERO
        } else {
            plan::retry_delay(
                &nr.spec.retry_policy,
                ctx.config.backoff_unit,
                ctx.config.retry_jitter,
                &uid,
                ch,
                attempts,
            )
        };
        let since = ctx
            .last_attempt(&uid, ch)
            .map_or_else(|| since_recorded(&all, ch), |at| instant.duration_since(at));
        if since >= delay {
            due.push((ch.clone(), attempts + 1));
        }
    }

    if due.is_empty() && new.is_empty() {
        let verdict = plan::verdict(&channels, &all, max);
        if verdict.phase == nr.phase() {
            return Ok(Action::requeue(next_wait(nr, ctx, &channels, &all, max)));
        }
        // Nothing to send, yet the phase must change (no channel selected).
        return write_round(nr, api, ctx, &channels, &new, max, interrupted).await;
    }

    if !due.is_empty() {
        // The claim also keeps naming still-unrecorded attempts, so losing this round's
        // status write cannot make them look never-attempted.
        let mut claim = unrecorded.clone();
        claim.extend(due.iter().cloned());
        let claim = plan::format_claim(&claim);
        let patch = serde_json::json!({
            "metadata": {"annotations": {CLAIM_ANNOTATION: claim}, "resourceVersion": nr.resource_version()}
        });
        match api
            .patch(
                &nr.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {}
            // Changed since we read it: decide again on the new version, nothing sent yet.
            Err(kube::Error::Api(s)) if s.code == HTTP_CONFLICT => {
                return Ok(Action::requeue(ctx.config.phase_requeue));
            }
            Err(kube::Error::Api(s)) if s.code == HTTP_NOT_FOUND => {
                return Ok(Action::await_change());
            }
            Err(source) => {
                return Err(Error::Claim {
                    name: nr.name_any(),
                    claim,
                    source,
                });
            }
        }
        let deliveries = due.iter().map(|(ch, n)| deliver(nr, ch, *n, ctx));
        new.extend(futures::future::join_all(deliveries).await);
    }
    write_round(nr, api, ctx, &channels, &new, max, interrupted).await
}

/// Time since the last recorded attempt on `channel` (after a restart: second resolution).
fn since_recorded(attempts: &[DeliveryAttempt], channel: &str) -> Duration {
    attempts
        .iter()
        .filter(|a| a.channel == channel)
        .map(|a| a.timestamp.0)
        .max()
        .and_then(|last| Duration::try_from(jiff::Timestamp::now().duration_since(last)).ok())
        .unwrap_or(Duration::MAX)
}

/// The wait until the next channel is due (the phase requeue when none is pending).
fn next_wait(
    nr: &NotificationRequest,
    ctx: &Context,
    channels: &[String],
    attempts: &[DeliveryAttempt],
    max: i32,
) -> Duration {
    let uid = nr.uid().unwrap_or_default();
    let instant = Instant::now();
    channels
        .iter()
        .filter_map(|ch| match plan::channel_state(attempts, ch, max) {
            ChannelState::Pending { attempts: n } if n > 0 => {
                let delay = plan::retry_delay(
                    &nr.spec.retry_policy,
                    ctx.config.backoff_unit,
                    ctx.config.retry_jitter,
                    &uid,
                    ch,
                    n,
                );
                let since = ctx.last_attempt(&uid, ch).map_or_else(
                    || since_recorded(attempts, ch),
                    |at| instant.duration_since(at),
                );
                Some(delay.saturating_sub(since))
            }
            _ => None,
        })
        .min()
        .unwrap_or(ctx.config.phase_requeue)
}

/// Delivers attempt `n` on `channel`, unless its breaker is open.
async fn deliver(
    nr: &NotificationRequest,
    channel: &str,
    n: i32,
    ctx: &Context,
) -> DeliveryAttempt {
    let timestamp = now();
    let uid = nr.uid().unwrap_or_default();
    let outcome = match ctx.config.routing.channels.get(channel) {
        None => channels::Outcome {
            status: DeliveryStatus::Invalid,
            error: Some(format!(
                "channel {channel:?} is not defined in the routing configuration"
            )),
            seconds: 0.0,
        },
        Some(config) => match ctx.breaker.permit(channel, Instant::now()) {
            Permit::Refused { retry_in } => {
                ctx.attempted(&uid, channel, Instant::now());
                ctx.metrics
                    .attempt(channel, n, DeliveryStatus::Failed, None);
                return DeliveryAttempt {
                    channel: channel.to_owned(),
                    attempt: n,
                    timestamp,
                    status: DeliveryStatus::Failed,
                    error: Some(format!(
                        "circuit breaker of channel {channel} is open; not attempted (next trial in {retry_in:?})"
                    )),
                    duration_seconds: None,
                };
            }
            permit @ (Permit::Go | Permit::Trial) => {
                if permit == Permit::Trial {
                    ctx.metrics.breaker(channel, super::BreakerState::HalfOpen);
                }
                let outcome = channels::deliver(&ctx.http, channel, config, nr, n).await;
                // An invalid answer shows the channel is up: only failures and timeouts trip it.
                let healthy = !matches!(
                    outcome.status,
                    DeliveryStatus::Failed | DeliveryStatus::Timeout
                );
                let state = ctx.breaker.record(channel, healthy, Instant::now());
                ctx.metrics.breaker(channel, state);
                outcome
            }
        },
    };
    ctx.attempted(&uid, channel, Instant::now());
    ctx.metrics
        .attempt(channel, n, outcome.status, Some(outcome.seconds));
    if outcome.status != DeliveryStatus::Success {
        tracing::info!(notification = %nr.name_any(), channel, attempt = n, status = ?outcome.status, error = ?outcome.error, "delivery failed");
    }
    DeliveryAttempt {
        channel: channel.to_owned(),
        attempt: n,
        timestamp,
        status: outcome.status,
        error: outcome.error,
        duration_seconds: Some(outcome.seconds),
    }
}

/// Records `new` attempts and the phase they imply in one status write.
async fn write_round(
    nr: &NotificationRequest,
    api: &Api<NotificationRequest>,
    ctx: &Context,
    channels: &[String],
    new: &[DeliveryAttempt],
    max: i32,
    interrupted: usize,
) -> Result<Action, Error> {
    let time = now();
    let generation = nr.metadata.generation;
    let mut verdict = None;
    // Deliveries are done: losing their record to a transient API failure would make the next
    // round count them as interrupted and send again under a new attempt number.
    let policy = manager::WritePolicy::conflicts(ctx.config.status_write_attempts)
        .retrying_transient(ctx.config.record_retry_for);
    let written = manager::update_status_with(
        api,
        &nr.name_any(),
        policy,
        |obj: &mut NotificationRequest| {
            let phase = obj.phase();
            let status = obj.status.get_or_insert_with(Default::default);
            let mut attempts = status.delivery_attempts.clone();
            let added = plan::merge(&mut attempts, new);
            let v = plan::verdict(channels, &attempts, max);
            if !phase.can_transition_to(v.phase) || (v.phase == phase && !added) {
                return false;
            }
            status.total_attempts = i32::try_from(attempts.len()).unwrap_or(i32::MAX);
            status.delivery_attempts = attempts;
            status.successful_deliveries = v.successful;
            status.failed_deliveries = v.failed;
            status.phase = Some(v.phase);
            status.reason = v.reason;
            status.message = Some(v.message.clone());
            status.observed_generation = generation;
            if v.phase.is_terminal() {
                status.completion_time = Some(time.clone());
                let reason = v.reason.map_or("Completed", |r| r.name());
                let ok = v.phase != NotificationPhase::Failed;
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    ok,
                    reason,
                    &v.message,
                    generation,
                    &time,
                );
            }
            verdict = Some(v);
            true
        },
    )
    .await?;
    let Some(v) = verdict.filter(|_| written.written()) else {
        return Ok(Action::requeue(ctx.config.phase_requeue));
    };
    for a in new.iter().take(interrupted) {
        ctx.metrics.attempt(&a.channel, a.attempt, a.status, None);
    }
    for a in new {
        let (suffix, outcome) = if a.status == DeliveryStatus::Success {
            ("sent", EventOutcome::Success)
        } else {
            ("failed", EventOutcome::Failure)
        };
        record(
            ctx,
            nr,
            &format!("message.{suffix}"),
            suffix,
            outcome,
            |e| {
                let e = e
                    .with_data("channel", a.channel.clone())
                    .with_data("attempt", a.attempt)
                    .with_data("status", status_name(a.status));
                let e = match &a.error {
                    Some(error) => e.with_error(status_name(a.status), error),
                    None => e,
                };
                match a.duration_seconds {
                    // Whole milliseconds are what the audit schema holds.
                    #[allow(clippy::cast_possible_truncation)]
                    Some(s) => e.with_duration_ms((s * 1000.0) as i64),
                    None => e,
                }
            },
        );
    }
    if v.phase.is_terminal() {
        ctx.forget(&nr.uid().unwrap_or_default());
        let outcome = if v.phase == NotificationPhase::Failed {
            EventOutcome::Failure
        } else {
            EventOutcome::Success
        };
        let obj = written.object();
        record(ctx, nr, "request.completed", "completed", outcome, |e| {
            e.with_data("phase", v.phase.name())
                .with_data("reason", v.reason.map_or("", |r| r.name()))
                .with_data("successful_deliveries", v.successful)
                .with_data("failed_deliveries", v.failed)
                .with_data(
                    "total_attempts",
                    obj.status.as_ref().map_or(0, |s| s.total_attempts),
                )
        });
        return Ok(Action::await_change());
    }
    Ok(Action::requeue(ctx.config.phase_requeue))
}

/// Records an audit event about `nr`; correlation id: the parent RemediationRequest's name.
fn record(
    ctx: &Context,
    nr: &NotificationRequest,
    suffix: &str,
    action: &str,
    outcome: EventOutcome,
    extra: impl FnOnce(AuditEvent) -> AuditEvent,
) {
    let correlation_id = nr
        .spec
        .remediation_request_ref
        .as_ref()
        .and_then(|r| r.name.clone())
        .unwrap_or_else(|| nr.name_any());
    let event = AuditEvent::new(
        format!("notification.{suffix}"),
        AUDIT_CATEGORY,
        action,
        outcome,
        correlation_id,
    )
    .with_actor("service", &ctx.config.service_name)
    .with_resource("NotificationRequest", nr.name_any())
    .with_namespace(nr.namespace().unwrap_or_default())
    .with_data("type", nr.spec.type_.name())
    .with_data("priority", nr.spec.priority.name());
    if let Err(error) = ctx.audit.record(extra(event)) {
        tracing::warn!(notification = %nr.name_any(), %error, "audit event dropped");
    }
}
