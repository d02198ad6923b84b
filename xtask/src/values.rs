//! The values a generated chart exposes: collected while templating, then written
//! as `values.yaml` (helm-docs `# --` comments), `values.schema.json` and the README
//! values table, all from the same model so they cannot drift.

use crate::upstream::{CredentialSpec, SettingSpec};
use anyhow::{bail, Result};
use indexmap::IndexMap;
use serde_json::json;
use serde_yaml::{Mapping, Value};

/// `kebab-case.name_x` -> `kebabCaseNameX`; values keys must be valid template paths.
pub fn camel(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut cs = lower.chars();
            if let Some(f) = cs.next() {
                out.push(f.to_ascii_uppercase());
                out.extend(cs);
            }
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'x');
    }
    out
}

pub struct Entry {
    pub description: String,
    pub fields: Mapping,
}

/// section (containers / workloads / persistence) -> key -> entry.
#[derive(Default)]
pub struct ValuesTree {
    pub sections: IndexMap<String, IndexMap<String, Entry>>,
}

impl ValuesTree {
    /// Reserve `key` in `section` for `fields`. Objects of different variants that
    /// share a key and a default share the entry; if their defaults differ the later
    /// one gets the key suffixed with its variant, so every variant's defaults stay
    /// exactly upstream's. Returns the key to use.
    pub fn claim(
        &mut self,
        section: &str,
        key: &str,
        variant: &str,
        fields: Mapping,
        description: &str,
    ) -> Result<String> {
        let sec = self.sections.entry(section.to_string()).or_default();
        let suffix = camel(variant);
        let mut suffix_chars = suffix.chars();
        let pascal: String = suffix_chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(suffix_chars)
            .collect();
        let candidates = [key.to_string(), format!("{key}{pascal}")];
        for cand in candidates.iter().chain(
            (2..100)
                .map(|n| format!("{}{n}", candidates[1]))
                .collect::<Vec<_>>()
                .iter(),
        ) {
            match sec.get(cand) {
                Some(e) if e.fields == fields => return Ok(cand.clone()),
                Some(_) => continue,
                None => {
                    sec.insert(
                        cand.clone(),
                        Entry {
                            description: description.to_string(),
                            fields,
                        },
                    );
                    return Ok(cand.clone());
                }
            }
        }
        bail!("no free values key for {section}.{key}")
    }
}

/// Fixed top-level values every generated chart has.
pub struct Fixed<'a> {
    pub chart: &'a str,
    /// Scenario names, default first.
    pub scenarios: Vec<&'a str>,
    /// Credential keys of the chart's Secrets (`credentials:` values).
    pub credentials: &'a [CredentialSpec],
    /// ConfigMap literals exposed as `settings:` values.
    pub settings: &'a [SettingSpec],
    /// Values declared in the catalog (`crate::fields`).
    pub chart_values: &'a [crate::fields::ValueSpec],
    /// The chart has CRDs (`crds.install`, `crds.keep`).
    pub crds: bool,
    /// The chart has webhook certificates (`webhookCertificates`).
    pub webhook_certificates: bool,
}

const WEBHOOK_CERTIFICATES_DOC: &str = "How the webhook serving certificates are made: `cert-manager` (upstream: a self-signed Issuer and a Certificate; cert-manager must already run, with its CRDs), or `helm` (the chart renders the Secret, generated on first install and kept on upgrades, and sets the CA bundle on the webhooks; needed to install cert-manager in the same release). Empty: `global.webhookCertificates`, else `cert-manager`";

const CRDS_INSTALL_DOC: &str = "Render this chart's CustomResourceDefinitions with the release (installed and upgraded by Helm; schema descriptions stripped to fit Helm's 1 MiB release limit). `false`: you apply them yourself, e.g. the full ones from the repository's `crds/<chart>/`. `global.crds.install: false` turns them off for every chart";
const CRDS_KEEP_DOC: &str = "Annotate the CRDs `helm.sh/resource-policy: keep`, so disabling the component or uninstalling the release never deletes a CRD (which would delete every custom resource of it)";

const CREDENTIALS_MODE_DOC: &str = "How Secret keys holding credentials are filled when their value below is empty: `demo` renders upstream's published demo credentials (objects equal upstream); `generate` never uses them: it generates the keys that can be generated (random, created once and kept on every upgrade by looking up the live Secret) and fails the render naming each value you must set. Empty: `global.credentials.mode`, else `demo`";

/// The README/values description of one credential value.
fn credential_doc(c: &CredentialSpec) -> String {
    let global = if c.global.is_empty() {
        String::new()
    } else {
        format!(
            " `global.credentials.{}` sets it for every chart that shares it.",
            c.global
        )
    };
    let generate = if c.generate {
        "generated once in `generate` mode"
    } else {
        "required in `generate` mode"
    };
    format!(
        "{} (Secret `{}`, key `{}`). Empty: upstream's demo value in `demo` mode, {generate}.{global}",
        c.description, c.secret, c.key
    )
}

/// Credential specs with distinct values keys, in declaration order.
fn credential_values(credentials: &[CredentialSpec]) -> Vec<&CredentialSpec> {
    let mut seen = std::collections::HashSet::new();
    credentials
        .iter()
        .filter(|c| seen.insert(c.value.as_str()))
        .collect()
}

/// One documented leaf of the values file, for the README table.
pub struct Doc {
    pub key: String,
    pub kind: &'static str,
    pub default: String,
    pub description: String,
}

fn field_doc(section: &str, field: &str) -> (&'static str, &'static str) {
    match (section, field) {
        ("containers", "image") => ("object", "Image: `registry` (replaced by `global.imageRegistry` when set), `repository`, `tag`, `digest` (appended as `@digest`), `pullPolicy` (empty: unset)"),
        ("containers", "resources") => ("object", "Container resources (requests/limits)"),
        ("workloads", "replicas") => ("int", "Replicas (null: not set, as upstream)"),
        ("workloads", "nodeSelector") => ("object", "Pod nodeSelector"),
        ("workloads", "tolerations") => ("list", "Pod tolerations"),
        ("workloads", "affinity") => ("object", "Pod affinity"),
        ("persistence", "size") => ("string", "Requested storage size"),
        ("persistence", "storageClass") => ("string", "storageClassName (empty: cluster default, as upstream)"),
        _ => ("object", ""),
    }
}

pub fn inline(v: &Value) -> String {
    let s = serde_yaml::to_string(v).unwrap_or_default();
    let s = s.trim_end();
    if s.contains('\n') {
        serde_json::to_string(&yaml_to_json(v)).unwrap_or_default()
    } else {
        s.to_string()
    }
}

fn yaml_to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Append `key: value` to `out` at `indent`, block style for non-empty collections.
pub fn emit(out: &mut String, indent: usize, key: &str, v: &Value) {
    let pad = " ".repeat(indent);
    let empty = matches!(v, Value::Mapping(m) if m.is_empty())
        || matches!(v, Value::Sequence(s) if s.is_empty());
    if matches!(v, Value::Mapping(_) | Value::Sequence(_)) && !empty {
        out.push_str(&format!("{pad}{key}:\n"));
        let body = serde_yaml::to_string(v).unwrap_or_default();
        let inner = if matches!(v, Value::Sequence(_)) {
            indent
        } else {
            indent + 2
        };
        for l in body.lines() {
            out.push_str(&format!("{}{l}\n", " ".repeat(inner)));
        }
    } else {
        out.push_str(&format!("{pad}{key}: {}\n", inline(v)));
    }
}

impl ValuesTree {
    pub fn values_yaml(&self, fixed: &Fixed, header: &str) -> (String, Vec<Doc>) {
        let mut out = format!("{header}\n");
        let mut docs = Vec::new();
        let names = &fixed.scenarios;
        let default = names[0];
        let variant_desc = format!(
            "Upstream scenario rendered: one of {}. Each reproduces the upstream kustomize overlay of that name (see README)",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        );
        out.push_str(&format!("# -- {variant_desc}\nvariant: {default}\n"));
        docs.push(Doc {
            key: "variant".into(),
            kind: "string",
            default: default.into(),
            description: variant_desc,
        });
        let cl = "Labels added to every templated object (off by default so objects equal upstream; e.g. `app.kubernetes.io/managed-by: Helm`)";
        out.push_str(&format!("# -- {cl}\ncommonLabels: {{}}\n"));
        docs.push(Doc {
            key: "commonLabels".into(),
            kind: "object",
            default: "{}".into(),
            description: cl.into(),
        });
        let hl = "Add Helm's labels (`helm.sh/chart`, `app.kubernetes.io/managed-by`, `app.kubernetes.io/instance`) to every templated object; off by default so objects equal upstream. Neither these nor `commonLabels` override a label upstream sets";
        out.push_str(&format!("# -- {hl}\nhelmLabels: false\n"));
        docs.push(Doc {
            key: "helmLabels".into(),
            kind: "bool",
            default: "false".into(),
            description: hl.into(),
        });
        let kp = format!(
            "kf-post engine configuration (`spec` of a `PostRenderConfig` named `{}` emitted into the rendered stream and consumed by kf-post); empty emits nothing",
            fixed.chart
        );
        out.push_str(&format!("# -- {kp}\nkfPost: {{}}\n"));
        docs.push(Doc {
            key: "kfPost".into(),
            kind: "object",
            default: "{}".into(),
            description: kp,
        });
        out.push_str("global:\n");
        let gr = "Registry replacing the registry of every image of this chart";
        out.push_str(&format!("  # -- {gr}\n  imageRegistry: \"\"\n"));
        docs.push(Doc {
            key: "global.imageRegistry".into(),
            kind: "string",
            default: "\"\"".into(),
            description: gr.into(),
        });
        let gp = "Pull secrets (`[{name: ...}]`) added to every pod that has none upstream";
        out.push_str(&format!("  # -- {gp}\n  imagePullSecrets: []\n"));
        docs.push(Doc {
            key: "global.imagePullSecrets".into(),
            kind: "list",
            default: "[]".into(),
            description: gp.into(),
        });
        if fixed.crds {
            out.push_str(&format!(
                "crds:\n  # -- {CRDS_INSTALL_DOC}\n  install: true\n  # -- {CRDS_KEEP_DOC}\n  keep: true\n"
            ));
            for (key, d) in [("install", CRDS_INSTALL_DOC), ("keep", CRDS_KEEP_DOC)] {
                docs.push(Doc {
                    key: format!("crds.{key}"),
                    kind: "bool",
                    default: "true".into(),
                    description: d.into(),
                });
            }
        }
        if fixed.webhook_certificates {
            out.push_str(&format!(
                "# -- {WEBHOOK_CERTIFICATES_DOC}\nwebhookCertificates: \"\"\n"
            ));
            docs.push(Doc {
                key: "webhookCertificates".into(),
                kind: "string",
                default: "\"\"".into(),
                description: WEBHOOK_CERTIFICATES_DOC.into(),
            });
        }
        if !fixed.credentials.is_empty() {
            out.push_str(&format!(
                "credentials:\n  # -- {CREDENTIALS_MODE_DOC}\n  mode: \"\"\n"
            ));
            docs.push(Doc {
                key: "credentials.mode".into(),
                kind: "string",
                default: "\"\"".into(),
                description: CREDENTIALS_MODE_DOC.into(),
            });
            for c in credential_values(fixed.credentials) {
                let description = credential_doc(c);
                out.push_str(&format!("  # -- {description}\n  {}: \"\"\n", c.value));
                docs.push(Doc {
                    key: format!("credentials.{}", c.value),
                    kind: "string",
                    default: "\"\"".into(),
                    description,
                });
            }
        }
        if !fixed.settings.is_empty() {
            out.push_str("settings:\n");
            for st in fixed.settings {
                let global = if st.global.is_empty() {
                    String::new()
                } else {
                    format!("; `global.{}` wins when set", st.global)
                };
                let description = format!(
                    "{} (in {} `{}`, `{}`; default: upstream's{global})",
                    st.description,
                    st.kind,
                    st.name,
                    st.field.join(".")
                );
                let default = inline(&Value::String(st.literal.clone()));
                out.push_str(&format!(
                    "  # -- {description}\n  {}: {default}\n",
                    st.value
                ));
                docs.push(Doc {
                    key: format!("settings.{}", st.value),
                    kind: "string",
                    default,
                    description,
                });
            }
        }
        crate::fields::values_yaml(fixed.chart_values, &mut out, &mut docs);
        for (section, entries) in &self.sections {
            if entries.is_empty() {
                continue;
            }
            out.push_str(&format!("{section}:\n"));
            for (key, e) in entries {
                out.push_str(&format!("  # {}\n  {key}:\n", e.description));
                for (f, v) in &e.fields {
                    let f = f.as_str().unwrap_or_default();
                    let (kind, d) = field_doc(section, f);
                    let description = format!("{}: {d}", e.description);
                    out.push_str(&format!("    # -- {description}\n"));
                    emit(&mut out, 4, f, v);
                    docs.push(Doc {
                        key: format!("{section}.{key}.{f}"),
                        kind,
                        default: inline(v),
                        description,
                    });
                }
            }
        }
        (out, docs)
    }

    pub fn schema(&self, fixed: &Fixed, comment: &str) -> serde_json::Value {
        let names = &fixed.scenarios;
        let image = json!({
            "type": "object", "additionalProperties": false,
            "properties": {
                "registry": {"type": "string"}, "repository": {"type": "string"},
                "tag": {"type": "string"}, "digest": {"type": "string"},
                "pullPolicy": {"type": "string", "enum": ["", "Always", "IfNotPresent", "Never"]}
            }
        });
        let field_schema = |section: &str, f: &str| match (section, f) {
            ("containers", "image") => image.clone(),
            ("workloads", "replicas") => json!({"type": ["integer", "null"], "minimum": 0}),
            ("workloads", "tolerations") => json!({"type": "array"}),
            ("persistence", _) => json!({"type": "string"}),
            _ => json!({"type": "object"}),
        };
        let mut props = serde_json::Map::new();
        props.insert(
            "enabled".into(),
            json!({"type": "boolean", "description": "Set by the umbrella chart's condition"}),
        );
        props.insert("variant".into(), json!({"type": "string", "enum": names}));
        props.insert(
            "commonLabels".into(),
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
        );
        props.insert("helmLabels".into(), json!({"type": "boolean"}));
        props.insert("kfPost".into(), json!({"type": "object"}));
        props.insert(
            "global".into(),
            json!({
                "type": "object", "additionalProperties": true,
                "properties": {
                    "imageRegistry": {"type": "string"},
                    "crds": {"type": "object", "properties": {"install": {"type": "boolean"}}},
                    "imagePullSecrets": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
                    "credentials": {
                        "type": "object",
                        "properties": {"mode": {"type": "string", "enum": ["", "demo", "generate"]}},
                        "additionalProperties": {"type": "string"}
                    }
                }
            }),
        );
        if fixed.webhook_certificates {
            props.insert(
                "webhookCertificates".into(),
                json!({"type": "string", "enum": ["", "cert-manager", "helm"], "description": WEBHOOK_CERTIFICATES_DOC}),
            );
        }
        if fixed.crds {
            props.insert(
                "crds".into(),
                json!({"type": "object", "additionalProperties": false, "properties": {
                    "install": {"type": "boolean", "description": CRDS_INSTALL_DOC},
                    "keep": {"type": "boolean", "description": CRDS_KEEP_DOC}
                }}),
            );
        }
        if !fixed.settings.is_empty() {
            let sp: serde_json::Map<String, serde_json::Value> = fixed
                .settings
                .iter()
                // Inserted into upstream text (TOML/YAML strings): one line, no quotes.
                .map(|st| {
                    (
                        st.value.clone(),
                        json!({"type": "string", "minLength": 1, "pattern": "^[^\"\\\\\n]*$"}),
                    )
                })
                .collect();
            props.insert(
                "settings".into(),
                json!({"type": "object", "additionalProperties": false, "properties": sp}),
            );
        }
        if !fixed.credentials.is_empty() {
            let mut cp = serde_json::Map::new();
            cp.insert(
                "mode".into(),
                json!({"type": "string", "enum": ["", "demo", "generate"], "description": CREDENTIALS_MODE_DOC}),
            );
            for c in credential_values(fixed.credentials) {
                cp.insert(
                    c.value.clone(),
                    json!({"type": "string", "description": credential_doc(c)}),
                );
            }
            props.insert(
                "credentials".into(),
                json!({"type": "object", "additionalProperties": false, "properties": cp}),
            );
        }
        crate::fields::schema(fixed.chart_values, &mut props);
        for (section, entries) in &self.sections {
            let mut sp = serde_json::Map::new();
            for (key, e) in entries {
                let mut fp = serde_json::Map::new();
                for (f, _) in &e.fields {
                    let f = f.as_str().unwrap_or_default();
                    fp.insert(f.into(), field_schema(section, f));
                }
                sp.insert(
                    key.clone(),
                    json!({"type": "object", "additionalProperties": false, "properties": fp}),
                );
            }
            props.insert(
                section.clone(),
                json!({"type": "object", "additionalProperties": false, "properties": sp}),
            );
        }
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$comment": comment,
            "title": format!("{} values", fixed.chart),
            "type": "object",
            "additionalProperties": false,
            "properties": props
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_keys() {
        for (i, o) in [
            ("katib-controller", "katibController"),
            ("ml-pipeline-ui", "mlPipelineUi"),
            ("a.b_c", "aBC"),
            ("3scale", "x3scale"),
            ("Already", "already"),
        ] {
            assert_eq!(camel(i), o);
        }
    }

    #[test]
    fn claims_share_equal_defaults_and_split_different_ones() {
        let mut t = ValuesTree::default();
        let m = |n: i64| {
            let mut m = Mapping::new();
            m.insert("replicas".into(), n.into());
            m
        };
        assert_eq!(t.claim("workloads", "ui", "a", m(1), "d").unwrap(), "ui");
        assert_eq!(t.claim("workloads", "ui", "b", m(1), "d").unwrap(), "ui");
        assert_eq!(
            t.claim("workloads", "ui", "leader-election", m(2), "d")
                .unwrap(),
            "uiLeaderElection"
        );
        assert_eq!(
            t.claim("workloads", "ui", "leader-election", m(2), "d")
                .unwrap(),
            "uiLeaderElection"
        );
        assert_eq!(
            t.claim("workloads", "ui", "leader-election", m(3), "d")
                .unwrap(),
            "uiLeaderElection2"
        );
    }
}
