//! Pod templates: where each workload kind keeps the pod it runs. The one
//! definition every transform uses, so that they agree on what a workload is
//! (a bare Pod, the apps/v1 controllers, ReplicationController, Job, CronJob).

use serde_yaml::{Mapping, Value};

use crate::document::Document;

/// Path from the object to its pod template (the mapping holding the pod's
/// `metadata` and `spec`); empty for a bare Pod; `None` for other kinds.
pub fn template_path(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    match (group, kind) {
        ("", "Pod") => Some(&[]),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "ReplicationController")
        | ("batch", "Job") => Some(&["spec", "template"]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// API group and kind of an object value.
fn group_kind(value: &Value) -> Option<(&str, &str)> {
    let api_version = value.get("apiVersion")?.as_str()?;
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    Some((group, value.get("kind")?.as_str()?))
}

fn path_of(value: &Value) -> Option<&'static [&'static str]> {
    let (group, kind) = group_kind(value)?;
    template_path(group, kind)
}

/// Whether the document is a workload (has a pod template by kind).
pub fn is_workload(doc: &Document) -> bool {
    doc.kind()
        .is_some_and(|k| template_path(doc.group(), k).is_some())
}

/// The pod template of a workload object, or `None` for other kinds (or a
/// workload whose template is missing or not a mapping).
pub fn template(value: &Value) -> Option<&Mapping> {
    let mut v = value;
    for key in path_of(value)? {
        v = v.get(*key)?;
    }
    v.as_mapping()
}

/// Mutable [`template`], for use inside [`Document::edit`].
pub fn template_mut(value: &mut Value) -> Option<&mut Mapping> {
    let path = path_of(value)?;
    let mut v = value;
    for key in path {
        v = v.get_mut(*key)?;
    }
    v.as_mapping_mut()
}

/// Dotted path of `rest` inside the pod template (`spec.template.<rest>`, or
/// `<rest>` for a Pod), for messages; `None` for other kinds.
pub fn field(doc: &Document, rest: &str) -> Option<String> {
    let path = template_path(doc.group(), doc.kind()?)?;
    Some(if path.is_empty() {
        rest.to_owned()
    } else {
        format!("{}.{rest}", path.join("."))
    })
}

/// `template.metadata.<map>.<key>` as a string.
pub fn meta_str<'a>(template: &'a Mapping, map: &str, key: &str) -> Option<&'a str> {
    template.get("metadata")?.get(map)?.get(key)?.as_str()
}

/// The labels of the pod template.
pub fn labels(value: &Value) -> Option<&Mapping> {
    template(value)?
        .get("metadata")?
        .get("labels")?
        .as_mapping()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_kind() {
        // (apiVersion, kind, template field)
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("v1", "Pod", Some("spec")),
            ("apps/v1", "Deployment", Some("spec.template.spec")),
            ("apps/v1", "StatefulSet", Some("spec.template.spec")),
            ("apps/v1", "DaemonSet", Some("spec.template.spec")),
            ("apps/v1", "ReplicaSet", Some("spec.template.spec")),
            ("v1", "ReplicationController", Some("spec.template.spec")),
            ("batch/v1", "Job", Some("spec.template.spec")),
            (
                "batch/v1",
                "CronJob",
                Some("spec.jobTemplate.spec.template.spec"),
            ),
            ("example.com/v1", "Deployment", None),
            ("v1", "Service", None),
        ];
        for (api, kind, spec) in cases {
            let doc = Document::from_yaml(&format!(
                "apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x}}\n"
            ))
            .unwrap();
            assert_eq!(field(&doc, "spec").as_deref(), *spec, "{api} {kind}");
            assert_eq!(is_workload(&doc), spec.is_some(), "{api} {kind}");
        }
        let doc = Document::from_yaml(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {metadata: {labels: {a: b}}}}}}\n",
        )
        .unwrap();
        assert_eq!(
            labels(doc.value())
                .and_then(|l| l.get("a"))
                .and_then(Value::as_str),
            Some("b")
        );
        let pod =
            Document::from_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {x: y}}\n")
                .unwrap();
        assert_eq!(
            template(pod.value()).and_then(|t| meta_str(t, "labels", "x")),
            Some("y")
        );
    }
}
