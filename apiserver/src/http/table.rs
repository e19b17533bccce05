//! Server-side printing: converts objects and lists to `meta.k8s.io` Tables as kube-apiserver's
//! table convertors do — the built-in printers of [`crate::printers`] (cells for every column,
//! wide ones included, as the server always generates them), a CRD version's
//! `additionalPrinterColumns` (JSONPath cells typed as declared; an `Age` column when none are
//! declared) and the default `Name`/`Created At` table for every other type; rows carry the
//! object as `includeObject` asks (None, Metadata — the default — or Object).
//!
//! Tables exist as JSON and YAML only: `metav1.Table` is `+protobuf=false` in apimachinery's
//! `types.go` and kube's `AllowsMediaTypeTransform` allows the Table transform for
//! `application/json` and `application/yaml` only, so a protobuf Table clause of an Accept
//! header is skipped (`http::negotiate`) and the next clause answers, or 406 when none is left.

use serde_json::{Value, json};

use crate::catalog::ResourceInfo;
use crate::printers::{self, Printer, format};
use crate::status::ApiError;

/// `includeObject` of TableOptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Include {
    None,
    #[default]
    Metadata,
    Object,
}

/// Parses `includeObject` (kube's `ValidateTableOptions`).
pub fn include(param: Option<&str>) -> Result<Include, ApiError> {
    match param.unwrap_or("") {
        "" | "Metadata" => Ok(Include::Metadata),
        "None" => Ok(Include::None),
        "Object" => Ok(Include::Object),
        other => Err(ApiError::bad_request(format!(
            "Unable to convert to Table as requested: includeObject: Unsupported value: {}: supported values: \"Metadata\", \"None\", \"Object\"",
            json!(other)
        ))),
    }
}

fn col_json(name: &str, ty: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

/// The cells of one row, for whichever convertor serves the type.
type RowCells<'a> = Box<dyn Fn(&Value) -> Vec<Value> + 'a>;

/// The metadata descriptions kube's convertors share (`swaggerMetadataDescriptions`): the
/// default table's Name and Created At columns.
fn name_and_created() -> (&'static Value, &'static str) {
    let defs = printers::DEFAULT_TABLE.column_definitions();
    (
        &defs[0],
        defs[1]["description"].as_str().unwrap_or_default(),
    )
}

/// The columns of a CRD version (`additionalPrinterColumns`, or kube's default `Age` column).
fn crd_columns(info: &ResourceInfo) -> Vec<Value> {
    if info.printer_columns.is_empty() {
        return vec![json!({
            "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
            "description": name_and_created().1,
        })];
    }
    info.printer_columns.clone()
}

/// One step of the simple JSONPaths printer columns use: `.field`, `['field']` or `[index]`.
enum Step {
    Field(String),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_owned()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if let Some(q) = inner
                .strip_prefix('\'')
                .and_then(|q| q.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|q| q.strip_suffix('"')))
            {
                steps.push(Step::Field(q.to_owned()));
            } else {
                steps.push(Step::Index(inner.parse().ok()?));
            }
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn eval<'a>(obj: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut cur = obj;
    for step in steps {
        cur = match step {
            Step::Field(f) => cur.get(f)?,
            Step::Index(i) => cur.get(*i)?,
        };
    }
    (!cur.is_null()).then_some(cur)
}

/// A CRD column's cell (apiextensions' `cellForJSONValue`; strings printed as client-go's
/// JSONPath prints them).
fn crd_cell(ty: &str, v: Option<&Value>) -> Value {
    let Some(v) = v else {
        return Value::Null;
    };
    match (ty, v) {
        ("string", Value::String(s)) => s.clone().into(),
        ("string", other) => other.to_string().into(),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
        ("boolean", Value::Bool(b)) => (*b).into(),
        ("date", Value::String(t)) => match t.parse::<jiff::Timestamp>() {
            Ok(_) => format::since(t).into(),
            Err(_) => "<invalid>".into(),
        },
        _ => Value::Null,
    }
}

/// The row object as `includeObject` asks.
fn row_object(obj: &Value, include: Include, meta_api_version: &str) -> Value {
    match include {
        Include::None => Value::Null,
        Include::Metadata => super::negotiate::partial(obj, meta_api_version),
        Include::Object => obj.clone(),
    }
}

/// Converts `v` (an object or a `<Kind>List`) to a Table. `headers: false` leaves the column
/// definitions out (watch events after the first, kube's NoHeaders).
pub fn convert(
    info: &ResourceInfo,
    v: &Value,
    include: Include,
    meta_api_version: &str,
    headers: bool,
) -> Value {
    let is_list = v.get("items").is_some_and(Value::is_array)
        && v.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"));
    let objects: Vec<&Value> = if is_list {
        v["items"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    } else {
        vec![v]
    };
    let (columns, cells, printer): (Vec<Value>, RowCells, Option<&Printer>) = if info.custom {
        let cols = crd_columns(info);
        let mut defs = vec![name_and_created().0.clone()];
        let mut paths = Vec::new();
        for c in &cols {
            let path = c.get("jsonPath").and_then(Value::as_str).unwrap_or("");
            let description = match c.get("description").and_then(Value::as_str) {
                Some(d) if !d.is_empty() => d.to_owned(),
                _ => format!("Custom resource definition column (in JSONPath format): {path}"),
            };
            defs.push(col_json(
                c.get("name").and_then(Value::as_str).unwrap_or(""),
                c.get("type").and_then(Value::as_str).unwrap_or(""),
                c.get("format").and_then(Value::as_str).unwrap_or(""),
                &description,
                c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            ));
            paths.push((
                c.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                parse_path(path),
            ));
        }
        (
            defs,
            Box::new(move |o: &Value| {
                let mut row = vec![format::name(o)];
                for (ty, steps) in &paths {
                    row.push(match steps {
                        Some(steps) => crd_cell(ty, eval(o, steps)),
                        None => Value::Null,
                    });
                }
                row
            }),
            None,
        )
    } else {
        let printer =
            printers::for_resource(&info.group, &info.plural).unwrap_or(&printers::DEFAULT_TABLE);
        (
            printer.column_definitions().to_vec(),
            Box::new(printer.cells),
            Some(printer),
        )
    };
    let mut objects = objects;
    if let Some(order) = printer.and_then(|p| p.order) {
        objects.sort_by(|a, b| order(a, b));
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row =
                json!({"cells": cells(o), "object": row_object(o, include, meta_api_version)});
            if let Some(conditions) = printer.and_then(|p| p.conditions).and_then(|f| f(o)) {
                row["conditions"] = conditions;
            }
            row
        })
        .collect();
    let mut meta = serde_json::Map::new();
    let source_meta = v.get("metadata");
    for key in ["resourceVersion", "continue", "remainingItemCount"] {
        if let Some(x) = source_meta.and_then(|m| m.get(key)) {
            meta.insert(key.into(), x.clone());
        }
    }
    json!({
        "kind": "Table",
        "apiVersion": meta_api_version,
        "metadata": meta,
        "columnDefinitions": if headers { Value::Array(columns) } else { Value::Null },
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_cells_follow_the_declared_type() {
        let o = json!({"spec": {"size": 3, "tags": ["a"], "on": true, "m": {"k": "v"}}});
        let p = |s: &str| parse_path(s).unwrap();
        assert_eq!(crd_cell("integer", eval(&o, &p(".spec.size"))), json!(3));
        assert_eq!(crd_cell("string", eval(&o, &p(".spec.size"))), json!("3"));
        assert_eq!(
            crd_cell("string", eval(&o, &p(".spec.tags[0]"))),
            json!("a")
        );
        assert_eq!(
            crd_cell("boolean", eval(&o, &p(".spec['on']"))),
            json!(true)
        );
        assert_eq!(
            crd_cell("integer", eval(&o, &p(".spec.missing"))),
            Value::Null
        );
        assert_eq!(crd_cell("date", Some(&json!("nope"))), json!("<invalid>"));
    }

    #[test]
    fn include_object_is_validated() {
        assert_eq!(include(None).unwrap(), Include::Metadata);
        assert_eq!(include(Some("None")).unwrap(), Include::None);
        let e = include(Some("All")).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "Unable to convert to Table as requested: includeObject: Unsupported value: \"All\": supported values: \"Metadata\", \"None\", \"Object\""
        );
    }
}
