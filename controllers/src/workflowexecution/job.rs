//! Builds the execution Job of a WorkflowExecution and reads its outcome: the deterministic
//! lock name, the labels that link the Job back across namespaces, and the mapping of Job (and
//! Pod) status to phase and failure details.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, PodSpec, PodTemplateSpec};
use kube::ResourceExt as _;
use kube::api::ObjectMeta;
use sha2::{Digest as _, Sha256};

use crate::api::WorkflowExecution;
use crate::api::workflowexecution::{FailureDetails, FailureReason};

/// Label on the Job: name of the WorkflowExecution that created it.
pub const LABEL_WFE_NAME: &str = "kubernaut.ai/workflow-execution";
/// Label on the Job: namespace of the WorkflowExecution that created it (the Job lives in the
/// execution namespace, so an ownerReference cannot link them).
pub const LABEL_WFE_NAMESPACE: &str = "kubernaut.ai/workflow-execution-namespace";
/// Annotation on the Job: the target resource it locks.
pub const ANNOTATION_TARGET: &str = "kubernaut.ai/target-resource";
/// Label the Job controller puts on a Job's pods.
pub const POD_JOB_NAME_LABEL: &str = "job-name";
/// Hex characters of the target hash in the Job name: 16 (64 bits) makes collisions between
/// distinct targets negligible while keeping the name short.
const LOCK_HASH_HEX_CHARS: usize = 16;
/// Job condition type for success.
const JOB_COMPLETE: &str = "Complete";
/// Job condition type for failure.
const JOB_FAILED: &str = "Failed";
/// Container name in the execution pod.
const CONTAINER_NAME: &str = "workflow";
/// Container termination reason for an out-of-memory kill.
const OOM_KILLED: &str = "OOMKilled";

/// The Job name that locks `target`: `wfe-<first 16 hex of sha256(target)>`. Two executions on
/// the same target compute the same name, so the API server's AlreadyExists is the lock.
pub fn lock_name(target: &str) -> String {
    let digest = hex::encode(Sha256::digest(target.as_bytes()));
    format!("wfe-{}", &digest[..LOCK_HASH_HEX_CHARS])
}

/// The execution Job for `wfe` in `namespace`.
pub fn build(wfe: &WorkflowExecution, namespace: &str, service_account: Option<&str>) -> Job {
    let labels = BTreeMap::from([
        (LABEL_WFE_NAME.to_owned(), wfe.name_any()),
        (
            LABEL_WFE_NAMESPACE.to_owned(),
            wfe.namespace().unwrap_or_default(),
        ),
    ]);
    let env = wfe
        .spec
        .parameters
        .iter()
        .map(|(name, value)| EnvVar {
            name: name.clone(),
            value: Some(value.clone()),
            ..EnvVar::default()
        })
        .chain(std::iter::once(EnvVar {
            name: "TARGET_RESOURCE".to_owned(),
            value: Some(wfe.spec.target_resource.clone()),
            ..EnvVar::default()
        }))
        .collect();
    Job {
        metadata: ObjectMeta {
            name: Some(lock_name(&wfe.spec.target_resource)),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels.clone()),
            annotations: Some(BTreeMap::from([(
                ANNOTATION_TARGET.to_owned(),
                wfe.spec.target_resource.clone(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            // A failed remediation is not retried blindly: the orchestrator decides.
            backoff_limit: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_owned()),
                    service_account_name: service_account.map(str::to_owned),
                    containers: vec![Container {
                        name: CONTAINER_NAME.to_owned(),
                        image: Some(wfe.spec.workflow_ref.execution_bundle.clone()),
                        env: Some(env),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// Whether `job` was created by the WorkflowExecution `namespace/name`.
pub fn is_owned_by(job: &Job, namespace: &str, name: &str) -> bool {
    let labels = job.labels();
    labels.get(LABEL_WFE_NAME).map(String::as_str) == Some(name)
        && labels.get(LABEL_WFE_NAMESPACE).map(String::as_str) == Some(namespace)
}

/// The WorkflowExecution (`namespace`, `name`) a Job's labels point to.
pub fn owner_of(job: &Job) -> Option<(String, String)> {
    let labels = job.labels();
    Some((
        labels.get(LABEL_WFE_NAMESPACE)?.clone(),
        labels.get(LABEL_WFE_NAME)?.clone(),
    ))
}

/// What a Job's status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Still running (or not started).
    Running,
    /// Finished successfully.
    Succeeded,
    /// Failed, with the Job condition's reason and message.
    Failed {
        /// Job condition reason (e.g. `BackoffLimitExceeded`, `DeadlineExceeded`).
        reason: String,
        /// Job condition message.
        message: String,
    },
}

/// Reads a Job's terminal conditions.
pub fn outcome(job: &Job) -> JobOutcome {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let is_true = |t: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == t && c.status == "True")
    };
    if is_true(JOB_COMPLETE).is_some() {
        return JobOutcome::Succeeded;
    }
    if let Some(c) = is_true(JOB_FAILED) {
        return JobOutcome::Failed {
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
        };
    }
    JobOutcome::Running
}

/// Failure details for a failed Job: `DeadlineExceeded` from the Job condition; `OOMKilled`
/// and the exit code from the first terminated, failed container of its pods; otherwise
/// `TaskFailed`.
pub fn failure_details(job_reason: &str, job_message: &str, pods: &[Pod]) -> FailureDetails {
    let terminated = pods
        .iter()
        .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .filter_map(|cs| cs.state.as_ref()?.terminated.as_ref())
        .find(|t| t.exit_code != 0 || t.reason.as_deref() == Some(OOM_KILLED));
    let exit_code = terminated.map(|t| t.exit_code);
    let reason = if job_reason == "DeadlineExceeded" {
        FailureReason::DeadlineExceeded
    } else if terminated.and_then(|t| t.reason.as_deref()) == Some(OOM_KILLED) {
        FailureReason::OOMKilled
    } else {
        FailureReason::TaskFailed
    };
    let message = match (
        job_message.is_empty(),
        terminated.and_then(|t| t.message.as_deref()),
    ) {
        (_, Some(pod_message)) if !pod_message.is_empty() => pod_message.to_owned(),
        (false, _) => job_message.to_owned(),
        (true, _) => format!(
            "job failed ({})",
            if job_reason.is_empty() {
                "no reason given"
            } else {
                job_reason
            }
        ),
    };
    FailureDetails {
        reason,
        message,
        exit_code,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStatus, PodStatus,
    };

    use super::*;

    fn job_with(type_: &str, reason: &str, message: &str) -> Job {
        Job {
            status: Some(JobStatus {
                conditions: Some(vec![JobCondition {
                    type_: type_.to_owned(),
                    status: "True".to_owned(),
                    reason: Some(reason.to_owned()),
                    message: Some(message.to_owned()),
                    ..JobCondition::default()
                }]),
                ..JobStatus::default()
            }),
            ..Job::default()
        }
    }

    fn pod_terminated(reason: &str, exit_code: i32) -> Pod {
        Pod {
            status: Some(PodStatus {
                container_statuses: Some(vec![ContainerStatus {
                    name: "workflow".into(),
                    state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            reason: Some(reason.into()),
                            exit_code,
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn lock_name_is_deterministic_and_short() {
        let a = lock_name("default/Deployment/web");
        assert_eq!(a, lock_name("default/Deployment/web"));
        assert_ne!(a, lock_name("default/Deployment/api"));
        assert_eq!(a.len(), 4 + LOCK_HASH_HEX_CHARS);
        // sha256("default/Deployment/web") starts with these 16 hex characters.
        let full = hex::encode(Sha256::digest(b"default/Deployment/web"));
        assert_eq!(&a[4..], &full[..16]);
    }

    #[test]
    fn job_carries_labels_env_and_image() {
        let wfe = WorkflowExecution::test("w")
            .with_namespace("ns")
            .with_parameter("REPLICAS", "3");
        let job = build(&wfe, "kubernaut-workflows", Some("runner"));
        assert_eq!(
            job.metadata.namespace.as_deref(),
            Some("kubernaut-workflows")
        );
        assert!(is_owned_by(&job, "ns", "w"));
        assert!(!is_owned_by(&job, "other", "w"));
        assert_eq!(owner_of(&job), Some(("ns".into(), "w".into())));
        let pod = job.spec.unwrap().template.spec.unwrap();
        assert_eq!(pod.service_account_name.as_deref(), Some("runner"));
        let env = pod.containers[0].env.clone().unwrap();
        assert!(
            env.iter()
                .any(|e| e.name == "REPLICAS" && e.value.as_deref() == Some("3"))
        );
        assert!(env.iter().any(|e| e.name == "TARGET_RESOURCE"));
        assert_eq!(
            pod.containers[0].image.as_deref(),
            Some("quay.io/kubernaut/workflows/restart-pod:1.0.0")
        );
    }

    #[test]
    fn outcome_reads_conditions() {
        assert_eq!(outcome(&Job::default()), JobOutcome::Running);
        assert_eq!(
            outcome(&job_with("Complete", "", "")),
            JobOutcome::Succeeded
        );
        assert_eq!(
            outcome(&job_with("Failed", "DeadlineExceeded", "too slow")),
            JobOutcome::Failed {
                reason: "DeadlineExceeded".into(),
                message: "too slow".into()
            }
        );
        assert_eq!(outcome(&job_with("Suspended", "", "")), JobOutcome::Running);
    }

    #[test]
    fn failure_mapping() {
        let d = failure_details(
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
            &[],
        );
        assert_eq!(
            (d.reason, d.exit_code),
            (FailureReason::DeadlineExceeded, None)
        );
        let d = failure_details(
            "BackoffLimitExceeded",
            "backoff",
            &[pod_terminated("OOMKilled", 137)],
        );
        assert_eq!(
            (d.reason, d.exit_code),
            (FailureReason::OOMKilled, Some(137))
        );
        let d = failure_details("BackoffLimitExceeded", "", &[pod_terminated("Error", 2)]);
        assert_eq!(
            (d.reason, d.exit_code),
            (FailureReason::TaskFailed, Some(2))
        );
        assert_eq!(d.message, "job failed (BackoffLimitExceeded)");
        let d = failure_details("", "", &[]);
        assert_eq!(d.reason, FailureReason::TaskFailed);
        assert_eq!(d.message, "job failed (no reason given)");
    }
}
