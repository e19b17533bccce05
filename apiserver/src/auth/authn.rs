//! Authenticates a request from its bearer token, as kube-apiserver's authenticator union: the
//! server's own token (the admin), static tokens given to the builder (kube's
//! `--token-auth-file`), ServiceAccount tokens this server signed (bound to the ServiceAccount's
//! existence and uid), and, only when enabled, requests without credentials as
//! `system:anonymous`. A token that is presented and not valid is a 401 `Unauthorized` that
//! never says which check failed, even with anonymous requests enabled (kube fails on error).

use std::collections::HashMap;

use http::{HeaderMap, header};

use super::user::UserInfo;
use crate::http::State;
use crate::status::ApiError;

/// The identities a server accepts besides its own token.
#[derive(Debug, Default)]
pub struct Authenticator {
    static_tokens: HashMap<String, UserInfo>,
    anonymous: bool,
}

impl Authenticator {
    /// Accepts these static tokens; requests without credentials are served as
    /// `system:anonymous` when `anonymous` is true, else refused with 401.
    pub fn new(static_tokens: HashMap<String, UserInfo>, anonymous: bool) -> Self {
        Self {
            static_tokens,
            anonymous,
        }
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
