//! Publishing: `scripts/publish-charts` packages every chart, pushes them to
//! an OCI registry (the CNCF distribution registry on loopback,
//! `scripts/oci-registry`), writes a classic repo index, and the platform
//! installs from `oci://`.

use e2e::umbrella as umbrella_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::Scratch;
use umbrella_common::*;

struct Registry {
    dir: PathBuf,
    host: String,
}

impl Registry {
    fn start(dir: &Path) -> Registry {
        let mut cmd = Command::new(repo_root().join("scripts/oci-registry"));
        cmd.arg("start").arg(dir);
        let out = e2e::run_ok(&mut cmd);
        let host = out
            .trim()
            .strip_prefix("export OCI_REGISTRY=")
            .unwrap_or_else(|| panic!("unexpected oci-registry output: {out}"))
            .to_string();
        Registry {
            dir: dir.to_path_buf(),
            host,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/oci-registry"))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn chart_names(charts: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(charts)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            e.path()
                .join("Chart.yaml")
                .exists()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn charts_publish_to_oci_and_a_classic_repo_and_install_from_oci() {
    let scratch = Scratch::new("publish");
    let registry = Registry::start(&scratch.0.join("registry"));
    let out = scratch.0.join("packages");
    let charts_dir = umbrella_chart().parent().unwrap();
    let oci = format!("oci://{}/kubeflow-charts", registry.host);

    let mut publish = Command::new(repo_root().join("scripts/publish-charts"));
    publish
        .args(["--out"])
        .arg(&out)
        .args([
            "--oci",
            &oci,
            "--plain-http",
            "--index-url",
            "https://charts.example.org/kubeflow",
        ])
        .arg("--charts")
        .arg(charts_dir)
        .env("HELM", e2e::tools_bin().join("helm"));
    for (var, sub) in [
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_DATA_HOME", "data"),
    ] {
        publish.env(var, scratch.0.join("helm").join(sub));
    }
    let printed = e2e::run_ok(&mut publish);
    println!("{printed}");

    // One package per chart, all in the index with their URL.
    let names = chart_names(charts_dir);
    assert_eq!(names.len(), 30, "charts: {names:?}");
    let index = std::fs::read_to_string(out.join("index.yaml")).unwrap();
    for name in &names {
        let package = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|f| f.starts_with(&format!("{name}-")) && f.ends_with(".tgz"))
            .unwrap_or_else(|| panic!("no package for {name}"));
        assert!(
            index.contains(&format!("  {name}:\n"))
                && index.contains(&format!("https://charts.example.org/kubeflow/{package}")),
            "index.yaml lacks {name} ({package})"
        );
    }

    // Install the umbrella straight from the registry.
    let cluster = Cluster::start();
    let chart = format!("{oci}/kubeflow");
    let shown = e2e::run_ok(cluster.helm().args([
        "show",
        "chart",
        &chart,
        "--version",
        "0.1.0",
        "--plain-http",
    ]));
    assert!(shown.contains("name: kubeflow"), "{shown}");
    let edge = preset("kserve-edge");
    let values = [
        "-f",
        edge.to_str().unwrap(),
        "--version",
        "0.1.0",
        "--plain-http",
    ];
    e2e::run_ok(
        cluster
            .helm()
            .args(["install", "kubeflow", &chart])
            .args(values)
            .args(KF_POST_WAIT),
    );
    let status = e2e::run_ok(cluster.helm().args(["status", "kubeflow", "-o", "json"]));
    assert!(status.contains("\"status\":\"deployed\""), "{status}");
    assert!(cluster
        .names("deployments")
        .contains("kubeflow/kserve-controller-manager"));
}
