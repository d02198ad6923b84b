//! Values of the umbrella chart as the plugin sees them: the user-supplied
//! values read from stdin (what `helm get values kubeflow -o yaml` prints),
//! looked at through the chart's defaults (`charts/kubeflow/values.yaml`,
//! embedded at build time) the same way the chart's templates do.

use serde_yaml::{Mapping, Value};

use crate::catalog::{Catalog, Component};
use crate::error::{Error, Result};

/// The umbrella chart's defaults, so a value the user never set still counts.
pub const CHART_VALUES_YAML: &str = include_str!("../../charts/kubeflow/values.yaml");

/// Parses values from stdin. Empty input, `null` and `{}` (a release without
/// user values) are an empty map; the `USER-SUPPLIED VALUES:` banner that
/// `helm get values` prints without `-o yaml` is refused with the fix.
pub fn parse_user_values(input: &[u8]) -> Result<Mapping> {
    let text = std::str::from_utf8(input)
        .map_err(|e| Error::new(format!("values on stdin: not UTF-8: {e}")))?;
    if text.trim_start().starts_with("USER-SUPPLIED VALUES:") {
        return Err(Error::new(
            "values on stdin: got the `helm get values` banner; use `helm get values RELEASE -o yaml`",
        ));
    }
    let value: Value = serde_yaml::from_str(text)
        .map_err(|e| Error::new(format!("values on stdin: invalid YAML: {e}")))?;
    match value {
        Value::Null => Ok(Mapping::new()),
        Value::Mapping(m) => Ok(m),
        other => Err(Error::new(format!(
            "values on stdin: expected a YAML mapping of chart values, got {}",
            kind(&other)
        ))),
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// User values over chart defaults.
#[derive(Debug)]
pub struct Values {
    pub user: Mapping,
    defaults: Mapping,
}

impl Values {
    pub fn new(user: Mapping) -> Values {
        let defaults = match serde_yaml::from_str::<Value>(CHART_VALUES_YAML) {
            Ok(Value::Mapping(m)) => m,
            _ => panic!("charts/kubeflow/values.yaml is a mapping (checked by the crate's tests)"),
        };
        Values { user, defaults }
    }

    /// The value at a dotted path, user first, chart default second.
    pub fn get(&self, path: &str) -> Option<&Value> {
        lookup(&self.user, path).or_else(|| lookup(&self.defaults, path))
    }

    pub fn str(&self, path: &str) -> String {
        match self.get(path) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    /// Helm's truthiness for a boolean switch (`true` or the string `"true"`).
    pub fn flag(&self, path: &str) -> bool {
        is_true(self.get(path))
    }

    pub fn istio_enabled(&self) -> bool {
        self.flag("global.istio.enabled")
    }

    pub fn auth_mode(&self) -> String {
        self.str("global.auth.mode")
    }

    /// The chart default at a dotted path (charts/kubeflow/values.yaml).
    pub fn default(&self, path: &str) -> Option<&Value> {
        lookup(&self.defaults, path)
    }

    /// A component chart's credentials mode and the value it comes from:
    /// `<key>.credentials.mode`, else `global.credentials.mode`, else `demo`
    /// (the charts' `<chart>.credentialMode`).
    pub fn credential_mode(&self, key: &str) -> (String, String) {
        let own = format!("{key}.credentials.mode");
        let mode = self.str(&own);
        if !mode.is_empty() {
            return (mode, own);
        }
        let global = "global.credentials.mode".to_string();
        match self.str(&global) {
            m if m.is_empty() => ("demo".to_string(), global),
            m => (m, global),
        }
    }

    /// Mirrors the chart's `kubeflow.enabled`: `<key>.enabled` when set,
    /// otherwise Helm's tag rule (no tag value set, or the tag true: on).
    pub fn enabled(&self, c: &Component) -> bool {
        if let Some(v) = lookup(&self.user, &format!("{}.enabled", c.key)) {
            return is_true(Some(v));
        }
        match self.get(&format!("tags.{}", c.tag)) {
            None => true,
            Some(v) => is_true(Some(v)),
        }
    }

    /// Why `enabled(c)` says what it says, for `--explain`.
    pub fn enabled_source(&self, c: &Component) -> String {
        if lookup(&self.user, &format!("{}.enabled", c.key)).is_some() {
            format!("{}.enabled", c.key)
        } else {
            format!("tags.{}", c.tag)
        }
    }

    /// Enabled here, or declared as provided outside the release.
    pub fn present(&self, c: &Component) -> bool {
        self.enabled(c) || self.external().iter().any(|k| k == &c.key || k == &c.chart)
    }

    pub fn external(&self) -> Vec<String> {
        match self.get("global.externalComponents") {
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `<key>.variant` as the chart's templates see it: the user's value, else
    /// the umbrella default, else the component chart's default (values.yaml).
    /// A non-string value is shown as YAML (the chart's schema refuses it).
    pub fn variant(&self, c: &Component) -> String {
        match self.get(&format!("{}.variant", c.key)) {
            None | Some(Value::Null) => crate::variants::chart(&c.chart)
                .map(|v| v.default.to_string())
                .unwrap_or_default(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => serde_yaml::to_string(other)
                .unwrap_or_default()
                .trim_end()
                .to_string(),
        }
    }

    /// The user chose `<key>.variant` (rather than a default).
    pub fn variant_is_set(&self, c: &Component) -> bool {
        !matches!(
            lookup(&self.user, &format!("{}.variant", c.key)),
            None | Some(Value::Null)
        )
    }

    /// `Some(variant)` when `c` is served behind the Kubeflow gateway: Istio is
    /// on and its variant renders Istio objects (`kubeflow.meshedVariants`).
    pub fn gateway_variant(&self, c: &Component) -> Option<String> {
        if !self.istio_enabled() {
            return None;
        }
        let variant = self.variant(c);
        crate::variants::is_meshed(&c.key, &variant).then_some(variant)
    }

    /// Sets `<key>.variant` in the user values.
    pub fn set_variant(&mut self, c: &Component, variant: &str) -> Result<()> {
        set(
            &mut self.user,
            &format!("{}.variant", c.key),
            Value::String(variant.to_string()),
        )
    }

    /// Sets `<key>.enabled` in the user values (keeping the component's other values).
    pub fn set_enabled(&mut self, c: &Component, on: bool) -> Result<()> {
        set(
            &mut self.user,
            &format!("{}.enabled", c.key),
            Value::Bool(on),
        )
    }

    /// Components the auth mode needs (umbrella checks.yaml), while Istio is on.
    pub fn auth_needs<'a>(&self, catalog: &'a Catalog) -> Vec<&'a Component> {
        if !self.istio_enabled() {
            return Vec::new();
        }
        let names: &[&str] = match self.auth_mode().as_str() {
            "dex-oauth2-proxy" | "m2m-kind" | "m2m-eks" => &["dex", "oauth2-proxy"],
            "oidc" => &["oauth2-proxy"],
            _ => &[],
        };
        names.iter().filter_map(|n| catalog.by_name(n)).collect()
    }

    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml::to_string(&Value::Mapping(self.user.clone()))
            .map_err(|e| Error::new(format!("serializing values: {e}")))
    }
}

pub fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || matches!(v, Some(Value::String(s)) if s == "true")
}

pub fn lookup<'a>(map: &'a Mapping, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = map.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_mapping()?.get(part)?;
    }
    Some(cur)
}

/// Sets a dotted path, creating maps on the way. A non-map in the way is an
/// error naming the path (never silently replaced).
pub fn set(map: &mut Mapping, path: &str, value: Value) -> Result<()> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = map;
    for (i, part) in parts.iter().enumerate() {
        let key = Value::String(part.to_string());
        if i + 1 == parts.len() {
            cur.insert(key, value);
            return Ok(());
        }
        let entry = cur
            .entry(key)
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if entry.is_null() {
            *entry = Value::Mapping(Mapping::new());
        }
        let prefix = parts[..=i].join(".");
        cur = entry
            .as_mapping_mut()
            .ok_or_else(|| Error::new(format!("values: {prefix} is not a mapping")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(yaml: &str) -> Values {
        Values::new(parse_user_values(yaml.as_bytes()).unwrap())
    }

    #[test]
    fn stdin_shapes() {
        for empty in ["", "null\n", "{}\n"] {
            assert!(
                parse_user_values(empty.as_bytes()).unwrap().is_empty(),
                "{empty:?}"
            );
        }
        let cases = [
            ("USER-SUPPLIED VALUES:\nkatib: {}\n", "-o yaml"),
            (
                "- a\n",
                "expected a YAML mapping of chart values, got a list",
            ),
            ("a: [\n", "invalid YAML"),
        ];
        for (input, want) in cases {
            let err = parse_user_values(input.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn enabled_follows_the_charts_rule() {
        let catalog = Catalog::embedded();
        let katib = catalog.by_name("katib").unwrap();
        let registry = catalog.by_name("model-registry").unwrap();
        let cases = [
            ("", true, false),                                             // chart defaults
            ("tags: {katib: false}", false, false),                        // tag off
            ("tags: {katib: false}\nkatib: {enabled: true}", true, false), // condition wins
            (
                "katib: {enabled: \"false\"}\nmodel-registry: {enabled: \"true\"}",
                false,
                true,
            ),
            ("tags: {model-registry: true}", true, true),
        ];
        for (yaml, want_katib, want_registry) in cases {
            let v = values(yaml);
            assert_eq!(v.enabled(katib), want_katib, "{yaml}");
            assert_eq!(v.enabled(registry), want_registry, "{yaml}");
        }
    }

    #[test]
    fn external_components_count_as_present() {
        let catalog = Catalog::embedded();
        let cm = catalog.by_name("cert-manager").unwrap();
        let v =
            values("cert-manager: {enabled: false}\nglobal: {externalComponents: [cert-manager]}");
        assert!(!v.enabled(cm));
        assert!(v.present(cm));
    }

    #[test]
    fn set_creates_maps_keeps_siblings_and_refuses_scalars_in_the_way() {
        let mut m = parse_user_values(b"katib: {foo: 1}\nbad: 3\n").unwrap();
        set(&mut m, "katib.enabled", Value::Bool(true)).unwrap();
        set(&mut m, "global.profiles", Value::Sequence(vec![])).unwrap();
        assert_eq!(lookup(&m, "katib.foo"), Some(&Value::from(1)));
        assert_eq!(lookup(&m, "katib.enabled"), Some(&Value::Bool(true)));
        let err = set(&mut m, "bad.enabled", Value::Bool(true))
            .unwrap_err()
            .to_string();
        assert!(err.contains("values: bad is not a mapping"), "{err}");
    }

    #[test]
    fn variant_is_the_users_else_the_component_charts_default() {
        let catalog = Catalog::embedded();
        let katib = catalog.by_name("katib").unwrap();
        let cases: &[(&str, &str, bool, Option<&str>)] = &[
            ("", "with-kubeflow", false, Some("with-kubeflow")),
            ("katib: {variant: standalone}", "standalone", true, None),
            (
                "katib: {variant: null}",
                "with-kubeflow",
                false,
                Some("with-kubeflow"),
            ),
            ("katib: {variant: 3}", "3", true, None),
            (
                "global: {istio: {enabled: false}}",
                "with-kubeflow",
                false,
                None,
            ),
            (
                "global: {istio: {enabled: false}}\nkatib: {variant: with-kubeflow}",
                "with-kubeflow",
                true,
                None,
            ),
        ];
        for (yaml, want, set, gateway) in cases {
            let v = values(yaml);
            assert_eq!(v.variant(katib), *want, "{yaml}");
            assert_eq!(v.variant_is_set(katib), *set, "{yaml}");
            assert_eq!(v.gateway_variant(katib).as_deref(), *gateway, "{yaml}");
        }
        // A component with no meshed variant is never behind the gateway.
        let cm = catalog.by_name("cert-manager").unwrap();
        assert_eq!(values("").gateway_variant(cm), None);
    }

    #[test]
    fn auth_needs_depend_on_mode_and_istio() {
        let catalog = Catalog::embedded();
        let names = |yaml: &str| {
            values(yaml)
                .auth_needs(&catalog)
                .iter()
                .map(|c| c.chart.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(""), ["dex", "oauth2-proxy"]);
        assert_eq!(names("global: {auth: {mode: oidc}}"), ["oauth2-proxy"]);
        assert_eq!(names("global: {auth: {mode: none}}"), Vec::<String>::new());
        assert_eq!(
            names("global: {istio: {enabled: false}}"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn credential_mode_is_the_charts_then_global_then_demo() {
        let cases = [
            ("", "demo", "global.credentials.mode"),
            (
                "global: {credentials: {mode: ''}}",
                "demo",
                "global.credentials.mode",
            ),
            (
                "global: {credentials: {mode: generate}}",
                "generate",
                "global.credentials.mode",
            ),
            (
                "dex: {credentials: {mode: generate}}",
                "generate",
                "dex.credentials.mode",
            ),
            (
                "global: {credentials: {mode: generate}}\ndex: {credentials: {mode: demo}}",
                "demo",
                "dex.credentials.mode",
            ),
            (
                "dex: {credentials: {mode: ''}}",
                "demo",
                "global.credentials.mode",
            ),
        ];
        for (yaml, mode, from) in cases {
            let (m, f) = values(yaml).credential_mode("dex");
            assert_eq!((m.as_str(), f.as_str()), (mode, from), "{yaml}");
        }
    }
}
