//! Loads and evaluates the SignalProcessing Rego policies (environment classification, priority
//! assignment, business categorization) with the regorus engine, and turns their answers into
//! the status types, rejecting answers that are not one of the allowed values.
//!
//! The policies are files (`environment.rego`, `priority.rego`, `business.rego`) so operators
//! change them without a rebuild; the ones shipped in `controllers/policies/signalprocessing/`
//! are also compiled in ([`Policies::builtin`]) so tests and the default configuration need no
//! path. A policy that does not load is an error at configuration time naming the file; a
//! policy that fails at evaluation time is an [`EvalError`] the controller answers with a
//! documented fallback (see `controller.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::signalprocessing::{BusinessClassification, PriorityAssignment};
use crate::api::{Environment, Priority};

/// Which of the three policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// `environment.rego`: environment classification.
    Environment,
    /// `priority.rego`: priority assignment.
    Priority,
    /// `business.rego`: business categorization.
    Business,
}

impl PolicyKind {
    /// Every policy, in evaluation order.
    pub const ALL: [PolicyKind; 3] = [Self::Environment, Self::Priority, Self::Business];

    /// The policy's file name in a policy directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Environment => "environment.rego",
            Self::Priority => "priority.rego",
            Self::Business => "business.rego",
        }
    }

    /// The rule the controller evaluates.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Environment => "data.signalprocessing.environment.result",
            Self::Priority => "data.signalprocessing.priority.result",
            Self::Business => "data.signalprocessing.business.result",
        }
    }

    fn builtin_source(self) -> &'static str {
        match self {
            Self::Environment => {
                include_str!("../../policies/signalprocessing/environment.rego")
            }
            Self::Priority => include_str!("../../policies/signalprocessing/priority.rego"),
            Self::Business => include_str!("../../policies/signalprocessing/business.rego"),
        }
    }

    /// An input the policy must answer at load time (proves the rule exists and evaluates).
    fn probe_input(self) -> Value {
        let namespace = json!({"name": "default", "labels": {}});
        let signal = json!({"name": "probe", "severity": "warning", "type": "probe",
                            "source": "", "labels": {}, "annotations": {}});
        match self {
            Self::Environment => {
                json!({"namespace": namespace, "signal": signal, "target": {"kind": "Pod", "name": "probe"}})
            }
            Self::Priority => {
                json!({"environment": "Unknown", "signal": signal, "namespace": namespace})
            }
            Self::Business => json!({"namespace": namespace, "workload": null, "signal": signal,
                                      "environment": "Unknown", "priority": "P3"}),
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Environment => "environment",
            Self::Priority => "priority",
            Self::Business => "business",
        })
    }
}

/// A policy that could not be loaded (a configuration error: fix the file named).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error(
        "failed to read the SignalProcessing {kind} policy {}: {source}; the policy directory must hold {}",
        path.display(), kind.file_name()
    )]
    Read {
        /// Which policy.
        kind: PolicyKind,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The Rego did not parse or does not answer the rule the controller evaluates.
    #[error(
        "failed to load the SignalProcessing {kind} policy {origin}: {message}; it must be valid Rego v1 defining {}",
        kind.rule()
    )]
    Invalid {
        /// Which policy.
        kind: PolicyKind,
        /// The file (or `built-in <file>`).
        origin: String,
        /// What regorus reported.
        message: String,
    },
}

/// A policy evaluation that gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The engine failed (a runtime error in the policy).
    #[error("the {kind} policy ({origin}) failed: {message}")]
    Runtime {
        /// Which policy.
        kind: PolicyKind,
        /// Where it was loaded from.
        origin: String,
        /// What regorus reported.
        message: String,
    },
    /// The rule was undefined for this input (the policy has no `default`).
    #[error("the {kind} policy ({origin}) left {} undefined for this input; give it a default rule", kind.rule())]
    Undefined {
        /// Which policy.
        kind: PolicyKind,
        /// Where it was loaded from.
        origin: String,
    },
    /// The answer had the wrong shape or a value outside the allowed set.
    #[error("the {kind} policy ({origin}) answered {answer}, which is not valid: {reason}")]
    Malformed {
        /// Which policy.
        kind: PolicyKind,
        /// Where it was loaded from.
        origin: String,
        /// The answer, as JSON.
        answer: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One compiled policy.
#[derive(Clone)]
struct Policy {
    kind: PolicyKind,
    origin: String,
    /// Evaluation needs `&mut Engine`; reconciles of different objects share the policy.
    engine: Arc<Mutex<regorus::Engine>>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("kind", &self.kind)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Policy {
    fn load(kind: PolicyKind, origin: String, source: String) -> Result<Self, PolicyError> {
        let invalid = |e: &dyn fmt::Display| PolicyError::Invalid {
            kind,
            origin: origin.clone(),
            message: e.to_string(),
        };
        let mut engine = regorus::Engine::new();
        engine
            .add_policy(origin.clone(), source)
            .map_err(|e| invalid(&format!("{e:#}")))?;
        let policy = Self {
            kind,
            origin: origin.clone(),
            engine: Arc::new(Mutex::new(engine)),
        };
        // A missing rule or a package typo must fail now, naming the file, not on the first
        // signal; an undefined answer to the probe is allowed (the controller handles it).
        match policy.eval(&kind.probe_input()) {
            Ok(_) | Err(EvalError::Undefined { .. }) | Err(EvalError::Malformed { .. }) => {
                Ok(policy)
            }
            Err(EvalError::Runtime { message, .. }) => Err(invalid(&message)),
        }
    }

    /// The rule's value for `input`, as JSON.
    fn eval(&self, input: &Value) -> Result<Value, EvalError> {
        let runtime = |message: String| EvalError::Runtime {
            kind: self.kind,
            origin: self.origin.clone(),
            message,
        };
        let input = regorus::Value::from_json_str(&input.to_string())
            .map_err(|e| runtime(format!("input not accepted: {e:#}")))?;
        let value = {
            let mut engine = self.engine.lock().unwrap_or_else(PoisonError::into_inner);
            engine.set_input(input);
            engine
                .eval_rule(self.kind.rule().to_owned())
                .map_err(|e| runtime(format!("{e:#}")))?
        };
        if value == regorus::Value::Undefined {
            return Err(EvalError::Undefined {
                kind: self.kind,
                origin: self.origin.clone(),
            });
        }
        serde_json::to_value(&value).map_err(|e| runtime(format!("answer not JSON: {e}")))
    }

    fn malformed(&self, answer: &Value, reason: impl Into<String>) -> EvalError {
        EvalError::Malformed {
            kind: self.kind,
            origin: self.origin.clone(),
            answer: answer.to_string(),
            reason: reason.into(),
        }
    }

    /// Evaluates and deserializes into `T`, then checks it with `check`.
    fn answer<T: for<'de> Deserialize<'de>>(&self, input: &Value) -> Result<T, EvalError> {
        let answer = self.eval(input)?;
        serde_json::from_value(answer.clone()).map_err(|e| self.malformed(&answer, e.to_string()))
    }
}

/// The three compiled policies. Cheap to clone (the engines are shared).
#[derive(Clone, Debug)]
pub struct Policies {
    environment: Policy,
    priority: Policy,
    business: Policy,
}

/// The facts the policies decide on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyInput {
    /// Name of the target's namespace (empty for a cluster-scoped target).
    pub namespace: String,
    /// Labels of the target's namespace (empty when it was not found).
    pub namespace_labels: BTreeMap<String, String>,
    /// Signal name.
    pub signal_name: String,
    /// Signal severity, as given.
    pub severity: String,
    /// Signal type.
    pub signal_type: String,
    /// Signal labels.
    pub signal_labels: BTreeMap<String, String>,
    /// Target kind and name.
    pub target_kind: String,
    /// Target name.
    pub target_name: String,
    /// The workload found, if any: kind, name, labels.
    pub workload: Option<(String, String, BTreeMap<String, String>)>,
}

impl PolicyInput {
    fn namespace_json(&self) -> Value {
        json!({"name": self.namespace, "labels": self.namespace_labels})
    }

    fn signal_json(&self) -> Value {
        json!({"name": self.signal_name, "severity": self.severity, "type": self.signal_type,
               "labels": self.signal_labels})
    }
}

#[derive(Deserialize)]
struct EnvironmentAnswer {
    environment: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriorityAnswer {
    priority: String,
    source: String,
    #[serde(default)]
    policy_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BusinessAnswer {
    #[serde(default)]
    business_unit: String,
    criticality: String,
    source: String,
}

/// Criticality values the business policy may answer.
pub const CRITICALITIES: [&str; 4] = ["critical", "high", "medium", "low"];

impl Policies {
    /// The policies shipped in `controllers/policies/signalprocessing/`, compiled in.
    ///
    /// # Panics
    /// Never in a released build: the shipped policies are checked by this module's tests.
    pub fn builtin() -> Self {
        let load = |kind: PolicyKind| {
            Policy::load(
                kind,
                format!("built-in {}", kind.file_name()),
                kind.builtin_source().to_owned(),
            )
            .unwrap_or_else(|e| panic!("the shipped SignalProcessing policies are broken: {e}"))
        };
        Self {
            environment: load(PolicyKind::Environment),
            priority: load(PolicyKind::Priority),
            business: load(PolicyKind::Business),
        }
    }

    /// Loads `environment.rego`, `priority.rego` and `business.rego` from `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, PolicyError> {
        let load = |kind: PolicyKind| {
            let path = dir.join(kind.file_name());
            let source = std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
                kind,
                path: path.clone(),
                source,
            })?;
            Policy::load(kind, path.display().to_string(), source)
        };
        Ok(Self {
            environment: load(PolicyKind::Environment)?,
            priority: load(PolicyKind::Priority)?,
            business: load(PolicyKind::Business)?,
        })
    }

    /// Where each policy was loaded from (for logs).
    pub fn origins(&self) -> [&str; 3] {
        [
            &self.environment.origin,
            &self.priority.origin,
            &self.business.origin,
        ]
    }

    /// The environment and the rule that decided it.
    pub fn environment(&self, input: &PolicyInput) -> Result<(Environment, String), EvalError> {
        let p = &self.environment;
        let doc = json!({"namespace": input.namespace_json(), "signal": input.signal_json(),
                         "target": {"kind": input.target_kind, "name": input.target_name}});
        let answer: EnvironmentAnswer = p.answer(&doc)?;
        let environment = Environment::VARIANTS
            .iter()
            .copied()
            .find(|e| e.name() == answer.environment)
            .ok_or_else(|| {
                p.malformed(
                    &json!({"environment": answer.environment, "source": answer.source}),
                    "environment must be one of Production, Staging, Development, Test, Unknown",
                )
            })?;
        Ok((environment, answer.source))
    }

    /// The priority for `environment`.
    pub fn priority(
        &self,
        input: &PolicyInput,
        environment: Environment,
    ) -> Result<PriorityAssignment, EvalError> {
        let p = &self.priority;
        let doc = json!({"environment": environment.name(), "signal": input.signal_json(),
                         "namespace": input.namespace_json()});
        let answer: PriorityAnswer = p.answer(&doc)?;
        let priority = Priority::VARIANTS
            .iter()
            .copied()
            .find(|x| x.name() == answer.priority)
            .ok_or_else(|| {
                p.malformed(
                    &json!({"priority": answer.priority, "source": answer.source}),
                    "priority must be one of P0, P1, P2, P3",
                )
            })?;
        Ok(PriorityAssignment {
            priority,
            source: answer.source,
            policy_name: answer.policy_name.filter(|n| !n.is_empty()),
        })
    }

    /// The business categorization, given the environment and priority already decided.
    pub fn business(
        &self,
        input: &PolicyInput,
        environment: Environment,
        priority: Priority,
    ) -> Result<BusinessClassification, EvalError> {
        let p = &self.business;
        let workload = input
            .workload
            .as_ref()
            .map(|(kind, name, labels)| json!({"kind": kind, "name": name, "labels": labels}));
        let doc = json!({"namespace": input.namespace_json(), "workload": workload,
                         "signal": input.signal_json(), "environment": environment.name(),
                         "priority": priority.name()});
        let answer: BusinessAnswer = p.answer(&doc)?;
        if !CRITICALITIES.contains(&answer.criticality.as_str()) {
            return Err(p.malformed(
                &json!({"criticality": answer.criticality, "source": answer.source}),
                "criticality must be one of critical, high, medium, low",
            ));
        }
        Ok(BusinessClassification {
            business_unit: Some(answer.business_unit).filter(|u| !u.is_empty()),
            criticality: answer.criticality,
            source: answer.source,
        })
    }
}

/// The priority used when the priority policy gives no usable answer: from the severity alone,
/// never P0 (only a policy may declare a business emergency).
pub fn severity_fallback(severity: &str) -> Priority {
    match severity.to_ascii_lowercase().as_str() {
        "critical" => Priority::P1,
        "warning" => Priority::P2,
        _ => Priority::P3,
    }
}

/// The criticality used when the business policy gives no usable answer.
pub fn criticality_of(priority: Priority) -> &'static str {
    match priority {
        Priority::P0 => "critical",
        Priority::P1 => "high",
        Priority::P2 => "medium",
        Priority::P3 => "low",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn input(ns: &str, ns_labels: &[(&str, &str)], severity: &str) -> PolicyInput {
        PolicyInput {
            namespace: ns.to_owned(),
            namespace_labels: labels(ns_labels),
            signal_name: "HighMemoryUsage".to_owned(),
            severity: severity.to_owned(),
            signal_type: "prometheus-alert".to_owned(),
            target_kind: "Deployment".to_owned(),
            target_name: "api".to_owned(),
            ..PolicyInput::default()
        }
    }

    const ENV: &str = "kubernaut.ai/environment";

    #[test]
    fn environment_table() {
        let p = Policies::builtin();
        let mut signal_labelled = input("apps", &[], "warning");
        signal_labelled.signal_labels = labels(&[("environment", "STAGING")]);
        let mut label_beats_signal = input("apps-dev", &[(ENV, "production")], "warning");
        label_beats_signal.signal_labels = labels(&[("environment", "staging")]);
        let cases = [
            (
                input("a", &[(ENV, "production")], "critical"),
                Environment::Production,
                "namespace-label",
            ),
            (
                input("a", &[(ENV, "Prod")], "critical"),
                Environment::Production,
                "namespace-label",
            ),
            (
                input("a", &[(ENV, "staging")], "critical"),
                Environment::Staging,
                "namespace-label",
            ),
            (
                input("a", &[(ENV, "dev")], "critical"),
                Environment::Development,
                "namespace-label",
            ),
            (
                input("a", &[(ENV, "qa")], "critical"),
                Environment::Test,
                "namespace-label",
            ),
            (signal_labelled, Environment::Staging, "signal-label"),
            (
                label_beats_signal,
                Environment::Production,
                "namespace-label",
            ),
            (
                input("payments-prod-7", &[], "critical"),
                Environment::Production,
                "namespace-name",
            ),
            (
                input("stg-web", &[], "critical"),
                Environment::Staging,
                "namespace-name",
            ),
            (
                input("team-test-1", &[], "critical"),
                Environment::Test,
                "namespace-name",
            ),
            (
                input("devices", &[], "critical"),
                Environment::Unknown,
                "default",
            ),
            (
                input("a", &[(ENV, "moon")], "critical"),
                Environment::Unknown,
                "default",
            ),
            (input("", &[], "critical"), Environment::Unknown, "default"),
        ];
        for (i, (input, env, source)) in cases.into_iter().enumerate() {
            let got = p.environment(&input).unwrap();
            assert_eq!(got, (env, source.to_owned()), "case {i}: {input:?}");
        }
    }

    #[test]
    fn priority_table() {
        use Environment::*;
        use Priority::*;
        let p = Policies::builtin();
        let cases = [
            (
                Production,
                "critical",
                P0,
                "rego-policy",
                "production-critical",
            ),
            (
                Production,
                "warning",
                P1,
                "rego-policy",
                "production-warning",
            ),
            (Production, "info", P2, "rego-policy", "production-info"),
            (
                Production,
                "CRITICAL",
                P0,
                "rego-policy",
                "production-critical",
            ),
            (Staging, "critical", P1, "rego-policy", "staging-critical"),
            (Staging, "warning", P2, "rego-policy", "staging-warning"),
            (Staging, "info", P3, "rego-policy", "staging-info"),
            (
                Development,
                "critical",
                P2,
                "rego-policy",
                "development-critical",
            ),
            (
                Development,
                "warning",
                P3,
                "rego-policy",
                "development-warning",
            ),
            (Test, "critical", P2, "rego-policy", "test-critical"),
            (Unknown, "critical", P1, "rego-policy", "unknown-critical"),
            (Unknown, "warning", P2, "rego-policy", "unknown-warning"),
            (Production, "bogus", P3, "default", "unmatched-severity"),
        ];
        for (env, severity, priority, source, name) in cases {
            let got = p.priority(&input("a", &[], severity), env).unwrap();
            assert_eq!(
                got,
                PriorityAssignment {
                    priority,
                    source: source.to_owned(),
                    policy_name: Some(name.to_owned()),
                },
                "{env} {severity}"
            );
        }
        let over = p
            .priority(
                &input("a", &[("kubernaut.ai/priority", "p0")], "info"),
                Development,
            )
            .unwrap();
        assert_eq!(
            (over.priority, over.source.as_str()),
            (P0, "namespace-label")
        );
        let bad_override = p
            .priority(
                &input("a", &[("kubernaut.ai/priority", "P9")], "info"),
                Production,
            )
            .unwrap();
        assert_eq!(bad_override.priority, P2, "an invalid override is ignored");
    }

    #[test]
    fn business_table() {
        let p = Policies::builtin();
        let mut on_workload = input("a", &[("kubernaut.ai/business-unit", "ns-unit")], "warning");
        on_workload.workload = Some((
            "Deployment".into(),
            "api".into(),
            labels(&[
                ("kubernaut.ai/business-unit", "payments"),
                ("kubernaut.ai/criticality", "HIGH"),
            ]),
        ));
        let got = p
            .business(&on_workload, Environment::Production, Priority::P3)
            .unwrap();
        assert_eq!(got.business_unit.as_deref(), Some("payments"));
        assert_eq!(
            (got.criticality.as_str(), got.source.as_str()),
            ("high", "workload-label")
        );

        let ns_only = input(
            "a",
            &[
                ("kubernaut.ai/business-unit", "ns-unit"),
                ("kubernaut.ai/criticality", "medium"),
            ],
            "warning",
        );
        let got = p
            .business(&ns_only, Environment::Staging, Priority::P0)
            .unwrap();
        assert_eq!(got.business_unit.as_deref(), Some("ns-unit"));
        assert_eq!(
            (got.criticality.as_str(), got.source.as_str()),
            ("medium", "namespace-label")
        );

        for (priority, want) in [
            (Priority::P0, "critical"),
            (Priority::P1, "high"),
            (Priority::P2, "medium"),
            (Priority::P3, "low"),
        ] {
            let got = p
                .business(&input("a", &[], "info"), Environment::Unknown, priority)
                .unwrap();
            assert_eq!(got.business_unit, None);
            assert_eq!(
                (got.criticality.as_str(), got.source.as_str()),
                (want, "priority-derived")
            );
            assert_eq!(criticality_of(priority), want);
        }
    }

    /// A policy directory in /tmp, removed when the test ends (it was left there by every run).
    struct PolicyDir(PathBuf);

    impl std::ops::Deref for PolicyDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl AsRef<Path> for PolicyDir {
        fn as_ref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for PolicyDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn write_dir(files: &[(&str, &str)]) -> PolicyDir {
        let dir = PolicyDir(std::env::temp_dir().join(format!(
            "sp-policy-test-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        )));
        std::fs::create_dir_all(&dir).unwrap();
        for kind in PolicyKind::ALL {
            std::fs::write(dir.join(kind.file_name()), kind.builtin_source()).unwrap();
        }
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_directory_with_the_shipped_files_loads_and_names_its_files() {
        let dir = write_dir(&[]);
        let p = Policies::from_dir(&dir).unwrap();
        assert!(
            p.origins()[1].ends_with("priority.rego"),
            "{:?}",
            p.origins()
        );
        assert_eq!(
            p.environment(&input("x-prod", &[], "critical")).unwrap().0,
            Environment::Production
        );
    }

    #[test]
    fn load_errors_name_the_file() {
        let missing = std::env::temp_dir().join("sp-policy-no-such-dir-4711");
        let e = Policies::from_dir(&missing).unwrap_err().to_string();
        assert!(
            e.contains("environment.rego") && e.contains("failed to read"),
            "{e}"
        );

        let dir = write_dir(&[(
            "priority.rego",
            "package signalprocessing.priority\nresult := {",
        )]);
        let e = Policies::from_dir(&dir).unwrap_err();
        assert!(
            matches!(
                e,
                PolicyError::Invalid {
                    kind: PolicyKind::Priority,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains(&dir.join("priority.rego").display().to_string()),
            "{e}"
        );

        // Valid Rego, wrong package: the rule the controller evaluates does not exist.
        let dir = write_dir(&[("business.rego", "package other\nresult := 1\n")]);
        let e = Policies::from_dir(&dir).unwrap_err().to_string();
        assert!(
            e.contains("business.rego") && e.contains("data.signalprocessing.business.result"),
            "{e}"
        );
    }

    #[test]
    fn evaluation_errors_are_explicit() {
        // Undefined: no default and the condition fails.
        let dir = write_dir(&[(
            "environment.rego",
            "package signalprocessing.environment\nresult := {\"environment\": \"Production\", \"source\": \"x\"} if input.namespace.name == \"only-this\"\n",
        )]);
        let p = Policies::from_dir(&dir).unwrap();
        let e = p.environment(&input("other", &[], "info")).unwrap_err();
        assert!(
            matches!(
                e,
                EvalError::Undefined {
                    kind: PolicyKind::Environment,
                    ..
                }
            ),
            "{e}"
        );
        assert!(p.environment(&input("only-this", &[], "info")).is_ok());

        // Malformed: a value outside the enum.
        let dir = write_dir(&[(
            "priority.rego",
            "package signalprocessing.priority\nresult := {\"priority\": \"urgent\", \"source\": \"x\"}\n",
        )]);
        let e = Policies::from_dir(&dir)
            .unwrap()
            .priority(&input("a", &[], "info"), Environment::Production)
            .unwrap_err();
        assert!(
            matches!(e, EvalError::Malformed { .. }) && e.to_string().contains("urgent"),
            "{e}"
        );

        // Runtime error only for some inputs: a conflict between two complete definitions.
        let dir = write_dir(&[(
            "business.rego",
            "package signalprocessing.business\nresult := {\"criticality\": \"low\", \"source\": \"a\"}\nresult := {\"criticality\": \"high\", \"source\": \"b\"} if input.priority == \"P0\"\n",
        )]);
        let p = Policies::from_dir(&dir).unwrap();
        assert!(
            p.business(&input("a", &[], "info"), Environment::Test, Priority::P3)
                .is_ok()
        );
        let e = p
            .business(&input("a", &[], "info"), Environment::Test, Priority::P0)
            .unwrap_err();
        assert!(matches!(e, EvalError::Runtime { .. }), "{e}");
    }

    #[test]
    fn severity_fallback_never_gives_p0() {
        assert_eq!(severity_fallback("Critical"), Priority::P1);
        assert_eq!(severity_fallback("warning"), Priority::P2);
        assert_eq!(severity_fallback("info"), Priority::P3);
        assert_eq!(severity_fallback(""), Priority::P3);
    }
}
