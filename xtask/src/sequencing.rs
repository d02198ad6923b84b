//! Sequencing: objects the API server cannot take in the same apply as the rest
//! of a release become Helm hooks (docs/upgrades.md#sequencing).
//!
//! Helm builds every object of a release before it creates any, so a custom
//! resource whose CRD comes with the release fails with "resource mapping not
//! found"; and a webhook of the release rejects what it guards until its pods
//! are Ready. Both are custom resources in Kubeflow (cert-manager Issuers, KServe
//! ClusterServingRuntimes, Trainer ClusterTrainingRuntimes, Istio policies,
//! Profiles), so every instance of a kind served by a CRD of the catalog is
//! sequenced: its template carries the chart's `<chart>.sequencing` annotations,
//! which make it a post-install/post-upgrade/post-rollback hook that Helm
//! creates after the release's regular objects (and, in the umbrella, after the
//! wait Job of charts/kubeflow/files/sequencing.sh). `kf-audit order` checks the
//! rendered presets for anything left unsequenced.
//!
//! Sequencing is in the templates, not in kf-post, because Helm 3 splits hooks
//! from the manifest before it runs a post-renderer.

use crate::upstream::{parse_stream, repo_root, Catalog, Source};
use anyhow::{Context, Result};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Kinds whose objects are sequenced: those a CRD of the catalog serves.
#[derive(Debug, Default, Clone)]
pub struct SequencedKinds {
    /// (group, kind) -> (plural resource name, chart whose CRD serves it).
    kinds: BTreeMap<(String, String), (String, String)>,
}

/// Kinds whose objects must not be deleted and re-created to be updated: the
/// profile controller deletes a Profile's namespace (and the users' data in it)
/// with the Profile. Helm 3 can update a hook only by re-creating it, so under
/// Helm 3 these are created once, on install.
const NOT_RECREATABLE: &[(&str, &str)] = &[("kubeflow.org", "Profile")];

impl SequencedKinds {
    /// Every CRD in every scenario of every chart of the catalog. With `only`
    /// (a sync of some charts, maybe from a checkout holding just their
    /// directories), the other charts' CRDs are read from the published full
    /// CRDs of their last sync (`crds/<chart>/`).
    pub fn of_catalog(catalog: &Catalog, source: &Source, only: &[String]) -> Result<Self> {
        let mut seq = SequencedKinds::default();
        for spec in &catalog.charts {
            if !only.is_empty() && !only.contains(&spec.chart) {
                let dir = repo_root().join("crds").join(&spec.chart);
                for file in yaml_files(&dir)? {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    for doc in &parse_stream(&text)
                        .with_context(|| format!("parsing {}", file.display()))?
                    {
                        seq.add_crd(doc, &spec.chart);
                    }
                }
                continue;
            }
            for (name, scenario) in &spec.scenarios {
                for dir in &scenario.dirs {
                    let text = source.render(dir)?;
                    let docs = parse_stream(&text).with_context(|| {
                        format!("chart {} scenario {name}: parsing {dir}", spec.chart)
                    })?;
                    for doc in &docs {
                        seq.add_crd(doc, &spec.chart);
                    }
                }
            }
        }
        Ok(seq)
    }

    /// Record the kind `doc` serves, if it is a CRD of `chart`.
    pub fn add_crd(&mut self, doc: &Value, chart: &str) {
        if doc.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            return;
        }
        let spec = doc.get("spec");
        let field = |path: &[&str]| {
            let mut v = spec?;
            for key in path {
                v = v.get(*key)?;
            }
            v.as_str().map(str::to_string)
        };
        if let (Some(group), Some(kind), Some(plural)) = (
            field(&["group"]),
            field(&["names", "kind"]),
            field(&["names", "plural"]),
        ) {
            self.kinds
                .insert((group, kind), (plural, chart.to_string()));
        }
    }

    /// Whether `doc` is an object of a sequenced kind.
    pub fn contains(&self, doc: &Value) -> bool {
        let (group, kind) = group_kind(doc);
        self.kinds.contains_key(&(group, kind))
    }

    /// Whether `doc`'s CRD is in `chart` itself (then it is sequenced even when
    /// the chart is installed on its own; otherwise only in the umbrella, with
    /// `global.sequencing.catalogCRDs`).
    pub fn own(&self, doc: &Value, chart: &str) -> bool {
        self.kinds
            .get(&group_kind(doc))
            .is_some_and(|(_, owner)| owner == chart)
    }

    /// The `<chart>.sequencing` argument that says whether Helm 3 may re-create
    /// this object to update it.
    pub fn recreatable(doc: &Value) -> bool {
        let (group, kind) = group_kind(doc);
        !NOT_RECREATABLE.contains(&(group.as_str(), kind.as_str()))
    }

    /// `charts/kubeflow/templates/sequencing/_resources.tpl`: the kinds the
    /// umbrella's prune and uninstall Jobs look at, and may delete.
    pub fn umbrella_resources_tpl(&self, header: &str) -> String {
        let mut by_group: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for ((group, _), (plural, _)) in &self.kinds {
            by_group.entry(group).or_default().insert(plural);
        }
        let mut s = format!(
            "{{{{- /* {header} */ -}}}}\n{{{{/*\nThe kinds the sequencing Jobs look at (\"plural.group\"): every kind a CRD of\nthe catalog serves (xtask/src/sequencing.rs).\n*/}}}}\n{{{{- define \"kubeflow.sequencedResources\" -}}}}\n"
        );
        for (group, plurals) in &by_group {
            for plural in plurals {
                s.push_str(&format!("- {plural}.{group}\n"));
            }
        }
        s.push_str("{{- end }}\n\n{{/* The same kinds by API group, for the Jobs' ClusterRole. */}}\n{{- define \"kubeflow.sequencedResourcesByGroup\" -}}\n");
        for (group, plurals) in &by_group {
            let list: Vec<&str> = plurals.iter().copied().collect();
            s.push_str(&format!("{group}: [{}]\n", list.join(", ")));
        }
        s.push_str("{{- end }}\n");
        s
    }
}

/// The `.yaml` files under `dir` (none when it does not exist), sorted.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(yaml_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn group_kind(doc: &Value) -> (String, String) {
    let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = match api_version.rsplit_once('/') {
        Some((group, _)) => group,
        None => "",
    };
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    (group.to_string(), kind.to_string())
}

/// The `<chart>.sequencing` helper every chart gets (and the umbrella, for the
/// objects it renders itself): annotations and labels for a sequenced object,
/// called as `include "<chart>.sequencing" (list $ <recreatable> <own>)`.
///
/// An object whose CRD is another chart's is sequenced only in the umbrella
/// (`global.sequencing.catalogCRDs`, which it sets): installed on its own, a
/// chart expects the other chart's CRDs, and its webhooks, to be there
/// already, and a cert-manager Certificate must not wait behind the pod that
/// mounts its Secret.
///
/// - `global.sequencing.mode: hooks` (default): a post-install, post-upgrade and
///   post-rollback hook. Helm 4 applies hooks server-side, so the object is
///   updated in place; the explicit delete policy keeps Helm from defaulting to
///   `before-hook-creation` (delete, then create). Helm 3 can only create a
///   hook, so there it is deleted and re-created, except for kinds that must
///   not be (Profiles), which Helm 3 creates on install only. The
///   `helm.kubeflow.org/*` labels name the release and the revision that
///   applied it, for the umbrella's prune and uninstall Jobs.
/// - `argocd`: a sync wave after the default one, applied once Argo CD knows
///   the CRD (`SkipDryRunOnMissingResource`); Argo CD tracks and prunes it.
pub fn helper(chart: &str) -> String {
    format!(
        r#"
{{{{/*
Sequencing of an object the API server cannot take in the same apply as the
rest of the release: a custom resource whose CRD comes with it, or an object
its own admission webhooks guard (docs/upgrades.md#sequencing).
(list $ <recreatable> <own>): Helm 3 may delete and re-create it to update it;
its CRD is this chart's (else it is sequenced only with global.sequencing.catalogCRDs).
*/}}}}
{{{{- define "{chart}.sequencing" -}}}}
{{{{- $root := index . 0 -}}}}
{{{{- $recreatable := index . 1 -}}}}
{{{{- $s := ($root.Values.global).sequencing | default dict -}}}}
{{{{- $mode := ternary ($s.mode | default "hooks") "none" (or (index . 2) (eq (toString $s.catalogCRDs) "true")) -}}}}
{{{{- $helm4 := semverCompare ">=4.0.0-0" $root.Capabilities.HelmVersion.Version -}}}}
{{{{- $everyRevision := or $helm4 $recreatable -}}}}
{{{{- if eq $mode "hooks" -}}}}
helm.sh/hook: {{{{ ternary "post-install,post-upgrade,post-rollback" "post-install" $everyRevision }}}}
helm.sh/hook-weight: "0"
helm.sh/hook-delete-policy: {{{{ ternary "hook-failed" "before-hook-creation" $helm4 }}}}
{{{{- else if eq $mode "argocd" -}}}}
argocd.argoproj.io/sync-wave: "1"
argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
{{{{- end }}}}
{{{{- end }}}}

{{{{/* Labels of a sequenced object: its release and the revision that applied it. */}}}}
{{{{- define "{chart}.sequencingLabels" -}}}}
{{{{- $root := index . 0 -}}}}
{{{{- $recreatable := index . 1 -}}}}
{{{{- $s := ($root.Values.global).sequencing | default dict -}}}}
{{{{- $helm4 := semverCompare ">=4.0.0-0" $root.Capabilities.HelmVersion.Version -}}}}
{{{{- if and (eq ($s.mode | default "hooks") "hooks") (or (index . 2) (eq (toString $s.catalogCRDs) "true")) -}}}}
helm.kubeflow.org/sequenced-by: {{{{ $root.Release.Name | quote }}}}
{{{{- if or $helm4 $recreatable }}}}
helm.kubeflow.org/revision: {{{{ $root.Release.Revision | quote }}}}
{{{{- end }}}}
{{{{- end }}}}
{{{{- end }}}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::test_yaml as y;

    #[test]
    fn kinds_come_from_crds_and_match_by_group_and_kind() {
        let mut seq = SequencedKinds::default();
        seq.add_crd(&y("kind: CustomResourceDefinition\nspec: {group: cert-manager.io, names: {kind: Issuer, plural: issuers}}"), "cert-manager");
        seq.add_crd(
            &y("kind: ConfigMap\nspec: {group: x.io, names: {kind: Y, plural: ys}}"),
            "x",
        );
        let cases = [
            ("apiVersion: cert-manager.io/v1\nkind: Issuer", true),
            ("apiVersion: cert-manager.io/v1alpha2\nkind: Issuer", true),
            ("apiVersion: other.io/v1\nkind: Issuer", false),
            ("apiVersion: cert-manager.io/v1\nkind: Certificate", false),
            ("apiVersion: x.io/v1\nkind: Y", false),
            ("apiVersion: v1\nkind: ConfigMap", false),
        ];
        for (doc, want) in cases {
            assert_eq!(seq.contains(&y(doc)), want, "{doc}");
        }
        let issuer = y("apiVersion: cert-manager.io/v1\nkind: Issuer");
        assert!(seq.own(&issuer, "cert-manager"));
        assert!(!seq.own(&issuer, "kserve"));
    }

    #[test]
    fn profiles_are_not_recreatable() {
        assert!(!SequencedKinds::recreatable(&y(
            "apiVersion: kubeflow.org/v1\nkind: Profile"
        )));
        assert!(SequencedKinds::recreatable(&y(
            "apiVersion: kubeflow.org/v1alpha1\nkind: PodDefault"
        )));
    }

    #[test]
    fn umbrella_lists_resources_by_group() {
        let mut seq = SequencedKinds::default();
        seq.add_crd(
            &y("kind: CustomResourceDefinition\nspec: {group: b.io, names: {kind: Z, plural: zs}}"),
            "c",
        );
        seq.add_crd(
            &y("kind: CustomResourceDefinition\nspec: {group: a.io, names: {kind: X, plural: xs}}"),
            "c",
        );
        seq.add_crd(
            &y("kind: CustomResourceDefinition\nspec: {group: a.io, names: {kind: W, plural: ws}}"),
            "c",
        );
        let tpl = seq.umbrella_resources_tpl("h");
        assert!(tpl.contains("- ws.a.io\n- xs.a.io\n- zs.b.io\n"), "{tpl}");
        assert!(tpl.contains("a.io: [ws, xs]\nb.io: [zs]\n"), "{tpl}");
    }
}
