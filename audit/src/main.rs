//! `kf-audit pss|rbac|netpol < stream`: prints the audit table of a rendered stream.

use std::io::Read;
use std::process::ExitCode;

const USAGE: &str = "usage: kf-audit pss|rbac|netpol < rendered-stream.yaml";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
