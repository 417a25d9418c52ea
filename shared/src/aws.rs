//! The one place AWS configuration is loaded.

use std::time::Duration;

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, SdkConfig};

/// A single attempt of an AWS call that takes longer than this is abandoned and retried: a
/// stalled connection must not hold an API request until the Lambda timeout (10 s) kills it.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The whole call, retries included, stays well inside the function's timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(9);

/// Connecting to an AWS endpoint (in-region, or the local emulator).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Loads the shared SDK configuration from the standard sources (environment, profile, the
/// Lambda execution role). `AWS_ENDPOINT_URL` (and its per-service variants) redirect every
/// client to an emulator, so the code has no local branch.
///
/// The SDK sets no timeouts by default; these bound each attempt and the whole operation, and
/// the standard retry mode (3 attempts, exponential backoff) retries a timed-out attempt.
/// Retried writes stay safe: transactions carry a client request token, conditional puts
/// answer a conflict rather than writing twice.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}
