//! The transforms, one module each, in the spirit of kustomize's `api/filters`:
//! a typed config, a `filter(docs) -> Result<docs>` entry, table-driven tests.

use crate::document::Document;
use crate::error::Result;

/// One step of the pipeline.
pub trait Filter {
    /// Short name used in `--explain` output and error messages.
    fn name(&self) -> &'static str;
    /// Transform the whole stream. May add, change or remove documents.
    fn filter(&self, docs: Vec<Document>) -> Result<Vec<Document>>;
}
pub mod istio;
pub mod auth;
pub mod certificates;
pub mod profiles;
