//! Streaming decoder: fills the typed model straight from quick-xml events, without building an
//! [`Element`] tree for the typed fields.
//!
//! Text is borrowed from the payload (`Cow<str>`) until it lands in a field, element names are
//! matched as bytes, and children of the root the model does not type are skipped with
//! `read_to_end` (lean mode) or kept as [`Element`]s in `extra` (full mode). Only untyped
//! subtrees (`Element` fields, unknown children kept in `extra`) are built as trees.
//!
//! The streaming decoder accepts exactly what the tree decoders ([`crate::decode_tree`],
//! [`crate::decode_lean_tree`]) accept, with the same result; the differential tests below check
//! this on every sample, the fixtures and generated messages. It builds no error values: on
//! anything unexpected (malformed XML, a shape or value the model rejects, an unknown root or
//! `CSTAErrorCode`) it gives up with [`Bail`], and the caller runs the tree decoder, which
//! reports the precise typed error. Errors are rare, so the second pass costs nothing in
//! practice, and error reporting cannot drift from the reference decoder.

use std::borrow::Cow;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

use crate::types::{
    AgentState, ConnectionId, ConnectionList, ConnectionListItem, DeviceId, ErrorCategory,
    LocalConnectionState, ParticipationType,
};
use crate::xml::{is_name, local, Element, MAX_DEPTH};
use crate::{Decoded, Edition, Message};

/// The streaming decoder gave up; the caller falls back to the tree decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bail;

/// Result of the streaming decoder.
pub(crate) type R<T> = Result<T, Bail>;

/// What to do with the root's children the model does not type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Keep them in `extra` (like [`crate::decode`]).
    Full,
    /// Skip them without building them (like [`crate::decode_lean`]).
    Lean,
}

/// One item of an element's content.
pub(crate) enum Item<'x> {
    /// A child element (`empty` for `<x/>`). For a non-empty child the reader is inside it:
    /// read its content up to [`Item::End`], or call [`Stream::skip`].
    Child(BytesStart<'x>, bool),
    /// A text or CDATA run (line ends normalised).
    Text(Cow<'x, str>),
    /// A resolved character or entity reference.
    Char(char),
    /// The end of the current element.
    End,
}

/// A quick-xml reader over one payload, with the nesting depth of the tree decoder.
pub(crate) struct Stream<'x> {
    reader: Reader<&'x [u8]>,
    /// Open elements (as the tree decoder counts them; skipped subtrees are not counted).
    depth: usize,
    mode: Mode,
}

fn bail<E>(_: E) -> Bail {
    Bail
}

/// Resolves a character or predefined entity reference, like the tree decoder.
fn resolve(r: &BytesRef<'_>) -> R<char> {
    if let Some(ch) = r.resolve_char_ref().map_err(bail)? {
        return Ok(ch);
    }
    match r.as_ref() {
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"amp" => Ok('&'),
        b"apos" => Ok('\''),
        b"quot" => Ok('"'),
        _ => Err(Bail),
    }
}

/// Appends a text run to accumulated text, borrowing while there is only one run.
pub(crate) fn append<'x>(text: &mut Cow<'x, str>, run: Cow<'x, str>) {
    if text.is_empty() {
        *text = run;
    } else {
        owned(text, run.len()).push_str(&run);
    }
}

/// Appends a resolved reference to accumulated text.
pub(crate) fn push_char(text: &mut Cow<'_, str>, c: char) {
    owned(text, c.len_utf8()).push(c);
}

/// The accumulated text as an owned string with room for `more` bytes; when it was borrowed,
/// the copy gets some slack, since a reference is usually followed by more runs
/// (`N&lt;2001&gt;;noa=nk` is five runs).
fn owned<'t>(text: &'t mut Cow<'_, str>, more: usize) -> &'t mut String {
    if let Cow::Borrowed(b) = *text {
        let mut s = String::with_capacity(b.len() + more + 32);
        s.push_str(b);
        *text = Cow::Owned(s);
    }
    let s = text.to_mut();
    s.reserve(more);
    s
}

/// Trims accumulated text like the tree decoder (`str::trim`), without copying when possible.
pub(crate) fn trimmed(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => {
            let t = s.trim();
            if t.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(t.to_owned())
            }
        }
    }
}

/// The local name of an element, checked like the tree decoder checks it.
fn element_name<'s>(start: &'s BytesStart<'_>) -> R<&'s str> {
    let name = local(start.name().into_inner());
    if !is_name(name, false) {
        return Err(Bail);
    }
    std::str::from_utf8(name).map_err(bail)
}

/// The local name of a child as bytes (no check: callers compare it with known names).
pub(crate) fn local_name<'s>(start: &'s BytesStart<'_>) -> &'s [u8] {
    local(start.name().into_inner())
}

impl<'x> Stream<'x> {
    fn new(xml: &'x [u8], mode: Mode) -> Self {
        Self {
            reader: Reader::from_reader(xml),
            depth: 0,
            mode,
        }
    }

    /// The mode (full or lean).
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// The next item of the current element's content.
    pub(crate) fn item(&mut self) -> R<Item<'x>> {
        loop {
            match self.reader.read_event().map_err(bail)? {
                Event::Start(start) => {
                    if self.depth >= MAX_DEPTH {
                        return Err(Bail);
                    }
                    self.depth += 1;
                    return Ok(Item::Child(start, false));
                }
                Event::Empty(start) => return Ok(Item::Child(start, true)),
                Event::End(_) => {
                    self.depth = self.depth.checked_sub(1).ok_or(Bail)?;
                    return Ok(Item::End);
                }
                Event::Text(t) => return t.xml10_content().map(Item::Text).map_err(bail),
                Event::CData(d) => return d.xml10_content().map(Item::Text).map_err(bail),
                Event::GeneralRef(r) => return resolve(&r).map(Item::Char),
                Event::Eof => return Err(Bail),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    /// Skips a child without building it (only its nesting is checked, like `parse_filtered`).
    pub(crate) fn skip(&mut self, start: &BytesStart<'_>, empty: bool) -> R<()> {
        if !empty {
            self.reader.read_to_end(start.name()).map_err(bail)?;
            self.depth = self.depth.checked_sub(1).ok_or(Bail)?;
        }
        Ok(())
    }

    /// Checks the attributes of an element whose attributes the model drops, as the tree
    /// decoder would when building it.
    pub(crate) fn check_attrs(&self, start: &BytesStart<'_>) -> R<()> {
        if start.attributes_raw().iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        for attr in start.attributes() {
            let attr = attr.map_err(bail)?;
            let key = attr.key.as_ref();
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(bail)?;
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                continue;
            }
            if !is_name(key, true) || std::str::from_utf8(key).is_err() {
                return Err(Bail);
            }
        }
        Ok(())
    }

    /// The attributes of an element, as the tree decoder keeps them.
    fn attrs(&self, start: &BytesStart<'_>) -> R<Vec<(String, String)>> {
        let mut out = Vec::new();
        if start.attributes_raw().iter().all(u8::is_ascii_whitespace) {
            return Ok(out);
        }
        for attr in start.attributes() {
            let attr = attr.map_err(bail)?;
            let key = attr.key.as_ref();
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(bail)?;
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                continue;
            }
            if !is_name(key, true) {
                return Err(Bail);
            }
            let key = std::str::from_utf8(key).map_err(bail)?;
            out.push((key.to_owned(), value.into_owned()));
        }
        Ok(out)
    }

    /// Builds a child as an [`Element`] subtree, exactly as the tree decoder does.
    pub(crate) fn element(&mut self, start: &BytesStart<'_>, empty: bool) -> R<Element> {
        let mut el = Element {
            name: element_name(start)?.to_owned(),
            attrs: self.attrs(start)?,
            ..Element::default()
        };
        if empty {
            return Ok(el);
        }
        loop {
            match self.item()? {
                Item::Child(child, child_empty) => {
                    let c = self.element(&child, child_empty)?;
                    el.children.push(c);
                }
                Item::Text(t) => el.text.push_str(&t),
                Item::Char(c) => el.text.push(c),
                Item::End => break,
            }
        }
        let t = el.text.trim();
        if t.len() != el.text.len() {
            el.text = t.to_owned();
        }
        Ok(el)
    }

    /// The trimmed text of a text-only element (after its attributes were checked). A child
    /// element gives up.
    pub(crate) fn leaf(&mut self, empty: bool) -> R<Cow<'x, str>> {
        let mut text = Cow::Borrowed("");
        if empty {
            return Ok(text);
        }
        loop {
            match self.item()? {
                Item::Text(t) => append(&mut text, t),
                Item::Char(c) => push_char(&mut text, c),
                Item::Child(..) => return Err(Bail),
                Item::End => return Ok(trimmed(text)),
            }
        }
    }
}

/// A model type the streaming decoder can read from a child element.
pub(crate) trait StreamField: Sized {
    /// Reads the value from the child `start` (`empty` for `<x/>`), consuming it up to and
    /// including its end tag.
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self>;
}

/// Decodes a payload with the streaming decoder. `Err(Bail)` means: use the tree decoder.
pub(crate) fn decode(xml: &[u8], mode: Mode) -> R<Decoded> {
    let mut s = Stream::new(xml, mode);
    // Prolog: up to the root element.
    let (root, empty) = loop {
        match s.reader.read_event().map_err(bail)? {
            Event::Start(start) => break (start, false),
            Event::Empty(start) => break (start, true),
            Event::Text(t) => {
                if !t.xml10_content().map_err(bail)?.trim().is_empty() {
                    return Err(Bail);
                }
            }
            Event::CData(d) => {
                d.xml10_content().map_err(bail)?;
            }
            Event::GeneralRef(r) => {
                resolve(&r)?;
            }
            Event::End(_) | Event::Eof => return Err(Bail),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    };
    let name = element_name(&root)?;
    let namespace = root_namespace(&root)?;
    if !empty {
        s.depth = 1;
    }
    let message = Message::from_stream(name, &mut s, empty)?;
    // Epilogue: only whitespace, comments and processing instructions.
    loop {
        match s.reader.read_event().map_err(bail)? {
            Event::Eof => break,
            Event::Text(t) => {
                if !t.xml10_content().map_err(bail)?.trim().is_empty() {
                    return Err(Bail);
                }
            }
            Event::CData(d) => {
                d.xml10_content().map_err(bail)?;
            }
            Event::GeneralRef(r) => {
                resolve(&r)?;
            }
            Event::Start(_) | Event::Empty(_) | Event::End(_) => return Err(Bail),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    let edition = namespace.as_deref().and_then(Edition::from_namespace);
    Ok(Decoded {
        namespace,
        edition,
        message,
    })
}

/// Checks the root's attributes and returns the namespace declared for its prefix (or the
/// default namespace), like the tree decoder.
fn root_namespace(root: &BytesStart<'_>) -> R<Option<String>> {
    let mut namespace = None;
    if root.attributes_raw().iter().all(u8::is_ascii_whitespace) {
        return Ok(namespace);
    }
    let qname = root.name().into_inner();
    let prefix = qname
        .iter()
        .rposition(|b| *b == b':')
        .and_then(|i| qname.get(..i));
    for attr in root.attributes() {
        let attr = attr.map_err(bail)?;
        let key = attr.key.as_ref();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(bail)?;
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            let declared = key.get(6..).unwrap_or_default();
            let matches = match prefix {
                None => key == b"xmlns",
                Some(p) => declared == p,
            };
            if matches {
                namespace = Some(value.into_owned());
            }
            continue;
        }
        if !is_name(key, true) || std::str::from_utf8(key).is_err() {
            return Err(Bail);
        }
    }
    Ok(namespace)
}

impl StreamField for String {
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
        s.check_attrs(start)?;
        Ok(s.leaf(empty)?.into_owned())
    }
}

impl StreamField for u32 {
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
        s.check_attrs(start)?;
        s.leaf(empty)?.parse().map_err(bail)
    }
}

impl StreamField for bool {
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
        s.check_attrs(start)?;
        match &*s.leaf(empty)? {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(Bail),
        }
    }
}

impl StreamField for Element {
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
        s.element(start, empty)
    }
}

macro_rules! text_enums {
    ($($ty:ty),*) => {$(
        impl StreamField for $ty {
            fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
                s.check_attrs(start)?;
                Ok(Self::from_text(&s.leaf(empty)?))
            }
        }
    )*};
}

text_enums!(
    LocalConnectionState,
    ParticipationType,
    AgentState,
    ErrorCategory
);

/// `<x>id</x>` or `<x><form>id</form></x>` (see [`DeviceId`]).
impl StreamField for DeviceId {
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
        s.check_attrs(start)?;
        if empty {
            return Ok(Self::default());
        }
        let mut text = Cow::Borrowed("");
        let mut inner: Option<(String, String)> = None;
        loop {
            match s.item()? {
                Item::Text(t) => append(&mut text, t),
                Item::Char(c) => push_char(&mut text, c),
                Item::Child(child, child_empty) => {
                    if inner.is_some() {
                        return Err(Bail);
                    }
                    let form = element_name(&child)?.to_owned();
                    s.check_attrs(&child)?;
                    let id = s.leaf(child_empty)?.into_owned();
                    inner = Some((form, id));
                }
                Item::End => break,
            }
        }
        let text = trimmed(text);
        match inner {
            None => Ok(Self::plain(text.into_owned())),
            Some((form, id)) if text.is_empty() => Ok(Self {
                id,
                form: Some(form),
            }),
            Some(_) => Err(Bail),
        }
    }
}

/// `<x><callID>…</callID><deviceID>…</deviceID></x>`; anything else gives up.
impl StreamField for ConnectionId {
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
        s.check_attrs(start)?;
        let mut c = Self::default();
        if empty {
            return Ok(c);
        }
        loop {
            match s.item()? {
                Item::Text(_) | Item::Char(_) => {}
                Item::Child(child, child_empty) => {
                    let slot = match local_name(&child) {
                        b"callID" => &mut c.call_id,
                        b"deviceID" => &mut c.device_id,
                        _ => return Err(Bail),
                    };
                    s.check_attrs(&child)?;
                    *slot = Some(s.leaf(child_empty)?.into_owned());
                }
                Item::End => return Ok(c),
            }
        }
    }
}

/// `<x><connectionListItem>…</connectionListItem>…</x>`.
impl StreamField for ConnectionList {
    fn read(s: &mut Stream<'_>, start: &BytesStart<'_>, empty: bool) -> R<Self> {
        s.check_attrs(start)?;
        let mut items = Vec::new();
        if empty {
            return Ok(Self(items));
        }
        loop {
            match s.item()? {
                Item::Text(_) | Item::Char(_) => {}
                Item::Child(item, item_empty) => {
                    if local_name(&item) != b"connectionListItem" {
                        return Err(Bail);
                    }
                    s.check_attrs(&item)?;
                    items.push(read_list_item(s, item_empty)?);
                }
                Item::End => return Ok(Self(items)),
            }
        }
    }
}

fn read_list_item(s: &mut Stream<'_>, empty: bool) -> R<ConnectionListItem> {
    let mut entry = ConnectionListItem::default();
    if empty {
        return Ok(entry);
    }
    loop {
        match s.item()? {
            Item::Text(_) | Item::Char(_) => {}
            Item::Child(part, part_empty) => match local_name(&part) {
                b"newConnection" => {
                    entry.new_connection = Some(ConnectionId::read(s, &part, part_empty)?);
                }
                b"oldConnection" => {
                    entry.old_connection = Some(ConnectionId::read(s, &part, part_empty)?);
                }
                b"endpoint" => entry.endpoint = Some(DeviceId::read(s, &part, part_empty)?),
                _ => return Err(Bail),
            },
            Item::End => return Ok(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Differential tests: the streaming decoder against the element-tree decoder it replaces.

    use proptest::prelude::*;

    use super::{decode, Bail, Mode};
    use crate::frame::FrameCodec;
    use crate::xml::{self, Element};
    use crate::{samples, Codec, CodecConfig, Edition, Message};
    use tokio_util::codec::Decoder as _;

    const FIXTURES: [&[u8]; 4] = [
        include_bytes!("../tests/fixtures/osv-service-initiated.xml"),
        include_bytes!("../tests/fixtures/osv-originated.xml"),
        include_bytes!("../tests/fixtures/osv-delivered.xml"),
        include_bytes!("../tests/fixtures/osv-transferred.xml"),
    ];
    const STREAMS: [&[u8]; 2] = [
        include_bytes!("../tests/fixtures/osv-stream.bin"),
        include_bytes!("../tests/fixtures/osv-stream-corrupt.bin"),
    ];

    /// The message with the root's `extra` cleared (what the lean decoders drop): written out,
    /// re-read as a tree, unknown root children dropped, mapped again.
    fn without_root_extra(m: &Message) -> Message {
        if matches!(m, Message::Unknown(_) | Message::CstaErrorCode(_)) {
            return m.clone();
        }
        let mut s = String::new();
        m.write_children(&mut s);
        let mut root = xml::parse(format!("<{0}>{s}</{0}>", m.name()).as_bytes())
            .unwrap()
            .root;
        let name = root.name.clone();
        root.children
            .retain(|c| Message::is_known_child(&name, &c.name));
        Message::from_element(root).unwrap()
    }

    /// Checks one payload: both streaming modes agree with their tree decoders (value or
    /// error); the streaming decoder only gives up when the tree decoder fails or the root is
    /// not a typed message; and the lean result is the full result without root extras.
    fn check(xml: &[u8]) {
        let full_tree = crate::decode_tree(xml);
        let lean_tree = crate::decode_lean_tree(xml);
        assert_eq!(crate::decode(xml), full_tree);
        assert_eq!(crate::decode_lean(xml), lean_tree);
        for (mode, tree) in [(Mode::Full, &full_tree), (Mode::Lean, &lean_tree)] {
            let streamed = decode(xml, mode);
            match (tree, streamed) {
                (Ok(t), Ok(s)) => assert_eq!(&s, t),
                (Ok(t), Err(Bail)) => assert!(
                    matches!(t.message, Message::Unknown(_) | Message::CstaErrorCode(_)),
                    "streaming gave up on a payload the tree decoder accepts ({mode:?}): {}",
                    String::from_utf8_lossy(xml)
                ),
                (Err(e), Ok(s)) => panic!(
                    "streaming accepted ({mode:?}) what the tree decoder rejects ({e}): {s:?}\n{}",
                    String::from_utf8_lossy(xml)
                ),
                (Err(_), Err(Bail)) => {}
            }
        }
        if let (Ok(full), Ok(lean)) = (&full_tree, &lean_tree) {
            assert_eq!(without_root_extra(&full.message), lean.message);
            assert_eq!(
                (&full.namespace, full.edition),
                (&lean.namespace, lean.edition)
            );
        }
    }

    /// The OSV blocks real switches add to every event (as in `csta-bench`).
    fn osv_blocks() -> Vec<Element> {
        let xml = br#"<x><servicesPermitted><callControlServices><clearConnection>true</clearConnection></callControlServices><callAssociatedServices/><mediaAttachementServices/><routeingServices/><voiceServices/></servicesPermitted><mediaCallCharacteristics><mediaClass><voice>true</voice><image>false</image><im>false</im></mediaClass></mediaCallCharacteristics><extensions><privateData><private xmlns:scx="http://www.siemens.com/schema/csta"><scx:extendedServicesPermitted/></private></privateData></extensions></x>"#;
        xml::parse(xml).map(|d| d.root.children).unwrap_or_default()
    }

    /// A sample message as an element tree, with the xmlns attribute to write it back.
    fn sample_tree(m: &Message, edition: Edition) -> Element {
        let xml = Codec::for_edition(edition).encode(m);
        let mut root = xml::parse(xml.as_bytes()).unwrap().root;
        let ns = match m.family() {
            crate::Family::Csta => edition.namespace(),
            crate::Family::ApplicationSession => crate::APPL_SESSION_NS,
        };
        root.attrs.insert(0, ("xmlns".into(), ns.into()));
        root
    }

    fn write(root: &Element) -> String {
        let mut s = String::new();
        root.write(&mut s);
        s
    }

    #[test]
    fn when_every_sample_is_decoded_by_streaming_should_equal_the_tree_decoders() {
        for edition in Edition::ALL {
            for decl in [false, true] {
                let codec = Codec::new(CodecConfig {
                    edition,
                    xml_declaration: decl,
                });
                for m in samples::all() {
                    let xml = codec.encode(&m);
                    check(xml.as_bytes());
                    // GIVEN a typed message THEN streaming does the work (no fallback).
                    if !matches!(m, Message::CstaErrorCode(_)) {
                        let d = decode(xml.as_bytes(), Mode::Lean).unwrap();
                        assert_eq!(d.message, without_root_extra(&m));
                        assert_eq!(decode(xml.as_bytes(), Mode::Full).unwrap().message, m);
                    }
                }
            }
        }
    }

    #[test]
    fn when_osv_shaped_events_are_decoded_by_streaming_should_equal_tree_without_extra() {
        for m in samples::all() {
            let mut root = sample_tree(&m, Edition::Ed4);
            root.children.extend(osv_blocks());
            let xml = write(&root);
            check(xml.as_bytes());
            if matches!(m, Message::CstaErrorCode(_)) {
                continue;
            }
            // Lean streaming == tree decode with `extra` cleared == the sample itself.
            let lean = decode(xml.as_bytes(), Mode::Lean).unwrap();
            assert_eq!(lean.message, without_root_extra(&m), "{xml}");
            let full = decode(xml.as_bytes(), Mode::Full).unwrap();
            assert_eq!(without_root_extra(&full.message), lean.message);
            assert_eq!(Ok(full), crate::decode_tree(xml.as_bytes()));
        }
    }

    #[test]
    fn when_fixtures_are_decoded_by_streaming_should_equal_the_tree_decoders() {
        for xml in FIXTURES {
            check(xml);
            assert!(decode(xml, Mode::Lean).is_ok());
            assert!(decode(xml, Mode::Full).is_ok());
        }
        for stream in STREAMS {
            let mut buf = bytes::BytesMut::from(stream);
            let mut frames = FrameCodec::new();
            while let Ok(Some(f)) = frames.decode_eof(&mut buf) {
                check(&f.frame.xml);
            }
        }
    }

    #[test]
    fn when_payloads_are_unusual_should_agree_with_the_tree_decoders() {
        let cases: &[&str] = &[
            "",
            "   ",
            "<MonitorStop/>",
            "<MonitorStop xmlns='urn:x'/> ",
            "<MonitorStop><monitorCrossRefID> 1 </monitorCrossRefID></MonitorStop>",
            "<MonitorStop><monitorCrossRefID>1</monitorCrossRefID><monitorCrossRefID>2</monitorCrossRefID></MonitorStop>",
            "<MonitorStop><monitorCrossRefID><x/></monitorCrossRefID></MonitorStop>",
            "<MonitorStop>text<monitorCrossRefID>a&amp;b&#65;<![CDATA[<c>]]></monitorCrossRefID></MonitorStop>",
            "<MonitorStop><monitorCrossRefID>&bad;</monitorCrossRefID></MonitorStop>",
            "<MonitorStop><monitorCrossRefID a='1' b='&lt;'>x</monitorCrossRefID></MonitorStop>",
            "<MonitorStop><monitorCrossRefID 1a='1'>x</monitorCrossRefID></MonitorStop>",
            "<MonitorStop><foo 1a='1'><bar>&bad;</bar></foo></MonitorStop>",
            "<MonitorStop><1foo/></MonitorStop>",
            "<MonitorStop><monitorCrossRefID>1</monitorCrossRefID></MonitorStop><x/>",
            "<MonitorStop><monitorCrossRefID>1</monitorCrossRefID></MonitorStop>x",
            "<MonitorStop><monitorCrossRefID>1</monitorCrossRefID></MonitorStop>&#65;<!-- c -->",
            "<MonitorStop><monitorCrossRefID>1</monitorCrossRefID>",
            "<MonitorStop><monitorCrossRefID>1</other></MonitorStop>",
            "<a:MonitorStop xmlns:a='urn:a' xmlns='urn:d'><a:monitorCrossRefID>1</a:monitorCrossRefID></a:MonitorStop>",
            "<ResetApplicationSessionTimerPosResponse><actualSessionDuration>+12</actualSessionDuration></ResetApplicationSessionTimerPosResponse>",
            "<ResetApplicationSessionTimerPosResponse><actualSessionDuration>-1</actualSessionDuration></ResetApplicationSessionTimerPosResponse>",
            "<RouteRequest><priority> 1 </priority><replyTimeout/></RouteRequest>",
            "<RouteRequest><priority>yes</priority></RouteRequest>",
            "<MakeCall><callingDevice><a>1</a><b>2</b></callingDevice></MakeCall>",
            "<MakeCall><callingDevice>x<a>1</a></callingDevice></MakeCall>",
            "<MakeCall><callingDevice> <a>1</a> </callingDevice></MakeCall>",
            "<MakeCall><callingDevice><p:a xmlns:p='u'>1</p:a></callingDevice></MakeCall>",
            "<MakeCallResponse><callingDevice><callID>1</callID><callID>2</callID></callingDevice></MakeCallResponse>",
            "<MakeCallResponse><callingDevice><callID>1</callID><x/></callingDevice></MakeCallResponse>",
            "<MakeCallResponse><callingDevice><callID><y/></callID></callingDevice></MakeCallResponse>",
            "<TransferCallResponse><connectionList><connectionListItem/><connectionListItem><endpoint/></connectionListItem></connectionList></TransferCallResponse>",
            "<TransferCallResponse><connectionList><item/></connectionList></TransferCallResponse>",
            "<TransferCallResponse><connectionList><connectionListItem><x/></connectionListItem></connectionList></TransferCallResponse>",
            "<StartApplicationSession><applicationInfo><applicationID>a</applicationID><z q='1'>t<y/></z></applicationInfo></StartApplicationSession>",
            "<StartApplicationSession><applicationInfo><applicationID>a</applicationID><applicationID>b</applicationID></applicationInfo></StartApplicationSession>",
            "<CSTAErrorCode><operation>invalidCallID</operation></CSTAErrorCode>",
            "<FooEvent xmlns='x'><a>1</a></FooEvent>",
            "<MonitorStop>\r\n<monitorCrossRefID>a\r\nb</monitorCrossRefID></MonitorStop>",
            "<MonitorStop><monitorCrossRefID>\u{a0}x\u{2003}</monitorCrossRefID></MonitorStop>",
        ];
        for case in cases {
            check(case.as_bytes());
        }
        let deep = format!(
            "<SystemStatus><privateData>{}{}</privateData></SystemStatus>",
            "<a>".repeat(xml::MAX_DEPTH),
            "</a>".repeat(xml::MAX_DEPTH)
        );
        check(deep.as_bytes());
        let deep = format!(
            "<SystemStatus><privateData>{}{}</privateData></SystemStatus>",
            "<a>".repeat(xml::MAX_DEPTH - 3),
            "</a>".repeat(xml::MAX_DEPTH - 3)
        );
        check(deep.as_bytes());
        let skipped = format!(
            "<SystemStatusResponse><x>{}{}</x></SystemStatusResponse>",
            "<a>".repeat(xml::MAX_DEPTH + 2),
            "</a>".repeat(xml::MAX_DEPTH + 2)
        );
        check(skipped.as_bytes());
    }

    /// Element names for generated children: typed field names, the shapes inside fields, and
    /// unknown names.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("callID".to_owned()),
            Just("deviceID".to_owned()),
            Just("deviceIdentifier".to_owned()),
            Just("connectionListItem".to_owned()),
            Just("newConnection".to_owned()),
            Just("endpoint".to_owned()),
            Just("monitorCrossRefID".to_owned()),
            Just("callingDevice".to_owned()),
            Just("connection".to_owned()),
            Just("cause".to_owned()),
            Just("privateData".to_owned()),
            Just("applicationID".to_owned()),
            Just("p:callID".to_owned()),
            "[a-zA-Z_][a-zA-Z0-9._-]{0,8}",
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-zA-Z0-9]{1,10}",
            "[ \t\r\n]{0,2}[0-9a-z<>&'\";=+-]{0,10}[ \t\r\n]{0,2}",
            Just("true".to_owned()),
            Just("0".to_owned()),
            Just("4294967296".to_owned()),
            any::<String>(),
        ]
    }

    fn element() -> impl Strategy<Value = Element> {
        let leaf = (name(), text()).prop_map(|(n, t)| Element::text(n, t));
        leaf.prop_recursive(3, 12, 3, |inner| {
            (
                name(),
                text(),
                proptest::collection::vec(inner, 0..3),
                proptest::option::of(("[a-z]{1,3}", text())),
            )
                .prop_map(|(name, text, children, attr)| Element {
                    name,
                    attrs: attr.into_iter().collect(),
                    text,
                    children,
                })
        })
    }

    /// A structural edit of a message's element tree, at a path of child indexes.
    #[derive(Debug, Clone)]
    enum Edit {
        SetText(Vec<usize>, String),
        Insert(Vec<usize>, Element),
        Duplicate(Vec<usize>),
        Remove(Vec<usize>),
        Attr(Vec<usize>, String, String),
        Swap(Vec<usize>, usize),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let path = proptest::collection::vec(any::<usize>(), 0..3);
        prop_oneof![
            (path.clone(), text()).prop_map(|(p, t)| Edit::SetText(p, t)),
            (path.clone(), element()).prop_map(|(p, e)| Edit::Insert(p, e)),
            path.clone().prop_map(Edit::Duplicate),
            path.clone().prop_map(Edit::Remove),
            (path.clone(), "[a-z]{1,3}(:[a-z]{1,2})?", text())
                .prop_map(|(p, k, v)| Edit::Attr(p, k, v)),
            (path, any::<usize>()).prop_map(|(p, j)| Edit::Swap(p, j)),
        ]
    }

    /// Walks `path` (indexes taken modulo the child count) and returns the parent reached and
    /// the index of the last step in it, if it has children.
    fn walk<'e>(mut el: &'e mut Element, path: &[usize]) -> (&'e mut Element, Option<usize>) {
        let mut idx = None;
        for (n, step) in path.iter().enumerate() {
            if el.children.is_empty() {
                return (el, None);
            }
            let i = step % el.children.len();
            if n + 1 == path.len() {
                idx = Some(i);
                break;
            }
            el = &mut el.children[i];
        }
        (el, idx)
    }

    fn apply(root: &mut Element, e: &Edit) {
        match e {
            Edit::SetText(p, t) => {
                let (parent, i) = walk(root, p);
                match i {
                    Some(i) => parent.children[i].text = t.clone(),
                    None => parent.text = t.clone(),
                }
            }
            Edit::Insert(p, el) => {
                let (parent, i) = walk(root, p);
                parent.children.insert(i.unwrap_or(0), el.clone());
            }
            Edit::Duplicate(p) => {
                if let (parent, Some(i)) = walk(root, p) {
                    let c = parent.children[i].clone();
                    parent.children.insert(i, c);
                }
            }
            Edit::Remove(p) => {
                if let (parent, Some(i)) = walk(root, p) {
                    parent.children.remove(i);
                }
            }
            Edit::Attr(p, k, v) => {
                let (parent, i) = walk(root, p);
                let target = match i {
                    Some(i) => &mut parent.children[i],
                    None => parent,
                };
                target.attrs.push((k.clone(), v.clone()));
            }
            Edit::Swap(p, j) => {
                if let (parent, Some(i)) = walk(root, p) {
                    let j = j % parent.children.len();
                    parent.children.swap(i, j);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Random messages: every sample, structurally edited (unknown and duplicated children,
        /// new text and attributes, reordering, nested junk), in every edition.
        #[test]
        fn when_random_messages_are_decoded_by_streaming_should_equal_the_tree_decoders(
            idx in any::<usize>(),
            edition in proptest::sample::select(Edition::ALL.to_vec()),
            osv in any::<bool>(),
            edits in proptest::collection::vec(edit(), 0..6),
        ) {
            let all = samples::all();
            let m = &all[idx % all.len()];
            let mut root = sample_tree(m, edition);
            if osv {
                root.children.extend(osv_blocks());
            }
            for e in &edits {
                apply(&mut root, e);
            }
            check(write(&root).as_bytes());
        }

        /// Byte-level mutations of valid payloads: same value or same error as the tree.
        #[test]
        fn when_payload_bytes_are_mutated_should_agree_with_the_tree_decoders(
            idx in any::<usize>(),
            muts in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
        ) {
            let all = samples::all();
            let mut root = sample_tree(&all[idx % all.len()], Edition::Ed4);
            root.children.extend(osv_blocks());
            let mut xml = write(&root).into_bytes();
            for (i, b, kind) in muts {
                if xml.is_empty() {
                    break;
                }
                let i = i % xml.len();
                match kind {
                    0 => xml[i] = b,
                    1 => xml.insert(i, b),
                    _ => {
                        xml.remove(i);
                    }
                }
            }
            check(&xml);
        }
    }
}
