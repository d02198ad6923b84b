//! The catalog and the umbrella chart must agree: the chart's Helm templates
//! cannot read catalog/components.yaml, so its component table
//! (`kubeflow.componentTags`, `kubeflow.requires`, `kubeflow.meshedVariants` in
//! charts/kubeflow/templates/_components.tpl) is a second copy checked here.

use std::collections::BTreeMap;

use helm_kubeflow::catalog::Catalog;

/// The body of `{{- define "NAME" -}} ... {{- end }}`.
fn define<'a>(tpl: &'a str, name: &str) -> &'a str {
    let start = tpl
        .find(&format!("define \"{name}\""))
        .unwrap_or_else(|| panic!("{name} not in _components.tpl"));
    let body = &tpl[start..];
    let body = &body[body.find("}}").unwrap() + 2..];
    &body[..body.find("{{- end").unwrap()]
}

fn tpl() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/kubeflow/templates/_components.tpl");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_map(body: &str) -> BTreeMap<String, Vec<String>> {
    serde_yaml::from_str(body).unwrap()
}

#[test]
fn tags_agree_with_the_umbrella_chart() {
    let catalog = Catalog::embedded();
    let tags = yaml_map(define(&tpl(), "kubeflow.componentTags"));
    let ours: BTreeMap<String, Vec<String>> = catalog
        .components
        .iter()
        .map(|c| (c.key.clone(), vec![c.tag.clone()]))
        .collect();
    assert_eq!(ours, tags);
}

#[test]
fn hard_requirements_agree_with_the_umbrella_chart() {
    let catalog = Catalog::embedded();
    let theirs = yaml_map(define(&tpl(), "kubeflow.requires"));
    let ours: BTreeMap<String, Vec<String>> = catalog
        .components
        .iter()
        .filter(|c| !c.requires.is_empty())
        .map(|c| {
            let mut keys: Vec<String> = c
                .requires
                .iter()
                .map(|r| catalog.by_name(r).unwrap().key.clone())
                .collect();
            keys.sort();
            (c.key.clone(), keys)
        })
        .collect();
    let theirs: BTreeMap<String, Vec<String>> = theirs
        .into_iter()
        .map(|(k, mut v)| {
            v.sort();
            (k, v)
        })
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
fn gateway_apps_agree_with_the_umbrella_chart() {
    let catalog = Catalog::embedded();
    // Components whose (default, meshed) variants render Istio objects.
    let meshed: BTreeMap<String, serde_yaml::Value> =
        serde_yaml::from_str(define(&tpl(), "kubeflow.meshedVariants")).unwrap();
    let theirs: Vec<String> = meshed.into_keys().collect();
    let mut ours: Vec<String> = catalog
        .components
        .iter()
        .filter(|c| c.gateway)
        .map(|c| c.key.clone())
        .collect();
    ours.sort();
    assert_eq!(ours, theirs);
}
