//! `plugin.wasm` hosted like Helm 4 hosts it (see src/lib.rs), compared with
//! the same code run natively. Fails (never skips) when plugin.wasm is
//! missing: run scripts/build-plugin first.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use wasm_host_tests::{helm_result, invoke, Call, Outcome, RuntimeConfig, WASM_PAGE};

fn call(args: &[&str], stdin: &str) -> Outcome {
    invoke(&Call::cli(args, stdin).unwrap()).unwrap()
}

fn native(args: &[&str], stdin: &str) -> Result<helm_kubeflow::Outcome, helm_kubeflow::Error> {
    let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let input = stdin.as_bytes().to_vec();
    helm_kubeflow::run(&argv, &mut || Ok(input.clone()))
}

fn example() -> Vec<u8> {
    let dir = e2e::manifests_dir();
    let path = dir.join("rendered/example.yaml");
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set KUBEFLOW_MANIFESTS)", path.display()))
}

#[test]
fn every_command_in_wasm_prints_what_the_native_library_prints() {
    let values = "katib: {enabled: false}\nglobal: {profiles: [{name: team-a, owner: a@x.io}]}\n";
    let cases: &[(&[&str], &str)] = &[
        (&["components"], ""),
        (&["components", "-o", "yaml"], ""),
        (&["components", "--output=json"], ""),
        (&["components", "-o", "mermaid"], ""),
        (&["enable", "katib", "model-registry", "--explain"], values),
        (&["disable", "kserve", "--cascade", "--explain"], values),
        (
            &["enable", "pipelines", "--explain"],
            "global: {istio: {enabled: false}, auth: {mode: none}}\ntags: {pipelines: false}\n",
        ),
        (&["preset"], ""),
        (&["preset", "production"], ""),
        (
            &[
                "profile", "add", "team-b", "--owner", "b@x.io", "--cpu", "4", "--memory", "8Gi",
            ],
            values,
        ),
        (&["profile", "remove", "team-a"], values),
        (
            &["doctor", "-o", "json"],
            "global: {credentials: {mode: demo}, auth: {oidc: {issuerUrl: https://idp.example.com}}}\n",
        ),
        (&["version"], ""),
        (&["help"], ""),
        (&[], ""),
        (
            &["validate-config"],
            "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec:\n  auth: {apps: [{name: mlflow, service: mlflow, prefix: /mlflow/}]}\n  security: {preset: hardened}\n",
        ),
    ];
    for (args, stdin) in cases {
        let wasm = call(args, stdin);
        let want = native(args, stdin).unwrap();
        assert_eq!(helm_result(&wasm), Ok(()), "{args:?}: {wasm:?}");
        assert_eq!(wasm.stdout, want.stdout, "{args:?} stdout");
        assert_eq!(wasm.stderr_str(), want.stderr, "{args:?} stderr");
        assert!(!wasm.stdout.is_empty(), "{args:?} printed nothing");
    }
}

#[test]
fn failures_reach_helm_as_plugin_errors_without_partial_output() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["enable", "katb"], "", "unknown component \"katb\""),
        (
            &["disable", "notebook-controller"],
            "",
            "cannot disable notebook-controller: still needed by jupyter-web-app",
        ),
        (
            &["enable", "katib"],
            "katib: [",
            "values on stdin: invalid YAML",
        ),
        (
            &["enable", "katib"],
            "USER-SUPPLIED VALUES:\nkatib: {}\n",
            "use `helm get values RELEASE -o yaml`",
        ),
        (
            &["profile", "add", "Bad_Name", "--owner", "a@x.io"],
            "",
            "must be a DNS label",
        ),
        (&["render"], "a: [\n", "render: "),
        (
            &["validate-config"],
            "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec: {auth: {apps: [{name: m, service: m, prefix: m}]}}\n",
            "validate-config: config: auth.apps[m].prefix: \"m\" is not a URI path",
        ),
        (
            &["validate-config"],
            "apiVersion: kf-post.kubeflow.org/v1alpha1\nkind: PostRenderConfig\nspec: {istio: {mode: sidecars}}\n",
            "validate-config: config: spec.istio.mode: unknown variant `sidecars`",
        ),
        (
            &["validate-config", "kf-post.yaml"],
            "",
            "pipe it in: helm kubeflow validate-config < kf-post.yaml",
        ),
        (&["frobnicate"], "", "unknown command \"frobnicate\""),
    ];
    for (args, stdin, want) in cases {
        let o = call(args, stdin);
        assert_eq!(o.trap, None, "{args:?}");
        assert_eq!(o.code, 1, "{args:?}");
        let err = helm_result(&o).unwrap_err();
        assert!(
            err.starts_with("plugin error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty(), "{args:?} wrote stdout before failing");
    }
}

#[test]
fn doctor_prints_findings_then_fails() {
    let o = call(&["doctor"], "global: {auth: {mode: none}}\n");
    assert!(
        o.stdout_str()
            .contains("authentication is off while the Kubeflow gateway is exposed"),
        "{}",
        o.stdout_str()
    );
    assert_eq!(
        helm_result(&o),
        Err("plugin error: doctor: 1 error(s) in the values".to_string())
    );
}

#[test]
fn malformed_extism_input_is_an_error_not_a_trap() {
    let rc = RuntimeConfig::from_plugin_yaml().unwrap();
    for (input, want) in [
        (
            &b"not json"[..],
            "extism input: expected {\"extraArgs\": [...]}",
        ),
        (b"{\"extraArgs\": 3}", "extism input"),
    ] {
        let o = invoke(&Call {
            entry: rc.entry.clone(),
            input: input.to_vec(),
            stdin: vec![],
            env: vec![],
            max_pages: rc.max_pages,
        })
        .unwrap();
        assert_eq!(o.trap, None);
        let err = helm_result(&o).unwrap_err();
        assert!(err.contains(want), "{err}");
    }
    // Helm sends `{"extraArgs": []}` for a bare `helm kubeflow`; `null` is accepted too.
    let o = invoke(&Call {
        input: b"{\"extraArgs\": null}".to_vec(),
        ..Call::cli(&[], "").unwrap()
    })
    .unwrap();
    assert_eq!(helm_result(&o), Ok(()));
    assert!(o.stdout_str().starts_with("helm kubeflow:"));
}

/// Builds the native `kf-post` binary (release, like users run it) and returns its path.
fn native_kf_post() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "-p",
            "kf-post",
            "--release",
            "--bin",
            "kf-post",
            "--message-format=json",
        ])
        .current_dir(wasm_host_tests::repo_root())
        .stderr(Stdio::inherit())
        .output()
        .expect("running cargo build -p kf-post");
    assert!(out.status.success(), "cargo build -p kf-post failed");
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .find(|p| p.file_name().is_some_and(|n| n == "kf-post"))
        .expect("cargo reported the kf-post executable")
}

#[test]
fn render_of_the_whole_platform_is_byte_identical_to_native_kf_post() {
    let input = example();
    let native = Command::new(native_kf_post())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            let data = input.clone();
            let writer = std::thread::spawn(move || stdin.write_all(&data));
            let out = child.wait_with_output()?;
            writer.join().unwrap()?;
            Ok(out)
        })
        .unwrap();
    assert!(
        native.status.success(),
        "kf-post: {}",
        String::from_utf8_lossy(&native.stderr)
    );
    let o = invoke(&Call::cli(&["render"], input.clone()).unwrap()).unwrap();
    assert_eq!(helm_result(&o), Ok(()), "{}", o.stderr_str());
    assert!(
        o.stdout == native.stdout,
        "WASM render differs from native kf-post ({} vs {} bytes)",
        o.stdout.len(),
        native.stdout.len()
    );
    assert!(
        o.stdout.len() > input.len() / 2,
        "render dropped most of the stream"
    );

    // The postrenderer/v1 entry, with manifests as a string (helm/helm#31832's fix), agrees too.
    let json =
        serde_json::json!({ "manifests": String::from_utf8(input).unwrap(), "extraArgs": [] });
    let o = invoke(&Call {
        entry: "helm_postrenderer_main".into(),
        input: serde_json::to_vec(&json).unwrap(),
        ..Call::cli(&[], "").unwrap()
    })
    .unwrap();
    assert_eq!((o.code, &o.error, &o.trap), (0, &None, &None));
    let out: serde_json::Value = serde_json::from_slice(&o.output).unwrap();
    assert!(
        out["manifests"].as_str().unwrap().as_bytes() == native.stdout,
        "postrenderer/v1 output differs from native kf-post"
    );
}

#[test]
fn postrenderer_entry_explains_todays_empty_manifests() {
    // Helm 4.x marshals the *bytes.Buffer of manifests as `{}` (helm/helm#31832).
    let o = invoke(&Call {
        entry: "helm_postrenderer_main".into(),
        input: br#"{"manifests":{},"extraArgs":[]}"#.to_vec(),
        ..Call::cli(&[], "").unwrap()
    })
    .unwrap();
    let err = helm_result(&o).unwrap_err();
    assert!(
        err.contains("helm/helm#31832") && err.contains("kf-post subprocess post-renderer plugin"),
        "{err}"
    );
}

#[test]
fn the_memory_limit_ends_in_a_clean_error_not_a_trap() {
    let input = example();
    let rc = RuntimeConfig::from_plugin_yaml().unwrap();
    // Room for the module itself but not for a 12 MB stream and its parse.
    let initial = wasm_host_tests::module()
        .unwrap()
        .exports()
        .find_map(|e| e.ty().memory().map(|m| m.minimum()))
        .unwrap();
    let tight = initial + 64;
    assert!(
        u64::from(rc.max_pages) > tight,
        "plugin.yaml maxPages must exceed the test's tight limit"
    );
    let o = invoke(&Call {
        max_pages: tight as u32,
        ..Call::cli(&["render"], input).unwrap()
    })
    .unwrap();
    assert_eq!(o.trap, None, "trapped at the memory limit");
    assert!(o.exited && o.code == 3, "{o:?}");
    assert!(
        o.stderr_str().contains("out of memory") && o.stderr_str().contains("maxPages"),
        "{}",
        o.stderr_str()
    );
    assert!(o.stdout.is_empty());
    assert!(
        o.memory_pages <= tight,
        "memory grew past the limit: {} > {tight}",
        o.memory_pages
    );

    // Below the module's own initial memory Helm cannot even create the plugin.
    let err = invoke(&Call {
        max_pages: (initial - 1) as u32,
        ..Call::cli(&["version"], "").unwrap()
    })
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("instantiating plugin.wasm"),
        "{err:#}"
    );
}

#[test]
fn plugin_yaml_max_pages_fits_the_whole_platform_render() {
    let rc = RuntimeConfig::from_plugin_yaml().unwrap();
    let o = invoke(&Call::cli(&["render"], example()).unwrap()).unwrap();
    assert_eq!(helm_result(&o), Ok(()));
    let used = o.memory_pages;
    // At least a quarter of the limit stays free for larger-than-upstream streams.
    assert!(
        used * 4 <= u64::from(rc.max_pages) * 3,
        "render used {used} of {} pages ({} MiB)",
        rc.max_pages,
        (used * WASM_PAGE) >> 20
    );
}
