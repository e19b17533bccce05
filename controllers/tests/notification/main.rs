//! The NotificationRequest integration suite on the per-process fixture: every test process
//! has its own API server running the Notification controller, its own metrics registry and
//! audit buffer, and its own webhook target (a small axum server on 127.0.0.1:0, scripted by
//! the notification's subject); DataStorage is shared.
//!
//! Every test works in a namespace of its own and scripts the webhook per notification, so
//! tests also pass when they share one process (plain `cargo test`). Tests that depend on
//! process-wide state (circuit breakers, exact metric values, a controller restart) have a
//! suite of their own.

mod breaker;
mod channels;
mod delivery;
mod env;
mod observability;
mod restart;
mod retries;
mod webhook;
