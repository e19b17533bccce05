//! Serves `pods/ephemeralcontainers`: GET answers the Pod; PUT and PATCH change only
//! `spec.ephemeralContainers` (kube's `podEphemeralContainersStrategy`), which may gain
//! containers but never lose or change one (`ValidatePodEphemeralContainersUpdate`).

use std::collections::BTreeSet;

use serde_json::Value;

use super::rmw;
use crate::http::State;
use crate::status::{ApiError, Cause};
use crate::store::{Sub, Target, WriteOpts};

/// Container fields an ephemeral container may not set (kube: "cannot be set for an Ephemeral
/// Container"): it gets no ports, probes, lifecycle hooks or resources.
const FORBIDDEN_FIELDS: &[&str] = &[
    "ports",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "resources",
    "resizePolicy",
];

fn list<'a>(pod: &'a Value, pointer: &str) -> &'a [Value] {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn name_of(c: &Value) -> &str {
    c.get("name").and_then(Value::as_str).unwrap_or("")
}

/// The changes kube refuses, as field causes.
fn check(new: &Value, old: &Value) -> Vec<Cause> {
    let field = "spec.ephemeralContainers";
    let mut causes = Vec::new();
    let new_list = list(new, "/spec/ephemeralContainers");
    let mut names: BTreeSet<&str> = list(old, "/spec/containers")
        .iter()
        .chain(list(old, "/spec/initContainers"))
        .map(name_of)
        .collect();
    for (i, c) in new_list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let name = name_of(c);
        if name.is_empty() {
            causes.push(Cause::new(
                "FieldValueRequired",
                format!("{at}.name"),
                "Required value",
            ));
        } else if !names.insert(name) {
            causes.push(Cause::new(
                "FieldValueDuplicate",
                format!("{at}.name"),
                format!("Duplicate value: {}", Value::from(name)),
            ));
        }
        if c.get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            causes.push(Cause::new(
                "FieldValueRequired",
                format!("{at}.image"),
                "Required value",
            ));
        }
        for f in FORBIDDEN_FIELDS {
            // kube's `validateFieldAllowList` refuses a field whose value is not Go's zero
            // value (`reflect.Value.IsZero`): the `resources: {}` every stored container
            // carries is zero.
            if c.get(*f).is_some_and(|v| !go_zero(v)) {
                causes.push(Cause::new(
                    "FieldValueForbidden",
                    format!("{at}.{f}"),
                    "Forbidden: cannot be set for an Ephemeral Container",
                ));
            }
        }
    }
    for o in list(old, "/spec/ephemeralContainers") {
        let name = name_of(o);
        match new_list.iter().find(|c| name_of(c) == name) {
            None => causes.push(Cause::new(
                "FieldValueForbidden",
                field,
                format!("Forbidden: existing ephemeral containers {name:?} may not be removed"),
            )),
            Some(c) if c != o => causes.push(Cause::new(
                "FieldValueForbidden",
                field,
                format!("Forbidden: existing ephemeral containers {name:?} may not be changed"),
            )),
            Some(_) => {}
        }
    }
    causes
}

/// The `ephemeralcontainers` view: the whole Pod, of which only `spec.ephemeralContainers` is
/// written.
pub(super) struct EphemeralContainers;

impl rmw::View for EphemeralContainers {
    fn name(&self) -> &str {
        "pods/ephemeralcontainers"
    }

    fn show(&self, parent: &Value) -> Value {
        parent.clone()
    }

    /// Writes `sent`'s ephemeral containers into the stored pod `old`.
    fn write(
        &self,
        state: &State,
        t: &Target<'_>,
        sent: &Value,
        old: &Value,
        opts: &WriteOpts,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let mut new = rmw::parent_to_write(sent, "Pod", t, old)?;
        let causes = check(sent, old);
        if !causes.is_empty() {
            return Err(ApiError::invalid("Pod", "", "Pod", t.name, causes));
        }
        match sent.pointer("/spec/ephemeralContainers") {
            Some(v) if !v.is_null() => new["spec"]["ephemeralContainers"] = v.clone(),
            _ => {
                if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove("ephemeralContainers");
                }
            }
        }
        // Through the Pod strategy's ephemeral-containers path: a plain Pod write would keep the
        // stored list (see `registry::pod`).
        let w = state.store.update(t, Sub::EphemeralContainers, new, opts)?;
        Ok((rmw::written(&w)?, w.warnings))
    }
}

/// Whether a JSON value is the encoding of a Go zero value: null, false, 0, "", and an object
/// or list with nothing set in it (as the stored form writes an unset struct, `{}`).
fn go_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(m) => m.values().all(go_zero),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn existing_ephemeral_containers_may_only_be_kept() {
        let old = json!({"spec": {"containers": [{"name": "app", "image": "a"}],
                                   "ephemeralContainers": [{"name": "dbg", "image": "busybox"}]}});
        let added = json!({"spec": {"ephemeralContainers": [
            {"name": "dbg", "image": "busybox"}, {"name": "dbg2", "image": "busybox"}]}});
        assert!(check(&added, &old).is_empty());
        let removed = json!({"spec": {"ephemeralContainers": []}});
        assert_eq!(
            check(&removed, &old)[0].message,
            "Forbidden: existing ephemeral containers \"dbg\" may not be removed"
        );
        let changed =
            json!({"spec": {"ephemeralContainers": [{"name": "dbg", "image": "alpine"}]}});
        assert!(
            check(&changed, &old)[0]
                .message
                .contains("may not be changed")
        );
        let clash = json!({"spec": {"ephemeralContainers": [
            {"name": "dbg", "image": "busybox"}, {"name": "app", "image": "x", "ports": [{"containerPort": 1}]}]}});
        let fields: Vec<String> = check(&clash, &old).into_iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                "spec.ephemeralContainers[1].name",
                "spec.ephemeralContainers[1].ports"
            ]
        );
    }
}
