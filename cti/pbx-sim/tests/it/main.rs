//! Integration tests: a real CSTA client over TCP against the simulator, the HTTP control API,
//! scenarios and the traffic generator. One binary for the whole suite.

// Test helpers outside #[test] functions: panicking on a broken fixture is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod calls;
mod faults;
mod helpers;
mod ivr;
mod routing;
mod scenarios;
mod session;
mod traffic;
