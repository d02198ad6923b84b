//! The parity gate: every scenario a chart's ci/ values file claims renders like
//! upstream (`cargo xtask parity`), and docs/parity.md shows the current table.

mod common;
use common::*;
use std::process::Command;

#[test]
fn every_claimed_scenario_matches_upstream_and_doc_is_current() {
    helm();
    let out = xtask(&["parity"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "parity failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = std::fs::read_to_string(root().join("docs/parity.md")).unwrap();
    assert!(
        doc.contains(stdout.trim()),
        "docs/parity.md is stale: run `cargo xtask parity --write-doc`"
    );
    // One row per ci file of every chart.
    for chart in charts() {
        for e in std::fs::read_dir(chart_dir(&chart).join("ci")).unwrap() {
            let f = e.unwrap().file_name().to_string_lossy().into_owned();
            let scenario = f.trim_end_matches("-values.yaml");
            assert!(
                stdout.contains(&format!("| {chart}/{scenario} |")),
                "no parity row for {chart}/{scenario}"
            );
        }
    }
}

#[test]
fn adhoc_comparison_fails_and_names_unallowed_differences() {
    helm();
    let up = snapshot();
    let dir = scratch("adhoc");
    let against = dir.join("istio.yaml");
    std::fs::write(&against, up.render("common/dex/overlays/istio").unwrap()).unwrap();
    let chart = chart_dir("dex");
    let out = xtask(&[
        "parity",
        "--chart",
        chart.to_str().unwrap(),
        "-f",
        chart.join("ci/base-values.yaml").to_str().unwrap(),
        "--against",
        against.to_str().unwrap(),
        "--name",
        "dex-base-vs-istio",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "base rendering must not match the istio overlay"
    );
    assert!(
        err.contains("dex-base-vs-istio: VirtualService/auth/dex: (missing)"),
        "{err}"
    );

    // The same chart against its own scenario passes.
    std::fs::write(&against, up.render("common/dex/overlays/istio").unwrap()).unwrap();
    let out = xtask(&[
        "parity",
        "--chart",
        chart.to_str().unwrap(),
        "-f",
        chart.join("ci/istio-values.yaml").to_str().unwrap(),
        "--against",
        against.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The whole platform: the umbrella chart with the `full` preset, post-rendered
/// by kf-post, against upstream's `example` composition.
#[test]
fn whole_platform_full_preset_matches_upstream_example() {
    let helm = helm();
    let dir = scratch("whole-platform");
    // `helm template` needs the file:// dependencies vendored; do it in a copy so
    // the working tree is left alone.
    let copied = Command::new("cp")
        .arg("-r")
        .arg(root().join("charts"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(copied.success());
    let chart = dir.join("charts/kubeflow");
    let _ = std::fs::remove_dir_all(chart.join("charts"));
    let dep = Command::new(&helm)
        .args(["dependency", "update", "--skip-refresh"])
        .arg(&chart)
        .env("HELM_CONFIG_HOME", dir.join("helm/config"))
        .env("HELM_CACHE_HOME", dir.join("helm/cache"))
        .env("HELM_DATA_HOME", dir.join("helm/data"))
        .output()
        .unwrap();
    assert!(
        dep.status.success(),
        "{}",
        String::from_utf8_lossy(&dep.stderr)
    );
    let example = xtask::upstream::default_manifests_dir().join("rendered/example.yaml");
    // Upstream's webhook certificates are cert-manager's; the umbrella's
    // default (`helm`, Helm-made Secrets) differs from them by design
    // (docs/charts.md#webhook-certificates), so compare that mode.
    let cert_manager = dir.join("cert-manager-certificates.yaml");
    std::fs::write(
        &cert_manager,
        "global:\n  webhookCertificates: cert-manager\n",
    )
    .unwrap();
    let out = xtask(&[
        "parity",
        "--chart",
        chart.to_str().unwrap(),
        "-f",
        root().join("presets/full.yaml").to_str().unwrap(),
        "-f",
        cert_manager.to_str().unwrap(),
        "--against",
        example.to_str().unwrap(),
        "--post-renderer",
        e2e::kf_post_bin().to_str().unwrap(),
        "--name",
        "full",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "whole-platform parity failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every upstream object is there; the only additions are the umbrella's
    // sequencing Jobs and their identity (6, allowlisted).
    assert!(stdout.contains("| full | 683 |"), "{stdout}");
    assert!(stdout.contains("| 0 | 6 |"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
