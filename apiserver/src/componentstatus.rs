//! Serves the read-only, computed `componentstatuses` (`kubectl get cs`) the way kube-apiserver's
//! `pkg/registry/core/componentstatus/rest.go` does (`etcd-0`, `scheduler`, `controller-manager`,
//! one `Healthy` condition each), reporting what is true of this server rather than of a real
//! cluster: the store is in memory (no etcd) and always answers, no scheduler runs, and the
//! controllers embedded here (garbage collector, namespace controller, ...) run unless garbage
//! collection is off. kube marks the API deprecated, and so does this server's Warning header.

use serde_json::{Value, json};

use crate::catalog::ResourceInfo;
use crate::http::{self as h, Body, State};
use crate::status::ApiError;

/// kube-apiserver's deprecation warning for `v1 ComponentStatus`.
const DEPRECATED: &str = "v1 ComponentStatus is deprecated in v1.19+";

/// The components in kube's order, with their health here.
fn components(controllers: bool) -> Vec<(&'static str, bool, String)> {
    vec![
        (
            "scheduler",
            false,
            "no scheduler runs in the embedded API server: pods stay unscheduled unless a test sets spec.nodeName".to_owned(),
        ),
        (
            "controller-manager",
            controllers,
            if controllers {
                "ok: the embedded garbage collector, namespace, serviceaccounts and root CA controllers run in the API server".to_owned()
            } else {
                "no controller manager runs: garbage collection is off (envtest's behaviour)".to_owned()
            },
        ),
        (
            "etcd-0",
            true,
            "ok: objects live in the API server's in-memory store (there is no etcd)".to_owned(),
        ),
    ]
}

fn object(name: &str, healthy: bool, message: &str) -> Value {
    let condition = if healthy {
        json!({"type": "Healthy", "status": "True", "message": message})
    } else {
        json!({"type": "Healthy", "status": "False", "message": "", "error": message})
    };
    json!({
        "kind": "ComponentStatus",
        "apiVersion": "v1",
        "metadata": {"name": name, "creationTimestamp": null},
        "conditions": [condition],
    })
}

fn warn(mut resp: hyper::Response<Body>) -> hyper::Response<Body> {
    if let Ok(v) = http::HeaderValue::from_str(&format!("299 - {:?}", DEPRECATED)) {
        resp.headers_mut().append(http::header::WARNING, v);
    }
    resp
}

/// GET one ComponentStatus or the list.
pub fn serve(
    state: &State,
    info: &ResourceInfo,
    name: Option<&str>,
    _q: &[(String, String)],
) -> Result<hyper::Response<Body>, ApiError> {
    let all = components(state.store.runs_controllers());
    match name {
        Some(n) => {
            let (name, healthy, message) = all
                .iter()
                .find(|(c, _, _)| *c == n)
                .ok_or_else(|| ApiError::not_found(info.group_resource(), n))?;
            Ok(warn(h::value_response(&object(name, *healthy, message))))
        }
        None => {
            let items: Vec<Value> = all.iter().map(|(n, ok, m)| object(n, *ok, m)).collect();
            let list = json!({"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {}, "items": items});
            Ok(warn(h::value_response(&list)))
        }
    }
}
