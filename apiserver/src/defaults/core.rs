//! Defaults of the core group (`pkg/apis/core/v1/defaults.go` and the `+default=` markers of
//! `k8s.io/api/core/v1/types.go`), pod templates included wherever they occur.

use serde_json::{Value, json};

use super::rules::{Lit, Obj, Rule, TypeRules, child, is_nil, pull_policy_for, set_nil, str_of};

/// `v1.DefaultTerminationGracePeriodSeconds`.
const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// 0644, the mode of files projected from Secrets, ConfigMaps, the downward API and projections.
const VOLUME_FILE_MODE: i64 = 0o644;
/// One hour: the lifetime of a projected service account token.
const TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// `v1.DefaultClientIPServiceAffinitySeconds`: three hours.
const CLIENT_IP_AFFINITY_SECONDS: i64 = 10800;

pub(super) const RULES: &[TypeRules] = &[
    TypeRules {
        ty: "api::core::v1::Pod",
        rules: &[Rule::Fn {
            sets: &[
                ("api::core::v1::PodSpec", "enableServiceLinks"),
                ("api::core::v1::ResourceRequirements", "requests"),
                ("api::core::v1::ContainerPort", "hostPort"),
            ],
            apply: pod,
        }],
    },
    TypeRules {
        ty: "api::core::v1::PodSpec",
        rules: &[
            Rule::Set("dnsPolicy", Lit::Str("ClusterFirst")),
            Rule::Set("restartPolicy", Lit::Str("Always")),
            Rule::Set("securityContext", Lit::EmptyObject),
            Rule::Set(
                "terminationGracePeriodSeconds",
                Lit::Int(TERMINATION_GRACE_PERIOD_SECONDS),
            ),
            Rule::Set("schedulerName", Lit::Str("default-scheduler")),
        ],
    },
    TypeRules {
        ty: "api::core::v1::Container",
        rules: CONTAINER,
    },
    TypeRules {
        ty: "api::core::v1::EphemeralContainer",
        rules: CONTAINER,
    },
    TypeRules {
        ty: "api::core::v1::ContainerPort",
        rules: &[Rule::Set("protocol", Lit::Str("TCP"))],
    },
    TypeRules {
        ty: "api::core::v1::Probe",
        rules: &[
            Rule::SetNonZero("timeoutSeconds", Lit::Int(1)),
            Rule::SetNonZero("periodSeconds", Lit::Int(10)),
            Rule::SetNonZero("successThreshold", Lit::Int(1)),
            Rule::SetNonZero("failureThreshold", Lit::Int(3)),
        ],
    },
    TypeRules {
        ty: "api::core::v1::HTTPGetAction",
        rules: &[
            Rule::Set("path", Lit::Str("/")),
            Rule::Set("scheme", Lit::Str("HTTP")),
        ],
    },
    TypeRules {
        ty: "api::core::v1::GRPCAction",
        rules: &[Rule::Set("service", Lit::Str(""))],
    },
    TypeRules {
        ty: "api::core::v1::Volume",
        rules: &[Rule::Fn {
            sets: &[("api::core::v1::Volume", "emptyDir")],
            apply: volume,
        }],
    },
    TypeRules {
        ty: "api::core::v1::ImageVolumeSource",
        rules: &[Rule::Fn {
            sets: &[("api::core::v1::ImageVolumeSource", "pullPolicy")],
            apply: image_volume,
        }],
    },
    TypeRules {
        ty: "api::core::v1::SecretVolumeSource",
        rules: &[Rule::Set("defaultMode", Lit::Int(VOLUME_FILE_MODE))],
    },
    TypeRules {
        ty: "api::core::v1::ConfigMapVolumeSource",
        rules: &[Rule::Set("defaultMode", Lit::Int(VOLUME_FILE_MODE))],
    },
    TypeRules {
        ty: "api::core::v1::DownwardAPIVolumeSource",
        rules: &[Rule::Set("defaultMode", Lit::Int(VOLUME_FILE_MODE))],
    },
    TypeRules {
        ty: "api::core::v1::ProjectedVolumeSource",
        rules: &[Rule::Set("defaultMode", Lit::Int(VOLUME_FILE_MODE))],
    },
    TypeRules {
        ty: "api::core::v1::ServiceAccountTokenProjection",
        rules: &[Rule::Set(
            "expirationSeconds",
            Lit::Int(TOKEN_EXPIRATION_SECONDS),
        )],
    },
    TypeRules {
        ty: "api::core::v1::HostPathVolumeSource",
        rules: &[Rule::Set("type", Lit::Str(""))],
    },
    TypeRules {
        ty: "api::core::v1::ObjectFieldSelector",
        rules: &[Rule::SetNonZero("apiVersion", Lit::Str("v1"))],
    },
    TypeRules {
        ty: "api::core::v1::ISCSIVolumeSource",
        rules: &[Rule::Set("iscsiInterface", Lit::Str("default"))],
    },
    TypeRules {
        ty: "api::core::v1::ISCSIPersistentVolumeSource",
        rules: &[Rule::Set("iscsiInterface", Lit::Str("default"))],
    },
    TypeRules {
        ty: "api::core::v1::RBDVolumeSource",
        rules: RBD,
    },
    TypeRules {
        ty: "api::core::v1::RBDPersistentVolumeSource",
        rules: RBD,
    },
    TypeRules {
        ty: "api::core::v1::AzureDiskVolumeSource",
        rules: &[
            Rule::Set("cachingMode", Lit::Str("ReadWrite")),
            Rule::Set("fsType", Lit::Str("ext4")),
            Rule::Set("readOnly", Lit::Bool(false)),
            Rule::Set("kind", Lit::Str("Shared")),
        ],
    },
    TypeRules {
        ty: "api::core::v1::ScaleIOVolumeSource",
        rules: SCALE_IO,
    },
    TypeRules {
        ty: "api::core::v1::ScaleIOPersistentVolumeSource",
        rules: SCALE_IO,
    },
    TypeRules {
        ty: "api::core::v1::Service",
        rules: &[Rule::Fn {
            sets: &[("api::core::v1::LoadBalancerIngress", "ipMode")],
            apply: service_status,
        }],
    },
    TypeRules {
        ty: "api::core::v1::ServiceSpec",
        rules: &[Rule::Fn {
            sets: &[
                ("api::core::v1::ServiceSpec", "sessionAffinity"),
                ("api::core::v1::ServiceSpec", "sessionAffinityConfig"),
                ("api::core::v1::ClientIPConfig", "timeoutSeconds"),
                ("api::core::v1::ServiceSpec", "type"),
                ("api::core::v1::ServiceSpec", "externalTrafficPolicy"),
                ("api::core::v1::ServiceSpec", "internalTrafficPolicy"),
                (
                    "api::core::v1::ServiceSpec",
                    "allocateLoadBalancerNodePorts",
                ),
            ],
            apply: service_spec,
        }],
    },
    TypeRules {
        ty: "api::core::v1::ServicePort",
        rules: &[
            Rule::Set("protocol", Lit::Str("TCP")),
            Rule::Fn {
                sets: &[("api::core::v1::ServicePort", "targetPort")],
                apply: service_port,
            },
        ],
    },
    TypeRules {
        ty: "api::core::v1::Secret",
        rules: &[Rule::SetNonZero("type", Lit::Str("Opaque"))],
    },
    TypeRules {
        ty: "api::core::v1::PersistentVolume",
        rules: &[Rule::Fn {
            sets: &[("api::core::v1::PersistentVolumeStatus", "phase")],
            apply: |obj| status_phase(obj, "Pending"),
        }],
    },
    TypeRules {
        ty: "api::core::v1::PersistentVolumeSpec",
        rules: &[
            Rule::SetNonZero("persistentVolumeReclaimPolicy", Lit::Str("Retain")),
            Rule::Set("volumeMode", Lit::Str("Filesystem")),
        ],
    },
    TypeRules {
        ty: "api::core::v1::PersistentVolumeClaim",
        rules: &[Rule::Fn {
            sets: &[("api::core::v1::PersistentVolumeClaimStatus", "phase")],
            apply: |obj| status_phase(obj, "Pending"),
        }],
    },
    TypeRules {
        ty: "api::core::v1::PersistentVolumeClaimSpec",
        rules: &[Rule::Set("volumeMode", Lit::Str("Filesystem"))],
    },
    TypeRules {
        ty: "api::core::v1::EndpointPort",
        rules: &[Rule::Set("protocol", Lit::Str("TCP"))],
    },
    TypeRules {
        ty: "api::core::v1::Namespace",
        rules: &[Rule::Fn {
            sets: &[("api::core::v1::NamespaceStatus", "phase")],
            apply: |obj| status_phase(obj, "Active"),
        }],
    },
    TypeRules {
        ty: "api::core::v1::NodeStatus",
        rules: &[Rule::Fn {
            sets: &[("api::core::v1::NodeStatus", "allocatable")],
            apply: node_status,
        }],
    },
    TypeRules {
        ty: "api::core::v1::LimitRangeItem",
        rules: &[Rule::Fn {
            sets: &[
                ("api::core::v1::LimitRangeItem", "default"),
                ("api::core::v1::LimitRangeItem", "defaultRequest"),
            ],
            apply: limit_range_item,
        }],
    },
    TypeRules {
        ty: "api::core::v1::ReplicationController",
        rules: &[Rule::Fn {
            sets: &[
                ("api::core::v1::ReplicationControllerSpec", "selector"),
                ("api::core::v1::ReplicationController", "metadata"),
            ],
            apply: replication_controller,
        }],
    },
    TypeRules {
        ty: "api::core::v1::ReplicationControllerSpec",
        rules: &[Rule::Set("replicas", Lit::Int(1))],
    },
];

const CONTAINER: &[Rule] = &[
    Rule::Fn {
        sets: &[
            ("api::core::v1::Container", "imagePullPolicy"),
            ("api::core::v1::EphemeralContainer", "imagePullPolicy"),
        ],
        apply: container,
    },
    Rule::SetNonZero("terminationMessagePath", Lit::Str("/dev/termination-log")),
    Rule::SetNonZero("terminationMessagePolicy", Lit::Str("File")),
];

const RBD: &[Rule] = &[
    Rule::Set("pool", Lit::Str("rbd")),
    Rule::Set("user", Lit::Str("admin")),
    Rule::Set("keyring", Lit::Str("/etc/ceph/keyring")),
];

const SCALE_IO: &[Rule] = &[
    Rule::Set("storageMode", Lit::Str("ThinProvisioned")),
    Rule::Set("fsType", Lit::Str("xfs")),
];

/// `SetDefaults_Pod`: only a Pod, not a template: requests from limits, service links, host ports.
fn pod(obj: &mut Obj) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let host_network = spec.get("hostNetwork") == Some(&Value::Bool(true));
    for list in ["containers", "initContainers"] {
        let Some(Value::Array(containers)) = spec.get_mut(list) else {
            continue;
        };
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(resources) = c.get_mut("resources").and_then(Value::as_object_mut)
                && let Some(Value::Object(limits)) = resources.get("limits").cloned()
                && let Some(requests) = child(resources, "requests")
            {
                for (k, v) in limits {
                    requests.entry(k).or_insert(v);
                }
            }
            if host_network && let Some(Value::Array(ports)) = c.get_mut("ports") {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    if super::rules::is_zero(p.get("hostPort"))
                        && let Some(cp) = p.get("containerPort").cloned()
                    {
                        p.insert("hostPort".into(), cp);
                    }
                }
            }
        }
    }
    set_nil(spec, "enableServiceLinks", true.into());
}

/// `SetDefaults_Container`: the pull policy follows the image's tag.
fn container(obj: &mut Obj) {
    if str_of(obj, "imagePullPolicy").is_empty() {
        let policy = pull_policy_for(str_of(obj, "image"));
        obj.insert("imagePullPolicy".into(), policy.into());
    }
}

/// `SetDefaults_Volume`: a volume without a source is an emptyDir.
fn volume(obj: &mut Obj) {
    let has_source = obj.iter().any(|(k, v)| k != "name" && !v.is_null());
    if !has_source {
        obj.insert("emptyDir".into(), json!({}));
    }
}

/// `SetDefaults_Volume` for image volumes (feature ImageVolume, on by default in 1.37).
fn image_volume(obj: &mut Obj) {
    if str_of(obj, "pullPolicy").is_empty() {
        let policy = pull_policy_for(str_of(obj, "reference"));
        obj.insert("pullPolicy".into(), policy.into());
    }
}

/// `SetDefaults_Service`'s spec part.
fn service_spec(spec: &mut Obj) {
    if str_of(spec, "sessionAffinity").is_empty() {
        spec.insert("sessionAffinity".into(), "None".into());
    }
    match str_of(spec, "sessionAffinity") {
        "None" => {
            spec.remove("sessionAffinityConfig");
        }
        "ClientIP" => {
            let timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| c.get("timeoutSeconds"));
            if is_nil(timeout) {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": CLIENT_IP_AFFINITY_SECONDS}}),
                );
            }
        }
        _ => {}
    }
    if str_of(spec, "type").is_empty() {
        spec.insert("type".into(), "ClusterIP".into());
    }
    let ty = str_of(spec, "type").to_owned();
    // `service.ExternallyAccessible`: a LoadBalancer, a NodePort, or a ClusterIP with external IPs.
    let external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible =
        ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && external_ips);
    if externally_accessible && str_of(spec, "externalTrafficPolicy").is_empty() {
        spec.insert("externalTrafficPolicy".into(), "Cluster".into());
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_nil(spec, "internalTrafficPolicy", "Cluster".into());
    }
    if ty == "LoadBalancer" {
        set_nil(spec, "allocateLoadBalancerNodePorts", true.into());
    }
}

/// `SetDefaults_Service`'s status part: load-balancer ingress points with an IP are VIPs.
fn service_status(obj: &mut Obj) {
    if obj
        .get("spec")
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        != Some("LoadBalancer")
    {
        return;
    }
    if let Some(Value::Array(ingress)) = obj
        .get_mut("status")
        .and_then(|s| s.get_mut("loadBalancer"))
        .and_then(|l| l.get_mut("ingress"))
    {
        for ing in ingress.iter_mut().filter_map(Value::as_object_mut) {
            if !str_of(ing, "ip").is_empty() {
                set_nil(ing, "ipMode", "VIP".into());
            }
        }
    }
}

/// A Service port without a target port targets its own port number.
fn service_port(port: &mut Obj) {
    let unset = match port.get("targetPort") {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    if unset && let Some(p) = port.get("port").cloned() {
        port.insert("targetPort".into(), p);
    }
}

/// `status.phase` of a PersistentVolume, PersistentVolumeClaim or Namespace.
fn status_phase(obj: &mut Obj, phase: &str) {
    if let Some(status) = child(obj, "status") {
        super::rules::set_zero(status, "phase", phase.into());
    }
}

/// `SetDefaults_NodeStatus`: allocatable is the capacity when not given.
fn node_status(status: &mut Obj) {
    if is_nil(status.get("allocatable"))
        && let Some(capacity) = status.get("capacity").filter(|c| !c.is_null()).cloned()
    {
        status.insert("allocatable".into(), capacity);
    }
}

/// `SetDefaults_LimitRangeItem`: container limits default from max, requests from the default
/// limit, then from min.
fn limit_range_item(item: &mut Obj) {
    if str_of(item, "type") != "Container" {
        return;
    }
    let max = item
        .get("max")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let min = item
        .get("min")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(default) = child(item, "default") else {
        return;
    };
    for (k, v) in max {
        default.entry(k).or_insert(v);
    }
    let default = default.clone();
    let Some(request) = child(item, "defaultRequest") else {
        return;
    };
    for (k, v) in default.into_iter().chain(min) {
        request.entry(k).or_insert(v);
    }
}

/// `SetDefaults_ReplicationController`: selector and labels from the template's labels.
fn replication_controller(obj: &mut Obj) {
    let Some(labels) = obj
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned()
    else {
        return;
    };
    let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && empty(spec.get("selector"))
    {
        spec.insert("selector".into(), labels.clone());
    }
    if let Some(meta) = child(obj, "metadata")
        && empty(meta.get("labels"))
    {
        meta.insert("labels".into(), labels);
    }
}
