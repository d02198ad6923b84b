//! Security audits of rendered manifests (issue 9).
//!
//! Every analyzer reads a rendered multi-document YAML stream (what `helm template`
//! or `kf-post` prints) and is deliberately independent of the `kf-post` engine, so
//! the audit checks the engine's output instead of trusting its own model of it.

pub mod netpol;
pub mod order;
pub mod pss;
pub mod rbac;
pub mod selector;
pub mod stream;
pub mod table;

pub use stream::{parse, Object};
