//! Builds the children of a RemediationRequest (SignalProcessing, AIAnalysis,
//! WorkflowExecution, NotificationRequest) from it: their deterministic names, their specs, and
//! the controller ownerReference that ties them to the request (so garbage collection deletes
//! them with it and their changes wake it).

use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt as _};
use sha2::{Digest as _, Sha256};

use super::config::Config;
use crate::api::aianalysis::{AnalysisRequest, EnrichmentResults, SelectedWorkflow, SignalContext};
use crate::api::notificationrequest::{NotificationPriority, NotificationType, RetryPolicy};
use crate::api::signalprocessing::SignalData;
use crate::api::workflowexecution::{ExecutionEngine, WorkflowRef};
use crate::api::{
    AIAnalysis, AIAnalysisSpec, Environment, NotificationRequest, NotificationRequestSpec,
    ObjectReference, Priority, RemediationRequest, SignalProcessing, SignalProcessingSpec, Time,
    WorkflowExecution, WorkflowExecutionSpec, remediation_request_ref,
};

/// Longest object name the API server accepts (a DNS subdomain).
const MAX_NAME_LEN: usize = 253;
/// Hex characters of the hash that keeps a shortened child name unique: 64 bits.
const NAME_HASH_HEX_CHARS: usize = 16;

/// Prefix of the SignalProcessing child's name.
pub const SP_PREFIX: &str = "sp-";
/// Prefix of the AIAnalysis child's name.
pub const AI_PREFIX: &str = "ai-";
/// Prefix of the WorkflowExecution child's name.
pub const WE_PREFIX: &str = "we-";

/// `<prefix><rr>`, shortened with a hash of the request's name when it would exceed the API
/// server's name limit (so a maximal RR name still gets distinct, valid child names).
pub fn child_name(prefix: &str, rr_name: &str) -> String {
    let name = format!("{prefix}{rr_name}");
    if name.len() <= MAX_NAME_LEN {
        return name;
    }
    let hash = &hex::encode(Sha256::digest(rr_name.as_bytes()))[..NAME_HASH_HEX_CHARS];
    let keep = MAX_NAME_LEN - prefix.len() - 1 - NAME_HASH_HEX_CHARS;
    // Names are ASCII (DNS subdomains), so any byte index is a char boundary; trim a trailing
    // '-' or '.' the cut may leave before the separator.
    let head = rr_name[..keep.min(rr_name.len())].trim_end_matches(['-', '.']);
    format!("{prefix}{head}-{hash}")
}

/// The notifications a request sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// The remediation failed or timed out: a human must look.
    Escalation,
    /// The remediation completed.
    Completion,
    /// The selected workflow waits for a human's approval.
    Approval,
}

impl NotificationKind {
    /// Name prefix of the NotificationRequest.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Escalation => "nr-escalation-",
            Self::Completion => "nr-completion-",
            Self::Approval => "nr-approval-",
        }
    }

    /// The NotificationRequest type (routing matches on it).
    pub fn notification_type(self) -> NotificationType {
        match self {
            Self::Escalation => NotificationType::Escalation,
            Self::Completion => NotificationType::Completion,
            Self::Approval => NotificationType::Approval,
        }
    }

    fn priority(self, severity: &str) -> NotificationPriority {
        match self {
            Self::Escalation if severity.eq_ignore_ascii_case("critical") => {
                NotificationPriority::Critical
            }
            Self::Escalation | Self::Approval => NotificationPriority::High,
            Self::Completion => NotificationPriority::Low,
        }
    }
}

/// The reference children carry to their parent (name, namespace and uid).
pub fn parent_ref(rr: &RemediationRequest) -> ObjectReference {
    let mut r = remediation_request_ref(&rr.name_any(), &rr.namespace().unwrap_or_default());
    r.uid = rr.uid();
    r
}

/// A reference to a child for the request's status.
pub fn child_ref<K: Resource<DynamicType = ()>>(child: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: Some(child.name_any()),
        namespace: child.namespace(),
        uid: child.uid(),
        ..ObjectReference::default()
    }
}

/// Whether `child` has a controller ownerReference to `rr` (by uid).
pub fn is_controlled_by<K: Resource>(child: &K, rr: &RemediationRequest) -> bool {
    let Some(uid) = rr.uid() else {
        return false;
    };
    child
        .owner_references()
        .iter()
        .any(|o| o.controller == Some(true) && o.uid == uid)
}

/// Describes who controls `child`, for the message of a name conflict.
pub fn controller_of<K: Resource>(child: &K) -> String {
    child
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true))
        .map_or_else(
            || "no controller".to_owned(),
            |o| format!("{} {} (uid {})", o.kind, o.name, o.uid),
        )
}

/// Metadata of a child named `name`: the request's namespace and a controller ownerReference
/// to it (block owner deletion, as controllers set it).
fn meta(rr: &RemediationRequest, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: rr.namespace(),
        owner_references: rr.controller_owner_ref(&()).map(|mut o| {
            o.block_owner_deletion = Some(true);
            vec![o]
        }),
        ..ObjectMeta::default()
    }
}

/// The SignalProcessing `sp-<rr>`: the request's signal, due by `times_out_at`.
pub fn signal_processing(rr: &RemediationRequest, times_out_at: Time) -> SignalProcessing {
    let s = &rr.spec;
    SignalProcessing {
        metadata: meta(rr, child_name(SP_PREFIX, &rr.name_any())),
        spec: SignalProcessingSpec {
            remediation_request_ref: parent_ref(rr),
            signal: SignalData {
                fingerprint: s.signal_fingerprint.clone(),
                name: s.signal_name.clone(),
                severity: s.severity.clone(),
                type_: s.signal_type.clone(),
                source: s.signal_source.clone(),
                target_type: s.target_type,
                target_resource: s.target_resource.clone(),
                labels: s.signal_labels.clone(),
                annotations: s.signal_annotations.clone(),
            },
            times_out_at: Some(times_out_at),
        },
        status: None,
    }
}

/// The AIAnalysis `ai-<rr>`: the request's signal with what SignalProcessing found
/// (environment, priority, Kubernetes context), due by `times_out_at`.
pub fn ai_analysis(
    rr: &RemediationRequest,
    sp: &SignalProcessing,
    times_out_at: Time,
) -> AIAnalysis {
    let status = sp.status.clone().unwrap_or_default();
    let environment = status
        .environment_classification
        .map_or(Environment::Unknown, |c| c.environment);
    // P3 (lowest) when SignalProcessing assigned none: never escalate on a missing value.
    let business_priority = status
        .priority_assignment
        .map_or(Priority::P3, |p| p.priority);
    let enrichment_results =
        status
            .kubernetes_context
            .map(|kubernetes_context| EnrichmentResults {
                kubernetes_context: Some(kubernetes_context),
                custom_labels: Default::default(),
            });
    AIAnalysis {
        metadata: meta(rr, child_name(AI_PREFIX, &rr.name_any())),
        spec: AIAnalysisSpec {
            remediation_request_ref: parent_ref(rr),
            remediation_id: rr.name_any(),
            analysis_request: AnalysisRequest {
                signal_context: SignalContext {
                    fingerprint: rr.spec.signal_fingerprint.clone(),
                    severity: rr.spec.severity.clone(),
                    signal_name: rr.spec.signal_name.clone(),
                    environment,
                    business_priority,
                    target_resource: rr.spec.target_resource.clone(),
                    enrichment_results,
                },
            },
            times_out_at: Some(times_out_at),
        },
        status: None,
    }
}

/// The WorkflowExecution `we-<rr>` running `workflow` on the request's target, due by
/// `times_out_at`.
pub fn workflow_execution(
    rr: &RemediationRequest,
    workflow: &SelectedWorkflow,
    config: &Config,
    times_out_at: Time,
) -> WorkflowExecution {
    WorkflowExecution {
        metadata: meta(rr, child_name(WE_PREFIX, &rr.name_any())),
        spec: WorkflowExecutionSpec {
            remediation_request_ref: parent_ref(rr),
            workflow_ref: WorkflowRef {
                workflow_id: workflow.workflow_id.clone(),
                workflow_name: Some(workflow.workflow_id.clone()),
                action_type: workflow.action_type.clone(),
                version: config.workflow_version.clone(),
                execution_bundle: format!(
                    "{}/{}:{}",
                    config.workflow_bundle_prefix.trim_end_matches('/'),
                    workflow.workflow_id,
                    config.workflow_version
                ),
                execution_engine: ExecutionEngine::Job,
            },
            target_resource: rr.spec.target_resource.to_path(),
            parameters: workflow.parameters.clone(),
            confidence: Some(workflow.confidence.clamp(0.0, 1.0)),
            times_out_at: Some(times_out_at),
        },
        status: None,
    }
}

/// The NotificationRequest `nr-<kind>-<rr>` with `subject` and `body`.
pub fn notification(
    rr: &RemediationRequest,
    kind: NotificationKind,
    subject: String,
    body: String,
) -> NotificationRequest {
    NotificationRequest {
        metadata: meta(rr, child_name(kind.prefix(), &rr.name_any())),
        spec: NotificationRequestSpec {
            remediation_request_ref: Some(parent_ref(rr)),
            type_: kind.notification_type(),
            priority: kind.priority(&rr.spec.severity),
            subject,
            body,
            severity: Some(rr.spec.severity.clone()),
            retry_policy: RetryPolicy::default(),
        },
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::signalprocessing::{EnvironmentClassification, PriorityAssignment};
    use crate::api::{KubernetesContext, SignalProcessingStatus};

    fn rr() -> RemediationRequest {
        let mut rr = RemediationRequest::test("web").with_namespace("team");
        rr.metadata.uid = Some("uid-1".to_owned());
        rr
    }

    fn at() -> Time {
        Time(jiff::Timestamp::from_second(1_800_000_000).unwrap())
    }

    #[test]
    fn children_are_named_after_the_request_and_controlled_by_it() {
        let rr = rr();
        let sp = signal_processing(&rr, at());
        assert_eq!(sp.name_any(), "sp-web");
        assert_eq!(sp.namespace().as_deref(), Some("team"));
        assert!(is_controlled_by(&sp, &rr));
        let owner = &sp.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("RemediationRequest", "web")
        );
        assert_eq!(owner.block_owner_deletion, Some(true));
        assert_eq!(
            sp.spec.remediation_request_ref.uid.as_deref(),
            Some("uid-1")
        );
        assert_eq!(sp.spec.times_out_at, Some(at()));
        assert_eq!(sp.spec.signal.fingerprint, rr.spec.signal_fingerprint);

        let mut other = rr.clone();
        other.metadata.uid = Some("uid-2".to_owned());
        assert!(!is_controlled_by(&sp, &other));
        assert!(controller_of(&sp).contains("uid-1"));
        assert_eq!(controller_of(&SignalProcessing::test("x")), "no controller");
    }

    #[test]
    fn analysis_carries_the_classification_or_safe_defaults() {
        let rr = rr();
        let bare = ai_analysis(&rr, &SignalProcessing::test("x"), at());
        let ctx = &bare.spec.analysis_request.signal_context;
        assert_eq!(bare.name_any(), "ai-web");
        assert_eq!(bare.spec.remediation_id, "web");
        assert_eq!(
            (ctx.environment, ctx.business_priority),
            (Environment::Unknown, Priority::P3)
        );
        assert!(ctx.enrichment_results.is_none());

        let mut sp = SignalProcessing::test("x");
        sp.status = Some(SignalProcessingStatus {
            environment_classification: Some(EnvironmentClassification {
                environment: Environment::Production,
                source: "namespace-labels".to_owned(),
            }),
            priority_assignment: Some(PriorityAssignment {
                priority: Priority::P0,
                source: "rego-policy".to_owned(),
                policy_name: None,
            }),
            kubernetes_context: Some(KubernetesContext {
                namespace: Some("team".to_owned()),
                ..KubernetesContext::default()
            }),
            ..SignalProcessingStatus::default()
        });
        let aia = ai_analysis(&rr, &sp, at());
        let ctx = &aia.spec.analysis_request.signal_context;
        assert_eq!(
            (ctx.environment, ctx.business_priority),
            (Environment::Production, Priority::P0)
        );
        assert_eq!(ctx.signal_name, rr.spec.signal_name);
        assert_eq!(
            ctx.enrichment_results
                .as_ref()
                .unwrap()
                .kubernetes_context
                .as_ref()
                .unwrap()
                .namespace
                .as_deref(),
            Some("team")
        );
    }

    #[test]
    fn execution_runs_the_selected_workflow_on_the_target() {
        let rr = rr();
        let workflow = SelectedWorkflow {
            workflow_id: "restart-pod-v1".to_owned(),
            action_type: "RestartPod".to_owned(),
            confidence: 0.91,
            parameters: BTreeMap::from([("REPLICAS".to_owned(), "2".to_owned())]),
        };
        let we = workflow_execution(&rr, &workflow, &Config::default(), at());
        assert_eq!(we.name_any(), "we-web");
        assert_eq!(we.spec.target_resource, "team/Deployment/web");
        assert_eq!(
            we.spec.workflow_ref.execution_bundle,
            "quay.io/kubernaut/workflows/restart-pod-v1:latest"
        );
        assert_eq!(we.spec.parameters["REPLICAS"], "2");
        assert_eq!(we.spec.confidence, Some(0.91));
        assert!(is_controlled_by(&we, &rr));
    }

    #[test]
    fn notifications_are_typed_and_prioritised_by_kind() {
        let rr = rr();
        let nr = notification(&rr, NotificationKind::Escalation, "s".into(), "b".into());
        assert_eq!(nr.name_any(), "nr-escalation-web");
        assert_eq!(nr.spec.type_, NotificationType::Escalation);
        assert_eq!(nr.spec.priority, NotificationPriority::Critical);
        let mut warning = rr.clone();
        warning.spec.severity = "warning".to_owned();
        let nr = notification(
            &warning,
            NotificationKind::Escalation,
            "s".into(),
            "b".into(),
        );
        assert_eq!(nr.spec.priority, NotificationPriority::High);
        let nr = notification(&rr, NotificationKind::Completion, "s".into(), "b".into());
        assert_eq!(
            (nr.name_any().as_str(), nr.spec.priority),
            ("nr-completion-web", NotificationPriority::Low)
        );
        let nr = notification(&rr, NotificationKind::Approval, "s".into(), "b".into());
        assert_eq!(nr.spec.type_, NotificationType::Approval);
    }

    #[test]
    fn long_request_names_give_valid_distinct_child_names() {
        let a = "a".repeat(253);
        let b = format!("{}b", "a".repeat(252));
        let (na, nb) = (
            child_name("nr-escalation-", &a),
            child_name("nr-escalation-", &b),
        );
        assert!(na.len() <= MAX_NAME_LEN && nb.len() <= MAX_NAME_LEN);
        assert_ne!(na, nb);
        assert!(na.starts_with("nr-escalation-aaa"));
        let dashed = format!("{}-{}", "a".repeat(232), "b".repeat(20));
        let n = child_name("sp-", &dashed);
        assert!(!n.contains("--"), "{n}");
        assert_eq!(child_name("sp-", "short"), "sp-short");
    }
}
