//! `components`: the catalog as a table, YAML, JSON or a mermaid graph.

use crate::catalog::{Catalog, Footprint, CATALOG_YAML};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Yaml,
    Json,
    Mermaid,
    Markdown,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "table" => Ok(Format::Table),
            "yaml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            "mermaid" => Ok(Format::Mermaid),
            "markdown" => Ok(Format::Markdown),
            other => Err(Error::new(format!(
                "--output {other:?}: expected table, yaml, json, mermaid or markdown"
            ))),
        }
    }
}

pub fn render(catalog: &Catalog, format: Format) -> Result<String> {
    match format {
        Format::Table => Ok(table(catalog)),
        Format::Yaml => Ok(CATALOG_YAML.to_string()),
        Format::Json => serde_json::to_string_pretty(catalog)
            .map(|s| s + "\n")
            .map_err(|e| Error::new(format!("serializing the catalog: {e}"))),
        Format::Mermaid => Ok(mermaid(catalog)),
        Format::Markdown => Ok(markdown(catalog)),
    }
}

/// docs/components.md (`helm kubeflow components -o markdown`).
fn markdown(catalog: &Catalog) -> String {
    let mut out = String::from(
        "# Components\n\n<!-- Generated from catalog/components.yaml by `helm kubeflow components -o markdown`; do not edit. -->\n\n\
         Every component of the platform, its umbrella key (`<key>.enabled`), the group tag that switches it\n\
         when `<key>.enabled` is unset, whether upstream's `example` (= `presets/full.yaml`) includes it,\n\
         and its footprint: the sum of upstream's resource requests (plus the Istio sidecar) and PVC sizes,\n\
         a lower bound (upstream measures about 4.4 CPU, 12.3 GiB, 65 GB for the platform).\n\
         *Requires* are hard dependencies; *(gateway)* means it also needs istio-crds, istio and\n\
         kubeflow-istio-resources while `global.istio.enabled`. `helm kubeflow enable` switches all of them on.\n\n\
         | component | key | tag | default | CPU | memory | storage | namespaces | requires | recommends | version |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in &catalog.components {
        let mut requires = c.requires.join(", ");
        if c.gateway {
            requires.push_str(if requires.is_empty() {
                "(gateway)"
            } else {
                ", (gateway)"
            });
        }
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {}Mi | {}Gi | {} | {} | {} | {} |\n",
            c.chart,
            c.key,
            c.tag,
            if c.default { "yes" } else { "no" },
            cpu(&c.footprint),
            c.footprint.memory_mib,
            c.footprint.storage_gib,
            c.namespaces.join(", "),
            requires,
            c.recommends.join(", "),
            c.upstream_version
        ));
    }
    let t = catalog.default_footprint();
    out.push_str(&format!(
        "| **default platform** | | | | **{}** | **{}Mi** | **{}Gi** | | | | |\n\n",
        cpu(&t),
        t.memory_mib,
        t.storage_gib
    ));
    out.push_str(
        "## Dependency graph\n\nSolid arrows: requires; dotted: recommends.\n\n```mermaid\n",
    );
    out.push_str(&mermaid(catalog));
    out.push_str("```\n");
    out
}

fn cpu(f: &Footprint) -> String {
    format!("{}m", f.cpu_millicores)
}

fn table(catalog: &Catalog) -> String {
    let header = [
        "COMPONENT",
        "KEY",
        "TAG",
        "DEFAULT",
        "VARIANT",
        "CPU",
        "MEMORY",
        "STORAGE",
        "NAMESPACES",
        "REQUIRES",
    ];
    let mut rows: Vec<Vec<String>> = catalog
        .components
        .iter()
        .map(|c| {
            let mut requires = c.requires.join(",");
            if c.gateway {
                requires.push_str(if requires.is_empty() {
                    "(gateway)"
                } else {
                    ",(gateway)"
                });
            }
            vec![
                c.chart.clone(),
                c.key.clone(),
                c.tag.clone(),
                if c.default { "yes" } else { "no" }.to_string(),
                variant_cell(&c.chart),
                cpu(&c.footprint),
                format!("{}Mi", c.footprint.memory_mib),
                format!("{}Gi", c.footprint.storage_gib),
                if c.namespaces.is_empty() {
                    "-".to_string()
                } else {
                    c.namespaces.join(",")
                },
                if requires.is_empty() {
                    "-".to_string()
                } else {
                    requires
                },
            ]
        })
        .collect();
    let total = catalog.default_footprint();
    rows.push(vec![
        "TOTAL (default)".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        cpu(&total),
        format!("{}Mi", total.memory_mib),
        format!("{}Gi", total.storage_gib),
        String::new(),
        String::new(),
    ]);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    out.push_str("\nVARIANT = the chart's default <key>.variant (+ how many others it offers; a bad one makes `helm kubeflow doctor` list them).\n(gateway) = in its default variant it needs istio-crds, istio, kubeflow-istio-resources while global.istio.enabled; its standalone variant does not.\nFootprint = upstream resource requests (+ Istio sidecar) and PVC sizes; a lower bound.\n");
    out
}

/// The chart's default variant and how many others it has: `with-kubeflow (+6)`.
fn variant_cell(chart: &str) -> String {
    match crate::variants::chart(chart) {
        None => "-".to_string(),
        Some(v) if v.variants.len() <= 1 => v.default.to_string(),
        Some(v) => format!("{} (+{})", v.default, v.variants.len() - 1),
    }
}

/// Solid arrows: hard requirements; dotted: recommendations. Grouped by tag.
fn mermaid(catalog: &Catalog) -> String {
    let id = |name: &str| name.replace('-', "_");
    let mut out = String::from("graph LR\n");
    let tags: Vec<&str> = catalog.components.iter().map(|c| c.tag.as_str()).collect();
    let mut seen = Vec::new();
    for tag in tags {
        if seen.contains(&tag) {
            continue;
        }
        seen.push(tag);
        out.push_str(&format!("  subgraph tag_{}[\"tags.{tag}\"]\n", id(tag)));
        for c in catalog.components.iter().filter(|c| c.tag == tag) {
            let style = if c.default { "" } else { " (optional)" };
            out.push_str(&format!("    {}[\"{}{}\"]\n", id(&c.chart), c.chart, style));
        }
        out.push_str("  end\n");
    }
    for c in &catalog.components {
        for r in &c.requires {
            out.push_str(&format!("  {} --> {}\n", id(&c.chart), id(r)));
        }
        for r in &c.recommends {
            out.push_str(&format!("  {} -.-> {}\n", id(&c.chart), id(r)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_mentions_every_component() {
        let catalog = Catalog::embedded();
        for format in [
            Format::Table,
            Format::Yaml,
            Format::Json,
            Format::Mermaid,
            Format::Markdown,
        ] {
            let text = render(&catalog, format).unwrap();
            for c in &catalog.components {
                assert!(text.contains(&c.chart), "{format:?} misses {}", c.chart);
            }
        }
    }

    #[test]
    fn table_totals_the_default_platform() {
        let catalog = Catalog::embedded();
        let t = catalog.default_footprint();
        let text = render(&catalog, Format::Table).unwrap();
        let total = text
            .lines()
            .find(|l| l.starts_with("TOTAL (default)"))
            .unwrap();
        let want = format!(
            "{}m  {}Mi  {}Gi",
            t.cpu_millicores, t.memory_mib, t.storage_gib
        );
        assert!(
            total
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("  ")
                .ends_with(&want),
            "{total}"
        );
        let katib = text.lines().find(|l| l.starts_with("katib ")).unwrap();
        assert!(
            katib.contains("cert-manager,kubeflow-namespace,(gateway)"),
            "{katib}"
        );
        let others = crate::variants::chart("katib").unwrap().variants.len() - 1;
        assert!(
            katib.contains(&format!(" with-kubeflow (+{others}) ")),
            "{katib}"
        );
        let crds = text.lines().find(|l| l.starts_with("istio-crds ")).unwrap();
        assert!(crds.contains(" base "), "{crds}");
    }

    #[test]
    fn json_round_trips_and_mermaid_draws_both_edge_kinds() {
        let catalog = Catalog::embedded();
        let json: serde_json::Value =
            serde_json::from_str(&render(&catalog, Format::Json).unwrap()).unwrap();
        assert_eq!(
            json["components"].as_array().unwrap().len(),
            catalog.components.len()
        );
        assert_eq!(json["components"][0]["footprint"]["memoryMiB"], 0);
        let m = render(&catalog, Format::Mermaid).unwrap();
        assert!(m.starts_with("graph LR\n"));
        assert!(m.contains("  models_web_app --> kserve\n"), "{m}");
        assert!(m.contains("  kserve -.-> knative_serving\n"), "{m}");
        assert!(
            m.contains("model_registry[\"model-registry (optional)\"]"),
            "{m}"
        );
    }

    /// docs/components.md is this output; regenerate with
    /// `UPDATE_DOCS=1 cargo test -p helm-kubeflow docs_components`.
    #[test]
    fn docs_components_md_is_generated_from_the_catalog() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/components.md");
        let want = render(&Catalog::embedded(), Format::Markdown).unwrap();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "docs/components.md is stale: UPDATE_DOCS=1 cargo test -p helm-kubeflow docs_components");
    }

    #[test]
    fn unknown_format_is_an_error() {
        assert_eq!(
            Format::parse("xml").unwrap_err().to_string(),
            "--output \"xml\": expected table, yaml, json, mermaid or markdown"
        );
    }
}
