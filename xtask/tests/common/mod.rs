//! Shared helpers for the xtask tests: the repo, real Helm, rendered output.
#![allow(dead_code)] // each test binary uses a different subset

use serde_yaml::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use xtask::upstream::{default_manifests_dir, parse_stream, repo_root, Source};

pub fn root() -> PathBuf {
    repo_root()
}

/// Real Helm 4; the tests fail (never skip) when it is missing.
pub fn helm() -> PathBuf {
    let h = xtask::parity::helm_bin();
    assert!(
        h.exists(),
        "{} is missing: run scripts/bootstrap",
        h.display()
    );
    h
}

/// The xtask binary (release build: `e2e::xtask_bin`) run in the repo.
pub fn xtask(args: &[&str]) -> Output {
    Command::new(e2e::xtask_bin())
        .args(args)
        .current_dir(root())
        .output()
        .expect("run xtask")
}

pub fn snapshot() -> Source {
    Source::snapshot(&default_manifests_dir()).expect("upstream snapshot (KUBEFLOW_MANIFESTS)")
}

pub fn chart_dir(chart: &str) -> PathBuf {
    root().join("charts").join(chart)
}

/// A scratch directory unique to this test process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// `helm template` with the given values YAML (written to a scratch file).
pub fn render(chart: &str, values_yaml: &str) -> Result<Vec<Value>, String> {
    // One directory per call: tests run in parallel threads may render the
    // same chart with the same values at once.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = scratch(&format!("render-{chart}-{call}"));
    let vf = dir.join("values.yaml");
    std::fs::write(&vf, values_yaml).unwrap();
    let out = Command::new(helm())
        .args(["template", chart])
        .arg(chart_dir(chart))
        .arg("--include-crds")
        .arg("-f")
        .arg(&vf)
        .output()
        .expect("run helm");
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(parse_stream(&String::from_utf8(out.stdout).unwrap()).expect("helm output parses"))
}

pub fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("{kind}/{name} not rendered"))
}

/// Pod spec of a workload document, if it has one.
pub fn pod_spec(d: &Value) -> Option<&Value> {
    match d["kind"].as_str()? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => {
            Some(&d["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&d["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        _ => None,
    }
}

pub fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|f| pod[*f].as_sequence())
        .flatten()
        .collect()
}

pub fn charts() -> Vec<String> {
    xtask::upstream::load_catalog()
        .unwrap()
        .charts
        .into_iter()
        .map(|c| c.component.chart)
        .collect()
}
