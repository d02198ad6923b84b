//! `profiles`: Kubeflow user profiles from a list, and per-profile copies of
//! the resources a chart marks as profile-scoped.
//!
//! For each entry it generates a `Profile` (as upstream's
//! `common/user-namespace/base`: `spec.owner {kind: User, name: <owner>}`,
//! plus `spec.resourceQuotaSpec.hard` when a quota is given). Every document
//! annotated `kf-post.kubeflow.org/profile-scoped: "true"` is replaced by one
//! copy per profile, placed in the profile's namespace (same name, marker
//! removed so a second run changes nothing). With `renderNamespaces: true` the
//! profile Namespace objects are rendered too — so profile-scoped resources can
//! be installed in the same release — with the labels the profile controller
//! would set (`app.kubernetes.io/part-of: kubeflow-profile`,
//! `katib.kubeflow.org/metrics-collector-injection: enabled`,
//! `serving.kubeflow.org/inferenceservice: enabled`,
//! `pipelines.kubeflow.org/enabled: "true"`, `pod-security.kubernetes.io/enforce`)
//! and the `owner` annotation the controller checks before adopting a namespace.
//!
//! Configuration reference (every field, its type, default and an example):
//! the `profiles` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.
//!
//! With no profiles listed the transform changes nothing (marked documents
//! stay where the chart put them).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::builders;
use crate::document::{mapping_entry, Document};
use crate::error::{Error, Result};
use crate::lookup::exists;
use crate::names;
use crate::transforms::{Filter, Scopes};

const NAME: &str = "profiles";
const MARKER: &str = crate::annotations::PROFILE_SCOPED.key;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "ProfilesConfig")]
pub struct Config {
    #[serde(default)]
    pub profiles: Vec<Profile>,
    /// `false`: the profiles exist already (Kubeflow's own release or an
    /// admin made them); only the copies are rendered, so this release does
    /// not claim, and on uninstall delete, a Profile and with it the team's
    /// namespace.
    #[serde(default = "default_render_profiles")]
    pub render_profiles: bool,
    #[serde(default)]
    pub render_namespaces: bool,
    #[serde(default = "default_pss")]
    pub pod_security: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
}

impl Default for Config {
    fn default() -> Self {
        serde_yaml::from_str("{}").expect("all fields have defaults")
    }
}

fn default_render_profiles() -> bool {
    true
}
fn default_pss() -> String {
    "baseline".into()
}
fn default_api_version() -> String {
    "kubeflow.org/v1".into()
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    pub name: String,
    /// Needed to render the Profile or its Namespace.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default = "default_owner_kind")]
    pub owner_kind: String,
    /// ResourceQuota `hard` entries (cpu, memory, requests.storage, …).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub resource_quota: BTreeMap<String, Value>,
}

fn default_owner_kind() -> String {
    "User".into()
}

impl Profile {
    /// The owner; `Config::check` requires one wherever it is rendered.
    fn owner(&self) -> &str {
        self.owner.as_deref().unwrap_or_default()
    }
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, docs: Vec<Document>) -> Result<Vec<Document>> {
        if self.profiles.is_empty() {
            return Ok(docs);
        }
        self.check()?;
        let scopes = Scopes::of(&docs);
        let mut out = Vec::with_capacity(docs.len());
        for doc in docs {
            match doc.annotation(MARKER) {
                None | Some("false") => out.push(doc),
                Some("true") => out.extend(self.copies(doc, &scopes)?),
                Some(other) => {
                    return Err(Error::Field {
                        doc: doc.doc_ref(),
                        field: format!("metadata.annotations.{MARKER}"),
                        message: format!("expected \"true\" or \"false\", got {other:?}"),
                    })
                }
            }
        }
        let mut generated = Vec::new();
        for p in &self.profiles {
            if self.render_namespaces && !exists(&out, "Namespace", None, &p.name) {
                generated.push(Document::generated(
                    self.namespace(p),
                    NAME,
                    format!("Namespace {} for profile (owner {})", p.name, p.owner()),
                ));
            }
            if self.render_profiles && !exists(&out, "Profile", None, &p.name) {
                generated.push(Document::generated(
                    self.profile(p),
                    NAME,
                    format!("Profile {} owned by {}", p.name, p.owner()),
                ));
            }
        }
        out.extend(generated);
        Ok(out)
    }
}

impl Config {
    /// The checks that need no stream (also `helm kubeflow validate-config`).
    pub fn check(&self) -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.profiles.iter().enumerate() {
            let field = |f: &str, message: String| {
                Err(Error::Config(format!(
                    "profiles.profiles[{i}].{f}: {message}"
                )))
            };
            if let Err(e) = names::dns_label(&p.name) {
                return field("name", format!("not a valid namespace name: {e}"));
            }
            if !seen.insert(&p.name) {
                return field("name", format!("{:?} is listed twice", p.name));
            }
            let renders = self.render_profiles || self.render_namespaces;
            match p.owner.as_deref().map(str::trim) {
                Some("") => return field("owner", "must not be empty".into()),
                None if renders => {
                    return field(
                        "owner",
                        "needed to render the Profile and its Namespace; for profiles that \
                         exist already, set renderProfiles: false"
                            .into(),
                    )
                }
                _ => {}
            }
            for (k, v) in &p.resource_quota {
                if !(v.is_string() || v.is_number()) {
                    return field(
                        &format!("resourceQuota.{k}"),
                        "must be a quantity (string or number)".into(),
                    );
                }
            }
        }
        Ok(())
    }

    fn copies(&self, doc: Document, scopes: &Scopes) -> Result<Vec<Document>> {
        let kind = doc.kind().unwrap_or_default();
        // Profiles are cluster-scoped (and not in the core table).
        if scopes.is_cluster_scoped(&doc) || kind == "Profile" {
            return Err(Error::Field {
                doc: doc.doc_ref(),
                field: format!("metadata.annotations.{MARKER}"),
                message: format!("{kind} is cluster-scoped and cannot be placed in a profile"),
            });
        }
        let mut out = Vec::with_capacity(self.profiles.len());
        for p in &self.profiles {
            let mut copy = doc.clone();
            copy.edit(NAME, |v, changes| {
                let meta = mapping_entry(v, "metadata");
                if let Some(Value::Mapping(ann)) = meta.get_mut("annotations") {
                    ann.shift_remove(MARKER);
                    if ann.is_empty() {
                        meta.shift_remove("annotations");
                    }
                }
                meta.insert("namespace".into(), p.name.as_str().into());
                changes.push(format!("copied into profile namespace {}", p.name));
            });
            out.push(copy);
        }
        Ok(out)
    }

    fn namespace(&self, p: &Profile) -> Value {
        let mut labels = Mapping::new();
        for (k, v) in [
            ("app.kubernetes.io/part-of", "kubeflow-profile"),
            ("katib.kubeflow.org/metrics-collector-injection", "enabled"),
            ("serving.kubeflow.org/inferenceservice", "enabled"),
            ("pipelines.kubeflow.org/enabled", "true"),
        ] {
            labels.insert(k.into(), v.into());
        }
        if !self.pod_security.is_empty() {
            labels.insert(
                "pod-security.kubernetes.io/enforce".into(),
                self.pod_security.as_str().into(),
            );
        }
        let mut annotations = Mapping::new();
        // The profile controller adopts an existing namespace only if this
        // annotation names the profile's owner.
        annotations.insert("owner".into(), p.owner().into());
        let mut meta = Mapping::new();
        meta.insert("annotations".into(), Value::Mapping(annotations));
        meta.insert("labels".into(), Value::Mapping(labels));
        meta.insert("name".into(), p.name.as_str().into());
        builders::object("v1", "Namespace", meta, None)
    }

    fn profile(&self, p: &Profile) -> Value {
        let mut owner = Mapping::new();
        owner.insert("kind".into(), p.owner_kind.as_str().into());
        owner.insert("name".into(), p.owner().into());
        let mut spec = Mapping::new();
        spec.insert("owner".into(), Value::Mapping(owner));
        if !p.resource_quota.is_empty() {
            let hard: Mapping = p
                .resource_quota
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
                .collect();
            let mut quota = Mapping::new();
            quota.insert("hard".into(), Value::Mapping(hard));
            spec.insert("resourceQuotaSpec".into(), Value::Mapping(quota));
        }
        let mut meta = Mapping::new();
        meta.insert("name".into(), p.name.as_str().into());
        builders::object(
            &self.api_version,
            "Profile",
            meta,
            Some(Value::Mapping(spec)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::transforms::{run_config, test_docs as docs};

    fn run(cfg: &str, stream: &str) -> Result<Vec<Document>> {
        run_config::<Config>(cfg, docs(stream))
    }

    const STREAM: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: team-defaults
  annotations: {kf-post.kubeflow.org/profile-scoped: \"true\"}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shared, namespace: kubeflow}
";

    const TWO: &str = "profiles: [{name: team-a, owner: a@example.com, resourceQuota: {cpu: \"8\", memory: 16Gi}}, \
                       {name: team-b, owner: b@example.com}]";

    #[test]
    fn profiles_and_placement() {
        let out = run(TWO, STREAM).unwrap();
        let ids: Vec<(String, String, String)> = out
            .iter()
            .map(|d| {
                (
                    d.kind().unwrap().to_owned(),
                    d.namespace().unwrap_or("").to_owned(),
                    d.name().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String, String)> = [
            ("ConfigMap", "team-a", "team-defaults"),
            ("ConfigMap", "team-b", "team-defaults"),
            ("ConfigMap", "kubeflow", "shared"),
            ("Profile", "", "team-a"),
            ("Profile", "", "team-b"),
        ]
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
        assert_eq!(ids, want);
        assert!(
            out[0].annotation(MARKER).is_none(),
            "marker removed from copies"
        );
        assert!(!out[2].is_touched(), "unmarked documents untouched");
        let p = out[3].value();
        assert_eq!(p["apiVersion"].as_str(), Some("kubeflow.org/v1"));
        assert_eq!(p["spec"]["owner"]["name"].as_str(), Some("a@example.com"));
        assert_eq!(p["spec"]["owner"]["kind"].as_str(), Some("User"));
        assert_eq!(
            p["spec"]["resourceQuotaSpec"]["hard"]["memory"].as_str(),
            Some("16Gi")
        );
        assert!(out[4].value()["spec"].get("resourceQuotaSpec").is_none());
    }

    #[test]
    fn namespaces() {
        // (podSecurity setting, expected enforce label)
        let cases: &[(&str, Option<&str>)] = &[
            ("", Some("baseline")),
            ("podSecurity: restricted,", Some("restricted")),
            ("podSecurity: \"\",", None),
        ];
        for (pss, want) in cases {
            let cfg = format!("{{renderNamespaces: true, {pss} profiles: [{{name: team-a, owner: a@example.com}}]}}");
            let out = run(&cfg, STREAM).unwrap();
            let ns = out.iter().find(|d| d.kind() == Some("Namespace")).unwrap();
            assert_eq!(ns.name(), Some("team-a"));
            assert_eq!(
                ns.label("pod-security.kubernetes.io/enforce"),
                *want,
                "{cfg}"
            );
            for (k, v) in [
                ("app.kubernetes.io/part-of", "kubeflow-profile"),
                ("katib.kubeflow.org/metrics-collector-injection", "enabled"),
                ("serving.kubeflow.org/inferenceservice", "enabled"),
                ("pipelines.kubeflow.org/enabled", "true"),
            ] {
                assert_eq!(ns.label(k), Some(v), "{k}");
            }
            assert_eq!(ns.annotation("owner"), Some("a@example.com"));
        }
        let out = run(TWO, STREAM).unwrap();
        assert!(out.iter().all(|d| d.kind() != Some("Namespace")));
    }

    #[test]
    fn errors() {
        let cases: &[(&str, &str, &str)] = &[
            ("profiles: [{name: Team_A, owner: a}]", STREAM, "profiles.profiles[0].name"),
            ("profiles: [{name: a, owner: x}, {name: a, owner: y}]", STREAM, "listed twice"),
            ("profiles: [{name: a, owner: \" \"}]", STREAM, "profiles.profiles[0].owner"),
            ("profiles: [{name: a}]", STREAM, "renderProfiles: false"),
            ("{renderProfiles: false, renderNamespaces: true, profiles: [{name: a}]}", STREAM, "profiles.profiles[0].owner"),
            ("profiles: [{name: a, owner: x, resourceQuota: {cpu: [1]}}]", STREAM, "resourceQuota.cpu"),
            (
                "profiles: [{name: a, owner: x}]",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {kf-post.kubeflow.org/profile-scoped: yes-please}}",
                "document 0",
            ),
            (
                "profiles: [{name: a, owner: x}]",
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: c, annotations: {kf-post.kubeflow.org/profile-scoped: \"true\"}}",
                "cluster-scoped",
            ),
        ];
        for (cfg, stream, want) in cases {
            let err = run(cfg, stream).unwrap_err().to_string();
            assert!(err.contains(want), "{cfg}: {err}");
        }
        assert!(
            serde_yaml::from_str::<Config>("profiles: [{name: a, owner: b, quota: {}}]").is_err()
        );
    }

    #[test]
    fn existing_profiles_get_copies_only() {
        // (config, Profiles rendered)
        let cases: &[(&str, &[&str])] = &[
            (
                "{renderProfiles: false, profiles: [{name: team-a}, {name: team-b}]}",
                &[],
            ),
            (
                "{renderProfiles: false, profiles: [{name: team-a, owner: a@example.com}]}",
                &[],
            ),
            (TWO, &["team-a", "team-b"]),
        ];
        for (cfg, want) in cases {
            let out = run(cfg, STREAM).unwrap();
            let profiles: Vec<&str> = out
                .iter()
                .filter(|d| d.kind() == Some("Profile"))
                .filter_map(Document::name)
                .collect();
            assert_eq!(&profiles, want, "{cfg}");
            let copies: Vec<&str> = out
                .iter()
                .filter(|d| d.name() == Some("team-defaults"))
                .filter_map(Document::namespace)
                .collect();
            assert!(copies.starts_with(&["team-a"]), "{cfg}: {copies:?}");
            assert!(out.iter().all(|d| d.kind() != Some("Namespace")), "{cfg}");
        }
    }

    #[test]
    fn noop_and_idempotent() {
        let out = run("{}", STREAM).unwrap();
        assert!(out.iter().all(|d| !d.is_touched()) && out.len() == 2);
        let cfg: Config =
            serde_yaml::from_str(&format!("{{renderNamespaces: true, {}}}", TWO)).unwrap();
        let mut once = cfg.filter(docs(STREAM)).unwrap();
        once.iter_mut().for_each(|d| d.forget_changes());
        let twice = cfg.filter(once.clone()).unwrap();
        assert_eq!(once.len(), twice.len());
        assert!(twice.iter().all(|d| !d.is_touched()));
    }
}
