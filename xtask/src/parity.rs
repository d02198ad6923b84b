//! `cargo xtask parity`: render each claimed scenario with `helm template`
//! (optionally piped through a post-renderer such as kf-post) and compare it with
//! upstream's `kustomize build` output, object by object and field by field.
//! Only Helm's own labels/annotations are normalised away; every other difference
//! must be listed in `parity/allowlist.yaml` with a reason.

use crate::upstream::{parse_stream, repo_root, ResKey, Source};
use crate::yaml::key_text;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Allowlist path of an intended normalisation rather than a field: the upstream CRD's
/// OpenAPI schema `description`s are stripped before comparing (the charts strip them;
/// `crate::crd`). Everything else in the CRD, a property named `description`
/// included, is still compared field by field, and fields are counted after it.
pub const SCHEMA_DESCRIPTIONS: &str = "(schema descriptions)";

/// Labels and annotations Helm itself manages; stripped from both sides.
/// The sequencing labels (crate::sequencing) are Helm's hook bookkeeping too.
const HELM_LABELS: &[&str] = &[
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "helm.kubeflow.org/sequenced-by",
    "helm.kubeflow.org/revision",
];
const HELM_ANNOTATIONS: &[&str] = &[
    "helm.sh/resource-policy",
    "helm.sh/hook",
    "helm.sh/hook-weight",
    "helm.sh/hook-delete-policy",
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
];

#[derive(Default)]
pub struct Adhoc {
    pub chart: Option<PathBuf>,
    pub values: Vec<PathBuf>,
    pub against: Option<PathBuf>,
    pub post_renderer: Option<PathBuf>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// `<chart>/<scenario>`, an ad-hoc `--name`, or `*`.
    pub scenario: String,
    /// `Kind/namespace/name` or `Kind/name` (as printed), or `*`.
    pub resource: String,
    /// Dotted field path as printed, `(missing)`, `(extra)`, or `*`.
    pub path: String,
    pub reason: String,
    /// Only at these Kubeflow releases (catalog/releases.yaml); default: every one.
    #[serde(default)]
    pub releases: Vec<String>,
    /// Upstream's value is a placeholder left for the user to fill in (an empty
    /// Secret key) and the scenario's ci values fill it: where upstream's field
    /// is empty it is left out of the field count, since no value a user gives
    /// it could be upstream's.
    #[serde(default)]
    pub placeholder: bool,
}

impl AllowEntry {
    fn covers(&self, scenario: &str, resource: &str, path: &str) -> bool {
        let m = |pat: &str, s: &str| {
            pat == "*" || pat == s || (pat.ends_with('*') && s.starts_with(&pat[..pat.len() - 1]))
        };
        m(&self.scenario, scenario) && m(&self.resource, resource) && m(&self.path, path)
    }
}

/// The allowlist entries that apply at `release`.
pub fn load_allowlist(release: &str) -> Result<Vec<AllowEntry>> {
    let p = repo_root().join("parity/allowlist.yaml");
    let known: Vec<String> = crate::release::load()?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    let list: Option<Vec<AllowEntry>> =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
    let list = list.unwrap_or_default();
    for (i, e) in list.iter().enumerate() {
        if e.reason.trim().is_empty() {
            bail!(
                "{}: entry {i} ({} {}) has no reason",
                p.display(),
                e.resource,
                e.path
            );
        }
        if let Some(r) = e.releases.iter().find(|r| !known.contains(r)) {
            bail!(
                "{}: entry {i} ({} {}) names release {r:?}, which is not in {}",
                p.display(),
                e.resource,
                e.path,
                crate::upstream::RELEASES
            );
        }
    }
    Ok(list
        .into_iter()
        .filter(|e| e.releases.is_empty() || e.releases.iter().any(|r| r == release))
        .collect())
}

pub fn helm_bin() -> PathBuf {
    std::env::var_os("HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/bin/helm"))
}

/// One scenario to check.
pub struct Job {
    pub name: String,
    pub chart: PathBuf,
    pub values: Vec<PathBuf>,
    pub post_renderer: Option<PathBuf>,
    pub upstream: Vec<Value>,
}

#[derive(Default, Debug)]
pub struct Outcome {
    pub name: String,
    pub upstream: usize,
    pub identical: usize,
    pub differing: usize,
    pub missing: usize,
    pub extra: usize,
    pub fields: usize,
    pub fields_differing: usize,
    /// (resource, path, allowlisted reason if any)
    pub differences: Vec<(String, String, Option<String>)>,
}

impl Outcome {
    pub fn field_pct(&self) -> f64 {
        if self.fields == 0 {
            100.0
        } else {
            100.0 * (self.fields - self.fields_differing) as f64 / self.fields as f64
        }
    }
    pub fn unallowed(&self) -> impl Iterator<Item = &(String, String, Option<String>)> {
        self.differences.iter().filter(|d| d.2.is_none())
    }
}

pub fn helm_template(
    release: &str,
    chart: &Path,
    values: &[PathBuf],
    post: Option<&Path>,
) -> Result<String> {
    let mut cmd = Command::new(helm_bin());
    cmd.args(["template", release])
        .arg(chart)
        .arg("--include-crds");
    for v in values {
        cmd.arg("-f").arg(v);
    }
    let out = cmd.output().with_context(|| {
        format!(
            "running {} (build it with scripts/bootstrap)",
            helm_bin().display()
        )
    })?;
    if !out.status.success() {
        bail!(
            "helm template {} failed:\n{}",
            chart.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut text = String::from_utf8(out.stdout)?;
    if let Some(post) = post {
        let mut child = Command::new(post)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running post-renderer {}", post.display()))?;
        let mut stdin = child.stdin.take().expect("piped");
        let input = text.clone();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output()?;
        writer.join().expect("writer thread")?;
        if !out.status.success() {
            bail!(
                "post-renderer {} failed:\n{}",
                post.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        text = String::from_utf8(out.stdout)?;
    }
    Ok(text)
}

fn strip(map: Option<&mut Value>, keys: &[&str], only_value: Option<(&str, &str)>) {
    if let Some(Value::Mapping(m)) = map {
        for k in keys {
            if let Some((key, val)) = only_value {
                if *k == key && m.get(*k).and_then(Value::as_str) != Some(val) {
                    continue;
                }
            }
            m.remove(*k);
        }
    }
}

/// Drop Helm's own labels/annotations (and maps left empty by that).
pub fn normalise(mut doc: Value) -> Value {
    if let Some(meta) = doc.get_mut("metadata") {
        strip(
            meta.get_mut("labels"),
            HELM_LABELS,
            Some(("app.kubernetes.io/managed-by", "Helm")),
        );
        strip(meta.get_mut("annotations"), HELM_ANNOTATIONS, None);
        if let Value::Mapping(m) = meta {
            for k in ["labels", "annotations"] {
                if matches!(m.get(k), Some(Value::Mapping(x)) if x.is_empty()) {
                    m.remove(k);
                }
            }
        }
    }
    doc
}

fn leaves(v: &Value) -> usize {
    match v {
        Value::Mapping(m) if !m.is_empty() => m.values().map(leaves).sum(),
        Value::Sequence(s) if !s.is_empty() => s.iter().map(leaves).sum(),
        _ => 1,
    }
}

/// One maximal differing subtree.
#[derive(Debug, PartialEq)]
pub struct Difference {
    pub path: String,
    /// Upstream leaves lost (0: a field upstream does not have).
    pub lost: usize,
    /// Upstream's value is an empty string (a placeholder to fill in).
    pub upstream_empty: bool,
}

impl Difference {
    fn of(path: String, upstream: Option<&Value>) -> Difference {
        Difference {
            path,
            lost: upstream.map_or(0, leaves),
            upstream_empty: matches!(upstream, Some(Value::String(v)) if v.is_empty()),
        }
    }
}

/// Maximal differing subtrees.
pub fn diff(up: &Value, ours: &Value, path: &str, out: &mut Vec<Difference>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (up, ours) {
        (Value::Mapping(a), Value::Mapping(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => diff(va, vb, &join(&key_text(k)), out),
                    None => out.push(Difference::of(join(&key_text(k)), Some(va))),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(Difference::of(join(&key_text(k)), None));
            }
        }
        (Value::Sequence(a), Value::Sequence(b)) => {
            for i in 0..a.len().max(b.len()) {
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff(x, y, &format!("{path}[{i}]"), out),
                    (Some(x), None) => out.push(Difference::of(format!("{path}[{i}]"), Some(x))),
                    (None, _) => out.push(Difference::of(format!("{path}[{i}]"), None)),
                }
            }
        }
        (a, b) if a == b => {}
        (a, _) => out.push(Difference::of(path.to_string(), Some(a))),
    }
}

pub fn compare(
    name: &str,
    upstream: &[Value],
    ours: &[Value],
    allow: &[AllowEntry],
) -> Result<Outcome> {
    let index = |docs: &[Value], what: &str| -> Result<BTreeMap<ResKey, Value>> {
        let mut m = BTreeMap::new();
        for (i, d) in docs.iter().enumerate() {
            let k = ResKey::of(d).with_context(|| format!("{name}: {what} document {i}"))?;
            m.insert(k, normalise(d.clone()));
        }
        Ok(m)
    };
    let up = index(upstream, "upstream")?;
    let ours = index(ours, "rendered")?;
    let mut o = Outcome {
        name: name.to_string(),
        upstream: up.len(),
        ..Default::default()
    };
    let entry = |res: &str, path: &str| allow.iter().find(|e| e.covers(name, res, path));
    let reason = |res: &str, path: &str| entry(res, path).map(|e| e.reason.clone());
    for (k, u) in &up {
        let res = k.to_string();
        let stripped;
        // Only an entry naming this path exactly (not `*`) turns the normalisation on.
        let strip = allow
            .iter()
            .find(|e| e.path == SCHEMA_DESCRIPTIONS && e.covers(name, &res, SCHEMA_DESCRIPTIONS));
        let u = match strip {
            Some(e) if k.kind == "CustomResourceDefinition" => {
                let why = e.reason.clone();
                let mut c = u.clone();
                if crate::crd::strip_crd_descriptions(&mut c) > 0 {
                    o.differences
                        .push((res.clone(), SCHEMA_DESCRIPTIONS.into(), Some(why)));
                }
                stripped = c;
                &stripped
            }
            _ => u,
        };
        o.fields += leaves(u);
        match ours.get(k) {
            None => {
                o.missing += 1;
                o.fields_differing += leaves(u);
                o.differences
                    .push((res.clone(), "(missing)".into(), reason(&res, "(missing)")));
            }
            Some(r) => {
                let mut d = Vec::new();
                diff(u, r, "", &mut d);
                if d.is_empty() {
                    o.identical += 1;
                } else {
                    o.differing += 1;
                    for d in d {
                        let allowed = entry(&res, &d.path);
                        if allowed.is_some_and(|e| e.placeholder) && d.upstream_empty {
                            o.fields -= d.lost;
                        } else {
                            o.fields_differing += d.lost.max(1);
                        }
                        let why = allowed.map(|e| e.reason.clone());
                        o.differences.push((res.clone(), d.path, why));
                    }
                }
            }
        }
    }
    for k in ours.keys().filter(|k| !up.contains_key(*k)) {
        o.extra += 1;
        let res = k.to_string();
        let why = reason(&res, "(extra)");
        o.differences.push((res, "(extra)".into(), why));
    }
    o.fields_differing = o.fields_differing.min(o.fields);
    Ok(o)
}

pub fn run_job(job: &Job, allow: &[AllowEntry]) -> Result<Outcome> {
    let release = job
        .chart
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("release")
        .to_string();
    let text = helm_template(
        &release,
        &job.chart,
        &job.values,
        job.post_renderer.as_deref(),
    )
    .with_context(|| format!("scenario {}", job.name))?;
    let ours = parse_stream(&text)
        .with_context(|| format!("scenario {}: parsing helm output", job.name))?;
    compare(&job.name, &job.upstream, &ours, allow)
}

/// Run jobs on all cores; results in job order.
pub fn run_jobs(jobs: Vec<Job>, allow: &[AllowEntry]) -> Vec<Result<Outcome>> {
    let n = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(
        (0..n)
            .map(|_| None)
            .collect::<Vec<Option<Result<Outcome>>>>(),
    );
    let workers = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(2)
        .max(2);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let Some((i, job)) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let r = run_job(&job, allow);
                results.lock().expect("results")[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

pub fn table(outcomes: &[Outcome]) -> String {
    let mut s = String::from(
        "| scenario | upstream objects | identical | differing | missing | extra | fields | fields differing | field-identical | unallowed |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} % | {} |\n",
            o.name,
            o.upstream,
            o.identical,
            o.differing,
            o.missing,
            o.extra,
            o.fields,
            o.fields_differing,
            o.field_pct(),
            o.unallowed().count()
        ));
    }
    s
}

/// Print the table and the unallowed differences; error if any scenario fails.
fn report(outcomes: &[Outcome]) -> Result<()> {
    println!("{}", table(outcomes));
    let mut failed = Vec::new();
    for o in outcomes {
        let bad: Vec<_> = o.unallowed().collect();
        for (res, path, _) in bad.iter().take(40) {
            eprintln!(
                "{}: {res}: {path} differs from upstream and is not in parity/allowlist.yaml",
                o.name
            );
        }
        if bad.len() > 40 {
            eprintln!("{}: … {} more", o.name, bad.len() - 40);
        }
        if !bad.is_empty() || o.field_pct() < 99.0 {
            failed.push(o.name.clone());
        }
    }
    if !failed.is_empty() {
        bail!("parity failed for {}", failed.join(", "));
    }
    Ok(())
}

/// Compare one chart with a rendered file, with the allowlist of `release`.
pub fn run_adhoc(a: &Adhoc, release: &str) -> Result<()> {
    let chart = a.chart.clone().expect("checked by caller");
    let against = a
        .against
        .clone()
        .context("--against RENDERED.yaml is required with --chart")?;
    let text = std::fs::read_to_string(&against)
        .with_context(|| format!("reading {}", against.display()))?;
    let upstream = parse_stream(&text).with_context(|| format!("parsing {}", against.display()))?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| chart.display().to_string());
    let job = Job {
        name,
        chart,
        values: a.values.clone(),
        post_renderer: a.post_renderer.clone(),
        upstream,
    };
    let allow = load_allowlist(release)?;
    let o = run_job(&job, &allow)?;
    report(&[o])
}

/// Every scenario of the catalog at the source's release, for the charts under
/// `root` (`charts/<chart>/`, as `sync --out` writes them).
pub fn catalog_jobs(source: &Source, root: &Path, only: &[String]) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for c in source.catalog()?.charts {
        if !only.is_empty() && !only.contains(&c.chart) {
            continue;
        }
        let dir = root.join("charts").join(&c.chart);
        for (s, sc) in &c.scenarios {
            jobs.push(Job {
                name: format!("{}/{s}", c.chart),
                chart: dir.clone(),
                values: vec![dir.join(format!("ci/{s}-values.yaml"))],
                post_renderer: None,
                upstream: source.scenario_docs(&sc.dirs)?,
            });
        }
    }
    Ok(jobs)
}

/// Check every scenario of the charts under `root` (default: the repository's)
/// against the source; `write_doc` writes `<root>/docs/parity.md`.
pub fn run_all(
    source: &Source,
    root: Option<&Path>,
    only: &[String],
    write_doc: bool,
) -> Result<()> {
    let t = std::time::Instant::now();
    let root = root.map(Path::to_path_buf).unwrap_or_else(repo_root);
    let allow = load_allowlist(&source.release().name)?;
    let jobs = catalog_jobs(source, &root, only)?;
    let mut outcomes = Vec::new();
    for r in run_jobs(jobs, &allow) {
        outcomes.push(r?);
    }
    eprintln!(
        "parity of {} scenarios took {:.1}s",
        outcomes.len(),
        t.elapsed().as_secs_f64()
    );
    if write_doc {
        write_parity_doc(&root, &outcomes, &allow)?;
    }
    report(&outcomes)
}

fn write_parity_doc(root: &Path, outcomes: &[Outcome], allow: &[AllowEntry]) -> Result<()> {
    let up: usize = outcomes.iter().map(|o| o.upstream).sum();
    let ident: usize = outcomes.iter().map(|o| o.identical).sum();
    let fields: usize = outcomes.iter().map(|o| o.fields).sum();
    let fdiff: usize = outcomes.iter().map(|o| o.fields_differing).sum();
    let mut s = String::from("<!-- Generated by cargo xtask parity --write-doc; do not edit. -->\n# Parity with upstream Kustomize\n\n");
    s.push_str("`cargo xtask parity` renders every scenario a chart's `ci/<scenario>-values.yaml` claims with `helm template --include-crds` ");
    s.push_str("(Helm 4) and compares it with upstream's `kustomize build` output (`catalog/components.yaml` maps scenario → upstream dirs). ");
    s.push_str("Objects are keyed by API group, kind, namespace and name; fields are compared after removing only Helm's own ");
    s.push_str("labels (`helm.sh/chart`, `app.kubernetes.io/managed-by: Helm`, and the sequencing labels `helm.kubeflow.org/sequenced-by`/`revision` of hooks) and annotations (`helm.sh/resource-policy`, `helm.sh/hook*`, `meta.helm.sh/*`); ");
    s.push_str("map order is ignored, list order is not. CRDs are compared after stripping the OpenAPI schema `description`s from upstream's ");
    s.push_str("copy too (the charts' CRD templates carry none, see [charts.md](charts.md#crds); the allowlist entry with path `(schema descriptions)` turns this on, ");
    s.push_str("and fields are counted after it); every other CRD field, a property named `description` included, is compared. ");
    s.push_str("A field whose allowlist entry says `placeholder` (upstream leaves it empty for the user to fill in, and the scenario's ci values fill it) is not counted. ");
    s.push_str("The gate fails on any difference not in `parity/allowlist.yaml` ");
    s.push_str("and on any scenario under 99 % field-identical. `xtask/tests/parity.rs` runs it in CI.\n\n");
    s.push_str(&format!(
        "Totals: {} scenarios, {up} upstream objects, {ident} identical ({:.2} %), {fields} fields, {:.3} % field-identical.\n\n",
        outcomes.len(),
        100.0 * ident as f64 / up.max(1) as f64,
        100.0 * (fields - fdiff) as f64 / fields.max(1) as f64
    ));
    s.push_str(&table(outcomes));
    s.push_str("\n## Allowlisted differences\n\n");
    if allow.is_empty() {
        s.push_str("None.\n");
    } else {
        s.push_str("| scenario | resource | field | reason |\n|---|---|---|---|\n");
        for e in allow {
            let placeholder = if e.placeholder {
                " (placeholder: not counted)"
            } else {
                ""
            };
            s.push_str(&format!(
                "| {} | {} | `{}` | {}{placeholder} |\n",
                e.scenario, e.resource, e.path, e.reason
            ));
        }
    }
    let p = root.join("docs/parity.md");
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&p, s).with_context(|| format!("writing {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::test_yaml as y;

    #[test]
    fn normalise_removes_only_helm_metadata() {
        let d = normalise(y("kind: A\nmetadata:\n  name: a\n  labels: {helm.sh/chart: x-1, app.kubernetes.io/managed-by: Helm}\n  annotations: {helm.sh/resource-policy: keep, other: v}"));
        assert_eq!(
            d,
            y("kind: A\nmetadata:\n  name: a\n  annotations: {other: v}")
        );
        let kept = normalise(y(
            "kind: A\nmetadata: {name: a, labels: {app.kubernetes.io/managed-by: kustomize}}",
        ));
        assert_eq!(
            kept,
            y("kind: A\nmetadata: {name: a, labels: {app.kubernetes.io/managed-by: kustomize}}")
        );
    }

    #[test]
    fn diff_reports_maximal_paths_and_lost_fields() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, usize)]);
        let cases: &[Case] = &[
            ("a: 1", "a: 1", &[]),
            ("{a: 1, b: 2}", "{b: 2, a: 1}", &[]),
            ("a: {x: 1, y: 2}", "a: {x: 1}", &[("a.y", 1)]),
            ("a: {x: 1}", "a: {x: 1, z: 3}", &[("a.z", 0)]),
            ("a: [1, 2]", "a: [2, 1]", &[("a[0]", 1), ("a[1]", 1)]),
            ("a: {x: {p: 1, q: 2}}", "{}", &[("a", 2)]),
            ("a: '8080'", "a: 8080", &[("a", 1)]),
            (
                "{a: '', b: [x]}",
                "{a: filled, b: [y]}",
                &[("a", 1), ("b[0]", 1)],
            ),
        ];
        for (u, o, want) in cases {
            let mut got = Vec::new();
            diff(&y(u), &y(o), "", &mut got);
            let got: Vec<(&str, usize)> = got.iter().map(|d| (d.path.as_str(), d.lost)).collect();
            assert_eq!(got, *want, "{u} vs {o}");
        }
        // Only an empty upstream string is a placeholder.
        let mut got = Vec::new();
        diff(
            &y("{a: '', b: x, c: ~}"),
            &y("{a: v, b: v, c: v}"),
            "",
            &mut got,
        );
        let empty: Vec<bool> = got.iter().map(|d| d.upstream_empty).collect();
        assert_eq!(empty, [true, false, false]);
    }

    #[test]
    fn compare_counts_and_allowlist() {
        let up = vec![
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\ndata: {k: v}"),
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\ndata: {k: v}"),
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}"),
            y("apiVersion: v1\nkind: Secret\nmetadata: {name: e, namespace: n}\ndata: {host: '', port: '3306'}"),
        ];
        let ours = vec![
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, labels: {helm.sh/chart: x}}\ndata: {k: v}"),
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\ndata: {k: changed}"),
            y("apiVersion: v1\nkind: Secret\nmetadata: {name: d, namespace: n}"),
            y("apiVersion: v1\nkind: Secret\nmetadata: {name: e, namespace: n}\ndata: {host: ZGI=, port: MzMwNw==}"),
        ];
        let entry = |resource: &str, path: &str, placeholder| AllowEntry {
            scenario: "s".into(),
            resource: resource.into(),
            path: path.into(),
            reason: "r".into(),
            releases: vec![],
            placeholder,
        };
        let allow = vec![
            entry("ConfigMap/n/b", "data.k", false),
            entry("Secret/n/e", "data.*", true),
        ];
        let o = compare("s", &up, &ours, &allow).unwrap();
        assert_eq!(
            (o.upstream, o.identical, o.differing, o.missing, o.extra),
            (4, 1, 2, 1, 1)
        );
        let unallowed: Vec<_> = o
            .unallowed()
            .map(|d| (d.0.as_str(), d.1.as_str()))
            .collect();
        assert_eq!(
            unallowed,
            vec![("ConfigMap/n/c", "(missing)"), ("Secret/n/d", "(extra)")]
        );
        // a: 5 leaves, b: 5 (data.k differs), c: 4 (missing), e: 6 less its empty
        // placeholder data.host (data.port was not empty upstream: it counts);
        // extra objects add no upstream fields.
        assert_eq!((o.fields, o.fields_differing), (19, 6));
    }
}
