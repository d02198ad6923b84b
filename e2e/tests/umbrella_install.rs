//! The `kubeflow` umbrella on a real API server with Helm 4 and the kf-post
//! post-renderer: every preset installs, release Secret sizes stay under the
//! 1 MiB limit, and upgrade / rollback / uninstall do what docs/upgrades.md
//! says. Sizes and timings are printed (run with `--nocapture` to see them).

mod umbrella_common;

use std::collections::BTreeSet;

use base64::Engine;
use std::time::Instant;

use umbrella_common::*;

const MIB: usize = 1024 * 1024;

/// `helm install kubeflow <umbrella> ARGS… --post-renderer …` on a fresh
/// cluster (Helm installs the CRDs from the component charts' crds/),
/// returning the wall time in seconds.
fn install(cluster: &Cluster, args: &[&str]) -> f64 {
    let start = Instant::now();
    e2e::run_ok(
        cluster
            .helm()
            .args(["install", "kubeflow"])
            .arg(umbrella_chart())
            .args(args)
            .args(["--post-renderer", TEST_POST_RENDERER, "--timeout", "10m"]),
    );
    start.elapsed().as_secs_f64()
}

fn deployments_in_manifest(manifest: &str) -> BTreeSet<String> {
    manifest_objects(manifest)
        .into_keys()
        .filter(|(kind, _, _)| kind == "Deployment")
        .map(|(_, ns, name)| format!("{ns}/{name}"))
        .collect()
}

/// Installs one preset on its own control plane; prints and checks the size.
fn preset_installs(name: &str, extra: &[&str], limit: usize) -> Cluster {
    let cluster = Cluster::start();
    let file = preset(name);
    let mut args = vec!["-f", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let secs = install(&cluster, &args);

    let status = e2e::run_ok(cluster.helm().args(["status", "kubeflow", "-o", "json"]));
    assert!(
        status.contains("\"status\":\"deployed\""),
        "{name}: {status}"
    );
    let manifest = e2e::run_ok(cluster.helm().args(["get", "manifest", "kubeflow"]));
    assert!(
        !manifest.contains("kind: PostRenderConfig"),
        "{name}: the kf-post config reached the cluster"
    );
    // Every Deployment of the release exists on the API server (and no other).
    let want = deployments_in_manifest(&manifest);
    assert!(!want.is_empty(), "{name}: no Deployments rendered");
    assert_eq!(
        cluster.names("deployments"),
        want,
        "{name}: Deployments on the cluster"
    );

    let (object, payload) = cluster.release_secret_size("kubeflow", 1);
    println!(
        "umbrella size: preset={name} objects={} release-secret={object} B ({:.1}% of 1 MiB) payload={payload} B install={secs:.1}s",
        manifest_objects(&manifest).len(),
        object as f64 * 100.0 / MIB as f64,
    );
    assert!(
        object < limit,
        "{name}: release Secret {object} B >= limit {limit} B"
    );
    cluster
}

#[test]
fn preset_full_installs_with_headroom() {
    // Headroom: a quarter of the limit left for growth.
    let _cluster = preset_installs("full", &[], MIB * 3 / 4);
}

#[test]
fn preset_notebooks_trainer_installs() {
    let _cluster = preset_installs("notebooks-trainer", &[], MIB);
}

#[test]
fn preset_pipelines_katib_installs() {
    let _cluster = preset_installs("pipelines-katib", &[], MIB);
}

#[test]
fn preset_kserve_edge_installs() {
    let _cluster = preset_installs("kserve-edge", &[], MIB);
}

/// The Secret keys `production` generates: (namespace, Secret, key).
const GENERATED: &[(&str, &str, &str)] = &[
    ("oauth2-proxy", "oauth2-proxy-h675gf55ht", "cookie-secret"),
    ("kubeflow", "katib-mysql-secrets", "MYSQL_ROOT_PASSWORD"),
    ("kubeflow", "mysql-secret", "password"),
    ("kubeflow", "mlpipeline-minio-artifact", "accesskey"),
    ("kubeflow", "mlpipeline-minio-artifact", "secretkey"),
];

fn secret_value(cluster: &Cluster, ns: &str, name: &str, key: &str) -> String {
    let jsonpath = format!("jsonpath={{.data.{}}}", key.replace('.', "\\."));
    e2e::run_ok(
        cluster
            .kubectl()
            .args(["get", "secret", name, "-n", ns, "-o", &jsonpath]),
    )
}

#[test]
fn preset_production_installs_and_keeps_generated_credentials_across_upgrades() {
    let cluster = preset_installs("production", PRODUCTION_INPUTS, MIB);
    let snapshot = || -> Vec<String> {
        GENERATED
            .iter()
            .map(|(ns, name, key)| secret_value(&cluster, ns, name, key))
            .collect()
    };
    let first = snapshot();
    for ((ns, name, key), value) in GENERATED.iter().zip(&first) {
        assert!(!value.is_empty(), "{ns}/{name} {key} is empty");
        assert!(
            !DEMO_CREDENTIALS.contains(&value.as_str()),
            "{ns}/{name} {key} holds upstream's demo value"
        );
    }
    // The values the user gave are the ones Dex and oauth2-proxy share.
    let oidc = PRODUCTION_INPUTS[5].split_once('=').unwrap().1;
    let oidc_b64 = base64::engine::general_purpose::STANDARD.encode(oidc);
    assert_eq!(
        secret_value(&cluster, "auth", "dex-oidc-client", "OIDC_CLIENT_SECRET"),
        oidc_b64
    );
    assert_eq!(
        secret_value(
            &cluster,
            "oauth2-proxy",
            "oauth2-proxy-h675gf55ht",
            "client-secret"
        ),
        oidc_b64
    );
    // Two upgrades with the user's values (the second changes a value elsewhere):
    // the generated credentials are looked up, not generated again.
    let prod = preset("production");
    for (revision, extra) in [
        (2, "katib.workloads.katibUi.replicas=2"),
        (3, "katib.workloads.katibUi.replicas=1"),
    ] {
        e2e::run_ok(
            cluster
                .helm()
                .args(["upgrade", "kubeflow"])
                .arg(umbrella_chart())
                .arg("-f")
                .arg(&prod)
                .args(PRODUCTION_INPUTS)
                .args([
                    "--set",
                    extra,
                    "--post-renderer",
                    TEST_POST_RENDERER,
                    "--timeout",
                    "10m",
                ]),
        );
        assert_eq!(
            snapshot(),
            first,
            "revision {revision} changed a generated credential"
        );
    }
    let history = e2e::run_ok(cluster.helm().args(["history", "kubeflow", "-o", "json"]));
    assert_eq!(history.matches("\"revision\"").count(), 3, "{history}");
    // Uninstall keeps the Secrets holding generated values (like the database
    // volumes they unlock); a reinstall adopts and keeps them. It needs
    // --take-ownership (docs/upgrades.md#reinstalling-after-helm-uninstall):
    // Kubernetes' clusterrole-aggregation-controller force-applies the rules of
    // aggregated ClusterRoles and so re-creates the ones Helm just deleted,
    // without Helm's ownership metadata.
    e2e::run_ok(
        cluster
            .helm()
            .args(["uninstall", "kubeflow", "--timeout", "10m"]),
    );
    assert_eq!(
        snapshot(),
        first,
        "uninstall deleted or changed a generated credential"
    );
    install(&cluster, &{
        let mut args = vec!["--take-ownership", "-f", prod.to_str().unwrap()];
        args.extend_from_slice(PRODUCTION_INPUTS);
        args
    });
    assert_eq!(snapshot(), first, "a reinstall generated new credentials");
}

#[test]
fn a_typo_fails_helm_install_with_the_key_named() {
    let cluster = Cluster::start();
    let err = e2e::run_fail(
        cluster
            .helm()
            .args(["install", "kubeflow"])
            .arg(umbrella_chart())
            .args([
                "--set",
                "katib.enabeld=true",
                "--post-renderer",
                TEST_POST_RENDERER,
            ]),
    );
    assert!(err.contains("/katib") && err.contains("enabeld"), "{err}");
    let releases = e2e::run_ok(cluster.helm().args(["list", "-q"]));
    assert!(
        releases.trim().is_empty(),
        "a release was created: {releases}"
    );
}

/// Upgrade enabling Katib adds only Katib's objects; `helm upgrade --set
/// global.istio.mode=ambient` re-integrates through kf-post; rollback restores
/// the first revision's objects; uninstall keeps CRDs and PVCs.
#[test]
fn upgrade_rollback_uninstall_lifecycle() {
    let cluster = Cluster::start();
    let file = preset("notebooks-trainer");
    let base = [
        "-f",
        file.to_str().unwrap(),
        "--set",
        "global.profiles[0].name=team-a",
        "--set",
        "global.profiles[0].owner=alice@example.com",
    ];
    install(&cluster, &base);
    // kf-post turned global.profiles into a Profile.
    let owner = e2e::run_ok(cluster.kubectl().args([
        "get",
        "profile",
        "team-a",
        "-o",
        "jsonpath={.spec.owner.name}",
    ]));
    assert_eq!(owner, "alice@example.com");
    let rev1 = e2e::run_ok(cluster.helm().args(["get", "manifest", "kubeflow"]));
    let rev1_objects = manifest_objects(&rev1);

    // Revision 2: + Katib. Its CRDs first (Helm never installs crds/ on upgrade).
    let mut with_katib = base.to_vec();
    with_katib.extend(["--set", "katib.enabled=true"]);
    cluster.apply_crds(umbrella_chart(), &with_katib);
    e2e::run_ok(
        cluster
            .helm()
            .args(["upgrade", "kubeflow"])
            .arg(umbrella_chart())
            .args(&with_katib)
            .args(["--post-renderer", TEST_POST_RENDERER, "--timeout", "10m"]),
    );
    let rev2 = e2e::run_ok(cluster.helm().args(["get", "manifest", "kubeflow"]));
    let rev2_objects = manifest_objects(&rev2);
    for (key, doc) in &rev1_objects {
        let now = rev2_objects
            .get(key)
            .unwrap_or_else(|| panic!("upgrade removed {key:?}"));
        assert_eq!(now.text, doc.text, "enabling katib changed {key:?}");
    }
    let added: Vec<_> = rev2_objects
        .keys()
        .filter(|k| !rev1_objects.contains_key(k))
        .collect();
    assert!(!added.is_empty(), "enabling katib added nothing");
    for key in &added {
        let source = &rev2_objects[*key].source;
        assert!(
            source.starts_with("kubeflow/charts/katib/"),
            "{key:?} added from {source:?}"
        );
    }
    let deployments = cluster.names("deployments");
    assert!(
        deployments.contains("kubeflow/katib-controller"),
        "{deployments:?}"
    );
    assert!(cluster.names("pvc").contains("kubeflow/katib-mysql"));

    // Revision 3: ambient mode, the kf-post config changes with the values.
    let ambient = [
        "--reuse-values",
        "--set",
        "global.istio.mode=ambient",
        "--set",
        "istio.variant=ambient-oauth2-proxy",
    ];
    e2e::run_ok(
        cluster
            .helm()
            .args(["upgrade", "kubeflow"])
            .arg(umbrella_chart())
            .args(ambient)
            .args(["--post-renderer", TEST_POST_RENDERER, "--timeout", "10m"]),
    );
    let labels = e2e::run_ok(cluster.kubectl().args([
        "get",
        "namespace",
        "kubeflow",
        "-o",
        "jsonpath={.metadata.labels}",
    ]));
    assert!(
        labels.contains("\"istio.io/dataplane-mode\":\"ambient\""),
        "{labels}"
    );
    assert!(!labels.contains("istio-injection"), "{labels}");

    // Revision 4 = rollback to 1: Katib's objects go, the PVC stays (keep).
    e2e::run_ok(
        cluster
            .helm()
            .args(["rollback", "kubeflow", "1", "--timeout", "10m"]),
    );
    let rev4 = e2e::run_ok(cluster.helm().args(["get", "manifest", "kubeflow"]));
    assert_eq!(
        manifest_objects(&rev4).keys().collect::<Vec<_>>(),
        rev1_objects.keys().collect::<Vec<_>>(),
        "rollback did not restore revision 1's objects"
    );
    assert_eq!(cluster.names("deployments"), deployments_in_manifest(&rev1));
    let labels = e2e::run_ok(cluster.kubectl().args([
        "get",
        "namespace",
        "kubeflow",
        "-o",
        "jsonpath={.metadata.labels}",
    ]));
    assert!(
        labels.contains("\"istio-injection\":\"enabled\""),
        "rollback kept ambient: {labels}"
    );
    assert!(
        cluster.names("pvc").contains("kubeflow/katib-mysql"),
        "rollback deleted a kept PVC"
    );

    // Uninstall: release objects go, CRDs and PVCs stay.
    let crds = cluster.names("crd");
    e2e::run_ok(
        cluster
            .helm()
            .args(["uninstall", "kubeflow", "--timeout", "10m"]),
    );
    assert!(
        cluster.names("deployments").is_empty(),
        "Deployments left after uninstall"
    );
    assert_eq!(cluster.names("crd"), crds, "uninstall changed CRDs");
    assert!(
        cluster.names("pvc").contains("kubeflow/katib-mysql"),
        "uninstall deleted a kept PVC"
    );
}

/// The test post-renderer is the project's kf-post Helm 4 plugin
/// (post-renderer/helm-plugin) plus the webhook failurePolicy flip, nothing else.
#[test]
fn test_post_renderer_is_the_kf_post_plugin_plus_the_webhook_flip() {
    let cluster = Cluster::start();
    e2e::run_ok(
        cluster
            .helm()
            .args(["plugin", "install"])
            .arg(repo_root().join("post-renderer/helm-plugin")),
    );
    let file = preset("full");
    let render = |post_renderer: &str| {
        e2e::run_ok(
            cluster
                .helm()
                .args(["template", "kubeflow"])
                .arg(umbrella_chart())
                .args([
                    "-f",
                    file.to_str().unwrap(),
                    "--post-renderer",
                    post_renderer,
                ]),
        )
    };
    let real = render("kf-post");
    let test = render(TEST_POST_RENDERER);
    assert!(
        !real.contains("kind: PostRenderConfig"),
        "kf-post left its config in the stream"
    );
    let (real_lines, test_lines): (Vec<&str>, Vec<&str>) =
        (real.lines().collect(), test.lines().collect());
    assert_eq!(real_lines.len(), test_lines.len());
    let mut flipped = 0;
    for (r, t) in real_lines.iter().zip(&test_lines) {
        if r != t {
            assert_eq!(
                (r.trim(), t.trim()),
                ("failurePolicy: Fail", "failurePolicy: Ignore"),
                "outputs differ beyond the webhook flip"
            );
            flipped += 1;
        }
    }
    assert!(
        flipped > 0,
        "no webhook with failurePolicy: Fail in the full preset"
    );
    println!("umbrella: test post-renderer flipped {flipped} webhook failurePolicy lines");
}
