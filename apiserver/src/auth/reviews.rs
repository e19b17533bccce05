//! Answers the access reviews from the server's own authenticator and authorizer:
//! `authorization.k8s.io/v1` SubjectAccessReview (any user), LocalSubjectAccessReview (in a
//! namespace), SelfSubjectAccessReview and SelfSubjectRulesReview (the requesting user), and
//! `authentication.k8s.io/v1` SelfSubjectReview. Create-only, nothing is stored; the answer is
//! the request with its `status` filled, 201 as kube's.

use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::attributes::Attributes;
use super::rbac::PolicyRule;
use super::user::UserInfo;
use crate::http::{self as h, Body, State};
use crate::status::{ApiError, Cause};

const AUTHORIZATION: &str = "authorization.k8s.io";
const AUTHENTICATION: &str = "authentication.k8s.io";

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn invalid(kind: &str, name: &str, causes: Vec<Cause>) -> ApiError {
    let group = if kind == "SelfSubjectReview" {
        AUTHENTICATION
    } else {
        AUTHORIZATION
    };
    ApiError::invalid(&format!("{kind}.{group}"), group, kind, name, causes)
}

/// The attributes a review's spec asks about, or kube's 422 when it names both kinds or none.
fn spec_attributes(kind: &str, spec: &Value) -> Result<Attributes, ApiError> {
    let res = spec.get("resourceAttributes").filter(|v| !v.is_null());
    let non = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
    match (res, non) {
        (Some(r), None) => {
            let mut a = Attributes::resource(
                str_at(r, "/verb"),
                str_at(r, "/group"),
                str_at(r, "/resource"),
                str_at(r, "/namespace"),
                str_at(r, "/name"),
            )
            .with_subresource(str_at(r, "/subresource"));
            a.api_version = str_at(r, "/version").to_owned();
            Ok(a)
        }
        (None, Some(n)) => Ok(Attributes::non_resource(
            str_at(n, "/verb"),
            str_at(n, "/path"),
        )),
        (Some(_), Some(_)) => Err(invalid(
            kind,
            "",
            vec![Cause::new(
                "FieldValueInvalid",
                "spec.nonResourceAttributes",
                "Invalid value: \"\": cannot be specified in combination with resourceAttributes",
            )],
        )),
        (None, None) => Err(invalid(
            kind,
            "",
            vec![Cause::new(
                "FieldValueInvalid",
                "spec.resourceAttributes",
                "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )],
        )),
    }
}

/// The user a SubjectAccessReview's spec names.
fn spec_user(spec: &Value) -> UserInfo {
    let mut u = UserInfo::from_json(&json!({
        "username": spec.get("user").cloned().unwrap_or(Value::Null),
        "uid": spec.get("uid").cloned().unwrap_or(Value::Null),
        "groups": spec.get("groups").cloned().unwrap_or(Value::Null),
        "extra": spec.get("extra").cloned().unwrap_or(Value::Null),
    }));
    u.groups.dedup();
    u
}

fn access_status(state: &State, user: &UserInfo, a: &Attributes) -> Value {
    let (allowed, reason) = state.authz.authorize(&state.store, user, a);
    let mut status = json!({"allowed": allowed});
    if !reason.is_empty() {
        status["reason"] = reason.into();
    }
    status
}

/// kube's RulesFor answer: resource rules and non-resource rules, never incomplete here.
fn rules_status(state: &State, user: &UserInfo, ns: &str) -> Value {
    let mut rules: Vec<PolicyRule> = Vec::new();
    if user.is_master() {
        // The privileged-group authorizer's rules.
        let all = vec!["*".to_owned()];
        rules.push(PolicyRule {
            verbs: all.clone(),
            api_groups: all.clone(),
            resources: all.clone(),
            ..PolicyRule::default()
        });
        rules.push(PolicyRule {
            verbs: all.clone(),
            non_resource_urls: all,
            ..PolicyRule::default()
        });
    }
    rules.extend(state.authz.rules_for(&state.store, user, ns));
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for r in &rules {
        if !r.resources.is_empty() {
            let mut v =
                json!({"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources});
            if !r.resource_names.is_empty() {
                v["resourceNames"] = json!(r.resource_names);
            }
            resource_rules.push(v);
        }
        if !r.non_resource_urls.is_empty() {
            non_resource_rules
                .push(json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}));
        }
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false})
}

/// `POST` of one of the review resources (`plural` in `group`), by `user`, in `ns` for the local
/// review.
pub(crate) async fn serve(
    state: &State,
    user: &UserInfo,
    group: &str,
    plural: &str,
    ns: &str,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Option<Result<hyper::Response<Body>, ApiError>> {
    let kind = match (group, plural) {
        (AUTHORIZATION, "subjectaccessreviews") => "SubjectAccessReview",
        (AUTHORIZATION, "localsubjectaccessreviews") => "LocalSubjectAccessReview",
        (AUTHORIZATION, "selfsubjectaccessreviews") => "SelfSubjectAccessReview",
        (AUTHORIZATION, "selfsubjectrulesreviews") => "SelfSubjectRulesReview",
        (AUTHENTICATION, "selfsubjectreviews") => "SelfSubjectReview",
        _ => return None,
    };
    Some(answer(state, user, group, kind, ns, q, req).await)
}

async fn answer(
    state: &State,
    user: &UserInfo,
    group: &str,
    kind: &str,
    ns: &str,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    h::dry_run(q)?;
    let mut body = h::read_object(req).await?;
    if !body.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): the body is not a JSON object"
        )));
    }
    let want = format!("{group}/v1");
    let api_version = str_at(&body, "/apiVersion");
    if !api_version.is_empty() && api_version != want {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({want})"
        )));
    }
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = match kind {
        "SubjectAccessReview" => {
            let a = spec_attributes(kind, &spec)?;
            let subject = spec_user(&spec);
            if subject.name.is_empty() && subject.groups.is_empty() {
                return Err(invalid(
                    kind,
                    "",
                    vec![Cause::new(
                        "FieldValueInvalid",
                        "spec.user",
                        "Invalid value: \"\": at least one of user or group must be specified",
                    )],
                ));
            }
            access_status(state, &subject, &a)
        }
        "LocalSubjectAccessReview" => {
            let a = spec_attributes(kind, &spec)?;
            let meta_ns = str_at(&body, "/metadata/namespace");
            if !meta_ns.is_empty() && meta_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            if !a.resource_request {
                return Err(invalid(
                    kind,
                    "",
                    vec![Cause::new(
                        "FieldValueInvalid",
                        "spec.nonResourceAttributes",
                        "Invalid value: \"\": disallowed on this kind of request",
                    )],
                ));
            }
            if a.namespace != ns {
                return Err(invalid(
                    kind,
                    "",
                    vec![Cause::new(
                        "FieldValueInvalid",
                        "spec.resourceAttributes.namespace",
                        format!(
                            "Invalid value: {:?}: must match metadata.namespace",
                            a.namespace
                        ),
                    )],
                ));
            }
            let subject = spec_user(&spec);
            if subject.name.is_empty() && subject.groups.is_empty() {
                return Err(invalid(
                    kind,
                    "",
                    vec![Cause::new(
                        "FieldValueInvalid",
                        "spec.user",
                        "Invalid value: \"\": at least one of user or group must be specified",
                    )],
                ));
            }
            access_status(state, &subject, &a)
        }
        "SelfSubjectAccessReview" => {
            let a = spec_attributes(kind, &spec)?;
            access_status(state, user, &a)
        }
        "SelfSubjectRulesReview" => {
            let review_ns = str_at(&spec, "/namespace");
            if review_ns.is_empty() {
                return Err(ApiError::bad_request("no namespace on request"));
            }
            rules_status(state, user, review_ns)
        }
        _ => json!({"userInfo": user.to_json()}),
    };
    body["kind"] = kind.into();
    body["apiVersion"] = want.into();
    let mut meta = json!({"creationTimestamp": null});
    if kind == "LocalSubjectAccessReview" {
        meta["namespace"] = ns.into();
    }
    body["metadata"] = meta;
    if kind != "SelfSubjectReview" {
        body["spec"] = spec;
    }
    body["status"] = status;
    Ok(h::json_response(201, body.to_string()))
}
