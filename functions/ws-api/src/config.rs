//! Typed configuration, from the environment only, loaded once in `main`.

use linka_shared::{
    auth::AuthConfig,
    config::{self, ConfigError, Env, ProcessEnv},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub auth: AuthConfig,
    /// `CONNECTIONS_TABLE`: name of ConnectionsTable.
    pub connections_table: String,
    /// `WS_MANAGEMENT_ENDPOINT`: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
    pub ws_management_endpoint: String,
    /// `CHAT_TOKEN_SECRET`: the key of the chat participant tokens (issue 7); without it chat
    /// visitors cannot connect.
    pub chat_token_secret: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            auth: AuthConfig::from_source(env)?,
            connections_table: config::required(env, "CONNECTIONS_TABLE")?,
            ws_management_endpoint: config::required_url(env, "WS_MANAGEMENT_ENDPOINT")?,
            chat_token_secret: config::optional(env, "CHAT_TOKEN_SECRET"),
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
            ENVIRONMENT
                .contains(&name)
                .then(|| format!("https://value-of-{name}"))
        };
        let config = Config::from_source(&env).unwrap();
        assert_eq!(
            config.connections_table,
            "https://value-of-CONNECTIONS_TABLE"
        );
        let read = read.into_inner().unwrap();
        assert!(
            read.iter().all(|name| ENVIRONMENT.contains(&name.as_str())),
            "{read:?}"
        );
        assert_eq!(read.len(), ENVIRONMENT.len());
    }

    #[test]
    fn when_management_endpoint_is_not_a_url_should_say_so() {
        let env = |name: &str| match name {
            "WS_MANAGEMENT_ENDPOINT" => Some("execute-api".to_owned()),
            _ => Some("http://x".to_owned()),
        };
        assert!(matches!(
            Config::from_source(&env),
            Err(ConfigError::Invalid {
                name: "WS_MANAGEMENT_ENDPOINT",
                ..
            })
        ));
    }
}
