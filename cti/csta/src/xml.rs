//! A small owned XML element tree over quick-xml, with namespace prefixes stripped.
//!
//! CSTA documents are small (well under 64 KiB). The reference decoders ([`crate::decode_tree`],
//! [`crate::decode_lean_tree`]) read the whole document into an [`Element`] tree and map that
//! tree onto the typed model; the streaming decoders used by [`crate::decode`] and
//! [`crate::decode_lean`] fill typed fields straight from the XML events and build [`Element`]s
//! only for subtrees the model does not type (filters, private data, snapshot data…), which
//! stay as [`Element`]s and are written back verbatim.

use std::fmt::Write as _;

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Serialize;

/// Limit on element nesting, so hostile input cannot exhaust the stack when the tree is dropped
/// or written.
pub const MAX_DEPTH: usize = 64;

/// One XML element: local name (prefix stripped), attributes, text and child elements.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Element {
    /// Local name, without namespace prefix.
    pub name: String,
    /// Attributes other than namespace declarations, as (qualified name, value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<(String, String)>,
    /// Text content, trimmed; empty when the element has only children.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Child elements in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Element>,
}

/// XML errors (offsets are relative to the start of the XML payload).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    /// quick-xml rejected the document.
    #[error("malformed XML at payload offset {offset}: {message}")]
    Syntax {
        /// Offset inside the XML payload.
        offset: u64,
        /// quick-xml's message.
        message: String,
    },
    /// Not UTF-8.
    #[error("payload is not UTF-8 (at payload offset {offset})")]
    NotUtf8 {
        /// Offset of the first bad byte.
        offset: u64,
    },
    /// No root element.
    #[error("payload has no root element")]
    NoRoot,
    /// Content after the root element.
    #[error("content after the root element at payload offset {offset}")]
    TrailingContent {
        /// Offset of the extra content.
        offset: u64,
    },
    /// An entity that is neither predefined nor a character reference.
    #[error("unknown entity &{name}; at payload offset {offset}")]
    UnknownEntity {
        /// Entity name.
        name: String,
        /// Offset inside the XML payload.
        offset: u64,
    },
    /// An element or attribute name that is not an XML name.
    #[error("invalid XML name {name:?} at payload offset {offset}")]
    BadName {
        /// The name, lossily decoded.
        name: String,
        /// Offset inside the XML payload.
        offset: u64,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("elements nested deeper than {MAX_DEPTH} at payload offset {offset}")]
    TooDeep {
        /// Offset inside the XML payload.
        offset: u64,
    },
}

/// The root element, plus the namespace URI declared on it (default or for its prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Root element.
    pub root: Element,
    /// Namespace URI of the root element, if declared on it.
    pub namespace: Option<String>,
}

pub(crate) fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// Bit set in [`NAME_BYTES`] for bytes that may start a name (ASCII letters, `_`, non-ASCII).
const NAME_START: u8 = 1;
/// Bit set in [`NAME_BYTES`] for bytes that may follow in a name (also digits, `-`, `.`).
const NAME_MORE: u8 = 2;

/// Name-character classes by byte (a table: names are checked for every element decoded).
const NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let start = b.is_ascii_alphabetic() || b == b'_' || b >= 0x80;
        let more = start || b.is_ascii_digit() || b == b'-' || b == b'.';
        table[i] = if start { NAME_START } else { 0 } | if more { NAME_MORE } else { 0 };
        i += 1;
    }
    table
};

/// True for an XML name (ASCII rules; any non-ASCII character is accepted). `colon` allows
/// qualified names.
pub(crate) fn is_name(name: &[u8], colon: bool) -> bool {
    let Some((first, rest)) = name.split_first() else {
        return false;
    };
    let ok = |b: u8, class: u8| NAME_BYTES[usize::from(b)] & class != 0 || (colon && b == b':');
    ok(*first, NAME_START) && rest.iter().all(|b| ok(*b, NAME_MORE))
}

fn name(bytes: &[u8], colon: bool, offset: u64) -> Result<String, XmlError> {
    if !is_name(bytes, colon) {
        return Err(XmlError::BadName {
            name: String::from_utf8_lossy(bytes).into_owned(),
            offset,
        });
    }
    utf8(bytes, offset)
}

fn utf8(bytes: &[u8], offset: u64) -> Result<String, XmlError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| XmlError::NotUtf8 {
            offset: offset + e.valid_up_to() as u64,
        })
}

fn syntax(reader: &Reader<&[u8]>, e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax {
        offset: reader.error_position(),
        message: e.to_string(),
    }
}

fn open(
    reader: &Reader<&[u8]>,
    start: &quick_xml::events::BytesStart<'_>,
    namespace: &mut Option<String>,
    is_root: bool,
) -> Result<Element, XmlError> {
    let offset = reader.buffer_position();
    let qname = start.name().into_inner();
    let prefix = qname
        .iter()
        .rposition(|b| *b == b':')
        .and_then(|i| qname.get(..i));
    let mut el = Element {
        name: name(local(qname), false, offset)?,
        ..Element::default()
    };
    if start.attributes_raw().iter().all(u8::is_ascii_whitespace) {
        return Ok(el);
    }
    for attr in start.attributes() {
        let attr = attr.map_err(|e| syntax(reader, e))?;
        let key = attr.key.as_ref();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| syntax(reader, e))?
            .into_owned();
        let is_decl = key == b"xmlns" || key.starts_with(b"xmlns:");
        if is_decl {
            if is_root {
                let declared = key.get(6..).unwrap_or_default();
                let matches = match &prefix {
                    None => key == b"xmlns",
                    Some(p) => declared == *p,
                };
                if matches {
                    *namespace = Some(value);
                }
            }
            continue;
        }
        el.attrs.push((name(key, true, offset)?, value));
    }
    Ok(el)
}

fn finish(mut el: Element) -> Element {
    let trimmed = el.text.trim();
    if trimmed.len() != el.text.len() {
        el.text = trimmed.to_owned();
    }
    el
}

/// Parses an XML payload into a [`Document`].
pub fn parse(xml: &[u8]) -> Result<Document, XmlError> {
    parse_filtered(xml, None)
}

/// Decides, from the root's name and a root child's local name, whether to keep that child.
pub type ChildFilter<'f> = &'f dyn Fn(&str, &str) -> bool;

/// Whether a root child should be skipped under `keep`.
fn skip_child(
    keep: Option<ChildFilter<'_>>,
    stack: &[Element],
    start: &quick_xml::events::BytesStart<'_>,
) -> bool {
    let (Some(keep), [root]) = (keep, stack) else {
        return false;
    };
    match std::str::from_utf8(local(start.name().into_inner())) {
        Ok(child) => !keep(&root.name, child),
        Err(_) => false,
    }
}

/// Like [`parse`], but children of the root for which `keep(root, child)` is false are skipped
/// without building their subtree (faster; the skipped content is only checked for nesting).
pub fn parse_filtered(xml: &[u8], keep: Option<ChildFilter<'_>>) -> Result<Document, XmlError> {
    let mut reader = Reader::from_reader(xml);
    let mut stack: Vec<Element> = Vec::with_capacity(8);
    let mut root: Option<Element> = None;
    let mut namespace = None;
    loop {
        let event = reader.read_event().map_err(|e| syntax(&reader, e))?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::TrailingContent {
                    offset: reader.buffer_position(),
                });
            }
            Event::Empty(start) if skip_child(keep, &stack, &start) => {}
            Event::Start(start) if skip_child(keep, &stack, &start) => {
                reader
                    .read_to_end(start.name())
                    .map_err(|e| syntax(&reader, e))?;
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep {
                        offset: reader.buffer_position(),
                    });
                }
                let el = open(&reader, &start, &mut namespace, stack.is_empty())?;
                stack.push(el);
            }
            Event::Empty(start) => {
                let el = finish(open(&reader, &start, &mut namespace, stack.is_empty())?);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(syntax(&reader, "unexpected end tag"));
                };
                let el = finish(el);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(text) => {
                let offset = reader.buffer_position();
                let content = text.xml10_content().map_err(|e| syntax(&reader, e))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(XmlError::TrailingContent { offset }),
                }
            }
            Event::CData(data) => {
                let content = data.xml10_content().map_err(|e| syntax(&reader, e))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&content);
                }
            }
            Event::GeneralRef(r) => {
                let offset = reader.buffer_position();
                let ch = match r.resolve_char_ref().map_err(|e| syntax(&reader, e))? {
                    Some(ch) => ch,
                    None => match r.as_ref() {
                        b"lt" => '<',
                        b"gt" => '>',
                        b"amp" => '&',
                        b"apos" => '\'',
                        b"quot" => '"',
                        other => {
                            return Err(XmlError::UnknownEntity {
                                name: String::from_utf8_lossy(other).into_owned(),
                                offset,
                            })
                        }
                    },
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push(ch);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(syntax(&reader, "document ends inside an element"));
    }
    let root = root.ok_or(XmlError::NoRoot)?;
    Ok(Document { root, namespace })
}

/// Appends `text` to `out` with XML escaping.
pub fn escape_into(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            b'\r' => "&#13;",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on char boundaries.
        out.push_str(text.get(start..i).unwrap_or_default());
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(text.get(start..).unwrap_or_default());
}

/// Appends an attribute value to `out` with XML escaping, keeping tabs and line ends (which
/// attribute-value normalisation would turn into spaces).
pub fn escape_attr_into(out: &mut String, value: &str) {
    for part in value.split_inclusive(['\t', '\n']) {
        match part.strip_suffix('\t') {
            Some(head) => {
                escape_into(out, head);
                out.push_str("&#9;");
            }
            None => match part.strip_suffix('\n') {
                Some(head) => {
                    escape_into(out, head);
                    out.push_str("&#10;");
                }
                None => escape_into(out, part),
            },
        }
    }
}

/// Writes `<name>text</name>`.
pub fn write_text(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

impl Element {
    /// A text-only element.
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            ..Self::default()
        }
    }

    /// An element with children.
    pub fn with_children(name: impl Into<String>, children: Vec<Element>) -> Self {
        Self {
            name: name.into(),
            children,
            ..Self::default()
        }
    }

    /// First child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Serialises the element (under `name`, which may differ from `self.name`).
    pub fn write_as(&self, out: &mut String, name: &str) {
        out.push('<');
        out.push_str(name);
        for (k, v) in &self.attrs {
            let _ = write!(out, " {k}=\"");
            escape_attr_into(out, v);
            out.push('"');
        }
        if self.text.is_empty() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        escape_into(out, &self.text);
        for c in &self.children {
            c.write(out);
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }

    /// Serialises the element.
    pub fn write(&self, out: &mut String) {
        self.write_as(out, &self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_root_is_prefixed_should_strip_prefix_and_report_its_namespace() {
        let doc = parse(
            br#"<?xml version="1.0"?><csta:MonitorStart xmlns:csta="urn:x"><csta:monitorObject><csta:deviceObject>2001</csta:deviceObject></csta:monitorObject></csta:MonitorStart>"#,
        )
        .unwrap();
        assert_eq!(doc.root.name, "MonitorStart");
        assert_eq!(doc.namespace.as_deref(), Some("urn:x"));
        let dev = doc
            .root
            .child("monitorObject")
            .unwrap()
            .child("deviceObject");
        assert_eq!(dev.unwrap().text, "2001");
    }

    #[test]
    fn when_text_has_entities_should_resolve_them() {
        let doc = parse(b"<a><b>N&lt;30&gt;;noa=nk&#65;</b></a>").unwrap();
        assert_eq!(doc.root.children[0].text, "N<30>;noa=nkA");
    }

    #[test]
    fn when_entity_is_unknown_should_fail_typed() {
        assert!(matches!(
            parse(b"<a>&foo;</a>"),
            Err(XmlError::UnknownEntity { .. })
        ));
    }

    #[test]
    fn when_document_is_cut_should_fail_typed() {
        assert!(parse(b"<a><b>x</b>").is_err());
        assert_eq!(parse(b"  "), Err(XmlError::NoRoot));
        assert!(matches!(
            parse(b"<a/><b/>"),
            Err(XmlError::TrailingContent { .. })
        ));
    }

    #[test]
    fn when_nesting_is_too_deep_should_fail_typed() {
        let xml = "<a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            parse(xml.as_bytes()),
            Err(XmlError::TooDeep { .. })
        ));
    }

    #[test]
    fn when_a_name_is_not_an_xml_name_should_fail_typed() {
        assert!(matches!(parse(b"<a\x00b/>"), Err(XmlError::BadName { .. })));
        assert!(matches!(
            parse(b"<p://x/>"),
            Err(XmlError::BadName { .. }) | Err(XmlError::Syntax { .. })
        ));
        assert!(matches!(
            parse(b"<a 1x=\"1\"/>"),
            Err(XmlError::BadName { .. }) | Err(XmlError::Syntax { .. })
        ));
    }

    #[test]
    fn when_name_bytes_are_classified_by_table_should_follow_the_ascii_rules() {
        let start = |b: u8, colon: bool| {
            b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 || (colon && b == b':')
        };
        for b in 0..=255u8 {
            for colon in [false, true] {
                let more = start(b, colon) || b.is_ascii_digit() || b == b'-' || b == b'.';
                assert_eq!(is_name(&[b], colon), start(b, colon), "{b}");
                assert_eq!(is_name(&[b'a', b], colon), more, "{b}");
            }
        }
        assert!(!is_name(b"", true));
    }

    #[test]
    fn when_prefixed_attributes_share_a_local_name_should_keep_both() {
        let doc = parse(br#"<a p:x="1" q:x="2"/>"#).unwrap();
        let mut s = String::new();
        doc.root.write(&mut s);
        assert_eq!(parse(s.as_bytes()).unwrap().root, doc.root);
    }

    #[test]
    fn when_values_hold_line_ends_and_tabs_should_survive_a_round_trip() {
        let el = Element {
            name: "x".into(),
            attrs: vec![("a".into(), "1\t2\n3\r4".into())],
            text: "l1\r\nl2\rl3".into(),
            children: vec![],
        };
        let mut s = String::new();
        el.write(&mut s);
        assert_eq!(parse(s.as_bytes()).unwrap().root, el, "{s}");
    }

    #[test]
    fn when_written_and_parsed_again_should_be_equal() {
        let el = Element {
            name: "x".into(),
            attrs: vec![("a".into(), "1 & 2".into())],
            text: String::new(),
            children: vec![Element::text("y", "<&>'\""), Element::text("z", "")],
        };
        let mut s = String::new();
        el.write(&mut s);
        assert_eq!(parse(s.as_bytes()).unwrap().root, el);
    }
}
