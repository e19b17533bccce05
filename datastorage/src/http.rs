//! Owns the HTTP surface: routes, bearer-token check, request parsing into validated events and
//! filters, the write path (PostgreSQL, else the dead-letter queue) and RFC 7807 error answers.
//!
//! Authentication: every route needs `Authorization: Bearer <token>` except `/healthz` and
//! `/readyz`, which probes (kubelet, the setup script) call without credentials and which reveal
//! only up/down. `/metrics` needs the token.

use std::sync::Arc;
use std::time::Instant;

use audit::api::{DEFAULT_LIMIT, IDEMPOTENCY_KEY, MAX_LIMIT, PROBLEM_CONTENT_TYPE};
use audit::{
    AuditEvent, BatchResponse, EventIdResponse, EventOutcome, ListResponse, MAX_BATCH_EVENTS,
    Pagination, Problem,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use prometheus_client::registry::Registry;
use serde_json::Value;
use uuid::Uuid;

use crate::dlq::Dlq;
use crate::metrics::{Destination, Metrics};
use crate::postgres::{Filter, Pg, PgError};

/// Largest request body. A full batch is 1,000 events of at most 16 KiB of `event_data` each
/// plus their other fields; 32 MiB admits that and refuses anything larger before parsing.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Base of the problem `type` URIs.
const PROBLEM_BASE: &str = "https://kubernaut.ai/problems/datastorage";

/// Shared state of the handlers.
pub(crate) struct AppState {
    pub pg: Pg,
    pub dlq: Dlq,
    pub metrics: Metrics,
    pub registry: Registry,
    pub token: String,
}

/// The service's router.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let protected = Router::new()
        .route(audit::api::EVENTS_PATH, post(post_event).get(list_events))
        .route(audit::api::BATCH_PATH, post(post_batch))
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .with_state(state)
}

/// An RFC 7807 answer.
pub(crate) struct ProblemResponse {
    status: StatusCode,
    problem: Problem,
    www_authenticate: bool,
}

impl ProblemResponse {
    fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            problem: Problem {
                problem_type: format!("{PROBLEM_BASE}/{slug}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                field: None,
            },
            www_authenticate: false,
        }
    }

    fn field(mut self, field: impl Into<String>) -> Self {
        self.problem.field = Some(field.into());
        self
    }

    fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "validation-error",
            "Invalid request",
            detail,
        )
        .field(field)
    }
}

impl IntoResponse for ProblemResponse {
    fn into_response(self) -> Response {
        // Serialising a struct of strings cannot fail.
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if self.www_authenticate {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"datastorage\""),
            );
        }
        response
    }
}

async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme name is case-insensitive (RFC 9110 section 11.1).
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token)
        });
    let detail = match presented {
        None => {
            "missing bearer token: send `Authorization: Bearer <token>` with the token DataStorage was started with"
        }
        Some(token) if constant_time_eq(token.trim().as_bytes(), state.token.as_bytes()) => {
            return next.run(request).await;
        }
        Some(_) => "invalid bearer token: it does not match the token DataStorage was started with",
    };
    let mut problem = ProblemResponse::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Unauthorized",
        detail,
    )
    .field("Authorization");
    problem.www_authenticate = true;
    problem.into_response()
}

/// Compares without an early exit, so the answer time does not leak how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn record_request(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    // The matched route template, not the raw path: label values must stay few.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let (pg, redis) = tokio::join!(state.pg.ping(), state.dlq.ping());
    let mut failures = Vec::new();
    if let Err(e) = pg {
        failures.push(format!("PostgreSQL: {e}"));
    }
    if let Err(e) = redis {
        failures.push(format!("Redis: {e}"));
    }
    if failures.is_empty() {
        axum::Json(serde_json::json!({ "status": "ready" })).into_response()
    } else {
        ProblemResponse::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            failures.join("; "),
        )
        .into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        return ProblemResponse::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            format!("failed to encode metrics: {e}"),
        )
        .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn not_found() -> ProblemResponse {
    ProblemResponse::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such endpoint; see /api/v1/audit/events",
    )
}

async fn method_not_allowed() -> ProblemResponse {
    ProblemResponse::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this endpoint does not take that method",
    )
}

/// Reads a JSON body: the content type, the size and the syntax, each failure a problem.
fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, ProblemResponse> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ProblemResponse::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!("Content-Type must be application/json, got {content_type:?}"),
        )
        .field("Content-Type"));
    }
    let bytes = body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ProblemResponse::new(
                status,
                "payload-too-large",
                "Payload too large",
                format!("the body exceeds {MAX_BODY_BYTES} bytes; send smaller batches"),
            )
            .field("body")
        } else {
            ProblemResponse::new(status, "bad-body", "Unreadable body", rejection.body_text())
                .field("body")
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ProblemResponse::validation("body", format!("malformed JSON: {e}")))
}

async fn post_event(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = idempotency_key(&headers).and_then(|key| {
        let value = json_body(&headers, body)?;
        let event = AuditEvent::from_request(value)
            .map_err(|e| ProblemResponse::validation(e.field.clone(), e.to_string()))?;
        Ok((key, event))
    });
    let (key, mut event) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            state.metrics.rejected();
            return problem.into_response();
        }
    };
    let id = event_id(key.as_deref(), 0, &event);
    event.event_id = Some(id);
    match write(&state, &[event]).await {
        Ok(status) => (status, axum::Json(EventIdResponse { event_id: id })).into_response(),
        Err(problem) => problem.into_response(),
    }
}

async fn post_batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(problem) => {
            state.metrics.rejected();
            return problem.into_response();
        }
    };
    let parsed = json_body(&headers, body).and_then(|value| {
        let Value::Array(items) = value else {
            return Err(ProblemResponse::validation(
                "body",
                "a batch must be a JSON array of events",
            ));
        };
        if items.is_empty() {
            return Err(ProblemResponse::validation(
                "body",
                "a batch must hold at least one event",
            ));
        }
        if items.len() > MAX_BATCH_EVENTS {
            return Err(ProblemResponse::validation(
                "body",
                format!(
                    "a batch holds at most {MAX_BATCH_EVENTS} events, got {}; split it",
                    items.len()
                ),
            ));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                AuditEvent::from_request(item).map_err(|e| {
                    let e = e.in_batch(i);
                    ProblemResponse::validation(e.field.clone(), e.to_string())
                })
            })
            .collect::<Result<Vec<_>, _>>()
    });
    let mut events = match parsed {
        Ok(events) => events,
        Err(problem) => {
            state.metrics.rejected();
            return problem.into_response();
        }
    };
    let ids: Vec<Uuid> = events
        .iter_mut()
        .enumerate()
        .map(|(i, e)| {
            let id = event_id(key.as_deref(), i, e);
            e.event_id = Some(id);
            id
        })
        .collect();
    match write(&state, &events).await {
        Ok(status) => (status, axum::Json(BatchResponse { event_ids: ids })).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// Longest accepted `Idempotency-Key`: a UUID is 36 characters; 255 admits any reasonable
/// scheme without letting a header carry a blob.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Namespace of the name-based (v5) event ids derived from an `Idempotency-Key`: fixed, so the
/// same request maps to the same ids in every DataStorage instance and version.
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_6a0e_2f3c_4d7a_9c1e_8a5b_3d2f_1e07);

/// The optional `Idempotency-Key` header: 1 to [`MAX_IDEMPOTENCY_KEY_LEN`] visible ASCII
/// characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ProblemResponse> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let bad = || {
        ProblemResponse::validation(
            IDEMPOTENCY_KEY,
            format!(
                "must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (a UUID is a good key), \
                 the same on every retry of one request"
            ),
        )
    };
    let key = value.to_str().map_err(|_| bad())?;
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

/// The id of the event at `index` of a request. Without an idempotency key, a random one. With
/// one, derived from the key, the index and the event's content, so a retry of the same request
/// (after a timeout or a DataStorage restart left the client without an answer) gets the same
/// ids and the insert skips what the first attempt stored; a key reused for other content gets
/// other ids, so nothing is silently skipped.
fn event_id(key: Option<&str>, index: usize, event: &AuditEvent) -> Uuid {
    let Some(key) = key else {
        return Uuid::new_v4();
    };
    let mut name = Vec::with_capacity(key.len() + 512);
    name.extend_from_slice(key.as_bytes());
    name.push(0);
    name.extend_from_slice(index.to_string().as_bytes());
    name.push(0);
    // Serialising an event (strings, numbers, maps; event_id still None) cannot fail, and the
    // output is deterministic: fields in declaration order, event_data in key order.
    name.extend_from_slice(&serde_json::to_vec(event).unwrap_or_default());
    Uuid::new_v5(&EVENT_ID_NAMESPACE, &name)
}

/// Stores `events` in PostgreSQL (201), or, when it is unavailable, queues them (202).
async fn write(state: &AppState, events: &[AuditEvent]) -> Result<StatusCode, ProblemResponse> {
    let count = events.len() as u64;
    match state.pg.insert(events).await {
        Ok(_) => {
            state.metrics.written(Destination::Postgres, count);
            Ok(StatusCode::CREATED)
        }
        Err(PgError::Unavailable(reason)) => match state.dlq.push(events).await {
            Ok(()) => {
                tracing::warn!(%reason, count, "PostgreSQL unavailable; events queued in the dead-letter queue");
                state.metrics.written(Destination::DeadLetterQueue, count);
                Ok(StatusCode::ACCEPTED)
            }
            Err(e) => {
                tracing::error!(%reason, error = %e, count, "PostgreSQL and the dead-letter queue are both unavailable");
                Err(ProblemResponse::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage-unavailable",
                    "Storage unavailable",
                    "PostgreSQL and the Redis dead-letter queue are both unavailable; nothing was stored, retry later",
                ))
            }
        },
        // Validation refuses everything known to be unstorable, so this is a value it does not
        // know of yet: refused, since a retry would be refused the same way.
        Err(e @ PgError::Refused { .. }) => {
            tracing::error!(error = %e, count, "PostgreSQL refused valid-looking audit events");
            state.metrics.rejected();
            Err(ProblemResponse::new(
                StatusCode::BAD_REQUEST,
                "unstorable",
                "Unstorable event",
                format!("{e}; nothing was stored: fix the values and resend"),
            )
            .field("body"))
        }
        Err(e @ PgError::Failed(_)) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "storing audit events failed");
            Err(ProblemResponse::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "storing the events failed; nothing was stored (see the DataStorage log)",
            ))
        }
    }
}

/// Parameters the list endpoint understands.
const QUERY_PARAMS: [&str; 9] = [
    "event_type",
    "event_category",
    "event_outcome",
    "correlation_id",
    "actor_id",
    "since",
    "until",
    "limit",
    "offset",
];

async fn list_events(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let params = match query {
        Ok(Query(params)) => params,
        Err(e) => return ProblemResponse::validation("query", e.body_text()).into_response(),
    };
    let (filter, limit, offset) = match parse_query(params, Utc::now()) {
        Ok(parsed) => parsed,
        Err(problem) => return problem.into_response(),
    };
    match state.pg.list(&filter, limit, offset).await {
        Ok((data, total)) => {
            let has_more = offset.saturating_add(data.len() as u64) < total;
            axum::Json(ListResponse {
                data,
                pagination: Pagination {
                    limit,
                    offset,
                    total,
                    has_more,
                },
            })
            .into_response()
        }
        Err(PgError::Unavailable(reason)) => ProblemResponse::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-unavailable",
            "Storage unavailable",
            format!("PostgreSQL is unavailable ({reason}); retry later"),
        )
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "listing audit events failed");
            ProblemResponse::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "listing events failed (see the DataStorage log)",
            )
            .into_response()
        }
    }
}

fn parse_query(
    params: Vec<(String, String)>,
    now: DateTime<Utc>,
) -> Result<(Filter, u32, u64), ProblemResponse> {
    let mut filter = Filter::default();
    let mut limit = DEFAULT_LIMIT;
    let mut offset = 0u64;
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in params {
        if !QUERY_PARAMS.contains(&key.as_str()) {
            return Err(ProblemResponse::validation(
                key.clone(),
                format!(
                    "unknown query parameter {key:?}; known: {}",
                    QUERY_PARAMS.join(", ")
                ),
            ));
        }
        if seen.contains(&key) {
            return Err(ProblemResponse::validation(
                key.clone(),
                format!("query parameter {key:?} is given more than once"),
            ));
        }
        seen.push(key.clone());
        if value.contains('\0') {
            return Err(ProblemResponse::validation(
                key.clone(),
                format!(
                    "query parameter {key:?} contains a NUL character (%00); no stored value can \
                     contain one, so remove it"
                ),
            ));
        }
        let text = |value: String| {
            if value.is_empty() {
                Err(ProblemResponse::validation(
                    key.clone(),
                    format!("query parameter {key:?} must not be empty"),
                ))
            } else {
                Ok(Some(value))
            }
        };
        match key.as_str() {
            "event_type" => filter.event_type = text(value)?,
            "event_category" => filter.event_category = text(value)?,
            "correlation_id" => filter.correlation_id = text(value)?,
            "actor_id" => filter.actor_id = text(value)?,
            "event_outcome" => {
                filter.event_outcome = Some(EventOutcome::parse(&value).ok_or_else(|| {
                    ProblemResponse::validation(
                        "event_outcome",
                        format!("must be success, failure or pending, got {value:?}"),
                    )
                })?);
            }
            "since" => filter.since = Some(parse_time(&key, &value, now)?),
            "until" => filter.until = Some(parse_time(&key, &value, now)?),
            "limit" => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        ProblemResponse::validation(
                            "limit",
                            format!("must be an integer from 1 to {MAX_LIMIT}, got {value:?}"),
                        )
                    })?;
            }
            "offset" => {
                offset = value
                    .parse::<u64>()
                    .ok()
                    .filter(|o| i64::try_from(*o).is_ok())
                    .ok_or_else(|| {
                        ProblemResponse::validation(
                            "offset",
                            format!("must be a non-negative integer, got {value:?}"),
                        )
                    })?;
            }
            _ => {}
        }
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since > until
    {
        return Err(ProblemResponse::validation(
            "since",
            "since is after until; the window is empty",
        ));
    }
    Ok((filter, limit, offset))
}

/// Largest relative window accepted (ten years): beyond it the subtraction could overflow, and
/// no audit trail is older.
const MAX_RELATIVE_SECONDS: i64 = 10 * 366 * 24 * 3600;

/// RFC 3339, or a relative duration back from `now`: a number and a unit s, m, h or d (`15m`).
pub(crate) fn parse_time(
    field: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ProblemResponse> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let bad = || {
        ProblemResponse::validation(
            field,
            format!(
                "must be an RFC 3339 timestamp (2026-01-02T03:04:05Z) or a relative duration such as 30s, 15m, 2h, 7d; got {value:?}"
            ),
        )
    };
    let split = value.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = value.split_at(split);
    let amount: i64 = number.parse().map_err(|_| bad())?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let seconds = amount
        .checked_mul(unit_seconds)
        .filter(|s| *s <= MAX_RELATIVE_SECONDS)
        .ok_or_else(bad)?;
    Ok(now - chrono::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<impl Sized, ProblemResponse>) -> String {
        match r {
            Ok(_) => panic!("expected a problem"),
            Err(p) => p.problem.field.unwrap_or_default(),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn relative_and_absolute_times() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .expect("t")
            .with_timezone(&Utc);
        assert_eq!(
            parse_time("since", "15m", now).ok(),
            Some(now - chrono::Duration::minutes(15))
        );
        assert_eq!(
            parse_time("since", "2h", now).ok(),
            Some(now - chrono::Duration::hours(2))
        );
        assert_eq!(
            parse_time("since", "7d", now).ok(),
            Some(now - chrono::Duration::days(7))
        );
        assert_eq!(
            parse_time("since", "30s", now).ok(),
            Some(now - chrono::Duration::seconds(30))
        );
        assert_eq!(
            parse_time("until", "2026-01-01T00:00:00+01:00", now)
                .ok()
                .map(|t| t.to_rfc3339()),
            Some("2025-12-31T23:00:00+00:00".into())
        );
        for bad in [
            "",
            "m",
            "15",
            "15w",
            "-5m",
            "1.5h",
            "yesterday",
            "99999999999999999999d",
            "9999999d",
        ] {
            assert_eq!(field(parse_time("since", bad, now)), "since", "{bad:?}");
        }
    }

    #[test]
    fn query_defaults_and_bounds() {
        let now = Utc::now();
        let (_, limit, offset) = parse_query(vec![], now).ok().expect("defaults");
        assert_eq!((limit, offset), (DEFAULT_LIMIT, 0));
        assert!(parse_query(params(&[("limit", "1")]), now).is_ok());
        assert!(parse_query(params(&[("limit", "1000")]), now).is_ok());
        for bad in ["0", "1001", "-1", "x", ""] {
            assert_eq!(field(parse_query(params(&[("limit", bad)]), now)), "limit");
        }
        assert_eq!(
            field(parse_query(params(&[("offset", "-1")]), now)),
            "offset"
        );
        assert_eq!(
            field(parse_query(params(&[("event_outcome", "meh")]), now)),
            "event_outcome"
        );
        assert_eq!(
            field(parse_query(params(&[("colour", "red")]), now)),
            "colour"
        );
        assert_eq!(
            field(parse_query(
                params(&[("event_type", "a"), ("event_type", "b")]),
                now
            )),
            "event_type"
        );
        assert_eq!(
            field(parse_query(params(&[("correlation_id", "")]), now)),
            "correlation_id"
        );
        assert_eq!(
            field(parse_query(
                params(&[("since", "1h"), ("until", "2h")]),
                now
            )),
            "since"
        );
    }

    #[test]
    fn a_nul_in_any_query_parameter_is_a_400_naming_it() {
        let now = Utc::now();
        for key in [
            "correlation_id",
            "event_type",
            "event_category",
            "actor_id",
            "limit",
            "since",
        ] {
            assert_eq!(field(parse_query(params(&[(key, "a\0b")]), now)), key);
        }
    }

    #[test]
    fn ids_from_an_idempotency_key_repeat_for_the_same_request_only() {
        let event = AuditEvent::new("a.b", "a", "b", EventOutcome::Success, "rr");
        let first = event_id(Some("k1"), 0, &event);
        assert_eq!(
            event_id(Some("k1"), 0, &event),
            first,
            "a retry gets the same id"
        );
        assert_ne!(event_id(Some("k1"), 1, &event), first, "another index");
        assert_ne!(event_id(Some("k2"), 0, &event), first, "another key");
        let other = event.clone().with_data("x", 1);
        assert_ne!(event_id(Some("k1"), 0, &other), first, "other content");
        assert_ne!(
            event_id(None, 0, &event),
            event_id(None, 0, &event),
            "no key: random"
        );
    }

    #[test]
    fn idempotency_keys_are_checked() {
        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers).ok(), Some(None));
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("0b5e-key"));
        assert_eq!(
            idempotency_key(&headers).ok(),
            Some(Some("0b5e-key".into()))
        );
        for bad in ["", "has space", &"k".repeat(MAX_IDEMPOTENCY_KEY_LEN + 1)] {
            headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_str(bad).expect("header"));
            assert_eq!(field(idempotency_key(&headers)), IDEMPOTENCY_KEY, "{bad:?}");
        }
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
