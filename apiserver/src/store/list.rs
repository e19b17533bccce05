//! Owns LIST: selectors, pagination with `continue` tokens, `resourceVersion`/`resourceVersionMatch`
//! semantics, and the list body built from already-serialised items.

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use serde_json::json;

use crate::catalog::ResourceInfo;
use crate::selector::Selectors;
use crate::status::{ApiError, Cause};

use super::{ObjKey, Store, Target};

/// `resourceVersionMatch` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RvMatch {
    NotOlderThan,
    Exact,
}

/// The parameters of a list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub selectors: Selectors,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<u64>,
    pub rv_match: Option<RvMatch>,
}

/// The position a `continue` token resumes from.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    ns: String,
    name: String,
}

impl Store {
    /// LIST.
    pub fn list(&self, t: &Target<'_>, q: &ListQuery) -> Result<Bytes, ApiError> {
        let g = self.lock();
        let info = g.resolve(t)?;
        let (snapshot_rv, start) = match &q.continue_token {
            Some(token) => {
                let parsed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(token)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<ContinueToken>(&b).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "continue key is not valid: the token is not one this server issued",
                        )
                    })?;
                (parsed.rv, Some((parsed.ns, parsed.name)))
            }
            None => match (q.rv_match, q.resource_version) {
                (Some(RvMatch::Exact), Some(rv)) | (Some(RvMatch::NotOlderThan), Some(rv))
                    if rv > g.rv =>
                {
                    return Err(too_large(rv, g.rv));
                }
                (Some(RvMatch::Exact), Some(rv)) => (rv, None),
                _ => (g.rv, None),
            },
        };
        let map = if snapshot_rv == g.rv {
            None
        } else {
            Some(g.snapshot_at(&info, snapshot_rv).map_err(|e| {
                if q.continue_token.is_some() {
                    ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
                } else {
                    e
                }
            })?)
        };
        let empty = BTreeMap::new();
        let objects = match &map {
            Some(m) => m,
            None => g.objects.get(info.store_key().as_str()).unwrap_or(&empty),
        };
        let ns_scoped = info.namespaced && !t.namespace.is_empty();
        let lower = match &start {
            Some(k) => std::ops::Bound::Excluded(k.clone()),
            None if ns_scoped => std::ops::Bound::Included((t.namespace.to_owned(), String::new())),
            None => std::ops::Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last: Option<ObjKey> = None;
        let mut more = false;
        for (k, v) in objects.range((lower, std::ops::Bound::Unbounded)) {
            if ns_scoped && k.0 != t.namespace {
                break;
            }
            if !q.selectors.matches(v.value()) {
                continue;
            }
            if q.limit.is_some_and(|l| l > 0 && items.len() >= l) {
                more = true;
                break;
            }
            items.push(v.render(&info));
            last = Some(k.clone());
        }
        let (token, remaining) = match (more, last) {
            (true, Some((ns, name))) => {
                let token = serde_json::to_vec(&ContinueToken {
                    rv: snapshot_rv,
                    ns: ns.clone(),
                    name: name.clone(),
                })
                .map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
                .unwrap_or_default();
                // kube-apiserver reports the remaining count only when no selector filters the list.
                let remaining = q.selectors.is_empty().then(|| {
                    objects
                        .range((
                            std::ops::Bound::Excluded((ns, name)),
                            std::ops::Bound::Unbounded,
                        ))
                        .take_while(|(k, _)| !ns_scoped || k.0 == t.namespace)
                        .count()
                });
                (Some(token), remaining)
            }
            _ => (None, None),
        };
        Ok(list_body(
            &info,
            snapshot_rv,
            token.as_deref(),
            remaining,
            &items,
        ))
    }
}

/// kube's `NewTooLargeResourceVersionError` (a `NewTimeoutError`, hence the `Timeout: ` its
/// message starts with): the 504 of a read asking for a resourceVersion the store has not
/// reached, with retryAfterSeconds 1 (the watch cache's `resourceVersionTooHighRetrySeconds`).
pub(crate) fn too_large(asked: u64, current: u64) -> ApiError {
    let mut e = ApiError::timeout(format!(
        "Timeout: Too large resource version: {asked}, current: {current}"
    ));
    e.details = Some(Box::new(crate::status::Details {
        causes: vec![Cause::new(
            "ResourceVersionTooLarge",
            "",
            "Too large resource version",
        )],
        retry_after_seconds: Some(1),
        ..Default::default()
    }));
    e
}

/// Writes a `<Kind>List` from already-serialised items.
pub fn list_body(
    info: &ResourceInfo,
    rv: u64,
    token: Option<&str>,
    remaining: Option<usize>,
    items: &[Bytes],
) -> Bytes {
    let mut meta = serde_json::Map::new();
    meta.insert("resourceVersion".into(), rv.to_string().into());
    if let Some(t) = token {
        meta.insert("continue".into(), t.into());
    }
    if let Some(r) = remaining {
        meta.insert("remainingItemCount".into(), r.into());
    }
    let head = json!({"kind": info.list_kind, "apiVersion": info.api_version(), "metadata": meta})
        .to_string();
    let mut out =
        Vec::with_capacity(head.len() + 16 + items.iter().map(|i| i.len() + 1).sum::<usize>());
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}
