//! The Secret strategy (`pkg/registry/core/secret`): `stringData` is folded into base64 `data`
//! while decoding; `immutable: true` is enforced by the validation stage (`crate::validation`).

use base64::Engine;
use serde_json::{Value, json};

use super::strategy::Strategy;

pub(super) struct Secret;

impl Strategy for Secret {
    fn decode(&self, obj: &mut Value) {
        fold_string_data(obj);
    }
}

/// Folds `stringData` into base64 `data`, as kube-apiserver's Secret conversion does (a key in
/// both takes the `stringData` value).
fn fold_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    for (k, v) in string_data {
        let text = v
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string());
        data[k.as_str()] = base64::engine::general_purpose::STANDARD
            .encode(text)
            .into();
    }
}
