//! Component chart variants (`<key>.variant`) and the umbrella chart's rules
//! for them (charts/kubeflow/templates/checks.yaml). The data is read from the
//! charts by build.rs, so a regenerated chart or a changed umbrella table needs
//! no code change here.

/// One component chart's `variant` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartVariants {
    /// Chart name (directory under `charts/`).
    pub chart: &'static str,
    /// `variant` in the chart's values.yaml (upstream's `example` choice).
    pub default: &'static str,
    /// The `variant` enum of the chart's values.schema.json: Helm refuses any other.
    pub variants: &'static [&'static str],
}

/// A row of the umbrella's `kubeflow.meshedVariants`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeshedVariants {
    /// Umbrella key.
    pub key: &'static str,
    /// Variants that render Istio objects (served behind the Kubeflow gateway).
    pub meshed: &'static [&'static str],
    /// Upstream's variant of the same component without them.
    pub standalone: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/variants.rs"));

/// The variants of a component chart, by chart name.
pub fn chart(name: &str) -> Option<&'static ChartVariants> {
    CHART_VARIANTS.iter().find(|c| c.chart == name)
}

/// The meshed/standalone variants of a component, by umbrella key (`None`:
/// no variant of it is served behind the gateway).
pub fn meshed(key: &str) -> Option<&'static MeshedVariants> {
    MESHED_VARIANTS.iter().find(|m| m.key == key)
}

/// True when `variant` of the component with umbrella key `key` renders Istio objects.
pub fn is_meshed(key: &str, variant: &str) -> bool {
    meshed(key).is_some_and(|m| m.meshed.contains(&variant))
}

/// The `oauth2-proxy.variant` a `global.auth.mode` needs (`None`: any).
pub fn oauth2_proxy_variant(auth_mode: &str) -> Option<&'static str> {
    OAUTH2_PROXY_VARIANT
        .iter()
        .find(|(mode, _)| *mode == auth_mode)
        .map(|(_, v)| *v)
}

/// `istio.variant`s of the ambient data plane (the chart's `hasPrefix "ambient"`).
pub fn is_ambient_istio(variant: &str) -> bool {
    variant.starts_with("ambient")
}

/// The istio chart's variants of the other data plane, the counterpart of
/// `variant` first (`oauth2-proxy` <-> `ambient-oauth2-proxy`, `base` <-> `ambient`).
pub fn istio_alternatives(variant: &str) -> Vec<&'static str> {
    let Some(istio) = chart("istio") else {
        return Vec::new();
    };
    let want_ambient = !is_ambient_istio(variant);
    let counterpart = if want_ambient {
        if variant == "base" {
            "ambient".to_string()
        } else {
            format!("ambient-{variant}")
        }
    } else {
        match variant.strip_prefix("ambient-") {
            Some(rest) => rest.to_string(),
            None => "base".to_string(),
        }
    };
    let mut out: Vec<&'static str> = istio
        .variants
        .iter()
        .copied()
        .filter(|v| is_ambient_istio(v) == want_ambient)
        .collect();
    if let Some(i) = out.iter().position(|v| *v == counterpart) {
        let v = out.remove(i);
        out.insert(0, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn every_catalog_component_has_its_charts_variants_and_nothing_else() {
        let catalog = Catalog::embedded();
        let charts: Vec<&str> = CHART_VARIANTS.iter().map(|c| c.chart).collect();
        let mut names: Vec<&str> = catalog
            .components
            .iter()
            .map(|c| c.chart.as_str())
            .collect();
        names.sort();
        assert_eq!(charts, names);
        for c in CHART_VARIANTS {
            assert!(c.variants.contains(&c.default), "{c:?}");
        }
    }

    #[test]
    fn meshed_table_names_catalog_keys_and_real_variants() {
        let catalog = Catalog::embedded();
        assert!(!MESHED_VARIANTS.is_empty());
        for m in MESHED_VARIANTS {
            let c = catalog.by_key(m.key).unwrap_or_else(|| panic!("{m:?}"));
            let cv = chart(&c.chart).unwrap();
            for v in m.meshed.iter().chain([&m.standalone]) {
                assert!(cv.variants.contains(v), "{m:?}: {v} not in {cv:?}");
            }
            assert!(!m.meshed.contains(&m.standalone), "{m:?}");
            // The catalog's `gateway` flag describes the default variant.
            assert!(c.gateway && m.meshed.contains(&cv.default), "{m:?}");
        }
        let oauth2 = chart("oauth2-proxy").unwrap();
        for (mode, v) in OAUTH2_PROXY_VARIANT {
            assert!(oauth2.variants.contains(v), "{mode}: {v}");
        }
    }

    #[test]
    fn lookups() {
        let cases: &[(&str, &str, bool)] = &[
            ("katib", "with-kubeflow", true),
            ("katib", "standalone", false),
            ("pipelines", "multi-user", true),
            ("pipelines", "generic", false),
            ("cert-manager", "kubeflow", false),
            ("nope", "istio", false),
        ];
        for (key, variant, want) in cases {
            assert_eq!(is_meshed(key, variant), *want, "{key} {variant}");
        }
        assert_eq!(oauth2_proxy_variant("m2m-kind"), Some("m2m-dex-and-kind"));
        assert_eq!(
            oauth2_proxy_variant("dex-oauth2-proxy"),
            Some("m2m-dex-only")
        );
        assert_eq!(oauth2_proxy_variant("none"), None);
        assert_eq!(chart("katib").unwrap().default, "with-kubeflow");
    }

    #[test]
    fn istio_alternatives_put_the_counterpart_first() {
        let cases: &[(&str, &str)] = &[
            ("oauth2-proxy", "ambient-oauth2-proxy"),
            ("base", "ambient"),
            ("gke", "ambient-gke"),
            ("ambient-oauth2-proxy", "oauth2-proxy"),
            ("ambient", "base"),
            ("ambient-oauth2-proxy-gke", "oauth2-proxy-gke"),
        ];
        for (variant, first) in cases {
            let alts = istio_alternatives(variant);
            assert!(!alts.is_empty(), "{variant}");
            assert!(
                alts.iter()
                    .all(|a| is_ambient_istio(a) != is_ambient_istio(variant)),
                "{variant}: {alts:?}"
            );
            if chart("istio").unwrap().variants.contains(first) {
                assert_eq!(alts[0], *first, "{variant}: {alts:?}");
            }
        }
    }
}
