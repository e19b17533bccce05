//! Authenticates a request from its bearer token, as kube-apiserver's authenticator union: the
//! server's own token (the admin), static tokens given to the builder (kube's
//! `--token-auth-file`), ServiceAccount tokens this server signed (bound to the ServiceAccount's
//! existence and uid), and, only when enabled, requests without credentials as
//! `system:anonymous`. A token that is presented and not valid is a 401 `Unauthorized` that
//! never says which check failed, even with anonymous requests enabled (kube fails on error).
//!
//! Successful token authentications are remembered for a while ([`TokenCache`]), as
//! kube-apiserver wraps its token authenticators in `tokencache`: a revoked ServiceAccount token
//! keeps working until its entry expires there too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::{HeaderMap, header};

use super::user::UserInfo;
use crate::http::State;
use crate::status::ApiError;

/// The identities a server accepts besides its own token.
#[derive(Debug, Default)]
pub struct Authenticator {
    static_tokens: HashMap<String, UserInfo>,
    anonymous: bool,
    cache: TokenCache,
}

impl Authenticator {
    /// Accepts these static tokens; requests without credentials are served as
    /// `system:anonymous` when `anonymous` is true, else refused with 401. Successful
    /// ServiceAccount token reviews are remembered for `cache_ttl` (zero: not at all).
    pub fn new(
        static_tokens: HashMap<String, UserInfo>,
        anonymous: bool,
        cache_ttl: Duration,
    ) -> Self {
        Self {
            static_tokens,
            anonymous,
            cache: TokenCache::new(cache_ttl),
        }
    }

    /// The cache of successful token reviews.
    pub(crate) fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// The user of a static token.
    pub fn static_user(&self, token: &str) -> Option<&UserInfo> {
        self.static_tokens.get(token)
    }

    /// Whether requests without credentials are served (as `system:anonymous`).
    pub fn anonymous(&self) -> bool {
        self.anonymous
    }
}

/// How long kube-apiserver remembers a successful token authentication
/// (`TokenSuccessCacheTTL` in `pkg/kubeapiserver/options/authentication.go`; failures are not
/// remembered, `TokenFailureCacheTTL` 0).
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);

/// At most this many remembered reviews: kube's cache is 32 stripes of 128 LRU entries.
const TOKEN_CACHE_ENTRIES: usize = 32 * 128;

/// What one successful review gave: the user (as TokenReview's `status.user` and as the
/// request's identity) and the audiences it was good for.
#[derive(Debug, Clone)]
pub(crate) struct Reviewed {
    pub user: serde_json::Value,
    pub info: UserInfo,
    pub audiences: Vec<String>,
}

/// Successful token reviews by (audiences asked for, token), for a fixed time, as kube's
/// `cachedTokenAuthenticator` keys them. Keys are SHA-256 digests, so the tokens themselves are
/// not kept (kube hashes them too). Besides fidelity, this saves every request of a controller
/// the signature check, the claims' decoding and the ServiceAccount's read.
#[derive(Debug)]
pub(crate) struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], (Instant, Reviewed)>>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(DEFAULT_TOKEN_CACHE_TTL)
    }
}

impl TokenCache {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(token: &str, audiences: &[String]) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for a in audiences {
            // Length-prefixed, so that no two audience lists hash alike.
            ctx.update(&(a.len() as u64).to_le_bytes());
            ctx.update(a.as_bytes());
        }
        ctx.update(b"|");
        ctx.update(token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        key
    }

    /// The review of `token` for `audiences`, remembered or made now by `review` (and then
    /// remembered if it succeeded).
    pub(crate) fn get_or_review(
        &self,
        token: &str,
        audiences: &[String],
        review: impl FnOnce() -> Result<Reviewed, String>,
    ) -> Result<Reviewed, String> {
        if self.ttl.is_zero() {
            return review();
        }
        let key = Self::key(token, audiences);
        let now = Instant::now();
        {
            // A poisoned lock only means another request panicked while holding it; the map
            // is still a valid cache.
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, hit)) = entries.get(&key)
                && now.duration_since(*at) < self.ttl
            {
                return Ok(hit.clone());
            }
        }
        // Reviewed outside the lock: two requests racing on a cold token both review it, which
        // costs a review, never a wrong answer.
        let reviewed = review()?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= TOKEN_CACHE_ENTRIES {
            entries.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
            if entries.len() >= TOKEN_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now, reviewed.clone()));
        Ok(reviewed)
    }
}

/// The bearer token of a request, as kube's bearertoken authenticator reads it: the scheme is
/// case-insensitive and surrounding blanks are ignored; any other scheme is no credential.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Constant-time equality, so a token's prefix cannot be guessed from answer times.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Who the request is, or the 401 to answer.
pub(crate) fn authenticate(state: &State, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    let Some(token) = bearer(headers) else {
        return if state.authn.anonymous() {
            Ok(UserInfo::anonymous())
        } else {
            Err(ApiError::unauthorized())
        };
    };
    if same_secret(token, &state.token) {
        return Ok(UserInfo::admin());
    }
    if let Some(user) = state.authn.static_user(token) {
        return Ok(user.clone());
    }
    // Why a token failed is for the server's log only: the client learns nothing about which
    // part was wrong (kube answers every failure with the same 401).
    crate::tokens::authenticate_service_account(state, token).map_err(|why| {
        tracing::debug!(%why, "bearer token refused");
        ApiError::unauthorized()
    })
}
