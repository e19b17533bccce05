//! Owns the objects a fresh cluster has besides the default namespaces: the RBAC roles and
//! bindings kube-apiserver's `rbac/bootstrap-roles` post-start hook creates (`rbac.rs`).

pub mod rbac;
