//! Owns a request's deadlines: the global timeout, each phase's timeout (plus the grace a child
//! gets to report its own), the deadline a new child carries, and waiting in a phase until the
//! nearer deadline is due.

use std::time::Duration;

use kube::runtime::controller::Action;

use crate::api::{RemediationPhase, Time};
use crate::remediationorchestrator::metrics::GLOBAL_TIMEOUT_PHASE;

use super::{Error, Rc};

/// `at + by`, saturating at the largest timestamp.
pub(super) fn after(at: jiff::Timestamp, by: Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(by)
        .ok()
        .and_then(|d| at.checked_add(d).ok())
        .unwrap_or(jiff::Timestamp::MAX)
}

/// Time from `now` until `at` (zero when past).
pub(super) fn until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}

impl Rc<'_> {
    /// When the current phase was entered (the start of orchestration, or now, when unknown).
    pub(super) fn phase_started(&self) -> jiff::Timestamp {
        let s = self.rr.status.as_ref();
        s.and_then(|s| s.phase_started_at.as_ref().or(s.start_time.as_ref()))
            .map_or(self.now, |t| t.0)
    }

    fn global_deadline(&self) -> Option<jiff::Timestamp> {
        let start = self.rr.status.as_ref()?.start_time.as_ref()?.0;
        Some(after(start, self.config().global_timeout))
    }

    /// The nearer of the global deadline and the current phase's (the phases that wait on a
    /// child or on approval have one): when a reconcile must come back at the latest.
    pub(super) fn next_deadline(&self) -> Option<jiff::Timestamp> {
        let phase = self.rr.phase();
        let phase_deadline = matches!(
            phase,
            RemediationPhase::Processing
                | RemediationPhase::Analyzing
                | RemediationPhase::AwaitingApproval
                | RemediationPhase::Executing
        )
        .then(|| self.phase_deadline(phase));
        [self.global_deadline(), phase_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Still waiting in `phase`: time out if the global deadline or `phase_deadline` passed,
    /// else come back when the nearer one is due (children's changes arrive by watch).
    pub(super) async fn wait(
        &self,
        phase: RemediationPhase,
        phase_deadline: Option<jiff::Timestamp>,
    ) -> Result<Action, Error> {
        if let Some(global) = self.global_deadline()
            && self.now >= global
        {
            let reason = format!(
                "the global timeout ({:?}) passed in phase {phase}",
                self.config().global_timeout
            );
            return self.time_out(phase, GLOBAL_TIMEOUT_PHASE, &reason).await;
        }
        if let Some(deadline) = phase_deadline
            && self.now >= deadline
        {
            let reason = format!(
                "the {phase} timeout ({:?}) passed",
                self.phase_timeout(phase)
            );
            return self.time_out(phase, phase.name(), &reason).await;
        }
        let next = [self.global_deadline(), phase_deadline]
            .into_iter()
            .flatten()
            .min();
        Ok(match next {
            Some(at) => Action::requeue(until(self.now, at)),
            None => Action::await_change(),
        })
    }

    fn phase_timeout(&self, phase: RemediationPhase) -> Duration {
        let c = self.config();
        match phase {
            RemediationPhase::Processing => c.processing_timeout,
            RemediationPhase::Analyzing => c.analyzing_timeout,
            RemediationPhase::AwaitingApproval => c.awaiting_approval_timeout,
            RemediationPhase::Executing => c.executing_timeout,
            _ => c.global_timeout,
        }
    }

    /// The deadline a new child of `phase` gets (`spec.timesOutAt`).
    pub(super) fn child_deadline(&self, phase: RemediationPhase) -> Time {
        Time(after(self.now, self.phase_timeout(phase)))
    }

    /// When RO times `phase` out itself: the phase timeout, plus the grace for the child's
    /// own timeout report when a child runs the phase.
    pub(super) fn phase_deadline(&self, phase: RemediationPhase) -> jiff::Timestamp {
        let grace = match phase {
            RemediationPhase::AwaitingApproval => Duration::ZERO,
            _ => self.config().child_timeout_grace,
        };
        after(
            after(self.phase_started(), self.phase_timeout(phase)),
            grace,
        )
    }

    pub(super) fn phase_deadline_without_grace(&self, phase: RemediationPhase) -> jiff::Timestamp {
        after(self.phase_started(), self.phase_timeout(phase))
    }

    /// The approval deadline counted from now (the phase was just entered).
    pub(super) fn config_deadline_after_transition(&self) -> jiff::Timestamp {
        after(self.now, self.config().awaiting_approval_timeout)
    }
}
