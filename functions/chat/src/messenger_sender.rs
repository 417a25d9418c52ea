//! [`SocialSender`] for Facebook Messenger's Send API (issue 7, OMNI-3):
//! `POST {api}/{page}/messages?access_token=…` with `messaging_type: RESPONSE`. The local stack
//! points `MESSENGER_API_URL` at the dev gateway's recorder instead of `graph.facebook.com`.

use async_trait::async_trait;
use linka_shared::ports::{SendError, SocialSender};
use serde::Deserialize;
use serde_json::json;

/// The Send API client.
pub struct MessengerSender {
    client: reqwest::Client,
    api_url: String,
    page_token: String,
}

impl MessengerSender {
    /// `api_url`: e.g. `https://graph.facebook.com/v21.0`; `page_token`: the page's access token.
    pub fn new(api_url: &str, page_token: String) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
            api_url: api_url.trim_end_matches('/').to_owned(),
            page_token,
        })
    }
}

#[derive(Deserialize)]
struct Sent {
    message_id: String,
}

#[async_trait]
impl SocialSender for MessengerSender {
    async fn send_social(
        &self,
        page_id: &str,
        recipient_id: &str,
        text: &str,
    ) -> Result<String, SendError> {
        let url = format!(
            "{}/{}/messages",
            self.api_url,
            percent_encoding::utf8_percent_encode(page_id, percent_encoding::NON_ALPHANUMERIC)
        );
        let response = self
            .client
            .post(url)
            .query(&[("access_token", self.page_token.as_str())])
            .json(&json!({
                "recipient": {"id": recipient_id},
                "messaging_type": "RESPONSE",
                "message": {"text": text},
            }))
            .send()
            .await
            .map_err(|error| SendError::Transient(error.into()))?;
        let status = response.status();
        if status.is_success() {
            let sent: Sent = response
                .json()
                .await
                .map_err(|error| SendError::Transient(error.into()))?;
            return Ok(sent.message_id);
        }
        let detail = response.text().await.unwrap_or_default();
        let error = format!("Messenger answered {status}: {detail}").into();
        if status.is_client_error() && status.as_u16() != 429 {
            Err(SendError::Refused(error))
        } else {
            Err(SendError::Transient(error))
        }
    }
}
