//! Owns the write of a pod's binding (kube's `BindingREST.setPodNodeAndMetadata`): a
//! `GuaranteedUpdate` straight on storage, so none of the pod strategy's rules run — not its
//! `spec.nodeName` immutability, not generation, not managedFields — only the binding's own
//! preconditions and checks, then `spec.nodeName`, the binding's annotations and labels, a cleared
//! `status.nominatedNodeName` and the `PodScheduled=True` condition.

use serde_json::{Map, Value, json};

use crate::meta::{self, meta_mut, meta_str};
use crate::status::{ApiError, GroupResource};

use super::{EventKind, Fields, Store, Target, obj_key};

/// What a Binding asks of its pod (kube's arguments to `assignPod`).
#[derive(Debug, Default)]
pub struct Bind<'a> {
    /// Preconditions from the Binding's metadata (empty: none).
    pub uid: &'a str,
    pub resource_version: &'a str,
    /// `target.name`.
    pub node: &'a str,
    pub annotations: Option<&'a Map<String, Value>>,
    pub labels: Option<&'a Map<String, Value>>,
    pub dry_run: bool,
}

/// The resource kube names in the Conflict of a binding that cannot be made.
const BINDING: GroupResource<'static> = GroupResource {
    group: "",
    resource: "pods/binding",
};

/// The pods resource.
const PODS: GroupResource<'static> = GroupResource {
    group: "",
    resource: "pods",
};

impl Store {
    /// Binds the pod `t` names to `b.node` (kube's `assignPod`). Errors as kube's: the pod
    /// missing is 404; a failed precondition is storage's invalid-object error as a Conflict on
    /// `pods`; a pod being deleted, already bound or still gated is a Conflict on `pods/binding`.
    pub fn bind_pod(&self, t: &Target<'_>, b: &Bind<'_>) -> Result<(), ApiError> {
        let mut g = self.lock();
        let info = g.resolve(t)?;
        let key = obj_key(&info, t.namespace, t.name);
        let old = g
            .get(&info, &key)
            .ok_or_else(|| ApiError::not_found(PODS, t.name))?;
        // storage.Preconditions.Check, wrapped by InterpretUpdateError: kube words it as the
        // StorageError it is, naming the etcd key.
        let precondition = |what: &str, wanted: &str, actual: &str| {
            ApiError::conflict_because(
                PODS,
                t.name,
                &format!(
                    "StorageError: invalid object, Code: 4, Key: /registry/pods/{}/{}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: {what} in precondition: {wanted}, {what} in object meta: {actual}",
                    t.namespace, t.name
                ),
            )
        };
        let uid = meta_str(old.value(), "uid");
        if !b.uid.is_empty() && b.uid != uid {
            return Err(precondition("UID", b.uid, uid));
        }
        let rv = meta_str(old.value(), "resourceVersion");
        if !b.resource_version.is_empty() && b.resource_version != rv {
            return Err(precondition("ResourceVersion", b.resource_version, rv));
        }
        let refuse = |why: String| ApiError::conflict_because(BINDING, t.name, &why);
        let name = meta_str(old.value(), "name");
        if !meta_str(old.value(), "deletionTimestamp").is_empty() {
            return Err(refuse(format!(
                "pod {name} is being deleted, cannot be assigned to a host"
            )));
        }
        let node = old
            .value()
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !node.is_empty() {
            return Err(refuse(format!(
                "pod {name} is already assigned to node {}",
                crd_schema::go_quote(node)
            )));
        }
        if old
            .value()
            .pointer("/spec/schedulingGates")
            .and_then(Value::as_array)
            .is_some_and(|g| !g.is_empty())
        {
            return Err(refuse(format!(
                "pod {name} has non-empty .spec.schedulingGates"
            )));
        }
        let mut pod = old.value().clone();
        bind(&mut pod, b);
        if b.dry_run {
            return Ok(());
        }
        g.check_size(&mut pod, &Fields::Applied)?;
        g.commit(
            &self.events,
            &info.store_key(),
            key,
            pod,
            EventKind::Modified,
            Some(old),
        );
        g.collect_garbage(&self.events);
        Ok(())
    }
}

/// The changes `setPodNodeAndMetadata` makes to an unbound pod.
fn bind(pod: &mut Value, b: &Bind<'_>) {
    if !pod.get("spec").is_some_and(Value::is_object) {
        pod["spec"] = json!({});
    }
    pod["spec"]["nodeName"] = b.node.into();
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    // ClearingNominatedNodeNameAfterBinding (beta, on by default since 1.35): the scheduler's
    // nomination is stale once the pod is bound.
    if let Some(status) = pod["status"].as_object_mut() {
        status.remove("nominatedNodeName");
    }
    // An empty map is not written: Go's `omitempty` drops the map kube makes here.
    for (field, from) in [("annotations", b.annotations), ("labels", b.labels)] {
        // Labels only under PodTopologyLabelsAdmission (beta, on by default since 1.35), which
        // copies every label of the Binding, overwriting the pod's.
        let Some(from) = from.filter(|m| !m.is_empty()) else {
            continue;
        };
        let meta = meta_mut(pod);
        let to = meta
            .entry(field)
            .or_insert_with(|| Value::Object(Map::new()));
        if !to.is_object() {
            *to = Value::Object(Map::new());
        }
        if let Some(to) = to.as_object_mut() {
            for (k, v) in from {
                to.insert(k.clone(), v.clone());
            }
        }
    }
    update_pod_condition(pod);
}

/// podutil.UpdatePodCondition with `PodScheduled=True`: the condition replaces any of its type
/// whole (reason and message go), keeping the old transition time when the status is the same.
fn update_pod_condition(pod: &mut Value) {
    let now = meta::now();
    let status = &mut pod["status"];
    if !status.get("conditions").is_some_and(Value::is_array) {
        status["conditions"] = json!([]);
    }
    let Some(conds) = status["conditions"].as_array_mut() else {
        return;
    };
    let existing = conds
        .iter()
        .position(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled"));
    let transition = match existing.map(|i| &conds[i]) {
        Some(old) if old.get("status").and_then(Value::as_str) == Some("True") => old
            .get("lastTransitionTime")
            .cloned()
            .unwrap_or(Value::Null),
        _ => now.into(),
    };
    let cond = json!({
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": null,
        "lastTransitionTime": transition,
    });
    match existing {
        Some(i) => conds[i] = cond,
        None => conds.push(cond),
    }
}
