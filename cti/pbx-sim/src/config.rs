//! Simulator configuration: devices, timers, licence limit, traffic profile. Loaded from YAML or
//! JSON (`--config`), with a built-in demo default ([`SimConfig::demo`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::traffic::TrafficProfile;

/// Kind of a configured device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// Agent extension (phone + ACD agent).
    Agent,
    /// External number (mobile) reached through the trunk.
    External,
    /// Pilot / ACD group; a route point when a client has sent RouteRegister for it.
    Pilot,
    /// Trunk (network interface).
    Trunk,
    /// IVR port: answers at once, collects DTMF, may transfer per its menu. Without a menu it is
    /// cloud-driven: it does nothing until a CTI application asks it to play (PlayMessage) or
    /// record (RecordMessage).
    Ivr,
    /// Announcement port: answers at once.
    Announcement,
}

/// Initial agent state of an agent extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum InitialAgentState {
    /// Logged off.
    LoggedOff,
    /// Logged on, not ready.
    NotReady,
    /// Logged on and ready (demo default).
    #[default]
    Ready,
}

/// One configured device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// Device id (directory number) as it appears on the wire.
    pub id: String,
    /// Kind.
    pub kind: DeviceKind,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Agent id (agents only; defaults to the device id).
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Initial agent state (agents only).
    #[serde(default)]
    pub initial_state: InitialAgentState,
    /// ACD group members (pilots only; empty = every agent).
    #[serde(default)]
    pub members: Vec<String>,
    /// Fallback destination when routing times out or fails (pilots only).
    #[serde(default)]
    pub default_destination: Option<String>,
    /// Route-request timeout override for this pilot, in milliseconds.
    #[serde(default)]
    pub route_timeout_ms: Option<u64>,
    /// Queued calls overflow to `default_destination` after this long, ms (pilots only).
    #[serde(default)]
    pub queue_timeout_ms: Option<u64>,
    /// IVR menu: DTMF digit → destination (IVR ports only).
    #[serde(default)]
    pub menu: BTreeMap<String, String>,
    /// Whether the pilot distributes its queued calls to agents itself (pilots only). `false`:
    /// calls wait at the pilot until a CTI application moves them (Deflect), as with a Mitel
    /// waiting queue served by an external router.
    #[serde(default = "default_true")]
    pub acd: bool,
    /// A mobile extension (agents only): the PBX delivers the extension's calls to this mobile
    /// number over the trunk and reports and controls them as the extension's. CSTA cannot take
    /// a mobile off hook, so AnswerCall is refused; the person answers (HTTP
    /// `/devices/{id}/answer` plays that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

fn default_true() -> bool {
    true
}

impl DeviceConfig {
    pub(crate) fn new(id: &str, kind: DeviceKind, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            kind,
            name: Some(name.to_owned()),
            agent_id: None,
            initial_state: InitialAgentState::default(),
            members: Vec::new(),
            default_destination: None,
            route_timeout_ms: None,
            queue_timeout_ms: None,
            menu: BTreeMap::new(),
            acd: true,
            mobile: None,
        }
    }
}

/// How device ids are written in events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceIdFormat {
    /// `<deviceIdentifier>2001</deviceIdentifier>`.
    #[default]
    Plain,
    /// OpenScape Voice style: `<deviceIdentifier>N&lt;2001&gt;;noa=nk</deviceIdentifier>`.
    Osv,
}

impl DeviceIdFormat {
    /// A device id as carried in events.
    pub fn dev(self, id: &str) -> Option<csta::types::DeviceId> {
        let text = match self {
            Self::Plain => id.to_owned(),
            Self::Osv => format!("N<{id}>;noa=nk"),
        };
        Some(csta::types::DeviceId::wrapped("deviceIdentifier", text))
    }
}

/// Application-session settings (ECMA-354).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// Duration granted when the client asks for none, in seconds.
    pub default_duration_s: u32,
    /// Smallest duration granted, in seconds.
    pub min_duration_s: u32,
    /// Largest duration granted, in seconds.
    pub max_duration_s: u32,
    /// Refuse CSTA requests (other than session and system services) before a session starts.
    pub require_session: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            default_duration_s: 180,
            min_duration_s: 1,
            max_duration_s: 3600,
            require_session: true,
        }
    }
}

/// Whole simulator configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Session settings.
    pub session: SessionConfig,
    /// Device id format in events (`plain` or `osv`).
    pub device_id_format: DeviceIdFormat,
    /// Monitor licence limit (all clients together); `None` = unlimited.
    pub monitor_limit: Option<usize>,
    /// RouteRequest reply timeout, in milliseconds (default 4000).
    pub route_timeout_ms: u64,
    /// Agents answer alerting calls by themselves after this delay (demo mode); `None` = never.
    pub auto_answer_ms: Option<u64>,
    /// Externals (mobiles) answer alerting calls after this delay; `None` = never.
    pub external_answer_ms: Option<u64>,
    /// After a call, a ready agent goes to wrap-up (workingAfterCall) for this long, then back
    /// to ready; `None` = no wrap-up.
    pub wrap_up_ms: Option<u64>,
    /// Simulated playing time of one PlayMessage on a cloud-driven IVR port, in milliseconds
    /// (default 300).
    pub prompt_ms: u64,
    /// Simulated length of a RecordMessage (capped by its maxDuration), in milliseconds
    /// (default 1000).
    pub record_ms: u64,
    /// Devices.
    pub devices: Vec<DeviceConfig>,
    /// Traffic profile used by `--traffic` and by `POST /traffic/start` without a body.
    pub traffic: TrafficProfile,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::demo()
    }
}

/// Configuration loading errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// YAML syntax or shape error.
    #[error("invalid YAML config: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// JSON syntax or shape error.
    #[error("invalid JSON config: {0}")]
    Json(#[from] serde_json::Error),
    /// Semantic error (duplicate id, dangling reference…).
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl SimConfig {
    /// The built-in demo PBX: agents 2001–2010 (agent ids 2001–2010, logged on and ready),
    /// pilots 5000 (KKC), 5001 (AS), 5002 (EXT) falling back to the announcement 6900, IVR ports
    /// 6001–6002 with a menu (1 → 5000, 2 → 5001, 3 → 5002), a trunk 9000, and two mobiles.
    pub fn demo() -> Self {
        let mut devices = Vec::new();
        for n in 2001..=2010 {
            let id = n.to_string();
            let mut d = DeviceConfig::new(&id, DeviceKind::Agent, &format!("Agent {id}"));
            d.agent_id = Some(id);
            devices.push(d);
        }
        for (id, name) in [("5000", "KKC"), ("5001", "AS"), ("5002", "EXT")] {
            let mut d = DeviceConfig::new(id, DeviceKind::Pilot, name);
            d.default_destination = Some("6900".to_owned());
            devices.push(d);
        }
        for id in ["6001", "6002"] {
            let mut d = DeviceConfig::new(id, DeviceKind::Ivr, &format!("IVR port {id}"));
            d.menu = [("1", "5000"), ("2", "5001"), ("3", "5002")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            devices.push(d);
        }
        devices.push(DeviceConfig::new(
            "6900",
            DeviceKind::Announcement,
            "Announcement",
        ));
        devices.push(DeviceConfig::new("9000", DeviceKind::Trunk, "SIP trunk"));
        devices.push(DeviceConfig::new(
            "0612345678",
            DeviceKind::External,
            "Mobile 1",
        ));
        devices.push(DeviceConfig::new(
            "0698765432",
            DeviceKind::External,
            "Mobile 2",
        ));
        Self {
            session: SessionConfig::default(),
            device_id_format: DeviceIdFormat::Plain,
            monitor_limit: None,
            route_timeout_ms: 4000,
            auto_answer_ms: None,
            external_answer_ms: None,
            wrap_up_ms: None,
            prompt_ms: 300,
            record_ms: 1000,
            devices,
            traffic: TrafficProfile::default(),
        }
    }

    /// Parses YAML or JSON text (JSON is tried first when the text starts with `{`).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)?
        } else {
            serde_norway::from_str(text)?
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Loads a YAML or JSON file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Checks ids are unique and references point at configured devices.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for d in &self.devices {
            if d.id.is_empty() {
                return Err(ConfigError::Invalid("a device has an empty id".into()));
            }
            if !seen.insert(d.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "duplicate device id {}",
                    d.id
                )));
            }
        }
        for d in &self.devices {
            let refs = d
                .members
                .iter()
                .chain(d.default_destination.iter())
                .chain(d.menu.values());
            for r in refs {
                if !seen.contains(r.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "device {} refers to unknown device {r}",
                        d.id
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_demo_config_is_built_should_have_agents_pilots_and_fallbacks() {
        let c = SimConfig::demo();
        c.validate().unwrap();
        let agents: Vec<_> = c
            .devices
            .iter()
            .filter(|d| d.kind == DeviceKind::Agent)
            .collect();
        assert_eq!(agents.len(), 10);
        assert_eq!(agents[0].agent_id.as_deref(), Some("2001"));
        let kkc = c.devices.iter().find(|d| d.id == "5000").unwrap();
        assert_eq!(kkc.default_destination.as_deref(), Some("6900"));
    }

    #[test]
    fn when_yaml_config_has_a_dangling_reference_should_fail() {
        let yaml = "devices:\n  - id: '5000'\n    kind: pilot\n    default_destination: '1'\n";
        assert!(matches!(
            SimConfig::parse(yaml),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn when_json_config_is_given_should_parse_it() {
        let json = r#"{"route_timeout_ms": 200, "devices": [{"id": "2001", "kind": "agent"}]}"#;
        let c = SimConfig::parse(json).unwrap();
        assert_eq!(c.route_timeout_ms, 200);
        assert_eq!(c.devices.len(), 1);
        assert_eq!(c.session.default_duration_s, 180);
    }
}
