//! `helm kubeflow`: the Helm 4 `cli/v1` plugin (runtime `extism/v1`).
//!
//! Everything a command does lives in target-independent modules, unit-tested
//! natively (`cargo test -p helm-kubeflow`); `wasm` is the thin extism entry
//! compiled only into `plugin.wasm`.

pub mod catalog;
pub mod cli;
pub mod components;
pub mod deps;
pub mod doctor;
pub mod error;
pub mod presets;
pub mod profiles;
pub mod values;
pub mod variants;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use cli::{run, Outcome};
pub use error::{Error, Result};
