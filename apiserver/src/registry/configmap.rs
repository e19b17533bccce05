//! The ConfigMap strategy (`pkg/registry/core/configmap`): no per-type write rules beyond the
//! generic ones; `immutable: true` is enforced by the validation stage
//! (`crate::validation`, as kube's `ValidateConfigMapUpdate`).

use super::strategy::Strategy;

pub(super) struct ConfigMap;

impl Strategy for ConfigMap {}
