//! `cargo xtask sync`: regenerate every component chart; `--check` compares instead.

use crate::catalog;
use crate::chart::header;
use crate::chart::{generate, Files};
use crate::sequencing::{self, SequencedKinds};
use crate::upstream::{repo_root, Source};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Files the generator writes into the hand-written umbrella chart, keyed by
/// path relative to the output root (each compared on its own: the umbrella's
/// other files are not the generator's).
pub fn umbrella_files(sequenced: &SequencedKinds, hdr: &str) -> Files {
    Files::from([
        (
            "charts/kubeflow/templates/sequencing/_resources.tpl".to_string(),
            sequenced.umbrella_resources_tpl(hdr),
        ),
        (
            "charts/kubeflow/templates/sequencing/_helpers.tpl".to_string(),
            format!(
                "{{{{- /* {hdr} */ -}}}}\n{}",
                sequencing::helper("kubeflow")
            ),
        ),
    ])
}

/// Generate every chart (or those in `only`), in parallel, one thread per chart,
/// and the umbrella's generated files (none with `only`).
pub fn generate_all(source: &Source, only: &[String]) -> Result<(Vec<(String, Files)>, Files)> {
    let mut catalog = source.catalog()?;
    let sequenced = SequencedKinds::of_catalog(&catalog, source, only)?;
    // The lists generated from the catalog (xtask/src/catalog.rs) need all of it.
    let umbrella = if only.is_empty() {
        let mut files = umbrella_files(
            &sequenced,
            &header("the catalog's CRDs (xtask/src/sequencing.rs)"),
        );
        files.extend(catalog::generate(&catalog, source)?);
        files
    } else {
        Files::new()
    };
    let sequenced = &sequenced;
    if !only.is_empty() {
        if let Some(unknown) = only
            .iter()
            .find(|o| !catalog.charts.iter().any(|c| &c.chart == *o))
        {
            bail!("--only {unknown}: no such chart in catalog/components.yaml");
        }
        catalog.charts.retain(|c| only.contains(&c.chart));
    }
    let charts = std::thread::scope(|s| {
        let handles: Vec<_> = catalog
            .charts
            .iter()
            .map(|c| s.spawn(move || generate(c, source, sequenced).map(|f| (c.chart.clone(), f))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator thread panicked"))
            .collect::<Result<Vec<_>>>()
    })?;
    Ok((charts, umbrella))
}

fn existing_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if !d.exists() {
            continue;
        }
        for e in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(dir)
                        .expect("under dir")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The directories (relative to the output root) a chart's generated files live in.
pub fn owned_dirs(chart: &str) -> [String; 2] {
    [format!("charts/{chart}"), format!("crds/{chart}")]
}

/// The one hand-written directory of a generated chart: its helm-unittest suites
/// (`charts/<chart>/tests/`), which sync neither removes nor reports as stale.
pub const SUITES_DIR: &str = "tests";

/// Files under `root` that differ from `files` (changed, missing, stale); `files`
/// are keyed relative to `root`, and every file in the chart's owned dirs counts,
/// except the chart's suites.
pub fn diff_chart(root: &Path, chart: &str, files: &Files) -> Result<Vec<PathBuf>> {
    let mut differ = Vec::new();
    for (rel, content) in files {
        let p = root.join(rel);
        if std::fs::read_to_string(&p).ok().as_deref() != Some(content.as_str()) {
            differ.push(p);
        }
    }
    let suites = format!("charts/{chart}/{SUITES_DIR}/");
    for dir in owned_dirs(chart) {
        for rel in existing_files(&root.join(&dir))? {
            let rel = format!("{dir}/{rel}");
            if !rel.starts_with(&suites) && !files.contains_key(&rel) {
                differ.push(root.join(rel));
            }
        }
    }
    Ok(differ)
}

/// Write (or with `check`, compare) every chart under `out` (default: the repo root):
/// `charts/<chart>/` and the published full CRDs `crds/<chart>/`.
pub fn run(source: &Source, out: Option<&Path>, only: &[String], check: bool) -> Result<()> {
    let root = out.map(Path::to_path_buf).unwrap_or_else(repo_root);
    let (generated, umbrella) = generate_all(source, only)?;
    let mut differ = Vec::new();
    for (rel, content) in &umbrella {
        let p = root.join(rel);
        if std::fs::read_to_string(&p).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        if check {
            differ.push(p);
        } else {
            std::fs::create_dir_all(p.parent().expect("has parent"))?;
            std::fs::write(&p, content).with_context(|| format!("writing {}", p.display()))?;
        }
    }
    // A file in a directory the catalog owns that it no longer generates is stale.
    for dir in catalog::OWNED_DIRS.iter().filter(|_| only.is_empty()) {
        for rel in existing_files(&root.join(dir))? {
            if !umbrella.contains_key(&format!("{dir}/{rel}")) {
                let p = root.join(dir).join(rel);
                if check {
                    differ.push(p);
                } else {
                    std::fs::remove_file(&p)
                        .with_context(|| format!("removing stale {}", p.display()))?;
                }
            }
        }
    }
    for (chart, files) in &generated {
        let d = diff_chart(&root, chart, files)?;
        if check {
            differ.extend(d);
            continue;
        }
        for p in d {
            let rel = p
                .strip_prefix(&root)
                .expect("under the output root")
                .to_string_lossy()
                .into_owned();
            match files.get(&rel) {
                Some(content) => {
                    std::fs::create_dir_all(p.parent().expect("has parent"))?;
                    std::fs::write(&p, content)
                        .with_context(|| format!("writing {}", p.display()))?;
                }
                None => std::fs::remove_file(&p)
                    .with_context(|| format!("removing stale {}", p.display()))?,
            }
        }
        for dir in owned_dirs(chart) {
            let dir = root.join(dir);
            if dir.exists() && remove_empty_dirs(&dir)? {
                std::fs::remove_dir(&dir)?;
            }
        }
    }
    if check && !differ.is_empty() {
        for p in &differ {
            eprintln!("differs from a fresh regeneration: {}", p.display());
        }
        bail!(
            "{} generated file(s) are out of date; run `cargo xtask sync`",
            differ.len()
        );
    }
    let n: usize = generated.iter().map(|(_, f)| f.len()).sum();
    println!(
        "{} charts, {n} files {}",
        generated.len(),
        if check { "up to date" } else { "written" }
    );
    Ok(())
}

fn remove_empty_dirs(dir: &Path) -> Result<bool> {
    let mut empty = true;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            if remove_empty_dirs(&p)? {
                std::fs::remove_dir(&p)?;
            } else {
                empty = false;
            }
        } else {
            empty = false;
        }
    }
    Ok(empty)
}
