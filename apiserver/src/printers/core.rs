//! Printers of the core group (pods, services, nodes, events, volumes, ...), and of
//! events.k8s.io Events, which kube prints with the core Event printer (both are views of one
//! resource).

use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};

use super::format::{
    NONE, UNSET, access_modes, age, arr, condition, containers, i, labels, len, list_with_more,
    name, or, or_none, quantity, s, since,
};
use super::{AGE, CONTAINERS, Col, Doc, IMAGES, NAME, Printer, field_doc};

/// The resources printed here.
#[cfg(test)]
pub const RESOURCES: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "podtemplates"),
    ("", "replicationcontrollers"),
    ("", "services"),
    ("", "endpoints"),
    ("", "nodes"),
    ("", "events"),
    ("events.k8s.io", "events"),
    ("", "namespaces"),
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "persistentvolumes"),
    ("", "persistentvolumeclaims"),
    ("", "componentstatuses"),
    ("", "configmaps"),
    ("", "resourcequotas"),
];

pub fn printer(group: &str, plural: &str) -> Option<&'static Printer> {
    Some(match (group, plural) {
        ("", "pods") => &PODS,
        ("", "podtemplates") => &POD_TEMPLATES,
        ("", "replicationcontrollers") => &REPLICATION_CONTROLLERS,
        ("", "services") => &SERVICES,
        ("", "endpoints") => &ENDPOINTS,
        ("", "nodes") => &NODES,
        ("", "events") => &EVENTS,
        ("events.k8s.io", "events") => &EVENTS_VIEW,
        ("", "namespaces") => &NAMESPACES,
        ("", "secrets") => &SECRETS,
        ("", "serviceaccounts") => &SERVICE_ACCOUNTS,
        ("", "persistentvolumes") => &PERSISTENT_VOLUMES,
        ("", "persistentvolumeclaims") => &PERSISTENT_VOLUME_CLAIMS,
        ("", "componentstatuses") => &COMPONENT_STATUSES,
        ("", "configmaps") => &CONFIG_MAPS,
        ("", "resourcequotas") => &RESOURCE_QUOTAS,
        _ => return None,
    })
}

static PODS: Printer = Printer::new(
        &[
            NAME,
            Col::new(
                "Ready",
                Doc::Text("The aggregate readiness state of this pod for accepting traffic."),
            ),
            Col::new(
                "Status",
                Doc::Text("The aggregate status of the containers in this pod."),
            ),
            Col::new(
                "Restarts",
                Doc::Text(
                    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                ),
            ),
            AGE,
            Col::new("IP", field_doc!(core::PodStatus, "podIP")).wide(),
            Col::new("Node", field_doc!(core::PodSpec, "nodeName")).wide(),
            Col::new("Nominated Node", field_doc!(core::PodStatus, "nominatedNodeName")).wide(),
            Col::new("Readiness Gates", field_doc!(core::PodSpec, "readinessGates")).wide(),
        ],
    pod_cells,
)
.with_conditions(pod_conditions);

/// The row conditions kube's printPod sets for finished pods.
fn pod_conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match s(pod, "/status/phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

/// Whether an init container keeps running beside the app containers (a sidecar:
/// `restartPolicy: Always`, `podutil.IsRestartableInitContainer`).
fn restartable(init: Option<&Value>) -> bool {
    init.is_some_and(|c| s(c, "/restartPolicy") == "Always")
}

/// The later of a running maximum and a container's last termination time.
fn later(latest: &mut Option<jiff::Timestamp>, container: &Value) {
    if let Some(t) = super::format::time(s(container, "/lastState/terminated/finishedAt"))
        && latest.is_none_or(|l| l < t)
    {
        *latest = Some(t);
    }
}

/// kube's printPod: ready containers (sidecars count), the aggregate status reason (init
/// progress, waiting/terminated reasons, Terminating), restarts with the last restart's age.
fn pod_cells(pod: &Value) -> Vec<Value> {
    let inits = arr(pod, "/spec/initContainers");
    let init_named = |n: &str| inits.iter().find(|c| s(c, "/name") == n);
    let mut total = arr(pod, "/spec/containers").len();
    total += inits.iter().filter(|c| restartable(Some(c))).count();
    let mut ready = 0;
    let phase = s(pod, "/status/phase");
    let mut reason = or(s(pod, "/status/reason"), phase)
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let conditions = "/status/conditions";
    if arr(pod, conditions)
        .iter()
        .any(|c| s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let (mut restarts, mut sidecar_restarts) = (0, 0);
    let (mut last_restart, mut last_sidecar_restart) = (None, None);
    let mut initializing = false;
    for (index, c) in arr(pod, "/status/initContainerStatuses").iter().enumerate() {
        restarts += i(c, "/restartCount");
        later(&mut last_restart, c);
        let sidecar = restartable(init_named(s(c, "/name")));
        if sidecar {
            sidecar_restarts += i(c, "/restartCount");
            later(&mut last_sidecar_restart, c);
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = s(c, "/state/waiting/reason");
        if terminated.is_some() && i(c, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if sidecar && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = if terminated.is_some() {
            match (
                s(c, "/state/terminated/reason"),
                i(c, "/state/terminated/signal"),
            ) {
                ("", 0) => format!("Init:ExitCode:{}", i(c, "/state/terminated/exitCode")),
                ("", signal) => format!("Init:Signal:{signal}"),
                (r, _) => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{index}/{}", inits.len())
        };
        initializing = true;
        break;
    }
    let initialized =
        condition(pod, conditions, "Initialized").is_some_and(|c| s(c, "/status") == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr(pod, "/status/containerStatuses").iter().rev() {
            restarts += i(c, "/restartCount");
            later(&mut last_restart, c);
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
            let pod_ready =
                condition(pod, conditions, "Ready").is_some_and(|c| s(c, "/status") == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        if s(pod, "/status/reason") == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }
    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(&t.to_string())),
        _ => restarts.to_string(),
    };
    let gates = arr(pod, "/spec/readinessGates");
    let readiness = if gates.is_empty() {
        NONE.to_owned()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                condition(pod, conditions, s(g, "/conditionType"))
                    .is_some_and(|c| s(c, "/status") == "True")
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

static POD_TEMPLATES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Containers",
            Doc::Text("Names of each container in the template."),
        ),
        Col::new(
            "Images",
            Doc::Text("Images referenced by each container in the template."),
        ),
        Col::new("Pod Labels", Doc::Text("The labels for the pod template.")),
    ],
    |o| {
        let (names, images) = containers(o, "/template/spec/containers");
        vec![
            name(o),
            names,
            images,
            labels(o.pointer("/template/metadata/labels")).into(),
        ]
    },
);

static REPLICATION_CONTROLLERS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Desired",
            field_doc!(core::ReplicationControllerSpec, "replicas"),
        )
        .ty("integer"),
        Col::new(
            "Current",
            field_doc!(core::ReplicationControllerStatus, "replicas"),
        )
        .ty("integer"),
        Col::new(
            "Ready",
            field_doc!(core::ReplicationControllerStatus, "readyReplicas"),
        )
        .ty("integer"),
        AGE,
        CONTAINERS,
        IMAGES,
        Col::new(
            "Selector",
            field_doc!(core::ReplicationControllerSpec, "selector"),
        )
        .wide(),
    ],
    |o| {
        let (names, images) = containers(o, "/spec/template/spec/containers");
        vec![
            name(o),
            i(o, "/spec/replicas").into(),
            i(o, "/status/replicas").into(),
            i(o, "/status/readyReplicas").into(),
            age(o),
            names,
            images,
            labels(o.pointer("/spec/selector")).into(),
        ]
    },
);

static SERVICES: Printer = Printer::new(
    &[
        NAME,
        Col::new("Type", field_doc!(core::ServiceSpec, "type")),
        Col::new("Cluster-IP", field_doc!(core::ServiceSpec, "clusterIP")),
        Col::new("External-IP", field_doc!(core::ServiceSpec, "externalIPs")),
        Col::new("Port(s)", field_doc!(core::ServiceSpec, "ports")),
        AGE,
        Col::new("Selector", field_doc!(core::ServiceSpec, "selector")).wide(),
    ],
    service_cells,
);

/// `loadBalancerStatusStringer` (wide: not clipped): the ingress points' IPs or hostnames,
/// sorted and unique.
fn load_balancer_ips(o: &Value, pointer: &str) -> Vec<String> {
    let mut ips: Vec<String> = arr(o, pointer)
        .iter()
        .filter_map(|i| match (s(i, "/ip"), s(i, "/hostname")) {
            ("", "") => None,
            ("", host) => Some(host.to_owned()),
            (ip, _) => Some(ip.to_owned()),
        })
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

fn strings(o: &Value, pointer: &str) -> Vec<String> {
    arr(o, pointer)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// kube's printService with getServiceExternalIP and makePortString.
fn service_cells(svc: &Value) -> Vec<Value> {
    let ty = s(svc, "/spec/type");
    // SetDefaults_Service fills clusterIPs from clusterIP; an object stored before that reads the same.
    let cluster_ip = or(s(svc, "/spec/clusterIPs/0"), s(svc, "/spec/clusterIP"));
    let external = strings(svc, "/spec/externalIPs");
    let external_ip = match ty {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => NONE.into(),
        "LoadBalancer" => {
            let all: Vec<String> = load_balancer_ips(svc, "/status/loadBalancer/ingress")
                .into_iter()
                .chain(external)
                .collect();
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => s(svc, "/spec/externalName").to_owned(),
        _ => "<unknown>".into(),
    };
    let ports: Vec<String> = arr(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = s(p, "/protocol");
            match i(p, "/nodePort") {
                np if np > 0 => format!("{}:{np}/{proto}", i(p, "/port")),
                _ => format!("{}/{proto}", i(p, "/port")),
            }
        })
        .collect();
    vec![
        name(svc),
        ty.into(),
        or_none(cluster_ip.as_str().unwrap_or_default()),
        external_ip.into(),
        or_none(&ports.join(",")),
        age(svc),
        labels(svc.pointer("/spec/selector")).into(),
    ]
}

static ENDPOINTS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Endpoints", field_doc!(core::Endpoints, "subsets")),
        AGE,
    ],
    |o| vec![name(o), endpoints(o).into(), age(o)],
);

/// kube's formatEndpoints (all ports): `ip:port` per address and port, the first three and
/// "+ N more...", `<none>` without subsets.
fn endpoints(o: &Value) -> String {
    let subsets = arr(o, "/subsets");
    if subsets.is_empty() {
        return NONE.into();
    }
    let mut all = Vec::new();
    for ss in subsets {
        let addresses = arr(ss, "/addresses");
        let ports = arr(ss, "/ports");
        if ports.is_empty() {
            // Headless services may have no ports.
            all.extend(addresses.iter().map(|a| s(a, "/ip").to_owned()));
            continue;
        }
        for p in ports {
            for a in addresses {
                let ip = s(a, "/ip");
                let port = i(p, "/port");
                // net.JoinHostPort brackets IPv6 addresses.
                all.push(if ip.contains(':') {
                    format!("[{ip}]:{port}")
                } else {
                    format!("{ip}:{port}")
                });
            }
        }
    }
    // Unlike listWithMoreString, an empty list prints as "".
    list_with_more(all, "")
}

static NODES: Printer = Printer::new(
    &[
        NAME,
        Col::new("Status", Doc::Text("The status of the node")),
        Col::new("Roles", Doc::Text("The roles of the node")),
        AGE,
        Col::new(
            "Version",
            field_doc!(core::NodeSystemInfo, "kubeletVersion"),
        ),
        Col::new("Internal-IP", field_doc!(core::NodeStatus, "addresses")).wide(),
        Col::new("External-IP", field_doc!(core::NodeStatus, "addresses")).wide(),
        Col::new("OS-Image", field_doc!(core::NodeSystemInfo, "osImage")).wide(),
        Col::new(
            "Kernel-Version",
            field_doc!(core::NodeSystemInfo, "kernelVersion"),
        )
        .wide(),
        Col::new(
            "Container-Runtime",
            field_doc!(core::NodeSystemInfo, "containerRuntimeVersion"),
        )
        .wide(),
    ],
    node_cells,
);

/// Label prefix and label naming a node's roles (kube's findNodeRoles).
const NODE_ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const NODE_ROLE_LABEL: &str = "kubernetes.io/role";

fn node_cells(node: &Value) -> Vec<Value> {
    let mut status = vec![match condition(node, "/status/conditions", "Ready") {
        None => "Unknown".to_owned(),
        Some(c) if s(c, "/status") == "True" => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
    }];
    if super::format::b(node, "/spec/unschedulable") {
        status.push("SchedulingDisabled".into());
    }
    let mut roles: Vec<String> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix(NODE_ROLE_PREFIX) {
            Some(role) if !role.is_empty() => Some(role.to_owned()),
            Some(_) => None,
            None if k == NODE_ROLE_LABEL => v.as_str().filter(|r| !r.is_empty()).map(str::to_owned),
            None => None,
        })
        .collect();
    roles.sort();
    roles.dedup();
    let address = |ty: &str| {
        arr(node, "/status/addresses")
            .iter()
            .find(|a| s(a, "/type") == ty)
            .map_or(NONE, |a| s(a, "/address"))
            .to_owned()
    };
    let unknown = |p: &str| or(s(node, p), "<unknown>");
    vec![
        name(node),
        status.join(",").into(),
        or_none(&roles.join(",")),
        age(node),
        s(node, "/status/nodeInfo/kubeletVersion").into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        unknown("/status/nodeInfo/osImage"),
        unknown("/status/nodeInfo/kernelVersion"),
        unknown("/status/nodeInfo/containerRuntimeVersion"),
    ]
}

const EVENT_COLUMNS: &[Col] = &[
    Col::new("Last Seen", field_doc!(core::Event, "lastTimestamp")),
    Col::new("Type", field_doc!(core::Event, "type")),
    Col::new("Reason", field_doc!(core::Event, "reason")),
    Col::new("Object", field_doc!(core::Event, "involvedObject")),
    Col::new("Subobject", field_doc!(core::ObjectReference, "fieldPath")).wide(),
    Col::new("Source", field_doc!(core::Event, "source")).wide(),
    Col::new("Message", field_doc!(core::Event, "message")),
    Col::new("First Seen", field_doc!(core::Event, "firstTimestamp")).wide(),
    Col::new("Count", field_doc!(core::Event, "count")).wide(),
    Col::new(
        "Name",
        field_doc!(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            "name"
        ),
    )
    .named()
    .wide(),
];

static EVENTS: Printer = Printer::new(EVENT_COLUMNS, event_cells);
static EVENTS_VIEW: Printer =
    Printer::new(EVENT_COLUMNS, |v| event_cells(&crate::events::to_core(v)));

/// kube's printEvent (wide) of a core/v1 Event.
fn event_cells(e: &Value) -> Vec<Value> {
    let first = match s(e, "/firstTimestamp") {
        "" => since(s(e, "/eventTime")),
        t => since(t),
    };
    let mut last = match s(e, "/lastTimestamp") {
        "" => first.clone(),
        t => since(t),
    };
    let mut count = i(e, "/count");
    if e.get("series").is_some_and(Value::is_object) {
        last = since(s(e, "/series/lastObservedTime"));
        count = i(e, "/series/count");
    } else if count == 0 {
        // Singleton events of the events.k8s.io API have no count.
        count = 1;
    }
    let kind = s(e, "/involvedObject/kind").to_lowercase();
    let target = match s(e, "/involvedObject/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = or(s(e, "/source/component"), s(e, "/reportingComponent"));
    let host = or(s(e, "/source/host"), s(e, "/reportingInstance"));
    let (component, host) = (
        component.as_str().unwrap_or_default(),
        host.as_str().unwrap_or_default(),
    );
    let source = if host.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {host}")
    };
    vec![
        last.into(),
        s(e, "/type").into(),
        s(e, "/reason").into(),
        target.into(),
        s(e, "/involvedObject/fieldPath").into(),
        source.into(),
        s(e, "/message").trim().into(),
        first.into(),
        count.into(),
        name(e),
    ]
}

static NAMESPACES: Printer = Printer::new(
    &[
        NAME,
        Col::new("Status", Doc::Text("The status of the namespace")),
        AGE,
    ],
    |o| vec![name(o), s(o, "/status/phase").into(), age(o)],
);

static SECRETS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Type", field_doc!(core::Secret, "type")),
        Col::new("Data", field_doc!(core::Secret, "data")),
        AGE,
    ],
    |o| {
        vec![
            name(o),
            s(o, "/type").into(),
            len(o, "/data").into(),
            age(o),
        ]
    },
);

static SERVICE_ACCOUNTS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Secrets", field_doc!(core::ServiceAccount, "secrets")),
        AGE,
    ],
    |o| vec![name(o), len(o, "/secrets").into(), age(o)],
);

/// The legacy annotation that names a volume's or claim's class before `storageClassName`.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// `helper.GetPersistentVolumeClass` / `GetPersistentVolumeClaimClass`.
fn storage_class(o: &Value) -> Value {
    match o
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(BETA_STORAGE_CLASS))
        .and_then(Value::as_str)
    {
        Some(class) => class.into(),
        None => s(o, "/spec/storageClassName").into(),
    }
}

static PERSISTENT_VOLUMES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Capacity",
            field_doc!(core::PersistentVolumeSpec, "capacity"),
        ),
        Col::new(
            "Access Modes",
            field_doc!(core::PersistentVolumeSpec, "accessModes"),
        ),
        Col::new(
            "Reclaim Policy",
            field_doc!(core::PersistentVolumeSpec, "persistentVolumeReclaimPolicy"),
        ),
        Col::new("Status", field_doc!(core::PersistentVolumeStatus, "phase")),
        Col::new("Claim", field_doc!(core::PersistentVolumeSpec, "claimRef")),
        Col::new("StorageClass", Doc::Text("StorageClass of the pv")),
        Col::new(
            "VolumeAttributesClass",
            Doc::Text("VolumeAttributesClass of the pv"),
        ),
        Col::new("Reason", field_doc!(core::PersistentVolumeStatus, "reason")),
        AGE,
        Col::new(
            "VolumeMode",
            field_doc!(core::PersistentVolumeSpec, "volumeMode"),
        )
        .wide(),
    ],
    |o| {
        let claim = match o.pointer("/spec/claimRef") {
            Some(r) if r.is_object() => format!("{}/{}", s(r, "/namespace"), s(r, "/name")),
            _ => String::new(),
        };
        let phase = if o.pointer("/metadata/deletionTimestamp").is_some() {
            "Terminating"
        } else {
            s(o, "/status/phase")
        };
        vec![
            name(o),
            quantity(o.pointer("/spec/capacity/storage")).into(),
            access_modes(arr(o, "/spec/accessModes")).into(),
            s(o, "/spec/persistentVolumeReclaimPolicy").into(),
            phase.into(),
            claim.into(),
            storage_class(o),
            or(s(o, "/spec/volumeAttributesClassName"), UNSET),
            s(o, "/status/reason").into(),
            age(o),
            or(s(o, "/spec/volumeMode"), UNSET),
        ]
    },
);

static PERSISTENT_VOLUME_CLAIMS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Status",
            field_doc!(core::PersistentVolumeClaimStatus, "phase"),
        ),
        Col::new(
            "Volume",
            field_doc!(core::PersistentVolumeClaimSpec, "volumeName"),
        ),
        Col::new(
            "Capacity",
            field_doc!(core::PersistentVolumeClaimStatus, "capacity"),
        ),
        Col::new(
            "Access Modes",
            field_doc!(core::PersistentVolumeClaimStatus, "accessModes"),
        ),
        Col::new("StorageClass", Doc::Text("StorageClass of the pvc")),
        Col::new(
            "VolumeAttributesClass",
            Doc::Text("VolumeAttributesClass of the pvc"),
        ),
        AGE,
        Col::new(
            "VolumeMode",
            field_doc!(core::PersistentVolumeClaimSpec, "volumeMode"),
        )
        .wide(),
    ],
    |o| {
        let phase = if o.pointer("/metadata/deletionTimestamp").is_some() {
            "Terminating"
        } else {
            s(o, "/status/phase")
        };
        // Capacity and access modes show once the claim is bound to a volume.
        let bound = !s(o, "/spec/volumeName").is_empty();
        let (capacity, modes) = if bound {
            (
                quantity(o.pointer("/status/capacity/storage")),
                access_modes(arr(o, "/status/accessModes")),
            )
        } else {
            (String::new(), String::new())
        };
        vec![
            name(o),
            phase.into(),
            s(o, "/spec/volumeName").into(),
            capacity.into(),
            modes.into(),
            storage_class(o),
            or(s(o, "/spec/volumeAttributesClassName"), UNSET),
            age(o),
            or(s(o, "/spec/volumeMode"), UNSET),
        ]
    },
);

static COMPONENT_STATUSES: Printer = Printer::new(
    &[
        NAME,
        Col::new("Status", Doc::Text("Status of the component conditions")),
        Col::new("Message", Doc::Text("Message of the component conditions")),
        Col::new("Error", Doc::Text("Error of the component conditions")),
    ],
    |o| {
        let (status, message, error) = match condition(o, "/conditions", "Healthy") {
            Some(c) => (
                if s(c, "/status") == "True" {
                    "Healthy"
                } else {
                    "Unhealthy"
                },
                s(c, "/message"),
                s(c, "/error"),
            ),
            None => ("Unknown", "", ""),
        };
        vec![name(o), status.into(), message.into(), error.into()]
    },
);

static CONFIG_MAPS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Data", field_doc!(core::ConfigMap, "data")),
        AGE,
    ],
    |o| {
        vec![
            name(o),
            (len(o, "/data") + len(o, "/binaryData")).into(),
            age(o),
        ]
    },
);

static RESOURCE_QUOTAS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Request",
            Doc::Text(
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
        ),
        Col::new(
            "Limit",
            Doc::Text(
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
        ),
        AGE,
    ],
    |o| {
        // Resources sorted by name; `limits.*` go to the Limit column.
        let hard = o.pointer("/status/hard").and_then(Value::as_object);
        let mut names: Vec<&String> = hard.into_iter().flat_map(|h| h.keys()).collect();
        names.sort();
        let (mut requests, mut limits) = (Vec::new(), Vec::new());
        for r in names {
            let used = quantity(o.pointer("/status/used").and_then(|u| u.get(r)));
            let max = quantity(hard.and_then(|h| h.get(r)));
            let entry = format!("{r}: {used}/{max}");
            if r.split('.').next() == Some("limits") && r.contains('.') {
                limits.push(entry);
            } else {
                requests.push(entry);
            }
        }
        vec![
            name(o),
            requests.join(", ").into(),
            limits.join(", ").into(),
            age(o),
        ]
    },
);

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Cases of kube's printers_test.go `TestPrintPod*`: init containers, sidecars, terminated
    /// reasons, deletion.
    #[test]
    fn pod_status_follows_init_containers_and_sidecars() {
        let row = |pod: Value| {
            let c = pod_cells(&pod);
            (c[1].clone(), c[2].clone())
        };
        // The second of two init containers is waiting: Init:1/2.
        assert_eq!(
            row(
                json!({"spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "c"}]},
                "status": {"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                    {"name": "i2", "state": {"waiting": {}}}]}})
            ),
            (json!("0/1"), json!("Init:1/2"))
        );
        // A failed init container.
        assert_eq!(
            row(
                json!({"spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "c"}]},
                "status": {"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "state": {"terminated": {"exitCode": 3}}}]}})
            )
            .1,
            json!("Init:ExitCode:3")
        );
        assert_eq!(
            row(
                json!({"spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "c"}]},
                "status": {"phase": "Pending", "initContainerStatuses": [
                    {"name": "i1", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}})
            )
            .1,
            json!("Init:ImagePullBackOff")
        );
        // A started sidecar counts as a container and as ready.
        assert_eq!(
            row(
                json!({"spec": {"initContainers": [{"name": "s", "restartPolicy": "Always"}], "containers": [{"name": "c"}]},
                "status": {"phase": "Running",
                    "conditions": [{"type": "Initialized", "status": "True"}],
                    "initContainerStatuses": [{"name": "s", "started": true, "ready": true, "state": {"running": {}}}],
                    "containerStatuses": [{"name": "c", "ready": true, "state": {"running": {}}}]}})
            ),
            (json!("2/2"), json!("Running"))
        );
        // Completed with a container still running and the pod not ready: NotReady.
        assert_eq!(
            row(json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]},
                "status": {"phase": "Running", "containerStatuses": [
                    {"name": "a", "ready": true, "state": {"running": {}}},
                    {"name": "b", "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}}))
            .1,
            json!("NotReady")
        );
        assert_eq!(
            row(
                json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running"}})
            )
            .1,
            json!("Terminating")
        );
        assert_eq!(
            pod_conditions(&json!({"status": {"phase": "Failed"}})).unwrap()[0]["reason"],
            "Failed"
        );
        assert!(pod_conditions(&json!({"status": {"phase": "Running"}})).is_none());
    }

    #[test]
    fn service_external_ips_and_ports() {
        let lb = json!({"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer", "clusterIPs": ["10.0.0.5"],
            "externalIPs": ["9.9.9.9"], "selector": {"b": "2", "a": "1"},
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "2.2.2.2"}, {"hostname": "lb.example"}, {"ip": "2.2.2.2"}]}}});
        let c = service_cells(&lb);
        assert_eq!(c[1], "LoadBalancer");
        assert_eq!(c[2], "10.0.0.5");
        assert_eq!(c[3], "2.2.2.2,lb.example,9.9.9.9");
        assert_eq!(c[4], "80:30080/TCP,53/UDP");
        assert_eq!(c[6], "a=1,b=2");
        let pending = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(service_cells(&pending)[3], "<pending>");
        let ext = json!({"spec": {"type": "ExternalName", "externalName": "db.example"}});
        let c = service_cells(&ext);
        assert_eq!(
            (&c[2], &c[3], &c[4], &c[6]),
            (
                &json!("<none>"),
                &json!("db.example"),
                &json!("<none>"),
                &json!("<none>")
            )
        );
    }

    #[test]
    fn endpoints_list_the_first_three() {
        let e = json!({"subsets": [{"addresses": [{"ip": "1.1.1.1"}, {"ip": "2.2.2.2"}],
            "ports": [{"port": 80}, {"port": 443}]}, {"addresses": [{"ip": "fd00::1"}]}]});
        assert_eq!(
            endpoints(&e),
            "1.1.1.1:80,2.2.2.2:80,1.1.1.1:443 + 2 more..."
        );
        assert_eq!(endpoints(&json!({})), "<none>");
        let v6 = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
        assert_eq!(endpoints(&v6), "[fd00::1]:80");
    }

    #[test]
    fn node_status_roles_and_addresses() {
        let n = json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": "",
            "node-role.kubernetes.io/": "", "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian"}}});
        let c = node_cells(&n);
        assert_eq!(c[1], "NotReady,SchedulingDisabled");
        assert_eq!(c[2], "control-plane,worker");
        assert_eq!(c[4], "v1.37.0");
        assert_eq!(
            &c[5..],
            &[
                json!("10.0.0.1"),
                json!("<none>"),
                json!("Debian"),
                json!("<unknown>"),
                json!("<unknown>")
            ]
        );
        assert_eq!(node_cells(&json!({}))[1], "Unknown");
    }

    #[test]
    fn events_print_source_count_and_target() {
        let e = json!({"metadata": {"name": "e1"}, "type": "Normal", "reason": "Started",
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{c}"},
            "source": {"component": "kubelet", "host": "node-a"}, "message": " started \n", "count": 3});
        let c = event_cells(&e);
        assert_eq!(c[0], "<unknown>");
        assert_eq!(c[3], "pod/web");
        assert_eq!(c[4], "spec.containers{c}");
        assert_eq!(c[5], "kubelet, node-a");
        assert_eq!(c[6], "started");
        assert_eq!(c[8], 3);
        assert_eq!(c[9], "e1");
        // events.k8s.io style: reporting controller and instance, no count, a series.
        let v = json!({"reportingComponent": "ctl", "involvedObject": {"kind": "Node"},
            "series": {"count": 7, "lastObservedTime": "2000-01-01T00:00:00.000000Z"}});
        let c = event_cells(&v);
        assert_eq!(
            (&c[3], &c[5], &c[8]),
            (&json!("node"), &json!("ctl"), &json!(7))
        );
        assert!(c[0].as_str().unwrap().ends_with('y'), "{}", c[0]);
        assert_eq!(event_cells(&json!({}))[8], 1);
    }

    #[test]
    fn volumes_and_claims() {
        let pv = json!({"metadata": {"name": "pv", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
            "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "ns", "name": "c"},
                "storageClassName": "new", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"}});
        let c = (PERSISTENT_VOLUMES.cells)(&pv);
        assert_eq!(
            c.iter()
                .map(|v| if v.is_string() {
                    v.clone()
                } else {
                    json!(v.to_string())
                })
                .collect::<Vec<_>>()[..9],
            [
                json!("pv"),
                json!("5Gi"),
                json!("RWO,ROX"),
                json!("Retain"),
                json!("Bound"),
                json!("ns/c"),
                json!("old"),
                json!("<unset>"),
                json!("")
            ]
        );
        assert_eq!(c[10], "Filesystem");
        let pvc = json!({"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Pending", "capacity": {"storage": "1Gi"}}});
        let c = (PERSISTENT_VOLUME_CLAIMS.cells)(&pvc);
        assert_eq!(
            (&c[1], &c[2], &c[3], &c[4], &c[5], &c[8]),
            (
                &json!("Pending"),
                &json!(""),
                &json!(""),
                &json!(""),
                &json!("fast"),
                &json!("<unset>")
            )
        );
    }

    #[test]
    fn resource_quota_splits_requests_and_limits() {
        let q = json!({"status": {"hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"},
            "used": {"pods": "3", "requests.cpu": "500m"}}});
        let c = (RESOURCE_QUOTAS.cells)(&q);
        assert_eq!(c[1], "pods: 3/10, requests.cpu: 500m/1");
        assert_eq!(c[2], "limits.cpu: 0/2");
    }
}
