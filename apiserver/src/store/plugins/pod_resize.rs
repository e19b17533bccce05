//! kube's `PodResizeValidator` admission plugin (`plugin/pkg/admission/podresize`, on by default;
//! active with InPlacePodVerticalScaling, GA and locked on since 1.35): a `pods/resize` of a Pod
//! bound to a Node, one that changes the spec (the generation moved), is refused (403) when the
//! Node does not exist, when its `kubernetes.io/os` label names another OS than linux, or when the
//! Pod's requests (`PodRequests`: containers, init containers, pod-level resources, overhead)
//! exceed the Node's `status.allocatable` cpu or memory; the last two carry kube's cause type
//! (`UnsupportedPlatform`, `NodeCapacity`). A Node with no allocatable has none to give.

use serde_json::Value;

use super::limit_ranger::{add, pod_totals, resources};
use super::{Inner, Write, forbidden};
use crate::admission::Operation;
use crate::meta::meta_str;
use crate::status::{ApiError, Cause};
use crate::validation::quantity::Quantity;

const NODES_KEY: &str = "/nodes";
/// `corev1.LabelOSStable`.
const OS_LABEL: &str = "kubernetes.io/os";

impl Inner {
    /// The plugin's `Validate`.
    pub(super) fn validate_pod_resize(&self, w: &Write<'_>) -> Result<(), ApiError> {
        let resize = w.operation == Operation::Update
            && w.info.group.is_empty()
            && w.info.plural == "pods"
            && w.subresource == "resize";
        let (true, Some(pod), Some(old)) = (resize, w.object, w.old_object) else {
            return Ok(());
        };
        let node_name = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let generation = |p: &Value| p.pointer("/metadata/generation").and_then(Value::as_i64);
        if node_name.is_empty() || generation(pod) == generation(old) {
            return Ok(());
        }
        let Some(node) = self.get_by_key(NODES_KEY, &(String::new(), node_name.to_owned())) else {
            return Err(forbidden(w, pod, &format!("node {node_name:?} not found")));
        };
        let node = node.value();
        let os = node
            .pointer("/metadata/labels")
            .and_then(|l| l.get(OS_LABEL))
            .and_then(Value::as_str);
        if let Some(os) = os.filter(|os| *os != "linux") {
            let why = format!(
                "pod resize is only supported on linux nodes, node {:?} is {os:?}",
                meta_str(node, "name")
            );
            return Err(with_cause(forbidden(w, pod, &why), "UnsupportedPlatform"));
        }
        if let Some(why) = over_allocatable(pod, node) {
            return Err(with_cause(forbidden(w, pod, &why), "NodeCapacity"));
        }
        Ok(())
    }
}

/// `validateRequestsWithinAllocatable`: what of cpu (in millicores) and memory (in bytes) the pod
/// requests beyond what the node has.
fn over_allocatable(pod: &Value, node: &Value) -> Option<String> {
    let (mut requests, _) = pod_totals(pod);
    add(&mut requests, &resources(pod.pointer("/spec/overhead")));
    let allocatable = resources(node.pointer("/status/allocatable"));
    let zero = Quantity::count(0);
    let mut over = Vec::new();
    for (name, shown) in [
        ("cpu", Quantity::milli_value as fn(&Quantity) -> i128),
        ("memory", Quantity::value),
    ] {
        let requested = requests.get(name).unwrap_or(&zero);
        let available = allocatable.get(name).unwrap_or(&zero);
        if requested.cmp(available).is_gt() {
            over.push(format!(
                "{name}, requested: {}, allocatable: {}",
                shown(requested),
                shown(available)
            ));
        }
    }
    (!over.is_empty()).then(|| {
        format!(
            "node didn't have enough allocatable resources: {}",
            over.join("; ")
        )
    })
}

/// `resizeValidationError`: the 403 with a cause of only `reason`'s type.
fn with_cause(mut e: ApiError, reason: &str) -> ApiError {
    if let Some(details) = e.details.as_mut() {
        details.causes.push(Cause::new(reason, "", ""));
    }
    e
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_over_allocatable_name_each_resource_in_kubes_units() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "1"}}}],
            "overhead": {"cpu": "100m"}}});
        let node = json!({"status": {"allocatable": {"cpu": "2", "memory": "2Gi"}}});
        assert_eq!(
            over_allocatable(&pod, &node).as_deref(),
            Some(
                "node didn't have enough allocatable resources: cpu, requested: 2600, allocatable: 2000"
            )
        );
        let bare = json!({"status": {}});
        assert_eq!(
            over_allocatable(&pod, &bare).as_deref(),
            Some(
                "node didn't have enough allocatable resources: cpu, requested: 2600, allocatable: 0; memory, requested: 1073741824, allocatable: 0"
            )
        );
        let roomy = json!({"status": {"allocatable": {"cpu": "4", "memory": "4Gi"}}});
        assert_eq!(over_allocatable(&pod, &roomy), None);
    }
}
