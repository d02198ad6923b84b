//! The Kubeflow transform engine: a pipeline of small filters over a rendered
//! multi-document YAML stream. Used natively by `kf-post` and compiled to WASM
//! by the `helm kubeflow` plugin.

// Errors carry the document (index, source, kind/name) and field so users can
// find the problem; they happen once per run at most, so their size does not
// matter and boxing them would only complicate every transform.
#![allow(clippy::result_large_err)]

pub mod annotations;
pub mod builders;
pub mod config;
pub mod document;
pub mod error;
pub mod limits;
pub mod lookup;
pub mod names;
pub mod pipeline;
pub mod pods;
pub mod stream;
pub mod transforms;
pub mod validate;
pub mod yaml11;

pub use document::{Change, Changes, Document};
pub use error::{DocRef, Error, Result};
pub use pipeline::{check_output_guarantee, post_render, Options, Output};
