//! Calls the selected webhooks (kube's mutating and validating dispatchers): mutating webhooks
//! one after another, each seeing the previous one's patch, with one reinvocation round for
//! those that asked for it; validating webhooks all at once. Turns each outcome into what kube
//! answers: a webhook's refusal as its Status, a failed call by the failure policy (a 500 under
//! `Fail`, nothing under `Ignore`).

use base64::Engine as _;
use futures::future::join_all;
use serde_json::Value;

use super::client;
use super::config::Hook;
use super::select::{Invocation, review};
use crate::admission::policy::FailurePolicy;
use crate::admission::versioned;
use crate::status::{ApiError, Cause, Details};

/// Review versions this server sends, in kube's preference order.
const REVIEW_VERSIONS: &[&str] = &["v1", "v1beta1"];

/// How a call failed.
#[derive(Debug)]
enum Failed {
    /// kube's `ErrCallingWebhook` (the full message): subject to the failure policy.
    Calling(String),
    /// The webhook's refusal, or an error no failure policy excuses.
    Refused(ApiError),
}

/// What a webhook answered: its warnings and, for a mutating one, the JSON patch to apply.
struct Answer {
    warnings: Vec<String>,
    patch: Option<Vec<serde_json::Map<String, Value>>>,
}

fn calling(hook: &Hook, why: impl std::fmt::Display) -> Failed {
    Failed::Calling(format!("failed calling webhook {:?}: {why}", hook.name))
}

/// kube's `ToStatusErr`: the webhook's Status with the message prefixed, a code of at least 400.
fn refusal(hook: &Hook, result: Option<&Value>) -> ApiError {
    let empty = Value::Null;
    let result = result.unwrap_or(&empty);
    let text = |k: &str| result.get(k).and_then(Value::as_str).unwrap_or("");
    let denied = format!("admission webhook {:?} denied the request", hook.name);
    let message = if !text("message").is_empty() {
        format!("{denied}: {}", text("message"))
    } else if !text("reason").is_empty() {
        format!("{denied}: {}", text("reason"))
    } else {
        format!("{denied} without explanation")
    };
    let code = result
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(400);
    let details = result.get("details").filter(|d| d.is_object()).map(|d| {
        let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        Box::new(Details {
            name: s("name"),
            group: s("group"),
            kind: s("kind"),
            causes: d
                .get("causes")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
                    Cause::new(s("reason"), s("field"), s("message"))
                })
                .collect(),
            retry_after_seconds: d
                .get("retryAfterSeconds")
                .and_then(Value::as_u64)
                .and_then(|s| u32::try_from(s).ok()),
        })
    });
    ApiError {
        code,
        reason: text("reason").to_owned().into(),
        message,
        details,
    }
}

/// Calls one webhook with the objects as they are now (kube's `callHook` /
/// `callAttrMutatingHook` up to the patch).
async fn call(
    inv: &Invocation,
    object: Option<&Value>,
    old_object: Option<&Value>,
    dry_run: bool,
    mutating: bool,
) -> Result<Answer, Failed> {
    let hook = &inv.hook;
    if dry_run {
        if hook.side_effects.is_empty() {
            return Err(calling(hook, "Webhook SideEffects is nil"));
        }
        if !matches!(hook.side_effects.as_str(), "None" | "NoneOnDryRun") {
            return Err(Failed::Refused(ApiError::bad_request(format!(
                "admission webhook {:?} does not support dry run",
                hook.name
            ))));
        }
    }
    let Some(version) = REVIEW_VERSIONS
        .iter()
        .find(|v| hook.review_versions.iter().any(|w| w == *v))
    else {
        return Err(calling(
            hook,
            "could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)",
        ));
    };
    let endpoint = inv
        .endpoint
        .as_ref()
        .map_err(|e| calling(hook, format!("could not get REST client: {e}")))?;
    let tls = hook
        .tls
        .as_ref()
        .map_err(|e| calling(hook, format!("could not get REST client: {e}")))?;
    let uid = crate::meta::new_uid();
    let body = review(inv, version, &uid, object, old_object);
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let answer = client::post(endpoint, tls, body, hook.timeout)
        .await
        .map_err(|why| calling(hook, format!("failed to call webhook: {why}")))?;
    let invalid = |why: String| calling(hook, format!("received invalid webhook response: {why}"));
    let response = answer
        .get("response")
        .filter(|r| r.is_object())
        .ok_or_else(|| invalid("webhook response was absent".into()))?;
    let field = |k: &str| response.get(k).filter(|v| !v.is_null());
    let patch = field("patch").and_then(Value::as_str).unwrap_or("");
    let patch_type = field("patchType").and_then(Value::as_str);
    if *version == "v1" {
        let got_uid = response.get("uid").and_then(Value::as_str).unwrap_or("");
        if got_uid != uid {
            return Err(invalid(format!(
                "expected response.uid={uid:?}, got {got_uid:?}"
            )));
        }
        let kind = answer.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = answer
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if (api_version, kind) != ("admission.k8s.io/v1", "AdmissionReview") {
            return Err(invalid(format!(
                "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {api_version}, Kind={kind}"
            )));
        }
        if mutating {
            if !patch.is_empty() && patch_type.is_none() {
                return Err(invalid(
                    "webhook returned response.patch but not response.patchType".into(),
                ));
            }
            if patch.is_empty() && patch_type.is_some() {
                return Err(invalid(
                    "webhook returned response.patchType but not response.patch".into(),
                ));
            }
        } else {
            if !patch.is_empty() {
                return Err(invalid(
                    "validating webhook may not return response.patch".into(),
                ));
            }
            if patch_type.is_some() {
                return Err(invalid(
                    "validating webhook may not return response.patchType".into(),
                ));
            }
        }
    }
    let warnings = response
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if response.get("allowed").and_then(Value::as_bool) != Some(true) {
        return Err(Failed::Refused(refusal(hook, response.get("result"))));
    }
    if !mutating || patch.is_empty() {
        return Ok(Answer {
            warnings,
            patch: None,
        });
    }
    // v1beta1 answers were never checked for a patch type; kube pins them to JSONPatch.
    let patch_type = patch_type.unwrap_or("JSONPatch");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(patch)
        .map_err(|e| {
            calling(
                hook,
                format!("received undecodable patch in webhook response: {e}"),
            )
        })?;
    let ops = crate::jsonpatch::decode(&decoded).map_err(|e| {
        calling(
            hook,
            format!("received undecodable patch in webhook response: {e}"),
        )
    })?;
    if patch_type != "JSONPatch" {
        return Err(calling(
            hook,
            format!("unsupported patch type {patch_type:?}"),
        ));
    }
    Ok(Answer {
        warnings,
        patch: Some(ops),
    })
}

/// What a call failure does under the webhook's failure policy: nothing (`Ignore`, logged) or a
/// 500 naming the webhook (`Fail`).
fn apply_failure_policy(hook: &Hook, failed: Failed) -> Result<(), ApiError> {
    match failed {
        Failed::Calling(message) if hook.failure_policy == FailurePolicy::Ignore => {
            tracing::warn!(webhook = %hook.name, %message, "Failed calling webhook, failing open");
            Ok(())
        }
        Failed::Calling(message) => Err(ApiError::internal(message)),
        Failed::Refused(e) => Err(e),
    }
}

/// The mutating webhooks' work on one write.
pub struct Mutated {
    pub object: Option<Value>,
    pub warnings: Vec<String>,
}

/// Runs the mutating webhooks in order on `object` (None on delete, where a patch is an error).
/// `normalize` decodes and defaults an object a webhook changed, as kube does after each patch.
pub async fn mutate(
    invocations: &[Invocation],
    mut object: Option<Value>,
    old_object: Option<&Value>,
    dry_run: bool,
    normalize: &(dyn Fn(&mut Value) -> Result<(), ApiError> + Sync),
) -> Result<Mutated, ApiError> {
    let mut warnings = Vec::new();
    // kube's reinvocation context: webhooks asking for reinvocation that were called before a
    // later webhook changed the object are called once more, in order, after the first round.
    let mut invoked_reinvocable: Vec<&str> = Vec::new();
    let mut reinvoke: Vec<&str> = Vec::new();
    for round in 0..2 {
        for inv in invocations {
            let hook = &inv.hook;
            if round == 1 && !reinvoke.contains(&hook.id.as_str()) {
                continue;
            }
            let changed = match call(inv, object.as_ref(), old_object, dry_run, true).await {
                Ok(answer) => {
                    warnings.extend(answer.warnings);
                    match (answer.patch, object.as_mut()) {
                        (None, _) => false,
                        (Some(ops), _) if ops.is_empty() => false,
                        (Some(_), None) => {
                            return Err(ApiError::internal(format!(
                                "admission webhook {:?} attempted to modify the object, which is not supported for this operation",
                                hook.name
                            )));
                        }
                        (Some(ops), Some(obj)) => {
                            // The patch is to the object the webhook saw (kube's
                            // `VersionedAttributes`), converted back for the write.
                            let before = obj.clone();
                            let stored = obj
                                .get("apiVersion")
                                .and_then(Value::as_str)
                                .unwrap_or(&inv.api_version)
                                .to_owned();
                            let mut shown = versioned::to_version(obj, &inv.api_version);
                            crate::jsonpatch::apply(&mut shown, &ops)
                                .map_err(|e| ApiError::internal(e.to_string()))?;
                            // kube decodes the patched object into the kind it sent.
                            if shown.is_object() {
                                shown["apiVersion"] = inv.api_version.clone().into();
                            }
                            *obj = versioned::from_version(shown, &inv.api_version, &stored);
                            normalize(obj)?;
                            *obj != before
                        }
                    }
                }
                Err(failed) => {
                    apply_failure_policy(hook, failed)?;
                    false
                }
            };
            if round == 0 {
                if changed {
                    reinvoke.append(&mut invoked_reinvocable);
                }
                if hook.reinvoke {
                    invoked_reinvocable.push(&hook.id);
                }
            }
        }
        if reinvoke.is_empty() {
            break;
        }
    }
    Ok(Mutated { object, warnings })
}

/// Runs the validating webhooks at once on the final objects; the first refusal in webhook
/// order is the answer (kube returns the first to arrive).
pub async fn validate(
    invocations: &[Invocation],
    object: Option<&Value>,
    old_object: Option<&Value>,
    dry_run: bool,
) -> Result<Vec<String>, ApiError> {
    let calls = invocations
        .iter()
        .map(|inv| call(inv, object, old_object, dry_run, false));
    let mut warnings = Vec::new();
    for (inv, outcome) in invocations.iter().zip(join_all(calls).await) {
        match outcome {
            Ok(answer) => warnings.extend(answer.warnings),
            Err(failed) => apply_failure_policy(&inv.hook, failed)?,
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook() -> Hook {
        let config = json!({"metadata": {"name": "c", "uid": "u", "resourceVersion": "1"},
            "webhooks": [{"name": "deny.example.com", "clientConfig": {"url": "https://127.0.0.1:1/"}}]});
        let mut cache = super::super::config::Cache::default();
        let hooks = cache.hooks(&config, super::super::config::Phase::Validating);
        let h = &hooks[0];
        Hook {
            configuration: h.configuration.clone(),
            name: h.name.clone(),
            id: h.id.clone(),
            target: h.target.clone(),
            tls: Err("unused".into()),
            matcher: h.matcher.clone(),
            match_conditions: Vec::new(),
            failure_policy: h.failure_policy,
            side_effects: h.side_effects.clone(),
            timeout: h.timeout,
            review_versions: h.review_versions.clone(),
            reinvoke: false,
        }
    }

    #[test]
    fn refusals_carry_the_webhooks_status_with_kubes_prefix_and_a_code_of_at_least_400() {
        let h = hook();
        let e = refusal(&h, None);
        assert_eq!(
            (e.code, e.reason.as_ref(), e.message.as_str()),
            (
                400,
                "",
                "admission webhook \"deny.example.com\" denied the request without explanation"
            )
        );
        let e = refusal(
            &h,
            Some(&json!({"code": 403, "reason": "Forbidden", "message": "no pets"})),
        );
        assert_eq!(
            (e.code, e.reason.as_ref(), e.message.as_str()),
            (
                403,
                "Forbidden",
                "admission webhook \"deny.example.com\" denied the request: no pets"
            )
        );
        let e = refusal(&h, Some(&json!({"code": 200, "reason": "NotAllowed"})));
        assert_eq!(e.code, 400, "a refusal is never a success code");
        assert_eq!(
            e.message,
            "admission webhook \"deny.example.com\" denied the request: NotAllowed"
        );
        let e = refusal(
            &h,
            Some(
                &json!({"code": "x", "details": {"causes": [{"field": "spec", "message": "m", "reason": "FieldValueInvalid"}]}}),
            ),
        );
        assert_eq!(e.code, 400);
        assert_eq!(e.details.expect("details").causes[0].field, "spec");
    }

    #[tokio::test]
    async fn a_dry_run_never_reaches_a_webhook_with_side_effects() {
        // v1 refuses `Some` and `Unknown` when a configuration is written; one stored through
        // v1beta1 in an older cluster still has them.
        let mut h = hook();
        h.side_effects = "Some".into();
        let inv = Invocation {
            hook: std::sync::Arc::new(h),
            endpoint: Err("never resolved".into()),
            request: json!({}),
            api_version: "v1".into(),
        };
        match call(&inv, Some(&json!({})), None, true, false).await {
            Err(Failed::Refused(e)) => {
                assert_eq!(e.code, 400);
                assert_eq!(
                    e.message,
                    "admission webhook \"deny.example.com\" does not support dry run"
                );
            }
            other => panic!("{:?}", other.err()),
        }
        let mut h = hook();
        h.side_effects = String::new();
        let inv = Invocation {
            hook: std::sync::Arc::new(h),
            ..inv
        };
        match call(&inv, Some(&json!({})), None, true, false).await {
            Err(Failed::Calling(m)) => assert!(m.ends_with("Webhook SideEffects is nil"), "{m}"),
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn a_failed_call_fails_closed_or_open_by_the_failure_policy() {
        let mut h = hook();
        let failed = || Failed::Calling("failed calling webhook \"x\": boom".into());
        let e = apply_failure_policy(&h, failed()).expect_err("Fail is the default");
        assert_eq!(e.code, 500);
        assert_eq!(
            e.message,
            "Internal error occurred: failed calling webhook \"x\": boom"
        );
        h.failure_policy = FailurePolicy::Ignore;
        assert!(apply_failure_policy(&h, failed()).is_ok());
        let refused = Failed::Refused(ApiError::bad_request("no"));
        assert_eq!(
            apply_failure_policy(&h, refused)
                .expect_err("a refusal is never ignored")
                .code,
            400
        );
    }
}
