//! The KEP 831 user story (issue 7), executed from its own documentation.
//!
//! `docs/tutorial.md` holds the story's commands in fenced blocks tagged
//! ```` ```sh step=ID ```` (plus `expect=fail` for the deliberately broken
//! change). These tests extract each block and run it verbatim with
//! `bash -euo pipefail` against real local control planes, with real Helm 4 /
//! Helm 3 and the `kf-post` built from this tree, then check the cluster with
//! kubectl. The doc therefore cannot drift from what works.
//!
//! Test-only deviation, printed when the tests run: the local control plane
//! runs no pods, so admission webhooks never get endpoints and a
//! `failurePolicy: Fail` webhook rejects every object it watches. The `kf-post`
//! found on PATH here is a wrapper that runs the real `kf-post` and then sets
//! `failurePolicy: Ignore` (the same flip as the umbrella tests, whose
//! equivalence test proves it is the only difference). Users run `kf-post`
//! unchanged and keep upstream's policies.
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

/// One fenced block of the tutorial.
#[derive(Debug, Clone)]
struct Step {
    expect_fail: bool,
    script: String,
}

/// Parses ```` ```sh step=ID [expect=fail] ```` blocks; untagged blocks
/// (prerequisites the harness performs itself) are skipped.
fn parse_steps(doc: &str) -> Result<BTreeMap<String, Step>, String> {
    let mut steps = BTreeMap::new();
    let mut lines = doc.lines().enumerate();
    while let Some((no, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```sh ") else {
            continue;
        };
        let mut id = None;
        let mut expect_fail = false;
        for word in info.split_whitespace() {
            match word.split_once('=') {
                Some(("step", v)) => id = Some(v.to_string()),
                Some(("expect", "fail")) => expect_fail = true,
                _ => return Err(format!("line {}: unknown block attribute {word:?}", no + 1)),
            }
        }
        let id = id.ok_or_else(|| format!("line {}: sh block attributes without step=", no + 1))?;
        let mut script = String::new();
        loop {
            match lines.next() {
                Some((_, "```")) => break,
                Some((_, l)) => {
                    script.push_str(l);
                    script.push('\n');
                }
                None => return Err(format!("line {}: block step={id} is not closed", no + 1)),
            }
        }
        let step = Step {
            expect_fail,
            script,
        };
        if steps.insert(id.clone(), step).is_some() {
            return Err(format!("line {}: step={id} appears twice", no + 1));
        }
    }
    Ok(steps)
}

fn tutorial() -> BTreeMap<String, Step> {
    let text = std::fs::read_to_string(e2e::repo_root().join(TUTORIAL)).expect("read the tutorial");
    parse_steps(&text).unwrap_or_else(|e| panic!("{TUTORIAL}: {e}"))
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

#[test]
fn step_blocks_parse_with_their_attributes_and_errors() {
    let ok = "text\n```sh\nnot a step\n```\n```sh step=a\necho 1\necho 2\n```\n```sh step=b expect=fail\nfalse\n```\n";
    let steps = parse_steps(ok).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps["a"].script, "echo 1\necho 2\n");
    assert!(!steps["a"].expect_fail);
    assert!(steps["b"].expect_fail);
    for (doc, error) in [
        (
            "```sh step=a\nx\n```\n```sh step=a\ny\n```\n",
            "line 4: step=a appears twice",
        ),
        ("```sh step=a\nx\n", "line 1: block step=a is not closed"),
        (
            "```sh step=a expect=maybe\nx\n```\n",
            "line 1: unknown block attribute \"expect=maybe\"",
        ),
        (
            "```sh title=x\nx\n```\n",
            "line 1: unknown block attribute \"title=x\"",
        ),
    ] {
        assert_eq!(parse_steps(doc).unwrap_err(), error, "{doc}");
    }
}

/// A scratch workspace (copy of the user-facing files), a Helm home, and the
/// test-only `kf-post` wrapper directory first on PATH.
struct Story {
    label: &'static str,
    root: PathBuf,
    steps: BTreeMap<String, Step>,
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

        let bin = root.join("test-only-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let wrapper = bin.join("kf-post");
        std::fs::write(
            &wrapper,
            format!(
                "#!/usr/bin/env bash\n\
                 # TEST-ONLY (e2e/tests/story.rs): the real kf-post, then webhook failurePolicy\n\
                 # Fail -> Ignore, because this control plane runs no webhook pods.\n\
                 set -euo pipefail\n\
                 '{}' \"$@\" | sed -E 's/^( *)failurePolicy: Fail$/\\1failurePolicy: Ignore/'\n",
                e2e::kf_post_bin().display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        println!(
            "story[{label}]: TEST-ONLY: `kf-post` on PATH is {} = {} | failurePolicy Fail->Ignore \
             (no pods, so no webhook endpoints); users run kf-post unchanged",
            wrapper.display(),
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
        // The wrapper first, then .tools/bin (helm, helm3) and the inherited PATH.
        let path = std::env::join_paths(
            std::iter::once(self.root.join("test-only-bin"))
                .chain(std::env::split_paths(&e2e::kf_post_path())),
        )
        .unwrap();
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
        let mut cmd = Command::new("bash");
        cmd.args(["-euo", "pipefail", "-c", &step.script]);
        self.env(&mut cmd, cp.kubeconfig());
        let start = Instant::now();
        let out = cmd.output().expect("run bash");
        let secs = start.elapsed().as_secs_f64();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        println!(
            "story[{}]: step {id}: {secs:.1}s ({})",
            self.label,
            if out.status.success() { "ok" } else { "failed" }
        );
        assert_eq!(
            out.status.success(),
            !step.expect_fail,
            "step={id} {}\n--- script\n{}--- stdout\n{stdout}\n--- stderr\n{stderr}",
            if step.expect_fail {
                "was expected to fail but succeeded"
            } else {
                "failed"
            },
            step.script
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

/// The objects of the release's current manifest (`helm get manifest`).
fn release_keys(story: &Story, helm: &str, cp: &e2e::ControlPlane, release: &str) -> BTreeSet<Key> {
    let manifest = e2e::run_ok(story.helm(helm, cp).args(["get", "manifest", release]));
    serde_yaml::Deserializer::from_str(&manifest)
        .filter_map(|doc| {
            let value: Value = serde::Deserialize::deserialize(doc).ok()?;
            value.is_object().then(|| key_of(&value))
        })
        .collect()
}

/// The live objects behind `keys`, one `kubectl get` for all their types.
fn live(cp: &e2e::ControlPlane, keys: &BTreeSet<Key>) -> BTreeMap<Key, Value> {
    let resources: BTreeSet<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let all = resources.into_iter().collect::<Vec<_>>().join(",");
    let list = kubectl_json(cp, &["get", &all, "-A"]);
    let on_cluster: BTreeMap<Key, &Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (key_of(o), o))
        .collect();
    let mut found = BTreeMap::new();
    let mut missing = Vec::new();
    for key in keys {
        // A chart may give a cluster-scoped object a namespace (upstream's
        // ClusterTrainingRuntimes do); the API server drops it.
        let cluster_scoped = (key.0.clone(), String::new(), key.2.clone());
        match on_cluster
            .get(key)
            .or_else(|| on_cluster.get(&cluster_scoped))
        {
            Some(object) => {
                found.insert(key.clone(), (*object).clone());
            }
            None => missing.push(key),
        }
    }
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

/// Webhooks on the cluster whose failurePolicy is `Ignore`, and all webhooks.
fn webhook_policies(cp: &e2e::ControlPlane) -> (usize, usize) {
    let list = kubectl_json(
        cp,
        &[
            "get",
            "validatingwebhookconfigurations,mutatingwebhookconfigurations",
        ],
    );
    let hooks: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["webhooks"].as_array().into_iter().flatten())
        .collect();
    let ignore = hooks
        .iter()
        .filter(|h| h["failurePolicy"] == "Ignore")
        .count();
    (ignore, hooks.len())
}

fn crds(cp: &e2e::ControlPlane) -> BTreeSet<String> {
    names(cp, "crd")
        .into_iter()
        .map(|n| n.trim_start_matches('/').to_string())
        .collect()
}

/// Step 1's checks: the notebooks-trainer preset and nothing else.
fn assert_notebooks_trainer(story: &Story, helm: &str, cp: &e2e::ControlPlane) {
    let deployments = names(cp, "deployments");
    for want in [
        "kubeflow/notebook-controller-deployment",
        "kubeflow/jupyter-web-app-deployment",
        "kubeflow/volumes-web-app-deployment",
        "kubeflow/tensorboard-controller-deployment",
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
    let in_release: BTreeSet<String> = release_keys(story, helm, cp, "kubeflow")
        .into_iter()
        .filter(|k| k.0 == "deployment.apps")
        .map(|(_, ns, name)| format!("{ns}/{name}"))
        .collect();
    assert_eq!(
        deployments, in_release,
        "Deployments on the cluster vs the release"
    );
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
    for unwanted in [
        "experiments.kubeflow.org",
        "scheduledworkflows.kubeflow.org",
        "workflows.argoproj.io",
        "inferenceservices.serving.kserve.io",
    ] {
        assert!(
            !crds.contains(unwanted),
            "CRD {unwanted} in notebooks-trainer"
        );
    }
    e2e::eventually(
        "every CRD Established",
        std::time::Duration::from_secs(60),
        || {
            let list = kubectl_json(cp, &["get", "crd"]);
            let pending: Vec<String> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|crd| {
                    !crd["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                })
                .map(|crd| crd["metadata"]["name"].as_str().unwrap().to_string())
                .collect();
            if pending.is_empty() {
                Ok(())
            } else {
                Err(format!("not Established: {pending:?}"))
            }
        },
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
    let (ignore, total) = webhook_policies(cp);
    println!("story[{}]: TEST-ONLY: {ignore} of {total} admission webhooks run with failurePolicy Ignore", story.label);
}

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

/// Steps 5: snapshot, the broken change fails, the rollback restores the snapshot.
fn break_and_roll_back(
    story: &Story,
    helm: &str,
    cp: &e2e::ControlPlane,
    break_step: &str,
    rollback_step: &str,
) {
    let keys = release_keys(story, helm, cp, "kubeflow");
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
    let broken = live(cp, &keys);
    let touched = keys
        .iter()
        .filter(|k| content(&broken[*k]) != before[*k])
        .count();
    println!(
        "story[{}]: the failed upgrade changed {touched} of {} objects before the API server rejected it",
        story.label,
        keys.len()
    );

    story.run(rollback_step, cp);
    let after_keys = release_keys(story, helm, cp, "kubeflow");
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
    let history = e2e::run_ok(
        story
            .helm(helm, cp)
            .args(["status", "kubeflow", "-o", "json"]),
    );
    assert!(history.contains("\"status\":\"deployed\""), "{history}");
}

/// Steps 1-5 and 7 with Helm 4 and the kf-post postrenderer/v1 plugin.
#[test]
fn story_1_to_5_and_7_helm4() {
    let story = Story::new("helm4");
    let cp = e2e::ControlPlane::start();

    // 1. notebooks-trainer.
    story.run("setup", &cp);
    story.run("install", &cp);
    assert_notebooks_trainer(&story, "helm", &cp);

    // 2. Resources and storage through values.
    story.run("values-file", &cp);
    story.run("values", &cp);
    assert_tuned(&cp);

    // 3. Katib, without recreating anything.
    let before_katib = uids(&live(&cp, &release_keys(&story, "helm", &cp, "kubeflow")));
    story.run("katib", &cp);
    let deployments = names(&cp, "deployments");
    for want in [
        "kubeflow/katib-controller",
        "kubeflow/katib-db-manager",
        "kubeflow/katib-ui",
    ] {
        assert!(
            deployments.contains(want),
            "{want} missing after enabling katib: {deployments:?}"
        );
    }
    assert!(
        crds(&cp).contains("experiments.kubeflow.org"),
        "Katib CRDs missing"
    );
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
        let ns = &kubectl_json(&cp, &["get", "namespace", profile])["metadata"];
        assert_eq!(ns["annotations"]["owner"], owner, "{ns}");
        for (label, value) in [
            ("app.kubernetes.io/part-of", "kubeflow-profile"),
            ("pipelines.kubeflow.org/enabled", "true"),
            ("katib.kubeflow.org/metrics-collector-injection", "enabled"),
            ("istio-injection", "enabled"),
        ] {
            assert_eq!(
                ns["labels"][label], value,
                "{profile}: {label} in {}",
                ns["labels"]
            );
        }
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
    // Per-profile policies (ns-owner-access-istio) come from the profiles
    // controller at run time; without pods there is none to check (tutorial).
    assert!(names(&cp, "deployments").contains("kubeflow/ml-pipeline"));
    assert_eq!(
        pvc_size(&cp, "kubeflow", "mysql-pv-claim"),
        "30Gi",
        "step 2's size"
    );

    // 5. A broken change and the rollback.
    break_and_roll_back(&story, "helm", &cp, "break", "rollback");

    // 7. Uninstall keeps CRDs, PVCs and custom resources.
    let crds_before = crds(&cp);
    let pvcs_before = names(&cp, "pvc");
    assert!(pvcs_before.len() >= 3, "{pvcs_before:?}");
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
    // What the tutorial warns about: rendered profile namespaces go with the release.
    e2e::eventually(
        "profile namespaces deleted",
        std::time::Duration::from_secs(120),
        || {
            let left: Vec<String> = names(&cp, "namespaces")
                .into_iter()
                .filter(|n| n == "/team-a" || n == "/team-b")
                .collect();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("still there: {left:?}"))
            }
        },
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
    break_and_roll_back(&story, "helm3", &cp, "helm3-break", "helm3-rollback");
}

/// Step 6: the kserve-edge preset as its own release on a second control
/// plane (a separate test, so it runs in parallel with steps 1-5 and 7).
#[test]
fn story_6_kserve_edge() {
    let story = Story::new("edge");
    let edge = e2e::ControlPlane::start();
    story.run("setup", &edge);
    story.run("edge", &edge);
    let deployments = names(&edge, "deployments");
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
