//! Typed configuration, from the environment only, loaded once in `main`.

use linka_shared::config::{self, ConfigError, Env, ProcessEnv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CONNECTIONS_TABLE`: name of ConnectionsTable.
    pub connections_table: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            connections_table: config::required(env, "CONNECTIONS_TABLE")?,
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
                .then(|| "linka-ConnectionsTable".to_owned())
        };
        let config = Config::from_source(&env).unwrap();
        assert_eq!(config.connections_table, "linka-ConnectionsTable");
        assert_eq!(read.into_inner().unwrap(), ENVIRONMENT);
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
