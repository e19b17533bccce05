//! Streams watch events to one client: initial state or replayed history, then live events filtered by
//! namespace and selectors, bookmarks, the streaming-list end marker and the timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::catalog::ResourceInfo;
use crate::http::table::{self, Include};
use crate::selector::Selectors;
use crate::store::{Event, EventKind, Stored, WatchStart};
use crate::watchcheck::WatchRecord;

/// Frames buffered per watch connection before the writer waits for the client.
const WATCH_BUFFER: usize = 64;
/// Interval between BOOKMARK events when the client allows them. kube-apiserver sends one about
/// every minute; a shorter interval costs little and lets tests see bookmarks without waiting.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(5);
/// The annotation on the bookmark that ends the initial events of a streaming list.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// What the client asked for.
#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    pub namespace: String,
    pub selectors: Selectors,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
    /// The form of each event's object (the `as=` of the request's Accept header).
    pub embed: Embed,
    /// Protobuf framing (`application/vnd.kubernetes.protobuf;stream=watch`) instead of JSON lines.
    pub protobuf: bool,
    /// Set when an injected cut ends this watch (`crate::faults`): told where it stopped.
    pub cut_marker: Option<crate::faults::CutMarker>,
    /// The CRD's conversion webhook, which converts each event's object into the watched
    /// version (None: no conversion, or the `None` strategy's apiVersion rewrite).
    pub conversion: Option<crate::conversion::Call>,
}

/// What a watch event carries: the object, its PartialObjectMetadata or a Table of it.
#[derive(Debug, Clone, Default)]
pub enum Embed {
    #[default]
    Object,
    /// PartialObjectMetadata in this `meta.k8s.io` apiVersion.
    Partial(&'static str),
    /// A one-row Table; the first event carries the column definitions, later ones none (kube
    /// sets NoHeaders after encoding the first).
    Table {
        include: Include,
        api_version: &'static str,
        headers_sent: bool,
    },
}

impl Embed {
    /// Encodes one event's object (compact JSON as stored) in this form.
    fn encode(&mut self, info: &ResourceInfo, raw: Bytes) -> Bytes {
        let convert = |raw: &[u8]| serde_json::from_slice::<serde_json::Value>(raw).ok();
        match self {
            Embed::Object => raw,
            Embed::Partial(api_version) => match convert(&raw) {
                Some(v) => {
                    Bytes::from(crate::http::negotiate::partial(&v, api_version).to_string())
                }
                None => raw,
            },
            Embed::Table {
                include,
                api_version,
                headers_sent,
            } => match convert(&raw) {
                Some(v) => {
                    let t = table::convert(info, &v, *include, api_version, !*headers_sent);
                    *headers_sent = true;
                    Bytes::from(t.to_string())
                }
                None => raw,
            },
        }
    }
}

/// One event: a JSON line, or a length-prefixed protobuf `WatchEvent` whose object is the
/// `k8s\0`-prefixed envelope of the object (kube's protobuf stream serializer).
fn frame(protobuf: bool, kind: &str, object: &[u8]) -> Bytes {
    if protobuf {
        return match serde_json::from_slice(object)
            .map_err(|e| crate::protobuf::ProtoError::Malformed(e.to_string()))
            .and_then(|v| crate::protobuf::watch_frame(kind, &v))
        {
            Ok(b) => Bytes::from(b),
            // Never expected for a served built-in (the encoding of its type is generated); the
            // client gets an ERROR event naming the cause instead of a frame it cannot read.
            Err(e) => {
                let status = crate::status::ApiError::internal(format!(
                    "cannot encode the watch event as protobuf: {e}"
                ))
                .to_status();
                crate::protobuf::watch_frame("ERROR", &status)
                    .map(Bytes::from)
                    .unwrap_or_default()
            }
        };
    }
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn bookmark(
    protobuf: bool,
    info: &ResourceInfo,
    rv: u64,
    initial_end: bool,
    embed: &mut Embed,
) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        meta["annotations"] = json!({INITIAL_EVENTS_END: "true"});
    }
    let obj = json!({"kind": info.kind, "apiVersion": info.api_version(), "metadata": meta});
    frame(
        protobuf,
        "BOOKMARK",
        &embed.encode(info, Bytes::from(obj.to_string())),
    )
}

/// Decides what a stored event looks like to this watch: a selector watch sees an object that
/// starts matching as ADDED and one that stops matching as DELETED.
fn translate(ev: &Event, resource: &str, params: &WatchParams) -> Option<(EventKind, Arc<Stored>)> {
    if *ev.resource != *resource || (!params.namespace.is_empty() && ev.key.0 != params.namespace) {
        return None;
    }
    let now = params.selectors.matches(ev.obj.value());
    let before = ev
        .prev
        .as_ref()
        .is_some_and(|p| params.selectors.matches(p.value()));
    let kind = match (ev.kind, before, now) {
        (EventKind::Added, _, true) => EventKind::Added,
        (EventKind::Modified, true, true) => EventKind::Modified,
        (EventKind::Modified, false, true) => EventKind::Added,
        (EventKind::Modified, true, false) => EventKind::Deleted,
        (EventKind::Deleted, true, _) | (EventKind::Deleted, _, true) => EventKind::Deleted,
        _ => return None,
    };
    Some((kind, ev.obj.clone()))
}

/// Starts the task that feeds one watch response; returns the receiving end of its frames.
pub fn spawn(
    start: WatchStart,
    params: WatchParams,
    cancel: CancellationToken,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    tokio::spawn(run(start, params, cancel, tx));
    rx
}

async fn run(
    start: WatchStart,
    mut params: WatchParams,
    cancel: CancellationToken,
    tx: mpsc::Sender<Bytes>,
) {
    let mut embed = std::mem::take(&mut params.embed);
    let proto = params.protobuf;
    let WatchStart {
        info,
        initial,
        replay,
        mut rx,
        rv,
        expired,
        since,
        ledger,
    } = start;
    let resource = info.store_key();
    // Records what this connection sends, for the consistency check (`crate::watchcheck`).
    let record = ledger.register(
        resource.clone(),
        &params.namespace,
        &params.selectors,
        if expired.is_some() { rv } else { since },
    );
    let _finished = Finished(record.clone());
    let cut = ledger.cut_token();
    if let Some(err) = expired {
        let _ = tx
            .send(frame(
                proto,
                "ERROR",
                err.to_status().to_string().as_bytes(),
            ))
            .await;
        return;
    }
    let conversion = params.conversion.take();
    // Ends the watch with kube's ERROR event when an object cannot be converted.
    macro_rules! object {
        ($obj:expr) => {
            match rendered(conversion.as_ref(), &info, $obj).await {
                Ok(body) => embed.encode(&info, body),
                Err(e) => {
                    let _ = tx
                        .send(frame(proto, "ERROR", e.to_status().to_string().as_bytes()))
                        .await;
                    return;
                }
            }
        };
    }
    for (_, obj) in initial {
        if params.selectors.matches(obj.value())
            && tx
                .send(frame(proto, "ADDED", &object!(&obj)))
                .await
                .is_err()
        {
            return;
        }
    }
    if params.send_initial_events
        && tx
            .send(bookmark(proto, &info, rv, true, &mut embed))
            .await
            .is_err()
    {
        return;
    }
    let mut last_rv = rv;
    for ev in replay {
        if let Some((kind, obj)) = translate(&ev, &resource, &params) {
            if tx
                .send(frame(proto, kind.as_str(), &object!(&obj)))
                .await
                .is_err()
            {
                return;
            }
            record.sent(ev.rv);
        }
    }
    record.through(rv);
    let deadline = params.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + BOOKMARK_INTERVAL,
        BOOKMARK_INTERVAL,
    );
    loop {
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            _ = cancel.cancelled() => return,
            // `ApiServer::cut_watches`: the client resumes from its last resourceVersion.
            _ = cut.cancelled() => return,
            _ = tx.closed() => return,
            _ = timeout => {
                if let Some(marker) = &params.cut_marker {
                    marker.mark(last_rv);
                }
                if params.bookmarks {
                    let _ = tx.send(bookmark(proto, &info, last_rv, false, &mut embed)).await;
                }
                return;
            }
            // 0: a bookmark, which is no event of the history.
            _ = ticker.tick(), if params.bookmarks => Next::Frame(0, bookmark(proto, &info, last_rv, false, &mut embed)),
            received = rx.recv() => match received {
                Ok(ev) => {
                    // Only what follows both the store's state sent and the requested
                    // resourceVersion, which may be ahead of the store (kube's
                    // `cacheWatcher.process` skips events up to it).
                    if ev.rv <= rv.max(since) {
                        continue;
                    }
                    last_rv = ev.rv;
                    match translate(&ev, &resource, &params) {
                        // The deliberately broken server of `ApiServer::drop_next_watch_events`.
                        Some(_) if ledger.take_drop() => {
                            record.through(ev.rv);
                            continue;
                        }
                        Some((kind, obj)) => Next::Event(ev.rv, kind, obj),
                        None => {
                            record.through(ev.rv);
                            continue;
                        }
                    }
                }
                // Fell behind the broadcast buffer: end the watch; the client resumes from the
                // last resourceVersion it saw (or relists after 410), so nothing is skipped.
                Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let (sent_rv, frame) = match next {
            Next::Frame(rv, frame) => (rv, frame),
            Next::Event(rv, kind, obj) => (rv, frame(proto, kind.as_str(), &object!(&obj))),
        };
        if tx.send(frame).await.is_err() {
            return;
        }
        if sent_rv > 0 {
            record.sent(sent_rv);
        }
    }
}

/// What the watch sends next: a ready frame (a bookmark), or an event whose object is encoded
/// after the `select!` (its conversion may call a webhook).
enum Next {
    Frame(u64, Bytes),
    Event(u64, EventKind, Arc<Stored>),
}

/// An event's object in the watched version.
async fn rendered(
    conversion: Option<&crate::conversion::Call>,
    info: &ResourceInfo,
    obj: &Stored,
) -> Result<Bytes, crate::status::ApiError> {
    let body = obj.render(info);
    match conversion {
        None => Ok(body),
        Some(call) => crate::conversion::respond(call, info, body).await,
    }
}

/// Marks the connection's record finished however the watch task ends.
struct Finished(Arc<WatchRecord>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.finish();
    }
}
