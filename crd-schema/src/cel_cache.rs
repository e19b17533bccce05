//! Keeps the syntax trees of compiled CRD validation rules between processes.
//!
//! Parsing a rule with cel's ANTLR parser costs about 4 M instructions the first time in a
//! process (the parser's prediction tables start empty in every process), far more than
//! evaluating it. A test run starts hundreds of processes that compile the same few rules, so
//! the API server can give this crate an [`ExpressionCache`] ([`keep_expressions_in`]): a rule
//! parsed once is stored as its syntax tree, macros expanded, and later processes read the tree
//! back instead of parsing.
//!
//! Only rules that parsed are stored; a rule that does not parse is parsed again and reports
//! its errors exactly as before. The stored form mirrors cel's AST node for node (every node
//! keeps its id), so a tree read back equals the parsed one (tested on a corpus of every node
//! kind); the cache key must change with the build, which the API server's cache ensures.

use std::sync::OnceLock;

use cel::IdedExpr;
use cel::common::ast::{
    CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedEntryExpr, ListExpr, LiteralValue,
    MapEntryExpr, MapExpr, SelectExpr, StructExpr, StructFieldExpr,
};
use serde::{Deserialize, Serialize};

/// Where the encoded syntax trees of parsed rules are kept, by the rule's source text.
/// Implementations must only ever cost the saving: a failed read is `None`, a failed write is
/// ignored.
pub trait ExpressionCache: Send + Sync {
    /// The bytes stored for `source` by this build, if any.
    fn load(&self, source: &str) -> Option<Vec<u8>>;
    /// Stores `encoded` for `source`.
    fn store(&self, source: &str, encoded: &[u8]);
}

static CACHE: OnceLock<Box<dyn ExpressionCache>> = OnceLock::new();

/// Makes every schema compiled in this process read and keep its rules' syntax trees in
/// `cache`. Process-wide; the first call wins and answers `true`.
pub fn keep_expressions_in(cache: Box<dyn ExpressionCache>) -> bool {
    CACHE.set(cache).is_ok()
}

/// The tree stored for `source`, if the cache has one that decodes.
pub(crate) fn load(source: &str) -> Option<IdedExpr> {
    let bytes = CACHE.get()?.load(source)?;
    serde_json::from_slice::<Node>(&bytes)
        .ok()
        .map(IdedExpr::from)
}

/// Stores the tree `source` parsed to, when a cache is set.
pub(crate) fn store(source: &str, expr: &IdedExpr) {
    if let Some(cache) = CACHE.get()
        && let Ok(bytes) = serde_json::to_vec(&Node::from(expr))
    {
        cache.store(source, &bytes);
    }
}

/// One node of the tree: its id and what it is.
#[derive(Serialize, Deserialize)]
struct Node(u64, Kind);

#[derive(Serialize, Deserialize)]
enum Kind {
    Unspecified,
    Call {
        func: String,
        target: Option<Box<Node>>,
        args: Vec<Node>,
    },
    Comprehension(Box<Comprehension>),
    Ident(String),
    List {
        elements: Vec<Node>,
        optional_indices: Vec<usize>,
    },
    Literal(Literal),
    Map(Vec<Entry>),
    Select {
        operand: Box<Node>,
        field: String,
        test: bool,
    },
    Struct {
        type_name: String,
        entries: Vec<Entry>,
    },
}

#[derive(Serialize, Deserialize)]
struct Comprehension {
    iter_range: Node,
    iter_var: String,
    iter_var2: Option<String>,
    accu_var: String,
    accu_init: Node,
    loop_cond: Node,
    loop_step: Node,
    result: Node,
}

#[derive(Serialize, Deserialize)]
struct Entry(u64, EntryKind);

#[derive(Serialize, Deserialize)]
enum EntryKind {
    Field {
        field: String,
        value: Node,
        optional: bool,
    },
    Map {
        key: Node,
        value: Node,
        optional: bool,
    },
}

#[derive(Serialize, Deserialize)]
enum Literal {
    Bool(bool),
    Bytes(Vec<u8>),
    /// The bits of the double, which round-trip exactly (JSON has no NaN or infinity).
    Double(u64),
    Int(i64),
    Null,
    String(String),
    UInt(u64),
}

impl From<&IdedExpr> for Node {
    fn from(e: &IdedExpr) -> Self {
        let kind = match &e.expr {
            Expr::Unspecified => Kind::Unspecified,
            Expr::Call(c) => Kind::Call {
                func: c.func_name.clone(),
                target: c.target.as_deref().map(|t| Box::new(Node::from(t))),
                args: c.args.iter().map(Node::from).collect(),
            },
            Expr::Comprehension(c) => Kind::Comprehension(Box::new(Comprehension {
                iter_range: Node::from(&c.iter_range),
                iter_var: c.iter_var.clone(),
                iter_var2: c.iter_var2.clone(),
                accu_var: c.accu_var.clone(),
                accu_init: Node::from(&c.accu_init),
                loop_cond: Node::from(&c.loop_cond),
                loop_step: Node::from(&c.loop_step),
                result: Node::from(&c.result),
            })),
            Expr::Ident(name) => Kind::Ident(name.clone()),
            Expr::List(l) => Kind::List {
                elements: l.elements.iter().map(Node::from).collect(),
                optional_indices: l.optional_indices.clone(),
            },
            Expr::Literal(lit) => Kind::Literal(match lit {
                LiteralValue::Boolean(b) => Literal::Bool(*b.inner()),
                LiteralValue::Bytes(b) => Literal::Bytes(b.inner().to_vec()),
                LiteralValue::Double(d) => Literal::Double(d.inner().to_bits()),
                LiteralValue::Int(i) => Literal::Int(*i.inner()),
                LiteralValue::Null => Literal::Null,
                LiteralValue::String(s) => Literal::String(s.inner().to_owned()),
                LiteralValue::UInt(u) => Literal::UInt(*u.inner()),
            }),
            Expr::Map(m) => Kind::Map(m.entries.iter().map(Entry::from).collect()),
            Expr::Select(s) => Kind::Select {
                operand: Box::new(Node::from(&*s.operand)),
                field: s.field.clone(),
                test: s.test,
            },
            Expr::Struct(s) => Kind::Struct {
                type_name: s.type_name.clone(),
                entries: s.entries.iter().map(Entry::from).collect(),
            },
        };
        Node(e.id, kind)
    }
}

impl From<&IdedEntryExpr> for Entry {
    fn from(e: &IdedEntryExpr) -> Self {
        let kind = match &e.expr {
            EntryExpr::StructField(f) => EntryKind::Field {
                field: f.field.clone(),
                value: Node::from(&f.value),
                optional: f.optional,
            },
            EntryExpr::MapEntry(m) => EntryKind::Map {
                key: Node::from(&m.key),
                value: Node::from(&m.value),
                optional: m.optional,
            },
        };
        Entry(e.id, kind)
    }
}

impl From<Node> for IdedExpr {
    fn from(Node(id, kind): Node) -> Self {
        let expr = match kind {
            Kind::Unspecified => Expr::Unspecified,
            Kind::Call { func, target, args } => Expr::Call(CallExpr {
                func_name: func,
                target: target.map(|t| Box::new(IdedExpr::from(*t))),
                args: args.into_iter().map(IdedExpr::from).collect(),
            }),
            Kind::Comprehension(c) => {
                let c = *c;
                Expr::Comprehension(Box::new(ComprehensionExpr {
                    iter_range: c.iter_range.into(),
                    iter_var: c.iter_var,
                    iter_var2: c.iter_var2,
                    accu_var: c.accu_var,
                    accu_init: c.accu_init.into(),
                    loop_cond: c.loop_cond.into(),
                    loop_step: c.loop_step.into(),
                    result: c.result.into(),
                }))
            }
            Kind::Ident(name) => Expr::Ident(name),
            Kind::List {
                elements,
                optional_indices,
            } => Expr::List(ListExpr::new_with_optionals(
                elements.into_iter().map(IdedExpr::from).collect(),
                optional_indices,
            )),
            Kind::Literal(lit) => Expr::Literal(match lit {
                Literal::Bool(b) => LiteralValue::Boolean(b.into()),
                Literal::Bytes(b) => LiteralValue::Bytes(b.into()),
                Literal::Double(bits) => LiteralValue::Double(f64::from_bits(bits).into()),
                Literal::Int(i) => LiteralValue::Int(i.into()),
                Literal::Null => LiteralValue::Null,
                Literal::String(s) => LiteralValue::String(s.into()),
                Literal::UInt(u) => LiteralValue::UInt(u.into()),
            }),
            Kind::Map(entries) => Expr::Map(MapExpr {
                entries: entries.into_iter().map(IdedEntryExpr::from).collect(),
            }),
            Kind::Select {
                operand,
                field,
                test,
            } => Expr::Select(SelectExpr {
                operand: Box::new(IdedExpr::from(*operand)),
                field,
                test,
            }),
            Kind::Struct { type_name, entries } => Expr::Struct(StructExpr {
                type_name,
                entries: entries.into_iter().map(IdedEntryExpr::from).collect(),
            }),
        };
        IdedExpr { id, expr }
    }
}

impl From<Entry> for IdedEntryExpr {
    fn from(Entry(id, kind): Entry) -> Self {
        let expr = match kind {
            EntryKind::Field {
                field,
                value,
                optional,
            } => EntryExpr::StructField(StructFieldExpr {
                field,
                value: value.into(),
                optional,
            }),
            EntryKind::Map {
                key,
                value,
                optional,
            } => EntryExpr::MapEntry(MapEntryExpr {
                key: key.into(),
                value: value.into(),
                optional,
            }),
        };
        IdedEntryExpr { id, expr }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rules covering every node and literal kind the parser produces, macros included.
    const CORPUS: &[&str] = &[
        "self == oldSelf",
        "self.replicas >= 0 && self.replicas <= 10 || !has(self.paused)",
        "self.items.all(i, i.name.startsWith('a')) && self.items.exists(i, i.n > 1u)",
        "self.items.exists_one(i, i.n == 1) ? self.items.map(i, i.n).size() : -1",
        "self.items.filter(i, i.n % 2 == 0).map(i, i.n * 2.5)",
        "self.m.all(k, v, v > 0)",
        "[1, 2, 3].map(x, x * x) == [1, 4, 9] && {'a': 1, 'b': 2}['a'] == 1",
        "b'\\x00\\xffbytes' != bytes('x') && 'caf\\u00e9\\n\\t\"quote\"' != ''",
        "1e300 * 1e300 > 0.0 && -0.0 == 0.0 && 1.5e-7 < 1.0 && 9223372036854775807 > 0 && 18446744073709551615u > 0u",
        "null == null && true != false && type(self) == map",
        "self.?optional.orValue('d') == 'd' && [?self.?x, 1].size() >= 1",
        "{?'k': self.?v}.size() >= 0",
        "google.protobuf.Duration{seconds: 1}.getSeconds() == 1",
        "'x' in ['x', 'y'] && self.s.matches('^[a-z]+$')",
        "duration('1h') < duration('2h') && timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')",
    ];

    fn parse(source: &str) -> IdedExpr {
        let env = crate::cel_rules::new_env();
        let mut parser = env.parser();
        if source.contains('?') {
            parser = parser.enable_optional_syntax(true);
        }
        parser
            .parse(source)
            .unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    #[test]
    fn a_stored_tree_reads_back_equal_to_the_parsed_one() {
        for source in CORPUS {
            let parsed = parse(source);
            let bytes = serde_json::to_vec(&Node::from(&parsed)).expect("encodes");
            let read: Node = serde_json::from_slice(&bytes).expect("decodes");
            assert_eq!(IdedExpr::from(read), parsed, "{source}");
        }
    }

    #[test]
    fn damaged_bytes_do_not_decode() {
        for bad in [&b""[..], b"[", b"[1]", b"[1,{\"Nope\":1}]", b"{\"a\":1}"] {
            assert!(serde_json::from_slice::<Node>(bad).is_err());
        }
    }
}
