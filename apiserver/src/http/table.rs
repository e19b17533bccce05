//! Server-side printing: converts objects and lists to `meta.k8s.io` Tables as kube-apiserver's
//! table convertors do — the built-in printers of `pkg/printers/internalversion` for the common
//! types (cells with their wide columns, as the server always generates them), a CRD version's
//! `additionalPrinterColumns` (JSONPath cells typed as declared; an `Age` column when none are
//! declared) and the default `Name`/`Created At` table for every other type; rows carry the
//! object as `includeObject` asks (None, Metadata — the default — or Object).

use serde_json::{Value, json};

use crate::catalog::ResourceInfo;
use crate::status::ApiError;

/// metav1.ObjectMeta's description of `name` (its swagger doc), kube's Name column description.
const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
/// metav1.ObjectMeta's description of `creationTimestamp`, kube's Age / Created At description.
const CREATED_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
/// What a cell shows for an absent value in kube's printers.
const NONE: &str = "<none>";

/// `includeObject` of TableOptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Include {
    None,
    #[default]
    Metadata,
    Object,
}

/// Parses `includeObject` (kube's `ValidateTableOptions`).
pub fn include(param: Option<&str>) -> Result<Include, ApiError> {
    match param.unwrap_or("") {
        "" | "Metadata" => Ok(Include::Metadata),
        "None" => Ok(Include::None),
        "Object" => Ok(Include::Object),
        other => Err(ApiError::bad_request(format!(
            "Unable to convert to Table as requested: includeObject: Unsupported value: {}: supported values: \"Metadata\", \"None\", \"Object\"",
            json!(other)
        ))),
    }
}

/// One column: name, type, format, description, priority (1 = shown by `-o wide` only).
struct Col(&'static str, &'static str, &'static str, &'static str, u8);

fn col_json(name: &str, ty: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

const NAME: Col = Col("Name", "string", "name", NAME_DOC, 0);
const AGE: Col = Col("Age", "string", "", CREATED_DOC, 0);
const CONTAINERS: Col = Col(
    "Containers",
    "string",
    "",
    "Names of each container in the template.",
    1,
);
const IMAGES: Col = Col(
    "Images",
    "string",
    "",
    "Images referenced by each container in the template.",
    1,
);

/// A built-in printer: its columns and its cell function.
type Cells = fn(&Value) -> Vec<Value>;
/// The cells of one row, for whichever convertor serves the type.
type RowCells = Box<dyn Fn(&Value) -> Vec<Value>>;

fn printer(info: &ResourceInfo) -> Option<(Vec<Col>, Cells)> {
    if info.custom {
        return None;
    }
    let p: (Vec<Col>, Cells) = match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => (
            vec![
                NAME,
                Col(
                    "Ready",
                    "string",
                    "",
                    "The aggregate readiness state of this pod for accepting traffic.",
                    0,
                ),
                Col(
                    "Status",
                    "string",
                    "",
                    "The aggregate status of the containers in this pod.",
                    0,
                ),
                Col(
                    "Restarts",
                    "string",
                    "",
                    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                    0,
                ),
                AGE,
                Col(
                    "IP",
                    "string",
                    "",
                    "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                    1,
                ),
                Col(
                    "Node",
                    "string",
                    "",
                    "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.",
                    1,
                ),
                Col(
                    "Nominated Node",
                    "string",
                    "",
                    "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
                    1,
                ),
                Col(
                    "Readiness Gates",
                    "string",
                    "",
                    "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
                    1,
                ),
            ],
            pod_cells,
        ),
        ("apps", "deployments") => (
            vec![
                NAME,
                Col(
                    "Ready",
                    "string",
                    "",
                    "Number of the pod with ready state",
                    0,
                ),
                Col(
                    "Up-to-date",
                    "string",
                    "",
                    "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
                    0,
                ),
                Col(
                    "Available",
                    "string",
                    "",
                    "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
                    0,
                ),
                AGE,
                CONTAINERS,
                IMAGES,
                Col(
                    "Selector",
                    "string",
                    "",
                    "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
                    1,
                ),
            ],
            deployment_cells,
        ),
        ("", "services") => (
            vec![
                NAME,
                Col(
                    "Type",
                    "string",
                    "",
                    "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
                    0,
                ),
                Col(
                    "Cluster-IP",
                    "string",
                    "",
                    "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
                    0,
                ),
                Col(
                    "External-IP",
                    "string",
                    "",
                    "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
                    0,
                ),
                Col(
                    "Port(s)",
                    "string",
                    "",
                    "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
                    0,
                ),
                AGE,
                Col(
                    "Selector",
                    "string",
                    "",
                    "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
                    1,
                ),
            ],
            service_cells,
        ),
        ("", "configmaps") => (
            vec![
                NAME,
                Col(
                    "Data",
                    "string",
                    "",
                    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
                    0,
                ),
                AGE,
            ],
            |o| vec![name(o), count(o, &["data", "binaryData"]), age(o)],
        ),
        ("", "secrets") => (
            vec![
                NAME,
                Col(
                    "Type",
                    "string",
                    "",
                    "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
                    0,
                ),
                Col(
                    "Data",
                    "string",
                    "",
                    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
                    0,
                ),
                AGE,
            ],
            |o| vec![name(o), s(o, "/type").into(), count(o, &["data"]), age(o)],
        ),
        ("", "namespaces") => (
            vec![
                NAME,
                Col("Status", "string", "", "The status of the namespace", 0),
                AGE,
            ],
            |o| vec![name(o), s(o, "/status/phase").into(), age(o)],
        ),
        ("", "serviceaccounts") => (
            vec![
                NAME,
                Col(
                    "Secrets",
                    "string",
                    "",
                    "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
                    0,
                ),
                AGE,
            ],
            |o| vec![name(o), count(o, &["secrets"]), age(o)],
        ),
        _ => return None,
    };
    Some(p)
}

fn s<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn i(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(v: &str) -> Value {
    if v.is_empty() { NONE } else { v }.into()
}

fn name(o: &Value) -> Value {
    s(o, "/metadata/name").into()
}

/// The number of entries of the object's maps or lists at `fields` (kube prints `len(...)`).
fn count(o: &Value, fields: &[&str]) -> Value {
    let n: usize = fields
        .iter()
        .map(|f| match o.get(*f) {
            Some(Value::Object(m)) => m.len(),
            Some(Value::Array(a)) => a.len(),
            _ => 0,
        })
        .sum();
    (n as i64).into()
}

fn age(o: &Value) -> Value {
    since(s(o, "/metadata/creationTimestamp")).into()
}

/// kube's `translateTimestampSince`: "<unknown>" without a timestamp, else a human duration.
fn since(timestamp: &str) -> String {
    match timestamp.parse::<jiff::Timestamp>() {
        Ok(t) => human_duration(jiff::Timestamp::now().duration_since(t).as_secs()),
        Err(_) => "<unknown>".into(),
    }
}

/// apimachinery's `duration.HumanDuration`, to the second.
pub fn human_duration(seconds: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const YEAR: i64 = 365 * DAY;
    // Up to a second in the future is clock skew: "0s".
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 2 * MINUTE {
        return format!("{seconds}s");
    }
    let minutes = seconds / MINUTE;
    if minutes < 10 {
        let rest = seconds % MINUTE;
        return if rest == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{rest}s")
        };
    }
    if minutes < 3 * 60 {
        return format!("{minutes}m");
    }
    let hours = seconds / HOUR;
    if hours < 8 {
        let rest = minutes % 60;
        return if rest == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{rest}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let rest = hours % 24;
        return if rest == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{rest}h", hours / 24)
        };
    }
    if seconds < 2 * YEAR {
        return format!("{}d", hours / 24);
    }
    if seconds < 8 * YEAR {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", seconds / YEAR)
        } else {
            format!("{}y{days}d", seconds / YEAR)
        };
    }
    format!("{}y", seconds / YEAR)
}

/// kube's printPod: ready containers, the aggregate status reason, restarts (with the age of
/// the last restart), age, and the wide cells.
fn pod_cells(pod: &Value) -> Vec<Value> {
    let empty = Vec::new();
    let arr = |p: &str| pod.pointer(p).and_then(Value::as_array).unwrap_or(&empty);
    let total = arr("/spec/containers").len();
    let mut reason = s(pod, "/status/phase").to_owned();
    if !s(pod, "/status/reason").is_empty() {
        reason = s(pod, "/status/reason").to_owned();
    }
    let conditions = arr("/status/conditions");
    if conditions.iter().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("PodScheduled")
            && c.get("reason").and_then(Value::as_str) == Some("SchedulingGated")
    }) {
        reason = "SchedulingGated".into();
    }
    let mut restarts = 0;
    let mut ready = 0;
    let mut last_restart = String::new();
    let mut has_running = false;
    for c in arr("/status/containerStatuses").iter().rev() {
        restarts += i(c, "/restartCount");
        let finished = s(c, "/lastState/terminated/finishedAt");
        if finished > last_restart.as_str() {
            last_restart = finished.to_owned();
        }
        if !s(c, "/state/waiting/reason").is_empty() {
            reason = s(c, "/state/waiting/reason").to_owned();
        } else if !s(c, "/state/terminated/reason").is_empty() {
            reason = s(c, "/state/terminated/reason").to_owned();
        } else if c.pointer("/state/terminated").is_some() {
            reason = match i(c, "/state/terminated/signal") {
                0 => format!("ExitCode:{}", i(c, "/state/terminated/exitCode")),
                sig => format!("Signal:{sig}"),
            };
        } else if c.get("ready").and_then(Value::as_bool) == Some(true)
            && c.pointer("/state/running").is_some()
        {
            has_running = true;
            ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        let pod_ready = conditions.iter().any(|c| {
            c.get("type").and_then(Value::as_str) == Some("Ready")
                && c.get("status").and_then(Value::as_str) == Some("True")
        });
        reason = if pod_ready { "Running" } else { "NotReady" }.into();
    }
    let phase = s(pod, "/status/phase");
    if !s(pod, "/metadata/deletionTimestamp").is_empty() {
        if s(pod, "/status/reason") == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }
    let restarts = if restarts != 0 && !last_restart.is_empty() {
        format!("{restarts} ({} ago)", since(&last_restart))
    } else {
        restarts.to_string()
    };
    let gates = arr("/spec/readinessGates");
    let readiness = if gates.is_empty() {
        NONE.to_owned()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                let ty = g.get("conditionType").and_then(Value::as_str);
                conditions
                    .iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == ty)
                    .is_some_and(|c| c.get("status").and_then(Value::as_str) == Some("True"))
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        name(pod),
        format!("{ready}/{total}").into(),
        reason.into(),
        restarts.into(),
        age(pod),
        or_none(s(pod, "/status/podIPs/0/ip")),
        or_none(s(pod, "/spec/nodeName")),
        or_none(s(pod, "/status/nominatedNodeName")),
        readiness.into(),
    ]
}

/// The Containers and Images cells of a pod template (`layoutContainerCells`).
fn template_cells(o: &Value) -> (Value, Value) {
    let containers = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let join = |field: &str| {
        containers
            .iter()
            .map(|c| c.get(field).and_then(Value::as_str).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(",")
    };
    (join("name").into(), join("image").into())
}

/// A label selector as kube prints it (`metav1.FormatLabelSelector`): `<none>` when empty.
fn label_selector(sel: Option<&Value>) -> Value {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return NONE.into();
    };
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = s(e, "/key");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        parts.push(match s(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other}"),
        });
    }
    if parts.is_empty() {
        return NONE.into();
    }
    parts.join(",").into()
}

fn deployment_cells(d: &Value) -> Vec<Value> {
    let desired = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let (containers, images) = template_cells(d);
    vec![
        name(d),
        format!("{}/{desired}", i(d, "/status/readyReplicas")).into(),
        i(d, "/status/updatedReplicas").into(),
        i(d, "/status/availableReplicas").into(),
        age(d),
        containers,
        images,
        label_selector(d.pointer("/spec/selector")),
    ]
}

fn service_cells(svc: &Value) -> Vec<Value> {
    let ty = match s(svc, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = match s(svc, "/spec/clusterIPs/0") {
        "" => s(svc, "/spec/clusterIP"),
        ip => ip,
    };
    let external: Vec<String> = svc
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let ingress: Vec<String> = svc
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|i| {
                    i.get("ip")
                        .or_else(|| i.get("hostname"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    // kube's getServiceExternalIP.
    let external_ip = match ty {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => NONE.into(),
        "LoadBalancer" => {
            let all: Vec<String> = ingress.into_iter().chain(external).collect();
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => s(svc, "/spec/externalName").to_owned(),
        _ => "<unknown>".into(),
    };
    let ports: Vec<String> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let proto = match s(p, "/protocol") {
                        "" => "TCP",
                        x => x,
                    };
                    match i(p, "/nodePort") {
                        0 => format!("{}/{proto}", i(p, "/port")),
                        np => format!("{}:{np}/{proto}", i(p, "/port")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let selector = svc
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let mut pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            pairs.join(",")
        })
        .unwrap_or_else(|| NONE.into());
    vec![
        name(svc),
        ty.into(),
        or_none(cluster_ip),
        external_ip.into(),
        if ports.is_empty() {
            NONE.into()
        } else {
            ports.join(",").into()
        },
        age(svc),
        selector.into(),
    ]
}

/// The columns of a CRD version (`additionalPrinterColumns`, or kube's default `Age` column).
fn crd_columns(info: &ResourceInfo) -> Vec<Value> {
    if info.printer_columns.is_empty() {
        return vec![json!({
            "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
            "description": CREATED_DOC,
        })];
    }
    info.printer_columns.clone()
}

/// One step of the simple JSONPaths printer columns use: `.field`, `['field']` or `[index]`.
enum Step {
    Field(String),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_owned()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if let Some(q) = inner
                .strip_prefix('\'')
                .and_then(|q| q.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|q| q.strip_suffix('"')))
            {
                steps.push(Step::Field(q.to_owned()));
            } else {
                steps.push(Step::Index(inner.parse().ok()?));
            }
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn eval<'a>(obj: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut cur = obj;
    for step in steps {
        cur = match step {
            Step::Field(f) => cur.get(f)?,
            Step::Index(i) => cur.get(*i)?,
        };
    }
    (!cur.is_null()).then_some(cur)
}

/// A CRD column's cell (apiextensions' `cellForJSONValue`; strings printed as client-go's
/// JSONPath prints them).
fn crd_cell(ty: &str, v: Option<&Value>) -> Value {
    let Some(v) = v else {
        return Value::Null;
    };
    match (ty, v) {
        ("string", Value::String(s)) => s.clone().into(),
        ("string", other) => other.to_string().into(),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
        ("boolean", Value::Bool(b)) => (*b).into(),
        ("date", Value::String(t)) => match t.parse::<jiff::Timestamp>() {
            Ok(_) => since(t).into(),
            Err(_) => "<invalid>".into(),
        },
        _ => Value::Null,
    }
}

/// The row object as `includeObject` asks.
fn row_object(obj: &Value, include: Include, meta_api_version: &str) -> Value {
    match include {
        Include::None => Value::Null,
        Include::Metadata => super::negotiate::partial(obj, meta_api_version),
        Include::Object => obj.clone(),
    }
}

/// Converts `v` (an object or a `<Kind>List`) to a Table. `headers: false` leaves the column
/// definitions out (watch events after the first, kube's NoHeaders).
pub fn convert(
    info: &ResourceInfo,
    v: &Value,
    include: Include,
    meta_api_version: &str,
    headers: bool,
) -> Value {
    let is_list = v.get("items").is_some_and(Value::is_array)
        && v.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"));
    let objects: Vec<&Value> = if is_list {
        v["items"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    } else {
        vec![v]
    };
    let (columns, cells): (Vec<Value>, RowCells) = if info.custom {
        let cols = crd_columns(info);
        let mut defs = vec![col_json(NAME.0, NAME.1, NAME.2, NAME.3, 0)];
        let mut paths = Vec::new();
        for c in &cols {
            let path = c.get("jsonPath").and_then(Value::as_str).unwrap_or("");
            let description = match c.get("description").and_then(Value::as_str) {
                Some(d) if !d.is_empty() => d.to_owned(),
                _ => format!("Custom resource definition column (in JSONPath format): {path}"),
            };
            defs.push(col_json(
                c.get("name").and_then(Value::as_str).unwrap_or(""),
                c.get("type").and_then(Value::as_str).unwrap_or(""),
                c.get("format").and_then(Value::as_str).unwrap_or(""),
                &description,
                c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            ));
            paths.push((
                c.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                parse_path(path),
            ));
        }
        (
            defs,
            Box::new(move |o: &Value| {
                let mut row = vec![name(o)];
                for (ty, steps) in &paths {
                    row.push(match steps {
                        Some(steps) => crd_cell(ty, eval(o, steps)),
                        None => Value::Null,
                    });
                }
                row
            }),
        )
    } else if let Some((cols, f)) = printer(info) {
        (
            cols.iter()
                .map(|c| col_json(c.0, c.1, c.2, c.3, i64::from(c.4)))
                .collect(),
            Box::new(f),
        )
    } else {
        (
            vec![
                col_json(NAME.0, NAME.1, NAME.2, NAME.3, 0),
                col_json("Created At", "date", "", CREATED_DOC, 0),
            ],
            // The default convertor prints the timestamp itself (RFC 3339, UTC).
            Box::new(|o: &Value| vec![name(o), s(o, "/metadata/creationTimestamp").into()]),
        )
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| json!({"cells": cells(o), "object": row_object(o, include, meta_api_version)}))
        .collect();
    let mut meta = serde_json::Map::new();
    let source_meta = v.get("metadata");
    for key in ["resourceVersion", "continue", "remainingItemCount"] {
        if let Some(x) = source_meta.and_then(|m| m.get(key)) {
            meta.insert(key.into(), x.clone());
        }
    }
    json!({
        "kind": "Table",
        "apiVersion": meta_api_version,
        "metadata": meta,
        "columnDefinitions": if headers { Value::Array(columns) } else { Value::Null },
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_apimachinery() {
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (47 * 3600, "47h"),
            (2 * 86400 + 3600, "2d1h"),
            (10 * 86400, "10d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn pod_status_cells() {
        let pod = json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1",
                     "readinessGates": [{"conditionType": "x/ok"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}],
                "conditions": [{"type": "x/ok", "status": "True"}],
                "containerStatuses": [
                    {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                    {"name": "b", "ready": false, "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ]}
        });
        let c = pod_cells(&pod);
        assert_eq!(c[1], "1/2");
        assert_eq!(c[2], "CrashLoopBackOff");
        assert_eq!(c[3], "2");
        assert_eq!(c[4], "<unknown>");
        assert_eq!(
            &c[5..],
            &[
                json!("10.0.0.1"),
                json!("n1"),
                json!("<none>"),
                json!("1/1")
            ]
        );
    }

    #[test]
    fn crd_cells_follow_the_declared_type() {
        let o = json!({"spec": {"size": 3, "tags": ["a"], "on": true, "m": {"k": "v"}}});
        let p = |s: &str| parse_path(s).unwrap();
        assert_eq!(crd_cell("integer", eval(&o, &p(".spec.size"))), json!(3));
        assert_eq!(crd_cell("string", eval(&o, &p(".spec.size"))), json!("3"));
        assert_eq!(
            crd_cell("string", eval(&o, &p(".spec.tags[0]"))),
            json!("a")
        );
        assert_eq!(
            crd_cell("boolean", eval(&o, &p(".spec['on']"))),
            json!(true)
        );
        assert_eq!(
            crd_cell("integer", eval(&o, &p(".spec.missing"))),
            Value::Null
        );
        assert_eq!(crd_cell("date", Some(&json!("nope"))), json!("<invalid>"));
    }

    #[test]
    fn include_object_is_validated() {
        assert_eq!(include(None).unwrap(), Include::Metadata);
        assert_eq!(include(Some("None")).unwrap(), Include::None);
        let e = include(Some("All")).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "Unable to convert to Table as requested: includeObject: Unsupported value: \"All\": supported values: \"Metadata\", \"None\", \"Object\""
        );
    }
}
