//! The kf-post Helm 4 plugin as users get it: `scripts/package-kf-post-plugin`
//! bundles this platform's kf-post binary, signs the tarball with a throwaway
//! GPG key, and the real Helm 4 (`.tools/bin/helm`) installs it only when the
//! signature verifies, then post-renders with the bundled binary (kf-post is
//! not on PATH). Fails, never skips, without Helm or gpg.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn packaged_kf_post_plugin_is_verified_on_install_and_runs_its_bundled_binary() {
    let helm_bin = repo().join(".tools/bin/helm");
    assert!(
        helm_bin.exists(),
        "{} is missing: run scripts/bootstrap",
        helm_bin.display()
    );
    let dir = std::env::temp_dir().join(format!("kf-post-plugin-pkg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (secring, pubring) = e2e::throwaway_keyrings(&dir, "kf-post test");

    let dist = dir.join("dist");
    run(Command::new(repo().join("scripts/package-kf-post-plugin"))
        .args(["--sign", "--key", "kf-post test", "--keyring"])
        .arg(&secring)
        .env("KF_POST_PLUGIN_DIST", &dist));
    let platform = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap() != "stage")
        .expect("a per-platform directory");
    assert!(
        platform
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .contains('-'),
        "{}: expected <os>-<arch>",
        platform.display()
    );
    let tgz = platform.join("kf-post-0.1.0.tgz");
    assert!(tgz.exists() && platform.join("kf-post-0.1.0.tgz.prov").exists());

    // Helm with a home of its own and no kf-post on PATH.
    let home = dir.join("helm");
    let helm = |args: &[&str]| {
        let mut c = Command::new(&helm_bin);
        c.args(args)
            .env("PATH", "/usr/bin:/bin")
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("HELM_PLUGINS", home.join("data/plugins"));
        c
    };

    // A tampered tarball (with the genuine .prov) is refused.
    let bad = e2e::tampered_copy(&tgz, &dir.join("bad"));
    let refused = helm(&["plugin", "install"])
        .arg(&bad)
        .arg("--keyring")
        .arg(&pubring)
        .output()
        .unwrap();
    assert!(!refused.status.success(), "tampered plugin was installed");

    run(helm(&["plugin", "install"])
        .arg(&tgz)
        .arg("--keyring")
        .arg(&pubring));
    let list = String::from_utf8(run(&mut helm(&["plugin", "list"])).stdout).unwrap();
    assert!(list.contains("kf-post"), "{list}");

    // Post-render with the bundled binary: a label from --post-renderer-args.
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\n\
         spec: {labels: {labels: {packaged-by: kf-post-plugin}}}\n",
    )
    .unwrap();
    let chart = repo().join("post-renderer/tests/fixtures/charts/webapp");
    let out = run(helm(&["template", "rel"])
        .arg(&chart)
        .args([
            "--post-renderer",
            "kf-post",
            "--post-renderer-args",
            "--config",
        ])
        .arg("--post-renderer-args")
        .arg(&config));
    let rendered = String::from_utf8(out.stdout).unwrap();
    assert!(
        rendered.contains("packaged-by: kf-post-plugin"),
        "bundled kf-post did not run:\n{rendered}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
