//! Hosts `plugin.wasm` the way Helm 4's `extism/v1` runtime does
//! (helm.sh/helm/v4 internal/plugin/runtime_extismv1.go on extism go-sdk 1.7):
//!
//! - the module is instantiated with WASI preview1: stdin/stdout/stderr and the
//!   environment are the user's, no arguments, no preopened directories
//!   (Helm maps nothing unless `fileSystem.createTempDir`), wall clock on;
//! - the extism kernel (`extism:host/env`) holds the call's input (the JSON
//!   `{"extraArgs": [...]}`), output and error in its own memory; this crate
//!   implements those kernel functions on the host side with the same semantics;
//! - `runtimeConfig.memory.maxPages` caps every linear memory (go-sdk passes it
//!   to wazero as the runtime-wide memory limit): a `memory.grow` beyond it fails;
//! - a reactor's `_initialize` runs once before the entry function; the entry
//!   returns an i32 code; a WASI `proc_exit` is turned into that code.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use wasmtime::{
    Caller, Config, Engine, Extern, Linker, Module, Store, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

pub const WASM_PAGE: u64 = 65536;
/// Enough for the whole platform's rendered stream several times over.
const PIPE_CAPACITY: usize = 512 << 20;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate is inside the repo")
        .to_path_buf()
}

/// The pinned Helm 4 binary from scripts/bootstrap; missing is a hard failure.
pub fn helm_bin() -> PathBuf {
    let bin = repo_root().join(".tools/bin/helm");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/bootstrap",
        bin.display()
    );
    bin
}

/// `plugin.wasm` next to `plugin.yaml`; a missing module is a hard failure.
pub fn plugin_wasm() -> Result<PathBuf> {
    let path = repo_root().join("plugin.wasm");
    if !path.exists() {
        bail!(
            "{} is missing: run scripts/build-plugin first",
            path.display()
        );
    }
    Ok(path)
}

/// `runtimeConfig` of `plugin.yaml`, the part Helm hands to extism.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub max_pages: u32,
    pub entry: String,
}

impl RuntimeConfig {
    pub fn from_plugin_yaml() -> Result<RuntimeConfig> {
        let text = std::fs::read_to_string(repo_root().join("plugin.yaml"))
            .context("reading plugin.yaml")?;
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).context("parsing plugin.yaml")?;
        let rc = &doc["runtimeConfig"];
        let max_pages = rc["memory"]["maxPages"]
            .as_u64()
            .ok_or_else(|| anyhow!("plugin.yaml: runtimeConfig.memory.maxPages missing"))?;
        let entry = rc["entryFuncName"]
            .as_str()
            .unwrap_or("helm_plugin_main")
            .to_string();
        Ok(RuntimeConfig {
            max_pages: u32::try_from(max_pages)?,
            entry,
        })
    }
}

/// One plugin invocation.
#[derive(Debug, Clone)]
pub struct Call {
    pub entry: String,
    /// The extism input; for cli/v1 Helm sends `{"extraArgs": [...]}`.
    pub input: Vec<u8>,
    pub stdin: Vec<u8>,
    pub env: Vec<(String, String)>,
    pub max_pages: u32,
}

impl Call {
    /// `helm kubeflow ARGS...` with the plugin.yaml runtime config.
    pub fn cli(args: &[&str], stdin: impl Into<Vec<u8>>) -> Result<Call> {
        let rc = RuntimeConfig::from_plugin_yaml()?;
        let input = serde_json::to_vec(&serde_json::json!({ "extraArgs": args }))?;
        Ok(Call {
            entry: rc.entry,
            input,
            stdin: stdin.into(),
            env: vec![
                ("HELM_NAMESPACE".into(), "default".into()),
                ("HELM_PLUGIN_NAME".into(), "kubeflow".into()),
            ],
            max_pages: rc.max_pages,
        })
    }
}

/// What the host observed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The entry's return code, or the WASI exit status.
    pub code: i32,
    pub exited: bool,
    /// Extism output (what Helm JSON-decodes).
    pub output: Vec<u8>,
    /// Extism error (what Helm prints as `plugin error: ...`).
    pub error: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Set when the guest trapped (what must never happen).
    pub trap: Option<String>,
    /// Pages of the plugin's linear memory after the call (memories never shrink).
    pub memory_pages: u64,
}

impl Outcome {
    pub fn stdout_str(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }
    pub fn stderr_str(&self) -> &str {
        std::str::from_utf8(&self.stderr).expect("stderr is UTF-8")
    }
}

/// The extism kernel's state: one memory of blocks, like extism's kernel.
#[derive(Default)]
struct Kernel {
    mem: Vec<u8>,
    /// (offset, length) of live blocks.
    blocks: Vec<(u64, u64)>,
    input: (u64, u64),
    output: Option<(u64, u64)>,
    error: Option<u64>,
    limit: u64,
}

impl Kernel {
    fn alloc(&mut self, n: u64) -> u64 {
        // Offset 0 is extism's null; start at 1 like the kernel's first page header does.
        let offset = (self.mem.len() as u64).max(1);
        if offset + n > self.limit {
            return 0;
        }
        self.mem.resize((offset + n) as usize, 0);
        self.blocks.push((offset, n));
        offset
    }
    fn length(&self, offs: u64) -> u64 {
        self.blocks
            .iter()
            .find(|(o, _)| *o == offs)
            .map_or(0, |(_, n)| *n)
    }
    fn bytes(&self, offs: u64, n: u64) -> &[u8] {
        &self.mem[offs as usize..(offs + n) as usize]
    }
}

struct HostState {
    wasi: WasiP1Ctx,
    kernel: Kernel,
    limits: StoreLimits,
}

fn engine() -> Result<&'static Engine> {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    if let Some(e) = ENGINE.get() {
        return Ok(e);
    }
    let engine = Engine::new(&Config::new())?;
    Ok(ENGINE.get_or_init(|| engine))
}

/// Compiled once per test process: compilation of the module dominates a call.
pub fn module() -> Result<&'static Module> {
    static MODULE: std::sync::OnceLock<Module> = std::sync::OnceLock::new();
    if let Some(m) = MODULE.get() {
        return Ok(m);
    }
    let module = Module::from_file(engine()?, plugin_wasm()?)?;
    Ok(MODULE.get_or_init(|| module))
}

fn kernel_linker(linker: &mut Linker<HostState>) -> Result<()> {
    const ENV: &str = "extism:host/env";
    linker.func_wrap(ENV, "input_length", |c: Caller<'_, HostState>| {
        c.data().kernel.input.1
    })?;
    linker.func_wrap(ENV, "input_offset", |c: Caller<'_, HostState>| {
        c.data().kernel.input.0
    })?;
    linker.func_wrap(
        ENV,
        "input_load_u8",
        |c: Caller<'_, HostState>, offs: u64| -> wasmtime::Result<u32> {
            let k = &c.data().kernel;
            k.mem
                .get((k.input.0 + offs) as usize)
                .map(|b| *b as u32)
                .ok_or_else(|| wasmtime::format_err!("input_load_u8 out of bounds"))
        },
    )?;
    linker.func_wrap(
        ENV,
        "input_load_u64",
        |c: Caller<'_, HostState>, offs: u64| -> wasmtime::Result<u64> {
            let k = &c.data().kernel;
            let start = (k.input.0 + offs) as usize;
            let b = k
                .mem
                .get(start..start + 8)
                .ok_or_else(|| wasmtime::format_err!("input_load_u64 out of bounds"))?;
            Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
        },
    )?;
    linker.func_wrap(ENV, "alloc", |mut c: Caller<'_, HostState>, n: u64| {
        c.data_mut().kernel.alloc(n)
    })?;
    linker.func_wrap(ENV, "free", |mut c: Caller<'_, HostState>, offs: u64| {
        c.data_mut().kernel.blocks.retain(|(o, _)| *o != offs);
    })?;
    linker.func_wrap(ENV, "length", |c: Caller<'_, HostState>, offs: u64| {
        c.data().kernel.length(offs)
    })?;
    linker.func_wrap(
        ENV,
        "length_unsafe",
        |c: Caller<'_, HostState>, offs: u64| c.data().kernel.length(offs),
    )?;
    linker.func_wrap(
        ENV,
        "load_u8",
        |c: Caller<'_, HostState>, offs: u64| -> wasmtime::Result<u32> {
            c.data()
                .kernel
                .mem
                .get(offs as usize)
                .map(|b| *b as u32)
                .ok_or_else(|| wasmtime::format_err!("load_u8 out of bounds"))
        },
    )?;
    linker.func_wrap(
        ENV,
        "load_u64",
        |c: Caller<'_, HostState>, offs: u64| -> wasmtime::Result<u64> {
            let b = c
                .data()
                .kernel
                .mem
                .get(offs as usize..offs as usize + 8)
                .ok_or_else(|| wasmtime::format_err!("load_u64 out of bounds"))?;
            Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
        },
    )?;
    linker.func_wrap(
        ENV,
        "store_u8",
        |mut c: Caller<'_, HostState>, offs: u64, v: u32| -> wasmtime::Result<()> {
            *c.data_mut()
                .kernel
                .mem
                .get_mut(offs as usize)
                .ok_or_else(|| wasmtime::format_err!("store_u8 out of bounds"))? = v as u8;
            Ok(())
        },
    )?;
    linker.func_wrap(
        ENV,
        "store_u64",
        |mut c: Caller<'_, HostState>, offs: u64, v: u64| -> wasmtime::Result<()> {
            let slot = c
                .data_mut()
                .kernel
                .mem
                .get_mut(offs as usize..offs as usize + 8)
                .ok_or_else(|| wasmtime::format_err!("store_u64 out of bounds"))?;
            slot.copy_from_slice(&v.to_le_bytes());
            Ok(())
        },
    )?;
    linker.func_wrap(
        ENV,
        "output_set",
        |mut c: Caller<'_, HostState>, offs: u64, n: u64| {
            c.data_mut().kernel.output = Some((offs, n));
        },
    )?;
    linker.func_wrap(
        ENV,
        "error_set",
        |mut c: Caller<'_, HostState>, offs: u64| {
            c.data_mut().kernel.error = Some(offs);
        },
    )?;
    // Helm passes no `config` and no vars: lookups find nothing.
    linker.func_wrap(ENV, "config_get", |_: Caller<'_, HostState>, _offs: u64| {
        0u64
    })?;
    linker.func_wrap(ENV, "var_get", |_: Caller<'_, HostState>, _offs: u64| 0u64)?;
    linker.func_wrap(
        ENV,
        "var_set",
        |_: Caller<'_, HostState>, _k: u64, _v: u64| {},
    )?;
    Ok(())
}

/// Calls the plugin once, as Helm does.
pub fn invoke(call: &Call) -> Result<Outcome> {
    let module = module()?;
    let stdout = MemoryOutputPipe::new(PIPE_CAPACITY);
    let stderr = MemoryOutputPipe::new(PIPE_CAPACITY);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(call.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for (k, v) in &call.env {
        wasi.env(k, v);
    }
    let limit = u64::from(call.max_pages) * WASM_PAGE;
    let mut kernel = Kernel {
        limit,
        ..Kernel::default()
    };
    let input_offset = kernel.alloc(call.input.len() as u64);
    if input_offset == 0 && !call.input.is_empty() {
        bail!("the input does not fit the kernel memory limit");
    }
    kernel.mem[input_offset as usize..].copy_from_slice(&call.input);
    kernel.input = (input_offset, call.input.len() as u64);
    let limits = StoreLimitsBuilder::new()
        .memory_size(limit as usize)
        .trap_on_grow_failure(false)
        .build();
    let mut store = Store::new(
        engine()?,
        HostState {
            wasi: wasi.build_p1(),
            kernel,
            limits,
        },
    );
    store.limiter(|s| &mut s.limits);

    let mut linker: Linker<HostState> = Linker::new(engine()?);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| &mut s.wasi)?;
    kernel_linker(&mut linker)?;
    let instance = linker.instantiate(&mut store, module).map_err(|e| {
        anyhow::Error::from(e).context("instantiating plugin.wasm (Helm: failed to create plugin)")
    })?;

    if let Some(init) = instance.get_func(&mut store, "_initialize") {
        init.typed::<(), ()>(&store)?.call(&mut store, ())?;
    }
    let entry = instance
        .get_typed_func::<(), i32>(&mut store, &call.entry)
        .map_err(|e| {
            anyhow::Error::from(e).context(format!(
                "entry function {} (Helm: unknown function)",
                call.entry
            ))
        })?;
    let result = entry.call(&mut store, ());
    let (code, exited, trap) = match result {
        Ok(code) => (code, false, None),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => (exit.0, true, None),
            None => (1, false, Some(format!("{e:?}"))),
        },
    };
    let memory_pages = match instance.get_export(&mut store, "memory") {
        Some(Extern::Memory(m)) => m.size(&store),
        _ => 0,
    };
    let k = &store.data().kernel;
    let output = k
        .output
        .map(|(o, n)| k.bytes(o, n).to_vec())
        .unwrap_or_default();
    let error = k
        .error
        .map(|o| String::from_utf8_lossy(k.bytes(o, k.length(o))).into_owned());
    drop(store);
    Ok(Outcome {
        code,
        exited,
        output,
        error,
        stdout: stdout.contents().to_vec(),
        stderr: stderr.contents().to_vec(),
        trap,
        memory_pages,
    })
}

/// Helm's view of an outcome: `Ok(())` when `helm kubeflow` would exit 0,
/// `Err(message)` with what Helm prints otherwise.
pub fn helm_result(o: &Outcome) -> std::result::Result<(), String> {
    if let Some(trap) = &o.trap {
        return Err(format!("plugin error: {trap}"));
    }
    if o.exited && o.code != 0 {
        return Err(format!(
            "plugin error: module closed with exit_code({})",
            o.code
        ));
    }
    if let Some(e) = &o.error {
        return Err(format!("plugin error: {e}"));
    }
    if o.code != 0 {
        return Err(format!(
            "plugin exited with code {} and no error message",
            o.code
        ));
    }
    // Helm decodes the output into OutputMessageCLIV1 {data: *bytes.Buffer}.
    let v: serde_json::Value = serde_json::from_slice(&o.output)
        .map_err(|e| format!("failed to json unmarshal plugin output message: {e}"))?;
    match v.get("data") {
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Object(_)) => Ok(()),
        Some(other) => Err(format!(
            "output data {other} does not decode into bytes.Buffer"
        )),
    }
}
