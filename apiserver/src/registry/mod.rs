//! Per-type write rules (kube-apiserver's registry strategies): which [`Strategy`] serves a
//! resource. The rules live in one file per type family; `strategy.rs` has the trait and the
//! generic default.

mod apps;
mod batch;
mod certificates;
mod configmap;
mod ipalloc;
mod namespace;
mod other;
pub(crate) mod pod;
mod secret;
mod service;
mod status_write;
mod strategy;
mod update_policy;
mod warnings;

pub use ipalloc::{
    Allocations, DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, Family, ServiceRanges,
    ServiceRangesError, cluster_ips,
};
pub use status_write::{StatusReset, status_reset, status_write};
pub use strategy::{AllocFailure, Ctx, Strategy};
pub use update_policy::update_policy;

use crate::catalog::ResourceInfo;

/// The strategy of the resource `info` serves.
pub fn strategy_for(info: &ResourceInfo) -> &'static dyn Strategy {
    if info.custom {
        return &strategy::CUSTOM;
    }
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => &pod::Pod,
        ("", "services") => &service::Service,
        ("", "namespaces") => &namespace::Namespace,
        ("", "secrets") => &secret::Secret,
        ("", "configmaps") => &configmap::ConfigMap,
        ("", "replicationcontrollers") => &apps::REPLICATION_CONTROLLER,
        ("apps", "deployments") => &apps::DEPLOYMENT,
        ("apps", "replicasets") => &apps::REPLICA_SET,
        ("apps", "statefulsets") => &apps::STATEFUL_SET,
        ("apps", "daemonsets") => &apps::DAEMON_SET,
        ("batch", "jobs") => &batch::JOB,
        ("batch", "cronjobs") => &batch::CRON_JOB,
        ("certificates.k8s.io", "certificatesigningrequests") => {
            &certificates::CertificateSigningRequest
        }
        ("autoscaling", "horizontalpodautoscalers") => other::hpa(&info.version),
        (group, plural) => other::strategy(group, plural),
    }
}
