//! Every list of components other than the catalog (`catalog/components.yaml`),
//! generated from it by `cargo xtask sync` (and compared by `--check`, so a list
//! that drifts fails): the umbrella chart's dependencies and its component tables,
//! (between markers in its hand-written _components.tpl), the plugin's embedded
//! variant tables, the Argo CD app-per-component
//! Applications and the chart table of docs/architecture.md. The component charts'
//! appVersions come from the same entries (`crate::chart`).

use crate::chart::{header, Files};
use crate::upstream::{repo_root, Catalog, ChartSpec, Source, CATALOG};
use anyhow::{bail, Context, Result};
use kubeflow_catalog::variants::{ChartVariants, Meshed, ModeVariants, Variants};
use kubeflow_catalog::GATEWAY_NEEDS;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;

fn is_istio(doc: &Value) -> bool {
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    api.rsplit_once('/')
        .is_some_and(|(group, _)| group.ends_with("istio.io"))
}

/// Charts with both Istio and Istio-free scenarios. Checks the catalog's `gateway`
/// flag (true exactly for these, as the plugin assumes) and `standaloneVariant`.
pub fn meshed(catalog: &Catalog, source: &Source) -> Result<Vec<Meshed>> {
    let mut out = Vec::new();
    for c in &catalog.charts {
        let mut meshed = Vec::new();
        let mut plain = Vec::new();
        for (name, sc) in &c.scenarios {
            let docs = source.scenario_docs(&sc.dirs)?;
            if docs.iter().any(is_istio) {
                meshed.push(name.clone());
            } else {
                plain.push(name.clone());
            }
        }
        let has = !meshed.is_empty() && !plain.is_empty();
        if has != c.gateway {
            bail!(
                "{CATALOG}: {}: gateway is {}, but {}",
                c.chart,
                c.gateway,
                if has {
                    format!("its variants {meshed:?} render Istio objects and {plain:?} do not")
                } else {
                    "it has no variant pair with and without Istio objects".to_string()
                }
            );
        }
        if !has {
            if c.standalone_variant.is_some() {
                bail!("{CATALOG}: {}: standaloneVariant needs variants with and without Istio objects", c.chart);
            }
            continue;
        }
        let standalone = match &c.standalone_variant {
            Some(v) if plain.contains(v) => v.clone(),
            Some(v) => bail!(
                "{CATALOG}: {}: standaloneVariant {v} renders Istio objects",
                c.chart
            ),
            None => plain[0].clone(),
        };
        out.push(Meshed {
            chart: c.chart.clone(),
            meshed,
            standalone,
        });
    }
    Ok(out)
}

/// `upstream.rendered` of every component is the snapshot's file of its overlay.
fn check_rendered(catalog: &Catalog, source: &Source) -> Result<()> {
    if let Source::Snapshot { index, .. } = source {
        for c in &catalog.charts {
            let want = index.get(&c.upstream.overlay);
            if want != Some(&c.upstream.rendered) {
                bail!(
                    "{CATALOG}: {}: upstream.rendered {:?}, but the snapshot renders {} to {want:?}",
                    c.chart,
                    c.upstream.rendered,
                    c.upstream.overlay
                );
            }
        }
    }
    Ok(())
}

fn flow_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// The umbrella's component tables (between markers in `charts/kubeflow/templates/_components.tpl`).
fn tables_tpl(catalog: &Catalog, meshed: &[Meshed]) -> String {
    let mut s = String::from("\n");
    s.push_str("{{/*\nComponent table of the umbrella: umbrella key (= chart name) -> group tags (the\nsame tags as Chart.yaml's dependencies).\n*/}}\n{{- define \"kubeflow.componentTags\" -}}\n");
    for c in &catalog.charts {
        s.push_str(&format!("{}: [{}]\n", c.chart, c.tag));
    }
    s.push_str("{{- end }}\n\n");
    s.push_str("{{/*\nHard requirements (catalog `requires`): a component does not work without these.\nGateway and auth requirements depend on global.istio / global.auth and are in\nkubeflow.meshedVariants / checks.yaml.\n*/}}\n{{- define \"kubeflow.requires\" -}}\n");
    for c in catalog.charts.iter().filter(|c| !c.requires.is_empty()) {
        s.push_str(&format!("{}: {}\n", c.chart, flow_list(&c.requires)));
    }
    s.push_str("{{- end }}\n\n");
    s.push_str("{{/*\nComponent chart variants (`<key>.variant`) that render Istio objects\n(VirtualService, AuthorizationPolicy, …), and the variant without them used with\nglobal.istio.enabled=false. Measured over the upstream scenarios by the sync.\n*/}}\n{{- define \"kubeflow.meshedVariants\" -}}\n");
    let mut sorted: Vec<&Meshed> = meshed.iter().collect();
    sorted.sort_by(|a, b| a.chart.cmp(&b.chart));
    for m in sorted {
        s.push_str(&format!(
            "{}: {{meshed: {}, standalone: {}}}\n",
            m.chart,
            flow_list(&m.meshed),
            m.standalone
        ));
    }
    s.push_str("{{- end }}\n\n");
    for c in catalog
        .charts
        .iter()
        .filter(|c| !c.auth_mode_variants.is_empty())
    {
        let define = crate::values::camel(&format!("{}-variant", c.chart));
        s.push_str(&format!(
            "{{{{/* {} chart variant each global.auth.mode needs (upstream overlays). */}}}}\n{{{{- define \"kubeflow.{define}\" -}}}}\n",
            c.chart
        ));
        for (mode, v) in &c.auth_mode_variants {
            s.push_str(&format!("{mode}: {v}\n"));
        }
        s.push_str("{{- end }}\n");
    }
    s
}

/// The umbrella Chart.yaml: its hand-written metadata (everything above the
/// generated dependencies, but its `version` and `appVersion`: the release's) and one
/// dependency per component.
fn umbrella_chart_yaml(catalog: &Catalog) -> Result<String> {
    let path = repo_root().join("charts/kubeflow/Chart.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    const MARK: &str = "# -- Generated by cargo xtask sync from catalog/components.yaml";
    let head = match text.find(MARK) {
        Some(i) => &text[..i],
        None => {
            // First generation: the hand-written part ends before `dependencies:`
            // and the comment block directly above it.
            let i = text
                .find("\ndependencies:")
                .with_context(|| format!("{}: no dependencies", path.display()))?;
            let mut head = &text[..i + 1];
            while let Some(j) = head[..head.len() - 1].rfind('\n') {
                if head[j + 1..].starts_with('#') {
                    head = &head[..j + 1];
                } else {
                    break;
                }
            }
            head
        }
    };
    // Its version and appVersion are the release's, as every component chart's.
    let mut s = String::new();
    for line in head.lines() {
        if line.starts_with("version:") {
            s.push_str(&format!("version: {}\n", catalog.release.chart_version));
        } else if line.starts_with("appVersion:") {
            s.push_str(&format!("appVersion: \"{}\"\n", catalog.release.name));
        } else {
            s.push_str(line);
            s.push('\n');
        }
    }
    s.push_str(&format!("{MARK} (one dependency per\n# component, keyed by its chart name). A component is on when `<name>.enabled` is\n# true; when it is unset, its group tag under `tags:` decides (Helm: conditions win\n# over tags).\ndependencies:\n"));
    for c in &catalog.charts {
        s.push_str(&format!(
            "  - name: {n}\n    alias: {n}\n    version: \">=0.0.0-0\"\n    repository: file://../{n}\n    condition: {n}.enabled\n    tags: [{t}]\n",
            n = c.chart,
            t = c.tag
        ));
    }
    Ok(s)
}

/// `catalog/variants.json`: what plugin/build.rs embeds (the WASM sandbox reads no
/// files): each chart's variants (default first), the meshed-variant table and
/// the variants global.auth.mode needs.
fn variants_json(catalog: &Catalog, meshed: &[Meshed], hdr: &str) -> String {
    let charts = catalog
        .charts
        .iter()
        .map(|c| ChartVariants {
            chart: c.chart.clone(),
            variants: c.scenarios.keys().cloned().collect(),
        })
        .collect();
    let auth_mode_variants = catalog
        .charts
        .iter()
        .filter(|c| !c.auth_mode_variants.is_empty())
        .map(|c| {
            let modes = c.auth_mode_variants.clone().into_iter().collect();
            (c.chart.clone(), ModeVariants(modes))
        })
        .collect();
    Variants {
        comment: hdr.to_string(),
        charts,
        meshed: meshed.to_vec(),
        auth_mode_variants,
    }
    .to_json()
}

/// Sync wave of every component: after everything it needs (requires, and the
/// Istio stack when it is served behind the gateway).
fn waves(catalog: &Catalog) -> Result<BTreeMap<String, usize>> {
    let needs = |c: &ChartSpec| -> Vec<String> {
        let mut n = c.requires.clone();
        if c.gateway {
            n.extend(GATEWAY_NEEDS.iter().map(|s| s.to_string()));
        }
        n
    };
    let mut waves: BTreeMap<String, usize> = BTreeMap::new();
    while waves.len() < catalog.charts.len() {
        let before = waves.len();
        for c in &catalog.charts {
            if waves.contains_key(&c.chart) {
                continue;
            }
            let n = needs(c);
            if n.iter().all(|d| waves.contains_key(d)) {
                let w = n.iter().map(|d| waves[d] + 1).max().unwrap_or(0);
                waves.insert(c.chart.clone(), w);
            }
        }
        if waves.len() == before {
            bail!("{CATALOG}: the requires of the components form a cycle");
        }
    }
    Ok(waves)
}

const APPLICATION: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ""
  namespace: argocd
  annotations: {}
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source:
    repoURL: https://github.com/kubeflow-helm/kubeflow-helm.git
    targetRevision: main
    path: charts/kubeflow
    plugin:
      name: kubeflow-helm-v1
      env:
        - name: RELEASE_NAME
          value: kubeflow
      parameters:
        - name: preset
          string: full
        - name: valueFiles
          array: [../../argocd/examples/per-component/one-component.yaml]
        - name: components
          map: {}
  destination:
    server: https://kubernetes.default.svc
    namespace: kubeflow
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [SkipDryRunOnMissingResource=true, CreateNamespace=true, RespectIgnoreDifferences=true]
    retry:
      limit: 10
      backoff: {duration: 10s, factor: 2, maxDuration: 3m}
  ignoreDifferences:
    - group: admissionregistration.k8s.io
      kind: MutatingWebhookConfiguration
      jqPathExpressions: [".webhooks[]?.clientConfig.caBundle"]
    - group: admissionregistration.k8s.io
      kind: ValidatingWebhookConfiguration
      jqPathExpressions: [".webhooks[]?.clientConfig.caBundle"]
    - group: apiextensions.k8s.io
      kind: CustomResourceDefinition
      jqPathExpressions: [".spec.conversion.webhook.clientConfig.caBundle"]
"#;

/// The size of the `kubectl.kubernetes.io/last-applied-configuration`
/// annotation's limit (all annotations of an object: 256 KiB).
const LAST_APPLIED_LIMIT: usize = 262_144;

/// The JSON size of the chart's largest CRD as the chart renders it (schema
/// descriptions stripped), over every scenario.
fn largest_crd(c: &ChartSpec, source: &Source) -> Result<usize> {
    let mut largest = 0;
    for scenario in c.scenarios.values() {
        for doc in source.scenario_docs(&scenario.dirs)? {
            if doc.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition") {
                largest = largest.max(serde_json::to_vec(&crate::crd::stripped(&doc))?.len());
            }
        }
    }
    Ok(largest)
}

/// One Argo CD Application per component (app-per-component layout): the umbrella
/// with only this component on, in a sync wave after everything it needs.
fn application(c: &ChartSpec, wave: usize, hdr: &str, source: &Source) -> Result<String> {
    let mut app: Value = serde_yaml::from_str(APPLICATION)?;
    if largest_crd(c, source)? > LAST_APPLIED_LIMIT {
        // Client-side apply stores the object in an annotation limited to 256 KiB.
        let options = app["spec"]["syncPolicy"]["syncOptions"]
            .as_sequence_mut()
            .expect("APPLICATION has syncOptions");
        options.insert(0, Value::String("ServerSideApply=true".into()));
    }
    app["metadata"]["name"] = Value::String(format!("kubeflow-{}", c.chart));
    let mut ann = Mapping::new();
    ann.insert(
        "argocd.argoproj.io/sync-wave".into(),
        Value::String(wave.to_string()),
    );
    app["metadata"]["annotations"] = Value::Mapping(ann);
    let mut on = Mapping::new();
    on.insert(c.chart.clone().into(), "true".into());
    app["spec"]["source"]["plugin"]["parameters"][2]["map"] = Value::Mapping(on);
    Ok(format!(
        "# {hdr}\n# Component {} (charts/{}), sync wave {wave}: after what it requires (and the\n# Istio stack when served behind the gateway); e2e/tests/argocd_cmp.rs checks it.\n# RELEASE_NAME: one release name for all components, as with a single helm install.\n{}",
        c.chart,
        c.chart,
        crate::template::to_yaml(&app)?
    ))
}

/// The chart table of docs/architecture.md: chart and umbrella key (the same), in
/// two column pairs.
fn architecture_table(catalog: &Catalog) -> String {
    let names: Vec<&str> = catalog.charts.iter().map(|c| c.chart.as_str()).collect();
    let half = names.len().div_ceil(2);
    let mut s =
        String::from("\n| chart | umbrella key | chart | umbrella key |\n|---|---|---|---|\n");
    for i in 0..half {
        let right = names.get(i + half).copied().unwrap_or("");
        s.push_str(&format!("| {0} | {0} | {1} | {1} |\n", names[i], right));
    }
    s
}

/// Replace the text between `begin` and `end` in a hand-written file of the repo.
fn between_markers(rel: &str, begin: &str, end: &str, body: &str) -> Result<String> {
    let path = repo_root().join(rel);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    match (text.find(begin), text.find(end)) {
        (Some(b), Some(e)) if b < e => Ok(format!("{}{begin}{body}{}", &text[..b], &text[e..])),
        _ => bail!("{}: no {begin} … {end} section", path.display()),
    }
}

/// Every file generated from the catalog, keyed by path relative to the output root.
pub fn generate(catalog: &Catalog, source: &Source) -> Result<Files> {
    check_rendered(catalog, source)?;
    let meshed = meshed(catalog, source)?;
    let hdr = header(CATALOG);
    let mut files = Files::new();
    files.insert(
        "charts/kubeflow/Chart.yaml".into(),
        umbrella_chart_yaml(catalog)?,
    );
    files.insert(
        "charts/kubeflow/templates/_components.tpl".into(),
        between_markers(
            "charts/kubeflow/templates/_components.tpl",
            "{{- /* BEGIN tables: generated by cargo xtask sync from catalog/components.yaml; do not edit. */}}",
            "{{- /* END tables */}}",
            &tables_tpl(catalog, &meshed),
        )?,
    );
    files.insert(
        kubeflow_catalog::variants::PATH.into(),
        variants_json(catalog, &meshed, &hdr),
    );
    let waves = waves(catalog)?;
    for c in &catalog.charts {
        files.insert(
            format!("argocd/examples/per-component/apps/{}.yaml", c.chart),
            application(c, waves[&c.chart], &hdr, source)?,
        );
    }
    files.insert(
        "docs/architecture.md".into(),
        between_markers(
            "docs/architecture.md",
            "<!-- BEGIN charts: generated by cargo xtask sync from catalog/components.yaml; do not edit. -->",
            "<!-- END charts -->",
            &architecture_table(catalog),
        )?,
    );
    Ok(files)
}

/// Directories whose every file is generated from the catalog (stale files fail).
pub const OWNED_DIRS: &[&str] = &["argocd/examples/per-component/apps"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_objects_are_the_istio_io_groups() {
        for (api, want) in [
            ("networking.istio.io/v1", true),
            ("security.istio.io/v1beta1", true),
            ("v1", false),
            ("apps/v1", false),
            ("kubeflow.org/v1", false),
        ] {
            let doc: Value = serde_yaml::from_str(&format!("apiVersion: {api}\nkind: X")).unwrap();
            assert_eq!(is_istio(&doc), want, "{api}");
        }
    }

    #[test]
    fn waves_follow_requires_and_the_gateway_stack() {
        let catalog = crate::upstream::load_catalog().unwrap();
        let w = waves(&catalog).unwrap();
        for c in &catalog.charts {
            for d in &c.requires {
                assert!(w[d] < w[&c.chart], "{} before {d}", c.chart);
            }
            if c.gateway {
                assert!(GATEWAY_NEEDS.iter().all(|d| w[*d] < w[&c.chart]));
            }
        }
        assert_eq!(w["cert-manager"], 0);
    }
}
