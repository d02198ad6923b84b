//! Builders for the objects transforms generate: values, never YAML text
//! formatted from input (a name such as `a}b: c` must stay a name).

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

/// A mapping from `(key, value)` pairs, in order.
pub fn map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Mapping(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

/// A sequence of values.
pub fn seq(items: impl IntoIterator<Item = Value>) -> Value {
    Value::Sequence(items.into_iter().collect())
}

/// A sequence of strings.
pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    seq(items.into_iter().map(|s| Value::from(s.as_ref())))
}

/// A string-to-string mapping (labels, selectors), sorted by key.
pub fn string_map(m: &BTreeMap<String, String>) -> Mapping {
    m.iter()
        .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
        .collect()
}

/// `metadata`: labels (left out when empty), name, and namespace (left out
/// when `None`: the object then goes where Helm or Argo CD puts the release,
/// like the chart's own objects without a namespace).
pub fn metadata(name: &str, namespace: Option<&str>, labels: Option<&Mapping>) -> Mapping {
    let mut m = Mapping::new();
    if let Some(labels) = labels.filter(|l| !l.is_empty()) {
        m.insert("labels".into(), Value::Mapping(labels.clone()));
    }
    m.insert("name".into(), name.into());
    if let Some(ns) = namespace {
        m.insert("namespace".into(), ns.into());
    }
    m
}

/// An object: `apiVersion`, `kind`, `metadata` and (when given) `spec`.
pub fn object(api_version: &str, kind: &str, metadata: Mapping, spec: Option<Value>) -> Value {
    let mut m = Mapping::new();
    m.insert("apiVersion".into(), api_version.into());
    m.insert("kind".into(), kind.into());
    m.insert("metadata".into(), Value::Mapping(metadata));
    if let Some(spec) = spec {
        m.insert("spec".into(), spec);
    }
    Value::Mapping(m)
}

/// A label selector `{matchLabels: labels}`.
pub fn match_labels(labels: Mapping) -> Value {
    map([("matchLabels", Value::Mapping(labels))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_not_text() {
        let hostile = "a}b: c";
        let v = object(
            "v1",
            "ConfigMap",
            metadata(hostile, None, Some(&Mapping::new())),
            Some(map([("k", hostile.into()), ("l", strings([hostile]))])),
        );
        let text = serde_yaml::to_string(&v).unwrap();
        let back: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, v);
        assert_eq!(back["metadata"]["name"].as_str(), Some(hostile));
        assert!(back["metadata"].get("namespace").is_none());
        assert!(back["metadata"].get("labels").is_none());
    }
}
