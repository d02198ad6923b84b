//! Harness for end-to-end tests: local control plane, Helm, kubectl.
