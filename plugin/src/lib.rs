//! Helm 4 WASM plugin `helm kubeflow` (see issue 6).
