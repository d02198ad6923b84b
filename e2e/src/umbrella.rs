//! Shared helpers of the umbrella chart tests (`umbrella_*.rs`): a private
//! copy of `charts/` with the umbrella's dependencies built (so tests never
//! write into the working tree other tools use), real Helm 4, and a minimal
//! reader for Helm's rendered stream.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub use crate::{helm_bin, repo_root, run, run_ok};

/// Helm with config/cache/data/plugins isolated under `home`.
pub fn helm_in(home: &Path) -> Command {
    isolated(Command::new(helm_bin()), home)
}

fn isolated(mut cmd: Command, home: &Path) -> Command {
    for (var, sub) in [
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_DATA_HOME", "data"),
        ("HELM_PLUGINS", "plugins"),
    ] {
        cmd.env(var, home.join(sub));
    }
    cmd
}

/// Copy of `charts/` (process-wide, built once) with `helm dependency update`
/// run in `kubeflow/`. Returns the umbrella chart directory.
pub fn umbrella_chart() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let scratch =
            std::env::temp_dir().join(format!("kfh-umbrella-charts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).unwrap();
        let mut cp = Command::new("cp");
        cp.arg("-r").arg(repo_root().join("charts")).arg(&scratch);
        run_ok(&mut cp);
        let chart = scratch.join("charts/kubeflow");
        build_dependencies(&chart, &scratch.join("helm-home"));
        chart
    })
}

/// `helm dependency update` of an umbrella chart in a copy of `charts/` (its
/// dependencies are `file://../<chart>`), from scratch, with its own Helm home.
pub fn build_dependencies(umbrella: &Path, helm_home: &Path) {
    let _ = std::fs::remove_dir_all(umbrella.join("charts"));
    let _ = std::fs::remove_file(umbrella.join("Chart.lock"));
    let mut dep = helm_in(helm_home);
    dep.args(["dependency", "update", "--skip-refresh"])
        .arg(umbrella);
    run_ok(&mut dep);
}

/// What `presets/production.yaml` needs from its user (no safe default exists):
/// the administrator's e-mail and bcrypt password hash for Dex, and the OIDC
/// client secret Dex and oauth2-proxy share.
pub const PRODUCTION_INPUTS: &[&str] = &[
    "--set-string",
    "dex.settings.staticUserEmail=admin@corp.example",
    "--set-string",
    "dex.credentials.userPasswordHash=$2y$12$O4hQ5cXkFZ4pJzWq0Cq0uO3M1nC6lJ9pZk6cY3m1Qm7w8f5mZbQ2a",
    "--set-string",
    "global.credentials.oidcClientSecret=0c2e8e6b1f3a4d5c9e7f8a6b5c4d3e2f",
];

/// Upstream's published demo credentials (base64 as in upstream's Secrets, or
/// plain for stringData): none may appear in a `generate`-mode render.
pub const DEMO_CREDENTIALS: &[&str] = &[
    "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72",
    "cFVCbkJPWTgwU25YZ2ppYlRZTTlaV056WTJ4cmVOR1Fvaw==",
    "N2QxNmZlZTkyZjhkMTFiODk0MGIwODFiM2Y4YjhhY2I=",
    "dGVzdA==",
    "minio123",
    "user@example.com",
];

pub fn preset(name: &str) -> PathBuf {
    repo_root().join("presets").join(format!("{name}.yaml"))
}

/// Helm home of the umbrella copy (its dependencies are built there).
fn umbrella_home() -> PathBuf {
    umbrella_chart()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("helm-home")
}

/// Helm 4 with the umbrella copy's Helm home.
pub fn umbrella_helm() -> Command {
    helm_in(&umbrella_home())
}

/// `helm template kubeflow <umbrella> ARGS…` → Ok(stdout) or Err(stderr).
pub fn template(args: &[&str]) -> Result<String, String> {
    template_with(umbrella_helm(), args)
}

/// The same with Helm 3 (`.tools/bin/helm3`) and the umbrella copy's Helm home.
pub fn template3(args: &[&str]) -> Result<String, String> {
    let helm3 = Command::new(crate::tools_bin().join("helm3"));
    template_with(isolated(helm3, &umbrella_home()), args)
}

fn template_with(mut cmd: Command, args: &[&str]) -> Result<String, String> {
    cmd.args(["template", "kubeflow"])
        .arg(umbrella_chart())
        .args(args);
    let out = run(&mut cmd);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// NOTES.txt as `helm install --dry-run=client` prints it for ARGS… (no cluster).
pub fn notes(args: &[&str]) -> String {
    let mut cmd = umbrella_helm();
    // Client-side dry run: no API server is contacted.
    cmd.env("KUBECONFIG", umbrella_home().join("no-kubeconfig"));
    cmd.args(["install", "kubeflow", "--dry-run=client"])
        .arg(umbrella_chart())
        .args(args);
    let out = run_ok(&mut cmd);
    let start = out.find("\nNOTES:\n").expect("helm printed no NOTES");
    out[start..].to_string()
}

/// One document of a rendered stream: the `# Source:` path, kind, namespace
/// (written in the object; empty if none) and name, and its text.
#[derive(Debug, Clone)]
pub struct Doc {
    pub source: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The leading comments (Helm's `# Source:`) and the body, as written.
    pub text: String,
}

/// The documents of Helm's output, read by the tests' one stream reader
/// (kf-post's, see [`crate::yaml`]; CRD schemas are not parsed, only kept in
/// the text). Panics if the stream does not read.
pub fn docs(stream: &str) -> Vec<Doc> {
    let parsed =
        kf_post::stream::parse(stream.as_bytes(), kf_post::stream::ParseOptions::default())
            .unwrap_or_else(|e| panic!("the YAML stream does not read: {e}"));
    let text = |d: Option<&str>| d.unwrap_or_default().to_string();
    parsed
        .documents
        .iter()
        .map(|d| Doc {
            // Helm's comment only (`Document::source` also takes Helm 4's
            // file-name annotation, which a post-renderer's output may carry).
            source: text(
                d.leading_comments()
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("# Source:").map(str::trim)),
            ),
            kind: text(d.kind()),
            namespace: text(d.namespace()),
            name: text(d.name()),
            text: format!("{}{}", d.leading_comments(), d.raw()),
        })
        .collect()
}

/// Umbrella keys (aliases) whose templates appear in the rendered stream.
pub fn rendered_components(stream: &str) -> std::collections::BTreeSet<String> {
    docs(stream)
        .iter()
        .filter_map(|d| {
            d.source
                .strip_prefix("kubeflow/charts/")
                .and_then(|rest| rest.split('/').next())
                .map(str::to_string)
        })
        .collect()
}

/// (chart name, umbrella key, tags) from charts/kubeflow/Chart.yaml.
pub fn chart_dependencies() -> Vec<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(repo_root().join("charts/kubeflow/Chart.yaml")).unwrap();
    let mut deps = Vec::new();
    let mut current: Option<(String, String, Vec<String>)> = None;
    let deps_at = text
        .find("\ndependencies:\n")
        .expect("Chart.yaml has dependencies");
    for line in text[deps_at..].lines() {
        if let Some(n) = line.strip_prefix("  - name: ") {
            if let Some(d) = current.take() {
                deps.push(d);
            }
            current = Some((n.trim().to_string(), String::new(), Vec::new()));
        } else if let Some(d) = current.as_mut() {
            if let Some(a) = line.strip_prefix("    alias: ") {
                d.1 = a.trim().to_string();
            } else if let Some(t) = line.strip_prefix("    tags: ") {
                d.2 = t
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect();
            }
        }
    }
    deps.extend(current);
    deps
}

/// A local control plane (emulated node side: pods run, webhooks answer once
/// Ready) whose Helm 4 home has the kf-post post-renderer plugin, so tests run
/// `helm … --post-renderer kf-post` exactly as a user does.
pub struct Cluster {
    pub cp: crate::ControlPlane,
}

/// The post-renderer the umbrella tests pass to Helm 4: the kf-post plugin
/// (post-renderer/helm-plugin) running the kf-post built from this tree.
pub const POST_RENDERER: &str = "kf-post";

/// What every install, upgrade and rollback of the umbrella tests passes, as
/// a user would: the kf-post post-renderer and `--wait`.
pub const KF_POST_WAIT: &[&str] = &[
    "--post-renderer",
    POST_RENDERER,
    "--wait",
    "--timeout",
    "15m",
];

impl Cluster {
    pub fn start() -> Cluster {
        let cluster = Cluster {
            cp: crate::ControlPlane::start(),
        };
        crate::install_kf_post_plugin(&cluster.cp);
        cluster
    }

    pub fn helm(&self) -> Command {
        crate::helm4(&self.cp)
    }

    pub fn kubectl(&self) -> Command {
        crate::kubectl(&self.cp)
    }

    /// Size in bytes of release revision `rev`'s storage Secret: the whole
    /// object as stored (what the API server's 1 MiB limit applies to) and the
    /// base64 `release` payload within it.
    pub fn release_secret_size(&self, release: &str, rev: u32) -> (usize, usize) {
        let name = format!("sh.helm.release.v1.{release}.v{rev}");
        let json = run_ok(
            self.kubectl()
                .args(["get", "secret", &name, "-n", "default", "-o", "json"]),
        );
        let payload = run_ok(self.kubectl().args([
            "get",
            "secret",
            &name,
            "-n",
            "default",
            "-o",
            "jsonpath={.data.release}",
        ]));
        (json.len(), payload.len())
    }

    /// `kind/namespace/name` of every object of a type in the cluster.
    pub fn names(&self, resource: &str) -> BTreeSet<String> {
        run_ok(self.kubectl().args([
            "get",
            resource,
            "-A",
            "-o",
            "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}",
        ]))
        .lines()
        .map(str::to_string)
        .collect()
    }
}

/// `(kind, namespace, name)` → document text, for a stored release manifest.
pub fn manifest_objects(manifest: &str) -> BTreeMap<(String, String, String), Doc> {
    docs(manifest)
        .into_iter()
        .map(|d| ((d.kind.clone(), d.namespace.clone(), d.name.clone()), d))
        .collect()
}
