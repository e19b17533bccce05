//! Talks to HolmesGPT-API (submit an incident, poll its session, fetch the result) and sorts
//! every failure into what the controller does about it: retry, resubmit or give up.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::aianalysis::{AIAnalysis, SelectedWorkflow};

/// Why a call did not give an answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// Worth retrying: a connection error, a timeout, 5xx, 408 or 429.
    #[error("transient HolmesGPT-API error: {0}")]
    Transient(String),
    /// HolmesGPT-API refused the request (another 4xx): retrying cannot help.
    #[error("HolmesGPT-API rejected the request: {0}")]
    Rejected(String),
    /// The session is unknown to HolmesGPT-API (404): submit the incident again.
    #[error("HolmesGPT-API does not know session {0}")]
    SessionLost(String),
    /// The result was asked for before the session completed (409).
    #[error("session {0} has not completed")]
    NotCompleted(String),
    /// A 2xx answer without the documented shape.
    #[error("invalid HolmesGPT-API response from {endpoint}: {message}")]
    Invalid {
        /// The endpoint.
        endpoint: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// `POST /api/v1/incident/analyze` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzeBody {
    /// Remediation id (the parent RR's name).
    pub remediation_id: String,
    /// Signal name.
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
    pub target_resource: TargetBody,
    /// Enrichment from SignalProcessing, as sent (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrichment_results: Option<serde_json::Value>,
}

/// The target in an analyze body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetBody {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl AnalyzeBody {
    /// The body for `aia`.
    pub fn for_analysis(aia: &AIAnalysis) -> AnalyzeBody {
        let ctx = &aia.spec.analysis_request.signal_context;
        AnalyzeBody {
            remediation_id: aia.spec.remediation_id.clone(),
            signal_name: ctx.signal_name.clone(),
            severity: ctx.severity.clone(),
            environment: ctx.environment.name().to_owned(),
            fingerprint: ctx.fingerprint.clone(),
            business_priority: ctx.business_priority.name().to_owned(),
            target_resource: TargetBody {
                kind: ctx.target_resource.kind.clone(),
                name: ctx.target_resource.name.clone(),
                namespace: ctx.target_resource.namespace.clone(),
            },
            enrichment_results: ctx
                .enrichment_results
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok()),
        }
    }
}

/// A session's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// Queued.
    Pending,
    /// Running.
    Investigating,
    /// Done: fetch the result.
    Completed,
    /// Ended without a result, with HolmesGPT-API's error.
    Failed(String),
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct SubmitBody {
    session_id: String,
}

#[derive(Deserialize)]
struct ResultBody {
    root_cause: String,
    #[serde(default)]
    selected_workflow: Option<WorkflowBody>,
}

#[derive(Deserialize)]
struct WorkflowBody {
    workflow_id: String,
    action_type: String,
    confidence: f64,
    #[serde(default)]
    parameters: BTreeMap<String, serde_json::Value>,
}

/// A completed analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisResult {
    /// The root cause.
    pub root_cause: String,
    /// The selected workflow; `None` when no workflow is needed.
    pub selected_workflow: Option<SelectedWorkflow>,
}

/// A HolmesGPT-API client (cheap to clone).
#[derive(Debug, Clone)]
pub struct HapiClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

/// HTTP statuses that are worth a retry besides 5xx: 408 Request Timeout, 429 Too Many Requests.
const RETRYABLE_4XX: [u16; 2] = [408, 429];

impl HapiClient {
    /// A client of HolmesGPT-API at `base` (e.g. `http://127.0.0.1:8080`); every call is
    /// bounded by `timeout`.
    pub fn new(base: &str, timeout: Duration) -> HapiClient {
        HapiClient {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            timeout,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Submits an incident; returns the session id.
    pub async fn submit(&self, body: &AnalyzeBody) -> Result<String, CallError> {
        let endpoint = "POST /api/v1/incident/analyze";
        let response = self
            .http
            .post(format!("{}/api/v1/incident/analyze", self.base))
            .timeout(self.timeout)
            .json(body)
            .send()
            .await;
        let text = Self::answer(endpoint, response, None).await?;
        let parsed: SubmitBody = parse(endpoint, &text)?;
        if parsed.session_id.is_empty() {
            return Err(CallError::Invalid {
                endpoint,
                message: "empty session_id".to_owned(),
            });
        }
        Ok(parsed.session_id)
    }

    /// Polls a session.
    pub async fn status(&self, session: &str) -> Result<SessionState, CallError> {
        let endpoint = "GET /api/v1/incident/session/{id}";
        let response = self
            .http
            .get(format!("{}/api/v1/incident/session/{session}", self.base))
            .timeout(self.timeout)
            .send()
            .await;
        let text = Self::answer(endpoint, response, Some(session)).await?;
        let parsed: StatusBody = parse(endpoint, &text)?;
        match parsed.status.as_str() {
            "pending" => Ok(SessionState::Pending),
            "investigating" => Ok(SessionState::Investigating),
            "completed" => Ok(SessionState::Completed),
            "failed" => Ok(SessionState::Failed(
                parsed.error.unwrap_or_else(|| "no error given".to_owned()),
            )),
            other => Err(CallError::Invalid {
                endpoint,
                message: format!("unknown session status {other:?}"),
            }),
        }
    }

    /// Fetches a completed session's result.
    pub async fn result(&self, session: &str) -> Result<AnalysisResult, CallError> {
        let endpoint = "GET /api/v1/incident/session/{id}/result";
        let response = self
            .http
            .get(format!(
                "{}/api/v1/incident/session/{session}/result",
                self.base
            ))
            .timeout(self.timeout)
            .send()
            .await;
        let text = Self::answer(endpoint, response, Some(session)).await?;
        let parsed: ResultBody = parse(endpoint, &text)?;
        let selected_workflow = match parsed.selected_workflow {
            None => None,
            Some(w) => {
                if !(0.0..=1.0).contains(&w.confidence) {
                    return Err(CallError::Invalid {
                        endpoint,
                        message: format!("confidence {} is outside 0..1", w.confidence),
                    });
                }
                Some(SelectedWorkflow {
                    workflow_id: w.workflow_id,
                    action_type: w.action_type,
                    confidence: w.confidence,
                    parameters: w
                        .parameters
                        .into_iter()
                        .map(|(k, v)| match v {
                            serde_json::Value::String(s) => (k, s),
                            other => (k, other.to_string()),
                        })
                        .collect(),
                })
            }
        };
        Ok(AnalysisResult {
            root_cause: parsed.root_cause,
            selected_workflow,
        })
    }

    /// The body of a 2xx answer, or the error the answer means.
    async fn answer(
        endpoint: &'static str,
        response: Result<reqwest::Response, reqwest::Error>,
        session: Option<&str>,
    ) -> Result<String, CallError> {
        let response = response.map_err(|e| CallError::Transient(format!("{endpoint}: {e}")))?;
        let code = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| CallError::Transient(format!("{endpoint}: reading the body: {e}")))?;
        match code {
            200..=299 => Ok(text),
            404 if session.is_some() => Err(CallError::SessionLost(
                session.unwrap_or_default().to_owned(),
            )),
            409 if session.is_some() => Err(CallError::NotCompleted(
                session.unwrap_or_default().to_owned(),
            )),
            c if c >= 500 || RETRYABLE_4XX.contains(&c) => Err(CallError::Transient(format!(
                "{endpoint} answered {c}: {}",
                detail(&text)
            ))),
            c => Err(CallError::Rejected(format!(
                "{endpoint} answered {c}: {}",
                detail(&text)
            ))),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    endpoint: &'static str,
    text: &str,
) -> Result<T, CallError> {
    serde_json::from_str(text).map_err(|e| CallError::Invalid {
        endpoint,
        message: e.to_string(),
    })
}

/// The `detail` of a problem+json body, else the body itself (bounded, for messages).
fn detail(text: &str) -> String {
    /// Longest body quoted in an error message.
    const MAX_QUOTED: usize = 300;
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(MAX_QUOTED).collect())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use super::*;

    async fn mock() -> hapi_mock::RunningMock {
        hapi_mock::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("start the mock")
    }

    fn body(remediation_id: &str, signal: &str) -> AnalyzeBody {
        let mut aia = AIAnalysis::test("unit").with_signal_name(signal);
        aia.spec.remediation_id = remediation_id.to_owned();
        AnalyzeBody::for_analysis(&aia)
    }

    /// A client with a timeout far above any answer of a local mock.
    fn client(base: &str) -> HapiClient {
        HapiClient::new(base, Duration::from_secs(10))
    }

    #[tokio::test]
    async fn a_session_goes_from_investigating_to_a_result() {
        let mock = mock().await;
        let hapi = client(&format!("{}/", mock.url()));
        let session = hapi.submit(&body("u-ok", "HighMemoryUsage")).await.unwrap();
        assert_eq!(
            hapi.result(&session).await,
            Err(CallError::NotCompleted(session.clone()))
        );
        assert_eq!(hapi.status(&session).await, Ok(SessionState::Investigating));
        assert_eq!(hapi.status(&session).await, Ok(SessionState::Completed));
        let result = hapi.result(&session).await.unwrap();
        let workflow = result.selected_workflow.unwrap();
        assert_eq!(workflow.workflow_id, "restart-deployment-v1");
        assert_eq!(workflow.confidence, 0.9);
        assert_eq!(workflow.parameters["TARGET_NAME"], "unit");
        assert!(result.root_cause.contains("HighMemoryUsage"));
    }

    #[tokio::test]
    async fn answers_are_sorted_into_what_the_controller_does() {
        let mock = mock().await;
        let hapi = client(&mock.url());
        assert!(matches!(
            hapi.submit(&body("u-500", "mock-always-500")).await,
            Err(CallError::Transient(m)) if m.contains("answered 500")
        ));
        assert!(matches!(
            hapi.submit(&body("u-400", "mock-rejected")).await,
            Err(CallError::Rejected(m)) if m.contains("mock-rejected")
        ));
        assert_eq!(
            hapi.status("nope").await,
            Err(CallError::SessionLost("nope".to_owned()))
        );
        let failed = hapi
            .submit(&body("u-failed", "mock-session-failed"))
            .await
            .unwrap();
        assert!(matches!(
            hapi.status(&failed).await,
            Ok(SessionState::Failed(e)) if e.contains("LLM provider")
        ));
        let bad = hapi
            .submit(&body("u-bad", "mock-malformed-result"))
            .await
            .unwrap();
        hapi.status(&bad).await.unwrap();
        hapi.status(&bad).await.unwrap();
        assert!(matches!(
            hapi.result(&bad).await,
            Err(CallError::Invalid { endpoint, .. }) if endpoint.ends_with("/result")
        ));
        let none = hapi
            .submit(&body("u-none", "mock-no-workflow"))
            .await
            .unwrap();
        hapi.status(&none).await.unwrap();
        hapi.status(&none).await.unwrap();
        assert_eq!(hapi.result(&none).await.unwrap().selected_workflow, None);
    }

    #[tokio::test]
    async fn a_closed_port_is_a_transient_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let hapi = client(&format!("http://{addr}"));
        assert!(matches!(
            hapi.submit(&body("u-down", "HighMemoryUsage")).await,
            Err(CallError::Transient(_))
        ));
    }

    #[test]
    fn problem_details_are_quoted_and_long_bodies_cut() {
        assert_eq!(detail(r#"{"detail": "why"}"#), "why");
        assert_eq!(detail("plain"), "plain");
        assert_eq!(detail(&"x".repeat(1000)).len(), 300);
    }
}
