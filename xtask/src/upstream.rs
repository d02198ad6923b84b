//! The component catalog (`catalog/components.yaml`) and the upstream Kustomize
//! output it points at: either the rendered snapshot (`index.tsv` + `rendered/`) or a
//! checkout of kubeflow/manifests rendered on the fly with `kubectl kustomize`.

use anyhow::{bail, Context, Result};
use indexmap::IndexMap;
use kubeflow_catalog::{Component, Entry};
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the catalog lives: the one list of components every other list (charts,
/// umbrella dependencies and tables, plugin tables, Argo CD apps, docs) comes from.
pub const CATALOG: &str = kubeflow_catalog::PATH;

/// The Kubeflow releases the sync knows (`crate::release`).
pub const RELEASES: &str = "catalog/releases.yaml";

#[derive(Debug)]
pub struct Catalog {
    pub charts: Vec<ChartSpec>,
    /// The Kubeflow release this catalog was resolved for (`crate::release`).
    pub release: crate::release::Release,
}

/// One component of the catalog: its facts (`kubeflow_catalog::Component`, which a
/// spec derefs to: `spec.chart`, `spec.requires`, ...) and how its chart is
/// generated: the entry's other keys, which this struct deserializes (refusing
/// the keys it does not know). A whole entry: [`ChartSpec::from_entry`],
/// [`ChartSpec::parse`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChartSpec {
    /// Not keys of this struct: read by `kubeflow_catalog`, set by `from_entry`.
    #[serde(skip)]
    pub component: Component,
    /// The variant the umbrella switches to with global.istio.enabled=false, when
    /// some variants render Istio objects; default: the first that renders none.
    #[serde(default)]
    pub standalone_variant: Option<String>,
    /// global.auth.mode -> the variant of this chart it needs (oauth2-proxy).
    #[serde(default)]
    pub auth_mode_variants: IndexMap<String, String>,
    /// Ordered: the first scenario is the default.
    pub scenarios: IndexMap<String, ScenarioSpec>,
    /// Secret keys that are credentials: values instead of upstream's demo value.
    #[serde(default)]
    pub credentials: Vec<CredentialSpec>,
    /// Env entries that depend on whether a credential is upstream's demo value.
    #[serde(default)]
    pub credential_env: Vec<CredentialEnvSpec>,
    /// Unresolved upstream kustomize variables, each resolved, removed or kept
    /// (`crate::variables`).
    #[serde(default)]
    pub variables: Vec<VariableSpec>,
    /// Immutable fields kept as an older release had them, so `helm upgrade`
    /// from it works (`crate::immutable`).
    #[serde(default)]
    pub keep_immutable: Vec<crate::immutable::KeepSpec>,
    /// Fields upstream lacks that the chart adds to fix a defect
    /// (`crate::fixes`).
    #[serde(default)]
    pub fixes: Vec<crate::fixes::FixSpec>,
    /// Values declared in the catalog (`crate::fields`).
    #[serde(default)]
    pub chart_values: Vec<crate::fields::ValueSpec>,
    /// Fields of upstream objects set from `chart_values` (`crate::fields`).
    #[serde(default)]
    pub fields: Vec<crate::fields::FieldSpec>,
    /// Objects not rendered when a value is set (`crate::fields`).
    #[serde(default)]
    pub rendered_unless: Vec<crate::fields::UnlessSpec>,
    /// The Kubeflow gateway this chart renders, served from `global.gateway.*`
    /// (`crate::gateway`).
    #[serde(default)]
    pub gateway_servers: Option<crate::gateway::GatewaySpec>,
    /// Values a scenario's `ci/<scenario>-values.yaml` sets besides `variant`: a
    /// variant that does not render without them (Katib's external-db needs a
    /// host); the parity allowlist lists what they change.
    #[serde(default)]
    pub ci_values: IndexMap<String, serde_yaml::Mapping>,
    /// Parts (values keys) that the naming rule (`crate::parts`) gets wrong:
    /// part key -> the upstream objects it covers.
    #[serde(default)]
    pub parts: IndexMap<String, PartSpec>,
    /// Name prefixes stripped from workload names to derive part keys
    /// (default: `<chart>-`).
    #[serde(default)]
    pub part_prefixes: Option<Vec<String>>,
    /// The part whose main container chart-level `resources` sizes (default: the
    /// chart's only part, if it has one).
    #[serde(default)]
    pub main_part: Option<String>,
}

/// One declared part: upstream objects (by name) that belong to it.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct PartSpec {
    /// Deployments / StatefulSets / DaemonSets / Jobs / CronJobs (at most one per scenario).
    #[serde(default)]
    pub workloads: Vec<String>,
    /// PVCs (default: the PVC goes to the part of the workload that mounts it).
    #[serde(default)]
    pub pvcs: Vec<String>,
    /// User-facing Services: `<part>.service.{type,annotations,loadBalancerSourceRanges}`.
    #[serde(default)]
    pub services: Vec<String>,
    /// The main container (default: the one named like the workload, else the only
    /// one, else the first).
    #[serde(default)]
    pub container: Option<String>,
}

/// A field of an upstream object holding `$(NAME)` that upstream never resolved:
/// `resolve` substitutes the names it lists, `remove` drops the field, neither keeps
/// it as upstream has it. Always with the reason.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    /// The object: every variant's version of kind/name.
    pub kind: String,
    pub name: String,
    /// Path of the field: mapping keys, or list indexes.
    pub field: Vec<String>,
    #[serde(default)]
    pub resolve: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub remove: bool,
    pub reason: String,
}

/// One key of an upstream Secret that holds a credential. The chart renders it from
/// `credentials.<value>` (or `global.credentials.<global>`), upstream's demo value in
/// `demo` mode, or a generated value kept across upgrades in `generate` mode.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    /// Key under the chart's `credentials:` values.
    pub value: String,
    /// Upstream Secret name (every variant's Secret of that name) and data key.
    pub secret: String,
    pub key: String,
    /// `generate` mode makes a random value (kept via `lookup`); false: the user must
    /// set it there (a password hash, a secret shared with another chart).
    #[serde(default)]
    pub generate: bool,
    /// Name under `global.credentials` that also sets it, for a value several charts
    /// must agree on (the OIDC client secret of Dex and oauth2-proxy).
    #[serde(default)]
    pub global: String,
    pub description: String,
}

/// Upstream runs a workload without a credential (`replaces`, e.g.
/// MYSQL_ALLOW_EMPTY_PASSWORD); when the credential is not upstream's demo value the
/// env entry becomes `env` read from the credential's Secret key instead.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CredentialEnvSpec {
    pub workload: String,
    pub container: String,
    pub replaces: String,
    pub env: String,
    /// `value` of the credential (see `CredentialSpec`).
    pub credential: String,
    /// Only the workload of these scenarios (default: every scenario), when the
    /// others read `replaces` from elsewhere (Katib's MySQL variants).
    #[serde(default)]
    pub scenarios: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub kind: ScenarioKind,
    pub dirs: Vec<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    /// A component variant: stays a values switch of the chart.
    Variant,
    /// A Kubeflow integration overlay (routing, authz, namespace moves, cert wiring).
    Integration,
}

impl std::ops::Deref for ChartSpec {
    type Target = Component;
    fn deref(&self) -> &Component {
        &self.component
    }
}

impl ChartSpec {
    /// A catalog entry: its facts as `kubeflow_catalog` parsed them, its other keys
    /// deserialized here.
    pub fn from_entry(entry: Entry) -> Result<ChartSpec> {
        let mut spec: ChartSpec = serde_yaml::from_value(Value::Mapping(entry.rest))
            .with_context(|| format!("{CATALOG}: component {}", entry.component.chart))?;
        spec.component = entry.component;
        Ok(spec)
    }

    /// One catalog entry's YAML (tests declare a chart this way).
    pub fn parse(yaml: &str) -> Result<ChartSpec> {
        let entry = Entry::from_value(serde_yaml::from_str(yaml)?)?;
        ChartSpec::from_entry(entry)
    }

    pub fn default_scenario(&self) -> &str {
        self.scenarios
            .keys()
            .next()
            .expect("validated: at least one scenario")
    }
}

pub fn repo_root() -> PathBuf {
    // xtask/ is one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_path_buf()
}

/// The catalog for the release the committed charts are generated from (the first
/// of catalog/releases.yaml).
pub fn load_catalog() -> Result<Catalog> {
    let releases = crate::release::load()?;
    load_catalog_for(&releases[0])
}

/// The catalog as it applies to `release`: each component's `releases:` entries
/// resolved (`crate::release::resolve`), then validated.
pub fn load_catalog_for(release: &crate::release::Release) -> Result<Catalog> {
    let path = repo_root().join(CATALOG);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut raw: Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let known: Vec<String> = crate::release::load()?
        .into_iter()
        .map(|r| r.name)
        .collect();
    crate::release::resolve(&mut raw, &release.name, &known)
        .with_context(|| format!("{} (release {})", path.display(), release.name))?;
    let at_release = || format!("release {}", release.name);
    let charts = kubeflow_catalog::from_value(raw)
        .with_context(at_release)?
        .into_iter()
        .map(ChartSpec::from_entry)
        .collect::<Result<Vec<_>>>()
        .with_context(at_release)?;
    let catalog = Catalog {
        charts,
        release: release.clone(),
    };
    for c in &catalog.charts {
        if c.scenarios.is_empty() {
            bail!("{}: chart {} has no scenario", path.display(), c.chart);
        }
        let last_dir = c.scenarios[c.default_scenario()].dirs.last();
        if last_dir != Some(&c.upstream.overlay) {
            bail!(
                "{}: chart {}: upstream.overlay {:?} is not the default scenario's (last) dir {last_dir:?}",
                path.display(),
                c.chart,
                c.upstream.overlay
            );
        }
        for v in c
            .standalone_variant
            .iter()
            .chain(c.auth_mode_variants.values())
        {
            if !c.scenarios.contains_key(v) {
                bail!(
                    "{}: chart {}: {v:?} is not one of its scenarios",
                    path.display(),
                    c.chart
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for cred in &c.credentials {
            let key_like = cred.value.starts_with(|ch: char| ch.is_ascii_lowercase())
                && cred.value.chars().all(|ch| ch.is_ascii_alphanumeric());
            if !key_like || cred.value == "mode" {
                bail!(
                    "{}: chart {}: credential value {:?} must be a camelCase values key other than `mode`",
                    path.display(), c.chart, cred.value
                );
            }
            if !seen.insert((cred.secret.as_str(), cred.key.as_str())) {
                bail!(
                    "{}: chart {}: Secret {} key {} is declared twice",
                    path.display(),
                    c.chart,
                    cred.secret,
                    cred.key
                );
            }
        }
        for k in &c.keep_immutable {
            if k.reason.trim().is_empty() || k.since.trim().is_empty() {
                bail!(
                    "{}: chart {}: keepImmutable entry for {} {} needs the release it keeps (since) and a reason",
                    path.display(),
                    c.chart,
                    k.kind,
                    k.name
                );
            }
        }
        for f in &c.fixes {
            if f.reason.trim().is_empty() {
                bail!(
                    "{}: chart {}: fixes entry for {} {} needs a reason",
                    path.display(),
                    c.chart,
                    f.kind,
                    f.name
                );
            }
        }
        for v in &c.variables {
            if v.reason.trim().is_empty() || (v.remove && !v.resolve.is_empty()) {
                bail!(
                    "{}: chart {}: variables entry for {} {} needs a reason and at most one of resolve/remove",
                    path.display(),
                    c.chart,
                    v.kind,
                    v.name
                );
            }
        }
        if let Some(s) = c.ci_values.keys().find(|s| !c.scenarios.contains_key(*s)) {
            bail!(
                "{}: chart {}: ciValues names {s:?}, which is not one of its scenarios",
                path.display(),
                c.chart
            );
        }
        crate::fields::validate(&c.chart, &c.chart_values, &c.fields, &c.rendered_unless)
            .with_context(|| path.display().to_string())?;
        for env in &c.credential_env {
            if !c
                .credentials
                .iter()
                .any(|cred| cred.value == env.credential)
            {
                bail!(
                    "{}: chart {}: credentialEnv names credential {:?}, which is not declared",
                    path.display(),
                    c.chart,
                    env.credential
                );
            }
        }
    }
    Ok(catalog)
}

/// Default location of the rendered snapshot (`KUBEFLOW_MANIFESTS`).
pub fn default_manifests_dir() -> PathBuf {
    // Relative paths are taken from the repository root (as e2e::manifests_dir).
    match std::env::var_os("KUBEFLOW_MANIFESTS") {
        Some(p) => repo_root().join(p),
        None => repo_root().join("../shared/upstream/kubeflow-manifests"),
    }
}

/// The snapshot of another Kubeflow release: next to the default one
/// ([`default_manifests_dir`]), named `<default>-v<release>`
/// (`../shared/upstream/kubeflow-manifests-v1.11.0`).
pub fn release_manifests_dir(release: &str) -> PathBuf {
    let current = default_manifests_dir();
    let name = current
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    current.with_file_name(format!("{name}-v{release}"))
}

/// Where upstream `kustomize build` output comes from, and which Kubeflow release it
/// is (told from its `example` rendering, `crate::release::detect`).
pub enum Source {
    /// The snapshot layout: `index.tsv` maps kustomize dirs to `rendered/*.yaml`.
    Snapshot {
        root: PathBuf,
        index: HashMap<String, String>,
        release: crate::release::Release,
    },
    /// A kubeflow/manifests checkout; each dir is rendered with `kubectl kustomize`.
    Kustomize {
        root: PathBuf,
        release: crate::release::Release,
    },
}

impl Source {
    /// The Kubeflow release of this upstream output.
    pub fn release(&self) -> &crate::release::Release {
        match self {
            Source::Snapshot { release, .. } | Source::Kustomize { release, .. } => release,
        }
    }

    /// The catalog as it applies to this source's release.
    pub fn catalog(&self) -> Result<Catalog> {
        load_catalog_for(self.release())
    }

    /// A kubeflow/manifests checkout of `release` (default: the newest declared). A
    /// checkout is not fingerprinted: its rendering depends on the local kustomize.
    pub fn kustomize(root: &Path, release: Option<&str>) -> Result<Source> {
        Ok(Source::Kustomize {
            root: root.to_path_buf(),
            release: crate::release::named(release)?,
        })
    }

    pub fn snapshot(root: &Path) -> Result<Source> {
        let index_path = root.join("index.tsv");
        let text = std::fs::read_to_string(&index_path).with_context(|| {
            format!(
                "reading {} (set KUBEFLOW_MANIFESTS or --manifests)",
                index_path.display()
            )
        })?;
        let mut index = HashMap::new();
        let mut example_sha = None;
        for (n, line) in text.lines().enumerate().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 2 {
                bail!(
                    "{}:{}: expected file<TAB>kustomize_dir",
                    index_path.display(),
                    n + 1
                );
            }
            if cols[1] == crate::release::EXAMPLE_DIR {
                example_sha = cols.get(4).map(|s| s.to_string());
            }
            index.insert(cols[1].to_string(), cols[0].to_string());
        }
        let example_sha = example_sha.with_context(|| {
            format!(
                "{}: no `{}` row with a sha256_16 column: the snapshot's Kubeflow release cannot be told",
                index_path.display(),
                crate::release::EXAMPLE_DIR
            )
        })?;
        let release = crate::release::detect(&example_sha, &index_path.display().to_string())?;
        Ok(Source::Snapshot {
            root: root.to_path_buf(),
            index,
            release,
        })
    }

    /// Human-readable origin of a kustomize dir, written into generated headers.
    pub fn describe(&self, dir: &str) -> String {
        match self {
            Source::Snapshot { index, .. } => match index.get(dir) {
                Some(f) => format!("rendered/{f}"),
                None => dir.to_string(),
            },
            Source::Kustomize { .. } => format!("kubectl kustomize {dir}"),
        }
    }

    /// The raw multi-document YAML of one kustomize dir.
    pub fn render(&self, dir: &str) -> Result<String> {
        match self {
            Source::Snapshot { root, index, .. } => {
                let file = index.get(dir).with_context(|| {
                    format!("kustomize dir {dir} is not in {}/index.tsv", root.display())
                })?;
                let path = root.join("rendered").join(file);
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))
            }
            Source::Kustomize { root, .. } => {
                let out = Command::new("kubectl")
                    .arg("kustomize")
                    .arg(root.join(dir))
                    .output()
                    .context("running kubectl kustomize")?;
                if !out.status.success() {
                    bail!(
                        "kubectl kustomize {dir} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                Ok(String::from_utf8(out.stdout)?)
            }
        }
    }

    /// The rendered file a scenario is compared against (parity): the concatenation
    /// of its dirs, parsed.
    pub fn scenario_docs(&self, dirs: &[String]) -> Result<Vec<Value>> {
        let mut docs = Vec::new();
        for d in dirs {
            let text = self.render(d)?;
            docs.extend(
                parse_stream(&text)
                    .with_context(|| format!("parsing upstream {}", self.describe(d)))?,
            );
        }
        Ok(docs)
    }
}

/// Parse a multi-document YAML stream of Kubernetes objects, skipping empty
/// documents: kf-post's reader (`kf_post::stream::read_values`), the one stream
/// reader of the project, with its checks (duplicate keys, encodings, limits).
pub fn parse_stream(text: &str) -> Result<Vec<Value>> {
    Ok(kf_post::stream::read_values(text.as_bytes())?)
}

/// Identity of a Kubernetes object: API group, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResKey {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ResKey {
    pub fn of(doc: &Value) -> Result<ResKey> {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
        let api = s(doc.get("apiVersion"));
        let kind = s(doc.get("kind"));
        let meta = doc.get("metadata");
        let name = s(meta.and_then(|m| m.get("name")));
        if kind.is_empty() || name.is_empty() {
            bail!("object without kind or metadata.name (apiVersion {api:?}, kind {kind:?})");
        }
        let group = match api.rsplit_once('/') {
            Some((g, _)) => g.to_string(),
            None => String::new(),
        };
        Ok(ResKey {
            group,
            kind,
            namespace: s(meta.and_then(|m| m.get("namespace"))),
            name,
        })
    }
}

impl std::fmt::Display for ResKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys() {
        let cases = [
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: kubeflow}",
                "ConfigMap/kubeflow/a",
                "",
            ),
            (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: x}",
                "Deployment/x/d",
                "apps",
            ),
            (
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}",
                "ClusterRole/r",
                "rbac.authorization.k8s.io",
            ),
        ];
        for (doc, shown, group) in cases {
            let k = ResKey::of(&serde_yaml::from_str(doc).unwrap()).unwrap();
            assert_eq!(k.to_string(), shown);
            assert_eq!(k.group, group);
        }
        assert!(ResKey::of(&serde_yaml::from_str("kind: X\nmetadata: {}").unwrap()).is_err());
    }

    #[test]
    fn stream_skips_empty_documents_and_rejects_scalars() {
        let cm =
            |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n");
        let docs = parse_stream(&format!("---\n{}---\n---\n{}", cm("a"), cm("b"))).unwrap();
        assert_eq!(docs.len(), 2);
        assert!(parse_stream(&format!("{}---\njust a string\n", cm("a"))).is_err());
        assert!(
            parse_stream(&format!("{}kind: Secret\n", cm("a"))).is_err(),
            "duplicate key"
        );
    }

    #[test]
    fn every_key_of_an_entry_is_read_by_the_facts_or_the_generator() {
        let facts = "name: a\ndescription: d\nversion: v1\ntag: core\ngroups: [core]\ndefault: true\nrequires: []\nrecommends: []\nnamespaces: []\nupstream: {overlay: o, rendered: r}\nfootprint: {cpuMillicores: 0, memoryMiB: 0, storageGiB: 0}\n";
        let scenarios = "scenarios: {base: {kind: variant, dirs: [o]}}\n";
        // (keys after the facts, Err(what the error says) or Ok(default scenario))
        let cases = [
            (scenarios.to_string(), Ok("base")),
            (
                format!("{scenarios}scenarioz: {{}}\n"),
                Err("catalog/components.yaml: component a: unknown field `scenarioz`"),
            ),
            (
                // A misspelled optional fact is neither a fact nor a generator key.
                format!("{scenarios}gatway: true\n"),
                Err("component a: unknown field `gatway`"),
            ),
            (
                // The umbrella key is the chart name, never declared.
                format!("{scenarios}key: b\n"),
                Err("component a: unknown field `key`"),
            ),
            (
                format!("{scenarios}parts: {{main: {{workload: [x]}}}}\n"),
                Err("component a: unknown field `workload`, expected one of `workloads`"),
            ),
            (String::new(), Err("component a: missing field `scenarios`")),
            (
                // `releases:` entries are resolved before (crate::release).
                format!("{scenarios}releases: {{}}\n"),
                Err("component a: unknown field `releases`"),
            ),
        ];
        for (rest, want) in cases {
            let got = ChartSpec::parse(&format!("{facts}{rest}"));
            match (got, want) {
                (Ok(spec), Ok(default)) => {
                    assert_eq!(spec.chart, "a");
                    assert_eq!(spec.default_scenario(), default);
                }
                (Err(e), Err(part)) => {
                    let e = format!("{e:#}");
                    assert!(e.contains(part), "{rest}: want {part:?} in {e}");
                }
                (Ok(_), Err(part)) => panic!("{rest}: parsed, want {part:?}"),
                (Err(e), Ok(_)) => panic!("{rest}: {e:#}"),
            }
        }
    }

    #[test]
    fn catalog_loads_and_names_match_architecture() {
        let c = load_catalog().unwrap();
        assert_eq!(c.charts.len(), 29);
        assert!(c.charts.iter().all(|c| !c.scenarios.is_empty()));
    }
}
