//! Describes what a request asks to do (kube's `authorizer.Attributes`) and words the 403 a
//! refusal answers, exactly as kube's `responsewriters.Forbidden`.

use crate::status::{ApiError, GroupResource};

/// What a request asks to do: a verb on a resource (group, resource, subresource, namespace,
/// name) or on a non-resource path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    /// Whether this is a resource request; else `path` is the non-resource URL.
    pub resource_request: bool,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
}

impl Attributes {
    /// A resource request.
    pub fn resource(
        verb: &str,
        api_group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        Self {
            verb: verb.to_owned(),
            resource_request: true,
            api_group: api_group.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// A request for a non-resource URL.
    pub fn non_resource(verb: &str, path: &str) -> Self {
        Self {
            verb: verb.to_owned(),
            path: path.to_owned(),
            ..Self::default()
        }
    }

    /// The same request with a subresource.
    pub fn with_subresource(mut self, subresource: &str) -> Self {
        self.subresource = subresource.to_owned();
        self
    }

    /// kube's `forbiddenMessage`: `User "u" cannot list resource "pods" in API group "" in the
    /// namespace "ns"` (or `at the cluster scope`, or `cannot get path "/x"`).
    pub fn forbidden_message(&self, user: &str) -> String {
        if !self.resource_request {
            return format!("User {user:?} cannot {} path {:?}", self.verb, self.path);
        }
        let mut resource = self.resource.clone();
        if !self.subresource.is_empty() {
            resource = format!("{resource}/{}", self.subresource);
        }
        if self.namespace.is_empty() {
            format!(
                "User {user:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
                self.verb, self.api_group
            )
        } else {
            format!(
                "User {user:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
                self.verb, self.api_group, self.namespace
            )
        }
    }

    /// The 403 kube answers when this request is refused (`reason` appended after a colon when
    /// the authorizer gave one).
    pub fn forbidden(&self, user: &str, reason: &str) -> ApiError {
        let mut why = self.forbidden_message(user);
        if !reason.is_empty() {
            why = format!("{why}: {reason}");
        }
        ApiError::forbidden(
            GroupResource {
                group: &self.api_group,
                resource: &self.resource,
            },
            &self.name,
            &why,
        )
    }
}
