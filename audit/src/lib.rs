//! Security audits of rendered manifests (see issue 9).
