//! CRD upgrades (docs/upgrades.md#crds): CRDs are templates of the component
//! charts, so `helm upgrade` to a chart version whose CRD changed updates the
//! CRD on the cluster, and rolling back restores it.

use e2e::umbrella as umbrella_common;

use std::path::Path;
use std::process::Command;

use e2e::Scratch;
use umbrella_common::*;

const CRD_FILE: &str = "kserve/templates/crds/localmodelnodes.serving.kserve.io.yaml";
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
    build_dependencies(&umbrella, &scratch.join("helm-home"));
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
fn helm_upgrade_changes_the_cluster_crd_and_rollback_restores_it() {
    let scratch = Scratch::new("crd-upgrade");
    let next = charts_with_changed_crd(&scratch.0);
    let cluster = Cluster::start();
    let edge = preset("kserve-edge");
    let values = ["-f", edge.to_str().unwrap()];
    let helm = |verb: &str, chart: &Path| {
        e2e::run_ok(
            cluster
                .helm()
                .args([verb, "kubeflow"])
                .arg(chart)
                .args(values)
                .args(KF_POST_WAIT),
        )
    };

    helm("install", umbrella_chart());
    assert_eq!(crd_versions(&cluster), "v1alpha1");

    // helm upgrade to the new chart version: the CRD is upgraded with it.
    helm("upgrade", &next);
    assert_eq!(crd_versions(&cluster), "v1kfhtest v1alpha1");
    let field = e2e::run_ok(cluster.kubectl().args([
        "get", "crd", CRD, "-o",
        "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.upgradeField.type}",
    ]));
    assert_eq!(field, "string");

    // Rolling back to revision 1 gives its CRD back (no object stores the
    // new version: nothing to convert).
    e2e::run_ok(
        cluster
            .helm()
            .args(["rollback", "kubeflow", "1", "--wait", "--timeout", "15m"]),
    );
    assert_eq!(crd_versions(&cluster), "v1alpha1");
    let status = e2e::run_ok(cluster.helm().args(["status", "kubeflow", "-o", "json"]));
    assert!(
        status.contains("\"version\":3") && status.contains("\"status\":\"deployed\""),
        "{status}"
    );
}
