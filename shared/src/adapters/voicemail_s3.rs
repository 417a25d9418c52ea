//! [`VoicemailAudio`] on `VoicemailBucket` (S3): presigned PUTs for the PBX's recording upload
//! (through the relay) and presigned GETs for an agent's playback.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::{presigning::PresigningConfig, Client};

use crate::{
    ports::{StoreError, VoicemailAudio},
    prompts::WAV_CONTENT_TYPE,
};

/// Voicemail recordings in one bucket.
#[derive(Debug, Clone)]
pub struct S3VoicemailAudio {
    client: Client,
    bucket: String,
}

fn backend(operation: &'static str, source: impl Into<crate::BoxError>) -> StoreError {
    StoreError::Backend {
        operation,
        source: source.into(),
    }
}

impl S3VoicemailAudio {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// With a client built from the shared SDK configuration. Path-style addressing, as for
    /// the prompts: presigned URLs then work the same against S3 and against the local
    /// emulator, and a bucket name with dots stays valid under TLS.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(true)
            .build();
        Self::new(Client::from_conf(config), bucket)
    }
}

#[async_trait]
impl VoicemailAudio for S3VoicemailAudio {
    async fn upload_url(&self, key: &str, expires: Duration) -> Result<String, StoreError> {
        let config = PresigningConfig::expires_in(expires)
            .map_err(|error| backend("presign a voicemail upload", error))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(WAV_CONTENT_TYPE)
            .presigned(config)
            .await
            .map_err(|error| backend("presign a voicemail upload", error))?;
        Ok(request.uri().to_owned())
    }

    async fn playback_url(&self, key: &str, expires: Duration) -> Result<String, StoreError> {
        let config = PresigningConfig::expires_in(expires)
            .map_err(|error| backend("presign a voicemail playback", error))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|error| backend("presign a voicemail playback", error))?;
        Ok(request.uri().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

    /// Presigning is local: a client with static credentials signs without any request.
    fn audio() -> S3VoicemailAudio {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-central-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .force_path_style(true)
            .build();
        S3VoicemailAudio::new(Client::from_conf(config), "linka-voicemail")
    }

    #[tokio::test]
    async fn when_an_upload_is_presigned_should_sign_a_put_of_the_key_with_the_wav_type() {
        let url = audio()
            .upload_url("voicemail/kkc/a.wav", Duration::from_secs(300))
            .await
            .unwrap();
        assert!(
            url.contains("/linka-voicemail/voicemail/kkc/a.wav?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert!(url.contains("content-type"), "{url}");
    }

    #[tokio::test]
    async fn when_a_playback_is_presigned_should_sign_a_get_valid_for_the_given_time() {
        let url = audio()
            .playback_url("voicemail/kkc/a.wav", Duration::from_secs(900))
            .await
            .unwrap();
        assert!(
            url.starts_with(
                "https://s3.eu-central-1.amazonaws.com/linka-voicemail/voicemail/kkc/a.wav?"
            ),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=900"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
    }

    #[tokio::test]
    async fn when_the_expiry_is_over_a_week_should_fail_as_a_backend_error() {
        let result = audio()
            .playback_url("a.wav", Duration::from_secs(8 * 24 * 3600))
            .await;
        assert!(matches!(result, Err(StoreError::Backend { .. })));
    }
}
