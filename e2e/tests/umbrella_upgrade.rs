//! CRD upgrades (docs/upgrades.md): Helm never upgrades a chart's crds/, the
//! documented path `scripts/upgrade-crds` does.

mod umbrella_common;

use std::path::Path;
use std::process::Command;

use e2e::Scratch;
use umbrella_common::*;

const CRD_FILE: &str =
    "kserve/crds/customresourcedefinition-localmodelnodes.serving.kserve.io.yaml";
const CRD: &str = "localmodelnodes.serving.kserve.io";

/// A copy of the charts where one KServe CRD gains a served version
/// `v1kfhtest` with a new field `spec.upgradeField` (what a new Kubeflow
/// release with a changed CRD looks like), dependencies rebuilt.
fn charts_with_changed_crd(scratch: &Path) -> std::path::PathBuf {
    let charts = scratch.join("charts");
    let mut cp = Command::new("cp");
    cp.arg("-r")
        .arg(umbrella_chart().parent().unwrap())
        .arg(&charts);
    e2e::run_ok(&mut cp);
    let file = charts.join(CRD_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let new_version = "  versions:\n  - name: v1kfhtest\n    served: true\n    storage: false\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              upgradeField:\n                type: string\n";
    assert!(
        text.contains("\n  versions:\n  - name: v1alpha1\n"),
        "{CRD_FILE} changed shape"
    );
    std::fs::write(&file, text.replacen("  versions:\n", new_version, 1)).unwrap();
    let umbrella = charts.join("kubeflow");
    std::fs::remove_dir_all(umbrella.join("charts")).unwrap();
    let mut dep = helm_in(&scratch.join("helm-home"));
    dep.args(["dependency", "update", "--skip-refresh"])
        .arg(&umbrella);
    run_ok(dep);
    umbrella
}

fn crd_versions(cluster: &Cluster) -> String {
    e2e::run_ok(cluster.kubectl().args([
        "get",
        "crd",
        CRD,
        "-o",
        "jsonpath={.spec.versions[*].name}",
    ]))
}

#[test]
fn crd_upgrade_path_changes_the_cluster_crd() {
    let scratch = Scratch::new("crd-upgrade");
    let next = charts_with_changed_crd(&scratch.0);
    let cluster = Cluster::start();
    let edge = preset("kserve-edge");
    let values = ["-f", edge.to_str().unwrap()];

    e2e::run_ok(
        cluster
            .helm()
            .args(["install", "kubeflow"])
            .arg(umbrella_chart())
            .args(values)
            .args(["--post-renderer", TEST_POST_RENDERER]),
    );
    assert_eq!(crd_versions(&cluster), "v1alpha1");

    // helm upgrade to the new chart: the release upgrades, the CRD does not.
    e2e::run_ok(
        cluster
            .helm()
            .args(["upgrade", "kubeflow"])
            .arg(&next)
            .args(values)
            .args(["--post-renderer", TEST_POST_RENDERER]),
    );
    assert_eq!(
        crd_versions(&cluster),
        "v1alpha1",
        "helm upgrade changed a crds/ CRD"
    );

    // The documented path: dry run first (nothing changes), then apply.
    let mut dry = values.to_vec();
    dry.push("--dry-run");
    cluster.apply_crds(&next, &dry);
    assert_eq!(
        crd_versions(&cluster),
        "v1alpha1",
        "--dry-run changed the CRD"
    );
    let out = cluster.apply_crds(&next, &values);
    assert!(out.contains(CRD), "{out}");
    assert_eq!(crd_versions(&cluster), "v1kfhtest v1alpha1");
    let field = e2e::run_ok(cluster.kubectl().args([
        "get", "crd", CRD, "-o",
        "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.upgradeField.type}",
    ]));
    assert_eq!(field, "string");
    // The release itself is untouched by the CRD step.
    let status = e2e::run_ok(cluster.helm().args(["status", "kubeflow", "-o", "json"]));
    assert!(
        status.contains("\"version\":2") && status.contains("\"status\":\"deployed\""),
        "{status}"
    );
}
