//! The suites' declarations and the helpers their tests share.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::{SignalProcessing, SignalProcessingPhase, TargetResource};
use controllers::clock::Clock;
use controllers::signalprocessing::{self, Config, Metrics, Policies};
use fixtures::{Suite, TestNamespace};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams, PostParams};
use manager::Backoff;
use serde_json::json;

/// The controller configuration of the suites: phase changes and retries within milliseconds.
pub fn config(policies: Policies) -> Config {
    Config {
        policies,
        // The controller ignores its own status writes, so the next phase starts on this
        // requeue: 1 ms, so a test waits on nothing.
        phase_requeue: Duration::from_millis(1),
        // Errors retried within milliseconds, so recovery tests stay fast.
        error_backoff: Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(200),
            0.1,
        ),
        ..Config::default()
    }
}

fn suite_with(name: &str, make: impl Fn() -> Config + Send + Sync + 'static) -> Suite {
    Suite::builder(name)
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        .per_process_only(
            "its controller has a configuration of its own (injected faults, a movable clock, broken policies or a registry read for exact values)",
        )
        .controllers(move |setup| {
            let metrics = Metrics::register(setup.registry);
            signalprocessing::register(setup.manager, make(), metrics, setup.audit.clone());
            Ok(())
        })
        .build()
}

fn suite(name: &str) -> Suite {
    suite_with(name, || config(Policies::builtin()))
}

/// The suite most tests use. It runs in the single-controller baseline too: there the shared
/// manager runs the controller with this configuration (scripts/single-bootstrap passes it).
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("signalprocessing")
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        .controllers(|setup| {
            let metrics = Metrics::register(setup.registry);
            signalprocessing::register(
                setup.manager,
                config(Policies::builtin()),
                metrics,
                setup.audit.clone(),
            );
            Ok(())
        })
        .build()
});

/// A suite without the controller: its test starts controllers of its own (a restart makes
/// a fresh controller reconcile every existing object, the completed ones included).
pub static NO_CONTROLLER: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("signalprocessing-restart")
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        .per_process_only("its test starts and stops controllers of its own")
        .build()
});

/// A suite whose tests inject faults into their own API server.
pub static FAULTS: LazyLock<Suite> = LazyLock::new(|| suite("signalprocessing-faults"));

/// A registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> = LazyLock::new(|| suite("signalprocessing-metrics"));

/// Another single-test registry, for the test that counts enrichment errors.
pub static ERRORS: LazyLock<Suite> = LazyLock::new(|| suite("signalprocessing-errors"));

/// A single-test suite whose errors back off for 10 minutes: longer than any test waits, so a
/// test that finishes saw the deadline cap the backoff, and counts every attempt exactly.
pub static SLOW_RETRY: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("signalprocessing-slow-retry", || Config {
        error_backoff: Backoff::new(Duration::from_secs(600), 2.0, Duration::from_secs(600), 0.0),
        ..config(Policies::builtin())
    })
});

/// The clock of [`MOVABLE_CLOCK`]'s controller, which its single test moves forward.
pub static CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite whose controller measures deadlines against [`CLOCK`].
pub static MOVABLE_CLOCK: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("signalprocessing-movable-clock", || Config {
        clock: CLOCK.clone(),
        ..config(Policies::builtin())
    })
});

/// A policy directory of this process whose environment policy is undefined for every input
/// (it has no default), whose priority policy answers a priority that does not exist, and whose
/// business policy fails at run time for priority P1.
pub static BROKEN_POLICY_DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = fixtures::scratch_dir("sp-broken-policies").expect("create the policy directory");
    // Two complete definitions of `result` that disagree when the priority is P1: a runtime
    // conflict error for exactly the signals the test sends (the load-time probe uses P3).
    std::fs::write(
        dir.join("business.rego"),
        "package signalprocessing.business\n\nresult := {\"criticality\": \"low\", \"source\": \"a\"}\n\nresult := {\"criticality\": \"high\", \"source\": \"b\"} if input.priority == \"P1\"\n",
    )
    .expect("write business.rego");
    std::fs::write(
        dir.join("environment.rego"),
        "package signalprocessing.environment\n\nresult := {\"environment\": \"Production\", \"source\": \"never\"} if input.namespace.name == \"no-namespace-is-called-this\"\n",
    )
    .expect("write environment.rego");
    std::fs::write(
        dir.join("priority.rego"),
        "package signalprocessing.priority\n\nresult := {\"priority\": \"urgent\", \"source\": \"broken\"}\n",
    )
    .expect("write priority.rego");
    dir
});

/// A single-test suite running the broken policies, to see the documented fallback.
pub static BROKEN_POLICIES: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("signalprocessing-broken-policies", || {
        config(Policies::from_dir(&BROKEN_POLICY_DIR).expect("the broken policies still load"))
    })
});

/// One test's view: its environment and its own namespace, with the shared helpers of
/// [`TestNamespace`] (create, wait_for, status writes, metrics, audit); these add the
/// SignalProcessing ones and the objects it enriches from.
pub struct T(TestNamespace);

impl Deref for T {
    type Target = TestNamespace;
    fn deref(&self) -> &TestNamespace {
        &self.0
    }
}

impl T {
    /// The main suite's view (`Option` like [`T::on`]; the main suite runs in both modes).
    pub async fn new(prefix: &str) -> Option<T> {
        T::on(&SUITE, prefix).await
    }

    /// `suite`'s view, or `None` (the test is skipped, with a message) for a per-process-only
    /// suite in the single-controller baseline's shared mode.
    pub async fn on(suite: &Suite, prefix: &str) -> Option<T> {
        TestNamespace::new_or_skip(suite, prefix).await.map(T)
    }

    /// A valid SignalProcessing in the test's namespace targeting `Deployment <name>` there,
    /// whose parent RemediationRequest (the audit correlation id) is unique across runs.
    pub fn sp(&self, name: &str) -> SignalProcessing {
        let mut sp = SignalProcessing::test(name).with_namespace(&self.ns);
        sp.spec.remediation_request_ref.name = Some(format!("rr-{}-{name}", self.ns));
        sp
    }

    pub fn sps(&self) -> Api<SignalProcessing> {
        self.api()
    }

    pub async fn wait_phase(&self, name: &str, phase: SignalProcessingPhase) -> SignalProcessing {
        self.wait_for(
            name,
            &format!("in phase {phase}"),
            |sp: &SignalProcessing| {
                if sp.phase() == phase {
                    Ok(sp.clone())
                } else {
                    Err(format!("phase {}, status {:?}", sp.phase(), sp.status))
                }
            },
        )
        .await
    }

    /// Creates `sp` and waits until it is Completed.
    pub async fn process(&self, sp: &SignalProcessing) -> SignalProcessing {
        self.create(sp).await;
        self.wait_phase(
            sp.metadata.name.as_deref().unwrap(),
            SignalProcessingPhase::Completed,
        )
        .await
    }

    /// Adds `labels` to namespace `ns`.
    pub async fn label_namespace(&self, ns: &str, labels: &[(&str, &str)]) {
        let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
        Api::<Namespace>::all(self.env.client())
            .patch(
                ns,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": labels}})),
            )
            .await
            .expect("label namespace");
    }

    /// Creates Deployment `name` in namespace `ns` with `labels`.
    pub async fn deployment(&self, ns: &str, name: &str, labels: &[(&str, &str)]) -> Deployment {
        let mut all: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        all.insert("app".into(), name.into());
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": all},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
                },
            },
        }))
        .unwrap();
        Api::<Deployment>::namespaced(self.env.client(), ns)
            .create(&PostParams::default(), &d)
            .await
            .expect("create Deployment")
    }

    /// Creates ReplicaSet `name` in `ns`, controlled by `owner`.
    pub async fn replicaset(&self, ns: &str, name: &str, owner: &Deployment) -> ReplicaSet {
        let app = owner.name_any();
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": app},
                         "ownerReferences": [controller_ref(owner)]},
            "spec": {
                "selector": {"matchLabels": {"app": app}},
                "template": {
                    "metadata": {"labels": {"app": app}},
                    "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
                },
            },
        }))
        .unwrap();
        Api::<ReplicaSet>::namespaced(self.env.client(), ns)
            .create(&PostParams::default(), &rs)
            .await
            .expect("create ReplicaSet")
    }

    /// Creates Pod `name` in `ns` with `labels`, controlled by the owner reference `owner`.
    pub async fn pod(
        &self,
        ns: &str,
        name: &str,
        labels: &[(&str, &str)],
        owner: Option<serde_json::Value>,
    ) -> Pod {
        let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
        let mut meta = json!({"name": name, "labels": labels});
        if let Some(owner) = owner {
            meta["ownerReferences"] = json!([owner]);
        }
        let pod: Pod = serde_json::from_value(json!({
            "metadata": meta,
            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
        }))
        .unwrap();
        Api::<Pod>::namespaced(self.env.client(), ns)
            .create(&PostParams::default(), &pod)
            .await
            .expect("create Pod")
    }

    /// Successful `/status` writes the API server received for SignalProcessing `name`.
    pub async fn status_writes(&self, name: &str) -> usize {
        self.0.status_writes::<SignalProcessing>(name).await
    }

    /// The status writes of `name` once at least `expected` are logged.
    pub async fn writes_at_least(&self, name: &str, expected: usize) -> usize {
        self.status_writes_at_least::<SignalProcessing>(name, expected)
            .await
    }

    /// Audit events of `sp`'s parent RemediationRequest, once at least `min` arrived.
    pub async fn audit(&self, sp: &SignalProcessing, min: usize) -> Vec<audit::AuditEvent> {
        let correlation = sp.spec.remediation_request_ref.name.clone().unwrap();
        self.0.audit(&correlation, min).await
    }

    /// The API server's fault rules (only per-process suites have an API server of their own).
    pub fn faults(&self) -> &apiserver::Faults {
        self.env
            .server()
            .expect("a per-process API server")
            .faults()
    }
}

/// A controller ownerReference to `owner`.
pub fn controller_ref<K: kube::Resource<DynamicType = ()>>(owner: &K) -> serde_json::Value {
    json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "name": owner.meta().name,
        "uid": owner.meta().uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// A target in namespace `ns`.
pub fn target(kind: &str, name: &str, ns: &str) -> TargetResource {
    TargetResource::new(kind, name, ns)
}

/// A condition's status and reason by type.
pub fn condition(sp: &SignalProcessing, type_: &str) -> Option<(String, String)> {
    sp.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}
