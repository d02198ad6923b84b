//! Proves the emulated node side (docs/emulation.md) behaves like a real
//! cluster where Helm and the API server notice: a webhook served by the same
//! release rejects objects until its pod is Ready and answers (over TLS
//! verified against its caBundle) afterwards; cert-manager issues
//! Certificates; pods wait for their Secrets; Deployments roll out for
//! `helm install --wait`; requests that fit no Node stay Pending; a conversion
//! webhook converts; a kubectl hook Job runs with its ServiceAccount's RBAC.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{eventually, fixture_chart, helm4, kubectl, run_fail, run_ok, ControlPlane, Scratch};

const WAIT: Duration = Duration::from_secs(90);

fn get(cp: &ControlPlane, args: &[&str]) -> String {
    run_ok(kubectl(cp).args(args))
}

fn jsonpath(cp: &ControlPlane, ns: &str, object: &str, path: &str) -> String {
    get(
        cp,
        &["-n", ns, "get", object, "-o", &format!("jsonpath={path}")],
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create chart copy");
    for entry in std::fs::read_dir(from).expect("read fixture chart") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

fn yaml_stream(docs: &[serde_yaml::Value]) -> String {
    docs.iter()
        .map(|d| serde_yaml::to_string(d).expect("serialize document"))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The fixture chart `cert-manager-webhook` completed with upstream
/// cert-manager as the snapshot renders it: its CRDs in `crds/`, everything
/// else (namespace, controller, cainjector, webhook with its Service and
/// webhook configurations, RBAC) in `templates/`.
fn cert_manager_chart(scratch: &Scratch) -> PathBuf {
    let chart = scratch.0.join("cert-manager-webhook");
    copy_dir(&fixture_chart("cert-manager-webhook"), &chart);
    let upstream = e2e::manifests_dir().join("rendered/common_cert-manager_base.yaml");
    let text = std::fs::read_to_string(&upstream)
        .unwrap_or_else(|e| panic!("read {}: {e}", upstream.display()));
    let (crds, rest): (Vec<serde_yaml::Value>, Vec<_>) = e2e::yaml::objects(&text)
        .into_iter()
        .partition(|doc: &serde_yaml::Value| doc["kind"] == "CustomResourceDefinition");
    assert!(
        crds.len() >= 3
            && rest
                .iter()
                .any(|d| d["kind"] == "ValidatingWebhookConfiguration"),
        "{} lacks cert-manager's CRDs or webhook",
        upstream.display()
    );
    std::fs::create_dir_all(chart.join("crds")).expect("crds/");
    std::fs::write(chart.join("crds/cert-manager.yaml"), yaml_stream(&crds)).expect("write CRDs");
    std::fs::write(chart.join("templates/upstream.yaml"), yaml_stream(&rest))
        .expect("write templates");
    chart
}

#[test]
fn webhook_of_the_same_release_rejects_objects_until_its_pod_is_ready() {
    let cp = ControlPlane::start();
    let scratch = Scratch::new("emulation-cm-fail");
    let chart = cert_manager_chart(&scratch);
    let err = run_fail(helm4(&cp).args(["install", "cm"]).arg(&chart));
    assert!(
        err.contains(r#"failed calling webhook "webhook.cert-manager.io""#)
            && err.contains(r#"no endpoints available for service "cert-manager-webhook""#),
        "expected the error a fresh real cluster gives, got:\n{err}"
    );
}

#[test]
fn certificate_created_after_the_webhook_is_ready_is_admitted_and_issued() {
    let cp = ControlPlane::start();
    let scratch = Scratch::new("emulation-cm-ok");
    let chart = cert_manager_chart(&scratch);
    run_ok(helm4(&cp).args(["install", "cm"]).arg(&chart).args([
        "--set",
        "certificate.enabled=false",
        "--wait",
        "--timeout",
        "3m",
    ]));
    // cainjector injects the webhook's CA once the webhook created it.
    eventually("cainjector to inject the webhook CA", WAIT, || {
        let bundle = jsonpath(
            &cp,
            "default",
            "validatingwebhookconfiguration/cert-manager-webhook",
            "{.webhooks[0].clientConfig.caBundle}",
        );
        (!bundle.is_empty())
            .then_some(())
            .ok_or_else(|| "caBundle still empty".to_string())
    });
    run_ok(helm4(&cp).args(["upgrade", "cm"]).arg(&chart).args([
        "--set",
        "certificate.enabled=true",
        "--wait",
    ]));
    eventually("the Certificate to be Ready", WAIT, || {
        let ready = jsonpath(
            &cp,
            "cert-manager",
            "certificate/demo",
            r#"{.status.conditions[?(@.type=="Ready")].status}"#,
        );
        (ready == "True").then_some(()).ok_or(ready)
    });
    let dir = &scratch.0;
    for key in ["tls.crt", "ca.crt"] {
        let b64 = jsonpath(
            &cp,
            "cert-manager",
            "secret/demo-tls",
            &format!("{{.data.{}}}", key.replace('.', "\\.")),
        );
        let pem = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64.trim())
            .expect("base64 certificate");
        std::fs::write(dir.join(key), pem).expect("write certificate");
    }
    let verified = run_ok(
        std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(dir.join("ca.crt"))
            .arg(dir.join("tls.crt")),
    );
    assert!(verified.contains(": OK"), "{verified}");
    let names = run_ok(
        std::process::Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(dir.join("tls.crt")),
    );
    assert!(names.contains("DNS:demo.cert-manager.svc"), "{names}");
}

fn pod_ready(cp: &ControlPlane, ns: &str, pod: &str) -> String {
    jsonpath(
        cp,
        ns,
        &format!("pod/{pod}"),
        r#"{.status.conditions[?(@.type=="Ready")].status}"#,
    )
}

#[test]
fn pod_mounting_a_missing_secret_waits_until_the_secret_exists() {
    let cp = ControlPlane::builder().pod_ready_delay("200ms").start();
    let scratch = Scratch::new("emulation-secret");
    let pod = scratch.0.join("pod.yaml");
    std::fs::write(
        &pod,
        r#"apiVersion: v1
kind: Pod
metadata: {name: waits, namespace: default}
spec:
  containers:
    - name: app
      image: registry.example/app:1.0
      env:
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: later, key: password}}
      volumeMounts: [{name: creds, mountPath: /creds}]
  volumes:
    - name: creds
      secret: {secretName: later}
"#,
    )
    .expect("write pod");
    run_ok(kubectl(&cp).arg("apply").arg("-f").arg(&pod));
    eventually("the kubelet-like waiting reason", WAIT, || {
        let reason = jsonpath(
            &cp,
            "default",
            "pod/waits",
            "{.status.containerStatuses[0].state.waiting.reason}",
        );
        (reason == "ContainerCreating").then_some(()).ok_or(reason)
    });
    // Many times the ready delay later it is still not Ready.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(pod_ready(&cp, "default", "waits"), "False");
    assert_eq!(
        jsonpath(&cp, "default", "pod/waits", "{.status.phase}"),
        "Pending"
    );
    run_ok(kubectl(&cp).args([
        "create",
        "secret",
        "generic",
        "later",
        "--from-literal=password=s3cret",
    ]));
    eventually("the pod to turn Ready", WAIT, || {
        let ready = pod_ready(&cp, "default", "waits");
        (ready == "True").then_some(()).ok_or(ready)
    });
    let ip = jsonpath(&cp, "default", "pod/waits", "{.status.podIP}");
    assert!(
        ip.starts_with("198.18."),
        "pod IP {ip} outside 198.18.0.0/15"
    );
}

#[test]
fn deployment_rolls_out_and_helm_install_wait_finishes() {
    let cp = ControlPlane::start();
    run_ok(
        helm4(&cp)
            .args(["install", "app"])
            .arg(fixture_chart("emulated-app"))
            .args(["--wait", "--wait-for-jobs", "--timeout", "2m"]),
    );
    run_ok(kubectl(&cp).args(["rollout", "status", "deploy/app-web", "--timeout=60s"]));
    assert_eq!(
        jsonpath(
            &cp,
            "default",
            "deploy/app-web",
            "{.status.availableReplicas}"
        ),
        "2"
    );
    assert_eq!(
        jsonpath(&cp, "default", "pvc/app-data", "{.status.phase}"),
        "Bound"
    );
    assert_eq!(
        jsonpath(
            &cp,
            "default",
            "job/app-migrate",
            r#"{.status.conditions[?(@.type=="Complete")].status}"#
        ),
        "True"
    );
    // The Service's endpoints are the pods' addresses and container port.
    let endpoints = get(
        &cp,
        &[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=app-web",
            "-o",
            "jsonpath={.items[*].endpoints[*].addresses[0]} {.items[*].ports[0].port}",
        ],
    );
    assert_eq!(
        endpoints.split_whitespace().count(),
        3,
        "two addresses and a port: {endpoints}"
    );
    assert!(endpoints.trim_end().ends_with(" 8080"), "{endpoints}");
}

#[test]
fn requests_beyond_node_capacity_stay_pending() {
    let cp = ControlPlane::builder().node_cpu("4").start();
    run_ok(
        helm4(&cp)
            .args(["install", "big"])
            .arg(fixture_chart("emulated-app"))
            .args(["--set", "replicas=1", "--set", "cpu=6"]),
    );
    eventually("the scheduler to report the pod does not fit", WAIT, || {
        let message = get(
            &cp,
            &[
                "get",
                "pods",
                "-l",
                "app=big-web",
                "-o",
                r#"jsonpath={.items[0].status.conditions[?(@.type=="PodScheduled")].message}"#,
            ],
        );
        message
            .contains("Insufficient cpu")
            .then_some(())
            .ok_or(message)
    });
    let err = run_fail(
        helm4(&cp)
            .args(["upgrade", "big"])
            .arg(fixture_chart("emulated-app"))
            .args(["--reuse-values", "--wait", "--timeout", "10s"]),
    );
    assert!(
        err.contains("context deadline exceeded") || err.contains("timed out"),
        "{err}"
    );
}

#[test]
fn conversion_webhook_converts_once_its_pod_is_ready() {
    let cp = ControlPlane::builder().pod_ready_delay("3s").start();
    let scratch = Scratch::new("emulation-conversion");
    let gadget = scratch.0.join("gadget.yaml");
    std::fs::write(
        &gadget,
        "apiVersion: conversion.kubeflow-helm.example/v1alpha1\n\
         kind: Gadget\nmetadata: {name: g1, namespace: conversion}\nspec: {size: 3}\n",
    )
    .expect("write gadget");
    run_ok(
        helm4(&cp)
            .args(["install", "conv", "-n", "conversion", "--create-namespace"])
            .arg(fixture_chart("conversion-webhook")),
    );
    // Storing v1alpha1 needs a conversion to v1: impossible until the pod is Ready.
    let err = run_fail(kubectl(&cp).arg("create").arg("-f").arg(&gadget));
    assert!(
        err.contains(r#"no endpoints available for service "gadget-conversion""#),
        "{err}"
    );
    run_ok(kubectl(&cp).args([
        "-n",
        "conversion",
        "rollout",
        "status",
        "deploy/gadget-conversion",
        "--timeout=60s",
    ]));
    // The component manages its own certificate: its caBundle arrives when it is Ready.
    eventually("the conversion webhook to convert", WAIT, || {
        let out = kubectl(&cp)
            .arg("create")
            .arg("-f")
            .arg(&gadget)
            .output()
            .expect("kubectl");
        out.status
            .success()
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
    });
    let as_v1 = jsonpath(
        &cp,
        "conversion",
        "gadgets.v1.conversion.kubeflow-helm.example/g1",
        "{.apiVersion} {.spec.size}",
    );
    assert_eq!(as_v1, "conversion.kubeflow-helm.example/v1 3");
    let as_v1alpha1 = jsonpath(
        &cp,
        "conversion",
        "gadgets.v1alpha1.conversion.kubeflow-helm.example/g1",
        "{.apiVersion} {.spec.size}",
    );
    assert_eq!(as_v1alpha1, "conversion.kubeflow-helm.example/v1alpha1 3");
}

#[test]
fn kubectl_hook_job_runs_with_its_service_accounts_rbac() {
    let cp = ControlPlane::start();
    run_ok(
        helm4(&cp)
            .args(["install", "granted"])
            .arg(fixture_chart("kubectl-hook"))
            .args(["--wait", "--timeout", "2m"]),
    );
    let made_by = jsonpath(&cp, "default", "configmap/made-by-hook", "{.data.pod}");
    assert!(made_by.starts_with("granted-hook-"), "{made_by}");

    run_ok(kubectl(&cp).args(["create", "namespace", "denied"]));
    let err = run_fail(
        helm4(&cp)
            .args(["install", "denied", "-n", "denied"])
            .arg(fixture_chart("kubectl-hook"))
            .args(["--set", "rbac=false", "--wait", "--timeout", "2m"]),
    );
    assert!(err.contains("denied-hook"), "{err}");
    let log = std::fs::read_dir(cp.dir().join("emulator/logs"))
        .expect("kubectl container logs")
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("denied_"))
        .map(|e| std::fs::read_to_string(e.path()).expect("log"))
        .expect("a log of the denied hook");
    assert!(log.contains("forbidden"), "{log}");
}
