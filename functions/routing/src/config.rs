//! Typed configuration, from the environment only, loaded once in `main`.

use std::time::Duration;

use linka_shared::config::{self, ConfigError, Env, ProcessEnv};
use linka_shared::prompts::PromptSettings;
use linka_shared::routing_live::DEFAULT_OFFER_SECONDS;

/// How long the configuration (queues, members, plan, devices, agents' numbers) is reused
/// before it is read again, by default.
pub const DEFAULT_CONFIG_CACHE_SECONDS: u64 = 5;

/// The cloud-driven IVR's tables and prompt services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrSettings {
    /// `IVR_CALLS_TABLE`.
    pub calls_table: String,
    pub prompts: PromptSettings,
}

/// Where voicemail records and recordings go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoicemailSettings {
    /// `VOICEMAILS_TABLE`.
    pub table: String,
    /// `VOICEMAIL_BUCKET`.
    pub bucket: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CONFIG_TABLE`.
    pub config_table: String,
    /// `USERS_TABLE`.
    pub users_table: String,
    /// `AUDIT_TABLE` (the configuration store's adapter needs it; routing only reads).
    pub audit_table: String,
    /// `AGENT_STATE_TABLE`.
    pub agent_state_table: String,
    /// `AGENT_RESERVATIONS_TABLE`.
    pub reservations_table: String,
    /// `WAITING_CALLS_TABLE`.
    pub waiting_calls_table: String,
    /// `LAST_AGENT_TABLE`.
    pub last_agent_table: String,
    /// `CTI_COMMAND_QUEUE_URL`: the relay's FIFO command queue.
    pub command_queue_url: String,
    /// `ROUTING_QUEUE_URL`: the worker's own queue (delayed triggers).
    pub routing_queue_url: String,
    /// `ROUTING_OFFER_SECONDS`: ring time of an offer before the call goes back to its queue.
    pub offer_seconds: u32,
    /// `ROUTING_CONFIG_CACHE_SECONDS`.
    pub config_cache: Duration,
    /// `CALLBACKS_TABLE` (optional): serve the callback queue (the worker); unset, callbacks
    /// are neither offered nor created from lost calls.
    pub callbacks_table: Option<String>,
    /// `AGENT_DESK_TABLE` (optional): honour the queues agents logged out of at their desks;
    /// unset, every member works every queue.
    pub agent_desk_table: Option<String>,
    /// `CLIENTS_TABLE` (optional): look callers up in the client database (IN-1).
    pub clients_table: Option<String>,
    /// `IVR_CALLS_TABLE` (optional): run IVR trees on the PBX's IVR ports (with
    /// `PROMPTS_BUCKET` and `LINKA_TTS` for the prompts); unset, an IVR is the PBX's business.
    pub ivr: Option<IvrSettings>,
    /// `VOICEMAILS_TABLE` and `VOICEMAIL_BUCKET` (optional): voicemail left in IVR trees.
    pub voicemail: Option<VoicemailSettings>,
    /// `ROUTING_REQUIRE_IAM`: refuse route requests that API Gateway did not authorise with
    /// IAM (`true` in AWS; the local dev gateway does no IAM).
    pub require_iam: bool,
}

fn number<T: std::str::FromStr>(
    env: &impl Env,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match config::optional(env, name) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("{text:?} is not a whole number"),
        }),
    }
}

impl Config {
    /// The routing state tables.
    pub fn routing_tables(&self) -> linka_shared::adapters::RoutingTables {
        linka_shared::adapters::RoutingTables {
            agents: self.agent_state_table.clone(),
            reservations: self.reservations_table.clone(),
            waiting: self.waiting_calls_table.clone(),
            last_agents: self.last_agent_table.clone(),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        let offer_seconds = number(env, "ROUTING_OFFER_SECONDS", DEFAULT_OFFER_SECONDS)?;
        if !(5..=120).contains(&offer_seconds) {
            return Err(ConfigError::Invalid {
                name: "ROUTING_OFFER_SECONDS",
                reason: "must be 5 to 120".into(),
            });
        }
        let require_iam = match config::optional(env, "ROUTING_REQUIRE_IAM").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "ROUTING_REQUIRE_IAM",
                    reason: format!("{other:?} is not true or false"),
                })
            }
        };
        Ok(Self {
            config_table: config::required(env, "CONFIG_TABLE")?,
            users_table: config::required(env, "USERS_TABLE")?,
            audit_table: config::required(env, "AUDIT_TABLE")?,
            agent_state_table: config::required(env, "AGENT_STATE_TABLE")?,
            reservations_table: config::required(env, "AGENT_RESERVATIONS_TABLE")?,
            waiting_calls_table: config::required(env, "WAITING_CALLS_TABLE")?,
            last_agent_table: config::required(env, "LAST_AGENT_TABLE")?,
            command_queue_url: config::required_url(env, "CTI_COMMAND_QUEUE_URL")?,
            routing_queue_url: config::required_url(env, "ROUTING_QUEUE_URL")?,
            offer_seconds,
            config_cache: Duration::from_secs(number(
                env,
                "ROUTING_CONFIG_CACHE_SECONDS",
                DEFAULT_CONFIG_CACHE_SECONDS,
            )?),
            require_iam,
            callbacks_table: config::optional(env, "CALLBACKS_TABLE"),
            agent_desk_table: config::optional(env, "AGENT_DESK_TABLE"),
            clients_table: config::optional(env, "CLIENTS_TABLE"),
            ivr: match config::optional(env, "IVR_CALLS_TABLE") {
                Some(calls_table) => Some(IvrSettings {
                    calls_table,
                    prompts: PromptSettings::from_source(env)?,
                }),
                None => None,
            },
            voicemail: match (
                config::optional(env, "VOICEMAILS_TABLE"),
                config::optional(env, "VOICEMAIL_BUCKET"),
            ) {
                (Some(table), Some(bucket)) => Some(VoicemailSettings { table, bucket }),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut vars: HashMap<String, String> = [
            ("CONFIG_TABLE", "c"),
            ("USERS_TABLE", "u"),
            ("AUDIT_TABLE", "a"),
            ("AGENT_STATE_TABLE", "s"),
            ("AGENT_RESERVATIONS_TABLE", "r"),
            ("WAITING_CALLS_TABLE", "w"),
            ("LAST_AGENT_TABLE", "l"),
            ("CTI_COMMAND_QUEUE_URL", "http://q/c.fifo"),
            ("ROUTING_QUEUE_URL", "http://q/r"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        move |name: &str| vars.get(name).cloned()
    }

    #[test]
    fn when_only_required_variables_are_set_should_use_defaults() {
        let config = Config::from_source(&env(&[])).unwrap();
        assert_eq!(config.offer_seconds, DEFAULT_OFFER_SECONDS);
        assert!(!config.require_iam);
        assert_eq!(config.config_cache, Duration::from_secs(5));
    }

    #[test]
    fn when_offer_seconds_is_out_of_range_should_refuse() {
        assert!(Config::from_source(&env(&[("ROUTING_OFFER_SECONDS", "2")])).is_err());
        assert!(Config::from_source(&env(&[("ROUTING_REQUIRE_IAM", "yes")])).is_err());
    }
}
