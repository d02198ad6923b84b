//! `preset NAME`: the umbrella presets (`presets/*.yaml`), embedded by build.rs.

use crate::error::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/presets.rs"));

pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(name, _)| *name).collect()
}

pub fn get(name: &str) -> Result<&'static str> {
    if PRESETS.is_empty() {
        return Err(Error::new(
            "this build of the plugin has no presets (presets/*.yaml was empty when plugin.wasm was built); rebuild with scripts/build-plugin",
        ));
    }
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, yaml)| *yaml)
        .ok_or_else(|| {
            Error::new(format!(
                "unknown preset {name:?}; available: {}",
                names().join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_file_is_embedded_verbatim() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        assert_eq!(names(), on_disk);
        for name in on_disk {
            assert_eq!(
                get(&name).unwrap(),
                std::fs::read_to_string(dir.join(format!("{name}.yaml"))).unwrap()
            );
        }
    }

    #[test]
    fn unknown_preset_lists_the_available_ones() {
        let err = get("fulll").unwrap_err().to_string();
        assert!(
            err.starts_with("unknown preset \"fulll\"; available: ") && err.contains("full"),
            "{err}"
        );
    }
}
