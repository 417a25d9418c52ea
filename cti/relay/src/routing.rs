//! Routing: answers CSTA RouteRequests with the cloud's decision when it arrives within the
//! budget, otherwise with the route point's fallback.
//!
//! For each RouteRequest the router publishes `Route` (the request), POSTs a
//! [`cti_events::RouteQuery`] to the routing URL with a deadline of `routing.budget_ms` (capped
//! at half the request's `replyTimeout`), and sends a RouteSelect: to the cloud's destination on
//! an HTTP 200 [`RouteAnswer`] in time; to the fallback on timeout, error, non-200 or an empty
//! answer; a RouteEnd (PBX default routing) when no fallback is configured. Either way it
//! publishes `RouteDecided{source, elapsedMs, reason}`. A ReRouteRequest (the selected route
//! failed) starts the same again with `attempt + 1`; a RouteEnd from the PBX cancels a pending
//! decision.
//!
//! # Authentication
//! Requests go through a [`RequestSigner`] (`routing.auth`). Locally: [`NoAuth`] (`none`) or
//! [`BearerToken`] (`bearer`). In AWS the routing route uses IAM authorisation: [`SigV4Signer`]
//! (`sigv4`; service `routing.sigv4_service`, default `execute-api`; credentials and region from
//! the same default chain as SQS — IAM Roles Anywhere on-prem).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use csta::model::{ReRouteRequest, RouteEnd, RouteRequest, RouteSelect};
use csta::types::DeviceId;
use cti_events::{
    CtiEvent, RouteAnswer, RouteDecided, RouteQuery, RouteRequested, RouteSource, SCHEMA_VERSION,
};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error_chain;
use crate::health::Status;
use crate::link::{LinkHandle, MonitorMap};
use crate::mapping::{plain_device, route_requested};
use crate::pipeline::EventBus;

/// Messages from the PBX link to the router.
#[derive(Debug)]
pub enum RouteMessage {
    /// A RouteRequest, with when it arrived and the connection it came on.
    Request {
        /// The request.
        request: Box<RouteRequest>,
        /// Arrival.
        received: Instant,
        /// Its connection.
        link: LinkHandle,
    },
    /// A ReRouteRequest.
    ReRoute {
        /// The request.
        request: Box<ReRouteRequest>,
        /// Arrival.
        received: Instant,
        /// Its connection.
        link: LinkHandle,
    },
    /// The PBX ended a routing dialogue.
    End(RouteEnd),
    /// The link was lost: every dialogue is void.
    LinkLost,
}

/// Request signing errors.
#[derive(Debug, thiserror::Error)]
#[error("failed to sign the routing request: {0}")]
pub struct SignError(pub String);

/// Adds authentication to a routing request.
#[async_trait]
pub trait RequestSigner: Send + Sync {
    /// Signs (adds headers to) the request.
    async fn sign(&self, request: &mut reqwest::Request) -> Result<(), SignError>;
}

/// No authentication (local stack).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

#[async_trait]
impl RequestSigner for NoAuth {
    async fn sign(&self, _request: &mut reqwest::Request) -> Result<(), SignError> {
        Ok(())
    }
}

/// `Authorization: Bearer <token>`.
#[derive(Clone)]
pub struct BearerToken(pub String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

#[async_trait]
impl RequestSigner for BearerToken {
    async fn sign(&self, request: &mut reqwest::Request) -> Result<(), SignError> {
        let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| SignError("the bearer token is not a valid header value".into()))?;
        request
            .headers_mut()
            .insert(reqwest::header::AUTHORIZATION, value);
        Ok(())
    }
}

/// AWS Signature Version 4 (IAM authorisation on the API Gateway route: service
/// `execute-api`), with credentials from the standard chain (IAM Roles Anywhere on-prem through
/// `credential_process`). Credentials are asked for on every request; the SDK provider caches
/// and refreshes them.
pub struct SigV4Signer {
    credentials: aws_credential_types::provider::SharedCredentialsProvider,
    region: String,
    service: String,
}

impl std::fmt::Debug for SigV4Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Signer")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl SigV4Signer {
    /// A signer for `service` in `region`.
    pub fn new(
        credentials: aws_credential_types::provider::SharedCredentialsProvider,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        Self {
            credentials,
            region: region.into(),
            service: service.into(),
        }
    }
}

#[async_trait]
impl RequestSigner for SigV4Signer {
    async fn sign(&self, request: &mut reqwest::Request) -> Result<(), SignError> {
        use aws_credential_types::provider::ProvideCredentials;
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| SignError(format!("no AWS credentials: {}", error_chain(&e))))?;
        let identity: aws_smithy_runtime_api::client::identity::Identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| SignError(format!("signing parameters: {e}")))?
            .into();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = request
            .body()
            .and_then(|b| b.as_bytes())
            .unwrap_or_default();
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| SignError(format!("request not signable: {e}")))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| SignError(format!("signing failed: {e}")))?
            .into_parts();
        let add: Vec<(String, String)> = instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        for (name, value) in add {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| SignError(format!("bad signature header name {name}")))?;
            let value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| SignError("bad signature header value".into()))?;
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

/// Routing query errors.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// Transport failure.
    #[error("routing request failed")]
    Http(#[from] reqwest::Error),
    /// Non-200 answer.
    #[error("routing function answered HTTP {0}")]
    Status(u16),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Asks the cloud where a call goes.
#[async_trait]
pub trait RouteOracle: Send + Sync {
    /// One routing question.
    async fn ask(&self, query: &RouteQuery) -> Result<RouteAnswer, RouteError>;
}

/// The HTTPS routing function.
pub struct HttpRouteOracle {
    client: reqwest::Client,
    url: String,
    signer: Arc<dyn RequestSigner>,
}

impl HttpRouteOracle {
    /// An oracle POSTing to `url`.
    pub fn new(
        client: reqwest::Client,
        url: impl Into<String>,
        signer: Arc<dyn RequestSigner>,
    ) -> Self {
        Self {
            client,
            url: url.into(),
            signer,
        }
    }
}

#[async_trait]
impl RouteOracle for HttpRouteOracle {
    async fn ask(&self, query: &RouteQuery) -> Result<RouteAnswer, RouteError> {
        let mut request = self.client.post(&self.url).json(query).build()?;
        self.signer.sign(&mut request).await?;
        let response = self.client.execute(request).await?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(RouteError::Status(status.as_u16()));
        }
        Ok(response.json::<RouteAnswer>().await?)
    }
}

struct Dialogue {
    request: RouteRequested,
    register_id: Option<String>,
    reply_timeout: Option<u32>,
    task: AbortHandle,
    started: Instant,
}

/// What a decision task needs.
#[derive(Clone)]
struct Decider {
    config: Arc<Config>,
    oracle: Option<Arc<dyn RouteOracle>>,
    bus: EventBus,
    status: Arc<Status>,
}

/// The router task.
pub struct Router {
    decider: Decider,
    registrations: MonitorMap,
}

impl Router {
    /// A router.
    pub fn new(
        config: Arc<Config>,
        oracle: Option<Arc<dyn RouteOracle>>,
        bus: EventBus,
        status: Arc<Status>,
        registrations: MonitorMap,
    ) -> Self {
        Self {
            decider: Decider {
                config,
                oracle,
                bus,
                status,
            },
            registrations,
        }
    }

    /// Runs until `shutdown` or until the link side is gone.
    pub async fn run(self, mut rx: mpsc::Receiver<RouteMessage>, shutdown: CancellationToken) {
        let mut dialogues: HashMap<String, Dialogue> = HashMap::new();
        loop {
            let message = tokio::select! {
                m = rx.recv() => match m { Some(m) => m, None => break },
                () = shutdown.cancelled() => break,
            };
            match message {
                RouteMessage::Request {
                    request,
                    received,
                    link,
                } => {
                    let Some(mut routed) = route_requested(&request, 0) else {
                        tracing::warn!("RouteRequest without crossRefIdentifier ignored");
                        continue;
                    };
                    if routed.routing_device.is_empty() {
                        if let Some(device) =
                            request.route_register_req_id.as_deref().and_then(|id| {
                                crate::mapping::MonitorLookup::device_of(&self.registrations, id)
                            })
                        {
                            routed.routing_device = device;
                        }
                    }
                    if let Some(old) = dialogues.remove(&routed.cross_ref_id) {
                        old.task.abort();
                    }
                    let register_id = request.route_register_req_id.clone();
                    let reply_timeout = request.reply_timeout;
                    let task = self
                        .start(
                            routed.clone(),
                            register_id.clone(),
                            reply_timeout,
                            received,
                            link,
                        )
                        .await;
                    sweep(&mut dialogues);
                    dialogues.insert(
                        routed.cross_ref_id.clone(),
                        Dialogue {
                            request: routed,
                            register_id,
                            reply_timeout,
                            task,
                            started: received,
                        },
                    );
                }
                RouteMessage::ReRoute {
                    request,
                    received,
                    link,
                } => {
                    let Some(cross_ref) = request.cross_ref_identifier.clone() else {
                        continue;
                    };
                    let Some(dialogue) = dialogues.get_mut(&cross_ref) else {
                        tracing::warn!(cross_ref = %cross_ref, "ReRouteRequest for an unknown routing dialogue: ending it");
                        let end = RouteEnd {
                            cross_ref_identifier: Some(cross_ref),
                            route_register_req_id: request.route_register_req_id,
                            ..Default::default()
                        };
                        let _ = link.send(end.into()).await;
                        continue;
                    };
                    dialogue.task.abort();
                    dialogue.request.attempt += 1;
                    let routed = dialogue.request.clone();
                    dialogue.task = self
                        .start(
                            routed,
                            dialogue.register_id.clone(),
                            dialogue.reply_timeout,
                            received,
                            link,
                        )
                        .await;
                    dialogue.started = received;
                }
                RouteMessage::End(end) => {
                    if let Some(cross_ref) = end.cross_ref_identifier {
                        if let Some(d) = dialogues.remove(&cross_ref) {
                            d.task.abort();
                        }
                    }
                }
                RouteMessage::LinkLost => {
                    for (_, d) in dialogues.drain() {
                        d.task.abort();
                    }
                }
            }
        }
        for (_, d) in dialogues.drain() {
            d.task.abort();
        }
    }

    async fn start(
        &self,
        routed: RouteRequested,
        register_id: Option<String>,
        reply_timeout: Option<u32>,
        received: Instant,
        link: LinkHandle,
    ) -> AbortHandle {
        if self
            .decider
            .bus
            .publish(CtiEvent::Route(routed.clone()))
            .await
            .is_err()
        {
            tracing::warn!("event bus closed; route request not spooled");
        }
        let decider = self.decider.clone();
        tokio::spawn(async move {
            decider
                .decide(routed, register_id, reply_timeout, received, link)
                .await;
        })
        .abort_handle()
    }
}

/// Drops dialogues the PBX never ended (bounded memory).
fn sweep(dialogues: &mut HashMap<String, Dialogue>) {
    if dialogues.len() < 10_000 {
        return;
    }
    dialogues.retain(|_, d| d.started.elapsed() < Duration::from_secs(600));
}

impl Decider {
    fn budget(&self, reply_timeout: Option<u32>) -> Duration {
        let budget = self.config.routing_budget();
        match reply_timeout {
            Some(secs) if secs > 0 => budget.min(Duration::from_millis(u64::from(secs) * 500)),
            _ => budget,
        }
    }

    async fn decide(
        &self,
        request: RouteRequested,
        register_id: Option<String>,
        reply_timeout: Option<u32>,
        received: Instant,
        link: LinkHandle,
    ) {
        let remaining = self
            .budget(reply_timeout)
            .saturating_sub(received.elapsed());
        let deadline = Utc::now()
            + chrono::Duration::from_std(remaining).unwrap_or_else(|_| chrono::Duration::zero());
        let answer = match &self.oracle {
            None => Err("no routing url configured".to_owned()),
            Some(oracle) => {
                let query = RouteQuery {
                    version: SCHEMA_VERSION,
                    relay_id: self.config.relay_id.clone(),
                    request: request.clone(),
                    deadline,
                };
                match tokio::time::timeout(remaining, oracle.ask(&query)).await {
                    Ok(Ok(answer)) => match plain_device(&answer.destination) {
                        Some(destination) => Ok(destination),
                        None => Err("empty destination".to_owned()),
                    },
                    Ok(Err(e)) => Err(error_chain(&e)),
                    Err(_) => Err(format!("timeout after {} ms", remaining.as_millis())),
                }
            }
        };
        let (destination, source, reason) = match answer {
            Ok(d) => (Some(d), RouteSource::Cloud, None),
            Err(reason) => (
                self.config
                    .fallback_for(&request.routing_device)
                    .map(str::to_owned),
                RouteSource::Fallback,
                Some(reason),
            ),
        };
        let (destination, reason) = match destination {
            Some(destination) => {
                let select = RouteSelect {
                    cross_ref_identifier: Some(request.cross_ref_id.clone()),
                    route_register_req_id: register_id,
                    route_selected: Some(DeviceId::plain(destination.clone())),
                    ..Default::default()
                };
                if let Err(e) = link.send(select.into()).await {
                    tracing::warn!(cross_ref = %request.cross_ref_id, error.message = %e, "RouteSelect not sent");
                }
                (destination, reason)
            }
            None => {
                let end = RouteEnd {
                    cross_ref_identifier: Some(request.cross_ref_id.clone()),
                    route_register_req_id: register_id,
                    ..Default::default()
                };
                if let Err(e) = link.send(end.into()).await {
                    tracing::warn!(cross_ref = %request.cross_ref_id, error.message = %e, "RouteEnd not sent");
                }
                let reason = format!(
                    "{}; no fallback configured: handed back to the PBX",
                    reason.unwrap_or_default()
                );
                (String::new(), Some(reason))
            }
        };
        let elapsed_ms = u64::try_from(received.elapsed().as_millis()).unwrap_or(u64::MAX);
        let counter = match source {
            RouteSource::Cloud => &self.status.metrics.route_cloud,
            RouteSource::Fallback => &self.status.metrics.route_fallback,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::info!(cross_ref = %request.cross_ref_id, call_id = %request.call_id, destination = %destination, source = ?source, elapsed_ms, reason = reason.as_deref().unwrap_or(""), "route decided");
        let decided = CtiEvent::RouteDecided(RouteDecided {
            cross_ref_id: request.cross_ref_id,
            call_id: request.call_id,
            routing_device: request.routing_device,
            destination,
            source,
            elapsed_ms,
            reason,
        });
        if self.bus.publish(decided).await.is_err() {
            tracing::warn!("event bus closed; route decision not spooled");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn when_bearer_signer_signs_should_set_authorization_header() {
        let client = reqwest::Client::new();
        let mut request = client.post("http://localhost/route").build().unwrap();
        BearerToken("t0k".into()).sign(&mut request).await.unwrap();
        assert_eq!(
            request.headers()[reqwest::header::AUTHORIZATION],
            "Bearer t0k"
        );
        assert_eq!(
            format!("{:?}", BearerToken("secret".into())),
            "BearerToken(***)"
        );
    }

    #[tokio::test]
    async fn when_sigv4_signer_signs_should_add_aws4_authorization_and_date() {
        // GIVEN static credentials and a JSON POST
        let credentials =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let signer = SigV4Signer::new(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            "eu-central-1",
            "execute-api",
        );
        let mut request = reqwest::Client::new()
            .post("https://api.example.cz/cti/route")
            .body("{\"a\":1}")
            .build()
            .unwrap();
        // WHEN signed
        signer.sign(&mut request).await.unwrap();
        // THEN it carries a SigV4 authorization for that scope
        let auth = request.headers()[reqwest::header::AUTHORIZATION]
            .to_str()
            .unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(
            auth.contains("/eu-central-1/execute-api/aws4_request"),
            "{auth}"
        );
        assert!(request.headers().contains_key("x-amz-date"));
    }

    #[test]
    fn when_reply_timeout_is_short_should_cap_budget_at_half() {
        let config: Config = Config::from_toml(include_str!("../dist/relay.toml")).unwrap();
        let (bus, _rx) = EventBus::new(1);
        let d = Decider {
            config: Arc::new(config),
            oracle: None,
            bus,
            status: Arc::new(Status::default()),
        };
        assert_eq!(d.budget(None), Duration::from_millis(1500));
        assert_eq!(d.budget(Some(2)), Duration::from_millis(1000));
        assert_eq!(d.budget(Some(10)), Duration::from_millis(1500));
    }
}
