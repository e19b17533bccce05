//! Fills object metadata: generated names, timestamps, uids; reads names and finalizers.
//!
//! The checks of metadata live in `validation::objectmeta`.

use serde_json::Value;

/// DNS-1123 labels (namespace names, label name parts) are at most this long.
const DNS1123_LABEL_MAX: usize = 63;
/// kube-apiserver appends this many random characters to a generateName prefix.
const GENERATED_SUFFIX_LEN: usize = 5;
/// generateName prefixes are cut so that prefix + suffix still fits a 63-character label.
const GENERATE_NAME_PREFIX_MAX: usize = DNS1123_LABEL_MAX - GENERATED_SUFFIX_LEN;
/// The alphabet of generated suffixes (no vowels, no look-alikes), as in k8s.io/apimachinery/pkg/util/rand.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `prefix` plus five random characters, the prefix cut as kube-apiserver does.
pub fn generate_name(prefix: &str) -> String {
    let cut: String = prefix.chars().take(GENERATE_NAME_PREFIX_MAX).collect();
    let suffix: String = (0..GENERATED_SUFFIX_LEN)
        .map(|_| SUFFIX_ALPHABET[rand::random_range(0..SUFFIX_ALPHABET.len())] as char)
        .collect();
    format!("{cut}{suffix}")
}

thread_local! {
    /// The instant a write that runs more than once takes as "now" (see [`with_now`]).
    static PINNED_NOW: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Now as an RFC 3339 timestamp with second precision, the metav1.Time wire form (the pinned
/// instant inside [`with_now`]).
pub fn now() -> String {
    PINNED_NOW.with(|p| p.borrow().clone()).unwrap_or_else(|| {
        jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    })
}

/// Runs `f` (synchronous, on this thread) with [`now`] pinned to `instant`: a write that runs
/// again after admission webhooks were called sets the same timestamps (creationTimestamp,
/// managedFields, condition times) as the pass the webhooks saw.
pub fn with_now<T>(instant: &str, f: impl FnOnce() -> T) -> T {
    struct Unpin(Option<String>);
    impl Drop for Unpin {
        fn drop(&mut self) {
            let previous = self.0.take();
            PINNED_NOW.with(|p| *p.borrow_mut() = previous);
        }
    }
    let previous = PINNED_NOW.with(|p| p.borrow_mut().replace(instant.to_owned()));
    let _unpin = Unpin(previous);
    f()
}

/// `secs` seconds from now, in the metav1.Time wire form (a graceful deletion's deadline).
pub fn in_seconds(secs: i64) -> String {
    shift(&now(), secs)
}

/// `ts` moved by `secs` seconds; `ts` as given when it does not parse.
pub fn shift(ts: &str, secs: i64) -> String {
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => t
            .saturating_add(jiff::SignedDuration::from_secs(secs))
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|_| ts.to_owned()),
        Err(_) => ts.to_owned(),
    }
}

/// A fresh object uid.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `metadata.<field>` as a string, or "".
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object's `metadata` map, created if missing.
pub fn meta_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(serde_json::Map::new());
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// The object's finalizers.
pub fn finalizers(obj: &Value) -> Vec<String> {
    strings(obj.get("metadata").and_then(|m| m.get("finalizers")))
}

/// The strings of a JSON array (anything else, and items that are not strings, count as none):
/// the lenient read of a list field that validation has already checked.
pub fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_pinned_inside_with_now_and_restored_after() {
        let pinned = "2001-02-03T04:05:06Z";
        let (inner, nested) = with_now(pinned, || {
            let nested = with_now("1999-01-01T00:00:00Z", now);
            (now(), nested)
        });
        assert_eq!(inner, pinned, "restored after a nested pin");
        assert_eq!(nested, "1999-01-01T00:00:00Z");
        assert_ne!(now(), pinned, "unpinned after");
        let caught = std::panic::catch_unwind(|| with_now(pinned, || panic!("boom")));
        assert!(caught.is_err());
        assert_ne!(now(), pinned, "unpinned after a panic");
    }

    #[test]
    fn generated_names_keep_prefix_and_fit() {
        let n = generate_name(&"x".repeat(100));
        assert_eq!(n.len(), DNS1123_LABEL_MAX);
        assert!(generate_name("web-").starts_with("web-"));
    }
}
