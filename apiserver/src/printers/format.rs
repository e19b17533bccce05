//! Formats cells as kube's printers do: ages (`translateTimestampSince`, apimachinery's
//! `duration.HumanDuration`), label maps (`labels.FormatLabels`), label selectors
//! (`metav1.LabelSelectorAsSelector(..).String()` and `FormatLabelSelector`), container lists
//! (`layoutContainerCells`), "first three + N more" lists, access modes and `<none>`/`<unset>`.

use serde_json::Value;

/// What a cell shows for an absent value.
pub const NONE: &str = "<none>";
/// What a cell shows for an unset optional field (kube's printers use both spellings).
pub const UNSET: &str = "<unset>";
/// How many entries kube's list formatters show before "+ N more..." (`max := 3`).
pub const LIST_MAX: usize = 3;

/// The string at `pointer`, "" when absent (Go's zero value).
pub fn s<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The integer at `pointer`, 0 when absent (Go's zero value).
pub fn i(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The boolean at `pointer`, false when absent (Go's zero value).
pub fn b(o: &Value, pointer: &str) -> bool {
    o.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

/// The array at `pointer`, empty when absent.
pub fn arr<'a>(o: &'a Value, pointer: &str) -> &'a [Value] {
    o.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The number of entries of the map or list at `pointer` (Go's `len`).
pub fn len(o: &Value, pointer: &str) -> i64 {
    let n = match o.pointer(pointer) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `v`, or `<none>` when empty.
pub fn or_none(v: &str) -> Value {
    or(v, NONE)
}

/// `v`, or `fallback` when empty.
pub fn or(v: &str, fallback: &str) -> Value {
    if v.is_empty() { fallback } else { v }.into()
}

/// The object's name.
pub fn name(o: &Value) -> Value {
    s(o, "/metadata/name").into()
}

/// The object's age (`translateTimestampSince(obj.CreationTimestamp)`).
pub fn age(o: &Value) -> Value {
    since(s(o, "/metadata/creationTimestamp")).into()
}

/// A timestamp parsed as kube's `metav1.Time`/`MicroTime` would be, None when absent or invalid.
pub fn time(ts: &str) -> Option<jiff::Timestamp> {
    ts.parse().ok()
}

/// kube's `translateTimestampSince`: `<unknown>` without a timestamp, else a human duration.
pub fn since(timestamp: &str) -> String {
    match time(timestamp) {
        Some(t) => human_duration(jiff::Timestamp::now().duration_since(t).as_secs()),
        None => "<unknown>".into(),
    }
}

/// apimachinery's `duration.HumanDuration`, to the second.
pub fn human_duration(seconds: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const YEAR: i64 = 365 * DAY;
    // Up to a second in the future is clock skew: "0s".
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 2 * MINUTE {
        return format!("{seconds}s");
    }
    let minutes = seconds / MINUTE;
    if minutes < 10 {
        let rest = seconds % MINUTE;
        return if rest == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{rest}s")
        };
    }
    if minutes < 3 * 60 {
        return format!("{minutes}m");
    }
    let hours = seconds / HOUR;
    if hours < 8 {
        let rest = minutes % 60;
        return if rest == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{rest}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let rest = hours % 24;
        return if rest == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{rest}h", hours / 24)
        };
    }
    if seconds < 2 * YEAR {
        return format!("{}d", hours / 24);
    }
    if seconds < 8 * YEAR {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", seconds / YEAR)
        } else {
            format!("{}y{days}d", seconds / YEAR)
        };
    }
    format!("{}y", seconds / YEAR)
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, `<none>` when there are none.
pub fn labels(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        return NONE.into();
    }
    pairs.sort();
    pairs.join(",")
}

/// A label selector that `metav1.LabelSelectorAsSelector` refuses.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidSelector;

/// `metav1.LabelSelectorAsSelector(sel).String()`: requirements sorted by key, `k=v` for
/// matchLabels, `k in (a,b)` / `k notin (a,b)` with sorted values, `k` / `!k`; "" for a nil or
/// empty selector (Nothing / Everything).
pub fn selector(sel: Option<&Value>) -> Result<String, InvalidSelector> {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    for (k, v) in sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
    }
    for e in arr(sel, "/matchExpressions") {
        let key = s(e, "/key");
        let mut values: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        values.sort_unstable();
        values.dedup();
        let text = match s(e, "/operator") {
            "In" | "NotIn" if values.is_empty() => return Err(InvalidSelector),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => return Err(InvalidSelector),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => return Err(InvalidSelector),
        };
        reqs.push((key.to_owned(), text));
    }
    // sort.Sort(ByKey(requirements)); a stable sort keeps matchLabels before expressions of the
    // same key (Go's order for that case is unspecified).
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: the selector's string, `<none>` when empty, `<error>` when invalid.
pub fn format_selector(sel: Option<&Value>) -> String {
    match selector(sel) {
        Ok(s) if s.is_empty() => NONE.into(),
        Ok(s) => s,
        Err(InvalidSelector) => "<error>".into(),
    }
}

/// `layoutContainerCells` of the containers at `pointer`: their names and images, comma-joined.
pub fn containers(o: &Value, pointer: &str) -> (Value, Value) {
    let list = arr(o, pointer);
    let join = |field: &str| {
        list.iter()
            .map(|c| c.get(field).and_then(Value::as_str).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(",")
    };
    (join("name").into(), join("image").into())
}

/// kube's "first [`LIST_MAX`] entries + N more..." lists (`listWithMoreString`); `empty` when
/// there are none.
pub fn list_with_more(items: impl IntoIterator<Item = String>, empty: &str) -> String {
    let all: Vec<String> = items.into_iter().collect();
    if all.is_empty() {
        return empty.into();
    }
    let shown = all[..all.len().min(LIST_MAX)].join(",");
    if all.len() > LIST_MAX {
        format!("{shown} + {} more...", all.len() - LIST_MAX)
    } else {
        shown
    }
}

/// `printBoolPtr`: True / False, `<unset>` when absent.
pub fn bool_ptr(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => UNSET,
    }
    .into()
}

/// An IntOrString as Go's `IntOrString.String()` prints it.
pub fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A resource.Quantity as stored (kube prints its canonical form; quantities are not
/// canonicalised here, see the module docs of `printers`), "0" when absent (Go's zero Quantity).
pub fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    }
}

/// `helper.GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, each once.
pub fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .into_iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The first condition of `type` in the list at `pointer`.
pub fn condition<'a>(o: &'a Value, pointer: &str, ty: &str) -> Option<&'a Value> {
    arr(o, pointer)
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
}

/// Whether the first condition of `type` at `pointer` has status True (`hasJobCondition`).
pub fn condition_true(o: &Value, pointer: &str, ty: &str) -> bool {
    condition(o, pointer, ty).is_some_and(|c| s(c, "/status") == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_durations_match_apimachinery() {
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (47 * 3600, "47h"),
            (2 * 86400 + 3600, "2d1h"),
            (10 * 86400, "10d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn selectors_print_as_labels_selector_string() {
        // apimachinery's selector tests: requirements sorted by key, values sorted.
        let sel = json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                {"key": "0", "operator": "DoesNotExist"}, {"key": "d", "operator": "Exists"},
                {"key": "e", "operator": "NotIn", "values": ["z"]}]});
        assert_eq!(
            selector(Some(&sel)).unwrap(),
            "!0,a=1,b=2,c in (x,y),d,e notin (z)"
        );
        assert_eq!(selector(None).unwrap(), "");
        assert_eq!(format_selector(Some(&json!({}))), "<none>");
        let bad = json!({"matchExpressions": [{"key": "a", "operator": "In"}]});
        assert_eq!(selector(Some(&bad)), Err(InvalidSelector));
        assert_eq!(format_selector(Some(&bad)), "<error>");
        let bad_op = json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]});
        assert_eq!(format_selector(Some(&bad_op)), "<error>");
    }

    #[test]
    fn lists_labels_and_modes() {
        assert_eq!(labels(Some(&json!({"z": "1", "a": "2"}))), "a=2,z=1");
        assert_eq!(labels(Some(&json!({}))), "<none>");
        assert_eq!(
            list_with_more(["a", "b", "c", "d", "e"].map(String::from), UNSET),
            "a,b,c + 2 more..."
        );
        assert_eq!(list_with_more(Vec::new(), UNSET), "<unset>");
        assert_eq!(
            access_modes(&[
                json!("ReadWriteMany"),
                json!("ReadWriteOnce"),
                json!("ReadWriteOnce")
            ]),
            "RWO,RWX"
        );
        assert_eq!(bool_ptr(None), json!("<unset>"));
        assert_eq!(bool_ptr(Some(&json!(false))), json!("False"));
        assert_eq!(int_or_string(&json!(2)), "2");
        assert_eq!(int_or_string(&json!("50%")), "50%");
    }
}
