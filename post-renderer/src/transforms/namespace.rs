//! `namespace`: move namespaced objects from one namespace to another and
//! rewrite every reference that has to move with them.
//!
//! Configuration reference (every field, its type, default and an example):
//! the `namespace` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.
//!
//! References rewritten when they name a source namespace:
//! `metadata.namespace`; `subjects[].namespace` of (Cluster)RoleBindings;
//! `webhooks[].clientConfig.service.namespace` of webhook configurations;
//! `spec.conversion.webhook.clientConfig.service.namespace` of CRDs;
//! `spec.service.namespace` of APIServices; the `cert-manager.io/inject-ca-from`
//! annotation (`ns/name`); cert-manager Certificate `commonName`/`dnsNames`
//! (`svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`); Istio
//! AuthorizationPolicy principals (`cluster.local/ns/<ns>/sa/<sa>`) and
//! namespaces; VirtualService/DestinationRule hosts in the same DNS forms.
//!
//! Cluster-scoped objects never get a namespace: kinds come from a built-in
//! table of core kinds, the CRDs in the stream with `scope: Cluster`, and
//! `clusterScoped` (`group/Kind`, for CRDs the stream does not carry — Helm 4
//! does not post-render a chart's `crds/` directory).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml::Value;

use crate::document::{mapping_entry, Changes, Document};
use crate::error::{Error, Result};
use crate::names;
use crate::transforms::{Filter, Scopes};

const NAME: &str = "namespace";
const INJECT_CA: &str = "cert-manager.io/inject-ca-from";

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "NamespaceConfig")]
pub struct Config {
    /// Source namespace → target namespace.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Namespace for namespaced objects that have none (Helm would otherwise
    /// use the release namespace).
    #[serde(default)]
    pub default: Option<String>,
    /// Remove Namespace objects named after a map source: after the move they
    /// would be empty.
    #[serde(default = "crate::transforms::yes")]
    pub drop_source_namespaces: bool,
    /// Remove these Namespace objects (created by another chart).
    #[serde(default)]
    pub drop_namespaces: BTreeSet<String>,
    /// More cluster-scoped kinds, as `group/Kind` (`Kind` for the core group).
    #[serde(default)]
    pub cluster_scoped: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            map: BTreeMap::new(),
            default: None,
            drop_source_namespaces: true,
            drop_namespaces: BTreeSet::new(),
            cluster_scoped: Vec::new(),
        }
    }
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, docs: Vec<Document>) -> Result<Vec<Document>> {
        if self.map.is_empty() && self.default.is_none() && self.drop_namespaces.is_empty() {
            return Ok(docs);
        }
        self.check()?;
        let mut scopes = Scopes::of(&docs);
        for gk in &self.cluster_scoped {
            let (group, kind) = gk.rsplit_once('/').unwrap_or(("", gk));
            scopes.add(group, kind);
        }
        let mut out = Vec::with_capacity(docs.len());
        for mut doc in docs {
            if doc.kind() == Some("Namespace") && doc.group().is_empty() {
                let name = doc.name().unwrap_or_default();
                let moved = self.drop_source_namespaces && self.map.contains_key(name);
                if moved || self.drop_namespaces.contains(name) {
                    continue;
                }
            }
            if !scopes.is_cluster_scoped(&doc) {
                self.move_object(&mut doc);
            }
            self.rewrite_references(&mut doc);
            out.push(doc);
        }
        Ok(out)
    }
}

impl Config {
    /// The checks that need no stream (also `helm kubeflow validate-config`).
    pub fn check(&self) -> Result<()> {
        for (from, to) in &self.map {
            names::dns_label(to)
                .map_err(|e| Error::Config(format!("namespace.map.{from}: {e}")))?;
        }
        if let Some(default) = &self.default {
            names::dns_label(default)
                .map_err(|e| Error::Config(format!("namespace.default: {e}")))?;
        }
        Ok(())
    }

    fn target(&self, ns: &str) -> Option<&str> {
        self.map.get(ns).map(String::as_str).filter(|t| *t != ns)
    }

    fn move_object(&self, doc: &mut Document) {
        let current = doc.namespace().map(str::to_owned);
        let target = match &current {
            Some(ns) => self.target(ns).map(str::to_owned),
            None => self.default.clone(),
        };
        if let Some(target) = target {
            doc.edit(NAME, |v, changes| {
                mapping_entry(v, "metadata").insert("namespace".into(), target.as_str().into());
                let from = current.map(|c| format!(" (was {c})")).unwrap_or_default();
                changes.push(format!("set metadata.namespace={target}{from}"));
            });
        }
    }

    fn rewrite_references(&self, doc: &mut Document) {
        let kind = doc.kind().unwrap_or_default().to_owned();
        let group = doc.group().to_owned();
        doc.edit(NAME, |v, changes| {
            self.rewrite_fields(&group, &kind, v, changes)
        });
        if let Some(ann) = doc.annotation(INJECT_CA) {
            if let Some((ns, name)) = ann.split_once('/') {
                if let Some(t) = self.target(ns) {
                    let new = format!("{t}/{name}");
                    doc.set_annotation(NAME, INJECT_CA, &new);
                }
            }
        }
    }

    fn rewrite_fields(&self, group: &str, kind: &str, v: &mut Value, changes: &mut Changes) {
        match (group, kind) {
            ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
                for (i, s) in seq_mut(v.get_mut("subjects")).enumerate() {
                    self.rewrite_ns(
                        s.get_mut("namespace"),
                        format!("subjects[{i}].namespace"),
                        changes,
                    );
                }
            }
            (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
            ) => {
                for (i, w) in seq_mut(v.get_mut("webhooks")).enumerate() {
                    let ns = path_mut(w, &["clientConfig", "service", "namespace"]);
                    self.rewrite_ns(
                        ns,
                        format!("webhooks[{i}].clientConfig.service.namespace"),
                        changes,
                    );
                }
            }
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                let ns = path_mut(
                    v,
                    &[
                        "spec",
                        "conversion",
                        "webhook",
                        "clientConfig",
                        "service",
                        "namespace",
                    ],
                );
                self.rewrite_ns(
                    ns,
                    "spec.conversion.webhook.clientConfig.service.namespace".into(),
                    changes,
                );
            }
            ("apiregistration.k8s.io", "APIService") => {
                let ns = path_mut(v, &["spec", "service", "namespace"]);
                self.rewrite_ns(ns, "spec.service.namespace".into(), changes);
            }
            ("cert-manager.io", "Certificate") => {
                self.rewrite_dns(
                    path_mut(v, &["spec", "commonName"]),
                    "spec.commonName".into(),
                    changes,
                );
                for (i, n) in seq_mut(path_mut(v, &["spec", "dnsNames"])).enumerate() {
                    self.rewrite_dns(Some(n), format!("spec.dnsNames[{i}]"), changes);
                }
            }
            ("security.istio.io", "AuthorizationPolicy") => {
                for (r, rule) in seq_mut(path_mut(v, &["spec", "rules"])).enumerate() {
                    for (f, from) in seq_mut(rule.get_mut("from")).enumerate() {
                        let at = format!("spec.rules[{r}].from[{f}].source");
                        for key in ["principals", "notPrincipals"] {
                            for (p, x) in seq_mut(path_mut(from, &["source", key])).enumerate() {
                                self.rewrite_principal(x, format!("{at}.{key}[{p}]"), changes);
                            }
                        }
                        for key in ["namespaces", "notNamespaces"] {
                            for (p, x) in seq_mut(path_mut(from, &["source", key])).enumerate() {
                                self.rewrite_ns(Some(x), format!("{at}.{key}[{p}]"), changes);
                            }
                        }
                    }
                }
            }
            ("networking.istio.io", "VirtualService") => {
                for (h, http) in seq_mut(path_mut(v, &["spec", "http"])).enumerate() {
                    for (r, route) in seq_mut(http.get_mut("route")).enumerate() {
                        let host = path_mut(route, &["destination", "host"]);
                        self.rewrite_dns(
                            host,
                            format!("spec.http[{h}].route[{r}].destination.host"),
                            changes,
                        );
                    }
                }
            }
            ("networking.istio.io", "DestinationRule") => {
                self.rewrite_dns(path_mut(v, &["spec", "host"]), "spec.host".into(), changes);
            }
            _ => {}
        }
    }

    fn rewrite_ns(&self, slot: Option<&mut Value>, field: String, changes: &mut Changes) {
        let Some(slot) = slot else { return };
        if let Some(t) = slot
            .as_str()
            .and_then(|ns| self.target(ns))
            .map(str::to_owned)
        {
            changes.push(format!("set {field}={t}"));
            *slot = t.into();
        }
    }

    /// `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local` (and `*.ns…`).
    fn rewrite_dns(&self, slot: Option<&mut Value>, field: String, changes: &mut Changes) {
        let Some(slot) = slot else { return };
        let Some(name) = slot.as_str() else { return };
        let parts: Vec<&str> = name.split('.').collect();
        let service_dns =
            parts.len() >= 2 && matches!(&parts[2..], [] | ["svc"] | ["svc", "cluster", "local"]);
        if !service_dns {
            return;
        }
        if let Some(t) = self.target(parts[1]) {
            let mut new = parts.clone();
            new[1] = t;
            let new = new.join(".");
            changes.push(format!("set {field}={new}"));
            *slot = new.into();
        }
    }

    /// `cluster.local/ns/<ns>/sa/<sa>`.
    fn rewrite_principal(&self, slot: &mut Value, field: String, changes: &mut Changes) {
        let Some(p) = slot.as_str() else { return };
        let parts: Vec<&str> = p.split('/').collect();
        if let [td, "ns", ns, "sa", sa] = parts[..] {
            if let Some(t) = self.target(ns) {
                let new = format!("{td}/ns/{t}/sa/{sa}");
                changes.push(format!("set {field}={new}"));
                *slot = new.into();
            }
        }
    }
}

fn seq_mut(v: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    v.and_then(Value::as_sequence_mut).into_iter().flatten()
}

fn path_mut<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| v.get_mut(*k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::{run_config, test_documents, value_at};

    const CONFIG: &str = "{map: {nb-system: kubeflow}, dropNamespaces: [owned-elsewhere]}";

    fn run(config: &str, docs: &[&str]) -> Vec<Document> {
        run_config::<Config>(config, test_documents(docs)).unwrap()
    }

    fn get<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
        value_at(v, path)?.as_str()
    }

    #[test]
    fn moves_objects_and_references() {
        // (document, path, expected value after the transform)
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nb-system}\n", "metadata.namespace", Some("kubeflow")),
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: other}\n", "metadata.namespace", Some("other")),
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "metadata.namespace", None),
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nsubjects: [{kind: ServiceAccount, name: sa, namespace: nb-system}]\n", "subjects.0.namespace", Some("kubeflow")),
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nsubjects: [{kind: ServiceAccount, name: sa, namespace: nb-system}]\n", "metadata.namespace", None),
            ("apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: w, annotations: {cert-manager.io/inject-ca-from: nb-system/cert}}\nwebhooks: [{name: a, clientConfig: {service: {name: s, namespace: nb-system}}}]\n", "webhooks.0.clientConfig.service.namespace", Some("kubeflow")),
            ("apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: w, annotations: {cert-manager.io/inject-ca-from: nb-system/cert}}\n", "metadata.annotations.cert-manager\\.io/inject-ca-from", Some("kubeflow/cert")),
            ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec: {group: b, scope: Namespaced, conversion: {strategy: Webhook, webhook: {clientConfig: {service: {name: s, namespace: nb-system}}}}}\n", "spec.conversion.webhook.clientConfig.service.namespace", Some("kubeflow")),
            ("apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.x}\nspec: {service: {name: s, namespace: nb-system}}\n", "spec.service.namespace", Some("kubeflow")),
            ("apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.x}\nspec: {service: {name: s, namespace: nb-system}}\n", "metadata.namespace", None),
            ("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: nb-system}\nspec: {commonName: s.nb-system.svc, dnsNames: [s.nb-system, s.nb-system.svc, s.nb-system.svc.cluster.local, s.other.svc, nb-system.example.com]}\n", "spec.commonName", Some("s.kubeflow.svc")),
            ("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: nb-system}\nspec: {dnsNames: [s.nb-system, s.nb-system.svc, s.nb-system.svc.cluster.local, s.other.svc, nb-system.example.com]}\n", "spec.dnsNames.2", Some("s.kubeflow.svc.cluster.local")),
            ("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: nb-system}\nspec: {dnsNames: [s.nb-system, s.nb-system.svc, s.nb-system.svc.cluster.local, s.other.svc, nb-system.example.com]}\n", "spec.dnsNames.0", Some("s.kubeflow")),
            ("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: nb-system}\nspec: {dnsNames: [s.nb-system, s.nb-system.svc, s.nb-system.svc.cluster.local, s.other.svc, nb-system.example.com]}\n", "spec.dnsNames.3", Some("s.other.svc")),
            ("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: nb-system}\nspec: {dnsNames: [s.nb-system, s.nb-system.svc, s.nb-system.svc.cluster.local, s.other.svc, nb-system.example.com]}\n", "spec.dnsNames.4", Some("nb-system.example.com")),
            ("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: x}\nspec: {rules: [{from: [{source: {principals: [cluster.local/ns/nb-system/sa/a, cluster.local/ns/y/sa/b]}}]}]}\n", "spec.rules.0.from.0.source.principals.0", Some("cluster.local/ns/kubeflow/sa/a")),
            ("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: x}\nspec: {rules: [{from: [{source: {principals: [cluster.local/ns/nb-system/sa/a, cluster.local/ns/y/sa/b]}}]}]}\n", "spec.rules.0.from.0.source.principals.1", Some("cluster.local/ns/y/sa/b")),
            ("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: nb-system}\nspec: {http: [{route: [{destination: {host: s.nb-system.svc.cluster.local}}]}]}\n", "spec.http.0.route.0.destination.host", Some("s.kubeflow.svc.cluster.local")),
        ];
        for (doc, path, want) in cases {
            let out = run(CONFIG, &[doc]);
            assert_eq!(get(out[0].value(), path), *want, "{path} of {doc}");
        }
    }

    #[test]
    fn default_namespace_skips_cluster_scoped_kinds() {
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gs.x.io}\nspec: {group: x.io, names: {kind: Global, plural: gs}, scope: Cluster}\n";
        let docs = [
            crd,
            "apiVersion: x.io/v1\nkind: Global\nmetadata: {name: g}\n",
            "apiVersion: x.io/v1\nkind: Local\nmetadata: {name: l}\n",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n",
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: s}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
        ];
        let out = run("{default: team}", &docs);
        let ns: Vec<_> = out.iter().map(|d| d.namespace()).collect();
        assert_eq!(ns, [None, None, Some("team"), None, None, Some("team")]);
        // Without the CRD in the stream (Helm 4 and crds/), configured instead.
        let out = run("{default: team, clusterScoped: [x.io/Global]}", &docs[1..]);
        let ns: Vec<_> = out.iter().map(|d| d.namespace()).collect();
        assert_eq!(ns, [None, Some("team"), None, None, Some("team")]);
    }

    #[test]
    fn namespace_objects_are_dropped_as_configured() {
        let ns = |n: &str| format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {n}}}\n");
        let docs = [ns("nb-system"), ns("owned-elsewhere"), ns("kept")];
        let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
        let names = |c: &str| {
            run(c, &docs)
                .iter()
                .map(|d| d.name().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(CONFIG), ["kept"]);
        assert_eq!(
            names("{map: {nb-system: kubeflow}, dropSourceNamespaces: false}"),
            ["nb-system", "owned-elsewhere", "kept"]
        );
    }

    #[test]
    fn default_is_noop_and_second_run_changes_nothing() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nb-system}\n";
        assert!(!run("{}", &[doc])[0].is_touched());
        let once = run(CONFIG, &[doc]).remove(0);
        assert!(once.is_touched());
        let mut again = once;
        again.forget_changes();
        let c: Config = serde_yaml::from_str(CONFIG).unwrap();
        assert!(!c.filter(vec![again]).unwrap()[0].is_touched());
    }
}
