//! RBAC report: every Role/ClusterRole, its wildcards and secrets access, and a
//! comparison against upstream so a chart can never grant more than the upstream
//! Kustomize manifests do.

use crate::stream::{at, seq_at, Object};
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub rules: Vec<PolicyRule>,
    /// `aggregationRule` of a ClusterRole; its rules are filled in by the
    /// controller from every ClusterRole the selectors match.
    pub aggregation: Option<Value>,
}

impl Role {
    /// `ClusterRole/name` or `Role/namespace/name`.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    seq_at(v, &[field])
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{s:?}"))
        })
        .collect()
}

pub fn roles(objects: &[Object]) -> Vec<Role> {
    objects
        .iter()
        .filter(|o| {
            matches!(o.kind(), "Role" | "ClusterRole")
                && o.api_version().starts_with("rbac.authorization.k8s.io/")
        })
        .map(|o| Role {
            kind: o.kind().to_string(),
            namespace: o.namespace().map(str::to_string),
            name: o.name().to_string(),
            rules: seq_at(&o.value, &["rules"])
                .iter()
                .map(|r| PolicyRule {
                    api_groups: strings(r, "apiGroups"),
                    resources: strings(r, "resources"),
                    verbs: strings(r, "verbs"),
                    resource_names: strings(r, "resourceNames"),
                    non_resource_urls: strings(r, "nonResourceURLs"),
                })
                .collect(),
            aggregation: at(&o.value, &["aggregationRule"]).cloned(),
        })
        .collect()
}

/// What a rule grants that deserves a reviewer's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    WildcardVerbs,
    WildcardResources,
    WildcardApiGroups,
    WildcardNonResourceUrls,
    SecretsRead,
    SecretsWrite,
    /// `bind`, `escalate` or `impersonate`: lets the holder gain more rights.
    Escalation,
}

impl Flag {
    pub fn is_wildcard(self) -> bool {
        matches!(
            self,
            Flag::WildcardVerbs
                | Flag::WildcardResources
                | Flag::WildcardApiGroups
                | Flag::WildcardNonResourceUrls
        )
    }
    /// The name used in the allowlist's `field`.
    pub fn field(self) -> &'static str {
        match self {
            Flag::WildcardVerbs => "verbs",
            Flag::WildcardResources => "resources",
            Flag::WildcardApiGroups => "apiGroups",
            Flag::WildcardNonResourceUrls => "nonResourceURLs",
            Flag::SecretsRead => "secrets:read",
            Flag::SecretsWrite => "secrets:write",
            Flag::Escalation => "escalation",
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_wildcard() {
            write!(f, "*{}", self.field())
        } else {
            f.write_str(self.field())
        }
    }
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|s| s == item)
}

pub fn flags(rule: &PolicyRule) -> BTreeSet<Flag> {
    let mut out = BTreeSet::new();
    let star = |l: &[String]| has(l, "*");
    if star(&rule.verbs) {
        out.insert(Flag::WildcardVerbs);
    }
    if star(&rule.resources) {
        out.insert(Flag::WildcardResources);
    }
    if star(&rule.api_groups) {
        out.insert(Flag::WildcardApiGroups);
    }
    if rule.non_resource_urls.iter().any(|u| u.ends_with('*')) {
        out.insert(Flag::WildcardNonResourceUrls);
    }
    let core = has(&rule.api_groups, "") || star(&rule.api_groups);
    let secrets = has(&rule.resources, "secrets") || star(&rule.resources);
    if core && secrets {
        let verb = |v: &[&str]| {
            rule.verbs
                .iter()
                .any(|x| x == "*" || v.contains(&x.as_str()))
        };
        if verb(&["get", "list", "watch"]) {
            out.insert(Flag::SecretsRead);
        }
        if verb(&["create", "update", "patch", "delete", "deletecollection"]) {
            out.insert(Flag::SecretsWrite);
        }
    }
    if rule
        .verbs
        .iter()
        .any(|v| matches!(v.as_str(), "bind" | "escalate" | "impersonate"))
    {
        out.insert(Flag::Escalation);
    }
    out
}

pub fn role_flags(role: &Role) -> BTreeSet<Flag> {
    role.rules.iter().flat_map(flags).collect()
}

/// `audit/rbac-allowlist.yaml`: the wildcards upstream grants, each with the reason
/// it is accepted, and roles the charts add that upstream does not have.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Allowlist {
    #[serde(default)]
    pub wildcards: Vec<AllowedWildcard>,
    #[serde(default)]
    pub new_roles: Vec<AllowedRole>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedWildcard {
    /// `ClusterRole/name` or `Role/namespace/name`.
    pub role: String,
    /// `verbs`, `resources`, `apiGroups` or `nonResourceURLs`.
    pub field: String,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedRole {
    pub role: String,
    pub reason: String,
}

impl Allowlist {
    pub fn parse(text: &str) -> Result<Allowlist, String> {
        let list: Allowlist =
            serde_yaml::from_str(text).map_err(|e| format!("rbac allowlist: {e}"))?;
        if let Some(e) = list.wildcards.iter().find(|w| w.reason.trim().is_empty()) {
            return Err(format!(
                "rbac allowlist: {} {} has no reason",
                e.role, e.field
            ));
        }
        Ok(list)
    }

    fn allows(&self, role: &Role, flag: Flag) -> bool {
        let id = role.id();
        self.wildcards
            .iter()
            .any(|w| w.role == id && w.field == flag.field())
    }

    /// Wildcards granted by `roles` that the allowlist does not name.
    pub fn unlisted(&self, roles: &[Role]) -> Vec<String> {
        roles
            .iter()
            .flat_map(|r| {
                role_flags(r)
                    .into_iter()
                    .filter(|f| f.is_wildcard() && !self.allows(r, *f))
                    .map(move |f| format!("{} grants {f}", r.id()))
            })
            .collect()
    }

    /// Allowlist entries that no role in `roles` needs (kept honest: a wildcard
    /// upstream dropped must leave the list too).
    pub fn stale(&self, roles: &[Role]) -> Vec<String> {
        self.wildcards
            .iter()
            .filter(|w| {
                !roles
                    .iter()
                    .any(|r| r.id() == w.role && role_flags(r).iter().any(|f| f.field() == w.field))
            })
            .map(|w| format!("{} {}", w.role, w.field))
            .collect()
    }
}

fn covers_item(granted: &[String], item: &str) -> bool {
    granted.iter().any(|g| g == "*" || g == item)
}

fn covers_resource(granted: &[String], resource: &str) -> bool {
    granted.iter().any(|g| {
        g == "*"
            || g == resource
            // `*/scale` grants the scale subresource of every resource.
            || (g.starts_with("*/") && resource.split_once('/').map(|(_, s)| s) == Some(&g[2..]))
    })
}

fn covers_url(granted: &[String], url: &str) -> bool {
    granted
        .iter()
        .any(|g| g == url || (g.ends_with('*') && url.starts_with(&g[..g.len() - 1])))
}

/// Whether one upstream rule grants everything `rule` grants.
fn rule_covered(rule: &PolicyRule, by: &PolicyRule) -> bool {
    let verbs = rule.verbs.iter().all(|v| covers_item(&by.verbs, v));
    if !rule.non_resource_urls.is_empty() {
        return verbs
            && rule
                .non_resource_urls
                .iter()
                .all(|u| covers_url(&by.non_resource_urls, u));
    }
    let names = by.resource_names.is_empty()
        || (!rule.resource_names.is_empty()
            && rule
                .resource_names
                .iter()
                .all(|n| by.resource_names.contains(n)));
    verbs
        && names
        && rule
            .api_groups
            .iter()
            .all(|g| covers_item(&by.api_groups, g))
        && rule
            .resources
            .iter()
            .all(|r| covers_resource(&by.resources, r))
}

/// Splits a rule into one rule per (apiGroup, resource, verb) so a chart rule
/// that merges two upstream rules is still recognised as covered.
fn atoms(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |v: &String| vec![v.clone()];
    let mut out = Vec::new();
    for v in &rule.verbs {
        if !rule.non_resource_urls.is_empty() {
            for u in &rule.non_resource_urls {
                out.push(PolicyRule {
                    verbs: one(v),
                    non_resource_urls: one(u),
                    ..Default::default()
                });
            }
            continue;
        }
        for g in &rule.api_groups {
            for r in &rule.resources {
                out.push(PolicyRule {
                    api_groups: one(g),
                    resources: one(r),
                    verbs: one(v),
                    resource_names: rule.resource_names.clone(),
                    non_resource_urls: vec![],
                });
            }
        }
    }
    out
}

/// Everything a chart role grants beyond the upstream role of the same id, and
/// chart roles upstream does not have (unless the allowlist names them).
/// `upstream` may hold several variants of one role (from different overlays);
/// a chart role is fine when one of them grants everything it grants.
pub fn broader_than_upstream(charts: &[Role], upstream: &[Role], allow: &Allowlist) -> Vec<String> {
    let mut out = Vec::new();
    for role in charts {
        let id = role.id();
        let variants: Vec<&Role> = upstream.iter().filter(|u| u.id() == id).collect();
        if variants.is_empty() {
            if !allow.new_roles.iter().any(|n| n.role == id) {
                out.push(format!(
                    "{id}: not in upstream and not in newRoles of the allowlist"
                ));
            }
            continue;
        }
        let excess = |up: &Role| {
            let mut found = Vec::new();
            if role.aggregation != up.aggregation {
                found.push(format!("{id}: aggregationRule differs from upstream"));
            }
            for (i, rule) in role.rules.iter().enumerate() {
                for atom in atoms(rule) {
                    if !up.rules.iter().any(|u| rule_covered(&atom, u)) {
                        found.push(format!("{id}: rule {i} grants {atom:?} beyond upstream"));
                    }
                }
            }
            found
        };
        let per_variant: Vec<Vec<String>> = variants.iter().map(|up| excess(up)).collect();
        if per_variant.iter().all(|f| !f.is_empty()) {
            // Report against the closest variant.
            out.extend(
                per_variant
                    .into_iter()
                    .min_by_key(Vec::len)
                    .unwrap_or_default(),
            );
        }
    }
    out
}

/// The table `kf-audit rbac` prints.
pub fn report(objects: &[Object]) -> String {
    let rows: Vec<Vec<String>> = roles(objects)
        .iter()
        .map(|r| {
            let flags: Vec<String> = role_flags(r).iter().map(Flag::to_string).collect();
            vec![
                r.kind.clone(),
                r.namespace.clone().unwrap_or_else(|| "-".into()),
                r.name.clone(),
                if r.aggregation.is_some() {
                    "aggregated".into()
                } else {
                    r.rules.len().to_string()
                },
                if flags.is_empty() {
                    "-".into()
                } else {
                    flags.join(" ")
                },
            ]
        })
        .collect();
    crate::table::render(&["kind", "namespace", "name", "rules", "flags"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> PolicyRule {
        let objs = crate::parse(&format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: r}}\nrules: [{yaml}]"
        ))
        .unwrap();
        roles(&objs).remove(0).rules.remove(0)
    }

    #[test]
    fn flags_per_rule() {
        use Flag::*;
        let cases: &[(&str, &[Flag])] = &[
            ("{apiGroups: [apps], resources: [deployments], verbs: [get]}", &[]),
            ("{apiGroups: [apps], resources: [deployments], verbs: ['*']}", &[WildcardVerbs]),
            ("{apiGroups: [apps], resources: ['*'], verbs: [get]}", &[WildcardResources]),
            ("{apiGroups: ['*'], resources: [pods], verbs: [get]}", &[WildcardApiGroups]),
            ("{nonResourceURLs: ['/metrics*'], verbs: [get]}", &[WildcardNonResourceUrls]),
            ("{apiGroups: [''], resources: [secrets], verbs: [list]}", &[SecretsRead]),
            ("{apiGroups: [''], resources: [secrets], verbs: [create]}", &[SecretsWrite]),
            ("{apiGroups: ['*'], resources: ['*'], verbs: ['*']}", &[WildcardVerbs, WildcardResources, WildcardApiGroups, SecretsRead, SecretsWrite]),
            // A custom resource named `secrets` in another group is not a Secret.
            ("{apiGroups: [example.com], resources: [secrets], verbs: [get]}", &[]),
            ("{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind, escalate]}", &[Escalation]),
            ("{apiGroups: [''], resources: [users], verbs: [impersonate]}", &[Escalation]),
        ];
        for (yaml, want) in cases {
            let got: Vec<Flag> = flags(&rule(yaml)).into_iter().collect();
            assert_eq!(&got, want, "{yaml}");
        }
    }

    #[test]
    fn coverage_by_upstream_rule() {
        let cases: &[(&str, &str, bool)] = &[
            (
                "{apiGroups: [''], resources: [pods], verbs: [get]}",
                "{apiGroups: [''], resources: [pods], verbs: [get, list]}",
                true,
            ),
            (
                "{apiGroups: [''], resources: [pods], verbs: [delete]}",
                "{apiGroups: [''], resources: [pods], verbs: [get, list]}",
                false,
            ),
            (
                "{apiGroups: [''], resources: [pods], verbs: ['*']}",
                "{apiGroups: [''], resources: [pods], verbs: [get]}",
                false,
            ),
            (
                "{apiGroups: [apps], resources: [pods], verbs: [get]}",
                "{apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
                true,
            ),
            (
                "{apiGroups: [apps], resources: [deployments/scale], verbs: [get]}",
                "{apiGroups: [apps], resources: ['*/scale'], verbs: [get]}",
                true,
            ),
            (
                "{apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [a]}",
                "{apiGroups: [''], resources: [secrets], verbs: [get]}",
                true,
            ),
            (
                "{apiGroups: [''], resources: [secrets], verbs: [get]}",
                "{apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [a]}",
                false,
            ),
            (
                "{apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [b]}",
                "{apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [a]}",
                false,
            ),
            (
                "{nonResourceURLs: [/metrics], verbs: [get]}",
                "{nonResourceURLs: ['/metrics*'], verbs: [get]}",
                true,
            ),
            (
                "{nonResourceURLs: ['/*'], verbs: [get]}",
                "{nonResourceURLs: [/metrics], verbs: [get]}",
                false,
            ),
        ];
        for (chart, up, want) in cases {
            let chart = rule(chart);
            let covered = atoms(&chart).iter().all(|a| rule_covered(a, &rule(up)));
            assert_eq!(covered, *want, "{chart:?} by {up}");
        }
    }

    const ROLE: &str =
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n";

    #[test]
    fn broader_than_upstream_compares_same_role() {
        let up = roles(&crate::parse(&format!("{ROLE}rules: [{{apiGroups: [''], resources: [pods], verbs: [get]}}, {{apiGroups: [''], resources: [services], verbs: [list]}}]")).unwrap());
        let allow = Allowlist::default();
        // Merging two upstream rules into one chart rule is not broader.
        let same = roles(
            &crate::parse(&format!(
                "{ROLE}rules: [{{apiGroups: [''], resources: [pods], verbs: [get]}}]"
            ))
            .unwrap(),
        );
        assert_eq!(
            broader_than_upstream(&same, &up, &allow),
            Vec::<String>::new()
        );
        let wider = roles(&crate::parse(&format!("{ROLE}rules: [{{apiGroups: [''], resources: [pods, services], verbs: [get, list]}}]")).unwrap());
        let found = broader_than_upstream(&wider, &up, &allow);
        assert_eq!(found.len(), 2, "{found:?}");
        let new = roles(&crate::parse("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: n, namespace: kubeflow}\n").unwrap());
        assert_eq!(
            broader_than_upstream(&new, &up, &allow),
            ["Role/kubeflow/n: not in upstream and not in newRoles of the allowlist"]
        );
        let allow =
            Allowlist::parse("newRoles: [{role: Role/kubeflow/n, reason: secret generator}]")
                .unwrap();
        assert!(broader_than_upstream(&new, &up, &allow).is_empty());
    }

    #[test]
    fn allowlist_names_each_wildcard() {
        let objs = crate::parse(&format!(
            "{ROLE}rules: [{{apiGroups: ['*'], resources: [pods], verbs: ['*']}}]"
        ))
        .unwrap();
        let rs = roles(&objs);
        let allow = Allowlist::parse("wildcards: [{role: ClusterRole/r, field: verbs, reason: upstream controller}, {role: ClusterRole/gone, field: verbs, reason: old}]").unwrap();
        assert_eq!(allow.unlisted(&rs), ["ClusterRole/r grants *apiGroups"]);
        assert_eq!(allow.stale(&rs), ["ClusterRole/gone verbs"]);
        assert!(Allowlist::parse("wildcards: [{role: x, field: verbs, reason: ' '}]").is_err());
        assert!(
            Allowlist::parse("wildcard: []").is_err(),
            "unknown keys are typos"
        );
    }
}
