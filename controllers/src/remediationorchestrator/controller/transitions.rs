//! Owns phase transitions and what comes with them: the one `/status` write per transition, its
//! audit record and metrics, notifications, and the terminal outcomes (failed, timed out,
//! completed).

use std::time::Duration;

use audit::{AuditEvent, EventOutcome};
use kube::runtime::controller::Action;

use crate::api::remediationrequest::CompletionStatus;
use crate::api::{
    CONDITION_READY, ObjectReference, Phase as _, RemediationPhase, RemediationRequest, Time,
};
use crate::conditions::set_condition;
use crate::remediationorchestrator::children::{self, NotificationKind};

use super::{AUDIT_CATEGORY, AUDIT_PREFIX, Ensured, Error, Extra, Rc};

impl Rc<'_> {
    /// Writes `from → to` with `message` and `extra`, once (DD-PERF-001): the refetched object
    /// must still be in `from`. Returns whether this reconcile wrote it.
    pub(super) async fn transition(
        &self,
        from: RemediationPhase,
        to: RemediationPhase,
        message: &str,
        extra: Extra<'_>,
    ) -> Result<bool, Error> {
        let time = Time(self.now);
        let generation = self.rr.metadata.generation;
        let written = manager::update_status_with(
            &self.api,
            &self.name,
            manager::WritePolicy::recording(self.config().status_write_attempts),
            |obj: &mut RemediationRequest| {
                if obj.phase() != from || !from.can_transition_to(to) {
                    return false;
                }
                let status = obj.status.get_or_insert_with(Default::default);
                status.overall_phase = Some(to);
                status.message = Some(message.to_owned());
                status.observed_generation = generation;
                status.phase_started_at = Some(time.clone());
                // Orchestration starts with processing: time spent blocked (bounded by the
                // cooldown or by the original's own timeouts) is not the remediation's.
                if to == RemediationPhase::Processing {
                    status.start_time.get_or_insert_with(|| time.clone());
                }
                if to.is_terminal() {
                    status.completed_at = Some(time.clone());
                }
                set_condition(
                    &mut status.conditions,
                    CONDITION_READY,
                    to == RemediationPhase::Completed,
                    to.name(),
                    message,
                    generation,
                    &time,
                );
                extra(status);
                true
            },
        )
        .await?
        .written();
        if written {
            self.ctx
                .metrics
                .transition(&self.namespace, from.name(), to.name());
            self.record(
                "phase.transitioned",
                "transitioned",
                EventOutcome::Success,
                |e| {
                    e.with_data("from_phase", from.name())
                        .with_data("to_phase", to.name())
                        .with_data("message", message)
                },
            );
        }
        Ok(written)
    }

    /// Records an audit event `orchestrator.<suffix>` about the request; the store never
    /// blocks and counts what it drops.
    pub(super) fn record(
        &self,
        suffix: &str,
        action: &str,
        outcome: EventOutcome,
        extra: impl FnOnce(AuditEvent) -> AuditEvent,
    ) {
        let event = AuditEvent::new(
            format!("{AUDIT_PREFIX}.{suffix}"),
            AUDIT_CATEGORY,
            action,
            outcome,
            self.name.clone(),
        )
        .with_actor("service", &self.config().service_name)
        .with_resource("RemediationRequest", self.name.clone())
        .with_namespace(self.namespace.clone())
        .with_data(
            "signal_fingerprint",
            self.rr.spec.signal_fingerprint.clone(),
        )
        .with_data("signal_name", self.rr.spec.signal_name.clone())
        .with_data("target_resource", self.rr.spec.target_resource.to_path());
        if let Err(error) = self.ctx.audit.record(extra(event)) {
            tracing::warn!(rr = %self.name, %error, "audit event dropped");
        }
    }

    fn duration_ms(&self) -> Option<i64> {
        let start = self.rr.status.as_ref()?.start_time.as_ref()?.0;
        let span = Duration::try_from(self.now.duration_since(start)).ok()?;
        i64::try_from(span.as_millis()).ok()
    }

    /// Sends the `kind` notification (idempotently) and returns its reference; `None` (logged)
    /// when its name is taken by another controller's object or it cannot be created, since
    /// a notification must never hold up the request's own outcome.
    pub(super) async fn notify(
        &self,
        kind: NotificationKind,
        subject: String,
        body: String,
    ) -> Result<Option<ObjectReference>, Error> {
        let desired = children::notification(&self.rr, kind, subject, body);
        match self.ensure(desired).await {
            Ok(Ensured::Ours(nr)) => Ok(Some(children::child_ref(&nr))),
            Ok(Ensured::Foreign(nr)) => {
                tracing::warn!(rr = %self.name, message = %self.foreign(&nr), "notification not sent");
                Ok(None)
            }
            // A rejection that retrying cannot change (invalid object, forbidden, no such
            // resource): record the outcome without it. Server errors and lost connections
            // stay errors and are retried, since the notification may still go out.
            Err(Error::Child {
                source: kube::Error::Api(status),
                ..
            }) if (400..500).contains(&status.code) && status.code != 409 && status.code != 429 => {
                tracing::warn!(rr = %self.name, code = status.code, reason = %status.reason, message = %status.message, "notification rejected; not sent");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    pub(super) fn signal_summary(&self) -> String {
        let s = &self.rr.spec;
        format!(
            "Signal {} ({}) on {}",
            s.signal_name,
            s.severity,
            s.target_resource.to_path()
        )
    }

    /// Ends the request in `to` (Failed or TimedOut) from `from`: sends the escalation
    /// notification first, so a retried reconcile finds it, then writes the phase.
    pub(super) async fn fail(
        &self,
        from: RemediationPhase,
        to: RemediationPhase,
        failure_phase: RemediationPhase,
        reason: &str,
    ) -> Result<Action, Error> {
        self.end_failed(from, to, failure_phase, reason).await?;
        Ok(Action::await_change())
    }

    /// Times the request out in `phase`, counting the timeout under `label` once: only the
    /// reconcile whose write ended the request counts it, not one that failed before its
    /// write and was retried.
    pub(super) async fn time_out(
        &self,
        phase: RemediationPhase,
        label: &str,
        reason: &str,
    ) -> Result<Action, Error> {
        let written = self
            .end_failed(phase, RemediationPhase::TimedOut, phase, reason)
            .await?;
        if written {
            self.ctx.metrics.timed_out(label);
        }
        Ok(Action::await_change())
    }

    /// [`Self::fail`]; returns whether this reconcile wrote the end.
    async fn end_failed(
        &self,
        from: RemediationPhase,
        to: RemediationPhase,
        failure_phase: RemediationPhase,
        reason: &str,
    ) -> Result<bool, Error> {
        let verb = if to == RemediationPhase::TimedOut {
            "timed out"
        } else {
            "failed"
        };
        let notification = self
            .notify(
                NotificationKind::Escalation,
                format!("Remediation {} {verb} in {failure_phase}", self.name),
                format!("{}\n{reason}", self.signal_summary()),
            )
            .await?;
        let completion = CompletionStatus {
            failure_phase: Some(failure_phase),
            failure_reason: Some(reason.to_owned()),
            outcome: None,
        };
        let message = format!("{verb} in {failure_phase}: {reason}");
        let written = self
            .transition(from, to, &message, &|s| {
                s.completion_status = Some(completion.clone());
                push_ref(&mut s.notification_request_refs, notification.as_ref());
            })
            .await?;
        if written {
            self.record("lifecycle.failed", verb, EventOutcome::Failure, |e| {
                let e = e
                    .with_error(to.name(), reason)
                    .with_data("failure_phase", failure_phase.name())
                    .with_data("final_phase", to.name());
                match self.duration_ms() {
                    Some(ms) => e.with_duration_ms(ms),
                    None => e,
                }
            });
        }
        Ok(written)
    }

    /// Ends the request in Completed from `from` with `outcome`, after sending the completion
    /// notification.
    pub(super) async fn complete(
        &self,
        from: RemediationPhase,
        outcome: &str,
    ) -> Result<Action, Error> {
        let notification = self
            .notify(
                NotificationKind::Completion,
                format!("Remediation {} completed: {outcome}", self.name),
                format!("{}\nOutcome: {outcome}", self.signal_summary()),
            )
            .await?;
        let message = format!("completed: {outcome}");
        let written = self
            .transition(from, RemediationPhase::Completed, &message, &|s| {
                s.completion_status = Some(CompletionStatus {
                    outcome: Some(outcome.to_owned()),
                    ..CompletionStatus::default()
                });
                push_ref(&mut s.notification_request_refs, notification.as_ref());
            })
            .await?;
        if written {
            self.record(
                "lifecycle.completed",
                "completed",
                EventOutcome::Success,
                |e| {
                    let e = e.with_data("outcome", outcome);
                    match self.duration_ms() {
                        Some(ms) => e.with_duration_ms(ms),
                        None => e,
                    }
                },
            );
        }
        Ok(Action::await_change())
    }

    /// Whether the request's phase is now `phase` (after a transition of this reconcile).
    pub(super) async fn status_now_is(&self, phase: RemediationPhase) -> bool {
        matches!(self.api.get_opt(&self.name).await, Ok(Some(rr)) if rr.phase() == phase)
    }
}

/// Adds `reference` to `refs` unless one of the same name is there.
pub(super) fn push_ref(refs: &mut Vec<ObjectReference>, reference: Option<&ObjectReference>) {
    if let Some(r) = reference
        && !refs.iter().any(|x| x.name == r.name)
    {
        refs.push(r.clone());
    }
}
