//! Component variants (`<key>.variant`) in the real `plugin.wasm`, checked
//! against the umbrella chart itself: for each values file, `helm kubeflow
//! doctor` reports an error on a component or variant value exactly when
//! `helm template charts/kubeflow -f values` fails (the chart's
//! templates/checks.yaml and the component charts' schemas), and what
//! `helm kubeflow enable` prints renders. Fails (never skips) when Helm
//! (`.tools/bin/helm`, scripts/bootstrap) or plugin.wasm (scripts/build-plugin)
//! is missing.
//!
//! doctor's other errors (demo password, authentication off behind an exposed
//! gateway, m2m issuer, …) are deliberately stricter than the chart, so the
//! verdict compared here is doctor's errors on `*.enabled` / `*.variant`.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{run_ok, Scratch};
use wasm_host_tests::{helm_result, invoke, repo_root, Call, Outcome};

fn call(args: &[&str], stdin: &str) -> Outcome {
    invoke(&Call::cli(args, stdin).unwrap()).unwrap()
}

fn helm_bin() -> PathBuf {
    let bin = repo_root().join(".tools/bin/helm");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/bootstrap",
        bin.display()
    );
    bin
}

fn helm(home: &Path) -> Command {
    let mut c = Command::new(helm_bin());
    for (var, sub) in [
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_DATA_HOME", "data"),
        ("HELM_PLUGINS", "plugins"),
    ] {
        c.env(var, home.join(sub));
    }
    c
}

/// A private copy of `charts/` with the umbrella's dependencies packaged from
/// the component charts as they are now (not whatever `charts/kubeflow/charts/`
/// holds); removed on drop.
struct Umbrella {
    scratch: Scratch,
}

impl Umbrella {
    fn new(tag: &str) -> Umbrella {
        let scratch = Scratch::new(&format!("variants-{tag}"));
        run_ok(
            Command::new("cp")
                .arg("-r")
                .arg(repo_root().join("charts"))
                .arg(&scratch.0),
        );
        let u = Umbrella { scratch };
        let chart = u.chart();
        let _ = std::fs::remove_dir_all(chart.join("charts"));
        let _ = std::fs::remove_file(chart.join("Chart.lock"));
        run_ok(
            helm(&u.home())
                .args(["dependency", "update", "--skip-refresh"])
                .arg(&chart),
        );
        u
    }

    fn chart(&self) -> PathBuf {
        self.scratch.0.join("charts/kubeflow")
    }

    fn home(&self) -> PathBuf {
        self.scratch.0.join("helm-home")
    }

    /// `helm template` of the umbrella with `values`: Ok, or Err(helm's stderr).
    fn template(&self, values: &str) -> Result<(), String> {
        let file = self.scratch.0.join("values.yaml");
        std::fs::write(&file, values).unwrap();
        let out = helm(&self.home())
            .args(["template", "kubeflow"])
            .arg(self.chart())
            .arg("-f")
            .arg(&file)
            .output()
            .expect("running helm template");
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// doctor's errors (from plugin.wasm, `-o json`) on component and variant values.
fn render_errors(values: &str) -> Vec<String> {
    let o = call(&["doctor", "-o", "json"], values);
    assert_eq!(o.trap, None);
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor -o json: {e}: {}", o.stdout_str()));
    findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| f["value"].as_str().map(|v| (v, f)))
        .filter(|(v, _)| v.ends_with(".enabled") || v.ends_with(".variant"))
        .map(|(v, f)| format!("{v}: {}", f["message"].as_str().unwrap_or_default()))
        .collect()
}

/// Every component with a meshed variant in upstream's standalone variant.
fn all_standalone() -> String {
    helm_kubeflow::variants::MESHED_VARIANTS
        .iter()
        .map(|m| format!("{}: {{variant: {}}}\n", m.key, m.standalone))
        .collect()
}

#[test]
fn doctor_in_wasm_reports_a_bad_variant_combination_with_the_value_to_set() {
    let values =
        "global: {istio: {mode: ambient}, auth: {mode: m2m-kind}}\nkatib: {variant: bogus}\n";
    let o = call(&["doctor"], values);
    let out = o.stdout_str();
    for want in [
        "error    istio.variant: global.istio.mode=ambient but istio.variant=oauth2-proxy installs the sidecar data plane",
        "fix: set istio.variant=ambient-oauth2-proxy (or ",
        "error    oauth2Proxy.variant: global.auth.mode=m2m-kind needs oauth2Proxy.variant=m2m-dex-and-kind (upstream's overlay for it), not m2m-dex-only",
        "error    katib.variant: katib.variant=bogus is not a variant of the katib chart",
        "fix: set katib.variant to one of with-kubeflow, standalone",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
    let err = helm_result(&o).unwrap_err();
    assert!(
        err.starts_with("plugin error: doctor: ") && err.ends_with(" error(s) in the values"),
        "{err}"
    );
    // Byte for byte what the native library prints.
    let argv = vec!["doctor".to_string()];
    let input = values.as_bytes().to_vec();
    let native = helm_kubeflow::run(&argv, &mut || Ok(input.clone())).unwrap();
    assert_eq!(o.stdout, native.stdout);
}

#[test]
fn doctor_verdict_on_variants_matches_helm_template() {
    let umbrella = Umbrella::new("doctor");
    let standalone = all_standalone();
    let no_istio = "global: {istio: {enabled: false}, auth: {mode: none}}\n".to_string();
    // (name, values, the chart renders)
    let cases: Vec<(&str, String, bool)> = vec![
        ("defaults", String::new(), true),
        ("unknown-variant", "katib: {variant: bogus}\n".into(), false),
        (
            "unknown-variant-disabled",
            "tags: {katib: false}\nkatib: {variant: bogus}\n".into(),
            true,
        ),
        ("no-istio-meshed-defaults", no_istio.clone(), false),
        (
            "no-istio-standalone",
            format!("{no_istio}{standalone}"),
            true,
        ),
        (
            "no-istio-one-meshed",
            format!(
                "{no_istio}{}",
                standalone.replace("pipelines: {variant: generic}", "pipelines: {variant: multi-user}")
            ),
            false,
        ),
        (
            "no-gateway-resources-meshed",
            "kubeflowIstioResources: {enabled: false}\n".into(),
            false,
        ),
        (
            "no-gateway-resources-standalone",
            format!("kubeflowIstioResources: {{enabled: false}}\n{standalone}"),
            true,
        ),
        (
            "istio-components-off-standalone",
            format!("global: {{auth: {{mode: none}}}}\ntags: {{istio: false, auth: false, serving: false}}\n{standalone}"),
            true,
        ),
        ("ambient-sidecar-variant", "global: {istio: {mode: ambient}}\n".into(), false),
        (
            "ambient-ambient-variant",
            "global: {istio: {mode: ambient}}\nistio: {variant: ambient-oauth2-proxy}\n".into(),
            true,
        ),
        (
            "sidecar-ambient-variant",
            "istio: {variant: ambient-oauth2-proxy}\n".into(),
            false,
        ),
        ("m2m-kind-default-proxy", "global: {auth: {mode: m2m-kind}}\n".into(), false),
        (
            "m2m-kind-kind-proxy",
            "global: {auth: {mode: m2m-kind}}\noauth2Proxy: {variant: m2m-dex-and-kind}\n".into(),
            true,
        ),
        (
            "dex-mode-eks-proxy",
            "oauth2Proxy: {variant: m2m-dex-and-eks}\n".into(),
            false,
        ),
    ];
    let mut mismatches = Vec::new();
    for (name, values, renders) in &cases {
        let helm = umbrella.template(values);
        let doctor = render_errors(values);
        if helm.is_ok() != *renders {
            mismatches.push(format!(
                "{name}: expected the chart to {}: {helm:?}",
                if *renders { "render" } else { "fail" }
            ));
        }
        if doctor.is_empty() != helm.is_ok() {
            mismatches.push(format!(
                "{name}: helm template {} but doctor says {doctor:?}\nvalues:\n{values}",
                match &helm {
                    Ok(()) => "renders".to_string(),
                    Err(e) => format!("fails: {}", e.lines().next().unwrap_or_default()),
                }
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

#[test]
fn what_enable_prints_renders_with_the_chart() {
    let umbrella = Umbrella::new("enable");
    let all_off = "tags: {core: false, istio: false, auth: false, notebooks: false, pipelines: false, katib: false, training: false, serving: false, spark: false}";
    let cases: &[(&str, String, &[&str])] = &[
        // Istio off: meshed default variants are swapped for standalone ones.
        (
            "enable-no-istio",
            format!("global: {{istio: {{enabled: false}}, auth: {{mode: none}}}}\n{all_off}\n"),
            &["katib", "pipelines", "jupyter-web-app"],
        ),
        // Istio on: the gateway trio and the auth mode's components come along.
        ("enable-istio", format!("{all_off}\n"), &["katib"]),
        (
            "enable-standalone",
            format!("{all_off}\nkatib: {{variant: standalone}}\n"),
            &["katib"],
        ),
    ];
    for (name, values, targets) in cases {
        let mut args = vec!["enable"];
        args.extend_from_slice(targets);
        let o = call(&args, values);
        assert_eq!(helm_result(&o), Ok(()), "{name}: {}", o.stderr_str());
        let printed = o.stdout_str().to_string();
        assert_eq!(render_errors(&printed), Vec::<String>::new(), "{name}");
        if let Err(e) = umbrella.template(&printed) {
            panic!("{name}: helm template refuses what enable printed:\n{printed}\n{e}");
        }
    }
}
