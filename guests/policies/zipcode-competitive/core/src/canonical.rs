//! RFC 8785 canonical JSON for integer-only values (the same rules as the guest SDK's writer,
//! duplicated here so this crate builds natively without wit-bindgen).
//!
//! Object keys are sorted by UTF-16 code units, strings escaped per RFC 8785 section 3.2.2.2,
//! numbers are integers only. [`from_json`] converts parsed JSON, refusing any non-integer.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A JSON value restricted to what canonical documents need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A string.
    Str(String),
    /// An array, order preserved.
    Array(Vec<Value>),
    /// An object; output is sorted by key.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// Serializes to canonical JSON.
    pub fn to_canonical(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }

    /// Appends the canonical JSON of `self` to `out`.
    pub fn write_to(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Str(s) => write_string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_to(out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
                out.push('{');
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    if let Some(value) = map.get(*key) {
                        value.write_to(out);
                    }
                }
                out.push('}');
            }
        }
    }
}

/// Builds an object from `(key, value)` pairs.
pub fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A string value.
pub fn string(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// An optional string value (`null` when absent).
pub fn opt_string(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, string)
}

/// An optional integer value (`null` when absent).
pub fn opt_int<T: Into<i128> + Copy>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |v| Value::Int(v.into()))
}

/// Converts parsed JSON into a canonical value; any number that is not an integer (a float,
/// an exponent, a fraction) is refused with the path where it was found.
pub fn from_json(value: &serde_json::Value) -> Result<Value, String> {
    from_json_at(value, "$")
}

fn from_json_at(value: &serde_json::Value, path: &str) -> Result<Value, String> {
    Ok(match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::Int(i128::from(u))
            } else if let Some(i) = n.as_i64() {
                Value::Int(i128::from(i))
            } else {
                return Err(format!(
                    "{path}: {n} is not an integer (floats are not allowed)"
                ));
            }
        }
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| from_json_at(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_json_at(v, &format!("{path}.{k}"))?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_and_escapes() {
        let v = object([
            ("b", Value::Int(-1)),
            (
                "a",
                Value::Array(vec![Value::Null, Value::Bool(true), string("x\"\n\u{1}")]),
            ),
        ]);
        assert_eq!(
            v.to_canonical(),
            r#"{"a":[null,true,"x\"\n\u0001"],"b":-1}"#
        );
    }

    #[test]
    fn refuses_floats() {
        let parsed: serde_json::Value = serde_json::from_str(r#"{"a":[1.5]}"#).unwrap();
        assert!(from_json(&parsed).unwrap_err().contains("$.a[0]"));
        let parsed: serde_json::Value = serde_json::from_str(r#"{"a":1e3}"#).unwrap();
        assert!(from_json(&parsed).is_err());
    }
}
