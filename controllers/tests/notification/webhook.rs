//! The webhook target of this test process: an axum server on 127.0.0.1:0, on a thread and
//! runtime of its own (it must outlive each `#[tokio::test]` runtime under `cargo test`),
//! scripted by tokens in the notification's subject and recording every request it receives.
//!
//! Tokens (counted per notification, `namespace/name`): `fail:N` answers 500 to the first N
//! requests; `timeout:N` answers the first N only after [`TIMEOUT_SLEEP`]; `hold:N` holds the
//! first N until [`Webhook::release`]; `reject` answers 400 to every request.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use tokio::sync::watch;

/// How long a `timeout:N` answer is delayed: far beyond the suites' webhook timeout (the
/// controller gives up long before; the sleeping task costs nothing meanwhile).
pub const TIMEOUT_SLEEP: Duration = Duration::from_secs(60);

/// One request the target received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `x-kubernaut-notification`.
    pub notification: String,
    /// `x-kubernaut-attempt` (`channel#n`).
    pub attempt: String,
    /// `idempotency-key`.
    pub idempotency_key: String,
    /// The JSON body.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct HookState {
    received: Mutex<Vec<Received>>,
    held: Mutex<HashMap<String, watch::Sender<bool>>>,
}

impl HookState {
    fn gate(&self, key: &str) -> watch::Sender<bool> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.entry(key.to_owned())
            .or_insert_with(|| watch::channel(false).0)
            .clone()
    }
}

/// The process's webhook target.
pub struct Webhook {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    state: Arc<HookState>,
}

/// Started on first use.
pub static WEBHOOK: LazyLock<Webhook> = LazyLock::new(Webhook::start);

impl Webhook {
    fn start() -> Webhook {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind the webhook target on 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let url = format!(
            "http://{}/hook",
            listener.local_addr().expect("local address")
        );
        let state = Arc::new(HookState::default());
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(state.clone());
        std::thread::Builder::new()
            .name("webhook-target".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("webhook runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    axum::serve(listener, app)
                        .await
                        .expect("webhook target stopped");
                });
            })
            .expect("spawn the webhook thread");
        Webhook { url, state }
    }

    /// Requests received for `namespace/name`, oldest first.
    pub fn received(&self, notification: &str) -> Vec<Received> {
        let all = self
            .state
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        all.iter()
            .filter(|r| r.notification == notification)
            .cloned()
            .collect()
    }

    /// Lets the held requests of `namespace/name` (and later ones) be answered.
    pub fn release(&self, notification: &str) {
        self.state.gate(notification).send_replace(true);
    }
}

fn token(subject: &str, name: &str) -> Option<u32> {
    subject
        .split_whitespace()
        .find_map(|t| t.strip_prefix(name)?.strip_prefix(':')?.parse().ok())
}

async fn hook(
    State(state): State<Arc<HookState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, &'static str) {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let notification = header("x-kubernaut-notification");
    let subject = body["notification"]["subject"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let n = {
        let mut received = state
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        received.push(Received {
            notification: notification.clone(),
            attempt: header("x-kubernaut-attempt"),
            idempotency_key: header("idempotency-key"),
            body,
            at: Instant::now(),
        });
        u32::try_from(
            received
                .iter()
                .filter(|r| r.notification == notification)
                .count(),
        )
        .unwrap_or(u32::MAX)
    };
    if subject.split_whitespace().any(|t| t == "reject") {
        return (StatusCode::BAD_REQUEST, "payload rejected");
    }
    if token(&subject, "hold").is_some_and(|held| n <= held) {
        let mut gate = state.gate(&notification).subscribe();
        let _ = gate.wait_for(|released| *released).await;
    }
    if token(&subject, "timeout").is_some_and(|slow| n <= slow) {
        tokio::time::sleep(TIMEOUT_SLEEP).await;
    }
    if token(&subject, "fail").is_some_and(|failing| n <= failing) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "scripted failure");
    }
    (StatusCode::OK, "ok")
}
