//! The cheap part of Kubernetes' own CEL libraries, which cel 0.15 does not ship.
//!
//! From k8s.io/apiserver/pkg/cel/library: the lists library (`isSorted`, `sum`, `min`, `max`,
//! `indexOf`, `lastIndexOf` on lists) and the regex library (`find`, `findAll`). Values are
//! converted to `cel::Value` to work on them; lists in rules are small, so the copy is cheap.

use std::cmp::Ordering;
use std::sync::Arc;

use cel::common::types::{DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{Env, ExecutionError, Value};

pub(crate) fn register(env: &mut Env) -> Result<(), cel::DeclarationError> {
    env.add_member_overload("isSorted", "list_is_sorted", LIST_TYPE, vec![], is_sorted)?;
    env.add_member_overload("sum", "list_sum", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "list_min", LIST_TYPE, vec![], min)?;
    env.add_member_overload("max", "list_max", LIST_TYPE, vec![], max)?;
    env.add_member_overload(
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    env.add_member_overload(
        "find",
        "string_find_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_all,
    )?;
    env.add_member_overload(
        "findAll",
        "string_find_all_string_int",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        find_all_n,
    )?;
    Ok(())
}

fn values<'b, 'v>(args: &[CowVal<'b, 'v>]) -> Result<Vec<Value>, ExecutionError> {
    args.iter().map(|a| Value::try_from(a.as_ref())).collect()
}

fn out<'b, 'v>(v: Value) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let boxed: Box<dyn Val> = Box::<dyn Val>::try_from(v)?;
    Ok(CowVal::Owned(boxed))
}

fn list(v: &Value, function: &str) -> Result<Arc<Vec<Value>>, ExecutionError> {
    match v {
        Value::List(l) => Ok(l.clone()),
        other => Err(ExecutionError::function_error(
            function,
            format!("expected a list, got {:?}", other.type_of()),
        )),
    }
}

fn compare(a: &Value, b: &Value, function: &str) -> Result<Ordering, ExecutionError> {
    a.partial_cmp(b)
        .ok_or_else(|| ExecutionError::function_error(function, "list elements are not comparable"))
}

fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    let l = list(&a[0], "isSorted")?;
    for w in l.windows(2) {
        if compare(&w[0], &w[1], "isSorted")? == Ordering::Greater {
            return out(Value::Bool(false));
        }
    }
    out(Value::Bool(true))
}

fn sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    let l = list(&a[0], "sum")?;
    let mut total: Option<Value> = None;
    for x in l.iter() {
        total = Some(match (total, x) {
            (None, x) => x.clone(),
            (Some(Value::Int(t)), Value::Int(i)) => Value::Int(
                t.checked_add(*i)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Some(Value::UInt(t)), Value::UInt(i)) => Value::UInt(
                t.checked_add(*i)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Some(Value::Float(t)), Value::Float(f)) => Value::Float(t + f),
            (Some(Value::Duration(t)), Value::Duration(d)) => Value::Duration(t + *d),
            _ => {
                return Err(ExecutionError::function_error(
                    "sum",
                    "list elements must all be numbers or durations of one type",
                ));
            }
        });
    }
    out(total.unwrap_or(Value::Int(0)))
}

fn extreme<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    function: &str,
    keep: Ordering,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    let l = list(&a[0], function)?;
    let mut best: Option<&Value> = None;
    for x in l.iter() {
        best = match best {
            Some(b) if compare(x, b, function)? != keep => Some(b),
            _ => Some(x),
        };
    }
    match best {
        Some(b) => out(b.clone()),
        None => Err(ExecutionError::function_error(
            function,
            format!("{function} called on empty list"),
        )),
    }
}

fn min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme(args, "min", Ordering::Less)
}

fn max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    extreme(args, "max", Ordering::Greater)
}

fn index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    let l = list(&a[0], "indexOf")?;
    let i = l.iter().position(|x| *x == a[1]).map_or(-1, |i| i as i64);
    out(Value::Int(i))
}

fn last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    let l = list(&a[0], "lastIndexOf")?;
    let i = l.iter().rposition(|x| *x == a[1]).map_or(-1, |i| i as i64);
    out(Value::Int(i))
}

fn strings<'a>(a: &'a [Value], function: &str) -> Result<(&'a str, regex::Regex), ExecutionError> {
    match (&a[0], &a[1]) {
        (Value::String(s), Value::String(re)) => {
            let re =
                regex::Regex::new(re).map_err(|e| ExecutionError::function_error(function, e))?;
            Ok((s.as_str(), re))
        }
        _ => Err(ExecutionError::function_error(
            function,
            "expected a string and a regular expression",
        )),
    }
}

fn find<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    let (s, re) = strings(&a, "find")?;
    out(Value::String(Arc::new(
        re.find(s)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
    )))
}

fn find_all_limited<'b, 'v>(
    a: &[Value],
    limit: Option<usize>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (s, re) = strings(a, "findAll")?;
    let found: Vec<Value> = re
        .find_iter(s)
        .take(limit.unwrap_or(usize::MAX))
        .map(|m| Value::String(Arc::new(m.as_str().to_string())))
        .collect();
    out(Value::List(Arc::new(found)))
}

fn find_all<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    find_all_limited(&a, None)
}

fn find_all_n<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let a = values(&args)?;
    // A negative limit means all matches, as in Go's FindAllString.
    let limit = match a.get(2) {
        Some(Value::Int(n)) if *n >= 0 => Some(*n as usize),
        _ => None,
    };
    find_all_limited(&a, limit)
}
