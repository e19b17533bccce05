//! Owns the DataStorage wire contract that is not the event itself: paths, response bodies,
//! query parameters and the RFC 7807 problem document, so the server and its clients cannot drift.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{AuditEvent, EventOutcome};

/// Path of the single-event and list endpoints.
pub const EVENTS_PATH: &str = "/api/v1/audit/events";
/// Path of the batch endpoint.
pub const BATCH_PATH: &str = "/api/v1/audit/events/batch";
/// Request header that makes a POST safe to retry: DataStorage derives the events' ids from
/// it (and from each event's index and content), so resending the same request with the same
/// key stores nothing twice, whether or not the first attempt got through. Optional; a client
/// that retries must send it. 1 to 255 visible ASCII characters (a UUID is a good key).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Media type of error bodies (RFC 7807).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Default page size of the list endpoint.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size of the list endpoint.
pub const MAX_LIMIT: u32 = 1000;

/// Answer to `POST /api/v1/audit/events` (201 stored, 202 queued in the dead-letter queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventIdResponse {
    /// The identifier assigned to the event.
    pub event_id: Uuid,
}

/// Answer to `POST /api/v1/audit/events/batch` (201 stored, 202 queued), ids in request order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// The identifiers assigned to the events, in request order.
    pub event_ids: Vec<Uuid>,
}

/// Paging information of a list answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    /// Page size used.
    pub limit: u32,
    /// Number of matching events skipped.
    pub offset: u64,
    /// Number of matching events in total.
    pub total: u64,
    /// Whether events remain after this page.
    pub has_more: bool,
}

/// Answer to `GET /api/v1/audit/events`: matching events, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListResponse {
    /// The page of events; each has `event_id` set.
    pub data: Vec<AuditEvent>,
    /// Where this page sits in the result.
    pub pagination: Pagination,
}

/// Filters of `GET /api/v1/audit/events`. `since`/`until` take RFC 3339 or a relative
/// duration back from now such as `15m`, `2h`, `7d`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// Exact event type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Exact event category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_category: Option<String>,
    /// Outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_outcome: Option<EventOutcome>,
    /// Exact correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Exact actor id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// Events at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Events at or before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Matching events to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl EventQuery {
    /// A query for one correlation id (how tests and controllers usually look events up).
    pub fn correlation(correlation_id: impl Into<String>) -> Self {
        Self {
            correlation_id: Some(correlation_id.into()),
            ..Self::default()
        }
    }
}

/// An RFC 7807 problem document, with `field` naming the offending input when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// The offending field or parameter, when the problem is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
