//! KEP 831's "deploy Kubeflow with a single Helm command", for every preset and
//! with Helm 4 and Helm 3: one `helm install kubeflow charts/kubeflow -f
//! presets/<p>.yaml --post-renderer kf-post --wait` on a fresh emulated
//! cluster, first attempt, no pre-step, no `--take-ownership`, every webhook at
//! upstream's policy (docs/upgrades.md#sequencing). Afterwards every workload
//! of the release is Available, no pod is left Pending, and every sequenced
//! object (custom resources created by hooks once the release's CRDs and
//! webhooks can take them) exists on the cluster.

mod umbrella_common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Instant;

use serde::Deserialize;
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
    serde_yaml::Deserializer::from_str(stream)
        .filter_map(|d| {
            let v = serde_yaml::Value::deserialize(d).ok()?;
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
/// user would check afterwards.
fn preset_installs(name: &str, which: Helm, extra: &[&str]) {
    let cluster = Cluster::start();
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

#[test]
fn pipelines_katib_helm4() {
    preset_installs("pipelines-katib", Helm::V4, &[]);
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
