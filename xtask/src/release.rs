//! Kubeflow releases: which one an upstream snapshot is, and the catalog as it
//! applies to it.
//!
//! `catalog/releases.yaml` lists the releases the sync knows, newest first (the
//! first is the one the committed charts are generated from). A snapshot is told by
//! its fingerprint: the sha256 (first 16 hex digits, as `index.tsv` records it) of
//! its `example` rendering, upstream's whole platform. That rendering changes with
//! every upstream change that reaches a chart, so a snapshot the catalog does not
//! declare is an error instead of a guess; nothing has to be added to the snapshot
//! (which is upstream data, never edited). A kubeflow/manifests checkout
//! (`--kustomize`) is not fingerprinted, since its rendering depends on the local
//! kustomize: it is the newest release unless `--release` names another.
//!
//! Where upstream changed between releases, a component of `catalog/components.yaml`
//! says so in the open, never by tolerance:
//! - `releases: {<release>: {<key>: <value>, ...}}` on the component replaces those
//!   keys for that release (`scenarios` and `parts` entry by entry, so a scenario
//!   whose directories moved is the only one restated);
//! - `releases: [<release>, ...]` on one declaration (an entry of `credentials`,
//!   `credentialEnv`, `settings`, `variables`, `fixes`, `chartValues`, `fields`,
//!   `renderedUnless`, or a value of `scenarios`, `parts`) keeps it only for those
//!   releases. A declaration kept for a release is checked as strictly as ever: one
//!   that matches nothing fails the sync.
//!
//! Every release named must be in `catalog/releases.yaml`.

use crate::upstream::{repo_root, RELEASES};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

/// The kustomize directory whose rendering fingerprints a release.
pub const EXAMPLE_DIR: &str = "example";

/// One Kubeflow release.
#[derive(Debug, Deserialize, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Release {
    /// The Kubeflow release ("26.03", "1.11.0").
    pub name: String,
    /// The kubeflow/manifests revision it was rendered from (for people).
    pub upstream_ref: String,
    /// sha256 (16 hex digits) of `kustomize build example` of that revision.
    pub example: String,
    /// `version` of every chart of this release's set (docs/upgrades.md#chart-versions):
    /// semver, higher for a newer release.
    pub chart_version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Releases {
    releases: Vec<Release>,
}

/// The releases of `catalog/releases.yaml`, newest first.
pub fn load() -> Result<Vec<Release>> {
    let path = repo_root().join(RELEASES);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| path.display().to_string())
}

fn parse(text: &str) -> Result<Vec<Release>> {
    let r: Releases = serde_yaml::from_str(text)?;
    if r.releases.is_empty() {
        bail!("no release declared");
    }
    for (i, a) in r.releases.iter().enumerate() {
        let hex = a.example.len() == 16 && a.example.chars().all(|c| c.is_ascii_hexdigit());
        if a.name.is_empty() || !hex {
            bail!(
                "release {i} ({:?}): needs a name and `example`, 16 hex digits",
                a.name
            );
        }
        let semver = |v: &str| -> Option<(u64, u64, u64)> {
            let mut p = v.split('.').map(|n| n.parse::<u64>().ok());
            match (p.next()??, p.next()??, p.next()??, p.next()) {
                (a, b, c, None) => Some((a, b, c)),
                _ => None,
            }
        };
        let Some(v) = semver(&a.chart_version) else {
            bail!(
                "release {:?}: chartVersion {:?} is not MAJOR.MINOR.PATCH",
                a.name,
                a.chart_version
            );
        };
        if let Some(newer) = i.checked_sub(1).map(|j| &r.releases[j]) {
            if semver(&newer.chart_version).is_some_and(|n| n <= v) {
                bail!(
                    "release {:?} (chartVersion {}) is listed after {:?} (chartVersion {}): a newer release needs a higher chart version",
                    a.name,
                    a.chart_version,
                    newer.name,
                    newer.chart_version
                );
            }
        }
        if let Some(b) = r.releases[..i]
            .iter()
            .find(|b| b.name == a.name || b.example == a.example)
        {
            bail!(
                "releases {:?} and {:?} share a name or an example fingerprint",
                b.name,
                a.name
            );
        }
    }
    Ok(r.releases)
}

/// The declared release `name` (default: the newest).
pub fn named(name: Option<&str>) -> Result<Release> {
    let releases = load()?;
    match name {
        None => Ok(releases[0].clone()),
        Some(n) => releases
            .iter()
            .find(|r| r.name == n)
            .cloned()
            .with_context(|| {
                format!(
                    "release {n:?} is not in {RELEASES} ({})",
                    releases
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
    }
}

/// The declared release whose `example` fingerprint is `sha`; `place` names where
/// the fingerprint came from, for the error.
pub fn detect(sha: &str, place: &str) -> Result<Release> {
    detect_in(&load()?, sha, place)
}

fn detect_in(releases: &[Release], sha: &str, place: &str) -> Result<Release> {
    match releases.iter().find(|r| r.example == sha) {
        Some(r) => Ok(r.clone()),
        None => bail!(
            "{place}: upstream's `example` has fingerprint {sha}, which is no release of {RELEASES} ({}); a new upstream release (or a re-rendered one) is declared there first",
            releases
                .iter()
                .map(|r| format!("{} = {}", r.name, r.example))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Component keys holding lists of declarations, and maps of them, that a
/// `releases:` list may restrict.
const LISTS: &[&str] = &[
    "credentials",
    "credentialEnv",
    "settings",
    "variables",
    "fixes",
    "chartValues",
    "fields",
    "renderedUnless",
];
const MAPS: &[&str] = &["scenarios", "parts"];

/// Resolve every component's `releases:` entries of the raw catalog for `release`
/// (module comment); `known` are the declared release names.
pub fn resolve(catalog: &mut Value, release: &str, known: &[String]) -> Result<()> {
    let Some(components) = catalog
        .get_mut("components")
        .and_then(Value::as_sequence_mut)
    else {
        bail!("no `components:` list");
    };
    for c in components {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let Value::Mapping(c) = c else {
            bail!("component {name}: not a mapping");
        };
        resolve_component(c, release, known).with_context(|| format!("component {name}"))?;
    }
    Ok(())
}

fn check_known(r: &str, known: &[String], what: &str) -> Result<()> {
    if !known.iter().any(|k| k == r) {
        bail!("{what} names release {r:?}, which is not in {RELEASES} ({known:?})");
    }
    Ok(())
}

/// `releases: [..]` of one declaration: whether it applies to `release` (the key is
/// removed either way).
fn applies(decl: &mut Value, release: &str, known: &[String], what: &str) -> Result<bool> {
    let Value::Mapping(m) = decl else {
        return Ok(true);
    };
    let Some(list) = m.remove("releases") else {
        return Ok(true);
    };
    let names: Vec<String> = serde_yaml::from_value(list)
        .with_context(|| format!("{what}: `releases` must be a list of release names"))?;
    if names.is_empty() {
        bail!("{what}: `releases` is empty (remove the declaration instead)");
    }
    for r in &names {
        check_known(r, known, what)?;
    }
    Ok(names.iter().any(|r| r == release))
}

fn resolve_component(c: &mut Mapping, release: &str, known: &[String]) -> Result<()> {
    if let Some(overrides) = c.remove("releases") {
        let Value::Mapping(overrides) = overrides else {
            bail!("`releases` must map release names to the keys that differ");
        };
        for (r, keys) in overrides {
            let r = r
                .as_str()
                .context("`releases`: a release name is not a string")?;
            check_known(r, known, "`releases`")?;
            let Value::Mapping(keys) = keys else {
                bail!("`releases.{r}` must be a mapping of component keys");
            };
            if r != release {
                continue;
            }
            for (k, v) in keys {
                let key = k.as_str().unwrap_or("");
                if key == "name" || key == "releases" {
                    bail!("`releases.{r}` cannot change `{key}`");
                }
                match (c.get_mut(key), v) {
                    (Some(Value::Mapping(base)), Value::Mapping(v)) if MAPS.contains(&key) => {
                        for (ek, ev) in v {
                            base.insert(ek, ev);
                        }
                    }
                    (_, v) => {
                        c.insert(k, v);
                    }
                }
            }
        }
    }
    for key in LISTS {
        if let Some(Value::Sequence(items)) = c.get_mut(*key) {
            let mut kept = Vec::new();
            for (i, mut item) in std::mem::take(items).into_iter().enumerate() {
                if applies(&mut item, release, known, &format!("{key}[{i}]"))? {
                    kept.push(item);
                }
            }
            *items = kept;
        }
    }
    for key in MAPS {
        if let Some(Value::Mapping(entries)) = c.get_mut(*key) {
            let mut kept = Mapping::new();
            for (k, mut v) in std::mem::take(entries) {
                let what = format!("{key}.{}", k.as_str().unwrap_or("?"));
                if applies(&mut v, release, known, &what)? {
                    kept.insert(k, v);
                }
            }
            *entries = kept;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::test_yaml as y;

    fn known() -> Vec<String> {
        vec!["26.03".into(), "1.11.0".into()]
    }

    #[test]
    fn components_resolve_per_release() {
        let base = "components:\n- name: c\n  version: v2\n  scenarios:\n    kubeflow: {kind: integration, dirs: [a/overlays/kubeflow]}\n    base: {kind: variant, dirs: [a/base]}\n";
        // (component tail, release, Ok(resolved component) | Err(message part))
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            // Nothing release-specific: unchanged at every release.
            ("", "1.11.0", Ok("name: c\nversion: v2\nscenarios: {kubeflow: {kind: integration, dirs: [a/overlays/kubeflow]}, base: {kind: variant, dirs: [a/base]}}")),
            // A scenario's dirs and a key restated for one release; others untouched.
            (
                "  releases:\n    '1.11.0': {version: v1, scenarios: {kubeflow: {kind: integration, dirs: [a/base, a/issuer]}}}\n",
                "1.11.0",
                Ok("name: c\nversion: v1\nscenarios: {kubeflow: {kind: integration, dirs: [a/base, a/issuer]}, base: {kind: variant, dirs: [a/base]}}"),
            ),
            (
                "  releases:\n    '1.11.0': {version: v1, scenarios: {kubeflow: {kind: integration, dirs: [a/base, a/issuer]}}}\n",
                "26.03",
                Ok("name: c\nversion: v2\nscenarios: {kubeflow: {kind: integration, dirs: [a/overlays/kubeflow]}, base: {kind: variant, dirs: [a/base]}}"),
            ),
            // A declaration kept for some releases only.
            (
                "  settings:\n  - {value: a, releases: ['26.03']}\n  - {value: b, releases: ['1.11.0']}\n  - {value: c}\n",
                "1.11.0",
                Ok("name: c\nversion: v2\nscenarios: {kubeflow: {kind: integration, dirs: [a/overlays/kubeflow]}, base: {kind: variant, dirs: [a/base]}}\nsettings: [{value: b}, {value: c}]"),
            ),
            (
                "  parts:\n    old: {workloads: [x], releases: ['1.11.0']}\n    new: {workloads: [y]}\n",
                "26.03",
                Ok("name: c\nversion: v2\nscenarios: {kubeflow: {kind: integration, dirs: [a/overlays/kubeflow]}, base: {kind: variant, dirs: [a/base]}}\nparts: {new: {workloads: [y]}}"),
            ),
            // Unknown releases, empty lists and renames are errors.
            ("  settings:\n  - {value: a, releases: ['9.9']}\n", "26.03", Err("settings[0] names release \"9.9\"")),
            ("  fields:\n  - {kind: X, releases: []}\n", "26.03", Err("fields[0]: `releases` is empty")),
            ("  releases:\n    '9.9': {version: v1}\n", "26.03", Err("`releases` names release \"9.9\"")),
            ("  releases:\n    '1.11.0': {name: d}\n", "1.11.0", Err("cannot change `name`")),
        ];
        for (tail, release, want) in cases {
            let mut raw = y(&format!("{base}{tail}"));
            match (resolve(&mut raw, release, &known()), want) {
                (Ok(()), Ok(after)) => {
                    assert_eq!(raw["components"][0], y(after), "{tail} at {release}")
                }
                (Err(e), Err(part)) => {
                    let e = format!("{e:#}");
                    assert!(e.contains(part) && e.contains("component c"), "{e}");
                }
                (got, _) => panic!("{tail} at {release}: got {got:?}, {raw:?}"),
            }
        }
    }

    #[test]
    fn releases_are_told_by_their_example_fingerprint() {
        let list = parse(
            "releases:\n- {name: '26.03', upstreamRef: m, example: 0937f0e6f6bba14b, chartVersion: 0.1.0}\n- {name: '1.11.0', upstreamRef: t, example: 5595a05029a44cb0, chartVersion: 0.0.1}\n",
        )
        .unwrap();
        assert_eq!(
            detect_in(&list, "5595a05029a44cb0", "x").unwrap().name,
            "1.11.0"
        );
        let e = format!(
            "{:#}",
            detect_in(&list, "ffffffffffffffff", "snap/index.tsv").unwrap_err()
        );
        assert!(
            e.contains("snap/index.tsv")
                && e.contains("ffffffffffffffff")
                && e.contains("26.03 = 0937f0e6f6bba14b"),
            "{e}"
        );
        // (releases, error part)
        let bad = [
            ("releases: []", "no release"),
            ("- {name: a, upstreamRef: m, example: xyz, chartVersion: 0.1.0}", "16 hex digits"),
            ("- {name: a, upstreamRef: m, example: 0937f0e6f6bba14b, chartVersion: 0.1.0}\n- {name: a, upstreamRef: n, example: 5595a05029a44cb0, chartVersion: 0.0.1}", "share a name"),
            ("- {name: a, upstreamRef: m, example: 0937f0e6f6bba14b, chartVersion: '0.1'}", "not MAJOR.MINOR.PATCH"),
            ("- {name: a, upstreamRef: m, example: 0937f0e6f6bba14b, chartVersion: 0.1.0}\n- {name: b, upstreamRef: n, example: 5595a05029a44cb0, chartVersion: 0.1.0}", "a newer release needs a higher chart version"),
        ];
        for (list, part) in bad {
            let text = if list.starts_with("releases") {
                list.to_string()
            } else {
                format!("releases:\n{list}")
            };
            let e = format!("{:#}", parse(&text).unwrap_err());
            assert!(e.contains(part), "{list}: {e}");
        }
    }

    /// The committed catalog resolves at every declared release.
    #[test]
    fn the_catalog_loads_at_every_release() {
        for r in load().unwrap() {
            let c = crate::upstream::load_catalog_for(&r).unwrap();
            assert_eq!(c.release, r);
        }
    }
}
