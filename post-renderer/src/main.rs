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

/// Set by the Helm 4 plugin's wrapper (`helm-plugin/kf-post.sh`) to Helm's pid
/// when Helm's stderr is a socket: see [`take_stderr_of`].
const STDERR_OF_PID: &str = "KF_POST_STDERR_OF_PID";

fn main() -> ExitCode {
    if let Ok(pid) = std::env::var(STDERR_OF_PID) {
        if let Err(e) = take_stderr_of(&pid) {
            // Helm drops the stderr it gave us, but there is no other place.
            eprintln!("kf-post: cannot write to Helm's stderr ({STDERR_OF_PID}={pid}): {e}");
        }
    }
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

/// Helm 4 collects a postrenderer/v1 plugin's stderr in a buffer and drops it.
/// The wrapper reopens Helm's stderr through `/proc/<pid>/fd/2`, which works
/// for terminals, pipes and files but not for a socket (open(2) gives ENXIO),
/// so for a socket kf-post takes Helm's own descriptor with pidfd_getfd(2)
/// (Linux 5.6, the same user; refused where Yama restricts ptrace to
/// descendants, e.g. Ubuntu's default scope 1) and makes it its stderr.
#[cfg(target_os = "linux")]
fn take_stderr_of(pid: &str) -> Result<(), String> {
    let pid: libc::pid_t = pid.parse().map_err(|_| "not a pid".to_string())?;
    let os_error = |call: &str| format!("{call}: {}", std::io::Error::last_os_error());
    // SAFETY: plain syscalls on integers; every descriptor they return is
    // closed here except the one dup2 installs as fd 2.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        if pidfd < 0 {
            return Err(os_error("pidfd_open"));
        }
        let pidfd = pidfd as libc::c_int;
        let fd = libc::syscall(libc::SYS_pidfd_getfd, pidfd, libc::STDERR_FILENO, 0);
        let taken = if fd < 0 {
            Err(os_error("pidfd_getfd"))
        } else {
            let fd = fd as libc::c_int;
            let dup = libc::dup2(fd, libc::STDERR_FILENO);
            let result = if dup < 0 {
                Err(os_error("dup2"))
            } else {
                Ok(())
            };
            libc::close(fd);
            result
        };
        libc::close(pidfd);
        taken
    }
}

#[cfg(not(target_os = "linux"))]
fn take_stderr_of(_pid: &str) -> Result<(), String> {
    Err("needs Linux (pidfd_getfd)".to_string())
}

fn read_config(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("config: cannot read {path}: {e}"))
}
