//! Kubernetes label selectors (`matchLabels` + `matchExpressions`), used for
//! Service→Pod and NetworkPolicy peer matching.

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
