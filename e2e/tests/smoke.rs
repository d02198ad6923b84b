//! Proves the stack end to end: a real control plane, and the fixture chart
//! `tiny` through install → upgrade → rollback → uninstall with Helm 4 and with
//! Helm 3, both through `--post-renderer kf-post` (Helm 4: the postrenderer/v1
//! plugin; Helm 3: the binary), checked with kubectl after each
//! step. Each Helm major gets its own control plane, so the two tests also
//! prove that clusters run side by side.

use std::process::Command;
use std::time::Duration;

use e2e::{eventually, fixture_chart, kubectl, run_fail, run_ok, ControlPlane};

const NS: &str = "smoke";
const RELEASE: &str = "tiny";
const CRD: &str = "widgets.tiny.kubeflow-helm.example";

#[test]
fn helm4_lifecycle_through_kf_post_plugin() {
    let cp = ControlPlane::start();
    e2e::install_kf_post_plugin(&cp);
    lifecycle(&cp, &|| e2e::helm4(&cp), &["--post-renderer", "kf-post"]);
}

#[test]
fn helm3_lifecycle_through_kf_post() {
    let cp = ControlPlane::start();
    lifecycle(&cp, &|| e2e::helm3(&cp), &["--post-renderer", "kf-post"]);
}

fn lifecycle(cp: &ControlPlane, helm: &dyn Fn() -> Command, render_args: &[&str]) {
    let chart = fixture_chart("tiny");
    let get = |args: &[&str]| run_ok(kubectl(cp).args(["-n", NS]).args(args));
    let jsonpath =
        |object: &str, path: &str| get(&["get", object, "-o", &format!("jsonpath={path}")]);
    let greeting_everywhere = |expected: &str| {
        assert_eq!(
            jsonpath("configmap/tiny-config", "{.data.greeting}"),
            expected
        );
        assert_eq!(
            jsonpath(
                "deployment/tiny",
                "{.spec.template.spec.containers[0].env[?(@.name=='GREETING')].value}"
            ),
            expected
        );
    };
    let revision = || {
        let status = run_ok(helm().args(["status", RELEASE, "-n", NS, "-o", "json"]));
        let status: serde_json::Value = serde_json::from_str(&status).expect("helm status -o json");
        (
            status["version"].as_i64().expect("release version"),
            status["info"]["status"].as_str().map(String::from),
        )
    };

    // install
    run_ok(
        helm()
            .args(["install", RELEASE])
            .arg(&chart)
            .args(["-n", NS, "--create-namespace"])
            .args(render_args),
    );
    greeting_everywhere("hello");
    assert_eq!(jsonpath("service/tiny", "{.spec.ports[0].port}"), "80");
    assert_eq!(revision(), (1, Some("deployed".into())));
    // The CRD is served (Established) and its schema is enforced by the API server.
    eventually("the CRD to be Established", Duration::from_secs(30), || {
        let established = jsonpath(
            &format!("crd/{CRD}"),
            "{.status.conditions[?(@.type=='Established')].status}",
        );
        (established == "True").then_some(()).ok_or(established)
    });
    let widget = cp.dir().join("widget.yaml");
    std::fs::write(
        &widget,
        "apiVersion: tiny.kubeflow-helm.example/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 0}\n",
    )
    .expect("write widget.yaml");
    let rejected = run_fail(kubectl(cp).args(["-n", NS, "apply", "-f"]).arg(&widget));
    assert!(
        rejected.contains("spec.size"),
        "rejection names the field: {rejected}"
    );
    // The controller-manager acts on what Helm created.
    eventually(
        "the Deployment's ReplicaSet",
        Duration::from_secs(30),
        || {
            let rs = get(&[
                "get",
                "replicasets",
                "-l",
                "app.kubernetes.io/instance=tiny",
                "-o",
                "name",
            ]);
            (!rs.trim().is_empty())
                .then_some(())
                .ok_or("no ReplicaSet yet".to_string())
        },
    );

    // upgrade: the changed value reaches the objects
    run_ok(
        helm()
            .args(["upgrade", RELEASE])
            .arg(&chart)
            .args(["-n", NS, "--set", "greeting=bonjour"])
            .args(render_args),
    );
    greeting_everywhere("bonjour");
    assert_eq!(revision(), (2, Some("deployed".into())));

    // rollback: revision 1's value is back, as a new revision 3
    run_ok(helm().args(["rollback", RELEASE, "1", "-n", NS]));
    greeting_everywhere("hello");
    assert_eq!(revision(), (3, Some("deployed".into())));

    // uninstall: the release's objects are gone, the CRD marked `keep` stays
    run_ok(helm().args(["uninstall", RELEASE, "-n", NS]));
    for object in ["configmap/tiny-config", "deployment/tiny", "service/tiny"] {
        let left = get(&["get", object, "--ignore-not-found", "-o", "name"]);
        assert_eq!(left.trim(), "", "{object} is still there after uninstall");
    }
    assert_eq!(
        run_ok(kubectl(cp).args(["get", &format!("crd/{CRD}"), "-o", "name"])).trim(),
        format!("customresourcedefinition.apiextensions.k8s.io/{CRD}")
    );
    assert_eq!(run_ok(helm().args(["list", "-n", NS, "-q"])).trim(), "");
    // The garbage collector removes what the Deployment owned.
    eventually(
        "the ReplicaSet to be garbage-collected",
        Duration::from_secs(60),
        || {
            let rs = get(&[
                "get",
                "replicasets",
                "-l",
                "app.kubernetes.io/instance=tiny",
                "-o",
                "name",
            ]);
            rs.trim().is_empty().then_some(()).ok_or(rs)
        },
    );
}
