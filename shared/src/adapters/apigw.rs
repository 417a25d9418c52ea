//! [`ConnectionNotifier`] over the API Gateway Management API (`POST @connections/{id}`).

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_apigatewaymanagement::{primitives::Blob, Client};

use crate::{
    ports::{ConnectionNotifier, NotifyError, PostOutcome},
    realtime::PushMessage,
};

/// Posts to WebSocket connections of one API stage.
#[derive(Debug, Clone)]
pub struct ApiGatewayNotifier {
    client: Client,
}

impl ApiGatewayNotifier {
    /// `endpoint` is the stage's management URL, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
    /// (`WS_MANAGEMENT_ENDPOINT`). It overrides `AWS_ENDPOINT_URL` for this client only: the
    /// management API lives with the WebSocket API, not with the other services.
    pub fn new(sdk_config: &SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk_config)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }

    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl ConnectionNotifier for ApiGatewayNotifier {
    async fn post(
        &self,
        connection_id: &str,
        message: &PushMessage,
    ) -> Result<PostOutcome, NotifyError> {
        let data = message
            .to_json()
            .map_err(|error| NotifyError(error.into()))?;
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PostOutcome::Delivered),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_gone_exception()) =>
            {
                Ok(PostOutcome::Gone)
            }
            Err(error) => Err(NotifyError(error.into())),
        }
    }
}
