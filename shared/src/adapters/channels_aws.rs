//! The providers of SMS, e-mail and their storage (issue 7, OMNI-1/2): SNS `Publish` to a phone
//! number, SESv2 `SendEmail` with raw MIME, and S3 for the mail SES received and the
//! attachments kept of it. The endpoint comes from the shared SDK configuration, so the local
//! emulator needs no branch here.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::{presigning::PresigningConfig, primitives::ByteStream};
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::Blob;

use crate::{
    ports::{MailObjects, MailSender, SendError, SmsSender, StoreError},
    BoxError,
};

fn backend(operation: &'static str, source: impl Into<BoxError>) -> StoreError {
    StoreError::Backend {
        operation,
        source: source.into(),
    }
}

/// [`SmsSender`] through SNS: transactional SMS with an optional sender id.
#[derive(Debug, Clone)]
pub struct SnsSmsSender {
    client: aws_sdk_sns::Client,
    sender_id: Option<String>,
}

impl SnsSmsSender {
    /// `sender_id`: the alphanumeric sender shown on the phone (up to 11 characters), if any.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, sender_id: Option<String>) -> Self {
        Self {
            client: aws_sdk_sns::Client::new(sdk_config),
            sender_id: sender_id.filter(|id| !id.is_empty()),
        }
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|error| SendError::Refused(error.into()))
}

#[async_trait]
impl SmsSender for SnsSmsSender {
    async fn send_sms(&self, to: &str, text: &str) -> Result<String, SendError> {
        let mut request = self
            .client
            .publish()
            .phone_number(to)
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?);
        if let Some(sender_id) = &self.sender_id {
            request = request.message_attributes("AWS.SNS.SMS.SenderID", attribute(sender_id)?);
        }
        let output = request.send().await.map_err(|error| {
            let refused = error.as_service_error().is_some_and(|e| {
                e.is_invalid_parameter_exception() || e.is_invalid_parameter_value_exception()
            });
            let error: BoxError = aws_sdk_sns::Error::from(error).into();
            if refused {
                SendError::Refused(error)
            } else {
                SendError::Transient(error)
            }
        })?;
        output
            .message_id
            .ok_or_else(|| SendError::Transient("SNS returned no MessageId".into()))
    }
}

/// [`MailSender`] through SESv2 from one verified address.
#[derive(Debug, Clone)]
pub struct SesMailSender {
    client: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailSender {
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        from: impl Into<String>,
        configuration_set: Option<String>,
    ) -> Self {
        Self {
            client: aws_sdk_sesv2::Client::new(sdk_config),
            from: from.into(),
            configuration_set: configuration_set.filter(|name| !name.is_empty()),
        }
    }
}

#[async_trait]
impl MailSender for SesMailSender {
    async fn send_mail(&self, to: &str, raw: &[u8]) -> Result<String, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|error| SendError::Refused(error.into()))?;
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|error| {
                let refused = error
                    .as_service_error()
                    .is_some_and(|e| e.is_message_rejected() || e.is_bad_request_exception());
                let error: BoxError = aws_sdk_sesv2::Error::from(error).into();
                if refused {
                    SendError::Refused(error)
                } else {
                    SendError::Transient(error)
                }
            })?;
        output
            .message_id
            .ok_or_else(|| SendError::Transient("SES returned no MessageId".into()))
    }
}

/// [`MailObjects`] on S3: SES's receipt bucket is read where the notification says; the
/// attachments go to one bucket.
#[derive(Debug, Clone)]
pub struct S3MailObjects {
    client: aws_sdk_s3::Client,
    attachments_bucket: String,
}

impl S3MailObjects {
    /// Path-style addressing, as for the prompts and voicemail: presigned URLs work the same
    /// against S3 and the local emulator.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        attachments_bucket: impl Into<String>,
    ) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(true)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            attachments_bucket: attachments_bucket.into(),
        }
    }
}

#[async_trait]
impl MailObjects for S3MailObjects {
    async fn raw_mail(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| backend("read a received e-mail", aws_sdk_s3::Error::from(error)))?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| backend("read a received e-mail", error))?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn put_attachment(
        &self,
        key: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.attachments_bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|error| backend("store an attachment", aws_sdk_s3::Error::from(error)))?;
        Ok(())
    }

    async fn attachment_url(
        &self,
        key: &str,
        file_name: &str,
        expires: Duration,
    ) -> Result<String, StoreError> {
        let config = PresigningConfig::expires_in(expires)
            .map_err(|error| backend("presign an attachment", error))?;
        let ascii: String = file_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded =
            percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
        let request = self
            .client
            .get_object()
            .bucket(&self.attachments_bucket)
            .key(key)
            .response_content_disposition(format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
            ))
            .presigned(config)
            .await
            .map_err(|error| backend("presign an attachment", error))?;
        Ok(request.uri().to_owned())
    }
}
