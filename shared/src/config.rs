//! Reading typed configuration from the environment, with one clear error per problem.
//!
//! Each function has its own `Config` (in its `config.rs`) built from these helpers; it is loaded
//! once in `main` and fails fast.

use thiserror::Error;

/// A configuration value that is missing or unusable.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is not set (or is empty)")]
    Missing { name: &'static str },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where configuration values come from: the process environment in `main`, a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F> Env for F
where
    F: Fn(&str) -> Option<String>,
{
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// A required, non-empty value (surrounding whitespace trimmed).
pub fn required(env: &impl Env, name: &'static str) -> Result<String, ConfigError> {
    optional(env, name).ok_or(ConfigError::Missing { name })
}

/// An optional value; an empty or blank value counts as absent.
pub fn optional(env: &impl Env, name: &'static str) -> Option<String> {
    env.get(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A required value that must be an absolute `http(s)` URL.
pub fn required_url(env: &impl Env, name: &'static str) -> Result<String, ConfigError> {
    let value = required(env, name)?;
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: "expected an absolute http(s) URL".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Env {
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn when_value_is_blank_should_report_it_missing() {
        // GIVEN a blank variable
        let env = env(&[("TABLE", "  ")]);
        // WHEN it is required
        let result = required(&env, "TABLE");
        // THEN it is reported missing, by name
        assert_eq!(result, Err(ConfigError::Missing { name: "TABLE" }));
    }

    #[test]
    fn when_url_is_not_absolute_should_report_it_invalid() {
        let env = env(&[("URL", "localhost:4566")]);
        assert!(matches!(
            required_url(&env, "URL"),
            Err(ConfigError::Invalid { name: "URL", .. })
        ));
    }

    #[test]
    fn when_url_is_absolute_should_return_it_trimmed() {
        let env = env(&[("URL", " https://example.org/x ")]);
        assert_eq!(required_url(&env, "URL").unwrap(), "https://example.org/x");
    }
}
