//! Golden comparison against upstream: for each component, run kf-post with a
//! per-component config (`tests/golden/<component>.yaml`) over upstream's plain
//! variant and compare the result, resource by resource, with the variant
//! upstream's `example` platform uses. The table goes to `docs/golden.md`.
//!
//! - `UPDATE_GOLDEN=1 cargo test -p kf-post --test golden` rewrites the doc.
//! - Without it the test fails when the doc is stale, and when a component's
//!   share of identical resources drops below the floor recorded (with the
//!   reason) in `tests/golden/floors.yaml`.
//!
//! Upstream data: env `KUBEFLOW_MANIFESTS`, default
//! `../shared/upstream/kubeflow-manifests` relative to the workspace root.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

type Key = (String, String, String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Floors {
    components: Vec<Component>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Component {
    name: String,
    /// `rendered/` file of the plain variant; absent: an empty stream.
    plain: Option<String>,
    platform: String,
    /// Minimum % of upstream resources that must come out identical.
    floor: f64,
    /// Why the floor is what it is (what kf-post does not do, and why).
    reason: String,
}

#[derive(Debug, Default)]
struct Score {
    upstream: usize,
    identical: usize,
    differing: Vec<(Key, Vec<String>)>,
    missing: Vec<Key>,
    extra: Vec<Key>,
}

impl Score {
    fn percent(&self) -> f64 {
        if self.upstream == 0 {
            100.0
        } else {
            100.0 * self.identical as f64 / self.upstream as f64
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("post-renderer has a parent")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Resources of a stream keyed by kind/namespace/name. Read with serde_yaml's
/// reader, not kf-post's (`kf_post::stream`), on purpose: the comparison checks
/// the engine's output, so it must not share the engine's reader, and its own
/// tests compare bare mappings that reader would refuse (no `apiVersion`).
fn resources(text: &str, what: &str) -> BTreeMap<Key, Value> {
    let mut out = BTreeMap::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{what}: {e}"));
        if value.is_null() {
            continue;
        }
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let meta = value.get("metadata");
        let key = (
            s(value.get("kind")),
            s(meta.and_then(|m| m.get("namespace"))),
            s(meta.and_then(|m| m.get("name"))),
        );
        let mut value = value;
        normalize(&mut value);
        assert!(
            out.insert(key.clone(), value).is_none(),
            "{what}: duplicate {key:?}"
        );
    }
    out
}

/// Container `env` lists are maps keyed by `name` for Kubernetes
/// (`listType: map`); kustomize patches reorder them, so compare them sorted.
fn normalize(value: &mut Value) {
    match value {
        Value::Mapping(m) => {
            for (k, v) in m.iter_mut() {
                if k.as_str() == Some("env") {
                    if let Value::Sequence(list) = v {
                        list.sort_by_key(|e| {
                            e.get("name").and_then(Value::as_str).map(str::to_owned)
                        });
                    }
                }
                normalize(v);
            }
        }
        Value::Sequence(list) => list.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// Paths where two values differ (at most `limit`).
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (Value::Mapping(x), Value::Mapping(y)) => {
            let mut keys: Vec<&Value> = x.keys().chain(y.keys()).collect();
            keys.sort_by_key(|k| k.as_str().map(str::to_owned));
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{}", k.as_str().unwrap_or("?"));
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => diff(v, w, &p, out, limit),
                    (None, Some(_)) => out.push(format!("{p} (only upstream)")),
                    (Some(_), None) => out.push(format!("{p} (only kf-post)")),
                    (None, None) => {}
                }
            }
        }
        (Value::Sequence(x), Value::Sequence(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                diff(v, w, &format!("{path}[{i}]"), out, limit);
            }
        }
        _ => out.push(path.to_owned()),
    }
}

fn score(ours: &BTreeMap<Key, Value>, upstream: &BTreeMap<Key, Value>) -> Score {
    let mut s = Score {
        upstream: upstream.len(),
        ..Score::default()
    };
    for (key, want) in upstream {
        match ours.get(key) {
            None => s.missing.push(key.clone()),
            Some(got) if got == want => s.identical += 1,
            Some(got) => {
                let mut paths = Vec::new();
                diff(got, want, "", &mut paths, 3);
                s.differing.push((key.clone(), paths));
            }
        }
    }
    s.extra = ours
        .keys()
        .filter(|k| !upstream.contains_key(*k))
        .cloned()
        .collect();
    s
}

fn key_str((kind, ns, name): &Key) -> String {
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind} {ns}/{name}")
    }
}

fn run_component(c: &Component, upstream: &Path) -> Score {
    let rendered = upstream.join("rendered");
    let plain = match &c.plain {
        Some(f) => read(&rendered.join(f)),
        None => String::new(),
    };
    let config_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{}.yaml", c.name));
    let options = kf_post::Options {
        config_yaml: Some(read(&config_path)),
        explain: false,
    };
    let out = kf_post::post_render(plain.as_bytes(), &options)
        .unwrap_or_else(|e| panic!("{}: kf-post failed: {e}", c.name));
    // Running kf-post over its own output must change nothing.
    let again = kf_post::post_render(&out.stream, &options)
        .unwrap_or_else(|e| panic!("{}: second kf-post run failed: {e}", c.name));
    assert!(
        again.stream == out.stream,
        "{}: kf-post is not idempotent on this component",
        c.name
    );
    let out = String::from_utf8(out.stream).expect("kf-post emits UTF-8");
    let ours = resources(&out, &format!("{} output", c.name));
    let want = resources(&read(&rendered.join(&c.platform)), &c.platform);
    score(&ours, &want)
}

fn render_doc(rows: &[(&Component, Score)]) -> String {
    let mut s = String::new();
    s.push_str(
        "# Golden comparison: plain upstream variant + kf-post vs. the platform variant\n\n",
    );
    s.push_str(
        "Generated by `UPDATE_GOLDEN=1 cargo test -p kf-post --test golden` from \
         `post-renderer/tests/golden/`; do not edit by hand.\n\n",
    );
    s.push_str(
        "For each component kf-post runs with `post-renderer/tests/golden/<component>.yaml` \
         over upstream's plain variant; the output is compared with the variant upstream's \
         `example` platform uses, resource by resource (kind/namespace/name; all fields, \
         key order ignored, container `env` lists compared as maps keyed by name, as Kubernetes treats them). *identical*: every field equal; *differing*: same resource, \
         some field differs; *missing*: upstream has it, kf-post does not produce it; \
         *extra*: kf-post produces it, upstream does not have it. The floor is the \
         minimum the test enforces; `tests/golden/floors.yaml` gives the reason for each.\n\n",
    );
    s.push_str("| component | upstream resources | identical | differing | missing | extra | % identical | floor |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let (mut up, mut id) = (0, 0);
    for (c, sc) in rows {
        up += sc.upstream;
        id += sc.identical;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.0} |",
            c.name,
            sc.upstream,
            sc.identical,
            sc.differing.len(),
            sc.missing.len(),
            sc.extra.len(),
            sc.percent(),
            c.floor
        );
    }
    let _ = writeln!(
        s,
        "| **all** | {up} | {id} | | | | {:.1} | |",
        if up == 0 {
            100.0
        } else {
            100.0 * id as f64 / up as f64
        }
    );
    s.push_str("\n## Details\n");
    for (c, sc) in rows {
        let _ = writeln!(s, "\n### {}\n", c.name);
        let _ = writeln!(
            s,
            "`{}` → `{}`. {}\n",
            c.plain.as_deref().unwrap_or("(empty stream)"),
            c.platform,
            c.reason.trim()
        );
        for (k, paths) in &sc.differing {
            let _ = writeln!(s, "- differing: {} — {}", key_str(k), paths.join(", "));
        }
        for k in &sc.missing {
            let _ = writeln!(s, "- missing: {}", key_str(k));
        }
        for k in &sc.extra {
            let _ = writeln!(s, "- extra: {}", key_str(k));
        }
    }
    s
}

#[test]
fn golden_against_upstream() {
    let upstream = e2e::manifests_dir();
    assert!(
        upstream.join("rendered").is_dir(),
        "upstream snapshot not found at {} (set KUBEFLOW_MANIFESTS)",
        upstream.display()
    );
    let floors: Floors = serde_yaml::from_str(&read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/floors.yaml"),
    ))
    .expect("tests/golden/floors.yaml");
    let rows: Vec<(&Component, Score)> = floors
        .components
        .iter()
        .map(|c| (c, run_component(c, &upstream)))
        .collect();
    let doc = render_doc(&rows);
    let doc_path = workspace_root().join("docs/golden.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&doc_path, &doc).expect("write docs/golden.md");
    } else {
        let current = std::fs::read_to_string(&doc_path).unwrap_or_default();
        assert!(
            current == doc,
            "docs/golden.md is stale; run `UPDATE_GOLDEN=1 cargo test -p kf-post --test golden`"
        );
    }
    let below: Vec<String> = rows
        .iter()
        .filter(|(c, s)| s.percent() + 1e-9 < c.floor)
        .map(|(c, s)| format!("{}: {:.1}% < floor {:.0}%", c.name, s.percent(), c.floor))
        .collect();
    assert!(below.is_empty(), "components below their floor: {below:?}");
}

#[test]
fn comparison_counts() {
    let up = resources(
        "kind: A\nmetadata: {name: a}\nx: 1\n---\nkind: B\nmetadata: {name: b, namespace: n}\n\
         ---\nkind: C\nmetadata: {name: c}\n",
        "upstream",
    );
    let ours = resources(
        "kind: B\nmetadata: {namespace: n, name: b}\n---\nkind: A\nmetadata: {name: a}\nx: 2\n\
         ---\nkind: D\nmetadata: {name: d}\n",
        "ours",
    );
    let s = score(&ours, &up);
    assert_eq!(s.upstream, 3);
    assert_eq!(s.identical, 1, "key order does not matter");
    assert_eq!(s.differing.len(), 1);
    assert_eq!(s.differing[0].1, vec![".x".to_owned()]);
    assert_eq!(s.missing.len(), 1);
    assert_eq!(s.extra.len(), 1);
    assert!((s.percent() - 100.0 / 3.0).abs() < 1e-9);
}

#[test]
fn env_order_is_ignored_other_lists_are_not() {
    let a = resources(
        "kind: A\nmetadata: {name: a}\nenv: [{name: X}, {name: Y}]\nargs: [p, q]\n",
        "a",
    );
    let b = resources(
        "kind: A\nmetadata: {name: a}\nenv: [{name: Y}, {name: X}]\nargs: [p, q]\n",
        "b",
    );
    let c = resources(
        "kind: A\nmetadata: {name: a}\nenv: [{name: X}, {name: Y}]\nargs: [q, p]\n",
        "c",
    );
    assert_eq!(score(&a, &b).identical, 1);
    assert_eq!(score(&a, &c).identical, 0);
}
