//! Typed configuration, from the environment only, loaded once in `main`.

use linka_shared::config::{self, ConfigError, Env, ProcessEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CONNECTIONS_TABLE`: name of ConnectionsTable.
    pub connections_table: String,
    /// `WS_MANAGEMENT_ENDPOINT`: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
    pub ws_management_endpoint: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            connections_table: config::required(env, "CONNECTIONS_TABLE")?,
            ws_management_endpoint: config::required_url(env, "WS_MANAGEMENT_ENDPOINT")?,
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
            config.ws_management_endpoint,
            "https://value-of-WS_MANAGEMENT_ENDPOINT"
        );
        let read = read.into_inner().unwrap();
        assert!(
            read.iter().all(|name| ENVIRONMENT.contains(&name.as_str())),
            "{read:?}"
        );
        assert_eq!(read.len(), ENVIRONMENT.len());
    }
}
