//! The engine configuration: one `PostRenderConfig` document.
//!
//! ```yaml
//! apiVersion: kf-post.kubeflow.org/v1alpha1
//! kind: PostRenderConfig
//! metadata: {name: kubeflow}
//! spec: {namespace: {...}, labels: {...}, ...}   # one key per transform
//! ```
//!
//! Sources, lowest precedence first: built-in defaults (every transform off),
//! `PostRenderConfig` documents inside the rendered stream (one per chart or
//! subchart; merged in stream order), the `--config` file. In-stream documents
//! are merged with each other strictly — mappings deep-merged, lists
//! appended, two different values for one scalar are an error naming both
//! documents — because they come from sibling charts that should not silently
//! override each other. The `--config` file is the operator's last word: its
//! mappings are deep-merged over the result and its scalars and lists replace.

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::document::Document;
use crate::error::{Error, Result};
use crate::transforms;

pub const API_VERSION: &str = "kf-post.kubeflow.org/v1alpha1";
pub const KIND: &str = "PostRenderConfig";

/// The `spec` of a `PostRenderConfig`: one typed section per transform.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub namespace: transforms::namespace::Config,
    #[serde(default)]
    pub profiles: transforms::profiles::Config,
    #[serde(default)]
    pub certificates: transforms::certificates::Config,
    #[serde(default)]
    pub auth: transforms::auth::Config,
    #[serde(default)]
    pub istio: transforms::istio::Config,
    #[serde(default)]
    pub security: transforms::security::Config,
    #[serde(default)]
    pub images: transforms::images::Config,
    #[serde(default)]
    pub labels: transforms::labels::Config,
    #[serde(default)]
    pub helm4: transforms::helm4::Config,
}

/// Check a `PostRenderConfig` document on its own, without a stream: its
/// shape (the types the JSON Schema is generated from: fields, types, enums,
/// no unknown fields) and the checks transforms make before looking at the
/// stream (names, prefixes, durations, required fields of a mode).
pub fn validate(text: &str) -> Result<Config> {
    let (config, _) = resolve(&[], Some(text))?;
    config.namespace.check()?;
    config.profiles.check()?;
    config.auth.check()?;
    config.istio.check()?;
    Ok(config)
}

/// The JSON Schema (draft 2020-12) of a `PostRenderConfig` document,
/// generated from the types above, so it cannot drift from what kf-post
/// accepts. Published as `post-renderer/schema/postrenderconfig.schema.json`
/// (a test fails when that file differs from this).
pub fn json_schema() -> serde_json::Value {
    let mut spec = serde_json::to_value(schemars::schema_for!(Config)).expect("a schema");
    let object = spec.as_object_mut().expect("an object schema");
    object.remove("$schema");
    object.remove("title");
    let defs = object.remove("$defs").unwrap_or_default();
    object.insert(
        "description".into(),
        "One section per transform; an absent section changes nothing. See docs/kf-post.md.".into(),
    );
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/kubeflow/kubeflow-helm/post-renderer/schema/postrenderconfig.schema.json",
        "title": KIND,
        "description": "Configuration of the kf-post transform engine (docs/kf-post.md), given with --config or rendered into the stream.",
        "type": "object",
        "additionalProperties": false,
        "required": ["apiVersion", "kind"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": KIND},
            "metadata": {"type": ["object", "null"]},
            "spec": spec,
        },
        "$defs": defs,
    })
}

/// Where a piece of configuration came from, for messages and `--explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `PostRenderConfig` document of the stream (its description).
    Stream(String),
    /// The `--config` file (or the plugin's config string).
    File,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Stream(doc) => write!(f, "{doc}"),
            Origin::File => write!(f, "the --config file"),
        }
    }
}

/// Whether a document of the stream is a `PostRenderConfig` (to be consumed).
pub fn is_config_document(doc: &Document) -> bool {
    doc.kind() == Some(KIND) && doc.group() == "kf-post.kubeflow.org"
}

/// Build the configuration from the in-stream documents and the file text.
pub fn resolve(in_stream: &[Document], file: Option<&str>) -> Result<(Config, Vec<Origin>)> {
    let mut merged = Value::Mapping(Mapping::new());
    let mut origins: Vec<Origin> = Vec::new();
    for doc in in_stream {
        let origin = Origin::Stream(doc.doc_ref().to_string());
        let spec = spec_of(doc.value(), &origin)?;
        merge_strict(&mut merged, spec, "spec", &origins, &origin)?;
        origins.push(origin);
    }
    if let Some(text) = file {
        let value: Value = serde_yaml::from_str(text)
            .map_err(|e| Error::Config(format!("{}: invalid YAML: {e}", Origin::File)))?;
        let spec = spec_of(&value, &Origin::File)?;
        merge_override(&mut merged, spec);
        origins.push(Origin::File);
    }
    let config = parse_spec(merged).map_err(|e| {
        let from = if origins.is_empty() {
            "defaults".to_owned()
        } else {
            origins
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" + ")
        };
        Error::Config(format!("{e} (configuration from {from})"))
    })?;
    Ok((config, origins))
}

/// Deserialize a merged `spec`, naming the path of a bad field.
fn parse_spec(spec: Value) -> std::result::Result<Config, String> {
    serde_path_to_error::deserialize(spec).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if path == "." {
            format!("spec: {message}")
        } else {
            format!("spec.{path}: {message}")
        }
    })
}

/// Check the envelope of a config document and return its `spec`.
fn spec_of(value: &Value, origin: &Origin) -> Result<Value> {
    let bad = |m: String| Error::Config(format!("{origin}: {m}"));
    let Value::Mapping(map) = value else {
        return Err(bad("expected a PostRenderConfig mapping".into()));
    };
    for (key, _) in map {
        match key.as_str() {
            Some("apiVersion" | "kind" | "metadata" | "spec") => {}
            _ => return Err(bad(format!("unknown top-level field {key:?}"))),
        }
    }
    let api_version = map.get("apiVersion").and_then(Value::as_str);
    if api_version != Some(API_VERSION) {
        return Err(bad(format!(
            "apiVersion must be {API_VERSION}, found {api_version:?}"
        )));
    }
    let kind = map.get("kind").and_then(Value::as_str);
    if kind != Some(KIND) {
        return Err(bad(format!("kind must be {KIND}, found {kind:?}")));
    }
    match map.get("spec") {
        None | Some(Value::Null) => Ok(Value::Mapping(Mapping::new())),
        Some(spec @ Value::Mapping(_)) => Ok(spec.clone()),
        Some(_) => Err(bad("field `spec`: expected a mapping".into())),
    }
}

/// Merge an in-stream document into the accumulated config: mappings merge,
/// lists append, equal scalars agree, different scalars conflict.
fn merge_strict(
    acc: &mut Value,
    new: Value,
    path: &str,
    earlier: &[Origin],
    origin: &Origin,
) -> Result<()> {
    match (acc, new) {
        (Value::Mapping(a), Value::Mapping(b)) => {
            for (k, v) in b {
                let key = k
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{k:?}"));
                let child = format!("{path}.{key}");
                match a.get_mut(&k) {
                    Some(existing) => merge_strict(existing, v, &child, earlier, origin)?,
                    None => {
                        a.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        (Value::Sequence(a), Value::Sequence(b)) => {
            a.extend(b);
            Ok(())
        }
        (a, b) if *a == b => Ok(()),
        (a, b) => Err(Error::Config(format!(
            "`{path}` is {} in {} but {} in {origin}; in-stream PostRenderConfig documents \
             may not disagree (set it once, or in the --config file, which wins)",
            short(a),
            earlier
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
            short(&b),
        ))),
    }
}

/// Merge the `--config` file over everything else: mappings merge, anything
/// else is replaced.
fn merge_override(acc: &mut Value, new: Value) {
    match (acc, new) {
        (Value::Mapping(a), Value::Mapping(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge_override(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (a, b) => *a = b,
    }
}

fn short(v: &Value) -> String {
    let s = serde_yaml::to_string(v).unwrap_or_default();
    let s = s.trim();
    if s.len() > 60 {
        format!("{}…", &s[..s.floor_char_boundary(60)])
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(index: usize, spec: &str) -> Document {
        let mut d = Document::from_yaml(&format!(
            "# Source: chart{index}/templates/kf-post.yaml\napiVersion: {API_VERSION}\nkind: {KIND}\nmetadata: {{name: c{index}}}\nspec: {spec}\n"
        ))
        .unwrap();
        d.index = index;
        d
    }

    #[test]
    fn defaults_when_nothing_given() {
        let (c, origins) = resolve(&[], None).unwrap();
        assert!(origins.is_empty());
        assert!(c.labels.labels.is_empty());
        assert!(c.namespace.map.is_empty());
    }

    #[test]
    fn in_stream_documents_merge_and_file_wins() {
        let docs = [
            doc(
                0,
                "{labels: {labels: {a: '1'}}, namespace: {map: {x: kubeflow}}}",
            ),
            doc(
                3,
                "{labels: {labels: {b: '2'}}, images: {pullSecrets: [s1]}}",
            ),
            doc(
                5,
                "{labels: {labels: {a: '1'}}, images: {pullSecrets: [s2]}}",
            ),
        ];
        let file = format!("apiVersion: {API_VERSION}\nkind: {KIND}\nspec:\n  labels: {{labels: {{b: '3'}}}}\n  images: {{pullSecrets: [f]}}\n");
        let (c, origins) = resolve(&docs, Some(&file)).unwrap();
        assert_eq!(origins.len(), 4);
        let labels: Vec<_> = c
            .labels
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(labels, ["a=1", "b=3"]);
        assert_eq!(c.images.pull_secrets, ["f"]);
        assert_eq!(
            c.namespace.map.get("x").map(String::as_str),
            Some("kubeflow")
        );
        let (c, _) = resolve(&docs, None).unwrap();
        assert_eq!(c.images.pull_secrets, ["s1", "s2"]);
    }

    #[test]
    fn validate_checks_shape_and_values_without_a_stream() {
        let file = |spec: &str| format!("apiVersion: {API_VERSION}\nkind: {KIND}\nspec: {spec}\n");
        let good = file("{auth: {apps: [{name: mlflow, service: mlflow, prefix: /mlflow/}]}, istio: {mode: sidecar}}");
        assert_eq!(validate(&good).unwrap().auth.apps[0].name, "mlflow");
        // (spec, expected message)
        let cases = [
            (
                "{auth: {apps: [{name: m, service: m, prefx: /}]}}",
                "spec.auth.apps[0].prefx: unknown field `prefx`",
            ),
            (
                "{istio: {mode: sidecars}}",
                "spec.istio.mode: unknown variant `sidecars`",
            ),
            (
                "{auth: {apps: [{name: m, service: m, prefix: mlflow}]}}",
                "auth.apps[m].prefix: \"mlflow\" is not a URI path",
            ),
            ("{auth: {mode: oidc}}", "auth.issuer: required"),
            ("{namespace: {default: Team}}", "namespace.default"),
            (
                "{profiles: {profiles: [{name: Team, owner: a}]}}",
                "profiles.profiles[0].name",
            ),
            (
                "{istio: {destinationRules: [{service: s, name: 'a b'}]}}",
                "istio.destinationRules[0].name",
            ),
        ];
        for (spec, want) in cases {
            let got = validate(&file(spec)).unwrap_err().to_string();
            assert!(got.contains(want), "{spec}: {got}");
        }
    }

    #[test]
    fn errors_name_the_source_and_path() {
        let file = |spec: &str| format!("apiVersion: {API_VERSION}\nkind: {KIND}\nspec: {spec}\n");
        let cases: Vec<(Vec<Document>, Option<String>, &str)> = vec![
            (
                vec![doc(1, "{labels: {labels: {a: '1'}}}"), doc(4, "{labels: {labels: {a: '2'}}}")],
                None,
                "`spec.labels.labels.a` is '1' in document 1 (chart1/templates/kf-post.yaml) PostRenderConfig/c1 but '2' in document 4",
            ),
            (vec![], Some(file("{labels: {lables: {}}}")), "config: spec.labels.lables: unknown field `lables`, expected one of `labels`, `annotations`, `podTemplates` (configuration from the --config file)"),
            (vec![], Some(file("{nope: {}}")), "config: spec.nope: unknown field `nope`"),
            (vec![], Some(file("{images: {pullSecrets: 3}}")), "spec.images.pullSecrets: invalid type: integer `3`, expected a sequence"),
            (vec![doc(2, "{labels: {labels: [x]}}")], None, "spec.labels.labels: invalid type: sequence, expected a map (configuration from document 2"),
            (vec![], Some("apiVersion: v1\nkind: ConfigMap\n".into()), "the --config file: apiVersion must be kf-post.kubeflow.org/v1alpha1"),
            (vec![], Some(format!("apiVersion: {API_VERSION}\nkind: {KIND}\nspce: {{}}\n")), "unknown top-level field"),
            (vec![], Some("a: [".into()), "the --config file: invalid YAML"),
        ];
        for (docs, file, want) in cases {
            let got = resolve(&docs, file.as_deref()).unwrap_err().to_string();
            assert!(got.contains(want), "got: {got}\nwant: {want}");
        }
    }
}
