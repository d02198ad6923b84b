//! The transforms, one module each, in the spirit of kustomize's `api/filters`:
//! a typed config, a `filter(docs) -> Result<docs>` entry, table-driven tests.
//!
//! Convention: module `transforms::<name>` has `pub struct Config` (serde
//! `Deserialize` + `Default`, `deny_unknown_fields`, camelCase) implementing
//! [`Filter`]; the default config changes nothing. `crate::pipeline` runs them
//! in a fixed order.

pub mod helm4;
pub mod images;
pub mod labels;
pub mod namespace;
pub mod security;

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::document::Document;
use crate::error::Result;

/// One step of the pipeline.
pub trait Filter {
    /// Short name used in `--explain` output and error messages.
    fn name(&self) -> &'static str;
    /// Transform the whole stream. May add, change or remove documents.
    fn filter(&self, docs: Vec<Document>) -> Result<Vec<Document>>;
}

/// Kinds of the core Kubernetes API that are cluster-scoped, keyed by
/// (group, kind). Discovery-free: the engine runs without a cluster.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
];

/// Which kinds in a stream are cluster-scoped: the core table plus every CRD
/// in the stream with `spec.scope: Cluster`.
#[derive(Debug, Default)]
pub struct Scopes {
    crds: BTreeSet<(String, String)>,
}

impl Scopes {
    pub fn of(docs: &[Document]) -> Self {
        let crds = docs
            .iter()
            .filter(|d| d.kind() == Some("CustomResourceDefinition"))
            .filter(|d| {
                d.value()
                    .get("spec")
                    .and_then(|s| s.get("scope"))
                    .and_then(Value::as_str)
                    == Some("Cluster")
            })
            .filter_map(|d| {
                let spec = d.value().get("spec")?;
                let group = spec.get("group")?.as_str()?;
                let kind = spec.get("names")?.get("kind")?.as_str()?;
                Some((group.to_owned(), kind.to_owned()))
            })
            .collect();
        Scopes { crds }
    }

    /// Declare `group`/`kind` cluster-scoped.
    pub fn add(&mut self, group: &str, kind: &str) {
        self.crds.insert((group.to_owned(), kind.to_owned()));
    }

    pub fn is_cluster_scoped(&self, doc: &Document) -> bool {
        let (group, kind) = (doc.group(), doc.kind().unwrap_or_default());
        CLUSTER_SCOPED.contains(&(group, kind))
            || self.crds.contains(&(group.to_owned(), kind.to_owned()))
    }
}

/// Split `a.b.c` (with `\.` escaping a literal dot, as in annotation keys).
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                parts.last_mut().expect("non-empty").push('.');
                chars.next();
            }
            '.' => parts.push(String::new()),
            c => parts.last_mut().expect("non-empty").push(c),
        }
    }
    parts
}
pub mod auth;
pub mod certificates;
pub mod istio;
pub mod profiles;

/// serde default for switches that are on unless turned off.
pub(crate) fn yes() -> bool {
    true
}

/// Test input for the transforms' table-driven tests: a `---`-separated
/// stream, read by the same reader `kf-post` uses (CRD schemas parsed).
#[cfg(test)]
pub(crate) fn test_docs(yaml: &str) -> Vec<Document> {
    let options = crate::stream::ParseOptions { full_crds: true };
    crate::stream::parse(yaml.as_bytes(), options)
        .expect("test stream")
        .documents
}

/// Test input given as one YAML text per document.
#[cfg(test)]
pub(crate) fn test_documents(texts: &[&str]) -> Vec<Document> {
    texts
        .iter()
        .map(|text| Document::from_yaml(text).expect("test document"))
        .collect()
}

/// Runs the transform whose config `C` is written as `config` (YAML) over
/// `docs`: how the transforms' tests build and run a filter.
#[cfg(test)]
pub(crate) fn run_config<C>(config: &str, docs: Vec<Document>) -> Result<Vec<Document>>
where
    C: Filter + serde::de::DeserializeOwned,
{
    let config: C = serde_yaml::from_str(config).expect("test config");
    config.filter(docs)
}

/// The value at `path` (as [`split_path`] reads it; a number indexes a
/// sequence) in `v`, for tests.
#[cfg(test)]
pub(crate) fn value_at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    split_path(path)
        .iter()
        .try_fold(v, |v, k| match k.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(k.as_str()),
        })
}
