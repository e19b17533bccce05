//! CRD conversion webhooks (apiextensions-apiserver's `webhookConverter`): the objects of a CRD
//! with `spec.conversion.strategy: Webhook` are stored in the storage version and converted to
//! and from the version a client uses by a ConversionReview posted to the CRD's webhook.
//!
//! Where the conversions happen, as in kube (each served version has its own REST storage that
//! decodes from etcd into that version and encodes into the storage version):
//! - a write in another version converts the stored object it starts from into the request's
//!   version, and the object it commits into the storage version (`Store`'s write path, in
//!   passes: the call is made with the store unlocked, see `admission::webhook::run`);
//! - every answer (get, list, watch events, the object a write returns) is converted from the
//!   version it is stored in into the request's version (`respond`, `Call`), once per request
//!   (kube's watch cache converts once per event and version: the calls a webhook sees differ,
//!   the answers do not).
//!
//! Objects already in the wanted version are not sent, and a request with none to convert makes
//! no call. A webhook's answer is checked as kube checks it (uid, count, apiVersion, kind, name,
//! namespace and uid of each object); only labels and annotations may change in its metadata.
//! Failures are kube's errors: a 500 without a reason, `conversion webhook for <gvk> failed: ...`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::admission::webhook::{self, Endpoint, Target};
use crate::catalog::ResourceInfo;
use crate::meta::{meta_str, strings};
use crate::status::ApiError;

/// How long a conversion call may take: kube's webhook REST client default (conversion has no
/// `timeoutSeconds`), which it also sends as `?timeout=30s`.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The ConversionReview versions this server speaks, in kube's preference (the CRD's own order
/// picks the first it lists).
const REVIEW_VERSIONS: &[&str] = &["v1", "v1beta1"];

/// A CRD's conversion webhook: where it is served and what it must convert.
pub struct Webhook {
    pub group: String,
    pub kind: String,
    pub list_kind: String,
    /// The storage version's apiVersion (`group/version`): what is committed.
    pub storage_api_version: String,
    pub target: Target,
    /// The TLS client trusting `caBundle`, or why the bundle could not be used.
    tls: Result<Arc<rustls::ClientConfig>, String>,
    /// `conversionReviewVersions`: the first this server speaks is sent.
    review_versions: Vec<String>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("group", &self.group)
            .field("kind", &self.kind)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// The conversion webhook of a (defaulted, validated) CRD; None under the `None` strategy.
    pub fn of_crd(crd: &Value) -> Option<Arc<Self>> {
        let conversion = crd.pointer("/spec/conversion")?;
        if conversion.get("strategy").and_then(Value::as_str) != Some("Webhook") {
            return None;
        }
        let hook = conversion.get("webhook").unwrap_or(&Value::Null);
        let client = hook.get("clientConfig").unwrap_or(&Value::Null);
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        let storage = crate::crd::storage_version(crd).unwrap_or("");
        let names = |k: &str| {
            crd.pointer(&format!("/spec/names/{k}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        Some(Arc::new(Self {
            group: group.to_owned(),
            kind: names("kind"),
            list_kind: names("listKind"),
            storage_api_version: format!("{group}/{storage}"),
            target: webhook::target(client),
            tls: webhook::tls_client(client.get("caBundle").and_then(Value::as_str).unwrap_or("")),
            review_versions: strings(hook.get("conversionReviewVersions")),
        }))
    }

    /// Go's `schema.GroupVersionKind.String()` of the input, as kube's messages print it.
    fn gvk(&self, api_version: &str, list: bool) -> String {
        let kind = if list { &self.list_kind } else { &self.kind };
        format!("{api_version}, Kind={kind}")
    }
}

/// One conversion webhook ready to call: the hook and where it is served, resolved while the
/// store was locked (a Service's address is looked up in the store).
#[derive(Clone, Debug)]
pub struct Call {
    pub hook: Arc<Webhook>,
    pub endpoint: Result<Endpoint, String>,
}

impl Call {
    /// Converts `objects` into `desired` (an apiVersion): those already in it stay as they are;
    /// the others are sent in one ConversionReview. `from` is the apiVersion of the input as a
    /// whole (a list's, or the object's) and `list` says which, for kube's messages.
    pub async fn convert(
        &self,
        objects: Vec<Value>,
        desired: &str,
        from: &str,
        list: bool,
    ) -> Result<Vec<Value>, String> {
        let gvk = self.hook.gvk(from, list);
        let pending: Vec<usize> = objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.get("apiVersion").and_then(Value::as_str) != Some(desired))
            .map(|(i, _)| i)
            .collect();
        if pending.is_empty() {
            return Ok(objects);
        }
        let version = self
            .hook
            .review_versions
            .iter()
            .find(|v| REVIEW_VERSIONS.contains(&v.as_str()))
            .ok_or("no supported conversion review versions")?;
        let uid = crate::meta::new_uid();
        let review = json!({
            "kind": "ConversionReview",
            "apiVersion": format!("apiextensions.k8s.io/{version}"),
            "request": {
                "uid": uid,
                "desiredAPIVersion": desired,
                "objects": pending.iter().map(|&i| &objects[i]).collect::<Vec<_>>(),
            },
        });
        let failed = |why: String| format!("conversion webhook for {gvk} failed: {why}");
        let answer = self.post(&review).await.map_err(failed)?;
        let converted = converted_objects(&answer, version, &uid).map_err(failed)?;
        if converted.len() != pending.len() {
            return Err(format!(
                "conversion webhook for {gvk} returned {} objects, expected {}",
                converted.len(),
                pending.len()
            ));
        }
        let mut out = objects;
        for (n, (&i, converted)) in pending.iter().zip(converted).enumerate() {
            // kube's messages count from 1 for lists (it increments before checking) and say
            // "invalid object at index 0" for one object.
            let at = |why: String| {
                if list {
                    format!(
                        "conversion webhook for {gvk} returned invalid converted object at index {}: {why}",
                        n + 1
                    )
                } else {
                    format!(
                        "conversion webhook for {gvk} returned invalid object at index 0: {why}"
                    )
                }
            };
            let got = converted
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            if got != desired {
                return Err(at(format!(
                    "invalid groupVersion (expected {desired}, received {got})"
                )));
            }
            let original = &out[i];
            let (want_kind, got_kind) = (kind_of(original), kind_of(&converted));
            if want_kind != got_kind {
                return Err(at(format!(
                    "invalid kind (expected {want_kind}, received {got_kind})"
                )));
            }
            same_identity(original, &converted).map_err(|why| {
                if list {
                    format!(
                        "conversion webhook for {gvk} returned invalid converted object at index {}: {why}",
                        n + 1
                    )
                } else {
                    format!("conversion webhook for {gvk} returned invalid object: {why}")
                }
            })?;
            let restored = restore_metadata(original, converted).map_err(|why| {
                if list {
                    format!(
                        "conversion webhook for {gvk} returned invalid metadata in object at index {}: {why}",
                        n + 1
                    )
                } else {
                    format!("conversion webhook for {gvk} returned invalid metadata: {why}")
                }
            })?;
            out[i] = restored;
        }
        Ok(out)
    }

    /// Posts the review and decodes the answer.
    async fn post(&self, review: &Value) -> Result<Value, String> {
        let endpoint = self.endpoint.clone()?;
        let tls = self.hook.tls.clone()?;
        let body = serde_json::to_vec(review).map_err(|e| e.to_string())?;
        let bytes = webhook::post_bytes(&endpoint, &tls, body, TIMEOUT).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("couldn't get version/kind; json parse error: {e}"))
    }

    /// One object into `desired`.
    pub async fn convert_one(&self, object: Value, desired: &str) -> Result<Value, String> {
        let from = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut out = self.convert(vec![object], desired, &from, false).await?;
        Ok(out.pop().unwrap_or(Value::Null))
    }
}

fn kind_of(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// kube's `getConvertedObjectsFromResponse`: the review's kind and uid (v1 only), then the
/// result's status.
fn converted_objects(answer: &Value, version: &str, uid: &str) -> Result<Vec<Value>, String> {
    if version == "v1" {
        let want = "apiextensions.k8s.io/v1, Kind=ConversionReview";
        let got = format!(
            "{}, Kind={}",
            answer
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or(""),
            kind_of(answer)
        );
        if got != want {
            return Err(format!("expected webhook response of {want}, got {got}"));
        }
    }
    let response = answer
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("no response provided")?;
    if version == "v1" {
        let got = response.get("uid").and_then(Value::as_str).unwrap_or("");
        if got != uid {
            return Err(format!("expected response.uid={uid:?}, got {got:?}"));
        }
    }
    let result = response.get("result").unwrap_or(&Value::Null);
    let status = result.get("status").and_then(Value::as_str).unwrap_or("");
    if status != "Success" {
        let message = result.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(if message.is_empty() {
            format!("response.result.status was '{status}', not 'Success'")
        } else {
            message.to_owned()
        });
    }
    Ok(response
        .get("convertedObjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// kube's `validateConvertedObject`: the same kind, name, namespace and uid.
fn same_identity(original: &Value, converted: &Value) -> Result<(), String> {
    if kind_of(original) != kind_of(converted) {
        return Err(format!(
            "must have the same kind: {} != {}",
            kind_of(original),
            kind_of(converted)
        ));
    }
    for (field, label) in [("name", "name"), ("namespace", "namespace"), ("uid", "UID")] {
        let (a, b) = (meta_str(original, field), meta_str(converted, field));
        if a != b {
            return Err(format!("must have the same {label}: {a} != {b}"));
        }
    }
    Ok(())
}

/// kube's `restoreObjectMeta`: the converted object keeps the original's metadata, except the
/// labels and annotations the webhook answered (checked as metadata is when they changed).
fn restore_metadata(original: &Value, mut converted: Value) -> Result<Value, String> {
    let answered = match converted.get("metadata") {
        None => return Err("missing metadata in converted object".into()),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "invalid metadata of type {} in converted object",
                go_type(other)
            ));
        }
    };
    let mut meta = original
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for field in ["labels", "annotations"] {
        let answer = match answered.get(field) {
            None | Some(Value::Null) => {
                meta.remove(field);
                continue;
            }
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(format!(
                    "invalid metadata.{field} of type {} in converted object",
                    go_type(other)
                ));
            }
        };
        for (k, v) in answer {
            if !v.is_string() {
                return Err(format!(
                    "metadata.{field}[{k}] must be a string, but is {} in converted object",
                    go_type(v)
                ));
            }
        }
        let answer_value = Value::Object(answer.clone());
        if meta.get(field) != Some(&answer_value) {
            let causes = if field == "labels" {
                crate::validation::objectmeta::labels(Some(&answer_value), "metadata.labels")
            } else {
                // kube's path here is `metadata.annotation` (sic).
                crate::validation::objectmeta::annotations(
                    Some(&answer_value),
                    "metadata.annotation",
                )
            };
            if !causes.is_empty() {
                return Err(aggregate(&causes));
            }
        }
        meta.insert(field.into(), Value::Object(answer.clone()));
    }
    converted["metadata"] = Value::Object(meta);
    Ok(converted)
}

/// Go's `field.ErrorList.ToAggregate().Error()`: one error as is, several in brackets.
fn aggregate(causes: &[crate::status::Cause]) -> String {
    let texts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    match texts.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// Go's `%T` of a decoded JSON value.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The error a failed conversion is answered with: kube passes the converter's error through
/// its storage layer unchanged, so it is a 500 with no reason and the error as the message.
pub fn failure(message: String) -> ApiError {
    ApiError::internal_unknown(message)
}

/// An answer's body (one object, or a list) in the request's version: what a client reads.
pub async fn respond(call: &Call, info: &ResourceInfo, body: Bytes) -> Result<Bytes, ApiError> {
    let desired = info.api_version();
    let mut v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return Ok(body),
    };
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        let objects = std::mem::take(items);
        let from = call.hook.storage_api_version.clone();
        let converted = call
            .convert(objects, &desired, &from, true)
            .await
            .map_err(failure)?;
        v["items"] = Value::Array(converted.into_iter().map(ordered).collect());
        return Ok(Bytes::from(serde_json::to_vec(&v).unwrap_or_default()));
    }
    if v.get("apiVersion").and_then(Value::as_str) == Some(desired.as_str()) {
        return Ok(body);
    }
    let converted = call.convert_one(v, &desired).await.map_err(failure)?;
    Ok(Bytes::from(
        serde_json::to_vec(&ordered(converted)).unwrap_or_default(),
    ))
}

/// A converted custom resource in the key order kube writes custom resources in.
fn ordered(mut v: Value) -> Value {
    crate::order::canonical(&mut v, true);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget(api_version: &str) -> Value {
        json!({"apiVersion": api_version, "kind": "Widget",
               "metadata": {"name": "w", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                            "labels": {"a": "1"}},
               "spec": {"size": 1}})
    }

    #[test]
    fn answers_are_checked_as_kube_checks_them() {
        let ok = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                        "response": {"uid": "x", "result": {"status": "Success"}, "convertedObjects": [1]}});
        assert_eq!(converted_objects(&ok, "v1", "x").unwrap(), vec![json!(1)]);
        assert_eq!(
            converted_objects(&ok, "v1", "y").unwrap_err(),
            "expected response.uid=\"y\", got \"x\""
        );
        let mut wrong_kind = ok.clone();
        wrong_kind["kind"] = "AdmissionReview".into();
        assert_eq!(
            converted_objects(&wrong_kind, "v1", "x").unwrap_err(),
            "expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got apiextensions.k8s.io/v1, Kind=AdmissionReview"
        );
        // v1beta1 answers are not checked for kind or uid (kube kept the old behaviour).
        assert!(converted_objects(&wrong_kind, "v1beta1", "y").is_ok());
        let failed = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                            "response": {"uid": "x", "result": {"status": "Failure", "message": "no way"}}});
        assert_eq!(converted_objects(&failed, "v1", "x").unwrap_err(), "no way");
        let bare = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                          "response": {"uid": "x", "result": {}}});
        assert_eq!(
            converted_objects(&bare, "v1", "x").unwrap_err(),
            "response.result.status was '', not 'Success'"
        );
        let none = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview"});
        assert_eq!(
            converted_objects(&none, "v1", "x").unwrap_err(),
            "no response provided"
        );
    }

    #[test]
    fn metadata_comes_back_from_the_original_but_labels_and_annotations_from_the_webhook() {
        let original = widget("example.com/v1");
        let mut converted = widget("example.com/v2");
        converted["metadata"]["resourceVersion"] = "999".into();
        converted["metadata"]["labels"] = json!({"b": "2"});
        converted["metadata"]["annotations"] = json!({"c": "3"});
        let out = restore_metadata(&original, converted).unwrap();
        assert_eq!(out["metadata"]["resourceVersion"], "7");
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(out["metadata"]["annotations"], json!({"c": "3"}));
        assert_eq!(out["apiVersion"], "example.com/v2");

        let mut dropped = widget("example.com/v2");
        dropped["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("labels");
        let out = restore_metadata(&original, dropped).unwrap();
        assert!(out["metadata"].get("labels").is_none());

        let mut bad = widget("example.com/v2");
        bad["metadata"]["labels"] = json!({"a": 1});
        assert_eq!(
            restore_metadata(&original, bad).unwrap_err(),
            "metadata.labels[a] must be a string, but is int64 in converted object"
        );
        let mut invalid = widget("example.com/v2");
        invalid["metadata"]["labels"] = json!({"a b": "x"});
        let err = restore_metadata(&original, invalid).unwrap_err();
        assert!(
            err.starts_with("metadata.labels: Invalid value: \"a b\""),
            "{err}"
        );
        let mut gone = widget("example.com/v2");
        gone.as_object_mut().unwrap().remove("metadata");
        assert_eq!(
            restore_metadata(&original, gone).unwrap_err(),
            "missing metadata in converted object"
        );
    }

    #[test]
    fn identity_must_not_change() {
        let original = widget("example.com/v1");
        let mut renamed = widget("example.com/v2");
        renamed["metadata"]["name"] = "other".into();
        assert_eq!(
            same_identity(&original, &renamed).unwrap_err(),
            "must have the same name: w != other"
        );
        let mut uid = widget("example.com/v2");
        uid["metadata"]["uid"] = "u2".into();
        assert_eq!(
            same_identity(&original, &uid).unwrap_err(),
            "must have the same UID: u1 != u2"
        );
    }

    #[test]
    fn only_webhook_strategies_make_a_webhook() {
        let crd = |conversion: Value| {
            json!({"spec": {"group": "example.com", "names": {"kind": "Widget", "listKind": "WidgetList"},
                   "versions": [{"name": "v1", "storage": true}, {"name": "v2", "storage": false}],
                   "conversion": conversion}})
        };
        assert!(Webhook::of_crd(&crd(json!({"strategy": "None"}))).is_none());
        let hook = Webhook::of_crd(&crd(json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"url": "https://127.0.0.1:8443/convert"},
            "conversionReviewVersions": ["v2", "v1beta1", "v1"]}})))
        .unwrap();
        assert_eq!(hook.storage_api_version, "example.com/v1");
        assert_eq!(
            hook.gvk("example.com/v1", true),
            "example.com/v1, Kind=WidgetList"
        );
        assert_eq!(
            hook.target,
            Target::Url("https://127.0.0.1:8443/convert".into())
        );
    }
}
