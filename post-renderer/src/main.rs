//! `kf-post`: the engine as a Helm post-renderer (Helm 3 `--post-renderer`,
//! Helm 4 `postrenderer/v1` subprocess plugin), Argo CD CMP or plain pipe.
//! Reads the whole stream from stdin and writes nothing until the whole run
//! succeeded, so an error never leaves a partial stream for Helm to apply.

use std::io::{Read, Write};
use std::process::ExitCode;

use kf_post::{post_render, Options};

const HELP: &str = "\
kf-post: apply Kubeflow platform integration to a rendered Kubernetes stream

usage: kf-post [--config FILE] [--explain] < rendered.yaml > out.yaml
       kf-post --version | --help

  --config FILE  PostRenderConfig document; overrides PostRenderConfig
                 documents found in the stream (which are consumed)
  --explain      write to stderr what each transform changed, per document
  --explain-file FILE
                 write that report to FILE instead (Helm 3 and 4 discard a
                 post-renderer's stderr when it succeeds)
  --version      print the version
  --help         this text

As a post-renderer: helm install ... --post-renderer kf-post \\
  [--post-renderer-args --config --post-renderer-args FILE]
Documentation: docs/kf-post.md";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kf-post: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut options = Options::default();
    let mut explain_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{HELP}");
                return Ok(());
            }
            "--version" => {
                println!("kf-post {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            "--explain" => options.explain = true,
            "--explain-file" => {
                explain_file = Some(args.next().ok_or("--explain-file needs a file argument")?);
                options.explain = true;
            }
            "--config" => {
                let path = args.next().ok_or("--config needs a file argument")?;
                options.config_yaml = Some(read_config(&path)?);
            }
            other => match other.strip_prefix("--config=") {
                Some(path) => options.config_yaml = Some(read_config(path)?),
                None => return Err(format!("unknown argument {other:?} (see --help)")),
            },
        }
    }
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("reading stdin: {e}"))?;
    let output = post_render(&input, &options).map_err(|e| e.to_string())?;
    match &explain_file {
        Some(path) => std::fs::write(path, &output.explain)
            .map_err(|e| format!("cannot write explain report to {path}: {e}"))?,
        None if options.explain => eprint!("{}", output.explain),
        None => {}
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&output.stream)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("writing stdout: {e}"))
}

fn read_config(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("config: cannot read {path}: {e}"))
}
