//! Ordering audit (`kf-audit order`, issue 14) of every preset rendered the way
//! a user renders it: `helm template kubeflow charts/kubeflow -f
//! presets/<p>.yaml --post-renderer kf-post` with Helm 4 and the kf-post
//! plugin of this tree. Every object a `failurePolicy: Fail` webhook of the
//! release intercepts, and every custom resource whose CRD is in the release,
//! must be sequenced after them, or a fresh install fails.

mod common;
use e2e::umbrella as umbrella_common;

use audit::order::{self, Options, Report};
use common::{preset_args, preset_names};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// A Helm 4 home of this test process with the kf-post plugin installed.
fn helm_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        // Next to the umbrella copy: the same per-process scratch directory.
        let home = umbrella_common::umbrella_chart()
            .parent()
            .and_then(Path::parent)
            .expect("the umbrella copy is <scratch>/charts/kubeflow")
            .join("order-helm-home");
        let mut install = helm(&home);
        install
            .args(["plugin", "install"])
            .arg(umbrella_common::repo_root().join("post-renderer/helm-plugin"));
        umbrella_common::run_ok(&mut install);
        home
    })
}

fn helm(home: &Path) -> Command {
    let mut cmd = umbrella_common::helm_in(home);
    // Helm 4.3.1 installs plugins into $HELM_DATA_HOME/plugins whatever
    // HELM_PLUGINS says, and looks them up in HELM_PLUGINS.
    cmd.env("HELM_PLUGINS", home.join("data/plugins"))
        .env("PATH", e2e::kf_post_path());
    cmd
}

/// `helm template kubeflow <umbrella> <preset args> EXTRA… --post-renderer kf-post`.
fn render(preset: &str, extra: &[&str]) -> String {
    let mut cmd = helm(helm_home());
    cmd.args(["template", "kubeflow"])
        .arg(umbrella_common::umbrella_chart())
        .args(preset_args(preset))
        .args(extra)
        .args(["--post-renderer", "kf-post"]);
    umbrella_common::run_ok(&mut cmd)
}

fn options() -> Options {
    Options {
        release_namespace: "kubeflow".into(),
        sequencing: None,
    }
}

/// `preset: summary` and, per cause and kind, how many violations.
fn findings(preset: &str, report: &Report) -> String {
    let mut by_cause: BTreeMap<(String, String), usize> = BTreeMap::new();
    for v in &report.violations {
        let kind = v.object.split(' ').next().unwrap_or("").to_string();
        *by_cause.entry((v.cause.clone(), kind)).or_default() += 1;
    }
    let mut out = format!("{preset}: {}", report.to_string().lines().last().unwrap());
    for ((cause, kind), n) in by_cause {
        out += &format!("\n    {n} x {kind} <- {cause}");
    }
    out
}

#[test]
fn every_preset_applies_intercepted_objects_and_custom_resources_after_what_admits_them() {
    let mut summaries = Vec::new();
    let mut failing = Vec::new();
    for preset in preset_names() {
        let objects =
            audit::parse(&render(&preset, &[])).unwrap_or_else(|e| panic!("{preset}: {e}"));
        let report = order::audit(&objects, &options()).unwrap_or_else(|e| panic!("{preset}: {e}"));
        summaries.push(findings(&preset, &report));
        if preset == "full" {
            // What must be sequenced exists, so 0 violations is a finding and
            // not a matcher that sees nothing.
            assert!(
                report.intercepted > 0 && report.webhooks > 0 && report.custom_resources > 0,
                "full: the audit found nothing to sequence: {report}"
            );
        }
        if !report.violations.is_empty() {
            failing.push(format!("{preset}:\n{report}"));
        }
    }
    println!("{}", summaries.join("\n"));
    assert!(
        failing.is_empty(),
        "objects a fresh cluster rejects (applied together with the webhook or CRD they need):\n{}\n\n{}",
        summaries.join("\n"),
        failing.join("\n")
    );
}

#[test]
fn argocd_mode_orders_the_same_objects_by_sync_waves() {
    let objects =
        audit::parse(&render("full", &["--set", "global.sequencing.mode=argocd"])).unwrap();
    assert_eq!(
        order::Sequencing::detect(&objects),
        order::Sequencing::ArgoCd
    );
    let report = order::audit(&objects, &options()).unwrap();
    println!("{}", findings("full (argocd)", &report));
    assert!(report.violations.is_empty(), "full (argocd):\n{report}");
    // Helm ignores sync waves: applied by `helm install` the same stream fails.
    let as_helm = order::audit(
        &objects,
        &Options {
            sequencing: Some(order::Sequencing::Helm),
            ..options()
        },
    )
    .unwrap();
    assert!(
        as_helm.violations.len() >= report.custom_resources,
        "full (argocd) judged as Helm: {}",
        as_helm.to_string().lines().last().unwrap()
    );
}

/// A webhook served by a Deployment of the release that intercepts every
/// ConfigMap, and one ConfigMap with the given annotations.
fn hand_written(annotations: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: guard}}
webhooks:
- name: configmaps.guard.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {{service: {{name: guard, namespace: guard-system, path: /validate}}}}
  rules:
  - {{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}}
---
apiVersion: v1
kind: Service
metadata: {{name: guard, namespace: guard-system}}
spec:
  selector: {{app: guard}}
  ports: [{{port: 443, targetPort: 9443}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: guard, namespace: guard-system}}
spec:
  selector: {{matchLabels: {{app: guard}}}}
  template:
    metadata: {{labels: {{app: guard}}}}
    spec: {{containers: [{{name: server, image: guard:1}}]}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: apps
  annotations: {annotations}
data: {{a: b}}
"
    )
}

/// `kf-audit order ARGS` with `stdin`: (exit code, stdout, stderr).
fn kf_audit(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kf-audit"))
        .arg("order")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kf-audit");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn an_object_applied_with_the_webhook_that_intercepts_it_is_the_one_violation() {
    let regular = hand_written("{}");
    let (code, out, err) = kf_audit(&["-"], &regular);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "document 3 ConfigMap apps/settings: webhook guard/configmaps.guard.example.com (ValidatingWebhookConfiguration): \
             on install, upgrade and rollback: regular is not after ValidatingWebhookConfiguration guard (regular), \
             Service guard-system/guard (regular), Deployment guard-system/guard (regular)\n\
             order: 1 objects intercepted by 1 webhooks, 0 custom resources, 1 violations\n",
            ""
        )
    );
    // The same stream from a file.
    let file = std::env::temp_dir().join(format!("kfh-order-{}.yaml", std::process::id()));
    std::fs::write(&file, &regular).unwrap();
    let (code, from_file, _) = kf_audit(&[file.to_str().unwrap()], "");
    std::fs::remove_file(&file).unwrap();
    assert_eq!((code, from_file), (1, out));
}

#[test]
fn the_same_object_as_a_post_install_upgrade_rollback_hook_is_no_violation() {
    let hooked = hand_written(
        "{helm.sh/hook: 'post-install,post-upgrade,post-rollback', helm.sh/hook-weight: '5'}",
    );
    let (code, out, err) = kf_audit(&[], &hooked);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "order: 1 objects intercepted by 1 webhooks, 0 custom resources, 0 violations\n",
            ""
        )
    );
    // In Argo CD a later sync wave of the regular objects does the same.
    let waved = hand_written("{argocd.argoproj.io/sync-wave: '1'}");
    let (code, out, _) = kf_audit(&[], &waved);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "order: 1 objects intercepted by 1 webhooks, 0 custom resources, 0 violations\n"
        )
    );
}

#[test]
fn bad_input_is_an_error_naming_the_document_and_field() {
    let bad = hand_written("{helm.sh/hook: post-install, helm.sh/hook-weight: heavy}");
    let (code, out, err) = kf_audit(&[], &bad);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "kf-audit order: document 3 (ConfigMap apps/settings): annotation helm.sh/hook-weight: \"heavy\" is not an integer\n"
    );
    let (code, _, err) = kf_audit(&["--sequencing", "flux"], "");
    assert_eq!(code, 2);
    assert!(err.contains("\"flux\" is not helm or argocd"), "{err}");
}
