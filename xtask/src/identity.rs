//! RBAC grouped by the identity it grants to (docs/charts.md, template layout): a
//! reviewer asks "what may ml-pipeline do?", so a chart's ServiceAccount, the
//! bindings that grant to it alone and the roles only those bindings use are one
//! file, `templates/rbac/<serviceaccount>.yaml`, each object still its own document.
//!
//! The rule, over every upstream version of each object (all scenarios):
//! - a RoleBinding or ClusterRoleBinding joins ServiceAccount S's file when it has
//!   subjects and every subject is S (kind ServiceAccount, S's name, and a
//!   namespace S has; a RoleBinding's subject without a namespace is in the
//!   binding's namespace);
//! - a Role or ClusterRole joins S's file when the chart's bindings that reference
//!   it (`roleRef`; a Role in the binding's namespace) are at least one and all in
//!   S's file, and it is not aggregated (no `aggregationRule`, no
//!   `rbac.authorization.k8s.io/aggregate-to-*` label: its rules reach others);
//! - everything else (aggregated ClusterRoles, roles bound to several identities
//!   or to none of the chart, bindings to groups, users, several ServiceAccounts
//!   or another chart's) stays one file per object.

use crate::upstream::ResKey;
use serde_yaml::Value;
use std::collections::BTreeSet;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const AGGREGATE_LABEL: &str = "rbac.authorization.k8s.io/aggregate-to-";

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// For each object (its key and every upstream version of it), the index of the
/// ServiceAccount whose file it joins: its own index for a ServiceAccount, None
/// for an object that stays a file of its own.
pub fn identity_of(objects: &[(&ResKey, Vec<&Value>)]) -> Vec<Option<usize>> {
    let is = |i: usize, group: &str, kind: &str| {
        let key = objects[i].0;
        key.group == group && key.kind == kind
    };
    // (name, namespace) of each version of a ServiceAccount.
    let service_accounts: Vec<(usize, BTreeSet<(&str, &str)>)> = (0..objects.len())
        .filter(|&i| is(i, "", "ServiceAccount"))
        .map(|i| {
            let names = objects[i].1.iter().map(|d| {
                (
                    text(d, &["metadata", "name"]),
                    text(d, &["metadata", "namespace"]),
                )
            });
            (i, names.collect())
        })
        .collect();
    let mut out: Vec<Option<usize>> = (0..objects.len())
        .map(|i| is(i, "", "ServiceAccount").then_some(i))
        .collect();

    for b in 0..objects.len() {
        if !(is(b, RBAC_GROUP, "RoleBinding") || is(b, RBAC_GROUP, "ClusterRoleBinding")) {
            continue;
        }
        let mut identities = BTreeSet::new();
        for doc in &objects[b].1 {
            let subjects = doc.get("subjects").and_then(Value::as_sequence);
            let subjects = subjects.map(Vec::as_slice).unwrap_or_default();
            if subjects.is_empty() {
                identities.insert(None);
            }
            for s in subjects {
                let mut namespace = text(s, &["namespace"]);
                if namespace.is_empty() && objects[b].0.kind == "RoleBinding" {
                    namespace = text(doc, &["metadata", "namespace"]);
                }
                let name = (text(s, &["name"]), namespace);
                let matching: Vec<usize> = service_accounts
                    .iter()
                    .filter(|(_, names)| {
                        text(s, &["kind"]) == "ServiceAccount" && names.contains(&name)
                    })
                    .map(|(i, _)| *i)
                    .collect();
                identities.insert(match matching[..] {
                    [i] => Some(i),
                    _ => None,
                });
            }
        }
        if let [Some(i)] = identities.into_iter().collect::<Vec<_>>()[..] {
            out[b] = Some(i);
        }
    }

    for r in 0..objects.len() {
        let kind = objects[r].0.kind.as_str();
        if !(is(r, RBAC_GROUP, "Role") || is(r, RBAC_GROUP, "ClusterRole")) {
            continue;
        }
        let aggregated = objects[r].1.iter().any(|d| {
            d.get("aggregationRule").is_some()
                || d.get("metadata")
                    .and_then(|m| m.get("labels"))
                    .and_then(Value::as_mapping)
                    .is_some_and(|l| {
                        l.keys()
                            .any(|k| k.as_str().is_some_and(|k| k.starts_with(AGGREGATE_LABEL)))
                    })
        });
        if aggregated {
            continue;
        }
        let names: BTreeSet<(&str, &str)> = objects[r]
            .1
            .iter()
            .map(|d| {
                (
                    text(d, &["metadata", "name"]),
                    text(d, &["metadata", "namespace"]),
                )
            })
            .collect();
        let mut identities = BTreeSet::new();
        for b in 0..objects.len() {
            if !(is(b, RBAC_GROUP, "RoleBinding") || is(b, RBAC_GROUP, "ClusterRoleBinding")) {
                continue;
            }
            let references = objects[b].1.iter().any(|doc| {
                let name = text(doc, &["roleRef", "name"]);
                text(doc, &["roleRef", "kind"]) == kind
                    && if kind == "Role" {
                        names.contains(&(name, text(doc, &["metadata", "namespace"])))
                    } else {
                        names.iter().any(|(n, _)| *n == name)
                    }
            });
            if references {
                identities.insert(out[b]);
            }
        }
        if let [Some(i)] = identities.into_iter().collect::<Vec<_>>()[..] {
            out[r] = Some(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(yaml: &str) -> (ResKey, Value) {
        let doc: Value = serde_yaml::from_str(yaml).unwrap();
        (ResKey::of(&doc).unwrap(), doc)
    }

    const SA: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: ns}";
    const SA_OTHER: &str =
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: other, namespace: ns}";
    const ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: app, namespace: ns}";
    const CLUSTER_ROLE: &str =
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: app}";

    fn binding(kind: &str, role_kind: &str, subjects: &str) -> String {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: b, namespace: ns}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: app}}\nsubjects: {subjects}"
        )
    }

    /// The identity each object joins, by index, for objects of one version each.
    fn grouped(yamls: &[&str]) -> Vec<Option<usize>> {
        let objects: Vec<(ResKey, Value)> = yamls.iter().map(|y| object(y)).collect();
        let refs: Vec<(&ResKey, Vec<&Value>)> = objects.iter().map(|(k, d)| (k, vec![d])).collect();
        identity_of(&refs)
    }

    /// What a case shows, its objects, the identity each joins.
    type Case = (&'static str, Vec<String>, Vec<Option<usize>>);

    #[test]
    fn rule() {
        let sa_only = "[{kind: ServiceAccount, name: app, namespace: ns}]";
        let cases: Vec<Case> = vec![
            (
                "a RoleBinding to the ServiceAccount alone, and its Role, join it",
                vec![SA.into(), ROLE.into(), binding("RoleBinding", "Role", sa_only)],
                vec![Some(0), Some(0), Some(0)],
            ),
            (
                "a ClusterRoleBinding and its ClusterRole join it",
                vec![
                    SA.into(),
                    CLUSTER_ROLE.into(),
                    binding("ClusterRoleBinding", "ClusterRole", sa_only),
                ],
                vec![Some(0), Some(0), Some(0)],
            ),
            (
                "a RoleBinding's subject without a namespace is in the binding's",
                vec![
                    SA.into(),
                    ROLE.into(),
                    binding("RoleBinding", "Role", "[{kind: ServiceAccount, name: app}]"),
                ],
                vec![Some(0), Some(0), Some(0)],
            ),
            (
                "a subject in another namespace is another chart's ServiceAccount",
                vec![
                    SA.into(),
                    ROLE.into(),
                    binding(
                        "RoleBinding",
                        "Role",
                        "[{kind: ServiceAccount, name: app, namespace: elsewhere}]",
                    ),
                ],
                vec![Some(0), None, None],
            ),
            (
                "a binding to two ServiceAccounts stays alone, and so does its role",
                vec![
                    SA.into(),
                    SA_OTHER.into(),
                    ROLE.into(),
                    binding(
                        "RoleBinding",
                        "Role",
                        "[{kind: ServiceAccount, name: app, namespace: ns}, {kind: ServiceAccount, name: other, namespace: ns}]",
                    ),
                ],
                vec![Some(0), Some(1), None, None],
            ),
            (
                "a binding to a group stays alone",
                vec![
                    SA.into(),
                    CLUSTER_ROLE.into(),
                    binding(
                        "ClusterRoleBinding",
                        "ClusterRole",
                        "[{kind: Group, name: app, apiGroup: rbac.authorization.k8s.io}]",
                    ),
                ],
                vec![Some(0), None, None],
            ),
            (
                "a role bound to two identities stays alone, each binding joins its own",
                vec![
                    SA.into(),
                    SA_OTHER.into(),
                    CLUSTER_ROLE.into(),
                    binding("ClusterRoleBinding", "ClusterRole", sa_only),
                    binding(
                        "ClusterRoleBinding",
                        "ClusterRole",
                        "[{kind: ServiceAccount, name: other, namespace: ns}]",
                    )
                    .replace("name: b,", "name: b2,"),
                ],
                vec![Some(0), Some(1), None, Some(0), Some(1)],
            ),
            (
                "an aggregated ClusterRole stays alone",
                vec![
                    SA.into(),
                    format!("{CLUSTER_ROLE}\naggregationRule: {{clusterRoleSelectors: []}}"),
                    binding("ClusterRoleBinding", "ClusterRole", sa_only),
                ],
                vec![Some(0), None, Some(0)],
            ),
            (
                "a ClusterRole aggregated into others stays alone",
                vec![
                    SA.into(),
                    CLUSTER_ROLE.replace(
                        "{name: app}",
                        "{name: app, labels: {rbac.authorization.k8s.io/aggregate-to-edit: \"true\"}}",
                    ),
                    binding("ClusterRoleBinding", "ClusterRole", sa_only),
                ],
                vec![Some(0), None, Some(0)],
            ),
            (
                "a role no binding references stays alone; a Role in another namespace is not the one referenced",
                vec![
                    SA.into(),
                    CLUSTER_ROLE.into(),
                    ROLE.replace("namespace: ns", "namespace: elsewhere"),
                    binding("RoleBinding", "Role", sa_only),
                ],
                vec![Some(0), None, None, Some(0)],
            ),
            (
                "a RoleBinding to a ClusterRole takes the ClusterRole along",
                vec![SA.into(), CLUSTER_ROLE.into(), binding("RoleBinding", "ClusterRole", sa_only)],
                vec![Some(0), Some(0), Some(0)],
            ),
            (
                "a binding without subjects stays alone",
                vec![SA.into(), ROLE.into(), binding("RoleBinding", "Role", "[]")],
                vec![Some(0), None, None],
            ),
        ];
        for (what, yamls, want) in cases {
            let yamls: Vec<&str> = yamls.iter().map(String::as_str).collect();
            assert_eq!(grouped(&yamls), want, "{what}");
        }
    }

    #[test]
    fn every_version_counts() {
        // A binding whose subject a variant changes to another ServiceAccount grants
        // to two identities: it stays alone, and so does its role.
        let (sa, sa_doc) = object(SA);
        let (other, other_doc) = object(SA_OTHER);
        let (role, role_doc) = object(ROLE);
        let (b, b_app) = object(&binding(
            "RoleBinding",
            "Role",
            "[{kind: ServiceAccount, name: app, namespace: ns}]",
        ));
        let (_, b_other) = object(&binding(
            "RoleBinding",
            "Role",
            "[{kind: ServiceAccount, name: other, namespace: ns}]",
        ));
        let objects = vec![
            (&sa, vec![&sa_doc]),
            (&other, vec![&other_doc]),
            (&role, vec![&role_doc]),
            (&b, vec![&b_app, &b_other]),
        ];
        assert_eq!(identity_of(&objects), vec![Some(0), Some(1), None, None]);
        // A ServiceAccount a variant moves to another namespace is one identity in both.
        let (_, sa_moved) = object(&SA.replace("namespace: ns", "namespace: moved"));
        let (_, b_moved) = object(&binding(
            "RoleBinding",
            "Role",
            "[{kind: ServiceAccount, name: app, namespace: moved}]",
        ));
        let objects = vec![
            (&sa, vec![&sa_doc, &sa_moved]),
            (&role, vec![&role_doc]),
            (&b, vec![&b_app, &b_moved]),
        ];
        assert_eq!(identity_of(&objects), vec![Some(0), Some(0), Some(0)]);
    }
}
