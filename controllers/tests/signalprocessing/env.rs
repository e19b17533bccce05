//! The suites' declarations and the helpers their tests share.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use controllers::api::SignalProcessingPhase::Completed;
use controllers::api::{SignalProcessing, SignalProcessingPhase};
use controllers::clock::Clock;
use controllers::signalprocessing::{self, Config, Metrics, Policies};
use fixtures::{ApiExt as _, FAST_ERROR_BACKOFF, Suite, SuiteFamily};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use manager::Backoff;

/// The controller configuration of the suites: phase changes and retries within milliseconds.
pub fn config(policies: Policies) -> Config {
    Config {
        policies,
        // The controller ignores its own status writes, so the next phase starts on this
        // requeue: 1 ms, so a test waits on nothing.
        phase_requeue: Duration::from_millis(1),
        error_backoff: FAST_ERROR_BACKOFF,
        ..Config::default()
    }
}

/// The CRDs the controllers reconcile.
const CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds");
/// The controllers' RBAC manifests: each controller runs under its own ServiceAccount.
const RBAC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rbac");

/// The suites: the controller with the main configuration or a variation of it. Only the main
/// suite runs in the single-controller baseline too: there the shared manager runs the main
/// configuration (scripts/single-bootstrap passes it).
static FAMILY: SuiteFamily<Config> = SuiteFamily {
    declare: |name| Suite::builder(name).crd_dir(CRDS).rbac_dir(RBAC),
    base: |_| Ok(config(Policies::builtin())),
    register: |setup, config| {
        let metrics = Metrics::register(setup.registry);
        signalprocessing::register(setup.manager, config, metrics, setup.audit.clone());
        Ok(())
    },
};

/// Why a suite with a registry or API server of its own skips in the baseline.
const OWN: &str = "its test reads a registry or injects faults of its own";

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| FAMILY.suite("signalprocessing"));

/// A suite without the controller: its test starts controllers of its own (a restart makes
/// a fresh controller reconcile every existing object, the completed ones included).
pub static NO_CONTROLLER: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("signalprocessing-restart")
        .crd_dir(CRDS)
        // The test's own controllers under their ServiceAccounts too (`Env::new_manager`).
        .rbac_dir(RBAC)
        .per_process_only("its test starts and stops controllers of its own")
        .build()
});

/// A suite whose tests inject faults into their own API server.
pub static FAULTS: LazyLock<Suite> =
    LazyLock::new(|| FAMILY.variant("signalprocessing-faults", OWN, |_, _| ()));

/// A registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| FAMILY.variant("signalprocessing-metrics", OWN, |_, _| ()));

/// Another single-test registry, for the test that counts enrichment errors.
pub static ERRORS: LazyLock<Suite> =
    LazyLock::new(|| FAMILY.variant("signalprocessing-errors", OWN, |_, _| ()));

/// A single-test suite whose errors back off for 10 minutes: longer than any test waits, so a
/// test that finishes saw the deadline cap the backoff, and counts every attempt exactly.
pub static SLOW_RETRY: LazyLock<Suite> = LazyLock::new(|| {
    let ten_minutes = Duration::from_secs(600);
    let backoff = Backoff::new(ten_minutes, 2.0, ten_minutes, 0.0);
    let why = "its errors back off for 10 minutes";
    FAMILY.variant("signalprocessing-slow-retry", why, move |c, _| {
        c.error_backoff = backoff
    })
});

/// The clock of [`MOVABLE_CLOCK`]'s controller, which its single test moves forward.
pub static CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite whose controller measures deadlines against [`CLOCK`].
pub static MOVABLE_CLOCK: LazyLock<Suite> = LazyLock::new(|| {
    let why = "its controller reads a clock the test moves";
    FAMILY.variant("signalprocessing-movable-clock", why, |c, _| {
        c.clock = CLOCK.clone()
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
    let why = "its controller runs broken policies";
    FAMILY.try_variant("signalprocessing-broken-policies", why, |c, _| {
        c.policies = Policies::from_dir(&BROKEN_POLICY_DIR)?;
        Ok(())
    })
});

fixtures::test_view! {
    /// One test's view: its environment and its own namespace, with the shared helpers of
    /// [`fixtures::TestNamespace`]; these add the SignalProcessing ones.
    pub struct T for SUITE;
}

impl T {
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
        self.wait_until(name, "phase", SignalProcessing::phase, phase)
            .await
    }

    /// Creates `sp` and waits until it is Completed.
    pub async fn process(&self, sp: &SignalProcessing) -> SignalProcessing {
        self.create_and_wait_until(sp, "phase", SignalProcessing::phase, Completed)
            .await
    }

    /// Adds `labels` to namespace `ns`.
    pub async fn label_namespace(&self, ns: &str, labels: &[(&str, &str)]) {
        let namespaces: Api<Namespace> = Api::all(self.env.client());
        namespaces.label(ns, labels).await;
    }

    /// Audit events of `sp`'s parent RemediationRequest, once at least `min` arrived.
    pub async fn audit(&self, sp: &SignalProcessing, min: usize) -> Vec<audit::AuditEvent> {
        let correlation = sp.spec.remediation_request_ref.name.clone().unwrap();
        self.0.audit(&correlation, min).await
    }
}
