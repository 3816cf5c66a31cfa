//! Field conditions over a record's JSON (its `serde_json::Value`, cut down to the paths
//! the rules read: [`crate::project`]), so rules can test protocol fields without code
//! for each protocol.

use serde_json::Value;

/// One test on the values found at a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Some value equals this.
    Equals(Value),
    /// Some value is one of these.
    In(Vec<Value>),
    /// No value is one of these.
    NotIn(Vec<Value>),
    /// The path holds (true) or lacks (false) a non-null value.
    Exists(bool),
    /// Some value is a number greater than this.
    Gt(f64),
    /// Some value is a number less than this.
    Lt(f64),
    /// Some value is a string containing this (ASCII case-insensitive).
    Contains(String),
}

/// A condition: every test must hold on the values at `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    /// Dotted path split into keys; arrays on the way are searched element by element.
    pub path: Vec<String>,
    /// The tests.
    pub tests: Vec<Test>,
}

/// Collects the leaves at `path` (arrays are flattened at every step, and at the end).
pub fn leaves<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    // Bounded: JSON from our own records is shallow, but guard anyway.
    fn walk<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>, depth: u32) {
        if depth > 32 || out.len() > 4096 {
            return;
        }
        match (v, path.split_first()) {
            (Value::Array(a), _) => {
                for x in a {
                    walk(x, path, out, depth + 1);
                }
            }
            (_, None) => out.push(v),
            (Value::Object(m), Some((k, rest))) => {
                if let Some(x) = m.get(k.as_str()) {
                    walk(x, rest, out, depth + 1);
                }
            }
            _ => {}
        }
    }
    walk(v, path, out, 0);
}

/// Loose equality: numbers by value, strings ASCII case-insensitively, a numeric string
/// equal to a number.
pub fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.trim().parse::<f64>().ok() == n.as_f64()
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

impl Test {
    fn holds(&self, vals: &[&Value]) -> bool {
        let present = || vals.iter().filter(|v| !v.is_null());
        match self {
            Test::Equals(x) => vals.iter().any(|v| loose_eq(v, x)),
            Test::In(set) => vals.iter().any(|v| set.iter().any(|x| loose_eq(v, x))),
            Test::NotIn(set) => !vals.iter().any(|v| set.iter().any(|x| loose_eq(v, x))),
            Test::Exists(want) => present().next().is_some() == *want,
            Test::Gt(n) => present().any(|v| v.as_f64().is_some_and(|x| x > *n)),
            Test::Lt(n) => present().any(|v| v.as_f64().is_some_and(|x| x < *n)),
            Test::Contains(s) => present().any(|v| {
                v.as_str()
                    .is_some_and(|t| t.to_ascii_lowercase().contains(&s.to_ascii_lowercase()))
            }),
        }
    }
}

impl Cond {
    /// Whether every test holds on `record`.
    pub fn holds(&self, record: &Value) -> bool {
        let mut vals = Vec::new();
        leaves(record, &self.path, &mut vals);
        self.tests.iter().all(|t| t.holds(&vals))
    }
}

/// A string for a value found at a path (first leaf; arrays joined by commas).
pub fn text_at(record: &Value, path: &[String]) -> Option<String> {
    let mut vals = Vec::new();
    leaves(record, path, &mut vals);
    let parts: Vec<String> = vals
        .iter()
        .filter(|v| !v.is_null())
        .take(16)
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn conditions() {
        let r =
            json!({"sub_function": 4, "objects": [{"group": 12}, {"group": 70}], "user": "bob"});
        let c = |path: &str, t: Test| Cond {
            path: p(path),
            tests: vec![t],
        };
        assert!(c("sub_function", Test::In(vec![json!(1), json!(4)])).holds(&r));
        assert!(!c("sub_function", Test::NotIn(vec![json!(4)])).holds(&r));
        assert!(c("objects.group", Test::Equals(json!(70))).holds(&r));
        assert!(c("objects.group", Test::Gt(69.0)).holds(&r));
        assert!(!c("objects.group", Test::Lt(10.0)).holds(&r));
        assert!(c("user", Test::Exists(true)).holds(&r));
        assert!(c("password", Test::Exists(false)).holds(&r));
        assert!(c("user", Test::Contains("BO".into())).holds(&r));
        assert!(c("user", Test::Equals(json!("BOB"))).holds(&r));
        assert_eq!(text_at(&r, &p("objects.group")).as_deref(), Some("12,70"));
    }
}
