//! Library behind `cargo xtask`: chart generation from upstream Kustomize output
//! (`sync`), and the parity gate (`parity`). Tests in `xtask/tests` use it directly.

pub mod catalog;
pub mod chart;
pub mod crd;
pub mod fields;
pub mod fixes;
pub mod gateway;
pub mod identity;
pub mod immutable;
pub mod merge;
pub mod parity;
pub mod parts;
pub mod release;
pub mod sequencing;
pub mod sync;
pub mod template;
pub mod upgrade_notes;
pub mod upstream;
pub mod values;
pub mod variables;
pub mod webhook_certs;
pub mod yaml;
