//! `helm4`: known-safe fixes for charts that Helm 4's server-side apply
//! rejects or keeps fighting over. Each fix is off by default and documented
//! here and in docs/kf-post.md.
//!
//! - `dropAggregatedRules`: a ClusterRole with an `aggregationRule` has its
//!   `rules` written by the aggregation controller. If the chart also sends
//!   `rules` (kustomize and many charts render `rules: []` or a stale copy),
//!   server-side apply finds the field owned by the controller and every
//!   upgrade fails with a conflict (or, forced, wipes the aggregated rules
//!   until the controller restores them). Dropping `rules` leaves the field to
//!   its real owner.
//! - `dropStatus`: top-level `status` of rendered objects (controller-gen CRDs
//!   carry `status: {acceptedNames: …, storedVersions: []}`) is owned by the
//!   API server; applying it makes Helm 4 claim fields it can never own.
//!
//! Configuration reference (every field, its type, default and an example):
//! the `helm4` section of docs/kf-post.md; schema:
//! post-renderer/schema/postrenderconfig.schema.json.

use serde::Deserialize;

use crate::document::Document;
use crate::error::Result;
use crate::transforms::Filter;

const NAME: &str = "helm4";

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "Helm4Config")]
pub struct Config {
    #[serde(default)]
    pub drop_aggregated_rules: bool,
    #[serde(default)]
    pub drop_status: bool,
}

impl Filter for Config {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, mut docs: Vec<Document>) -> Result<Vec<Document>> {
        for doc in &mut docs {
            let aggregated = self.drop_aggregated_rules
                && doc.kind() == Some("ClusterRole")
                && doc.group() == "rbac.authorization.k8s.io"
                && doc.value().get("aggregationRule").is_some();
            doc.edit(NAME, |v, changes| {
                let Some(m) = v.as_mapping_mut() else { return };
                if aggregated && m.shift_remove("rules").is_some() {
                    changes.push(
                        "removed rules (aggregated ClusterRole: owned by the aggregation controller)",
                    );
                }
                if self.drop_status && m.shift_remove("status").is_some() {
                    changes.push("removed status (owned by the API server)");
                }
            });
        }
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGG: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: kubeflow-admin}\naggregationRule:\n  clusterRoleSelectors: [{matchLabels: {a: 'true'}}]\nrules: []\n";
    const PLAIN: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: plain}\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n";
    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec: {group: b}\nstatus: {storedVersions: []}\n";

    #[test]
    fn fixes() {
        // (config, document, top-level key, present afterwards, touched)
        let cases = [
            ("{dropAggregatedRules: true}", AGG, "rules", false, true),
            (
                "{dropAggregatedRules: true}",
                AGG,
                "aggregationRule",
                true,
                true,
            ),
            ("{dropAggregatedRules: true}", PLAIN, "rules", true, false),
            ("{}", AGG, "rules", true, false),
            ("{dropStatus: true}", CRD, "status", false, true),
            ("{dropStatus: true}", CRD, "spec", true, true),
            ("{dropStatus: true}", PLAIN, "rules", true, false),
            ("{}", CRD, "status", true, false),
        ];
        for (config, doc, key, present, touched) in cases {
            let c: Config = serde_yaml::from_str(config).unwrap();
            let out = c
                .filter(vec![Document::from_yaml(doc).unwrap()])
                .unwrap()
                .remove(0);
            assert_eq!(
                out.value().get(key).is_some(),
                present,
                "{config} {key} in {doc}"
            );
            assert_eq!(out.is_touched(), touched, "{config} {doc}");
        }
    }
}
