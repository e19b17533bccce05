//! Describes the write being admitted (kube's `admission.Attributes`): operation, resource,
//! subresource, name, namespace, objects, user, dry run and options; and builds the `request`
//! value CEL expressions see (kube's `CreateAdmissionRequest`).

use std::sync::Arc;

use crd_schema::expr::{self, AuthzCheck, AuthzFn, CelValue};
use serde_json::{Value, json};

use crate::auth::Attributes as AuthzAttributes;

use crate::auth::{AuthzSnapshot, UserInfo};
use crate::catalog::ResourceInfo;

/// The admission operation of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    /// The name rules and `request.operation` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }

    /// The kind of the options object of this operation.
    fn options_kind(self) -> &'static str {
        match self {
            Operation::Create => "CreateOptions",
            Operation::Update => "UpdateOptions",
            Operation::Delete => "DeleteOptions",
        }
    }
}

/// A write as admission sees it.
pub struct Attributes<'a> {
    pub operation: Operation,
    /// The resource and version the request addressed.
    pub info: &'a ResourceInfo,
    /// "" for the main resource, else e.g. `status`.
    pub subresource: &'a str,
    /// The type of the objects when the subresource's kind is not its resource's (kube's
    /// `scope.Kind`: an `autoscaling/v1` Scale for `scale`, a `policy/v1` Eviction for
    /// `eviction`); None: the resource's own kind.
    pub object_type: Option<&'a ResourceInfo>,
    /// The name the request names (on create: the body's name; "" with generateName).
    pub name: &'a str,
    /// "" for cluster-scoped resources.
    pub namespace: &'a str,
    /// The new object (None on delete).
    pub object: Option<&'a Value>,
    /// The stored object (None on create).
    pub old_object: Option<&'a Value>,
    pub user: &'a UserInfo,
    pub dry_run: bool,
    /// `fieldManager` of a create or update ("" when none applies).
    pub field_manager: &'a str,
    /// The user's authorizer answers (the `authorizer` variable); None: no `authorizer`.
    pub authorizer: Option<&'a AuthzSnapshot>,
}

impl Attributes<'_> {
    /// The options object (`CreateOptions`, `UpdateOptions`, `DeleteOptions`) of the request.
    pub fn options(&self) -> Value {
        let mut o = json!({"apiVersion": "meta.k8s.io/v1", "kind": self.operation.options_kind()});
        if self.dry_run {
            o["dryRun"] = json!(["All"]);
        }
        if !self.field_manager.is_empty() && self.operation != Operation::Delete {
            o["fieldManager"] = self.field_manager.into();
        }
        o
    }

    /// The name a refusal names: the request's, else the object's name or generateName, else
    /// `Unknown` (kube's `extractResourceName`).
    pub fn name_for_errors(&self) -> String {
        if !self.name.is_empty() {
            return self.name.to_owned();
        }
        let meta = |k: &str| {
            self.object
                .and_then(|o| o.pointer(&format!("/metadata/{k}")))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        meta("name")
            .or_else(|| meta("generateName"))
            .unwrap_or("Unknown")
            .to_owned()
    }

    /// The `authorizer` variable and the function answering its checks, kube's authz library
    /// bound to the request's user, with `requestResource` for the request's own resource.
    pub fn authorizer(&self) -> Option<(CelValue, AuthzFn)> {
        let snapshot = self.authorizer?.clone();
        let request = AuthzCheck {
            group: self.info.group.clone(),
            resource: self.info.plural.clone(),
            subresource: self.subresource.to_owned(),
            namespace: self.namespace.to_owned(),
            name: self.name.to_owned(),
            ..AuthzCheck::default()
        };
        let check: AuthzFn = Arc::new(move |c: &AuthzCheck| {
            let a = match &c.path {
                Some(path) => AuthzAttributes::non_resource(&c.verb, path),
                None => {
                    AuthzAttributes::resource(&c.verb, &c.group, &c.resource, &c.namespace, &c.name)
                        .with_subresource(&c.subresource)
                }
            };
            snapshot.authorize(&a)
        });
        Some((expr::authorizer_value(&request), check))
    }

    /// The type of the objects admission sees when the rules matched `matched` (the request's
    /// resource or an equivalent one): the subresource's own kind when it has one (a Scale is an
    /// `autoscaling/v1` Scale in every version of its parent), else the matched resource's.
    pub fn object_type_for<'b>(&'b self, matched: &'b ResourceInfo) -> &'b ResourceInfo {
        self.object_type.unwrap_or(matched)
    }

    /// The `request` variable: kube's AdmissionRequest without the objects, with the resource
    /// and kind the policy matched (`matched`, which differs from the request's under
    /// `matchPolicy: Equivalent`).
    pub fn request_value(&self, matched: &ResourceInfo) -> Value {
        let gvk =
            |i: &ResourceInfo| json!({"group": i.group, "version": i.version, "kind": i.kind});
        let gvr = |i: &ResourceInfo| json!({"group": i.group, "version": i.version, "resource": i.plural});
        let mut extra = serde_json::Map::new();
        for (k, v) in &self.user.extra {
            extra.insert(k.clone(), json!(v));
        }
        let mut user = json!({"username": self.user.name, "groups": self.user.groups});
        if !self.user.uid.is_empty() {
            user["uid"] = self.user.uid.clone().into();
        }
        if !extra.is_empty() {
            user["extra"] = Value::Object(extra);
        }
        let mut r = json!({
            "kind": gvk(self.object_type_for(matched)),
            "resource": gvr(matched),
            "requestKind": gvk(self.object_type_for(self.info)),
            "requestResource": gvr(self.info),
            "name": self.name,
            "namespace": self.namespace,
            "operation": self.operation.as_str(),
            "userInfo": user,
            "dryRun": self.dry_run,
            "options": self.options(),
        });
        if !self.subresource.is_empty() {
            r["subResource"] = self.subresource.into();
            r["requestSubResource"] = self.subresource.into();
        }
        r
    }
}
