//! A deterministic HolmesGPT-API (HAPI) mock for the AIAnalysis controller's tests: started
//! once per test run as shared infrastructure (by the nextest setup script, which exports
//! [`HAPI_URL_VAR`]), or once per process under plain `cargo test` ([`url_for_tests`]).
//!
//! # Protocol
//! - `POST /api/v1/incident/analyze` with a JSON body `{remediation_id, signal_name, severity,
//!   environment, fingerprint, business_priority, target_resource {kind, name, namespace?},
//!   enrichment_results?}` → `202 {"session_id": "..."}`; a malformed body or a missing field
//!   → `400` `application/problem+json` naming every problem.
//! - `GET /api/v1/incident/session/{id}` → `200 {"session_id", "status":
//!   "pending"|"investigating"|"completed"|"failed", "error"?}`; `404` for an unknown (or lost)
//!   session: the client must submit again.
//! - `GET /api/v1/incident/session/{id}/result` → `200 {"session_id", "root_cause",
//!   "selected_workflow": {"workflow_id", "action_type", "confidence", "parameters": {..}} | null}`;
//!   `409` until the session completed.
//! - `GET /mock/requests?remediation_id=X` → `{"remediation_id", "calls": [{"endpoint":
//!   "analyze"|"status"|"result", "session_id"?, "status"}]}`, oldest first: tests count retries
//!   exactly with it.
//! - `POST /mock/release?remediation_id=X` → `204`: lets a `mock-held` remediation complete
//!   (tests use it to hold an analysis in Investigating for as long as they need).
//!
//! # Scenarios
//! Chosen by the request's `signal_name`; every piece of state (calls, sessions, failure
//! counters) is keyed by `remediation_id`, which tests make unique, so parallel test processes
//! sharing one mock never see each other's state.
//!
//! | `signal_name`               | behaviour                                                                 |
//! |-----------------------------|---------------------------------------------------------------------------|
//! | anything else               | 1st poll `investigating`, then `completed`; workflow `restart-deployment-v1` / `RestartDeployment`, confidence 0.9 |
//! | `mock-low-confidence`       | as default, confidence 0.6                                                |
//! | `mock-very-low-confidence`  | as default, confidence 0.3                                                |
//! | `mock-destructive-action`   | as default, action type `DeleteNamespace`                                 |
//! | `mock-no-workflow`          | completes with `selected_workflow: null` (no workflow needed)             |
//! | `mock-transient-N`          | analyze answers 500 N times (N ≤ 20), then as default                     |
//! | `mock-always-500`           | analyze always answers 500                                                |
//! | `mock-rejected`             | analyze answers 400 (not retryable)                                       |
//! | `mock-never-finishes`       | sessions stay `investigating`                                             |
//! | `mock-held`                 | sessions stay `investigating` until `POST /mock/release?remediation_id=X`, then complete as default |
//! | `mock-session-lost`         | the first session's first poll answers 404 (lost); later sessions as default |
//! | `mock-poll-transient-N`     | status polls answer 503 N times (N ≤ 20), then as default                 |
//! | `mock-session-failed`       | the session ends `failed` with an `error`                                 |
//! | `mock-malformed-result`     | completes, but the result has the wrong shape (`root_cause` a number)     |

mod process;
pub mod scenario;
mod server;

pub use process::{HAPI_URL_VAR, url_for_tests};
pub use scenario::{AnalyzeRequest, Scenario, TargetResource};
pub use server::{
    ANALYZE_PATH, Call, Endpoint, MockError, MockState, RELEASE_PATH, REQUESTS_PATH, Requests,
    RunningMock, router, serve, start,
};
