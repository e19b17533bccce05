//! Validation of the core (`v1`) group's types, one file per type family.

pub mod configmap;
pub mod pod;
pub mod podlogoptions;
pub mod secret;
pub mod service;
pub mod volume;
