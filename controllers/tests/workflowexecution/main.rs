//! The WorkflowExecution integration suite — the seed's reference implementation of the
//! controller-per-process pattern: every test process has its own API server running the
//! WorkflowExecution controller, its own metrics registry and audit buffer; DataStorage is shared.
//!
//! There is no Job controller in a test API server: tests play it, writing Job (and Pod) status.
//! Every test works in namespaces of its own and on targets of its own, so tests also pass when
//! they share one process (plain `cargo test`) and in the single-controller baseline
//! (`--profile integration-single`: one shared API server and manager, controller tests
//! serialized), where metric assertions are deltas and the two suites with a controller
//! configuration of their own (long cooldown, late namespace) are skipped.

mod env;
mod failures;
mod lifecycle;
mod lock;
mod observability;
mod validation;
