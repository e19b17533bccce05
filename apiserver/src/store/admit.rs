//! Owns the store's side of validating admission: which writes are admitted (those a client
//! asked for; the server's own controllers' writes are not) and the view of the stored
//! policies, bindings, params and namespaces the admission stage reads under the store's lock.

use serde_json::Value;

use crate::admission::{self, Attributes, Operation};
use crate::auth::{AuthzSnapshot, UserInfo};
use crate::catalog::ResourceInfo;
use crate::status::ApiError;

use super::{Fields, Inner, Sub};

/// The write `admit_write` asks admission about.
pub(super) struct Write<'a> {
    pub operation: Operation,
    pub info: &'a ResourceInfo,
    pub sub: Sub,
    pub name: &'a str,
    pub namespace: &'a str,
    pub object: Option<&'a Value>,
    pub old_object: Option<&'a Value>,
    pub user: Option<&'a UserInfo>,
    pub dry_run: bool,
    pub fields: Option<&'a Fields>,
    pub authorizer: Option<&'a AuthzSnapshot>,
}

impl Inner {
    /// Runs validating admission for a client's write (none for the server's own, `user`
    /// None). Returns the warnings to send with the answer, or the refusal.
    pub(super) fn admit_write(&mut self, w: Write<'_>) -> Result<Vec<String>, ApiError> {
        let Some(user) = w.user else {
            return Ok(Vec::new());
        };
        let field_manager = match w.fields {
            Some(Fields::Update(m)) => m.as_str(),
            _ => "",
        };
        let attributes = Attributes {
            operation: w.operation,
            info: w.info,
            subresource: w.sub.managed_name(),
            name: w.name,
            namespace: if w.info.namespaced { w.namespace } else { "" },
            object: w.object,
            old_object: w.old_object,
            user,
            dry_run: w.dry_run,
            field_manager,
            authorizer: w.authorizer,
        };
        let snapshot = admission::Snapshot {
            objects: &self.objects,
            catalog: &self.catalog,
        };
        admission::admit(&snapshot, &mut self.admission, &attributes).map(|a| a.warnings)
    }
}
