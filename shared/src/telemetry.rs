//! Logging for the Lambdas.
//!
//! [`init_lambda`] follows Lambda's advanced logging controls, like
//! `lambda_runtime::tracing::init_default_subscriber`: JSON lines when `AWS_LAMBDA_LOG_FORMAT=JSON`
//! (set in the template's Globals), level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO.
//! No time stamps (CloudWatch adds them) and no targets.
//!
//! Personal data stays out of logs: usernames only at `debug`, never tokens, never message texts.

use std::{error::Error, fmt, str::FromStr};

use tracing_subscriber::{filter::LevelFilter, EnvFilter};

/// Installs the global subscriber. Calling it twice is harmless (the second call does nothing).
pub fn init_lambda() {
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| LevelFilter::from_str(&level).ok())
        .unwrap_or(LevelFilter::INFO);
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(level.into())
                .from_env_lossy(),
        );
    let result = if format.eq_ignore_ascii_case("json") {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
    // A subscriber set earlier (a test harness) wins; that is not an error worth stopping for.
    drop(result);
}

/// Displays an error with its whole `source()` chain: `outer: middle: root`.
/// Log it as `error.cause_chain = %ErrorChain(&error)`.
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn when_error_has_sources_should_print_the_chain() {
        let error = Outer(Inner);
        assert_eq!(ErrorChain(&error).to_string(), "outer: inner");
    }
}
