//! One document of a rendered YAML stream: its original text, its parsed value,
//! and a record of what the transforms changed.
//!
//! Untouched documents are written back byte-for-byte from `raw`; a document
//! becomes "touched" only through [`Document::edit`] and the metadata setters,
//! which record every change: that is what lets `--explain` say exactly which
//! transform changed what, and what makes an edit impossible to lose.

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

/// The changes one [`Document::edit`] makes, each described for `--explain`.
#[derive(Debug, Default)]
pub struct Changes(Vec<String>);

impl Changes {
    /// Describe one change (`set spec.x=y`, `removed …`).
    pub fn push(&mut self, what: impl Into<String>) {
        self.0.push(what.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A document of the stream. Its value can only be changed through
/// [`Document::edit`] and the metadata setters, which record what changed:
/// a document with no recorded change is written back as its original text,
/// so an unrecorded edit would silently be lost.
#[derive(Debug, Clone)]
pub struct Document {
    /// Position in the input stream (0-based); generated documents get
    /// `usize::MAX`.
    pub index: usize,
    /// Comment lines before the body (Helm's `# Source: …`), kept verbatim.
    leading_comments: String,
    /// The document's text as read (without the `---` separator).
    raw: String,
    /// The parsed document (always a mapping for Kubernetes objects).
    value: Value,
    /// Changes made so far; empty means the document is emitted as `raw`.
    changes: Vec<Change>,
    /// Created by a transform rather than read from the input.
    generated: bool,
}

impl Document {
    /// A document read from the stream (by `crate::stream`).
    pub(crate) fn parsed(index: usize, leading_comments: &str, raw: &str, value: Value) -> Self {
        Document {
            index,
            leading_comments: leading_comments.to_owned(),
            raw: raw.to_owned(),
            value,
            changes: Vec::new(),
            generated: false,
        }
    }

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

    /// The parsed document.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The parsed document, taken out.
    pub fn into_value(self) -> Value {
        self.value
    }

    /// The document's text as read (empty for generated documents).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Comment lines before the body, as read.
    pub fn leading_comments(&self) -> &str {
        &self.leading_comments
    }

    /// What the transforms changed, in order (the first entry of a generated
    /// document says why it was generated).
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    pub fn is_touched(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn is_generated(&self) -> bool {
        self.generated
    }

    /// Change the value: `f` edits it and describes each change in
    /// [`Changes`], which are recorded for `transform`. An edit `f` does not
    /// describe is still recorded (as an undescribed change), so that it is
    /// never lost; what `f` returns is passed through (e.g. a `Result`).
    pub fn edit<R>(
        &mut self,
        transform: &'static str,
        f: impl FnOnce(&mut Value, &mut Changes) -> R,
    ) -> R {
        let before = fingerprint(&self.value);
        let mut changes = Changes::default();
        let result = f(&mut self.value, &mut changes);
        if changes.is_empty() && fingerprint(&self.value) != before {
            changes.push("changed the document (undescribed)");
        }
        for what in changes.0 {
            self.record(transform, what);
        }
        result
    }

    fn record(&mut self, transform: &'static str, what: String) {
        self.changes.push(Change { transform, what });
    }

    /// Forget the recorded changes, as if the document had been read again
    /// (for idempotence tests).
    #[cfg(test)]
    pub(crate) fn forget_changes(&mut self) {
        self.changes.clear();
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

    /// Set `metadata.labels[key]`; records a change only if the value differs.
    pub fn set_label(&mut self, transform: &'static str, key: &str, value: &str) -> bool {
        self.set_metadata_string(transform, "labels", key, value)
    }

    /// Set `metadata.annotations[key]`; records a change only if the value differs.
    pub fn set_annotation(&mut self, transform: &'static str, key: &str, value: &str) -> bool {
        self.set_metadata_string(transform, "annotations", key, value)
    }

    /// Remove `metadata.labels[key]`; records a change if it was there.
    pub fn remove_label(&mut self, transform: &'static str, key: &str) -> bool {
        self.remove_metadata_key(transform, "labels", key)
    }

    /// Remove `metadata.annotations[key]` (and `annotations` if that leaves
    /// it empty); records a change if it was there.
    pub fn remove_annotation(&mut self, transform: &'static str, key: &str) -> bool {
        self.remove_metadata_key(transform, "annotations", key)
    }

    fn set_metadata_string(
        &mut self,
        transform: &'static str,
        map: &str,
        key: &str,
        value: &str,
    ) -> bool {
        self.edit(transform, |doc, changes| {
            let entries = mapping_entry_in(mapping_entry(doc, "metadata"), map);
            let k = Value::String(key.to_owned());
            if entries.get(&k).and_then(Value::as_str) == Some(value) {
                return false;
            }
            entries.insert(k, Value::String(value.to_owned()));
            changes.push(format!("set metadata.{map}.{key}={value}"));
            true
        })
    }

    fn remove_metadata_key(&mut self, transform: &'static str, map: &str, key: &str) -> bool {
        self.edit(transform, |doc, changes| {
            let Some(meta) = doc.get_mut("metadata").and_then(Value::as_mapping_mut) else {
                return false;
            };
            let Some(entries) = meta.get_mut(map).and_then(Value::as_mapping_mut) else {
                return false;
            };
            if entries.shift_remove(key).is_none() {
                return false;
            }
            if entries.is_empty() && map == "annotations" {
                meta.shift_remove(map);
            }
            changes.push(format!("removed metadata.{map}.{key}"));
            true
        })
    }
}

/// A cheap summary of a value, to tell whether an edit changed it.
fn fingerprint(value: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
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
