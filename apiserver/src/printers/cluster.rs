//! Printers of the other groups: networking and discovery, RBAC bindings, storage,
//! certificates, coordination, scheduling, node, admission registration, flow control,
//! dynamic resource allocation and the aggregator's APIServices.
//!
//! Roles and ClusterRoles have no printer in kube (the default Name / Created At table), nor
//! has IPAddress here: kube's IPAddress printer declares two columns but fills three cells.

use k8s_openapi::api::certificates::v1 as certificates;
use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::flowcontrol::v1 as flowcontrol;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::resource::v1 as resource;
use k8s_openapi::api::scheduling::v1 as scheduling;
use k8s_openapi::api::storage::v1 as storage;
use serde_json::Value;

use super::format::{
    NONE, UNSET, age, arr, b, format_selector, human_duration, i, len, list_with_more, name, or,
    or_none, quantity, s,
};
use super::{AGE, Col, Doc, NAME, Printer, field_doc};

/// The resources printed here.
#[cfg(test)]
pub const RESOURCES: &[(&str, &str)] = &[
    ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "ingressclasses"),
    ("networking.k8s.io", "networkpolicies"),
    ("networking.k8s.io", "servicecidrs"),
    ("discovery.k8s.io", "endpointslices"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("storage.k8s.io", "storageclasses"),
    ("storage.k8s.io", "volumeattributesclasses"),
    ("storage.k8s.io", "volumeattachments"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "csistoragecapacities"),
    ("certificates.k8s.io", "certificatesigningrequests"),
    ("coordination.k8s.io", "leases"),
    ("scheduling.k8s.io", "priorityclasses"),
    ("node.k8s.io", "runtimeclasses"),
    (ADMISSION, "mutatingwebhookconfigurations"),
    (ADMISSION, "validatingwebhookconfigurations"),
    (ADMISSION, "validatingadmissionpolicies"),
    (ADMISSION, "validatingadmissionpolicybindings"),
    (ADMISSION, "mutatingadmissionpolicies"),
    (ADMISSION, "mutatingadmissionpolicybindings"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    (
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
    ),
    ("resource.k8s.io", "deviceclasses"),
    ("resource.k8s.io", "resourceclaims"),
    ("resource.k8s.io", "resourceclaimtemplates"),
    ("resource.k8s.io", "resourceslices"),
    ("apiregistration.k8s.io", "apiservices"),
];

const ADMISSION: &str = "admissionregistration.k8s.io";

pub fn printer(group: &str, plural: &str) -> Option<&'static Printer> {
    Some(match (group, plural) {
        ("networking.k8s.io", "ingresses") => &INGRESSES,
        ("networking.k8s.io", "ingressclasses") => &INGRESS_CLASSES,
        ("networking.k8s.io", "networkpolicies") => &NETWORK_POLICIES,
        ("networking.k8s.io", "servicecidrs") => &SERVICE_CIDRS,
        ("discovery.k8s.io", "endpointslices") => &ENDPOINT_SLICES,
        ("rbac.authorization.k8s.io", "rolebindings") => &ROLE_BINDINGS,
        ("rbac.authorization.k8s.io", "clusterrolebindings") => &CLUSTER_ROLE_BINDINGS,
        ("storage.k8s.io", "storageclasses") => &STORAGE_CLASSES,
        ("storage.k8s.io", "volumeattributesclasses") => &VOLUME_ATTRIBUTES_CLASSES,
        ("storage.k8s.io", "volumeattachments") => &VOLUME_ATTACHMENTS,
        ("storage.k8s.io", "csidrivers") => &CSI_DRIVERS,
        ("storage.k8s.io", "csinodes") => &CSI_NODES,
        ("storage.k8s.io", "csistoragecapacities") => &CSI_STORAGE_CAPACITIES,
        ("certificates.k8s.io", "certificatesigningrequests") => &CSRS,
        ("coordination.k8s.io", "leases") => &LEASES,
        ("scheduling.k8s.io", "priorityclasses") => &PRIORITY_CLASSES,
        ("node.k8s.io", "runtimeclasses") => &RUNTIME_CLASSES,
        (ADMISSION, "mutatingwebhookconfigurations" | "validatingwebhookconfigurations") => {
            &WEBHOOK_CONFIGURATIONS
        }
        (ADMISSION, "validatingadmissionpolicies") => &VALIDATING_ADMISSION_POLICIES,
        (ADMISSION, "mutatingadmissionpolicies") => &MUTATING_ADMISSION_POLICIES,
        (ADMISSION, "validatingadmissionpolicybindings" | "mutatingadmissionpolicybindings") => {
            &ADMISSION_POLICY_BINDINGS
        }
        ("flowcontrol.apiserver.k8s.io", "flowschemas") => &FLOW_SCHEMAS,
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations") => {
            &PRIORITY_LEVEL_CONFIGURATIONS
        }
        ("resource.k8s.io", "deviceclasses" | "resourceclaimtemplates") => &NAME_AGE,
        ("resource.k8s.io", "resourceclaims") => &RESOURCE_CLAIMS,
        ("resource.k8s.io", "resourceslices") => &RESOURCE_SLICES,
        ("apiregistration.k8s.io", "apiservices") => &API_SERVICES,
        _ => return None,
    })
}

/// Printers that show only Name and Age (DeviceClass, ResourceClaimTemplate).
static NAME_AGE: Printer = Printer::new(&[NAME, AGE], |o| vec![name(o), age(o)]);

static INGRESSES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Class",
            Doc::Text(
                "The name of the IngressClass resource that should be used for additional configuration",
            ),
        ),
        Col::new(
            "Hosts",
            Doc::Text("Hosts that incoming requests are matched against before the ingress rule"),
        ),
        Col::new(
            "Address",
            Doc::Text("Address is a list containing ingress points for the load-balancer"),
        ),
        Col::new("Ports", Doc::Text("Ports of TLS configurations that open")),
        AGE,
    ],
    |o| {
        // formatHosts: the first three hosts of rules that have one, "*" when none, and
        // "+ N more..." (N counts rules, with or without a host) when rules remain after them.
        let rules = arr(o, "/spec/rules");
        let (mut hosts, mut more) = (Vec::new(), false);
        for rule in rules {
            if hosts.len() == super::format::LIST_MAX {
                more = true;
                break;
            }
            if !s(rule, "/host").is_empty() {
                hosts.push(s(rule, "/host"));
            }
        }
        let hosts = match (hosts.is_empty(), more) {
            (true, _) => "*".to_owned(),
            (false, false) => hosts.join(","),
            (false, true) => format!(
                "{} + {} more...",
                hosts.join(","),
                rules.len() - super::format::LIST_MAX
            ),
        };
        let mut address: Vec<String> = arr(o, "/status/loadBalancer/ingress")
            .iter()
            .filter_map(|i| match (s(i, "/ip"), s(i, "/hostname")) {
                ("", "") => None,
                ("", host) => Some(host.to_owned()),
                (ip, _) => Some(ip.to_owned()),
            })
            .collect();
        address.sort();
        address.dedup();
        let ports = if arr(o, "/spec/tls").is_empty() {
            "80"
        } else {
            "80, 443"
        };
        vec![
            name(o),
            or_none(s(o, "/spec/ingressClassName")),
            hosts.into(),
            address.join(",").into(),
            ports.into(),
            age(o),
        ]
    },
);

static INGRESS_CLASSES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Controller",
            Doc::Text("Controller that is responsible for handling this class"),
        ),
        Col::new(
            "Parameters",
            Doc::Text("A reference to a resource with additional parameters"),
        ),
        AGE,
    ],
    |o| {
        let parameters = match o.pointer("/spec/parameters") {
            Some(p) if p.is_object() => {
                let kind = match s(p, "/apiGroup") {
                    "" if p.get("apiGroup").is_none() => s(p, "/kind").to_owned(),
                    g => format!("{}.{g}", s(p, "/kind")),
                };
                format!("{kind}/{}", s(p, "/name"))
            }
            _ => NONE.to_owned(),
        };
        vec![
            name(o),
            s(o, "/spec/controller").into(),
            parameters.into(),
            age(o),
        ]
    },
);

static NETWORK_POLICIES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Pod-Selector",
            field_doc!(networking::NetworkPolicySpec, "podSelector"),
        ),
        AGE,
    ],
    |o| {
        vec![
            name(o),
            format_selector(o.pointer("/spec/podSelector")).into(),
            age(o),
        ]
    },
);

static SERVICE_CIDRS: Printer = Printer::new(
    &[
        NAME,
        Col::new("CIDRs", field_doc!(networking::ServiceCIDRSpec, "cidrs")),
        AGE,
    ],
    |o| vec![name(o), strings(o, "/spec/cidrs").join(",").into(), age(o)],
);

fn strings<'a>(o: &'a Value, pointer: &str) -> Vec<&'a str> {
    arr(o, pointer).iter().filter_map(Value::as_str).collect()
}

static ENDPOINT_SLICES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "AddressType",
            field_doc!(discovery::EndpointSlice, "addressType"),
        ),
        Col::new("Ports", field_doc!(discovery::EndpointSlice, "ports")),
        Col::new(
            "Endpoints",
            field_doc!(discovery::EndpointSlice, "endpoints"),
        ),
        AGE,
    ],
    |o| {
        // formatDiscoveryPorts: the port number, else its name, else "*".
        let ports = arr(o, "/ports").iter().map(|p| match p.get("port") {
            Some(n) if n.is_number() => n.to_string(),
            _ => or(s(p, "/name"), "*").as_str().unwrap_or("*").to_owned(),
        });
        let ports = list_with_more(ports, UNSET);
        let addresses = arr(o, "/endpoints")
            .iter()
            .flat_map(|e| strings(e, "/addresses"))
            .map(str::to_owned);
        vec![
            name(o),
            s(o, "/addressType").into(),
            ports.into(),
            list_with_more(addresses, UNSET).into(),
            age(o),
        ]
    },
);

static ROLE_BINDINGS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Role", field_doc!(rbac::RoleBinding, "roleRef")),
        AGE,
        Col::new("Users", Doc::Text("Users in the roleBinding")).wide(),
        Col::new("Groups", Doc::Text("Groups in the roleBinding")).wide(),
        Col::new(
            "ServiceAccounts",
            Doc::Text("ServiceAccounts in the roleBinding"),
        )
        .wide(),
    ],
    binding_cells,
);

static CLUSTER_ROLE_BINDINGS: Printer = Printer::new(
    &[
        NAME,
        Col::new("Role", field_doc!(rbac::ClusterRoleBinding, "roleRef")),
        AGE,
        Col::new("Users", Doc::Text("Users in the clusterRoleBinding")).wide(),
        Col::new("Groups", Doc::Text("Groups in the clusterRoleBinding")).wide(),
        Col::new(
            "ServiceAccounts",
            Doc::Text("ServiceAccounts in the clusterRoleBinding"),
        )
        .wide(),
    ],
    binding_cells,
);

/// printRoleBinding / printClusterRoleBinding with rbac.SubjectsStrings (joined with ", ").
fn binding_cells(o: &Value) -> Vec<Value> {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for subject in arr(o, "/subjects") {
        match s(subject, "/kind") {
            "User" => users.push(s(subject, "/name").to_owned()),
            "Group" => groups.push(s(subject, "/name").to_owned()),
            "ServiceAccount" => sas.push(format!(
                "{}/{}",
                s(subject, "/namespace"),
                s(subject, "/name")
            )),
            _ => {}
        }
    }
    vec![
        name(o),
        format!("{}/{}", s(o, "/roleRef/kind"), s(o, "/roleRef/name")).into(),
        age(o),
        users.join(", ").into(),
        groups.join(", ").into(),
        sas.join(", ").into(),
    ]
}

/// The annotations that mark the default StorageClass (`storageutil.IsDefaultAnnotation`).
const DEFAULT_CLASS: &[&str] = &[
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];
/// The annotation that marks the default VolumeAttributesClass.
const DEFAULT_ATTRIBUTES_CLASS: &[&str] = &["storage.kubernetes.io/is-default-class"];

/// The name, with " (default)" when one of `annotations` is "true".
fn class_name(o: &Value, annotations: &[&str]) -> Value {
    let default = annotations.iter().any(|a| {
        o.pointer("/metadata/annotations")
            .and_then(|m| m.get(*a))
            .and_then(Value::as_str)
            == Some("true")
    });
    let name = s(o, "/metadata/name");
    if default {
        format!("{name} (default)").into()
    } else {
        name.into()
    }
}

static STORAGE_CLASSES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Provisioner",
            field_doc!(storage::StorageClass, "provisioner"),
        ),
        Col::new(
            "ReclaimPolicy",
            field_doc!(storage::StorageClass, "reclaimPolicy"),
        ),
        Col::new(
            "VolumeBindingMode",
            field_doc!(storage::StorageClass, "volumeBindingMode"),
        ),
        Col::new(
            "AllowVolumeExpansion",
            field_doc!(storage::StorageClass, "allowVolumeExpansion"),
        ),
        AGE,
    ],
    |o| {
        vec![
            class_name(o, DEFAULT_CLASS),
            s(o, "/provisioner").into(),
            or(s(o, "/reclaimPolicy"), "Delete"),
            or(s(o, "/volumeBindingMode"), "Immediate"),
            b(o, "/allowVolumeExpansion").into(),
            age(o),
        ]
    },
);

static VOLUME_ATTRIBUTES_CLASSES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "DriverName",
            field_doc!(storage::VolumeAttributesClass, "driverName"),
        ),
        AGE,
    ],
    |o| {
        vec![
            class_name(o, DEFAULT_ATTRIBUTES_CLASS),
            s(o, "/driverName").into(),
            age(o),
        ]
    },
);

static VOLUME_ATTACHMENTS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Attacher",
            field_doc!(storage::VolumeAttachmentSpec, "attacher"),
        )
        .named(),
        Col::new(
            "PV",
            field_doc!(storage::VolumeAttachmentSource, "persistentVolumeName"),
        ),
        Col::new(
            "Node",
            field_doc!(storage::VolumeAttachmentSpec, "nodeName"),
        ),
        Col::new(
            "Attached",
            field_doc!(storage::VolumeAttachmentStatus, "attached"),
        )
        .ty("boolean"),
        AGE,
    ],
    |o| {
        vec![
            name(o),
            s(o, "/spec/attacher").into(),
            s(o, "/spec/source/persistentVolumeName").into(),
            s(o, "/spec/nodeName").into(),
            b(o, "/status/attached").into(),
            age(o),
        ]
    },
);

static CSI_DRIVERS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "AttachRequired",
            field_doc!(storage::CSIDriverSpec, "attachRequired"),
        )
        .ty("boolean"),
        Col::new(
            "PodInfoOnMount",
            field_doc!(storage::CSIDriverSpec, "podInfoOnMount"),
        )
        .ty("boolean"),
        Col::new(
            "StorageCapacity",
            field_doc!(storage::CSIDriverSpec, "storageCapacity"),
        )
        .ty("boolean"),
        Col::new(
            "TokenRequests",
            field_doc!(storage::CSIDriverSpec, "tokenRequests"),
        ),
        Col::new(
            "RequiresRepublish",
            field_doc!(storage::CSIDriverSpec, "requiresRepublish"),
        )
        .ty("boolean"),
        Col::new(
            "Modes",
            field_doc!(storage::CSIDriverSpec, "volumeLifecycleModes"),
        ),
        AGE,
    ],
    |o| {
        let flag = |p: &str, default: bool| {
            o.pointer(p)
                .and_then(Value::as_bool)
                .unwrap_or(default)
                .into()
        };
        let tokens = match o.pointer("/spec/tokenRequests") {
            Some(Value::Array(t)) => t
                .iter()
                .map(|t| s(t, "/audience"))
                .collect::<Vec<_>>()
                .join(","),
            _ => UNSET.to_owned(),
        };
        vec![
            name(o),
            flag("/spec/attachRequired", true),
            flag("/spec/podInfoOnMount", false),
            flag("/spec/storageCapacity", false),
            tokens.into(),
            flag("/spec/requiresRepublish", false),
            or_none(&strings(o, "/spec/volumeLifecycleModes").join(",")),
            age(o),
        ]
    },
);

static CSI_NODES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Drivers",
            Doc::Text("Drivers indicates the number of CSI drivers registered on the node"),
        )
        .ty("integer"),
        AGE,
    ],
    |o| vec![name(o), len(o, "/spec/drivers").into(), age(o)],
);

static CSI_STORAGE_CAPACITIES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "StorageClassName",
            field_doc!(storage::CSIStorageCapacity, "storageClassName"),
        ),
        Col::new(
            "Capacity",
            field_doc!(storage::CSIStorageCapacity, "capacity"),
        ),
    ],
    |o| {
        let capacity = match o.get("capacity") {
            Some(q) if !q.is_null() => quantity(Some(q)),
            _ => UNSET.to_owned(),
        };
        vec![name(o), s(o, "/storageClassName").into(), capacity.into()]
    },
);

static CSRS: Printer = Printer::new(
    &[
        NAME,
        AGE,
        Col::new(
            "SignerName",
            field_doc!(certificates::CertificateSigningRequestSpec, "signerName"),
        ),
        Col::new(
            "Requestor",
            field_doc!(certificates::CertificateSigningRequestSpec, "request"),
        ),
        Col::new(
            "RequestedDuration",
            field_doc!(
                certificates::CertificateSigningRequestSpec,
                "expirationSeconds"
            ),
        ),
        Col::new(
            "Condition",
            field_doc!(certificates::CertificateSigningRequestStatus, "conditions"),
        ),
    ],
    |o| {
        // extractCSRStatus: Denied before Approved before Pending, then Failed and Issued.
        let has = |ty: &str| {
            arr(o, "/status/conditions")
                .iter()
                .any(|c| s(c, "/type") == ty)
        };
        let mut status = if has("Denied") {
            "Denied"
        } else if has("Approved") {
            "Approved"
        } else {
            "Pending"
        }
        .to_owned();
        if has("Failed") {
            status.push_str(",Failed");
        }
        if !s(o, "/status/certificate").is_empty() {
            status.push_str(",Issued");
        }
        let duration = o
            .pointer("/spec/expirationSeconds")
            .and_then(Value::as_i64)
            .map_or_else(|| NONE.to_owned(), human_duration);
        vec![
            name(o),
            age(o),
            or_none(s(o, "/spec/signerName")),
            s(o, "/spec/username").into(),
            duration.into(),
            status.into(),
        ]
    },
);

static LEASES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Holder",
            field_doc!(coordination::LeaseSpec, "holderIdentity"),
        ),
        AGE,
    ],
    |o| vec![name(o), s(o, "/spec/holderIdentity").into(), age(o)],
);

static PRIORITY_CLASSES: Printer = Printer::new(
    &[
        NAME,
        Col::new("Value", field_doc!(scheduling::PriorityClass, "value")).ty("integer"),
        Col::new(
            "Global-Default",
            field_doc!(scheduling::PriorityClass, "globalDefault"),
        )
        .ty("boolean"),
        AGE,
        Col::new(
            "PreemptionPolicy",
            field_doc!(scheduling::PriorityClass, "preemptionPolicy"),
        ),
    ],
    |o| {
        vec![
            name(o),
            i(o, "/value").into(),
            b(o, "/globalDefault").into(),
            age(o),
            s(o, "/preemptionPolicy").into(),
        ]
    },
);

static RUNTIME_CLASSES: Printer = Printer::new(
    &[
        NAME,
        // kube reads ObjectMeta's (absent) `handler` doc: the description is empty.
        Col::new("Handler", Doc::Text("")),
        AGE,
    ],
    |o| vec![name(o), s(o, "/handler").into(), age(o)],
);

static WEBHOOK_CONFIGURATIONS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Webhooks",
            Doc::Text("Webhooks indicates the number of webhooks registered in this configuration"),
        )
        .ty("integer"),
        AGE,
    ],
    |o| vec![name(o), len(o, "/webhooks").into(), age(o)],
);

const PARAM_KIND: Col = Col::new(
    "ParamKind",
    Doc::Text("ParamKind specifies the kind of resources used to parameterize this policy"),
);

/// A policy's `apiVersion/kind` of its paramKind, `<unset>` without one.
fn param_kind(o: &Value) -> Value {
    match o.pointer("/spec/paramKind") {
        Some(p) if p.is_object() => format!("{}/{}", s(p, "/apiVersion"), s(p, "/kind")).into(),
        _ => UNSET.into(),
    }
}

static VALIDATING_ADMISSION_POLICIES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Validations",
            Doc::Text(
                "Validations indicates the number of validation rules defined in this configuration",
            ),
        )
        .ty("integer"),
        PARAM_KIND,
        AGE,
    ],
    |o| {
        vec![
            name(o),
            len(o, "/spec/validations").into(),
            param_kind(o),
            age(o),
        ]
    },
);

static MUTATING_ADMISSION_POLICIES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Mutations",
            Doc::Text(
                "Mutation indicates the number of mutations rules defined in this configuration",
            ),
        )
        .ty("integer"),
        PARAM_KIND,
        AGE,
    ],
    |o| {
        vec![
            name(o),
            len(o, "/spec/mutations").into(),
            param_kind(o),
            age(o),
        ]
    },
);

static ADMISSION_POLICY_BINDINGS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "PolicyName",
            Doc::Text(
                "PolicyName indicates the policy definition which the policy binding binded to",
            ),
        ),
        Col::new(
            "ParamRef",
            Doc::Text("ParamRef indicates the param resource which sets the configration param"),
        ),
        AGE,
    ],
    |o| {
        let param = match o.pointer("/spec/paramRef") {
            Some(p) if p.is_object() => match (s(p, "/name"), s(p, "/namespace")) {
                ("", _) => match p.get("selector") {
                    Some(sel) if sel.is_object() => go_label_selector(sel),
                    _ => UNSET.to_owned(),
                },
                // Without a namespace the param may be cluster-scoped or in any namespace.
                (n, "") => format!("*/{n}"),
                (n, ns) => format!("{ns}/{n}"),
            },
            _ => UNSET.to_owned(),
        };
        vec![
            name(o),
            s(o, "/spec/policyName").into(),
            param.into(),
            age(o),
        ]
    },
);

/// A LabelSelector as Go's generated `(*LabelSelector).String()` prints it (the binding printer
/// prints the selector struct, not a selector expression).
fn go_label_selector(sel: &Value) -> String {
    let mut labels: Vec<(&String, &str)> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    labels.sort();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = arr(sel, "/matchExpressions")
        .iter()
        .map(|e| {
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                s(e, "/key"),
                s(e, "/operator"),
                strings(e, "/values").join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

static FLOW_SCHEMAS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "PriorityLevel",
            field_doc!(flowcontrol::PriorityLevelConfigurationReference, "name"),
        ),
        Col::new(
            "MatchingPrecedence",
            field_doc!(flowcontrol::FlowSchemaSpec, "matchingPrecedence"),
        ),
        Col::new(
            "DistinguisherMethod",
            field_doc!(flowcontrol::FlowSchemaSpec, "distinguisherMethod"),
        ),
        AGE,
        Col::new(
            "MissingPL",
            Doc::Text("references a broken or non-existent PriorityLevelConfiguration"),
        ),
    ],
    |o| {
        let missing = arr(o, "/status/conditions")
            .iter()
            .find(|c| s(c, "/type") == "Dangling")
            .map_or("?", |c| s(c, "/status"));
        vec![
            name(o),
            s(o, "/spec/priorityLevelConfiguration/name").into(),
            i(o, "/spec/matchingPrecedence").into(),
            or_none(s(o, "/spec/distinguisherMethod/type")),
            age(o),
            missing.into(),
        ]
    },
)
// printFlowSchemaList sorts by precedence, then name (apihelpers.FlowSchemaSequence).
.ordered(|a, b| {
    (i(a, "/spec/matchingPrecedence"), s(a, "/metadata/name"))
        .cmp(&(i(b, "/spec/matchingPrecedence"), s(b, "/metadata/name")))
});

static PRIORITY_LEVEL_CONFIGURATIONS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Type",
            field_doc!(flowcontrol::PriorityLevelConfigurationSpec, "type"),
        ),
        Col::new(
            "NominalConcurrencyShares",
            field_doc!(
                flowcontrol::LimitedPriorityLevelConfiguration,
                "nominalConcurrencyShares"
            ),
        ),
        Col::new(
            "Queues",
            field_doc!(flowcontrol::QueuingConfiguration, "queues"),
        ),
        Col::new(
            "HandSize",
            field_doc!(flowcontrol::QueuingConfiguration, "handSize"),
        ),
        Col::new(
            "QueueLengthLimit",
            field_doc!(flowcontrol::QueuingConfiguration, "queueLengthLimit"),
        ),
        AGE,
    ],
    |o| {
        let none = || Value::from(NONE);
        let limited = o.pointer("/spec/limited").filter(|l| l.is_object());
        let queuing = limited
            .and_then(|l| l.pointer("/limitResponse/queuing"))
            .filter(|q| q.is_object());
        let num = |v: Option<&Value>, field: &str| {
            v.map_or_else(none, |v| i(v, &format!("/{field}")).into())
        };
        vec![
            name(o),
            s(o, "/spec/type").into(),
            num(limited, "nominalConcurrencyShares"),
            num(queuing, "queues"),
            num(queuing, "handSize"),
            num(queuing, "queueLengthLimit"),
            age(o),
        ]
    },
);

static RESOURCE_CLAIMS: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "State",
            Doc::Text("A summary of the current state (allocated, pending, reserved, etc.)."),
        ),
        AGE,
    ],
    |o| {
        // resourceClaimState.
        let deleted = o.pointer("/metadata/deletionTimestamp").is_some();
        let mut states = Vec::new();
        if deleted {
            states.push("deleted");
        }
        match o.pointer("/status/allocation") {
            Some(a) if a.is_object() => {
                states.push("allocated");
                if !arr(o, "/status/reservedFor").is_empty() {
                    states.push("reserved");
                }
            }
            _ if !deleted => states.push("pending"),
            _ => {}
        }
        vec![name(o), states.join(",").into(), age(o)]
    },
);

static RESOURCE_SLICES: Printer = Printer::new(
    &[
        NAME,
        Col::new("Node", field_doc!(resource::ResourceSliceSpec, "nodeName")),
        Col::new("Driver", field_doc!(resource::ResourceSliceSpec, "driver")),
        Col::new("Pool", field_doc!(resource::ResourcePool, "name")),
        AGE,
    ],
    |o| {
        vec![
            name(o),
            s(o, "/spec/nodeName").into(),
            s(o, "/spec/driver").into(),
            s(o, "/spec/pool/name").into(),
            age(o),
        ]
    },
);

static API_SERVICES: Printer = Printer::new(
    &[
        NAME,
        Col::new(
            "Service",
            Doc::Text("The reference to the service that hosts this API endpoint."),
        ),
        Col::new("Available", Doc::Text("Whether this service is available.")),
        AGE,
    ],
    |o| {
        let service = match o.pointer("/spec/service") {
            Some(svc) if svc.is_object() => {
                format!("{}/{}", s(svc, "/namespace"), s(svc, "/name"))
            }
            _ => "Local".to_owned(),
        };
        let available = match super::format::condition(o, "/status/conditions", "Available") {
            None => "Unknown".to_owned(),
            Some(c) if s(c, "/status") == "True" => "True".to_owned(),
            Some(c) if !s(c, "/reason").is_empty() => {
                format!("{} ({})", s(c, "/status"), s(c, "/reason"))
            }
            Some(c) => s(c, "/status").to_owned(),
        };
        vec![name(o), service.into(), available.into(), age(o)]
    },
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ingresses() {
        let ing = json!({"spec": {"ingressClassName": "nginx", "tls": [{}],
            "rules": [{"host": "a.example"}, {}, {"host": "c.example"}, {"host": "d.example"}, {"host": "e.example"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "2.2.2.2"}, {"hostname": "lb"}]}}});
        let c = (INGRESSES.cells)(&ing);
        assert_eq!(
            &c[1..5],
            &[
                json!("nginx"),
                json!("a.example,c.example,d.example + 2 more..."),
                json!("2.2.2.2,lb"),
                json!("80, 443")
            ]
        );
        let c = (INGRESSES.cells)(&json!({}));
        assert_eq!(
            &c[1..5],
            &[json!("<none>"), json!("*"), json!(""), json!("80")]
        );
        let class = json!({"spec": {"controller": "x/y", "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}});
        assert_eq!(
            (INGRESS_CLASSES.cells)(&class)[2],
            "IngressParameters.k8s.example.com/p"
        );
    }

    #[test]
    fn slices_bindings_and_classes() {
        let es = json!({"addressType": "IPv4", "ports": [{"port": 80}, {"name": "http"}, {}, {"port": 1}],
            "endpoints": [{"addresses": ["10.0.0.1", "10.0.0.2"]}]});
        let c = (ENDPOINT_SLICES.cells)(&es);
        assert_eq!(
            &c[1..4],
            &[
                json!("IPv4"),
                json!("80,http,* + 1 more..."),
                json!("10.0.0.1,10.0.0.2")
            ]
        );
        assert_eq!((ENDPOINT_SLICES.cells)(&json!({}))[2], "<unset>");
        let rb = json!({"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [
            {"kind": "User", "name": "u1"}, {"kind": "User", "name": "u2"}, {"kind": "Group", "name": "g"},
            {"kind": "ServiceAccount", "namespace": "ns", "name": "sa"}]});
        let c = binding_cells(&rb);
        assert_eq!(
            (&c[1], &c[3], &c[4], &c[5]),
            (
                &json!("ClusterRole/view"),
                &json!("u1, u2"),
                &json!("g"),
                &json!("ns/sa")
            )
        );
        let sc = json!({"metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "p"});
        let c = (STORAGE_CLASSES.cells)(&sc);
        assert_eq!(
            &c[..5],
            &[
                json!("fast (default)"),
                json!("p"),
                json!("Delete"),
                json!("Immediate"),
                json!(false)
            ]
        );
        let np = (NETWORK_POLICIES.cells)(&json!({"spec": {"podSelector": {}}}));
        assert_eq!(np[1], "<none>");
        let np = (NETWORK_POLICIES.cells)(
            &json!({"spec": {"podSelector": {"matchLabels": {"app": "db"}}}}),
        );
        assert_eq!(np[1], "app=db");
    }

    #[test]
    fn csrs_and_api_services() {
        let csr = json!({"spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "alice", "expirationSeconds": 3600},
            "status": {"conditions": [{"type": "Approved"}, {"type": "Failed"}], "certificate": "LS0t"}});
        let c = (CSRS.cells)(&csr);
        assert_eq!(
            &c[2..],
            &[
                json!("kubernetes.io/kube-apiserver-client"),
                json!("alice"),
                json!("60m"),
                json!("Approved,Failed,Issued")
            ]
        );
        assert_eq!((CSRS.cells)(&json!({}))[5], "Pending");
        let local = json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}});
        assert_eq!(
            &(API_SERVICES.cells)(&local)[1..3],
            &[json!("Local"), json!("True")]
        );
        let down = json!({"spec": {"service": {"namespace": "kube-system", "name": "metrics"}},
            "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}});
        assert_eq!(
            &(API_SERVICES.cells)(&down)[1..3],
            &[
                json!("kube-system/metrics"),
                json!("False (MissingEndpoints)")
            ]
        );
    }

    #[test]
    fn policies_flow_control_and_claims() {
        let b = json!({"spec": {"policyName": "p", "paramRef": {"selector": {"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]}}}});
        assert_eq!(
            (ADMISSION_POLICY_BINDINGS.cells)(&b)[2],
            "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}"
        );
        let b = json!({"spec": {"paramRef": {"name": "cfg"}}});
        assert_eq!((ADMISSION_POLICY_BINDINGS.cells)(&b)[2], "*/cfg");
        let vap = json!({"spec": {"validations": [{}, {}], "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}});
        assert_eq!(
            &(VALIDATING_ADMISSION_POLICIES.cells)(&vap)[1..3],
            &[json!(2), json!("v1/ConfigMap")]
        );
        let plc = json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 30,
            "limitResponse": {"type": "Reject"}}}});
        assert_eq!(
            &(PRIORITY_LEVEL_CONFIGURATIONS.cells)(&plc)[2..6],
            &[json!(30), json!("<none>"), json!("<none>"), json!("<none>")]
        );
        let claim = json!({"status": {"allocation": {}, "reservedFor": [{}]}});
        assert_eq!((RESOURCE_CLAIMS.cells)(&claim)[1], "allocated,reserved");
        assert_eq!((RESOURCE_CLAIMS.cells)(&json!({}))[1], "pending");
        let order = FLOW_SCHEMAS.order.unwrap();
        let (a, b) = (
            json!({"metadata": {"name": "b"}, "spec": {"matchingPrecedence": 1}}),
            json!({"metadata": {"name": "a"}, "spec": {"matchingPrecedence": 2}}),
        );
        assert_eq!(order(&a, &b), std::cmp::Ordering::Less);
    }
}
