//! Validates objects as kube-apiserver's registry strategies do (`Validate`, `ValidateUpdate`),
//! after decoding and defaulting and before the write is committed.
//!
//! `decode` checks a built-in body against its Go type (400s and unknown fields);
//! `objectmeta` holds the rules every type shares; one module per group (`core/` with a file
//! per type family, `admission`, `apiregistration` (APIServices), `apps`, `autoscaling`,
//! `batch`, `certificates` (and `trust_bundle`, its ClusterTrustBundles), `discovery`,
//! `flowcontrol`, `networking`, `pod_certificate` (PodCertificateRequests), `rbac`, `resource`
//! (the resource.k8s.io DRA types, hand-written and declarative rules), `storage`,
//! `storagemigration`, `others`) holds the per-type rules. The entry points return `Cause`s for
//! the 422
//! Invalid answer; an empty list means valid.
//!
//! `type_create` is the one list of the types with rules of their own; the others get
//! ObjectMeta validation only (`depth` reads the same list).

pub mod admission;
pub mod apiregistration;
pub mod apps;
pub mod autoscaling;
pub mod batch;
pub mod certificates;
pub mod core;
pub mod decode;
pub mod discovery;
pub mod duplicates;
pub mod field;
pub mod flowcontrol;
pub mod job_status;
pub mod networking;
pub mod objectmeta;
pub mod others;
pub mod pod_certificate;
pub mod quantity;
pub mod rbac;
pub mod resource;
pub mod selector;
pub mod storage;
pub mod storagemigration;
pub mod trust_bundle;

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::status::Cause;
use crate::store::Sub;
use objectmeta::NameRule;

/// What the cluster allows, fixed for the life of a server: kube-apiserver's capability flags
/// (`pkg/capabilities`, set once from the command line), which pod validation consults wherever a
/// pod spec is checked, Pods and pod templates alike, on create and on update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `--allow-privileged`: when false, kube refuses a container with `privileged: true`
    /// (`ValidateSecurityContext`) and a pod with Windows HostProcess containers
    /// (`validateWindowsHostProcessPod`). kube-apiserver's own default is false; this server's
    /// is true, as kubeadm and kind start kube-apiserver with `--allow-privileged=true`.
    pub allow_privileged: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allow_privileged: true,
        }
    }
}

/// Where a type's strategy checks ObjectMeta on create, relative to its own rules. kube's
/// generic store (`rest.BeforeCreate`, staging/src/k8s.io/apiserver/pkg/registry/rest/create.go)
/// calls the strategy's `Validate` and returns its errors if there are any; only when it passed
/// does it check ObjectMeta itself (`ValidateObjectMetaAccessor` with
/// `path.ValidatePathSegmentName`), "so that specific error messages are shown whenever possible".
/// `validate_create` does the same for every type; this table says what the strategy's own
/// `Validate` does with ObjectMeta, `name_rule` with which name function.
///
/// Updates have no such table: `rest.BeforeUpdate` (rest/update.go) runs its generic
/// ObjectMeta checks (`validateCommonFields`) before the strategy's `ValidateUpdate` for every
/// type, so ObjectMeta's causes always come first there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetaOrder {
    /// `ValidateObjectMeta(&obj.ObjectMeta, namespaced, <name rule>, "metadata")` first, then the
    /// type's rules: the causes of both, ObjectMeta's first.
    First,
    /// The strategy's `Validate` does not check ObjectMeta (its rules may, as Events' do for
    /// events.k8s.io/v1): ObjectMeta is checked only by the generic store, once the type's rules
    /// passed, with path-segment names.
    Generic,
}

/// How kube's strategy for the type orders ObjectMeta's check (see `MetaOrder`). Every type
/// `type_create` knows, with the kube function each row comes from:
/// - `Generic`: `ValidatePodDisruptionBudget` (pkg/apis/policy/validation/validation.go: the
///   spec only); Events, core and events.k8s.io (`ValidateEventCreate`,
///   pkg/apis/core/validation/events.go: only events.k8s.io/v1 writes check ObjectMeta, after
///   the legacy rules, which `core::event::validate` does itself).
/// - `First`, every other type: pkg/apis/core/validation/validation.go (`ValidatePodCreate` via
///   `validatePodMetadataAndSpec`, `ValidateService`, `ValidateConfigMap`, `ValidateSecret`,
///   `ValidateNamespace`, `ValidateNode`, `ValidateEndpoints`, `ValidatePodTemplate`,
///   `ValidateReplicationController`, `ValidateResourceQuota`, `ValidateLimitRange`,
///   `ValidatePersistentVolume`, `ValidatePersistentVolumeClaim`, `ValidateServiceAccount`),
///   pkg/apis/apps/validation (`ValidateDeployment`, `ValidateReplicaSet`, `ValidateStatefulSet`,
///   `ValidateDaemonSet`, `ValidateControllerRevisionCreate`), pkg/apis/autoscaling
///   (`ValidateHorizontalPodAutoscaler`), pkg/apis/batch (`ValidateJob`, `ValidateCronJobCreate`),
///   pkg/apis/certificates (`validateCertificateSigningRequest`, `ValidateClusterTrustBundle`,
///   `ValidatePodCertificateRequestCreate`), pkg/apis/networking (`ValidateNetworkPolicy`,
///   `ValidateIngressCreate`, `ValidateIngressClass`, `ValidateIPAddress`,
///   `ValidateServiceCIDR`), pkg/apis/storage (`ValidateStorageClass`, `ValidateCSIDriver`,
///   `ValidateCSINode`, `ValidateVolumeAttachment`, `ValidateCSIStorageCapacity`,
///   `ValidateVolumeAttributesClass`), pkg/apis/rbac (`ValidateRole`, `ValidateClusterRole`,
///   `ValidateRoleBinding`, `ValidateClusterRoleBinding`), pkg/apis/discovery
///   (`ValidateEndpointSlice`), pkg/apis/admissionregistration (webhook configurations,
///   `ValidateValidatingAdmissionPolicy`, `...Binding`, `ValidateMutatingAdmissionPolicy`,
///   `ValidateMutatingAdmissionPolicyBinding`), pkg/apis/coordination (`ValidateLease`),
///   pkg/apis/scheduling (`ValidatePriorityClass`), pkg/apis/node (`ValidateRuntimeClass`),
///   pkg/apis/flowcontrol (`ValidateFlowSchema`, `ValidatePriorityLevelConfiguration`),
///   pkg/apis/storagemigration (`ValidateStorageVersionMigration`), kube-aggregator's
///   pkg/apis/apiregistration (`ValidateAPIService`, with its own name rule),
///   pkg/apis/resource (`ValidateResourceClaim`, `ValidateResourceClaimTemplate`,
///   `ValidateResourceSlice`, `ValidateDeviceTaintRule`, and `ValidateDeviceClass`, whose
///   `ValidateObjectMetaWithOpts` leaves the name's format to the declarative rule after the
///   spec's: see `name_rule`).
fn meta_order(group: &str, kind: &str) -> MetaOrder {
    match (group, kind) {
        ("policy", "PodDisruptionBudget") | ("", "Event") | ("events.k8s.io", "Event") => {
            MetaOrder::Generic
        }
        _ => MetaOrder::First,
    }
}

/// The name function the type's strategy passes to `ValidateObjectMeta` (`obj` for the rules
/// that read the object). Irrelevant for `MetaOrder::Generic` types, whose names only the
/// generic store checks (`NameRule::PathSegment`).
fn name_rule<'a>(info: &ResourceInfo, obj: &'a Value) -> NameRule<'a> {
    match (info.group.as_str(), info.kind.as_str()) {
        // `ValidateClusterTrustBundleName(signerName)`.
        ("certificates.k8s.io", "ClusterTrustBundle") => NameRule::ClusterTrustBundle {
            signer: obj
                .pointer("/spec/signerName")
                .and_then(Value::as_str)
                .unwrap_or(""),
        },
        // `ValidateNamespaceName`.
        ("", "Namespace") => NameRule::Label,
        // `ValidateIPAddressName`.
        ("networking.k8s.io", "IPAddress") => NameRule::Ip,
        // `ValidateAPIService`'s own: `<spec.version>.<spec.group>`.
        ("apiregistration.k8s.io", "APIService") => apiregistration::name_rule(obj),
        // `ValidateServiceName` (`NameIsDNS1035Label`).
        ("", "Service") => NameRule::Dns1035,
        // `ValidateRBACName` (`path.IsValidPathSegmentName`).
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        // `ValidateObjectMetaWithOpts` with a name check covered by the declarative
        // `+k8s:format=k8s-long-name` (enforced, so reported after the spec's errors by
        // `resource::class`); the generic store's path-segment check still follows.
        ("resource.k8s.io", "DeviceClass") => NameRule::Any,
        // `ValidateCertificateRequestName` accepts any name; the generic store's path-segment
        // check after the strategy passed is the only one a CSR name gets.
        ("certificates.k8s.io", "CertificateSigningRequest") => NameRule::Any,
        // `NameIsDNSSubdomain` under its per-type names (`ValidatePodName`, `ValidateConfigMapName`,
        // `ValidateFlowSchemaName`, `ValidatePriorityLevelConfigurationName`, ...).
        _ => NameRule::Subdomain,
    }
}

/// Whether this module has rules for the type beyond ObjectMeta (the others get ObjectMeta
/// validation only; listed by a test). Reads `type_create`, the one list.
#[cfg(test)]
pub fn depth(group: &str, kind: &str) -> bool {
    type_create(group, kind, &Value::Null, "", Policy::default()).is_some()
}

/// The type's own create rules (without ObjectMeta); None for a type without rules of its own.
/// Every rule tolerates any JSON (`depth` calls them with null). `api_version` is the one the
/// request came through (only Events' rules depend on it).
fn type_create(
    group: &str,
    kind: &str,
    obj: &Value,
    api_version: &str,
    policy: Policy,
) -> Option<Vec<Cause>> {
    Some(match (group, kind) {
        ("", "Event") => core::event::validate(obj, api_version),
        ("events.k8s.io", "Event") => core::event::validate(obj, "events.k8s.io/v1"),
        ("", "Namespace") => core::namespace::validate(obj),
        ("", "PodTemplate") => core::controller::validate_pod_template(obj, policy),
        ("", "ResourceQuota") => core::quota::validate_resource_quota(obj),
        ("", "LimitRange") => core::quota::validate_limit_range(obj),
        ("", "Endpoints") => core::endpoints::validate(obj),
        ("", "Node") => core::node::validate(obj),
        ("", "ReplicationController") => {
            core::controller::validate_replication_controller(obj, policy)
        }
        ("", "ConfigMap") => core::configmap::validate(obj),
        ("", "Secret") => core::secret::validate(obj),
        ("", "Pod") => core::pod::validate_create(obj, policy),
        ("", "Service") => core::service::validate(obj),
        ("", "PersistentVolume") => core::volume::validate_pv(obj),
        ("", "PersistentVolumeClaim") => core::volume::validate_pvc(obj),
        ("apps", kind @ ("Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")) => {
            apps::validate(kind, obj, policy)
        }
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaling::validate_hpa(obj),
        ("batch", "Job") => batch::validate_job(obj, policy),
        ("batch", "CronJob") => batch::validate_cronjob(obj, policy),
        ("certificates.k8s.io", "CertificateSigningRequest") => certificates::validate(obj),
        ("certificates.k8s.io", "ClusterTrustBundle") => trust_bundle::validate(obj),
        ("certificates.k8s.io", "PodCertificateRequest") => pod_certificate::validate(obj),
        ("apps", "ControllerRevision") => apps::validate_controller_revision(obj),
        ("node.k8s.io", "RuntimeClass") => others::validate_runtime_class(obj),
        ("networking.k8s.io", "IPAddress") => networking::validate_ip_address(obj),
        ("networking.k8s.io", "ServiceCIDR") => networking::validate_service_cidr(obj),
        ("storage.k8s.io", "CSINode") => storage::validate_csi_node(obj),
        ("storage.k8s.io", "CSIStorageCapacity") => storage::validate_csi_storage_capacity(obj),
        ("storage.k8s.io", "VolumeAttributesClass") => {
            storage::validate_volume_attributes_class(obj)
        }
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => rbac::validate_role(obj),
        ("rbac.authorization.k8s.io", "RoleBinding") => rbac::validate_binding(obj, false),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rbac::validate_binding(obj, true),
        ("coordination.k8s.io", "Lease") => others::validate_lease(obj),
        ("policy", "PodDisruptionBudget") => others::validate_pdb(obj),
        ("scheduling.k8s.io", "PriorityClass") => others::validate_priority_class(obj),
        ("networking.k8s.io", "NetworkPolicy") => networking::validate_network_policy(obj),
        ("networking.k8s.io", "Ingress") => networking::validate_ingress(obj),
        ("networking.k8s.io", "IngressClass") => networking::validate_ingress_class(obj),
        ("storage.k8s.io", "StorageClass") => storage::validate_storage_class(obj),
        ("storage.k8s.io", "CSIDriver") => storage::validate_csi_driver(obj),
        ("storage.k8s.io", "VolumeAttachment") => storage::validate_volume_attachment(obj),
        ("discovery.k8s.io", "EndpointSlice") => discovery::validate_endpoint_slice(obj),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            admission::validate_webhook_configuration(obj, false)
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            admission::validate_webhook_configuration(obj, true)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => {
            admission::validate_admission_policy(obj)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            admission::validate_admission_policy_binding(obj)
        }
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy") => {
            admission::validate_mutating_policy(obj)
        }
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding") => {
            admission::validate_mutating_policy_binding(obj)
        }
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => flowcontrol::validate_flow_schema(obj),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => {
            flowcontrol::validate_priority_level(obj)
        }
        ("storagemigration.k8s.io", "StorageVersionMigration") => storagemigration::validate(obj),
        ("apiregistration.k8s.io", "APIService") => apiregistration::validate(obj),
        ("resource.k8s.io", "ResourceClaim") => resource::claim::validate_claim(obj),
        ("resource.k8s.io", "ResourceClaimTemplate") => resource::claim::validate_template(obj),
        ("resource.k8s.io", "DeviceClass") => resource::class::validate_class(obj),
        ("resource.k8s.io", "ResourceSlice") => resource::slice::validate_slice(obj),
        ("resource.k8s.io", "DeviceTaintRule") => resource::taint::validate_rule(obj),
        _ => return None,
    })
}

/// Validation of a new object as `rest.BeforeCreate` does it: the strategy's `Validate` (the
/// type's rules, with ObjectMeta where `meta_order` puts it); then, only if that passed, the
/// generic store's `ValidateObjectMetaAccessor` with path-segment names. `request_version` is
/// the apiVersion the request addressed when it is not `info`'s (an events.k8s.io/v1 write
/// stored as a core Event). `policy` is the server's (`Store::set_policy`).
pub fn validate_create(
    info: &ResourceInfo,
    obj: &Value,
    request_version: Option<&str>,
    policy: Policy,
) -> Vec<Cause> {
    let version = request_version.map_or_else(|| info.api_version(), str::to_owned);
    let own = type_create(&info.group, &info.kind, obj, &version, policy).unwrap_or_default();
    let rule = name_rule(info, obj);
    let (causes, generic_can_fail) = match meta_order(&info.group, &info.kind) {
        MetaOrder::First => {
            let mut causes = objectmeta::validate(obj, info.namespaced, rule);
            if !info.custom && core_object_meta(&info.group, &info.kind) {
                causes.extend(objectmeta::kube_finalizer_names(obj));
            }
            causes.extend(own);
            (causes, matches!(rule, NameRule::Any))
        }
        MetaOrder::Generic => (own, true),
    };
    if !causes.is_empty() || !generic_can_fail {
        // After the strategy's own ObjectMeta check passed, the generic one can only fail on a
        // name that is not a path segment, which every other name rule already refuses: it is
        // not run again.
        return causes;
    }
    // The generic store's check: a CSR's name (any name) and the names of
    // `MetaOrder::Generic` types meet their only rule here.
    objectmeta::validate(obj, info.namespaced, NameRule::PathSegment)
}

/// Validation of a replaced object as `rest.BeforeUpdate` does it: the generic store's
/// ObjectMeta checks first for every type (`validateCommonFields`), then the strategy's
/// `ValidateUpdate` (whose own `ValidateObjectMetaUpdate`, first in most types', repeats
/// causes already listed; not modelled). `sub` is the part written: a write through
/// `pods/ephemeralcontainers` has a strategy of its own (`podEphemeralContainersStrategy`),
/// whose `ValidatePodEphemeralContainersUpdate` checks the pod as on create and leaves the
/// ephemeral containers' own rules to `crate::subresources`; `pods/resize` has
/// `podResizeStrategy`, whose `ValidatePodResize` is `core::pod_resize`; every other pod update is
/// `ValidatePodUpdate`.
///
/// `request_version` and `policy` are as for `validate_create`.
pub fn validate_update(
    info: &ResourceInfo,
    new: &Value,
    old: &Value,
    sub: Sub,
    request_version: Option<&str>,
    policy: Policy,
) -> Vec<Cause> {
    let version = request_version.map_or_else(|| info.api_version(), str::to_owned);
    let mut causes = objectmeta::validate_update(new, old);
    if !info.custom && core_object_meta(&info.group, &info.kind) {
        // The strategy's `ValidateObjectMetaUpdate` is core's wrapper: its finalizer check is
        // the one cause the generic store's did not list already.
        causes.extend(objectmeta::kube_finalizer_names(new));
    }
    causes.extend(match (info.group.as_str(), info.kind.as_str()) {
        ("", "Event") => core::event::validate_update(new, old, &version),
        ("", "ConfigMap") => core::configmap::validate_update(new, old),
        ("", "Secret") => core::secret::validate_update(new, old),
        ("", "Pod") if sub == Sub::EphemeralContainers => core::pod::validate(new, policy),
        ("", "Pod") if sub == Sub::Resize => core::pod_resize::validate_resize(new, old, policy),
        ("", "Namespace") if sub == Sub::Finalize => core::namespace::validate_finalize(new),
        ("", "Pod") => core::pod::validate_update(new, old, policy),
        ("", "Service") => core::service::validate_update(new, old),
        ("", "ResourceQuota") => core::quota::validate_resource_quota_update(new, old),
        // kube's Node strategy runs the create rules, then the update rules.
        ("", "Node") => {
            let mut both = core::node::validate(new);
            both.extend(core::node::validate_update(new, old));
            both
        }
        ("apps", kind @ ("Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")) => {
            apps::validate_update(kind, new, old, policy)
        }
        ("", "PersistentVolume") => core::volume::validate_pv_update(new, old),
        ("", "PersistentVolumeClaim") => core::volume::validate_pvc_update(new, old),
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaling::validate_hpa_update(new, old),
        ("batch", "Job") => batch::validate_job_update(new, old, policy),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            certificates::validate_update(new, old, sub)
        }
        ("certificates.k8s.io", "ClusterTrustBundle") => trust_bundle::validate_update(new, old),
        ("certificates.k8s.io", "PodCertificateRequest") => {
            pod_certificate::validate_update(new, old)
        }
        ("apps", "ControllerRevision") => apps::validate_controller_revision_update(new, old),
        ("node.k8s.io", "RuntimeClass") => others::validate_runtime_class_update(new, old),
        ("networking.k8s.io", "IPAddress") => networking::validate_ip_address_update(new, old),
        ("networking.k8s.io", "ServiceCIDR") => networking::validate_service_cidr_update(new, old),
        ("storage.k8s.io", "CSINode") => storage::validate_csi_node_update(new, old),
        ("storage.k8s.io", "CSIStorageCapacity") => {
            storage::validate_csi_storage_capacity_update(new, old)
        }
        ("storage.k8s.io", "VolumeAttributesClass") => {
            storage::validate_volume_attributes_class_update(new, old)
        }
        ("networking.k8s.io", "Ingress") => networking::validate_ingress_update(new, old),
        ("networking.k8s.io", "IngressClass") => {
            networking::validate_ingress_class_update(new, old)
        }
        ("scheduling.k8s.io", "PriorityClass") => others::validate_priority_class_update(new, old),
        ("storage.k8s.io", "StorageClass") => storage::validate_storage_class_update(new, old),
        ("storage.k8s.io", "CSIDriver") => storage::validate_csi_driver_update(new, old),
        ("storage.k8s.io", "VolumeAttachment") => {
            storage::validate_volume_attachment_update(new, old)
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            discovery::validate_endpoint_slice_update(new, old)
        }
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            rbac::validate_binding_update(new, old, false)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            rbac::validate_binding_update(new, old, true)
        }
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy") => {
            admission::validate_mutating_policy_update(new, old)
        }
        ("storagemigration.k8s.io", "StorageVersionMigration") => {
            storagemigration::validate_update(new, old)
        }
        ("apiregistration.k8s.io", "APIService") => apiregistration::validate_update(new),
        ("resource.k8s.io", "ResourceClaim") => resource::claim::validate_claim_update(new, old),
        ("resource.k8s.io", "ResourceClaimTemplate") => {
            resource::claim::validate_template_update(new, old)
        }
        ("resource.k8s.io", "DeviceClass") => resource::class::validate_class_update(new, old),
        ("resource.k8s.io", "ResourceSlice") => resource::slice::validate_slice_update(new, old),
        ("resource.k8s.io", "DeviceTaintRule") => resource::taint::validate_rule_update(new, old),
        (group, kind) => type_create(group, kind, new, &version, policy).unwrap_or_default(),
    });
    causes
}

/// Validation of a `/status` write: ObjectMeta (the generic store's checks) for every type,
/// then the status rules of the type's status strategy where kube has any, each from the kube
/// function named:
/// - core: a Pod's (`ValidatePodStatusUpdate`: condition types, nominated node, fixed QoS
///   class, container state transitions, resource claim statuses, pod and host IPs, container
///   users, allocated resource statuses), a Service's load balancer
///   (`ValidateServiceStatusUpdate`), a PersistentVolumeClaim's capacities and allocations
///   (`ValidatePersistentVolumeClaimStatusUpdate`), a ReplicationController's replica counts
///   (`ValidateReplicationControllerStatusUpdate`), a Namespace's phase
///   (`ValidateNamespaceStatusUpdate`), a ResourceQuota's status lists, a Node's update rules;
/// - apps: Deployment, ReplicaSet, StatefulSet and DaemonSet counts and collision counts
///   (`ValidateDeploymentStatusUpdate`, `ValidateReplicaSetStatusUpdate`,
///   `ValidateStatefulSetStatusUpdate`, `ValidateDaemonSetStatusUpdate`); batch: a Job's
///   (`ValidateJobUpdateStatus`);
/// - autoscaling: an HPA's replica counts (`ValidateHorizontalPodAutoscalerStatusUpdate`);
///   policy: a PodDisruptionBudget's conditions and counts
///   (`ValidatePodDisruptionBudgetStatusUpdate`); networking: an Ingress's load balancer
///   (`ValidateIngressStatusUpdate`);
/// - a CertificateSigningRequest's whole update rules
///   (`ValidateCertificateSigningRequestStatusUpdate`), a PodCertificateRequest's status rules
///   (`ValidatePodCertificateRequestStatusUpdate`, which checks nothing more once ObjectMeta
///   fails), the FlowSchema and PriorityLevelConfiguration conditions
///   (`ValidateFlowSchemaStatusUpdate`, `ValidatePriorityLevelConfigurationStatusUpdate`), an
///   APIService's condition statuses (`ValidateAPIServiceStatusUpdate`), a
///   StorageVersionMigration's status (`ValidateStorageVersionMigrationStatusUpdate`), a
///   ResourceClaim's (`ValidateResourceClaimStatusUpdate`) and a DeviceTaintRule's conditions
///   (`ValidateDeviceTaintRuleStatusUpdate`).
///
/// A PersistentVolume's status strategy (`ValidatePersistentVolumeStatusUpdate`) checks
/// ObjectMeta and a resourceVersion only, which a status write here always carries.
pub fn validate_status_update(info: &ResourceInfo, new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = objectmeta::validate_update(new, old);
    match (info.group.as_str(), info.kind.as_str()) {
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            causes.extend(certificates::validate_update(new, old, Sub::Status));
        }
        ("", "Namespace") => causes.extend(core::namespace::validate_status_update(new)),
        ("", "ResourceQuota") => {
            causes.extend(core::quota::validate_resource_quota_status_update(new));
        }
        ("", "Node") => causes.extend(core::node::validate_update(new, old)),
        ("", "Pod") => causes.extend(core::pod_status::validate_status_update(new, old)),
        ("", "Service") => causes.extend(core::service::validate_status_update(new)),
        ("", "PersistentVolumeClaim") => {
            causes.extend(core::volume::validate_pvc_status_update(new));
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            causes.extend(autoscaling::validate_hpa_status_update(new));
        }
        ("policy", "PodDisruptionBudget") => causes.extend(others::validate_pdb_status(new)),
        ("networking.k8s.io", "Ingress") => {
            causes.extend(networking::validate_ingress_status_update(new));
        }
        ("certificates.k8s.io", "PodCertificateRequest") if causes.is_empty() => {
            causes.extend(pod_certificate::validate_status_update(new, old));
        }
        ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration") => {
            causes.extend(flowcontrol::validate_status(new));
        }
        ("apiregistration.k8s.io", "APIService") => {
            causes.extend(apiregistration::validate_status(new));
        }
        ("storagemigration.k8s.io", "StorageVersionMigration") => {
            causes.extend(storagemigration::validate_status_update(new, old));
        }
        ("resource.k8s.io", "ResourceClaim") => {
            causes.extend(resource::claim::validate_claim_status_update(new, old));
        }
        ("resource.k8s.io", "DeviceTaintRule") => {
            causes.extend(resource::taint::validate_rule_status_update(new));
        }
        ("apps", "Deployment") => causes.extend(apps::validate_deployment_status_update(new, old)),
        ("apps", "ReplicaSet") | ("", "ReplicationController") => {
            causes.extend(apps::validate_replica_set_status(new));
        }
        ("apps", "StatefulSet") => {
            causes.extend(apps::validate_stateful_set_status_update(new, old));
        }
        ("apps", "DaemonSet") => causes.extend(apps::validate_daemon_set_status_update(new, old)),
        ("batch", "Job") => causes.extend(job_status::validate_job_status_update(new, old)),
        _ => {}
    }
    causes
}

/// Warnings of a create (`old` None) or update (`WarningsOnCreate`/`WarningsOnUpdate`): a
/// custom resource's finalizers (`objectmeta::custom_resource_warnings`); built-in types have
/// none here.
pub fn warnings(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> Vec<String> {
    if info.custom {
        objectmeta::custom_resource_warnings(obj, old)
    } else {
        Vec::new()
    }
}

/// Whether the type's strategy checks ObjectMeta with kube's core wrappers
/// (`ValidateObjectMeta`/`ValidateObjectMetaUpdate` of pkg/apis/core/validation, imported as
/// `apivalidation` or `corevalidation`), which add `validateKubeFinalizerName`
/// (`objectmeta::kube_finalizer_names`) to apimachinery's checks. Read from each group's
/// validation: core (every type but Events, whose `ValidateEventCreate` does it itself for
/// events.k8s.io/v1 writes and not at all for v1 ones), apps, autoscaling, batch, certificates,
/// discovery, networking, rbac (`ValidateRole` ... through pkg/apis/core/validation), scheduling
/// (`ValidatePriorityClass`), storage, resource, flowcontrol (`ValidateFlowSchema`,
/// `ValidatePriorityLevelConfiguration`) and storagemigration (`ValidateStorageVersionMigration`).
/// Not: admissionregistration (webhook configurations and admission policies call
/// `genericvalidation.ValidateObjectMeta`, apimachinery's), coordination (`ValidateLease`),
/// node (`ValidateRuntimeClass`), apiregistration (kube-aggregator's `ValidateAPIService`) and
/// apiextensions (`ValidateCustomResourceDefinition`), all apimachinery's; policy's
/// PodDisruptionBudget strategy checks no ObjectMeta (the generic store's check only); and custom
/// resources (a warning instead, `warnings`).
fn core_object_meta(group: &str, kind: &str) -> bool {
    match group {
        "" => kind != "Event",
        "apps"
        | "autoscaling"
        | "batch"
        | "certificates.k8s.io"
        | "discovery.k8s.io"
        | "networking.k8s.io"
        | "rbac.authorization.k8s.io"
        | "scheduling.k8s.io"
        | "storage.k8s.io"
        | "resource.k8s.io"
        | "flowcontrol.apiserver.k8s.io"
        | "storagemigration.k8s.io" => true,
        _ => false,
    }
}

/// `unknown field "spec.foo"` per unknown field, as kube's strict decoder words them.
fn unknown_fields(unknown: &[String]) -> Vec<String> {
    unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect()
}

/// Decodes a create or update body of a built-in type (kube's `transformDecodeError`: 400
/// `ConfigMap in version "v1" cannot be handled as a ConfigMap: json: ...`), and applies
/// `fieldValidation` to its strict errors — unknown fields, which are dropped, and the body's
/// duplicate fields (`body`, met while reading it): Strict is the same 400 around
/// `strict decoding error: ...` (create.go and update.go pass the strict error to
/// `transformDecodeError` too), Warn returns them as warnings. The decoded object then has the
/// fields its Go struct writes back (`presence`). Custom resources are left to their structural
/// schema.
pub fn decode_body(
    info: &ResourceInfo,
    obj: &mut Value,
    validation: crate::store::FieldValidation,
    body: Option<&crate::store::BodyStrict>,
) -> Result<Vec<String>, crate::ApiError> {
    if info.custom {
        return Ok(Vec::new());
    }
    let decoded = decode::decode(&info.api_version(), &info.kind, obj);
    if let Some(error) = decoded.error {
        return Err(cannot_be_handled(info, &error));
    }
    let listed = match body {
        Some(b) if b.complete => b.errors.clone(),
        Some(b) => [b.errors.clone(), unknown_fields(&decoded.unknown)].concat(),
        None => unknown_fields(&decoded.unknown),
    };
    crate::presence::apply(&info.api_version(), &info.kind, obj);
    strict_errors(info, listed, validation)
}

/// `fieldValidation` applied to the strict errors of a create or update body (`listed`, in the
/// order the decoder met them): Strict is a 400 (`strict decoding error: ...` wrapped as
/// kube's `transformDecodeError` wraps every decode error), Warn returns them as warnings,
/// Ignore drops them.
pub fn strict_errors(
    info: &ResourceInfo,
    listed: Vec<String>,
    validation: crate::store::FieldValidation,
) -> Result<Vec<String>, crate::ApiError> {
    use crate::store::FieldValidation;
    match validation {
        FieldValidation::Strict if !listed.is_empty() => Err(cannot_be_handled(
            info,
            &format!("strict decoding error: {}", listed.join(", ")),
        )),
        FieldValidation::Warn => Ok(listed),
        _ => Ok(Vec::new()),
    }
}

/// kube's `transformDecodeError` of a body that names (or defaults to) the URL's kind.
fn cannot_be_handled(info: &ResourceInfo, error: &str) -> crate::ApiError {
    crate::ApiError::bad_request(format!(
        "{kind} in version {version:?} cannot be handled as a {kind}: {error}",
        kind = info.kind,
        version = info.version
    ))
}

/// Decodes the result of a JSON, merge or strategic merge patch of a built-in type: kube's
/// patch handler answers a decode failure (and Strict unknown fields) with 422 Invalid on the
/// field `patch`, quoting the patched object. `patch_errors` are the strict errors of the patch
/// body itself (its duplicate fields, a JSON patch's unknown operation fields).
pub fn decode_patched(
    info: &ResourceInfo,
    obj: &mut Value,
    validation: crate::store::FieldValidation,
    patch_errors: Vec<String>,
) -> Result<Vec<String>, crate::ApiError> {
    use crate::store::FieldValidation;
    let patched = obj.to_string();
    let decoded = decode::decode(&info.api_version(), &info.kind, obj);
    if decoded.error.is_none() {
        crate::presence::apply(&info.api_version(), &info.kind, obj);
    }
    // The patch body's own strict errors first (`applyJSPatch`, `strategicPatchObject`), then
    // the patched object's; a decode error drops both lists.
    let listed = [patch_errors, unknown_fields(&decoded.unknown)].concat();
    let detail = match (decoded.error, validation) {
        (Some(error), _) => error,
        (None, FieldValidation::Strict) if !listed.is_empty() => {
            format!("strict decoding error: {}", listed.join(", "))
        }
        (None, FieldValidation::Warn) => return Ok(listed),
        (None, _) => return Ok(Vec::new()),
    };
    Err(patch_invalid(&patched, &detail))
}

/// kube's answer to a patch whose result does not decode (or, Strict, has strict errors): 422
/// Invalid on the field `patch`, quoting the patched object (`jsonPatcher` and
/// `applyPatchToObject` in endpoints/handlers/patch.go).
pub fn patch_invalid(patched: &str, detail: &str) -> crate::ApiError {
    crate::ApiError::invalid(
        "",
        "",
        "",
        "",
        vec![field::invalid_str("patch", patched, detail)],
    )
}

/// Converts a server-side apply configuration of a built-in type to its typed form as
/// structured-merge-diff does: any undeclared field or wrong type fails the apply with
/// `failed to create typed patch object (ns/name; /v1, Kind=ConfigMap): .spec.foo: field not
/// declared in schema`, whatever `fieldValidation` says. kube-apiserver answers this with a 500
/// (kubernetes#139253, not fixed yet); it is the client's error, so the answer here is a 400
/// with the same message.
pub fn check_apply(
    info: &ResourceInfo,
    namespace: &str,
    name: &str,
    config: &Value,
) -> Result<(), crate::ApiError> {
    let errors = decode::check_apply(&info.api_version(), &info.kind, config);
    if errors.is_empty() {
        return Ok(());
    }
    let rendered: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    let listed = match rendered.as_slice() {
        [one] => one.clone(),
        many => format!("errors:\n  {}", many.join("\n  ")),
    };
    let ns = config
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(if info.namespaced { namespace } else { "" });
    let name = config
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or(name);
    Err(crate::ApiError::bad_request(format!(
        "failed to create typed patch object ({ns}/{name}; {}/{}, Kind={}): {listed}",
        info.group, info.version, info.kind
    )))
}
#[cfg(test)]
mod drift;

/// What the validation modules' unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::status::Cause;

    /// Each cause as kube's `field.Error.Error()` prints it: `<field>: <message>`.
    pub(crate) fn messages(causes: &[Cause]) -> Vec<String> {
        causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }
}

#[cfg(test)]
mod more_tests {
    use serde_json::json;

    use super::*;

    /// JSON no decoder would let through: the rules of the types added last must not panic.
    fn arbitrary() -> Vec<Value> {
        vec![
            Value::Null,
            json!(1),
            json!("x"),
            json!([null]),
            json!({"spec": null, "data": null, "handler": 1, "overhead": {"podFixed": []},
                "scheduling": {"nodeSelector": 3}, "nodeTopology": "x", "capacity": {},
                "parameters": [1], "driverName": false, "revision": "x"}),
            json!({"spec": {"cidrs": [1, null, "10.0.0.0/8"], "parentRef": {"name": 1},
                "drivers": [null, {"topologyKeys": [1, null], "allocatable": 1}]}}),
            json!({"spec": {"cidrs": ["::ffff:1.2.3.0/120", "010.0.0.0/08", "a/b", "1.2.3.4/99"]},
                "metadata": {"name": "::ffff:1.2.3.4"}}),
        ]
    }

    #[test]
    fn new_rules_tolerate_arbitrary_json() {
        let kinds = [
            ("certificates.k8s.io", "PodCertificateRequest"),
            ("apps", "ControllerRevision"),
            ("node.k8s.io", "RuntimeClass"),
            ("networking.k8s.io", "IPAddress"),
            ("networking.k8s.io", "ServiceCIDR"),
            ("storage.k8s.io", "CSINode"),
            ("storage.k8s.io", "CSIStorageCapacity"),
            ("storage.k8s.io", "VolumeAttributesClass"),
            ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
            ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
            ("storagemigration.k8s.io", "StorageVersionMigration"),
            ("apiregistration.k8s.io", "APIService"),
            ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
            (
                "admissionregistration.k8s.io",
                "MutatingAdmissionPolicyBinding",
            ),
        ];
        for (group, kind) in kinds {
            assert!(depth(group, kind), "{group}/{kind} has rules");
            for a in arbitrary() {
                type_create(group, kind, &a, "", Policy::default());
                for b in arbitrary() {
                    apps::validate_controller_revision_update(&a, &b);
                    others::validate_runtime_class_update(&a, &b);
                    networking::validate_ip_address_update(&a, &b);
                    networking::validate_service_cidr_update(&a, &b);
                    storage::validate_csi_node_update(&a, &b);
                    storage::validate_csi_storage_capacity_update(&a, &b);
                    storage::validate_volume_attributes_class_update(&a, &b);
                    pod_certificate::validate_update(&a, &b);
                    pod_certificate::validate_status_update(&a, &b);
                    storagemigration::validate_update(&a, &b);
                    storagemigration::validate_status_update(&a, &b);
                    admission::validate_mutating_policy_update(&a, &b);
                    apiregistration::validate_update(&a);
                }
            }
        }
    }

    #[test]
    fn strict_ips_and_cidrs_as_kube_words_them() {
        assert!(field::strict_ip("2001:db8::1").is_empty());
        assert_eq!(field::strict_ip("010.1.2.3"), ["must not have leading 0s"]);
        assert_eq!(
            field::strict_ip("::ffff:1.2.3.4"),
            ["must not be an IPv4-mapped IPv6 address"]
        );
        assert_eq!(
            field::strict_ip("2001:0db8::1"),
            ["must be in canonical form (\"2001:db8::1\")"]
        );
        let m = |v: &str| -> Vec<String> {
            field::strict_cidr("c", v)
                .into_iter()
                .map(|c| c.message)
                .collect()
        };
        assert!(m("10.0.0.0/8").is_empty());
        assert!(m("fd00::/108").is_empty());
        assert_eq!(
            m("10.0.0.0/08"),
            ["Invalid value: \"10.0.0.0/08\": must not have leading 0s in IP or prefix length"]
        );
        assert_eq!(
            m("x"),
            [
                "Invalid value: \"x\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
            ]
        );
        assert_eq!(
            m("::ffff:1.2.3.0/120"),
            ["Invalid value: \"::ffff:1.2.3.0/120\": must not have an IPv4-mapped IPv6 address"]
        );
    }
}
