//! Evaluates the Rego approval policy (with `regorus`): from the selected workflow and the
//! signal's context to Approved, ManualReviewRequired or Denied, with the rules that matched.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::api::aianalysis::ApprovalDecision;

/// The policy shipped with the controller.
pub const DEFAULT_POLICY: &str = include_str!("../../policies/aianalysis/approval.rego");
/// Name the default policy is known by (in status and errors).
pub const DEFAULT_POLICY_NAME: &str = "policies/aianalysis/approval.rego";
/// The rule holding the decision.
pub const DECISION_RULE: &str = "data.aianalysis.approval.decision";
/// The rule holding the reasons.
pub const MATCHED_RULES_RULE: &str = "data.aianalysis.approval.matched_rules";

/// Why a policy could not be loaded or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("failed to read the approval policy {path}; check the path and its permissions")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The policy does not parse or compile.
    #[error("the approval policy {name} is not valid Rego: {message}; fix the policy")]
    Invalid {
        /// The policy's name (file path).
        name: String,
        /// regorus's message.
        message: String,
    },
    /// The policy compiled but does not define the decision rule.
    #[error(
        "the approval policy {name} does not define {DECISION_RULE}: declare `package aianalysis.approval` and a `decision` rule"
    )]
    NoDecision {
        /// The policy's name.
        name: String,
    },
    /// Evaluation failed or produced something other than a known decision.
    #[error("the approval policy {name} failed on this input: {message}")]
    Evaluation {
        /// The policy's name.
        name: String,
        /// What went wrong.
        message: String,
    },
}

/// What the policy looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyInput {
    /// Environment (`Production`, ...).
    pub environment: String,
    /// Confidence of the selected workflow, 0 to 1.
    pub confidence: f64,
    /// The workflow's action type.
    pub action_type: String,
    /// The workflow's id.
    pub workflow_id: String,
    /// Signal severity.
    pub severity: String,
    /// Business priority (`P0`..`P3`).
    pub business_priority: String,
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// The decision.
    pub decision: ApprovalDecision,
    /// The rules that matched (sorted).
    pub matched_rules: Vec<String>,
}

/// A compiled approval policy. Cheap to clone; each evaluation runs on its own engine copy.
#[derive(Debug, Clone)]
pub struct ApprovalPolicy {
    name: String,
    engine: regorus::Engine,
}

impl ApprovalPolicy {
    /// The policy shipped with the controller.
    pub fn default_policy() -> ApprovalPolicy {
        ApprovalPolicy::from_source(DEFAULT_POLICY_NAME, DEFAULT_POLICY)
            .expect("the shipped approval policy compiles (unit-tested)")
    }

    /// Loads and checks the policy in `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ApprovalPolicy, PolicyError> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_owned(),
            source,
        })?;
        ApprovalPolicy::from_source(&path.display().to_string(), &source)
    }

    /// Compiles `source`, known as `name`, and checks that it defines the decision rule.
    pub fn from_source(name: &str, source: &str) -> Result<ApprovalPolicy, PolicyError> {
        let invalid = |e: anyhow::Error| PolicyError::Invalid {
            name: name.to_owned(),
            message: format!("{e:#}"),
        };
        let mut engine = regorus::Engine::new();
        engine
            .add_policy(name.to_owned(), source.to_owned())
            .map_err(invalid)?;
        let policy = ApprovalPolicy {
            name: name.to_owned(),
            engine,
        };
        // A trial evaluation finds rules that only fail at evaluation (e.g. a missing rule or
        // a type error on every input), so a bad policy fails at start-up, not on the first
        // analysis.
        let probe = PolicyInput {
            environment: "Production".to_owned(),
            confidence: 1.0,
            action_type: "Probe".to_owned(),
            workflow_id: "probe".to_owned(),
            severity: "critical".to_owned(),
            business_priority: "P3".to_owned(),
        };
        match policy.evaluate(&probe) {
            Ok(_) => Ok(policy),
            // regorus says "not a valid rule path" when the package or rule does not exist.
            Err(PolicyError::Evaluation { message, .. })
                if message.contains("undefined") || message.contains("not a valid rule path") =>
            {
                Err(PolicyError::NoDecision {
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The policy's name (its file path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Evaluates the policy on `input`.
    pub fn evaluate(&self, input: &PolicyInput) -> Result<PolicyOutcome, PolicyError> {
        let failed = |message: String| PolicyError::Evaluation {
            name: self.name.clone(),
            message,
        };
        let mut engine = self.engine.clone();
        let json = serde_json::to_string(input).map_err(|e| failed(e.to_string()))?;
        engine
            .set_input_json(&json)
            .map_err(|e| failed(format!("{e:#}")))?;
        let decision = engine
            .eval_rule(DECISION_RULE.to_owned())
            .map_err(|e| failed(format!("{e:#}")))?;
        let decision = match decision.as_string().map(|s| s.to_string()) {
            Ok(s) => match s.as_str() {
                "Approved" => ApprovalDecision::Approved,
                "ManualReviewRequired" => ApprovalDecision::ManualReviewRequired,
                "Denied" => ApprovalDecision::Denied,
                other => {
                    return Err(failed(format!(
                        "decision {other:?} is not Approved, ManualReviewRequired or Denied"
                    )));
                }
            },
            Err(_) if decision == regorus::Value::Undefined => {
                return Err(failed(format!("{DECISION_RULE} is undefined")));
            }
            Err(_) => return Err(failed(format!("decision {decision} is not a string"))),
        };
        let matched = engine
            .eval_rule(MATCHED_RULES_RULE.to_owned())
            .unwrap_or(regorus::Value::Undefined);
        let matched_rules = match matched.as_array() {
            Ok(items) => items
                .iter()
                .filter_map(|v| v.as_string().ok().map(|s| s.to_string()))
                .collect(),
            Err(_) => Vec::new(),
        };
        Ok(PolicyOutcome {
            decision,
            matched_rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApprovalDecision::*;

    fn input(environment: &str, confidence: f64, action: &str, priority: &str) -> PolicyInput {
        PolicyInput {
            environment: environment.to_owned(),
            confidence,
            action_type: action.to_owned(),
            workflow_id: "restart-deployment-v1".to_owned(),
            severity: "critical".to_owned(),
            business_priority: priority.to_owned(),
        }
    }

    /// environment, confidence, action type, priority → decision, matched rules.
    type Case<'a> = (
        &'a str,
        f64,
        &'a str,
        &'a str,
        ApprovalDecision,
        &'a [&'a str],
    );

    #[test]
    fn the_default_policy_decides_by_environment_confidence_and_action() {
        let policy = ApprovalPolicy::default_policy();
        let table: &[Case] = &[
            ("Production", 0.9, "RestartDeployment", "P1", Approved, &[]),
            (
                "Production",
                0.6,
                "RestartDeployment",
                "P1",
                ManualReviewRequired,
                &["ProductionLowConfidence"],
            ),
            // The boundary: 0.8 itself is confident enough.
            ("Production", 0.8, "RestartDeployment", "P2", Approved, &[]),
            ("Staging", 0.6, "RestartDeployment", "P1", Approved, &[]),
            ("Development", 0.5, "RestartDeployment", "P3", Approved, &[]),
            (
                "Staging",
                0.3,
                "RestartDeployment",
                "P1",
                Denied,
                &["ConfidenceTooLow"],
            ),
            (
                "Production",
                0.3,
                "RestartDeployment",
                "P1",
                Denied,
                &["ConfidenceTooLow", "ProductionLowConfidence"],
            ),
            (
                "Test",
                0.95,
                "DeleteNamespace",
                "P3",
                Denied,
                &["DestructiveAction"],
            ),
            (
                "Production",
                0.95,
                "RestartDeployment",
                "P0",
                ManualReviewRequired,
                &["ProductionCriticalP0"],
            ),
            ("Unknown", 0.9, "RestartDeployment", "P0", Approved, &[]),
        ];
        for (env, confidence, action, priority, decision, rules) in table {
            let outcome = policy
                .evaluate(&input(env, *confidence, action, priority))
                .unwrap();
            assert_eq!(
                outcome,
                PolicyOutcome {
                    decision: *decision,
                    matched_rules: rules.iter().map(|r| r.to_string()).collect()
                },
                "{env} {confidence} {action} {priority}"
            );
        }
    }

    #[test]
    fn a_bad_policy_is_an_error_naming_the_file() {
        let err = ApprovalPolicy::from_source("my/policy.rego", "package x\nthis is not rego")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the approval policy my/policy.rego is not valid Rego"),
            "{err}"
        );

        let err =
            ApprovalPolicy::from_source("other.rego", "package other\nimport rego.v1\nx := 1")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("other.rego does not define data.aianalysis.approval.decision"),
            "{err}"
        );

        let err = ApprovalPolicy::from_file("/nonexistent/approval.rego")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("failed to read the approval policy /nonexistent/approval.rego"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_decision_is_an_evaluation_error() {
        let source = "package aianalysis.approval\nimport rego.v1\ndecision := \"Maybe\"";
        let err = ApprovalPolicy::from_source("maybe.rego", source)
            .unwrap_err()
            .to_string();
        assert!(err.contains("decision \"Maybe\" is not Approved"), "{err}");
    }

    #[test]
    fn a_policy_file_loads() {
        let dir = std::env::temp_dir().join(format!("aia-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("strict.rego");
        std::fs::write(
            &path,
            "package aianalysis.approval\nimport rego.v1\ndecision := \"ManualReviewRequired\"\nmatched_rules := [\"Always\"]",
        )
        .unwrap();
        let policy = ApprovalPolicy::from_file(&path).unwrap();
        assert_eq!(policy.name(), path.display().to_string());
        let outcome = policy
            .evaluate(&input("Development", 1.0, "RestartDeployment", "P3"))
            .unwrap();
        assert_eq!(outcome.decision, ManualReviewRequired);
        assert_eq!(outcome.matched_rules, ["Always"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
