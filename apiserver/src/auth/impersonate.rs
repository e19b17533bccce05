//! Serves a request as another user when it carries `Impersonate-User`, `Impersonate-Group`,
//! `Impersonate-Uid` or `Impersonate-Extra-<key>` headers, as kube's impersonation filter: each
//! requested name is authorized for the requestor with the `impersonate` verb on `users`,
//! `groups`, `serviceaccounts` (a `system:serviceaccount:<ns>:<name>` user), `uids` or
//! `userextras/<key>`, and the first refusal is kube's 403 for that attribute.

use std::collections::BTreeMap;

use http::HeaderMap;

use super::attributes::Attributes;
use super::user::{ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED, UserInfo, split_service_account};
use crate::http::State;
use crate::status::ApiError;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";
/// The group of the UserExtra and UID impersonation kinds (authentication/v1).
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

/// One thing asked to be impersonated (kube builds an ObjectReference per item).
enum Wanted {
    ServiceAccount(String, String),
    User(String),
    Group(String),
    Extra(String, String),
    Uid(String),
}

impl Wanted {
    /// Go's `%v` of the ObjectReference kube builds, for its 400 message.
    fn go_form(&self) -> String {
        let (kind, ns, name, api_version, field) = match self {
            Wanted::ServiceAccount(ns, n) => ("ServiceAccount", ns.as_str(), n.as_str(), "", ""),
            Wanted::User(n) => ("User", "", n.as_str(), "", ""),
            Wanted::Group(n) => ("Group", "", n.as_str(), "", ""),
            Wanted::Extra(k, v) => (
                "UserExtra",
                "",
                v.as_str(),
                "authentication.k8s.io/v1",
                k.as_str(),
            ),
            Wanted::Uid(u) => ("UID", "", u.as_str(), "authentication.k8s.io/v1", ""),
        };
        format!("{{{kind} {ns} {name}  {api_version}  {field}}}")
    }

    fn attributes(&self) -> Attributes {
        match self {
            Wanted::ServiceAccount(ns, n) => {
                Attributes::resource("impersonate", "", "serviceaccounts", ns, n)
            }
            Wanted::User(n) => Attributes::resource("impersonate", "", "users", "", n),
            Wanted::Group(n) => Attributes::resource("impersonate", "", "groups", "", n),
            Wanted::Extra(k, v) => {
                Attributes::resource("impersonate", AUTHENTICATION_GROUP, "userextras", "", v)
                    .with_subresource(k)
            }
            Wanted::Uid(u) => {
                Attributes::resource("impersonate", AUTHENTICATION_GROUP, "uids", "", u)
            }
        }
    }
}

fn values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = String> + 'a {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Percent-decodes an extra key as kube's `unescapeExtraKey` (kept as sent when malformed).
fn unescape(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return key.to_owned(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| key.to_owned())
}

/// The user the request is served as: `requestor`, or the impersonated user when the headers ask
/// for one and every part is authorized.
pub(crate) fn impersonate(
    state: &State,
    requestor: UserInfo,
    headers: &HeaderMap,
) -> Result<UserInfo, ApiError> {
    let mut wanted = Vec::new();
    let user = values(headers, USER).next().filter(|u| !u.is_empty());
    if let Some(u) = &user {
        wanted.push(match split_service_account(u) {
            Some((ns, name)) => Wanted::ServiceAccount(ns.to_owned(), name.to_owned()),
            None => Wanted::User(u.clone()),
        });
    }
    let groups_given = headers.contains_key(GROUP);
    wanted.extend(values(headers, GROUP).map(Wanted::Group));
    let mut extra_names: Vec<&str> = headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with(EXTRA_PREFIX))
        .collect();
    extra_names.sort_unstable();
    extra_names.dedup();
    for header in &extra_names {
        let key = unescape(&header[EXTRA_PREFIX.len()..]);
        wanted.extend(values(headers, header).map(|v| Wanted::Extra(key.clone(), v)));
    }
    if let Some(uid) = values(headers, UID).next().filter(|u| !u.is_empty()) {
        wanted.push(Wanted::Uid(uid));
    }
    if wanted.is_empty() {
        return Ok(requestor);
    }
    if user.is_none() {
        let listed: Vec<String> = wanted.iter().map(Wanted::go_form).collect();
        return Err(ApiError::bad_request(format!(
            "requested [{}] without impersonating a user",
            listed.join(" ")
        )));
    }
    let mut out = UserInfo::default();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in &wanted {
        let attrs = w.attributes();
        let (ok, reason) = state.authz.authorize(&state.store, &requestor, &attrs);
        if !ok {
            return Err(attrs.forbidden(&requestor.name, &reason));
        }
        match w {
            Wanted::ServiceAccount(ns, n) => {
                let sa = UserInfo::service_account(ns, n, "");
                out.name = sa.name;
                if !groups_given {
                    // kube's fixed groups of a ServiceAccount; system:authenticated follows.
                    out.groups = sa
                        .groups
                        .into_iter()
                        .filter(|g| g != AUTHENTICATED)
                        .collect();
                }
            }
            Wanted::User(n) => out.name = n.clone(),
            Wanted::Group(g) => out.groups.push(g.clone()),
            Wanted::Extra(k, v) => extra.entry(k.clone()).or_default().push(v.clone()),
            Wanted::Uid(u) => out.uid = u.clone(),
        }
    }
    if out.name != ANONYMOUS {
        if !out
            .groups
            .iter()
            .any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED)
        {
            out.groups.push(AUTHENTICATED.to_owned());
        }
    } else if !out.groups.iter().any(|g| g == UNAUTHENTICATED) {
        out.groups.push(UNAUTHENTICATED.to_owned());
    }
    out.extra = extra;
    Ok(out)
}
