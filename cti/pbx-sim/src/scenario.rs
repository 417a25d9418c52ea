//! Scripted scenarios: a list of timed steps (JSON or YAML), run against the simulator.
//!
//! ```yaml
//! name: caller hangs up while ringing
//! steps:
//!   - action: inbound_call
//!     label: c1
//!     from: "0612345678"
//!     to: "5000"
//!   - action: wait_for
//!     device: "2001"
//!     state: alerting
//!   - after_ms: 500
//!     action: hangup
//!     call: c1          # device defaults to the caller
//! ```
//! Timing: `at_ms` is relative to the scenario start, `after_ms` to the previous step; with
//! neither, a step runs right after the previous one. Device ids must be quoted strings.

use std::collections::BTreeMap;
use std::time::Duration;

use csta::types::{AgentState, LocalConnectionState as Lcs};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::pbx::{ErrorFault, OpError, Timer};
use crate::Sim;

/// A scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Name, for logs.
    #[serde(default)]
    pub name: Option<String>,
    /// Steps, run in order.
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Run at this offset from the scenario start, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// Run this long after the previous step, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
}

/// Step actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Inbound call from an outside number.
    InboundCall {
        /// Caller number.
        from: String,
        /// Called device (pilot, IVR, extension).
        to: String,
        /// Label to refer to the call later.
        #[serde(default)]
        label: Option<String>,
    },
    /// An extension places a call.
    MakeCall {
        /// Calling device.
        from: String,
        /// Called number.
        to: String,
        /// Label.
        #[serde(default)]
        label: Option<String>,
    },
    /// The device answers its alerting call (optionally after a delay, without blocking).
    Answer {
        /// Device.
        device: String,
        /// Delay, ms.
        #[serde(default)]
        delay_ms: Option<u64>,
    },
    /// DTMF on a call (device defaults to the caller).
    Dtmf {
        /// Call label or id.
        call: String,
        /// Digits.
        digits: String,
        /// Keying device.
        #[serde(default)]
        device: Option<String>,
    },
    /// A party hangs up (device defaults to the caller).
    Hangup {
        /// Call label or id.
        call: String,
        /// Device, or `caller`.
        #[serde(default)]
        device: Option<String>,
    },
    /// Hold.
    Hold {
        /// Call label or id.
        call: String,
        /// Device.
        device: String,
    },
    /// Retrieve.
    Retrieve {
        /// Call label or id.
        call: String,
        /// Device.
        device: String,
    },
    /// Consultation call.
    Consult {
        /// Call label or id.
        call: String,
        /// Consulting device.
        device: String,
        /// Consulted number.
        to: String,
        /// Label of the consultation call.
        #[serde(default)]
        label: Option<String>,
    },
    /// Transfer the device's held call to its active call's party.
    Transfer {
        /// Transferring device.
        device: String,
    },
    /// Conference the device's held and active calls.
    Conference {
        /// Conferencing device.
        device: String,
    },
    /// Blind transfer.
    SingleStepTransfer {
        /// Call label or id.
        call: String,
        /// Transferring device.
        device: String,
        /// Destination.
        to: String,
    },
    /// Deflect the device's alerting call.
    Deflect {
        /// Alerting device.
        device: String,
        /// Destination.
        to: String,
    },
    /// A supervisor silently joins an agent's active call.
    SilentMonitor {
        /// Supervisor device.
        supervisor: String,
        /// Agent device.
        agent: String,
    },
    /// Agent state change (`loggedOn`, `ready`, `notReady`, `workingAfterCall`, `loggedOff`).
    AgentState {
        /// Agent device.
        device: String,
        /// State.
        state: String,
    },
    /// Wait until the device has a connection in `state` (`null` = no connection).
    WaitFor {
        /// Device.
        device: String,
        /// ECMA-269 connection state.
        state: String,
        /// Give up after, ms (default 10000).
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// Fault: drop every CSTA link.
    DropLink,
    /// Fault: expire every application session.
    ExpireSession,
    /// Fault: answer the next request(s) of a kind with a CSTAErrorCode.
    ErrorNext(ErrorFault),
    /// Fault: set the monitor licence limit.
    MonitorLimit {
        /// Limit (`null` = unlimited).
        limit: Option<usize>,
    },
}

/// What a scenario run did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Scenario name.
    pub name: Option<String>,
    /// Steps completed.
    pub steps_run: usize,
    /// Call labels → call ids.
    pub calls: BTreeMap<String, String>,
}

/// Scenario errors.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The JSON text is not a valid scenario.
    #[error("invalid JSON scenario: {0}")]
    Json(#[from] serde_json::Error),
    /// The YAML text is not a valid scenario.
    #[error("invalid YAML scenario: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// A step was refused by the PBX.
    #[error("step {step} ({action}) failed: {source}")]
    Step {
        /// Step index, from 0.
        step: usize,
        /// Action name.
        action: String,
        /// Cause.
        source: OpError,
    },
    /// A wait_for step timed out.
    #[error("step {step}: {device} did not reach {state} in time")]
    Timeout {
        /// Step index.
        step: usize,
        /// Device.
        device: String,
        /// State.
        state: String,
    },
}

impl Scenario {
    /// Parses JSON (text starting with `{`) or YAML.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        if text.trim_start().starts_with('{') {
            Ok(serde_json::from_str(text)?)
        } else {
            Ok(serde_norway::from_str(text)?)
        }
    }
}

fn action_name(a: &Action) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.get("action").and_then(|x| x.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// Runs a scenario to its end.
pub async fn run(sim: &Sim, scenario: &Scenario) -> Result<Report, ScenarioError> {
    let start = Instant::now();
    let mut prev = Duration::ZERO;
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    tracing::info!(name = ?scenario.name, steps = scenario.steps.len(), "scenario started");
    for (i, step) in scenario.steps.iter().enumerate() {
        let offset = match (step.at_ms, step.after_ms) {
            (Some(at), _) => Duration::from_millis(at),
            (None, Some(after)) => prev + Duration::from_millis(after),
            (None, None) => prev,
        };
        tokio::time::sleep_until(start + offset).await;
        let fail = |source: OpError| ScenarioError::Step {
            step: i,
            action: action_name(&step.action),
            source,
        };
        let call = |r: &str| labels.get(r).cloned().unwrap_or_else(|| r.to_owned());
        match &step.action {
            Action::InboundCall { from, to, label } => {
                let id = sim.with(|p| p.inbound_call(from, to, None)).map_err(fail)?;
                labels.insert(label.clone().unwrap_or_else(|| format!("call{i}")), id);
            }
            Action::MakeCall { from, to, label } => {
                let id = sim.with(|p| p.make_call(from, to)).map_err(fail)?;
                labels.insert(label.clone().unwrap_or_else(|| format!("call{i}")), id);
            }
            Action::Answer { device, delay_ms } => match delay_ms {
                Some(ms) => sim.with(|p| {
                    p.schedule(
                        *ms,
                        Timer::Answer {
                            device: device.clone(),
                        },
                    )
                }),
                None => {
                    sim.with(|p| p.answer_device(device)).map_err(fail)?;
                }
            },
            Action::Dtmf {
                call: c,
                digits,
                device,
            } => {
                let id = call(c);
                sim.with(|p| {
                    let d = party(p, &id, device.as_deref())?;
                    p.generate_digits(&id, &d, digits)
                })
                .map_err(fail)?;
            }
            Action::Hangup { call: c, device } => {
                let id = call(c);
                sim.with(|p| {
                    let d = party(p, &id, device.as_deref())?;
                    p.clear_connection(&id, &d)
                })
                .map_err(fail)?;
            }
            Action::Hold { call: c, device } => {
                sim.with(|p| p.hold(&call(c), device)).map_err(fail)?;
            }
            Action::Retrieve { call: c, device } => {
                sim.with(|p| p.retrieve(&call(c), device)).map_err(fail)?;
            }
            Action::Consult {
                call: c,
                device,
                to,
                label,
            } => {
                let id = sim
                    .with(|p| p.consult(&call(c), device, to))
                    .map_err(fail)?;
                labels.insert(label.clone().unwrap_or_else(|| format!("call{i}")), id);
            }
            Action::Transfer { device } => {
                sim.with(|p| {
                    let (h, a) = p.held_and_active(device)?;
                    p.transfer(device, &h, &a)
                })
                .map_err(fail)?;
            }
            Action::Conference { device } => {
                sim.with(|p| {
                    let (h, a) = p.held_and_active(device)?;
                    p.conference(device, &h, &a)
                })
                .map_err(fail)?;
            }
            Action::SingleStepTransfer {
                call: c,
                device,
                to,
            } => {
                sim.with(|p| p.single_step_transfer(&call(c), device, to))
                    .map_err(fail)?;
            }
            Action::Deflect { device, to } => {
                sim.with(|p| {
                    let id = p.alerting_call(device).ok_or_else(|| {
                        OpError::InvalidState(format!("no call alerting at {device}"))
                    })?;
                    p.deflect(&id, device, to)
                })
                .map_err(fail)?;
            }
            Action::SilentMonitor { supervisor, agent } => {
                sim.with(|p| p.silent_monitor(supervisor, agent))
                    .map_err(fail)?;
            }
            Action::AgentState { device, state } => {
                let st = AgentState::from_text(state);
                sim.with(|p| p.set_agent_state(device, &st, None))
                    .map_err(fail)?;
            }
            Action::WaitFor {
                device,
                state,
                timeout_ms,
            } => {
                let want = Lcs::from_text(state);
                let wait = sim.wait_for(|p| p.has_connection_state(device, &want));
                let limit = Duration::from_millis(timeout_ms.unwrap_or(10_000));
                if tokio::time::timeout(limit, wait).await.is_err() {
                    return Err(ScenarioError::Timeout {
                        step: i,
                        device: device.clone(),
                        state: state.clone(),
                    });
                }
            }
            Action::DropLink => {
                sim.with(|p| p.drop_links(None));
            }
            Action::ExpireSession => {
                sim.with(|p| p.expire_sessions(None));
            }
            Action::ErrorNext(f) => sim.with(|p| p.inject_error(f.clone())),
            Action::MonitorLimit { limit } => sim.with(|p| p.set_monitor_limit(*limit)),
        }
        prev = start.elapsed().max(offset);
    }
    Ok(Report {
        name: scenario.name.clone(),
        steps_run: scenario.steps.len(),
        calls: labels,
    })
}

/// Resolves a party of a call: `None` or `caller` = the calling device.
pub fn party(p: &crate::pbx::Pbx, call: &str, device: Option<&str>) -> Result<String, OpError> {
    match device {
        Some(d) if d != "caller" => Ok(d.to_owned()),
        _ => p
            .call(call)
            .map(|c| c.calling.clone())
            .ok_or_else(|| OpError::UnknownCall(call.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_yaml_scenario_is_parsed_should_read_timing_and_actions() {
        let s = Scenario::parse(
            "name: x\nsteps:\n  - action: inbound_call\n    from: '06'\n    to: '5000'\n    label: c1\n  - after_ms: 500\n    action: hangup\n    call: c1\n  - action: drop_link\n",
        )
        .unwrap();
        assert_eq!(s.steps.len(), 3);
        assert_eq!(s.steps[1].after_ms, Some(500));
        assert_eq!(
            s.steps[1].action,
            Action::Hangup {
                call: "c1".into(),
                device: None
            }
        );
        assert_eq!(s.steps[2].action, Action::DropLink);
    }

    #[test]
    fn when_json_scenario_has_unknown_action_should_fail_to_parse() {
        let r = Scenario::parse(r#"{"steps": [{"action": "explode"}]}"#);
        assert!(matches!(r, Err(ScenarioError::Json(_))));
    }

    #[test]
    fn when_sample_scenarios_are_parsed_should_all_be_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            Scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
        assert!(n >= 3);
    }
}
