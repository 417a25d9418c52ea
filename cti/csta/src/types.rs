//! Field types shared by the messages: device ids, connection ids, the CSTA enumerations, and
//! the [`Field`] trait that maps them to and from XML elements.

use serde::Serialize;

use crate::xml::{write_text, Element};
use crate::DecodeError;

/// A value carried by one child element of a message.
pub trait Field: Sized {
    /// Reads the value from its element.
    fn decode(el: &Element) -> Result<Self, DecodeError>;
    /// Reads the value from an owned element (avoids copies where the value keeps the element).
    fn decode_owned(el: Element) -> Result<Self, DecodeError> {
        Self::decode(&el)
    }
    /// Writes the value as an element called `name`.
    fn encode(&self, name: &str, out: &mut String);
}

pub(crate) fn leaf_text(el: &Element) -> Result<&str, DecodeError> {
    if el.children.is_empty() {
        Ok(&el.text)
    } else {
        Err(DecodeError::BadShape {
            element: el.name.clone(),
            reason: "expected text only, found child elements",
        })
    }
}

impl Field for String {
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        leaf_text(el).map(str::to_owned)
    }
    fn decode_owned(el: Element) -> Result<Self, DecodeError> {
        leaf_text(&el)?;
        Ok(el.text)
    }
    fn encode(&self, name: &str, out: &mut String) {
        write_text(out, name, self);
    }
}

impl Field for u32 {
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        let text = leaf_text(el)?;
        text.parse().map_err(|_| DecodeError::BadValue {
            element: el.name.clone(),
            value: text.to_owned(),
            expected: "an unsigned integer",
        })
    }
    fn encode(&self, name: &str, out: &mut String) {
        write_text(out, name, &self.to_string());
    }
}

impl Field for bool {
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        match leaf_text(el)? {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(DecodeError::BadValue {
                element: el.name.clone(),
                value: other.to_owned(),
                expected: "true or false",
            }),
        }
    }
    fn encode(&self, name: &str, out: &mut String) {
        write_text(out, name, if *self { "true" } else { "false" });
    }
}

/// Untyped subtree (filters, private data, snapshot data…), kept verbatim.
impl Field for Element {
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        Ok(el.clone())
    }
    fn decode_owned(el: Element) -> Result<Self, DecodeError> {
        Ok(el)
    }
    fn encode(&self, name: &str, out: &mut String) {
        self.write_as(out, name);
    }
}

/// A device identifier.
///
/// Requests carry it as text (`<callingDevice>2001</callingDevice>`); events wrap it
/// (`<callingDevice><deviceIdentifier>N&lt;2001&gt;;noa=nk</deviceIdentifier></callingDevice>`,
/// or `<notKnown/>`). `form` keeps the wrapper's name so encoding reproduces the shape.
/// The format of the id itself (plain extension or `N<…>;noa=…`) is unknown for MiVoice 5000
/// (research §7.9), so it is kept as an opaque string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DeviceId {
    /// The identifier text (empty for `notKnown`/`notRequired`).
    pub id: String,
    /// Name of the wrapping element (`deviceIdentifier`, `deviceObject`, `notKnown`…), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

impl DeviceId {
    /// A plain device id (text form).
    pub fn plain(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            form: None,
        }
    }

    /// A wrapped device id, e.g. `wrapped("deviceIdentifier", "2001")`.
    pub fn wrapped(form: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            form: Some(form.into()),
        }
    }
}

impl Field for DeviceId {
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        match el.children.as_slice() {
            [] => Ok(Self::plain(el.text.clone())),
            [inner] if el.text.is_empty() => {
                Ok(Self::wrapped(inner.name.clone(), leaf_text(inner)?))
            }
            _ => Err(DecodeError::BadShape {
                element: el.name.clone(),
                reason: "a device id has text or exactly one wrapped identifier",
            }),
        }
    }
    fn decode_owned(mut el: Element) -> Result<Self, DecodeError> {
        match el.children.len() {
            0 => Ok(Self::plain(el.text)),
            1 if el.text.is_empty() => {
                let inner = el.children.pop().unwrap_or_default();
                leaf_text(&inner)?;
                Ok(Self {
                    id: inner.text,
                    form: Some(inner.name),
                })
            }
            _ => Self::decode(&el),
        }
    }
    fn encode(&self, name: &str, out: &mut String) {
        match &self.form {
            None => write_text(out, name, &self.id),
            Some(form) => {
                out.push('<');
                out.push_str(name);
                out.push('>');
                write_text(out, form, &self.id);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
}

/// A connection: `{callID, deviceID}` (ECMA-269 ConnectionID). Call ids are opaque strings
/// (OpenScape Voice uses 32 hex characters).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ConnectionId {
    /// `callID`.
    #[serde(rename = "callID", skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// `deviceID`.
    #[serde(rename = "deviceID", skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

impl ConnectionId {
    /// A connection with both parts.
    pub fn new(call_id: impl Into<String>, device_id: impl Into<String>) -> Self {
        Self {
            call_id: Some(call_id.into()),
            device_id: Some(device_id.into()),
        }
    }
}

impl Field for ConnectionId {
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        let mut c = Self::default();
        for child in &el.children {
            match child.name.as_str() {
                "callID" => c.call_id = Some(leaf_text(child)?.to_owned()),
                "deviceID" => c.device_id = Some(leaf_text(child)?.to_owned()),
                _ => {
                    return Err(DecodeError::BadShape {
                        element: el.name.clone(),
                        reason: "a connection id holds only callID and deviceID",
                    })
                }
            }
        }
        Ok(c)
    }
    fn decode_owned(el: Element) -> Result<Self, DecodeError> {
        let mut c = Self::default();
        for child in el.children {
            leaf_text(&child)?;
            match child.name.as_str() {
                "callID" => c.call_id = Some(child.text),
                "deviceID" => c.device_id = Some(child.text),
                _ => {
                    return Err(DecodeError::BadShape {
                        element: el.name,
                        reason: "a connection id holds only callID and deviceID",
                    })
                }
            }
        }
        Ok(c)
    }
    fn encode(&self, name: &str, out: &mut String) {
        out.push('<');
        out.push_str(name);
        out.push('>');
        if let Some(c) = &self.call_id {
            write_text(out, "callID", c);
        }
        if let Some(d) = &self.device_id {
            write_text(out, "deviceID", d);
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
}

/// Declares a text enumeration with an `Other` fallback, so values outside the known set are
/// kept (and reported) instead of rejected.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value outside the known set, as received.
            Other(String),
        }

        impl $name {
            /// The XML text of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(s) => s,
                }
            }

            /// Maps XML text to the value (unknown text gives `Other`).
            pub fn from_text(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl Field for $name {
            fn decode(el: &Element) -> Result<Self, DecodeError> {
                leaf_text(el).map(Self::from_text)
            }
            fn encode(&self, name: &str, out: &mut String) {
                write_text(out, name, self.as_str());
            }
        }
    };
}

text_enum! {
    /// ECMA-269 LocalConnectionState (`<localConnectionInfo>`), research §3.
    LocalConnectionState {
        /// No connection.
        Null = "null",
        /// Off-hook / MakeCall begins.
        Initiated = "initiated",
        /// Ringing.
        Alerting = "alerting",
        /// Talking.
        Connected = "connected",
        /// On hold.
        Hold = "hold",
        /// Queued (ACD / hunt group).
        Queued = "queued",
        /// Failed (busy, unreachable).
        Fail = "fail",
    }
}

text_enum! {
    /// ParticipationType for SingleStepConferenceCall (research §6): `silent` for supervisor
    /// monitoring, `active` for coaching/barge-in.
    ParticipationType {
        /// Listen only.
        Silent = "silent",
        /// Full participant.
        Active = "active",
        /// No participation.
        None = "none",
    }
}

text_enum! {
    /// `requestedAgentState` values (research §4.1).
    AgentState {
        /// Log on.
        LoggedOn = "loggedOn",
        /// Log off.
        LoggedOff = "loggedOff",
        /// Ready for calls.
        Ready = "ready",
        /// Not ready.
        NotReady = "notReady",
        /// Wrap-up.
        WorkingAfterCall = "workingAfterCall",
    }
}

text_enum! {
    /// `CSTAErrorCode` categories (research §4.4). Note the standard's misspelling
    /// `systemResourceAvailibility`; the correct spelling is accepted too.
    ErrorCategory {
        /// Operation error.
        Operation = "operation",
        /// Security error.
        Security = "security",
        /// State incompatibility.
        StateIncompatibility = "stateIncompatibility",
        /// System resource availability (as spelt by the standard).
        SystemResourceAvailability = "systemResourceAvailibility",
        /// Subscribed resource availability.
        SubscribedResourceAvailability = "subscribedResourceAvailability",
        /// Performance management.
        PerformanceManagement = "performanceManagement",
        /// Private data.
        PrivateData = "privateData",
        /// Unspecified.
        Unspecified = "unspecified",
    }
}

/// One entry of a connection list (`connectionListItem{newConnection, oldConnection}`), as sent
/// in TransferredEvent / ConferencedEvent: apply old → new on the connection table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ConnectionListItem {
    /// New connection id.
    #[serde(rename = "newConnection", skip_serializing_if = "Option::is_none")]
    pub new_connection: Option<ConnectionId>,
    /// Old connection id.
    #[serde(rename = "oldConnection", skip_serializing_if = "Option::is_none")]
    pub old_connection: Option<ConnectionId>,
    /// Endpoint device, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<DeviceId>,
}

/// A connection list (`transferredConnections`, `conferenceConnections`, `connectionList`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct ConnectionList(pub Vec<ConnectionListItem>);

impl Field for ConnectionList {
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        let mut items = Vec::with_capacity(el.children.len());
        for item in &el.children {
            if item.name != "connectionListItem" {
                return Err(DecodeError::BadShape {
                    element: el.name.clone(),
                    reason: "a connection list holds only connectionListItem elements",
                });
            }
            let mut entry = ConnectionListItem::default();
            for part in &item.children {
                match part.name.as_str() {
                    "newConnection" => entry.new_connection = Some(ConnectionId::decode(part)?),
                    "oldConnection" => entry.old_connection = Some(ConnectionId::decode(part)?),
                    "endpoint" => entry.endpoint = Some(DeviceId::decode(part)?),
                    _ => {
                        return Err(DecodeError::BadShape {
                            element: item.name.clone(),
                            reason: "unexpected child in connectionListItem",
                        })
                    }
                }
            }
            items.push(entry);
        }
        Ok(Self(items))
    }
    fn encode(&self, name: &str, out: &mut String) {
        out.push('<');
        out.push_str(name);
        out.push('>');
        for item in &self.0 {
            out.push_str("<connectionListItem>");
            if let Some(c) = &item.new_connection {
                c.encode("newConnection", out);
            }
            if let Some(c) = &item.old_connection {
                c.encode("oldConnection", out);
            }
            if let Some(d) = &item.endpoint {
                d.encode("endpoint", out);
            }
            out.push_str("</connectionListItem>");
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    fn roundtrip<T: Field + PartialEq + std::fmt::Debug>(v: &T) {
        let mut s = String::new();
        v.encode("x", &mut s);
        let el = parse(s.as_bytes()).unwrap().root;
        assert_eq!(&T::decode(&el).unwrap(), v, "{s}");
    }

    #[test]
    fn when_device_id_is_wrapped_should_keep_its_form() {
        let el = parse(
            b"<callingDevice><deviceIdentifier>N&lt;1&gt;</deviceIdentifier></callingDevice>",
        )
        .unwrap()
        .root;
        let d = DeviceId::decode(&el).unwrap();
        assert_eq!(d, DeviceId::wrapped("deviceIdentifier", "N<1>"));
        roundtrip(&d);
        roundtrip(&DeviceId::plain("2001"));
        roundtrip(&DeviceId::wrapped("notKnown", ""));
    }

    #[test]
    fn when_connection_id_has_foreign_child_should_fail_typed() {
        let el = parse(b"<c><callID>1</callID><foo/></c>").unwrap().root;
        assert!(matches!(
            ConnectionId::decode(&el),
            Err(DecodeError::BadShape { .. })
        ));
        roundtrip(&ConnectionId::new("FF00", "2001"));
    }

    #[test]
    fn when_enum_text_is_unknown_should_keep_it_as_other() {
        assert_eq!(
            LocalConnectionState::from_text("weird"),
            LocalConnectionState::Other("weird".into())
        );
        roundtrip(&ParticipationType::Silent);
        roundtrip(&AgentState::Other("busy".into()));
    }

    #[test]
    fn when_number_is_not_numeric_should_fail_with_bad_value() {
        let el = parse(b"<n>12a</n>").unwrap().root;
        assert!(matches!(
            u32::decode(&el),
            Err(DecodeError::BadValue { .. })
        ));
        let el = parse(b"<b>yes</b>").unwrap().root;
        assert!(matches!(
            bool::decode(&el),
            Err(DecodeError::BadValue { .. })
        ));
    }

    #[test]
    fn when_connection_list_round_trips_should_be_equal() {
        roundtrip(&ConnectionList(vec![ConnectionListItem {
            new_connection: Some(ConnectionId::new("B", "2002")),
            old_connection: Some(ConnectionId::new("A", "2002")),
            endpoint: Some(DeviceId::wrapped("deviceID", "2002")),
        }]));
    }
}
