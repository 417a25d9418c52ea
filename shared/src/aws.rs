//! The one place AWS configuration is loaded.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the shared SDK configuration from the standard sources (environment, profile, the
/// Lambda execution role). `AWS_ENDPOINT_URL` (and its per-service variants) redirect every
/// client to an emulator, so the code has no local branch.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
