//! Owns the HTTP client for DataStorage: posting batches, listing events, and classifying
//! failures into retryable (network, 5xx, 401/403) and final (other 4xx) ones.

use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::api::{
    BATCH_PATH, BatchResponse, EVENTS_PATH, EventQuery, IDEMPOTENCY_KEY, ListResponse, Problem,
};
use crate::event::AuditEvent;

/// Default per-request deadline: DataStorage answers a 1,000-event batch in tens of
/// milliseconds, so ten seconds only trips on a hung server or network.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest part of an unexpected response body quoted in an error message.
const MAX_QUOTED_BODY: usize = 512;

/// Why a request to DataStorage failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL does not parse or cannot take the API path.
    #[error("invalid DataStorage URL {url:?}: {reason}; pass e.g. http://127.0.0.1:8080")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be built (TLS or resolver set-up).
    #[error("failed to build the HTTP client for DataStorage")]
    Build(#[source] reqwest::Error),
    /// No answer: connection refused or reset, or the request timed out.
    #[error("failed to reach DataStorage at {url}")]
    Network {
        /// The URL requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// DataStorage answered with an error status.
    #[error("DataStorage refused {url} with HTTP {status}: {detail}")]
    Status {
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
        /// The problem detail, or the start of the body when it was not problem+json.
        detail: String,
        /// The parsed problem document, when the body was one.
        problem: Option<Box<Problem>>,
    },
    /// DataStorage answered success with a body that is not the documented JSON.
    #[error("DataStorage answered {url} with HTTP {status} and an unexpected body")]
    Decode {
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// [`Client::wait_for`] ran out of time.
    #[error(
        "waited {waited:?} for at least {wanted} audit events matching {query}; DataStorage has {found} \
         (were they recorded and flushed, with this correlation id?)"
    )]
    WaitTimedOut {
        /// The query's filters (JSON).
        query: String,
        /// Events wanted.
        wanted: u64,
        /// Events found at the last poll.
        found: u64,
        /// How long it waited.
        waited: Duration,
    },
}

impl ClientError {
    /// Whether sending the same request again may succeed: network errors, 5xx, and 401/403
    /// (a token being rotated). Any other 4xx means the request itself is wrong.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Network { .. } => true,
            ClientError::Status { status, .. } => {
                let status = *status;
                status >= 500 || status == 401 || status == 403
            }
            ClientError::InvalidUrl { .. }
            | ClientError::Build(_)
            | ClientError::Decode { .. }
            | ClientError::WaitTimedOut { .. } => false,
        }
    }

    /// The HTTP status, when DataStorage answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } | ClientError::Decode { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// Where an accepted batch went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// 201: stored in PostgreSQL.
    Stored(Vec<Uuid>),
    /// 202: PostgreSQL was unavailable; queued in the dead-letter queue for replay.
    Queued(Vec<Uuid>),
}

impl Accepted {
    /// The ids assigned, whichever way the batch went.
    pub fn event_ids(&self) -> &[Uuid] {
        match self {
            Accepted::Stored(ids) | Accepted::Queued(ids) => ids,
        }
    }
}

/// A DataStorage client holding the base URL and bearer token. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: reqwest::Url,
    token: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for DataStorage at `base_url` (e.g. `http://127.0.0.1:8080`) with a per-request deadline.
    pub fn new(
        base_url: &str,
        token: impl Into<String>,
        request_timeout: Duration,
    ) -> Result<Self, ClientError> {
        let base = reqwest::Url::parse(base_url).map_err(|e| ClientError::InvalidUrl {
            url: base_url.to_owned(),
            reason: e.to_string(),
        })?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::InvalidUrl {
                url: base_url.to_owned(),
                reason: "not an http(s) base URL".to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .build()
            .map_err(ClientError::Build)?;
        Ok(Self {
            http,
            base,
            token: token.into(),
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn url(&self, path: &str) -> String {
        let mut url = self.base.clone();
        url.set_path(path);
        url.to_string()
    }

    /// Posts a batch (at most [`crate::MAX_BATCH_EVENTS`] events) in one request, under a
    /// fresh idempotency key: calling it again sends a new request. To retry, use
    /// [`Client::post_batch_idempotent`] with one key for every attempt.
    pub async fn post_batch(&self, events: &[AuditEvent]) -> Result<Accepted, ClientError> {
        self.post_batch_idempotent(events, &Uuid::new_v4().to_string())
            .await
    }

    /// Posts a batch under `idempotency_key` (see [`crate::api::IDEMPOTENCY_KEY`]): sending
    /// the same events with the same key again, after an error that left it unknown whether
    /// DataStorage stored them, stores each event once and answers the same ids.
    pub async fn post_batch_idempotent(
        &self,
        events: &[AuditEvent],
        idempotency_key: &str,
    ) -> Result<Accepted, ClientError> {
        let url = self.url(BATCH_PATH);
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header(IDEMPOTENCY_KEY, idempotency_key)
            .json(events)
            .send()
            .await
            .map_err(|source| ClientError::Network {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let body: BatchResponse = read_json(&url, response).await?;
        if status == StatusCode::ACCEPTED {
            Ok(Accepted::Queued(body.event_ids))
        } else {
            Ok(Accepted::Stored(body.event_ids))
        }
    }

    /// Lists events matching `query`, newest first.
    pub async fn list(&self, query: &EventQuery) -> Result<ListResponse, ClientError> {
        let url = self.url(EVENTS_PATH);
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .query(query)
            .send()
            .await
            .map_err(|source| ClientError::Network {
                url: url.clone(),
                source,
            })?;
        read_json(&url, response).await
    }

    /// Polls [`Client::list`] until at least `at_least` events match `query` (counting all
    /// pages) or `timeout` passes; returns the last page. Transient failures (network, 5xx) are
    /// polled through; others end the wait at once. This is how a test waits for the audit
    /// trail of an asynchronous controller.
    pub async fn wait_for(
        &self,
        query: &EventQuery,
        at_least: u64,
        timeout: Duration,
    ) -> Result<ListResponse, ClientError> {
        let started = tokio::time::Instant::now();
        let mut found = 0;
        loop {
            match self.list(query).await {
                Ok(page) if page.pagination.total >= at_least => return Ok(page),
                Ok(page) => found = page.pagination.total,
                Err(e) if e.is_retryable() => {}
                Err(e) => return Err(e),
            }
            if started.elapsed() >= timeout {
                return Err(ClientError::WaitTimedOut {
                    query: describe_query(query),
                    wanted: at_least,
                    found,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(WAIT_POLL_INTERVAL.min(timeout)).await;
        }
    }
}

/// Gap between polls of [`Client::wait_for`]: events appear within one flush interval, and a
/// list query costs about a millisecond, so 20 ms keeps waits short without loading DataStorage.
const WAIT_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The query's filters as JSON, for error messages.
fn describe_query(query: &EventQuery) -> String {
    // serde_json gives a readable rendering without another dependency.
    serde_json::to_string(query).unwrap_or_default()
}

async fn read_json<T: serde::de::DeserializeOwned>(
    url: &str,
    response: reqwest::Response,
) -> Result<T, ClientError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|source| ClientError::Network {
            url: url.to_owned(),
            source,
        })?;
    if !status.is_success() {
        let problem: Option<Box<Problem>> = serde_json::from_slice(&bytes).ok();
        let detail = match &problem {
            Some(p) => p.detail.clone(),
            None => {
                let text = String::from_utf8_lossy(&bytes);
                text.chars().take(MAX_QUOTED_BODY).collect()
            }
        };
        return Err(ClientError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            detail,
            problem,
        });
    }
    serde_json::from_slice(&bytes).map_err(|source| ClientError::Decode {
        url: url.to_owned(),
        status: status.as_u16(),
        source,
    })
}
