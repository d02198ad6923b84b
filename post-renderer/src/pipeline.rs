//! The pipeline: read the stream, take out the `PostRenderConfig` documents,
//! run the transforms in a fixed order, write the stream.
//!
//! The order is part of the contract (docs/kf-post.md):
//! namespace → profiles → certificates → auth → istio → security →
//! images → labels → helm4. Namespaces move first so every later transform sees
//! final namespaces; objects are generated (profiles, certificates, auth,
//! istio, security) before images/labels so those apply to generated objects too;
//! helm4 compatibility fixes run last on the final objects.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::config::{self, Config};
use crate::document::{Document, HELM4_FILENAME};
use crate::error::Result;
use crate::stream::{self, ParseOptions};
use crate::transforms::Filter;

/// Options of one run (the same for the CLI and the WASM plugin).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A `PostRenderConfig` document (YAML) that overrides in-stream ones.
    pub config_yaml: Option<String>,
    /// Collect a human-readable account of every change.
    pub explain: bool,
}

/// The result of one run.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub stream: Vec<u8>,
    /// Empty unless `Options::explain`.
    pub explain: String,
}

impl Config {
    /// The transforms in pipeline order.
    pub fn filters(&self) -> Vec<&dyn Filter> {
        vec![
            &self.namespace,
            &self.profiles,
            &self.certificates,
            &self.auth,
            &self.istio,
            &self.security,
            &self.images,
            &self.labels,
            &self.helm4,
        ]
    }
}

/// Run the engine over a rendered stream.
pub fn post_render(input: &[u8], options: &Options) -> Result<Output> {
    let parsed = stream::parse(input, ParseOptions::default())?;
    let (config_docs, mut docs): (Vec<Document>, Vec<Document>) = parsed
        .documents
        .into_iter()
        .partition(config::is_config_document);
    let (config, origins) = config::resolve(&config_docs, options.config_yaml.as_deref())?;

    let mut removed: Vec<(String, &'static str)> = Vec::new();
    for filter in config.filters() {
        let before: Vec<(usize, String)> = if options.explain {
            docs.iter()
                .filter(|d| !d.is_generated())
                .map(|d| (d.index, d.doc_ref().to_string()))
                .collect()
        } else {
            Vec::new()
        };
        docs = filter.filter(docs)?;
        if options.explain {
            let after: BTreeSet<usize> = docs
                .iter()
                .filter(|d| !d.is_generated())
                .map(|d| d.index)
                .collect();
            removed.extend(
                before
                    .into_iter()
                    .filter(|(i, _)| !after.contains(i))
                    .map(|(_, d)| (d, filter.name())),
            );
        }
    }
    name_generated_for_helm4(&mut docs);
    let explain = if options.explain {
        explain(
            &docs,
            &config_docs,
            &origins,
            &removed,
            parsed.empty_documents,
        )
    } else {
        String::new()
    };
    let out = stream::emit(docs, &parsed.opaque)?;
    Ok(Output {
        stream: out,
        explain,
    })
}

/// The engine's output guarantee, for any input: [`post_render`] refuses
/// what it cannot handle with an error, never a panic (a panic is not caught
/// here: it reaches the caller), and what it prints for an input it accepts
/// is UTF-8 whose every document parses as YAML again, since Helm applies
/// whatever kf-post prints. The fuzz target (`fuzz/fuzz_targets/post_render.rs`)
/// and the corpus replay test (`post-renderer/tests/fuzz_replay.rs`) hold
/// every input to this one check; `Err` describes the broken guarantee (an
/// engine bug), with the output.
pub fn check_output_guarantee(input: &[u8], options: &Options) -> std::result::Result<(), String> {
    let Ok(out) = post_render(input, options) else {
        return Ok(());
    };
    let text = std::str::from_utf8(&out.stream)
        .map_err(|e| format!("accepted input produced output that is not UTF-8: {e}"))?;
    // serde_yaml's own stream reader, not kf-post's: the output must parse
    // with a reader that is not the one that wrote it.
    for doc in serde_yaml::Deserializer::from_str(text) {
        if let Err(e) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) {
            return Err(format!(
                "accepted input produced unparsable output: {e}\n--- output ---\n{text}"
            ));
        }
    }
    Ok(())
}

/// Helm 4 regroups post-rendered documents by the file annotation and names
/// documents without one `generated-by-postrender-<position>.yaml`, which
/// changes whenever the stream does. When the input carries the annotation,
/// give generated documents a stable file name per transform instead.
fn name_generated_for_helm4(docs: &mut [Document]) {
    if !docs
        .iter()
        .any(|d| !d.is_generated() && d.annotation(HELM4_FILENAME).is_some())
    {
        return;
    }
    for doc in docs
        .iter_mut()
        .filter(|d| d.is_generated() && d.annotation(HELM4_FILENAME).is_none())
    {
        let Some(transform) = doc.changes().first().map(|c| c.transform) else {
            continue;
        };
        let file = format!("kf-post/{transform}.yaml");
        doc.set_annotation(transform, HELM4_FILENAME, &file);
    }
}

fn explain(
    docs: &[Document],
    config_docs: &[Document],
    origins: &[config::Origin],
    removed: &[(String, &'static str)],
    empty: usize,
) -> String {
    let mut s = String::new();
    let from: Vec<String> = origins.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        s,
        "config: {}",
        if from.is_empty() {
            "built-in defaults (no transform enabled)".into()
        } else {
            from.join(" + ")
        }
    );
    for d in config_docs {
        let _ = writeln!(
            s,
            "{}: consumed (PostRenderConfig, not emitted)",
            d.doc_ref()
        );
    }
    if empty > 0 {
        let _ = writeln!(s, "{empty} empty document(s) (comments only) not emitted");
    }
    for (d, by) in removed {
        let _ = writeln!(s, "{d}: removed by {by}");
    }
    let (mut changed, mut generated) = (0, 0);
    for d in docs.iter().filter(|d| d.is_touched()) {
        if d.is_generated() {
            generated += 1;
            let at = d.namespace().map(|ns| format!("{ns}/")).unwrap_or_default();
            let _ = writeln!(
                s,
                "new {} {at}{}:",
                d.kind().unwrap_or("?"),
                d.name().unwrap_or("?")
            );
        } else {
            changed += 1;
            let _ = writeln!(s, "{}:", d.doc_ref());
        }
        for c in d.changes() {
            let _ = writeln!(s, "  {}: {}", c.transform, c.what);
        }
    }
    let _ = writeln!(
        s,
        "summary: {} documents out, {changed} changed, {generated} generated, {} removed, {} untouched (byte-identical)",
        docs.len(),
        removed.len(),
        docs.iter().filter(|d| !d.is_touched()).count()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "---\n# Source: c/templates/kf-post.yaml\napiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nmetadata: {name: c}\nspec:\n  labels: {labels: {team: ml}}\n";
    const CM: &str = "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: ns\ndata: {a: b}\n";

    fn run(input: &str, config: Option<&str>) -> Output {
        post_render(
            input.as_bytes(),
            &Options {
                config_yaml: config.map(str::to_owned),
                explain: true,
            },
        )
        .unwrap()
    }

    #[test]
    fn in_stream_config_is_consumed_and_applied() {
        let out = run(&format!("{CONFIG}{CM}"), None);
        let text = String::from_utf8(out.stream).unwrap();
        assert!(!text.contains("PostRenderConfig"), "{text}");
        assert!(text.contains("team: ml"), "{text}");
        assert!(
            out.explain.contains("PostRenderConfig/c: consumed"),
            "{}",
            out.explain
        );
        assert!(
            out.explain.contains("labels: set metadata.labels.team=ml"),
            "{}",
            out.explain
        );
    }

    #[test]
    fn config_file_overrides_stream() {
        let file = "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec: {labels: {labels: {team: ops}}}\n";
        let text = String::from_utf8(run(&format!("{CONFIG}{CM}"), Some(file)).stream).unwrap();
        assert!(
            text.contains("team: ops") && !text.contains("team: ml"),
            "{text}"
        );
    }

    #[test]
    fn generated_documents_get_a_helm4_file_name_only_under_helm4() {
        let config = "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec: {security: {preset: hardened}}\n";
        let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: ns\n  annotations: {postrenderer.helm.sh/postrender-filename: c/templates/d.yaml}\nspec: {template: {spec: {containers: [{name: c, image: i}]}}}\n";
        let out = String::from_utf8(run(deploy, Some(config)).stream).unwrap();
        assert!(
            out.contains("postrenderer.helm.sh/postrender-filename: kf-post/security.yaml"),
            "{out}"
        );
        let helm3 = deploy.replace(
            "  annotations: {postrenderer.helm.sh/postrender-filename: c/templates/d.yaml}\n",
            "",
        );
        let out = String::from_utf8(run(&helm3, Some(config)).stream).unwrap();
        assert!(
            out.contains("kind: NetworkPolicy") && !out.contains("postrender-filename"),
            "{out}"
        );
    }

    #[test]
    fn no_config_is_identity() {
        let out = run(CM, None);
        assert_eq!(String::from_utf8(out.stream).unwrap(), CM);
        assert!(out.explain.contains("0 changed"), "{}", out.explain);
    }
}
