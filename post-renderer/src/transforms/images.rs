//! `images`: registry mirrors, tag→digest pinning, imagePullSecrets.
//!
//! Configuration reference (every field, its type, default and an example):
//! the `images` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.
//!
//! Image references are normalised the way container runtimes do (`nginx:1.2`
//! is `docker.io/library/nginx:1.2`), so a `docker.io` mirror also catches
//! short names. Digests are looked up (before mirroring) by the reference as
//! written or normalised; an image that already has a digest keeps it. The
//! longest matching mirror prefix wins, matched on whole path components.
//! Covered: containers, initContainers and ephemeralContainers of every pod
//! template, plus `extraFields`: a dotted path (`*` = every element, `\.` = a
//! literal dot) to a string holding an image, or, with `jsonKeys`, to a JSON
//! text whose string values under those keys are images (rewritten in place,
//! keeping the text's formatting).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

use crate::builders;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::pods;
use crate::transforms::{split_path, Filter};

const NAME: &str = "images";

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "ImagesConfig")]
pub struct Config {
    /// Registry (or registry/path prefix) → mirror prefix.
    #[serde(default)]
    pub mirrors: BTreeMap<String, String>,
    /// Image reference (with tag) → digest (`sha256:…`).
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
    /// Secrets added to `imagePullSecrets` of every pod template.
    #[serde(default)]
    pub pull_secrets: Vec<String>,
    #[serde(default)]
    pub extra_fields: Vec<ExtraField>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraField {
    pub kind: String,
    /// Only the object with this name (default: every object of the kind).
    #[serde(default)]
    pub name: Option<String>,
    pub path: String,
    /// The field is JSON text; rewrite string values under these keys.
    #[serde(default)]
    pub json_keys: Vec<String>,
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        if self.mirrors.is_empty()
            && self.digests.is_empty()
            && self.pull_secrets.is_empty()
            && self.extra_fields.is_empty()
        {
            return Ok(docs);
        }
        for doc in &mut docs {
            self.pod_template(doc);
            for extra in &self.extra_fields {
                if doc.kind() == Some(extra.kind.as_str())
                    && extra.name.as_deref().is_none_or(|n| doc.name() == Some(n))
                {
                    self.extra_field(doc, extra)?;
                }
            }
        }
        Ok(docs)
    }
}

impl Config {
    /// The image `reference` should become, if it changes.
    pub fn rewrite(&self, reference: &str) -> Option<String> {
        let mut image = reference.to_owned();
        if !image.contains('@') {
            let normal = normalize(&image);
            if let Some(d) = self
                .digests
                .get(&image)
                .or_else(|| self.digests.get(&normal))
            {
                image = format!("{image}@{d}");
            }
        }
        let normal = normalize(&image);
        let best = self
            .mirrors
            .iter()
            .filter(|(from, _)| {
                normal
                    .strip_prefix(from.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|(from, _)| from.len());
        if let Some((from, to)) = best {
            image = format!("{}{}", to.trim_end_matches('/'), &normal[from.len()..]);
        }
        (image != reference).then_some(image)
    }

    fn pod_template(&self, doc: &mut Document) {
        let Some(prefix) = pods::field(doc, "spec") else {
            return;
        };
        doc.edit(NAME, |v, changes| {
            let Some(spec) = pods::template_mut(v).and_then(|t| t.get_mut("spec")) else {
                return;
            };
            for list in ["initContainers", "containers", "ephemeralContainers"] {
                let containers = spec.get_mut(list).and_then(Value::as_sequence_mut);
                for c in containers.into_iter().flatten() {
                    let name = c
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned();
                    let Some(slot) = c.get_mut("image") else {
                        continue;
                    };
                    if let Some(new) = slot.as_str().and_then(|i| self.rewrite(i)) {
                        changes.push(format!("set {prefix}.{list}[{name}].image={new}"));
                        *slot = new.into();
                    }
                }
            }
            if self.pull_secrets.is_empty() {
                return;
            }
            let secrets = spec.as_mapping_mut().map(|m| {
                m.entry("imagePullSecrets".into())
                    .or_insert(Value::Sequence(Vec::new()))
            });
            if let Some(Value::Sequence(secrets)) = secrets {
                for s in &self.pull_secrets {
                    if !secrets
                        .iter()
                        .any(|x| x.get("name").and_then(Value::as_str) == Some(s))
                    {
                        secrets.push(builders::map([("name", s.as_str().into())]));
                        changes.push(format!("set {prefix}.imagePullSecrets+={s}"));
                    }
                }
            }
        });
    }

    fn extra_field(&self, doc: &mut Document, extra: &ExtraField) -> Result<()> {
        let path = split_path(&extra.path);
        let doc_ref = doc.doc_ref();
        doc.edit(NAME, |v, changes| {
            let mut slots = Vec::new();
            collect(v, &path, &mut slots);
            for slot in slots {
                let Some(text) = slot.as_str() else { continue };
                let new = if extra.json_keys.is_empty() {
                    self.rewrite(text)
                } else {
                    self.rewrite_json(text, &extra.json_keys)
                        .map_err(|e| Error::Field {
                            doc: doc_ref.clone(),
                            field: extra.path.clone(),
                            message: e,
                        })?
                };
                if let Some(new) = new {
                    changes.push(if extra.json_keys.is_empty() {
                        format!("set {}={new}", extra.path)
                    } else {
                        format!("rewrote images in {}", extra.path)
                    });
                    *slot = new.into();
                }
            }
            Ok(())
        })
    }

    /// Rewrite image strings under `keys` in JSON `text`, in place.
    fn rewrite_json(
        &self,
        text: &str,
        keys: &[String],
    ) -> std::result::Result<Option<String>, String> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("expected JSON text: {e}"))?;
        let mut images = Vec::new();
        json_strings_under(&json, keys, &mut images);
        let mut out = text.to_owned();
        for image in images {
            if let Some(new) = self.rewrite(&image) {
                let quoted = |s: &str| serde_json::to_string(s).expect("strings serialise");
                out = out.replace(&quoted(&image), &quoted(&new));
            }
        }
        Ok((out != text).then_some(out))
    }
}

/// Every value at `path` (`*` = every element of a sequence or mapping).
fn collect<'a>(v: &'a mut Value, path: &[String], out: &mut Vec<&'a mut Value>) {
    let Some((head, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    match (head.as_str(), v) {
        ("*", Value::Sequence(s)) => s.iter_mut().for_each(|x| collect(x, rest, out)),
        ("*", Value::Mapping(m)) => m.values_mut().for_each(|x| collect(x, rest, out)),
        (key, Value::Mapping(m)) => {
            if let Some(x) = m.get_mut(key) {
                collect(x, rest, out)
            }
        }
        (key, Value::Sequence(s)) => {
            if let Some(x) = key.parse::<usize>().ok().and_then(|i| s.get_mut(i)) {
                collect(x, rest, out)
            }
        }
        _ => {}
    }
}

fn json_strings_under(v: &serde_json::Value, keys: &[String], out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match x {
                    serde_json::Value::String(s) if keys.contains(k) => out.push(s.clone()),
                    _ => json_strings_under(x, keys, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings_under(x, keys, out)),
        _ => {}
    }
}

/// `nginx:1.2` → `docker.io/library/nginx:1.2`; references with a registry
/// host (a first component with `.` or `:`, or `localhost`) are unchanged.
pub fn normalize(reference: &str) -> String {
    let (first, rest) = match reference.split_once('/') {
        Some((f, r)) => (f, Some(r)),
        None => (reference, None),
    };
    match rest {
        Some(_) if first.contains('.') || first.contains(':') || first == "localhost" => {
            reference.to_owned()
        }
        Some(_) => format!("docker.io/{reference}"),
        None => format!("docker.io/library/{reference}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::{run_config, test_documents};

    const CONFIG: &str = "{mirrors: {docker.io: mirror.example/hub, ghcr.io: mirror.example/ghcr, ghcr.io/kubeflow/special: special.example}, digests: {'ghcr.io/kubeflow/a:v1': 'sha256:aaa', 'nginx:1.2': 'sha256:bbb'}}";

    #[test]
    fn rewrites_references() {
        let c: Config = serde_yaml::from_str(CONFIG).unwrap();
        let cases = [
            ("nginx", Some("mirror.example/hub/library/nginx")),
            (
                "nginx:1.2",
                Some("mirror.example/hub/library/nginx:1.2@sha256:bbb"),
            ),
            (
                "bitnami/redis:7",
                Some("mirror.example/hub/bitnami/redis:7"),
            ),
            (
                "docker.io/bitnami/redis:7",
                Some("mirror.example/hub/bitnami/redis:7"),
            ),
            (
                "ghcr.io/kubeflow/a:v1",
                Some("mirror.example/ghcr/kubeflow/a:v1@sha256:aaa"),
            ),
            (
                "ghcr.io/kubeflow/a:v2@sha256:ccc",
                Some("mirror.example/ghcr/kubeflow/a:v2@sha256:ccc"),
            ),
            ("ghcr.io/kubeflow/special/x:1", Some("special.example/x:1")),
            ("ghcr.iox/y:1", None),
            ("quay.io/x/y:1", None),
            ("localhost:5000/x:1", None),
        ];
        for (input, want) in cases {
            assert_eq!(c.rewrite(input).as_deref(), want, "{input}");
        }
    }

    fn run(config: &str, doc: &str) -> Document {
        run_config::<Config>(config, test_documents(&[doc]))
            .unwrap()
            .remove(0)
    }

    fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
        path.split('.').fold(v, |v, k| match k.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[k],
        })
    }

    #[test]
    fn covers_every_pod_template_and_extra_fields() {
        let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: i, image: busybox}]\n          containers: [{name: m, image: 'ghcr.io/x/y:1'}]\n          ephemeralContainers: [{name: e, image: 'quay.io/dbg:1'}]\n          imagePullSecrets: [{name: existing}]\n";
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: m, image: nginx}]}\n";
        let runtime = "apiVersion: serving.kserve.io/v1alpha1\nkind: ClusterServingRuntime\nmetadata: {name: r}\nspec: {containers: [{name: k, image: 'kserve/sklearnserver:v0.16.0'}]}\n";
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: isvc}\ndata:\n  agent: |-\n    {\n        \"image\" : \"kserve/agent:v0.16.0\",\n        \"cpu\": \"1\"\n    }\n  other: 'nginx'\n";
        let config = "{mirrors: {docker.io: m.example/hub, ghcr.io: m.example/ghcr}, pullSecrets: [existing, regcred], extraFields: [{kind: ClusterServingRuntime, path: spec.containers.*.image}, {kind: ConfigMap, name: isvc, path: data.agent, jsonKeys: [image]}]}";
        // (document, path, expected string)
        let cases = [
            (
                cron,
                "spec.jobTemplate.spec.template.spec.initContainers.0.image",
                "m.example/hub/library/busybox",
            ),
            (
                cron,
                "spec.jobTemplate.spec.template.spec.containers.0.image",
                "m.example/ghcr/x/y:1",
            ),
            (
                cron,
                "spec.jobTemplate.spec.template.spec.ephemeralContainers.0.image",
                "quay.io/dbg:1",
            ),
            (
                cron,
                "spec.jobTemplate.spec.template.spec.imagePullSecrets.0.name",
                "existing",
            ),
            (
                cron,
                "spec.jobTemplate.spec.template.spec.imagePullSecrets.1.name",
                "regcred",
            ),
            (
                pod,
                "spec.containers.0.image",
                "m.example/hub/library/nginx",
            ),
            (pod, "spec.imagePullSecrets.1.name", "regcred"),
            (
                runtime,
                "spec.containers.0.image",
                "m.example/hub/kserve/sklearnserver:v0.16.0",
            ),
            (
                cm,
                "data.agent",
                "{\n    \"image\" : \"m.example/hub/kserve/agent:v0.16.0\",\n    \"cpu\": \"1\"\n}",
            ),
            (cm, "data.other", "nginx"),
        ];
        for (doc, path, want) in cases {
            let out = run(config, doc);
            assert_eq!(get(out.value(), path).as_str(), Some(want), "{path}");
        }
        let cron_out = run(config, cron);
        let secrets = get(
            cron_out.value(),
            "spec.jobTemplate.spec.template.spec.imagePullSecrets",
        );
        assert_eq!(secrets.as_sequence().unwrap().len(), 2);
    }

    #[test]
    fn bad_json_field_is_an_error_and_default_is_noop() {
        let cm =
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: isvc}\ndata: {agent: 'not json'}\n";
        let c: Config = serde_yaml::from_str(
            "{extraFields: [{kind: ConfigMap, path: data.agent, jsonKeys: [image]}]}",
        )
        .unwrap();
        let e = c
            .filter(vec![Document::from_yaml(cm).unwrap()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ConfigMap/isvc: field `data.agent`: expected JSON text"),
            "{e}"
        );
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: m, image: nginx}]}\n";
        assert!(!run("{}", pod).is_touched());
    }
}
