//! `helm kubeflow` under the real Helm 4 (`.tools/bin/helm`, built by
//! scripts/bootstrap): plugin install into a temporary Helm home, the commands
//! for real, and packaging with a signature verified on install.
//! Fails (never skips) when Helm or plugin.wasm is missing.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use wasm_host_tests::{helm_bin, plugin_wasm, repo_root};

struct Helm {
    home: tempdir::TempDir,
}

/// A minimal self-removing temporary directory (no extra dependency).
mod tempdir {
    use std::path::{Path, PathBuf};
    pub struct TempDir(PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "helm-kubeflow-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Helm {
    fn new(tag: &str) -> Helm {
        Helm {
            home: tempdir::TempDir::new(tag),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let h = self.home.path();
        let mut c = Command::new(helm_bin());
        c.args(args)
            .env("HELM_CONFIG_HOME", h.join("config"))
            .env("HELM_CACHE_HOME", h.join("cache"))
            .env("HELM_DATA_HOME", h.join("data"))
            .env("HELM_PLUGINS", h.join("data/plugins"));
        c
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let data = stdin.to_vec();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut input, &data));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        out
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "helm {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Installs a directory holding exactly plugin.yaml + plugin.wasm (what
    /// scripts/build-plugin stages in dist/helm-kubeflow).
    fn install_plugin(&self) {
        let dir = self.home.path().join("src/helm-kubeflow");
        stage(&dir);
        self.ok(&["plugin", "install", dir.to_str().unwrap()], b"");
    }
}

fn stage(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(repo_root().join("plugin.yaml"), dir.join("plugin.yaml")).unwrap();
    std::fs::copy(plugin_wasm().unwrap(), dir.join("plugin.wasm")).unwrap();
}

fn native(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let input = stdin.to_vec();
    helm_kubeflow::run(&argv, &mut || Ok(input.clone()))
        .unwrap()
        .stdout
}

#[test]
fn commands_work_under_real_helm() {
    let helm = Helm::new("cmds");
    helm.install_plugin();
    let list = String::from_utf8(helm.ok(&["plugin", "list"], b"")).unwrap();
    assert!(
        list.contains("kubeflow") && list.contains("cli/v1"),
        "{list}"
    );

    let values = b"katib: {enabled: false}\nglobal: {profiles: [{name: team-a, owner: a@x.io}]}\n";
    let cases: &[(&[&str], &[u8])] = &[
        (&["components"], b""),
        (&["components", "-o", "json"], b""),
        (&["enable", "katib"], values),
        (&["disable", "kserve", "--cascade"], values),
        (&["preset", "production"], b""),
        (
            &[
                "profile", "add", "team-b", "--owner", "b@x.io", "--memory", "8Gi",
            ],
            values,
        ),
        (&["profile", "remove", "team-a"], values),
        (&["version"], b""),
    ];
    for (args, stdin) in cases {
        let mut full = vec!["kubeflow"];
        full.extend_from_slice(args);
        assert_eq!(
            String::from_utf8(helm.ok(&full, stdin)).unwrap(),
            String::from_utf8(native(args, stdin)).unwrap(),
            "helm {full:?}"
        );
    }

    // Helm's own global flags (-n) are stripped before the plugin sees its arguments.
    assert_eq!(
        helm.ok(&["kubeflow", "-n", "team", "preset", "full"], b""),
        native(&["preset", "full"], b"")
    );

    // --explain goes to stderr, values to stdout.
    let out = helm.run(&["kubeflow", "enable", "model-registry", "--explain"], b"");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "model-registry: enabled (model-registry.enabled=true, requested)\n"
    );
    assert_eq!(out.stdout, b"model-registry:\n  enabled: true\n");
}

#[test]
fn failures_exit_non_zero_with_helms_plugin_error() {
    let helm = Helm::new("fail");
    helm.install_plugin();
    let cases: &[(&[&str], &[u8], &str)] = &[
        (
            &["kubeflow", "disable", "notebook-controller"],
            b"",
            "Error: plugin error: cannot disable notebook-controller",
        ),
        (
            &["kubeflow", "enable", "katib"],
            b"katib: [",
            "Error: plugin error: values on stdin: invalid YAML",
        ),
        (
            &["kubeflow", "doctor"],
            b"global: {auth: {mode: none}}\n",
            "Error: plugin error: doctor: 1 error(s) in the values",
        ),
    ];
    for (args, stdin, want) in cases {
        let out = helm.run(args, stdin);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    // doctor still printed its findings before failing.
    let out = helm.run(&["kubeflow", "doctor"], b"global: {auth: {mode: none}}\n");
    assert!(String::from_utf8_lossy(&out.stdout).contains("authentication is off"));
}

#[test]
fn render_under_real_helm_equals_the_native_engine() {
    let helm = Helm::new("render");
    helm.install_plugin();
    let dir = e2e::manifests_dir();
    let input = std::fs::read(dir.join("rendered/example.yaml")).unwrap();
    let got = helm.ok(&["kubeflow", "render"], &input);
    let want = kf_post::post_render(&input, &kf_post::Options::default())
        .unwrap()
        .stream;
    assert!(
        got == want,
        "helm kubeflow render differs from the native engine ({} vs {} bytes)",
        got.len(),
        want.len()
    );
}

#[test]
fn packaged_plugin_is_signed_and_verified_on_install() {
    let helm = Helm::new("pkg");
    let root = helm.home.path();
    let (secring, pubring) = e2e::throwaway_keyrings(root, "kubeflow-helm test");

    let src = root.join("src/helm-kubeflow");
    stage(&src);
    let out_dir = root.join("out");
    helm.ok(
        &[
            "plugin",
            "package",
            src.to_str().unwrap(),
            "--sign",
            "--key",
            "kubeflow-helm test",
            "--keyring",
            secring.to_str().unwrap(),
            "-d",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    let tgz = out_dir.join("kubeflow-0.1.0.tgz");
    assert!(tgz.exists() && out_dir.join("kubeflow-0.1.0.tgz.prov").exists());

    // A tampered tarball (same .prov) is refused.
    let bad = e2e::tampered_copy(&tgz, &root.join("bad"));
    let out = helm.run(
        &[
            "plugin",
            "install",
            bad.to_str().unwrap(),
            "--keyring",
            pubring.to_str().unwrap(),
        ],
        b"",
    );
    assert!(!out.status.success(), "tampered plugin was installed");

    let out = helm.run(
        &[
            "plugin",
            "install",
            tgz.to_str().unwrap(),
            "--keyring",
            pubring.to_str().unwrap(),
        ],
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Plugin Hash Verified") && stdout.contains("Signed by: kubeflow-helm test"),
        "{stdout}"
    );
    let list = String::from_utf8(helm.ok(&["plugin", "list"], b"")).unwrap();
    assert!(
        list.lines()
            .any(|l| l.starts_with("kubeflow") && l.contains("signed")),
        "{list}"
    );
    assert_eq!(
        helm.ok(&["kubeflow", "version"], b""),
        native(&["version"], b"")
    );
}
