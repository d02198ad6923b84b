//! One document of a rendered YAML stream: its original text, its parsed value,
//! and a record of what the transforms changed.
//!
//! Untouched documents are written back byte-for-byte from `raw`; a document
//! becomes "touched" only through the mutable accessors below, which is what
//! lets `--explain` say exactly which transform changed what.

use serde_yaml::{Mapping, Value};

use crate::error::DocRef;

/// Annotation Helm 4 puts on every document it hands a post-renderer, naming
/// the chart file; Helm strips it again afterwards.
pub const HELM4_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

/// One change a transform made to a document, for `--explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub transform: &'static str,
    pub what: String,
}

#[derive(Debug, Clone)]
pub struct Document {
    /// Position in the input stream (0-based); generated documents get the
    /// index of the document they were derived from or `usize::MAX`.
    pub index: usize,
    /// Comment lines before the body (Helm's `# Source: …`), kept verbatim.
    pub leading_comments: String,
    /// The document's text as read (without the `---` separator).
    pub raw: String,
    /// The parsed document (always a mapping for Kubernetes objects).
    pub value: Value,
    /// Changes made so far; empty means the document is emitted as `raw`.
    pub changes: Vec<Change>,
    /// Created by a transform rather than read from the input.
    pub generated: bool,
}

impl Document {
    /// A document created by a transform (e.g. a VirtualService).
    pub fn generated(value: Value, transform: &'static str, why: impl Into<String>) -> Self {
        Document {
            index: usize::MAX,
            leading_comments: format!("# Source: kf-post/{transform}\n"),
            raw: String::new(),
            value,
            changes: vec![Change {
                transform,
                what: why.into(),
            }],
            generated: true,
        }
    }

    /// Parse one document from YAML text (index 0), fully (CRD schemas
    /// included), with the same checks as the stream reader; e.g. for tests.
    pub fn from_yaml(yaml: &str) -> crate::error::Result<Self> {
        let options = crate::stream::ParseOptions { full_crds: true };
        let mut stream = crate::stream::parse(yaml.as_bytes(), options)?;
        match stream.documents.len() {
            1 => Ok(stream.documents.remove(0)),
            n => Err(crate::error::Error::Input(format!(
                "expected one document, found {n}"
            ))),
        }
    }

    pub fn is_touched(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Record a change without going through an accessor (for edits made via
    /// `value` directly).
    pub fn record(&mut self, transform: &'static str, what: impl Into<String>) {
        self.changes.push(Change {
            transform,
            what: what.into(),
        });
    }

    fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut v = &self.value;
        for key in path {
            v = v.get(*key)?;
        }
        v.as_str()
    }

    pub fn api_version(&self) -> Option<&str> {
        self.str_at(&["apiVersion"])
    }

    pub fn kind(&self) -> Option<&str> {
        self.str_at(&["kind"])
    }

    /// API group of `apiVersion` ("" for the core group).
    pub fn group(&self) -> &str {
        match self.api_version() {
            Some(av) => av.rsplit_once('/').map(|(g, _)| g).unwrap_or(""),
            None => "",
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.str_at(&["metadata", "name"])
    }

    pub fn namespace(&self) -> Option<&str> {
        self.str_at(&["metadata", "namespace"])
    }

    /// The chart file the document came from: Helm 3's `# Source:` comment,
    /// else Helm 4's `postrenderer.helm.sh/postrender-filename` annotation
    /// (Helm 4 hands post-renderers a stream without comments).
    pub fn source(&self) -> Option<&str> {
        self.leading_comments
            .lines()
            .find_map(|l| l.trim().strip_prefix("# Source:").map(str::trim))
            .or_else(|| self.annotation(HELM4_FILENAME))
    }

    pub fn doc_ref(&self) -> DocRef {
        DocRef {
            index: self.index,
            source: self.source().map(str::to_owned),
            kind: self.kind().map(str::to_owned),
            name: self.name().map(str::to_owned),
        }
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.value
            .get("metadata")?
            .get("labels")?
            .get(key)?
            .as_str()
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }

    /// Mutable access to `metadata`, creating it if absent.
    pub fn metadata_mut(&mut self) -> &mut Mapping {
        mapping_entry(&mut self.value, "metadata")
    }

    /// Set `metadata.labels[key]`; records a change only if the value differs.
    pub fn set_label(&mut self, transform: &'static str, key: &str, value: &str) -> bool {
        self.set_metadata_string(transform, "labels", key, value)
    }

    /// Set `metadata.annotations[key]`; records a change only if the value differs.
    pub fn set_annotation(&mut self, transform: &'static str, key: &str, value: &str) -> bool {
        self.set_metadata_string(transform, "annotations", key, value)
    }

    fn set_metadata_string(
        &mut self,
        transform: &'static str,
        map: &str,
        key: &str,
        value: &str,
    ) -> bool {
        let entries = mapping_entry(&mut self.value, "metadata");
        let entries = mapping_entry_in(entries, map);
        let k = Value::String(key.to_owned());
        if entries.get(&k).and_then(Value::as_str) == Some(value) {
            return false;
        }
        entries.insert(k, Value::String(value.to_owned()));
        self.record(transform, format!("set metadata.{map}.{key}={value}"));
        true
    }
}

/// `value[key]` as a mapping, inserted (empty) if missing or null.
pub fn mapping_entry<'a>(value: &'a mut Value, key: &str) -> &'a mut Mapping {
    // `is_mapping` looks through YAML tags; only a plain mapping will do.
    if !matches!(value, Value::Mapping(_)) {
        *value = Value::Mapping(Mapping::new());
    }
    match value {
        Value::Mapping(m) => mapping_entry_in(m, key),
        _ => unreachable!("just made a mapping"),
    }
}

/// `map[key]` as a mapping, inserted (empty) if missing or null.
pub fn mapping_entry_in<'a>(map: &'a mut Mapping, key: &str) -> &'a mut Mapping {
    let k = Value::String(key.to_owned());
    let slot = map.entry(k).or_insert(Value::Null);
    if !matches!(slot, Value::Mapping(_)) {
        *slot = Value::Mapping(Mapping::new());
    }
    match slot {
        Value::Mapping(m) => m,
        _ => unreachable!("just made a mapping"),
    }
}
