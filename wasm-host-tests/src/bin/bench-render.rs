//! Prints `render` timings: plugin.wasm in wasmtime (hosted like Helm does)
//! vs the native kf-post binary, in the same run, and the WASM memory used.
//! Usage: bench-render KF_POST_BINARY INPUT.yaml [RUNS]   (scripts/bench-plugin)

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use wasm_host_tests::{helm_result, invoke, module, Call, WASM_PAGE};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn native(bin: &str, input: &[u8]) -> Result<(Duration, Vec<u8>)> {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output()?;
    writer.join().expect("writer thread")?;
    if !out.status.success() {
        bail!("kf-post failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((start.elapsed(), out.stdout))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: bench-render KF_POST_BINARY INPUT.yaml [RUNS]");
    }
    let input = std::fs::read(&args[2]).with_context(|| args[2].clone())?;
    let runs: usize = args.get(3).map(|r| r.parse()).transpose()?.unwrap_or(3);

    let t = Instant::now();
    module()?;
    let compile = t.elapsed();

    let (mut wasm_times, mut native_times, mut pages) = (Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let (d, native_out) = native(&args[1], &input)?;
        native_times.push(d);
        let t = Instant::now();
        let o = invoke(&Call::cli(&["render"], input.clone())?)?;
        wasm_times.push(t.elapsed());
        if let Err(e) = helm_result(&o) {
            bail!("wasm render failed: {e}");
        }
        if o.stdout != native_out {
            bail!("wasm and native outputs differ");
        }
        pages = pages.max(o.memory_pages);
    }
    let (w, n) = (median(wasm_times), median(native_times));
    println!(
        "input: {} ({} bytes), {runs} runs, medians",
        args[2],
        input.len()
    );
    println!(
        "native kf-post (process):            {:>8.1} ms",
        n.as_secs_f64() * 1e3
    );
    println!(
        "wasm render (instantiate + call):    {:>8.1} ms",
        w.as_secs_f64() * 1e3
    );
    println!(
        "wasm/native ratio:                   {:>8.2}x",
        w.as_secs_f64() / n.as_secs_f64()
    );
    println!(
        "wasm module compile (once, cached by Helm): {:.1} ms",
        compile.as_secs_f64() * 1e3
    );
    println!(
        "wasm memory used: {pages} pages ({} MiB)",
        (pages * WASM_PAGE) >> 20
    );
    Ok(())
}
