//! Real validation of the hardened preset: the full platform with
//! `global.security.preset=hardened`, installed by one `helm install --wait`
//! (Helm 4, the kf-post plugin) on an emulated cluster whose PodSecurity
//! admission enforces `restricted` by default (kube-system exempt), every
//! webhook as the chart renders it. A Pod that PodSecurity denies never exists,
//! so its workload never becomes Available and `--wait` fails; the test also
//! reads the `FailedCreate` events to name such a denial.

use e2e::umbrella as umbrella_common;

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

#[test]
fn hardened_preset_is_admitted_under_enforced_restricted() {
    let admission = std::env::temp_dir().join(format!(
        "kfh-security-admission-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&admission, ADMISSION).unwrap();
    let cluster = umbrella_common::Cluster {
        cp: e2e::ControlPlane::start_with_admission_config(&admission),
    };
    e2e::install_kf_post_plugin(&cluster.cp);
    let cp = &cluster.cp;

    let preset = umbrella_common::preset("full");
    e2e::run_ok(
        cluster
            .helm()
            .args(["install", "kubeflow"])
            .arg(umbrella_common::umbrella_chart())
            .arg("-f")
            .arg(&preset)
            .args(["--set", "global.security.preset=hardened"])
            .args(["--post-renderer", umbrella_common::POST_RENDERER])
            .args(["--wait", "--timeout", "20m"]),
    );
    let denied = e2e::run_ok(e2e::kubectl(cp).args([
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
    assert!(
        psa.is_empty(),
        "PodSecurity admission denied Pods:\n{}",
        psa.join("\n")
    );

    // Pods of the release's Deployments and StatefulSets, per namespace.
    let manifest = e2e::run_ok(cluster.helm().args(["get", "manifest", "kubeflow"]));
    let objects = audit::parse(&manifest).unwrap();
    let mut expected = std::collections::BTreeMap::<String, u64>::new();
    for o in objects
        .iter()
        .filter(|o| matches!(o.kind(), "Deployment" | "StatefulSet"))
    {
        let replicas = audit::stream::at(&o.value, &["spec", "replicas"])
            .and_then(|r| r.as_u64())
            .unwrap_or(1);
        *expected
            .entry(o.namespace().unwrap_or("default").to_string())
            .or_default() += replicas;
    }
    assert!(
        expected.values().sum::<u64>() >= 40,
        "expected the full platform: {expected:?}"
    );
    let pods = e2e::run_ok(e2e::kubectl(cp).args([
        "get",
        "pods",
        "-A",
        "--field-selector",
        "status.phase=Running",
        "--no-headers",
        "-o",
        "custom-columns=NS:.metadata.namespace",
    ]));
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for ns in pods.lines() {
        *counts.entry(ns.trim().to_string()).or_default() += 1;
    }
    for (ns, n) in &expected {
        assert!(
            counts.get(ns).copied().unwrap_or(0) >= *n,
            "{ns}: {:?} of {n} Pods running under enforced restricted",
            counts.get(ns)
        );
    }
    println!("running Pods per namespace under enforced restricted: {counts:?}");

    let labels = e2e::run_ok(e2e::kubectl(cp).args(["get", "ns", "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}{\"\\n\"}{end}"]));
    for ns in expected.keys().filter(|ns| *ns != "default") {
        assert!(
            labels.lines().any(|l| l == format!("{ns}=restricted")),
            "namespace {ns} not labelled restricted:\n{labels}"
        );
    }

    // Control: the same admission really rejects a Pod that is not restricted.
    let bad = cp.dir().join("privileged-pod.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: privileged-probe, namespace: kubeflow}\nspec:\n  containers: [{name: c, image: busybox, securityContext: {privileged: true}}]\n").unwrap();
    let err = e2e::run_fail(e2e::kubectl(cp).args(["apply", "-f"]).arg(&bad));
    assert!(
        err.contains("violates PodSecurity \"restricted:latest\""),
        "{err}"
    );
    let _ = std::fs::remove_file(&admission);
}
