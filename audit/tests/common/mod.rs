//! The preset renderings the audit tests share: which presets exist and the
//! `helm template` arguments of each.

use e2e::umbrella as umbrella_common;

/// `helm template` arguments of a preset (`-n kubeflow -f presets/<p>.yaml …`).
pub fn preset_args(name: &str) -> Vec<String> {
    let (file, extra): (&str, &[&str]) = match name {
        // The inputs production cannot generate (admin e-mail, hash, OIDC secret).
        "production" => ("production", umbrella_common::PRODUCTION_INPUTS),
        "full+hardened" => ("full", &["--set", "global.security.preset=hardened"]),
        other => (other, &[]),
    };
    let mut args = vec!["-n".to_string(), "kubeflow".into(), "-f".into()];
    args.push(umbrella_common::preset(file).display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Every file of presets/, sorted, then `full+hardened`.
pub fn preset_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(umbrella_common::repo_root().join("presets"))
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names.push("full+hardened".into());
    names
}
