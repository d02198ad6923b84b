//! Security figures of every preset, rendered with real Helm 4 and the kf-post
//! engine (`helm template charts/kubeflow -f presets/<p>.yaml | kf-post`):
//! Pod Security levels, NetworkPolicy reachability, RBAC against upstream,
//! demo credentials and secret stability. The figures are written into
//! docs/security.md by `UPDATE_SECURITY_DOCS=1 cargo test -p audit --test presets`;
//! without it, the test fails when the document is out of date.

mod common;
use e2e::umbrella as umbrella_common;

use audit::netpol::{self, Clients};
use audit::pss::{self, Level};
use audit::rbac::{self, Allowlist};
use audit::Object;
use common::{preset_args, preset_names};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Workloads of a hardened rendering allowed below `restricted`, with the reason.
const PSS_EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "kube-system",
    "DaemonSet/istio-cni-node",
    "Istio CNI node agent installs the CNI plugin on the host (hostPath, NET_ADMIN/SYS_ADMIN, runs as root); it replaces the privileged istio-init container of every Pod, which is what lets Kubeflow namespaces enforce `restricted`",
)];

/// Service ports of a hardened rendering allowed to be reached by clients
/// outside the documented set, with the reason.
fn netpol_exception(r: &netpol::PortReport) -> Option<&'static str> {
    if r.webhook {
        return Some("webhook port: the API server's source address cannot be selected portably by a NetworkPolicy, so the port admits every source; the webhook server still requires TLS");
    }
    if r.namespace == "istio-system" && r.service == "istiod" && r.port == "15012/https-dns" {
        return Some("istiod xDS/CA port: every sidecar in every namespace connects to it");
    }
    None
}

/// Upstream's public demo credentials: (Secret name, key, value).
const DEMO_CREDENTIALS: &[(&str, &str, &str)] = &[
    ("mlpipeline-minio-artifact", "secretkey", "minio123"),
    ("katib-mysql-secrets", "MYSQL_ROOT_PASSWORD", "test"),
    ("mysql-secret", "password", ""),
    (
        "dex-passwords",
        "DEX_USER_PASSWORD",
        "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72",
    ),
    (
        "oauth2-proxy",
        "client-secret",
        "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok",
    ),
    (
        "oauth2-proxy",
        "cookie-secret",
        "7d16fee92f8d11b8940b081b3f8b8acb",
    ),
];

struct Rendering {
    name: String,
    hardened: bool,
    objects: Vec<Object>,
}

fn kf_post(stream: &str) -> String {
    e2e::kf_post_pipe(stream, &[]).0
}

fn renderings() -> &'static [Rendering] {
    static ALL: OnceLock<Vec<Rendering>> = OnceLock::new();
    ALL.get_or_init(|| {
        preset_names()
            .into_iter()
            .map(|name| {
                let args = preset_args(&name);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let raw = umbrella_common::template(&args)
                    .unwrap_or_else(|e| panic!("helm template {name}: {e}"));
                let raw_objects = audit::parse(&raw).unwrap();
                let hardened = raw_objects.iter().any(|o| {
                    o.kind() == "PostRenderConfig"
                        && audit::stream::str_at(&o.value, &["spec", "security", "preset"])
                            == Some("hardened")
                });
                let objects =
                    audit::parse(&kf_post(&raw)).unwrap_or_else(|e| panic!("{name}: {e}"));
                Rendering {
                    name,
                    hardened,
                    objects,
                }
            })
            .collect()
    })
}

fn ns(w: &pss::Workload) -> &str {
    w.namespace.as_deref().unwrap_or(netpol::RELEASE_NS)
}

#[test]
fn hardened_presets_pass_restricted_in_kubeflow_namespaces() {
    let hardened: Vec<&Rendering> = renderings().iter().filter(|r| r.hardened).collect();
    assert!(
        hardened.len() >= 2,
        "expected production and full+hardened to be hardened"
    );
    for r in hardened {
        let enforce = pss::namespace_enforce(&r.objects);
        for w in pss::evaluate(&r.objects) {
            let id = format!("{}/{}", w.kind, w.name);
            if PSS_EXCEPTIONS
                .iter()
                .any(|(n, wl, _)| *n == ns(&w) && *wl == id)
            {
                continue;
            }
            assert_eq!(
                w.level(),
                Level::Restricted,
                "{}: {id} in {}: {:?}",
                r.name,
                ns(&w),
                w.violations
            );
            assert_eq!(
                enforce.get(ns(&w)),
                Some(&Level::Restricted),
                "{}: namespace {} of {id} lacks pod-security.kubernetes.io/enforce=restricted",
                r.name,
                ns(&w)
            );
        }
        for o in r.objects.iter().filter(|o| o.kind() == "Namespace") {
            assert_eq!(
                enforce.get(o.name()),
                Some(&Level::Restricted),
                "{}: Namespace {}",
                r.name,
                o.name()
            );
        }
    }
}

#[test]
fn hardened_presets_admit_only_documented_clients() {
    for r in renderings().iter().filter(|r| r.hardened) {
        let mut problems = Vec::new();
        for port in netpol::analyze(&r.objects, &Clients::default()) {
            if port.reached_documented.is_empty()
                || (!port.reached_undocumented.is_empty() && netpol_exception(&port).is_none())
            {
                problems.push(format!(
                    "{}/{} {}: {}",
                    port.namespace,
                    port.service,
                    port.port,
                    port.finding().unwrap()
                ));
            }
        }
        assert!(problems.is_empty(), "{}:\n{}", r.name, problems.join("\n"));
    }
}

fn upstream_roles() -> Vec<rbac::Role> {
    let dir = e2e::manifests_dir().join("rendered");
    let mut roles = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // Parse only the RBAC documents: the CRD schemas are most of the bytes.
        let rbac_docs: Vec<&str> = text
            .split("\n---\n")
            .filter(|d| d.contains("kind: ClusterRole\n") || d.contains("kind: Role\n"))
            .collect();
        roles.extend(rbac::roles(
            &audit::parse(&rbac_docs.join("\n---\n")).unwrap(),
        ));
    }
    roles
}

fn allowlist() -> Allowlist {
    Allowlist::parse(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rbac-allowlist.yaml"),
        )
        .unwrap(),
    )
    .unwrap()
}

#[test]
fn rbac_is_never_broader_than_upstream() {
    let upstream = upstream_roles();
    let allow = allowlist();
    for r in renderings() {
        let roles = rbac::roles(&r.objects);
        assert_eq!(
            allow.unlisted(&roles),
            Vec::<String>::new(),
            "{}: wildcards missing from audit/rbac-allowlist.yaml",
            r.name
        );
        assert_eq!(
            rbac::broader_than_upstream(&roles, &upstream, &allow),
            Vec::<String>::new(),
            "{}",
            r.name
        );
    }
}

fn secret_values(o: &Object) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (field, base64) in [("data", true), ("stringData", false)] {
        if let Some(m) = o.value.get(field).and_then(|v| v.as_mapping()) {
            for (k, v) in m {
                let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                    continue;
                };
                let v = if base64 {
                    decode_base64(v)
                } else {
                    v.to_string()
                };
                out.insert(k.to_string(), v);
            }
        }
    }
    out
}

fn decode_base64(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            return s.to_string();
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Secrets holding one of upstream's demo credentials: `name key`.
fn demo_credentials(objects: &[Object]) -> Vec<String> {
    objects
        .iter()
        .filter(|o| o.kind() == "Secret")
        .flat_map(|o| {
            let values = secret_values(o);
            DEMO_CREDENTIALS
                .iter()
                .filter(|(name, key, value)| {
                    o.name().starts_with(name)
                        && values.get(*key).map(String::as_str) == Some(*value)
                })
                .map(|(_, key, _)| format!("{}/{} {key}", o.namespace().unwrap_or("-"), o.name()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn decode_base64_matches_known_values() {
    assert_eq!(decode_base64("dGVzdA=="), "test");
    assert_eq!(
        decode_base64("N2QxNmZlZTkyZjhkMTFiODk0MGIwODFiM2Y4YjhhY2I="),
        "7d16fee92f8d11b8940b081b3f8b8acb"
    );
}

#[test]
fn production_holds_no_demo_credentials() {
    let prod = renderings()
        .iter()
        .find(|r| r.name == "production")
        .unwrap();
    assert_eq!(
        demo_credentials(&prod.objects),
        Vec::<String>::new(),
        "production renders upstream demo credentials"
    );
}

#[test]
fn secrets_are_identical_across_renders() {
    // `helm upgrade` re-renders the chart: a Secret that changed between renders
    // would change on every upgrade. `demo` mode is deterministic; `generate`
    // mode (production) keeps its values through `lookup` of the live Secrets,
    // which only a cluster has: e2e/tests/umbrella_install.rs upgrades twice
    // and compares them there. So do webhook serving certificates made by Helm
    // (`global.webhookCertificates: helm`, type kubernetes.io/tls): generated
    // once, looked up on every upgrade (the lifecycle test compares them);
    // Argo CD renders with cert-manager's instead (argocd/umbrella-values.yaml).
    for name in ["full", "full+hardened"] {
        let args = preset_args(name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let secrets = |stream: String| -> Vec<(String, BTreeMap<String, String>)> {
            audit::parse(&kf_post(&stream))
                .unwrap()
                .iter()
                .filter(|o| o.kind() == "Secret")
                .filter(|o| audit::stream::str_at(&o.value, &["type"]) != Some("kubernetes.io/tls"))
                .map(|o| (o.name().to_string(), secret_values(o)))
                .collect()
        };
        let first = secrets(umbrella_common::template(&args).unwrap());
        let second = secrets(umbrella_common::template(&args).unwrap());
        assert!(!first.is_empty(), "{name} renders no Secret");
        assert_eq!(first, second, "{name}: Secrets differ between two renders");
    }
}

/// Secret values long enough to be recognisable (short ones such as `root`
/// or `minio` also occur as ordinary words).
fn secret_needles(objects: &[Object]) -> Vec<(String, String)> {
    objects
        .iter()
        .filter(|o| o.kind() == "Secret")
        .flat_map(|o| {
            secret_values(o)
                .into_iter()
                .filter(|(_, v)| v.len() >= 8)
                .map(|(k, v)| (format!("{}/{k}", o.name()), v))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn secrets_never_reach_notes_or_explain_output() {
    // production's generated values differ per render, so its needles are the
    // ones the user gives (the OIDC client secret, the password hash).
    for name in ["full", "full+hardened", "production"] {
        let args = preset_args(name);
        let raw = umbrella_common::template(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .unwrap();
        let (out, explain) = e2e::kf_post_pipe(&raw, &["--explain"]);
        let needles = secret_needles(&audit::parse(&out).unwrap());
        assert!(!needles.is_empty(), "{name}: no Secret values to look for");
        // NOTES.txt as a user sees it after `helm install`.
        let notes = umbrella_common::notes(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for (secret, value) in &needles {
            assert!(
                !notes.contains(value.as_str()),
                "{name}: NOTES.txt shows the value of Secret {secret}"
            );
            assert!(
                !explain.contains(value.as_str()),
                "{name}: kf-post --explain prints the value of Secret {secret}"
            );
        }
    }
}

/// The figures section of docs/security.md.
fn figures() -> String {
    let mut out = String::new();
    out += "| preset | security | workloads | restricted | baseline | privileged | not restricted |\n|---|---|---|---|---|---|---|\n";
    for r in renderings() {
        let ws = pss::evaluate(&r.objects);
        let count = |l: Level| ws.iter().filter(|w| w.level() == l).count();
        let below: Vec<String> = ws
            .iter()
            .filter(|w| w.level() != Level::Restricted)
            .map(|w| {
                let mut rules: Vec<String> = w
                    .violations
                    .iter()
                    .map(|v| format!("{}/{}", v.level, v.rule))
                    .collect();
                rules.dedup();
                format!("{}/{}/{} ({})", ns(w), w.kind, w.name, rules.join(", "))
            })
            .collect();
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            if r.hardened { "hardened" } else { "upstream" },
            ws.len(),
            count(Level::Restricted),
            count(Level::Baseline),
            count(Level::Privileged),
            if below.is_empty() {
                "-".into()
            } else {
                below.join("; ")
            }
        );
    }
    out += "\n| preset | NetworkPolicies | Service ports | isolated | reached by documented clients | reached by undocumented clients (accepted exceptions) |\n|---|---|---|---|---|---|\n";
    for r in renderings() {
        let ports = netpol::analyze(&r.objects, &Clients::default());
        let policies = r
            .objects
            .iter()
            .filter(|o| o.kind() == "NetworkPolicy")
            .count();
        let undocumented = ports
            .iter()
            .filter(|p| !p.reached_undocumented.is_empty())
            .count();
        let accepted = ports
            .iter()
            .filter(|p| !p.reached_undocumented.is_empty() && netpol_exception(p).is_some())
            .count();
        out += &format!(
            "| {} | {policies} | {} | {} | {} | {undocumented} ({accepted}) |\n",
            r.name,
            ports.len(),
            ports.iter().filter(|p| p.isolated).count(),
            ports
                .iter()
                .filter(|p| !p.reached_documented.is_empty())
                .count(),
        );
    }
    out += "\n| preset | Roles + ClusterRoles | with wildcards | reading Secrets | writing Secrets | escalation verbs | demo credentials |\n|---|---|---|---|---|---|---|\n";
    for r in renderings() {
        let roles = rbac::roles(&r.objects);
        let with = |f: fn(rbac::Flag) -> bool| {
            roles
                .iter()
                .filter(|role| rbac::role_flags(role).into_iter().any(f))
                .count()
        };
        let demo = demo_credentials(&r.objects);
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            roles.len(),
            with(rbac::Flag::is_wildcard),
            with(|f| f == rbac::Flag::SecretsRead),
            with(|f| f == rbac::Flag::SecretsWrite),
            with(|f| f == rbac::Flag::Escalation),
            if demo.is_empty() {
                "-".into()
            } else {
                demo.join(", ")
            }
        );
    }
    out += "\nAccepted exceptions: ";
    out += &PSS_EXCEPTIONS
        .iter()
        .map(|(n, w, why)| format!("`{n}/{w}`: {why}."))
        .collect::<Vec<_>>()
        .join(" ");
    out
}

#[test]
fn docs_show_current_figures() {
    const BEGIN: &str = "<!-- figures:begin (generated by UPDATE_SECURITY_DOCS=1 cargo test -p audit --test presets) -->\n";
    const END: &str = "<!-- figures:end -->";
    let path = umbrella_common::repo_root().join("docs/security.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let figures = figures();
    println!("{figures}");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/security.md lacks the figures markers");
    };
    let current = &doc[b + BEGIN.len()..e];
    if current.trim() != figures.trim() {
        if std::env::var_os("UPDATE_SECURITY_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{}\n{}", &doc[..b], figures.trim(), &doc[e..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!("docs/security.md figures are out of date: run UPDATE_SECURITY_DOCS=1 cargo test -p audit --test presets\n{figures}");
        }
    }
}
