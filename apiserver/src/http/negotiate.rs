//! Negotiates a response's form from the request's `Accept` header and `pretty` parameter as
//! kube-apiserver's `negotiation.NegotiateOutputMediaType` does: clauses by q-value, the `as`,
//! `g`, `v`, `stream` and `pretty` parameters, the conversions to `PartialObjectMetadata`,
//! `PartialObjectMetadataList` and `Table` (`meta.k8s.io` `v1` and `v1beta1`), 406 NotAcceptable
//! for what is not served; and encodes a response body in the negotiated form (JSON, YAML, or
//! protobuf for built-in types, `crate::protobuf`).

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::catalog::ResourceInfo;
use crate::status::ApiError;

/// The media types this server encodes objects in (kube's list also names CBOR, behind a feature
/// gate, which is not served here); protobuf only for built-in types, as in kube.
const SERVED: &[(&str, &str)] = &[
    ("application", "json"),
    ("application", "yaml"),
    ("application", "vnd.kubernetes.protobuf"),
];
/// How many of [`SERVED`] a custom resource has: JSON and YAML (kube has no protobuf form of
/// unstructured objects).
const SERVED_CUSTOM: usize = 2;
/// The group of the conversion targets.
const META_GROUP: &str = "meta.k8s.io";

/// The wire format of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Yaml,
    /// `application/vnd.kubernetes.protobuf` (built-in types only).
    Protobuf,
}

/// What the object is turned into before encoding (`as=` of the Accept clause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convert {
    PartialObjectMetadata,
    PartialObjectMetadataList,
    Table,
}

/// The negotiated response form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    pub format: Format,
    /// The conversion and its `meta.k8s.io` version (`v1` or `v1beta1`).
    pub convert: Option<(Convert, &'static str)>,
    /// Indented JSON (kube's pretty serializer: two spaces, no trailing newline).
    pub pretty: bool,
}

impl Output {
    /// `meta.k8s.io/v1` (or `v1beta1`) for a conversion.
    pub fn meta_api_version(&self) -> &'static str {
        match self.convert {
            Some((_, "v1beta1")) => "meta.k8s.io/v1beta1",
            _ => "meta.k8s.io/v1",
        }
    }
}

/// One clause of an Accept header.
struct Clause<'a> {
    ty: &'a str,
    sub: &'a str,
    q: f64,
    params: Vec<(&'a str, &'a str)>,
}

/// Parses an Accept header as goautoneg does: clauses sorted by q-value (highest first), exact
/// types before wildcards at equal q; `q` itself is not a parameter.
fn parse_accept(header: &str) -> Vec<Clause<'_>> {
    let mut clauses: Vec<Clause<'_>> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let media = pieces.next()?.trim();
            let (ty, sub) = match media.split_once('/') {
                Some((t, s)) => (t.trim(), s.trim()),
                None if media == "*" => ("*", "*"),
                None => return None,
            };
            let mut q = 1.0;
            let mut params = Vec::new();
            for p in pieces {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                let (k, v) = (k.trim(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse().unwrap_or(0.0);
                } else {
                    params.push((k, v));
                }
            }
            Some(Clause { ty, sub, q, params })
        })
        .collect();
    // A stable sort keeps the header's order among equals.
    clauses.sort_by(|a, b| {
        b.q.partial_cmp(&a.q)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then((a.ty == "*").cmp(&(b.ty == "*")))
            .then((a.sub == "*").cmp(&(b.sub == "*")))
    });
    clauses
}

/// kube's `AllowsMediaTypeTransform` plus `acceptMediaTypeOptions` for one clause matched to one
/// served media type.
fn accept(clause: &Clause<'_>, sub: &str, watch: bool) -> Option<Output> {
    let protobuf = sub == "vnd.kubernetes.protobuf";
    let mut out = Output {
        format: match sub {
            "yaml" => Format::Yaml,
            _ if protobuf => Format::Protobuf,
            _ => Format::Json,
        },
        ..Output::default()
    };
    let (mut kind, mut group, mut version, mut converting) = ("", "", "", false);
    for &(k, v) in &clause.params {
        match k {
            "as" => (kind, converting) = (v, true),
            "g" => (group, converting) = (v, true),
            "v" => (version, converting) = (v, true),
            // JSON and protobuf have stream serializers; `watch` is the only stream schema.
            "stream" if !v.is_empty() && ((sub != "json" && !protobuf) || v != "watch") => {
                return None;
            }
            "pretty" => out.pretty = v == "1",
            _ => {}
        }
    }
    if converting {
        if group != META_GROUP || !(version == "v1" || version == "v1beta1") {
            return None;
        }
        let version = if version == "v1" { "v1" } else { "v1beta1" };
        let convert = match kind {
            "PartialObjectMetadata" => Convert::PartialObjectMetadata,
            "PartialObjectMetadataList" => Convert::PartialObjectMetadataList,
            // Tables are served as JSON and YAML only here: a protobuf Table clause falls
            // through to the next (kubectl always offers JSON after it).
            "Table" if !protobuf => Convert::Table,
            _ => return None,
        };
        out.convert = Some((convert, version));
    }
    // A watch streams JSON frames unless protobuf was asked for (YAML has no stream form).
    if watch && out.format == Format::Yaml {
        out.format = Format::Json;
    }
    Some(out)
}

/// Negotiates `accept` (empty: JSON); `pretty` is the `pretty` query parameter, `user_agent` the
/// request's (kube pretty-prints for curl, Wget and browsers unless `pretty` says otherwise);
/// `protobuf` whether the resource has a protobuf form (built-in types: kube skips protobuf
/// clauses for custom resources and takes the next acceptable one).
pub fn negotiate(
    accept_header: &str,
    pretty: Option<&str>,
    user_agent: &str,
    watch: bool,
    protobuf: bool,
) -> Result<Output, ApiError> {
    let served = if protobuf {
        SERVED
    } else {
        &SERVED[..SERVED_CUSTOM]
    };
    // The common headers need no parsing (kube-rs and client-go send plain JSON).
    let mut out = if matches!(
        accept_header.trim(),
        "" | "application/json" | "*/*" | "application/json, */*"
    ) {
        Output::default()
    } else {
        parse_accept(accept_header)
            .iter()
            .find_map(|clause| {
                served.iter().find_map(|&(ty, sub)| {
                    let matches = (clause.ty == ty && (clause.sub == sub || clause.sub == "*"))
                        || (clause.ty == "*" && clause.sub == "*");
                    if matches {
                        accept(clause, sub, watch)
                    } else {
                        None
                    }
                })
            })
            .ok_or_else(|| not_acceptable_of(served))?
    };
    out.pretty |= match pretty {
        Some(p) if !p.is_empty() => parse_go_bool(p),
        _ => {
            user_agent.starts_with("curl")
                || user_agent.starts_with("Wget")
                || user_agent.starts_with("Mozilla/5.0")
        }
    };
    Ok(out)
}

/// Go's `strconv.ParseBool` (an invalid value is false, as kube ignores the error).
fn parse_go_bool(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// 406 for an Accept header nothing here can satisfy (kube's `NewNotAcceptableError`), naming
/// what the resource is served in.
fn not_acceptable_of(served: &[(&str, &str)]) -> ApiError {
    ApiError::not_acceptable(format!(
        "only the following media types are accepted: {}",
        served
            .iter()
            .map(|(t, s)| format!("{t}/{s}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The Go type kube's message names for a list of this resource (`*core.PodList`: the registry
/// holds internal types; custom resources are unstructured).
fn go_list_type(info: &ResourceInfo) -> String {
    if info.custom {
        return "*unstructured.UnstructuredList".into();
    }
    let package = match info.group.as_str() {
        "" | "events.k8s.io" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    format!("*{package}.{}", info.list_kind)
}

fn go_object_type(info: &ResourceInfo) -> String {
    if info.custom {
        return "*unstructured.Unstructured".into();
    }
    let list = go_list_type(info);
    list.strip_suffix("List").unwrap_or(&list).to_owned()
}

/// A `PartialObjectMetadata` of `obj` (kube's `meta.AsPartialObjectMetadata`: the whole
/// ObjectMeta, nothing else).
pub fn partial(obj: &Value, api_version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": api_version,
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// What a response carries, before encoding.
pub enum Body {
    /// One object (get, create, update, patch, a pending delete).
    Object(Bytes),
    /// A list (list, deletecollection).
    List(Bytes),
    /// A `Status` (a finished delete): never converted.
    Status(Value),
}

/// Turns a response into the negotiated form: converts, then encodes; returns the body and its
/// Content-Type. `table` builds a Table from the decoded object or list.
pub fn encode(
    out: &Output,
    info: &ResourceInfo,
    body: Body,
    table: &dyn Fn(&Value) -> Result<Value, ApiError>,
) -> Result<(Bytes, &'static str), ApiError> {
    if out.format == Format::Protobuf {
        let value = match &body {
            Body::Status(v) => v.clone(),
            Body::Object(b) | Body::List(b) => serde_json::from_slice(b)
                .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?,
        };
        let value = match (out.convert, &body) {
            (None, _) | (_, Body::Status(_)) => value,
            (Some(_), _) => convert(out, info, matches!(body, Body::List(_)), value, table)?,
        };
        match crate::protobuf::encode_object(&value) {
            Ok(b) => return Ok((Bytes::from(b), crate::protobuf::MEDIA_TYPE)),
            // A field the generated messages do not have (`protobuf::schema::JSON_ONLY`):
            // JSON keeps it; kube's clients read JSON whatever they asked for.
            Err(e) => {
                tracing::debug!("serving JSON instead of protobuf: {e}");
                let json = Output {
                    format: Format::Json,
                    ..*out
                };
                return Ok((serialize(&json, &value), content_type(&json)));
            }
        }
    }
    encode_text(out, info, body, table).map(|b| (b, content_type(out)))
}

fn encode_text(
    out: &Output,
    info: &ResourceInfo,
    body: Body,
    table: &dyn Fn(&Value) -> Result<Value, ApiError>,
) -> Result<Bytes, ApiError> {
    let (is_list, raw) = match body {
        Body::Status(v) => return Ok(serialize(out, &v)),
        Body::Object(b) => (false, b),
        Body::List(b) => (true, b),
    };
    if out.convert.is_none() {
        if out.format == Format::Json && !out.pretty {
            // The stored bytes are the compact form: only kube's trailing newline is added.
            return Ok(with_newline(&raw));
        }
        let v: Value = serde_json::from_slice(&raw)
            .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
        return Ok(serialize(out, &v));
    }
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
    let converted = convert(out, info, is_list, v, table)?;
    Ok(serialize(out, &converted))
}

/// The `as=` conversion of a decoded object or list.
fn convert(
    out: &Output,
    info: &ResourceInfo,
    is_list: bool,
    v: Value,
    table: &dyn Fn(&Value) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let Some((convert, _)) = out.convert else {
        return Ok(v);
    };
    Ok(match (convert, is_list) {
        (Convert::PartialObjectMetadata, false) => partial(&v, out.meta_api_version()),
        (Convert::PartialObjectMetadata, true) => {
            return Err(ApiError::not_acceptable(format!(
                "you requested PartialObjectMetadata, but the requested object is a list ({})",
                go_list_type(info)
            )));
        }
        (Convert::PartialObjectMetadataList, true) => {
            let api_version = out.meta_api_version();
            let items: Vec<Value> = v
                .get("items")
                .and_then(Value::as_array)
                .map(|items| items.iter().map(|i| partial(i, api_version)).collect())
                .unwrap_or_default();
            json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": api_version,
                "metadata": v.get("metadata").cloned().unwrap_or_else(|| json!({})),
                "items": items,
            })
        }
        (Convert::PartialObjectMetadataList, false) => {
            return Err(ApiError::not_acceptable(format!(
                "you requested PartialObjectMetadataList, but the requested object is not a list ({})",
                go_object_type(info)
            )));
        }
        (Convert::Table, _) => table(&v)?,
    })
}

fn with_newline(raw: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(raw.len() + 1);
    out.extend_from_slice(raw);
    out.push(b'\n');
    Bytes::from(out)
}

/// Encodes a value as kube's serializers do: compact JSON with a trailing newline (Go's
/// `json.Encoder`), indented JSON without one (`json.MarshalIndent`), or YAML (protobuf goes
/// through [`encode`]; here it is JSON).
pub fn serialize(out: &Output, v: &Value) -> Bytes {
    match out.format {
        Format::Yaml => Bytes::from(serde_saphyr::to_string(v).unwrap_or_default()),
        Format::Json if out.pretty => Bytes::from(serde_json::to_vec_pretty(v).unwrap_or_default()),
        Format::Json | Format::Protobuf => {
            let mut b = serde_json::to_vec(v).unwrap_or_default();
            b.push(b'\n');
            Bytes::from(b)
        }
    }
}

/// The Content-Type of a negotiated response.
pub fn content_type(out: &Output) -> &'static str {
    match out.format {
        Format::Json => "application/json",
        Format::Yaml => "application/yaml",
        Format::Protobuf => crate::protobuf::MEDIA_TYPE,
    }
}

/// A metav1.Status body for a successful delete (kube's `finalizeDelete`): `kind` in details
/// is the plural resource, as kube sets it.
pub fn delete_status(info: &ResourceInfo, name: &str, uid: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), name.into());
    if !info.group.is_empty() {
        details.insert("group".into(), info.group.clone().into());
    }
    details.insert("kind".into(), info.plural.clone().into());
    if !uid.is_empty() {
        details.insert("uid".into(), uid.into());
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POM: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

    fn conv(h: &str) -> Option<(Convert, &'static str)> {
        negotiate(h, None, "", false, false).unwrap().convert
    }

    #[test]
    fn conversions_and_alternatives() {
        assert_eq!(conv(""), None);
        assert_eq!(conv("application/json"), None);
        assert_eq!(conv(POM), Some((Convert::PartialObjectMetadata, "v1")));
        assert_eq!(
            conv("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1"),
            Some((Convert::PartialObjectMetadataList, "v1beta1"))
        );
        // kubectl's default: Table v1, Table v1beta1, plain JSON.
        assert_eq!(
            conv(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            ),
            Some((Convert::Table, "v1"))
        );
        // An unknown conversion falls through to the next clause; q-values order the clauses.
        assert_eq!(
            conv("application/json;as=Frob;g=meta.k8s.io;v=v1,application/json"),
            None
        );
        assert_eq!(
            conv("application/json;q=0.5,application/json;as=Table;g=meta.k8s.io;v=v1"),
            Some((Convert::Table, "v1"))
        );
        assert_eq!(
            conv(
                "application/vnd.kubernetes.protobuf, */*;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
            ),
            Some((Convert::PartialObjectMetadata, "v1"))
        );
    }

    #[test]
    fn refusals() {
        for h in [
            "application/json;as=Frob;g=meta.k8s.io;v=v1",
            "application/json;as=Table;g=example.com;v=v1",
            "application/json;as=Table;g=meta.k8s.io;v=v2",
            "application/vnd.kubernetes.protobuf",
            "text/html",
            "application/yaml;stream=watch",
        ] {
            let e = negotiate(h, None, "", false, false).unwrap_err();
            assert_eq!(e.code, 406, "{h}");
            assert_eq!(
                e.message,
                "only the following media types are accepted: application/json, application/yaml"
            );
        }
    }

    #[test]
    fn protobuf_for_built_in_types_only() {
        let n = |h: &str, watch: bool, builtin: bool| negotiate(h, None, "", watch, builtin);
        let kubectl = "application/vnd.kubernetes.protobuf, */*";
        assert_eq!(n(kubectl, false, true).unwrap().format, Format::Protobuf);
        // A custom resource: the protobuf clause is skipped, `*/*` gives JSON.
        assert_eq!(n(kubectl, false, false).unwrap().format, Format::Json);
        // Protobuf alone for a custom resource: 406 naming JSON and YAML only.
        let e = n(crate::protobuf::MEDIA_TYPE, false, false).unwrap_err();
        assert_eq!(e.code, 406);
        assert_eq!(
            e.message,
            "only the following media types are accepted: application/json, application/yaml"
        );
        // A built-in type's refusal names protobuf too.
        let e = n("text/html", false, true).unwrap_err();
        assert_eq!(
            e.message,
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );
        // Watches stream protobuf frames when asked; YAML watches stream JSON.
        let w = n(
            "application/vnd.kubernetes.protobuf;stream=watch",
            true,
            true,
        )
        .unwrap();
        assert_eq!(w.format, Format::Protobuf);
        assert_eq!(
            n("application/yaml", true, true).unwrap().format,
            Format::Json
        );
        // PartialObjectMetadata in protobuf; a protobuf Table falls through to the JSON clause.
        let pom = n(
            "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            false,
            true,
        )
        .unwrap();
        assert_eq!(pom.format, Format::Protobuf);
        assert_eq!(
            pom.convert,
            Some((Convert::PartialObjectMetadataList, "v1"))
        );
        let table = n(
            "application/vnd.kubernetes.protobuf;as=Table;g=meta.k8s.io;v=v1,application/json",
            false,
            true,
        )
        .unwrap();
        assert_eq!((table.format, table.convert), (Format::Json, None));
    }

    #[test]
    fn pretty_by_parameter_and_user_agent() {
        let p = |q: Option<&str>, ua: &str| negotiate("", q, ua, false, true).unwrap().pretty;
        assert!(p(Some("true"), "kube-rs"));
        assert!(p(Some("1"), ""));
        assert!(!p(Some("false"), "curl/8.0"));
        assert!(p(None, "curl/8.0"));
        assert!(p(None, "Wget/1.21"));
        assert!(p(None, "Mozilla/5.0 (X11)"));
        assert!(!p(None, "kubectl/v1.37.1"));
        assert!(
            negotiate("application/json;pretty=1", None, "", false, true)
                .unwrap()
                .pretty
        );
    }

    #[test]
    fn serialization_forms() {
        let v = json!({"kind": "K", "a": [1]});
        let compact = serialize(&Output::default(), &v);
        assert_eq!(&compact[..], b"{\"kind\":\"K\",\"a\":[1]}\n");
        let pretty = serialize(
            &Output {
                pretty: true,
                ..Output::default()
            },
            &v,
        );
        assert_eq!(
            &pretty[..],
            b"{\n  \"kind\": \"K\",\n  \"a\": [\n    1\n  ]\n}"
        );
    }
}
