//! Serves the mock over HTTP and keeps its state: sessions, per-remediation counters and the
//! log of calls the inspection endpoint returns.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::scenario::{AnalyzeRequest, POLLS_BEFORE_COMPLETION, Scenario};

/// Path of the submit endpoint.
pub const ANALYZE_PATH: &str = "/api/v1/incident/analyze";
/// Path of the inspection endpoint.
pub const REQUESTS_PATH: &str = "/mock/requests";
/// Path that releases a `mock-held` remediation.
pub const RELEASE_PATH: &str = "/mock/release";

/// Which endpoint a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /api/v1/incident/analyze`.
    Analyze,
    /// `GET /api/v1/incident/session/{id}`.
    Status,
    /// `GET /api/v1/incident/session/{id}/result`.
    Result,
}

/// One call the mock answered, as the inspection endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The session the call was about (the one created, for a successful analyze).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The body of an analyze call, as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
}

/// `GET /mock/requests?remediation_id=X`: what the mock received for one remediation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requests {
    /// The remediation asked about.
    pub remediation_id: String,
    /// Every call, oldest first.
    pub calls: Vec<Call>,
}

impl Requests {
    /// Calls to `endpoint`.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.calls.iter().filter(|c| c.endpoint == endpoint).count()
    }

    /// Calls to `endpoint` answered with `status`.
    pub fn count_status(&self, endpoint: Endpoint, status: u16) -> usize {
        self.calls
            .iter()
            .filter(|c| c.endpoint == endpoint && c.status == status)
            .count()
    }
}

#[derive(Debug)]
struct Session {
    remediation_id: String,
    scenario: Scenario,
    request: AnalyzeRequest,
    polls: u32,
}

#[derive(Debug, Default)]
struct Remediation {
    analyze_calls: u32,
    status_calls: u32,
    sessions_created: u32,
    /// A `mock-held` remediation's sessions may complete.
    released: bool,
    calls: Vec<Call>,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    /// Sessions the mock "lost": polls answer 404, but the call is still attributed.
    lost: HashMap<String, String>,
    remediations: HashMap<String, Remediation>,
}

/// The mock's state; clones share it.
#[derive(Debug, Clone, Default)]
pub struct MockState {
    inner: Arc<Mutex<Inner>>,
}

impl MockState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking handler cannot leave the maps half-updated in a way that matters more
        // than losing the whole mock: keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the mock received for `remediation_id` (empty when it never heard of it).
    pub fn requests(&self, remediation_id: &str) -> Requests {
        let inner = self.lock();
        Requests {
            remediation_id: remediation_id.to_owned(),
            calls: inner
                .remediations
                .get(remediation_id)
                .map(|r| r.calls.clone())
                .unwrap_or_default(),
        }
    }
}

/// The mock's routes over `state`.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route(ANALYZE_PATH, post(analyze))
        .route("/api/v1/incident/session/{id}", get(session_status))
        .route("/api/v1/incident/session/{id}/result", get(session_result))
        .route(REQUESTS_PATH, get(requests))
        .route(RELEASE_PATH, post(release))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// An RFC 7807 problem answer.
fn problem(status: StatusCode, title: &str, detail: impl Into<String>) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn record(inner: &mut Inner, remediation_id: &str, call: Call) {
    inner
        .remediations
        .entry(remediation_id.to_owned())
        .or_default()
        .calls
        .push(call);
}

async fn analyze(State(state): State<MockState>, body: Bytes) -> Response {
    let request = match AnalyzeRequest::parse(&body) {
        Ok(r) => r,
        Err(problems) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid analyze request",
                problems.join("; "),
            );
        }
    };
    let scenario = Scenario::from_signal_name(&request.signal_name);
    // It parsed as an AnalyzeRequest, so it is JSON.
    let received: Option<Value> = serde_json::from_slice(&body).ok();
    let mut inner = state.lock();
    let remediation = inner
        .remediations
        .entry(request.remediation_id.clone())
        .or_default();
    remediation.analyze_calls += 1;
    let call = remediation.analyze_calls;
    let refused = match scenario {
        Scenario::AlwaysFail => Some(StatusCode::INTERNAL_SERVER_ERROR),
        Scenario::Transient(n) if call <= n => Some(StatusCode::INTERNAL_SERVER_ERROR),
        Scenario::Rejected => Some(StatusCode::BAD_REQUEST),
        _ => None,
    };
    if let Some(status) = refused {
        remediation.calls.push(Call {
            endpoint: Endpoint::Analyze,
            session_id: None,
            status: status.as_u16(),
            request: received,
        });
        return if status == StatusCode::BAD_REQUEST {
            problem(
                status,
                "analysis refused",
                format!(
                    "scenario mock-rejected: HolmesGPT-API refuses to analyse signal {}",
                    request.signal_name
                ),
            )
        } else {
            problem(
                status,
                "internal error",
                format!(
                    "scenario {}: analyze call {call} fails",
                    request.signal_name
                ),
            )
        };
    }
    remediation.sessions_created += 1;
    let first_session = remediation.sessions_created == 1;
    let session_id = uuid::Uuid::new_v4().to_string();
    remediation.calls.push(Call {
        endpoint: Endpoint::Analyze,
        session_id: Some(session_id.clone()),
        status: StatusCode::ACCEPTED.as_u16(),
        request: received,
    });
    // Only the first session of a session-lost remediation is lost; the recreated one works.
    let scenario = match scenario {
        Scenario::SessionLost if !first_session => Scenario::Default,
        s => s,
    };
    let remediation_id = request.remediation_id.clone();
    inner.sessions.insert(
        session_id.clone(),
        Session {
            remediation_id,
            scenario,
            request,
            polls: 0,
        },
    );
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"session_id": session_id})),
    )
        .into_response()
}

async fn session_status(State(state): State<MockState>, Path(id): Path<String>) -> Response {
    let mut inner = state.lock();
    let inner = &mut *inner;
    if let Some(remediation_id) = inner.lost.get(&id).cloned() {
        record(
            inner,
            &remediation_id,
            Call {
                endpoint: Endpoint::Status,
                session_id: Some(id.clone()),
                status: 404,
                request: None,
            },
        );
        return unknown_session(&id);
    }
    let Some(session) = inner.sessions.get_mut(&id) else {
        return unknown_session(&id);
    };
    session.polls += 1;
    let remediation_id = session.remediation_id.clone();
    let scenario = session.scenario;
    let polls = session.polls;
    let remediation = inner
        .remediations
        .entry(remediation_id.clone())
        .or_default();
    remediation.status_calls += 1;
    let status_calls = remediation.status_calls;
    let released = remediation.released;
    let (code, body) = match scenario {
        Scenario::Held if !released => (
            StatusCode::OK,
            Some(json!({"session_id": id, "status": "investigating"})),
        ),
        Scenario::Held => (
            StatusCode::OK,
            Some(json!({"session_id": id, "status": "completed"})),
        ),
        Scenario::SessionLost => {
            inner.sessions.remove(&id);
            inner.lost.insert(id.clone(), remediation_id.clone());
            (StatusCode::NOT_FOUND, None)
        }
        Scenario::PollTransient(n) if status_calls <= n => (StatusCode::SERVICE_UNAVAILABLE, None),
        Scenario::NeverFinishes => (
            StatusCode::OK,
            Some(json!({"session_id": id, "status": "investigating"})),
        ),
        Scenario::SessionFailed => (
            StatusCode::OK,
            Some(
                json!({"session_id": id, "status": "failed", "error": "investigation failed: the LLM provider is unavailable (scenario mock-session-failed)"}),
            ),
        ),
        _ if polls <= POLLS_BEFORE_COMPLETION => (
            StatusCode::OK,
            Some(json!({"session_id": id, "status": "investigating"})),
        ),
        _ => (
            StatusCode::OK,
            Some(json!({"session_id": id, "status": "completed"})),
        ),
    };
    record(
        inner,
        &remediation_id,
        Call {
            endpoint: Endpoint::Status,
            session_id: Some(id.clone()),
            status: code.as_u16(),
            request: None,
        },
    );
    match body {
        Some(body) => (code, axum::Json(body)).into_response(),
        None if code == StatusCode::NOT_FOUND => unknown_session(&id),
        None => problem(
            code,
            "temporarily unavailable",
            format!("scenario mock-poll-transient: status poll {status_calls} fails"),
        ),
    }
}

fn unknown_session(id: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "unknown session",
        format!("session {id} does not exist (or was lost): submit the incident again"),
    )
}

async fn session_result(State(state): State<MockState>, Path(id): Path<String>) -> Response {
    let mut inner = state.lock();
    let inner = &mut *inner;
    if let Some(remediation_id) = inner.lost.get(&id).cloned() {
        record(
            inner,
            &remediation_id,
            Call {
                endpoint: Endpoint::Result,
                session_id: Some(id.clone()),
                status: 404,
                request: None,
            },
        );
        return unknown_session(&id);
    }
    let Some(session) = inner.sessions.get(&id) else {
        return unknown_session(&id);
    };
    let completed = match session.scenario {
        Scenario::NeverFinishes | Scenario::SessionFailed | Scenario::SessionLost => false,
        Scenario::Held => inner
            .remediations
            .get(&session.remediation_id)
            .is_some_and(|r| r.released),
        _ => session.polls > POLLS_BEFORE_COMPLETION,
    };
    let remediation_id = session.remediation_id.clone();
    let response = if completed {
        let mut body = session.scenario.result(&session.request);
        if let Some(obj) = body.as_object_mut() {
            obj.insert("session_id".to_owned(), Value::String(id.clone()));
        }
        (StatusCode::OK, axum::Json(body)).into_response()
    } else {
        problem(
            StatusCode::CONFLICT,
            "not completed",
            format!("session {id} has not completed: poll its status until it is completed"),
        )
    };
    record(
        inner,
        &remediation_id,
        Call {
            endpoint: Endpoint::Result,
            session_id: Some(id.clone()),
            status: response.status().as_u16(),
            request: None,
        },
    );
    response
}

#[derive(Deserialize)]
struct RequestsQuery {
    remediation_id: Option<String>,
}

async fn requests(State(state): State<MockState>, Query(q): Query<RequestsQuery>) -> Response {
    match q.remediation_id.filter(|r| !r.is_empty()) {
        Some(id) => axum::Json(state.requests(&id)).into_response(),
        None => problem(
            StatusCode::BAD_REQUEST,
            "missing remediation_id",
            "GET /mock/requests needs ?remediation_id=<id>",
        ),
    }
}

/// `POST /mock/release?remediation_id=X`: lets a `mock-held` remediation's sessions complete.
async fn release(State(state): State<MockState>, Query(q): Query<RequestsQuery>) -> Response {
    match q.remediation_id.filter(|r| !r.is_empty()) {
        Some(id) => {
            state.lock().remediations.entry(id).or_default().released = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => problem(
            StatusCode::BAD_REQUEST,
            "missing remediation_id",
            "POST /mock/release needs ?remediation_id=<id>",
        ),
    }
}

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// Binding the listen address failed.
    #[error("failed to bind the HolmesGPT-API mock to {addr}; is the address free?")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Under nextest, the setup script's `HAPI_URL` is missing.
    #[error(
        "{var} is not set under nextest: run the suite with `cargo nextest run --profile integration`, whose setup script starts the shared HolmesGPT-API mock"
    )]
    MissingUnderNextest {
        /// The variable.
        var: &'static str,
    },
    /// The in-process mock's thread or runtime could not start.
    #[error("failed to start the in-process HolmesGPT-API mock: {0}")]
    Spawn(String),
}

/// A running mock. Shutdown is an input: cancel [`RunningMock::shutdown_token`] (or call
/// [`RunningMock::shutdown`]).
pub struct RunningMock {
    addr: SocketAddr,
    state: MockState,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningMock {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its state (what the inspection endpoint serves).
    pub fn state(&self) -> &MockState {
        &self.state
    }

    /// Cancelling it stops the server.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits until the server stopped (after the token is cancelled).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(format!(
                "the mock's task failed: {e}"
            ))),
        }
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.stop.cancel();
        self.wait().await
    }
}

/// Starts the mock on `addr` (use `127.0.0.1:0`) on the current runtime.
pub async fn start(addr: SocketAddr) -> Result<RunningMock, MockError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MockError::Bind { addr, source })?;
    serve(listener).map_err(|source| MockError::Bind { addr, source })
}

/// Serves the mock on an already bound listener, on the current runtime.
pub fn serve(listener: tokio::net::TcpListener) -> std::io::Result<RunningMock> {
    let addr = listener.local_addr()?;
    let state = MockState::default();
    let stop = CancellationToken::new();
    let app = router(state.clone());
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopped.cancelled().await })
            .await
    });
    Ok(RunningMock {
        addr,
        state,
        stop,
        task,
    })
}
