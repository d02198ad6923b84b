//! The Argo CD config-management plugin (`argocd/`), exercised the way
//! argocd-cmp-server runs it: the commands from `argocd/plugin.yaml`, in the
//! Application's directory of a fresh copy of the repository, with only the
//! environment the CMP server passes (build env, `ARGOCD_ENV_*`,
//! `ARGOCD_APP_PARAMETERS` and `PARAM_*` encoded as Argo CD's
//! `ApplicationSourcePluginParameters.Environ()` does). `generate` must print
//! exactly `helm template … | kf-post` for the same values, and nothing at all
//! when a step fails. The Application examples, the sidecar patch and the Helm
//! values snippet are checked against Argo CD's documented fields.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::json;
use serde_yaml::Value;

use e2e::repo_root;

// ---- harness ------------------------------------------------------------

use e2e::{helm_bin, kf_post_bin, run, run_ok, Scratch};

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A fresh copy of a repository, as the CMP server unpacks it per request.
/// `Fixture` is argocd/testdata/repo; `Project` is this working tree without
/// git-ignored files (what a push of it would hold).
enum Source {
    Fixture,
    Project,
}

fn fresh_repo(source: &Source, into: &Path) -> PathBuf {
    let dest = into.join("repo");
    std::fs::create_dir_all(&dest).unwrap();
    match source {
        Source::Fixture => copy_tree(&repo_root().join("argocd/testdata/repo"), &dest),
        Source::Project => {
            for (rel, bytes) in project_snapshot() {
                std::fs::create_dir_all(dest.join(rel).parent().unwrap()).unwrap();
                std::fs::write(dest.join(rel), bytes).unwrap();
            }
        }
    }
    dest
}

/// The working tree's files (without git-ignored ones), read once per test
/// run, so that the plugin's copy and the reference's copy agree even while
/// the working tree is being edited.
fn project_snapshot() -> &'static [(PathBuf, Vec<u8>)] {
    static SNAPSHOT: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let mut ls = Command::new("git");
        ls.args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(repo_root());
        run_ok(&mut ls)
            .into_bytes()
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|rel| PathBuf::from(std::str::from_utf8(rel).unwrap()))
            // A tracked file deleted in the working tree is not in the checkout either.
            .filter_map(|rel| std::fs::read(repo_root().join(&rel)).ok().map(|b| (rel, b)))
            .collect()
    })
}

fn yaml_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn plugin_config() -> Value {
    yaml_file(&repo_root().join("argocd/plugin.yaml"))
}

/// `command` + `args` of one command in plugin.yaml (`spec.init`, ...).
fn plugin_command(path: &[&str]) -> Vec<String> {
    let mut node = &plugin_config()["spec"];
    for key in path {
        node = &node[*key];
    }
    let list = |v: &Value| -> Vec<String> {
        v.as_sequence()
            .map(|s| s.iter().map(|i| i.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut argv = list(&node["command"]);
    argv.extend(list(&node["args"]));
    assert!(
        !argv.is_empty(),
        "plugin.yaml spec.{} has no command",
        path.join(".")
    );
    argv
}

// ---- Argo CD's encodings --------------------------------------------------

/// One `spec.source.plugin.parameters` item of an Application.
#[derive(Clone)]
enum Param {
    Str(&'static str, String),
    Array(&'static str, Vec<String>),
    Map(&'static str, Vec<(String, String)>),
}

/// Argo CD's `escaped()`: upper-case, anything but [A-Z0-9_] becomes '_'.
fn escaped(name: &str) -> String {
    name.to_uppercase()
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `ApplicationSourcePluginParameters.Environ()`: the JSON array (Go marshals
/// a nil list as `null`) plus one PARAM_* variable per value.
fn parameters_env(params: &[Param]) -> Vec<(String, String)> {
    let json: Vec<serde_json::Value> = params
        .iter()
        .map(|p| match p {
            Param::Str(n, s) => json!({"name": n, "string": s}),
            Param::Array(n, a) => json!({"name": n, "array": a}),
            Param::Map(n, m) => {
                let map: serde_json::Map<String, serde_json::Value> =
                    m.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                json!({"name": n, "map": map})
            }
        })
        .collect();
    let encoded = if params.is_empty() {
        "null".to_string()
    } else {
        serde_json::to_string(&json).unwrap()
    };
    let mut env = vec![("ARGOCD_APP_PARAMETERS".to_string(), encoded)];
    env.extend(params_only_env(params));
    env
}

fn params_only_env(params: &[Param]) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for p in params {
        match p {
            Param::Str(n, s) => env.push((format!("PARAM_{}", escaped(n)), s.clone())),
            Param::Array(n, a) => {
                for (i, v) in a.iter().enumerate() {
                    env.push((format!("PARAM_{}_{i}", escaped(n)), v.clone()));
                }
            }
            Param::Map(n, m) => {
                for (k, v) in m {
                    env.push((format!("PARAM_{}_{}", escaped(n), escaped(k)), v.clone()));
                }
            }
        }
    }
    env
}

/// How one Application asks the plugin to render.
#[derive(Clone)]
struct AppRequest {
    app_name: String,
    namespace: String,
    source_path: String,
    /// `spec.source.plugin.env`, sent as ARGOCD_ENV_<name>.
    plugin_env: Vec<(String, String)>,
    params: Vec<Param>,
    /// Argo CD before 2.6 sent PARAM_* only; the plugin must cope without JSON.
    json_params: bool,
}

const KUBE_VERSION: &str = "1.33.4";
const KUBE_API_VERSIONS: &str =
    "v1,apps/v1,apps/v1/Deployment,example.org/v1,example.org/v1/Widget";

impl AppRequest {
    fn new(app_name: &str, namespace: &str, source_path: &str, params: Vec<Param>) -> AppRequest {
        AppRequest {
            app_name: app_name.into(),
            namespace: namespace.into(),
            source_path: source_path.into(),
            plugin_env: Vec::new(),
            params,
            json_params: true,
        }
    }

    /// The environment of an init/generate command, and nothing else: the CMP
    /// server passes its own environment (PATH, HOME, Helm homes from the
    /// sidecar image) plus the request's entries, dropping empty values.
    fn command(&self, argv: &[String], repo: &Path, home: &Path) -> Command {
        let tools = home.join("bin");
        std::fs::create_dir_all(&tools).unwrap();
        for (name, bin) in [
            ("helm", helm_bin()),
            ("kf-post", kf_post_bin().to_path_buf()),
            ("kubeflow-cmp", repo_root().join("argocd/cmp/kubeflow-cmp")),
        ] {
            let link = tools.join(name);
            if !link.exists() {
                std::os::unix::fs::symlink(bin, link).unwrap();
            }
        }
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(repo.join(&self.source_path))
            .env_clear();
        let mut env: Vec<(String, String)> = vec![
            (
                "PATH".into(),
                format!("{}:/usr/local/bin:/usr/bin:/bin", tools.display()),
            ),
            ("HOME".into(), home.display().to_string()),
            ("TMPDIR".into(), home.display().to_string()),
            (
                "HELM_CACHE_HOME".into(),
                home.join("helm/cache").display().to_string(),
            ),
            (
                "HELM_CONFIG_HOME".into(),
                home.join("helm/config").display().to_string(),
            ),
            (
                "HELM_DATA_HOME".into(),
                home.join("helm/data").display().to_string(),
            ),
            ("ARGOCD_APP_NAME".into(), self.app_name.clone()),
            ("ARGOCD_APP_NAMESPACE".into(), self.namespace.clone()),
            ("ARGOCD_APP_PROJECT_NAME".into(), "default".into()),
            (
                "ARGOCD_APP_REVISION".into(),
                "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8".into(),
            ),
            ("ARGOCD_APP_REVISION_SHORT".into(), "f913b6c".into()),
            ("ARGOCD_APP_SOURCE_PATH".into(), self.source_path.clone()),
            (
                "ARGOCD_APP_SOURCE_REPO_URL".into(),
                "https://example.org/kubeflow-helm.git".into(),
            ),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION".into(), "main".into()),
            ("KUBE_VERSION".into(), KUBE_VERSION.into()),
            ("KUBE_API_VERSIONS".into(), KUBE_API_VERSIONS.into()),
        ];
        env.extend(
            self.plugin_env
                .iter()
                .map(|(k, v)| (format!("ARGOCD_ENV_{k}"), v.clone())),
        );
        if self.json_params {
            env.extend(parameters_env(&self.params));
        } else {
            env.extend(params_only_env(&self.params));
        }
        for (k, v) in env.into_iter().filter(|(_, v)| !v.is_empty()) {
            cmd.env(k, v);
        }
        cmd
    }
}

/// Runs plugin.yaml's init and then generate in a fresh copy, as the CMP
/// server does; returns generate's output (init's stdout is discarded).
fn cmp_generate(source: &Source, req: &AppRequest) -> Output {
    let scratch = Scratch::new("cmp");
    let repo = fresh_repo(source, &scratch.0);
    let home = scratch.0.join("home");
    let init = run(&mut req.command(&plugin_command(&["init"]), &repo, &home));
    if !init.status.success() {
        return init;
    }
    run(&mut req.command(&plugin_command(&["generate"]), &repo, &home))
}

/// The reference: `helm template` with the same values, piped to kf-post,
/// built from the request independently of kubeflow-cmp.
struct Expected<'a> {
    release: &'a str,
    preset: Option<&'a str>,
    value_files: &'a [&'a str],
    values: Option<&'a str>,
    sets: &'a [&'a str],
    kf_post_config: Option<&'a str>,
}

fn reference_render(source: &Source, req: &AppRequest, exp: &Expected) -> Vec<u8> {
    let scratch = Scratch::new("ref");
    let repo = fresh_repo(source, &scratch.0);
    let chart = repo.join(&req.source_path);
    let helm = |args: &[&str]| {
        let mut cmd = Command::new(helm_bin());
        cmd.args(args).current_dir(&chart);
        for (var, sub) in [
            ("HELM_CACHE_HOME", "c"),
            ("HELM_CONFIG_HOME", "cf"),
            ("HELM_DATA_HOME", "d"),
        ] {
            cmd.env(var, scratch.0.join(sub));
        }
        cmd
    };
    run_ok(&mut helm(&["dependency", "build", "--skip-refresh", "."]));
    let mut args: Vec<String> = vec![
        "template".into(),
        ".".into(),
        "--include-crds".into(),
        "--name-template".into(),
        exp.release.into(),
        "--namespace".into(),
        req.namespace.clone(),
        "--kube-version".into(),
        KUBE_VERSION.into(),
        "--api-versions".into(),
        KUBE_API_VERSIONS.into(),
        // What the CMP gives every chart first (sync waves, cert-manager certificates).
        "-f".into(),
        repo_root()
            .join("argocd/umbrella-values.yaml")
            .display()
            .to_string(),
    ];
    if let Some(p) = exp.preset {
        args.extend([
            "-f".into(),
            repo.join(format!("presets/{p}.yaml")).display().to_string(),
        ]);
    }
    for f in exp.value_files {
        args.extend(["-f".into(), chart.join(f).display().to_string()]);
    }
    if let Some(v) = exp.values {
        let file = scratch.0.join("extra.yaml");
        std::fs::write(&file, format!("{v}\n")).unwrap();
        args.extend(["-f".into(), file.display().to_string()]);
    }
    for s in exp.sets {
        args.push(format!("--set={s}"));
    }
    let rendered = run_ok(&mut helm(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
    .into_bytes();
    let mut kf_post = Command::new(kf_post_bin());
    if let Some(c) = exp.kf_post_config {
        kf_post.args(["--config", &repo.join(c).display().to_string()]);
    }
    let mut child = kf_post
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&rendered).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kf-post failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn assert_same_render(source: &Source, req: &AppRequest, exp: &Expected) -> String {
    let got = cmp_generate(source, req);
    assert!(
        got.status.success(),
        "generate failed ({}):\n{}",
        got.status,
        String::from_utf8_lossy(&got.stderr)
    );
    let want = reference_render(source, req, exp);
    let (got, want) = (
        String::from_utf8(got.stdout).unwrap(),
        String::from_utf8(want).unwrap(),
    );
    assert!(
        want.contains("kind:"),
        "the reference rendered no objects:\n{want}"
    );
    if got != want {
        // The first differing line with some context; the streams are megabytes.
        let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
        let at = g
            .iter()
            .zip(&w)
            .position(|(a, b)| a != b)
            .unwrap_or(g.len().min(w.len()));
        let around =
            |v: &[&str]| v[at.saturating_sub(5).min(v.len())..(at + 5).min(v.len())].join("\n");
        panic!(
            "plugin output differs from helm template | kf-post at line {} ({} vs {} lines)\n--- plugin\n{}\n--- reference\n{}",
            at + 1,
            g.len(),
            w.len(),
            around(&g),
            around(&w)
        );
    }
    got
}

fn assert_fails_without_output(source: &Source, req: &AppRequest, stderr_says: &str) {
    let out = cmp_generate(source, req);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "generate succeeded but should fail ({stderr_says})"
    );
    assert!(
        out.stdout.is_empty(),
        "a failing generate printed {} bytes to stdout:\n{}",
        out.stdout.len(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(stderr_says),
        "stderr should mention {stderr_says:?}:\n{stderr}"
    );
}

fn s(v: &str) -> String {
    v.to_string()
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (s(k), s(v))).collect()
}

// ---- contract: fixture chart --------------------------------------------

const FIXTURE: &str = "charts/kubeflow";

#[test]
fn generate_equals_helm_template_piped_to_kf_post_for_each_parameter_encoding() {
    // 1. No parameters: Argo CD sends ARGOCD_APP_PARAMETERS=null.
    let req = AppRequest::new("kf", "kubeflow", FIXTURE, vec![]);
    let defaults = assert_same_render(
        &Source::Fixture,
        &req,
        &Expected {
            release: "kf",
            preset: None,
            value_files: &[],
            values: None,
            sets: &[],
            kf_post_config: None,
        },
    );
    assert!(defaults.contains("name: kf-cert-manager-1") && !defaults.contains("pipelines"));
    assert!(
        defaults.contains("name: widgets.example.org"),
        "crds/ must be rendered:\n{defaults}"
    );
    assert!(defaults.contains(&format!("kubeVersion: \"v{KUBE_VERSION}\"")));
    assert!(
        defaults.contains("hasWidgetApi: \"true\""),
        "--api-versions was not passed:\n{defaults}"
    );

    // 2. Every parameter as JSON; a --set value with a comma and a backslash
    //    must arrive literally; components map onto <key>.enabled; kfPostConfig
    //    reaches kf-post as --config.
    let req = AppRequest::new(
        "argocd/kf",
        "team-a",
        FIXTURE,
        vec![
            Param::Str("preset", s("full")),
            Param::Array("valueFiles", vec![s("../../config/replicas.yaml")]),
            Param::Str("values", s("extra: from-values\nglobal:\n  greeting: hi")),
            Param::Map(
                "components",
                kv(&[("cert-manager", "false"), ("pipelines", "true")]),
            ),
            Param::Map("set", kv(&[("global.greeting", "a,b\\c")])),
            Param::Str("kfPostConfig", s("config/kf-post.yaml")),
        ],
    );
    let all = assert_same_render(
        &Source::Fixture,
        &req,
        &Expected {
            // Apps in other namespaces are named "<ns>/<name>"; the release is <name>.
            release: "kf",
            preset: Some("full"),
            value_files: &["../../config/replicas.yaml"],
            values: Some("extra: from-values\nglobal:\n  greeting: hi"),
            sets: &[
                "cert-manager.enabled=false",
                "pipelines.enabled=true",
                "global.greeting=a\\,b\\\\c",
            ],
            kf_post_config: Some("config/kf-post.yaml"),
        },
    );
    let objs = objects(&all);
    let info = &objs[&(s("ConfigMap"), s("team-a"), s("kf-info"))];
    assert_eq!(
        info["data"]["greeting"], "a,b\\c",
        "--set value not literal"
    );
    assert_eq!(info["data"]["extra"], "from-values");
    assert_eq!(
        info["metadata"]["labels"]["team"], "ml",
        "kfPostConfig was not passed to kf-post"
    );
    assert!(objs.contains_key(&(s("Deployment"), s("team-a"), s("kf-pipelines-3"))));
    assert!(!all.contains("cert-manager"), "{all}");

    // 3. PARAM_* only (no JSON): components keys come back upper-cased and
    //    are matched to the chart's dependency keys.
    let mut req = AppRequest::new(
        "kf",
        "kubeflow",
        FIXTURE,
        vec![
            Param::Str("preset", s("minimal")),
            Param::Array(
                "valueFiles",
                vec![s("values.yaml"), s("../../config/replicas.yaml")],
            ),
            Param::Map("components", kv(&[("pipelines", "true")])),
        ],
    );
    req.json_params = false;
    let legacy = assert_same_render(
        &Source::Fixture,
        &req,
        &Expected {
            release: "kf",
            preset: Some("minimal"),
            value_files: &["values.yaml", "../../config/replicas.yaml"],
            values: None,
            sets: &["pipelines.enabled=true"],
            kf_post_config: None,
        },
    );
    assert!(legacy.contains("name: kf-pipelines-3"), "{legacy}");

    // 4. Plugin env: ARGOCD_ENV_RELEASE_NAME, _PRESET, _VALUE_FILES; the UI
    //    sends announced parameters back empty, which must not hide them.
    let mut req = AppRequest::new(
        "kubeflow-pipelines",
        "kubeflow",
        FIXTURE,
        vec![
            Param::Str("preset", s("")),
            Param::Array("valueFiles", vec![]),
            Param::Map("components", kv(&[("cert-manager", ""), ("pipelines", "")])),
        ],
    );
    req.plugin_env = kv(&[
        ("RELEASE_NAME", "kubeflow"),
        ("PRESET", "full"),
        ("VALUE_FILES", "../../config/replicas.yaml"),
    ]);
    let env_only = assert_same_render(
        &Source::Fixture,
        &req,
        &Expected {
            release: "kubeflow",
            preset: Some("full"),
            value_files: &["../../config/replicas.yaml"],
            values: None,
            sets: &[],
            kf_post_config: None,
        },
    );
    assert!(
        env_only.contains("name: kubeflow-pipelines-3"),
        "{env_only}"
    );

    let outputs: BTreeSet<&String> = [&defaults, &all, &legacy, &env_only].into_iter().collect();
    assert_eq!(
        outputs.len(),
        4,
        "different parameters must render differently"
    );
}

#[test]
fn a_failing_step_exits_non_zero_and_prints_nothing() {
    let cases: Vec<(Vec<Param>, &str)> = vec![
        (
            vec![Param::Str("preset", s("nope"))],
            "preset 'nope' not found",
        ),
        (
            vec![Param::Array("preset", vec![s("full")])],
            "parameter preset must be given as `string`",
        ),
        (
            vec![Param::Str("presets", s("full"))],
            "unknown plugin parameter(s): presets",
        ),
        (
            vec![Param::Array("valueFiles", vec![s("missing.yaml")])],
            "valueFiles entry 'missing.yaml' not found",
        ),
        (
            vec![Param::Array("valueFiles", vec![s("../../../outside.yaml")])],
            "points outside the repository",
        ),
        (
            vec![Param::Array("valueFiles", vec![s("/etc/passwd")])],
            "not absolute or a URL",
        ),
        (
            vec![Param::Map("components", kv(&[("pipeline", "true")]))],
            "'pipeline' is not a component",
        ),
        (
            vec![Param::Map("components", kv(&[("pipelines", "yes")]))],
            "must be true or false",
        ),
        (
            vec![Param::Map("set", kv(&[("a=b", "1")]))],
            "is not a helm value path",
        ),
        // helm fails: the extra values are not YAML.
        (
            vec![Param::Str("values", s("global: [unclosed"))],
            "helm template failed",
        ),
        // helm fails inside a template after rendering other documents.
        (
            vec![Param::Map("set", kv(&[("failHere", "true")]))],
            "fixture asked to fail",
        ),
        // kf-post fails: the rendered PostRenderConfig has an unknown field.
        (
            vec![Param::Map("set", kv(&[("badKfPostConfig", "true")]))],
            "kf-post failed",
        ),
        // ... and kf-post's own message reaches the user (the Argo CD UI
        // shows the command's stderr), naming the field.
        (
            vec![Param::Map("set", kv(&[("badKfPostConfig", "true")]))],
            "kf-post: config: spec.noSuchTransform: unknown field `noSuchTransform`",
        ),
        // Nothing rendered at all: refused, or auto-prune would delete everything.
        (
            vec![
                Param::Map("components", kv(&[("cert-manager", "false")])),
                Param::Map("set", kv(&[("infoDisabled", "true")])),
            ],
            "rendered no objects",
        ),
    ];
    for (params, says) in cases {
        assert_fails_without_output(
            &Source::Fixture,
            &AppRequest::new("kf", "kubeflow", FIXTURE, params),
            says,
        );
    }
    // The set map cannot be recovered from PARAM_* alone (keys are upper-cased).
    let mut req = AppRequest::new(
        "kf",
        "kubeflow",
        FIXTURE,
        vec![Param::Map("set", kv(&[("global.greeting", "x")]))],
    );
    req.json_params = false;
    assert_fails_without_output(&Source::Fixture, &req, "needs ARGOCD_APP_PARAMETERS");
    // An empty manifest set is allowed only when asked for.
    let mut req = AppRequest::new(
        "kf",
        "kubeflow",
        FIXTURE,
        vec![
            Param::Map("components", kv(&[("cert-manager", "false")])),
            Param::Map("set", kv(&[("infoDisabled", "true")])),
        ],
    );
    req.plugin_env = kv(&[("ALLOW_EMPTY", "true")]);
    let out = cmp_generate(&Source::Fixture, &req);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn discover_claims_kubeflow_charts_only_and_parameters_announce_the_chart() {
    let scratch = Scratch::new("discover");
    let repo = fresh_repo(&Source::Fixture, &scratch.0);
    let home = scratch.0.join("home");
    let discover = plugin_command(&["discover", "find"]);
    let claims = |path: &str| {
        let req = AppRequest::new("kf", "kubeflow", path, vec![]);
        let out = run(&mut req.command(&discover, &repo, &home));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        !out.stdout.is_empty()
    };
    assert!(claims("charts/kubeflow"));
    assert!(
        !claims("charts/widget"),
        "a chart that is not Kubeflow's must not be claimed"
    );
    assert!(!claims("presets"));

    let req = AppRequest::new("kf", "kubeflow", FIXTURE, vec![]);
    let out = run(&mut req.command(&plugin_command(&["parameters", "dynamic"]), &repo, &home));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let announced: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = announced
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "preset",
            "valueFiles",
            "components",
            "values",
            "set",
            "kfPostConfig"
        ]
    );
    for p in announced.as_array().unwrap() {
        let kind = p["collectionType"].as_str().unwrap();
        assert!(["string", "array", "map"].contains(&kind), "{p}");
    }
    let components = &announced[2]["map"];
    assert_eq!(components, &json!({"cert-manager": "", "pipelines": ""}));
    assert!(announced[0]["tooltip"]
        .as_str()
        .unwrap()
        .contains("full, minimal"));
}

// ---- the real umbrella chart ---------------------------------------------

#[test]
fn discover_and_parameters_on_the_umbrella_chart() {
    let scratch = Scratch::new("discover-umbrella");
    let repo = fresh_repo(&Source::Project, &scratch.0);
    let home = scratch.0.join("home");
    let run_in = |path: &str, argv: &[String]| {
        let req = AppRequest::new("kubeflow", "kubeflow", path, vec![]);
        let out = run(&mut req.command(argv, &repo, &home));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let discover = plugin_command(&["discover", "find"]);
    assert_eq!(run_in("charts/kubeflow", &discover), b"kubeflow\n");
    // Component charts are rendered through the umbrella, never on their own.
    assert!(run_in("charts/cert-manager", &discover).is_empty());
    let announced: serde_json::Value = serde_json::from_slice(&run_in(
        "charts/kubeflow",
        &plugin_command(&["parameters", "dynamic"]),
    ))
    .unwrap();
    let components: BTreeSet<String> = keys_of_json(&announced[2]["map"]);
    assert_eq!(components, umbrella_component_keys());
    let tooltip = announced[0]["tooltip"].as_str().unwrap();
    for preset in std::fs::read_dir(repo.join("presets")).unwrap() {
        let name = preset.unwrap().path();
        let name = name.file_stem().unwrap().to_str().unwrap();
        assert!(
            tooltip.contains(name),
            "preset {name} not announced: {tooltip}"
        );
    }
}

fn keys_of_json(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn generate_renders_the_umbrella_chart_like_helm_for_presets_and_examples() {
    let chart = "charts/kubeflow";
    let preset = |name: &'static str| {
        (
            AppRequest::new(
                "kubeflow",
                "kubeflow",
                chart,
                vec![Param::Str("preset", s(name))],
            ),
            Expected {
                release: "kubeflow",
                preset: Some(name),
                value_files: &[],
                values: None,
                sets: &[],
                kf_post_config: None,
            },
        )
    };
    for (req, exp) in [preset("full"), preset("kserve-edge")] {
        assert_same_render(&Source::Project, &req, &exp);
    }
    // One app of the app-per-component layout, with its own parameters.
    let app = yaml_file(&repo_root().join("argocd/examples/per-component/apps/kserve.yaml"));
    let mut req = application_request(&app);
    req.app_name = "kubeflow-kserve".into();
    let out = assert_same_render(
        &Source::Project,
        &req,
        &Expected {
            release: "kubeflow",
            preset: Some("full"),
            value_files: &["../../argocd/examples/per-component/one-component.yaml"],
            values: None,
            sets: &["kserve.enabled=true"],
            kf_post_config: None,
        },
    );
    assert!(
        out.contains("kind: CustomResourceDefinition")
            && out.contains("inferenceservices.serving.kserve.io")
    );
    assert!(
        !out.contains("name: istiod"),
        "other components must stay out of the kserve app"
    );
}

/// The plugin request an example Application makes.
fn application_request(app: &Value) -> AppRequest {
    let source = &app["spec"]["source"];
    let plugin = &source["plugin"];
    let mut params = Vec::new();
    for p in plugin["parameters"].as_sequence().into_iter().flatten() {
        let name: &'static str =
            Box::leak(p["name"].as_str().unwrap().to_string().into_boxed_str());
        if let Some(v) = p["string"].as_str() {
            params.push(Param::Str(name, s(v)));
        } else if let Some(a) = p["array"].as_sequence() {
            params.push(Param::Array(
                name,
                a.iter().map(|i| s(i.as_str().unwrap())).collect(),
            ));
        } else if let Some(m) = p["map"].as_mapping() {
            params.push(Param::Map(
                name,
                m.iter()
                    .map(|(k, v)| (s(k.as_str().unwrap()), s(v.as_str().unwrap())))
                    .collect(),
            ));
        }
    }
    let mut req = AppRequest::new(
        app["metadata"]["name"].as_str().unwrap(),
        app["spec"]["destination"]["namespace"].as_str().unwrap(),
        source["path"].as_str().unwrap(),
        params,
    );
    req.plugin_env = plugin["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                s(e["name"].as_str().unwrap()),
                s(e["value"].as_str().unwrap()),
            )
        })
        .collect();
    req
}

// ---- manifests -------------------------------------------------------------

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn assert_keys_within(v: &Value, allowed: &[&str], what: &str) {
    let unknown: Vec<String> = keys(v)
        .into_iter()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "{what}: fields Argo CD does not know: {unknown:?}"
    );
}

/// Fields of cmpserver/plugin/config.go PluginConfigSpec (Argo CD 2.6 - 3.x).
#[test]
fn plugin_yaml_has_the_fields_the_cmp_server_reads() {
    let cfg = plugin_config();
    assert_eq!(cfg["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(cfg["kind"], "ConfigManagementPlugin");
    assert_eq!(cfg["metadata"]["name"], "kubeflow-helm");
    let spec = &cfg["spec"];
    assert_keys_within(
        spec,
        &[
            "version",
            "init",
            "generate",
            "discover",
            "allowConcurrency",
            "lockRepo",
            "parameters",
            "preserveFileMode",
            "provideGitCreds",
        ],
        "plugin.yaml spec",
    );
    for cmd in ["init", "generate"] {
        assert_keys_within(&spec[cmd], &["command", "args"], cmd);
    }
    assert_keys_within(&spec["discover"], &["fileName", "find"], "discover");
    assert_keys_within(
        &spec["discover"]["find"],
        &["command", "args", "glob"],
        "discover.find",
    );
    assert_keys_within(&spec["parameters"], &["static", "dynamic"], "parameters");
    // Repository files must not become executable in the sidecar.
    assert_eq!(spec["preserveFileMode"], Value::Bool(false));
    assert_ne!(spec["provideGitCreds"], Value::Bool(true));
    // Every command is the script the Dockerfile installs on PATH.
    let dockerfile = std::fs::read_to_string(repo_root().join("argocd/Dockerfile")).unwrap();
    for path in [
        &["init"][..],
        &["generate"],
        &["discover", "find"],
        &["parameters", "dynamic"],
    ] {
        let argv = plugin_command(path);
        assert_eq!(argv[0], "kubeflow-cmp", "{path:?}");
    }
    assert!(dockerfile.contains("COPY argocd/cmp/kubeflow-cmp /usr/local/bin/kubeflow-cmp"));
    assert!(
        dockerfile.contains("COPY argocd/plugin.yaml /home/argocd/cmp-server/config/plugin.yaml")
    );
    assert!(dockerfile.contains("USER 999"));
}

const SYNC_OPTIONS: &[&str] = &[
    "ServerSideApply=true",
    "SkipDryRunOnMissingResource=true",
    "CreateNamespace=true",
    "RespectIgnoreDifferences=true",
    "PruneLast=true",
    "ApplyOutOfSyncOnly=true",
    "Replace=true",
    "Validate=false",
    "PrunePropagationPolicy=foreground",
];

/// Checks an Application against the fields of Argo CD's v1alpha1 types.
fn check_application(app: &Value, file: &str) {
    let what = |f: &str| format!("{file}: {f}");
    assert_eq!(app["apiVersion"], "argoproj.io/v1alpha1", "{file}");
    assert_eq!(app["kind"], "Application", "{file}");
    assert!(
        app["metadata"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{file}"
    );
    assert_eq!(app["metadata"]["namespace"], "argocd", "{file}");
    if let Some(wave) = app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"].as_str() {
        wave.parse::<i32>()
            .unwrap_or_else(|_| panic!("{file}: sync-wave {wave:?} is not an integer"));
    }
    let spec = &app["spec"];
    assert_keys_within(
        spec,
        &[
            "project",
            "source",
            "sources",
            "destination",
            "syncPolicy",
            "ignoreDifferences",
            "info",
            "revisionHistoryLimit",
        ],
        &what("spec"),
    );
    assert!(spec["project"].as_str().is_some(), "{file}: spec.project");
    let dest = &spec["destination"];
    assert_keys_within(dest, &["server", "name", "namespace"], &what("destination"));
    assert!(
        dest["server"].is_string() != dest["name"].is_string(),
        "{file}: exactly one of server/name"
    );
    let source = &spec["source"];
    assert_keys_within(
        source,
        &[
            "repoURL",
            "path",
            "targetRevision",
            "chart",
            "helm",
            "kustomize",
            "directory",
            "plugin",
            "ref",
            "name",
        ],
        &what("source"),
    );
    for f in ["repoURL", "path", "targetRevision"] {
        assert!(source[f].is_string(), "{file}: source.{f}");
    }
    if !source["plugin"].is_null() {
        let plugin = &source["plugin"];
        assert_keys_within(plugin, &["name", "env", "parameters"], &what("plugin"));
        let cfg = plugin_config();
        let full_name = format!(
            "{}-{}",
            cfg["metadata"]["name"].as_str().unwrap(),
            cfg["spec"]["version"].as_str().unwrap()
        );
        assert_eq!(
            plugin["name"].as_str(),
            Some(full_name.as_str()),
            "{file}: plugin name is <name>-<version>"
        );
        for e in plugin["env"].as_sequence().into_iter().flatten() {
            assert_keys_within(e, &["name", "value"], &what("plugin.env"));
            assert!(
                e["name"].is_string() && e["value"].is_string(),
                "{file}: env {e:?}"
            );
        }
        for p in plugin["parameters"].as_sequence().into_iter().flatten() {
            assert_keys_within(
                p,
                &["name", "string", "array", "map"],
                &what("plugin.parameters"),
            );
            let set = ["string", "array", "map"]
                .iter()
                .filter(|k| !p[**k].is_null())
                .count();
            assert_eq!(
                set, 1,
                "{file}: parameter {p:?} needs exactly one of string/array/map"
            );
            let known = [
                "preset",
                "valueFiles",
                "components",
                "values",
                "set",
                "kfPostConfig",
            ];
            assert!(
                known.contains(&p["name"].as_str().unwrap()),
                "{file}: parameter {p:?}"
            );
            // Argo CD's map and array parameters hold strings only.
            for v in p["map"].as_mapping().into_iter().flat_map(|m| m.values()) {
                assert!(
                    v.is_string(),
                    "{file}: {p:?}: map values must be quoted strings"
                );
            }
        }
    }
    let sync = &spec["syncPolicy"];
    assert_keys_within(
        sync,
        &[
            "automated",
            "syncOptions",
            "retry",
            "managedNamespaceMetadata",
        ],
        &what("syncPolicy"),
    );
    assert_keys_within(
        &sync["automated"],
        &["prune", "selfHeal", "allowEmpty", "enabled"],
        &what("automated"),
    );
    // allowEmpty would let an empty render prune the whole platform.
    assert_ne!(sync["automated"]["allowEmpty"], Value::Bool(true), "{file}");
    for o in sync["syncOptions"].as_sequence().into_iter().flatten() {
        assert!(
            SYNC_OPTIONS.contains(&o.as_str().unwrap()),
            "{file}: unknown sync option {o:?}"
        );
    }
    for d in spec["ignoreDifferences"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        assert_keys_within(
            d,
            &[
                "group",
                "kind",
                "name",
                "namespace",
                "jsonPointers",
                "jqPathExpressions",
                "managedFieldsManagers",
            ],
            &what("ignoreDifferences"),
        );
        assert!(
            d["kind"].is_string(),
            "{file}: ignoreDifferences needs kind"
        );
    }
}

fn application_files() -> Vec<(String, Value)> {
    let dir = repo_root().join("argocd/examples");
    let mut files = vec![
        dir.join("platform.yaml"),
        dir.join("per-component/root.yaml"),
    ];
    let mut apps: Vec<PathBuf> = std::fs::read_dir(dir.join("per-component/apps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    apps.sort();
    files.extend(apps);
    files
        .into_iter()
        .map(|f| (f.display().to_string(), yaml_file(&f)))
        .collect()
}

#[test]
fn example_applications_use_argo_cd_fields_and_the_plugin() {
    for (file, app) in application_files() {
        check_application(&app, &file);
    }
}

/// Hard requirements per umbrella key from catalog/components.yaml: its
/// `requires`, plus the Istio stack for components served behind the gateway.
fn catalog_requirements() -> BTreeMap<String, Vec<String>> {
    let catalog = yaml_file(&repo_root().join("catalog/components.yaml"));
    let components = catalog["components"].as_sequence().unwrap();
    let key_of: BTreeMap<&str, &str> = components
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    components
        .iter()
        .map(|c| {
            let mut needs: Vec<String> = c["requires"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|n| s(key_of[n.as_str().unwrap()]))
                .collect();
            if c["gateway"] == Value::Bool(true) {
                needs.extend(["istio-crds", "istio", "kubeflow-istio-resources"].map(String::from));
            }
            (s(c["name"].as_str().unwrap()), needs)
        })
        .collect()
}

fn umbrella_component_keys() -> BTreeSet<String> {
    let chart = yaml_file(&repo_root().join("charts/kubeflow/Chart.yaml"));
    chart["dependencies"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| s(d["alias"].as_str().or(d["name"].as_str()).unwrap()))
        .collect()
}

#[test]
fn app_per_component_covers_every_component_in_dependency_waves() {
    let mut waves: BTreeMap<String, i32> = BTreeMap::new();
    let mut apps: BTreeMap<String, Value> = BTreeMap::new();
    for (file, app) in application_files()
        .into_iter()
        .filter(|(f, _)| f.contains("/apps/"))
    {
        let req = application_request(&app);
        let on: Vec<String> = req
            .params
            .iter()
            .filter_map(|p| match p {
                Param::Map("components", m) => Some(
                    m.iter()
                        .filter(|(_, v)| v == "true")
                        .map(|(k, _)| k.clone())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(
            on.len(),
            1,
            "{file}: an app-per-component Application turns on exactly one component"
        );
        let wave = app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no sync wave"))
            .parse()
            .unwrap();
        assert!(
            waves.insert(on[0].clone(), wave).is_none(),
            "{file}: {} has two Applications",
            on[0]
        );
        apps.insert(on[0].clone(), app);
    }
    assert_eq!(
        waves.keys().cloned().collect::<BTreeSet<_>>(),
        umbrella_component_keys()
    );
    for (component, needs) in catalog_requirements() {
        for need in needs {
            assert!(
                waves[&need] < waves[&component],
                "{component} (wave {}) needs {need} (wave {}) to be synced first",
                waves[&component],
                waves[&need]
            );
        }
    }
    // one-component.yaml declares every component external, so each app's
    // dependency checks pass while the others come from their own apps.
    let values = yaml_file(&repo_root().join("argocd/examples/per-component/one-component.yaml"));
    let external: BTreeSet<String> = values["global"]["externalComponents"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| s(v.as_str().unwrap()))
        .collect();
    assert_eq!(external, umbrella_component_keys());
    // ...and switches every component off explicitly (not only by tags), so a
    // preset that enables components by `<key>.enabled` cannot leak them.
    for key in umbrella_component_keys() {
        assert_eq!(
            values[key.as_str()]["enabled"],
            Value::Bool(false),
            "one-component.yaml: {key}"
        );
    }
}

/// Objects of a rendered stream by (kind, namespace, name).
fn objects(stream: &str) -> BTreeMap<(String, String, String), Value> {
    let mut out = BTreeMap::new();
    for doc in e2e::yaml::objects::<Value>(stream) {
        let field = |v: &Value| s(v.as_str().unwrap_or(""));
        let id = (
            field(&doc["kind"]),
            field(&doc["metadata"]["namespace"]),
            field(&doc["metadata"]["name"]),
        );
        assert!(
            out.insert(id.clone(), doc).is_none(),
            "{id:?} rendered twice"
        );
    }
    out
}

/// Renders every per-component Application through the plugin (one repository
/// copy, `init` once) and checks that together the default components give
/// the whole platform object for object, and that ServerSideApply is set
/// exactly where a CRD exceeds client-side apply's 262144-byte
/// last-applied-configuration annotation.
#[test]
fn app_per_component_renders_the_platform_and_sets_server_side_apply_where_needed() {
    let scratch = Scratch::new("per-component");
    let repo = fresh_repo(&Source::Project, &scratch.0);
    let home = scratch.0.join("home");
    let generate = |req: &AppRequest| -> String {
        let out = run(&mut req.command(&plugin_command(&["generate"]), &repo, &home));
        assert!(
            out.status.success(),
            "{}: {}",
            req.app_name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let whole = AppRequest::new(
        "kubeflow",
        "kubeflow",
        "charts/kubeflow",
        vec![Param::Str("preset", s("full"))],
    );
    run_ok(&mut whole.command(&plugin_command(&["init"]), &repo, &home));
    let platform = objects(&generate(&whole));

    let catalog = yaml_file(&repo_root().join("catalog/components.yaml"));
    let default_on: BTreeSet<String> = catalog["components"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|c| c["default"] == Value::Bool(true))
        .map(|c| s(c["name"].as_str().unwrap()))
        .collect();
    let mut union = BTreeMap::new();
    let mut with_ssa = Vec::new();
    for (file, app) in application_files()
        .into_iter()
        .filter(|(f, _)| f.contains("/apps/"))
    {
        let req = application_request(&app);
        let key = req
            .params
            .iter()
            .find_map(|p| match p {
                Param::Map("components", m) => Some(m[0].0.clone()),
                _ => None,
            })
            .unwrap();
        let rendered = objects(&generate(&req));
        assert!(!rendered.is_empty(), "{file} renders nothing");
        let largest = rendered
            .iter()
            .filter(|((kind, _, _), _)| kind == "CustomResourceDefinition")
            .map(|(_, crd)| serde_json::to_vec(crd).unwrap().len())
            .max()
            .unwrap_or(0);
        let has_ssa = app["spec"]["syncPolicy"]["syncOptions"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|o| o == "ServerSideApply=true");
        assert_eq!(
            has_ssa,
            largest > 262_144,
            "{file}: largest CRD is {largest} bytes; ServerSideApply=true must be set iff > 262144"
        );
        if has_ssa {
            with_ssa.push(key.clone());
        }
        if default_on.contains(&key) {
            for (id, doc) in rendered {
                assert!(
                    union.insert(id.clone(), doc).is_none(),
                    "{id:?} comes from two Applications"
                );
            }
        }
    }
    assert!(
        !with_ssa.is_empty(),
        "expected components with large CRDs (kserve, trainer, ...)"
    );
    let only_platform: Vec<_> = platform
        .keys()
        .filter(|k| !union.contains_key(*k))
        .collect();
    let only_apps: Vec<_> = union
        .keys()
        .filter(|k| !platform.contains_key(*k))
        .collect();
    assert!(
        only_platform.is_empty() && only_apps.is_empty(),
        "per-component apps differ from the platform app: only in the platform {only_platform:?}, only in the apps {only_apps:?}"
    );
    for (id, doc) in &platform {
        assert_eq!(&union[id], doc, "{id:?} differs between the layouts");
    }
    // The whole-platform example renders too: `full` plus its extra component.
    let platform_app = yaml_file(&repo_root().join("argocd/examples/platform.yaml"));
    let example = objects(&generate(&application_request(&platform_app)));
    assert!(platform.keys().all(|id| example.contains_key(id)));
    assert!(
        example.len() > platform.len(),
        "model-registry adds objects"
    );
    assert!(platform_app["spec"]["syncPolicy"]["syncOptions"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|o| o == "ServerSideApply=true"));
}

// ---- sidecar ----------------------------------------------------------------

/// A minimal argocd-repo-server as in Argo CD's install.yaml (the volumes the
/// sidecar mounts), the component applied with kubectl's kustomize.
#[test]
fn sidecar_component_and_helm_values_add_the_same_plugin_container() {
    let scratch = Scratch::new("kustomize");
    let base = scratch.0.join("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(
        base.join("argocd.yaml"),
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: argocd-repo-server}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v3.1.0
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cmd-params-cm}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm}
"#,
    )
    .unwrap();
    // kustomize takes components by relative path only.
    let component = scratch.0.join("sidecar");
    std::fs::create_dir_all(&component).unwrap();
    copy_tree(&repo_root().join("argocd/sidecar"), &component);
    std::fs::write(
        base.join("kustomization.yaml"),
        "resources: [argocd.yaml]\ncomponents: [../sidecar]\n",
    )
    .unwrap();
    let mut kubectl = Command::new("kubectl");
    kubectl.arg("kustomize").arg(&base);
    let out = run_ok(&mut kubectl);
    let docs: Vec<Value> = e2e::yaml::objects(&out);
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let pod = &deploy["spec"]["template"]["spec"];
    let containers = pod["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 2, "repo-server plus the sidecar");
    let sidecar = containers
        .iter()
        .find(|c| c["name"] == "kubeflow-helm")
        .unwrap();
    assert_eq!(sidecar["command"][0], "/var/run/argocd/argocd-cmp-server");
    assert_eq!(sidecar["securityContext"]["runAsUser"], Value::from(999));
    assert_eq!(
        sidecar["securityContext"]["runAsNonRoot"],
        Value::Bool(true)
    );
    let mounts: BTreeMap<String, String> = sidecar["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| {
            (
                s(m["mountPath"].as_str().unwrap()),
                s(m["name"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(mounts["/var/run/argocd"], "var-files");
    assert_eq!(mounts["/home/argocd/cmp-server/plugins"], "plugins");
    let tmp = &mounts["/tmp"];
    // Helm's homes (Dockerfile ENV) must be on the writable, private /tmp.
    assert_ne!(
        tmp, "tmp",
        "the sidecar must not share the repo-server's /tmp"
    );
    let volumes: BTreeSet<String> = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| s(v["name"].as_str().unwrap()))
        .collect();
    for name in mounts.values() {
        assert!(
            volumes.contains(name),
            "volume {name} is mounted but not defined"
        );
    }
    let dockerfile = std::fs::read_to_string(repo_root().join("argocd/Dockerfile")).unwrap();
    for home in [
        "HELM_CACHE_HOME=/tmp/",
        "HELM_CONFIG_HOME=/tmp/",
        "HELM_DATA_HOME=/tmp/",
    ] {
        assert!(dockerfile.contains(home), "Dockerfile must put {home}…");
    }
    let timeout = |cm: &str, key: &str| -> u64 {
        let d = docs
            .iter()
            .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == cm)
            .unwrap();
        d["data"][key].as_str().unwrap().parse().unwrap()
    };
    let exec_timeout: u64 = sidecar["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "ARGOCD_EXEC_TIMEOUT")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    for key in [
        "server.repo.server.timeout.seconds",
        "controller.repo.server.timeout.seconds",
    ] {
        assert!(
            timeout("argocd-cmd-params-cm", key) <= exec_timeout,
            "{key} vs ARGOCD_EXEC_TIMEOUT"
        );
        assert!(
            timeout("argocd-cmd-params-cm", key) > 60,
            "{key} must be raised from the 60s default"
        );
    }
    let health_key = "resource.customizations.health.argoproj.io_Application";
    let cm = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "argocd-cm")
        .unwrap();
    assert!(cm["data"][health_key]
        .as_str()
        .unwrap()
        .contains("obj.status.health.status"));

    // The argo-cd chart values add the identical container, volume and settings.
    let values = yaml_file(&repo_root().join("argocd/helm-values.yaml"));
    let extra = &values["repoServer"]["extraContainers"][0];
    assert_eq!(
        extra, sidecar,
        "helm-values.yaml and the kustomize patch disagree on the sidecar"
    );
    let helm_volumes: BTreeSet<String> = values["repoServer"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| s(v["name"].as_str().unwrap()))
        .collect();
    assert!(helm_volumes.contains(tmp.as_str()));
    for key in [
        "server.repo.server.timeout.seconds",
        "controller.repo.server.timeout.seconds",
    ] {
        assert_eq!(
            values["configs"]["params"][key].as_u64(),
            Some(timeout("argocd-cmd-params-cm", key))
        );
    }
    assert_eq!(values["configs"]["cm"][health_key], cm["data"][health_key]);
    let tracking = "application.resourceTrackingMethod";
    assert_eq!(cm["data"][tracking], "annotation");
    assert_eq!(values["configs"]["cm"][tracking], "annotation");
}
