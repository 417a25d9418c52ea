//! `pbx-sim`: a PBX simulator speaking CSTA XML over TCP (ECMA-323/269/354) through the
//! `csta` codec, for the relay's tests and the local demo (issue 4).
//!
//! - [`pbx`]: the switch — devices, calls and ECMA-269 connection states, monitors,
//!   application sessions, route points with timeout fallback, ACD hunting and queues, the
//!   CSTA request handling and the event log.
//! - [`server`]: the CSTA TCP listener (one reader/writer pair per client).
//! - [`http`]: the axum control API (inspect, drive calls, scenarios, traffic, faults).
//! - [`scenario`]: scripted, timed scenarios (JSON or YAML).
//! - [`traffic`]: the seeded Poisson traffic generator.
//! - [`config`]: devices and settings (YAML/JSON, built-in demo default).
//! - [`sim`]: the shared handle gluing the PBX to tokio (timers, outbox flush) and [`start`].

pub mod config;
pub mod http;
pub mod pbx;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod traffic;

pub use config::SimConfig;
pub use sim::{start, Options, Running, Sim, StartError};
