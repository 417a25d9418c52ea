//! [`PromptStore`] on `PromptsBucket` (S3): one object per prompt file, `audio/wav`, with
//! presigned GETs for the PBX and for the admin's preview.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::{
    error::SdkError, operation::head_object::HeadObjectError, presigning::PresigningConfig,
    primitives::ByteStream, Client,
};
use chrono::{DateTime, Utc};

use crate::{
    paging::{Page, PageCursor},
    prompts::{
        listing_cursor, listing_start, PromptObject, PromptStore, PromptStoreError,
        WAV_CONTENT_TYPE,
    },
    time::now_utc,
    users::PageLimit,
};

/// Prompt files in one bucket.
#[derive(Debug, Clone)]
pub struct S3PromptStore {
    client: Client,
    bucket: String,
}

fn backend(
    operation: &'static str,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> PromptStoreError {
    move |source| PromptStoreError::Backend { operation, source }
}

fn etag(value: Option<&str>) -> Option<String> {
    value.map(|tag| tag.trim_matches('"').to_owned())
}

fn timestamp(value: Option<&aws_sdk_s3::primitives::DateTime>) -> DateTime<Utc> {
    value
        .and_then(|at| DateTime::from_timestamp(at.secs(), at.subsec_nanos()))
        .unwrap_or_else(now_utc)
}

impl S3PromptStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// With a client built from the shared SDK configuration. Path-style addressing: presigned
    /// URLs then work the same against S3 and against the local emulator, and a bucket name
    /// with dots stays valid under TLS.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(true)
            .build();
        Self::new(Client::from_conf(config), bucket)
    }
}

#[async_trait]
impl PromptStore for S3PromptStore {
    async fn put(&self, key: &str, audio: Vec<u8>) -> Result<PromptObject, PromptStoreError> {
        let size = audio.len() as u64;
        let output = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(WAV_CONTENT_TYPE)
            .body(ByteStream::from(audio))
            .send()
            .await
            .map_err(|error| backend("store a prompt")(error.into()))?;
        Ok(PromptObject {
            key: key.to_owned(),
            size,
            updated_at: now_utc(),
            etag: etag(output.e_tag()),
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PromptStoreError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(SdkError::ServiceError(error)) if error.err().is_no_such_key() => return Ok(None),
            Err(error) => return Err(backend("read a prompt")(error.into())),
        };
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| backend("read a prompt")(error.into()))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn head(&self, key: &str) -> Result<Option<PromptObject>, PromptStoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(PromptObject {
                key: key.to_owned(),
                size: output
                    .content_length()
                    .and_then(|length| u64::try_from(length).ok())
                    .unwrap_or_default(),
                updated_at: timestamp(output.last_modified()),
                etag: etag(output.e_tag()),
            })),
            Err(SdkError::ServiceError(error))
                if matches!(error.err(), HeadObjectError::NotFound(_))
                    || error.raw().status().as_u16() == 404 =>
            {
                Ok(None)
            }
            Err(error) => Err(backend("read a prompt's metadata")(error.into())),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        limit: PageLimit,
        cursor: Option<PageCursor>,
    ) -> Result<Page<PromptObject>, PromptStoreError> {
        let start_after = cursor
            .map(|cursor| listing_start(&cursor, prefix))
            .transpose()?;
        let output = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(i32::from(limit.get()))
            .set_start_after(start_after)
            .send()
            .await
            .map_err(|error| backend("list prompts")(error.into()))?;
        let items: Vec<PromptObject> = output
            .contents()
            .iter()
            .filter_map(|object| {
                Some(PromptObject {
                    key: object.key()?.to_owned(),
                    size: object
                        .size()
                        .and_then(|size| u64::try_from(size).ok())
                        .unwrap_or_default(),
                    updated_at: timestamp(object.last_modified()),
                    etag: etag(object.e_tag()),
                })
            })
            .collect();
        let next_cursor = match (output.is_truncated(), items.last()) {
            (Some(true), Some(last)) => Some(listing_cursor(&last.key)),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn delete(&self, key: &str) -> Result<(), PromptStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| backend("delete a prompt")(error.into()))?;
        Ok(())
    }

    async fn presigned_get(
        &self,
        key: &str,
        expires: Duration,
    ) -> Result<String, PromptStoreError> {
        let config = PresigningConfig::expires_in(expires)
            .map_err(|error| backend("presign a prompt URL")(error.into()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|error| backend("presign a prompt URL")(error.into()))?;
        Ok(request.uri().to_owned())
    }
}
