//! Serves `/scale` (`autoscaling/v1` `Scale`) for Deployments, ReplicaSets, StatefulSets,
//! ReplicationControllers and custom resources whose CRD version declares `subresources.scale`:
//! GET builds the Scale from the parent; PUT and PATCH hand the Scale to the store's scale write
//! (`Store::update_scale`), which admits it as a Scale and changes the parent's replicas only,
//! with the Scale's resourceVersion as the parent's precondition (kube's `ScaleREST` and the
//! apiextensions `ScaleREST`).

use std::sync::Arc;

use http::Request;
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use super::rmw;
use crate::catalog::ResourceInfo;
use crate::http::{Body, State};
use crate::meta::meta_str;
use crate::status::{ApiError, Cause};
use crate::store::{Target, WriteOpts};

/// The replicas kube's defaulting gives a Deployment, ReplicaSet, StatefulSet or
/// ReplicationController without `spec.replicas` (`SetDefaults_Deployment` and siblings).
const BUILTIN_DEFAULT_REPLICAS: i64 = 1;

/// Where the parent's label selector lives and in which form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SelectorAt {
    /// A `metav1.LabelSelector` (apps types): rendered as its string form.
    LabelSelector(Vec<String>),
    /// A plain label map (ReplicationController `spec.selector`).
    Map(Vec<String>),
    /// Already a string (a CRD's `labelSelectorPath`).
    Text(Vec<String>),
    None,
}

/// Where a resource's `/scale` reads and writes replica counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    spec_replicas: Vec<String>,
    status_replicas: Vec<String>,
    selector: SelectorAt,
    /// The desired replicas when the field is absent.
    default_replicas: i64,
}

fn path(dotted: &str) -> Vec<String> {
    dotted
        .trim_start_matches('.')
        .split('.')
        .map(str::to_owned)
        .collect()
}

/// The `/scale` of a built-in resource, if it has one.
pub fn builtin_scale(group: &str, plural: &str) -> Option<ScalePaths> {
    let selector = match (group, plural) {
        ("apps", "deployments" | "replicasets" | "statefulsets") => {
            SelectorAt::LabelSelector(path("spec.selector"))
        }
        ("", "replicationcontrollers") => SelectorAt::Map(path("spec.selector")),
        _ => return None,
    };
    Some(ScalePaths {
        spec_replicas: path("spec.replicas"),
        status_replicas: path("status.replicas"),
        selector,
        default_replicas: BUILTIN_DEFAULT_REPLICAS,
    })
}

/// The `/scale` a CRD version declares in `subresources.scale` (None without the two required paths).
pub fn custom_scale(scale: &Value) -> Option<ScalePaths> {
    let spec = scale.get("specReplicasPath")?.as_str()?;
    let status = scale.get("statusReplicasPath")?.as_str()?;
    Some(ScalePaths {
        spec_replicas: path(spec),
        status_replicas: path(status),
        selector: match scale.get("labelSelectorPath").and_then(Value::as_str) {
            Some(p) if !p.is_empty() => SelectorAt::Text(path(p)),
            _ => SelectorAt::None,
        },
        // apiextensions' scaleFromCustomResource reads a missing field as 0.
        default_replicas: 0,
    })
}

fn at<'a>(obj: &'a Value, p: &[String]) -> Option<&'a Value> {
    p.iter().try_fold(obj, |cur, k| cur.get(k))
}

/// Renders a label map as `labels.SelectorFromSet` does: `k=v` terms sorted by key.
fn map_selector(m: &Map<String, Value>) -> String {
    let mut terms: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    terms.sort();
    terms.join(",")
}

/// Renders a `metav1.LabelSelector` as `LabelSelectorAsSelector(..).String()` does: one term per
/// requirement, sorted by key, set values sorted.
pub(super) fn label_selector_string(sel: &Value) -> String {
    let mut terms: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            terms.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        values.sort_unstable();
        let term = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        terms.push((key, term));
    }
    terms.sort();
    terms
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

/// The type of the object `/scale` reads and writes, for its decoding and admission.
pub(crate) fn scale_type() -> ResourceInfo {
    ResourceInfo::subresource_kind("autoscaling", "v1", "Scale")
}

impl ScalePaths {
    /// The Scale of `obj` (kube's `scaleFromDeployment` and siblings).
    pub(crate) fn scale_of(&self, obj: &Value) -> Value {
        to_scale(self, obj)
    }

    /// `obj` with its desired replicas set to `replicas` (kube's ScaleREST moves them from the
    /// admitted Scale into the object).
    pub(crate) fn set_replicas(&self, obj: &mut Value, replicas: i64) -> Result<(), ApiError> {
        let (last, parents) = self
            .spec_replicas
            .split_last()
            .ok_or_else(|| ApiError::internal("a scale subresource without specReplicasPath"))?;
        let mut cur = obj;
        for k in parents {
            if !cur.get(k).is_some_and(Value::is_object) {
                cur[k.as_str()] = json!({});
            }
            cur = &mut cur[k.as_str()];
        }
        cur[last.as_str()] = replicas.into();
        Ok(())
    }
}

/// The Scale of `obj`.
fn to_scale(paths: &ScalePaths, obj: &Value) -> Value {
    let spec = at(obj, &paths.spec_replicas)
        .and_then(Value::as_i64)
        .unwrap_or(paths.default_replicas);
    let status = at(obj, &paths.status_replicas)
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let selector = match &paths.selector {
        SelectorAt::LabelSelector(p) => at(obj, p).map(label_selector_string).unwrap_or_default(),
        SelectorAt::Map(p) => at(obj, p)
            .and_then(Value::as_object)
            .map(map_selector)
            .unwrap_or_default(),
        SelectorAt::Text(p) => at(obj, p).and_then(Value::as_str).unwrap_or("").to_owned(),
        SelectorAt::None => String::new(),
    };
    let mut meta = json!({
        "name": meta_str(obj, "name"),
        "uid": meta_str(obj, "uid"),
        "resourceVersion": meta_str(obj, "resourceVersion"),
        "creationTimestamp": obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null),
    });
    let ns = meta_str(obj, "namespace");
    if !ns.is_empty() {
        meta["namespace"] = ns.into();
    }
    // Go's omitempty: spec.replicas 0 and an empty selector are left out; status.replicas is not.
    let mut scale = json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {},
        "status": {"replicas": status},
    });
    if spec != 0 {
        scale["spec"]["replicas"] = spec.into();
    }
    if !selector.is_empty() {
        scale["status"]["selector"] = selector.into();
    }
    scale
}

/// The desired replicas of a Scale as decoding reads them: a 32-bit integer, 0 when unset.
fn decoded_replicas(scale: &Value) -> Result<i64, ApiError> {
    match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_i64().filter(|n| i32::try_from(*n).is_ok()).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: spec.replicas must be a 32-bit integer, not {v}"
            ))
        }),
    }
}

/// The desired replicas of an admitted Scale, validated as kube's `ValidateScale` (which
/// kube's ScaleREST runs on the Scale mutating admission made).
pub(crate) fn validate_scale(scale: &Value, name: &str) -> Result<i64, ApiError> {
    let replicas = decoded_replicas(scale)?;
    if replicas < 0 {
        return Err(ApiError::invalid(
            "Scale.autoscaling",
            "autoscaling",
            "Scale",
            name,
            vec![Cause::new(
                "FieldValueInvalid",
                "spec.replicas",
                format!("Invalid value: {replicas}: must be greater than or equal to 0"),
            )],
        ));
    }
    Ok(replicas)
}

/// Checks that a body is an `autoscaling/v1` Scale for this URL's object.
fn check_scale_body(scale: &Value, name: &str) -> Result<(), ApiError> {
    if !scale.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type Scale): the body is not a JSON object",
        ));
    }
    let api_version = scale
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !api_version.is_empty() && api_version != "autoscaling/v1" {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version (autoscaling/v1)"
        )));
    }
    let kind = scale.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.is_empty() && kind != "Scale" {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind (Scale)"
        )));
    }
    let body_name = meta_str(scale, "name");
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    Ok(())
}

/// Writes the Scale the client sent (or its patch made) through the store's scale write, which
/// admits it and moves its replicas into the parent; a Scale without a resourceVersion is
/// guarded by the one the parent was read at. Answers the new Scale.
fn write_scale(
    state: &State,
    paths: &ScalePaths,
    t: &Target<'_>,
    sent: &Value,
    read_rv: &str,
    opts: &WriteOpts,
) -> Result<(Value, Vec<String>), ApiError> {
    check_scale_body(sent, t.name)?;
    // A count that is no 32-bit integer fails decoding, before admission sees the Scale.
    decoded_replicas(sent)?;
    let mut scale = sent.clone();
    scale["apiVersion"] = "autoscaling/v1".into();
    scale["kind"] = "Scale".into();
    let w = state.store.update_scale(t, scale, read_rv, opts)?;
    let parent = rmw::written_in(&state.store, t, &w, opts)?;
    Ok((paths.scale_of(&parent), w.warnings))
}

/// The `/scale` view of a parent whose replicas live at `paths`.
struct ScaleView(ScalePaths);

impl rmw::View for ScaleView {
    fn name(&self) -> &str {
        "the scale subresource"
    }

    fn show(&self, parent: &Value) -> Value {
        to_scale(&self.0, parent)
    }

    fn write(
        &self,
        state: &State,
        t: &Target<'_>,
        sent: &Value,
        parent: &Value,
        opts: &WriteOpts,
    ) -> Result<(Value, Vec<String>), ApiError> {
        write_scale(
            state,
            &self.0,
            t,
            sent,
            meta_str(parent, "resourceVersion"),
            opts,
        )
    }
}

pub(super) async fn serve(
    state: &State,
    info: &Arc<ResourceInfo>,
    t: &Target<'_>,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    let paths = info.scale.clone().ok_or_else(ApiError::path_not_found)?;
    rmw::serve(&ScaleView(paths), state, t, q, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_render_like_labels_selector_string() {
        let sel = json!({
            "matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [
                {"key": "c", "operator": "In", "values": ["y", "x"]},
                {"key": "d", "operator": "DoesNotExist"},
                {"key": "e", "operator": "Exists"},
                {"key": "f", "operator": "NotIn", "values": ["z"]},
            ],
        });
        assert_eq!(
            label_selector_string(&sel),
            "a=1,b=2,c in (x,y),!d,e,f notin (z)"
        );
        let m = json!({"z": "1", "app": "web"});
        assert_eq!(map_selector(m.as_object().expect("map")), "app=web,z=1");
    }

    #[test]
    fn scale_of_a_deployment_defaults_replicas_and_omits_zero() {
        let paths = builtin_scale("apps", "deployments").expect("deployments scale");
        let d = json!({"metadata": {"name": "d", "namespace": "n", "uid": "u", "resourceVersion": "7"},
                       "spec": {"selector": {"matchLabels": {"app": "d"}}}});
        let s = to_scale(&paths, &d);
        assert_eq!(s["spec"]["replicas"], 1);
        assert_eq!(s["status"], json!({"replicas": 0, "selector": "app=d"}));
        assert_eq!(s["metadata"]["resourceVersion"], "7");
        let crd = custom_scale(
            &json!({"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}),
        )
        .expect("crd scale");
        let s = to_scale(&crd, &json!({"metadata": {"name": "w"}, "spec": {}}));
        assert_eq!(s["spec"], json!({}));
    }

    #[test]
    fn negative_replicas_are_invalid_like_kube() {
        let e = validate_scale(&json!({"spec": {"replicas": -1}}), "x").expect_err("negative");
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "Scale.autoscaling \"x\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
    }
}
