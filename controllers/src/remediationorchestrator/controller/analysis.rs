//! Owns the Processing, Analyzing and AwaitingApproval phases: following the SignalProcessing and
//! the AIAnalysis, and the approval decision before execution.

use audit::EventOutcome;
use kube::ResourceExt as _;
use kube::runtime::controller::Action;

use crate::api::{
    AIAnalysis, AIAnalysisPhase, RemediationPhase, SignalProcessing, SignalProcessingPhase, Time,
};
use crate::remediationorchestrator::children::{self, AI_PREFIX, NotificationKind, SP_PREFIX};
use crate::remediationorchestrator::config::{
    APPROVAL_ANNOTATION, APPROVED, APPROVED_BY_ANNOTATION, REJECTED,
};

use super::{Ensured, Error, OUTCOME_NO_ACTION, Rc, push_ref, until};

impl Rc<'_> {
    /// Processing: follow the SignalProcessing; when it completes, create the AIAnalysis.
    pub(super) async fn processing(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::Processing;
        let status = self.status();
        let name = self.child_name(status.signal_processing_ref.as_ref(), SP_PREFIX);
        let sp = match self.child::<SignalProcessing>(&name).await? {
            Some(sp) => sp,
            // Deleted by someone: recreate it with the phase's remaining time.
            None => {
                let mut desired = children::signal_processing(
                    &self.rr,
                    Time(self.phase_deadline_without_grace(phase)),
                );
                desired.metadata.name = Some(name.clone());
                match self.ensure(desired).await? {
                    Ensured::Ours(sp) => sp,
                    Ensured::Foreign(sp) => {
                        let reason = self.foreign(&sp);
                        return self
                            .fail(phase, RemediationPhase::Failed, phase, &reason)
                            .await;
                    }
                }
            }
        };
        if !children::is_controlled_by(&sp, &self.rr) {
            let reason = self.foreign(&sp);
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        }
        match sp.phase() {
            SignalProcessingPhase::Completed => {
                let aia = children::ai_analysis(
                    &self.rr,
                    &sp,
                    self.child_deadline(RemediationPhase::Analyzing),
                );
                let aia = match self.ensure(aia).await? {
                    Ensured::Ours(aia) => aia,
                    Ensured::Foreign(aia) => {
                        let reason = self.foreign(&aia);
                        return self
                            .fail(phase, RemediationPhase::Failed, phase, &reason)
                            .await;
                    }
                };
                let aia_ref = children::child_ref(&aia);
                self.transition(
                    phase,
                    RemediationPhase::Analyzing,
                    &format!("AIAnalysis {} created", aia.name_any()),
                    &|s| s.ai_analysis_ref = Some(aia_ref.clone()),
                )
                .await?;
                Ok(Action::requeue(self.config().phase_requeue))
            }
            SignalProcessingPhase::Failed => {
                let detail = sp
                    .status
                    .as_ref()
                    .and_then(|s| {
                        s.message
                            .clone()
                            .or_else(|| s.failure_info.as_ref().map(|f| f.error.clone()))
                    })
                    .unwrap_or_else(|| "no reason given".to_owned());
                let reason = format!("SignalProcessing {name} failed: {detail}");
                self.fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await
            }
            _ => self.wait(phase, Some(self.phase_deadline(phase))).await,
        }
    }

    /// Analyzing: follow the AIAnalysis; when it completes, finish (no workflow needed), ask
    /// for approval, or create the WorkflowExecution.
    pub(super) async fn analyzing(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::Analyzing;
        let status = self.status();
        let name = self.child_name(status.ai_analysis_ref.as_ref(), AI_PREFIX);
        let Some(aia) = self.child::<AIAnalysis>(&name).await? else {
            let reason = format!(
                "AIAnalysis {}/{name} disappeared during the analysis",
                self.namespace
            );
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        };
        if !children::is_controlled_by(&aia, &self.rr) {
            let reason = self.foreign(&aia);
            return self
                .fail(phase, RemediationPhase::Failed, phase, &reason)
                .await;
        }
        let aia_status = aia.status.clone().unwrap_or_default();
        match aia.phase() {
            AIAnalysisPhase::Completed => {
                let Some(rca) = aia_status.rca_result.as_ref() else {
                    let reason =
                        format!("AIAnalysis {name} completed without a root cause analysis");
                    return self
                        .fail(phase, RemediationPhase::Failed, phase, &reason)
                        .await;
                };
                let Some(workflow) = rca.selected_workflow.as_ref() else {
                    return self.complete(phase, OUTCOME_NO_ACTION).await;
                };
                let approval = aia_status.approval.clone().unwrap_or_default();
                if approval.approval_required {
                    return self
                        .request_approval(&aia, workflow, approval.approval_reason.as_deref())
                        .await;
                }
                self.execute(
                    phase,
                    &aia,
                    workflow,
                    "selected workflow approved by policy",
                )
                .await
            }
            AIAnalysisPhase::Failed => {
                let detail = aia_status
                    .message
                    .clone()
                    .or(aia_status.reason.clone())
                    .unwrap_or_else(|| "no reason given".to_owned());
                let reason = format!("AIAnalysis {name} failed: {detail}");
                self.fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await
            }
            _ => self.wait(phase, Some(self.phase_deadline(phase))).await,
        }
    }

    /// Analyzing → AwaitingApproval, after sending the approval notification.
    async fn request_approval(
        &self,
        aia: &AIAnalysis,
        workflow: &crate::api::aianalysis::SelectedWorkflow,
        why: Option<&str>,
    ) -> Result<Action, Error> {
        let why = why.unwrap_or("the approval policy requires a human decision");
        let notification = self
            .notify(
                NotificationKind::Approval,
                format!("Approval required for remediation {}", self.name),
                format!(
                    "{}\nWorkflow {} ({}), confidence {:.2}: {why}\nAnnotate the RemediationRequest with {APPROVAL_ANNOTATION}={APPROVED} or {APPROVAL_ANNOTATION}={REJECTED}.",
                    self.signal_summary(),
                    workflow.workflow_id,
                    workflow.action_type,
                    workflow.confidence
                ),
            )
            .await?;
        let written = self
            .transition(
                RemediationPhase::Analyzing,
                RemediationPhase::AwaitingApproval,
                &format!(
                    "awaiting approval of workflow {}: {why}",
                    workflow.workflow_id
                ),
                &|s| push_ref(&mut s.notification_request_refs, notification.as_ref()),
            )
            .await?;
        if written {
            self.record(
                "approval.requested",
                "requested",
                EventOutcome::Pending,
                |e| {
                    e.with_data("workflow_id", workflow.workflow_id.clone())
                        .with_data("confidence", workflow.confidence)
                        .with_data("approval_reason", why)
                        .with_data("ai_analysis", aia.name_any())
                },
            );
        }
        // Approval arrives as an annotation (a watch event); the timeout needs a timer.
        Ok(Action::requeue(until(
            self.now,
            self.config_deadline_after_transition(),
        )))
    }

    /// AwaitingApproval: act on the approval annotation, or time out.
    pub(super) async fn awaiting_approval(&self) -> Result<Action, Error> {
        let phase = RemediationPhase::AwaitingApproval;
        let annotations = self.rr.annotations();
        let by = annotations
            .get(APPROVED_BY_ANNOTATION)
            .cloned()
            .unwrap_or_else(|| "an unnamed approver".to_owned());
        match annotations.get(APPROVAL_ANNOTATION).map(|v| v.trim()) {
            Some(APPROVED) => {
                let status = self.status();
                let name = self.child_name(status.ai_analysis_ref.as_ref(), AI_PREFIX);
                let workflow = self
                    .child::<AIAnalysis>(&name)
                    .await?
                    .filter(|aia| children::is_controlled_by(aia, &self.rr))
                    .and_then(|aia| {
                        let w = aia
                            .status
                            .as_ref()?
                            .rca_result
                            .as_ref()?
                            .selected_workflow
                            .clone()?;
                        Some((aia, w))
                    });
                let Some((aia, workflow)) = workflow else {
                    let reason = format!(
                        "approved by {by}, but AIAnalysis {}/{name} with the selected workflow is gone",
                        self.namespace
                    );
                    return self
                        .fail(phase, RemediationPhase::Failed, phase, &reason)
                        .await;
                };
                let action = self
                    .execute(phase, &aia, &workflow, &format!("approved by {by}"))
                    .await?;
                if self.status_now_is(RemediationPhase::Executing).await {
                    self.record("approval.decided", "approved", EventOutcome::Success, |e| {
                        e.with_data("decision", APPROVED)
                            .with_data("decided_by", by.clone())
                            .with_data("workflow_id", workflow.workflow_id.clone())
                    });
                }
                Ok(action)
            }
            Some(REJECTED) => {
                let reason = format!("the selected workflow was rejected by {by}");
                let action = self
                    .fail(phase, RemediationPhase::Failed, phase, &reason)
                    .await?;
                if self.status_now_is(RemediationPhase::Failed).await {
                    self.record("approval.decided", "rejected", EventOutcome::Failure, |e| {
                        e.with_data("decision", REJECTED)
                            .with_data("decided_by", by.clone())
                    });
                }
                Ok(action)
            }
            other => {
                if let Some(value) = other {
                    tracing::warn!(rr = %self.name, value, "ignoring approval annotation {APPROVAL_ANNOTATION}: use {APPROVED} or {REJECTED}");
                }
                self.wait(phase, Some(self.phase_deadline(phase))).await
            }
        }
    }
}
