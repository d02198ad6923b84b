//! CustomResourceDefinitions in generated charts: the schema `description`s are
//! stripped from the templated copy (they are half of every CRD's bytes, and every
//! templated byte is stored in the release Secret, limited to 1 MiB), while the full
//! upstream CRDs are published under `crds/<chart>/` for users who apply CRDs
//! themselves (`crds.install: false`).

use serde_yaml::Value;

/// Keywords whose value is one schema.
const SCHEMA: &[&str] = &["not", "additionalProperties", "additionalItems"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LIST: &[&str] = &["allOf", "anyOf", "oneOf"];
/// Keywords whose value maps names (property names, never keywords) to schemas.
const SCHEMA_MAP: &[&str] = &[
    "properties",
    "patternProperties",
    "definitions",
    "dependencies",
];

/// Remove `description` from one OpenAPI v3 schema object and every schema nested in
/// it (through the keywords above and `items`). Only schema objects lose it: a
/// *property* named `description` (a key of `properties`) stays, and so do values
/// of `default`, `example` and `enum`, which are data. Returns how many were removed.
pub fn strip_schema_descriptions(schema: &mut Value) -> usize {
    let Value::Mapping(m) = schema else {
        return 0;
    };
    let mut n = usize::from(m.remove("description").is_some());
    for (k, v) in m.iter_mut() {
        let Some(k) = k.as_str() else { continue };
        if SCHEMA.contains(&k) {
            n += strip_schema_descriptions(v);
        } else if k == "items" || SCHEMA_LIST.contains(&k) {
            match v {
                Value::Sequence(list) => {
                    n += list
                        .iter_mut()
                        .map(strip_schema_descriptions)
                        .sum::<usize>()
                }
                other => n += strip_schema_descriptions(other),
            }
        } else if SCHEMA_MAP.contains(&k) {
            if let Value::Mapping(named) = v {
                n += named
                    .values_mut()
                    .map(strip_schema_descriptions)
                    .sum::<usize>();
            }
        }
    }
    n
}

/// Strip the schema descriptions of every version of a CRD (`apiextensions.k8s.io/v1`
/// `spec.versions[].schema.openAPIV3Schema`; v1beta1's `spec.validation` too).
pub fn strip_crd_descriptions(crd: &mut Value) -> usize {
    let Some(Value::Mapping(spec)) = crd.get_mut("spec") else {
        return 0;
    };
    let mut n = 0;
    if let Some(Value::Sequence(versions)) = spec.get_mut("versions") {
        for v in versions {
            if let Some(s) = v
                .get_mut("schema")
                .and_then(|s| s.get_mut("openAPIV3Schema"))
            {
                n += strip_schema_descriptions(s);
            }
        }
    }
    if let Some(s) = spec
        .get_mut("validation")
        .and_then(|s| s.get_mut("openAPIV3Schema"))
    {
        n += strip_schema_descriptions(s);
    }
    n
}

/// The CRD with its schema descriptions stripped (a copy).
pub fn stripped(crd: &Value) -> Value {
    let mut c = crd.clone();
    strip_crd_descriptions(&mut c);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::test_yaml as y;

    #[test]
    fn only_schema_descriptions_are_removed() {
        // (schema, expected after stripping, removed)
        let cases = [
            ("{type: string, description: d}", "{type: string}", 1),
            // A property named `description` stays; its own description goes.
            (
                "{type: object, description: d, properties: {description: {type: string, description: text}}}",
                "{type: object, properties: {description: {type: string}}}",
                2,
            ),
            // items (schema and list), additionalProperties, allOf/anyOf/oneOf, not.
            (
                "{type: array, items: {description: a, type: string}}",
                "{type: array, items: {type: string}}",
                1,
            ),
            (
                "{items: [{description: a}, {description: b}]}",
                "{items: [{}, {}]}",
                2,
            ),
            (
                "{additionalProperties: {description: a, type: integer}, not: {description: n}}",
                "{additionalProperties: {type: integer}, not: {}}",
                2,
            ),
            (
                "{additionalProperties: true, anyOf: [{description: x}], oneOf: [{type: string, description: y}], allOf: [{description: z}]}",
                "{additionalProperties: true, anyOf: [{}], oneOf: [{type: string}], allOf: [{}]}",
                3,
            ),
            (
                "{patternProperties: {'^x': {description: p}}, definitions: {d: {description: q}}}",
                "{patternProperties: {'^x': {}}, definitions: {d: {}}}",
                2,
            ),
            // Data stays data: default, example, enum values keep a `description` key.
            (
                "{type: object, default: {description: keep}, example: {description: keep}, enum: [{description: keep}]}",
                "{type: object, default: {description: keep}, example: {description: keep}, enum: [{description: keep}]}",
                0,
            ),
            // x-kubernetes-* extensions are not schemas.
            (
                "{x-kubernetes-validations: [{rule: self > 0, message: m}], description: d}",
                "{x-kubernetes-validations: [{rule: self > 0, message: m}]}",
                1,
            ),
        ];
        for (input, want, removed) in cases {
            let mut v = y(input);
            assert_eq!(strip_schema_descriptions(&mut v), removed, "{input}");
            assert_eq!(v, y(want), "{input}");
        }
    }

    #[test]
    fn every_crd_version_is_stripped_and_printer_columns_kept() {
        let mut crd = y("
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: xs.example.com, annotations: {description: kept}}
spec:
  versions:
  - name: v1
    additionalPrinterColumns: [{name: Age, type: date, jsonPath: .metadata.creationTimestamp, description: kept}]
    schema: {openAPIV3Schema: {description: top, type: object, properties: {spec: {description: s, type: object}}}}
  - name: v2
    schema: {openAPIV3Schema: {description: top, type: object}}
");
        assert_eq!(strip_crd_descriptions(&mut crd), 3);
        assert_eq!(crd["metadata"]["annotations"]["description"], y("kept"));
        assert_eq!(
            crd["spec"]["versions"][0]["additionalPrinterColumns"][0]["description"],
            y("kept")
        );
        assert_eq!(
            crd["spec"]["versions"][0]["schema"],
            y("{openAPIV3Schema: {type: object, properties: {spec: {type: object}}}}")
        );
    }
}
