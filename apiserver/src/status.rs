//! Builds the metav1.Status answers the API server sends for every error, worded like kube-apiserver.

use std::borrow::Cow;

use serde_json::{Value, json};

/// One field-level cause of an error (metav1.StatusCause).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, ...
    pub reason: String,
    /// The message without the field prefix, e.g. `Invalid value: -1: must be >= 0`.
    pub message: String,
    /// The dotted field path, e.g. `spec.replicas`.
    pub field: String,
}

impl Cause {
    /// A cause with the given reason, field and message.
    pub fn new(reason: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            message: message.into(),
            field: field.into(),
        }
    }
}

/// The `details` of a Status: which object the error is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: Option<u32>,
}

/// An API error: the HTTP status code plus the metav1.Status body sent with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    /// kube's `StatusReason`: one of its constants, or what an admission webhook answered.
    pub reason: Cow<'static, str>,
    pub message: String,
    /// Boxed: errors travel through every `Result` of the request path, and most have no details.
    pub details: Option<Box<Details>>,
}

/// The resource a Status names: the plural resource and its group (empty for the core group).
#[derive(Debug, Clone, Copy)]
pub struct GroupResource<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl GroupResource<'_> {
    /// `pods` for the core group, `deployments.apps` otherwise, as kube-apiserver prints it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

impl ApiError {
    fn plain(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: Cow::Borrowed(reason),
            message: message.into(),
            details: None,
        }
    }

    fn about(
        code: u16,
        reason: &'static str,
        message: String,
        gr: GroupResource<'_>,
        name: &str,
    ) -> Self {
        Self {
            code,
            reason: Cow::Borrowed(reason),
            message,
            details: Some(Box::new(Details {
                name: name.to_owned(),
                group: gr.group.to_owned(),
                kind: gr.resource.to_owned(),
                ..Details::default()
            })),
        }
    }

    /// 404 `pods "x" not found`.
    pub fn not_found(gr: GroupResource<'_>, name: &str) -> Self {
        Self::about(
            404,
            "NotFound",
            format!("{} \"{}\" not found", gr.qualified(), name),
            gr,
            name,
        )
    }

    /// 409 `pods "x" already exists`.
    pub fn already_exists(gr: GroupResource<'_>, name: &str) -> Self {
        Self::about(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", gr.qualified(), name),
            gr,
            name,
        )
    }

    /// 409 Conflict for a stale resourceVersion.
    pub fn conflict(gr: GroupResource<'_>, name: &str) -> Self {
        Self::conflict_because(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict with a specific reason after the colon (e.g. a failed precondition).
    pub fn conflict_because(gr: GroupResource<'_>, name: &str, why: &str) -> Self {
        Self::about(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                gr.qualified(),
                name,
                why
            ),
            gr,
            name,
        )
    }

    /// 422 Invalid: `Kind "name" is invalid: [cause, cause]`; `qualified_kind` is `Pod` or `Widget.example.com`.
    pub fn invalid(
        qualified_kind: &str,
        group: &str,
        kind: &str,
        name: &str,
        causes: Vec<Cause>,
    ) -> Self {
        // Go's `field.Error.Error()` is `<field>: <body>` even for the empty path
        // (`field.NewPath("")`), e.g. PodLogOptions' `: Forbidden: at most one of ...`.
        // Like `ErrorList.ToAggregate`, the message lists a repeated error once (the causes
        // keep every one).
        let mut rendered: Vec<String> = Vec::new();
        for c in &causes {
            let line = format!("{}: {}", c.field, c.message);
            if !rendered.contains(&line) {
                rendered.push(line);
            }
        }
        let list = match rendered.len() {
            0 => "[]".to_owned(),
            1 => rendered[0].clone(),
            _ => format!("[{}]", rendered.join(", ")),
        };
        Self {
            code: 422,
            reason: "Invalid".into(),
            message: format!("{} \"{}\" is invalid: {}", qualified_kind, name, list),
            details: Some(Box::new(Details {
                name: name.to_owned(),
                group: group.to_owned(),
                kind: kind.to_owned(),
                causes,
                retry_after_seconds: None,
            })),
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::plain(400, "BadRequest", message)
    }

    /// 401 Unauthorized (missing or wrong bearer token).
    pub fn unauthorized() -> Self {
        Self::plain(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden.
    pub fn forbidden(gr: GroupResource<'_>, name: &str, why: &str) -> Self {
        let message = if gr.group.is_empty() && gr.resource.is_empty() {
            // kube's NewForbidden without a resource (a non-resource URL).
            format!("forbidden: {why}")
        } else if name.is_empty() {
            format!("{} is forbidden: {}", gr.qualified(), why)
        } else {
            format!("{} \"{}\" is forbidden: {}", gr.qualified(), name, why)
        };
        Self::about(403, "Forbidden", message, gr, name)
    }

    /// 404 for a path that names no resource (no details, like kube-apiserver's 404 page).
    pub fn path_not_found() -> Self {
        Self::plain(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::plain(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 410 Expired for a resourceVersion older than the event history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::plain(410, "Expired", message)
    }

    /// 500 with no reason (StatusReasonUnknown): how kube-apiserver answers a storage error it has
    /// no Status for, e.g. etcd's `etcdserver: request is too large`, with the error as the message.
    pub fn internal_unknown(message: impl Into<String>) -> Self {
        Self::plain(500, "", message)
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(limit: usize) -> Self {
        Self::plain(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 415 UnsupportedMediaType naming what is accepted.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::plain(415, "UnsupportedMediaType", message)
    }

    /// 406 NotAcceptable: no form the client accepts can be served.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::plain(406, "NotAcceptable", message)
    }

    /// 422 Invalid without field causes (e.g. a JSON patch that cannot be applied).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::plain(
            422,
            "Invalid",
            format!(
                "the server rejected our request due to an error in our request ({})",
                message.into()
            ),
        )
    }

    /// 500 InternalError, as kube's `NewInternalError`: the error is the message's tail and the
    /// one cause's message. A bug here, or what kube itself answers so (an exhausted Service
    /// range).
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code: 500,
            reason: "InternalError".into(),
            message: format!("Internal error occurred: {message}"),
            details: Some(Box::new(Details {
                causes: vec![Cause {
                    reason: String::new(),
                    message,
                    field: String::new(),
                }],
                ..Details::default()
            })),
        }
    }

    /// 503 ServiceUnavailable while the server shuts down.
    pub fn shutting_down() -> Self {
        Self::plain(
            503,
            "ServiceUnavailable",
            "the server is shutting down; retry against a running server",
        )
    }

    /// 504 Timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::plain(504, "Timeout", message)
    }

    /// The metav1.Status object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if self.reason.is_empty() {
            // metav1.Status.reason is omitempty: StatusReasonUnknown is sent as no reason at all.
            if let Some(m) = status.as_object_mut() {
                m.remove("reason");
            }
        }
        if let Some(d) = &self.details {
            let mut details = serde_json::Map::new();
            if !d.name.is_empty() {
                details.insert("name".into(), d.name.clone().into());
            }
            if !d.group.is_empty() {
                details.insert("group".into(), d.group.clone().into());
            }
            if !d.kind.is_empty() {
                details.insert("kind".into(), d.kind.clone().into());
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| {
                        // metav1.StatusCause fields are omitempty.
                        let mut cause = serde_json::Map::new();
                        for (k, v) in [
                            ("reason", &c.reason),
                            ("message", &c.message),
                            ("field", &c.field),
                        ] {
                            if !v.is_empty() {
                                cause.insert(k.into(), v.clone().into());
                            }
                        }
                        Value::Object(cause)
                    })
                    .collect();
                details.insert("causes".into(), causes.into());
            }
            if let Some(secs) = d.retry_after_seconds {
                details.insert("retryAfterSeconds".into(), secs.into());
            }
            status["details"] = Value::Object(details);
        }
        status["code"] = self.code.into();
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_with_one_cause_has_no_brackets() {
        let e = ApiError::invalid(
            "Widget.example.com",
            "example.com",
            "Widget",
            "w",
            vec![Cause::new(
                "FieldValueInvalid",
                "spec.replicas",
                "Invalid value: -1: must be >= 0",
            )],
        );
        assert_eq!(
            e.message,
            "Widget.example.com \"w\" is invalid: spec.replicas: Invalid value: -1: must be >= 0"
        );
        let s = e.to_status();
        assert_eq!(s["details"]["causes"][0]["field"], "spec.replicas");
        assert_eq!(s["code"], 422);
    }

    #[test]
    fn not_found_names_group_resource() {
        let e = ApiError::not_found(
            GroupResource {
                group: "apps",
                resource: "deployments",
            },
            "d",
        );
        assert_eq!(e.message, "deployments.apps \"d\" not found");
        assert_eq!(
            e.to_status()["details"],
            json!({"name": "d", "group": "apps", "kind": "deployments"})
        );
    }
}
