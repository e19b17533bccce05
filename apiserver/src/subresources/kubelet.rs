//! Serves the pod subresources kube-apiserver hands on to a kubelet — `pods/log`, `pods/exec`,
//! `pods/attach` and `pods/portforward` — with kube's answers up to the point where it would
//! contact the node (`LogLocation`, `streamLocation` and `PortForwardLocation` of kube's pod
//! strategy). No kubelet runs here, so nothing is ever streamed: a client that reads a pod's logs
//! or execs into it gets the same refusal a real cluster gives for a pod no kubelet runs, instead
//! of a 404 that says the API does not exist. A log request's options are checked first, as kube
//! checks them (`crate::validation::core::podlogoptions`).

use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::Value;

use super::rmw;
use crate::http::{Body, State};
use crate::status::{ApiError, GroupResource};
use crate::store::Target;
use crate::validation::core::podlogoptions;

/// Which kubelet-backed subresource a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Log,
    Exec,
    Attach,
    PortForward,
}

impl Stream {
    /// Whether this subresource names a container (`?container=`); port forwarding does not.
    fn takes_container(self) -> bool {
        !matches!(self, Self::PortForward)
    }
}

/// The names of a pod's containers in `podutil.VisitContainers` order: init containers, then
/// containers, then ephemeral containers.
fn container_names<'a>(pod: &'a Value, field: &str) -> impl Iterator<Item = &'a str> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
}

fn all_container_names(pod: &Value) -> Vec<&str> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(|f| container_names(pod, f))
        .collect()
}

/// kube's `validateContainer`: the named container must exist; without a name the pod must have
/// exactly one (regular) container.
fn validate_container(pod: &Value, name: &str, container: &str) -> Result<(), ApiError> {
    if !container.is_empty() {
        if all_container_names(pod).contains(&container) {
            return Ok(());
        }
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    match container_names(pod, "containers").count() {
        1 => Ok(()),
        0 => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        // Go prints a []string as `[a b c]`.
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all_container_names(pod).join(" ")
        ))),
    }
}

/// kube's `NodeConnectionInfoGetter.GetConnectionInfo`, as far as it goes without a kubelet:
/// the node must exist (else its NotFound), and then the kubelet cannot be dialled.
fn no_kubelet(state: &State, node: &str) -> ApiError {
    let t = Target {
        group: "",
        version: "v1",
        plural: "nodes",
        namespace: "",
        name: node,
    };
    if state.store.get(&t).is_err() {
        return ApiError::not_found(
            GroupResource {
                group: "",
                resource: "nodes",
            },
            node,
        );
    }
    ApiError::internal(format!(
        "error dialing backend: no kubelet serves node {node:?} (the embedded API server runs no kubelet)"
    ))
}

/// Serves one request to `stream` of the pod `t`.
pub(super) async fn serve(
    state: &State,
    t: &Target<'_>,
    stream: Stream,
    q: &[(String, String)],
    req: Request<Incoming>,
) -> Result<hyper::Response<Body>, ApiError> {
    // kube's LogREST is a Getter; exec, attach and port-forward are Connecters on GET and POST.
    let allowed = match stream {
        Stream::Log => req.method() == Method::GET,
        _ => matches!(*req.method(), Method::GET | Method::POST),
    };
    if !allowed {
        return Err(ApiError::method_not_allowed());
    }
    // kube's LogREST.Get decodes and validates the options before it reads the pod, so a bad
    // query is a 400 or 422 even for a pod that does not exist.
    let log_options = match stream {
        Stream::Log => Some(podlogoptions::check(q, t.name)?),
        _ => None,
    };
    let pod = rmw::read(&state.store, t)?;
    if stream.takes_container() {
        let container = match &log_options {
            Some(opts) => opts.container.as_str(),
            None => q
                .iter()
                .find(|(k, _)| k == "container")
                .map_or("", |(_, v)| v.as_str()),
        };
        validate_container(&pod, t.name, container)?;
    }
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        return match stream {
            // LogLocation returns no location for an unscheduled pod, which kube's
            // StreamObject answers with 204 No Content.
            Stream::Log => Ok(crate::http::no_content()),
            _ => Err(ApiError::bad_request(format!(
                "pod {} does not have a host assigned",
                t.name
            ))),
        };
    }
    Err(no_kubelet(state, node))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(init: &[&str], containers: &[&str], ephemeral: &[&str]) -> Value {
        let named =
            |names: &[&str]| -> Vec<Value> { names.iter().map(|n| json!({"name": n})).collect() };
        json!({"spec": {
            "initContainers": named(init),
            "containers": named(containers),
            "ephemeralContainers": named(ephemeral),
        }})
    }

    #[test]
    fn one_container_needs_no_name() {
        assert!(validate_container(&pod(&["init"], &["app"], &[]), "p", "").is_ok());
    }

    #[test]
    fn several_containers_list_every_kind_in_visit_order() {
        let e = validate_container(&pod(&["init"], &["a", "b"], &["dbg"]), "p", "").unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "a container name must be specified for pod p, choose one of: [init a b dbg]"
        );
    }

    #[test]
    fn no_container_at_all() {
        let e = validate_container(&json!({"spec": {}}), "p", "").unwrap_err();
        assert_eq!(e.message, "a container name must be specified for pod p");
    }

    #[test]
    fn named_container_may_be_init_or_ephemeral() {
        let p = pod(&["init"], &["a", "b"], &["dbg"]);
        for c in ["init", "a", "b", "dbg"] {
            assert!(validate_container(&p, "p", c).is_ok(), "{c}");
        }
        let e = validate_container(&p, "p", "nope").unwrap_err();
        assert_eq!(e.message, "container nope is not valid for pod p");
    }
}
