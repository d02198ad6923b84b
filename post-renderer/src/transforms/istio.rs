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
//! Configuration reference (every field, its type, default and an example):
//! the `istio` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.
//!
//! Workloads may also opt in themselves with the pod-template annotation
//! `kf-post.kubeflow.org/istio-inject: "true"|"false"` (config wins), and a
//! Service with `kf-post.kubeflow.org/destination-rule: "true"` gets a
//! DestinationRule as if listed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::builders;
use crate::document::{mapping_entry_in, Document};
use crate::error::{Error, Result};
use crate::lookup::{self, exists, find_service};
use crate::names;
use crate::pods;
use crate::transforms::Filter;

const NAME: &str = "istio";
const INJECT: &str = "sidecar.istio.io/inject";
const INJECTION_NS: &str = "istio-injection";
const AMBIENT_NS: &str = "istio.io/dataplane-mode";
const EXCLUDE_INBOUND: &str = "traffic.sidecar.istio.io/excludeInboundPorts";
const INJECT_OPT_IN: &str = crate::annotations::ISTIO_INJECT.key;
const DR_OPT_IN: &str = crate::annotations::DESTINATION_RULE.key;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "IstioMode")]
pub enum Mode {
    #[default]
    Off,
    Sidecar,
    Ambient,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "IstioConfig")]
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

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
    /// The checks that need no stream (also `helm kubeflow validate-config`).
    pub fn check(&self) -> Result<()> {
        for (i, r) in self.destination_rules.iter().enumerate() {
            let name = r.name.as_deref().unwrap_or(&r.service);
            names::dns_subdomain(name)
                .map_err(|e| Error::Config(format!("istio.destinationRules[{i}].name: {e}")))?;
        }
        Ok(())
    }

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
                doc.remove_label(NAME, other);
            }
        }
        unselected
    }

    fn apply_inject_overrides(&self, docs: &mut [Document]) -> Result<()> {
        for doc in docs.iter_mut() {
            let Some(template) = pods::template(doc.value()) else {
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
                None => match pods::meta_str(template, "annotations", INJECT_OPT_IN) {
                    None => None,
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    Some(other) => {
                        return Err(Error::Field {
                            doc: doc.doc_ref(),
                            field: pods::field(
                                doc,
                                &format!("metadata.annotations.{INJECT_OPT_IN}"),
                            )
                            .unwrap_or_default(),
                            message: format!("expected \"true\" or \"false\", got {other:?}"),
                        })
                    }
                },
            };
            let Some(wanted) = wanted else { continue };
            let value = if wanted { "true" } else { "false" };
            doc.edit(NAME, |v, changes| {
                let Some(template) = pods::template_mut(v) else {
                    return;
                };
                let meta = mapping_entry_in(template, "metadata");
                let mut changed = set_in(meta, "labels", INJECT, value);
                // An existing annotation would contradict the label; Istio reads both.
                if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_mapping_mut) {
                    if ann.contains_key(INJECT) {
                        changed |= set_in(meta, "annotations", INJECT, value);
                    }
                }
                if changed {
                    changes.push(format!("pod template {INJECT}={value}"));
                }
            });
        }
        Ok(())
    }

    fn destination_rules(&self, docs: &[Document]) -> Result<Vec<Document>> {
        type Labels = Option<BTreeMap<String, String>>;
        self.check()?;
        let mut wanted: Vec<(String, Option<String>, String, Labels)> = Vec::new();
        for r in &self.destination_rules {
            let name = r.name.clone().unwrap_or_else(|| r.service.clone());
            wanted.push((
                r.service.clone(),
                r.namespace.clone(),
                name,
                r.labels.clone(),
            ));
        }
        for doc in docs {
            if doc.kind() != Some("Service") || !doc.group().is_empty() {
                continue;
            }
            match doc.annotation(DR_OPT_IN) {
                None | Some("false") => continue,
                Some("true") => {}
                Some(other) => {
                    return Err(Error::Field {
                        doc: doc.doc_ref(),
                        field: format!("metadata.annotations.{DR_OPT_IN}"),
                        message: format!("expected \"true\" or \"false\", got {other:?}"),
                    })
                }
            }
            let svc = doc.name().unwrap_or_default().to_owned();
            let ns = doc.namespace().map(str::to_owned);
            if !wanted
                .iter()
                .any(|(s, n, _, _)| *s == svc && (n.is_none() || *n == ns))
            {
                wanted.push((svc.clone(), ns, svc, None));
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
            let host = lookup::service_host(svc, &service, ns.as_deref())?;
            // The Service's selector is the app's identity (upstream labels its
            // DestinationRules with the component labels, not e.g. `run`).
            let labels = match labels {
                Some(l) => Some(builders::string_map(&l)),
                None => lookup::selector(svc).cloned(),
            };
            let spec = builders::map([
                ("host", host.as_str().into()),
                (
                    "trafficPolicy",
                    builders::map([("tls", builders::map([("mode", "ISTIO_MUTUAL".into())]))]),
                ),
            ]);
            let value = builders::object(
                "networking.istio.io/v1alpha3",
                "DestinationRule",
                builders::metadata(&name, ns.as_deref(), labels.as_ref()),
                Some(spec),
            );
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
    doc.edit(NAME, |v, changes| {
        let Some(template) = pods::template_mut(v) else {
            return;
        };
        let Some(meta) = template.get_mut("metadata").and_then(Value::as_mapping_mut) else {
            return;
        };
        for map in ["labels", "annotations"] {
            let Some(m) = meta.get_mut(map).and_then(Value::as_mapping_mut) else {
                continue;
            };
            let keys: Vec<Value> = m
                .keys()
                .filter(|k| {
                    k.as_str()
                        .is_some_and(|k| k == INJECT || k.starts_with("traffic.sidecar.istio.io/"))
                })
                .cloned()
                .collect();
            for k in keys {
                m.shift_remove(&k);
                changes.push(format!(
                    "ambient: removed pod template {map}.{}",
                    k.as_str().unwrap_or_default()
                ));
            }
        }
    });
}

/// Webhook ports must bypass the sidecar: find every webhook's Service, the
/// workloads it selects and the container port behind the service port.
fn exclude_webhook_ports(docs: &mut [Document]) -> Result<()> {
    let mut ports: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    for wh in lookup::webhook_services(docs)? {
        let Some(svc) = find_service(docs, &wh.name, Some(&wh.namespace)) else {
            continue;
        };
        for w in lookup::backing_workloads(docs, svc) {
            if let Some(p) = lookup::target_port(&docs[svc], wh.port, &docs[w])? {
                ports.entry(w).or_default().push(p);
            }
        }
    }
    for (w, mut list) in ports {
        let doc = &mut docs[w];
        let Some(template) = pods::template(doc.value()) else {
            continue;
        };
        // A workload without a sidecar needs no exclusion.
        if pods::meta_str(template, "labels", INJECT) == Some("false")
            || pods::meta_str(template, "annotations", INJECT) == Some("false")
        {
            continue;
        }
        if let Some(existing) = pods::meta_str(template, "annotations", EXCLUDE_INBOUND) {
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
        doc.edit(NAME, |v, changes| {
            let Some(template) = pods::template_mut(v) else {
                return;
            };
            let meta = mapping_entry_in(template, "metadata");
            if set_in(meta, "annotations", EXCLUDE_INBOUND, &joined) {
                changes.push(format!(
                    "pod template {EXCLUDE_INBOUND}={joined} (webhook ports)"
                ));
            }
        });
    }
    Ok(())
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
            let got = at(out[*idx].value(), path).map(|v| v.as_str().unwrap_or("<non-string>"));
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
                d.value()["spec"]["template"]["metadata"]["labels"]
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
        assert!(dr.is_generated());
        assert_eq!(dr.kind(), Some("DestinationRule"));
        assert_eq!(dr.name(), Some("ctl"));
        assert_eq!(dr.namespace(), Some("kubeflow"));
        assert_eq!(dr.label("app"), Some("controller"));
        assert_eq!(
            at(dr.value(), "spec:host").and_then(Value::as_str),
            Some("controller.kubeflow.svc.cluster.local")
        );
        assert_eq!(
            at(dr.value(), "spec:trafficPolicy:tls:mode").and_then(Value::as_str),
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
    fn release_namespace_destination_rule() {
        let stream = STREAM.replace(", namespace: kubeflow", "");
        let out = config("{mode: sidecar, destinationRules: [{service: controller}]}")
            .filter(docs(&stream))
            .unwrap();
        let dr = out.last().unwrap();
        assert_eq!(dr.kind(), Some("DestinationRule"));
        assert_eq!(dr.namespace(), None);
        assert_eq!(
            at(dr.value(), "spec:host").and_then(Value::as_str),
            Some("controller")
        );
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
                out[3].value(),
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
            d.forget_changes();
        }
        let twice = cfg.filter(again).unwrap();
        assert_eq!(once.len(), twice.len());
        for (a, b) in once.iter().zip(twice.iter()) {
            assert_eq!(a.value(), b.value());
        }
        assert!(twice.iter().all(|d| !d.is_touched()));
    }
}
