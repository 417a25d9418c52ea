//! Typed configuration, from the environment only, loaded once in `main`.

use linka_shared::{
    auth::AuthConfig,
    config::{self, ConfigError, Env, ProcessEnv},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub auth: AuthConfig,
    /// `USERS_TABLE`: name of UsersTable.
    pub users_table: String,
    /// `BROADCAST_QUEUE_URL`: URL of BroadcastQueue.
    pub broadcast_queue_url: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            auth: AuthConfig::from_source(env)?,
            users_table: config::required(env, "USERS_TABLE")?,
            broadcast_queue_url: config::required_url(env, "BROADCAST_QUEUE_URL")?,
        })
    }
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
}
