//! kube's `PodTopologyLabels` admission plugin (`plugin/pkg/admission/podtopologylabels`, behind
//! `PodTopologyLabelsAdmission`, beta and on by default since 1.35): a Pod created already bound
//! to a Node, and a `pods/binding` to a Node, get that Node's `topology.kubernetes.io/zone` and
//! `topology.kubernetes.io/region` labels (the Binding's labels go onto the Pod as it is bound,
//! `store/bind.rs`), overwriting the Pod's own. A Node that does not exist gives none.

use serde_json::{Map, Value};

use super::{Inner, Write};
use crate::admission::Operation;
use crate::meta;

const NODES_KEY: &str = "/nodes";
/// The plugin's default configuration: the labels copied.
const TOPOLOGY_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
];

impl Inner {
    /// The plugin's `Admit`: a Pod's create or a Binding's.
    pub(super) fn admit_pod_topology_labels(&self, w: &Write<'_>, obj: &mut Value) {
        if w.operation != Operation::Create || !w.info.group.is_empty() || w.info.plural != "pods" {
            return;
        }
        let node = match w.subresource {
            "" => obj.pointer("/spec/nodeName"),
            "binding" if obj.pointer("/target/kind").and_then(Value::as_str) == Some("Node") => {
                obj.pointer("/target/name")
            }
            _ => None,
        };
        let Some(node) = node.and_then(Value::as_str).filter(|n| !n.is_empty()) else {
            return;
        };
        let Some(node) = self.get_by_key(NODES_KEY, &(String::new(), node.to_owned())) else {
            return;
        };
        let copied: Map<String, Value> = node
            .value()
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(k, _)| TOPOLOGY_LABELS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if copied.is_empty() {
            return;
        }
        let labels = meta::meta_mut(obj)
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if !labels.is_object() {
            *labels = Value::Object(Map::new());
        }
        if let Some(labels) = labels.as_object_mut() {
            labels.extend(copied);
        }
    }
}
