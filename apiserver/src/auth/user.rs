//! Holds the identity a request is served as (kube's `user.Info`) and the well-known names.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The group every authenticated user is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group of a request without credentials (when anonymous requests are enabled).
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user of a request without credentials.
pub const ANONYMOUS: &str = "system:anonymous";
/// The group kube-apiserver allows everything (its privileged-group authorizer).
pub const MASTERS: &str = "system:masters";
/// The prefix of a ServiceAccount's user name.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
/// The group of every ServiceAccount.
pub const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";

/// Who a request is served as: user name, uid, groups and extra attributes, as kube's `user.Info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with these groups (`system:authenticated` is NOT added: say it if wanted, as a
    /// static token file does).
    pub fn new(name: impl Into<String>, groups: &[&str]) -> Self {
        Self {
            name: name.into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// The default identity of the server's own token: envtest's admin, in `system:masters`.
    pub fn admin() -> Self {
        Self::new(crate::tokens::ADMIN_USER, &[MASTERS, AUTHENTICATED])
    }

    /// `system:anonymous` in `system:unauthenticated`.
    pub fn anonymous() -> Self {
        Self::new(ANONYMOUS, &[UNAUTHENTICATED])
    }

    /// The identity of ServiceAccount `ns/name` (kube's fixed mapping of names and groups).
    pub fn service_account(ns: &str, name: &str, uid: &str) -> Self {
        Self {
            name: service_account_user(ns, name),
            uid: uid.to_owned(),
            groups: vec![
                SERVICE_ACCOUNTS.to_owned(),
                format!("{SERVICE_ACCOUNTS}:{ns}"),
                AUTHENTICATED.to_owned(),
            ],
            extra: BTreeMap::new(),
        }
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Whether kube's privileged-group authorizer allows this user everything.
    pub fn is_master(&self) -> bool {
        self.in_group(MASTERS)
    }

    /// The `authentication.k8s.io/v1` UserInfo JSON (empty fields left out, as Go's omitempty).
    pub fn to_json(&self) -> Value {
        let mut v = json!({"username": self.name});
        if !self.uid.is_empty() {
            v["uid"] = self.uid.clone().into();
        }
        if !self.groups.is_empty() {
            v["groups"] = json!(self.groups);
        }
        if !self.extra.is_empty() {
            v["extra"] = json!(self.extra);
        }
        v
    }

    /// Reads a UserInfo JSON (TokenReview's `status.user`).
    pub(crate) fn from_json(v: &Value) -> Self {
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let extra = v
            .get("extra")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, vals)| (k.clone(), strings(Some(vals))))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            name: v
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            uid: v
                .get("uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            groups: strings(v.get("groups")),
            extra,
        }
    }
}

/// `system:serviceaccount:<ns>:<name>`.
pub fn service_account_user(ns: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{ns}:{name}")
}

/// The namespace and name of a ServiceAccount user name, as kube's `serviceaccount.SplitUsername`.
pub fn split_service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}
