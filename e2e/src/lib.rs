//! Harness for end-to-end tests: a local control plane, Helm 4, Helm 3, kubectl
//! and the `kf-post` binary, all real (see `scripts/bootstrap`).
//!
//! ```no_run
//! let cp = e2e::ControlPlane::start();
//! e2e::run_ok(e2e::helm4(&cp).args(["install", "demo", "e2e/fixtures/charts/tiny"]));
//! let data = e2e::run_ok(e2e::kubectl(&cp).args(["get", "configmap", "demo-config", "-o", "name"]));
//! ```
//!
//! Each [`ControlPlane`] is its own cluster (`scripts/cluster up`): etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler, and an emulated node
//! side (kwok + kube-emulator, see docs/emulation.md) on which pods start and turn
//! Ready and webhooks answer once their pods are Ready. It lives in a temporary
//! directory and is stopped when the value is dropped, so tests can run in
//! parallel. [`ControlPlane::builder`] sets the Nodes' number and capacity and
//! the pods' start delay. The Helm commands of a control plane share a Helm home (config,
//! data, cache, plugins) that belongs to that control plane only: plugins a test
//! installs never leak into another test or into the user's Helm.
//!
//! Tools come from `.tools/bin` (run `scripts/bootstrap` first; `scripts/test`
//! does). kubectl is taken from `PATH`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod umbrella;
pub mod yaml;

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent directory")
        .to_path_buf()
}

/// The upstream snapshot (`kustomize build` output of every overlay): the one
/// setting `KUBEFLOW_MANIFESTS` (relative paths are taken from the repository
/// root), else `../shared/upstream/kubeflow-manifests` next to the repository.
/// Same rule as `cargo xtask`'s `default_manifests_dir`.
pub fn manifests_dir() -> PathBuf {
    let repo = repo_root();
    match std::env::var_os("KUBEFLOW_MANIFESTS") {
        Some(dir) => repo.join(dir),
        None => repo.join("../shared/upstream/kubeflow-manifests"),
    }
}

/// `.tools/bin`, where `scripts/bootstrap` links the pinned tools.
pub fn tools_bin() -> PathBuf {
    repo_root().join(".tools/bin")
}

/// Helm 4: `$HELM` if set, else `.tools/bin/helm` (scripts/bootstrap).
pub fn helm_bin() -> PathBuf {
    let bin = std::env::var_os("HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_bin().join("helm"));
    assert!(
        bin.exists(),
        "Helm 4 not found at {}: run scripts/bootstrap",
        bin.display()
    );
    bin
}

/// A fixture chart shipped with this crate, e.g. `fixture_chart("tiny")`.
pub fn fixture_chart(name: &str) -> PathBuf {
    repo_root().join("e2e/fixtures/charts").join(name)
}

/// A running local control plane (`scripts/cluster up`), stopped on drop.
pub struct ControlPlane {
    dir: PathBuf,
    kubeconfig: PathBuf,
}

/// Options of a [`ControlPlane`] (the flags of `scripts/cluster up`).
#[derive(Default)]
pub struct ControlPlaneBuilder {
    args: Vec<OsString>,
}

impl ControlPlaneBuilder {
    fn flag(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.args.push(name.into());
        self.args.push(value.into());
        self
    }

    /// kube-apiserver reads `file` as `--admission-control-config-file`.
    pub fn admission_config(self, file: &Path) -> Self {
        self.flag("--admission-config", file)
    }

    /// Number of emulated Nodes (default 1).
    pub fn nodes(self, n: u32) -> Self {
        self.flag("--nodes", n.to_string())
    }

    /// CPU capacity of each Node, a Kubernetes quantity (default "16").
    pub fn node_cpu(self, cpu: &str) -> Self {
        self.flag("--node-cpu", cpu)
    }

    /// Memory capacity of each Node, a Kubernetes quantity (default "64Gi").
    pub fn node_memory(self, memory: &str) -> Self {
        self.flag("--node-memory", memory)
    }

    /// Time from a pod's volumes and environment being available to its
    /// containers running, a Go duration (default "1s").
    pub fn pod_ready_delay(self, delay: &str) -> Self {
        self.flag("--pod-ready-delay", delay)
    }

    /// Starts the cluster.
    pub fn start(self) -> ControlPlane {
        ControlPlane::start_with(&self.args)
    }
}

impl ControlPlane {
    /// Starts a control plane with the default admission configuration
    /// (PodSecurity is enabled but enforces `privileged`) and one 16-CPU /
    /// 64 GiB Node.
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// Options for a control plane other than the defaults.
    pub fn builder() -> ControlPlaneBuilder {
        ControlPlaneBuilder::default()
    }

    /// Starts a control plane whose kube-apiserver reads `file` as
    /// `--admission-control-config-file` (e.g. PodSecurity enforcing `restricted`).
    pub fn start_with_admission_config(file: &Path) -> Self {
        Self::builder().admission_config(file).start()
    }

    fn start_with(extra: &[OsString]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kfh-e2e-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        // A leftover directory from a crashed run with the same PID holds no
        // running cluster we may touch; start clean.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create control plane directory");
        let mut up = Command::new(repo_root().join("scripts/cluster"));
        up.arg("up").arg(&dir).args(extra);
        run_ok(&mut up);
        ControlPlane {
            kubeconfig: dir.join("kubeconfig"),
            dir,
        }
    }

    /// The admin kubeconfig (system:masters).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The control plane's directory: certificates, logs (`logs/`), Helm home.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn helm_home(&self, which: &str) -> PathBuf {
        self.dir.join(which)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let stopped = Command::new(repo_root().join("scripts/cluster"))
            .arg("down")
            .arg(&self.dir)
            .output();
        if !matches!(&stopped, Ok(out) if out.status.success()) {
            eprintln!(
                "e2e: stopping the control plane in {} failed: {stopped:?}",
                self.dir.display()
            );
        }
        if std::thread::panicking() {
            // Keep certificates and component logs for the failure investigation.
            eprintln!(
                "e2e: test failed; control plane logs kept in {}/logs",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn helm(cp: &ControlPlane, binary: &str, home: &str) -> Command {
    let home = cp.helm_home(home);
    let mut cmd = Command::new(tools_bin().join(binary));
    cmd.env("KUBECONFIG", cp.kubeconfig())
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        // Helm 4.3.1 `plugin install <dir>` installs into $HELM_DATA_HOME/plugins
        // whatever HELM_PLUGINS says, so both must name the same directory.
        .env("HELM_PLUGINS", home.join("data/plugins"))
        .env("PATH", kf_post_path())
        .current_dir(repo_root());
    cmd
}

/// `helm` (Helm 4) talking to `cp`, with its own Helm home and `kf-post` on PATH.
pub fn helm4(cp: &ControlPlane) -> Command {
    helm(cp, "helm", "helm4")
}

/// `helm3` (Helm 3) talking to `cp`, with its own Helm home and `kf-post` on
/// PATH, so `--post-renderer kf-post` finds the binary built from this tree.
pub fn helm3(cp: &ControlPlane) -> Command {
    helm(cp, "helm3", "helm3")
}

/// Installs the kf-post Helm 4 post-renderer plugin (`post-renderer/helm-plugin`)
/// into `cp`'s Helm 4 home, once; afterwards `helm4(cp)` accepts
/// `--post-renderer kf-post` and runs the `kf-post` of [`kf_post_bin`] (on PATH).
pub fn install_kf_post_plugin(cp: &ControlPlane) {
    let installed = run_ok(helm4(cp).args(["plugin", "list"]));
    if installed
        .lines()
        .any(|line| line.split_whitespace().next() == Some("kf-post"))
    {
        return;
    }
    run_ok(
        helm4(cp)
            .args(["plugin", "install"])
            .arg(repo_root().join("post-renderer/helm-plugin")),
    );
}

/// `kubectl` talking to `cp`.
pub fn kubectl(cp: &ControlPlane) -> Command {
    let mut cmd = Command::new("kubectl");
    cmd.env("KUBECONFIG", cp.kubeconfig())
        .current_dir(repo_root());
    cmd
}

/// The target directory the running test binary was built in
/// (`<target>/<profile>/deps/<test>`), which honours `CARGO_TARGET_DIR`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test binary");
    exe.ancestors()
        .nth(3)
        .expect("test binary lives in <target>/<profile>/deps/")
        .to_path_buf()
}

/// Path of a `kf-post` built from this tree: `$KF_POST_BIN` if set, otherwise
/// [`release_bin`].
pub fn kf_post_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("KF_POST_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => release_bin("kf-post"),
    })
}

/// Path of the `xtask` binary built from this tree in release mode: a full
/// sync takes about 8 s there against about 50 s in a debug build.
pub fn xtask_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| release_bin("xtask"))
}

/// `cargo build -p <package> --release` in this test binary's target directory
/// (a no-op when it is up to date, so a test never runs a stale binary;
/// scripts/test builds both before the tests); the binary's path.
fn release_bin(package: &str) -> PathBuf {
    let target = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_ok(
        Command::new(cargo)
            .args(["build", "--quiet", "-p", package, "--release"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(repo_root()),
    );
    target.join("release").join(package)
}

/// A scratch directory, unique per process, tag and moment, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("kfh-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Pipes `stream` through the built `kf-post` with `args`; returns (stdout,
/// stderr), or panics with kf-post's stderr if it fails.
pub fn kf_post_pipe(stream: &str, args: &[&str]) -> (String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(kf_post_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kf-post");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = stream.to_string();
    // Written from a thread: kf-post reads all input before writing, but a
    // large stream would still fill the pipe while we wait on stdout.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait for kf-post");
    writer.join().expect("writer thread").expect("write stdin");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "kf-post {args:?}: {stderr}");
    (String::from_utf8(out.stdout).expect("UTF-8 output"), stderr)
}

/// Keyrings of a throwaway GPG signing key named `name`, made in `dir`, in
/// the legacy format Helm reads: `(secret keyring, public keyring)`, for
/// `helm … package --sign --key NAME --keyring SECRET` and `install
/// --keyring PUBLIC`.
pub fn throwaway_keyrings(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let gnupg = dir.join("gnupg");
    std::fs::create_dir_all(&gnupg).expect("create GNUPGHOME");
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("GNUPGHOME is private");
    // Exported keyrings are binary: read stdout as bytes, not via run_ok.
    let gpg = |args: &[&str]| -> Vec<u8> {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", &gnupg)
            .args(["--batch", "--quiet"])
            .args(args);
        let out = run(&mut cmd);
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let uid = format!("{name} <test@example.com>");
    gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        &uid,
        "rsa2048",
        "sign",
        "never",
    ]);
    let (secret, public) = (dir.join("secring.gpg"), dir.join("pubring.gpg"));
    std::fs::write(&secret, gpg(&["--export-secret-keys"])).expect("write secret keyring");
    std::fs::write(&public, gpg(&["--export"])).expect("write public keyring");
    (secret, public)
}

/// A copy of the signed package `tgz` in `dir`, one byte flipped, beside its
/// genuine `.prov`: what a verifying install must refuse.
pub fn tampered_copy(tgz: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create tamper dir");
    let name = tgz.file_name().expect("package file name");
    let mut bytes = std::fs::read(tgz).expect("read package");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let bad = dir.join(name);
    std::fs::write(&bad, bytes).expect("write tampered package");
    let mut prov = name.to_os_string();
    prov.push(".prov");
    std::fs::copy(tgz.with_file_name(&prov), dir.join(&prov)).expect("copy .prov");
    bad
}

/// A `PATH` value with `kf-post`'s directory first, then `.tools/bin`, then the
/// inherited `PATH`.
pub fn kf_post_path() -> OsString {
    let kf_post_dir = kf_post_bin()
        .parent()
        .expect("kf-post has a directory")
        .to_path_buf();
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let dirs = [kf_post_dir, tools_bin()]
        .into_iter()
        .chain(std::env::split_paths(&inherited));
    std::env::join_paths(dirs).expect("PATH entries contain no separator")
}

fn describe(cmd: &Command) -> String {
    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
    format!("{} {}", cmd.get_program().to_string_lossy(), args.join(" "))
}

/// Runs `cmd` and returns its output, whatever its exit status (panics only if
/// it cannot be started).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run `{}`: {e}", describe(cmd)))
}

/// Runs `cmd`; returns its stdout, or panics with the command line, exit status,
/// stdout and stderr if it fails.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "`{}` failed ({})\n--- stdout (its end)\n{}\n--- stderr\n{}",
            describe(cmd),
            out.status,
            tail(&stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

/// The last 4000 bytes or so of `s` (a chart's whole rendering is megabytes).
fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(4000);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Runs `cmd`, which must fail; returns its stderr, or panics with stdout if
/// it succeeded. For asserting that something is rejected, and why.
pub fn run_fail(cmd: &mut Command) -> String {
    let out = run(cmd);
    if out.status.success() {
        panic!(
            "`{}` succeeded but was expected to fail\n--- stdout\n{}",
            describe(cmd),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls `check` every 200 ms until it returns `Ok`, or panics after `timeout`
/// with the last error. For what controllers do asynchronously (ReplicaSets
/// appearing, garbage collection, CRDs becoming Established).
pub fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
