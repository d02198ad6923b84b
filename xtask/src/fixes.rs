//! Upstream defects the charts fix (`fixes:` in catalog/components.yaml).
//!
//! A fix adds one field that upstream's object lacks, in every variant's version
//! of that object, because without it the object breaks an install or an upgrade
//! that a user runs with the chart (Katib's pod webhook admitting katib-controller's
//! own pod, kubeflow/katib#1261). Only a field upstream does not set can be
//! added: when upstream starts to set it, the sync fails and the fix is reviewed
//! instead of silently overriding upstream's choice. Every fix is a parity
//! difference listed with its reason in `parity/allowlist.yaml`; a declaration
//! that matches no object fails the sync.

use crate::upstream::ResKey;
use crate::yaml::field_mut;
use anyhow::{bail, Result};
use serde::Deserialize;
use serde_yaml::Value;

/// One fix: the object (every variant's version of kind/name), the field it adds
/// and why.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FixSpec {
    pub kind: String,
    pub name: String,
    /// Path of the added field: mapping keys, list indexes or `name=<x>` (the
    /// list item whose `name` is x: webhooks, containers); the last is the key
    /// added to the mapping its parent path names.
    pub field: Vec<String>,
    pub value: Value,
    /// The defect, with the upstream issue when there is one.
    pub reason: String,
}

/// Applies the fixes that name `key`'s kind and name to `doc`; returns their
/// indexes (an unused declaration is an error of the caller's).
pub fn apply(specs: &[FixSpec], key: &ResKey, doc: &mut Value, place: &str) -> Result<Vec<usize>> {
    let mut used = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        if spec.kind != key.kind || spec.name != key.name {
            continue;
        }
        let path = spec.field.join(".");
        let Some((added, parent)) = spec.field.split_last() else {
            bail!("{place}: fixes entry has an empty field path");
        };
        let Some(Value::Mapping(parent)) = field_mut(doc, parent) else {
            bail!("{place}: fixes field {path}: its parent is not a mapping of the object");
        };
        if let Some(upstream) = parent.get(added.as_str()) {
            bail!(
                "{place}: fixes field {path}: upstream now sets it ({}); review the fix and remove it if upstream's value is right",
                serde_yaml::to_string(upstream)
                    .unwrap_or_default()
                    .trim()
                    .replace('\n', " ")
            );
        }
        parent.insert(Value::from(added.as_str()), spec.value.clone());
        used.push(i);
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::test_yaml;

    const WEBHOOK: &str = "kind: MutatingWebhookConfiguration\nmetadata: {name: katib.kubeflow.org}\nwebhooks:\n- {name: defaulter.experiment.katib.kubeflow.org}\n- {name: mutator.pod.katib.kubeflow.org, namespaceSelector: {matchLabels: {a: b}}}\n";

    fn fix(field: &[&str]) -> FixSpec {
        FixSpec {
            kind: "MutatingWebhookConfiguration".into(),
            name: "katib.kubeflow.org".into(),
            field: field.iter().map(|s| s.to_string()).collect(),
            value: test_yaml(
                "{matchExpressions: [{key: c, operator: NotIn, values: [controller]}]}",
            ),
            reason: "test".into(),
        }
    }

    #[test]
    fn fixes_add_their_field_or_fail_naming_it() {
        let selector = [
            "webhooks",
            "name=mutator.pod.katib.kubeflow.org",
            "objectSelector",
        ];
        let cases: &[(&str, &str, FixSpec, Result<&str, &str>)] = &[
            (
                "adds the field to the list item it names, nothing else",
                WEBHOOK,
                fix(&selector),
                Ok("kind: MutatingWebhookConfiguration\nmetadata: {name: katib.kubeflow.org}\nwebhooks:\n- {name: defaulter.experiment.katib.kubeflow.org}\n- {name: mutator.pod.katib.kubeflow.org, namespaceSelector: {matchLabels: {a: b}}, objectSelector: {matchExpressions: [{key: c, operator: NotIn, values: [controller]}]}}\n"),
            ),
            (
                "another object is left alone",
                "kind: MutatingWebhookConfiguration\nmetadata: {name: other}\nwebhooks: []\n",
                fix(&selector),
                Ok("kind: MutatingWebhookConfiguration\nmetadata: {name: other}\nwebhooks: []\n"),
            ),
            (
                "upstream setting the field itself fails the sync",
                "kind: MutatingWebhookConfiguration\nmetadata: {name: katib.kubeflow.org}\nwebhooks:\n- {name: mutator.pod.katib.kubeflow.org, objectSelector: {}}\n",
                fix(&selector),
                Err("fixes field webhooks.name=mutator.pod.katib.kubeflow.org.objectSelector: upstream now sets it ({})"),
            ),
            (
                "a path to nothing fails naming it",
                WEBHOOK,
                fix(&["webhooks", "name=mutator.pod.example.org", "objectSelector"]),
                Err("fixes field webhooks.name=mutator.pod.example.org.objectSelector: its parent is not a mapping"),
            ),
        ];
        for (what, input, spec, want) in cases {
            let mut doc = test_yaml(input);
            let key = ResKey::of(&doc).unwrap();
            let got = apply(std::slice::from_ref(spec), &key, &mut doc, "place");
            match (want, got) {
                (Ok(out), Ok(used)) => {
                    assert_eq!(doc, test_yaml(out), "{what}");
                    assert_eq!(used.len(), usize::from(key.name == spec.name), "{what}");
                }
                (Err(msg), Err(e)) => {
                    let e = format!("{e:#}");
                    assert!(e.starts_with("place: ") && e.contains(msg), "{what}: {e}");
                }
                (want, got) => panic!("{what}: want {want:?}, got {got:?}"),
            }
        }
    }
}
