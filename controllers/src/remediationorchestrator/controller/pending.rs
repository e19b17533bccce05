//! Owns the Pending and Blocked phases: the routing blocks (a duplicate of an active request, a
//! target that keeps failing) and, when nothing blocks, the first child (SignalProcessing).

use audit::EventOutcome;
use kube::ResourceExt as _;
use kube::api::ListParams;
use kube::runtime::controller::Action;

use crate::api::remediationrequest::RoutingStatus;
use crate::api::{RemediationPhase, RemediationRequest, Time};
use crate::remediationorchestrator::children;
use crate::remediationorchestrator::routing::{self, Block};

use super::{Ensured, Error, Rc, until};

impl Rc<'_> {
    /// Pending: blocked by a duplicate or the target's failures, else create the
    /// SignalProcessing and move to Processing.
    pub(super) async fn pending(&self) -> Result<Action, Error> {
        let others = self
            .api
            .list(&ListParams::default())
            .await
            .map_err(|source| Error::List {
                namespace: self.namespace.clone(),
                source,
            })?
            .items;
        let c = self.config();
        if let Some(block) = routing::check(
            &self.rr,
            &others,
            c.consecutive_failure_threshold,
            c.blocking_cooldown,
            self.now,
        ) {
            return self.block(&block, &others).await;
        }
        let sp = children::signal_processing(
            &self.rr,
            self.child_deadline(RemediationPhase::Processing),
        );
        let sp = match self.ensure(sp).await? {
            Ensured::Ours(sp) => sp,
            Ensured::Foreign(sp) => {
                let reason = self.foreign(&sp);
                return self
                    .fail(
                        RemediationPhase::Pending,
                        RemediationPhase::Failed,
                        RemediationPhase::Pending,
                        &reason,
                    )
                    .await;
            }
        };
        let first_start = self
            .rr
            .status
            .as_ref()
            .is_none_or(|s| s.start_time.is_none());
        let sp_ref = children::child_ref(&sp);
        let written = self
            .transition(
                RemediationPhase::Pending,
                RemediationPhase::Processing,
                &format!("SignalProcessing {} created", sp.name_any()),
                &|s| {
                    s.signal_processing_ref = Some(sp_ref.clone());
                },
            )
            .await?;
        if written && first_start {
            self.record("lifecycle.started", "started", EventOutcome::Pending, |e| {
                e.with_data("signal_processing", sp.name_any())
            });
        }
        Ok(Action::requeue(c.phase_requeue))
    }

    /// Pending → Blocked for `block`.
    async fn block(&self, block: &Block, others: &[RemediationRequest]) -> Result<Action, Error> {
        let others_refs: Vec<&RemediationRequest> = others
            .iter()
            .filter(|o| o.name_any() != self.name)
            .collect();
        let (failures, _) = routing::consecutive_failures(&self.rr, &others_refs);
        let (routing_status, message, requeue) = match block {
            Block::DuplicateInProgress { of } => (
                RoutingStatus {
                    block_reason: Some(block.reason()),
                    blocked_until: None,
                    duplicate_of: Some(of.clone()),
                    consecutive_failure_count: i32::try_from(failures).unwrap_or(i32::MAX),
                },
                format!("blocked: RemediationRequest {of} for the same signal is in progress"),
                // The duplicate watch wakes us when `of` changes.
                Action::await_change(),
            ),
            Block::ConsecutiveFailures { count, until: end } => (
                RoutingStatus {
                    block_reason: Some(block.reason()),
                    blocked_until: Some(Time(*end)),
                    duplicate_of: None,
                    consecutive_failure_count: i32::try_from(*count).unwrap_or(i32::MAX),
                },
                format!(
                    "blocked: the last {count} remediations of {} failed; cooling down until {end}",
                    self.rr.spec.target_resource.to_path()
                ),
                Action::requeue(until(self.now, *end)),
            ),
        };
        let written = self
            .transition(
                RemediationPhase::Pending,
                RemediationPhase::Blocked,
                &message,
                &|s| s.routing_status = Some(routing_status.clone()),
            )
            .await?;
        if written {
            let reason = block.reason().name();
            self.ctx.metrics.blocked(reason);
            self.record("routing.blocked", "blocked", EventOutcome::Pending, |e| {
                let e = e.with_data("block_reason", reason);
                match block {
                    Block::DuplicateInProgress { of } => e.with_data("duplicate_of", of.clone()),
                    Block::ConsecutiveFailures { count, .. } => {
                        e.with_data("consecutive_failure_count", *count)
                    }
                }
            });
        }
        Ok(requeue)
    }

    /// Blocked: back to Pending once the original finished or the cooldown ended.
    pub(super) async fn blocked(&self) -> Result<Action, Error> {
        let routing_status = self.status().routing_status.unwrap_or_default();
        let wait = match &routing_status.duplicate_of {
            Some(of) => {
                let original: Option<RemediationRequest> =
                    self.api.get_opt(of).await.map_err(|source| Error::Read {
                        name: of.clone(),
                        source,
                    })?;
                routing::duplicate_still_running(original.as_ref()).then(Action::await_change)
            }
            None => routing_status
                .blocked_until
                .as_ref()
                .filter(|end| self.now < end.0)
                .map(|end| Action::requeue(until(self.now, end.0))),
        };
        if let Some(action) = wait {
            return Ok(action);
        }
        let count = routing_status.consecutive_failure_count;
        self.transition(
            RemediationPhase::Blocked,
            RemediationPhase::Pending,
            "unblocked: checking blockers again",
            &|s| {
                s.routing_status = Some(RoutingStatus {
                    consecutive_failure_count: count,
                    ..RoutingStatus::default()
                });
            },
        )
        .await?;
        Ok(Action::requeue(self.config().phase_requeue))
    }
}
