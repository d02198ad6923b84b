//! The component catalog (`catalog/components.yaml`), embedded at build time.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The catalog file exactly as committed; `components --output yaml` prints it.
pub const CATALOG_YAML: &str = include_str!("../../catalog/components.yaml");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub components: Vec<Component>,
}

/// A component's facts. The catalog's chart-generator fields (scenarios,
/// credentials, chartValues, fields, variables, standaloneVariant, authModeVariants) are not
/// read here; xtask parses the whole entry strictly (`deny_unknown_fields`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Chart name (directory under `charts/`).
    pub name: String,
    /// Key (alias) in the umbrella chart: the chart name (set by `Catalog::parse`).
    #[serde(skip_deserializing)]
    pub key: String,
    pub description: String,
    pub version: String,
    /// The umbrella group tag that decides when `<key>.enabled` is unset.
    pub tag: String,
    pub groups: Vec<String>,
    /// On in upstream's `example`.
    pub default: bool,
    /// Hard dependencies (chart names).
    pub requires: Vec<String>,
    /// Soft dependencies (chart names).
    pub recommends: Vec<String>,
    /// Served behind the Kubeflow Istio gateway when `global.istio.enabled`.
    #[serde(default)]
    pub gateway: bool,
    pub namespaces: Vec<String>,
    pub upstream: Upstream,
    pub footprint: Footprint,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub overlay: String,
    pub rendered: String,
}

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

/// Components a gateway app needs while `global.istio.enabled` (umbrella checks.yaml).
pub const GATEWAY_NEEDS: [&str; 3] = ["istio-crds", "istio", "kubeflow-istio-resources"];

impl Catalog {
    /// The embedded catalog. It is validated by unit tests, so a parse failure
    /// here means the binary was built from a broken catalog.
    pub fn embedded() -> Catalog {
        Catalog::parse(CATALOG_YAML)
            .expect("catalog/components.yaml is validated by the crate's tests")
    }

    pub fn parse(yaml: &str) -> Result<Catalog> {
        let mut catalog: Catalog = serde_yaml::from_str(yaml)
            .map_err(|e| Error::new(format!("catalog/components.yaml: {e}")))?;
        for c in &mut catalog.components {
            c.key = c.name.clone();
        }
        catalog.validate()?;
        Ok(catalog)
    }

    fn validate(&self) -> Result<()> {
        for c in &self.components {
            if !c.groups.contains(&c.tag) {
                return Err(Error::new(format!(
                    "catalog/components.yaml: component {}: tag {:?} is not one of its groups {:?}",
                    c.name, c.tag, c.groups
                )));
            }
            for dep in c.requires.iter().chain(&c.recommends) {
                if self.by_name(dep).is_none() {
                    return Err(Error::new(format!(
                        "catalog/components.yaml: component {}: unknown dependency {dep:?}",
                        c.name
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn by_name(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    pub fn by_key(&self, key: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.key == key)
    }

    /// A component named on the command line: chart name or umbrella key.
    pub fn lookup(&self, word: &str) -> Result<&Component> {
        self.by_name(word)
            .or_else(|| self.by_key(word))
            .ok_or_else(|| {
                let known: Vec<&str> = self.components.iter().map(|c| c.name.as_str()).collect();
                Error::new(format!(
                    "unknown component {word:?}; known components (chart name or umbrella key): {}",
                    known.join(", ")
                ))
            })
    }

    /// What `c` needs in the current configuration: its hard requirements plus
    /// the gateway trio when it is served behind the Kubeflow gateway
    /// (`gateway_variant`: its variant, from `Values::gateway_variant`).
    pub fn needs<'a>(
        &'a self,
        c: &'a Component,
        gateway_variant: Option<&str>,
    ) -> Vec<(&'a Component, String)> {
        let mut out: Vec<(&Component, String)> = Vec::new();
        for dep in &c.requires {
            if let Some(d) = self.by_name(dep) {
                out.push((d, format!("{} requires {}", c.name, d.name)));
            }
        }
        if let Some(variant) = gateway_variant {
            for dep in GATEWAY_NEEDS {
                if let Some(d) = self.by_name(dep) {
                    if !out.iter().any(|(o, _)| o.name == d.name) {
                        out.push((
                            d,
                            format!("{} (variant {variant}) is served behind the Kubeflow gateway (global.istio.enabled=true), which needs {}", c.name, d.name),
                        ));
                    }
                }
            }
        }
        out
    }

    pub fn default_footprint(&self) -> Footprint {
        self.components
            .iter()
            .filter(|c| c.default)
            .fold(Footprint::default(), |acc, c| acc + c.footprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses_and_names_every_architecture_component() {
        let catalog = Catalog::parse(CATALOG_YAML).unwrap();
        // The architecture table of docs/architecture.md: 29 charts.
        assert_eq!(catalog.components.len(), 29);
        for (name, key) in [
            ("cert-manager", "cert-manager"),
            ("katib", "katib"),
            ("model-registry", "model-registry"),
        ] {
            assert_eq!(catalog.by_name(name).unwrap().key, key);
        }
    }

    #[test]
    fn lookup_accepts_chart_name_and_key_and_rejects_typos() {
        let catalog = Catalog::embedded();
        assert_eq!(
            catalog.lookup("jupyter-web-app").unwrap().key,
            "jupyter-web-app"
        );
        assert_eq!(
            catalog.lookup("jupyter-web-app").unwrap().name,
            "jupyter-web-app"
        );
        let err = catalog.lookup("katb").unwrap_err().to_string();
        assert!(
            err.contains("unknown component \"katb\"") && err.contains("katib"),
            "{err}"
        );
    }

    #[test]
    fn validation_rejects_unknown_dependencies_and_foreign_tags() {
        let cases = [
            ("requires: [nope]", "unknown dependency \"nope\""),
            ("tag: other", "tag \"other\" is not one of its groups"),
        ];
        for (line, want) in cases {
            let yaml = format!(
                "components:\n- name: a\n  key: a\n  description: d\n  version: v\n  groups: [core]\n  default: true\n  recommends: []\n  namespaces: []\n  upstream: {{overlay: o, rendered: r}}\n  footprint: {{cpuMillicores: 0, memoryMiB: 0, storageGiB: 0}}\n  {}\n  {}\n",
                if line.starts_with("tag") { line } else { "tag: core" },
                if line.starts_with("requires") { line } else { "requires: []" },
            );
            let err = Catalog::parse(&yaml).unwrap_err().to_string();
            assert!(err.contains(want), "{line}: {err}");
        }
    }

    #[test]
    fn gateway_apps_need_the_istio_trio_only_behind_the_gateway() {
        let catalog = Catalog::embedded();
        let jwa = catalog.by_name("jupyter-web-app").unwrap();
        let names = |behind: bool| {
            catalog
                .needs(jwa, behind.then_some("istio"))
                .iter()
                .map(|(c, _)| c.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(false), ["kubeflow-namespace", "notebook-controller"]);
        assert_eq!(
            names(true),
            [
                "kubeflow-namespace",
                "notebook-controller",
                "istio-crds",
                "istio",
                "kubeflow-istio-resources"
            ]
        );
    }
}
