//! `docs/bring-your-own-chart.md`, executed from its own text: each block
//! tagged ```` ```sh step=ID ```` runs verbatim (`bash -euo pipefail`) against
//! a local control plane with the real Helm 4 (and its kf-post plugin), Helm 3,
//! the Argo CD CMP script and the `kf-post` built from this tree; kubectl then
//! checks what a user would look at. The guide cannot drift from what works.
//!
//! The harness performs the guide's prerequisites itself: Istio's CRDs from
//! the upstream snapshot (Kubeflow installs them), cert-manager (this
//! project's chart; the emulated cluster plays its controller and cainjector
//! while their Deployments are Available), the profiles chart's Profile CRD
//! with Profiles `team-a`, `team-b`, `team-c`, and their namespaces with the
//! labels the profile controller sets, enforcing the `restricted` Pod
//! Security level. Blocks run in a scratch copy of the files the guide names
//! (the fixture charts, the Helm 4 plugin, the CMP script), so the files it
//! writes never touch the working tree.
//! Helm 3 runs with a Helm home of its own: it refuses to start next to a
//! Helm 4 plugin (docs/kf-post.md).

mod doc_steps;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const GUIDE: &str = "docs/bring-your-own-chart.md";

/// Every block of the guide, in the order the test runs them.
const STEPS: &[&str] = &[
    "plugin",
    "config",
    "install",
    "check",
    "upgrade",
    "uninstall",
    "helm3",
    "helm3-uninstall",
    "mistake",
    "platform-config",
    "annotations",
    "per-profile",
    "argocd",
    "webhook-config",
    "webhook-install",
    "webhook-use",
    "teams-config",
    "teams-install",
    "teams-uninstall",
    "new-team",
    "new-team-uninstall",
];

fn guide() -> std::collections::BTreeMap<String, doc_steps::Step> {
    let text = std::fs::read_to_string(e2e::repo_root().join(GUIDE)).expect("read the guide");
    doc_steps::parse(&text).unwrap_or_else(|e| panic!("{GUIDE}: {e}"))
}

#[test]
fn every_guide_block_is_run_by_the_test() {
    let blocks: BTreeSet<String> = guide().into_keys().collect();
    let run: BTreeSet<String> = STEPS.iter().map(|s| s.to_string()).collect();
    assert_eq!(blocks, run, "{GUIDE}: blocks vs steps run by this test");
}

struct Guide<'a> {
    cp: &'a e2e::ControlPlane,
    ws: e2e::Scratch,
    steps: std::collections::BTreeMap<String, doc_steps::Step>,
}

impl Guide<'_> {
    fn new(cp: &e2e::ControlPlane) -> Guide<'_> {
        let ws = e2e::Scratch::new("byo-chart");
        let repo = e2e::repo_root();
        for item in [
            "e2e/fixtures/charts/tracking-server",
            "e2e/fixtures/charts/policy-webhook",
            "post-renderer/helm-plugin",
            "argocd/cmp",
            // The CMP's defaults, installed next to it.
            "argocd/umbrella-values.yaml",
        ] {
            let to = ws.0.join(item);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            e2e::run_ok(Command::new("cp").arg("-r").arg(repo.join(item)).arg(&to));
        }
        Guide {
            cp,
            ws,
            steps: guide(),
        }
    }

    /// Runs block `id` (Helm 3's with a Helm home of its own); checks its
    /// exit status against `expect=fail`; returns (stdout, stderr).
    fn run(&self, id: &str) -> (String, String) {
        let step = self
            .steps
            .get(id)
            .unwrap_or_else(|| panic!("{GUIDE} has no block step={id}"));
        let helm = if id.starts_with("helm3") {
            e2e::helm3(self.cp)
        } else {
            e2e::helm4(self.cp)
        };
        let mut bash = Command::new("bash");
        for (k, v) in helm.get_envs() {
            if let Some(v) = v {
                bash.env(k, v);
            }
        }
        bash.current_dir(&self.ws.0);
        let result = step.run(bash, &format!("{GUIDE} step={id}"));
        println!("byo-chart: step {id}: ok");
        result
    }
}

fn kubectl_json(cp: &e2e::ControlPlane, args: &[&str]) -> Value {
    let out = e2e::run_ok(e2e::kubectl(cp).args(args).args(["-o", "json"]));
    serde_json::from_str(&out).expect("kubectl -o json")
}

/// `namespace/kind/name` of the objects of these kinds in `ns`.
fn names(cp: &e2e::ControlPlane, ns: &str, kinds: &str) -> BTreeSet<String> {
    kubectl_json(cp, &["get", kinds, "-n", ns])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

const ISTIO: &str = "virtualservice,authorizationpolicy,destinationrule";
const CHART_AND_GENERATED: &str =
    "deployment,service,serviceaccount,virtualservice,authorizationpolicy,destinationrule,networkpolicy";

/// What a release of the chart can leave in `ns` (Kubernetes' own `default`
/// ServiceAccount aside).
fn left_in(cp: &e2e::ControlPlane, ns: &str) -> BTreeSet<String> {
    let mut objects = names(cp, ns, CHART_AND_GENERATED);
    objects.remove("ServiceAccount/default");
    objects
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const TEAMS: [&str; 3] = ["team-a", "team-b", "team-c"];

/// The prerequisites the guide assumes: Istio's CRDs, the Profiles and their
/// namespaces; cert-manager's install is returned still running (the guide
/// needs it only for its webhook section), to be awaited with
/// [`cert_manager_installed`].
fn prerequisites(cp: &e2e::ControlPlane) -> Child {
    let repo = e2e::repo_root();
    // Upstream's base: the kubeflow variant adds a ClusterIssuer as a
    // post-install hook, which a chart installed on its own (no umbrella wait
    // Job) can send to cert-manager's webhook before cainjector has set its
    // caBundle; the guide uses none of it.
    let cert_manager = e2e::helm4(cp)
        .args(["install", "cert-manager"])
        .arg(repo.join("charts/cert-manager"))
        .args(["--namespace", "default", "--set", "variant=base"])
        .args(["--wait", "--timeout", "300s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start helm install cert-manager");
    let crds: PathBuf = e2e::manifests_dir().join("rendered/common_istio_istio-crds_base.yaml");
    e2e::run_ok(
        e2e::kubectl(cp)
            .args(["apply", "--server-side", "-f"])
            .arg(&crds),
    );
    let profile_crd = e2e::run_ok(
        e2e::helm4(cp)
            .args(["template", "profiles"])
            .arg(repo.join("charts/profiles"))
            .args(["--show-only", "templates/crds/profiles.kubeflow.org.yaml"]),
    );
    let file = cp.dir().join("profile-crd.yaml");
    std::fs::write(&file, profile_crd).unwrap();
    e2e::run_ok(
        e2e::kubectl(cp)
            .args(["apply", "--server-side", "-f"])
            .arg(&file),
    );
    for ns in TEAMS {
        let manifest = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    \
             app.kubernetes.io/part-of: kubeflow-profile\n    istio-injection: enabled\n    \
             pod-security.kubernetes.io/enforce: restricted\n"
        );
        let file = cp.dir().join(format!("{ns}.yaml"));
        std::fs::write(&file, manifest).unwrap();
        e2e::run_ok(e2e::kubectl(cp).args(["apply", "-f"]).arg(&file));
    }
    for crd in [
        "virtualservices.networking.istio.io",
        "authorizationpolicies.security.istio.io",
        "destinationrules.networking.istio.io",
        "profiles.kubeflow.org",
    ] {
        e2e::run_ok(e2e::kubectl(cp).args([
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{crd}"),
        ]));
    }
    // What Kubeflow's release (`global.profiles`) or an admin created; no
    // controller runs here, so they make no namespaces (made above).
    for team in TEAMS {
        let manifest = format!(
            "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: {team}\n\
             spec:\n  owner: {{kind: User, name: {team}@example.com}}\n"
        );
        let file = cp.dir().join(format!("profile-{team}.yaml"));
        std::fs::write(&file, manifest).unwrap();
        e2e::run_ok(e2e::kubectl(cp).args(["apply", "-f"]).arg(&file));
    }
    cert_manager
}

/// cert-manager runs as after Kubeflow's install, whose wait Job also waits
/// for the caBundle cainjector gives cert-manager's own webhook.
fn cert_manager_installed(cp: &e2e::ControlPlane, install: Child) {
    let out = install
        .wait_with_output()
        .expect("helm install cert-manager");
    assert!(
        out.status.success(),
        "helm install cert-manager failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    e2e::eventually(
        "the caBundle of cert-manager's webhook",
        Duration::from_secs(60),
        || {
            let vwc = kubectl_json(
                cp,
                &[
                    "get",
                    "validatingwebhookconfiguration",
                    "cert-manager-webhook",
                ],
            );
            match vwc["webhooks"][0]["clientConfig"]["caBundle"].as_str() {
                Some(ca) if !ca.is_empty() => Ok(()),
                _ => Err(format!("{vwc}")),
            }
        },
    );
}

/// What the config of the guide's section 1 gives a release of the chart in
/// `ns` (the chart's Service `svc`, Deployment `svc`): checked on the cluster.
fn assert_behind_the_gateway(cp: &e2e::ControlPlane, ns: &str, svc: &str, vs: &str, prefix: &str) {
    let vs = kubectl_json(cp, &["get", "virtualservice", vs, "-n", ns]);
    assert_eq!(
        vs["spec"]["gateways"][0], "kubeflow/kubeflow-gateway",
        "{vs}"
    );
    let http = &vs["spec"]["http"][0];
    assert_eq!(http["match"][0]["uri"]["prefix"], prefix, "{vs}");
    assert_eq!(http["rewrite"]["uri"], "/", "{vs}");
    // The short host: Istio resolves it in the VirtualService's namespace,
    // which is the Service's (both written without one, placed by Helm).
    assert_eq!(http["route"][0]["destination"]["host"], svc, "{vs}");
    assert_eq!(vs["metadata"]["namespace"], ns);
    let name = vs["metadata"]["name"].as_str().unwrap();
    let ap = kubectl_json(cp, &["get", "authorizationpolicy", name, "-n", ns]);
    assert_eq!(
        ap["spec"]["rules"][0]["from"][0]["source"]["principals"][0],
        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
        "{ap}"
    );
    assert_eq!(
        ap["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"], "tracking-server",
        "{ap}"
    );
}

fn assert_hardened_and_mirrored(cp: &e2e::ControlPlane, ns: &str, deployment: &str) {
    let d = kubectl_json(cp, &["get", "deployment", deployment, "-n", ns]);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{pod}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    assert_eq!(
        c["securityContext"]["allowPrivilegeEscalation"], false,
        "{c}"
    );
    assert_eq!(
        c["securityContext"]["capabilities"]["drop"][0], "ALL",
        "{c}"
    );
    assert_eq!(
        c["image"], "registry.example.com/ghcr/example/tracking-server:2.19.0",
        "{c}"
    );
    // The namespace enforces `restricted`: its pods exist only if admitted.
    e2e::eventually(
        &format!("pods of {ns}/{deployment} admitted under restricted"),
        Duration::from_secs(60),
        || {
            let pods = kubectl_json(
                cp,
                &[
                    "get",
                    "pods",
                    "-n",
                    ns,
                    "-l",
                    "app.kubernetes.io/name=tracking-server",
                ],
            );
            match pods["items"].as_array().map(Vec::len) {
                Some(n) if n > 0 => Ok(n),
                _ => {
                    let events = e2e::run_ok(e2e::kubectl(cp).args(["get", "events", "-n", ns]));
                    Err(format!("no pods; events:\n{events}"))
                }
            }
        },
    );
    let nps = names(cp, ns, "networkpolicy");
    for np in [
        "kf-post-default-deny",
        "kf-post-allow-same-namespace",
        "kf-post-allow-istio-system",
    ] {
        assert!(
            nps.contains(&format!("NetworkPolicy/{np}")),
            "{ns}: {nps:?}"
        );
    }
}

#[test]
fn guide_end_to_end_on_the_local_cluster() {
    let cp = e2e::ControlPlane::start();
    let cert_manager = prerequisites(&cp);
    let g = Guide::new(&cp);
    let svc = "mlflow-tracking-server";

    g.run("plugin");
    g.run("config");
    release_namespace_needs_no_config(&cp, &g);
    // Helm 4 through the postrenderer/v1 plugin.
    g.run("install");
    let (listed, _) = g.run("check");
    assert!(listed.contains("mlflow"), "{listed}");
    assert_behind_the_gateway(&cp, "team-a", svc, "mlflow", "/mlflow/");
    assert_hardened_and_mirrored(&cp, "team-a", svc);
    let dr = kubectl_json(&cp, &["get", "destinationrule", svc, "-n", "team-a"]);
    assert_eq!(dr["spec"]["host"], svc, "{dr}");
    assert_eq!(dr["spec"]["trafficPolicy"]["tls"]["mode"], "ISTIO_MUTUAL");
    let d = kubectl_json(&cp, &["get", "deployment", svc, "-n", "team-a"]);
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"], "true",
        "sidecar mode"
    );

    g.run("upgrade");
    let d = kubectl_json(&cp, &["get", "deployment", svc, "-n", "team-a"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_behind_the_gateway(&cp, "team-a", svc, "mlflow", "/mlflow/");
    let status: Value = serde_json::from_str(&e2e::run_ok(
        e2e::helm4(&cp).args(["status", "mlflow", "-n", "team-a", "-o", "json"]),
    ))
    .unwrap();
    assert_eq!(status["version"], 2);

    g.run("uninstall");
    assert_eq!(
        left_in(&cp, "team-a"),
        BTreeSet::new(),
        "uninstall leaves nothing behind, generated objects included"
    );

    // Helm 3: the exec post-renderer, the same config.
    g.run("helm3");
    assert_behind_the_gateway(&cp, "team-a", svc, "mlflow", "/mlflow/");
    assert_hardened_and_mirrored(&cp, "team-a", svc);
    g.run("helm3-uninstall");
    assert_eq!(left_in(&cp, "team-a"), BTreeSet::new());

    // A mistake: the message reaches the user, nothing reaches the cluster.
    let (_, stderr) = g.run("mistake");
    assert!(
        stderr.contains("kf-post: config: spec.auth.apps[0].prefx: unknown field `prefx`"),
        "{stderr}"
    );
    assert_eq!(left_in(&cp, "team-a"), BTreeSet::new());

    // The chart opts in with annotations; ambient mode.
    g.run("platform-config");
    g.run("annotations");
    let tracking = "tracking-tracking-server";
    assert_behind_the_gateway(&cp, "team-a", tracking, tracking, "/tracking/");
    assert_hardened_and_mirrored(&cp, "team-a", tracking);

    g.run("per-profile");
    for team in ["team-a", "team-b"] {
        let svc = "tracking-tracking-server";
        assert_behind_the_gateway(&cp, team, svc, svc, &format!("/tracking/{team}/"));
        assert_hardened_and_mirrored(&cp, team, svc);
        assert_eq!(
            names(&cp, team, ISTIO),
            set(&[
                "AuthorizationPolicy/tracking-tracking-server",
                "VirtualService/tracking-tracking-server"
            ]),
            "{team}: ambient mode, no sidecar DestinationRule"
        );
        let d = kubectl_json(&cp, &["get", "deployment", svc, "-n", team]);
        assert!(
            d["spec"]["template"]["metadata"]["labels"]
                .get("sidecar.istio.io/inject")
                .is_none(),
            "{d}"
        );
    }

    // Argo CD: the CMP's generate, applied into the destination namespace.
    g.run("argocd");
    let rendered = std::fs::read_to_string(g.ws.0.join("mlflow-team-c.yaml")).unwrap();
    assert!(
        !rendered.contains("namespace:"),
        "the CMP output places nothing itself; Argo CD applies it into the destination:\n{rendered}"
    );
    assert_behind_the_gateway(&cp, "team-c", svc, "mlflow", "/mlflow/");
    assert_hardened_and_mirrored(&cp, "team-c", svc);

    cert_manager_installed(&cp, cert_manager);
    webhook_gets_a_certificate(&cp, &g);
    one_object_per_team(&cp, &g);
}

/// The guide's webhook section: a chart whose webhook has no CA wiring,
/// installed with kf-post's `certificates`, admits what it guards.
fn webhook_gets_a_certificate(cp: &e2e::ControlPlane, g: &Guide) {
    let (ns, name, secret) = ("policy", "policy-webhook", "policy-webhook-tls");
    g.run("webhook-config");
    g.run("webhook-install");
    let cert = kubectl_json(cp, &["get", "certificate", secret, "-n", ns]);
    let ready = cert["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    assert!(ready, "Certificate {ns}/{secret} not Ready: {cert}");
    assert_eq!(
        cert["spec"]["dnsNames"][0],
        format!("{name}.{ns}.svc"),
        "{cert}"
    );
    let data = &kubectl_json(cp, &["get", "secret", secret, "-n", ns])["data"];
    for key in ["tls.crt", "tls.key", "ca.crt"] {
        assert!(data[key].is_string(), "Secret {ns}/{secret} lacks {key}");
    }
    // cainjector copied the Certificate's CA into the webhook configuration
    // (what the step's `kubectl wait` waited for).
    let vwc = kubectl_json(cp, &["get", "validatingwebhookconfiguration", name]);
    let hook = &vwc["webhooks"][0];
    assert_eq!(hook["failurePolicy"], "Fail", "{vwc}");
    assert_eq!(hook["clientConfig"]["caBundle"], data["ca.crt"], "{vwc}");
    assert_eq!(
        vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!("{ns}/{secret}"),
        "{vwc}"
    );
    // Admitted only if the API server reached the webhook over TLS it trusts.
    g.run("webhook-use");
    let cm = kubectl_json(cp, &["get", "configmap", "settings", "-n", ns]);
    assert_eq!(cm["data"]["mode"], "strict", "{cm}");
}

/// The guide's per-team section: one release, a copy of its marked
/// ConfigMap in each listed profile's namespace, the existing Profiles
/// left to their owner.
fn one_object_per_team(cp: &e2e::ControlPlane, g: &Guide) {
    let cm = "mlflow-tracking-server-client";
    let copies = |ns: &str| {
        e2e::run_ok(e2e::kubectl(cp).args([
            "get",
            "configmap",
            cm,
            "-n",
            ns,
            "--ignore-not-found",
            "-o",
            "name",
        ]))
    };
    g.run("teams-config");
    let (out, _) = g.run("teams-install");
    assert!(
        out.contains("http://mlflow-tracking-server.mlflow.svc:80"),
        "{out}"
    );
    for team in ["team-a", "team-b"] {
        let c = kubectl_json(cp, &["get", "configmap", cm, "-n", team]);
        assert_eq!(
            c["data"]["MLFLOW_TRACKING_URI"], "http://mlflow-tracking-server.mlflow.svc:80",
            "{c}"
        );
        let annotations = &c["metadata"]["annotations"];
        assert_eq!(annotations["meta.helm.sh/release-name"], "mlflow", "{c}");
        assert!(
            annotations
                .get("kf-post.kubeflow.org/profile-scoped")
                .is_none(),
            "{c}"
        );
    }
    for ns in ["mlflow", "team-c"] {
        assert_eq!(copies(ns), "", "{ns}: not a listed profile");
    }
    for team in TEAMS {
        let p = kubectl_json(cp, &["get", "profile", team]);
        assert!(
            p["metadata"]["annotations"]
                .get("meta.helm.sh/release-name")
                .is_none(),
            "the release claimed an existing Profile: {p}"
        );
    }
    g.run("teams-uninstall");
    for team in ["team-a", "team-b"] {
        assert_eq!(copies(team), "", "{team}: the copy goes with the release");
        let p = kubectl_json(cp, &["get", "profile", team]);
        assert_eq!(p["metadata"]["name"], team, "the Profile stays");
    }
    new_team(cp, g);
}

/// The guide's onboarding step: kf-post renders a new team's Profile and
/// Namespace (the CRD's schema and the API server accept them) with the
/// team's copy in it, all owned by the release and gone with it.
fn new_team(cp: &e2e::ControlPlane, g: &Guide) {
    let (out, _) = g.run("new-team");
    assert!(
        out.trim_end()
            .ends_with("\nhttp://team-d-tracking-server.mlflow.svc:80"),
        "{out}"
    );
    let released = |object: &Value| {
        assert_eq!(
            object["metadata"]["annotations"]["meta.helm.sh/release-name"], "team-d",
            "{object}"
        );
    };
    let profile = kubectl_json(cp, &["get", "profile", "team-d"]);
    released(&profile);
    assert_eq!(
        profile["spec"]["owner"],
        serde_json::json!({"kind": "User", "name": "dana@example.com"}),
        "{profile}"
    );
    let ns = kubectl_json(cp, &["get", "namespace", "team-d"]);
    released(&ns);
    assert_eq!(
        ns["metadata"]["annotations"]["owner"], "dana@example.com",
        "{ns}"
    );
    assert_eq!(
        ns["metadata"]["labels"]["app.kubernetes.io/part-of"], "kubeflow-profile",
        "{ns}"
    );
    g.run("new-team-uninstall");
    let gone = |args: &[&str]| {
        e2e::run_ok(
            e2e::kubectl(cp)
                .args(args)
                .args(["--ignore-not-found", "-o", "name"]),
        )
    };
    assert_eq!(
        gone(&["get", "profile", "team-d"]),
        "",
        "the Profile goes with the release"
    );
    assert_eq!(
        gone(&["get", "namespace", "team-d"]),
        "",
        "the Namespace goes with the release"
    );
}

/// Helm 4 (the plugin) and Helm 3 render the namespace-less chart with the
/// namespace-less config into namespace-less objects, generated ones
/// included: Helm places them all in the release namespace (Helm 4 passes
/// none to the plugin; the CMP path is checked on its output above).
fn release_namespace_needs_no_config(cp: &e2e::ControlPlane, g: &Guide) {
    let chart = g.ws.0.join("e2e/fixtures/charts/tracking-server");
    let config = g.ws.0.join("kf-post-mlflow.yaml");
    let config = config.to_str().unwrap();
    let template = |mut helm: Command, config_args: &[&str]| -> String {
        e2e::run_ok(
            helm.args(["template", "mlflow"])
                .arg(&chart)
                .args(["-n", "team-a", "--post-renderer", "kf-post"])
                .args(config_args),
        )
    };
    let helm4 = template(
        e2e::helm4(cp),
        &["--post-renderer-args", &format!("--config={config}")],
    );
    let helm3 = template(
        e2e::helm3(cp),
        &[
            "--post-renderer-args",
            "--config",
            "--post-renderer-args",
            config,
        ],
    );
    for (path, out) in [("helm4", &helm4), ("helm3", &helm3)] {
        let docs = kf_post::stream::read_values(out.as_bytes()).unwrap();
        let kinds: BTreeSet<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
        for kind in [
            "VirtualService",
            "AuthorizationPolicy",
            "DestinationRule",
            "NetworkPolicy",
        ] {
            assert!(kinds.contains(kind), "{path}: {kinds:?}");
        }
        for d in &docs {
            assert!(
                d["metadata"].get("namespace").is_none(),
                "{path}: {:?} names a namespace",
                d["metadata"]["name"]
            );
        }
    }
}
