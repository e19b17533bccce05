//! The NotificationRequest controller: routes a notification to its channels (console, file,
//! webhook), retries failed deliveries with jittered backoff behind a per-channel circuit
//! breaker, and never delivers the same attempt twice.

pub mod breaker;
pub mod channels;
pub mod config;
pub mod controller;
pub mod metrics;
pub mod plan;
pub mod rbac;

pub use breaker::{BreakerState, CircuitBreaker};
pub use config::{BreakerConfig, ChannelConfig, Config, ConfigError, Route, RoutingConfig};
pub use controller::{
    CLAIM_ANNOTATION, CONTROLLER_NAME, Context, Error, error_policy, reconcile, register,
};
pub use metrics::Metrics;
