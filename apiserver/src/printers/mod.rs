//! Server-side printers of built-in types: for each type kube-apiserver prints with a printer of
//! its own, the column definitions and a cell function, as `pkg/printers/internalversion`'s
//! `AddHandlers` registers them (and kube-aggregator's APIService convertor).
//!
//! Followed: `printers.go` as of Kubernetes 1.33 (read from a fork that tracks kubernetes master,
//! `yongruilin/kubernetes` at 144a798, the newest copy reachable here; the copy of
//! kubernetes/kubernetes stored here is older), and kube-aggregator's
//! `pkg/registry/apiservice/etcd/etcd.go` at 232ca68 (2026-07). The GA types' columns have not
//! changed since; printers of alpha/beta-only types are left out (they are not served here).
//!
//! kube-apiserver always prints with `GenerateOptions{Wide: true}` (`pkg/printers/storage`), so
//! every row has a cell for every column, priority-1 ("wide") ones included; kubectl hides those
//! without `-o wide`. Column descriptions that kube takes from a type's `SwaggerDoc()` are read
//! from the same documentation in k8s-openapi's schemas ([`Doc::Field`]), once per process.
//!
//! Not modelled: resource quantities print as stored (kube prints the canonical form of a parsed
//! `resource.Quantity`, e.g. `1536Mi` for `1.5Gi`; this server does not canonicalise them).

mod apps;
mod cluster;
mod core;
pub mod format;

use std::sync::OnceLock;

use k8s_openapi::schemars::{Schema, SchemaGenerator};
use serde_json::{Value, json};

/// Where a column's description comes from.
pub enum Doc {
    /// A description written in `printers.go` itself.
    Text(&'static str),
    /// A field's documentation (Go's `T{}.SwaggerDoc()[field]`): the type's schema and the field.
    Field(fn(&mut SchemaGenerator) -> Schema, &'static str),
}

/// `Doc::Field` of a k8s-openapi type.
macro_rules! field_doc {
    ($ty:ty, $field:literal) => {
        $crate::printers::Doc::Field(
            <$ty as k8s_openapi::schemars::JsonSchema>::json_schema,
            $field,
        )
    };
}
pub(crate) use field_doc;

/// One column definition (metav1.TableColumnDefinition).
pub struct Col {
    name: &'static str,
    ty: &'static str,
    format: &'static str,
    doc: Doc,
    /// 0 = always shown; 1 = shown by `kubectl get -o wide` only.
    priority: u8,
}

impl Col {
    /// A string column shown by default.
    pub const fn new(name: &'static str, doc: Doc) -> Self {
        Self {
            name,
            ty: "string",
            format: "",
            doc,
            priority: 0,
        }
    }

    /// The same column with another OpenAPI type (`integer`, `boolean`).
    pub const fn ty(mut self, ty: &'static str) -> Self {
        self.ty = ty;
        self
    }

    /// The same column shown by `-o wide` only (priority 1).
    pub const fn wide(mut self) -> Self {
        self.priority = 1;
        self
    }

    /// The same column with the `name` format (the column that identifies the row).
    pub const fn named(mut self) -> Self {
        self.format = "name";
        self
    }
}

/// The Name column every printer starts with (Events show it last, wide).
pub const NAME: Col = Col::new("Name", OBJECT_NAME).named();
/// The Age column.
pub const AGE: Col = Col::new("Age", CREATED);
/// metav1.ObjectMeta's `name` documentation.
pub const OBJECT_NAME: Doc = field_doc!(
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    "name"
);
/// metav1.ObjectMeta's `creationTimestamp` documentation.
pub const CREATED: Doc = field_doc!(
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    "creationTimestamp"
);
/// The wide Containers column of workload printers.
pub const CONTAINERS: Col = Col::new(
    "Containers",
    Doc::Text("Names of each container in the template."),
)
.wide();
/// The wide Images column of workload printers.
pub const IMAGES: Col = Col::new(
    "Images",
    Doc::Text("Images referenced by each container in the template."),
)
.wide();

/// The cells of one row, in column order.
pub type Cells = fn(&Value) -> Vec<Value>;

/// A type's printer: its columns and cell function, plus the row conditions kube adds (pods).
pub struct Printer {
    pub columns: &'static [Col],
    pub cells: Cells,
    pub conditions: Option<fn(&Value) -> Option<Value>>,
    /// Orders a list's rows (FlowSchemas print by precedence); None keeps the list's order.
    pub order: Option<fn(&Value, &Value) -> std::cmp::Ordering>,
    built: OnceLock<Vec<Value>>,
}

impl Printer {
    /// A printer with `columns` and `cells`.
    pub const fn new(columns: &'static [Col], cells: Cells) -> Self {
        Self {
            columns,
            cells,
            conditions: None,
            order: None,
            built: OnceLock::new(),
        }
    }

    /// The same printer adding row conditions (`metav1.TableRow.conditions`).
    pub const fn with_conditions(mut self, f: fn(&Value) -> Option<Value>) -> Self {
        self.conditions = Some(f);
        self
    }

    /// The same printer ordering a list's rows with `f`.
    pub const fn ordered(mut self, f: fn(&Value, &Value) -> std::cmp::Ordering) -> Self {
        self.order = Some(f);
        self
    }

    /// The column definitions as JSON (descriptions resolved once).
    pub fn column_definitions(&self) -> &[Value] {
        self.built.get_or_init(|| {
            let mut generator = SchemaGenerator::default();
            self.columns
                .iter()
                .map(|c| {
                    json!({
                        "name": c.name, "type": c.ty, "format": c.format,
                        "description": description(&c.doc, &mut generator),
                        "priority": c.priority,
                    })
                })
                .collect()
        })
    }
}

/// kube's default table convertor (`rest.NewDefaultTableConvertor`), for types without a
/// printer: the name and the creation time in RFC 3339 (UTC), as the convertor formats it.
pub static DEFAULT_TABLE: Printer =
    Printer::new(&[NAME, Col::new("Created At", CREATED).ty("date")], |o| {
        vec![
            format::name(o),
            format::s(o, "/metadata/creationTimestamp").into(),
        ]
    });

/// A column description: the text, or the field's documentation in the type's schema.
fn description(doc: &Doc, generator: &mut SchemaGenerator) -> String {
    match doc {
        Doc::Text(t) => (*t).to_owned(),
        Doc::Field(schema, field) => schema(generator)
            .as_value()
            .pointer(&format!("/properties/{field}/description"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The printer of a built-in resource, None for types kube prints with its default table.
pub fn for_resource(group: &str, plural: &str) -> Option<&'static Printer> {
    core::printer(group, plural)
        .or_else(|| apps::printer(group, plural))
        .or_else(|| cluster::printer(group, plural))
}

/// Every (group, plural) with a printer, for tests.
#[cfg(test)]
pub fn all() -> Vec<(&'static str, &'static str, &'static Printer)> {
    let mut out = Vec::new();
    for (g, p) in core::RESOURCES
        .iter()
        .chain(apps::RESOURCES)
        .chain(cluster::RESOURCES)
    {
        out.push((
            *g,
            *p,
            for_resource(g, p).expect("listed resources have printers"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_has_a_description_and_rows_fit_the_columns() {
        let empty = json!({"metadata": {"name": "x"}});
        for (g, p, printer) in all() {
            let defs = printer.column_definitions();
            for (d, c) in defs.iter().zip(printer.columns) {
                assert!(
                    matches!(c.doc, Doc::Text(_))
                        || !d["description"].as_str().unwrap_or_default().is_empty(),
                    "{g}/{p}: column {} has no description (a misspelt field?)",
                    d["name"]
                );
            }
            // An object with nothing set must print (Go's zero values), one cell per column.
            assert_eq!((printer.cells)(&empty).len(), defs.len(), "{g}/{p}");
        }
    }

    #[test]
    fn every_printed_resource_is_served() {
        let served: Vec<(&str, &str)> = crate::builtin::builtin_types()
            .into_iter()
            .map(|t| (t.group, t.plural))
            .collect();
        for (g, p, _) in all() {
            assert!(
                served.contains(&(g, p)),
                "{g}/{p} has a printer but is not served"
            );
        }
    }

    #[test]
    fn object_meta_descriptions_are_kubes() {
        let defs = for_resource("", "configmaps").unwrap().column_definitions();
        assert!(
            defs[0]["description"]
                .as_str()
                .unwrap()
                .starts_with("Name must be unique within a namespace."),
            "{}",
            defs[0]
        );
        assert!(
            defs[2]["description"]
                .as_str()
                .unwrap()
                .starts_with("CreationTimestamp is a timestamp representing the server time"),
        );
    }
}
