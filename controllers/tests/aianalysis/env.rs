//! The suite's declarations and the helpers its tests share.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use controllers::aianalysis::{self, Config, Metrics};
use controllers::api::{AIAnalysis, AIAnalysisPhase};
use controllers::clock::Clock;
use fixtures::{Suite, TestNamespace};
use hapi_mock::Requests;
use kube::api::Api;
use manager::Backoff;

/// The shared (or this process's own) HolmesGPT-API mock; panics with how to run the suite
/// when it is missing under nextest.
pub fn hapi_url() -> String {
    match hapi_mock::url_for_tests() {
        Ok(url) => url,
        Err(e) => panic!("{e}"),
    }
}

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
        error_backoff: Backoff::new(
            Duration::from_millis(10),
            2.0,
            Duration::from_millis(200),
            0.1,
        ),
        ..Config::with_default_policy(hapi_url)
    }
}

fn suite_with(
    name: &str,
    make: impl Fn() -> Result<Config, fixtures::BoxError> + Send + Sync + 'static,
) -> Suite {
    let builder = Suite::builder(name).crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"));
    // The shared manager of the single-controller baseline runs the main suite's configuration
    // only (scripts/single-bootstrap passes the same values, and ds-bootstrap's HAPI_URL); the
    // other suites have a configuration, a registry or a clock of their own.
    let builder = if name == MAIN_SUITE {
        builder
    } else {
        builder.per_process_only("its controller has a configuration or registry of its own")
    };
    builder
        .controllers(move |setup| {
            let metrics = Metrics::register(setup.registry);
            aianalysis::register(setup.manager, make()?, metrics, setup.audit.clone());
            Ok(())
        })
        .build()
}

/// Name of the suite most tests use.
const MAIN_SUITE: &str = "aianalysis";

/// The suite most tests use.
pub static SUITE: LazyLock<Suite> =
    LazyLock::new(|| suite_with(MAIN_SUITE, || Ok(config(hapi_url()))));

/// A suite with a registry used by one test only, so its metric values are exact.
pub static METRICS: LazyLock<Suite> =
    LazyLock::new(|| suite_with("aianalysis-metrics", || Ok(config(hapi_url()))));

/// A single-test suite whose test holds the controller's status write with a fault (faults are
/// per server, so no other test's writes are held).
pub static CONCURRENT: LazyLock<Suite> =
    LazyLock::new(|| suite_with("aianalysis-concurrent", || Ok(config(hapi_url()))));

/// A single-test suite whose transient HolmesGPT-API errors are retried after 10 minutes:
/// longer than any test waits, so a test that finishes saw the deadline cut the wait short.
pub static SLOW_RETRY: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("aianalysis-slow-retry", || {
        Ok(Config {
            retry_backoff: Backoff::new(
                Duration::from_secs(600),
                2.0,
                Duration::from_secs(600),
                0.0,
            ),
            ..config(hapi_url())
        })
    })
});

/// The clock of [`MOVABLE_CLOCK`]'s controller, which its single test moves forward.
pub static CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite whose controller measures `timesOutAt` against [`CLOCK`].
pub static MOVABLE_CLOCK: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("aianalysis-movable-clock", || {
        Ok(Config {
            clock: CLOCK.clone(),
            ..config(hapi_url())
        })
    })
});

/// The clock of [`DEFAULT_DEADLINE`]'s controller: a clock of its own, since [`CLOCK`]'s test
/// moves time by hours and, under plain `cargo test`, runs in the same process.
pub static DEFAULT_DEADLINE_CLOCK: LazyLock<Clock> = LazyLock::new(Clock::adjustable);

/// A single-test suite for analyses without `timesOutAt`, on [`DEFAULT_DEADLINE_CLOCK`].
pub static DEFAULT_DEADLINE: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("aianalysis-default-deadline", || {
        Ok(Config {
            clock: DEFAULT_DEADLINE_CLOCK.clone(),
            ..config(hapi_url())
        })
    })
});

/// A suite whose HolmesGPT-API is a port nobody listens on: every call is a connection error.
pub static UNREACHABLE: LazyLock<Suite> = LazyLock::new(|| {
    suite_with("aianalysis-unreachable", || {
        // Port 1 (tcpmux) is privileged and unused on loopback: connecting is refused. A port
        // freed by dropping a listener could be taken by another test process meanwhile.
        Ok(config("http://127.0.0.1:1".to_owned()))
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
    suite_with("aianalysis-policy-file", || {
        let path = policy_path();
        std::fs::create_dir_all(path.parent().expect("a parent"))?;
        std::fs::write(&path, FILE_POLICY)?;
        Ok(config(hapi_url()).with_policy_file(&path)?)
    })
});

/// A suite without the controller: its test runs controllers of its own (restarts).
pub static NO_CONTROLLER: LazyLock<Suite> = LazyLock::new(|| {
    Suite::builder("aianalysis-restart")
        .crd_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds"))
        .per_process_only("its test starts and stops controllers of its own")
        .build()
});

/// One test's view: its environment and its own namespace, with the shared helpers of
/// [`TestNamespace`] (create, wait_for, status writes, audit); these add the AIAnalysis ones.
pub struct T(TestNamespace);

impl Deref for T {
    type Target = TestNamespace;
    fn deref(&self) -> &TestNamespace {
        &self.0
    }
}

impl T {
    pub async fn new(prefix: &str) -> Option<T> {
        T::on(&SUITE, prefix).await
    }

    /// `None` (the test is skipped, with a message) in the single-controller baseline.
    pub async fn on(suite: &Suite, prefix: &str) -> Option<T> {
        TestNamespace::new_or_skip(suite, prefix).await.map(T)
    }

    /// A valid AIAnalysis in the test's namespace for `signal` (the mock's scenario), whose
    /// remediation id (the mock's key and the audit correlation id) is unique across runs.
    pub fn aia(&self, name: &str, signal: &str) -> AIAnalysis {
        let mut aia = AIAnalysis::test(name)
            .with_namespace(&self.ns)
            .with_signal_name(signal);
        let rr = self.rr(name);
        aia.spec.remediation_id = rr.clone();
        aia.spec.remediation_request_ref.name = Some(rr);
        aia
    }

    /// The remediation id of [`T::aia`]`(name, ..)`.
    pub fn rr(&self, name: &str) -> String {
        format!("rr-{}-{name}", self.ns)
    }

    pub fn api(&self) -> Api<AIAnalysis> {
        self.0.api()
    }

    pub async fn wait_phase(&self, name: &str, phase: AIAnalysisPhase) -> AIAnalysis {
        self.wait_for(name, &format!("in phase {phase}"), |aia: &AIAnalysis| {
            if aia.phase() == phase {
                Ok(aia.clone())
            } else {
                Err(format!("phase {}, status {:?}", aia.phase(), aia.status))
            }
        })
        .await
    }

    /// Creates `aia` and waits for `phase`.
    pub async fn run(&self, aia: &AIAnalysis, phase: AIAnalysisPhase) -> AIAnalysis {
        self.create(aia).await;
        self.wait_phase(aia.metadata.name.as_deref().unwrap(), phase)
            .await
    }

    /// What the mock received for `name`'s remediation.
    pub async fn mock(&self, name: &str) -> Requests {
        mock_requests(&self.rr(name)).await
    }

    /// The status writes of `name` once at least `expected` are logged.
    pub async fn writes_after(&self, name: &str, expected: usize) -> usize {
        self.status_writes_at_least::<AIAnalysis>(name, expected)
            .await
    }

    /// Audit events of `name`'s remediation, once at least `min` arrived.
    pub async fn audit(&self, name: &str, min: usize) -> Vec<audit::AuditEvent> {
        self.0.audit(&self.rr(name), min).await
    }
}

/// `GET /mock/requests?remediation_id=<id>` on the mock.
pub async fn mock_requests(remediation_id: &str) -> Requests {
    let url = format!("{}/mock/requests", hapi_url());
    let response = test_http()
        .get(url)
        .query(&[("remediation_id", remediation_id)])
        .send()
        .await
        .expect("the mock's inspection endpoint");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("a Requests body")
}

/// `POST /mock/release?remediation_id=<id>`: lets a `mock-held` analysis complete.
pub async fn release(remediation_id: &str) {
    let url = format!("{}/mock/release", hapi_url());
    let response = test_http()
        .post(url)
        .query(&[("remediation_id", remediation_id)])
        .send()
        .await
        .expect("the mock's release endpoint");
    assert_eq!(response.status().as_u16(), 204);
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
    aia.status
        .as_ref()
        .and_then(|s| s.investigation.as_ref())
        .and_then(|i| i.session_id.clone())
}

/// The Ready condition's status.
pub fn ready(aia: &AIAnalysis) -> Option<String> {
    aia.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
}

/// The bound of a test's own call to the mock: a local answer takes milliseconds, and a
/// 2-core machine running 12 test processes can stall one for seconds.
const MOCK_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP client for the tests' own calls to the mock: bounded, so a stalled mock fails the
/// test instead of hanging it.
fn test_http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(MOCK_HTTP_TIMEOUT)
        .build()
        .expect("an HTTP client without TLS builds")
}
