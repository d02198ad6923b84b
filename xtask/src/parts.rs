//! Which part (values key) each upstream workload, PVC, ServiceAccount and
//! user-facing Service of a chart belongs to.
//!
//! The rule, so the catalog only declares what it gets wrong:
//! - a workload's part is its name without a `-deployment` suffix and without the
//!   first matching prefix of the chart's `partPrefixes` (default `<chart>-`),
//!   camelCased (`katib-db-manager` -> `dbManager`); `parts:` in the catalog
//!   renames (`ml-pipeline` -> `apiServer`) or groups (two variants' workloads);
//! - a PVC belongs to the part of the workload that mounts it, a StatefulSet's
//!   volumeClaimTemplate to the StatefulSet's; `parts.<p>.pvcs` overrides;
//! - a ServiceAccount gets the annotations of every part whose pods run as it;
//!   a part whose pods run as the namespace's `default` ServiceAccount (which
//!   the chart never renders, and which no binding of the chart names) gets an
//!   own ServiceAccount on demand ([`OwnServiceAccount`]);
//! - Services are parts' only when declared (`parts.<p>.services`);
//! - the main container is the declared one, else the one named like the
//!   workload, else the only one, else the first of `containers`.
//!
//! Two workloads (or two PVCs) of one scenario on one part are an error, as is a
//! declaration that matches nothing.

use crate::upstream::PartSpec;
use crate::values::camel;
use anyhow::{bail, Result};
use indexmap::IndexMap;
use serde_yaml::Value;
use std::collections::{BTreeSet, HashMap};

/// Kinds that run pods and so get a part.
pub const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// Top-level values keys a part may not take.
const RESERVED: &[&str] = &[
    "enabled",
    "variant",
    "commonLabels",
    "helmLabels",
    "kfPost",
    "global",
    "crds",
    "webhookCertificates",
    "credentials",
    "settings",
    "resources",
];

/// Path of the pod spec in an object of `kind`.
pub fn pod_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        k if WORKLOAD_KINDS.contains(&k) => Some(&["spec", "template", "spec"]),
        _ => None,
    }
}

fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, p| v.get(*p))
}

fn meta<'v>(doc: &'v Value, field: &str) -> &'v str {
    at(doc, &["metadata", field])
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The part key the rule derives from a workload name.
pub fn derive(name: &str, prefixes: &[String]) -> String {
    let base = name.strip_suffix("-deployment").unwrap_or(name);
    let base = prefixes
        .iter()
        .find_map(|p| base.strip_prefix(p.as_str()).filter(|r| !r.is_empty()))
        .unwrap_or(base);
    camel(base)
}

/// Index of the main container among `names` (the pod's `containers`).
pub fn main_container(declared: Option<&str>, workload: &str, names: &[&str]) -> Option<usize> {
    if let Some(d) = declared {
        if let Some(i) = names.iter().position(|n| *n == d) {
            return Some(i);
        }
    }
    names
        .iter()
        .position(|n| *n == workload)
        .or(if names.is_empty() { None } else { Some(0) })
}

/// A workload whose pods run as its namespace's `default` ServiceAccount: the
/// chart renders a ServiceAccount named like the workload for its part when
/// `<part>.serviceAccount.create` or `.annotations` is set, and the pods use it.
/// `default` has no binding in the chart, so the new one needs none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnServiceAccount {
    pub part: String,
    pub workload: String,
    pub namespace: String,
    /// Scenarios that have the workload.
    pub scenarios: BTreeSet<String>,
    /// Upstream already renders a ServiceAccount of the workload's name that no
    /// pod runs as and no binding names (oauth2-proxy's): the pods run as that
    /// one instead, which gets the part's annotations.
    pub upstream: bool,
}

#[derive(Debug, Default)]
pub struct Parts {
    /// Workload name -> part.
    workloads: HashMap<String, String>,
    /// PVC name -> part.
    pvcs: HashMap<String, String>,
    /// (namespace, ServiceAccount) -> parts whose pods run as it.
    service_accounts: HashMap<(String, String), Vec<String>>,
    /// Service name -> part.
    services: HashMap<String, String>,
    /// Declared main containers: part -> container name.
    containers: HashMap<String, String>,
    /// The part chart-level `resources` applies to.
    pub main: Option<String>,
    /// Workloads running as `default`, by workload name.
    pub own_service_accounts: Vec<OwnServiceAccount>,
}

impl Parts {
    pub fn workload(&self, name: &str) -> Option<&str> {
        self.workloads.get(name).map(String::as_str)
    }
    pub fn pvc(&self, name: &str) -> Option<&str> {
        self.pvcs.get(name).map(String::as_str)
    }
    pub fn service(&self, name: &str) -> Option<&str> {
        self.services.get(name).map(String::as_str)
    }
    pub fn service_account(&self, namespace: &str, name: &str) -> &[String] {
        self.service_accounts
            .get(&(namespace.to_string(), name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
    /// The own ServiceAccount a workload may get (it runs as `default`).
    pub fn own_service_account(&self, workload: &str) -> Option<&OwnServiceAccount> {
        self.own_service_accounts
            .iter()
            .find(|o| o.workload == workload)
    }
    pub fn container(&self, part: &str) -> Option<&str> {
        self.containers.get(part).map(String::as_str)
    }

    /// Assign parts for `docs` (every version of every object, with the scenarios
    /// it is in).
    pub fn assign(
        chart: &str,
        declared: &IndexMap<String, PartSpec>,
        prefixes: Option<&[String]>,
        main: Option<&str>,
        docs: &[(&Value, &[String])],
    ) -> Result<Parts> {
        let default_prefixes = [format!("{chart}-")];
        let prefixes = prefixes.unwrap_or(&default_prefixes);
        let ctx = format!("chart {chart} (catalog/components.yaml `parts:`)");
        let mut parts = Parts::default();
        let declared_of = |kind: fn(&PartSpec) -> &Vec<String>, name: &str| {
            declared
                .iter()
                .find(|(_, p)| kind(p).iter().any(|n| n == name))
                .map(|(k, _)| k.clone())
        };
        for key in declared.keys() {
            let camel_like = key.starts_with(|c: char| c.is_ascii_lowercase())
                && key.chars().all(|c| c.is_ascii_alphanumeric());
            if !camel_like || RESERVED.contains(&key.as_str()) {
                bail!("{ctx}: part {key:?} must be a camelCase key other than {RESERVED:?}");
            }
        }
        // Workloads, and per scenario: part -> workload / PVCs.
        let mut per_scenario: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
        let mut pvc_of_scenario: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
        let mut mounts: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (doc, scenarios) in docs {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
            let Some(path) = pod_path(kind) else { continue };
            let name = meta(doc, "name");
            let part =
                declared_of(|p| &p.workloads, name).unwrap_or_else(|| derive(name, prefixes));
            if part.is_empty() || RESERVED.contains(&part.as_str()) {
                bail!("{ctx}: {kind} {name} derives the part key {part:?}; declare its part under `parts:`");
            }
            parts.workloads.insert(name.to_string(), part.clone());
            for s in scenarios.iter() {
                per_scenario
                    .entry((s.clone(), part.clone()))
                    .or_default()
                    .insert(name.to_string());
            }
            let pod = at(doc, path);
            for v in pod
                .and_then(|p| p.get("volumes"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(claim) =
                    at(v, &["persistentVolumeClaim", "claimName"]).and_then(Value::as_str)
                {
                    mounts
                        .entry(claim.to_string())
                        .or_default()
                        .insert(part.clone());
                }
            }
            for vct in doc
                .get("spec")
                .and_then(|s| s.get("volumeClaimTemplates"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                for s in scenarios.iter() {
                    pvc_of_scenario
                        .entry((s.clone(), part.clone()))
                        .or_default()
                        .insert(format!("volumeClaimTemplate {}", meta(vct, "name")));
                }
            }
            let namespace = meta(doc, "namespace").to_string();
            let sa = pod
                .and_then(|p| {
                    p.get("serviceAccountName")
                        .or_else(|| p.get("serviceAccount"))
                })
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            if sa == "default" {
                match parts
                    .own_service_accounts
                    .iter_mut()
                    .find(|o| o.workload == name && o.namespace == namespace)
                {
                    Some(o) => o.scenarios.extend(scenarios.iter().cloned()),
                    None => parts.own_service_accounts.push(OwnServiceAccount {
                        part: part.clone(),
                        workload: name.to_string(),
                        namespace: namespace.clone(),
                        scenarios: scenarios.iter().cloned().collect(),
                        upstream: false,
                    }),
                }
            }
            let list = parts.service_accounts.entry((namespace, sa)).or_default();
            if !list.contains(&part) {
                list.push(part.clone());
            }
        }
        check_own_service_accounts(&ctx, &mut parts, docs)?;
        for ((scenario, part), names) in &per_scenario {
            if names.len() > 1 {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                bail!(
                    "{ctx}: scenario {scenario}: workloads {} all land on part {part:?}; give them distinct parts under `parts:`",
                    names.join(", ")
                );
            }
        }
        // PVCs and Services.
        for (doc, scenarios) in docs {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
            let name = meta(doc, "name");
            if kind == "PersistentVolumeClaim" {
                let part = match declared_of(|p| &p.pvcs, name) {
                    Some(p) => p,
                    None => {
                        let by: Vec<&String> = mounts.get(name).into_iter().flatten().collect();
                        match by.as_slice() {
                            [one] => (*one).clone(),
                            [] => bail!("{ctx}: PersistentVolumeClaim {name} is mounted by no workload; declare its part (`parts.<part>.pvcs`)"),
                            many => bail!("{ctx}: PersistentVolumeClaim {name} is mounted by parts {many:?}; declare its part (`parts.<part>.pvcs`)"),
                        }
                    }
                };
                for s in scenarios.iter() {
                    pvc_of_scenario
                        .entry((s.clone(), part.clone()))
                        .or_default()
                        .insert(format!("PersistentVolumeClaim {name}"));
                }
                parts.pvcs.insert(name.to_string(), part);
            } else if kind == "Service" {
                if let Some(part) = declared_of(|p| &p.services, name) {
                    parts.services.insert(name.to_string(), part);
                }
            }
        }
        for ((scenario, part), names) in &pvc_of_scenario {
            if names.len() > 1 {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                bail!(
                    "{ctx}: scenario {scenario}: part {part:?} has several volumes ({}); a part has one `persistence`",
                    names.join(", ")
                );
            }
        }
        // Every declaration must match something.
        let all_parts: BTreeSet<&String> = parts.workloads.values().collect();
        for (key, p) in declared {
            let missing = p
                .workloads
                .iter()
                .find(|n| !parts.workloads.contains_key(*n))
                .map(|n| format!("workload {n}"))
                .or_else(|| {
                    p.pvcs
                        .iter()
                        .find(|n| !parts.pvcs.contains_key(*n))
                        .map(|n| format!("PersistentVolumeClaim {n}"))
                })
                .or_else(|| {
                    p.services
                        .iter()
                        .find(|n| !parts.services.contains_key(*n))
                        .map(|n| format!("Service {n}"))
                });
            if let Some(m) = missing {
                bail!("{ctx}: part {key:?} names {m}, which no scenario has");
            }
            if !all_parts.contains(key) {
                bail!("{ctx}: part {key:?} has no workload");
            }
            if let Some(c) = &p.container {
                let found = docs.iter().any(|(doc, _)| {
                    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
                    pod_path(kind).is_some_and(|path| {
                        parts.workloads.get(meta(doc, "name")) == Some(key)
                            && at(doc, path)
                                .and_then(|p| p.get("containers"))
                                .and_then(Value::as_sequence)
                                .into_iter()
                                .flatten()
                                .any(|x| x.get("name").and_then(Value::as_str) == Some(c))
                    })
                });
                if !found {
                    bail!("{ctx}: part {key:?} declares container {c:?}, which none of its workloads has");
                }
                parts.containers.insert(key.clone(), c.clone());
            }
        }
        parts.main = match main {
            Some(m) if all_parts.contains(&m.to_string()) => Some(m.to_string()),
            Some(m) => bail!("{ctx}: mainPart {m:?} is not one of its parts {all_parts:?}"),
            None if all_parts.len() == 1 => all_parts.iter().next().map(|s| s.to_string()),
            None => None,
        };
        Ok(parts)
    }
}

/// An own ServiceAccount must not change what the pods are granted: the chart
/// renders no `default` and no binding names it; one upstream already renders
/// under the workload's name is used when no pod runs as it and no binding
/// names it (else the sync fails naming it).
fn check_own_service_accounts(
    ctx: &str,
    parts: &mut Parts,
    docs: &[(&Value, &[String])],
) -> Result<()> {
    let bound = |namespace: &str, sa: &str| {
        docs.iter().find_map(|(doc, _)| {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
            if !matches!(kind, "RoleBinding" | "ClusterRoleBinding") {
                return None;
            }
            let names = doc
                .get("subjects")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .any(|s| {
                    let is = |f: &str, v: &str| s.get(f).and_then(Value::as_str) == Some(v);
                    is("kind", "ServiceAccount") && is("name", sa) && is("namespace", namespace)
                });
            names.then(|| format!("{kind} {}", meta(doc, "name")))
        })
    };
    let mut adopted = Vec::new();
    for o in parts.own_service_accounts.iter_mut() {
        let who = format!("{} {}", o.part, o.workload);
        if let Some(b) = bound(&o.namespace, "default") {
            bail!("{ctx}: {b} binds ServiceAccount {}/default, which {who} runs as: an own ServiceAccount would lose that binding", o.namespace);
        }
        for (doc, _) in docs {
            let sa = doc.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && meta(doc, "namespace") == o.namespace;
            if !sa {
                continue;
            }
            let name = meta(doc, "name");
            if name == "default" {
                bail!("{ctx}: {who} runs as ServiceAccount default, which the chart renders: annotate that one");
            }
            if name == o.workload {
                if parts
                    .service_accounts
                    .contains_key(&(o.namespace.clone(), name.to_string()))
                {
                    bail!("{ctx}: {who} runs as ServiceAccount default, but other pods run as ServiceAccount {}/{name}, its own ServiceAccount's name", o.namespace);
                }
                if let Some(b) = bound(&o.namespace, name) {
                    bail!("{ctx}: {who} runs as ServiceAccount default; ServiceAccount {}/{name}, its own ServiceAccount's name, is bound by {b}, which would grant it more", o.namespace);
                }
                o.upstream = true;
            }
        }
        if o.upstream {
            adopted.push(((o.namespace.clone(), o.workload.clone()), o.part.clone()));
        }
    }
    for (key, part) in adopted {
        parts.service_accounts.entry(key).or_default().push(part);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(name: &str, containers: &[&str], claim: Option<&str>) -> Value {
        let cs: Vec<String> = containers
            .iter()
            .map(|c| format!("{{name: {c}, image: x}}"))
            .collect();
        let vols = claim
            .map(|c| format!(", volumes: [{{name: v, persistentVolumeClaim: {{claimName: {c}}}}}]"))
            .unwrap_or_default();
        serde_yaml::from_str(&format!(
            "{{kind: Deployment, metadata: {{name: {name}, namespace: ns}}, spec: {{template: {{spec: {{serviceAccountName: sa, containers: [{}]{vols}}}}}}}}}",
            cs.join(", ")
        ))
        .unwrap()
    }

    fn pvc(name: &str) -> Value {
        serde_yaml::from_str(&format!(
            "{{kind: PersistentVolumeClaim, metadata: {{name: {name}}}}}"
        ))
        .unwrap()
    }

    #[test]
    fn part_keys_are_derived_from_workload_names() {
        let katib = ["katib-".to_string()];
        for (name, prefixes, want) in [
            ("katib-db-manager", &katib[..], "dbManager"),
            ("katib-controller", &katib[..], "controller"),
            (
                "notebook-controller-deployment",
                &[][..],
                "notebookController",
            ),
            ("katib", &katib[..], "katib"),
            ("ml-pipeline-ui", &["ml-pipeline-".to_string()][..], "ui"),
        ] {
            assert_eq!(derive(name, prefixes), want, "{name}");
        }
    }

    #[test]
    fn main_container_rule() {
        for (declared, workload, names, want) in [
            (Some("manager"), "w", &["kfam", "manager"][..], Some(1)),
            (None, "katib-ui", &["sidecar", "katib-ui"][..], Some(1)),
            (None, "w", &["only"][..], Some(0)),
            (None, "w", &["manager", "kube-rbac-proxy"][..], Some(0)),
            (None, "w", &[][..], None),
        ] {
            assert_eq!(main_container(declared, workload, names), want, "{names:?}");
        }
    }

    fn spec(yaml: &str) -> IndexMap<String, PartSpec> {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn assignment_and_its_errors() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (a, b) = (s(&["a"]), s(&["b"]));
        let ctl = deploy("c-controller", &["c-controller"], Some("c-db"));
        let ctl2 = deploy("c-controller-le", &["manager"], None);
        let db = pvc("c-db");
        // Derived, PVC via its mount, main part: none (two parts).
        let docs = [(&ctl, &a[..]), (&db, &a[..]), (&ctl2, &b[..])];
        let p = Parts::assign("c", &spec("{}"), None, None, &docs).unwrap();
        assert_eq!(p.workload("c-controller"), Some("controller"));
        assert_eq!(p.workload("c-controller-le"), Some("controllerLe"));
        assert_eq!(p.pvc("c-db"), Some("controller"));
        assert_eq!(
            p.service_account("ns", "sa"),
            &["controller", "controllerLe"]
        );
        assert_eq!(p.main, None);
        // Grouped across variants: one part, so it is the main one.
        let grouped = spec("{controller: {workloads: [c-controller-le]}}");
        let p = Parts::assign("c", &grouped, None, None, &docs).unwrap();
        assert_eq!(p.workload("c-controller-le"), Some("controller"));
        assert_eq!(p.main.as_deref(), Some("controller"));
        // Errors, each naming what is wrong.
        let both = [(&ctl, &a[..]), (&ctl2, &a[..])];
        for (declared, docs, want) in [
            (
                "{controller: {workloads: [c-controller-le]}}",
                &both[..],
                "workloads c-controller, c-controller-le all land on part \"controller\"",
            ),
            (
                "{ui: {workloads: [nope]}}",
                &docs[..],
                "part \"ui\" names workload nope, which no scenario has",
            ),
            (
                "{controller: {services: [nope]}}",
                &docs[..],
                "names Service nope",
            ),
            (
                "{controller: {container: nope}}",
                &docs[..],
                "declares container \"nope\"",
            ),
            (
                "{resources: {workloads: [c-controller]}}",
                &docs[..],
                "must be a camelCase key",
            ),
        ] {
            let err = Parts::assign("c", &spec(declared), None, None, docs)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{declared}: {err}");
        }
        let lonely = [(&db, &a[..])];
        let err = Parts::assign("c", &spec("{}"), None, None, &lonely).unwrap_err();
        assert!(
            err.to_string().contains("c-db is mounted by no workload"),
            "{err}"
        );
    }

    #[test]
    fn parts_running_as_default_get_their_own_service_account() {
        let y = |t: &str| -> Value { serde_yaml::from_str(t).unwrap() };
        let on_default = y("{kind: Deployment, metadata: {name: c-db, namespace: ns}, spec: {template: {spec: {containers: [{name: db, image: x}]}}}}");
        let on_own = deploy("c-controller", &["c-controller"], None);
        let (a, b) = (
            vec!["a".to_string()],
            vec!["a".to_string(), "b".to_string()],
        );
        let docs = [(&on_default, &a[..]), (&on_own, &b[..])];
        let p = Parts::assign("c", &spec("{}"), None, None, &docs).unwrap();
        let want = OwnServiceAccount {
            part: "db".into(),
            workload: "c-db".into(),
            namespace: "ns".into(),
            scenarios: ["a".to_string()].into(),
            upstream: false,
        };
        assert_eq!(p.own_service_account("c-db"), Some(&want));
        assert_eq!(p.own_service_account("c-controller"), None);
        // Upstream's unused ServiceAccount of the workload's name is adopted.
        let unused = y("{kind: ServiceAccount, metadata: {name: c-db, namespace: ns}}");
        let docs = [(&on_default, &a[..]), (&unused, &a[..])];
        let p = Parts::assign("c", &spec("{}"), None, None, &docs).unwrap();
        assert!(p.own_service_account("c-db").unwrap().upstream);
        assert_eq!(p.service_account("ns", "c-db"), &["db"]);
        // Refused: what default (or the name) is granted would change.
        let bind = |sa: &str| {
            y(&format!("{{kind: RoleBinding, metadata: {{name: rb, namespace: ns}}, subjects: [{{kind: ServiceAccount, name: {sa}, namespace: ns}}]}}"))
        };
        let (bound_default, bound_name) = (bind("default"), bind("c-db"));
        let rendered_default =
            y("{kind: ServiceAccount, metadata: {name: default, namespace: ns}}");
        let used = y("{kind: Deployment, metadata: {name: other, namespace: ns}, spec: {template: {spec: {serviceAccountName: c-db, containers: [{name: o, image: x}]}}}}");
        for (extra, want) in [
            (
                vec![&bound_default],
                "RoleBinding rb binds ServiceAccount ns/default",
            ),
            (vec![&rendered_default], "which the chart renders"),
            (vec![&unused, &bound_name], "is bound by RoleBinding rb"),
            (
                vec![&unused, &used],
                "other pods run as ServiceAccount ns/c-db",
            ),
        ] {
            let mut docs = vec![(&on_default, &a[..])];
            docs.extend(extra.into_iter().map(|d| (d, &a[..])));
            let err = Parts::assign("c", &spec("{}"), None, None, &docs)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
