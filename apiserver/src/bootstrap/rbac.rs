//! The default RBAC policy kube-apiserver's post-start hook creates: cluster roles (`cluster-admin`,
//! the aggregated `admin`/`edit`/`view`, the `system:*` roles and the `system:controller:*` roles of
//! kube-controller-manager's controllers), their cluster role bindings, and the Roles and
//! RoleBindings it puts in `kube-system` and `kube-public`. Every object carries the
//! `kubernetes.io/bootstrapping: rbac-defaults` label and the
//! `rbac.authorization.kubernetes.io/autoupdate: "true"` annotation, as kube's.
//!
//! Generated from one table transcribed from `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`
//! (`policy.go`, `controller_policy.go`, `namespace_policy.go`) with kube 1.37's default feature
//! gates; `tests/bootstrap.rs` checks the names against the list recorded from those sources.
//! The aggregated roles get the union of the roles their `aggregationRule` selects, as the
//! clusterrole-aggregation-controller computes it at start-up (later changes are not re-aggregated).
//! Nothing here enforces RBAC: the objects are data for clients and for a future authorizer.

use serde_json::{Value, json};

/// The label on every bootstrap object.
pub const BOOTSTRAP_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");
/// The annotation that lets kube-apiserver reconcile the object at every start.
pub const AUTOUPDATE: (&str, &str) = ("rbac.authorization.kubernetes.io/autoupdate", "true");
/// The prefix of the controller roles; each is bound to the kube-system ServiceAccount of the
/// same name without it.
pub const CONTROLLER_PREFIX: &str = "system:controller:";

/// One policy rule: space-separated verbs, API groups (`-` is the core group ""), resources and
/// resource names, or non-resource URLs.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// verbs, groups, resources
    R(&'static str, &'static str, &'static str),
    /// verbs, groups, resources, resource names
    N(&'static str, &'static str, &'static str, &'static str),
    /// verbs, non-resource URLs
    U(&'static str, &'static str),
}
use Rule::{N, R, U};

/// kube's `Read` verbs.
const READ: &str = "get list watch";
/// kube's `Write` verbs.
const WRITE: &str = "create delete deletecollection patch update";
/// kube's `ReadWrite` verbs.
const READ_WRITE: &str = "get list watch create update patch delete deletecollection";
/// kube's `eventsRule()`: controllers record Events through both APIs.
const EVENTS: Rule = R("create update patch", "- events.k8s.io", "events");

/// A cluster role: name, labels besides the bootstrap label, aggregation label keys, rules.
pub struct RoleDef {
    pub name: &'static str,
    pub labels: &'static [(&'static str, &'static str)],
    /// `aggregationRule.clusterRoleSelectors[].matchLabels` keys (value "true").
    pub aggregates: &'static [&'static str],
    pub rules: &'static [Rule],
}

const TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

const fn role(name: &'static str, rules: &'static [Rule]) -> RoleDef {
    RoleDef {
        name,
        labels: &[],
        aggregates: &[],
        rules,
    }
}

/// Every bootstrap cluster role (policy.go, then controller_policy.go).
pub const CLUSTER_ROLES: &[RoleDef] = &[
    role("cluster-admin", &[R("*", "*", "*"), U("*", "*")]),
    role(
        "system:discovery",
        &[U(
            "get",
            "/livez /readyz /healthz /version /version/ /openapi /openapi/* /api /api/* /apis /apis/*",
        )],
    ),
    role(
        "system:monitoring",
        &[U(
            "get",
            "/metrics /metrics/slis /livez /readyz /healthz /livez/* /readyz/* /healthz/*",
        )],
    ),
    role(
        "system:basic-user",
        &[
            R(
                "create",
                "authorization.k8s.io",
                "selfsubjectaccessreviews selfsubjectrulesreviews",
            ),
            R("create", "authentication.k8s.io", "selfsubjectreviews"),
        ],
    ),
    role(
        "system:public-info-viewer",
        &[U("get", "/livez /readyz /healthz /version /version/")],
    ),
    RoleDef {
        name: "admin",
        labels: &[],
        aggregates: &[TO_ADMIN],
        rules: &[],
    },
    RoleDef {
        name: "edit",
        labels: &[(TO_ADMIN, "true")],
        aggregates: &[TO_EDIT],
        rules: &[],
    },
    RoleDef {
        name: "view",
        labels: &[(TO_EDIT, "true")],
        aggregates: &[TO_VIEW],
        rules: &[],
    },
    RoleDef {
        name: "system:aggregate-to-admin",
        labels: &[(TO_ADMIN, "true")],
        aggregates: &[],
        rules: &[
            R(
                "create",
                "authorization.k8s.io",
                "localsubjectaccessreviews",
            ),
            R(
                READ_WRITE,
                "rbac.authorization.k8s.io",
                "roles rolebindings",
            ),
        ],
    },
    RoleDef {
        name: "system:aggregate-to-edit",
        labels: &[(TO_EDIT, "true")],
        aggregates: &[],
        rules: &[
            R(
                READ,
                "-",
                "pods/attach pods/proxy pods/exec pods/portforward secrets services/proxy",
            ),
            R("impersonate", "-", "serviceaccounts"),
            R(
                WRITE,
                "-",
                "pods pods/attach pods/proxy pods/exec pods/portforward",
            ),
            R("create", "-", "pods/eviction"),
            R(
                WRITE,
                "-",
                "replicationcontrollers replicationcontrollers/scale serviceaccounts services services/proxy persistentvolumeclaims configmaps secrets",
            ),
            R("create", "-", "serviceaccounts/token"),
            R(
                WRITE,
                "apps",
                "statefulsets statefulsets/scale daemonsets deployments deployments/scale deployments/rollback replicasets replicasets/scale",
            ),
            R(WRITE, "autoscaling", "horizontalpodautoscalers"),
            R(WRITE, "batch", "jobs cronjobs"),
            R(
                WRITE,
                "extensions",
                "daemonsets deployments deployments/scale deployments/rollback ingresses replicasets replicasets/scale replicationcontrollers/scale networkpolicies",
            ),
            R(WRITE, "policy", "poddisruptionbudgets"),
            R(WRITE, "networking.k8s.io", "networkpolicies ingresses"),
        ],
    },
    RoleDef {
        name: "system:aggregate-to-view",
        labels: &[(TO_VIEW, "true")],
        aggregates: &[],
        rules: &[
            R(
                READ,
                "-",
                "pods replicationcontrollers replicationcontrollers/scale serviceaccounts services services/status endpoints persistentvolumeclaims persistentvolumeclaims/status configmaps",
            ),
            R(
                READ,
                "-",
                "limitranges resourcequotas bindings events pods/status resourcequotas/status namespaces/status replicationcontrollers/status pods/log",
            ),
            R(READ, "-", "namespaces"),
            R(
                READ,
                "apps",
                "controllerrevisions statefulsets statefulsets/status statefulsets/scale daemonsets daemonsets/status deployments deployments/status deployments/scale replicasets replicasets/status replicasets/scale",
            ),
            R(
                READ,
                "autoscaling",
                "horizontalpodautoscalers horizontalpodautoscalers/status",
            ),
            R(READ, "batch", "jobs cronjobs cronjobs/status jobs/status"),
            R(
                READ,
                "extensions",
                "daemonsets daemonsets/status deployments deployments/scale deployments/status ingresses ingresses/status replicasets replicasets/scale replicasets/status replicationcontrollers/scale networkpolicies",
            ),
            R(
                READ,
                "policy",
                "poddisruptionbudgets poddisruptionbudgets/status",
            ),
            R(
                READ,
                "networking.k8s.io",
                "networkpolicies ingresses ingresses/status",
            ),
        ],
    },
    role(
        "system:heapster",
        &[
            R(READ, "-", "events pods nodes namespaces"),
            R(READ, "extensions", "deployments"),
        ],
    ),
    role(
        "system:node",
        &[
            R("create", "authentication.k8s.io", "tokenreviews"),
            R(
                "create",
                "authorization.k8s.io",
                "subjectaccessreviews localsubjectaccessreviews",
            ),
            R(READ, "-", "services"),
            R("create get list watch", "-", "nodes"),
            R("update patch", "-", "nodes/status"),
            R("update patch", "-", "nodes"),
            R("create update patch", "- events.k8s.io", "events"),
            R(READ, "-", "pods"),
            R("create delete", "-", "pods"),
            R("update patch", "-", "pods/status"),
            R("create", "-", "pods/eviction"),
            R("get", "-", "secrets configmaps"),
            R("get", "-", "persistentvolumeclaims persistentvolumes"),
            R("get", "-", "endpoints"),
            R(
                "create get update patch delete",
                "certificates.k8s.io",
                "certificatesigningrequests",
            ),
            R(
                "get update patch create delete",
                "coordination.k8s.io",
                "leases",
            ),
            R("get", "storage.k8s.io", "volumeattachments"),
            R("create", "-", "serviceaccounts/token"),
            R("update patch", "-", "persistentvolumeclaims/status"),
            R("get", "storage.k8s.io", "csidrivers"),
            R(
                "get create update patch delete",
                "storage.k8s.io",
                "csinodes",
            ),
            R(READ, "node.k8s.io", "runtimeclasses"),
            R("get", "resource.k8s.io", "resourceclaims"),
            R("deletecollection", "resource.k8s.io", "resourceslices"),
        ],
    ),
    role(
        "system:node-problem-detector",
        &[
            R("get", "-", "nodes"),
            R("patch", "-", "nodes/status"),
            EVENTS,
        ],
    ),
    role(
        "system:kubelet-api-admin",
        &[
            R("get list watch", "-", "nodes"),
            R("proxy", "-", "nodes"),
            R(
                "*",
                "-",
                "nodes/proxy nodes/metrics nodes/spec nodes/stats nodes/log",
            ),
        ],
    ),
    role(
        "system:node-bootstrapper",
        &[R(
            "create get list watch",
            "certificates.k8s.io",
            "certificatesigningrequests",
        )],
    ),
    role(
        "system:auth-delegator",
        &[
            R("create", "authentication.k8s.io", "tokenreviews"),
            R("create", "authorization.k8s.io", "subjectaccessreviews"),
        ],
    ),
    role(
        "system:kube-aggregator",
        &[R(READ, "-", "services endpoints")],
    ),
    role(
        "system:kube-controller-manager",
        &[
            EVENTS,
            R("create", "coordination.k8s.io", "leases"),
            N(
                "get update",
                "coordination.k8s.io",
                "leases",
                "kube-controller-manager",
            ),
            R("create", "-", "secrets serviceaccounts"),
            R("delete", "-", "secrets"),
            R("get", "-", "namespaces secrets serviceaccounts configmaps"),
            R("update", "-", "secrets serviceaccounts"),
            R("create", "authentication.k8s.io", "tokenreviews"),
            R("create", "authorization.k8s.io", "subjectaccessreviews"),
            R("list watch", "*", "*"),
            R("create", "-", "serviceaccounts/token"),
        ],
    ),
    role(
        "system:kube-dns",
        &[R("list watch", "-", "endpoints services")],
    ),
    role(
        "system:persistent-volume-provisioner",
        &[
            R("get list watch create delete", "-", "persistentvolumes"),
            R("get list watch update", "-", "persistentvolumeclaims"),
            R(READ, "storage.k8s.io", "storageclasses"),
            R("watch", "-", "events"),
            EVENTS,
        ],
    ),
    role(
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        &[R(
            "create",
            "certificates.k8s.io",
            "certificatesigningrequests/nodeclient",
        )],
    ),
    role(
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        &[R(
            "create",
            "certificates.k8s.io",
            "certificatesigningrequests/selfnodeclient",
        )],
    ),
    role(
        "system:volume-scheduler",
        &[
            R("get list watch update", "-", "persistentvolumes"),
            R(READ, "storage.k8s.io", "storageclasses"),
            R("get list watch update", "-", "persistentvolumeclaims"),
        ],
    ),
    role(
        "system:certificates.k8s.io:legacy-unknown-approver",
        &[N(
            "approve",
            "certificates.k8s.io",
            "signers",
            "kubernetes.io/legacy-unknown",
        )],
    ),
    role(
        "system:certificates.k8s.io:kubelet-serving-approver",
        &[N(
            "approve",
            "certificates.k8s.io",
            "signers",
            "kubernetes.io/kubelet-serving",
        )],
    ),
    role(
        "system:certificates.k8s.io:kube-apiserver-client-approver",
        &[N(
            "approve",
            "certificates.k8s.io",
            "signers",
            "kubernetes.io/kube-apiserver-client",
        )],
    ),
    role(
        "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
        &[N(
            "approve",
            "certificates.k8s.io",
            "signers",
            "kubernetes.io/kube-apiserver-client-kubelet",
        )],
    ),
    role(
        "system:service-account-issuer-discovery",
        &[U(
            "get",
            "/.well-known/openid-configuration /.well-known/openid-configuration/ /openid/v1/jwks /openid/v1/jwks/",
        )],
    ),
    role(
        "system:node-proxier",
        &[
            R("list watch", "-", "services endpoints"),
            R("get list watch", "-", "nodes"),
            EVENTS,
            R("list watch", "discovery.k8s.io", "endpointslices"),
            R("list watch", "networking.k8s.io", "servicecidrs"),
        ],
    ),
    role(
        "system:kube-scheduler",
        &[
            EVENTS,
            R("create", "coordination.k8s.io", "leases"),
            N(
                "get update",
                "coordination.k8s.io",
                "leases",
                "kube-scheduler",
            ),
            R("create", "-", "endpoints"),
            N("get update", "-", "endpoints", "kube-scheduler"),
            R(READ, "-", "nodes"),
            R("get list watch delete", "-", "pods"),
            R("create", "-", "bindings pods/binding"),
            R("patch update", "-", "pods/status"),
            R(READ, "-", "replicationcontrollers services"),
            R(READ, "apps extensions", "replicasets"),
            R(READ, "apps", "statefulsets"),
            R(READ, "policy", "poddisruptionbudgets"),
            R(READ, "-", "persistentvolumeclaims persistentvolumes"),
            R("create", "authentication.k8s.io", "tokenreviews"),
            R("create", "authorization.k8s.io", "subjectaccessreviews"),
            R(READ, "storage.k8s.io", "csinodes"),
            R(READ, "-", "namespaces"),
            R(READ, "storage.k8s.io", "csidrivers csistoragecapacities"),
        ],
    ),
    // controller_policy.go: one role per kube-controller-manager controller.
    role(
        "system:controller:attachdetach-controller",
        &[
            R(
                "list watch",
                "-",
                "persistentvolumes persistentvolumeclaims",
            ),
            R("get list watch", "-", "nodes"),
            R("patch update", "-", "nodes/status"),
            R("list watch", "-", "pods"),
            EVENTS,
            R(
                "get create delete list watch",
                "storage.k8s.io",
                "volumeattachments",
            ),
            R("get watch list", "storage.k8s.io", "csidrivers"),
            R("get watch list", "storage.k8s.io", "csinodes"),
        ],
    ),
    role(
        "system:controller:clusterrole-aggregation-controller",
        &[R(
            "escalate get list watch update patch",
            "rbac.authorization.k8s.io",
            "clusterroles",
        )],
    ),
    role(
        "system:controller:cronjob-controller",
        &[
            R("get list watch update", "batch", "cronjobs"),
            R("get list watch create update delete patch", "batch", "jobs"),
            R("update", "batch", "cronjobs/status"),
            R("update", "batch", "cronjobs/finalizers"),
            R("list delete", "-", "pods"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:daemon-set-controller",
        &[
            R("get list watch", "extensions apps", "daemonsets"),
            R("update", "extensions apps", "daemonsets/status"),
            R("update", "extensions apps", "daemonsets/finalizers"),
            R("list watch", "-", "nodes"),
            R("list watch create delete patch", "-", "pods"),
            R("create", "-", "pods/binding"),
            R(
                "get list watch create delete update patch",
                "apps",
                "controllerrevisions",
            ),
            EVENTS,
        ],
    ),
    role(
        "system:controller:deployment-controller",
        &[
            R("get list watch update", "extensions apps", "deployments"),
            R("update", "extensions apps", "deployments/status"),
            R("update", "extensions apps", "deployments/finalizers"),
            R(
                "get list watch create update patch delete",
                "apps extensions",
                "replicasets",
            ),
            R("get list watch update", "-", "pods"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:disruption-controller",
        &[
            R(READ, "extensions apps", "deployments"),
            R(READ, "apps extensions", "replicasets"),
            R(READ, "-", "replicationcontrollers"),
            R(READ, "policy", "poddisruptionbudgets"),
            R(READ, "apps", "statefulsets"),
            R("update", "policy", "poddisruptionbudgets/status"),
            R("patch update", "-", "pods/status"),
            R("get", "*", "*/scale"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:endpoint-controller",
        &[
            R(READ, "-", "services pods"),
            R("get list create update delete", "-", "endpoints"),
            R("create", "-", "endpoints/restricted"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:endpointslice-controller",
        &[
            R(READ, "-", "services pods nodes"),
            R("update", "-", "services/finalizers"),
            R(
                "get list create update delete",
                "discovery.k8s.io",
                "endpointslices",
            ),
            EVENTS,
        ],
    ),
    role(
        "system:controller:endpointslicemirroring-controller",
        &[
            R(READ, "-", "services endpoints"),
            R("update", "-", "services/finalizers"),
            R("update", "-", "endpoints/finalizers"),
            R(
                "get list create update delete",
                "discovery.k8s.io",
                "endpointslices",
            ),
            EVENTS,
        ],
    ),
    role(
        "system:controller:expand-controller",
        &[
            R("get list watch update patch", "-", "persistentvolumes"),
            R("update patch", "-", "persistentvolumeclaims/status"),
            R(READ, "-", "persistentvolumeclaims"),
            R(READ, "storage.k8s.io", "storageclasses"),
            R("get", "-", "services endpoints"),
            R("get", "-", "secrets"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:ephemeral-volume-controller",
        &[
            R(READ, "-", "pods"),
            R("update", "-", "pods/finalizers"),
            R("get list watch create", "-", "persistentvolumeclaims"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:resource-claim-controller",
        &[
            R(READ, "-", "pods"),
            R("update", "-", "pods/finalizers"),
            R(
                "get list watch create delete",
                "resource.k8s.io",
                "resourceclaims",
            ),
            R(
                "update patch",
                "resource.k8s.io",
                "resourceclaims resourceclaims/status",
            ),
            R("update patch", "-", "pods/status"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:generic-garbage-collector",
        &[R("get list watch patch update delete", "*", "*"), EVENTS],
    ),
    role(
        "system:controller:horizontal-pod-autoscaler",
        &[
            R(READ, "autoscaling", "horizontalpodautoscalers"),
            R("update", "autoscaling", "horizontalpodautoscalers/status"),
            R("get update", "*", "*/scale"),
            R("list", "-", "pods"),
            R("list", "metrics.k8s.io", "pods"),
            R("get list", "custom.metrics.k8s.io", "*"),
            R("get list", "external.metrics.k8s.io", "*"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:job-controller",
        &[
            R("get list watch update patch", "batch", "jobs"),
            R("update", "batch", "jobs/status"),
            R("update", "batch", "jobs/finalizers"),
            R("list watch create delete patch", "-", "pods"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:namespace-controller",
        &[
            R("get list watch delete", "-", "namespaces"),
            R("update", "-", "namespaces/finalize namespaces/status"),
            R("get list delete deletecollection", "*", "*"),
        ],
    ),
    role(
        "system:controller:node-controller",
        &[
            R("get list update delete patch", "-", "nodes"),
            R("patch update", "-", "nodes/status"),
            R("patch update", "-", "pods/status"),
            R("list get delete", "-", "pods"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:persistent-volume-binder",
        &[
            R(
                "get list watch update create delete",
                "-",
                "persistentvolumes",
            ),
            R("update", "-", "persistentvolumes/status"),
            R("get list watch update", "-", "persistentvolumeclaims"),
            R("update", "-", "persistentvolumeclaims/status"),
            R("list watch get create delete", "-", "pods"),
            R(READ, "storage.k8s.io", "storageclasses"),
            R("get create update delete", "-", "endpoints"),
            R("get create delete", "-", "services"),
            R("get", "-", "secrets"),
            R("get list", "-", "nodes"),
            R("watch", "-", "events"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:pod-garbage-collector",
        &[
            R("list watch delete", "-", "pods"),
            R("get list", "-", "nodes"),
            R("patch", "-", "pods/status"),
        ],
    ),
    role(
        "system:controller:replicaset-controller",
        &[
            R("get list watch update", "apps extensions", "replicasets"),
            R("update", "apps extensions", "replicasets/status"),
            R("update", "apps extensions", "replicasets/finalizers"),
            R("list watch patch create delete", "-", "pods"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:replication-controller",
        &[
            R("get list watch update", "-", "replicationcontrollers"),
            R("update", "-", "replicationcontrollers/status"),
            R("update", "-", "replicationcontrollers/finalizers"),
            R("list watch patch create delete", "-", "pods"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:resourcequota-controller",
        &[
            R("list watch", "*", "*"),
            R("update", "-", "resourcequotas/status"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:route-controller",
        &[
            R("list watch", "-", "nodes"),
            R("patch", "-", "nodes/status"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:service-account-controller",
        &[R("create", "-", "serviceaccounts"), EVENTS],
    ),
    role(
        "system:controller:service-controller",
        &[
            R(READ, "-", "services"),
            R("patch update", "-", "services/status"),
            R("list watch", "-", "nodes"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:service-cidrs-controller",
        &[
            R(
                "get list watch patch update",
                "networking.k8s.io",
                "servicecidrs",
            ),
            R(
                "patch update",
                "networking.k8s.io",
                "servicecidrs/finalizers",
            ),
            R("patch update", "networking.k8s.io", "servicecidrs/status"),
            R(READ, "networking.k8s.io", "ipaddresses"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:statefulset-controller",
        &[
            R("list watch", "-", "pods"),
            R(READ, "apps", "statefulsets"),
            R("update", "apps", "statefulsets/status"),
            R("update", "apps", "statefulsets/finalizers"),
            R("get create delete update patch", "-", "pods"),
            R(
                "get create delete update patch list watch",
                "apps",
                "controllerrevisions",
            ),
            R("get create", "-", "persistentvolumeclaims"),
            EVENTS,
            R("update delete", "-", "persistentvolumeclaims"),
        ],
    ),
    role(
        "system:controller:ttl-controller",
        &[R("update patch list watch", "-", "nodes"), EVENTS],
    ),
    role(
        "system:controller:certificate-controller",
        &[
            R(
                "get list watch delete",
                "certificates.k8s.io",
                "certificatesigningrequests",
            ),
            R(
                "update",
                "certificates.k8s.io",
                "certificatesigningrequests/status certificatesigningrequests/approval",
            ),
            N(
                "approve",
                "certificates.k8s.io",
                "signers",
                "kubernetes.io/kube-apiserver-client-kubelet",
            ),
            N(
                "sign",
                "certificates.k8s.io",
                "signers",
                "kubernetes.io/legacy-unknown kubernetes.io/kube-apiserver-client kubernetes.io/kube-apiserver-client-kubelet kubernetes.io/kubelet-serving",
            ),
            R("create", "authorization.k8s.io", "subjectaccessreviews"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:pvc-protection-controller",
        &[
            R("get list watch update", "-", "persistentvolumeclaims"),
            R("list watch get", "-", "pods"),
            EVENTS,
        ],
    ),
    role(
        "system:controller:pv-protection-controller",
        &[R("get list watch update", "-", "persistentvolumes"), EVENTS],
    ),
    role(
        "system:controller:volumeattributesclass-protection-controller",
        &[
            R("list watch get", "-", "persistentvolumeclaims"),
            R("list watch get", "-", "persistentvolumes"),
            R(
                "get list watch update",
                "storage.k8s.io",
                "volumeattributesclasses",
            ),
            EVENTS,
        ],
    ),
    role(
        "system:controller:ttl-after-finished-controller",
        &[R("get list watch delete", "batch", "jobs"), EVENTS],
    ),
    role(
        "system:controller:root-ca-cert-publisher",
        &[R("create update", "-", "configmaps"), EVENTS],
    ),
    role(
        "system:controller:validatingadmissionpolicy-status-controller",
        &[
            R(
                READ,
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies",
            ),
            R(
                "get patch update",
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies/status",
            ),
            EVENTS,
        ],
    ),
    role(
        "system:controller:legacy-service-account-token-cleaner",
        &[
            N(
                "get",
                "-",
                "configmaps",
                "kube-apiserver-legacy-service-account-token-tracking",
            ),
            R("patch delete", "-", "secrets"),
        ],
    ),
    role(
        "system:controller:storage-version-migrator-controller",
        &[
            R("list create patch", "*", "*"),
            R(
                "update",
                "storagemigration.k8s.io",
                "storageversionmigrations/status",
            ),
        ],
    ),
];

/// A subject of a binding: kind ("Group", "User", "ServiceAccount"), name, namespace.
pub type Subject = (&'static str, &'static str, &'static str);

/// The cluster role bindings of policy.go (controller roles get theirs from [`CONTROLLER_PREFIX`]).
pub const CLUSTER_ROLE_BINDINGS: &[(&str, &[Subject])] = &[
    ("cluster-admin", &[("Group", "system:masters", "")]),
    ("system:monitoring", &[("Group", "system:monitoring", "")]),
    ("system:discovery", &[("Group", "system:authenticated", "")]),
    (
        "system:basic-user",
        &[("Group", "system:authenticated", "")],
    ),
    (
        "system:public-info-viewer",
        &[
            ("Group", "system:authenticated", ""),
            ("Group", "system:unauthenticated", ""),
        ],
    ),
    ("system:node-proxier", &[("User", "system:kube-proxy", "")]),
    (
        "system:kube-controller-manager",
        &[("User", "system:kube-controller-manager", "")],
    ),
    (
        "system:kube-dns",
        &[("ServiceAccount", "kube-dns", "kube-system")],
    ),
    (
        "system:kube-scheduler",
        &[("User", "system:kube-scheduler", "")],
    ),
    (
        "system:volume-scheduler",
        &[("User", "system:kube-scheduler", "")],
    ),
    ("system:node", &[]),
    (
        "system:service-account-issuer-discovery",
        &[("Group", "system:serviceaccounts", "")],
    ),
];

/// Namespaced Roles of namespace_policy.go: namespace, name, rules.
pub const ROLES: &[(&str, &str, &[Rule])] = &[
    (
        "kube-system",
        "extension-apiserver-authentication-reader",
        &[N(
            "get list watch",
            "-",
            "configmaps",
            "extension-apiserver-authentication",
        )],
    ),
    (
        "kube-system",
        "system::leader-locking-kube-controller-manager",
        &[
            R("watch", "-", "configmaps"),
            N("get update", "-", "configmaps", "kube-controller-manager"),
        ],
    ),
    (
        "kube-system",
        "system::leader-locking-kube-scheduler",
        &[
            R("watch", "-", "configmaps"),
            N("get update", "-", "configmaps", "kube-scheduler"),
        ],
    ),
    (
        "kube-system",
        "system:controller:bootstrap-signer",
        &[R("get list watch", "-", "secrets")],
    ),
    (
        "kube-system",
        "system:controller:cloud-provider",
        &[R("create get list watch", "-", "configmaps")],
    ),
    (
        "kube-system",
        "system:controller:token-cleaner",
        &[R("delete get list watch", "-", "secrets"), EVENTS],
    ),
    (
        "kube-public",
        "system:controller:bootstrap-signer",
        &[
            R("get list watch", "-", "configmaps"),
            N("update", "-", "configmaps", "cluster-info"),
            EVENTS,
        ],
    ),
];

/// Namespaced RoleBindings of namespace_policy.go: namespace, name, role, subjects.
pub const ROLE_BINDINGS: &[(&str, &str, &str, &[Subject])] = &[
    (
        "kube-system",
        "system::extension-apiserver-authentication-reader",
        "extension-apiserver-authentication-reader",
        &[
            ("User", "system:kube-controller-manager", ""),
            ("User", "system:kube-scheduler", ""),
        ],
    ),
    (
        "kube-system",
        "system::leader-locking-kube-controller-manager",
        "system::leader-locking-kube-controller-manager",
        &[
            ("User", "system:kube-controller-manager", ""),
            ("ServiceAccount", "kube-controller-manager", "kube-system"),
        ],
    ),
    (
        "kube-system",
        "system::leader-locking-kube-scheduler",
        "system::leader-locking-kube-scheduler",
        &[
            ("User", "system:kube-scheduler", ""),
            ("ServiceAccount", "kube-scheduler", "kube-system"),
        ],
    ),
    (
        "kube-system",
        "system:controller:bootstrap-signer",
        "system:controller:bootstrap-signer",
        &[("ServiceAccount", "bootstrap-signer", "kube-system")],
    ),
    (
        "kube-system",
        "system:controller:cloud-provider",
        "system:controller:cloud-provider",
        &[("ServiceAccount", "cloud-provider", "kube-system")],
    ),
    (
        "kube-system",
        "system:controller:token-cleaner",
        "system:controller:token-cleaner",
        &[("ServiceAccount", "token-cleaner", "kube-system")],
    ),
    (
        "kube-public",
        "system:controller:bootstrap-signer",
        "system:controller:bootstrap-signer",
        &[("ServiceAccount", "bootstrap-signer", "kube-system")],
    ),
];

fn words(s: &'static str) -> Vec<&'static str> {
    s.split_whitespace().collect()
}

fn rule_json(r: &Rule) -> Value {
    let groups = |g: &'static str| -> Vec<&'static str> {
        words(g)
            .into_iter()
            .map(|g| if g == "-" { "" } else { g })
            .collect()
    };
    match *r {
        R(verbs, g, res) => {
            json!({"apiGroups": groups(g), "resources": words(res), "verbs": words(verbs)})
        }
        N(verbs, g, res, names) => json!({"apiGroups": groups(g), "resources": words(res),
            "resourceNames": words(names), "verbs": words(verbs)}),
        U(verbs, urls) => json!({"nonResourceURLs": words(urls), "verbs": words(verbs)}),
    }
}

fn meta(name: &str, namespace: Option<&str>, extra_labels: &[(&str, &str)]) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert(BOOTSTRAP_LABEL.0.into(), BOOTSTRAP_LABEL.1.into());
    for (k, v) in extra_labels {
        labels.insert((*k).into(), (*v).into());
    }
    let mut m = json!({
        "name": name,
        "labels": labels,
        "annotations": {AUTOUPDATE.0: AUTOUPDATE.1},
    });
    if let Some(ns) = namespace {
        m["namespace"] = ns.into();
    }
    m
}

fn subjects(list: &[Subject]) -> Value {
    list.iter()
        .map(|(kind, name, ns)| {
            let mut s = json!({"kind": kind, "name": name});
            if *kind == "ServiceAccount" {
                s["namespace"] = (*ns).into();
            } else {
                s["apiGroup"] = "rbac.authorization.k8s.io".into();
            }
            s
        })
        .collect()
}

/// The rules of an aggregated role: its selected roles' rules in role-name order, duplicates
/// dropped (the clusterrole-aggregation-controller's result); selected roles may aggregate too.
fn aggregated_rules(def: &RoleDef) -> Vec<Value> {
    let mut selected: Vec<&RoleDef> = CLUSTER_ROLES
        .iter()
        .filter(|r| {
            r.labels
                .iter()
                .any(|(k, v)| def.aggregates.contains(k) && *v == "true")
        })
        .collect();
    selected.sort_by_key(|r| r.name);
    let mut rules: Vec<Value> = Vec::new();
    for r in selected {
        let theirs = if r.aggregates.is_empty() {
            r.rules.iter().map(rule_json).collect()
        } else {
            aggregated_rules(r)
        };
        for rule in theirs {
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    rules
}

/// Every bootstrap object as (plural, namespace, object), cluster roles first, in table order.
pub fn objects() -> Vec<(&'static str, &'static str, Value)> {
    let mut out = Vec::new();
    for def in CLUSTER_ROLES {
        let mut role = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": meta(def.name, None, def.labels),
        });
        if def.aggregates.is_empty() {
            role["rules"] = def.rules.iter().map(rule_json).collect();
        } else {
            let selectors: Vec<Value> = def
                .aggregates
                .iter()
                .map(|k| json!({"matchLabels": {*k: "true"}}))
                .collect();
            role["aggregationRule"] = json!({"clusterRoleSelectors": selectors});
            role["rules"] = aggregated_rules(def).into();
        }
        out.push(("clusterroles", "", role));
    }
    let binding = |name: &str, subjects_json: Value| {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": meta(name, None, &[]),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": subjects_json,
        })
    };
    for (name, subs) in CLUSTER_ROLE_BINDINGS {
        let mut b = binding(name, subjects(subs));
        if subs.is_empty() {
            // Go's omitempty: system:node is bound to no one (the Node authorizer serves nodes).
            if let Some(m) = b.as_object_mut() {
                m.remove("subjects");
            }
        }
        out.push(("clusterrolebindings", "", b));
    }
    for def in CLUSTER_ROLES {
        if let Some(sa) = def.name.strip_prefix(CONTROLLER_PREFIX) {
            let subject =
                json!([{"kind": "ServiceAccount", "name": sa, "namespace": "kube-system"}]);
            out.push(("clusterrolebindings", "", binding(def.name, subject)));
        }
    }
    for (ns, name, rules) in ROLES {
        out.push((
            "roles",
            *ns,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": meta(name, Some(*ns), &[]),
                "rules": rules.iter().map(rule_json).collect::<Vec<_>>(),
            }),
        ));
    }
    for (ns, name, role_name, subs) in ROLE_BINDINGS {
        out.push((
            "rolebindings",
            *ns,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": meta(name, Some(*ns), &[]),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
                "subjects": subjects(subs),
            }),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_roles_hold_their_selected_roles_rules() {
        let all = objects();
        let get = |name: &str| {
            all.iter()
                .find(|(p, _, o)| *p == "clusterroles" && o["metadata"]["name"] == name)
                .map(|(_, _, o)| o.clone())
                .expect("role")
        };
        let view = get("view");
        let edit = get("edit");
        let admin = get("admin");
        let n = |v: &Value| v["rules"].as_array().map_or(0, Vec::len);
        assert_eq!(
            n(&view),
            CLUSTER_ROLES
                .iter()
                .find(|r| r.name == "system:aggregate-to-view")
                .map_or(0, |r| r.rules.len())
        );
        assert!(n(&edit) > n(&view) && n(&admin) > n(&edit));
        for rule in view["rules"].as_array().expect("rules") {
            assert!(edit["rules"].as_array().expect("rules").contains(rule));
        }
        assert_eq!(
            admin["aggregationRule"],
            json!({"clusterRoleSelectors": [{"matchLabels": {TO_ADMIN: "true"}}]})
        );
        assert_eq!(edit["metadata"]["labels"][TO_ADMIN], "true");
    }
}
