//! `catalog/variants.json`: each chart's variants, the ones that render Istio
//! objects and the variants `global.auth.mode` needs. `cargo xtask sync` writes it
//! from the catalog and the upstream scenarios; plugin/build.rs embeds it (the WASM
//! sandbox reads no files). One format, written and read through these structs.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Where the file lives, from the repository root.
pub const PATH: &str = "catalog/variants.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Variants {
    /// The generated-file header.
    #[serde(rename = "$comment")]
    pub comment: String,
    /// Every chart, in catalog order.
    pub charts: Vec<ChartVariants>,
    /// The charts with variants with and without Istio objects.
    pub meshed: Vec<Meshed>,
    /// Chart name -> `global.auth.mode` -> the variant of that chart it needs.
    pub auth_mode_variants: BTreeMap<String, ModeVariants>,
}

/// A chart's variants: its scenarios, the default first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartVariants {
    pub chart: String,
    pub variants: Vec<String>,
}

/// Which variants of a chart render Istio objects (`*.istio.io`), and the variant
/// without them the umbrella uses when `global.istio.enabled=false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meshed {
    pub chart: String,
    pub meshed: Vec<String>,
    pub standalone: String,
}

/// `global.auth.mode` -> variant, a JSON object in the catalog's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModeVariants(pub Vec<(String, String)>);

impl Serialize for ModeVariants {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(mode, variant)| (mode, variant)))
    }
}

impl<'de> Deserialize<'de> for ModeVariants {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = ModeVariants;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of global.auth.mode to a variant")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ModeVariants, A::Error> {
                let mut pairs: Vec<(String, String)> = Vec::new();
                while let Some((mode, variant)) = map.next_entry::<String, String>()? {
                    if pairs.iter().any(|(m, _)| *m == mode) {
                        return Err(serde::de::Error::custom(format_args!(
                            "global.auth.mode {mode:?} twice"
                        )));
                    }
                    pairs.push((mode, variant));
                }
                Ok(ModeVariants(pairs))
            }
        }
        d.deserialize_map(InOrder)
    }
}

impl Variants {
    /// The file's text: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("string keys and values serialize as JSON") + "\n"
    }

    pub fn from_json(text: &str) -> Result<Variants, crate::Error> {
        serde_json::from_str(text).map_err(|e| crate::Error(format!("{PATH}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_file_reads_and_writes_back_unchanged() {
        let text = include_str!("../variants.json");
        let v = Variants::from_json(text).unwrap();
        assert_eq!(v.to_json(), text);
        // Catalog order, not sorted: m2m-kind is declared before m2m-eks.
        let modes: Vec<&str> = v.auth_mode_variants["oauth2-proxy"]
            .0
            .iter()
            .map(|(m, _)| m.as_str())
            .collect();
        assert_eq!(modes, ["dex-oauth2-proxy", "m2m-kind", "m2m-eks", "oidc"]);
    }

    #[test]
    fn bad_files_fail_naming_the_key() {
        let cases = [
            (
                r#"{"$comment": "", "charts": [], "meshed": [], "authModeVariants": {"a": {"x": "1", "x": "2"}}}"#,
                "global.auth.mode \"x\" twice",
            ),
            (
                r#"{"$comment": "", "charts": [{"chart": "a"}], "meshed": [], "authModeVariants": {}}"#,
                "missing field `variants`",
            ),
            (
                r#"{"$comment": "", "charts": [], "meshed": [], "authModeVariants": {}, "extra": 1}"#,
                "unknown field `extra`",
            ),
        ];
        for (text, want) in cases {
            let err = Variants::from_json(text).unwrap_err().to_string();
            assert!(
                err.starts_with(PATH) && err.contains(want),
                "want {want:?} in {err}"
            );
        }
    }
}
