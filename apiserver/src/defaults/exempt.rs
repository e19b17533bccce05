//! Fields the Kubernetes API documentation calls defaulted that this server deliberately leaves
//! alone, each with the reason; `tests/defaults_drift.rs` fails on a documented default that is
//! neither here nor in a defaulting table.

/// Go's zero value: an absent field already means it, and kube's defaulters do not write it.
const ZERO: &str = "Go's zero value: absent means the same and kube writes nothing";
/// Read where it is used, not written by the API server.
const RUNTIME: &str = "applied at run time by its consumer (kubelet, container runtime, volume plugin, scheduler or controller); kube-apiserver writes nothing";
/// The text explains what happens when the field is unset; no defaulter sets it.
const UNSET_MEANS: &str =
    "the documentation describes the behaviour when unset; no kube defaulter writes a value";
/// Reported by a controller or the kubelet.
const STATUS: &str = "a status field its controller or the kubelet reports";
/// Written by the CRD registry.
const CRD: &str =
    "written by the CRD registry (apiserver/src/crd.rs default_crd), not these tables";

/// (type, JSON field, why it is not defaulted here).
pub const NOT_DEFAULTED: &[(&str, &str, &str)] = &[
    (
        "api::authentication::v1::TokenReviewSpec",
        "audiences",
        "empty means the API server's own audiences when the token is checked (TokenReview's REST handler); the spec is never rewritten",
    ),
    ("api::storage::v1::TokenRequest", "audience", RUNTIME),
    (
        "api::authorization::v1::LocalSubjectAccessReview",
        "spec",
        "the doc's default is metadata.namespace, taken from the request path by the review's REST handler; spec is never rewritten, and spec.resourceAttributes.namespace must equal it (422, kube's ValidateLocalSubjectAccessReview)",
    ),
    (
        "api::authorization::v1::ResourceAttributes",
        "namespace",
        "empty is read by the authorizer as all namespaces (SubjectAccessReview) and must match metadata.namespace in a LocalSubjectAccessReview; reviews are answered, never stored or rewritten",
    ),
    ("api::apps::v1::DaemonSetSpec", "minReadySeconds", ZERO),
    ("api::apps::v1::DeploymentSpec", "minReadySeconds", ZERO),
    ("api::apps::v1::ReplicaSetSpec", "minReadySeconds", ZERO),
    ("api::apps::v1::StatefulSetSpec", "minReadySeconds", ZERO),
    (
        "api::core::v1::ReplicationControllerSpec",
        "minReadySeconds",
        ZERO,
    ),
    ("api::apps::v1::StatefulSetOrdinals", "start", ZERO),
    (
        "api::apps::v1::DeploymentStatus",
        "terminatingReplicas",
        STATUS,
    ),
    (
        "api::apps::v1::ReplicaSetStatus",
        "terminatingReplicas",
        STATUS,
    ),
    ("api::core::v1::ContainerStatus", "ready", STATUS),
    (
        "api::apps::v1::ReplicaSet",
        "metadata",
        "apps/v1's SetDefaults_ReplicaSet sets only replicas; the label copy is extensions/v1beta1's",
    ),
    (
        "api::apps::v1::RollingUpdateStatefulSetStrategy",
        "maxUnavailable",
        "kube's SetDefaults_StatefulSet (pkg/apis/apps/v1/defaults.go, read) does not write it; the StatefulSet controller treats nil as 1",
    ),
    (
        "api::autoscaling::v2::HPAScalingRules",
        "tolerance",
        RUNTIME,
    ),
    ("api::batch::v1::CronJobSpec", "timeZone", RUNTIME),
    ("api::batch::v1::JobSpec", "scheduling", UNSET_MEANS),
    (
        "api::batch::v1::SuccessPolicyRule",
        "succeededCount",
        UNSET_MEANS,
    ),
    (
        "api::batch::v1::SuccessPolicyRule",
        "succeededIndexes",
        UNSET_MEANS,
    ),
    (
        "api::core::v1::AWSElasticBlockStoreVolumeSource",
        "partition",
        RUNTIME,
    ),
    (
        "api::core::v1::GCEPersistentDiskVolumeSource",
        "partition",
        RUNTIME,
    ),
    (
        "api::core::v1::AzureFilePersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    (
        "api::core::v1::AzureFilePersistentVolumeSource",
        "secretNamespace",
        RUNTIME,
    ),
    ("api::core::v1::AzureFileVolumeSource", "readOnly", ZERO),
    ("api::core::v1::CSIPersistentVolumeSource", "readOnly", ZERO),
    ("api::core::v1::CSIVolumeSource", "readOnly", ZERO),
    (
        "api::core::v1::CephFSPersistentVolumeSource",
        "path",
        RUNTIME,
    ),
    (
        "api::core::v1::CephFSPersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    (
        "api::core::v1::CephFSPersistentVolumeSource",
        "secretFile",
        RUNTIME,
    ),
    (
        "api::core::v1::CephFSPersistentVolumeSource",
        "secretRef",
        ZERO,
    ),
    (
        "api::core::v1::CephFSPersistentVolumeSource",
        "user",
        RUNTIME,
    ),
    ("api::core::v1::CephFSVolumeSource", "path", RUNTIME),
    ("api::core::v1::CephFSVolumeSource", "readOnly", ZERO),
    ("api::core::v1::CephFSVolumeSource", "secretFile", RUNTIME),
    ("api::core::v1::CephFSVolumeSource", "secretRef", ZERO),
    ("api::core::v1::CephFSVolumeSource", "user", RUNTIME),
    (
        "api::core::v1::CinderPersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    ("api::core::v1::CinderVolumeSource", "readOnly", ZERO),
    ("api::core::v1::ConfigMap", "immutable", ZERO),
    ("api::core::v1::Secret", "immutable", ZERO),
    (
        "api::core::v1::ConfigMapVolumeSource",
        "defaultUser",
        RUNTIME,
    ),
    (
        "api::core::v1::DownwardAPIVolumeSource",
        "defaultUser",
        RUNTIME,
    ),
    (
        "api::core::v1::ProjectedVolumeSource",
        "defaultUser",
        RUNTIME,
    ),
    ("api::core::v1::SecretVolumeSource", "defaultUser", RUNTIME),
    ("api::core::v1::Container", "stdin", ZERO),
    ("api::core::v1::Container", "stdinOnce", ZERO),
    ("api::core::v1::Container", "tty", ZERO),
    ("api::core::v1::EphemeralContainer", "stdin", ZERO),
    ("api::core::v1::EphemeralContainer", "stdinOnce", ZERO),
    ("api::core::v1::EphemeralContainer", "tty", ZERO),
    (
        "api::core::v1::ContainerResizePolicy",
        "restartPolicy",
        RUNTIME,
    ),
    ("api::core::v1::EmptyDirVolumeSource", "medium", ZERO),
    ("api::core::v1::EmptyDirVolumeSource", "mode", RUNTIME),
    ("api::core::v1::EmptyDirVolumeSource", "sizeLimit", ZERO),
    ("api::core::v1::EnvVar", "value", ZERO),
    ("api::core::v1::FCVolumeSource", "readOnly", ZERO),
    (
        "api::core::v1::FlexPersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    ("api::core::v1::FlexVolumeSource", "readOnly", ZERO),
    (
        "api::core::v1::GCEPersistentDiskVolumeSource",
        "readOnly",
        ZERO,
    ),
    (
        "api::core::v1::GlusterfsPersistentVolumeSource",
        "endpointsNamespace",
        RUNTIME,
    ),
    (
        "api::core::v1::GlusterfsPersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    ("api::core::v1::GlusterfsVolumeSource", "readOnly", ZERO),
    ("api::core::v1::HTTPGetAction", "host", RUNTIME),
    ("api::core::v1::HTTPGetAction", "protocol", RUNTIME),
    ("api::core::v1::TCPSocketAction", "host", RUNTIME),
    (
        "api::core::v1::ISCSIPersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    ("api::core::v1::ISCSIVolumeSource", "readOnly", ZERO),
    ("api::core::v1::Lifecycle", "stopSignal", RUNTIME),
    ("api::core::v1::LocalVolumeSource", "fsType", RUNTIME),
    ("api::core::v1::NFSVolumeSource", "readOnly", ZERO),
    ("api::core::v1::NodeSpec", "unschedulable", ZERO),
    ("api::core::v1::PodAffinityTerm", "matchLabelKeys", ZERO),
    ("api::core::v1::PodAffinityTerm", "mismatchLabelKeys", ZERO),
    ("api::core::v1::PodSecurityContext", "runAsUser", RUNTIME),
    ("api::core::v1::SecurityContext", "runAsUser", RUNTIME),
    ("api::core::v1::SecurityContext", "capabilities", RUNTIME),
    ("api::core::v1::SecurityContext", "procMount", RUNTIME),
    ("api::core::v1::SecurityContext", "privileged", ZERO),
    (
        "api::core::v1::SecurityContext",
        "readOnlyRootFilesystem",
        ZERO,
    ),
    (
        "api::core::v1::WindowsSecurityContextOptions",
        "runAsUserName",
        RUNTIME,
    ),
    ("api::core::v1::PodSpec", "hostIPC", ZERO),
    ("api::core::v1::PodSpec", "hostNetwork", ZERO),
    ("api::core::v1::PodSpec", "hostPID", ZERO),
    ("api::core::v1::PodSpec", "setHostnameAsFQDN", ZERO),
    ("api::core::v1::PodSpec", "shareProcessNamespace", ZERO),
    ("api::core::v1::PodSpec", "hostUsers", RUNTIME),
    (
        "api::core::v1::PodSpec",
        "preemptionPolicy",
        "set by the Priority admission plugin from the PriorityClass; this server runs no admission plugins",
    ),
    ("api::core::v1::PortworxVolumeSource", "readOnly", ZERO),
    ("api::core::v1::QuobyteVolumeSource", "group", RUNTIME),
    ("api::core::v1::QuobyteVolumeSource", "readOnly", ZERO),
    ("api::core::v1::QuobyteVolumeSource", "user", RUNTIME),
    ("api::core::v1::RBDPersistentVolumeSource", "readOnly", ZERO),
    (
        "api::core::v1::RBDPersistentVolumeSource",
        "secretRef",
        ZERO,
    ),
    ("api::core::v1::RBDVolumeSource", "readOnly", ZERO),
    ("api::core::v1::RBDVolumeSource", "secretRef", ZERO),
    ("api::core::v1::ResourceFieldSelector", "divisor", RUNTIME),
    (
        "api::core::v1::ScaleIOPersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    ("api::core::v1::ScaleIOVolumeSource", "readOnly", ZERO),
    (
        "api::core::v1::ServiceAccountTokenProjection",
        "audience",
        RUNTIME,
    ),
    (
        "api::core::v1::StorageOSPersistentVolumeSource",
        "readOnly",
        ZERO,
    ),
    ("api::core::v1::StorageOSVolumeSource", "readOnly", ZERO),
    ("api::core::v1::Toleration", "operator", UNSET_MEANS),
    (
        "api::core::v1::Toleration",
        "tolerationSeconds",
        UNSET_MEANS,
    ),
    (
        "api::core::v1::TopologySpreadConstraint",
        "matchLabelKeys",
        UNSET_MEANS,
    ),
    (
        "api::core::v1::TopologySpreadConstraint",
        "maxSkew",
        "a required field: validation answers its absence, no defaulter writes 1",
    ),
    ("api::core::v1::VolumeMount", "mountPropagation", RUNTIME),
    ("api::core::v1::VolumeMount", "readOnly", ZERO),
    ("api::core::v1::VolumeMount", "recursiveReadOnly", RUNTIME),
    ("api::core::v1::VolumeMount", "subPath", ZERO),
    ("api::core::v1::VolumeMount", "subPathExpr", ZERO),
    (
        "api::core::v1::VolumeResourceRequirements",
        "requests",
        "text shared with container resources; no defaulter copies a PVC's limits into its requests",
    ),
    ("api::networking::v1::IngressTLS", "hosts", RUNTIME),
    (
        "api::networking::v1::NetworkPolicySpec",
        "egress",
        UNSET_MEANS,
    ),
    (
        "api::networking::v1::NetworkPolicySpec",
        "ingress",
        UNSET_MEANS,
    ),
    ("api::resource::v1::DeviceSubRequest", "capacity", RUNTIME),
    ("api::resource::v1::ExactDeviceRequest", "capacity", RUNTIME),
    (
        "api::resource::v1::DeviceToleration",
        "tolerationSeconds",
        UNSET_MEANS,
    ),
    (
        "api::storage::v1::CSIDriverSpec",
        "preventPodSchedulingIfMissing",
        "needs the VolumeLimitScaling feature gate, off by default in 1.37",
    ),
    (
        "api::storage::v1::CSIDriverSpec",
        "seLinuxMount",
        "kube's SetDefaults_CSIDriver (pkg/apis/storage/v1/defaults.go, read) does not write it; absent means false",
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionNames",
        "listKind",
        CRD,
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionNames",
        "singular",
        CRD,
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionVersion",
        "deprecated",
        ZERO,
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceSubresourceScale",
        "labelSelectorPath",
        RUNTIME,
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceSubresourceScale",
        "statusReplicasPath",
        RUNTIME,
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps",
        "default",
        "the field is itself the default of a schema property, applied to custom resources (crd-schema)",
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps",
        "x-kubernetes-list-type",
        UNSET_MEANS,
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::ValidationRule",
        "reason",
        RUNTIME,
    ),
    (
        "apiextensions_apiserver::pkg::apis::apiextensions::v1::ValidationRule",
        "rule",
        "not a default: the text says what oldSelf means by default",
    ),
    (
        "apimachinery::pkg::apis::meta::v1::OwnerReference",
        "blockOwnerDeletion",
        ZERO,
    ),
];
