//! Shared helpers of the umbrella chart tests (`umbrella_*.rs`): a private
//! copy of `charts/` with the umbrella's dependencies built (so tests never
//! write into the working tree other tools use), real Helm 4, and a minimal
//! reader for Helm's rendered stream.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent")
        .to_path_buf()
}

/// Helm 4: `$HELM` if set, else `.tools/bin/helm` (scripts/bootstrap).
pub fn helm_bin() -> PathBuf {
    let bin = std::env::var_os("HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/bin/helm"));
    assert!(
        bin.exists(),
        "Helm 4 not found at {}: run scripts/bootstrap",
        bin.display()
    );
    bin
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "kfh-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Helm with config/cache/data/plugins isolated under `home`.
pub fn helm_in(home: &Path) -> Command {
    let mut cmd = Command::new(helm_bin());
    for (var, sub) in [
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_DATA_HOME", "data"),
        ("HELM_PLUGINS", "plugins"),
    ] {
        cmd.env(var, home.join(sub));
    }
    cmd
}

pub fn run(mut cmd: Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn run_ok(cmd: Command) -> String {
    let shown = format!("{cmd:?}");
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{shown} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        tail(&String::from_utf8_lossy(&out.stdout)),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn tail(s: &str) -> &str {
    let start = s.len().saturating_sub(4000);
    let mut i = start;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Copy of `charts/` (process-wide, built once) with `helm dependency update`
/// run in `kubeflow/`. Returns the umbrella chart directory.
pub fn umbrella_chart() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let scratch =
            std::env::temp_dir().join(format!("kfh-umbrella-charts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).unwrap();
        let mut cp = Command::new("cp");
        cp.arg("-r").arg(repo_root().join("charts")).arg(&scratch);
        run_ok(cp);
        let chart = scratch.join("charts/kubeflow");
        let _ = std::fs::remove_dir_all(chart.join("charts"));
        let _ = std::fs::remove_file(chart.join("Chart.lock"));
        let mut dep = helm_in(&scratch.join("helm-home"));
        dep.args(["dependency", "update", "--skip-refresh"])
            .arg(&chart);
        run_ok(dep);
        chart
    })
}

pub fn preset(name: &str) -> PathBuf {
    repo_root().join("presets").join(format!("{name}.yaml"))
}

/// `helm template kubeflow <umbrella> ARGS…` → Ok(stdout) or Err(stderr).
pub fn template(args: &[&str]) -> Result<String, String> {
    let home = umbrella_chart()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("helm-home");
    let mut cmd = helm_in(&home);
    cmd.args(["template", "kubeflow"])
        .arg(umbrella_chart())
        .args(args);
    let out = run(cmd);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// One document of a rendered stream: the `# Source:` path, kind and name.
#[derive(Debug, Clone)]
pub struct Doc {
    pub source: String,
    pub kind: String,
    pub name: String,
    pub text: String,
}

/// Split Helm's output into documents (top-level `kind:` and `metadata.name`).
pub fn docs(stream: &str) -> Vec<Doc> {
    let mut out = Vec::new();
    for text in stream.split("\n---") {
        let mut source = String::new();
        let mut kind = String::new();
        let mut name = String::new();
        let mut in_metadata = false;
        for line in text.lines() {
            if let Some(s) = line.strip_prefix("# Source: ") {
                source = s.trim().to_string();
            } else if let Some(k) = line.strip_prefix("kind: ") {
                kind = k.trim().to_string();
            } else if line.starts_with("metadata:") {
                in_metadata = true;
            } else if in_metadata && name.is_empty() {
                if let Some(n) = line.strip_prefix("  name: ") {
                    name = n.trim().trim_matches('"').to_string();
                } else if !line.starts_with(' ') {
                    in_metadata = false;
                }
            }
        }
        if !kind.is_empty() {
            out.push(Doc {
                source,
                kind,
                name,
                text: text.to_string(),
            });
        }
    }
    out
}

/// Umbrella keys (aliases) whose templates appear in the rendered stream.
pub fn rendered_components(stream: &str) -> std::collections::BTreeSet<String> {
    docs(stream)
        .iter()
        .filter_map(|d| {
            d.source
                .strip_prefix("kubeflow/charts/")
                .and_then(|rest| rest.split('/').next())
                .map(str::to_string)
        })
        .collect()
}

/// (chart name, umbrella key, tags) from charts/kubeflow/Chart.yaml.
pub fn chart_dependencies() -> Vec<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(repo_root().join("charts/kubeflow/Chart.yaml")).unwrap();
    let mut deps = Vec::new();
    let mut current: Option<(String, String, Vec<String>)> = None;
    let deps_at = text
        .find("\ndependencies:\n")
        .expect("Chart.yaml has dependencies");
    for line in text[deps_at..].lines() {
        if let Some(n) = line.strip_prefix("  - name: ") {
            if let Some(d) = current.take() {
                deps.push(d);
            }
            current = Some((n.trim().to_string(), String::new(), Vec::new()));
        } else if let Some(d) = current.as_mut() {
            if let Some(a) = line.strip_prefix("    alias: ") {
                d.1 = a.trim().to_string();
            } else if let Some(t) = line.strip_prefix("    tags: ") {
                d.2 = t
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect();
            }
        }
    }
    deps.extend(current);
    deps
}
