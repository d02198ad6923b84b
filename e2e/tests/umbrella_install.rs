//! The `kubeflow` umbrella's lifecycle on the emulated cluster with Helm 4 and
//! the kf-post post-renderer, as docs/upgrades.md says: a typo fails the
//! install naming the key; the KEP's `helm upgrade --reuse-values --set
//! katib.enabled=true` brings Katib with its CRDs; rollback restores and
//! prunes; uninstall keeps CRDs, PVCs and custom resources; production keeps
//! its generated credentials. (Every preset's one-command install is
//! tests/one_command.rs.)

use e2e::umbrella as umbrella_common;

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::Value;

use umbrella_common::*;

/// `helm install kubeflow <umbrella> ARGS… --post-renderer kf-post --wait`.
fn install(cluster: &Cluster, args: &[&str]) {
    e2e::run_ok(
        cluster
            .helm()
            .args(["install", "kubeflow"])
            .arg(umbrella_chart())
            .args(args)
            .args(KF_POST_WAIT),
    );
}

fn deployments_in_manifest(manifest: &str) -> BTreeSet<String> {
    manifest_objects(manifest)
        .into_keys()
        .filter(|(kind, _, _)| kind == "Deployment")
        .map(|(_, ns, name)| format!("{ns}/{name}"))
        .collect()
}

/// The sequenced objects on the cluster that belong to the release, as
/// (resource, namespace/name, revision label), for the kinds in `resources`.
fn sequenced_on_cluster(
    cluster: &Cluster,
    resources: &BTreeSet<String>,
) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for resource in resources {
        let list = e2e::run_ok(cluster.kubectl().args([
            "get",
            resource,
            "--all-namespaces",
            "-l",
            "helm.kubeflow.org/sequenced-by=kubeflow",
            "-o",
            "json",
        ]));
        let list: Value = serde_json::from_str(&list).unwrap();
        for item in list["items"].as_array().unwrap() {
            let meta = &item["metadata"];
            out.insert((
                resource.clone(),
                format!(
                    "{}/{}",
                    meta["namespace"].as_str().unwrap_or(""),
                    meta["name"].as_str().unwrap()
                ),
                meta["labels"]["helm.kubeflow.org/revision"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ));
        }
    }
    out
}

/// The resources ("kind.group") of the non-Job hooks of the release's
/// current revision.
fn hook_resources(cluster: &Cluster) -> BTreeSet<String> {
    let hooks = e2e::run_ok(cluster.helm().args(["get", "hooks", "kubeflow"]));
    let mut out = BTreeSet::new();
    for v in e2e::yaml::objects::<serde_yaml::Value>(&hooks) {
        let (Some(api_version), Some(kind)) = (v["apiVersion"].as_str(), v["kind"].as_str()) else {
            continue;
        };
        if kind == "Job" {
            continue;
        }
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        out.insert(format!("{}.{group}", kind.to_lowercase()));
    }
    out
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
    let cluster = Cluster::start();
    let prod = preset("production");
    install(&cluster, &{
        let mut args = vec!["-f", prod.to_str().unwrap()];
        args.extend_from_slice(PRODUCTION_INPUTS);
        args
    });
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
    for (revision, extra) in [(2, "katib.ui.replicas=2"), (3, "katib.ui.replicas=1")] {
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
                    POST_RENDERER,
                    "--wait",
                    "--timeout",
                    "15m",
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
                POST_RENDERER,
            ]),
    );
    assert!(err.contains("/katib") && err.contains("enabeld"), "{err}");
    let releases = e2e::run_ok(cluster.helm().args(["list", "-q"]));
    assert!(
        releases.trim().is_empty(),
        "a release was created: {releases}"
    );
}

/// KEP 831's lifecycle: install; `helm upgrade --reuse-values --set
/// katib.enabled=true` adds only Katib, CRDs included; `helm upgrade --set
/// global.istio.mode=ambient` re-integrates through kf-post; `helm rollback
/// kubeflow 1` restores revision 1's objects and prunes the sequenced objects
/// it does not have; uninstall removes the release and its sequenced objects
/// but keeps CRDs, PVCs and the users' custom resources.
#[test]
fn upgrade_rollback_uninstall_lifecycle() {
    let cluster = Cluster::start();
    let file = preset("notebooks-trainer");
    install(
        &cluster,
        &[
            "-f",
            file.to_str().unwrap(),
            "--set",
            "global.profiles[0].name=team-a",
            "--set",
            "global.profiles[0].owner=alice@example.com",
        ],
    );
    // The chart turned global.profiles into a Profile (a sequenced object).
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
    let rev1_hooks = hook_resources(&cluster);
    let crds_before = cluster.names("crd");
    // The PodDefault webhook's serving certificate, made by Helm on install.
    let webhook_cert = || secret_value(&cluster, "kubeflow", "webhook-certs", "tls.crt");
    let cert = webhook_cert();
    assert!(!cert.is_empty(), "no Helm-made webhook certificate");

    // Revision 2: + Katib, one command, CRDs included.
    e2e::run_ok(
        cluster
            .helm()
            .args(["upgrade", "kubeflow"])
            .arg(umbrella_chart())
            .args(["--reuse-values", "--set", "katib.enabled=true"])
            .args(KF_POST_WAIT),
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
    let crds = cluster.names("crd");
    for crd in [
        "experiments.kubeflow.org",
        "suggestions.kubeflow.org",
        "trials.kubeflow.org",
    ] {
        // `names` gives namespace/name; a CRD has no namespace.
        let crd = format!("/{crd}");
        assert!(
            crds.contains(&crd),
            "upgrade did not install Katib's CRD {crd}: {crds:?}"
        );
        assert!(!crds_before.contains(&crd), "{crd} was there before Katib");
    }
    let deployments = cluster.names("deployments");
    assert!(
        deployments.contains("kubeflow/katib-controller"),
        "{deployments:?}"
    );
    assert!(cluster.names("pvc").contains("kubeflow/katib-mysql"));
    assert_eq!(
        webhook_cert(),
        cert,
        "the upgrade rotated a webhook certificate"
    );
    // Every sequenced object now carries revision 2 (applied in place).
    let all_hooks: BTreeSet<String> = rev1_hooks
        .union(&hook_resources(&cluster))
        .cloned()
        .collect();
    let rev2_sequenced = sequenced_on_cluster(&cluster, &all_hooks);
    assert!(!rev2_sequenced.is_empty());
    for (resource, object, revision) in &rev2_sequenced {
        assert_eq!(
            revision, "2",
            "{resource} {object} not applied by revision 2"
        );
    }

    // Revision 3: ambient mode, the kf-post config changes with the values.
    e2e::run_ok(
        cluster
            .helm()
            .args(["upgrade", "kubeflow"])
            .arg(umbrella_chart())
            .args([
                "--reuse-values",
                "--set",
                "global.istio.mode=ambient",
                "--set",
                "istio.variant=ambient-oauth2-proxy",
            ])
            .args(KF_POST_WAIT),
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

    // A user's own custom resource, which no uninstall may touch.
    let user_cr = "apiVersion: kubeflow.org/v1alpha1\nkind: PodDefault\nmetadata: {name: mine, namespace: default}\nspec: {desc: mine, selector: {matchLabels: {mine: \"true\"}}}\n";
    let cr_file = cluster.cp.dir().join("user-cr.yaml");
    std::fs::write(&cr_file, user_cr).unwrap();
    e2e::run_ok(cluster.kubectl().arg("apply").arg("-f").arg(&cr_file));

    // Revision 4 = rollback to 1: Katib's objects go, the PVC and CRDs stay,
    // the sequenced objects are revision 1's again.
    e2e::run_ok(
        cluster
            .helm()
            .args(["rollback", "kubeflow", "1", "--wait", "--timeout", "15m"]),
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
    assert_eq!(cluster.names("crd"), crds, "rollback changed CRDs");
    let after_rollback = sequenced_on_cluster(&cluster, &all_hooks);
    for (resource, object, revision) in &after_rollback {
        assert_eq!(
            revision, "1",
            "{resource} {object}: rollback left revision {revision}'s copy"
        );
    }
    assert!(
        after_rollback.len() < rev2_sequenced.len(),
        "rollback pruned none of Katib's sequenced objects"
    );

    // Uninstall: release objects and sequenced objects go; CRDs, PVCs and
    // the user's custom resource stay.
    e2e::run_ok(
        cluster
            .helm()
            // No --wait: the aggregated ClusterRoles that Kubernetes re-creates
            // right after Helm deletes them would hold it to its timeout
            // (docs/upgrades.md#reinstalling-after-helm-uninstall).
            .args(["uninstall", "kubeflow", "--timeout", "15m"]),
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
    let left = sequenced_on_cluster(&cluster, &all_hooks);
    assert!(
        left.is_empty(),
        "sequenced objects left after uninstall: {left:?}"
    );
    e2e::run_ok(
        cluster
            .kubectl()
            .args(["get", "poddefault", "mine", "-n", "default"]),
    );
}
