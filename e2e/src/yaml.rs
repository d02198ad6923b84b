//! The tests' one YAML stream reader: kf-post's (`kf_post::stream`), which
//! reads streams as Helm and kustomize write them, with every check kf-post
//! makes (limits, duplicate keys, encodings, every document an object).

use serde::de::DeserializeOwned;

/// The objects of a stream (Helm's or kustomize's output, a release
/// manifest, an upstream rendering), CRD schemas parsed, each as a `T`
/// (`serde_yaml::Value`, `serde_json::Value`, a typed struct); comment-only
/// documents are left out. Panics with the problem (which document, what is
/// wrong) if the stream does not read: a test must not go on with objects
/// missing.
pub fn objects<T: DeserializeOwned>(stream: &str) -> Vec<T> {
    kf_post::stream::read_values(stream.as_bytes())
        .unwrap_or_else(|e| panic!("the YAML stream does not read: {e}"))
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            serde_yaml::from_value(value)
                .unwrap_or_else(|e| panic!("object {i} of the YAML stream: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "\
---
# Source: c/templates/empty.yaml
---
# Source: c/templates/crd.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: xs.example.com}
spec:
  group: example.com
  versions:
  - name: v1
    schema: {openAPIV3Schema: {type: object}}
---
# Source: c/templates/binding.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: b
subjects:
- kind: ServiceAccount
  name: sa
  namespace: kubeflow
";

    #[test]
    fn objects_are_every_object_with_crd_schemas_parsed() {
        let objects: Vec<serde_yaml::Value> = objects(STREAM);
        let kinds: Vec<_> = objects.iter().map(|o| o["kind"].as_str()).collect();
        assert_eq!(
            kinds,
            [Some("CustomResourceDefinition"), Some("ClusterRoleBinding")]
        );
        assert_eq!(objects[0]["spec"]["versions"][0]["name"], "v1");
        let json: Vec<serde_json::Value> = super::objects(STREAM);
        assert_eq!(json[1]["subjects"][0]["namespace"], "kubeflow");
    }

    #[test]
    #[should_panic(expected = "the YAML stream does not read")]
    fn a_stream_that_does_not_read_panics() {
        objects::<serde_yaml::Value>("apiVersion: v1\nkind: ConfigMap\nmetadata: [\n");
    }

    #[test]
    fn docs_name_source_kind_namespace_and_name() {
        let docs = crate::umbrella::docs(STREAM);
        let got: Vec<_> = docs
            .iter()
            .map(|d| {
                (
                    d.source.as_str(),
                    d.kind.as_str(),
                    d.namespace.as_str(),
                    d.name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "c/templates/crd.yaml",
                    "CustomResourceDefinition",
                    "",
                    "xs.example.com"
                ),
                // The subject's namespace is not the binding's.
                ("c/templates/binding.yaml", "ClusterRoleBinding", "", "b"),
            ]
        );
        assert!(docs[0].text.starts_with("# Source: c/templates/crd.yaml\n"));
        assert!(docs[0].text.contains("openAPIV3Schema"));
    }
}
