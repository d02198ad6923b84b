//! The component catalog (`catalog/components.yaml`), embedded at build time.

use serde::Serialize;

use crate::error::{Error, Result};

pub use kubeflow_catalog::{Component, Footprint, GATEWAY_NEEDS};

/// The catalog file exactly as committed; `components --output yaml` prints it.
pub const CATALOG_YAML: &str = include_str!("../../catalog/components.yaml");

/// The catalog's components (their facts: the chart-generator keys of an entry are
/// xtask's, which reads them strictly).
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub components: Vec<Component>,
}

impl Catalog {
    /// The embedded catalog. It is validated by unit tests, so a parse failure
    /// here means the binary was built from a broken catalog.
    pub fn embedded() -> Catalog {
        Catalog::parse(CATALOG_YAML)
            .expect("catalog/components.yaml is validated by the crate's tests")
    }

    pub fn parse(yaml: &str) -> Result<Catalog> {
        let entries = kubeflow_catalog::parse(yaml).map_err(|e| Error::new(e.to_string()))?;
        Ok(Catalog {
            components: entries.into_iter().map(|e| e.component).collect(),
        })
    }

    pub fn by_name(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.chart == name)
    }

    pub fn by_key(&self, key: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.key == key)
    }

    /// A component named on the command line: chart name or umbrella key.
    pub fn lookup(&self, word: &str) -> Result<&Component> {
        self.by_name(word)
            .or_else(|| self.by_key(word))
            .ok_or_else(|| {
                let known: Vec<&str> = self.components.iter().map(|c| c.chart.as_str()).collect();
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
                out.push((d, format!("{} requires {}", c.chart, d.chart)));
            }
        }
        if let Some(variant) = gateway_variant {
            for dep in GATEWAY_NEEDS {
                if let Some(d) = self.by_name(dep) {
                    if !out.iter().any(|(o, _)| o.chart == d.chart) {
                        out.push((
                            d,
                            format!("{} (variant {variant}) is served behind the Kubeflow gateway (global.istio.enabled=true), which needs {}", c.chart, d.chart),
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
            catalog.lookup("jupyter-web-app").unwrap().chart,
            "jupyter-web-app"
        );
        let err = catalog.lookup("katb").unwrap_err().to_string();
        assert!(
            err.contains("unknown component \"katb\"") && err.contains("katib"),
            "{err}"
        );
    }

    #[test]
    fn gateway_apps_need_the_istio_trio_only_behind_the_gateway() {
        let catalog = Catalog::embedded();
        let jwa = catalog.by_name("jupyter-web-app").unwrap();
        let names = |behind: bool| {
            catalog
                .needs(jwa, behind.then_some("istio"))
                .iter()
                .map(|(c, _)| c.chart.clone())
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
