//! The relay's configuration: one TOML file (see `dist/relay.toml`), with environment overrides
//! for the endpoints and secrets that differ per installation.
//!
//! AWS endpoints and credentials are *not* here: they come from the standard AWS chain
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `~/.aws/config` with `credential_process` for IAM Roles
//! Anywhere), so the local stack needs no code branch.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Environment variables that override the file (name → what it sets).
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("LINKA_RELAY_ID", "relay_id"),
    ("LINKA_RELAY_PBX_HOST", "pbx.host"),
    ("LINKA_RELAY_PBX_PORT", "pbx.port"),
    ("LINKA_RELAY_SPOOL_PATH", "spool.path"),
    ("LINKA_RELAY_EVENT_QUEUE_URL", "sqs.event_queue_url"),
    ("LINKA_RELAY_COMMAND_QUEUE_URL", "sqs.command_queue_url"),
    ("LINKA_RELAY_ROUTING_URL", "routing.url"),
    ("LINKA_RELAY_ROUTING_TOKEN", "routing.bearer_token"),
    ("LINKA_RELAY_HEALTH_LISTEN", "health.listen"),
    ("LINKA_RELAY_IVR_RECORDINGS_URL", "ivr.recordings_url"),
];

/// Configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read the config file {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("failed to parse the config file {path}")]
    Parse {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// An environment override has a bad value.
    #[error("environment variable {name} has an invalid value {value:?}")]
    BadEnv {
        /// Variable name.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A semantic check failed.
    #[error("invalid configuration: {0}")]
    Invalid(&'static str),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This relay's id (one per PBX site); part of every event id.
    pub relay_id: String,
    /// The PBX link.
    pub pbx: PbxConfig,
    /// Reconnect backoff.
    #[serde(default)]
    pub reconnect: ReconnectConfig,
    /// The durable spool.
    #[serde(default)]
    pub spool: SpoolConfig,
    /// SQS queues.
    pub sqs: SqsConfig,
    /// Routing.
    #[serde(default)]
    pub routing: RoutingConfig,
    /// Health / metrics endpoint.
    #[serde(default)]
    pub health: HealthConfig,
    /// Cloud-driven IVR ports (prompt media cache, recordings).
    #[serde(default)]
    pub ivr: IvrConfig,
}

/// Cloud-driven IVR ports: where prompts are cached and where recordings are fetched from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IvrConfig {
    /// Directory of the downloaded prompt files (`{cacheKey}.wav`), which the PBX plays by
    /// name (`messageToBePlayed` = the cache key). Default: `media/` next to the spool file.
    #[serde(default)]
    pub media_dir: Option<PathBuf>,
    /// URL template of a finished recording on the PBX (`{id}` = the CSTA `resultingMessage`,
    /// `{pbx_host}` = `pbx.host`). Default: the simulator's `http://{pbx_host}:7080/recordings/{id}`.
    #[serde(default = "default_recordings_url")]
    pub recordings_url: String,
    /// Timeout of one media download, recording fetch or upload, ms.
    #[serde(default = "default_ivr_http_timeout_ms")]
    pub http_timeout_ms: u64,
}

impl Default for IvrConfig {
    fn default() -> Self {
        Self {
            media_dir: None,
            recordings_url: default_recordings_url(),
            http_timeout_ms: default_ivr_http_timeout_ms(),
        }
    }
}

fn default_recordings_url() -> String {
    "http://{pbx_host}:7080/recordings/{id}".into()
}
fn default_ivr_http_timeout_ms() -> u64 {
    30_000
}

/// The PBX link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbxConfig {
    /// Host name or address of the PBX CSTA interface.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// ECMA-323 edition: `ed3`, `ed4` (default) or `ed5`.
    #[serde(default = "default_edition")]
    pub edition: String,
    /// `applicationID` sent in StartApplicationSession.
    #[serde(default = "default_application_id")]
    pub application_id: String,
    /// Requested session duration, seconds.
    #[serde(default = "default_session_secs")]
    pub session_duration_secs: u32,
    /// Keep-alive interval, ms (at most a third of the granted session duration is used).
    #[serde(default = "default_keepalive_ms")]
    pub keepalive_interval_ms: u64,
    /// Timeout for one CSTA request (session start, monitor, keep-alive, command), ms.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// TCP connect timeout, ms.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Devices to monitor.
    #[serde(default)]
    pub devices: Vec<DeviceConfig>,
}

/// What a monitored device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// An agent's extension.
    Agent,
    /// A hunt group / ACD pilot.
    Pilot,
    /// A CSTA routing point: also RouteRegister'ed; the relay answers its RouteRequests.
    RoutePoint,
    /// A cloud-driven IVR port: plays prompts, collects digits and records on command.
    IvrPort,
}

/// One device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// The device number (extension, pilot, route point).
    pub id: String,
    /// Its kind.
    pub kind: DeviceKind,
    /// Route points: where a call goes when the cloud does not answer in time (overrides
    /// `routing.default_fallback`).
    #[serde(default)]
    pub fallback: Option<String>,
}

/// Reconnect backoff: exponential from `initial_ms` to `max_ms`, ± `jitter` (0..1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconnectConfig {
    /// First delay, ms.
    #[serde(default = "default_backoff_initial_ms")]
    pub initial_ms: u64,
    /// Largest delay, ms.
    #[serde(default = "default_backoff_max_ms")]
    pub max_ms: u64,
    /// Relative jitter, 0..1.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self {
            initial_ms: default_backoff_initial_ms(),
            max_ms: default_backoff_max_ms(),
            jitter: default_jitter(),
        }
    }
}

/// The durable spool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    /// The spool file (a redb database).
    #[serde(default = "default_spool_path")]
    pub path: PathBuf,
    /// Most events kept; when reached the relay stops reading from the PBX (backpressure,
    /// health 503, `linka_relay_spool_full 1`) rather than dropping anything.
    #[serde(default = "default_spool_max")]
    pub max_events: u64,
    /// Depth ratio that raises the `spool near full` warning and metric.
    #[serde(default = "default_spool_warn")]
    pub warn_ratio: f64,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self {
            path: default_spool_path(),
            max_events: default_spool_max(),
            warn_ratio: default_spool_warn(),
        }
    }
}

/// SQS queues.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// FIFO queue for events (relay → cloud).
    pub event_queue_url: String,
    /// FIFO queue for commands (cloud → relay); commands are off when absent or empty.
    #[serde(default)]
    pub command_queue_url: Option<String>,
    /// Long-poll wait, seconds (1..=20).
    #[serde(default = "default_wait_secs")]
    pub command_wait_secs: i32,
    /// Visibility timeout asked for on received commands, seconds.
    #[serde(default = "default_visibility_secs")]
    pub command_visibility_secs: i32,
}

/// How the relay authenticates to the routing function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingAuth {
    /// No authentication (local stack).
    #[default]
    None,
    /// `Authorization: Bearer <routing.bearer_token>`.
    Bearer,
    /// AWS SigV4 with the default credential chain (production: IAM authorisation on the
    /// routing route, credentials through IAM Roles Anywhere).
    Sigv4,
}

/// Routing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Routing function URL; without it every RouteRequest gets the fallback.
    #[serde(default)]
    pub url: Option<String>,
    /// Budget from RouteRequest to RouteSelect, ms (also capped at half the request's
    /// `replyTimeout`).
    #[serde(default = "default_budget_ms")]
    pub budget_ms: u64,
    /// Fallback destination for route points without their own.
    #[serde(default)]
    pub default_fallback: Option<String>,
    /// Authentication.
    #[serde(default)]
    pub auth: RoutingAuth,
    /// Bearer token (prefer `LINKA_RELAY_ROUTING_TOKEN`).
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// SigV4 service name (`execute-api` for API Gateway, `lambda` for a function URL).
    #[serde(default = "default_sigv4_service")]
    pub sigv4_service: String,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            url: None,
            budget_ms: default_budget_ms(),
            default_fallback: None,
            auth: RoutingAuth::None,
            bearer_token: None,
            sigv4_service: default_sigv4_service(),
        }
    }
}

/// Health / metrics endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Listen address (`127.0.0.1:9480`; port 0 picks a free one).
    #[serde(default = "default_health_listen")]
    pub listen: SocketAddr,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            listen: default_health_listen(),
        }
    }
}

fn default_edition() -> String {
    "ed4".into()
}
fn default_application_id() -> String {
    "Linka".into()
}
fn default_session_secs() -> u32 {
    180
}
fn default_keepalive_ms() -> u64 {
    60_000
}
fn default_request_timeout_ms() -> u64 {
    5_000
}
fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_backoff_initial_ms() -> u64 {
    500
}
fn default_backoff_max_ms() -> u64 {
    30_000
}
fn default_jitter() -> f64 {
    0.2
}
fn default_spool_path() -> PathBuf {
    PathBuf::from("/var/lib/linka-relay/spool.redb")
}
fn default_spool_max() -> u64 {
    2_000_000
}
fn default_spool_warn() -> f64 {
    0.8
}
fn default_wait_secs() -> i32 {
    20
}
fn default_visibility_secs() -> i32 {
    30
}
fn default_budget_ms() -> u64 {
    1_500
}
fn default_sigv4_service() -> String {
    "execute-api".into()
}
fn default_health_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9480))
}

impl Config {
    /// Reads the file, applies the process environment, validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no environment, no validation).
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies the [`ENV_OVERRIDES`] found through `lookup`.
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        for (name, _) in ENV_OVERRIDES {
            let Some(value) = lookup(name).filter(|v| !v.is_empty()) else {
                continue;
            };
            let bad = || ConfigError::BadEnv {
                name,
                value: value.clone(),
            };
            match *name {
                "LINKA_RELAY_ID" => self.relay_id = value.clone(),
                "LINKA_RELAY_PBX_HOST" => self.pbx.host = value.clone(),
                "LINKA_RELAY_PBX_PORT" => self.pbx.port = value.parse().map_err(|_| bad())?,
                "LINKA_RELAY_SPOOL_PATH" => self.spool.path = PathBuf::from(&value),
                "LINKA_RELAY_EVENT_QUEUE_URL" => self.sqs.event_queue_url = value.clone(),
                "LINKA_RELAY_COMMAND_QUEUE_URL" => self.sqs.command_queue_url = Some(value.clone()),
                "LINKA_RELAY_ROUTING_URL" => self.routing.url = Some(value.clone()),
                "LINKA_RELAY_ROUTING_TOKEN" => self.routing.bearer_token = Some(value.clone()),
                "LINKA_RELAY_HEALTH_LISTEN" => {
                    self.health.listen = value.parse().map_err(|_| bad())?
                }
                "LINKA_RELAY_IVR_RECORDINGS_URL" => self.ivr.recordings_url = value.clone(),
                _ => {}
            }
        }
        Ok(())
    }

    /// Semantic checks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.relay_id.is_empty() || self.relay_id.contains(':') {
            return Err(ConfigError::Invalid(
                "relay_id must be non-empty and must not contain ':'",
            ));
        }
        if csta::Edition::from_name(&self.pbx.edition).is_none() {
            return Err(ConfigError::Invalid("pbx.edition must be ed3, ed4 or ed5"));
        }
        if self.sqs.event_queue_url.is_empty() {
            return Err(ConfigError::Invalid("sqs.event_queue_url is required"));
        }
        if !(1..=20).contains(&self.sqs.command_wait_secs) {
            return Err(ConfigError::Invalid("sqs.command_wait_secs must be 1..=20"));
        }
        if !(0.0..1.0).contains(&self.reconnect.jitter) {
            return Err(ConfigError::Invalid("reconnect.jitter must be in 0..1"));
        }
        if self.reconnect.initial_ms == 0 || self.reconnect.max_ms < self.reconnect.initial_ms {
            return Err(ConfigError::Invalid(
                "reconnect.initial_ms must be > 0 and <= reconnect.max_ms",
            ));
        }
        if self.spool.max_events == 0 {
            return Err(ConfigError::Invalid("spool.max_events must be > 0"));
        }
        if self.routing.auth == RoutingAuth::Bearer && self.routing.bearer_token.is_none() {
            return Err(ConfigError::Invalid(
                "routing.auth = \"bearer\" needs routing.bearer_token or LINKA_RELAY_ROUTING_TOKEN",
            ));
        }
        Ok(())
    }

    /// The configured edition (validated).
    pub fn edition(&self) -> csta::Edition {
        csta::Edition::from_name(&self.pbx.edition).unwrap_or_default()
    }

    /// The command queue URL, when commands are on.
    pub fn command_queue_url(&self) -> Option<&str> {
        self.sqs
            .command_queue_url
            .as_deref()
            .filter(|url| !url.is_empty())
    }

    /// Routing budget.
    pub fn routing_budget(&self) -> Duration {
        Duration::from_millis(self.routing.budget_ms)
    }

    /// The prompt cache directory (`ivr.media_dir`, or `media/` next to the spool).
    pub fn ivr_media_dir(&self) -> PathBuf {
        self.ivr.media_dir.clone().unwrap_or_else(|| {
            self.spool
                .path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("media")
        })
    }

    /// The URL of recording `id` on the PBX.
    pub fn recording_url(&self, id: &str) -> String {
        self.ivr
            .recordings_url
            .replace("{pbx_host}", &self.pbx.host)
            .replace("{id}", id)
    }

    /// Request timeout on the PBX link.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.pbx.request_timeout_ms)
    }

    /// The fallback for a route point: its own, else the global default.
    pub fn fallback_for(&self, routing_device: &str) -> Option<&str> {
        self.pbx
            .devices
            .iter()
            .find(|d| d.id == routing_device)
            .and_then(|d| d.fallback.as_deref())
            .or(self.routing.default_fallback.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../dist/relay.toml");

    #[test]
    fn when_sample_config_is_parsed_should_validate_and_resolve_fallbacks() {
        // GIVEN the shipped example config
        let config = Config::from_toml(SAMPLE).unwrap();
        // THEN it is valid and route points resolve their fallback
        config.validate().unwrap();
        assert_eq!(config.edition(), csta::Edition::Ed4);
        assert!(config
            .pbx
            .devices
            .iter()
            .any(|d| d.kind == DeviceKind::RoutePoint));
        assert_eq!(config.fallback_for("5000"), Some("5100"));
        assert_eq!(config.fallback_for("9999"), Some("5199"));
    }

    #[test]
    fn when_ivr_settings_are_absent_should_default_next_to_the_spool_and_to_the_simulator() {
        let text = SAMPLE
            .split("\n[ivr]")
            .next()
            .unwrap()
            .replace("/var/lib/linka-relay/spool.redb", "/srv/relay/spool.redb");
        let config = Config::from_toml(&text).unwrap();
        assert_eq!(config.ivr_media_dir(), PathBuf::from("/srv/relay/media"));
        assert_eq!(
            config.recording_url("rec-7"),
            "http://10.0.0.10:7080/recordings/rec-7"
        );
        assert_eq!(config.ivr.http_timeout_ms, 30_000);
        let sample = Config::from_toml(SAMPLE).unwrap();
        assert_eq!(
            sample.recording_url("rec-7"),
            "http://10.0.0.10:7080/recordings/rec-7"
        );
    }

    #[test]
    fn when_env_overrides_are_set_should_replace_file_values() {
        // GIVEN a config and an environment
        let mut config = Config::from_toml(SAMPLE).unwrap();
        let env = |name: &str| match name {
            "LINKA_RELAY_PBX_PORT" => Some("7001".to_owned()),
            "LINKA_RELAY_EVENT_QUEUE_URL" => Some("http://q/events.fifo".to_owned()),
            "LINKA_RELAY_HEALTH_LISTEN" => Some("0.0.0.0:9999".to_owned()),
            _ => None,
        };
        // WHEN applied
        config.apply_env(env).unwrap();
        // THEN the values are replaced
        assert_eq!(config.pbx.port, 7001);
        assert_eq!(config.sqs.event_queue_url, "http://q/events.fifo");
        assert_eq!(config.health.listen.port(), 9999);
    }

    #[test]
    fn when_env_port_is_not_a_number_should_fail_with_its_name() {
        let mut config = Config::from_toml(SAMPLE).unwrap();
        let err = config
            .apply_env(|n| (n == "LINKA_RELAY_PBX_PORT").then(|| "abc".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("LINKA_RELAY_PBX_PORT"), "{err}");
    }

    #[test]
    fn when_unknown_key_is_present_should_refuse_the_file() {
        let text = format!("{SAMPLE}\nunknown_key = 1\n");
        assert!(Config::from_toml(&text).is_err());
    }
}
