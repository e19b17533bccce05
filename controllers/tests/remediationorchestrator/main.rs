//! The RemediationOrchestrator integration suite: a RemediationRequest goes end to end through
//! the real child controllers (SignalProcessing, AIAnalysis against the HolmesGPT-API mock,
//! WorkflowExecution, Notification) running with the orchestrator in each test process's own
//! manager. Tests drive only the batch/v1 Job status (there is no Job controller in a test API
//! server) and the mock's scenario (the signal name); timeouts and cooldowns are reached by
//! moving a clock of the orchestrator's own.
//!
//! Every test works in a namespace of its own, with request names unique across processes
//! and runs, so the tests also pass when they share one process (plain `cargo test`). The
//! suites are per-process only: the single-controller baseline's shared manager does not run
//! the orchestrator with its children.

mod approval;
mod blocking;
mod env;
mod failures;
mod lifecycle;
mod observability;
mod scenario;
mod timeouts;
mod touch;
