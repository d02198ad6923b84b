//! Test harness hosting plugin.wasm (see issue 6).
