//! Maps a request's `signal_name` to the behaviour the mock plays for it (the table in the
//! crate docs), and builds the deterministic answers of each scenario.

use serde_json::{Value, json};

/// Workflow every scenario that selects one recommends.
pub const WORKFLOW_ID: &str = "restart-deployment-v1";
/// Its action type.
pub const ACTION_TYPE: &str = "RestartDeployment";
/// Action type of [`Scenario::DestructiveAction`], which an approval policy should deny.
pub const DESTRUCTIVE_ACTION_TYPE: &str = "DeleteNamespace";
/// Confidence of the default scenario.
pub const DEFAULT_CONFIDENCE: f64 = 0.9;
/// Confidence of [`Scenario::LowConfidence`].
pub const LOW_CONFIDENCE: f64 = 0.6;
/// Confidence of [`Scenario::VeryLowConfidence`].
pub const VERY_LOW_CONFIDENCE: f64 = 0.3;
/// Status polls answered `investigating` before a session completes: one, so a controller
/// sees the in-progress state once before the result.
pub const POLLS_BEFORE_COMPLETION: u32 = 1;
/// The largest N of `mock-transient-N` and `mock-poll-transient-N`: more than any sane retry
/// budget, small enough that a typo does not make a scenario that never recovers.
pub const MAX_TRANSIENT: u32 = 20;

/// What the mock does for one remediation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Completes after [`POLLS_BEFORE_COMPLETION`] polls with a workflow of confidence 0.9.
    Default,
    /// Like default, confidence 0.6.
    LowConfidence,
    /// Like default, confidence 0.3.
    VeryLowConfidence,
    /// Like default, recommending a destructive action (`DeleteNamespace`).
    DestructiveAction,
    /// Completes with `selected_workflow: null`: no workflow needed.
    NoWorkflow,
    /// `POST analyze` answers 500 this many times for the remediation, then behaves as default.
    Transient(u32),
    /// `POST analyze` always answers 500.
    AlwaysFail,
    /// `POST analyze` answers 400 (a request HolmesGPT-API refuses; not retryable).
    Rejected,
    /// Sessions stay `investigating` forever.
    NeverFinishes,
    /// Sessions stay `investigating` until the test releases the remediation
    /// (`POST /mock/release?remediation_id=X`), then complete as default.
    Held,
    /// The first session of the remediation is lost: its first poll answers 404. Later
    /// sessions behave as default.
    SessionLost,
    /// Status polls answer 503 this many times for the remediation, then behave as default.
    PollTransient(u32),
    /// The session ends `failed` with an error.
    SessionFailed,
    /// The session completes but its result does not have the documented shape.
    MalformedResult,
}

impl Scenario {
    /// The scenario for `signal_name` (anything not in the table is [`Scenario::Default`]).
    pub fn from_signal_name(signal_name: &str) -> Scenario {
        let count = |prefix: &str| {
            signal_name
                .strip_prefix(prefix)
                .and_then(|n| n.parse::<u32>().ok())
                .map(|n| n.min(MAX_TRANSIENT))
        };
        if let Some(n) = count("mock-transient-") {
            return Scenario::Transient(n);
        }
        if let Some(n) = count("mock-poll-transient-") {
            return Scenario::PollTransient(n);
        }
        match signal_name {
            "mock-low-confidence" => Scenario::LowConfidence,
            "mock-very-low-confidence" => Scenario::VeryLowConfidence,
            "mock-destructive-action" => Scenario::DestructiveAction,
            "mock-no-workflow" => Scenario::NoWorkflow,
            "mock-always-500" => Scenario::AlwaysFail,
            "mock-rejected" => Scenario::Rejected,
            "mock-never-finishes" => Scenario::NeverFinishes,
            "mock-held" => Scenario::Held,
            "mock-session-lost" => Scenario::SessionLost,
            "mock-session-failed" => Scenario::SessionFailed,
            "mock-malformed-result" => Scenario::MalformedResult,
            _ => Scenario::Default,
        }
    }

    /// The result body of a completed session of this scenario.
    pub fn result(self, request: &AnalyzeRequest) -> Value {
        let workflow = |action_type: &str, confidence: f64| {
            let t = &request.target_resource;
            json!({
                "workflow_id": WORKFLOW_ID,
                "action_type": action_type,
                "confidence": confidence,
                "parameters": {
                    "TARGET_KIND": t.kind,
                    "TARGET_NAME": t.name,
                    "TARGET_NAMESPACE": t.namespace.clone().unwrap_or_default(),
                },
            })
        };
        let root_cause = format!(
            "{} on {}/{}: the container exceeds its memory limit (mock analysis)",
            request.signal_name, request.target_resource.kind, request.target_resource.name
        );
        let selected = match self {
            Scenario::NoWorkflow => Value::Null,
            Scenario::LowConfidence => workflow(ACTION_TYPE, LOW_CONFIDENCE),
            Scenario::VeryLowConfidence => workflow(ACTION_TYPE, VERY_LOW_CONFIDENCE),
            Scenario::DestructiveAction => workflow(DESTRUCTIVE_ACTION_TYPE, DEFAULT_CONFIDENCE),
            Scenario::MalformedResult => {
                // Wrong types where the protocol has a string and an object.
                return json!({"root_cause": 42, "selected_workflow": "restart it"});
            }
            _ => workflow(ACTION_TYPE, DEFAULT_CONFIDENCE),
        };
        let root_cause = if self == Scenario::NoWorkflow {
            format!(
                "{} on {}/{} resolved itself; no remediation is needed (mock analysis)",
                request.signal_name, request.target_resource.kind, request.target_resource.name
            )
        } else {
            root_cause
        };
        json!({
            "root_cause": root_cause,
            "selected_workflow": selected,
        })
    }
}

/// The resource an incident is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetResource {
    /// Kind (e.g. `Deployment`).
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace, absent for cluster-scoped targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A validated `POST /api/v1/incident/analyze` body.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeRequest {
    /// The remediation (unique per test: every piece of state is keyed by it).
    pub remediation_id: String,
    /// Chooses the scenario.
    pub signal_name: String,
    /// Severity.
    pub severity: String,
    /// Environment.
    pub environment: String,
    /// Fingerprint.
    pub fingerprint: String,
    /// Business priority.
    pub business_priority: String,
    /// Target.
    pub target_resource: TargetResource,
}

/// The string fields every analyze request must carry, non-empty.
const REQUIRED_STRINGS: [&str; 6] = [
    "remediation_id",
    "signal_name",
    "severity",
    "environment",
    "fingerprint",
    "business_priority",
];

impl AnalyzeRequest {
    /// Validates a request body; the error lists every problem, one per field.
    pub fn parse(body: &[u8]) -> Result<AnalyzeRequest, Vec<String>> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| vec![format!("the body is not JSON: {e}")])?;
        let Some(obj) = value.as_object() else {
            return Err(vec!["the body must be a JSON object".to_owned()]);
        };
        let mut problems = Vec::new();
        let mut string = |name: &str| -> String {
            match obj.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                Some(Value::String(_)) => {
                    problems.push(format!("{name} must not be empty"));
                    String::new()
                }
                Some(_) => {
                    problems.push(format!("{name} must be a string"));
                    String::new()
                }
                None => {
                    problems.push(format!("{name} is required"));
                    String::new()
                }
            }
        };
        let [
            remediation_id,
            signal_name,
            severity,
            environment,
            fingerprint,
            business_priority,
        ] = REQUIRED_STRINGS.map(&mut string);
        let target_resource = match obj.get("target_resource") {
            None => {
                problems.push("target_resource is required".to_owned());
                None
            }
            Some(t) => match serde_json::from_value::<TargetResource>(t.clone()) {
                Ok(t) if !t.kind.is_empty() && !t.name.is_empty() => Some(t),
                Ok(_) => {
                    problems.push("target_resource.kind and .name must not be empty".to_owned());
                    None
                }
                Err(e) => {
                    problems.push(format!(
                        "target_resource must be an object with string kind and name: {e}"
                    ));
                    None
                }
            },
        };
        if let Some(e) = obj.get("enrichment_results")
            && !(e.is_object() || e.is_null())
        {
            problems.push("enrichment_results must be an object when present".to_owned());
        }
        match target_resource {
            Some(target_resource) if problems.is_empty() => Ok(AnalyzeRequest {
                remediation_id,
                signal_name,
                severity,
                environment,
                fingerprint,
                business_priority,
                target_resource,
            }),
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_choose_scenarios() {
        let table = [
            ("HighMemoryUsage", Scenario::Default),
            ("mock-low-confidence", Scenario::LowConfidence),
            ("mock-very-low-confidence", Scenario::VeryLowConfidence),
            ("mock-destructive-action", Scenario::DestructiveAction),
            ("mock-no-workflow", Scenario::NoWorkflow),
            ("mock-transient-2", Scenario::Transient(2)),
            ("mock-transient-999", Scenario::Transient(MAX_TRANSIENT)),
            ("mock-transient-x", Scenario::Default),
            ("mock-poll-transient-3", Scenario::PollTransient(3)),
            ("mock-always-500", Scenario::AlwaysFail),
            ("mock-rejected", Scenario::Rejected),
            ("mock-never-finishes", Scenario::NeverFinishes),
            ("mock-held", Scenario::Held),
            ("mock-session-lost", Scenario::SessionLost),
            ("mock-session-failed", Scenario::SessionFailed),
            ("mock-malformed-result", Scenario::MalformedResult),
        ];
        for (name, scenario) in table {
            assert_eq!(Scenario::from_signal_name(name), scenario, "{name}");
        }
    }

    #[test]
    fn a_request_lists_every_problem() {
        let problems =
            AnalyzeRequest::parse(br#"{"remediation_id": "", "severity": 3}"#).unwrap_err();
        assert_eq!(
            problems,
            [
                "remediation_id must not be empty",
                "signal_name is required",
                "severity must be a string",
                "environment is required",
                "fingerprint is required",
                "business_priority is required",
                "target_resource is required",
            ]
        );
        assert_eq!(
            AnalyzeRequest::parse(b"[1]").unwrap_err(),
            ["the body must be a JSON object"]
        );
        assert!(AnalyzeRequest::parse(b"{").unwrap_err()[0].starts_with("the body is not JSON"));
    }
}
