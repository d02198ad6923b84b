//! Embeds every `presets/<name>.yaml` of the repository into the plugin: the
//! WASM sandbox cannot read the user's files, so `helm kubeflow preset NAME`
//! prints the copy taken at build time. New presets need no code change.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let presets_dir = manifest_dir.join("../presets");
    println!("cargo:rerun-if-changed={}", presets_dir.display());

    let mut presets: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(entries) = fs::read_dir(&presets_dir) {
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
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("presets.rs");
    fs::write(out, code).expect("write presets.rs");
}
