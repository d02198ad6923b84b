//! The `kubeflow` umbrella chart rendered with real Helm 4 (no cluster):
//! its dependency table, presets, values schema, dependency checks and the
//! kf-post config it derives from `global.*`.

use e2e::umbrella as umbrella_common;

use std::collections::BTreeSet;
use std::process::Command;

use umbrella_common::*;

/// Groups each preset turns on (`tags`), plus components enabled one by one.
const PRESETS: &[(&str, &[&str], &[&str])] = &[
    (
        "full",
        &[
            "core",
            "istio",
            "auth",
            "notebooks",
            "pipelines",
            "katib",
            "training",
            "serving",
            "spark",
        ],
        &[],
    ),
    (
        "notebooks-trainer",
        &["core", "istio", "auth", "notebooks", "training"],
        &[],
    ),
    (
        "pipelines-katib",
        &["core", "istio", "auth", "pipelines", "katib"],
        &[],
    ),
    (
        "kserve-edge",
        &[],
        &["cert-manager", "kubeflow-namespace", "kserve"],
    ),
];

fn expected_components(groups: &[&str], extra: &[&str]) -> BTreeSet<String> {
    chart_dependencies()
        .into_iter()
        .filter(|(_, _, tags)| tags.iter().any(|t| groups.contains(&t.as_str())))
        .map(|(_, key, _)| key)
        .chain(extra.iter().map(|s| s.to_string()))
        .collect()
}

#[test]
fn dependencies_match_the_architecture_table_and_the_component_tags() {
    let deps = chart_dependencies();
    let arch = std::fs::read_to_string(repo_root().join("docs/architecture.md")).unwrap();
    let arch = &arch[arch
        .find("## Charts")
        .expect("architecture.md has a Charts section")..];
    // Rows of the chart/key table: `| chart | key | chart | key |`.
    let mut table = BTreeSet::new();
    for line in arch
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" | "))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        for pair in cells.chunks(2) {
            // Skip the header, the `|---|` rule and the empty trailing cell.
            if pair.len() == 2
                && !pair[0].is_empty()
                && pair[0] != "chart"
                && !pair[0].starts_with('-')
            {
                table.insert((pair[0].to_string(), pair[1].to_string()));
            }
        }
    }
    let ours: BTreeSet<(String, String)> = deps
        .iter()
        .map(|(n, k, _)| (n.clone(), k.clone()))
        .collect();
    assert_eq!(
        ours, table,
        "charts/kubeflow/Chart.yaml vs docs/architecture.md chart table"
    );

    // The template's tag table (used to decide what is enabled) = Chart.yaml tags.
    let tpl =
        std::fs::read_to_string(repo_root().join("charts/kubeflow/templates/_components.tpl"))
            .unwrap();
    for (name, key, tags) in &deps {
        let line = format!("{key}: [{}]", tags.join(", "));
        assert!(
            tpl.contains(&line),
            "_components.tpl lacks `{line}` for {name}"
        );
        let text = std::fs::read_to_string(repo_root().join("charts/kubeflow/Chart.yaml")).unwrap();
        assert!(text.contains(&format!(
            "repository: file://../{name}\n    condition: {key}.enabled"
        )));
    }
}

#[test]
fn generated_schema_and_readme_are_fresh() {
    let mut cmd = Command::new(repo_root().join("scripts/gen-umbrella"));
    cmd.arg("--check");
    run_ok(&mut cmd);
}

#[test]
fn presets_render_exactly_their_components() {
    for (preset_name, groups, extra) in PRESETS {
        let out = template(&[
            "--include-crds",
            "-f",
            preset(preset_name).to_str().unwrap(),
        ])
        .unwrap_or_else(|e| panic!("preset {preset_name} does not render: {e}"));
        let got = rendered_components(&out);
        let want = expected_components(groups, extra);
        assert_eq!(got, want, "components rendered by preset {preset_name}");
    }
}

#[test]
fn a_typo_in_a_component_key_fails_with_the_key_named() {
    for args in [
        ["--set", "katib.enabeld=true"],
        ["--set", "katib.enabeld=false"],
    ] {
        let err = template(&args).expect_err("typo accepted");
        assert!(
            err.contains("enabeld"),
            "error does not name the typo: {err}"
        );
        assert!(
            err.contains("katib"),
            "error does not name the component: {err}"
        );
    }
    let err = template(&["--set", "global.istio.mode=sidecars"]).expect_err("bad mode accepted");
    assert!(err.contains("/global/istio/mode"), "{err}");
}

#[test]
fn missing_dependencies_fail_naming_the_value_to_set() {
    let cases: &[(&[&str], &str)] = &[
        // Web apps in their gateway variants without Istio: name the standalone variant.
        (
            &["--set", "global.istio.enabled=false"],
            "centraldashboard.variant=oauth2-proxy renders Istio objects but global.istio.enabled=false: set centraldashboard.variant=base",
        ),
        // Katib behind the gateway with Istio off: name the variant to switch to.
        (
            &["-f", "PRESET:kserve-edge", "--set", "katib.enabled=true"],
            "katib.variant=with-kubeflow renders Istio objects but global.istio.enabled=false: set katib.variant=standalone",
        ),
        // Login without the gateway.
        (
            &["-f", "PRESET:kserve-edge", "--set", "global.auth.mode=dex-oauth2-proxy"],
            "global.auth.mode=dex-oauth2-proxy is enforced at the Kubeflow Istio gateway, so it needs global.istio.enabled=true",
        ),
        (
            &["--set", "global.istio.mode=ambient"],
            "set istio.variant=ambient-oauth2-proxy",
        ),
        (
            &["--set", "istio.variant=ambient"],
            "global.istio.mode=sidecar but istio.variant=ambient",
        ),
        (
            &["--set", "global.auth.mode=m2m-kind"],
            "needs oauth2-proxy.variant=m2m-dex-and-kind",
        ),
        (
            &["--set", "tags.istio=false"],
            "cluster-local-gateway is enabled and needs istio: set istio.enabled=true",
        ),
        (
            &[
                "--set", "tags.istio=false", "--set", "tags.serving=false",
                "--set", "tags.auth=false", "--set", "global.auth.mode=none",
            ],
            "centraldashboard (variant oauth2-proxy) is served behind the Kubeflow gateway, which needs istio-crds: set istio-crds.enabled=true",
        ),
        (
            &["--set", "profiles.enabled=false"],
            "needs profiles: set profiles.enabled=true",
        ),
        (
            &["--set", "cert-manager.enabled=false"],
            "needs cert-manager: set cert-manager.enabled=true",
        ),
        (
            &["--set", "tags.auth=false"],
            "global.auth.mode=dex-oauth2-proxy needs dex: set dex.enabled=true",
        ),
        (
            &["--set", "notebook-controller.enabled=false"],
            "jupyter-web-app is enabled and needs notebook-controller",
        ),
        (
            &["--set", "kserve.enabled=false"],
            "models-web-app is enabled and needs kserve",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<String> = args
            .iter()
            .map(|a| match a.strip_prefix("PRESET:") {
                Some(p) => preset(p).display().to_string(),
                None => a.to_string(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = template(&args).expect_err(&format!("{args:?} rendered"));
        assert!(err.contains(want), "{args:?}: want {want:?} in:\n{err}");
    }
    // The same needs, satisfied outside the release, render.
    template(&[
        "--set",
        "cert-manager.enabled=false",
        "--set",
        "global.externalComponents={cert-manager}",
    ])
    .expect("externally provided cert-manager");
    // Standalone Katib without the gateway: what the katib message asks for renders.
    let out = template(&[
        "-f",
        preset("kserve-edge").to_str().unwrap(),
        "--set",
        "katib.enabled=true",
        "--set",
        "katib.variant=standalone",
    ])
    .expect("standalone katib");
    assert!(rendered_components(&out).contains("katib"));
}

#[test]
fn production_renders_no_demo_credentials_and_asks_for_what_it_cannot_generate() {
    let prod = preset("production");
    let prod = prod.to_str().unwrap();
    let with = |skip: Option<usize>, extra: &[&str]| -> Result<String, String> {
        let mut args = vec!["-f", prod];
        for (i, pair) in PRODUCTION_INPUTS.chunks(2).enumerate() {
            if Some(i) != skip {
                args.extend_from_slice(pair);
            }
        }
        args.extend_from_slice(extra);
        template(&args)
    };
    // Each input the user must give, left out, fails the render naming it.
    for (skip, want) in [
        (0, "set it to your administrator's e-mail"),
        (1, "set credentials.userPasswordHash"),
        (2, "global.credentials.oidcClientSecret"),
    ] {
        let err = with(Some(skip), &[]).expect_err("production rendered without a required input");
        assert!(err.contains(want), "input {skip}: want {want:?} in:\n{err}");
    }
    // Upstream's demo values are refused even when given explicitly.
    let err = with(
        None,
        &[
            "--set-string",
            &format!("dex.credentials.userPasswordHash={}", DEMO_CREDENTIALS[0]),
        ],
    )
    .expect_err("production accepted the demo password hash");
    assert!(err.contains("upstream's public demo value"), "{err}");

    let out = with(None, &[]).expect("production with its inputs");
    let components = rendered_components(&out);
    for present in ["dex", "oauth2-proxy", "katib", "pipelines"] {
        assert!(components.contains(present), "production lacks {present}");
    }
    assert!(
        !components.contains("user-namespace"),
        "production renders the demo user's namespace"
    );
    for demo in DEMO_CREDENTIALS {
        assert!(
            !out.contains(demo),
            "production output holds the demo value {demo}"
        );
    }
    // Pipelines' MySQL is initialised with the generated password instead of
    // upstream's empty root password.
    let mysql = docs(&out)
        .into_iter()
        .find(|d| d.kind == "Deployment" && d.name == "mysql")
        .unwrap();
    assert!(
        mysql.text.contains("MYSQL_ROOT_PASSWORD")
            && !mysql.text.contains("MYSQL_ALLOW_EMPTY_PASSWORD"),
        "{}",
        mysql.text
    );
    // Nothing secret reaches NOTES.txt.
    let mut args = vec!["-f", prod];
    args.extend_from_slice(PRODUCTION_INPUTS);
    let notes = notes(&args);
    assert!(notes.contains("Generated credentials"), "{notes}");
    assert!(!notes.contains("WARNING: credentials mode demo"), "{notes}");
    for given in PRODUCTION_INPUTS.iter().skip(3).step_by(2) {
        let secret = given.split_once('=').unwrap().1;
        assert!(!notes.contains(secret), "NOTES.txt prints {secret}");
    }
    let config = docs(&out)
        .into_iter()
        .find(|d| d.kind == "PostRenderConfig")
        .unwrap();
    assert!(config.text.contains("preset: hardened"), "{}", config.text);
}

#[test]
fn demo_mode_renders_upstream_credentials_and_warns() {
    let out = template(&["-f", preset("full").to_str().unwrap()]).unwrap();
    for demo in DEMO_CREDENTIALS {
        assert!(
            out.contains(demo),
            "full (= upstream example) lacks the demo value {demo}"
        );
    }
    let notes = notes(&["-f", preset("full").to_str().unwrap()]);
    assert!(notes.contains("WARNING: credentials mode demo"), "{notes}");
}

#[test]
fn kf_post_config_follows_global_values() {
    let config = |args: &[&str]| -> String {
        let mut all = vec!["--show-only", "templates/kf-post-config.yaml"];
        all.extend_from_slice(args);
        template(&all).unwrap()
    };
    let sidecar = config(&[]);
    assert!(sidecar.contains("kind: PostRenderConfig"));
    assert!(sidecar.contains("mode: sidecar"), "{sidecar}");
    let ambient = config(&[
        "--set",
        "global.istio.mode=ambient",
        "--set",
        "istio.variant=ambient-oauth2-proxy",
    ]);
    assert!(ambient.contains("mode: ambient"), "{ambient}");
    let off = config(&["-f", preset("kserve-edge").to_str().unwrap()]);
    assert!(
        off.contains("mode: \"off\"") || off.contains("mode: 'off'"),
        "{off}"
    );
    let with_profile = [
        "--set",
        "global.profiles[0].name=team-a",
        "--set",
        "global.profiles[0].owner=alice@example.com",
    ];
    // The profile's namespace is meshed like the platform's.
    let profiles = config(&with_profile);
    assert!(profiles.contains("- team-a"), "{profiles}");
    // The chart renders the Profile itself, sequenced after its CRD, created
    // once under Helm 3 (re-creating a Profile deletes its namespace).
    let mut args = vec!["--show-only", "templates/profiles.yaml"];
    args.extend_from_slice(&with_profile);
    let profile = template(&args).unwrap();
    for want in [
        "kind: Profile",
        "name: team-a",
        "name: \"alice@example.com\"",
        "helm.sh/hook: post-install,post-upgrade,post-rollback",
        "helm.kubeflow.org/sequenced-by: \"kubeflow\"",
    ] {
        assert!(profile.contains(want), "{want} not in:\n{profile}");
    }
}

#[test]
fn lint_strict_is_clean_for_every_installable_preset() {
    for (name, _, _) in PRESETS {
        let mut cmd = umbrella_helm();
        cmd.args(["lint", "--strict"])
            .arg(umbrella_chart())
            .arg("-f")
            .arg(preset(name));
        run_ok(&mut cmd);
    }
}

/// `name key tag requires` of each catalog/components.yaml entry.
fn catalog() -> Vec<(String, String, String, Vec<String>)> {
    let text = std::fs::read_to_string(repo_root().join("catalog/components.yaml")).unwrap();
    let list = |v: &str| -> Vec<String> {
        v.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut out: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("  - name: ") {
            // The umbrella key is the chart name.
            out.push((
                n.trim().to_string(),
                n.trim().to_string(),
                String::new(),
                Vec::new(),
            ));
        } else if let Some(c) = out.last_mut() {
            if let Some(k) = line.strip_prefix("    key: ") {
                c.1 = k.trim().to_string();
            } else if let Some(t) = line.strip_prefix("    tag: ") {
                c.2 = t.trim().to_string();
            } else if let Some(r) = line.strip_prefix("    requires: ") {
                c.3 = list(r);
            }
        }
    }
    out
}

#[test]
fn chart_agrees_with_the_component_catalog() {
    let deps = chart_dependencies();
    let key_of: std::collections::BTreeMap<String, String> = deps
        .iter()
        .map(|(n, k, _)| (n.clone(), k.clone()))
        .collect();
    let tpl =
        std::fs::read_to_string(repo_root().join("charts/kubeflow/templates/_components.tpl"))
            .unwrap();
    let block = &tpl[tpl.find("define \"kubeflow.requires\"").unwrap()..];
    let block = &block[..block.find("{{- end }}").unwrap()];
    let catalog = catalog();
    assert_eq!(
        catalog.len(),
        deps.len(),
        "catalog vs Chart.yaml component count"
    );
    for (name, key, tag, requires) in catalog {
        let dep = deps
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} not in Chart.yaml"));
        assert_eq!(dep.1, key, "{name}: umbrella key");
        assert_eq!(dep.2, vec![tag.clone()], "{name}: tags");
        let want: Vec<String> = requires.iter().map(|r| key_of[r].clone()).collect();
        let line = format!("\n{key}: [{}]", want.join(", "));
        if want.is_empty() {
            assert!(
                !block.contains(&format!("\n{key}: ")),
                "{key} has requirements the catalog does not list"
            );
        } else {
            assert!(
                block.contains(&line),
                "kubeflow.requires lacks `{}` (catalog)",
                line.trim()
            );
        }
    }
}

/// `kubeflow.meshedVariants` lists exactly the component chart variants that
/// render Istio routing/authz objects (and their standalone variants render none).
#[test]
fn meshed_variant_table_matches_the_charts() {
    let tpl =
        std::fs::read_to_string(repo_root().join("charts/kubeflow/templates/_components.tpl"))
            .unwrap();
    let block = &tpl[tpl.find("define \"kubeflow.meshedVariants\"").unwrap()..];
    let block = &block[..block.find("{{- end }}").unwrap()];
    let charts = umbrella_chart().parent().unwrap();
    let home = charts.parent().unwrap().join("helm-home");
    let istio_objects = |chart: &str, variant: &str| -> usize {
        let mut cmd = helm_in(&home);
        cmd.args(["template", "x"])
            .arg(charts.join(chart))
            .args(["--set", &format!("variant={variant}")]);
        docs(&run_ok(&mut cmd))
            .iter()
            .filter(|d| {
                [
                    "VirtualService",
                    "AuthorizationPolicy",
                    "RequestAuthentication",
                    "Gateway",
                ]
                .contains(&d.kind.as_str())
            })
            .count()
    };
    let mut checked = 0;
    for (name, key, _) in chart_dependencies() {
        let Some(line) = block.lines().find(|l| l.starts_with(&format!("{key}: "))) else {
            continue;
        };
        let meshed: Vec<&str> = line[line.find("meshed: [").unwrap() + 9..]
            .split(']')
            .next()
            .unwrap()
            .split(", ")
            .collect();
        let standalone = line
            .split("standalone: ")
            .nth(1)
            .unwrap()
            .trim_end_matches('}')
            .trim();
        for v in &meshed {
            assert!(
                istio_objects(&name, v) > 0,
                "{name} variant {v} renders no Istio objects"
            );
        }
        assert_eq!(
            istio_objects(&name, standalone),
            0,
            "{name} variant {standalone} renders Istio objects"
        );
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} table rows checked");
}

/// `global.auth.mode=oidc` values for a Keycloak-like provider.
const OIDC: &[&str] = &[
    "--set",
    "global.auth.mode=oidc",
    "--set",
    "global.auth.oidc.issuerUrl=https://idp.example.com/realms/kf",
    "--set",
    "global.auth.oidc.loginUrl=https://idp.example.com/realms/kf/protocol/openid-connect/auth",
    "--set",
    "global.auth.oidc.redeemUrl=https://idp.example.com/realms/kf/protocol/openid-connect/token",
    "--set",
    "global.auth.oidc.jwksUrl=https://idp.example.com/realms/kf/protocol/openid-connect/certs",
    "--set",
    "global.auth.oidc.prompt=select_account",
];

#[test]
fn oidc_mode_points_oauth2_proxy_and_the_gateway_at_the_external_provider() {
    let np = preset("notebooks-trainer");
    let mut args = vec!["-f", np.to_str().unwrap(), "--set", "dex.enabled=false"];
    args.extend_from_slice(OIDC);
    let out = template(&args).expect("oidc mode without Dex");
    let components = rendered_components(&out);
    assert!(components.contains("oauth2-proxy") && !components.contains("dex"));
    let all = docs(&out);
    let cfg = all
        .iter()
        .find(|d| d.kind == "ConfigMap" && d.name.starts_with("oauth2-proxy-"))
        .unwrap();
    for line in [
        "oidc_issuer_url = \"https://idp.example.com/realms/kf\"",
        "login_url = \"https://idp.example.com/realms/kf/protocol/openid-connect/auth\"",
        "redeem_url = \"https://idp.example.com/realms/kf/protocol/openid-connect/token\"",
        "oidc_jwks_url = \"https://idp.example.com/realms/kf/protocol/openid-connect/certs\"",
        "prompt = \"select_account\"",
    ] {
        assert!(cfg.text.contains(line), "oauth2-proxy config lacks {line}");
    }
    let ra = all
        .iter()
        .find(|d| d.kind == "RequestAuthentication" && d.name == "dex-jwt")
        .unwrap();
    assert!(
        ra.text
            .contains("issuer: \"https://idp.example.com/realms/kf\""),
        "{}",
        ra.text
    );
    // Nothing but upstream's comment still points at the in-cluster Dex.
    let dex_refs: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("dex.auth.svc") && !l.trim_start().starts_with('#'))
        .collect();
    assert!(dex_refs.is_empty(), "{dex_refs:?}");
    let notes = notes(&args);
    assert!(
        notes.contains("log in with your OIDC provider (https://idp.example.com/realms/kf)"),
        "{notes}"
    );

    // Every endpoint is required, and the in-cluster Dex is not an external provider.
    for field in ["issuerUrl", "loginUrl", "redeemUrl", "jwksUrl", "prompt"] {
        let mut partial = vec!["-f", np.to_str().unwrap()];
        for pair in OIDC.chunks(2) {
            if !pair[1].starts_with(&format!("global.auth.oidc.{field}=")) {
                partial.extend_from_slice(pair);
            }
        }
        let err = template(&partial).expect_err(field);
        assert!(
            err.contains(&format!("global.auth.oidc.{field}")),
            "{field}: {err}"
        );
    }
    let mut dex_issuer = args.clone();
    dex_issuer.extend_from_slice(&[
        "--set",
        "global.auth.oidc.issuerUrl=http://dex.auth.svc.cluster.local:5556/dex",
    ]);
    let err = template(&dex_issuer).expect_err("oidc mode with Dex's issuer");
    assert!(
        err.contains("use global.auth.mode=dex-oauth2-proxy"),
        "{err}"
    );
    // A value that would break out of oauth2-proxy's TOML string is refused.
    let mut quoted = args.clone();
    quoted.extend_from_slice(&["--set", "global.auth.oidc.prompt=x\" evil=\"1"]);
    let err = template(&quoted).expect_err("a quote in an OIDC value");
    assert!(err.contains("prompt"), "{err}");
}

/// KEP 831's literal install command renders as written: the KEP's keys
/// (`pipelines`, `training-operator`) are the umbrella's keys, and the
/// Training Operator and Pipelines are in the release.
#[test]
fn the_keps_install_command_renders_as_written() {
    let out = template(&[
        "--set",
        "pipelines.enabled=true",
        "--set",
        "training-operator.enabled=true",
    ])
    .expect("helm template with the KEP's --set flags");
    let components = rendered_components(&out);
    for c in ["pipelines", "training-operator"] {
        assert!(components.contains(c), "{c} not rendered: {components:?}");
    }
    // The custom resources are sequenced (Helm hooks), never plain objects.
    assert!(out.contains("helm.sh/hook: post-install,post-upgrade,post-rollback"));
}

/// `helm template` of the umbrella run through kf-post (the engine the
/// post-renderer plugin runs, in-process): what `helm install --post-renderer
/// kf-post` would apply. Returns (Helm's stream, kf-post's stream).
fn post_rendered(args: &[&str]) -> (String, String) {
    let helm = template(args).unwrap_or_else(|e| panic!("helm template {args:?}: {e}"));
    let out = kf_post::post_render(helm.as_bytes(), &kf_post::Options::default())
        .unwrap_or_else(|e| panic!("kf-post {args:?}: {e}"));
    (helm, String::from_utf8(out.stream).unwrap())
}

fn object<'a>(
    docs: &'a [serde_yaml::Value],
    kind: &str,
    namespace: &str,
    name: &str,
) -> Option<&'a serde_yaml::Value> {
    docs.iter().find(|d| {
        d["kind"] == kind
            && d["metadata"]["namespace"] == namespace
            && d["metadata"]["name"] == name
    })
}

/// oauth2-proxy's `cookie_secure` (env OAUTH2_PROXY_COOKIE_SECURE from this key).
fn force_https(docs: &[serde_yaml::Value]) -> &str {
    object(
        docs,
        "ConfigMap",
        "oauth2-proxy",
        "oauth2-proxy-parameters-74659b6648",
    )
    .expect("oauth2-proxy parameters")["data"]["FORCE_HTTPS"]
        .as_str()
        .expect("FORCE_HTTPS is a string")
}

const GATEWAY_TLS: &[&str] = &[
    "--set",
    "global.gateway.hosts={kubeflow.example.com,ml.example.com}",
    "--set",
    "global.gateway.tls.enabled=true",
    "--set",
    "global.gateway.tls.certManager.issuerName=letsencrypt-prod",
];

/// The umbrella as each supported path applies it, parsed: Helm 4 through
/// kf-post (in-process, every document), and Helm 3 with kf-post as its exec
/// post-renderer (the built binary), which hands kf-post no hooks: the
/// Gateway and the Certificate are hooks, so what they say is the chart's.
fn applied(args: &[&str]) -> [(&'static str, Vec<serde_yaml::Value>); 2] {
    let (_, helm4) = post_rendered(args);
    let kf_post = e2e::kf_post_bin().to_str().unwrap().to_string();
    let mut helm3_args = vec!["--kube-version", "1.35.0", "--post-renderer", &kf_post];
    helm3_args.extend_from_slice(args);
    let helm3 = template3(&helm3_args).unwrap_or_else(|e| panic!("helm3 template {args:?}: {e}"));
    [
        (
            "Helm 4",
            kf_post::stream::read_values(helm4.as_bytes()).unwrap(),
        ),
        (
            "Helm 3",
            kf_post::stream::read_values(helm3.as_bytes()).unwrap(),
        ),
    ]
}

fn gateway_certificate(docs: &[serde_yaml::Value]) -> Option<&serde_yaml::Value> {
    docs.iter()
        .find(|d| d["kind"] == "Certificate" && d["metadata"]["namespace"] == "istio-system")
}

#[test]
fn gateway_hosts_and_tls_follow_global_values() {
    let np = preset("notebooks-trainer");
    let with = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["-f".to_string(), np.to_str().unwrap().to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let run = |extra: &[&str]| {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        applied(&args)
    };

    // Defaults: upstream's Gateway (HTTP on 80 for `*`), no Certificate,
    // upstream's cookie_secure, and the kf-post config has no gateway section.
    let upstream: serde_yaml::Value =
        serde_yaml::from_str("[{hosts: ['*'], port: {name: http, number: 80, protocol: HTTP}}]")
            .unwrap();
    for (helm, values) in run(&[]) {
        let gateway = object(&values, "Gateway", "kubeflow", "kubeflow-gateway").unwrap();
        assert_eq!(gateway["spec"]["servers"], upstream, "{helm}");
        assert!(gateway_certificate(&values).is_none(), "{helm}");
        assert_eq!(force_https(&values), "false", "{helm}");
    }
    let config = template(&[
        "--show-only",
        "templates/kf-post-config.yaml",
        "-f",
        np.to_str().unwrap(),
    ])
    .unwrap();
    assert!(!config.contains("gateway:"), "{config}");

    // Hosts + cert-manager: HTTPS on 443 from the Certificate's Secret in
    // istio-system, HTTP redirects, the session cookie is secure.
    let want_servers: serde_yaml::Value = serde_yaml::from_str(
        "[{hosts: [kubeflow.example.com, ml.example.com], port: {name: http, number: 80, protocol: HTTP}, tls: {httpsRedirect: true}},
          {hosts: [kubeflow.example.com, ml.example.com], port: {name: https, number: 443, protocol: HTTPS},
           tls: {mode: SIMPLE, credentialName: kubeflow-gateway-tls}}]",
    )
    .unwrap();
    let want_cert: serde_yaml::Value = serde_yaml::from_str(
        "{secretName: kubeflow-gateway-tls, dnsNames: [kubeflow.example.com, ml.example.com],
          issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: letsencrypt-prod}}",
    )
    .unwrap();
    for (helm, values) in run(GATEWAY_TLS) {
        let gateway = object(&values, "Gateway", "kubeflow", "kubeflow-gateway").unwrap();
        assert_eq!(gateway["spec"]["servers"], want_servers, "{helm}");
        let cert = object(
            &values,
            "Certificate",
            "istio-system",
            "kubeflow-gateway-tls",
        )
        .unwrap_or_else(|| panic!("{helm}: a Certificate for the gateway in istio-system"));
        assert_eq!(cert["apiVersion"], "cert-manager.io/v1", "{helm}");
        assert_eq!(cert["spec"], want_cert, "{helm}");
        // Applied when the Gateway is: after the release's CRDs and webhooks.
        for key in ["helm.sh/hook", "helm.sh/hook-weight"] {
            assert_eq!(
                cert["metadata"]["annotations"][key], gateway["metadata"]["annotations"][key],
                "{helm}: {key}"
            );
        }
        assert_eq!(
            cert["metadata"]["labels"]["helm.kubeflow.org/sequenced-by"], "kubeflow",
            "{helm}"
        );
        assert_eq!(force_https(&values), "true", "{helm}");
        // The ingress gateway Service exposes the HTTPS port the server listens on.
        let svc = object(&values, "Service", "istio-system", "istio-ingressgateway").unwrap();
        assert!(
            svc["spec"]["ports"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|p| p["port"] == 443 && p["targetPort"] == 8443),
            "{helm}: {svc:?}"
        );
    }
    let notes_tls = notes(
        &with(GATEWAY_TLS)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    for want in [
        "https://kubeflow.example.com/",
        "https://ml.example.com/",
        "svc/istio-ingressgateway 8443:443",
        "--set istio.ingressGateway.service.type=LoadBalancer",
        "answers with a redirect to HTTPS",
    ] {
        assert!(notes_tls.contains(want), "{want} not in:\n{notes_tls}");
    }
    assert!(!notes_tls.contains("8080:80"), "{notes_tls}");

    // An existing Secret, no redirect: HTTP stays as upstream has it.
    for (helm, values) in run(&[
        "--set",
        "global.gateway.tls.enabled=true",
        "--set",
        "global.gateway.tls.secretName=my-cert",
        "--set",
        "global.gateway.httpsRedirect=false",
    ]) {
        let gateway = object(&values, "Gateway", "kubeflow", "kubeflow-gateway").unwrap();
        let servers = gateway["spec"]["servers"].as_sequence().unwrap();
        assert_eq!(servers[0], upstream[0], "{helm}");
        assert_eq!(servers[1]["tls"]["credentialName"], "my-cert", "{helm}");
        assert_eq!(servers[1]["hosts"], upstream[0]["hosts"], "{helm}");
        assert!(gateway_certificate(&values).is_none(), "{helm}");
        assert_eq!(force_https(&values), "true", "{helm}");
    }

    // NOTES: values, never `kubectl patch`.
    let notes_default = notes(&["-f", np.to_str().unwrap()]);
    for want in [
        "kubectl port-forward -n istio-system svc/istio-ingressgateway 8080:80",
        "--set istio.ingressGateway.service.type=LoadBalancer",
        "global.gateway.tls",
    ] {
        assert!(
            notes_default.contains(want),
            "{want} not in:\n{notes_default}"
        );
    }
    for n in [&notes_default, &notes_tls] {
        assert!(!n.contains("kubectl patch"), "{n}");
    }
}

#[test]
fn inconsistent_gateway_values_fail_naming_the_value() {
    let np = preset("notebooks-trainer");
    let edge = preset("kserve-edge");
    // (values, message part)
    let cases: &[(&[&str], &str)] = &[
        (
            &["--set", "global.gateway.tls.enabled=true"],
            "set global.gateway.tls.secretName",
        ),
        (
            &[
                "--set",
                "global.gateway.tls.enabled=true",
                "--set",
                "global.gateway.tls.certManager.issuerName=le",
            ],
            "global.gateway.tls.certManager needs the host names to certify: set global.gateway.hosts",
        ),
        (
            &["--set", "global.gateway.tls.secretName=x"],
            "but global.gateway.tls.enabled=false",
        ),
        (
            &["--set", "global.gateway.httpsRedirect=true"],
            "global.gateway.httpsRedirect=true redirects to HTTPS, which needs global.gateway.tls.enabled=true",
        ),
        (
            &["--set", "global.gateway.hosts={Kubeflow.Example.com}"],
            "global/gateway/hosts/0",
        ),
        (
            &[
                "--set",
                "global.gateway.tls.enabled=true",
                "--set",
                "global.gateway.tls.secretName=x",
                "--set",
                "global.gateway.tls.certManager.issuerKind=Cluster",
            ],
            "issuerKind",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["-f", np.to_str().unwrap()];
        args.extend_from_slice(extra);
        let err = template(&args).expect_err(&format!("{extra:?}"));
        assert!(err.contains(want), "{extra:?}:\n{err}");
    }
    // No Gateway in the release (no Istio): nothing to configure.
    let err = template(&[
        "-f",
        edge.to_str().unwrap(),
        "--set",
        "global.gateway.hosts={kubeflow.example.com}",
    ])
    .expect_err("gateway values without the gateway");
    assert!(
        err.contains("global.gateway.* configures the Kubeflow gateway"),
        "{err}"
    );
}

/// One rendered object (`kind`, `name`) of a stream, parsed.
fn rendered_object(stream: &str, kind: &str, name: &str) -> serde_yaml::Value {
    let d = docs(stream)
        .into_iter()
        .find(|d| d.kind == kind && d.name == name)
        .unwrap_or_else(|| panic!("{kind} {name} not rendered"));
    serde_yaml::from_str(&d.text).unwrap()
}

/// The first container of a rendered workload.
fn main_container(stream: &str, kind: &str, name: &str) -> serde_yaml::Value {
    rendered_object(stream, kind, name)["spec"]["template"]["spec"]["containers"][0].clone()
}

/// KEP 831's example values file renders as written: each value lands on the
/// object the KEP means (charts' parts, docs/charts.md#parts).
#[test]
fn the_keps_values_file_renders_as_written() {
    let fixture = repo_root().join("e2e/fixtures/kep-values.yaml");
    let out =
        template(&["-f", fixture.to_str().unwrap()]).expect("helm template -f kep-values.yaml");
    let pvc = rendered_object(&out, "PersistentVolumeClaim", "mysql-pv-claim");
    assert_eq!(
        pvc["spec"]["storageClassName"].as_str(),
        Some("fast-ssd"),
        "{pvc:?}"
    );
    assert_eq!(
        pvc["spec"]["resources"]["requests"]["storage"].as_str(),
        Some("20Gi"),
        "{pvc:?}"
    );
    let limits = |c: &serde_yaml::Value| c["resources"]["limits"].clone();
    let want: serde_yaml::Value = serde_yaml::from_str("{cpu: '2', memory: 4Gi}").unwrap();
    let to = main_container(&out, "Deployment", "training-operator");
    assert_eq!(limits(&to), want, "{to:?}");
    let want: serde_yaml::Value = serde_yaml::from_str("{cpu: '1', memory: 1Gi}").unwrap();
    let katib = main_container(&out, "Deployment", "katib-controller");
    assert_eq!(limits(&katib), want, "{katib:?}");
    // Only what the file names changed: Pipelines' other claim keeps upstream's size.
    let defaults = template(&[
        "--set",
        "pipelines.enabled=true",
        "--set",
        "katib.enabled=true",
    ])
    .unwrap();
    assert_eq!(
        rendered_object(&out, "PersistentVolumeClaim", "seaweedfs-pvc")["spec"],
        rendered_object(&defaults, "PersistentVolumeClaim", "seaweedfs-pvc")["spec"]
    );
    assert_eq!(
        main_container(&out, "Deployment", "katib-ui"),
        main_container(&defaults, "Deployment", "katib-ui")
    );
}

/// The generated names of before the parts (`workloads.`, `containers.`,
/// `persistence.`) are gone: the schema refuses them, naming the key.
#[test]
fn old_value_names_are_refused_by_the_schema() {
    for (set, key) in [
        ("katib.workloads.katibController.replicas=2", "workloads"),
        (
            "katib.containers.katibController.resources.limits.cpu=1",
            "containers",
        ),
        (
            "pipelines.persistence.mysqlPvClaim.size=20Gi",
            "persistence",
        ),
    ] {
        let err = template(&["--set", set]).expect_err(set);
        assert!(err.contains("schema") && err.contains(key), "{set}: {err}");
    }
}
