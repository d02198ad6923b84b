//! The extism entry points Helm 4 calls (`runtime: extism/v1`).
//!
//! Helm's contract (internal/plugin/runtime_extismv1.go, schema/cli.go):
//! - the input is the JSON `{"extraArgs": [...]}`; stdin, stdout, stderr and
//!   the environment are the user's, through WASI;
//! - a return code != 0 with an extism error set becomes
//!   `Error: plugin error: <message>` and exit status 1;
//! - on success the output must decode as `{"data": ...}` (empty output fails).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};

use extism_pdk::Memory;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// WASI exit status when the plugin hits `runtimeConfig.memory.maxPages`.
const OUT_OF_MEMORY_EXIT: i32 = 3;
const OUT_OF_MEMORY_MESSAGE: &[u8] = b"helm kubeflow: out of memory: the input needs more than the plugin's memory limit \
(plugin.yaml runtimeConfig.memory.maxPages); raise it, or use the native kf-post binary for this input\n";

/// Without this, a failed `memory.grow` at the configured page limit ends in
/// Rust's allocation-failure abort, which the host sees as an `unreachable`
/// trap. Here it becomes a message on stderr and a plain WASI exit instead.
struct ReportingAllocator;

#[global_allocator]
static ALLOCATOR: ReportingAllocator = ReportingAllocator;

extern "C" {
    /// wasi-libc's immediate exit (`proc_exit`), no atexit handlers: nothing
    /// may allocate once the heap is exhausted.
    fn _Exit(code: i32) -> !;
}

fn out_of_memory() -> ! {
    // Stderr is unbuffered: writing a static message allocates nothing.
    let _ = std::io::stderr().write_all(OUT_OF_MEMORY_MESSAGE);
    unsafe { _Exit(OUT_OF_MEMORY_EXIT) }
}

unsafe impl GlobalAlloc for ReportingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory()
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory()
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory()
        }
        p
    }
}

#[derive(Deserialize)]
struct CliInput {
    #[serde(rename = "extraArgs", default)]
    extra_args: Option<Vec<String>>,
}

/// Peak heap of a render is about 4.4x its input (53 MiB for upstream's 12 MB
/// platform, measured by scripts/bench-plugin); reserve a bit more.
const HEAP_PER_INPUT_BYTE: usize = 6;

/// wazero (Helm's WASM runtime) copies the whole linear memory on every
/// `memory.grow`, and the allocator grows it in small steps: a render of the
/// whole platform spent 40 s copying. Growing once up front, then handing the
/// block back to the allocator (which keeps it: WASM memory never shrinks),
/// makes later allocations reuse it. Best effort: if the reservation does not
/// fit the page limit, smaller ones are tried, then none.
fn pregrow_heap(bytes: usize) {
    let mut size = bytes;
    while size >= 1 << 20 {
        if let Ok(layout) = Layout::from_size_align(size, 16) {
            // System, not the reporting allocator: failing here is not an error.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                unsafe { System.dealloc(p, layout) };
                return;
            }
        }
        size /= 2;
    }
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| Error::new(format!("reading stdin: {e}")))?;
    pregrow_heap(buf.len().saturating_mul(HEAP_PER_INPUT_BYTE));
    Ok(buf)
}

fn write_all(out: &mut dyn Write, bytes: &[u8], what: &str) -> Result<()> {
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| Error::new(format!("writing {what}: {e}")))
}

fn set_output(json: &[u8]) -> i32 {
    match Memory::from_bytes(json) {
        Ok(mem) => {
            mem.set_output();
            0
        }
        Err(e) => fail(&Error::new(format!("setting the extism output: {e}"))),
    }
}

/// Hands the message to Helm (extism error) and returns the failure code.
fn fail(err: &Error) -> i32 {
    if let Ok(mem) = Memory::from_bytes(err.to_string()) {
        unsafe { extism_pdk::extism::error_set(mem.offset()) };
    }
    1
}

fn cli_main() -> Result<()> {
    let input: CliInput = serde_json::from_slice(&extism_pdk::input_bytes()).map_err(|e| {
        Error::new(format!(
            "extism input: expected {{\"extraArgs\": [...]}}: {e}"
        ))
    })?;
    let argv = input.extra_args.unwrap_or_default();
    let outcome = crate::cli::run(&argv, &mut read_stdin)?;
    write_all(&mut std::io::stdout(), &outcome.stdout, "stdout")?;
    write_all(&mut std::io::stderr(), outcome.stderr.as_bytes(), "stderr")?;
    match outcome.failure {
        Some(message) => Err(Error::new(message)),
        None => Ok(()),
    }
}

/// `cli/v1` entry (plugin.yaml `runtimeConfig.entryFuncName`, Helm's default name).
#[no_mangle]
pub extern "C" fn helm_plugin_main() -> i32 {
    match cli_main() {
        Ok(()) => set_output(br#"{"data":{}}"#),
        Err(e) => fail(&e),
    }
}

#[derive(Deserialize)]
struct PostRendererInput {
    #[serde(default)]
    manifests: serde_json::Value,
}

#[derive(Serialize)]
struct PostRendererOutput {
    manifests: String,
}

fn postrenderer_main() -> Result<Vec<u8>> {
    let input: PostRendererInput = serde_json::from_slice(&extism_pdk::input_bytes())
        .map_err(|e| Error::new(format!("postrenderer/v1 input: not JSON: {e}")))?;
    let serde_json::Value::String(manifests) = input.manifests else {
        return Err(Error::new(
            "postrenderer/v1: Helm passed no manifests (it serializes them as `{}`, helm/helm#31832); \
             use the kf-post subprocess post-renderer plugin (post-renderer/helm-plugin, `--post-renderer kf-post`) \
             or pipe: helm template ... | helm kubeflow render",
        ));
    };
    let out = kf_post::post_render(
        manifests.as_bytes(),
        &kf_post::Options {
            config_yaml: None,
            explain: false,
        },
    )
    .map_err(|e| Error::new(format!("render: {e}")))?;
    let manifests = String::from_utf8(out.stream)
        .map_err(|e| Error::new(format!("render: output is not UTF-8: {e}")))?;
    serde_json::to_vec(&PostRendererOutput { manifests })
        .map_err(|e| Error::new(format!("postrenderer/v1 output: {e}")))
}

/// `postrenderer/v1` entry for when Helm passes the manifests as a string
/// (the shape of the proposed fix for helm/helm#31832).
#[no_mangle]
pub extern "C" fn helm_postrenderer_main() -> i32 {
    match postrenderer_main() {
        Ok(json) => set_output(&json),
        Err(e) => fail(&e),
    }
}
