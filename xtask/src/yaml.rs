//! Small helpers over YAML values that several xtask modules need, kept in
//! one place.

use serde_yaml::Value;

/// Resolve `path` (keys, indexes, `name=<x>`) in `doc`.
pub fn field_mut<'v>(doc: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    let mut cur = doc;
    for part in path {
        cur = match (cur, part.strip_prefix("name="), part.parse::<usize>()) {
            (Value::Sequence(items), Some(n), _) => items
                .iter_mut()
                .find(|i| i.get("name").and_then(Value::as_str) == Some(n)),
            (Value::Sequence(items), None, Ok(i)) => items.get_mut(i),
            (Value::Mapping(m), None, _) => m.get_mut(part.as_str()),
            _ => None,
        }?;
    }
    Some(cur)
}

/// A mapping key as text: a string as it is, any other key as YAML.
pub fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A YAML value written in a unit test.
#[cfg(test)]
pub(crate) fn test_yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("test YAML")
}
