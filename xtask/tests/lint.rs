//! `helm lint --strict` is clean for every chart with each of its ci values files.

mod common;
use common::*;
use std::process::Command;
use std::sync::Mutex;

#[test]
fn every_chart_and_ci_file_lints_strict() {
    let helm = helm();
    let mut jobs = Vec::new();
    for chart in charts() {
        let dir = chart_dir(&chart);
        let mut ci: Vec<_> = std::fs::read_dir(dir.join("ci"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        ci.sort();
        assert!(!ci.is_empty(), "{chart} has no ci values file");
        for f in ci {
            jobs.push((dir.clone(), f));
        }
    }
    let queue = Mutex::new(jobs);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let Some((dir, f)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let out = Command::new(&helm)
                    .args(["lint", "--strict"])
                    .arg(&dir)
                    .arg("-f")
                    .arg(&f)
                    .output()
                    .unwrap();
                if !out.status.success() {
                    failures.lock().unwrap().push(format!(
                        "{} -f {}:\n{}{}",
                        dir.display(),
                        f.display(),
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
