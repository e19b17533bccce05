//! The suites' declarations and the helpers their tests share.

use std::sync::LazyLock;
use std::time::Duration;

use controllers::aianalysis::{self, Config, Metrics};
use controllers::api::{AIAnalysis, AIAnalysisPhase};
use fixtures::{FAST_ERROR_BACKOFF, Suite, SuiteFamily};
use hapi_mock::Requests;
use manager::Backoff;

use crate::mock::{hapi_url, mock_requests};

/// The configuration of the main suite: milliseconds everywhere, so retries and polls cost a
/// test a fraction of a second.
pub fn config(hapi_url: String) -> Config {
    Config {
        poll_interval: Duration::from_millis(20),
        retry_backoff: Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(80),
            0.1,
        ),
        // The controller ignores its own status writes, so the next phase starts on this
        // requeue: 1 ms, so a test waits on nothing.
        phase_requeue: Duration::from_millis(1),
        error_backoff: FAST_ERROR_BACKOFF,
        ..Config::with_default_policy(hapi_url)
    }
}

/// The suites: the controller with the main configuration or a variation of it. The shared
/// manager of the single-controller baseline runs the main configuration (scripts/single-
/// bootstrap passes the same values, and ds-bootstrap's HAPI_URL).
pub static FAMILY: SuiteFamily<Config> = SuiteFamily {
    declare: |name| Suite::builder(name).crd_dir(CRDS).rbac_dir(RBAC),
    base: |_| Ok(config(hapi_url())),
    register: |setup, config| {
        let metrics = Metrics::register(setup.registry);
        aianalysis::register(setup.manager, config, metrics, setup.audit.clone());
        Ok(())
    },
};

/// The CRDs the controllers reconcile.
pub const CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds");
/// The controllers' RBAC manifests: each controller runs under its own ServiceAccount.
pub const RBAC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rbac");
/// Why a suite with a registry of its own skips in the baseline, where one manager serves all.
const OWN_REGISTRY: &str = "its test reads a registry of its own";

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| FAMILY.suite("aianalysis"));

/// A suite with a registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| FAMILY.variant("aianalysis-metrics", OWN_REGISTRY, |_, _| ()));

/// A single-test suite whose test holds the controller's status write with a fault (faults are
/// per server, so no other test's writes are held).
pub static CONCURRENT: LazyLock<Suite> =
    LazyLock::new(|| FAMILY.variant("aianalysis-concurrent", OWN_REGISTRY, |_, _| ()));

fixtures::test_view! {
    /// One test's view: its environment and its own namespace, with the shared helpers of
    /// [`fixtures::TestNamespace`]; these add the AIAnalysis ones.
    pub struct T for SUITE;
}

impl T {
    /// A valid AIAnalysis in the test's namespace for `signal` (the mock's scenario), whose
    /// remediation id (the mock's key and the audit correlation id) is unique across runs.
    pub fn aia(&self, name: &str, signal: &str) -> AIAnalysis {
        let mut aia = AIAnalysis::test(name)
            .with_namespace(&self.ns)
            .with_signal_name(signal);
        aia.spec.remediation_id = self.rr(name);
        aia.spec.remediation_request_ref.name = Some(self.rr(name));
        aia
    }

    /// The remediation id of [`T::aia`]`(name, ..)`.
    pub fn rr(&self, name: &str) -> String {
        format!("rr-{}-{name}", self.ns)
    }

    pub async fn wait_phase(&self, name: &str, phase: AIAnalysisPhase) -> AIAnalysis {
        self.wait_until(name, "phase", AIAnalysis::phase, phase)
            .await
    }

    /// Creates `aia` and waits for `phase`.
    pub async fn run(&self, aia: &AIAnalysis, phase: AIAnalysisPhase) -> AIAnalysis {
        self.create_and_wait_until(aia, "phase", AIAnalysis::phase, phase)
            .await
    }

    /// What the mock received for `name`'s remediation.
    pub async fn mock(&self, name: &str) -> Requests {
        mock_requests(&self.rr(name)).await
    }

    /// Audit events of `name`'s remediation, once at least `min` arrived.
    pub async fn audit(&self, name: &str, min: usize) -> Vec<audit::AuditEvent> {
        self.0.audit(&self.rr(name), min).await
    }
}

/// The status's reason.
pub fn reason(aia: &AIAnalysis) -> String {
    aia.status
        .as_ref()
        .and_then(|s| s.reason.clone())
        .unwrap_or_default()
}

/// The status's retry count.
pub fn retries(aia: &AIAnalysis) -> i32 {
    aia.status
        .as_ref()
        .and_then(|s| s.investigation.as_ref())
        .map_or(0, |i| i.retry_count)
}

/// The session id in status.
pub fn session(aia: &AIAnalysis) -> Option<String> {
    let investigation = aia.status.as_ref().and_then(|s| s.investigation.as_ref());
    investigation.and_then(|i| i.session_id.clone())
}
