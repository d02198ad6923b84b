//! Embeds repository data the WASM sandbox cannot read at run time:
//!
//! - every `presets/<name>.yaml`: `helm kubeflow preset NAME` prints the copy
//!   taken at build time. New presets need no code change.
//! - every component chart's `variant` values: the names its
//!   `charts/<chart>/values.schema.json` allows (= the chart's scenarios in
//!   xtask/components.yaml) and the default of its `values.yaml`.
//! - the umbrella chart's variant tables from
//!   `charts/kubeflow/templates/_components.tpl` (`kubeflow.meshedVariants`,
//!   `kubeflow.oauth2ProxyVariant`), so `doctor` and `enable` check variants
//!   exactly as the chart's `templates/checks.yaml` does.

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
        variants(&manifest_dir.join("../charts")),
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

/// The body of `{{- define "NAME" -}} ... {{- end }}` in a template file.
fn define<'a>(tpl: &'a str, name: &str) -> &'a str {
    let start = tpl
        .find(&format!("define \"{name}\""))
        .unwrap_or_else(|| panic!("_components.tpl: no define {name:?}"));
    let body = &tpl[start..];
    let body = &body[body.find("}}").expect("define closes") + 2..];
    &body[..body.find("{{- end").expect("define has an end")]
}

fn variants(charts_dir: &Path) -> String {
    println!("cargo:rerun-if-changed={}", charts_dir.display());
    let mut charts: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(charts_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", charts_dir.display()))
        .map(|e| e.expect("readable charts/ entry").path())
        .filter(|p| p.join("values.schema.json").is_file() && p.join("values.yaml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let chart = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("chart directory names are UTF-8")
            .to_string();
        let schema_path = dir.join("values.schema.json");
        let schema: serde_json::Value = serde_json::from_str(&read(&schema_path))
            .unwrap_or_else(|e| panic!("{}: {e}", schema_path.display()));
        // The umbrella chart (charts/kubeflow) has no `variant` value.
        let Some(allowed) = schema.pointer("/properties/variant/enum") else {
            continue;
        };
        let allowed: Vec<String> = allowed
            .as_array()
            .unwrap_or_else(|| panic!("{}: variant enum is not a list", schema_path.display()))
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| panic!("{}: non-string variant", schema_path.display()))
                    .to_string()
            })
            .collect();
        let values_path = dir.join("values.yaml");
        let values: serde_yaml::Value = serde_yaml::from_str(&read(&values_path))
            .unwrap_or_else(|e| panic!("{}: {e}", values_path.display()));
        let default = values
            .get("variant")
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{}: no string `variant`", values_path.display()))
            .to_string();
        assert!(
            allowed.contains(&default),
            "{}: default variant {default:?} is not in its schema's enum {allowed:?}",
            values_path.display()
        );
        charts.push((chart, default, allowed));
    }

    let mut code = String::from(
        "/// Every component chart's `variant`: default (values.yaml) and allowed names\n\
         /// (values.schema.json, in the chart's order), sorted by chart name.\n\
         pub static CHART_VARIANTS: &[ChartVariants] = &[\n",
    );
    for (chart, default, allowed) in &charts {
        code.push_str(&format!(
            "    ChartVariants {{ chart: {chart:?}, default: {default:?}, variants: &{allowed:?} }},\n"
        ));
    }
    code.push_str("];\n");

    let tpl = read(&charts_dir.join("kubeflow/templates/_components.tpl"));
    #[derive(serde::Deserialize)]
    struct MeshedRow {
        meshed: Vec<String>,
        standalone: String,
    }
    let meshed: std::collections::BTreeMap<String, MeshedRow> =
        serde_yaml::from_str(define(&tpl, "kubeflow.meshedVariants"))
            .unwrap_or_else(|e| panic!("_components.tpl kubeflow.meshedVariants: {e}"));
    code.push_str(
        "/// `kubeflow.meshedVariants`: umbrella key, the variants that render Istio\n\
         /// objects, and upstream's variant without them. Sorted by key.\n\
         pub static MESHED_VARIANTS: &[MeshedVariants] = &[\n",
    );
    for (key, row) in &meshed {
        code.push_str(&format!(
            "    MeshedVariants {{ key: {key:?}, meshed: &{:?}, standalone: {:?} }},\n",
            row.meshed, row.standalone
        ));
    }
    code.push_str("];\n");

    let proxy: std::collections::BTreeMap<String, String> =
        serde_yaml::from_str(define(&tpl, "kubeflow.oauth2ProxyVariant"))
            .unwrap_or_else(|e| panic!("_components.tpl kubeflow.oauth2ProxyVariant: {e}"));
    code.push_str(
        "/// `kubeflow.oauth2ProxyVariant`: `(global.auth.mode, oauth2-proxy.variant it needs)`.\n\
         pub static OAUTH2_PROXY_VARIANT: &[(&str, &str)] = &[\n",
    );
    for (mode, variant) in &proxy {
        code.push_str(&format!("    ({mode:?}, {variant:?}),\n"));
    }
    code.push_str("];\n");
    code
}
