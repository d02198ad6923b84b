//! kf-post under the real Helm 4 (as the `postrenderer/v1` plugin in
//! `helm-plugin/`) and Helm 3 (`--post-renderer kf-post`, found on PATH), over
//! two third-party-style fixture charts (`tests/fixtures/charts/`) and one of
//! our generated charts. Needs `.tools/bin/helm` and `.tools/bin/helm3`
//! (`scripts/bootstrap`); fails without them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kf_post::stream::{parse, ParseOptions};
use serde_yaml::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn tool(name: &str) -> PathBuf {
    let path = repo().join(".tools/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/bootstrap to build the pinned Helm 4 and Helm 3",
        path.display()
    );
    path
}

/// A Helm home of its own (plugins, config, cache) with kf-post on PATH.
struct Env {
    dir: PathBuf,
}

impl Env {
    fn new(tag: &str) -> Env {
        let dir = std::env::temp_dir().join(format!("kf-post-helm-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Env { dir }
    }

    fn command(&self, helm: &Path) -> Command {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_kf-post")).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new(helm);
        c.env("PATH", path)
            .env("HELM_CONFIG_HOME", self.dir.join("config"))
            .env("HELM_DATA_HOME", self.dir.join("data"))
            .env("HELM_CACHE_HOME", self.dir.join("cache"))
            // `helm plugin install` of a local directory links it under the
            // data home; point Helm 4's plugin search path there too. Helm 3
            // gets a directory of its own: it refuses to start when it finds
            // a Helm 4 (apiVersion: v1) plugin.
            .env(
                "HELM_PLUGINS",
                match helm.file_name().and_then(|n| n.to_str()) {
                    Some("helm") => self.dir.join("data/plugins"),
                    _ => self.dir.join("helm3-plugins"),
                },
            )
            .current_dir(repo());
        c
    }

    fn run(&self, helm: &Path, args: &[&str]) -> (bool, String, String) {
        let out = self.command(helm).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Helm 4 with the plugin installed, and Helm 3, each with a --post-renderer
/// argument that selects kf-post.
fn helms(tag: &str) -> (Env, Vec<(&'static str, PathBuf)>) {
    let env = Env::new(tag);
    let helm4 = tool("helm");
    let (ok, out, err) = env.run(&helm4, &["plugin", "install", "post-renderer/helm-plugin"]);
    assert!(ok, "helm plugin install failed: {out}{err}");
    let (ok, out, _) = env.run(&helm4, &["plugin", "list"]);
    assert!(
        ok && out.contains("kf-post") && out.contains("postrenderer/v1"),
        "{out}"
    );
    (env, vec![("helm4", helm4), ("helm3", tool("helm3"))])
}

const CONFIG: &str = "apiVersion: kf-post.kubeflow.org/v1alpha1
kind: PostRenderConfig
metadata: {name: test}
spec:
  namespace: {map: {widget-system: kubeflow}}
  images: {mirrors: {docker.io: mirror.example/hub, ghcr.io: mirror.example/ghcr}, pullSecrets: [regcred]}
  labels: {labels: {team: ml}}
  security: {preset: hardened}
  helm4: {dropAggregatedRules: true}
";

/// Documents of a rendered stream keyed by kind/namespace/name.
fn objects(stream: &str) -> BTreeMap<String, Value> {
    parse(stream.as_bytes(), ParseOptions { full_crds: true })
        .unwrap_or_else(|e| panic!("helm output does not parse: {e}\n{stream}"))
        .documents
        .into_iter()
        .map(|d| {
            let key = format!(
                "{}/{}/{}",
                d.kind().unwrap(),
                d.namespace().unwrap_or("-"),
                d.name().unwrap()
            );
            (key, d.value().clone())
        })
        .collect()
}

fn at<'a>(objects: &'a BTreeMap<String, Value>, key: &str, path: &str) -> Option<&'a Value> {
    let v = objects
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", objects.keys().collect::<Vec<_>>()));
    kf_post::transforms::split_path(path)
        .iter()
        .try_fold(v, |v, k| match k.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(k.as_str()),
        })
}

fn s(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

#[test]
fn third_party_and_own_charts_under_helm_4_and_3() {
    let (env, helms) = helms("charts");
    let config = env.file("config.yaml", CONFIG);
    let mut outputs: BTreeMap<&str, Vec<BTreeMap<String, Value>>> = BTreeMap::new();
    for (name, helm) in &helms {
        let render = |chart: &str, extra: &[&str]| {
            let mut args = vec![
                "template",
                "rel",
                chart,
                "--namespace",
                "apps",
                "--kube-version",
                "1.35.0",
                "--include-crds",
                "--post-renderer",
                "kf-post",
            ];
            args.extend_from_slice(extra);
            let (ok, out, err) = env.run(helm, &args);
            assert!(ok, "{name} template {chart} {extra:?} failed: {err}");
            assert!(
                !out.contains("PostRenderConfig"),
                "{name}: config document leaked:\n{out}"
            );
            assert!(
                !out.contains("postrenderer.helm.sh/postrender-filename"),
                "{name}: Helm's annotation leaked"
            );
            objects(&out)
        };
        let with_config = [
            "--post-renderer-args",
            "--config",
            "--post-renderer-args",
            config.as_str(),
        ];

        // Bitnami-style app chart, configured by file.
        let web = render("post-renderer/tests/fixtures/charts/webapp", &with_config);
        let d = "Deployment/apps/rel-webapp";
        assert_eq!(
            s(at(&web, d, "spec.template.spec.containers.0.image")),
            Some("mirror.example/hub/bitnami/nginx:1.27.0"),
            "{name}"
        );
        assert_eq!(
            s(at(&web, d, "spec.template.spec.containers.1.image")),
            Some("mirror.example/hub/prom/nginx-exporter:1.3.0"),
            "{name}"
        );
        assert_eq!(
            s(at(&web, d, "spec.template.spec.imagePullSecrets.0.name")),
            Some("regcred")
        );
        assert_eq!(s(at(&web, d, "metadata.labels.team")), Some("ml"));
        assert_eq!(
            at(&web, d, "spec.selector.matchLabels.team"),
            None,
            "{name}: selector touched"
        );
        assert_eq!(
            at(&web, d, "spec.template.spec.securityContext.runAsNonRoot"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            s(at(&web, "Service/apps/rel-webapp", "metadata.labels.team")),
            Some("ml")
        );
        assert!(
            web.contains_key("NetworkPolicy/apps/kf-post-default-deny"),
            "{name}: {:?}",
            web.keys()
        );

        // The same chart configured only through its values (in-stream config).
        let by_values = render(
            "post-renderer/tests/fixtures/charts/webapp",
            &["--set", "kfPost.labels.labels.team=from-values"],
        );
        assert_eq!(
            s(at(&by_values, d, "metadata.labels.team")),
            Some("from-values"),
            "{name}"
        );
        assert_eq!(
            s(at(&by_values, d, "spec.template.spec.containers.0.image")),
            Some("docker.io/bitnami/nginx:1.27.0")
        );

        // Operator chart: own namespace, CRDs, webhook, aggregated role.
        let op = render("post-renderer/tests/fixtures/charts/operator", &with_config);
        assert!(
            !op.keys().any(|k| k.starts_with("Namespace/")),
            "{name}: source Namespace kept: {:?}",
            op.keys()
        );
        assert!(
            op.contains_key("Deployment/kubeflow/widget-operator"),
            "{name}: {:?}",
            op.keys()
        );
        assert_eq!(
            s(at(
                &op,
                "Deployment/kubeflow/widget-operator",
                "spec.template.spec.containers.0.image"
            )),
            Some("mirror.example/ghcr/example/widget-operator:v0.4.0")
        );
        assert_eq!(
            s(at(
                &op,
                "ClusterRoleBinding/-/widget-operator",
                "subjects.0.namespace"
            )),
            Some("kubeflow")
        );
        let hook = "ValidatingWebhookConfiguration/-/widget-validating";
        assert_eq!(
            s(at(&op, hook, "webhooks.0.clientConfig.service.namespace")),
            Some("kubeflow")
        );
        assert_eq!(
            s(at(
                &op,
                hook,
                "metadata.annotations.cert-manager\\.io/inject-ca-from"
            )),
            Some("kubeflow/widget-webhook-cert")
        );
        assert_eq!(
            s(at(
                &op,
                "Certificate/kubeflow/widget-webhook-cert",
                "spec.dnsNames.1"
            )),
            Some("widget-webhook.kubeflow.svc.cluster.local")
        );
        assert_eq!(
            at(&op, "ClusterRole/-/widget-admin", "rules"),
            None,
            "{name}: aggregated rules kept"
        );
        assert!(at(&op, "ClusterRole/-/widget-operator", "rules").is_some());
        assert!(
            op.contains_key("Gadget/-/default-gadget"),
            "{name}: cluster-scoped custom resource got a namespace"
        );
        assert!(at(
            &op,
            "CustomResourceDefinition/-/widgets.example.com",
            "spec.versions.0.schema"
        )
        .is_some());
        let crd_label = s(at(
            &op,
            "CustomResourceDefinition/-/widgets.example.com",
            "metadata.labels.team",
        ));
        assert_eq!(
            crd_label,
            if *name == "helm4" { None } else { Some("ml") },
            "{name}: crds/ post-rendering"
        );
        assert!(
            op.contains_key("NetworkPolicy/kubeflow/widget-webhook-webhook"),
            "{name}: {:?}",
            op.keys()
        );

        // One of our generated charts, configured through its kfPost values.
        let ours = render(
            "charts/notebook-controller",
            &["--set", "kfPost.labels.labels.team=ours"],
        );
        // Our charts render their CRDs from templates (Helm 4 does not hand
        // a chart's crds/ directory to post-renderers), so every object,
        // CRDs included, reaches kf-post and is labelled under both Helms.
        let crd = "CustomResourceDefinition/-/notebooks.kubeflow.org";
        assert!(ours.contains_key(crd), "{name}: {:?}", ours.keys());
        let unlabelled: Vec<_> = ours
            .iter()
            .filter(|(_, v)| v["metadata"]["labels"]["team"].as_str() != Some("ours"))
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(unlabelled, Vec::<&str>::new(), "{name}");
        assert!(ours.len() > 5, "{name}: {:?}", ours.keys());

        outputs.insert(name, vec![web, by_values, op, ours]);
    }
    // Both Helm versions hand kf-post the same objects and get the same back
    // (formatting differs: Helm 4 re-serialises the post-rendered stream).
    for (i, (a, b)) in outputs["helm4"].iter().zip(&outputs["helm3"]).enumerate() {
        let keys = |m: &BTreeMap<String, Value>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(a),
            keys(b),
            "render {i}: Helm 4 and Helm 3 objects differ"
        );
        // CRDs from crds/ differ by design (see above).
        for (k, v) in a
            .iter()
            .filter(|(k, _)| !k.starts_with("CustomResourceDefinition/"))
        {
            assert!(
                v == &b[k],
                "render {i}: {k} differs:\nhelm4: {}\nhelm3: {}",
                serde_yaml::to_string(v).unwrap(),
                serde_yaml::to_string(&b[k]).unwrap()
            );
        }
    }
}

#[test]
fn errors_and_explain_reach_the_user() {
    let (env, helms) = helms("errors");
    let bad = env.file("bad.yaml", "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec: {labels: {lables: {}}}\n");
    let good = env.file("good.yaml", CONFIG);
    for (name, helm) in &helms {
        let chart = "post-renderer/tests/fixtures/charts/webapp";
        let (ok, out, err) = env.run(
            helm,
            &[
                "template",
                "rel",
                chart,
                "--post-renderer",
                "kf-post",
                "--post-renderer-args",
                "--config",
                "--post-renderer-args",
                &bad,
            ],
        );
        assert!(!ok, "{name}: bad config accepted:\n{out}");
        assert!(out.is_empty(), "{name}: output despite the error:\n{out}");
        let message = "kf-post: config: spec.labels.lables: unknown field `lables`";
        assert!(err.contains(message), "{name}: stderr a pipe: {err}");
        // The bad config again, with Helm's stderr as given.
        let rejected_with_stderr = |stderr: std::process::Stdio| {
            let status = env
                .command(helm)
                .args(["template", "rel", chart, "--post-renderer", "kf-post"])
                .args([
                    "--post-renderer-args",
                    "--config",
                    "--post-renderer-args",
                    &bad,
                ])
                .stdout(std::process::Stdio::null())
                .stderr(stderr)
                .status()
                .unwrap();
            assert!(!status.success(), "{name}: bad config accepted");
        };
        // Helm's stderr a regular file, truncated (`2>log`) or appended to
        // (`2>>log`): the message is in the file too, after Helm's own line
        // (Helm 4's plugin appends it once Helm has exited).
        for append in [false, true] {
            let log = env.dir.join(format!("stderr-{name}-{append}.log"));
            std::fs::write(&log, "before\n").unwrap();
            let file = std::fs::OpenOptions::new()
                .write(true)
                .append(append)
                .truncate(!append)
                .open(&log)
                .unwrap();
            rejected_with_stderr(file.into());
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            let text = loop {
                let text = std::fs::read_to_string(&log).unwrap();
                if text.contains(message) || std::time::Instant::now() > deadline {
                    break text;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            };
            assert!(
                text.starts_with("before\n") == append
                    && text.contains(message)
                    && text.contains("Error:"),
                "{name}: stderr a file (append: {append}): {text:?}"
            );
            let helm_line = text.find("Error:").unwrap();
            // Written at Helm's offset, an earlier message would be overwritten.
            assert!(
                *name == "helm3" || append || text.find(message).unwrap() > helm_line,
                "{name}: the message must not be overwritten by Helm's: {text:?}"
            );
        }

        // Helm's stderr a socket (a service manager's journal, a supervisor):
        // the plugin cannot reopen it, kf-post takes Helm's own descriptor.
        let (mut ours, helms_end) = std::os::unix::net::UnixStream::pair().unwrap();
        rejected_with_stderr(std::os::fd::OwnedFd::from(helms_end).into());
        // The Command (and with it the other end) is gone: read to the end.
        let mut text = String::new();
        std::io::Read::read_to_string(&mut ours, &mut text).unwrap();
        assert!(
            text.contains(message) && text.contains("Error:"),
            "{name}: stderr a socket: {text:?}"
        );

        // Helm 3 drops a successful post-renderer's stderr, so the report
        // goes to a file; with Helm 4 the plugin also forwards stderr.
        let report = env.dir.join(format!("explain-{name}.txt"));
        let report_arg = report.to_str().unwrap();
        let (ok, _, err) = env.run(
            helm,
            &[
                "template",
                "rel",
                chart,
                "--post-renderer",
                "kf-post",
                "--post-renderer-args",
                "--config",
                "--post-renderer-args",
                &good,
                "--post-renderer-args",
                "--explain-file",
                "--post-renderer-args",
                report_arg,
            ],
        );
        assert!(ok, "{name}: {err}");
        let explain = std::fs::read_to_string(&report).unwrap();
        assert!(
            explain.contains("Deployment/rel-webapp:")
                && explain.contains("  labels: set metadata.labels.team=ml"),
            "{name}: {explain}"
        );
        if *name == "helm4" {
            let (ok, _, err) = env.run(
                helm,
                &[
                    "template",
                    "rel",
                    chart,
                    "--post-renderer",
                    "kf-post",
                    "--post-renderer-args",
                    "--config",
                    "--post-renderer-args",
                    &good,
                    "--post-renderer-args",
                    "--explain",
                ],
            );
            assert!(
                ok && err.contains("  labels: set metadata.labels.team=ml"),
                "{name}: {err}"
            );
        }
    }
}
