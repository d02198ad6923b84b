//! The Kubeflow component catalog, `catalog/components.yaml`: each component's
//! facts (name, version, groups, dependencies, footprint, ...), declared once for
//! the chart generator (`xtask`) and the `helm kubeflow` plugin.
//!
//! An entry's other keys say how the component's chart is generated (scenarios,
//! credentials, parts, ...). They are not read here but handed on as they are
//! ([`Entry::rest`]): xtask reads them with a struct of its own that refuses unknown
//! keys, the plugin ignores them. So every key of an entry is read by exactly one
//! struct, and a misspelled key still fails the sync.
//!
//! [`variants`] holds the format of `catalog/variants.json`, which the sync writes
//! from the catalog for plugin/build.rs.

pub mod variants;

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

/// Where the catalog lives, from the repository root.
pub const PATH: &str = "catalog/components.yaml";

/// Components a component served behind the Kubeflow gateway also needs while
/// `global.istio.enabled` (the umbrella's checks.yaml).
pub const GATEWAY_NEEDS: [&str; 3] = ["istio-crds", "istio", "kubeflow-istio-resources"];

/// A component's facts: what the plugin and the umbrella need to know about it.
/// (`Default`, empty, is for a struct that sets them after reading an entry's
/// other keys: xtask's `ChartSpec`.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Chart name (= `charts/<name>/`, = its key in the umbrella chart).
    #[serde(rename = "name")]
    pub chart: String,
    /// Key (alias) in the umbrella chart: the chart name, set when the entry is
    /// parsed (not a key of the catalog).
    #[serde(skip_deserializing)]
    pub key: String,
    /// What it is (also the chart's Chart.yaml description).
    pub description: String,
    /// The component's upstream version at this release (the chart's
    /// `helm.kubeflow.org/upstream-version` annotation; appVersion is the Kubeflow
    /// release).
    #[serde(rename = "version")]
    pub upstream_version: String,
    /// The umbrella group tag that switches it when `<name>.enabled` is unset.
    pub tag: String,
    /// Descriptive groups for docs and filtering; the tag is always one of them.
    pub groups: Vec<String>,
    /// On in upstream's `example` (= presets/full.yaml).
    pub default: bool,
    /// Hard dependencies (chart names).
    pub requires: Vec<String>,
    /// Soft dependencies (chart names).
    pub recommends: Vec<String>,
    /// Served behind the Kubeflow Istio gateway when `global.istio.enabled`.
    #[serde(default)]
    pub gateway: bool,
    pub namespaces: Vec<String>,
    /// The default scenario's last kustomize dir and its rendered file.
    pub upstream: Upstream,
    /// Resource requests (plugin/tests/catalog_footprint.rs checks them).
    pub footprint: Footprint,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub overlay: String,
    pub rendered: String,
}

/// Upstream's resource requests (x replicas, plus the Istio sidecar's) and PVC sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Footprint {
    pub cpu_millicores: u64,
    #[serde(rename = "memoryMiB")]
    pub memory_mib: u64,
    #[serde(rename = "storageGiB")]
    pub storage_gib: u64,
}

impl std::ops::Add for Footprint {
    type Output = Footprint;
    fn add(self, o: Footprint) -> Footprint {
        Footprint {
            cpu_millicores: self.cpu_millicores + o.cpu_millicores,
            memory_mib: self.memory_mib + o.memory_mib,
            storage_gib: self.storage_gib + o.storage_gib,
        }
    }
}

/// One entry of the catalog's `components:` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub component: Component,
    /// The entry's other keys: how the component's chart is generated (read by
    /// xtask, which refuses the keys it does not know).
    pub rest: Mapping,
}

/// A catalog that does not parse or whose facts disagree, with the component and
/// the key at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn error(what: impl std::fmt::Display) -> Error {
    Error(format!("{PATH}: {what}"))
}

/// The catalog file's text: every entry, its facts checked.
pub fn parse(yaml: &str) -> Result<Vec<Entry>, Error> {
    from_value(serde_yaml::from_str(yaml).map_err(error)?)
}

/// The parsed catalog document (xtask resolves its `releases:` entries first):
/// every entry, its facts checked.
pub fn from_value(doc: Value) -> Result<Vec<Entry>, Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Document {
        components: Vec<Value>,
    }
    let doc: Document = serde_yaml::from_value(doc).map_err(error)?;
    let entries = doc
        .components
        .into_iter()
        .enumerate()
        .map(|(i, entry)| parse_entry(entry, &format!("at index {i}")))
        .collect::<Result<Vec<_>, _>>()?;
    validate(&entries)?;
    Ok(entries)
}

impl Entry {
    /// One entry on its own (its dependencies are not checked: they name others).
    pub fn from_value(entry: Value) -> Result<Entry, Error> {
        parse_entry(entry, "without a name")
    }
}

/// `unnamed`: how errors call an entry without a name.
fn parse_entry(entry: Value, unnamed: &str) -> Result<Entry, Error> {
    // The facts take their keys, the rest get what is left (serde hands a flattened
    // map only the keys the fields before it did not take).
    #[derive(Deserialize)]
    struct Split {
        #[serde(flatten)]
        component: Component,
        #[serde(flatten)]
        rest: Mapping,
    }
    let label = match entry.get("name").and_then(Value::as_str) {
        Some(name) => name.to_string(),
        None => unnamed.to_string(),
    };
    if !entry.is_mapping() {
        return Err(error(format_args!("component {label}: not a mapping")));
    }
    let Split {
        mut component,
        rest,
    } = serde_yaml::from_value(entry).map_err(|e| error(format_args!("component {label}: {e}")))?;
    component.key = component.chart.clone();
    Ok(Entry { component, rest })
}

/// What the facts of the entries must agree on.
fn validate(entries: &[Entry]) -> Result<(), Error> {
    let mut names = std::collections::HashSet::new();
    for Entry { component: c, .. } in entries {
        if !names.insert(c.chart.as_str()) {
            return Err(error(format_args!(
                "component {} is declared twice",
                c.chart
            )));
        }
    }
    for Entry { component: c, .. } in entries {
        if !c.groups.contains(&c.tag) {
            return Err(error(format_args!(
                "component {}: tag {:?} is not one of its groups {:?}",
                c.chart, c.tag, c.groups
            )));
        }
        if let Some(dep) = c
            .requires
            .iter()
            .chain(&c.recommends)
            .find(|d| !names.contains(d.as_str()))
        {
            return Err(error(format_args!(
                "component {}: unknown dependency {dep:?}",
                c.chart
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts of a valid entry named `name`, one key a line.
    fn facts(name: &str) -> String {
        format!(
            "name: {name}\ndescription: d\nversion: v1\ntag: core\ngroups: [core]\ndefault: true\ngateway: true\nrequires: []\nrecommends: []\nnamespaces: [kubeflow]\nupstream: {{overlay: o, rendered: r}}\nfootprint: {{cpuMillicores: 1, memoryMiB: 2, storageGiB: 3}}\n"
        )
    }

    /// A catalog of these entries.
    fn catalog(entries: &[String]) -> String {
        let mut s = String::from("components:\n");
        for e in entries {
            s.push_str(&format!("- {}\n", e.trim_end().replace('\n', "\n  ")));
        }
        s
    }

    #[test]
    fn the_committed_catalog_parses() {
        let entries = parse(include_str!("../components.yaml")).unwrap();
        // The chart table of docs/architecture.md: 29 charts.
        assert_eq!(entries.len(), 29);
        assert!(entries.iter().all(|e| e.component.key == e.component.chart));
        // The chart-generator keys are handed on, not taken as facts.
        assert!(entries.iter().all(|e| e.rest.contains_key("scenarios")));
    }

    #[test]
    fn a_valid_entry_parses_into_facts_and_the_other_keys() {
        let entry = facts("a") + "scenarios: {base: {kind: variant}}\n";
        let entries = parse(&catalog(&[entry])).unwrap();
        let a = &entries[0];
        assert_eq!(
            a.component,
            Component {
                chart: "a".into(),
                key: "a".into(),
                description: "d".into(),
                upstream_version: "v1".into(),
                tag: "core".into(),
                groups: vec!["core".into()],
                default: true,
                requires: vec![],
                recommends: vec![],
                gateway: true,
                namespaces: vec!["kubeflow".into()],
                upstream: Upstream {
                    overlay: "o".into(),
                    rendered: "r".into()
                },
                footprint: Footprint {
                    cpu_millicores: 1,
                    memory_mib: 2,
                    storage_gib: 3
                },
            }
        );
        let rest: Vec<&str> = a.rest.keys().filter_map(Value::as_str).collect();
        assert_eq!(rest, ["scenarios"]);
        // On its own, as xtask's tests declare one chart.
        let one = Entry::from_value(serde_yaml::from_str(&facts("a")).unwrap()).unwrap();
        assert_eq!(one.component.key, "a");
        assert!(one.rest.is_empty());
    }

    #[test]
    fn bad_facts_fail_naming_the_component_and_the_key() {
        let a = facts("a");
        // (a change to a valid entry: text replaced, by what; what the error must say)
        let changes = [
            (
                "gateway: true",
                "gateway: yes",
                "component a: invalid type: string \"yes\", expected a boolean",
            ),
            (
                "{overlay: o,",
                "{overlay: o, overlays: p,",
                "component a: unknown field `overlays`, expected `overlay` or `rendered`",
            ),
            ("cpuMillicores", "cpu", "component a: unknown field `cpu`"),
            (
                "tag: core\n",
                "tags: core\n",
                "component a: missing field `tag`",
            ),
            (
                "name: a\n",
                "",
                "component at index 0: missing field `name`",
            ),
            (
                "tag: core",
                "tag: other",
                "component a: tag \"other\" is not one of its groups [\"core\"]",
            ),
            (
                "requires: []",
                "requires: [nope]",
                "component a: unknown dependency \"nope\"",
            ),
            (
                "recommends: []",
                "recommends: [b]",
                "component a: unknown dependency \"b\"",
            ),
        ];
        let mut cases: Vec<(Vec<String>, &str)> = changes
            .iter()
            .map(|(from, to, want)| (vec![a.replace(from, to)], *want))
            .collect();
        cases.push((
            vec!["just a string".into()],
            "component at index 0: not a mapping",
        ));
        cases.push((vec![a.clone(), a.clone()], "component a is declared twice"));
        for (entries, want) in cases {
            let err = parse(&catalog(&entries)).unwrap_err().to_string();
            assert!(err.starts_with(PATH), "{err}");
            assert!(err.contains(want), "want {want:?} in {err}");
        }
        let err = parse("components: []\ncomponent: []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `component`"), "{err}");
    }
}
