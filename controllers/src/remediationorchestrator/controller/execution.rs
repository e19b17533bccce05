//! Owns the Executing and Verifying phases: creating and following the WorkflowExecution, and
//! completing the request once its outcome is verified.

use audit::EventOutcome;
use kube::ResourceExt as _;
use kube::runtime::controller::Action;

use crate::api::remediationrequest::CompletionStatus;
use crate::api::workflowexecution::FailureReason;
use crate::api::{AIAnalysis, RemediationPhase, WorkflowExecution, WorkflowExecutionPhase};
use crate::remediationorchestrator::children::{self, WE_PREFIX};

use super::{Ensured, Error, OUTCOME_REMEDIATED, OUTCOME_TARGET_BUSY, Rc, after, until};

impl Rc<'_> {
    /// `from` → Executing: create the WorkflowExecution for `workflow`.
    pub(super) async fn execute(
        &self,
        from: RemediationPhase,
        aia: &AIAnalysis,
        workflow: &crate::api::aianalysis::SelectedWorkflow,
        why: &str,
    ) -> Result<Action, Error> {
        let we = children::workflow_execution(
            &self.rr,
            workflow,
            self.config(),
            self.child_deadline(RemediationPhase::Executing),
        );
        let we = match self.ensure(we).await? {
            Ensured::Ours(we) => we,
            Ensured::Foreign(we) => {
                let reason = self.foreign(&we);
                return self
                    .fail(from, RemediationPhase::Failed, from, &reason)
                    .await;
            }
        };
        let we_ref = children::child_ref(&we);
        self.transition(
            from,
            RemediationPhase::Executing,
            &format!(
                "WorkflowExecution {} created for workflow {} ({why}; analysis {})",
                we.name_any(),
                workflow.workflow_id,
                aia.name_any()
            ),
            &|s| s.workflow_execution_ref = Some(we_ref.clone()),
        )
        .await?;
        Ok(Action::requeue(self.config().phase_requeue))
    }

    /// Executing: follow the WorkflowExecution.
    pub(super) async fn executing(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::Executing;
        let status = self.status();
        let name = self.child_name(status.workflow_execution_ref.as_ref(), WE_PREFIX);
        let Some(we) = self.child::<WorkflowExecution>(&name).await? else {
            let reason = format!(
                "WorkflowExecution {}/{name} disappeared during the execution",
                self.namespace
            );
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        };
        if !children::is_controlled_by(&we, &self.rr) {
            let reason = self.foreign(&we);
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        }
        let we_status = we.status.clone().unwrap_or_default();
        match we.phase() {
            WorkflowExecutionPhase::Completed => {
                self.transition(
                    phase,
                    RemediationPhase::Verifying,
                    &format!("WorkflowExecution {name} completed; verifying"),
                    &|_| {},
                )
                .await?;
                Ok(Action::requeue(self.config().phase_requeue))
            }
            WorkflowExecutionPhase::Failed => {
                let details = we_status.failure_details;
                if let Some(d) = details
                    .as_ref()
                    .filter(|d| d.reason == FailureReason::Deduplicated)
                {
                    // Another execution holds the target: this one is skipped, not failed.
                    let message = format!("skipped: {}", d.message);
                    let outcome = format!("{OUTCOME_TARGET_BUSY}: {}", d.message);
                    let written = self
                        .transition(phase, RemediationPhase::Skipped, &message, &|s| {
                            s.completion_status = Some(CompletionStatus {
                                outcome: Some(outcome.clone()),
                                ..CompletionStatus::default()
                            });
                        })
                        .await?;
                    if written {
                        self.record(
                            "lifecycle.completed",
                            "skipped",
                            EventOutcome::Success,
                            |e| e.with_data("outcome", OUTCOME_TARGET_BUSY),
                        );
                    }
                    return Ok(Action::await_change());
                }
                let detail = details.map_or_else(
                    || {
                        we_status
                            .message
                            .clone()
                            .unwrap_or_else(|| "no reason given".to_owned())
                    },
                    |d| format!("{}: {}", d.reason.name(), d.message),
                );
                let reason = format!("WorkflowExecution {name} failed: {detail}");
                self.fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await
            }
            _ => self.wait(phase, Some(self.phase_deadline(phase))).await,
        }
    }

    /// Verifying: completed once the verification period has passed.
    pub(super) async fn verifying(&self) -> Result<Action, Error> {
        let done = after(self.phase_started(), self.config().verification_period);
        if self.now < done {
            return Ok(Action::requeue(until(self.now, done)));
        }
        self.complete(RemediationPhase::Verifying, OUTCOME_REMEDIATED)
            .await
    }
}
