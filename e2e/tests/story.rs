//! The KEP 831 user story (issues 7 and 14), executed from its own documentation.
//!
//! `docs/tutorial.md` holds the story's commands in fenced blocks tagged
//! ```` ```sh step=ID ```` (plus `expect=fail` for the deliberately broken
//! change). These tests extract each block and run it verbatim with
//! `bash -euo pipefail` on emulated clusters (`e2e::ControlPlane`: a real
//! control plane, pods scheduled and Ready, Jobs completing, webhooks answering
//! with verified TLS once their pods are Ready; docs/emulation.md), with real
//! Helm 4 / Helm 3 and the real `kf-post` built from this tree, exactly as a
//! user runs them: one `helm install … --wait`, one `helm upgrade … --wait` per
//! change, no CRD pre-step, no `--take-ownership`, nothing between Helm and the
//! post-renderer. Then they check the cluster with kubectl — including that the
//! admission webhooks keep the `failurePolicy` the chart renders.
//!
//! Each block runs in a scratch copy of the repository's user-facing files
//! (charts/, presets/, scripts/, catalog/, plugin.yaml, plugin.wasm,
//! post-renderer/helm-plugin/), so `helm dependency build` and the values files
//! the tutorial writes never touch the working tree. Step timings are printed
//! (`cargo test -p e2e --test story -- --nocapture`). Test names start with
//! the step numbers so the libtest runner (alphabetical order, one thread per
//! core) starts the longest one, Helm 4, first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod doc_steps;

use serde_json::Value;

const TUTORIAL: &str = "docs/tutorial.md";

/// Steps run by [`story_1_to_5_and_7_helm4`], in order.
const HELM4_STEPS: &[&str] = &[
    "setup",
    "install",
    "values-file",
    "values",
    "katib",
    "pipelines",
    "poddefault",
    "break",
    "rollback",
    "uninstall",
];

/// Steps run by [`story_6_kserve_edge`].
const EDGE_STEPS: &[&str] = &["setup", "edge"];

/// Steps run by [`story_helm3_steps_1_2_5`], in order.
const HELM3_STEPS: &[&str] = &[
    "helm3-install",
    "values-file",
    "helm3-values",
    "helm3-break",
    "helm3-rollback",
];

fn tutorial() -> BTreeMap<String, doc_steps::Step> {
    let text = std::fs::read_to_string(e2e::repo_root().join(TUTORIAL)).expect("read the tutorial");
    doc_steps::parse(&text).unwrap_or_else(|e| panic!("{TUTORIAL}: {e}"))
}

#[test]
fn every_tutorial_step_is_run_by_a_story_test() {
    let documented: BTreeSet<String> = tutorial().into_keys().collect();
    let run: BTreeSet<String> = HELM4_STEPS
        .iter()
        .chain(HELM3_STEPS)
        .chain(EDGE_STEPS)
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        documented, run,
        "step ids in {TUTORIAL} vs the steps the story tests run"
    );
}

/// A scratch workspace (copy of the user-facing files) and a Helm home; the
/// real `kf-post` is on PATH (Helm 3 execs it, the Helm 4 plugin runs it).
struct Story {
    label: &'static str,
    root: PathBuf,
    steps: BTreeMap<String, doc_steps::Step>,
}

impl Story {
    fn new(label: &'static str) -> Story {
        let repo = e2e::repo_root();
        assert!(
            repo.join("plugin.wasm").exists(),
            "plugin.wasm is missing: run scripts/build-plugin (scripts/test does)"
        );
        let root = std::env::temp_dir().join(format!("kfh-story-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let ws = root.join("ws");
        std::fs::create_dir_all(ws.join("post-renderer")).unwrap();
        for item in [
            "charts",
            "presets",
            "scripts",
            "catalog",
            "plugin.yaml",
            "plugin.wasm",
        ] {
            e2e::run_ok(Command::new("cp").arg("-r").arg(repo.join(item)).arg(&ws));
        }
        e2e::run_ok(
            Command::new("cp")
                .arg("-r")
                .arg(repo.join("post-renderer/helm-plugin"))
                .arg(ws.join("post-renderer")),
        );
        // The tutorial builds the umbrella's dependencies itself.
        let _ = std::fs::remove_dir_all(ws.join("charts/kubeflow/charts"));
        let _ = std::fs::remove_file(ws.join("charts/kubeflow/Chart.lock"));

        println!(
            "story[{label}]: kf-post on PATH is {} (unchanged, as users run it)",
            e2e::kf_post_bin().display()
        );
        Story {
            label,
            root,
            steps: tutorial(),
        }
    }

    fn ws(&self) -> PathBuf {
        self.root.join("ws")
    }

    fn env(&self, cmd: &mut Command, kubeconfig: &Path) {
        let home = self.root.join("helm-home");
        // kf-post's directory, then .tools/bin (helm, helm3) and the inherited PATH.
        let path = e2e::kf_post_path();
        cmd.env("KUBECONFIG", kubeconfig)
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            // Helm 4.3.1 installs a local plugin into $HELM_DATA_HOME/plugins
            // whatever HELM_PLUGINS says: both name the same directory.
            .env("HELM_PLUGINS", home.join("data/plugins"))
            .env("PATH", path)
            .current_dir(self.ws());
    }

    /// Runs tutorial block `id` against `cp`, prints its time, checks its
    /// exit status against `expect=fail`, and returns (stdout, stderr).
    fn run(&self, id: &str, cp: &e2e::ControlPlane) -> (String, String) {
        let step = self
            .steps
            .get(id)
            .unwrap_or_else(|| panic!("{TUTORIAL} has no block step={id}"));
        let mut bash = Command::new("bash");
        self.env(&mut bash, cp.kubeconfig());
        let start = Instant::now();
        let (stdout, stderr) = step.run(bash, &format!("{TUTORIAL} step={id}"));
        println!(
            "story[{}]: step {id}: {:.1}s (ok)",
            self.label,
            start.elapsed().as_secs_f64()
        );
        (stdout, stderr)
    }

    fn helm(&self, binary: &str, cp: &e2e::ControlPlane) -> Command {
        let mut cmd = Command::new(e2e::tools_bin().join(binary));
        self.env(&mut cmd, cp.kubeconfig());
        cmd
    }
}

impl Drop for Story {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn kubectl_json(cp: &e2e::ControlPlane, args: &[&str]) -> Value {
    let out = e2e::run_ok(e2e::kubectl(cp).args(args).args(["-o", "json"]));
    serde_json::from_str(&out).expect("kubectl -o json")
}

/// `namespace/name` of every object of `resource`.
fn names(cp: &e2e::ControlPlane, resource: &str) -> BTreeSet<String> {
    kubectl_json(cp, &["get", resource, "-A"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let m = &o["metadata"];
            format!(
                "{}/{}",
                m["namespace"].as_str().unwrap_or(""),
                m["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// (resource for kubectl as `kind.group`, namespace, name) of an object.
type Key = (String, String, String);

fn key_of(object: &Value) -> Key {
    let kind = object["kind"].as_str().unwrap_or_default().to_lowercase();
    let api = object["apiVersion"].as_str().unwrap_or_default();
    let resource = match api.split_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind,
    };
    let m = &object["metadata"];
    (
        resource,
        m["namespace"].as_str().unwrap_or("").to_string(),
        m["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// The regular objects of the release's current manifest (`helm get manifest`).
fn release_keys(story: &Story, helm: &str, cp: &e2e::ControlPlane, release: &str) -> BTreeSet<Key> {
    let manifest = e2e::run_ok(story.helm(helm, cp).args(["get", "manifest", release]));
    e2e::yaml::objects::<Value>(&manifest)
        .iter()
        .map(key_of)
        .collect()
}

/// The release's sequenced objects: the hooks of `helm get hooks` that carry
/// the `helm.kubeflow.org/sequenced-by` label (custom resources created after
/// the wait Job; the sequencing Jobs themselves are deleted once they succeed).
fn sequenced_keys(
    story: &Story,
    helm: &str,
    cp: &e2e::ControlPlane,
    release: &str,
) -> BTreeSet<Key> {
    let hooks = e2e::run_ok(story.helm(helm, cp).args(["get", "hooks", release]));
    e2e::yaml::objects::<Value>(&hooks)
        .iter()
        .filter(|o| o["metadata"]["labels"]["helm.kubeflow.org/sequenced-by"] == release)
        .map(key_of)
        .collect()
}

/// Every object the release put on the cluster: regular and sequenced.
fn all_keys(story: &Story, helm: &str, cp: &e2e::ControlPlane, release: &str) -> BTreeSet<Key> {
    let mut keys = release_keys(story, helm, cp, release);
    keys.extend(sequenced_keys(story, helm, cp, release));
    keys
}

/// The objects behind `keys` that exist on the cluster, one `kubectl get` for
/// all their types.
fn on_cluster(cp: &e2e::ControlPlane, keys: &BTreeSet<Key>) -> BTreeMap<Key, Value> {
    let resources: BTreeSet<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    if resources.is_empty() {
        return BTreeMap::new();
    }
    let all = resources.into_iter().collect::<Vec<_>>().join(",");
    let list = kubectl_json(cp, &["get", &all, "-A"]);
    let listed: BTreeMap<Key, &Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (key_of(o), o))
        .collect();
    keys.iter()
        .filter_map(|key| {
            // A chart may give a cluster-scoped object a namespace (upstream's
            // ClusterTrainingRuntimes do); the API server drops it.
            let cluster_scoped = (key.0.clone(), String::new(), key.2.clone());
            let object = listed.get(key).or_else(|| listed.get(&cluster_scoped))?;
            Some((key.clone(), (*object).clone()))
        })
        .collect()
}

/// The live objects behind `keys`; every one must exist.
fn live(cp: &e2e::ControlPlane, keys: &BTreeSet<Key>) -> BTreeMap<Key, Value> {
    let found = on_cluster(cp, keys);
    let missing: Vec<_> = keys.iter().filter(|k| !found.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "release objects missing on the cluster: {missing:?}"
    );
    found
}

/// An object without `metadata` and `status`: what a rollback must restore.
fn content(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    object
}

fn uids(objects: &BTreeMap<Key, Value>) -> BTreeMap<Key, String> {
    objects
        .iter()
        .map(|(k, o)| {
            (
                k.clone(),
                o["metadata"]["uid"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn container_resources(cp: &e2e::ControlPlane, ns: &str, deployment: &str) -> Value {
    let d = kubectl_json(cp, &["get", "deployment", deployment, "-n", ns]);
    d["spec"]["template"]["spec"]["containers"][0]["resources"].clone()
}

fn pvc_size(cp: &e2e::ControlPlane, ns: &str, name: &str) -> String {
    let pvc = kubectl_json(cp, &["get", "pvc", name, "-n", ns]);
    pvc["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap()
        .to_string()
}

fn crds(cp: &e2e::ControlPlane) -> BTreeSet<String> {
    names(cp, "crd")
        .into_iter()
        .map(|n| n.trim_start_matches('/').to_string())
        .collect()
}

fn has_condition(object: &Value, condition: &str) -> bool {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == condition && c["status"] == "True")
}

/// Every CRD on the cluster is Established (`--wait` and the wait Job are
/// done when Helm returns, so no polling).
fn assert_crds_established(cp: &e2e::ControlPlane) {
    let list = kubectl_json(cp, &["get", "crd"]);
    let pending: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|crd| !has_condition(crd, "Established"))
        .map(|crd| crd["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(pending.is_empty(), "CRDs not Established: {pending:?}");
}

/// The release's Deployments are exactly the cluster's, and every one is
/// Available; returns them as `namespace/name`.
fn assert_deployments_available(
    story: &Story,
    helm: &str,
    cp: &e2e::ControlPlane,
    release: &str,
) -> BTreeSet<String> {
    let in_release: BTreeSet<String> = release_keys(story, helm, cp, release)
        .into_iter()
        .filter(|k| k.0 == "deployment.apps")
        .map(|(_, ns, name)| format!("{ns}/{name}"))
        .collect();
    let list = kubectl_json(cp, &["get", "deployments", "-A"]);
    let mut on_cluster = BTreeSet::new();
    let mut unavailable = Vec::new();
    for d in list["items"].as_array().unwrap() {
        let name = format!(
            "{}/{}",
            d["metadata"]["namespace"].as_str().unwrap(),
            d["metadata"]["name"].as_str().unwrap()
        );
        if !has_condition(d, "Available") {
            unavailable.push(format!("{name}: {}", d["status"]));
        }
        on_cluster.insert(name);
    }
    assert_eq!(
        on_cluster, in_release,
        "Deployments on the cluster vs the release"
    );
    assert!(
        unavailable.is_empty(),
        "Deployments not Available after `--wait`: {unavailable:#?}"
    );
    on_cluster
}

/// Every sequenced object of the release exists on the cluster; returns them.
fn assert_sequenced_exist(
    story: &Story,
    helm: &str,
    cp: &e2e::ControlPlane,
    release: &str,
) -> BTreeSet<Key> {
    let keys = sequenced_keys(story, helm, cp, release);
    assert!(
        !keys.is_empty(),
        "`{helm} get hooks {release}` lists no sequenced object"
    );
    live(cp, &keys);
    keys
}

/// (kind, configuration, webhook) -> failurePolicy (`Fail` when unset, the
/// admissionregistration/v1 default).
type Policies = BTreeMap<(String, String, String), String>;

fn webhook_policies<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Policies {
    let mut policies = Policies::new();
    for config in objects {
        let kind = config["kind"].as_str().unwrap_or_default();
        if kind != "ValidatingWebhookConfiguration" && kind != "MutatingWebhookConfiguration" {
            continue;
        }
        let name = config["metadata"]["name"].as_str().unwrap_or_default();
        for hook in config["webhooks"].as_array().into_iter().flatten() {
            policies.insert(
                (
                    kind.to_string(),
                    name.to_string(),
                    hook["name"].as_str().unwrap_or_default().to_string(),
                ),
                hook["failurePolicy"].as_str().unwrap_or("Fail").to_string(),
            );
        }
    }
    policies
}

/// Upstream's webhook policies reach the cluster unchanged: the admission
/// webhooks on the cluster are those the chart renders for the release's
/// values (`helm template`, no post-renderer), each with the same
/// failurePolicy, and at least one is `Fail`.
fn assert_webhook_policies(story: &Story, helm: &str, cp: &e2e::ControlPlane, release: &str) {
    let values = e2e::run_ok(
        story
            .helm(helm, cp)
            .args(["get", "values", release, "-o", "yaml"]),
    );
    let file = story.root.join(format!("{release}-values.yaml"));
    std::fs::write(&file, values).unwrap();
    // Rendered for the cluster's version (Helm 3's default, v1.20, is below
    // the chart's kubeVersion).
    let version = kubectl_json(cp, &["version"])["serverVersion"]["gitVersion"]
        .as_str()
        .expect("server version")
        .to_string();
    let rendered = e2e::run_ok(
        story
            .helm(helm, cp)
            .args([
                "template",
                release,
                "charts/kubeflow",
                "--kube-version",
                &version,
                "-f",
            ])
            .arg(&file),
    );
    let chart = webhook_policies(&e2e::yaml::objects::<Value>(&rendered));
    let fail = chart.values().filter(|p| *p == "Fail").count();
    assert!(fail > 0, "the chart renders no failurePolicy: Fail webhook");
    let list = kubectl_json(
        cp,
        &[
            "get",
            "validatingwebhookconfigurations,mutatingwebhookconfigurations",
        ],
    );
    let cluster = webhook_policies(list["items"].as_array().unwrap());
    assert_eq!(
        cluster, chart,
        "admission webhooks and failurePolicies on the cluster vs the chart's render"
    );
    println!(
        "story[{}]: {fail} of {} admission webhooks run with failurePolicy Fail, as the chart renders them",
        story.label,
        chart.len()
    );
}

/// Step 1's checks: the notebooks-trainer preset and nothing else.
fn assert_notebooks_trainer(story: &Story, helm: &str, cp: &e2e::ControlPlane) {
    let deployments = assert_deployments_available(story, helm, cp, "kubeflow");
    for want in [
        "kubeflow/notebook-controller-deployment",
        "kubeflow/jupyter-web-app-deployment",
        "kubeflow/volumes-web-app-deployment",
        "kubeflow/tensorboard-controller-deployment",
        "kubeflow/admission-webhook-deployment",
        "kubeflow/centraldashboard",
        "kubeflow/profiles-deployment",
        "kubeflow-system/kubeflow-trainer-controller-manager",
        "istio-system/istiod",
        "auth/dex",
        "oauth2-proxy/oauth2-proxy",
        "cert-manager/cert-manager",
    ] {
        assert!(
            deployments.contains(want),
            "{want} missing; Deployments: {deployments:?}"
        );
    }
    for unwanted in ["ml-pipeline", "katib", "kserve"] {
        let found: Vec<_> = deployments
            .iter()
            .filter(|d| d.contains(unwanted))
            .collect();
        assert!(
            found.is_empty(),
            "{unwanted} Deployments in notebooks-trainer: {found:?}"
        );
    }

    let crds = crds(cp);
    for want in [
        "notebooks.kubeflow.org",
        "profiles.kubeflow.org",
        "poddefaults.kubeflow.org",
        "trainjobs.trainer.kubeflow.org",
        "clustertrainingruntimes.trainer.kubeflow.org",
        "certificates.cert-manager.io",
        "authorizationpolicies.security.istio.io",
    ] {
        assert!(crds.contains(want), "CRD {want} missing: {crds:?}");
    }
    for unwanted in KATIB_CRDS.iter().chain(&[
        "scheduledworkflows.kubeflow.org",
        "workflows.argoproj.io",
        "inferenceservices.serving.kserve.io",
    ]) {
        assert!(
            !crds.contains(*unwanted),
            "CRD {unwanted} in notebooks-trainer"
        );
    }
    assert_crds_established(cp);

    // The custom resources of the release were created after their CRDs and
    // webhooks, by Helm, in the same command.
    let sequenced = assert_sequenced_exist(story, helm, cp, "kubeflow");
    let kinds: BTreeSet<&str> = sequenced.iter().map(|k| k.0.as_str()).collect();
    for want in [
        "authorizationpolicy.security.istio.io",
        "gateway.networking.istio.io",
        "clustertrainingruntime.trainer.kubeflow.org",
        "profile.kubeflow.org",
    ] {
        assert!(
            kinds.contains(want),
            "no sequenced {want}; sequenced kinds: {kinds:?}"
        );
    }
    println!(
        "story[{}]: {} sequenced objects of {} kinds exist",
        story.label,
        sequenced.len(),
        kinds.len()
    );

    for ns in [
        "kubeflow",
        "kubeflow-system",
        "istio-system",
        "auth",
        "oauth2-proxy",
        "cert-manager",
    ] {
        let labels = &kubectl_json(cp, &["get", "namespace", ns])["metadata"]["labels"];
        assert_eq!(
            labels["app.kubernetes.io/managed-by"], "Helm",
            "{ns}: {labels}"
        );
        assert!(
            labels["pod-security.kubernetes.io/enforce"].is_string(),
            "{ns} has no Pod Security label: {labels}"
        );
    }
    for ns in ["kubeflow", "kubeflow-system"] {
        let labels = &kubectl_json(cp, &["get", "namespace", ns])["metadata"]["labels"];
        assert_eq!(labels["istio-injection"], "enabled", "{ns}: {labels}");
    }
    assert_webhook_policies(story, helm, cp, "kubeflow");
}

/// The CRDs Katib brings (step 3).
const KATIB_CRDS: &[&str] = &[
    "experiments.kubeflow.org",
    "suggestions.kubeflow.org",
    "trials.kubeflow.org",
];

/// Step 2's checks: the limits of my-values.yaml reached the Deployments.
fn assert_tuned(cp: &e2e::ControlPlane) {
    let trainer = container_resources(cp, "kubeflow-system", "kubeflow-trainer-controller-manager");
    assert_eq!(
        trainer["limits"],
        serde_json::json!({"cpu": "2", "memory": "2Gi"}),
        "{trainer}"
    );
    assert_eq!(
        trainer["requests"],
        serde_json::json!({"cpu": "500m", "memory": "512Mi"}),
        "{trainer}"
    );
    let notebooks = container_resources(cp, "kubeflow", "notebook-controller-deployment");
    assert_eq!(
        notebooks["limits"],
        serde_json::json!({"cpu": "1", "memory": "1Gi"}),
        "{notebooks}"
    );
}

/// Steps 5: snapshot, the broken change fails, the rollback restores the
/// snapshot, sequenced objects included, and the workloads are Available.
fn break_and_roll_back(
    story: &Story,
    helm: &str,
    cp: &e2e::ControlPlane,
    break_step: &str,
    rollback_step: &str,
) {
    let keys = all_keys(story, helm, cp, "kubeflow");
    let before: BTreeMap<Key, Value> = live(cp, &keys)
        .iter()
        .map(|(k, o)| (k.clone(), content(o)))
        .collect();
    let (_, stderr) = story.run(break_step, cp);
    assert!(
        stderr.contains("quantities must match"),
        "the broken change failed for another reason:\n{stderr}"
    );
    let history = e2e::run_ok(
        story
            .helm(helm, cp)
            .args(["history", "kubeflow", "-o", "json"]),
    );
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["status"],
        "failed",
        "{history}"
    );
    let broken = on_cluster(cp, &keys);
    let touched = keys
        .iter()
        .filter(|k| broken.get(*k).map(content).as_ref() != Some(&before[*k]))
        .count();
    println!(
        "story[{}]: the failed upgrade changed or removed {touched} of {} objects before the API server rejected it",
        story.label,
        keys.len()
    );

    story.run(rollback_step, cp);
    let after_keys = all_keys(story, helm, cp, "kubeflow");
    assert_eq!(
        after_keys, keys,
        "the rollback did not restore the release's object set"
    );
    let after = live(cp, &keys);
    let differ: Vec<_> = keys
        .iter()
        .filter(|k| content(&after[*k]) != before[*k])
        .collect();
    assert!(
        differ.is_empty(),
        "objects differ from the snapshot after the rollback: {differ:?}"
    );
    let status = e2e::run_ok(
        story
            .helm(helm, cp)
            .args(["status", "kubeflow", "-o", "json"]),
    );
    assert!(status.contains("\"status\":\"deployed\""), "{status}");
    assert_deployments_available(story, helm, cp, "kubeflow");
    assert_webhook_policies(story, helm, cp, "kubeflow");
}

/// Steps 1-5 and 7 with Helm 4 and the kf-post postrenderer/v1 plugin.
#[test]
fn story_1_to_5_and_7_helm4() {
    let story = Story::new("helm4");
    let cp = e2e::ControlPlane::start();

    // 1. notebooks-trainer, one command.
    story.run("setup", &cp);
    story.run("install", &cp);
    assert_notebooks_trainer(&story, "helm", &cp);

    // 2. Resources and storage through values.
    story.run("values-file", &cp);
    story.run("values", &cp);
    assert_tuned(&cp);

    // 3. Katib, its CRDs with it, without recreating anything.
    let before = crds(&cp);
    for crd in KATIB_CRDS {
        assert!(
            !before.contains(*crd),
            "{crd} exists before Katib is enabled"
        );
    }
    let before_katib = uids(&live(&cp, &all_keys(&story, "helm", &cp, "kubeflow")));
    story.run("katib", &cp);
    let deployments = assert_deployments_available(&story, "helm", &cp, "kubeflow");
    for want in [
        "kubeflow/katib-controller",
        "kubeflow/katib-db-manager",
        "kubeflow/katib-ui",
        "kubeflow/katib-mysql",
    ] {
        assert!(
            deployments.contains(want),
            "{want} missing after enabling katib: {deployments:?}"
        );
    }
    let after = crds(&cp);
    for crd in KATIB_CRDS {
        assert!(after.contains(*crd), "{crd} missing after enabling Katib");
    }
    assert_crds_established(&cp);
    assert_eq!(
        pvc_size(&cp, "kubeflow", "katib-mysql"),
        "20Gi",
        "step 2's size"
    );
    let after_katib = uids(&live(&cp, &before_katib.keys().cloned().collect()));
    let recreated: Vec<_> = before_katib
        .keys()
        .filter(|k| before_katib[*k] != after_katib[*k])
        .collect();
    assert!(
        recreated.is_empty(),
        "enabling Katib recreated {recreated:?}"
    );
    assert_sequenced_exist(&story, "helm", &cp, "kubeflow");
    assert_tuned(&cp);

    // 4. Pipelines multi-user and two profiles.
    story.run("pipelines", &cp);
    story.run("poddefault", &cp);
    for (profile, owner) in [
        ("team-a", "alice@example.com"),
        ("team-b", "bob@example.com"),
    ] {
        let p = kubectl_json(&cp, &["get", "profile", profile]);
        assert_eq!(p["spec"]["owner"]["name"], owner, "{p}");
    }
    // Profile namespaces come from the profile controller at run time; the
    // emulation does not run controllers' logic (tutorial, docs/emulation.md).
    let sequenced = assert_sequenced_exist(&story, "helm", &cp, "kubeflow");
    for profile in ["team-a", "team-b"] {
        let key = (
            "profile.kubeflow.org".to_string(),
            String::new(),
            profile.to_string(),
        );
        assert!(
            sequenced.contains(&key),
            "Profile {profile} is not sequenced: {sequenced:?}"
        );
    }
    let policies = names(&cp, "authorizationpolicies.security.istio.io");
    for want in [
        "kubeflow/ml-pipeline",
        "kubeflow/ml-pipeline-ui",
        "kubeflow/mysql",
        "kubeflow/katib-ui",
    ] {
        assert!(
            policies.contains(want),
            "AuthorizationPolicy {want} missing: {policies:?}"
        );
    }
    let deployments = assert_deployments_available(&story, "helm", &cp, "kubeflow");
    assert!(
        deployments.contains("kubeflow/ml-pipeline"),
        "{deployments:?}"
    );
    assert_eq!(
        pvc_size(&cp, "kubeflow", "mysql-pv-claim"),
        "30Gi",
        "step 2's size"
    );

    // 5. A broken change and the rollback.
    break_and_roll_back(&story, "helm", &cp, "break", "rollback");

    // 7. Uninstall keeps CRDs, PVCs and the user's custom resources; the
    // sequenced objects go with the release.
    let crds_before = crds(&cp);
    let pvcs_before = names(&cp, "pvc");
    assert!(pvcs_before.len() >= 3, "{pvcs_before:?}");
    let sequenced = sequenced_keys(&story, "helm", &cp, "kubeflow");
    story.run("uninstall", &cp);
    assert!(
        names(&cp, "deployments").is_empty(),
        "Deployments left after uninstall"
    );
    assert_eq!(crds(&cp), crds_before, "uninstall changed CRDs");
    assert_eq!(names(&cp, "pvc"), pvcs_before, "uninstall deleted PVCs");
    assert!(names(&cp, "poddefaults.kubeflow.org").contains("kubeflow/access-ml-pipeline"));
    let namespaces = names(&cp, "namespaces");
    for kept in ["/kubeflow", "/kubeflow-system", "/istio-system", "/auth"] {
        assert!(
            namespaces.contains(kept),
            "uninstall deleted namespace {kept}"
        );
    }
    e2e::eventually(
        "the sequenced objects deleted",
        std::time::Duration::from_secs(60),
        || {
            let left: Vec<Key> = on_cluster(&cp, &sequenced).into_keys().collect();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("still there: {left:?}"))
            }
        },
    );
    assert!(
        names(&cp, "profiles.kubeflow.org").is_empty(),
        "Profiles left after uninstall"
    );
}

/// Steps 1, 2 and 5 with Helm 3, which execs kf-post directly.
#[test]
fn story_helm3_steps_1_2_5() {
    let story = Story::new("helm3");
    let cp = e2e::ControlPlane::start();
    story.run("helm3-install", &cp);
    assert_notebooks_trainer(&story, "helm3", &cp);
    story.run("values-file", &cp);
    story.run("helm3-values", &cp);
    assert_tuned(&cp);
    assert_sequenced_exist(&story, "helm3", &cp, "kubeflow");
    break_and_roll_back(&story, "helm3", &cp, "helm3-break", "helm3-rollback");
}

/// Step 6: the kserve-edge preset as its own release on a second cluster (a
/// separate test, so it runs in parallel with steps 1-5 and 7).
#[test]
fn story_6_kserve_edge() {
    let story = Story::new("edge");
    let edge = e2e::ControlPlane::start();
    story.run("setup", &edge);
    story.run("edge", &edge);
    let deployments = assert_deployments_available(&story, "helm", &edge, "kubeflow-edge");
    assert!(
        deployments.contains("kubeflow/kserve-controller-manager"),
        "{deployments:?}"
    );
    let others: Vec<_> = deployments
        .iter()
        .filter(|d| {
            !d.starts_with("cert-manager/")
                && !d.starts_with("kubeflow/kserve")
                && !d.starts_with("kubeflow/llmisvc")
        })
        .collect();
    assert!(others.is_empty(), "edge runs more than KServe: {others:?}");
    let edge_crds = crds(&edge);
    for unwanted in [
        "notebooks.kubeflow.org",
        "profiles.kubeflow.org",
        "experiments.kubeflow.org",
        "gateways.networking.istio.io",
        "trainjobs.trainer.kubeflow.org",
    ] {
        assert!(!edge_crds.contains(unwanted), "edge has CRD {unwanted}");
    }
    assert!(edge_crds.contains("inferenceservices.serving.kserve.io"));
    assert_crds_established(&edge);
    let sequenced = assert_sequenced_exist(&story, "helm", &edge, "kubeflow-edge");
    assert!(
        sequenced
            .iter()
            .any(|k| k.0 == "clusterservingruntime.serving.kserve.io"),
        "no sequenced ClusterServingRuntime: {sequenced:?}"
    );
    assert_webhook_policies(&story, "helm", &edge, "kubeflow-edge");
    let namespaces = names(&edge, "namespaces");
    for unwanted in ["/istio-system", "/auth", "/oauth2-proxy"] {
        assert!(
            !namespaces.contains(unwanted),
            "edge has namespace {unwanted}"
        );
    }
    // The kubeflow-namespace chart also creates the (empty) kubeflow-system namespace.
    assert!(names(&edge, "all")
        .iter()
        .all(|o| !o.starts_with("kubeflow-system/")));
}
