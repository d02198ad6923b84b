//! `istio`: puts the rendered workloads into the Istio mesh, in one of two
//! data-plane modes chosen by a single switch.
//!
//! - `sidecar`: label Namespace objects `istio-injection: enabled` (the listed
//!   ones, or by default the Kubeflow-owned ones that have not chosen a data
//!   plane themselves); apply
//!   per-workload `sidecar.istio.io/inject` overrides on pod templates (a label,
//!   as upstream's Katib and Profiles overlays do); add
//!   `traffic.sidecar.istio.io/excludeInboundPorts` for the container ports that
//!   serve admission/conversion webhooks (the API server calls webhooks without
//!   mTLS, so a sidecar in front of them breaks admission); create an
//!   `ISTIO_MUTUAL` `DestinationRule` for each named service.
//! - `ambient`: label Namespace objects `istio.io/dataplane-mode: ambient` and
//!   remove, from workloads not in a rendered Namespace that stays on sidecars,
//!   every sidecar knob (namespace `istio-injection`, pod
//!   `sidecar.istio.io/inject`, `traffic.sidecar.istio.io/*`), which would
//!   otherwise inject sidecars next to ztunnel.
//! - `off` (default): no change.
//!
//! ```yaml
//! istio:
//!   mode: sidecar
//!   namespaces: [kubeflow]          # empty: Kubeflow-owned Namespace objects (below)
//!   inject: {katib-ui: true, katib-controller: false}   # workload name (or Kind/name)
//!   excludeWebhookPorts: true       # default true
//!   destinationRules:
//!     - service: jupyter-web-app-service   # a Service in the stream
//!       name: jupyter-web-app              # default: the service name
//!       labels: {app: jupyter-web-app}     # default: the Service's selector
//! ```
//!
//! Workloads may also opt in themselves with the pod-template annotation
//! `kf-post.kubeflow.org/istio-inject: "true"|"false"` (config wins), and a
//! Service with `kf-post.kubeflow.org/destination-rule: "true"` gets a
//! DestinationRule as if listed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::document::{mapping_entry_in, Document};
use crate::error::{Error, Result};
use crate::transforms::Filter;

const NAME: &str = "istio";
const INJECT: &str = "sidecar.istio.io/inject";
const INJECTION_NS: &str = "istio-injection";
const AMBIENT_NS: &str = "istio.io/dataplane-mode";
const EXCLUDE_INBOUND: &str = "traffic.sidecar.istio.io/excludeInboundPorts";
const INJECT_OPT_IN: &str = "kf-post.kubeflow.org/istio-inject";
const DR_OPT_IN: &str = "kf-post.kubeflow.org/destination-rule";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Off,
    Sidecar,
    Ambient,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub mode: Mode,
    /// Namespace objects to label; empty means the Kubeflow-owned ones
    /// (`control-plane: kubeflow` or `app.kubernetes.io/part-of: kubeflow-profile`)
    /// that carry no `istio-injection`/`istio.io/dataplane-mode` label yet.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Workload name (or `Kind/name`) → inject a sidecar or not (sidecar mode).
    #[serde(default)]
    pub inject: BTreeMap<String, bool>,
    #[serde(default = "crate::transforms::yes")]
    pub exclude_webhook_ports: bool,
    #[serde(default)]
    pub destination_rules: Vec<DestinationRule>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Off,
            namespaces: Vec::new(),
            inject: BTreeMap::new(),
            exclude_webhook_ports: true,
            destination_rules: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DestinationRule {
    /// Name of a Service rendered in the same stream.
    pub service: String,
    /// Namespace of the Service, when several services share the name.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Name of the DestinationRule; defaults to the service name.
    #[serde(default)]
    pub name: Option<String>,
    /// Labels of the DestinationRule; default: the Service's selector.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        match self.mode {
            Mode::Off => Ok(docs),
            Mode::Sidecar => {
                self.label_namespaces(&mut docs, INJECTION_NS, "enabled", Some(AMBIENT_NS));
                self.apply_inject_overrides(&mut docs)?;
                if self.exclude_webhook_ports {
                    exclude_webhook_ports(&mut docs)?;
                }
                let rules = self.destination_rules(&docs)?;
                docs.extend(rules);
                Ok(docs)
            }
            Mode::Ambient => {
                let kept =
                    self.label_namespaces(&mut docs, AMBIENT_NS, "ambient", Some(INJECTION_NS));
                // Workloads in a rendered Namespace that stays on sidecars
                // (e.g. knative-serving) keep their knobs: removing an
                // `inject: "false"` there would inject a sidecar.
                for doc in docs.iter_mut() {
                    if !doc.namespace().is_some_and(|ns| kept.contains(ns)) {
                        strip_sidecar_knobs(doc);
                    }
                }
                Ok(docs)
            }
        }
    }
}

impl Config {
    /// Label the selected Namespace objects; returns the names of the
    /// rendered Namespace objects that were not selected.
    fn label_namespaces(
        &self,
        docs: &mut [Document],
        key: &str,
        value: &str,
        remove: Option<&str>,
    ) -> BTreeSet<String> {
        let mut unselected = BTreeSet::new();
        for doc in docs.iter_mut() {
            if doc.kind() != Some("Namespace") || !doc.group().is_empty() {
                continue;
            }
            let name = doc.name().unwrap_or_default().to_owned();
            let selected = if self.namespaces.is_empty() {
                // Kubeflow-owned, and no data-plane choice made by the chart
                // (istio-system ships `istio-injection: disabled` on purpose);
                // `istio-injection: enabled` is what ambient mode replaces.
                let injection = doc.label(INJECTION_NS);
                is_kubeflow_owned(doc)
                    && doc.label(AMBIENT_NS).is_none()
                    && match key {
                        AMBIENT_NS => injection != Some("disabled"),
                        _ => injection.is_none(),
                    }
            } else {
                self.namespaces.contains(&name)
            };
            if !selected {
                unselected.insert(name);
                continue;
            }
            doc.set_label(NAME, key, value);
            if let Some(other) = remove {
                remove_meta_key(doc, "labels", other);
            }
        }
        unselected
    }

    fn apply_inject_overrides(&self, docs: &mut [Document]) -> Result<()> {
        for doc in docs.iter_mut() {
            let Some(template) = pod_template(&doc.value) else {
                continue;
            };
            let kind = doc.kind().unwrap_or_default();
            let name = doc.name().unwrap_or_default();
            let configured = self
                .inject
                .get(&format!("{kind}/{name}"))
                .or_else(|| self.inject.get(name))
                .copied();
            let wanted = match configured {
                Some(v) => Some(v),
                None => match meta_str(template, "annotations", INJECT_OPT_IN) {
                    None => None,
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    Some(other) => {
                        return Err(Error::Field {
                            doc: doc.doc_ref(),
                            field: format!("spec.template.metadata.annotations.{INJECT_OPT_IN}"),
                            message: format!("expected \"true\" or \"false\", got {other:?}"),
                        })
                    }
                },
            };
            let Some(wanted) = wanted else { continue };
            let value = if wanted { "true" } else { "false" };
            let template = pod_template_mut(&mut doc.value).expect("checked above");
            let meta = mapping_entry_in(template, "metadata");
            let mut changed = set_in(meta, "labels", INJECT, value);
            // An existing annotation would contradict the label; Istio reads both.
            if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_mapping_mut) {
                if ann.contains_key(INJECT) {
                    changed |= set_in(meta, "annotations", INJECT, value);
                }
            }
            if changed {
                doc.record(NAME, format!("pod template {INJECT}={value}"));
            }
        }
        Ok(())
    }

    fn destination_rules(&self, docs: &[Document]) -> Result<Vec<Document>> {
        type Labels = Option<BTreeMap<String, String>>;
        let mut wanted: Vec<(String, Option<String>, String, Labels)> = self
            .destination_rules
            .iter()
            .map(|r| {
                let name = r.name.clone().unwrap_or_else(|| r.service.clone());
                (
                    r.service.clone(),
                    r.namespace.clone(),
                    name,
                    r.labels.clone(),
                )
            })
            .collect();
        for doc in docs {
            if doc.kind() == Some("Service") && doc.annotation(DR_OPT_IN) == Some("true") {
                let svc = doc.name().unwrap_or_default().to_owned();
                let ns = doc.namespace().map(str::to_owned);
                if !wanted
                    .iter()
                    .any(|(s, n, _, _)| *s == svc && (n.is_none() || *n == ns))
                {
                    wanted.push((svc.clone(), ns, svc, None));
                }
            }
        }
        let mut out = Vec::new();
        for (service, namespace, name, labels) in wanted {
            let svc = find_service(docs, &service, namespace.as_deref()).ok_or_else(|| {
                Error::Config(format!(
                    "istio.destinationRules: service {service:?}{} is not in the rendered stream",
                    namespace
                        .as_deref()
                        .map(|n| format!(" in namespace {n:?}"))
                        .unwrap_or_default()
                ))
            })?;
            let svc = &docs[svc];
            let ns = svc.namespace().map(str::to_owned).or(namespace);
            // Already rendered (by the chart or an earlier kf-post run).
            if exists(docs, "DestinationRule", ns.as_deref(), &name) {
                continue;
            }
            let host = match &ns {
                Some(ns) => format!("{service}.{ns}.svc.cluster.local"),
                None => {
                    return Err(Error::Field {
                        doc: svc.doc_ref(),
                        field: "metadata.namespace".into(),
                        message: "a DestinationRule host needs the service's namespace; \
                                  set it on the Service or in istio.destinationRules[].namespace"
                            .into(),
                    })
                }
            };
            let mut meta = Mapping::new();
            // The Service's selector is the app's identity (upstream labels its
            // DestinationRules with the component labels, not e.g. `run`).
            let labels = match labels {
                Some(l) => Some(Value::Mapping(
                    l.into_iter()
                        .map(|(k, v)| (Value::from(k), Value::from(v)))
                        .collect(),
                )),
                None => svc
                    .value
                    .get("spec")
                    .and_then(|s| s.get("selector"))
                    .cloned(),
            };
            if let Some(labels) = labels.filter(|l| l.as_mapping().is_some_and(|m| !m.is_empty())) {
                meta.insert("labels".into(), labels);
            }
            meta.insert("name".into(), name.clone().into());
            meta.insert("namespace".into(), ns.clone().unwrap_or_default().into());
            let value: Value = serde_yaml::from_str(&format!(
                "apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\n\
                 spec:\n  host: {host}\n  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n"
            ))
            .expect("static YAML");
            let mut value = value;
            if let Value::Mapping(m) = &mut value {
                let spec = m.remove("spec").expect("static");
                m.insert("metadata".into(), Value::Mapping(meta));
                m.insert("spec".into(), spec);
            }
            out.push(Document::generated(
                value,
                NAME,
                format!("DestinationRule {name}: ISTIO_MUTUAL for service {host}"),
            ));
        }
        Ok(out)
    }
}

/// A Namespace Kubeflow owns: upstream marks its own with
/// `control-plane: kubeflow`, profile namespaces with
/// `app.kubernetes.io/part-of: kubeflow-profile`. Others (cert-manager,
/// istio-system, auth, …) keep whatever data-plane setting they ship with:
/// e.g. a sidecar would keep cert-manager's startup Job from ever finishing.
/// The match is exact: a common label such as `app.kubernetes.io/part-of:
/// kubeflow`, which the labels transform adds later in the same run, must not
/// make a second run label more namespaces than the first (idempotence).
fn is_kubeflow_owned(ns: &Document) -> bool {
    ns.label("control-plane") == Some("kubeflow")
        || ns.label("app.kubernetes.io/part-of") == Some("kubeflow-profile")
}

/// Ambient mode: remove sidecar-only labels and annotations from pod templates.
fn strip_sidecar_knobs(doc: &mut Document) {
    let Some(template) = pod_template_mut(&mut doc.value) else {
        return;
    };
    let mut removed = Vec::new();
    if let Some(meta) = template.get_mut("metadata").and_then(Value::as_mapping_mut) {
        for map in ["labels", "annotations"] {
            if let Some(m) = meta.get_mut(map).and_then(Value::as_mapping_mut) {
                let keys: Vec<Value> = m
                    .keys()
                    .filter(|k| {
                        k.as_str().is_some_and(|k| {
                            k == INJECT || k.starts_with("traffic.sidecar.istio.io/")
                        })
                    })
                    .cloned()
                    .collect();
                for k in keys {
                    m.remove(&k);
                    removed.push(format!("{map}.{}", k.as_str().unwrap_or_default()));
                }
            }
        }
    }
    for r in removed {
        doc.record(NAME, format!("ambient: removed pod template {r}"));
    }
}

fn remove_meta_key(doc: &mut Document, map: &str, key: &str) {
    let removed = doc
        .value
        .get_mut("metadata")
        .and_then(|m| m.get_mut(map))
        .and_then(Value::as_mapping_mut)
        .and_then(|m| m.remove(key))
        .is_some();
    if removed {
        doc.record(NAME, format!("removed metadata.{map}.{key}"));
    }
}

/// Webhook ports must bypass the sidecar: find every webhook's Service, the
/// workloads it selects and the container port behind the service port.
fn exclude_webhook_ports(docs: &mut [Document]) -> Result<()> {
    let mut ports: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    for wh in webhook_services(docs) {
        let Some(svc) = find_service(docs, &wh.name, Some(&wh.namespace)) else {
            continue;
        };
        for w in backing_workloads(docs, svc) {
            if let Some(p) = target_port(&docs[svc], wh.port, &docs[w])? {
                ports.entry(w).or_default().push(p);
            }
        }
    }
    for (w, mut list) in ports {
        let doc = &mut docs[w];
        let template = pod_template(&doc.value).expect("backing workloads have templates");
        // A workload without a sidecar needs no exclusion.
        if meta_str(template, "labels", INJECT) == Some("false")
            || meta_str(template, "annotations", INJECT) == Some("false")
        {
            continue;
        }
        if let Some(existing) = meta_str(template, "annotations", EXCLUDE_INBOUND) {
            list.extend(
                existing
                    .split(',')
                    .filter_map(|p| p.trim().parse::<u16>().ok()),
            );
        }
        list.sort_unstable();
        list.dedup();
        let joined = list
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let template = pod_template_mut(&mut doc.value).expect("checked");
        let meta = mapping_entry_in(template, "metadata");
        if set_in(meta, "annotations", EXCLUDE_INBOUND, &joined) {
            doc.record(
                NAME,
                format!("pod template {EXCLUDE_INBOUND}={joined} (webhook ports)"),
            );
        }
    }
    Ok(())
}

/// A service a webhook (admission or CRD conversion) calls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WebhookService {
    pub name: String,
    pub namespace: String,
    /// Service port (the API default is 443).
    pub port: i64,
}

/// The `clientConfig.service` entries of one webhook-bearing document:
/// admission webhook configurations and CRDs with a conversion webhook.
pub(crate) fn webhook_services_of(doc: &Document) -> Vec<WebhookService> {
    let configs: Vec<&Value> = match doc.kind() {
        Some("ValidatingWebhookConfiguration") | Some("MutatingWebhookConfiguration") => doc
            .value
            .get("webhooks")
            .and_then(Value::as_sequence)
            .map(|s| s.iter().filter_map(|w| w.get("clientConfig")).collect())
            .unwrap_or_default(),
        Some("CustomResourceDefinition") => doc
            .value
            .get("spec")
            .and_then(|s| s.get("conversion"))
            .and_then(|c| c.get("webhook"))
            .and_then(|w| w.get("clientConfig"))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<WebhookService> = configs
        .into_iter()
        .filter_map(|cc| cc.get("service"))
        .filter_map(|s| {
            Some(WebhookService {
                name: s.get("name")?.as_str()?.to_owned(),
                namespace: s.get("namespace")?.as_str()?.to_owned(),
                port: s.get("port").and_then(Value::as_i64).unwrap_or(443),
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn webhook_services(docs: &[Document]) -> Vec<WebhookService> {
    let mut all: Vec<WebhookService> = docs.iter().flat_map(webhook_services_of).collect();
    all.sort();
    all.dedup();
    all
}

/// Index of the Service `name` (in `namespace` when given).
pub(crate) fn find_service(
    docs: &[Document],
    name: &str,
    namespace: Option<&str>,
) -> Option<usize> {
    docs.iter().position(|d| {
        d.kind() == Some("Service")
            && d.group().is_empty()
            && d.name() == Some(name)
            && (namespace.is_none() || d.namespace() == namespace)
    })
}

/// Workloads in the Service's namespace whose pod labels match its selector.
pub(crate) fn backing_workloads(docs: &[Document], svc: usize) -> Vec<usize> {
    let service = &docs[svc];
    let Some(selector) = service
        .value
        .get("spec")
        .and_then(|s| s.get("selector"))
        .and_then(Value::as_mapping)
        .filter(|m| !m.is_empty())
    else {
        return Vec::new();
    };
    docs.iter()
        .enumerate()
        .filter(|(_, d)| d.namespace() == service.namespace())
        .filter_map(|(i, d)| {
            let labels = pod_template(&d.value)?
                .get("metadata")?
                .get("labels")?
                .as_mapping()?;
            selector
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
                .then_some(i)
        })
        .collect()
}

/// The container port a Service port leads to in `workload` (named target
/// ports are looked up in the containers' `ports`).
pub(crate) fn target_port(
    service: &Document,
    port: i64,
    workload: &Document,
) -> Result<Option<u16>> {
    let ports = service
        .value
        .get("spec")
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_sequence);
    let Some(entry) = ports.and_then(|ps| {
        ps.iter()
            .find(|p| p.get("port").and_then(Value::as_i64) == Some(port))
    }) else {
        return Ok(None);
    };
    let target = entry
        .get("targetPort")
        .unwrap_or(entry.get("port").expect("matched"));
    let bad = |message: String| Error::Field {
        doc: service.doc_ref(),
        field: format!("spec.ports[port={port}].targetPort"),
        message,
    };
    match target {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(format!("{n} is not a port number"))),
        Value::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(Some(n));
            }
            let found = pod_template(&workload.value)
                .and_then(|t| t.get("spec"))
                .and_then(|s| s.get("containers"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("ports").and_then(Value::as_sequence))
                .flatten()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|p| p.get("containerPort").and_then(Value::as_u64))
                .and_then(|n| u16::try_from(n).ok());
            Ok(found)
        }
        other => Err(bad(format!("unexpected value {other:?}"))),
    }
}

/// The pod template of a workload kind, if `value` is one.
pub(crate) fn pod_template(value: &Value) -> Option<&Value> {
    let kind = value.get("kind")?.as_str()?;
    let spec = value.get("spec")?;
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => spec.get("template"),
        "CronJob" => spec.get("jobTemplate")?.get("spec")?.get("template"),
        _ => None,
    }
}

pub(crate) fn pod_template_mut(value: &mut Value) -> Option<&mut Mapping> {
    let kind = value.get("kind")?.as_str()?.to_owned();
    let spec = value.get_mut("spec")?;
    let template = match kind.as_str() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            spec.get_mut("template")
        }
        "CronJob" => spec
            .get_mut("jobTemplate")?
            .get_mut("spec")?
            .get_mut("template"),
        _ => None,
    }?;
    template.as_mapping_mut()
}

/// Whether an object of `kind` named `name` is already in the stream, so a
/// generated one would duplicate it (this keeps kf-post idempotent).
pub(crate) fn exists(docs: &[Document], kind: &str, namespace: Option<&str>, name: &str) -> bool {
    docs.iter()
        .any(|d| d.kind() == Some(kind) && d.name() == Some(name) && d.namespace() == namespace)
}

fn meta_str<'a>(object: &'a Value, map: &str, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get(map)?.get(key)?.as_str()
}

/// `meta[map][key] = value`; true if it changed.
fn set_in(meta: &mut Mapping, map: &str, key: &str, value: &str) -> bool {
    let m = mapping_entry_in(meta, map);
    if m.get(key).and_then(Value::as_str) == Some(value) {
        return false;
    }
    m.insert(key.into(), value.into());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::transforms::test_docs as docs;

    fn config(yaml: &str) -> Config {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
        path.split(':')
            .try_fold(v, |v, k| match k.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(k),
            })
    }

    const STREAM: &str = "\
apiVersion: v1
kind: Namespace
metadata: {name: kubeflow, labels: {control-plane: kubeflow, istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {app.kubernetes.io/part-of: kubeflow-profile}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: katib-ui, namespace: kubeflow}
spec:
  template:
    metadata:
      labels: {app: ui, sidecar.istio.io/inject: \"false\"}
      annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: \"3306\"}
    spec: {containers: [{name: ui}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: controller, namespace: kubeflow}
spec:
  template:
    metadata: {labels: {app: controller}}
    spec: {containers: [{name: c, ports: [{name: https-webhook, containerPort: 9443}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: controller, namespace: kubeflow, labels: {app: controller}}
spec:
  selector: {app: controller}
  ports: [{port: 443, targetPort: https-webhook}, {port: 8080, targetPort: 8080}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: v}
webhooks:
- name: a
  clientConfig: {service: {name: controller, namespace: kubeflow, path: /validate}}
";

    #[test]
    fn modes() {
        // (config, document index, path, expected value or None for absent)
        let cases: &[(&str, usize, &str, Option<&str>)] = &[
            (
                "mode: sidecar",
                1,
                "metadata:labels:istio-injection",
                Some("enabled"),
            ),
            (
                "{mode: sidecar, namespaces: [kubeflow]}",
                1,
                "metadata:labels:istio-injection",
                None,
            ),
            (
                "mode: ambient",
                0,
                "metadata:labels:istio.io/dataplane-mode",
                Some("ambient"),
            ),
            ("mode: ambient", 0, "metadata:labels:istio-injection", None),
            (
                "mode: ambient",
                2,
                "spec:template:metadata:labels:sidecar.istio.io/inject",
                None,
            ),
            (
                "mode: ambient",
                2,
                "spec:template:metadata:annotations:traffic.sidecar.istio.io/excludeOutboundPorts",
                None,
            ),
            (
                "mode: ambient",
                2,
                "spec:template:metadata:labels:app",
                Some("ui"),
            ),
            (
                "{mode: sidecar, inject: {katib-ui: true}}",
                2,
                "spec:template:metadata:labels:sidecar.istio.io/inject",
                Some("true"),
            ),
            (
                "{mode: sidecar, inject: {Deployment/controller: false}}",
                3,
                "spec:template:metadata:labels:sidecar.istio.io/inject",
                Some("false"),
            ),
            (
                "mode: sidecar",
                3,
                "spec:template:metadata:annotations:traffic.sidecar.istio.io/excludeInboundPorts",
                Some("9443"),
            ),
            (
                "{mode: sidecar, excludeWebhookPorts: false}",
                3,
                "spec:template:metadata:annotations",
                None,
            ),
            // A workload whose injection is switched off needs no exclusion.
            (
                "{mode: sidecar, inject: {controller: false}}",
                3,
                "spec:template:metadata:annotations",
                None,
            ),
            ("mode: off", 1, "metadata:labels:istio-injection", None),
        ];
        for (cfg, idx, path, want) in cases {
            let out = config(cfg).filter(docs(STREAM)).unwrap();
            let got = at(&out[*idx].value, path).map(|v| v.as_str().unwrap_or("<non-string>"));
            assert_eq!(got, *want, "config {cfg}: {path} of document {idx}");
        }
    }

    #[test]
    fn common_part_of_label_is_not_ownership() {
        // (part-of label on a namespace, expected istio-injection)
        let cases: &[(&str, Option<&str>)] = &[
            ("kubeflow-profile", Some("enabled")),
            ("kubeflow", None),
            ("kubeflow-pipelines", None),
        ];
        for (part_of, want) in cases {
            let stream = format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: n, labels: {{app.kubernetes.io/part-of: {part_of}}}}}"
            );
            let out = config("mode: sidecar").filter(docs(&stream)).unwrap();
            assert_eq!(out[0].label(INJECTION_NS), *want, "{part_of}");
        }
    }

    #[test]
    fn namespace_selection() {
        let stream = "apiVersion: v1\nkind: Namespace\nmetadata: {name: cert-manager}\n---\n\
                      apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system, labels: {istio-injection: disabled}}\n---\n\
                      apiVersion: v1\nkind: Namespace\nmetadata: {name: kubeflow-system, labels: {control-plane: kubeflow}}";
        // (config, expected istio-injection per namespace)
        let cases: &[(&str, [Option<&str>; 3])] = &[
            ("mode: sidecar", [None, Some("disabled"), Some("enabled")]),
            (
                "{mode: sidecar, namespaces: [cert-manager, istio-system]}",
                [Some("enabled"), Some("enabled"), None],
            ),
            ("mode: ambient", [None, Some("disabled"), None]),
        ];
        for (cfg, want) in cases {
            let out = config(cfg).filter(docs(stream)).unwrap();
            let got: Vec<Option<&str>> = out.iter().map(|d| d.label(INJECTION_NS)).collect();
            assert_eq!(got, want, "{cfg}");
        }
        let out = config("mode: ambient").filter(docs(stream)).unwrap();
        assert_eq!(out[2].label(AMBIENT_NS), Some("ambient"));
        assert_eq!(out[0].label(AMBIENT_NS), None);
        // Ambient strips sidecar knobs except in rendered namespaces left on sidecars.
        let pod = |ns: &str| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: {ns}}}\n\
                 spec: {{template: {{metadata: {{labels: {{sidecar.istio.io/inject: \"false\"}}}}}}}}"
            )
        };
        let with_pods = format!(
            "{stream}\n---\n{}\n---\n{}\n---\n{}",
            pod("istio-system"),
            pod("kubeflow-system"),
            pod("elsewhere")
        );
        let out = config("mode: ambient").filter(docs(&with_pods)).unwrap();
        let injects: Vec<bool> = out[3..]
            .iter()
            .map(|d| {
                d.value["spec"]["template"]["metadata"]["labels"]
                    .get(INJECT)
                    .is_some()
            })
            .collect();
        assert_eq!(injects, [true, false, false]);
    }

    #[test]
    fn default_is_noop() {
        let out = Config::default().filter(docs(STREAM)).unwrap();
        assert!(out.iter().all(|d| !d.is_touched()));
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn destination_rules() {
        let out = config("{mode: sidecar, destinationRules: [{service: controller, name: ctl}]}")
            .filter(docs(STREAM))
            .unwrap();
        assert_eq!(out.len(), 7);
        let dr = &out[6];
        assert!(dr.generated);
        assert_eq!(dr.kind(), Some("DestinationRule"));
        assert_eq!(dr.name(), Some("ctl"));
        assert_eq!(dr.namespace(), Some("kubeflow"));
        assert_eq!(dr.label("app"), Some("controller"));
        assert_eq!(
            at(&dr.value, "spec:host").and_then(Value::as_str),
            Some("controller.kubeflow.svc.cluster.local")
        );
        assert_eq!(
            at(&dr.value, "spec:trafficPolicy:tls:mode").and_then(Value::as_str),
            Some("ISTIO_MUTUAL")
        );
        // Ambient mode never emits sidecar DestinationRules.
        let out = config("{mode: ambient, destinationRules: [{service: controller}]}")
            .filter(docs(STREAM))
            .unwrap();
        assert_eq!(out.len(), 6);
        let out =
            config("{mode: sidecar, destinationRules: [{service: controller, labels: {x: y}}]}")
                .filter(docs(STREAM))
                .unwrap();
        assert_eq!(out[6].label("x"), Some("y"));
        assert_eq!(out[6].label("app"), None);
    }

    #[test]
    fn opt_in_annotations() {
        let stream = STREAM.replace(
            "metadata: {name: controller, namespace: kubeflow, labels: {app: controller}}",
            "metadata: {name: controller, namespace: kubeflow, labels: {app: controller}, \
             annotations: {kf-post.kubeflow.org/destination-rule: \"true\"}}",
        );
        let out = config("mode: sidecar").filter(docs(&stream)).unwrap();
        assert_eq!(out.last().unwrap().name(), Some("controller"));
        let stream = STREAM.replace(
            "metadata: {labels: {app: controller}}",
            "metadata: {labels: {app: controller}, annotations: {kf-post.kubeflow.org/istio-inject: \"false\"}}",
        );
        let out = config("mode: sidecar").filter(docs(&stream)).unwrap();
        assert_eq!(
            at(
                &out[3].value,
                "spec:template:metadata:labels:sidecar.istio.io/inject"
            )
            .and_then(Value::as_str),
            Some("false")
        );
    }

    #[test]
    fn errors() {
        let err = config("{mode: sidecar, destinationRules: [{service: missing}]}")
            .filter(docs(STREAM))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"missing\" is not in the rendered stream"),
            "{err}"
        );
        let stream = STREAM.replace(
            "metadata: {labels: {app: controller}}",
            "metadata: {labels: {app: controller}, annotations: {kf-post.kubeflow.org/istio-inject: maybe}}",
        );
        let err = config("mode: sidecar")
            .filter(docs(&stream))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("document 3") && err.contains("istio-inject"),
            "{err}"
        );
        assert!(serde_yaml::from_str::<Config>("mode: sidecars").is_err());
        assert!(serde_yaml::from_str::<Config>("{mode: off, bogus: 1}").is_err());
    }

    #[test]
    fn idempotent() {
        let cfg = config(
            "{mode: sidecar, inject: {katib-ui: true}, destinationRules: [{service: controller}]}",
        );
        let once = cfg.filter(docs(STREAM)).unwrap();
        let mut again: Vec<Document> = once.clone();
        for d in again.iter_mut() {
            d.changes.clear();
        }
        let twice = cfg.filter(again).unwrap();
        assert_eq!(once.len(), twice.len());
        for (a, b) in once.iter().zip(twice.iter()) {
            assert_eq!(a.value, b.value);
        }
        assert!(twice.iter().all(|d| !d.is_touched()));
    }
}
