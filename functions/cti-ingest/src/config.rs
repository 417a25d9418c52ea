//! Typed configuration, from the environment only, loaded once in `main`.

use std::collections::BTreeSet;

use linka_shared::config::{self, ConfigError, Env, ProcessEnv};
use linka_shared::cti_state::Topology;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CALLS_TABLE`: name of CallsTable.
    pub calls_table: String,
    /// `AGENT_STATE_TABLE`: name of AgentStateTable.
    pub agent_state_table: String,
    /// `CONTACT_EVENTS_TABLE`: name of ContactEventsTable.
    pub contact_events_table: String,
    /// `STATS_TABLE`: name of StatsTable (the desk statistics' hourly counters, DESK-6); unset =
    /// no counters.
    pub stats_table: Option<String>,
    /// `CTI_IVR_DEVICES`: comma-separated IVR devices (may be empty).
    pub topology: Topology,
    /// `ROUTING_QUEUE_URL`: the routing worker's queue; unset = no routing triggers.
    pub routing_queue_url: Option<String>,
    /// Desk pushes; unset (no `CONNECTIONS_TABLE`) = none.
    pub pushes: Option<PushConfig>,
    /// The contact record projection (`crate::projection`); unset (no `CONTACTS_TABLE`) = none.
    pub contacts: Option<ContactsConfig>,
}

/// Where the contact record projection reads and writes (`crate::projection`); it reads the
/// users from `USERS_TABLE` ([`PushConfig::users_table`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactsConfig {
    /// `CONTACTS_TABLE`: name of ContactsTable.
    pub contacts_table: String,
    /// `CONFIG_TABLE`: the routing device map (queue devices → queue ids).
    pub config_table: String,
    /// `IVR_CALLS_TABLE`: the calls' IVR sessions (collected attributes); unset = none.
    pub ivr_calls_table: Option<String>,
}

/// Where the desk pushes go (`crate::push`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfig {
    /// `USERS_TABLE`: device → username (`agentNumber`).
    pub users_table: String,
    /// `CONNECTIONS_TABLE`: the open WebSocket connections.
    pub connections_table: String,
    /// `WS_MANAGEMENT_ENDPOINT`: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
    pub ws_management_endpoint: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        let ivr_devices: BTreeSet<String> = config::optional(env, "CTI_IVR_DEVICES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|device| !device.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = ivr_devices.iter().find(|device| {
            !device
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        }) {
            return Err(ConfigError::Invalid {
                name: "CTI_IVR_DEVICES",
                reason: format!("{bad:?} is not a device number"),
            });
        }
        Ok(Self {
            calls_table: config::required(env, "CALLS_TABLE")?,
            agent_state_table: config::required(env, "AGENT_STATE_TABLE")?,
            contact_events_table: config::required(env, "CONTACT_EVENTS_TABLE")?,
            stats_table: config::optional(env, "STATS_TABLE"),
            topology: Topology {
                ivr_devices,
                ..Topology::default()
            },
            routing_queue_url: config::optional(env, "ROUTING_QUEUE_URL"),
            pushes: match config::optional(env, "CONNECTIONS_TABLE") {
                // Pushes are optional as a whole; once asked for, every part is required.
                Some(connections_table) => Some(PushConfig {
                    users_table: config::required(env, "USERS_TABLE")?,
                    connections_table,
                    ws_management_endpoint: config::required_url(env, "WS_MANAGEMENT_ENDPOINT")?,
                }),
                None => None,
            },
            contacts: match config::optional(env, "CONTACTS_TABLE") {
                Some(contacts_table) => Some(ContactsConfig {
                    contacts_table,
                    config_table: config::required(env, "CONFIG_TABLE")?,
                    ivr_calls_table: config::optional(env, "IVR_CALLS_TABLE"),
                }),
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ENVIRONMENT;

    #[test]
    fn when_every_listed_variable_is_set_should_load_and_read_only_those() {
        let read = std::sync::Mutex::new(Vec::new());
        let env = |name: &str| {
            read.lock().unwrap().push(name.to_owned());
            ENVIRONMENT.contains(&name).then(|| match name {
                "CTI_IVR_DEVICES" => " 7000, 7001 ,".to_owned(),
                "WS_MANAGEMENT_ENDPOINT" => "https://ws.example/dev".to_owned(),
                other => format!("linka-{other}"),
            })
        };
        let config = Config::from_source(&env).unwrap();
        assert_eq!(config.calls_table, "linka-CALLS_TABLE");
        assert_eq!(config.stats_table.as_deref(), Some("linka-STATS_TABLE"));
        assert_eq!(
            config.topology.ivr_devices,
            BTreeSet::from(["7000".to_owned(), "7001".to_owned()])
        );
        assert_eq!(
            config.pushes,
            Some(PushConfig {
                users_table: "linka-USERS_TABLE".into(),
                connections_table: "linka-CONNECTIONS_TABLE".into(),
                ws_management_endpoint: "https://ws.example/dev".into(),
            })
        );
        let read = read.into_inner().unwrap();
        assert!(read.iter().all(|name| ENVIRONMENT.contains(&name.as_str())));
        assert_eq!(read.len(), ENVIRONMENT.len());
    }

    #[test]
    fn when_connections_table_is_unset_should_push_nothing_and_when_set_require_the_rest() {
        let without = |name: &str| match name {
            "CONNECTIONS_TABLE" | "USERS_TABLE" | "WS_MANAGEMENT_ENDPOINT" => None,
            _ => Some("t".to_owned()),
        };
        assert_eq!(Config::from_source(&without).unwrap().pushes, None);
        let partial = |name: &str| match name {
            "USERS_TABLE" | "CONTACTS_TABLE" => None,
            "CTI_IVR_DEVICES" => Some(String::new()),
            _ => Some("https://t.example".to_owned()),
        };
        assert!(matches!(
            Config::from_source(&partial),
            Err(ConfigError::Missing {
                name: "USERS_TABLE"
            })
        ));
    }

    #[test]
    fn when_ivr_devices_are_empty_or_invalid_should_default_or_refuse() {
        let empty = |name: &str| {
            Some(match name {
                "CTI_IVR_DEVICES" => String::new(),
                "WS_MANAGEMENT_ENDPOINT" => "https://ws.example/dev".into(),
                _ => "t".into(),
            })
        };
        assert!(Config::from_source(&empty)
            .unwrap()
            .topology
            .ivr_devices
            .is_empty());
        let invalid = |name: &str| {
            Some(if name == "CTI_IVR_DEVICES" {
                "70 00".into()
            } else {
                "t".into()
            })
        };
        assert!(matches!(
            Config::from_source(&invalid),
            Err(ConfigError::Invalid {
                name: "CTI_IVR_DEVICES",
                ..
            })
        ));
    }
}
