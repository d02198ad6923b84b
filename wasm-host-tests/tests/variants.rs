//! Component variants (`<key>.variant`) in the real `plugin.wasm`, checked
//! against the umbrella chart itself: for each values file, `helm kubeflow
//! doctor` reports an error on a component or variant value exactly when
//! `helm template charts/kubeflow -f values` fails (the chart's
//! templates/checks.yaml and the component charts' schemas), and what
//! `helm kubeflow enable` prints renders. Fails (never skips) when Helm
//! (`.tools/bin/helm`, scripts/bootstrap) or plugin.wasm (scripts/build-plugin)
//! is missing.
//!
//! Likewise for credentials and OIDC (`presets/production.yaml` with and
//! without the three values `generate` mode cannot generate, `global.auth.mode=oidc`
//! complete or missing a field).
//!
//! doctor's other errors (authentication off behind an exposed gateway, quotes
//! in OIDC endpoints, …) are deliberately stricter than the chart, so the
//! verdict compared here is doctor's errors on the values the chart checks:
//! `*.enabled`, `*.variant`, `*.credentials.*`, `dex.settings.staticUserEmail`,
//! `global.auth.oidc.*`.

use std::path::PathBuf;
use std::process::Command;

use e2e::{run_ok, Scratch};
use wasm_host_tests::{helm_result, invoke, repo_root, Call, Outcome};

fn call(args: &[&str], stdin: &str) -> Outcome {
    invoke(&Call::cli(args, stdin).unwrap()).unwrap()
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
            e2e::umbrella::helm_in(&u.home())
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
        let out = e2e::umbrella::helm_in(&self.home())
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

/// doctor's errors (from plugin.wasm, `-o json`) on the values the chart checks.
fn render_errors(values: &str) -> Vec<String> {
    let o = call(&["doctor", "-o", "json"], values);
    assert_eq!(o.trap, None);
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor -o json: {e}: {}", o.stdout_str()));
    findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| f["value"].as_str().map(|v| (v, f)))
        .filter(|(v, _)| {
            v.ends_with(".enabled")
                || v.ends_with(".variant")
                || v.contains(".credentials.")
                || *v == "dex.settings.staticUserEmail"
                || v.starts_with("global.auth.oidc.")
        })
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
        "error    oauth2-proxy.variant: global.auth.mode=m2m-kind needs oauth2-proxy.variant=m2m-dex-and-kind (upstream's overlay for it), not m2m-dex-only",
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
            "kubeflow-istio-resources: {enabled: false}\n".into(),
            false,
        ),
        (
            "no-gateway-resources-standalone",
            format!("kubeflow-istio-resources: {{enabled: false}}\n{standalone}"),
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
            "global: {auth: {mode: m2m-kind}}\noauth2-proxy: {variant: m2m-dex-and-kind}\n".into(),
            true,
        ),
        (
            "dex-mode-eks-proxy",
            "oauth2-proxy: {variant: m2m-dex-and-eks}\n".into(),
            false,
        ),
    ];
    assert_same_verdict(&umbrella, &cases);
}

/// For each (name, values, the chart renders): helm template's verdict is the
/// expected one, and doctor reports an error exactly when it fails.
fn assert_same_verdict(umbrella: &Umbrella, cases: &[(&str, String, bool)]) {
    let mut mismatches = Vec::new();
    for (name, values, renders) in cases {
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

/// `base` (a values file's text) with dotted paths set, as YAML.
fn with(base: &str, sets: &[(&str, &str)]) -> String {
    let mut m = helm_kubeflow::values::parse_user_values(base.as_bytes()).unwrap();
    for (path, v) in sets {
        helm_kubeflow::values::set(&mut m, path, serde_yaml::Value::from(*v)).unwrap();
    }
    serde_yaml::to_string(&m).unwrap()
}

#[test]
fn doctor_verdict_on_credentials_and_oidc_matches_helm_template() {
    use helm_kubeflow::doctor::{DEMO_OIDC_CLIENT_SECRET, DEMO_PASSWORD_HASH};
    let umbrella = Umbrella::new("credentials");
    let production = std::fs::read_to_string(repo_root().join("presets/production.yaml")).unwrap();
    let email = ("dex.settings.staticUserEmail", "admin@your.org");
    let hash = (
        "dex.credentials.userPasswordHash",
        "$2y$12$abcdefghijklmnopqrstuuJk8cV2iC9yBoJ1a3Q2nMTZ8i1l2Lx5K",
    );
    let secret = ("global.credentials.oidcClientSecret", "0123456789abcdef");
    let oidc: &[(&str, &str)] = &[
        ("global.auth.mode", "oidc"),
        (
            "global.auth.oidc.issuerUrl",
            "https://idp.example.com/realms/kubeflow",
        ),
        (
            "global.auth.oidc.loginUrl",
            "https://idp.example.com/realms/kubeflow/auth",
        ),
        (
            "global.auth.oidc.redeemUrl",
            "https://idp.example.com/realms/kubeflow/token",
        ),
        (
            "global.auth.oidc.jwksUrl",
            "https://idp.example.com/realms/kubeflow/certs",
        ),
        ("global.auth.oidc.prompt", "select_account"),
    ];
    let no_dex = "dex: {enabled: false}\n";
    let mut cases: Vec<(String, String, bool)> = vec![
        ("production-bare".into(), production.clone(), false),
        (
            "production-complete".into(),
            with(&production, &[email, hash, secret]),
            true,
        ),
        (
            "production-no-email".into(),
            with(&production, &[hash, secret]),
            false,
        ),
        (
            "production-demo-email".into(),
            with(
                &production,
                &[
                    ("dex.settings.staticUserEmail", "user@example.com"),
                    hash,
                    secret,
                ],
            ),
            false,
        ),
        (
            "production-no-hash".into(),
            with(&production, &[email, secret]),
            false,
        ),
        (
            "production-demo-hash".into(),
            with(
                &production,
                &[
                    email,
                    ("dex.credentials.userPasswordHash", DEMO_PASSWORD_HASH),
                    secret,
                ],
            ),
            false,
        ),
        (
            "production-no-secret".into(),
            with(&production, &[email, hash]),
            false,
        ),
        (
            "production-demo-secret".into(),
            with(
                &production,
                &[
                    email,
                    hash,
                    (
                        "global.credentials.oidcClientSecret",
                        DEMO_OIDC_CLIENT_SECRET,
                    ),
                ],
            ),
            false,
        ),
        (
            "production-chart-secrets".into(),
            with(
                &production,
                &[
                    email,
                    hash,
                    ("dex.credentials.oidcClientSecret", "s"),
                    ("oauth2-proxy.credentials.oidcClientSecret", "s"),
                ],
            ),
            true,
        ),
        (
            "production-proxy-secret-only".into(),
            with(
                &production,
                &[
                    email,
                    hash,
                    ("oauth2-proxy.credentials.oidcClientSecret", "s"),
                ],
            ),
            false,
        ),
        (
            "production-dex-demo-mode".into(),
            with(
                &production,
                &[hash, secret, ("dex.credentials.mode", "demo")],
            ),
            false,
        ),
        ("demo-defaults".into(), String::new(), true),
        (
            "unknown-global-mode".into(),
            "global: {credentials: {mode: random}}\n".into(),
            false,
        ),
        (
            "unknown-chart-mode".into(),
            "katib: {credentials: {mode: random}}\n".into(),
            false,
        ),
        ("oidc-complete".into(), with(no_dex, oidc), true),
        ("oidc-complete-with-dex".into(), with("", oidc), true),
        (
            "oidc-production".into(),
            with(
                &with(&production, oidc),
                &[("dex.enabled", "false"), secret],
            ),
            true,
        ),
        (
            "oidc-production-no-secret".into(),
            with(&with(&production, oidc), &[("dex.enabled", "false")]),
            false,
        ),
        (
            "oidc-in-cluster-dex".into(),
            with(
                &with(no_dex, oidc),
                &[(
                    "global.auth.oidc.issuerUrl",
                    "http://dex.auth.svc.cluster.local:5556/dex",
                )],
            ),
            false,
        ),
    ];
    for (field, _) in &oidc[1..] {
        let missing: Vec<(&str, &str)> = oidc.iter().filter(|(f, _)| f != field).copied().collect();
        cases.push((
            format!("oidc-missing-{field}"),
            with(no_dex, &missing),
            false,
        ));
    }
    // `with` sets strings: turn the "false" of dex.enabled into a boolean.
    let cases: Vec<(&str, String, bool)> = cases
        .iter()
        .map(|(n, v, r)| {
            (
                n.as_str(),
                v.replace("enabled: 'false'", "enabled: false"),
                *r,
            )
        })
        .collect();
    assert_same_verdict(&umbrella, &cases);
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
