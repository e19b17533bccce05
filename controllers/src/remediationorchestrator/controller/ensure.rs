//! Owns a request's children as objects: creating a child or finding the one an earlier reconcile
//! created, telling ours from another controller's, and reading a child by its reference.

use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::ObjectReference;
use crate::remediationorchestrator::children;

use super::{Error, HTTP_CONFLICT, Rc};

/// A child created, found ours, or found under another controller.
pub(super) enum Ensured<K> {
    Ours(K),
    Foreign(K),
}

impl Rc<'_> {
    /// Creates `desired` (a child of the request), or finds the existing one and whether it is
    /// ours: AlreadyExists is the normal answer when an earlier reconcile created it but its
    /// status write did not land.
    pub(super) async fn ensure<K>(&self, desired: K) -> Result<Ensured<K>, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        let kind = K::kind(&()).into_owned();
        let name = desired.name_any();
        let error = |action, source| Error::Child {
            action,
            kind: kind.clone(),
            namespace: self.namespace.clone(),
            name: name.clone(),
            source,
        };
        match api.create(&PostParams::default(), &desired).await {
            Ok(created) => {
                self.ctx.metrics.child_created(&kind);
                Ok(Ensured::Ours(created))
            }
            Err(kube::Error::Api(s)) if s.code == HTTP_CONFLICT => {
                match api.get_opt(&name).await.map_err(|e| error("read", e))? {
                    Some(existing) if children::is_controlled_by(&existing, &self.rr) => {
                        Ok(Ensured::Ours(existing))
                    }
                    Some(existing) => Ok(Ensured::Foreign(existing)),
                    None => Err(Error::ChildVanished {
                        kind,
                        namespace: self.namespace.clone(),
                        name,
                    }),
                }
            }
            Err(e) => Err(error("create", e)),
        }
    }

    /// Reads child `name` of kind `K`.
    pub(super) async fn child<K>(&self, name: &str) -> Result<Option<K>, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.ctx.client.clone(), &self.namespace);
        api.get_opt(name).await.map_err(|source| Error::Child {
            action: "read",
            kind: K::kind(&()).into_owned(),
            namespace: self.namespace.clone(),
            name: name.to_owned(),
            source,
        })
    }

    /// The name of a child: from its status reference, else the deterministic name.
    pub(super) fn child_name(&self, reference: Option<&ObjectReference>, prefix: &str) -> String {
        reference
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| children::child_name(prefix, &self.name))
    }

    /// Message for a child name taken by an object of another controller.
    pub(super) fn foreign<K: Resource<DynamicType = ()>>(&self, child: &K) -> String {
        format!(
            "{} {}/{} already exists and is controlled by {}, not by this RemediationRequest; delete it or create the request under another name",
            K::kind(&()),
            self.namespace,
            child.name_any(),
            children::controller_of(child)
        )
    }
}
