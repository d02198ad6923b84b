//! Embeds repository data the WASM sandbox cannot read at run time:
//!
//! - every `presets/<name>.yaml`: `helm kubeflow preset NAME` prints the copy
//!   taken at build time. New presets need no code change.
//! - every component chart's variants (default first), the variants that render
//!   Istio objects and the one without them (`kubeflow.meshedVariants`), and the
//!   oauth2-proxy variant each global.auth.mode needs (`kubeflow.oauth2ProxyVariant`),
//!   from `catalog/variants.json` (its structs: `kubeflow_catalog::variants`),
//!   which `cargo xtask sync` generates from the
//!   catalog together with the umbrella's tables in `_components.tpl` (so `doctor` and `enable`
//!   check variants exactly as the chart's `templates/checks.yaml` does).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(
        out_dir.join("presets.rs"),
        presets(&manifest_dir.join("../presets")),
    )
    .expect("write presets.rs");
    fs::write(
        out_dir.join("variants.rs"),
        variants(&manifest_dir.join("../catalog/variants.json")),
    )
    .expect("write variants.rs");
}

fn presets(presets_dir: &Path) -> String {
    println!("cargo:rerun-if-changed={}", presets_dir.display());

    let mut presets: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(entries) = fs::read_dir(presets_dir) {
        for entry in entries {
            let path = entry.expect("readable presets/ directory entry").path();
            if path.extension().and_then(|e| e.to_str()) == Some("yaml") {
                println!("cargo:rerun-if-changed={}", path.display());
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("preset file names are UTF-8")
                    .to_string();
                let path = path.canonicalize().expect("preset path resolves");
                presets.push((name, path));
            }
        }
    }
    presets.sort();

    let mut code = String::from("/// `(name, YAML)` of every `presets/*.yaml`, sorted by name.\npub static PRESETS: &[(&str, &str)] = &[\n");
    for (name, path) in &presets {
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    code
}

fn read(path: &Path) -> String {
    println!("cargo:rerun-if-changed={}", path.display());
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn variants(path: &Path) -> String {
    let v = kubeflow_catalog::variants::Variants::from_json(&read(path))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut charts = v.charts;
    charts.sort_by(|a, b| a.chart.cmp(&b.chart));
    let mut code = String::from(
        "/// Every component chart's `variant`: default and allowed names (the chart's\n\
         /// scenarios in catalog order), sorted by chart name.\n\
         pub static CHART_VARIANTS: &[ChartVariants] = &[\n",
    );
    for c in &charts {
        let default = c
            .variants
            .first()
            .unwrap_or_else(|| panic!("{}: chart {} has no variant", path.display(), c.chart));
        code.push_str(&format!(
            "    ChartVariants {{ chart: {:?}, default: {default:?}, variants: &{:?} }},\n",
            c.chart, c.variants
        ));
    }
    code.push_str("];\n");
    let mut meshed = v.meshed;
    meshed.sort_by(|a, b| a.chart.cmp(&b.chart));
    code.push_str(
        "/// `kubeflow.meshedVariants`: umbrella key, the variants that render Istio\n\
         /// objects, and upstream's variant without them. Sorted by key.\n\
         pub static MESHED_VARIANTS: &[MeshedVariants] = &[\n",
    );
    for row in &meshed {
        code.push_str(&format!(
            "    MeshedVariants {{ key: {:?}, meshed: &{:?}, standalone: {:?} }},\n",
            row.chart, row.meshed, row.standalone
        ));
    }
    code.push_str("];\n");
    let proxy = v
        .auth_mode_variants
        .get("oauth2-proxy")
        .unwrap_or_else(|| panic!("{}: no authModeVariants for oauth2-proxy", path.display()));
    code.push_str(
        "/// `kubeflow.oauth2ProxyVariant`: `(global.auth.mode, oauth2-proxy.variant it needs)`.\n\
         pub static OAUTH2_PROXY_VARIANT: &[(&str, &str)] = &[\n",
    );
    for (mode, variant) in &proxy.0 {
        code.push_str(&format!("    ({mode:?}, {variant:?}),\n"));
    }
    code.push_str("];\n");
    code
}
