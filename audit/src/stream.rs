//! Parsing a rendered stream into objects with their position.
//!
//! The audit's own reader (and its messages), not kf-post's `kf_post::stream`:
//! the audit checks the engine's output, so it must not share the engine's
//! reader (see the crate docs).

use serde_yaml::Value;

/// One Kubernetes object of the stream.
#[derive(Debug, Clone)]
pub struct Object {
    /// Zero-based position among the non-empty documents of the stream.
    pub index: usize,
    pub value: Value,
}

impl Object {
    pub fn kind(&self) -> &str {
        str_at(&self.value, &["kind"]).unwrap_or("")
    }
    pub fn api_version(&self) -> &str {
        str_at(&self.value, &["apiVersion"]).unwrap_or("")
    }
    pub fn name(&self) -> &str {
        str_at(&self.value, &["metadata", "name"]).unwrap_or("")
    }
    /// The namespace written in the object; `None` for cluster-scoped objects and
    /// for namespaced objects that rely on the release namespace.
    pub fn namespace(&self) -> Option<&str> {
        str_at(&self.value, &["metadata", "namespace"])
    }
}

/// Follows a path of mapping keys.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// A sequence at `path`, or an empty slice when absent or of another type.
pub fn seq_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Parses every document; empty documents (comments only, `---` separators) are
/// skipped. A document that is not a mapping is an error naming its position,
/// because silently skipping it would hide objects from the audit.
pub fn parse(input: &str) -> Result<Vec<Object>, String> {
    let mut objects = Vec::new();
    for (position, doc) in serde_yaml::Deserializer::from_str(input).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| format!("document {position}: {e}"))?;
        match value {
            Value::Null => continue,
            Value::Mapping(_) => objects.push(Object {
                index: objects.len(),
                value,
            }),
            other => {
                return Err(format!(
                    "document {position}: expected a mapping, found {}",
                    type_name(&other)
                ))
            }
        }
    }
    Ok(objects)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

use serde::Deserialize;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documents_and_skips_empty_ones() {
        let cases: &[(&str, Result<Vec<&str>, &str>)] = &[
            ("", Ok(vec![])),
            ("# only a comment\n", Ok(vec![])),
            ("kind: A\n---\n---\nkind: B\n", Ok(vec!["A", "B"])),
            ("---\n# Source: x\nkind: Pod\n", Ok(vec!["Pod"])),
            (
                "kind: A\n---\n- a list\n",
                Err("document 1: expected a mapping"),
            ),
            ("kind: [\n", Err("document 0:")),
        ];
        for (input, want) in cases {
            let got = parse(input).map(|objs| {
                objs.iter()
                    .map(|o| o.kind().to_string())
                    .collect::<Vec<_>>()
            });
            match (got, want) {
                (Ok(kinds), Ok(want)) => assert_eq!(&kinds, want, "input {input:?}"),
                (Err(e), Err(prefix)) => assert!(e.starts_with(prefix), "input {input:?}: {e}"),
                (got, want) => panic!("input {input:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
