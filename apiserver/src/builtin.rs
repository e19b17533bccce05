//! Lists the built-in resource types a Kubernetes 1.37 API server serves, read from k8s-openapi's `Resource` impls.
//!
//! Only the type paths and whether a type has a `.status` field are written here; group, version, kind,
//! list kind, plural and scope come from the `k8s_openapi::Resource`/`ListableResource` constants, so a
//! k8s-openapi upgrade cannot silently disagree with this table. Alpha and beta versions are left out,
//! as a fresh kube-apiserver serves only GA versions by default. The list was produced by scanning
//! k8s-openapi 0.29's `v1_37` module for `ListableResource` impls in `v<N>` modules.

use k8s_openapi::schemars::{JsonSchema, Schema, SchemaGenerator};
use k8s_openapi::{ClusterResourceScope, ListableResource, NamespaceResourceScope, Resource};

/// A built-in resource type as the catalogue needs it.
#[derive(Debug, Clone)]
pub struct BuiltinType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// The type has a `.status` field, so it gets a `/status` subresource.
    pub status: bool,
    /// The verbs kube-apiserver serves for it.
    pub verbs: &'static [&'static str],
    /// Adds the type's OpenAPI schema (k8s-openapi's, with kube-apiserver's definition names and
    /// field descriptions) and every schema it refers to to a generator; returns the `$ref` to it.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

/// Maps a k8s-openapi scope marker type to "is namespaced".
trait Scope {
    const NAMESPACED: bool;
}
impl Scope for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl Scope for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

fn subschema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

fn builtin<T>(status: bool) -> BuiltinType
where
    T: Resource + ListableResource + JsonSchema,
    T::Scope: Scope,
{
    BuiltinType {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        list_kind: T::LIST_KIND,
        plural: T::URL_PATH_SEGMENT,
        namespaced: <T::Scope as Scope>::NAMESPACED,
        status,
        verbs: verbs(T::GROUP, T::URL_PATH_SEGMENT),
        schema: subschema::<T>,
    }
}

/// A type kube-apiserver only accepts creates of and never stores (TokenReview, the access
/// reviews, Binding): no list kind.
fn create_only<T>() -> BuiltinType
where
    T: Resource + JsonSchema,
    T::Scope: Scope,
{
    BuiltinType {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        list_kind: "",
        plural: T::URL_PATH_SEGMENT,
        namespaced: <T::Scope as Scope>::NAMESPACED,
        status: false,
        verbs: CREATE_ONLY,
        schema: subschema::<T>,
    }
}

/// The verbs of a create-only resource.
pub const CREATE_ONLY: &[&str] = &["create"];
/// The verbs of a read-only resource computed by the server (ComponentStatus).
pub const READ_ONLY: &[&str] = &["get", "list"];

/// The verbs of a built-in resource (every verb but for the computed, read-only ones).
pub fn verbs(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "componentstatuses") => READ_ONLY,
        _ => crate::catalog::VERBS,
    }
}

macro_rules! builtins {
    ($($path:path => $status:expr,)*) => {
        /// Every built-in GA resource type, in k8s-openapi module order, then the create-only ones.
        pub fn builtin_types() -> Vec<BuiltinType> {
            use k8s_openapi::*;
            let mut types = vec![$(builtin::<$path>($status),)*];
            types.push(create_only::<api::authentication::v1::TokenReview>());
            types.push(create_only::<api::authentication::v1::SelfSubjectReview>());
            types.push(create_only::<api::authorization::v1::LocalSubjectAccessReview>());
            types.push(create_only::<api::authorization::v1::SelfSubjectAccessReview>());
            types.push(create_only::<api::authorization::v1::SelfSubjectRulesReview>());
            types.push(create_only::<api::authorization::v1::SubjectAccessReview>());
            // The legacy `bindings` resource (kube's LegacyBindingREST), served by `pods/binding`'s
            // handler.
            types.push(create_only::<api::core::v1::Binding>());
            types
        }
    };
}

builtins! {
    api::admissionregistration::v1::MutatingAdmissionPolicy => false,
    api::admissionregistration::v1::MutatingAdmissionPolicyBinding => false,
    api::admissionregistration::v1::MutatingWebhookConfiguration => false,
    api::admissionregistration::v1::ValidatingAdmissionPolicy => true,
    api::admissionregistration::v1::ValidatingAdmissionPolicyBinding => false,
    api::admissionregistration::v1::ValidatingWebhookConfiguration => false,
    api::apps::v1::ControllerRevision => false,
    api::apps::v1::DaemonSet => true,
    api::apps::v1::Deployment => true,
    api::apps::v1::ReplicaSet => true,
    api::apps::v1::StatefulSet => true,
    api::autoscaling::v1::HorizontalPodAutoscaler => true,
    api::autoscaling::v2::HorizontalPodAutoscaler => true,
    api::batch::v1::CronJob => true,
    api::batch::v1::Job => true,
    api::certificates::v1::CertificateSigningRequest => true,
    api::certificates::v1::ClusterTrustBundle => false,
    api::certificates::v1::PodCertificateRequest => true,
    api::coordination::v1::Lease => false,
    api::core::v1::ComponentStatus => false,
    api::core::v1::ConfigMap => false,
    api::core::v1::Endpoints => false,
    api::core::v1::Event => false,
    api::core::v1::LimitRange => false,
    api::core::v1::Namespace => true,
    api::core::v1::Node => true,
    api::core::v1::PersistentVolume => true,
    api::core::v1::PersistentVolumeClaim => true,
    api::core::v1::Pod => true,
    api::core::v1::PodTemplate => false,
    api::core::v1::ReplicationController => true,
    api::core::v1::ResourceQuota => true,
    api::core::v1::Secret => false,
    api::core::v1::Service => true,
    api::core::v1::ServiceAccount => false,
    api::discovery::v1::EndpointSlice => false,
    api::events::v1::Event => false,
    api::flowcontrol::v1::FlowSchema => true,
    api::flowcontrol::v1::PriorityLevelConfiguration => true,
    api::networking::v1::IPAddress => false,
    api::networking::v1::Ingress => true,
    api::networking::v1::IngressClass => false,
    api::networking::v1::NetworkPolicy => false,
    api::networking::v1::ServiceCIDR => true,
    api::node::v1::RuntimeClass => false,
    api::policy::v1::PodDisruptionBudget => true,
    api::rbac::v1::ClusterRole => false,
    api::rbac::v1::ClusterRoleBinding => false,
    api::rbac::v1::Role => false,
    api::rbac::v1::RoleBinding => false,
    api::resource::v1::DeviceClass => false,
    api::resource::v1::DeviceTaintRule => true,
    api::resource::v1::ResourceClaim => true,
    api::resource::v1::ResourceClaimTemplate => false,
    api::resource::v1::ResourceSlice => false,
    api::scheduling::v1::PriorityClass => false,
    api::storage::v1::CSIDriver => false,
    api::storage::v1::CSINode => true,
    api::storage::v1::CSIStorageCapacity => false,
    api::storage::v1::StorageClass => false,
    api::storage::v1::VolumeAttachment => true,
    api::storage::v1::VolumeAttributesClass => false,
    api::storagemigration::v1::StorageVersionMigration => true,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition => true,
    kube_aggregator::pkg::apis::apiregistration::v1::APIService => true,
}

/// Short names kubectl users type (`po`, `deploy`, ...); k8s-openapi does not carry them.
pub fn short_names(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods") => &["po"],
        ("", "services") => &["svc"],
        ("", "namespaces") => &["ns"],
        ("", "configmaps") => &["cm"],
        ("", "serviceaccounts") => &["sa"],
        ("", "nodes") => &["no"],
        ("", "persistentvolumes") => &["pv"],
        ("", "persistentvolumeclaims") => &["pvc"],
        ("", "endpoints") => &["ep"],
        ("", "events") => &["ev"],
        ("", "limitranges") => &["limits"],
        ("", "replicationcontrollers") => &["rc"],
        ("", "resourcequotas") => &["quota"],
        ("", "componentstatuses") => &["cs"],
        ("apps", "deployments") => &["deploy"],
        ("apps", "daemonsets") => &["ds"],
        ("apps", "replicasets") => &["rs"],
        ("apps", "statefulsets") => &["sts"],
        ("autoscaling", "horizontalpodautoscalers") => &["hpa"],
        ("batch", "cronjobs") => &["cj"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["csr"],
        ("events.k8s.io", "events") => &["ev"],
        ("networking.k8s.io", "ingresses") => &["ing"],
        ("networking.k8s.io", "networkpolicies") => &["netpol"],
        ("policy", "poddisruptionbudgets") => &["pdb"],
        ("scheduling.k8s.io", "priorityclasses") => &["pc"],
        ("storage.k8s.io", "storageclasses") => &["sc"],
        ("apiextensions.k8s.io", "customresourcedefinitions") => &["crd", "crds"],
        _ => &[],
    }
}

/// Fields besides metadata.name/namespace that kube-apiserver lets a field selector use for a
/// built-in type (the `GetAttrs`/`SelectableFields` of each registry strategy).
pub fn selectable_fields(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "events") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reportingController",
            "reason",
            "source",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "replicationcontrollers") => &["status.replicas"],
        ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    }
}

/// Discovery categories (`kubectl get all` uses `all`).
pub fn categories(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods" | "services" | "replicationcontrollers")
        | ("apps", "deployments" | "daemonsets" | "replicasets" | "statefulsets")
        | ("autoscaling", "horizontalpodautoscalers")
        | ("batch", "jobs" | "cronjobs") => &["all"],
        ("apiextensions.k8s.io", "customresourcedefinitions")
        | ("apiregistration.k8s.io", "apiservices")
        | ("admissionregistration.k8s.io", _) => &["api-extensions"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_and_crds_come_from_k8s_openapi() {
        let all = builtin_types();
        let pod = all
            .iter()
            .find(|t| t.kind == "Pod")
            .expect("pods are built in");
        assert_eq!(
            (
                pod.group,
                pod.version,
                pod.plural,
                pod.namespaced,
                pod.status
            ),
            ("", "v1", "pods", true, true)
        );
        let crd = all
            .iter()
            .find(|t| t.kind == "CustomResourceDefinition")
            .expect("CRDs are built in");
        assert_eq!(
            (crd.group, crd.namespaced, crd.status),
            ("apiextensions.k8s.io", false, true)
        );
        assert!(
            all.iter()
                .all(|t| !t.version.contains("alpha") && !t.version.contains("beta"))
        );
    }
}
