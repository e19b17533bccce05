//! Secret validation (kube's `ValidateSecret`, `ValidateSecretUpdate`): keys, the 1 MiB total,
//! the keys each `type` requires, an immutable `type`, and `immutable`.

use serde_json::Value;

use super::configmap::{IMMUTABLE_SET, MAX_SIZE, same};
use crate::status::Cause;
use crate::validation::decode::base64_len;
use crate::validation::field::{self, obj_of, str_of};

/// What an absent `type` defaults to (kube's defaulting; compared as such on update).
const DEFAULT_TYPE: &str = "Opaque";

fn data_has(obj: &Value, key: &str) -> bool {
    obj_of(obj, "data").is_some_and(|d| d.contains_key(key))
}

/// `.dockercfg`/`.dockerconfigjson` must hold a JSON object.
fn docker_config(obj: &Value, key: &str, causes: &mut Vec<Cause>) {
    let at = field::key("data", key);
    let Some(encoded) = obj_of(obj, "data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    else {
        causes.push(field::required(&at, ""));
        return;
    };
    let cleaned: String = encoded
        .chars()
        .filter(|c| *c != '\n' && *c != '\r')
        .collect();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .unwrap_or_default();
    if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes) {
        causes.push(field::invalid_str(
            &at,
            "<secret contents redacted>",
            &e.to_string(),
        ));
    }
}

pub fn validate(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut total = 0;
    if let Some(data) = obj_of(obj, "data") {
        for (k, v) in data {
            causes.extend(field::each(
                &field::key("data", k),
                k,
                field::config_map_key(k),
            ));
            total += v.as_str().map_or(0, base64_len);
        }
    }
    if total > MAX_SIZE {
        causes.push(field::too_long("data", MAX_SIZE));
    }
    match str_of(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let named = obj
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !named {
                causes.push(field::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => docker_config(obj, ".dockercfg", &mut causes),
        "kubernetes.io/dockerconfigjson" => docker_config(obj, ".dockerconfigjson", &mut causes),
        "kubernetes.io/basic-auth" if !data_has(obj, "username") && !data_has(obj, "password") => {
            causes.push(field::required("data[username]", ""));
            causes.push(field::required("data[password]", ""));
        }
        "kubernetes.io/ssh-auth" => {
            let key = obj
                .pointer("/data/ssh-privatekey")
                .and_then(Value::as_str)
                .unwrap_or("");
            if key.is_empty() {
                causes.push(field::required("data[ssh-privatekey]", ""));
            }
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !data_has(obj, key) {
                    causes.push(field::required(&field::key("data", key), ""));
                }
            }
        }
        _ => {}
    }
    causes
}

pub fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let type_of = |v: &Value| match str_of(v, "type") {
        "" => DEFAULT_TYPE.to_owned(),
        t => t.to_owned(),
    };
    if type_of(new) != type_of(old) {
        causes.push(field::invalid_str(
            "type",
            &type_of(new),
            "field is immutable",
        ));
    }
    if old.get("immutable") == Some(&Value::Bool(true)) {
        if new.get("immutable") != Some(&Value::Bool(true)) {
            causes.push(field::forbidden("immutable", IMMUTABLE_SET));
        }
        if !same(new, old, "data") {
            causes.push(field::forbidden("data", IMMUTABLE_SET));
        }
    }
    causes.extend(validate(new));
    causes
}
