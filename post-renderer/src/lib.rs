//! The Kubeflow transform engine: a pipeline of small filters over a rendered
//! multi-document YAML stream. Used natively by `kf-post` and compiled to WASM
//! by the `helm kubeflow` plugin.

pub mod document;
pub mod error;
pub mod transforms;

pub use document::{Change, Document};
pub use error::{DocRef, Error, Result};
