//! The mock's protocol over HTTP: every scenario, bad input, unknown sessions and the
//! inspection endpoint. Each test starts its own mock on 127.0.0.1:0.

use hapi_mock::{Endpoint, Requests, RunningMock};
use serde_json::{Value, json};

async fn mock() -> RunningMock {
    hapi_mock::start("127.0.0.1:0".parse().unwrap())
        .await
        .expect("start the mock")
}

fn request(remediation_id: &str, signal_name: &str) -> Value {
    json!({
        "remediation_id": remediation_id,
        "signal_name": signal_name,
        "severity": "critical",
        "environment": "Production",
        "fingerprint": "ab".repeat(32),
        "business_priority": "P1",
        "target_resource": {"kind": "Deployment", "name": "api", "namespace": "shop"},
        "enrichment_results": {"kubernetesContext": {"namespace": "shop"}},
    })
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(mock: &RunningMock) -> Client {
        Client {
            // Bounded: a stalled mock fails the test instead of hanging it.
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("an HTTP client without TLS builds"),
            base: mock.url(),
        }
    }

    async fn analyze(&self, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/incident/analyze", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let code = r.status().as_u16();
        (code, r.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let code = r.status().as_u16();
        (code, r.json().await.unwrap_or(Value::Null))
    }

    async fn status(&self, session: &str) -> (u16, Value) {
        self.get(&format!("/api/v1/incident/session/{session}"))
            .await
    }

    async fn result(&self, session: &str) -> (u16, Value) {
        self.get(&format!("/api/v1/incident/session/{session}/result"))
            .await
    }

    async fn requests(&self, remediation_id: &str) -> Requests {
        let (code, body) = self
            .get(&format!("/mock/requests?remediation_id={remediation_id}"))
            .await;
        assert_eq!(code, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    async fn submit(&self, remediation_id: &str, signal: &str) -> String {
        let (code, body) = self.analyze(&request(remediation_id, signal)).await;
        assert_eq!(code, 202, "{body}");
        body["session_id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn the_default_scenario_completes_after_one_poll_with_a_confident_workflow() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let session = c.submit("rr-default", "HighMemoryUsage").await;
    let (code, body) = c.result(&session).await;
    assert_eq!(code, 409, "not completed before a poll: {body}");
    assert_eq!(
        c.status(&session).await,
        (
            200,
            json!({"session_id": session, "status": "investigating"})
        )
    );
    assert_eq!(
        c.status(&session).await,
        (200, json!({"session_id": session, "status": "completed"}))
    );
    let (code, result) = c.result(&session).await;
    assert_eq!(code, 200);
    assert_eq!(
        result["selected_workflow"],
        json!({
            "workflow_id": "restart-deployment-v1",
            "action_type": "RestartDeployment",
            "confidence": 0.9,
            "parameters": {"TARGET_KIND": "Deployment", "TARGET_NAME": "api", "TARGET_NAMESPACE": "shop"},
        })
    );
    assert!(
        result["root_cause"]
            .as_str()
            .unwrap()
            .contains("Deployment/api")
    );
    let seen = c.requests("rr-default").await;
    // The analyze body is kept as received, for tests of what a client sends.
    assert_eq!(
        seen.calls[0].request,
        Some(request("rr-default", "HighMemoryUsage"))
    );
    assert!(seen.calls[1..].iter().all(|c| c.request.is_none()));
    let endpoints: Vec<(Endpoint, u16)> =
        seen.calls.iter().map(|c| (c.endpoint, c.status)).collect();
    assert_eq!(
        endpoints,
        [
            (Endpoint::Analyze, 202),
            (Endpoint::Result, 409),
            (Endpoint::Status, 200),
            (Endpoint::Status, 200),
            (Endpoint::Result, 200)
        ]
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn confidence_and_action_scenarios_shape_the_result() {
    let mock = mock().await;
    let c = Client::new(&mock);
    for (signal, action, confidence) in [
        ("mock-low-confidence", "RestartDeployment", 0.6),
        ("mock-very-low-confidence", "RestartDeployment", 0.3),
        ("mock-destructive-action", "DeleteNamespace", 0.9),
    ] {
        let id = format!("rr-{signal}");
        let session = c.submit(&id, signal).await;
        c.status(&session).await;
        assert_eq!(c.status(&session).await.1["status"], "completed");
        let (code, result) = c.result(&session).await;
        assert_eq!(code, 200);
        assert_eq!(
            result["selected_workflow"]["action_type"], action,
            "{signal}"
        );
        assert_eq!(
            result["selected_workflow"]["confidence"], confidence,
            "{signal}"
        );
    }
}

#[tokio::test]
async fn no_workflow_needed_is_a_null_selected_workflow() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let session = c.submit("rr-nowf", "mock-no-workflow").await;
    c.status(&session).await;
    c.status(&session).await;
    let (code, result) = c.result(&session).await;
    assert_eq!(code, 200);
    assert_eq!(result["selected_workflow"], Value::Null);
    assert!(
        result["root_cause"]
            .as_str()
            .unwrap()
            .contains("no remediation is needed")
    );
}

#[tokio::test]
async fn transient_failures_are_counted_per_remediation() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let (code, body) = c.analyze(&request("rr-t1", "mock-transient-2")).await;
    assert_eq!((code, body["status"].clone()), (500, json!(500)));
    // Another remediation with the same scenario starts its own count.
    assert_eq!(
        c.analyze(&request("rr-t2", "mock-transient-2")).await.0,
        500
    );
    assert_eq!(
        c.analyze(&request("rr-t1", "mock-transient-2")).await.0,
        500
    );
    assert_eq!(
        c.analyze(&request("rr-t1", "mock-transient-2")).await.0,
        202
    );
    let seen = c.requests("rr-t1").await;
    assert_eq!(seen.count(Endpoint::Analyze), 3);
    assert_eq!(seen.count_status(Endpoint::Analyze, 500), 2);
    assert_eq!(c.requests("rr-t2").await.count(Endpoint::Analyze), 1);
}

#[tokio::test]
async fn always_500_and_rejected_never_create_a_session() {
    let mock = mock().await;
    let c = Client::new(&mock);
    for _ in 0..7 {
        assert_eq!(
            c.analyze(&request("rr-500", "mock-always-500")).await.0,
            500
        );
    }
    let (code, body) = c.analyze(&request("rr-rej", "mock-rejected")).await;
    assert_eq!(code, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("mock-rejected"),
        "{body}"
    );
    assert_eq!(
        c.requests("rr-500")
            .await
            .count_status(Endpoint::Analyze, 500),
        7
    );
    assert!(
        c.requests("rr-500")
            .await
            .calls
            .iter()
            .all(|c| c.session_id.is_none())
    );
}

#[tokio::test]
async fn a_session_that_never_finishes_stays_investigating() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let session = c.submit("rr-stall", "mock-never-finishes").await;
    for _ in 0..5 {
        assert_eq!(c.status(&session).await.1["status"], "investigating");
    }
    assert_eq!(c.result(&session).await.0, 409);
}

#[tokio::test]
async fn a_held_session_completes_once_released() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let session = c.submit("rr-held", "mock-held").await;
    for _ in 0..3 {
        assert_eq!(c.status(&session).await.1["status"], "investigating");
    }
    assert_eq!(c.result(&session).await.0, 409);
    let release = |id: &str| {
        c.http
            .post(format!("{}/mock/release", c.base))
            .query(&[("remediation_id", id)])
            .send()
    };
    assert_eq!(release("rr-held").await.unwrap().status().as_u16(), 204);
    assert_eq!(c.status(&session).await.1["status"], "completed");
    assert_eq!(c.result(&session).await.0, 200);
    let missing = c
        .http
        .post(format!("{}/mock/release", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 400);
}

#[tokio::test]
async fn a_lost_session_answers_404_and_a_resubmitted_one_completes() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let first = c.submit("rr-lost", "mock-session-lost").await;
    let (code, body) = c.status(&first).await;
    assert_eq!(code, 404);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("submit the incident again")
    );
    assert_eq!(c.status(&first).await.0, 404, "lost stays lost");
    let second = c.submit("rr-lost", "mock-session-lost").await;
    assert_ne!(first, second);
    c.status(&second).await;
    assert_eq!(c.status(&second).await.1["status"], "completed");
    assert_eq!(c.result(&second).await.0, 200);
    let seen = c.requests("rr-lost").await;
    assert_eq!(seen.count_status(Endpoint::Status, 404), 2);
    assert_eq!(seen.count(Endpoint::Analyze), 2);
}

#[tokio::test]
async fn poll_transient_failures_then_completion() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let session = c.submit("rr-pt", "mock-poll-transient-2").await;
    assert_eq!(c.status(&session).await.0, 503);
    assert_eq!(c.status(&session).await.0, 503);
    assert_eq!(c.status(&session).await.1["status"], "completed");
    assert_eq!(
        c.requests("rr-pt")
            .await
            .count_status(Endpoint::Status, 503),
        2
    );
}

#[tokio::test]
async fn failed_and_malformed_sessions() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let failed = c.submit("rr-failed", "mock-session-failed").await;
    let (code, body) = c.status(&failed).await;
    assert_eq!((code, body["status"].clone()), (200, json!("failed")));
    assert!(body["error"].as_str().unwrap().contains("LLM provider"));
    assert_eq!(c.result(&failed).await.0, 409);

    let bad = c.submit("rr-bad", "mock-malformed-result").await;
    c.status(&bad).await;
    c.status(&bad).await;
    let (code, result) = c.result(&bad).await;
    assert_eq!(code, 200);
    assert_eq!(result["root_cause"], 42);
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_every_field() {
    let mock = mock().await;
    let c = Client::new(&mock);
    let mut body = request("rr-x", "HighMemoryUsage");
    body.as_object_mut().unwrap().remove("fingerprint");
    body["severity"] = json!("");
    body["target_resource"] = json!({"kind": "Deployment"});
    let r = c
        .http
        .post(format!("{}/api/v1/incident/analyze", c.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let problem: Value = r.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    for needle in [
        "severity must not be empty",
        "fingerprint is required",
        "target_resource must be an object",
    ] {
        assert!(detail.contains(needle), "{needle}: {detail}");
    }
    let r = c
        .http
        .post(format!("{}/api/v1/incident/analyze", c.base))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        c.requests("rr-x").await.calls.is_empty(),
        "rejected input is not a call"
    );
}

#[tokio::test]
async fn unknown_sessions_and_a_missing_remediation_id() {
    let mock = mock().await;
    let c = Client::new(&mock);
    assert_eq!(c.status("no-such-session").await.0, 404);
    assert_eq!(c.result("no-such-session").await.0, 404);
    assert_eq!(c.get("/mock/requests").await.0, 400);
    assert!(c.requests("never-seen").await.calls.is_empty());
}

#[test]
fn url_for_tests_prefers_hapi_url_and_otherwise_starts_one_per_process() {
    // Runs in the test binary's own process: the variables are this process's.
    if std::env::var_os(hapi_mock::HAPI_URL_VAR).is_some() {
        return; // a run that exports it (nextest integration profile): nothing to prove here
    }
    if std::env::var_os("NEXTEST_RUN_ID").is_some() {
        let err = hapi_mock::url_for_tests().unwrap_err().to_string();
        assert!(err.contains("--profile integration"), "{err}");
        return;
    }
    let a = hapi_mock::url_for_tests().unwrap();
    let b = hapi_mock::url_for_tests().unwrap();
    assert_eq!(a, b, "one mock per process");
    // It answers from its own thread, whatever runtime the caller has (none here).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let code = rt.block_on(async {
        reqwest::get(format!("{a}/healthz"))
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(code, 200);
}
