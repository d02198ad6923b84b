//! `labels`: common labels (and annotations) on every object, never on
//! selectors.
//!
//! Selectors (`spec.selector`, `matchLabels`, a Service's `spec.selector`) are
//! immutable on most workloads: changing them makes every `helm upgrade` fail,
//! so this transform only ever writes `metadata.labels`/`metadata.annotations`
//! and, when `podTemplates` is on, the pod template's `metadata.labels` (which
//! restarts pods once but never changes what selects them).
//!
//! Configuration reference (every field, its type, default and an example):
//! the `labels` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.
//!
//! An object opts out with the annotation `kf-post.kubeflow.org/labels: skip`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::document::{mapping_entry_in, Document};
use crate::error::{Error, Result};
use crate::pods;
use crate::transforms::Filter;

const NAME: &str = "labels";
const OPT_OUT: &str = crate::annotations::LABELS.key;

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "LabelsConfig")]
pub struct Config {
    /// Labels set on every object's `metadata.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations set on every object's `metadata.annotations`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Also label pod templates of workloads (not their selectors).
    #[serde(default)]
    pub pod_templates: bool,
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        if self.labels.is_empty() && self.annotations.is_empty() {
            return Ok(docs);
        }
        for doc in &mut docs {
            match doc.annotation(OPT_OUT) {
                None => {}
                Some("skip") => continue,
                Some(other) => {
                    return Err(Error::Field {
                        doc: doc.doc_ref(),
                        field: format!("metadata.annotations.{OPT_OUT}"),
                        message: format!("expected \"skip\", got {other:?}"),
                    })
                }
            }
            for (k, v) in &self.labels {
                doc.set_label(NAME, k, v);
            }
            for (k, v) in &self.annotations {
                doc.set_annotation(NAME, k, v);
            }
            if self.pod_templates && !self.labels.is_empty() {
                self.label_pod_template(doc);
            }
        }
        Ok(docs)
    }
}

impl Config {
    fn label_pod_template(&self, doc: &mut Document) {
        let Some(field) = pods::field(doc, "metadata.labels") else {
            return;
        };
        doc.edit(NAME, |v, changes| {
            let Some(template) = pods::template_mut(v) else {
                return;
            };
            let labels = mapping_entry_in(mapping_entry_in(template, "metadata"), "labels");
            for (k, v) in &self.labels {
                if labels.get(k.as_str()).and_then(|x| x.as_str()) != Some(v.as_str()) {
                    labels.insert(k.as_str().into(), v.as_str().into());
                    changes.push(format!("set {field}.{k}={v}"));
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::{run_config, test_documents};
    use serde_yaml::Value;

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels: {app: d}\nspec:\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers: [{name: c, image: i}]\n";
    const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: d}\n  ports: [{port: 80}]\n";

    fn run(config: &str, doc: &str) -> Result<Document> {
        Ok(run_config::<Config>(config, test_documents(&[doc]))?.remove(0))
    }

    fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
        path.iter().fold(v, |v, k| &v[*k])
    }

    #[test]
    fn labels_metadata_never_selectors() {
        // (config, document, path, expected value at path)
        let cases: &[(&str, &str, &[&str], Option<&str>)] = &[
            ("{labels: {team: ml}}", DEPLOY, &["metadata", "labels", "team"], Some("ml")),
            ("{labels: {team: ml}}", DEPLOY, &["spec", "selector", "matchLabels", "team"], None),
            ("{labels: {team: ml}}", DEPLOY, &["spec", "template", "metadata", "labels", "team"], None),
            ("{labels: {team: ml}, podTemplates: true}", DEPLOY, &["spec", "template", "metadata", "labels", "team"], Some("ml")),
            ("{labels: {team: ml}, podTemplates: true}", DEPLOY, &["spec", "selector", "matchLabels", "team"], None),
            ("{labels: {team: ml}, podTemplates: true}", SVC, &["spec", "selector", "team"], None),
            ("{labels: {team: ml}}", SVC, &["metadata", "labels", "team"], Some("ml")),
            ("{labels: {app: other}}", DEPLOY, &["metadata", "labels", "app"], Some("other")),
            ("{annotations: {owner: me}}", SVC, &["metadata", "annotations", "owner"], Some("me")),
            (
                "{labels: {team: ml}}",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {kf-post.kubeflow.org/labels: skip}\n",
                &["metadata", "labels", "team"],
                None,
            ),
        ];
        for (config, doc, path, want) in cases {
            let d = run(config, doc).unwrap();
            assert_eq!(
                at(d.value(), path).as_str(),
                *want,
                "{config} on {doc} at {path:?}"
            );
        }
    }

    #[test]
    fn default_is_noop_and_reapplying_changes_nothing() {
        assert!(!run("{}", DEPLOY).unwrap().is_touched());
        let once = run("{labels: {team: ml}, podTemplates: true}", DEPLOY).unwrap();
        assert_eq!(once.changes().len(), 2);
        let c: Config = serde_yaml::from_str("{labels: {team: ml}, podTemplates: true}").unwrap();
        let mut again = once.clone();
        again.forget_changes();
        let again = c.filter(vec![again]).unwrap().remove(0);
        assert!(!again.is_touched());
    }

    #[test]
    fn bad_opt_out_value_is_an_error() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {kf-post.kubeflow.org/labels: 'no'}\n";
        let e = run("{labels: {a: b}}", doc).unwrap_err().to_string();
        assert!(
            e.contains("ConfigMap/c: field `metadata.annotations.kf-post.kubeflow.org/labels`"),
            "{e}"
        );
    }
}
