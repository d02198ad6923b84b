//! `kf-audit pss|rbac|netpol < stream`: prints the audit table of a rendered stream.
//! `kf-audit order [FILE|-]`: lists objects applied before what admits them.

use std::io::Read;
use std::process::ExitCode;

const USAGE: &str = "usage: kf-audit pss|rbac|netpol < rendered-stream.yaml
       kf-audit order [--namespace NS] [--sequencing helm|argocd] [FILE|-]

order: objects of the release that a fresh cluster rejects because they are
applied together with what admits them: objects intercepted by a
failurePolicy=Fail admission webhook served by the release, custom resources
whose CRD is in the release, resources of an APIService served by the release.
Each must be sequenced after its webhook configuration, Service and workload
(or CRD, or APIService): a helm.sh/hook post-install,post-upgrade,post-rollback
hook (or a hook of greater weight), or a greater argocd.argoproj.io/sync-wave.
  --namespace NS    namespace of objects that name none (helm -n; default: default)
  --sequencing S    helm or argocd (default: argocd if any object has an Argo CD
                    sync-wave or hook annotation, else helm)
Prints one line per violation and a summary line; exits 0 when there are none,
1 when there are violations, 2 on bad usage or input.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("order") {
        return order(&args[1..]);
    }
    let report: fn(&[audit::Object]) -> String = match args.as_slice() {
        [cmd] if cmd == "pss" => audit::pss::report,
        [cmd] if cmd == "rbac" => audit::rbac::report,
        [cmd] if cmd == "netpol" => audit::netpol::report,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("kf-audit: reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    match audit::parse(&input) {
        Ok(objects) => {
            print!("{}", report(&objects));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kf-audit: {e}");
            ExitCode::FAILURE
        }
    }
}

fn order(args: &[String]) -> ExitCode {
    let mut options = audit::order::Options::default();
    let mut file: Option<&str> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let parsed = match arg.as_str() {
            "--namespace" | "-n" => args
                .next()
                .map(|ns| options.release_namespace = ns.clone())
                .ok_or_else(|| format!("{arg} needs a value")),
            "--sequencing" => args
                .next()
                .ok_or_else(|| format!("{arg} needs a value"))
                .and_then(|s| audit::order::Sequencing::parse(s))
                .map(|s| options.sequencing = Some(s)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            path if file.is_none() && (path == "-" || !path.starts_with('-')) => {
                file = Some(path);
                Ok(())
            }
            other => Err(format!("unexpected argument {other:?}")),
        };
        if let Err(e) = parsed {
            eprintln!("kf-audit order: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let input = match file {
        None | Some("-") => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map(|_| input)
                .map_err(|e| format!("reading stdin: {e}"))
        }
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}")),
    };
    let report = input
        .and_then(|input| audit::parse(&input))
        .and_then(|objects| audit::order::audit(&objects, &options));
    match report {
        Ok(report) => {
            print!("{report}");
            if report.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("kf-audit order: {e}");
            ExitCode::from(2)
        }
    }
}
