//! `security`: the `upstream` preset changes nothing (upstream's own
//! manifests are the reference); `hardened` adds, where absent:
//!
//! - restricted-profile securityContext defaults on every pod template: pod
//!   `runAsNonRoot: true` and `seccompProfile: RuntimeDefault`; per container
//!   `allowPrivilegeEscalation: false` and `capabilities.drop: [ALL]`;
//! - Pod Security Admission labels (`enforce`, `audit`, `warn`) on Namespace
//!   objects, level configurable with per-namespace exceptions;
//! - per namespace holding workloads, NetworkPolicies in upstream's shapes:
//!   default deny, allow from the same namespace, allow from `istio-system`,
//!   allow the API server (any source) on webhook ports, optionally allow a
//!   Prometheus namespace.
//!
//! Never weakens a manifest: existing fields and labels are kept as they are
//! (`runAsUser`, an existing PSS label, explicit capabilities). Containers
//! that are `privileged` (or add `SYS_ADMIN`, which the API server forbids
//! together with `allowPrivilegeEscalation: false`) are left alone and
//! reported in `--explain`; so are pods that explicitly run as root.
//!
//! Configuration reference (every field, its type, default and an example):
//! the `security` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::builders::{self, map, seq};
use crate::document::{mapping_entry_in, Changes, Document};
use crate::error::Result;
use crate::lookup;
use crate::pods;
use crate::transforms::Filter;

const NAME: &str = "security";
const PSS: &str = "pod-security.kubernetes.io";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Preset {
    #[default]
    Upstream,
    Hardened,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "SecurityConfig")]
pub struct Config {
    #[serde(default)]
    pub preset: Preset,
    /// PSS level for Namespace objects (hardened).
    #[serde(default = "restricted")]
    pub pod_security_level: Level,
    /// Namespace → PSS level, overriding `podSecurityLevel`.
    #[serde(default)]
    pub pod_security_exceptions: BTreeMap<String, Level>,
    /// Generate NetworkPolicies (hardened).
    #[serde(default = "crate::transforms::yes")]
    pub network_policies: bool,
    /// Also allow ingress from this namespace (Prometheus scraping).
    #[serde(default)]
    pub prometheus_namespace: Option<String>,
}

fn restricted() -> Level {
    Level::Restricted
}

impl Default for Config {
    fn default() -> Self {
        Config {
            preset: Preset::Upstream,
            pod_security_level: Level::Restricted,
            pod_security_exceptions: BTreeMap::new(),
            network_policies: true,
            prometheus_namespace: None,
        }
    }
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        if self.preset == Preset::Upstream {
            return Ok(docs);
        }
        for doc in &mut docs {
            harden_pod_template(doc);
            if doc.kind() == Some("Namespace") && doc.group().is_empty() {
                self.label_namespace(doc);
            }
        }
        if self.network_policies {
            let policies = self.network_policies(&docs)?;
            docs.extend(policies);
        }
        Ok(docs)
    }
}

impl Config {
    fn label_namespace(&self, doc: &mut Document) {
        let name = doc.name().unwrap_or_default();
        let level = self
            .pod_security_exceptions
            .get(name)
            .copied()
            .unwrap_or(self.pod_security_level);
        for mode in ["enforce", "audit", "warn"] {
            let key = format!("{PSS}/{mode}");
            if doc.label(&key).is_none() {
                doc.set_label(NAME, &key, level.as_str());
            }
        }
    }

    /// NetworkPolicies for every namespace holding workloads. Workloads
    /// without a namespace are in the release namespace (Helm and Argo CD
    /// put them there), so their policies get none either and land next to
    /// them.
    fn network_policies(&self, docs: &[Document]) -> Result<Vec<Document>> {
        let namespaces: BTreeSet<Option<String>> = docs
            .iter()
            .filter(|d| pods::is_workload(d))
            .map(|d| d.namespace().map(str::to_owned))
            .collect();
        let existing: BTreeSet<(Option<String>, String)> = docs
            .iter()
            .filter(|d| d.kind() == Some("NetworkPolicy"))
            .filter_map(|d| Some((d.namespace().map(str::to_owned), d.name()?.to_owned())))
            .collect();
        let mut out = Vec::new();
        let mut add = |ns: Option<&str>, name: String, spec: Value, why: &str| {
            if existing.contains(&(ns.map(str::to_owned), name.clone())) {
                return;
            }
            let policy = builders::object(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                builders::metadata(&name, ns, None),
                Some(spec),
            );
            out.push(Document::generated(policy, NAME, why.to_owned()));
        };
        let ingress = |rules: Vec<Value>| {
            map([
                ("podSelector", map([])),
                ("policyTypes", builders::strings(["Ingress"])),
                ("ingress", seq(rules)),
            ])
        };
        let from_ns = |ns: &str| {
            let labels = map([("kubernetes.io/metadata.name", ns.into())]);
            ingress(vec![map([(
                "from",
                seq([map([("namespaceSelector", map([("matchLabels", labels)]))])]),
            )])])
        };
        for ns in &namespaces {
            let ns = ns.as_deref();
            add(
                ns,
                "kf-post-default-deny".into(),
                map([
                    ("podSelector", map([])),
                    ("policyTypes", builders::strings(["Ingress"])),
                ]),
                "deny ingress not allowed by another policy",
            );
            add(
                ns,
                match ns {
                    Some(ns) => format!("default-allow-same-namespace-{ns}"),
                    None => "kf-post-allow-same-namespace".into(),
                },
                ingress(vec![map([(
                    "from",
                    seq([map([("podSelector", map([]))])]),
                )])]),
                "allow ingress from the same namespace",
            );
            if ns != Some("istio-system") {
                add(
                    ns,
                    "kf-post-allow-istio-system".into(),
                    from_ns("istio-system"),
                    "allow ingress from istio-system (gateways, istiod)",
                );
            }
            if let Some(p) = &self.prometheus_namespace {
                add(
                    ns,
                    "kf-post-allow-prometheus".into(),
                    from_ns(p),
                    "allow ingress from the Prometheus namespace",
                );
            }
        }
        for (ns, service, selector, ports) in webhook_backends(docs)? {
            if selector.is_empty() || ports.is_empty() {
                continue;
            }
            let ports = ports
                .into_iter()
                .map(|p| map([("port", p), ("protocol", "TCP".into())]));
            let spec = map([
                ("podSelector", builders::match_labels(selector)),
                ("policyTypes", builders::strings(["Ingress"])),
                ("ingress", seq([map([("ports", seq(ports))])])),
            ]);
            add(
                Some(&ns),
                format!("{service}-webhook"),
                spec,
                "allow the API server to reach the webhook port",
            );
        }
        Ok(out)
    }
}

/// (namespace, service, pod selector, target ports) of a webhook's Service.
type WebhookBackend = (String, String, Mapping, Vec<Value>);

/// The backend of every Service that a webhook configuration or CRD
/// conversion webhook in the stream calls.
fn webhook_backends(docs: &[Document]) -> Result<Vec<WebhookBackend>> {
    let mut out: BTreeMap<(String, String), (Mapping, Vec<Value>)> = BTreeMap::new();
    for wh in lookup::webhook_services(docs)? {
        let Some(svc) = lookup::find_service(docs, &wh.name, Some(&wh.namespace)) else {
            continue;
        };
        let svc = &docs[svc];
        let selector = lookup::selector(svc).cloned().unwrap_or_default();
        let target = svc
            .value()
            .get("spec")
            .and_then(|s| s.get("ports"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .find(|p| p.get("port").and_then(Value::as_i64) == Some(wh.port))
            .map(|p| match p.get("targetPort") {
                // A named target port is valid in a NetworkPolicy too.
                Some(t @ (Value::Number(_) | Value::String(_))) => t.clone(),
                _ => Value::from(wh.port),
            });
        let entry = out
            .entry((wh.namespace, wh.name))
            .or_insert((selector, Vec::new()));
        if let Some(t) = target {
            if !entry.1.contains(&t) {
                entry.1.push(t);
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|((ns, name), (sel, ports))| (ns, name, sel, ports))
        .collect())
}

/// Restricted securityContext defaults on a workload's pod template.
fn harden_pod_template(doc: &mut Document) {
    let Some(prefix) = pods::field(doc, "spec") else {
        return;
    };
    doc.edit(NAME, |v, recorded| harden_pod_spec(v, &prefix, recorded));
}

fn harden_pod_spec(v: &mut Value, prefix: &str, recorded: &mut Changes) {
    let mut changes: Vec<String> = Vec::new();
    // What was deliberately left alone; reported only alongside real changes
    // so that a second run over hardened output changes nothing.
    let mut kept: Vec<String> = Vec::new();
    let Some(spec) = pods::template_mut(v)
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_mapping_mut)
    else {
        return;
    };
    let runs_as_root = as_root(spec.get("securityContext"))
        || containers(spec).any(|c| as_root(c.get("securityContext")));
    let pod_sc = mapping_entry_in(spec, "securityContext");
    if runs_as_root {
        kept.push(format!(
            "kept {prefix}: runs as root explicitly (runAsNonRoot not set)"
        ));
    } else if !pod_sc.contains_key("runAsNonRoot") {
        pod_sc.insert("runAsNonRoot".into(), true.into());
        changes.push(format!("set {prefix}.securityContext.runAsNonRoot=true"));
    }
    if !pod_sc.contains_key("seccompProfile") {
        let mut p = Mapping::new();
        p.insert("type".into(), "RuntimeDefault".into());
        pod_sc.insert("seccompProfile".into(), p.into());
        changes.push(format!(
            "set {prefix}.securityContext.seccompProfile.type=RuntimeDefault"
        ));
    }
    for list in ["initContainers", "containers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_sequence_mut)
            .into_iter()
            .flatten()
        {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let Some(c) = c.as_mapping_mut() else {
                continue;
            };
            let sc = mapping_entry_in(c, "securityContext");
            let privileged = sc.get("privileged").and_then(Value::as_bool) == Some(true);
            let sys_admin = sc
                .get("capabilities")
                .and_then(|c| c.get("add"))
                .and_then(Value::as_sequence)
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| matches!(x.as_str(), Some("SYS_ADMIN" | "CAP_SYS_ADMIN")))
                });
            if privileged || sys_admin {
                let why = if privileged {
                    "privileged"
                } else {
                    "adds SYS_ADMIN"
                };
                kept.push(format!("kept {prefix}.{list}[{name}]: {why}, not hardened"));
                continue;
            }
            let field = format!("{prefix}.{list}[{name}].securityContext");
            if !sc.contains_key("allowPrivilegeEscalation") {
                sc.insert("allowPrivilegeEscalation".into(), false.into());
                changes.push(format!("set {field}.allowPrivilegeEscalation=false"));
            }
            let caps = mapping_entry_in(sc, "capabilities");
            if !caps.contains_key("drop") {
                caps.insert("drop".into(), Value::Sequence(vec!["ALL".into()]));
                changes.push(format!("set {field}.capabilities.drop=[ALL]"));
            }
        }
    }
    if !changes.is_empty() {
        for c in changes.into_iter().chain(kept) {
            recorded.push(c);
        }
    }
}

fn containers(spec: &Mapping) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers"].into_iter().flat_map(|l| {
        spec.get(l)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
    })
}

fn as_root(sc: Option<&Value>) -> bool {
    let Some(sc) = sc else { return false };
    sc.get("runAsUser").and_then(Value::as_i64) == Some(0)
        || sc.get("runAsNonRoot").and_then(Value::as_bool) == Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::{run_config, test_documents, value_at as get};

    fn run(config: &str, docs: &[&str]) -> Vec<Document> {
        run_config::<Config>(config, test_documents(docs)).unwrap()
    }

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: kubeflow}\nspec:\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n    spec:\n      securityContext: {runAsUser: 1000}\n      initContainers: [{name: init, image: i}]\n      containers:\n      - {name: app, image: i, securityContext: {allowPrivilegeEscalation: true, capabilities: {add: [NET_BIND_SERVICE]}}}\n      - {name: priv, image: i, securityContext: {privileged: true}}\n";
    const ROOT: &str = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: kubeflow}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: j, image: i, securityContext: {runAsUser: 0}}]\n";

    #[test]
    fn hardened_defaults_never_weaken() {
        let t = "spec.template.spec";
        // (document, path, expected YAML value; None = absent)
        let cases: &[(&str, String, Option<&str>)] = &[
            (
                DEPLOY,
                format!("{t}.securityContext.runAsNonRoot"),
                Some("true"),
            ),
            (
                DEPLOY,
                format!("{t}.securityContext.runAsUser"),
                Some("1000"),
            ),
            (
                DEPLOY,
                format!("{t}.securityContext.seccompProfile.type"),
                Some("RuntimeDefault"),
            ),
            (
                DEPLOY,
                format!("{t}.initContainers.0.securityContext.allowPrivilegeEscalation"),
                Some("false"),
            ),
            (
                DEPLOY,
                format!("{t}.initContainers.0.securityContext.capabilities.drop"),
                Some("[ALL]"),
            ),
            (
                DEPLOY,
                format!("{t}.containers.0.securityContext.allowPrivilegeEscalation"),
                Some("true"),
            ),
            (
                DEPLOY,
                format!("{t}.containers.0.securityContext.capabilities.add"),
                Some("[NET_BIND_SERVICE]"),
            ),
            (
                DEPLOY,
                format!("{t}.containers.0.securityContext.capabilities.drop"),
                Some("[ALL]"),
            ),
            (
                DEPLOY,
                format!("{t}.containers.1.securityContext.allowPrivilegeEscalation"),
                None,
            ),
            (
                DEPLOY,
                format!("{t}.containers.1.securityContext.capabilities"),
                None,
            ),
            (
                ROOT,
                "spec.jobTemplate.spec.template.spec.securityContext.runAsNonRoot".into(),
                None,
            ),
            (
                ROOT,
                "spec.jobTemplate.spec.template.spec.securityContext.seccompProfile.type".into(),
                Some("RuntimeDefault"),
            ),
            (
                ROOT,
                "spec.jobTemplate.spec.template.spec.containers.0.securityContext.runAsUser".into(),
                Some("0"),
            ),
        ];
        for (doc, path, want) in cases {
            let out = run("{preset: hardened, networkPolicies: false}", &[doc]);
            let want: Option<Value> = want.map(|w| serde_yaml::from_str(w).unwrap());
            assert_eq!(get(out[0].value(), path), want.as_ref(), "{path}");
        }
        let out = run("{preset: hardened, networkPolicies: false}", &[DEPLOY]);
        let notes: Vec<_> = out[0].changes().iter().map(|c| c.what.as_str()).collect();
        assert!(
            notes.contains(&"kept spec.template.spec.containers[priv]: privileged, not hardened"),
            "{notes:?}"
        );
        assert!(!run("{}", &[DEPLOY])[0].is_touched());
    }

    #[test]
    fn namespace_labels_respect_existing_and_exceptions() {
        let ns = |n: &str, labels: &str| {
            format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {n}, labels: {{{labels}}}}}\n"
            )
        };
        let docs = [
            ns("kubeflow", ""),
            ns("istio-system", ""),
            ns("auth", "pod-security.kubernetes.io/enforce: baseline"),
        ];
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let out = run(
            "{preset: hardened, podSecurityExceptions: {istio-system: privileged}}",
            &docs,
        );
        let level =
            |i: usize, mode: &str| out[i].label(&format!("{PSS}/{mode}")).map(str::to_owned);
        assert_eq!(level(0, "enforce").as_deref(), Some("restricted"));
        assert_eq!(level(0, "warn").as_deref(), Some("restricted"));
        assert_eq!(level(1, "enforce").as_deref(), Some("privileged"));
        assert_eq!(level(2, "enforce").as_deref(), Some("baseline"));
        assert_eq!(level(2, "audit").as_deref(), Some("restricted"));
    }

    #[test]
    fn release_namespace_workloads_get_namespace_less_policies() {
        let release = DEPLOY.replace(", namespace: kubeflow", "");
        let out = run("{preset: hardened}", &[&release, DEPLOY]);
        let generated: Vec<_> = out
            .iter()
            .filter(|d| d.is_generated())
            .map(|d| format!("{}/{}", d.namespace().unwrap_or("-"), d.name().unwrap()))
            .collect();
        assert_eq!(
            generated,
            [
                "-/kf-post-default-deny",
                "-/kf-post-allow-same-namespace",
                "-/kf-post-allow-istio-system",
                "kubeflow/kf-post-default-deny",
                "kubeflow/default-allow-same-namespace-kubeflow",
                "kubeflow/kf-post-allow-istio-system",
            ]
        );
    }

    #[test]
    fn network_policies_per_workload_namespace() {
        let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: hook, namespace: kubeflow}\nspec: {selector: {app: d}, ports: [{port: 443, targetPort: 9443}]}\n";
        let hook = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: v}\nwebhooks: [{name: a.b, clientConfig: {service: {name: hook, namespace: kubeflow, path: /v}}}]\n";
        let existing = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: kf-post-allow-istio-system, namespace: kubeflow}\nspec: {podSelector: {}}\n";
        let out = run(
            "{preset: hardened, prometheusNamespace: monitoring}",
            &[DEPLOY, svc, hook, existing],
        );
        let generated: Vec<_> = out
            .iter()
            .filter(|d| d.is_generated())
            .map(|d| format!("{}/{}", d.namespace().unwrap(), d.name().unwrap()))
            .collect();
        assert_eq!(
            generated,
            [
                "kubeflow/kf-post-default-deny",
                "kubeflow/default-allow-same-namespace-kubeflow",
                "kubeflow/kf-post-allow-prometheus",
                "kubeflow/hook-webhook"
            ]
        );
        let webhook = out
            .iter()
            .find(|d| d.name() == Some("hook-webhook"))
            .unwrap();
        assert_eq!(
            get(webhook.value(), "spec.ingress.0.ports.0.port"),
            Some(&Value::from(9443))
        );
        assert_eq!(
            get(webhook.value(), "spec.podSelector.matchLabels.app").and_then(Value::as_str),
            Some("d")
        );
        let prom = out
            .iter()
            .find(|d| d.name() == Some("kf-post-allow-prometheus"))
            .unwrap();
        assert_eq!(
            get(prom.value(), "spec.ingress.0.from.0.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name").and_then(Value::as_str),
            Some("monitoring")
        );
    }
}
