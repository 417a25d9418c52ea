//! Typed configuration, from the environment only, loaded once in `main`.

use linka_shared::{
    auth::AuthConfig,
    config::{self, ConfigError, Env, ProcessEnv},
    prompts::PromptSettings,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub auth: AuthConfig,
    /// `USERS_TABLE`: name of UsersTable.
    pub users_table: String,
    /// `BROADCAST_QUEUE_URL`: URL of BroadcastQueue.
    pub broadcast_queue_url: String,
    /// `AUDIT_TABLE`: name of AuditTable.
    pub audit_table: String,
    /// `AUDIT_RETENTION_DAYS`: how long audit records are kept (at least 183 days).
    pub audit_retention_days: u16,
    /// `CONFIG_TABLE`: name of ConfigTable (queues, members, break codes…).
    pub config_table: String,
    /// `PROMPTS_BUCKET` and `LINKA_TTS`: IVR prompt audio and the TTS engine.
    pub prompts: PromptSettings,
}

/// The shortest audit retention accepted (SEC-3: at least six months).
pub const MIN_AUDIT_RETENTION_DAYS: u16 = 183;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            auth: AuthConfig::from_source(env)?,
            users_table: config::required(env, "USERS_TABLE")?,
            broadcast_queue_url: config::required_url(env, "BROADCAST_QUEUE_URL")?,
            audit_table: config::required(env, "AUDIT_TABLE")?,
            audit_retention_days: retention_days(env)?,
            config_table: config::required(env, "CONFIG_TABLE")?,
            prompts: PromptSettings::from_source(env)?,
        })
    }
}

fn retention_days(env: &impl Env) -> Result<u16, ConfigError> {
    const NAME: &str = "AUDIT_RETENTION_DAYS";
    let text = config::required(env, NAME)?;
    text.parse::<u16>()
        .ok()
        .filter(|days| *days >= MIN_AUDIT_RETENTION_DAYS)
        .ok_or_else(|| ConfigError::Invalid {
            name: NAME,
            reason: format!("{text:?} is not a number of days from {MIN_AUDIT_RETENTION_DAYS}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ENVIRONMENT;

    #[test]
    fn when_every_listed_variable_is_set_should_load_and_read_only_those() {
        // GIVEN an environment with exactly the listed variables
        let read = std::sync::Mutex::new(Vec::new());
        let env = |name: &str| {
            read.lock().unwrap().push(name.to_owned());
            ENVIRONMENT.contains(&name).then(|| match name {
                "AUTH_JWKS_URL" => "http://127.0.0.1:8080/auth/jwks.json".to_owned(),
                "AUDIT_RETENTION_DAYS" => "400".to_owned(),
                "LINKA_TTS" => "polly".to_owned(),
                "BROADCAST_QUEUE_URL" => {
                    "http://127.0.0.1:4566/123456789012/linka-BroadcastQueue".to_owned()
                }
                other => format!("value-of-{other}"),
            })
        };
        // WHEN loaded
        let config = Config::from_source(&env).unwrap();
        // THEN it loads, and every variable it read is listed in ENVIRONMENT
        assert_eq!(config.users_table, "value-of-USERS_TABLE");
        assert_eq!(config.audit_retention_days, 400);
        let read = read.into_inner().unwrap();
        assert!(
            read.iter().all(|name| ENVIRONMENT.contains(&name.as_str())),
            "{read:?}"
        );
        assert_eq!(read.len(), ENVIRONMENT.len());
    }

    #[test]
    fn when_queue_url_is_missing_should_name_it() {
        let env = |name: &str| (name != "BROADCAST_QUEUE_URL").then(|| "http://x".to_owned());
        assert_eq!(
            Config::from_source(&env),
            Err(ConfigError::Missing {
                name: "BROADCAST_QUEUE_URL"
            })
        );
    }

    #[test]
    fn when_audit_retention_is_under_six_months_should_be_invalid() {
        let env = |name: &str| {
            Some(match name {
                "AUDIT_RETENTION_DAYS" => "90".to_owned(),
                _ => "http://x".to_owned(),
            })
        };
        assert!(matches!(
            Config::from_source(&env),
            Err(ConfigError::Invalid {
                name: "AUDIT_RETENTION_DAYS",
                ..
            })
        ));
    }
}
