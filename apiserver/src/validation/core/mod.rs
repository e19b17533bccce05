//! Validation of the core (`v1`) group's types, one file per type family.

pub mod binding;
pub mod configmap;
pub mod controller;
pub mod endpoints;
pub mod event;
pub mod namespace;
pub mod node;
pub mod os;
pub mod pod;
pub mod pod_resize;
pub mod pod_status;
pub mod podlogoptions;
pub mod quota;
pub mod secret;
pub(crate) mod security;
pub mod service;
pub mod volume;
