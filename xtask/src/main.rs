//! Repository automation. `cargo xtask sync` regenerates the component charts from
//! upstream Kustomize output; `cargo xtask parity` compares charts with upstream.

use xtask::{parity, sync, upgrade_notes, upstream};

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

const USAGE: &str = "usage:
  cargo xtask sync [--manifests DIR | --kustomize CHECKOUT [--release NAME]] [--out DIR] [--only CHART]... [--check]
  cargo xtask parity [--manifests DIR | --kustomize CHECKOUT [--release NAME]] [--out DIR] [--write-doc] [--only CHART]...
  cargo xtask parity --chart DIR [-f VALUES]... --against RENDERED.yaml [--post-renderer BIN] [--name NAME]
  cargo xtask upgrade-notes --manifests OLDER_SNAPSHOT [--check]";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// `upgrade-notes --manifests OLDER [--check]`: the older release's chart set is
/// synced into a temporary directory; the notes of it → the committed charts
/// (the default snapshot's release) go into docs/upgrades.md.
fn write_upgrade_notes(older: &upstream::Source, check: bool) -> Result<()> {
    let newer = upstream::Source::snapshot(&upstream::default_manifests_dir())?;
    let scratch = std::env::temp_dir().join(format!("xtask-upgrade-notes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    sync::run(older, Some(&scratch), &[], false)?;
    let root = upstream::repo_root();
    let notes = upgrade_notes::notes(older, &newer, &scratch.join("charts"), &root.join("charts"));
    let _ = std::fs::remove_dir_all(&scratch);
    let path = root.join("docs/upgrades.md");
    let doc = std::fs::read_to_string(&path)?;
    let updated = upgrade_notes::replace_in(&doc, &notes?)?;
    if updated == doc {
        return Ok(());
    }
    if check {
        bail!("docs/upgrades.md's upgrade notes are stale: run `cargo xtask upgrade-notes --manifests <older snapshot>`");
    }
    std::fs::write(&path, updated)?;
    Ok(())
}

fn value(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<String> {
    args.next()
        .with_context(|| format!("{flag} needs a value\n{USAGE}"))
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    let mut manifests: Option<PathBuf> = None;
    let mut kustomize: Option<PathBuf> = None;
    let mut release: Option<String> = None;
    let mut check = false;
    let mut out: Option<PathBuf> = None;
    let mut write_doc = false;
    let mut only: Vec<String> = Vec::new();
    let mut adhoc = parity::Adhoc::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--manifests" => manifests = Some(value(&mut args, &a)?.into()),
            "--kustomize" => kustomize = Some(value(&mut args, &a)?.into()),
            "--release" => release = Some(value(&mut args, &a)?),
            "--check" => check = true,
            "--out" => out = Some(value(&mut args, &a)?.into()),
            "--write-doc" => write_doc = true,
            "--only" => only.push(value(&mut args, &a)?),
            "--chart" => adhoc.chart = Some(value(&mut args, &a)?.into()),
            "-f" | "--values" => adhoc.values.push(value(&mut args, &a)?.into()),
            "--against" => adhoc.against = Some(value(&mut args, &a)?.into()),
            "--post-renderer" => adhoc.post_renderer = Some(value(&mut args, &a)?.into()),
            "--name" => adhoc.name = Some(value(&mut args, &a)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    // The upstream output and its Kubeflow release (catalog/releases.yaml); --out
    // is where sync writes the charts and where parity reads them.
    if release.is_some() && kustomize.is_none() {
        bail!("--release is for --kustomize: a snapshot's release is told by its fingerprint (catalog/releases.yaml)");
    }
    let source = match (manifests, kustomize) {
        (Some(_), Some(_)) => bail!("--manifests and --kustomize are exclusive"),
        (_, Some(root)) => upstream::Source::kustomize(&root, release.as_deref())?,
        (Some(dir), None) => upstream::Source::snapshot(&dir)?,
        (None, None) => upstream::Source::snapshot(&upstream::default_manifests_dir())?,
    };
    match cmd.as_str() {
        "sync" => {
            let t = std::time::Instant::now();
            sync::run(&source, out.as_deref(), &only, check)?;
            eprintln!("sync took {:.1}s", t.elapsed().as_secs_f64());
            Ok(())
        }
        "parity" => {
            if adhoc.chart.is_some() {
                parity::run_adhoc(&adhoc, &source.release().name)
            } else {
                parity::run_all(&source, out.as_deref(), &only, write_doc)
            }
        }
        "upgrade-notes" => write_upgrade_notes(&source, check),
        _ => bail!("unknown command {cmd:?}\n{USAGE}"),
    }
}
