//! The published JSON Schema of `PostRenderConfig`
//! (`schema/postrenderconfig.schema.json`) is the one generated from the
//! config types: regenerate it with
//! `KF_POST_WRITE_SCHEMA=1 cargo test -p kf-post --test schema`.

use std::path::Path;

#[test]
fn published_schema_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/postrenderconfig.schema.json");
    let generated = kf_post::config::json_schema();
    if std::env::var_os("KF_POST_WRITE_SCHEMA").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    // Compared as JSON values: key order depends on serde_json's
    // `preserve_order`, which `cargo test --workspace` turns on through
    // another member's dependencies.
    let published: Option<serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    assert!(
        published.as_ref() == Some(&generated),
        "{} differs from the schema generated from the config types; regenerate it with \
         KF_POST_WRITE_SCHEMA=1 cargo test -p kf-post --test schema",
        path.display()
    );
}

#[test]
fn schema_describes_every_transform_and_refuses_unknown_fields() {
    let schema = kf_post::config::json_schema();
    let spec = &schema["properties"]["spec"];
    let sections: Vec<&str> = spec["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for section in [
        "namespace",
        "profiles",
        "certificates",
        "auth",
        "istio",
        "security",
        "images",
        "labels",
        "helm4",
    ] {
        assert!(
            sections.contains(&section),
            "{section} missing: {sections:?}"
        );
    }
    assert_eq!(spec["additionalProperties"], false);
    // Every object type in the schema refuses unknown fields, as kf-post does.
    for (name, def) in schema["$defs"].as_object().unwrap() {
        if def.get("properties").is_some() {
            assert_eq!(def["additionalProperties"], false, "{name}");
        }
    }
    let modes = |def: &str| -> Vec<String> {
        schema["$defs"][def]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{def}: {schema}"))
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(modes("IstioMode"), ["off", "sidecar", "ambient"]);
    assert_eq!(
        modes("AuthMode"),
        ["dex-oauth2-proxy", "oidc", "m2m-kind", "m2m-eks", "none"]
    );
    assert_eq!(
        spec["properties"]["auth"]["$ref"], "#/$defs/AuthConfig",
        "{spec}"
    );
}
