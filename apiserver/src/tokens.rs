//! Issues and reviews service-account tokens: `serviceaccounts/token` (TokenRequest) signs a JWT
//! for a ServiceAccount (audiences, expiration, a bound Pod, Secret or Node), and
//! `authentication.k8s.io/v1` TokenReview checks one (signature, expiry, audiences, the
//! ServiceAccount and bound object still existing with the same uid). The server's own bearer
//! token reviews as the admin user. Kept apart from the HTTP layer so authentication and RBAC can
//! build on it.
//!
//! Tokens are signed with HMAC-SHA256 (`HS256`) under a random 256-bit key made per server: the
//! issuer and the only verifier are this process (it serves no OIDC discovery or JWKS for others
//! to verify with), so a shared-secret signature gives the same guarantee as kube's RSA key at a
//! fraction of the start-up cost. ring, already linked for kube-rs's TLS, provides the HMAC.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::auth::UserInfo;
use crate::http::{self as h, Body, State};
use crate::meta::{meta_str, strings};
use crate::status::{ApiError, Cause};
use crate::store::{Store, Target};

/// The audience and issuer of this server's tokens: kube-apiserver's usual
/// `--service-account-issuer`, which is also its default API audience.
pub const DEFAULT_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
/// kube's default `expirationSeconds` of a TokenRequest (one hour).
pub const DEFAULT_EXPIRATION_S: i64 = 3600;
/// kube's minimum `expirationSeconds` (10 minutes).
pub const MIN_EXPIRATION_S: i64 = 600;
/// kube's maximum `expirationSeconds` (2^32 seconds).
pub const MAX_EXPIRATION_S: i64 = 1 << 32;
/// The user the server's own bearer token reviews as (envtest's admin: in `system:masters`).
pub const ADMIN_USER: &str = "admin";
/// Bytes of the HMAC key (256 bits, the size of SHA-256's output).
const KEY_BYTES: usize = 32;

/// The signing key of one server.
pub struct Tokens {
    key: ring::hmac::Key,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { key: <secret> }")
    }
}

impl Default for Tokens {
    fn default() -> Self {
        let secret: [u8; KEY_BYTES] = rand::random();
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret),
        }
    }
}

fn now_s() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

impl Tokens {
    /// A signed JWT with these claims.
    pub fn sign(&self, claims: &Value) -> String {
        let header = B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
        let payload = B64.encode(claims.to_string());
        let signing_input = format!("{header}.{payload}");
        let tag = ring::hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(tag.as_ref()))
    }

    /// The claims of a token this server signed, or why it is not one.
    pub fn verify(&self, token: &str) -> Result<Value, String> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a JWT: expected three dot-separated parts".into());
        };
        let sig = B64
            .decode(sig)
            .map_err(|_| "the signature is not base64url".to_owned())?;
        ring::hmac::verify(&self.key, format!("{header}.{payload}").as_bytes(), &sig)
            .map_err(|_| "the token was not signed by this server".to_owned())?;
        let header: Value = B64
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("the JWT header is not base64url JSON")?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err("unexpected signing algorithm".into());
        }
        B64.decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| "the JWT claims are not base64url JSON".to_owned())
    }
}

fn invalid(name: &str, cause: Cause) -> ApiError {
    ApiError::invalid(
        "TokenRequest.authentication.k8s.io",
        "authentication.k8s.io",
        "TokenRequest",
        name,
        vec![cause],
    )
}

fn read_json(store: &Store, t: &Target<'_>) -> Result<Value, ApiError> {
    crate::subresources::rmw::read(store, t)
}

/// The bound object's claim and the object's kind, checked as kube's TokenREST does.
fn bound_object(state: &State, sa: &Target<'_>, r: &Value) -> Result<(String, Value), ApiError> {
    let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = r.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
    let plural = match (api_version, kind) {
        ("v1", "Pod") => "pods",
        ("v1", "Secret") => "secrets",
        ("v1", "Node") => "nodes",
        _ => {
            let gv = if api_version.contains('/') {
                api_version.to_owned()
            } else {
                format!("/{api_version}")
            };
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount {:?} to object of kind \"{gv}, Kind={kind}\"",
                sa.name
            )));
        }
    };
    if name.is_empty() {
        return Err(invalid(
            sa.name,
            Cause::new(
                "FieldValueRequired",
                "spec.boundObjectRef.name",
                "Required value",
            ),
        ));
    }
    let t = Target {
        group: "",
        version: "v1",
        plural,
        namespace: if plural == "nodes" { "" } else { sa.namespace },
        name,
    };
    let obj = read_json(&state.store, &t)?;
    let uid = meta_str(&obj, "uid");
    if let Some(want) = r
        .get("uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        && want != uid
    {
        return Err(ApiError::conflict_because(
            crate::status::GroupResource {
                group: "",
                resource: kind,
            },
            name,
            &format!(
                "the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        ));
    }
    Ok((kind.to_lowercase(), json!({"name": name, "uid": uid})))
}

/// `POST .../serviceaccounts/{name}/token`.
pub async fn serve_token_request(
    state: &State,
    t: &Target<'_>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    let dry_run = h::dry_run(q)?;
    let body = h::read_object(req).await?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type TokenRequest): the body is not a JSON object",
        ));
    }
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !api_version.is_empty() && api_version != "authentication.k8s.io/v1" {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version (authentication.k8s.io/v1)"
        )));
    }
    let sa = read_json(&state.store, t)?;
    let expiration = match body.pointer("/spec/expirationSeconds") {
        None | Some(Value::Null) => DEFAULT_EXPIRATION_S,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "TokenRequest in version \"v1\" cannot be handled as a TokenRequest: spec.expirationSeconds must be an integer, not {v}"
            ))
        })?,
    };
    if expiration < MIN_EXPIRATION_S {
        return Err(invalid(
            t.name,
            Cause::new(
                "FieldValueInvalid",
                "spec.expirationSeconds",
                format!(
                    "Invalid value: {expiration}: may not specify a duration less than 10 minutes"
                ),
            ),
        ));
    }
    if expiration > MAX_EXPIRATION_S {
        return Err(invalid(
            t.name,
            Cause::new(
                "FieldValueTooLong",
                "spec.expirationSeconds",
                format!(
                    "Invalid value: {expiration}: may not specify a duration larger than 2^32 seconds"
                ),
            ),
        ));
    }
    let mut audiences = strings(body.pointer("/spec/audiences"));
    if audiences.is_empty() {
        audiences.push(DEFAULT_AUDIENCE.to_owned());
    }
    let mut private = json!({
        "namespace": t.namespace,
        "serviceaccount": {"name": t.name, "uid": meta_str(&sa, "uid")},
    });
    let bound = body
        .pointer("/spec/boundObjectRef")
        .filter(|v| !v.is_null())
        .cloned();
    if let Some(r) = &bound {
        let (claim, value) = bound_object(state, t, r)?;
        private[claim.as_str()] = value;
    }
    let iat = now_s();
    let exp = iat + expiration;
    let claims = json!({
        "aud": audiences,
        "exp": exp,
        "iat": iat,
        "nbf": iat,
        "iss": DEFAULT_AUDIENCE,
        "jti": crate::meta::new_uid(),
        "kubernetes.io": private,
        "sub": format!("system:serviceaccount:{}:{}", t.namespace, t.name),
    });
    let token = if dry_run {
        String::new()
    } else {
        state.tokens.sign(&claims)
    };
    let mut spec = json!({"audiences": audiences, "expirationSeconds": expiration});
    if let Some(r) = bound {
        spec["boundObjectRef"] = r;
    }
    let answer = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": t.name, "namespace": t.namespace, "creationTimestamp": null},
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": rfc3339(exp)},
    });
    Ok(h::json_response(201, answer.to_string()))
}

/// The user a token authenticates as and the audiences it is good for, or why it is not valid.
fn review(state: &State, token: &str, wanted: &[String]) -> Result<(Value, Vec<String>), String> {
    // The same authenticators as requests: the server's own token, then the static ones.
    if crate::auth::same_secret(token, &state.token) {
        return Ok((UserInfo::admin().to_json(), wanted.to_vec()));
    }
    if let Some(user) = state.authn.static_user(token) {
        return Ok((user.to_json(), wanted.to_vec()));
    }
    let claims = state.tokens.verify(token)?;
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
    let now = now_s();
    if now >= exp {
        return Err("service account token has expired".into());
    }
    if now < nbf {
        return Err("service account token is not valid yet".into());
    }
    let aud = strings(claims.get("aud"));
    let matched: Vec<String> = wanted.iter().filter(|a| aud.contains(a)).cloned().collect();
    if matched.is_empty() {
        return Err(format!(
            "token audiences {aud:?} is invalid for the target audiences {wanted:?}"
        ));
    }
    let private = claims.get("kubernetes.io").cloned().unwrap_or(Value::Null);
    let ns = private
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let sa_name = private
        .pointer("/serviceaccount/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let sa_uid = private
        .pointer("/serviceaccount/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    let sa = Target {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        namespace: ns,
        name: sa_name,
    };
    let live = read_json(&state.store, &sa)
        .map_err(|_| "service account token has been invalidated".to_owned())?;
    if meta_str(&live, "uid") != sa_uid {
        return Err(format!(
            "service account UID ({}) does not match claim ({sa_uid})",
            meta_str(&live, "uid")
        ));
    }
    let mut extra = serde_json::Map::new();
    for (claim, plural) in [("pod", "pods"), ("secret", "secrets"), ("node", "nodes")] {
        let Some(bound) = private.get(claim) else {
            continue;
        };
        let name = bound.get("name").and_then(Value::as_str).unwrap_or("");
        let uid = bound.get("uid").and_then(Value::as_str).unwrap_or("");
        let t = Target {
            group: "",
            version: "v1",
            plural,
            namespace: if plural == "nodes" { "" } else { ns },
            name,
        };
        let obj = read_json(&state.store, &t)
            .map_err(|_| format!("{claim} {name:?} bound to the token no longer exists"))?;
        if meta_str(&obj, "uid") != uid {
            return Err(format!(
                "{claim} UID ({}) does not match claim ({uid})",
                meta_str(&obj, "uid")
            ));
        }
        extra.insert(
            format!("authentication.kubernetes.io/{claim}-name"),
            json!([name]),
        );
        extra.insert(
            format!("authentication.kubernetes.io/{claim}-uid"),
            json!([uid]),
        );
    }
    if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
        extra.insert(
            "authentication.kubernetes.io/credential-id".into(),
            json!([format!("JTI={jti}")]),
        );
    }
    let mut user = json!({
        "username": format!("system:serviceaccount:{ns}:{sa_name}"),
        "uid": sa_uid,
        "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
    });
    if !extra.is_empty() {
        user["extra"] = Value::Object(extra);
    }
    Ok((user, matched))
}

/// A token for ServiceAccount `ns/name` valid for `expiration_s` seconds with the API audience,
/// as a TokenRequest without a bound object would give (a 404 when the ServiceAccount is absent).
pub(crate) fn mint(
    state: &State,
    ns: &str,
    name: &str,
    expiration_s: i64,
) -> Result<String, ApiError> {
    let t = Target {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        namespace: ns,
        name,
    };
    let sa = read_json(&state.store, &t)?;
    let iat = now_s();
    let claims = json!({
        "aud": [DEFAULT_AUDIENCE],
        "exp": iat + expiration_s,
        "iat": iat,
        "nbf": iat,
        "iss": DEFAULT_AUDIENCE,
        "jti": crate::meta::new_uid(),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": meta_str(&sa, "uid")}},
        "sub": format!("system:serviceaccount:{ns}:{name}"),
    });
    Ok(state.tokens.sign(&claims))
}

/// The user of a ServiceAccount token presented to the API (its audience must be the API's, as
/// kube's `--api-audiences`), or why it is not valid (for the log, never for the client).
pub(crate) fn authenticate_service_account(state: &State, token: &str) -> Result<UserInfo, String> {
    let audiences = [DEFAULT_AUDIENCE.to_owned()];
    Ok(cached_review(state, token, &audiences)?.info)
}

/// [`review`] through the server's token cache, as kube's authenticators sit behind
/// `tokencache` for requests and TokenReviews alike.
fn cached_review(
    state: &State,
    token: &str,
    wanted: &[String],
) -> Result<crate::auth::Reviewed, String> {
    state.authn.cache().get_or_review(token, wanted, || {
        let (user, audiences) = review(state, token, wanted)?;
        Ok(crate::auth::Reviewed {
            info: UserInfo::from_json(&user),
            user,
            audiences,
        })
    })
}

/// `POST /apis/authentication.k8s.io/v1/tokenreviews` (a create-only resource: nothing is stored).
pub async fn serve_token_review(
    state: &Arc<State>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    h::dry_run(q)?;
    let body = h::read_object(req).await?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type TokenReview): the body is not a JSON object",
        ));
    }
    let token = body
        .pointer("/spec/token")
        .and_then(Value::as_str)
        .unwrap_or("");
    if token.is_empty() {
        return Err(ApiError::bad_request(
            "token is required for TokenReview in authentication",
        ));
    }
    let mut wanted = strings(body.pointer("/spec/audiences"));
    if wanted.is_empty() {
        wanted.push(DEFAULT_AUDIENCE.to_owned());
    }
    let status = match cached_review(state, token, &wanted) {
        Ok(r) => {
            json!({"authenticated": true, "user": r.user, "audiences": r.audiences})
        }
        Err(why) => json!({"user": {}, "error": format!("[invalid bearer token, {why}]")}),
    };
    let mut answer = body.clone();
    answer["kind"] = "TokenReview".into();
    answer["apiVersion"] = "authentication.k8s.io/v1".into();
    answer["metadata"] = json!({"creationTimestamp": null});
    answer["status"] = status;
    Ok(h::json_response(201, answer.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_when_signed_here_and_unaltered() {
        let a = Tokens::default();
        let b = Tokens::default();
        let t = a.sign(&json!({"sub": "x"}));
        assert_eq!(a.verify(&t).expect("own token")["sub"], "x");
        assert!(
            b.verify(&t).is_err(),
            "another server's key must not verify"
        );
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = B64.encode(json!({"sub": "admin"}).to_string());
        parts[1] = &forged;
        assert!(
            a.verify(&parts.join(".")).is_err(),
            "changed claims must not verify"
        );
        assert!(a.verify("a.b").is_err());
    }
}
