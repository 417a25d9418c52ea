//! Linka domain crate: pure types and rules, the ports (traits) the functions depend on, and the
//! AWS adapters behind those ports.
//!
//! - Pure domain: [`auth`] (token validation), [`authz`] (role matrix), [`problem`] (RFC 9457),
//!   [`users`], [`realtime`], [`time`], [`config`], [`admin_config`], [`queues`], [`ivr`], [`identifiers`], [`routing`] and the
//!   routing settings administrators edit ([`routing_settings`]). No Lambda runtime types anywhere in this crate.
//! - Ports: [`ports`] (small traits split by capability, with mockall mocks behind the `mocks`
//!   feature) and their in-memory adapters in [`adapters::memory`].
//! - AWS: [`adapters`] (DynamoDB, API Gateway Management API, SQS) and [`aws::sdk_config`].

pub mod adapters;
pub mod admin_config;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod aws;
pub mod callbacks;
pub mod chat;
pub mod clients;
pub mod config;
pub mod contact_records;
pub mod contacts;
pub mod cti_state;
pub mod desk;
pub mod identifiers;
pub mod ivr;
pub mod ivr_live;
pub mod paging;
pub mod ports;
pub mod presence;
pub mod problem;
pub mod prompts;
pub mod queues;
pub mod realtime;
pub mod routing;
pub mod routing_live;
pub mod routing_settings;
pub mod stats;
pub mod telemetry;
pub mod time;
pub mod users;
pub mod voicemail;

#[cfg(any(test, feature = "mocks"))]
pub mod testing;

/// A boxed error, used as the `source` of adapter errors so that the ports stay free of SDK types.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
