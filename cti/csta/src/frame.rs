//! "CSTA XML over TCP" framing (research §1).
//!
//! ```text
//!  byte 0-1 : 0x00 0x00               header marker, always zero
//!  byte 2-3 : u16 big-endian          TOTAL frame length in bytes, header included
//!  byte 4-7 : 4 ASCII decimal digits  invoke id "0000".."9999"
//!  byte 8.. : XML document (UTF-8)
//! ```
//!
//! [`FrameCodec`] is a `tokio_util::codec` [`Decoder`]/[`Encoder`]. It counts the bytes it has
//! consumed from the stream, so every [`FrameError`] names the absolute byte offset of the frame
//! (and of the faulty field) in the captured stream.

use std::fmt;
use std::ops::RangeInclusive;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::Serialize;
use tokio_util::codec::{Decoder, Encoder};

/// Length of the frame header.
pub const HEADER_LEN: usize = 8;
/// Largest frame the 16-bit length field can describe.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

/// A 4-digit CSTA invoke id (0..=9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct InvokeId(u16);

impl InvokeId {
    /// The id OpenScape Voice and Zultys use for unsolicited events.
    pub const EVENT: InvokeId = InvokeId(9999);
    /// Largest representable id.
    pub const MAX: u16 = 9999;

    /// Builds an id, `None` when above 9999.
    pub fn new(value: u16) -> Option<Self> {
        (value <= Self::MAX).then_some(Self(value))
    }

    /// The numeric value.
    pub fn value(self) -> u16 {
        self.0
    }

    /// The four ASCII digits written on the wire.
    pub fn to_ascii(self) -> [u8; 4] {
        let v = self.0;
        [
            b'0' + (v / 1000) as u8,
            b'0' + (v / 100 % 10) as u8,
            b'0' + (v / 10 % 10) as u8,
            b'0' + (v % 10) as u8,
        ]
    }

    /// Parses four ASCII digits.
    pub fn from_ascii(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = bytes
            .iter()
            .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
        Some(Self(v))
    }
}

impl fmt::Display for InvokeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl From<InvokeId> for String {
    fn from(id: InvokeId) -> Self {
        id.to_string()
    }
}

/// Hands out invoke ids for requests, wrapping inside a configurable range.
///
/// The default range is 1..=8999: psco-tech's DMCC client wraps at 9000 to keep 9000..=9999
/// (and so the event id 9999) out of the request space (research §1). Whether MiVoice 5000 needs
/// this is unknown, hence configurable.
#[derive(Debug, Clone)]
pub struct InvokeIdAllocator {
    range: RangeInclusive<u16>,
    next: u16,
}

impl Default for InvokeIdAllocator {
    fn default() -> Self {
        Self {
            range: 1..=8999,
            next: 1,
        }
    }
}

impl InvokeIdAllocator {
    /// An allocator over `range`; `None` when the range is empty or goes above 9999.
    pub fn with_range(range: RangeInclusive<u16>) -> Option<Self> {
        if range.is_empty() || *range.end() > InvokeId::MAX {
            return None;
        }
        let next = *range.start();
        Some(Self { range, next })
    }

    /// The next id, wrapping to the start of the range after its end.
    pub fn next_id(&mut self) -> InvokeId {
        let id = InvokeId(self.next);
        self.next = if self.next >= *self.range.end() {
            *self.range.start()
        } else {
            self.next + 1
        };
        id
    }
}

/// One frame: the invoke id and the raw XML payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The invoke id of the header.
    pub invoke_id: InvokeId,
    /// The XML document, as received.
    pub xml: Bytes,
}

impl Frame {
    /// Builds a frame.
    pub fn new(invoke_id: InvokeId, xml: impl Into<Bytes>) -> Self {
        Self {
            invoke_id,
            xml: xml.into(),
        }
    }

    /// Total length on the wire (header included).
    pub fn wire_len(&self) -> usize {
        HEADER_LEN + self.xml.len()
    }

    /// Serialises the frame, header included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FrameError> {
        let mut buf = BytesMut::with_capacity(self.wire_len());
        FrameCodec::new().encode(self.clone(), &mut buf)?;
        Ok(buf.to_vec())
    }
}

/// A frame with the stream offset it started at (what [`FrameCodec`] yields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFrame {
    /// Byte offset of the frame's first header byte in the stream.
    pub offset: u64,
    /// The frame.
    pub frame: Frame,
}

/// Framing errors. Offsets are absolute byte offsets in the stream.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Bytes 0-1 of the header were not zero.
    #[error("bad header marker at byte offset {offset}: expected 00 00, found {found:02x?}")]
    BadMarker {
        /// Offset of the marker.
        offset: u64,
        /// The two bytes found.
        found: [u8; 2],
    },
    /// The length field is smaller than the header itself.
    #[error("bad length at byte offset {offset}: {length} is smaller than the 8-byte header")]
    LengthTooShort {
        /// Offset of the length field.
        offset: u64,
        /// The value read.
        length: u16,
    },
    /// The invoke id was not 4 ASCII digits.
    #[error("bad invoke id at byte offset {offset}: {found:02x?} is not 4 ASCII digits")]
    BadInvokeId {
        /// Offset of the invoke id field.
        offset: u64,
        /// The 4 bytes found.
        found: [u8; 4],
    },
    /// The stream ended inside a frame.
    #[error(
        "truncated frame at byte offset {offset}: needs {needed} bytes, stream has {available}"
    )]
    Truncated {
        /// Offset of the frame start.
        offset: u64,
        /// Bytes the frame needs (at least the header).
        needed: usize,
        /// Bytes left in the stream.
        available: usize,
    },
    /// An outgoing payload does not fit the 16-bit length.
    #[error("frame of {length} bytes exceeds the {MAX_FRAME_LEN}-byte maximum")]
    TooLarge {
        /// Total length that was asked for.
        length: usize,
    },
    /// Transport error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl FrameError {
    /// The stream byte offset the error refers to, if any.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::BadMarker { offset, .. }
            | Self::LengthTooShort { offset, .. }
            | Self::BadInvokeId { offset, .. }
            | Self::Truncated { offset, .. } => Some(*offset),
            Self::TooLarge { .. } | Self::Io(_) => None,
        }
    }
}

/// `tokio_util` codec for the 8-byte-header framing.
///
/// Decoding validates the marker and the invoke id as soon as the header is in the buffer, so a
/// corrupt stream is reported at once instead of waiting for a bogus length to fill.
#[derive(Debug, Default, Clone)]
pub struct FrameCodec {
    consumed: u64,
}

impl FrameCodec {
    /// A codec whose offsets start at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes consumed from the stream so far (the offset of the next frame).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }
}

impl Decoder for FrameCodec {
    type Item = OffsetFrame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<OffsetFrame>, FrameError> {
        if src.len() < HEADER_LEN {
            // Validate what we already have of the marker, to fail early on garbage.
            if let Some(pos) = src.iter().take(2).position(|b| *b != 0) {
                let mut found = [0u8; 2];
                found[pos] = src[pos];
                if pos == 0 && src.len() > 1 {
                    found[1] = src[1];
                }
                return Err(FrameError::BadMarker {
                    offset: self.consumed,
                    found,
                });
            }
            src.reserve(HEADER_LEN - src.len());
            return Ok(None);
        }
        let start = self.consumed;
        if src[0] != 0 || src[1] != 0 {
            return Err(FrameError::BadMarker {
                offset: start,
                found: [src[0], src[1]],
            });
        }
        let length = u16::from_be_bytes([src[2], src[3]]);
        if usize::from(length) < HEADER_LEN {
            return Err(FrameError::LengthTooShort {
                offset: start + 2,
                length,
            });
        }
        let Some(invoke_id) = InvokeId::from_ascii(&src[4..8]) else {
            return Err(FrameError::BadInvokeId {
                offset: start + 4,
                found: [src[4], src[5], src[6], src[7]],
            });
        };
        let length = usize::from(length);
        if src.len() < length {
            src.reserve(length - src.len());
            return Ok(None);
        }
        let mut whole = src.split_to(length);
        whole.advance(HEADER_LEN);
        self.consumed += length as u64;
        Ok(Some(OffsetFrame {
            offset: start,
            frame: Frame {
                invoke_id,
                xml: whole.freeze(),
            },
        }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<OffsetFrame>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => {
                let needed = if src.len() >= HEADER_LEN {
                    usize::from(u16::from_be_bytes([src[2], src[3]]))
                } else {
                    HEADER_LEN
                };
                Err(FrameError::Truncated {
                    offset: self.consumed,
                    needed,
                    available: src.len(),
                })
            }
        }
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        let length = frame.wire_len();
        let wire_len = u16::try_from(length).map_err(|_| FrameError::TooLarge { length })?;
        dst.reserve(length);
        dst.put_u16(0);
        dst.put_u16(wire_len);
        dst.put_slice(&frame.invoke_id.to_ascii());
        dst.put_slice(&frame.xml);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(v: u16) -> InvokeId {
        InvokeId::new(v).unwrap()
    }

    #[test]
    fn when_encoding_a_frame_should_write_zero_marker_total_length_and_digits() {
        let bytes = Frame::new(id(42), "<a/>").to_bytes().unwrap();
        assert_eq!(&bytes[..8], b"\x00\x00\x00\x0c0042");
        assert_eq!(&bytes[8..], b"<a/>");
    }

    #[test]
    fn when_two_frames_arrive_in_pieces_should_decode_both_with_offsets() {
        let mut stream = Frame::new(id(1), "<x/>").to_bytes().unwrap();
        stream.extend(Frame::new(InvokeId::EVENT, "<yy/>").to_bytes().unwrap());
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for b in stream {
            buf.put_u8(b);
            while let Some(f) = codec.decode(&mut buf).unwrap() {
                out.push(f);
            }
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].offset, 0);
        assert_eq!(out[1].offset, 12);
        assert_eq!(out[1].frame.invoke_id, InvokeId::EVENT);
        assert_eq!(&out[1].frame.xml[..], b"<yy/>");
    }

    #[test]
    fn when_marker_is_not_zero_should_fail_with_its_offset() {
        let mut stream = Frame::new(id(1), "<x/>").to_bytes().unwrap();
        stream.extend(b"\x01\x00\x00\x0c0001<x/>");
        let mut buf = BytesMut::from(&stream[..]);
        let mut codec = FrameCodec::new();
        assert!(codec.decode(&mut buf).unwrap().is_some());
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, FrameError::BadMarker { offset: 12, .. }),
            "{err}"
        );
    }

    #[test]
    fn when_length_is_below_header_should_fail_with_length_offset() {
        let mut buf = BytesMut::from(&b"\x00\x00\x00\x070001"[..]);
        let err = FrameCodec::new().decode(&mut buf).unwrap_err();
        assert_eq!(err.offset(), Some(2));
        assert!(matches!(err, FrameError::LengthTooShort { length: 7, .. }));
    }

    #[test]
    fn when_invoke_id_is_not_digits_should_fail_with_its_offset() {
        let mut buf = BytesMut::from(&b"\x00\x00\x00\x0800a1"[..]);
        let err = FrameCodec::new().decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::BadInvokeId { offset: 4, .. }));
    }

    #[test]
    fn when_stream_ends_inside_a_frame_should_report_truncation() {
        let mut buf = BytesMut::from(&b"\x00\x00\x00\x200001<abc"[..]);
        let err = FrameCodec::new().decode_eof(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            FrameError::Truncated {
                offset: 0,
                needed: 32,
                available: 12
            }
        ));
    }

    #[test]
    fn when_payload_exceeds_u16_should_refuse_to_encode() {
        let frame = Frame::new(id(1), vec![b'a'; MAX_FRAME_LEN]);
        assert!(matches!(
            frame.to_bytes(),
            Err(FrameError::TooLarge { length: 65543 })
        ));
        let fits = Frame::new(id(1), vec![b'a'; MAX_FRAME_LEN - HEADER_LEN]);
        assert_eq!(fits.to_bytes().unwrap().len(), MAX_FRAME_LEN);
    }

    #[test]
    fn when_allocator_reaches_range_end_should_wrap_to_start() {
        let mut a = InvokeIdAllocator::with_range(8998..=8999).unwrap();
        assert_eq!(a.next_id(), id(8998));
        assert_eq!(a.next_id(), id(8999));
        assert_eq!(a.next_id(), id(8998));
        assert!(InvokeIdAllocator::with_range(1..=10000).is_none());
        assert_eq!(InvokeIdAllocator::default().next_id(), id(1));
    }

    #[test]
    fn when_invoke_id_is_formatted_should_be_four_digits() {
        assert_eq!(id(7).to_string(), "0007");
        assert_eq!(InvokeId::from_ascii(b"9999"), Some(InvokeId::EVENT));
        assert!(InvokeId::new(10000).is_none());
    }
}
