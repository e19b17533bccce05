//! Audit event model shared by DataStorage and its clients, and the buffered per-process audit store.
//!
//! - [`event`]: the event schema (version 1.0) and its validation, naming the offending field.
//! - [`api`]: DataStorage's paths, response bodies, query parameters and problem documents.
//! - [`client`]: a small HTTP client for DataStorage (post a batch, list events).
//! - [`store`]: the buffered store controllers record into; it never blocks the caller.

pub mod api;
pub mod client;
pub mod event;
pub mod store;

pub use api::{BatchResponse, EventIdResponse, EventQuery, ListResponse, Pagination, Problem};
pub use client::{Accepted, Client, ClientError};
pub use event::{AuditEvent, EVENT_VERSION, EventOutcome, MAX_BATCH_EVENTS, ValidationError};
pub use store::{AuditStore, DropReason, RecordError, RetryPolicy, StoreConfig, StoreReport};
