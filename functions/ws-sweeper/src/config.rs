//! Typed configuration, from the environment only, loaded once in `main`.

use linka_shared::{
    config::{self, ConfigError, Env, ProcessEnv},
    presence::DEFAULT_PRESENCE_TIMEOUT_SECONDS,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CONNECTIONS_TABLE`: name of ConnectionsTable.
    pub connections_table: String,
    /// The presence heartbeat; unset (no `CTI_COMMAND_QUEUE_URL`) = off.
    pub heartbeat: Option<HeartbeatConfig>,
}

/// The presence heartbeat's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// `CTI_COMMAND_QUEUE_URL`: where the logoff commands go.
    pub command_queue_url: String,
    /// `USERS_TABLE`: device → username (`agentNumber`).
    pub users_table: String,
    /// `AGENT_STATE_TABLE`: the agents' PBX states.
    pub agent_state_table: String,
    /// `PRESENCE_TIMEOUT_SECONDS` (default 120, at least 60): how long an agent may be
    /// without a desk before being logged off.
    pub timeout_seconds: i64,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        let connections_table = config::required(env, "CONNECTIONS_TABLE")?;
        let heartbeat = match config::optional(env, "CTI_COMMAND_QUEUE_URL") {
            Some(command_queue_url) => Some(HeartbeatConfig {
                command_queue_url,
                users_table: config::required(env, "USERS_TABLE")?,
                agent_state_table: config::required(env, "AGENT_STATE_TABLE")?,
                timeout_seconds: timeout_seconds(env)?,
            }),
            None => None,
        };
        Ok(Self {
            connections_table,
            heartbeat,
        })
    }
}

/// `PRESENCE_TIMEOUT_SECONDS`: whole seconds, 60 to 86 400 (the browser pings every 30 s and a
/// heartbeat is written at most every 25 s, so less than a minute would log off live desks).
fn timeout_seconds(env: &impl Env) -> Result<i64, ConfigError> {
    let Some(text) = config::optional(env, "PRESENCE_TIMEOUT_SECONDS") else {
        return Ok(DEFAULT_PRESENCE_TIMEOUT_SECONDS);
    };
    match text.trim().parse::<i64>() {
        Ok(seconds) if (60..=86_400).contains(&seconds) => Ok(seconds),
        _ => Err(ConfigError::Invalid {
            name: "PRESENCE_TIMEOUT_SECONDS",
            reason: format!("{text:?} is not a number of seconds from 60 to 86400"),
        }),
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
                "PRESENCE_TIMEOUT_SECONDS" => "180".to_owned(),
                other => format!("linka-{other}"),
            })
        };
        let config = Config::from_source(&env).unwrap();
        assert_eq!(config.connections_table, "linka-CONNECTIONS_TABLE");
        assert_eq!(
            config.heartbeat,
            Some(HeartbeatConfig {
                command_queue_url: "linka-CTI_COMMAND_QUEUE_URL".into(),
                users_table: "linka-USERS_TABLE".into(),
                agent_state_table: "linka-AGENT_STATE_TABLE".into(),
                timeout_seconds: 180,
            })
        );
        assert_eq!(read.into_inner().unwrap(), ENVIRONMENT);
    }

    #[test]
    fn when_heartbeat_is_unconfigured_or_timeout_is_bad_should_default_or_refuse() {
        let only_table = |name: &str| (name == "CONNECTIONS_TABLE").then(|| "t".to_owned());
        assert_eq!(Config::from_source(&only_table).unwrap().heartbeat, None);
        let without_timeout =
            |name: &str| (name != "PRESENCE_TIMEOUT_SECONDS").then(|| "t".to_owned());
        assert_eq!(
            Config::from_source(&without_timeout)
                .unwrap()
                .heartbeat
                .map(|heartbeat| heartbeat.timeout_seconds),
            Some(120)
        );
        for bad in ["30", "two minutes", "100000"] {
            let env = |name: &str| {
                Some(if name == "PRESENCE_TIMEOUT_SECONDS" {
                    bad.to_owned()
                } else {
                    "t".to_owned()
                })
            };
            assert!(
                matches!(
                    Config::from_source(&env),
                    Err(ConfigError::Invalid {
                        name: "PRESENCE_TIMEOUT_SECONDS",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn when_table_is_missing_should_name_it() {
        let env = |_: &str| None;
        assert_eq!(
            Config::from_source(&env),
            Err(ConfigError::Missing {
                name: "CONNECTIONS_TABLE"
            })
        );
    }
}
