//! Hard limits on the input, so a hostile or broken chart cannot make the
//! engine (native or inside Helm's WASM runtime) run out of memory or stack.
//! Every limit is documented in docs/kf-post.md; changing one here means
//! changing it there.

/// Largest accepted input stream. The full Kubeflow platform renders to
/// ~12 MB, so this leaves a 20x margin while keeping WASM memory bounded.
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// Largest accepted single document. The biggest upstream CRD is ~1.5 MB.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

/// Deepest accepted nesting of mappings/sequences in a parsed document.
/// Kubernetes objects stay well under 30 levels outside CRD schemas (which the
/// engine keeps opaque); serde_yaml itself stops at 128.
pub const MAX_DEPTH: usize = 64;

/// Most nodes (scalars, mappings, sequences) a parsed document may expand to.
/// Bounds alias expansion ("billion laughs"): serde_yaml alone allows up to
/// 100x its event count, which is still enormous for a large document.
pub const MAX_NODES: usize = 2_000_000;
