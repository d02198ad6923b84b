//! Immutable fields kept across Kubeflow releases (`keepImmutable:` in
//! catalog/components.yaml).
//!
//! Kubernetes refuses to change some fields of a live object: a workload's
//! `spec.selector`, a StatefulSet's `volumeClaimTemplates`, a binding's
//! `roleRef`, a Secret's `type`. When a newer upstream release changes one, a
//! `helm upgrade` from the older release fails on that object. A declaration
//! keeps the field as the older release (`since`) had it, in every variant of
//! the chart, for new installs too, so one chart works for both. Each kept
//! field is a parity difference listed in `parity/allowlist.yaml`, and
//! `xtask/tests/releases.rs` fails when a supported older release differs from
//! this one in an immutable field that no declaration keeps.
//!
//! A kept selector must still select the pods of the new pod template (its
//! labels a subset of the template's), or the sync fails.

use crate::upstream::ResKey;
use anyhow::{bail, Result};
use serde::Deserialize;
use serde_yaml::Value;

/// Fields Kubernetes does not let an update change, per kind.
pub const IMMUTABLE_FIELDS: &[(&str, &[&str])] = &[
    ("Deployment", &["spec.selector"]),
    ("DaemonSet", &["spec.selector"]),
    ("ReplicaSet", &["spec.selector"]),
    (
        "StatefulSet",
        &[
            "spec.selector",
            "spec.serviceName",
            "spec.podManagementPolicy",
            "spec.volumeClaimTemplates",
        ],
    ),
    ("Job", &["spec.selector", "spec.template"]),
    ("RoleBinding", &["roleRef"]),
    ("ClusterRoleBinding", &["roleRef"]),
    ("Secret", &["type"]),
    (
        "PersistentVolumeClaim",
        &[
            "spec.accessModes",
            "spec.storageClassName",
            "spec.volumeName",
        ],
    ),
];

/// The immutable fields of `kind` (dotted paths), empty for other kinds.
pub fn fields_of(kind: &str) -> &'static [&'static str] {
    IMMUTABLE_FIELDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, f)| f)
}

/// One kept field: the object (every variant's version of kind/name), the
/// field, the value it keeps, the release that had it and why.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct KeepSpec {
    pub kind: String,
    pub name: String,
    /// Dotted path, one of [`IMMUTABLE_FIELDS`] for the kind.
    pub field: String,
    pub value: Value,
    /// The older release whose value is kept (`1.11.0`).
    pub since: String,
    pub reason: String,
}

/// Looks up a dotted path.
pub fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, key| v.get(key))
}

/// Applies the declarations that name `key`'s kind and name to `doc`; returns
/// their indexes (an unused declaration is an error of the caller's).
pub fn keep(specs: &[KeepSpec], key: &ResKey, doc: &mut Value, place: &str) -> Result<Vec<usize>> {
    let kind = key.kind.as_str();
    let mine: Vec<(usize, &KeepSpec)> = specs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == key.kind && s.name == key.name)
        .collect();
    for (_, spec) in &mine {
        if !fields_of(kind).contains(&spec.field.as_str()) {
            bail!(
                "{place}: keepImmutable field {} is not an immutable field of a {kind} ({})",
                spec.field,
                fields_of(kind).join(", ")
            );
        }
        if spec.field == "spec.selector" {
            check_selects_pods(doc, &spec.value, place)?;
        }
        let (parent, key) = match spec.field.rsplit_once('.') {
            Some((parent, key)) => (get_mut(doc, parent), key),
            None => (Some(&mut *doc), spec.field.as_str()),
        };
        let Some(Value::Mapping(parent)) = parent else {
            bail!("{place}: keepImmutable field {}: no such field", spec.field);
        };
        parent.insert(Value::from(key), spec.value.clone());
    }
    Ok(mine.into_iter().map(|(i, _)| i).collect())
}

fn get_mut<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(doc, |v, key| v.get_mut(key))
}

/// A kept selector (matchLabels only) must select the new pod template.
fn check_selects_pods(doc: &Value, selector: &Value, place: &str) -> Result<()> {
    let labels = get(doc, "spec.template.metadata.labels");
    let Some(Value::Mapping(wanted)) = selector.get("matchLabels") else {
        bail!("{place}: keepImmutable spec.selector: give the kept selector's matchLabels");
    };
    if selector.as_mapping().map_or(0, |m| m.len()) != 1 {
        bail!("{place}: keepImmutable spec.selector: only matchLabels can be kept");
    }
    for (k, v) in wanted {
        if labels.and_then(|l| l.get(k)) != Some(v) {
            bail!(
                "{place}: keepImmutable spec.selector: the pod template has no label {}={} (the kept selector would not select the pods)",
                k.as_str().unwrap_or("?"),
                v.as_str().unwrap_or("?")
            );
        }
    }
    Ok(())
}

/// An immutable field that differs between two releases' version of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub field: &'static str,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The immutable fields that differ between the objects `old` and `new` have in
/// common (same kind, namespace and name).
pub fn changes(old: &[Value], new: &[Value]) -> Vec<Change> {
    let old: std::collections::HashMap<ResKey, &Value> = old
        .iter()
        .filter_map(|d| Some((ResKey::of(d).ok()?, d)))
        .collect();
    let mut out = Vec::new();
    for n in new {
        let Ok(key) = ResKey::of(n) else { continue };
        let Some(o) = old.get(&key) else { continue };
        for &field in fields_of(&key.kind) {
            let (before, after) = (get(o, field), get(n, field));
            if before != after {
                out.push(Change {
                    kind: key.kind.clone(),
                    namespace: key.namespace.clone(),
                    name: key.name.clone(),
                    field,
                    old: before.cloned(),
                    new: after.cloned(),
                });
            }
        }
    }
    out
}

/// The declaration that keeps `change`'s old value, if one does.
pub fn kept_by(specs: &[KeepSpec], change: &Change) -> Option<usize> {
    specs.iter().position(|k| {
        k.kind == change.kind
            && k.name == change.name
            && k.field == change.field
            && change.old.as_ref() == Some(&k.value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "kind: Deployment\nmetadata: {name: jobset-controller-manager}\nspec:\n  selector: {matchLabels: {control-plane: controller-manager, app.kubernetes.io/name: jobset}}\n  template: {metadata: {labels: {control-plane: controller-manager, app.kubernetes.io/name: jobset}}}\n";

    fn spec(field: &str, value: &str) -> KeepSpec {
        KeepSpec {
            kind: "Deployment".into(),
            name: "jobset-controller-manager".into(),
            field: field.into(),
            value: serde_yaml::from_str(value).unwrap(),
            since: "1.11.0".into(),
            reason: "test".into(),
        }
    }

    #[test]
    fn keep_cases() {
        // (declared field, declared value, Ok(kept selector) or Err(part of the message))
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            (
                "spec.selector",
                "{matchLabels: {control-plane: controller-manager}}",
                Ok("{matchLabels: {control-plane: controller-manager}}"),
            ),
            (
                "spec.selector",
                "{matchLabels: {control-plane: other}}",
                Err("the pod template has no label control-plane=other"),
            ),
            (
                "spec.selector",
                "{matchExpressions: []}",
                Err("give the kept selector's matchLabels"),
            ),
            (
                "spec.replicas",
                "1",
                Err("not an immutable field of a Deployment"),
            ),
        ];
        for (field, value, want) in cases {
            let mut doc: Value = serde_yaml::from_str(DEPLOYMENT).unwrap();
            let key = ResKey::of(&doc).unwrap();
            let got = keep(&[spec(field, value)], &key, &mut doc, "test");
            match want {
                Ok(selector) => {
                    assert_eq!(got.unwrap(), vec![0], "{field} {value}");
                    let want: Value = serde_yaml::from_str(selector).unwrap();
                    assert_eq!(get(&doc, "spec.selector"), Some(&want), "{field} {value}");
                }
                Err(message) => {
                    let e = got.unwrap_err().to_string();
                    assert!(e.contains(message), "{field} {value}: {e}");
                }
            }
        }
    }

    #[test]
    fn changes_names_immutable_fields_only() {
        let docs = |text: &str| crate::upstream::parse_stream(text).unwrap();
        let old = docs("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: n}\nspec: {replicas: 1, selector: {matchLabels: {x: y}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\ntype: Opaque\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: gone, namespace: n}\nroleRef: {name: r}\n");
        let new = docs("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: n}\nspec: {replicas: 2, selector: {matchLabels: {x: y, z: w}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\ntype: kubernetes.io/tls\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: other}\nspec: {selector: {}}\n");
        let got: Vec<(String, &str)> = changes(&old, &new)
            .into_iter()
            .map(|c| (format!("{}/{}/{}", c.kind, c.namespace, c.name), c.field))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Deployment/n/a".to_string(), "spec.selector"),
                ("Secret/n/s".to_string(), "type"),
            ]
        );
    }

    #[test]
    fn other_objects_are_left_alone() {
        let mut doc: Value = serde_yaml::from_str(DEPLOYMENT).unwrap();
        let before = doc.clone();
        let mut other = spec("spec.selector", "{matchLabels: {x: y}}");
        other.name = "another".into();
        let key = ResKey::of(&doc).unwrap();
        assert!(keep(&[other], &key, &mut doc, "test").unwrap().is_empty());
        assert_eq!(doc, before);
    }
}
