//! Kubernetes label selectors (`matchLabels` + `matchExpressions`), used for
//! Service→Pod, NetworkPolicy peer and admission webhook matching.

use crate::stream::{at, Object};
use serde_yaml::Value;
use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

/// Reads a `map[string]string` such as `metadata.labels`; non-string values are
/// stringified the way the API server would reject them, so they never match.
pub fn labels(value: Option<&Value>) -> Labels {
    value
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// A `LabelSelector`. `None` (absent) and `{}` both select everything, as in
/// NetworkPolicy `podSelector`.
pub fn matches(selector: Option<&Value>, labels: &Labels) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let exact = self::labels(selector.get("matchLabels"));
    if exact.iter().any(|(k, v)| labels.get(k) != Some(v)) {
        return false;
    }
    let exprs = selector
        .get("matchExpressions")
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    exprs.iter().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_sequence)
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let have = labels.get(key).map(String::as_str);
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => !have.is_some_and(|h| values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            // An unknown operator is invalid and the API server rejects the object;
            // matching nothing keeps the audit conservative.
            _ => false,
        }
    })
}

/// Checks a `LabelSelector` the way the API server validates one, so that an
/// invalid selector is reported instead of silently matching nothing. The error
/// names the field below the selector (`matchExpressions[1].operator: …`).
pub fn check(selector: Option<&Value>) -> Result<(), String> {
    let Some(selector) = selector else {
        return Ok(());
    };
    for (i, e) in crate::stream::seq_at(selector, &["matchExpressions"])
        .iter()
        .enumerate()
    {
        let values = e
            .get("values")
            .and_then(Value::as_sequence)
            .map_or(0, Vec::len);
        match e.get("operator").and_then(Value::as_str) {
            Some("In" | "NotIn") if values == 0 => {
                return Err(format!(
                    "matchExpressions[{i}].values: must be non-empty for In and NotIn"
                ))
            }
            Some("Exists" | "DoesNotExist") if values > 0 => {
                return Err(format!(
                    "matchExpressions[{i}].values: must be empty for Exists and DoesNotExist"
                ))
            }
            Some("In" | "NotIn" | "Exists" | "DoesNotExist") => {}
            other => {
                return Err(format!(
                    "matchExpressions[{i}].operator: {other:?} is not In, NotIn, Exists or DoesNotExist"
                ))
            }
        }
    }
    Ok(())
}

/// Labels of every Namespace of the stream, with the
/// `kubernetes.io/metadata.name` label the API server adds to each one.
pub fn namespace_labels(objects: &[Object]) -> BTreeMap<String, Labels> {
    objects
        .iter()
        .filter(|o| o.kind() == "Namespace")
        .map(|o| {
            let mut labels = labels(at(&o.value, &["metadata", "labels"]));
            labels.insert("kubernetes.io/metadata.name".into(), o.name().into());
            (o.name().to_string(), labels)
        })
        .collect()
}

/// Labels of namespace `ns`: from the stream, or only the automatic
/// `kubernetes.io/metadata.name` label for a namespace the stream does not hold.
pub fn labels_of_namespace(all: &BTreeMap<String, Labels>, ns: &str) -> Labels {
    all.get(ns).cloned().unwrap_or_else(|| {
        Labels::from([("kubernetes.io/metadata.name".to_string(), ns.to_string())])
    })
}

/// A Service's `spec.selector` is a plain map; an empty or absent one selects no
/// Pods (the Service has manually managed endpoints).
pub fn service_matches(selector: &Labels, labels: &Labels) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selector_semantics() {
        let pod = l(&[("app", "web"), ("tier", "front")]);
        let cases: &[(&str, bool)] = &[
            ("{}", true),
            ("matchLabels: {app: web}", true),
            ("matchLabels: {app: db}", false),
            (
                "matchExpressions: [{key: tier, operator: In, values: [front, back]}]",
                true,
            ),
            (
                "matchExpressions: [{key: tier, operator: NotIn, values: [front]}]",
                false,
            ),
            (
                "matchExpressions: [{key: missing, operator: NotIn, values: [x]}]",
                true,
            ),
            ("matchExpressions: [{key: app, operator: Exists}]", true),
            (
                "matchExpressions: [{key: app, operator: DoesNotExist}]",
                false,
            ),
            ("matchExpressions: [{key: app, operator: Bogus}]", false),
            (
                "{matchLabels: {app: web}, matchExpressions: [{key: x, operator: Exists}]}",
                false,
            ),
        ];
        for (sel, want) in cases {
            let v: Value = serde_yaml::from_str(sel).unwrap();
            assert_eq!(matches(Some(&v), &pod), *want, "{sel}");
        }
        assert!(matches(None, &pod));
    }

    #[test]
    fn invalid_selectors_are_errors() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("{}", Ok(())),
            ("matchExpressions: [{key: a, operator: In, values: [x]}]", Ok(())),
            ("matchExpressions: [{key: a, operator: Exists}]", Ok(())),
            (
                "matchExpressions: [{key: a, operator: In}]",
                Err("matchExpressions[0].values: must be non-empty"),
            ),
            (
                "matchExpressions: [{key: a, operator: Exists}, {key: a, operator: DoesNotExist, values: [x]}]",
                Err("matchExpressions[1].values: must be empty"),
            ),
            (
                "matchExpressions: [{key: a, operator: Bogus}]",
                Err("matchExpressions[0].operator: Some(\"Bogus\")"),
            ),
        ];
        for (sel, want) in cases {
            let v: Value = serde_yaml::from_str(sel).unwrap();
            match (check(Some(&v)), want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(prefix)) => assert!(e.starts_with(prefix), "{sel}: {e}"),
                (got, want) => panic!("{sel}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn namespace_labels_include_the_automatic_name_label() {
        let objects =
            crate::parse("kind: Namespace\nmetadata: {name: a, labels: {team: x}}\n").unwrap();
        let all = namespace_labels(&objects);
        assert_eq!(
            labels_of_namespace(&all, "a"),
            l(&[("team", "x"), ("kubernetes.io/metadata.name", "a")])
        );
        assert_eq!(
            labels_of_namespace(&all, "b"),
            l(&[("kubernetes.io/metadata.name", "b")])
        );
    }

    #[test]
    fn service_selector_semantics() {
        let pod = l(&[("app", "web")]);
        assert!(service_matches(&l(&[("app", "web")]), &pod));
        assert!(!service_matches(&l(&[("app", "db")]), &pod));
        assert!(
            !service_matches(&l(&[]), &pod),
            "empty selector selects nothing"
        );
    }
}
