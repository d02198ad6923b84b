//! KEP 831's "deploy Kubeflow with a single Helm command", for every preset and
//! with Helm 4 and Helm 3: one `helm install kubeflow charts/kubeflow -f
//! presets/<p>.yaml --post-renderer kf-post --wait` on a fresh emulated
//! cluster, first attempt, no pre-step, no `--take-ownership`, every webhook at
//! upstream's policy (docs/upgrades.md#sequencing). Afterwards every workload
//! of the release is Available, no pod is left Pending, and every sequenced
//! object (custom resources created by hooks once the release's CRDs and
//! webhooks can take them) exists on the cluster.

use e2e::umbrella as umbrella_common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use umbrella_common::*;

const MIB: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug)]
enum Helm {
    V4,
    V3,
}

fn helm(cluster: &Cluster, which: Helm) -> Command {
    match which {
        Helm::V4 => cluster.helm(),
        Helm::V3 => e2e::helm3(&cluster.cp),
    }
}

fn kubectl_json(cluster: &Cluster, args: &[&str]) -> Value {
    let out = e2e::run_ok(cluster.kubectl().args(args).args(["-o", "json"]));
    serde_json::from_str(&out).expect("kubectl -o json")
}

/// Every failurePolicy of every admission webhook on the cluster.
fn webhook_policies(cluster: &Cluster) -> BTreeSet<String> {
    let hooks = kubectl_json(
        cluster,
        &[
            "get",
            "validatingwebhookconfigurations,mutatingwebhookconfigurations",
        ],
    );
    hooks["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["webhooks"].as_array().cloned().unwrap_or_default())
        .map(|w| w["failurePolicy"].as_str().unwrap_or("Fail").to_string())
        .collect()
}

/// (apiVersion, kind, namespace, name) of every object in a YAML stream.
fn objects(stream: &str) -> Vec<(String, String, String, String)> {
    e2e::yaml::objects::<serde_yaml::Value>(stream)
        .into_iter()
        .filter_map(|v| {
            let s = |path: &[&str]| {
                let mut x = &v;
                for p in path {
                    x = x.get(*p)?;
                }
                x.as_str().map(str::to_string)
            };
            Some((
                s(&["apiVersion"])?,
                s(&["kind"])?,
                s(&["metadata", "namespace"]).unwrap_or_default(),
                s(&["metadata", "name"])?,
            ))
        })
        .collect()
}

/// One `helm install … --wait` of `preset` on a fresh cluster, and what a
/// user would check afterwards; the cluster, for tests that go on from there.
fn preset_installs(name: &str, which: Helm, extra: &[&str]) -> Cluster {
    preset_installs_on(Cluster::start(), name, which, extra)
}

/// [`preset_installs`] on a cluster the caller prepared.
fn preset_installs_on(cluster: Cluster, name: &str, which: Helm, extra: &[&str]) -> Cluster {
    let file = preset(name);
    let start = Instant::now();
    e2e::run_ok(
        helm(&cluster, which)
            .args(["install", "kubeflow"])
            .arg(umbrella_chart())
            .arg("-f")
            .arg(&file)
            .args(extra)
            .args(KF_POST_WAIT),
    );
    let secs = start.elapsed().as_secs_f64();
    let label = format!("{name} ({which:?})");

    let status = e2e::run_ok(helm(&cluster, which).args(["status", "kubeflow", "-o", "json"]));
    assert!(
        status.contains("\"status\":\"deployed\""),
        "{label}: {status}"
    );

    // Upstream's webhook policies reach the cluster: Fail stays Fail.
    assert!(
        webhook_policies(&cluster).contains("Fail"),
        "{label}: no webhook with failurePolicy Fail on the cluster"
    );

    // Every Deployment, StatefulSet and DaemonSet is Available / rolled out.
    let workloads = kubectl_json(
        &cluster,
        &[
            "get",
            "deployments,statefulsets,daemonsets",
            "--all-namespaces",
        ],
    );
    let items = workloads["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{label}: no workloads");
    for w in items {
        let what = format!(
            "{} {}/{}",
            w["kind"], w["metadata"]["namespace"], w["metadata"]["name"]
        );
        match w["kind"].as_str() {
            Some("Deployment") => assert!(
                w["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Available" && c["status"] == "True"),
                "{label}: {what} not Available: {}",
                w["status"]
            ),
            Some("StatefulSet") => assert_eq!(
                w["status"]["readyReplicas"], w["spec"]["replicas"],
                "{label}: {what} not ready"
            ),
            _ => assert_eq!(
                w["status"]["numberReady"], w["status"]["desiredNumberScheduled"],
                "{label}: {what} not ready"
            ),
        }
    }
    // No pod that should run is left Pending (or waiting for a volume).
    let pods = kubectl_json(&cluster, &["get", "pods", "--all-namespaces"]);
    let stuck: Vec<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Running" | "Succeeded")))
        .map(|p| {
            format!(
                "{}/{} {}",
                p["metadata"]["namespace"], p["metadata"]["name"], p["status"]["phase"]
            )
        })
        .collect();
    assert!(stuck.is_empty(), "{label}: pods not running: {stuck:?}");

    // Every sequenced object of the release exists (the sequencing Jobs have
    // run and removed themselves: hook-succeeded).
    let hooks = e2e::run_ok(helm(&cluster, which).args(["get", "hooks", "kubeflow"]));
    let sequenced: Vec<_> = objects(&hooks)
        .into_iter()
        .filter(|(_, kind, _, _)| kind != "Job")
        .collect();
    assert!(!sequenced.is_empty(), "{label}: nothing was sequenced");
    for (api_version, kind, ns, object) in &sequenced {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        let resource = if group.is_empty() {
            kind.to_lowercase()
        } else {
            format!("{}.{group}", kind.to_lowercase())
        };
        let mut get = cluster.kubectl();
        get.args(["get", &resource, object, "-o", "name"]);
        if !ns.is_empty() {
            get.args(["-n", ns]);
        }
        e2e::run_ok(&mut get);
    }

    // What counts against the API server's 1 MiB object limit is the Secret's
    // data as stored: the `release` value decoded (3/4 of its base64).
    let (object, payload) = cluster.release_secret_size("kubeflow", 1);
    let stored = payload * 3 / 4;
    println!(
        "one command: preset={name} helm={which:?} install --wait {secs:.1}s, {} sequenced objects, release Secret data {stored} B ({:.1}% of 1 MiB; object as JSON {object} B)",
        sequenced.len(),
        stored as f64 * 100.0 / MIB as f64
    );
    assert!(
        stored <= MIB * 3 / 4,
        "{label}: release Secret data {stored} B > 75% of 1 MiB"
    );
    cluster
}

// The other Helm 4 installs of a preset with `--wait` are in the tests that go
// on from them: notebooks-trainer (umbrella_install's lifecycle, the story),
// production (umbrella_install's credentials test), kserve-edge
// (umbrella_upgrade, umbrella_publish, the story's edge step).

#[test]
fn full_helm4() {
    preset_installs("full", Helm::V4, &[]);
}

#[test]
fn full_helm3() {
    preset_installs("full", Helm::V3, &[]);
}

/// Katib on the company's database from the first install (variant
/// `external-db`: switching an installed Katib to it is refused by Kubernetes,
/// docs/values.md#katib-external-database).
const KATIB_EXTERNAL_DB: &[&str] = &[
    "--set",
    "katib.variant=external-db",
    "--set",
    "katib.externalDatabase.host=mysql.db.example.com",
    "--set",
    "katib.externalDatabase.user=katib",
    "--set",
    "katib.externalDatabase.password=katib-db-password",
];

/// KEP 831's values file as written, then the company's database and bucket
/// (issue 15): `helm install -f kep-values.yaml` (with Katib on an external
/// database), where the KEP's storage class and limits land; `helm upgrade -f
/// external-stores-values.yaml`, after which no in-cluster MySQL or SeaweedFS
/// runs and every Pipelines reader points at the external ones.
#[test]
fn pipelines_katib_kep_values_then_external_stores_helm4() {
    let fixtures = e2e::repo_root().join("e2e/fixtures");
    let kep = fixtures.join("kep-values.yaml");
    let external = fixtures.join("external-stores-values.yaml");
    let cluster = Cluster::start();
    {
        // The cluster has the storage class the KEP's file names (provisioned
        // like the default one, docs/emulation.md).
        let class = cluster.cp.dir().join("fast-ssd.yaml");
        std::fs::write(
            &class,
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast-ssd}\n\
             provisioner: kube-emulator.kubeflow-helm.local/volume\nvolumeBindingMode: Immediate\n",
        )
        .unwrap();
        e2e::run_ok(cluster.kubectl().arg("apply").arg("-f").arg(&class));
    }
    let cluster = preset_installs_on(
        cluster,
        "pipelines-katib",
        Helm::V4,
        &[&["-f", kep.to_str().unwrap()], KATIB_EXTERNAL_DB].concat(),
    );
    let pvc = kubectl_json(
        &cluster,
        &["get", "pvc", "mysql-pv-claim", "-n", "kubeflow"],
    );
    assert_eq!(pvc["spec"]["storageClassName"], "fast-ssd", "{pvc}");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "20Gi");
    assert_eq!(pvc["status"]["phase"], "Bound", "{pvc}");
    let limits = |name: &str| {
        let d = kubectl_json(&cluster, &["get", "deployment", name, "-n", "kubeflow"]);
        d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].clone()
    };
    assert_eq!(limits("training-operator")["memory"], "4Gi");
    assert_eq!(limits("katib-controller")["cpu"], "1");

    // Katib's external-db variant labels `kubeflow` for metrics-collector
    // injection (so do standalone users running experiments there), which puts
    // every pod created there under Katib's pod webhook (failurePolicy Fail),
    // served by katib-controller. A restarted controller must still be admitted
    // (kubeflow/katib#1261): while it is gone the webhook has no endpoints, so
    // without the chart's selector its new pod, and every other pod of
    // `kubeflow`, would be refused for good. The test labels the namespace
    // itself: in this release kubeflow-namespace's Namespace object wins over
    // katib's, or not (docs/charts.md#known-limits).
    e2e::run_ok(cluster.kubectl().args([
        "label",
        "namespace",
        "kubeflow",
        "katib.kubeflow.org/metrics-collector-injection=enabled",
        "--overwrite",
    ]));
    let controller_pods = |cluster: &Cluster| {
        kubectl_json(
            cluster,
            &[
                "get",
                "pods",
                "-n",
                "kubeflow",
                "-l",
                "katib.kubeflow.org/component=controller",
            ],
        )["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let before: Vec<Value> = controller_pods(&cluster)
        .iter()
        .map(|p| p["metadata"]["uid"].clone())
        .collect();
    assert!(!before.is_empty(), "no katib-controller pod");
    e2e::run_ok(cluster.kubectl().args([
        "delete",
        "pod",
        "-n",
        "kubeflow",
        "-l",
        "katib.kubeflow.org/component=controller",
        "--wait",
    ]));
    e2e::eventually(
        "a new katib-controller pod to be Ready",
        Duration::from_secs(180),
        || {
            let ready = controller_pods(&cluster).into_iter().any(|p| {
                !before.contains(&p["metadata"]["uid"])
                    && p["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            });
            if ready {
                return Ok(());
            }
            // The ReplicaSet's ReplicaFailure condition says why no pod was admitted.
            let sets = kubectl_json(
                &cluster,
                &[
                    "get",
                    "replicasets",
                    "-n",
                    "kubeflow",
                    "-l",
                    "katib.kubeflow.org/component=controller",
                ],
            );
            Err(format!(
                "no new Ready pod; replica sets' conditions: {}",
                sets["items"]
                    .as_array()
                    .map(|i| i
                        .iter()
                        .map(|r| r["status"]["conditions"].to_string())
                        .collect::<Vec<_>>()
                        .join("; "))
                    .unwrap_or_default()
            ))
        },
    );

    e2e::run_ok(
        cluster
            .helm()
            .args(["upgrade", "kubeflow"])
            .arg(umbrella_chart())
            .arg("-f")
            .arg(preset("pipelines-katib"))
            .arg("-f")
            .arg(&kep)
            .arg("-f")
            .arg(&external)
            .args(KATIB_EXTERNAL_DB)
            .args(KF_POST_WAIT),
    );
    let deployments = cluster.names("deployments");
    for gone in [
        "kubeflow/mysql",
        "kubeflow/seaweedfs",
        "kubeflow/katib-mysql",
    ] {
        assert!(
            !deployments.contains(gone),
            "{gone} still runs: {deployments:?}"
        );
    }
    for gone in [
        "kubeflow/mysql",
        "kubeflow/seaweedfs",
        "kubeflow/katib-mysql",
    ] {
        assert!(!cluster.names("services").contains(gone), "{gone}");
    }
    // The MySQL claim is kept (helm.sh/resource-policy: keep): its data
    // survives the switch, to be migrated or deleted by the user.
    assert!(cluster.names("pvc").contains("kubeflow/mysql-pv-claim"));
    let config = kubectl_json(
        &cluster,
        &[
            "get",
            "configmap",
            "pipeline-install-config",
            "-n",
            "kubeflow",
        ],
    );
    assert_eq!(config["data"]["dbHost"], "mysql.db.example.com", "{config}");
    assert_eq!(config["data"]["dbPort"], "3307");
    assert_eq!(config["data"]["bucketName"], "example-kfp-artifacts");
    let argo = kubectl_json(
        &cluster,
        &[
            "get",
            "configmap",
            "workflow-controller-configmap",
            "-n",
            "kubeflow",
        ],
    );
    let repo = argo["data"]["artifactRepository"]
        .as_str()
        .unwrap_or_default();
    assert!(
        repo.contains("endpoint: s3.eu-west-1.amazonaws.com:443")
            && repo.contains("bucket: example-kfp-artifacts"),
        "{repo}"
    );
    let api = kubectl_json(
        &cluster,
        &["get", "deployment", "ml-pipeline", "-n", "kubeflow"],
    );
    let env = &api["spec"]["template"]["spec"]["containers"][0]["env"];
    let host = env
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "OBJECTSTORECONFIG_HOST");
    assert_eq!(
        host.map(|e| &e["value"]),
        Some(&Value::from("s3.eu-west-1.amazonaws.com")),
        "{env}"
    );
    // Katib's external database: the Secret katib-db-manager reads.
    let secret = kubectl_json(
        &cluster,
        &[
            "get",
            "secret",
            "katib-mysql-secrets-th9dkf48dg",
            "-n",
            "kubeflow",
        ],
    );
    let host = secret["data"]["KATIB_MYSQL_DB_HOST"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        host, "bXlzcWwuZGIuZXhhbXBsZS5jb20=",
        "base64 of mysql.db.example.com: {secret}"
    );
    let ready = kubectl_json(
        &cluster,
        &["get", "deployment", "katib-db-manager", "-n", "kubeflow"],
    );
    assert_eq!(
        ready["status"]["availableReplicas"], 1,
        "{}",
        ready["status"]
    );
}

#[test]
fn pipelines_katib_helm3() {
    preset_installs("pipelines-katib", Helm::V3, &[]);
}

#[test]
fn kserve_edge_helm3() {
    preset_installs("kserve-edge", Helm::V3, &[]);
}

#[test]
fn production_helm3() {
    preset_installs("production", Helm::V3, PRODUCTION_INPUTS);
}
