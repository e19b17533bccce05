//! Owns the `networking.k8s.io/v1` IPAddress objects kube-apiserver 1.37 keeps for Service cluster
//! IPs (MultiCIDRServiceAllocator, GA: `pkg/registry/core/service/ipallocator/ipallocator.go`):
//! one per address a Service holds, named by the address in canonical form, labelled
//! `ipaddress.kubernetes.io/ip-family` and `ipaddress.kubernetes.io/managed-by:
//! ipallocator.k8s.io`, with `spec.parentRef` naming the Service. It is created when a Service
//! takes an address (the `kubernetes` Service's included) and deleted when the Service lets it go
//! (removed, turned into an ExternalName, single-stacked). An IPAddress a client creates holds its
//! address: a Service asking for it gets kube's 422 `provided IP is already allocated`
//! (`registry::ipalloc` reads both). Dry runs write none.
//!
//! kube allocates before it stores the Service, so a watcher sees the IPAddress first; here it is
//! written at the end of the Service's write (its resourceVersion follows the Service's), like
//! the other server-side writes, before the write returns. A managed IPAddress a client deletes
//! while its Service holds the address is not recreated (kube's repair loop recreates it within
//! minutes): the address stays held by the Service.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{Event, EventKind, Inner};
use crate::meta::{self, meta_str};
use crate::registry::{Family, cluster_ips};

/// The store key of IPAddresses (cluster-scoped).
pub(super) const IP_ADDRESSES_KEY: &str = "networking.k8s.io/ipaddresses";
/// `networkingv1.LabelIPAddressFamily`.
const FAMILY_LABEL: &str = "ipaddress.kubernetes.io/ip-family";
/// `networkingv1.LabelManagedBy` and the allocator's value (`ControllerName`).
const MANAGED_BY_LABEL: &str = "ipaddress.kubernetes.io/managed-by";
const MANAGED_BY: &str = "ipallocator.k8s.io";

/// An address a Service's write took or let go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IpChange {
    ip: IpAddr,
    /// The Service's namespace and name.
    service: (String, String),
    taken: bool,
}

impl Inner {
    /// Queues the addresses a committed change of a Service took and let go.
    pub(super) fn note_service_ips(&mut self, prev: Option<&Value>, now: Option<&Value>) {
        let held = |svc: Option<&Value>| -> BTreeSet<IpAddr> {
            svc.map(cluster_ips)
                .unwrap_or_default()
                .into_iter()
                .collect()
        };
        let (before, after) = (held(prev), held(now));
        let service = |svc: &Value| {
            (
                meta_str(svc, "namespace").to_owned(),
                meta_str(svc, "name").to_owned(),
            )
        };
        if let Some(prev) = prev {
            for ip in before.difference(&after) {
                self.ip_address_queue.push(IpChange {
                    ip: *ip,
                    service: service(prev),
                    taken: false,
                });
            }
        }
        if let Some(now) = now {
            for ip in after.difference(&before) {
                self.ip_address_queue.push(IpChange {
                    ip: *ip,
                    service: service(now),
                    taken: true,
                });
            }
        }
    }

    /// Writes the queued IPAddresses; true when it wrote anything.
    pub(super) fn sync_ip_addresses(&mut self, tx: &broadcast::Sender<Arc<Event>>) -> bool {
        let queued = std::mem::take(&mut self.ip_address_queue);
        let mut wrote = false;
        for change in queued {
            let key = (String::new(), change.ip.to_string());
            let existing = self.get_by_key(IP_ADDRESSES_KEY, &key);
            match (change.taken, existing) {
                (true, None) => {
                    let obj = ip_address(change.ip, &change.service);
                    self.commit(tx, IP_ADDRESSES_KEY, key, obj, EventKind::Added, None);
                    wrote = true;
                }
                (false, Some(old)) if names_service(old.value(), &change.service) => {
                    let value = old.value().clone();
                    self.commit(
                        tx,
                        IP_ADDRESSES_KEY,
                        key,
                        value,
                        EventKind::Deleted,
                        Some(old),
                    );
                    wrote = true;
                }
                _ => {}
            }
        }
        wrote
    }
}

/// The IPAddress the allocator creates for `ip` held by `service`.
fn ip_address(ip: IpAddr, service: &(String, String)) -> Value {
    let family = Family::of_ip(&ip.to_string());
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip.to_string(),
            "uid": meta::new_uid(),
            "creationTimestamp": meta::now(),
            "labels": {FAMILY_LABEL: family.as_str(), MANAGED_BY_LABEL: MANAGED_BY},
        },
        "spec": {"parentRef": {"resource": "services", "namespace": service.0, "name": service.1}},
    })
}

/// Whether an IPAddress is the allocator's for `service` (one a client made stays).
fn names_service(obj: &Value, service: &(String, String)) -> bool {
    let managed = obj
        .pointer("/metadata/labels")
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .and_then(Value::as_str)
        == Some(MANAGED_BY);
    let parent = obj.pointer("/spec/parentRef");
    let field = |f: &str| {
        parent
            .and_then(|p| p.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    managed
        && field("group").is_empty()
        && field("resource") == "services"
        && field("namespace") == service.0
        && field("name") == service.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_is_named_by_the_canonical_address_and_points_at_its_service() {
        let svc = ("default".to_owned(), "web".to_owned());
        let v6: IpAddr = "FD00:10:96:0:0:0:0:A".parse().unwrap();
        let obj = ip_address(v6, &svc);
        assert_eq!(obj["metadata"]["name"], "fd00:10:96::a");
        assert_eq!(
            obj["metadata"]["labels"],
            json!({FAMILY_LABEL: "IPv6", MANAGED_BY_LABEL: MANAGED_BY})
        );
        assert_eq!(
            obj["spec"],
            json!({"parentRef": {"resource": "services", "namespace": "default", "name": "web"}})
        );
        assert!(names_service(&obj, &svc));
        assert!(!names_service(
            &obj,
            &("default".to_owned(), "other".to_owned())
        ));
        let mut mine = obj.clone();
        mine["metadata"]["labels"] = json!({});
        assert!(!names_service(&mine, &svc), "a client's IPAddress stays");
    }
}
