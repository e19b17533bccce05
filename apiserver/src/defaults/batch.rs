//! Defaults of the batch group (`pkg/apis/batch/v1/defaults.go`). The Job rules belong to the Job
//! itself, not to `JobSpec`: kube registers them for `Job`, so a CronJob's job template keeps its
//! spec as written (its pod template is still defaulted).

use serde_json::Value;

use super::rules::{Lit, Obj, Rule, TypeRules, is_nil, set_nil};

/// Retries of a failed Job's pods before the Job fails.
const BACKOFF_LIMIT: i64 = 6;
/// Finished Jobs a CronJob keeps.
const SUCCESSFUL_JOBS_HISTORY_LIMIT: i64 = 3;
const FAILED_JOBS_HISTORY_LIMIT: i64 = 1;

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::batch::v1::Job",
        rules: &[Rule::Fn {
            sets: &[
                ("api::batch::v1::JobSpec", "completions"),
                ("api::batch::v1::JobSpec", "parallelism"),
                ("api::batch::v1::JobSpec", "backoffLimit"),
                ("api::batch::v1::JobSpec", "completionMode"),
                ("api::batch::v1::JobSpec", "suspend"),
                ("api::batch::v1::JobSpec", "podReplacementPolicy"),
            ],
            apply: job,
        }],
    },
    TypeRules {
        ty: "api::batch::v1::PodFailurePolicyOnPodConditionsPattern",
        rules: &[Rule::SetNonZero("status", Lit::Str("True"))],
    },
    TypeRules {
        ty: "api::batch::v1::CronJobSpec",
        rules: &[
            Rule::SetNonZero("concurrencyPolicy", Lit::Str("Allow")),
            Rule::Set("suspend", Lit::Bool(false)),
            Rule::Set(
                "successfulJobsHistoryLimit",
                Lit::Int(SUCCESSFUL_JOBS_HISTORY_LIMIT),
            ),
            Rule::Set(
                "failedJobsHistoryLimit",
                Lit::Int(FAILED_JOBS_HISTORY_LIMIT),
            ),
        ],
    },
];

/// `SetDefaults_Job`.
fn job(obj: &mut Obj) {
    let template_labels = obj
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = template_labels {
        let meta = super::rules::child(obj, "metadata");
        if let Some(meta) = meta
            && meta
                .get("labels")
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty())
        {
            meta.insert("labels".into(), labels);
        }
    }
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if is_nil(spec.get("completions")) && is_nil(spec.get("parallelism")) {
        spec.insert("completions".into(), 1.into());
        spec.insert("parallelism".into(), 1.into());
    }
    set_nil(spec, "parallelism", 1.into());
    if is_nil(spec.get("backoffLimit")) {
        // With a per-index limit the global one is effectively off (math.MaxInt32).
        let limit = if is_nil(spec.get("backoffLimitPerIndex")) {
            BACKOFF_LIMIT
        } else {
            i64::from(i32::MAX)
        };
        spec.insert("backoffLimit".into(), limit.into());
    }
    set_nil(spec, "completionMode", "NonIndexed".into());
    set_nil(spec, "suspend", false.into());
    // Feature JobPodReplacementPolicy, GA since 1.34.
    if is_nil(spec.get("podReplacementPolicy")) {
        let policy = if is_nil(spec.get("podFailurePolicy")) {
            "TerminatingOrFailed"
        } else {
            "Failed"
        };
        spec.insert("podReplacementPolicy".into(), policy.into());
    }
}
