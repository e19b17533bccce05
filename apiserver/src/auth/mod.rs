//! Decides who a request is and what it may do: authentication (bearer tokens, ServiceAccount
//! tokens, anonymous), impersonation and RBAC authorization, kube-apiserver's first filters,
//! plus the RBAC registry's escalation checks, the ClusterRole aggregation controller and the
//! access reviews answered from the same authorizer.

mod aggregate;
mod attributes;
mod authn;
mod escalation;
mod impersonate;
pub(crate) mod rbac;
mod reviews;
mod user;

pub(crate) use aggregate::aggregate_cluster_roles;
pub use attributes::Attributes;
pub(crate) use authn::Reviewed;
pub use authn::{Authenticator, DEFAULT_TOKEN_CACHE_TTL};
pub(crate) use authn::{authenticate, same_secret};
pub(crate) use escalation::check_rbac_write;
pub(crate) use impersonate::impersonate;
pub use rbac::{Authorizer, RBAC_GROUP, Snapshot as AuthzSnapshot};
pub(crate) use reviews::serve as serve_review;
pub use user::UserInfo;
