//! NetworkPolicy reachability: for every Service port, which clients can reach
//! the Pods behind it under the NetworkPolicies of the stream (ingress only).
//!
//! Clients are representatives: the documented ones (a Pod of the same
//! namespace, the Istio ingress gateway in `istio-system`, the API server for
//! webhook ports, Prometheus for metrics ports) and undocumented ones (a Pod in
//! an unrelated namespace, an address outside the cluster, Prometheus on a
//! non-metrics port). A port is flagged when no documented client reaches it or
//! an undocumented one does.

use crate::pss::pod_template;
use crate::selector::{self, Labels};
use crate::stream::{at, seq_at, str_at, Object};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Namespace used for objects that rely on the Helm release namespace.
pub const RELEASE_NS: &str = "(release)";

/// Where the modelled clients live; the defaults match the hardened preset.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ingress_namespace: String,
    pub ingress_labels: Labels,
    pub prometheus_namespace: String,
    pub prometheus_labels: Labels,
}

impl Default for Clients {
    fn default() -> Self {
        let l = |k: &str, v: &str| Labels::from([(k.to_string(), v.to_string())]);
        Clients {
            ingress_namespace: "istio-system".into(),
            ingress_labels: l("istio", "ingressgateway"),
            prometheus_namespace: "monitoring".into(),
            prometheus_labels: l("app.kubernetes.io/name", "prometheus"),
        }
    }
}

#[derive(Debug, Clone)]
enum Source {
    Pod {
        namespace: String,
        ns_labels: Labels,
        labels: Labels,
    },
    /// Outside the Pod network. `any_ip_block`: counts as inside every ipBlock
    /// (the API server, whose address the chart cannot know); otherwise only
    /// inside a `/0` block (an arbitrary address on the internet).
    External { any_ip_block: bool },
}

#[derive(Debug)]
struct PodInfo {
    namespace: String,
    labels: Labels,
    /// container port name → number
    ports: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Policy {
    namespace: String,
    pod_selector: Option<Value>,
    isolates_ingress: bool,
    ingress: Vec<Value>,
}

/// The verdict for one Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortReport {
    pub namespace: String,
    pub service: String,
    pub port: String,
    /// Whether some policy isolates the Pods behind the Service.
    pub isolated: bool,
    /// The port serves an admission or conversion webhook.
    pub webhook: bool,
    pub documented: Vec<String>,
    pub reached_documented: Vec<String>,
    pub reached_undocumented: Vec<String>,
}

impl PortReport {
    /// Why the port is flagged, or `None` when it is fine.
    pub fn finding(&self) -> Option<String> {
        if self.reached_documented.is_empty() {
            Some(format!(
                "unreachable from its documented clients ({})",
                self.documented.join(", ")
            ))
        } else if !self.reached_undocumented.is_empty() {
            Some(format!(
                "reachable by undocumented {}",
                self.reached_undocumented.join(", ")
            ))
        } else {
            None
        }
    }
}

fn ns_of(o: &Object) -> String {
    o.namespace().unwrap_or(RELEASE_NS).to_string()
}

fn pods(objects: &[Object]) -> Vec<PodInfo> {
    objects
        .iter()
        .filter_map(|o| {
            let (meta, spec) = pod_template(o)?;
            let ports = ["containers", "initContainers"]
                .iter()
                .flat_map(|f| seq_at(spec, &[f]))
                .flat_map(|c| seq_at(c, &["ports"]))
                .filter_map(|p| {
                    Some((
                        str_at(p, &["name"])?.to_string(),
                        p.get("containerPort")?.as_u64()?,
                    ))
                })
                .collect();
            Some(PodInfo {
                namespace: ns_of(o),
                labels: selector::labels(meta.and_then(|m| m.get("labels"))),
                ports,
            })
        })
        .collect()
}

fn policies(objects: &[Object]) -> Vec<Policy> {
    objects
        .iter()
        .filter(|o| o.kind() == "NetworkPolicy")
        .map(|o| {
            let spec = o.value.get("spec");
            let types: Vec<&str> = spec
                .map(|s| seq_at(s, &["policyTypes"]))
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_str)
                .collect();
            Policy {
                namespace: ns_of(o),
                pod_selector: spec.and_then(|s| s.get("podSelector")).cloned(),
                // Without policyTypes a policy always isolates ingress.
                isolates_ingress: types.is_empty() || types.contains(&"Ingress"),
                ingress: spec
                    .map(|s| seq_at(s, &["ingress"]).to_vec())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn peer_matches(peer: &Value, policy_ns: &str, source: &Source) -> bool {
    if let Some(block) = peer.get("ipBlock") {
        let cidr = str_at(block, &["cidr"]).unwrap_or("");
        let everything = cidr.ends_with("/0") && seq_at(block, &["except"]).is_empty();
        return match source {
            Source::External { any_ip_block } => *any_ip_block || everything,
            // Pod addresses fall in a block only when it is the whole address space.
            Source::Pod { .. } => everything,
        };
    }
    let Source::Pod {
        namespace,
        ns_labels: src_ns_labels,
        labels,
    } = source
    else {
        return false;
    };
    let ns_ok = match peer.get("namespaceSelector") {
        Some(sel) => selector::matches(Some(sel), src_ns_labels),
        None => namespace == policy_ns,
    };
    ns_ok && selector::matches(peer.get("podSelector"), labels)
}

/// Whether a NetworkPolicy port entry matches the target (number and name).
fn port_matches(entry: &Value, number: Option<u64>, name: Option<&str>, protocol: &str) -> bool {
    if str_at(entry, &["protocol"]).unwrap_or("TCP") != protocol {
        return false;
    }
    match entry.get("port") {
        None => true,
        Some(Value::Number(n)) => {
            let start = n.as_u64();
            let end = entry.get("endPort").and_then(Value::as_u64).or(start);
            matches!((number, start, end), (Some(p), Some(s), Some(e)) if s <= p && p <= e)
        }
        Some(Value::String(s)) => name == Some(s.as_str()),
        Some(_) => false,
    }
}

fn reaches(
    source: &Source,
    pod: &PodInfo,
    number: Option<u64>,
    name: Option<&str>,
    protocol: &str,
    policies: &[Policy],
) -> bool {
    let selecting: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.isolates_ingress && p.namespace == pod.namespace)
        .filter(|p| selector::matches(p.pod_selector.as_ref(), &pod.labels))
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|p| {
        p.ingress.iter().any(|rule| {
            let from = seq_at(rule, &["from"]);
            let ports = seq_at(rule, &["ports"]);
            (from.is_empty()
                || from
                    .iter()
                    .any(|peer| peer_matches(peer, &p.namespace, source)))
                && (ports.is_empty()
                    || ports
                        .iter()
                        .any(|e| port_matches(e, number, name, protocol)))
        })
    })
}

/// Service ports that are targets of admission or conversion webhooks:
/// (namespace, service name, service port).
fn webhook_ports(objects: &[Object]) -> BTreeSet<(String, String, u64)> {
    let mut out = BTreeSet::new();
    let mut add = |svc: &Value| {
        if let (Some(ns), Some(name)) = (str_at(svc, &["namespace"]), str_at(svc, &["name"])) {
            let port = svc.get("port").and_then(Value::as_u64).unwrap_or(443);
            out.insert((ns.to_string(), name.to_string(), port));
        }
    };
    for o in objects {
        match o.kind() {
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
                for w in seq_at(&o.value, &["webhooks"]) {
                    if let Some(svc) = at(w, &["clientConfig", "service"]) {
                        add(svc);
                    }
                }
            }
            "CustomResourceDefinition" => {
                if let Some(svc) = at(
                    &o.value,
                    &["spec", "conversion", "webhook", "clientConfig", "service"],
                ) {
                    add(svc);
                }
            }
            _ => {}
        }
    }
    out
}

pub fn analyze(objects: &[Object], clients: &Clients) -> Vec<PortReport> {
    let ns_labels = selector::namespace_labels(objects);
    let pods = pods(objects);
    let policies = policies(objects);
    let webhooks = webhook_ports(objects);
    let pod_source = |ns: &str, labels: Labels| Source::Pod {
        namespace: ns.to_string(),
        ns_labels: selector::labels_of_namespace(&ns_labels, ns),
        labels,
    };
    let mut ingress_sources: Vec<Source> = pods
        .iter()
        .filter(|p| p.namespace == clients.ingress_namespace)
        .filter(|p| selector::service_matches(&clients.ingress_labels, &p.labels))
        .map(|p| pod_source(&p.namespace, p.labels.clone()))
        .collect();
    if ingress_sources.is_empty() {
        ingress_sources.push(pod_source(
            &clients.ingress_namespace,
            clients.ingress_labels.clone(),
        ));
    }
    let prometheus = pod_source(
        &clients.prometheus_namespace,
        clients.prometheus_labels.clone(),
    );
    let stranger = pod_source("kf-audit-unrelated", Labels::new());
    let api_server = Source::External { any_ip_block: true };
    let internet = Source::External {
        any_ip_block: false,
    };

    let mut out = Vec::new();
    for svc in objects.iter().filter(|o| o.kind() == "Service") {
        let ns = ns_of(svc);
        let sel = selector::labels(at(&svc.value, &["spec", "selector"]));
        let backends: Vec<&PodInfo> = pods
            .iter()
            .filter(|p| p.namespace == ns && selector::service_matches(&sel, &p.labels))
            .collect();
        if backends.is_empty() {
            // ExternalName/headless-without-selector Services and Services of
            // workloads created at runtime (e.g. per-user notebooks): nothing to check.
            continue;
        }
        let mut same_ns: Vec<Source> = pods
            .iter()
            .filter(|p| p.namespace == ns && !backends.iter().any(|b| std::ptr::eq(*b, *p)))
            .map(|p| pod_source(&ns, p.labels.clone()))
            .collect();
        same_ns.push(pod_source(&ns, Labels::new()));
        for port in seq_at(&svc.value, &["spec", "ports"]) {
            let number = port.get("port").and_then(Value::as_u64).unwrap_or(0);
            let port_name = str_at(port, &["name"]).unwrap_or("");
            let protocol = str_at(port, &["protocol"]).unwrap_or("TCP");
            let target = port
                .get("targetPort")
                .cloned()
                .unwrap_or(Value::from(number));
            let is_webhook = webhooks.contains(&(ns.clone(), svc.name().to_string(), number));
            let is_metrics = port_name.contains("metrics") || port_name.contains("prometheus");
            let reach = |sources: &[Source]| {
                backends.iter().any(|pod| {
                    let (num, name) = match &target {
                        Value::String(n) => (pod.ports.get(n).copied(), Some(n.as_str())),
                        other => {
                            let num = other.as_u64();
                            let name = pod
                                .ports
                                .iter()
                                .find(|(_, v)| Some(**v) == num)
                                .map(|(k, _)| k.as_str());
                            (num, name)
                        }
                    };
                    sources
                        .iter()
                        .any(|s| reaches(s, pod, num, name, protocol, &policies))
                })
            };
            let mut documented = vec![
                ("same namespace", same_ns.clone()),
                ("istio ingress", ingress_sources.clone()),
            ];
            let mut undocumented = vec![
                ("other-namespace pod", vec![stranger.clone()]),
                ("external address", vec![internet.clone()]),
            ];
            if is_webhook {
                documented.push(("API server", vec![api_server.clone()]));
            }
            if is_metrics {
                documented.push(("prometheus", vec![prometheus.clone()]));
            } else {
                undocumented.push(("prometheus", vec![prometheus.clone()]));
            }
            let names = |list: &[(&str, Vec<Source>)]| {
                list.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>()
            };
            let reached = |list: &[(&str, Vec<Source>)]| {
                list.iter()
                    .filter(|(_, s)| reach(s))
                    .map(|(n, _)| n.to_string())
                    .collect::<Vec<_>>()
            };
            let isolated = backends.iter().any(|pod| {
                policies.iter().any(|p| {
                    p.isolates_ingress
                        && p.namespace == pod.namespace
                        && selector::matches(p.pod_selector.as_ref(), &pod.labels)
                })
            });
            out.push(PortReport {
                namespace: ns.clone(),
                service: svc.name().to_string(),
                port: if port_name.is_empty() {
                    number.to_string()
                } else {
                    format!("{number}/{port_name}")
                },
                isolated,
                webhook: is_webhook,
                documented: names(&documented),
                reached_documented: reached(&documented),
                reached_undocumented: reached(&undocumented),
            });
        }
    }
    out
}

/// The table `kf-audit netpol` prints.
pub fn report(objects: &[Object]) -> String {
    let rows: Vec<Vec<String>> = analyze(objects, &Clients::default())
        .into_iter()
        .map(|r| {
            let list = |l: &[String]| {
                if l.is_empty() {
                    "-".to_string()
                } else {
                    l.join(", ")
                }
            };
            vec![
                r.namespace.clone(),
                r.service.clone(),
                r.port.clone(),
                if r.isolated {
                    "yes".into()
                } else {
                    "no".into()
                },
                list(&r.reached_documented),
                list(&r.reached_undocumented),
                r.finding().unwrap_or_else(|| "ok".into()),
            ]
        })
        .collect();
    crate::table::render(
        &[
            "namespace",
            "service",
            "port",
            "isolated",
            "documented clients reaching",
            "undocumented clients reaching",
            "verdict",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
kind: Namespace
metadata: {name: kubeflow}
---
kind: Deployment
metadata: {name: web, namespace: kubeflow}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}, {name: webhook, containerPort: 9443}]}]}}}
---
kind: Service
metadata: {name: web, namespace: kubeflow}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: http-metrics, port: 9090}
  - {name: https-webhook, port: 443, targetPort: 9443}
---
kind: ValidatingWebhookConfiguration
metadata: {name: web}
webhooks: [{name: w.kubeflow.org, clientConfig: {service: {name: web, namespace: kubeflow}}}]
"#;

    const DENY: &str = "kind: NetworkPolicy\nmetadata: {name: deny, namespace: kubeflow}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
    const SAME_NS: &str = "kind: NetworkPolicy\nmetadata: {name: same, namespace: kubeflow}\nspec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}\n";
    const ISTIO: &str = "kind: NetworkPolicy\nmetadata: {name: istio, namespace: kubeflow}\nspec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}, podSelector: {matchLabels: {istio: ingressgateway}}}], ports: [{port: http}]}]}\n";
    const WEBHOOK: &str = "kind: NetworkPolicy\nmetadata: {name: webhook, namespace: kubeflow}\nspec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 9443}]}]}\n";
    const PROM: &str = "kind: NetworkPolicy\nmetadata: {name: prom, namespace: kubeflow}\nspec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}], ports: [{port: 9000, endPort: 9100}]}]}\n";
    const OPEN: &str = "kind: NetworkPolicy\nmetadata: {name: open, namespace: kubeflow}\nspec: {podSelector: {}, ingress: [{}]}\n";
    const EGRESS_ONLY: &str = "kind: NetworkPolicy\nmetadata: {name: egress, namespace: kubeflow}\nspec: {podSelector: {}, policyTypes: [Egress]}\n";

    fn run(policies: &[&str]) -> Vec<(String, Vec<String>, Vec<String>)> {
        let stream = format!("{BASE}---\n{}", policies.join("---\n"));
        analyze(&crate::parse(&stream).unwrap(), &Clients::default())
            .into_iter()
            .map(|r| (r.port, r.reached_documented, r.reached_undocumented))
            .collect()
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reachability_per_policy_set() {
        let all_doc = |extra: &[&str]| {
            let mut d = v(&["same namespace", "istio ingress"]);
            d.extend(v(extra));
            d
        };
        let everyone = v(&["other-namespace pod", "external address", "prometheus"]);
        type Row = (String, Vec<String>, Vec<String>);
        let cases: Vec<(&[&str], Vec<Row>)> = vec![
            // No policy: every client reaches every port.
            (
                &[],
                vec![
                    ("80/http".into(), all_doc(&[]), everyone.clone()),
                    (
                        "9090/http-metrics".into(),
                        all_doc(&["prometheus"]),
                        v(&["other-namespace pod", "external address"]),
                    ),
                    (
                        "443/https-webhook".into(),
                        all_doc(&["API server"]),
                        everyone.clone(),
                    ),
                ],
            ),
            // An egress-only policy does not isolate ingress.
            (
                &[EGRESS_ONLY],
                vec![
                    ("80/http".into(), all_doc(&[]), everyone.clone()),
                    (
                        "9090/http-metrics".into(),
                        all_doc(&["prometheus"]),
                        v(&["other-namespace pod", "external address"]),
                    ),
                    (
                        "443/https-webhook".into(),
                        all_doc(&["API server"]),
                        everyone.clone(),
                    ),
                ],
            ),
            (
                &[DENY],
                vec![
                    ("80/http".into(), vec![], vec![]),
                    ("9090/http-metrics".into(), vec![], vec![]),
                    ("443/https-webhook".into(), vec![], vec![]),
                ],
            ),
            (
                &[DENY, SAME_NS, ISTIO, WEBHOOK, PROM],
                vec![
                    ("80/http".into(), all_doc(&[]), vec![]),
                    (
                        "9090/http-metrics".into(),
                        v(&["same namespace", "prometheus"]),
                        vec![],
                    ),
                    (
                        "443/https-webhook".into(),
                        v(&["same namespace", "API server"]),
                        vec![],
                    ),
                ],
            ),
            // An empty rule admits everyone, whatever else is denied.
            (
                &[DENY, OPEN],
                vec![
                    ("80/http".into(), all_doc(&[]), everyone.clone()),
                    (
                        "9090/http-metrics".into(),
                        all_doc(&["prometheus"]),
                        v(&["other-namespace pod", "external address"]),
                    ),
                    (
                        "443/https-webhook".into(),
                        all_doc(&["API server"]),
                        everyone.clone(),
                    ),
                ],
            ),
        ];
        for (policies, want) in cases {
            assert_eq!(run(policies), want, "policies {policies:?}");
        }
    }

    #[test]
    fn findings_name_the_problem() {
        let stream = format!("{BASE}---\n{DENY}");
        let reports = analyze(&crate::parse(&stream).unwrap(), &Clients::default());
        let finding = reports[2].finding().unwrap();
        assert_eq!(
            finding,
            "unreachable from its documented clients (same namespace, istio ingress, API server)"
        );
        let stream = format!("{BASE}---\n{DENY}---\n{OPEN}");
        let reports = analyze(&crate::parse(&stream).unwrap(), &Clients::default());
        assert_eq!(
            reports[0].finding().unwrap(),
            "reachable by undocumented other-namespace pod, external address, prometheus"
        );
        assert!(report(&crate::parse(&stream).unwrap()).contains("| kubeflow  | web     | 80/http"));
    }
}
