//! The suites' declarations and the helpers their tests share.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use controllers::aianalysis::{self, Config, Metrics};
use controllers::api::{AIAnalysis, AIAnalysisPhase};
use controllers::clock::Clock;
use fixtures::{BoxError, FAST_ERROR_BACKOFF, Suite};
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

/// A suite running the controller with the configuration `make` derives from the main one.
/// The shared manager of the single-controller baseline runs the main suite's configuration
/// only (scripts/single-bootstrap passes the same values, and ds-bootstrap's HAPI_URL); the
/// other suites have a configuration, a registry or a clock of their own.
fn suite_with(
    name: &str,
    make: impl Fn(Config) -> Result<Config, BoxError> + Send + Sync + 'static,
) -> Suite {
    let builder = Suite::builder(name).crd_dir(CRDS);
    let builder = match name {
        MAIN_SUITE => builder,
        _ => builder.per_process_only("its controller has a configuration or registry of its own"),
    };
    builder
        .controllers(move |setup| {
            let metrics = Metrics::register(setup.registry);
            let config = make(config(hapi_url()))?;
            aianalysis::register(setup.manager, config, metrics, setup.audit.clone());
            Ok(())
        })
        .build()
}

/// [`suite_with`] the main configuration changed by `tweak`.
fn suite(name: &str, tweak: impl Fn(&mut Config) + Send + Sync + 'static) -> Suite {
    suite_with(name, move |mut config| {
        tweak(&mut config);
        Ok(config)
    })
}

/// The CRDs the controllers reconcile.
const CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds");
/// Name of the suite most tests use.
const MAIN_SUITE: &str = "aianalysis";

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> = LazyLock::new(|| suite(MAIN_SUITE, |_| ()));

/// A suite with a registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> = LazyLock::new(|| suite("aianalysis-metrics", |_| ()));

/// A single-test suite whose test holds the controller's status write with a fault (faults are
/// per server, so no other test's writes are held).
pub static CONCURRENT: LazyLock<Suite> = LazyLock::new(|| suite("aianalysis-concurrent", |_| ()));

/// A single-test suite whose transient HolmesGPT-API errors are retried after 10 minutes:
/// longer than any test waits, so a test that finishes saw the deadline cut the wait short.
pub static SLOW_RETRY: LazyLock<Suite> = LazyLock::new(|| {
    let ten_minutes = Duration::from_secs(600);
    let backoff = Backoff::new(ten_minutes, 2.0, ten_minutes, 0.0);
    suite("aianalysis-slow-retry", move |c| c.retry_backoff = backoff)
});

/// The clock of [`MOVABLE_CLOCK`]'s controller, which its single test moves forward.
pub static CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite whose controller measures `timesOutAt` against [`CLOCK`].
pub static MOVABLE_CLOCK: LazyLock<Suite> =
    LazyLock::new(|| suite("aianalysis-movable-clock", |c| c.clock = CLOCK.clone()));

/// The clock of [`DEFAULT_DEADLINE`]'s controller: a clock of its own, since [`CLOCK`]'s test
/// moves time by hours and, under plain `cargo test`, runs in the same process.
pub static DEFAULT_DEADLINE_CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite for analyses without `timesOutAt`, on [`DEFAULT_DEADLINE_CLOCK`].
pub static DEFAULT_DEADLINE: LazyLock<Suite> = LazyLock::new(|| {
    suite("aianalysis-default-deadline", |c| {
        c.clock = DEFAULT_DEADLINE_CLOCK.clone()
    })
});

/// A suite whose HolmesGPT-API is a port nobody listens on: every call is a connection error.
/// Port 1 (tcpmux) is privileged and unused on loopback: connecting is refused. A port freed
/// by dropping a listener could be taken by another test process meanwhile.
pub static UNREACHABLE: LazyLock<Suite> = LazyLock::new(|| {
    suite("aianalysis-unreachable", |c| {
        c.hapi_url = "http://127.0.0.1:1".into()
    })
});

/// The approval policy of [`POLICY_FILE`]: Staging always needs review; low confidence in
/// Staging makes two complete rules disagree, which Rego reports as an evaluation error.
pub const FILE_POLICY: &str = r#"package aianalysis.approval
import rego.v1
default decision := "Approved"
decision := "ManualReviewRequired" if input.environment == "Staging"
decision := "Denied" if input.confidence < 0.7
matched_rules := ["StagingAlwaysReviewed"] if input.environment == "Staging"
"#;

/// Where [`POLICY_FILE`]'s policy is written (per process).
pub fn policy_path() -> PathBuf {
    fixtures::target_dir()
        .join("aianalysis-policies")
        .join(format!("approval-{}.rego", std::process::id()))
}

/// A suite whose approval policy comes from a file.
pub static POLICY_FILE: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("aianalysis-policy-file", |c| {
        let path = policy_path();
        std::fs::create_dir_all(path.parent().expect("a parent"))?;
        std::fs::write(&path, FILE_POLICY)?;
        Ok(c.with_policy_file(&path)?)
    })
});

/// A suite without the controller: its test runs controllers of its own (restarts).
pub static NO_CONTROLLER: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("aianalysis-restart")
        .crd_dir(CRDS)
        .per_process_only("its test starts and stops controllers of its own")
        .build()
});

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
