//! Real validation of the hardened preset: the full platform with
//! `global.security.preset=hardened`, rendered by Helm 4 and kf-post, applied to
//! a local control plane whose PodSecurity admission enforces `restricted` by
//! default (kube-system exempt). kube-controller-manager creates the Pods of every
//! Deployment/StatefulSet (they stay Pending without a kubelet), so an admission
//! denial shows up as a ReplicaSet `ReplicaFailure`/`FailedCreate` event.
//!
//! Applied with `kubectl apply --server-side` rather than `helm install`: Helm 3
//! cannot map the cert-manager custom resources of a release that also installs
//! cert-manager's CRDs from templates, and the Helm 4 post-renderer plugin is
//! covered by the umbrella tests. Admission webhook configurations are left out:
//! without a kubelet their servers never run and `failurePolicy: Fail` would
//! block every Pod before PodSecurity sees it.

#[path = "../../e2e/tests/umbrella_common/mod.rs"]
mod umbrella_common;

use std::time::Duration;

const ADMISSION: &str = "\
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: restricted, enforce-version: latest, warn: restricted, warn-version: latest}
    exemptions: {usernames: [], runtimeClasses: [], namespaces: [kube-system]}
";

fn kf_post(stream: &str) -> String {
    e2e::kf_post_pipe(stream, &[]).0
}

/// Writes the objects as one JSON `List`: YAML written by serde_yaml would be
/// re-read by kubectl as YAML 1.1, where plain `yes`/`n`/`off` are booleans.
fn write_stream(path: &std::path::Path, objects: &[&audit::Object]) {
    let items: Vec<&serde_yaml::Value> = objects.iter().map(|o| &o.value).collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(path, serde_json::to_string(&list).unwrap()).unwrap();
}

#[test]
fn hardened_preset_is_admitted_under_enforced_restricted() {
    let admission = std::env::temp_dir().join(format!(
        "kfh-security-admission-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&admission, ADMISSION).unwrap();
    let cp = e2e::ControlPlane::start_with_admission_config(&admission);

    let preset = umbrella_common::preset("full").display().to_string();
    let raw = umbrella_common::template(&[
        "-n",
        "kubeflow",
        "-f",
        &preset,
        "--set",
        "global.security.preset=hardened",
        "--include-crds",
    ])
    .unwrap_or_else(|e| panic!("helm template: {e}"));
    let objects = audit::parse(&kf_post(&raw)).unwrap();
    let (crds, rest): (Vec<&audit::Object>, Vec<&audit::Object>) = objects
        .iter()
        .partition(|o| o.kind() == "CustomResourceDefinition");
    let rest: Vec<&audit::Object> = rest
        .into_iter()
        .filter(|o| !o.kind().ends_with("WebhookConfiguration"))
        .collect();

    let crd_file = cp.dir().join("crds.yaml");
    write_stream(&crd_file, &crds);
    e2e::run_ok(
        e2e::kubectl(&cp)
            .args(["apply", "--server-side", "-f"])
            .arg(&crd_file),
    );
    e2e::run_ok(e2e::kubectl(&cp).args([
        "wait",
        "--for",
        "condition=Established",
        "crd",
        "--all",
        "--timeout=180s",
    ]));
    let rest_file = cp.dir().join("platform.yaml");
    write_stream(&rest_file, &rest);
    e2e::run_ok(
        e2e::kubectl(&cp)
            .args(["apply", "--server-side", "-f"])
            .arg(&rest_file),
    );

    // Pods expected from the stream, per namespace (kube-system's DaemonSet has no node to run on).
    let mut expected = std::collections::BTreeMap::<String, u64>::new();
    for o in rest
        .iter()
        .filter(|o| matches!(o.kind(), "Deployment" | "StatefulSet"))
    {
        let replicas = audit::stream::at(&o.value, &["spec", "replicas"])
            .and_then(|r| r.as_u64())
            .unwrap_or(1);
        *expected
            .entry(o.namespace().unwrap_or("kubeflow").to_string())
            .or_default() += replicas;
    }
    assert!(
        expected.values().sum::<u64>() >= 40,
        "expected the full platform: {expected:?}"
    );

    let counts = e2e::eventually(
        "every Pod of the hardened platform to be admitted",
        Duration::from_secs(300),
        || {
            let denied = e2e::run_ok(e2e::kubectl(&cp).args([
                "get",
                "events",
                "-A",
                "--field-selector",
                "reason=FailedCreate",
                "-o",
                "custom-columns=NS:.metadata.namespace,OBJ:.involvedObject.name,MSG:.message",
                "--no-headers",
            ]));
            let psa: Vec<&str> = denied
                .lines()
                .filter(|l| l.contains("PodSecurity"))
                .collect();
            if !psa.is_empty() {
                panic!("PodSecurity admission denied Pods:\n{}", psa.join("\n"));
            }
            let pods = e2e::run_ok(e2e::kubectl(&cp).args([
                "get",
                "pods",
                "-A",
                "--no-headers",
                "-o",
                "custom-columns=NS:.metadata.namespace",
            ]));
            let mut have = std::collections::BTreeMap::<String, u64>::new();
            for ns in pods.lines() {
                *have.entry(ns.trim().to_string()).or_default() += 1;
            }
            let missing: Vec<String> = expected
                .iter()
                .filter(|(ns, n)| have.get(*ns).copied().unwrap_or(0) < **n)
                .map(|(ns, n)| format!("{ns}: {}/{n}", have.get(ns).copied().unwrap_or(0)))
                .collect();
            if missing.is_empty() {
                Ok(have)
            } else {
                Err(format!(
                    "Pods created so far: {missing:?}; FailedCreate: {denied}"
                ))
            }
        },
    );
    println!("admitted Pods per namespace under enforced restricted: {counts:?}");

    let labels = e2e::run_ok(e2e::kubectl(&cp).args(["get", "ns", "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}{\"\\n\"}{end}"]));
    for ns in expected.keys() {
        assert!(
            labels.lines().any(|l| l == format!("{ns}=restricted")),
            "namespace {ns} not labelled restricted:\n{labels}"
        );
    }

    // Control: the same admission really rejects a Pod that is not restricted.
    let bad = cp.dir().join("privileged-pod.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: privileged-probe, namespace: kubeflow}\nspec:\n  containers: [{name: c, image: busybox, securityContext: {privileged: true}}]\n").unwrap();
    let err = e2e::run_fail(e2e::kubectl(&cp).args(["apply", "-f"]).arg(&bad));
    assert!(
        err.contains("violates PodSecurity \"restricted:latest\""),
        "{err}"
    );
    let _ = std::fs::remove_file(&admission);
}
