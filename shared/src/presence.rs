//! Agent presence as the desks show it (issue 6): the transfer panel's presence of a colleague
//! ([`PanelPresence`]), who is behind a PBX device ([`DeviceDirectory`]), and the presence
//! heartbeat — an agent logged on at the PBX whose browser has been gone for the timeout is
//! logged off ([`idle_logoffs`]), so that routing stops offering calls to an empty chair.
//!
//! Pure domain code: no I/O, no AWS types.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use cti_events::{CommandAction, RequestedAgentState};
use serde::{Deserialize, Serialize};

use crate::{
    cti_state::{AgentPresence, AgentState, DeviceCall, LocalState},
    realtime::{Connection, Departure},
    users::User,
};

/// How long an agent may be without a live desk before being logged off, by default
/// (`PRESENCE_TIMEOUT_SECONDS`).
pub const DEFAULT_PRESENCE_TIMEOUT_SECONDS: i64 = 120;

/// A colleague's presence in the transfer panel (DESK-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PanelPresence {
    Free,
    Busy,
    Ringing,
    Break,
    LoggedOut,
    WrapUp,
}

/// What the calls at a device are doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceActivity {
    /// No call at the device.
    Idle,
    /// A call alerts at the device, none is connected.
    Ringing,
    /// A call is connected, held or being dialled at the device.
    OnCall,
}

/// The activity at a device from the calls its agent item keeps ([`AgentPresence::calls`]). A
/// connected call wins over a ringing one (call waiting).
pub fn device_activity<'a>(calls: impl IntoIterator<Item = &'a DeviceCall>) -> DeviceActivity {
    calls
        .into_iter()
        .map(|call| match call.state {
            LocalState::Connected | LocalState::Hold | LocalState::Initiated => {
                DeviceActivity::OnCall
            }
            LocalState::Alerting => DeviceActivity::Ringing,
            LocalState::Queued | LocalState::Fail => DeviceActivity::Idle,
        })
        .max()
        .unwrap_or(DeviceActivity::Idle)
}

/// The panel presence of an agent device: its agent state and the calls at it.
pub fn presence_of(agent: &AgentPresence) -> PanelPresence {
    panel_presence(agent.state, device_activity(agent.calls.values()))
}

/// The panel presence of an agent in `state` with `activity` at the device. A call at the
/// device shows whatever the agent state says (a private call of a logged-off agent is still
/// busy); without one, the agent state decides. `loggedOn` (availability not reported yet)
/// shows as free: the extension can take a transfer.
pub fn panel_presence(state: AgentState, activity: DeviceActivity) -> PanelPresence {
    match activity {
        DeviceActivity::OnCall => PanelPresence::Busy,
        DeviceActivity::Ringing => PanelPresence::Ringing,
        DeviceActivity::Idle => match state {
            AgentState::LoggedOff => PanelPresence::LoggedOut,
            AgentState::LoggedOn | AgentState::Ready => PanelPresence::Free,
            AgentState::NotReady => PanelPresence::Break,
            AgentState::WorkingAfterCall => PanelPresence::WrapUp,
            AgentState::Busy => PanelPresence::Busy,
        },
    }
}

/// Who is behind a PBX device: the active users with an agent number, by that number and by
/// their mobile extension (DESK-2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceDirectory {
    by_number: BTreeMap<String, String>,
}

impl DeviceDirectory {
    /// From the user accounts (inactive users and users without an agent number are left out).
    pub fn from_users<'a>(users: impl IntoIterator<Item = &'a User>) -> Self {
        Self {
            by_number: users
                .into_iter()
                .filter(|user| user.active)
                .flat_map(|user| {
                    let mobile = user.mobile.as_ref().map(|mobile| mobile.device.clone());
                    user.agent_number
                        .clone()
                        .into_iter()
                        .chain(mobile)
                        .map(|number| (number, user.username.clone()))
                })
                .collect(),
        }
    }

    /// Agent number → username.
    pub fn by_number(&self) -> &BTreeMap<String, String> {
        &self.by_number
    }

    /// The username whose agent number is `device`.
    pub fn username_of_device(&self, device: &str) -> Option<&str> {
        self.by_number.get(device).map(String::as_str)
    }

    /// The username of an agent device: by its agent id, else by the device (as routing does).
    pub fn username_of(&self, presence: &AgentPresence) -> Option<&str> {
        presence
            .agent_id
            .as_deref()
            .and_then(|id| self.username_of_device(id))
            .or_else(|| self.username_of_device(&presence.device))
    }

    pub fn is_empty(&self) -> bool {
        self.by_number.is_empty()
    }
}

/// When each user's browser was last known alive: the newest heartbeat (or connect) of their
/// connections, or their last `$disconnect` if that is newer.
pub fn last_seen_by_user<'a>(
    connections: impl IntoIterator<Item = &'a Connection>,
    departures: impl IntoIterator<Item = &'a Departure>,
) -> BTreeMap<String, DateTime<Utc>> {
    let mut seen: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut note = |username: &str, at: DateTime<Utc>| {
        seen.entry(username.to_owned())
            .and_modify(|last| *last = (*last).max(at))
            .or_insert(at);
    };
    for connection in connections {
        note(&connection.username, connection.last_seen());
    }
    for departure in departures {
        note(&departure.username, departure.at);
    }
    seen
}

/// An agent to log off: logged on at the PBX, nobody at the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleLogoff {
    pub username: String,
    pub device: String,
    /// The PBX agent id (the device when the PBX did not report one).
    pub agent_id: String,
    /// When the desk was last seen (`None`: never, as far as the records go).
    pub last_seen: Option<DateTime<Utc>>,
}

impl IdleLogoff {
    /// The relay command that logs the agent off.
    pub fn action(&self) -> CommandAction {
        CommandAction::AgentState {
            device: self.device.clone(),
            agent_id: self.agent_id.clone(),
            state: RequestedAgentState::LoggedOff,
            reason_code: None,
        }
    }
}

/// The agents to log off at `now`: ready or not ready at the PBX, a known user who had a desk
/// open since logging on, and neither that desk seen (`last_seen`, by username) nor a change of
/// agent state within `timeout`. An agent
/// on a call (PBX state busy, or a connected or held call at the device) or in after-call work
/// is never logged off: they are at the phone. One live tab is enough to stay in.
pub fn idle_logoffs(
    presences: &[AgentPresence],
    directory: &DeviceDirectory,
    last_seen: &BTreeMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
    timeout: Duration,
) -> Vec<IdleLogoff> {
    let cutoff = now - timeout;
    presences
        .iter()
        .filter(|presence| matches!(presence.state, AgentState::Ready | AgentState::NotReady))
        .filter(|presence| device_activity(presence.calls.values()) != DeviceActivity::OnCall)
        .filter_map(|presence| {
            let username = directory.username_of(presence)?;
            // Only an agent who worked at a desk since logging on is logged off when it goes:
            // an agent working from the phone alone (no desk, or none since the log-on) is not.
            let seen = last_seen.get(username).copied()?;
            if presence.logged_on_at.is_some_and(|on| seen < on) {
                return None;
            }
            let seen = Some(seen);
            let alive = seen.into_iter().chain(presence.since).max();
            let idle = alive.is_none_or(|alive| alive < cutoff);
            idle.then(|| IdleLogoff {
                username: username.to_owned(),
                device: presence.device.clone(),
                agent_id: presence
                    .agent_id
                    .clone()
                    .unwrap_or_else(|| presence.device.clone()),
                last_seen: seen,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::{
        auth::{Principal, Role},
        cti_state::Position,
    };

    fn at(minute: i64, second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap()
            + Duration::minutes(minute)
            + Duration::seconds(second)
    }

    fn user(username: &str, number: Option<&str>, active: bool) -> User {
        User {
            username: username.into(),
            display_name: username.into(),
            roles: BTreeSet::from([Role::Agent]),
            groups: Vec::new(),
            email: None,
            agent_number: number.map(str::to_owned),
            mobile: None,
            active,
            created_at: at(0, 0),
            updated_at: at(0, 0),
        }
    }

    fn directory() -> DeviceDirectory {
        DeviceDirectory::from_users(&[
            user("agent01", Some("2001"), true),
            user("agent02", Some("2002"), true),
            user("gone", Some("2009"), false),
            user("supervisor", None, true),
        ])
    }

    fn presence(device: &str, state: AgentState, since: DateTime<Utc>) -> AgentPresence {
        AgentPresence {
            device: device.into(),
            state,
            since: Some(since),
            last: Some(Position {
                observed_at: since,
                seq: 1,
            }),
            recent_event_ids: VecDeque::new(),
            ..AgentPresence::default()
        }
    }

    fn connection(id: &str, username: &str, connected: DateTime<Utc>) -> Connection {
        let principal = Principal {
            subject: format!("sub-{username}"),
            username: username.into(),
            display_name: None,
            roles: BTreeSet::from([Role::Agent]),
            client_id: None,
        };
        Connection::open(id, &principal, connected)
    }

    fn device_call(call_id: &str, state: LocalState) -> DeviceCall {
        DeviceCall {
            relay_id: "prg-1".into(),
            call_id: call_id.into(),
            contact_id: format!("contact-{call_id}"),
            state,
            since: at(0, 0),
            remote: Some("+420601123456".into()),
            direction: crate::cti_state::CallDirection::Inbound,
            queue: None,
        }
    }

    const TIMEOUT: i64 = DEFAULT_PRESENCE_TIMEOUT_SECONDS;

    fn logoffs(
        presences: &[AgentPresence],
        connections: &[Connection],
        departures: &[Departure],
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let seen = last_seen_by_user(connections, departures);
        idle_logoffs(
            presences,
            &directory(),
            &seen,
            now,
            Duration::seconds(TIMEOUT),
        )
        .into_iter()
        .map(|idle| idle.username)
        .collect()
    }

    #[test]
    fn when_agent_state_and_calls_vary_should_map_to_the_panel_presence() {
        use AgentState::*;
        use DeviceActivity::*;
        let cases = [
            (LoggedOff, Idle, PanelPresence::LoggedOut),
            (LoggedOn, Idle, PanelPresence::Free),
            (Ready, Idle, PanelPresence::Free),
            (NotReady, Idle, PanelPresence::Break),
            (WorkingAfterCall, Idle, PanelPresence::WrapUp),
            (Busy, Idle, PanelPresence::Busy),
            (Ready, Ringing, PanelPresence::Ringing),
            (NotReady, OnCall, PanelPresence::Busy),
            (LoggedOff, OnCall, PanelPresence::Busy),
        ];
        for (state, activity, expected) in cases {
            assert_eq!(
                panel_presence(state, activity),
                expected,
                "{state:?} {activity:?}"
            );
        }
    }

    #[test]
    fn when_calls_ring_or_connect_at_a_device_should_report_the_strongest_activity() {
        let ringing = device_call("c1", LocalState::Alerting);
        let connected = device_call("c2", LocalState::Connected);
        let held = device_call("c3", LocalState::Hold);
        assert_eq!(device_activity([&ringing]), DeviceActivity::Ringing);
        assert_eq!(
            device_activity([&ringing, &connected]),
            DeviceActivity::OnCall
        );
        assert_eq!(device_activity([&held]), DeviceActivity::OnCall);
        assert_eq!(device_activity([]), DeviceActivity::Idle);
        // AND the agent item's own calls decide its panel presence
        let mut agent = presence("2001", AgentState::Ready, at(0, 0));
        assert_eq!(presence_of(&agent), PanelPresence::Free);
        agent.calls.insert("prg-1/c1".into(), ringing);
        assert_eq!(presence_of(&agent), PanelPresence::Ringing);
    }

    #[test]
    fn when_users_have_agent_numbers_should_resolve_active_ones_by_agent_id_or_device() {
        let directory = directory();
        assert_eq!(directory.username_of_device("2001"), Some("agent01"));
        assert_eq!(directory.username_of_device("2009"), None);
        let mut roaming = presence("3001", AgentState::Ready, at(0, 0));
        roaming.agent_id = Some("2002".into());
        assert_eq!(directory.username_of(&roaming), Some("agent02"));
        assert_eq!(
            directory.username_of(&presence("2001", AgentState::Ready, at(0, 0))),
            Some("agent01")
        );
        assert_eq!(
            directory.username_of(&presence("7000", AgentState::Ready, at(0, 0))),
            None
        );
    }

    #[test]
    fn when_agent_has_a_mobile_extension_should_resolve_it_to_them() {
        let mut agent = user("agent03", Some("2003"), true);
        agent.mobile = Some(crate::users::MobilePhone {
            device: "2903".into(),
            number: "+420601000003".into(),
        });
        let directory = DeviceDirectory::from_users(&[agent]);
        assert_eq!(directory.username_of_device("2903"), Some("agent03"));
        assert_eq!(directory.username_of_device("2003"), Some("agent03"));
    }

    #[test]
    fn when_agent_has_two_tabs_and_one_is_live_should_keep_them_logged_on() {
        // GIVEN agent01 ready since 08:00, one tab silent since 08:01, the other pinging at 08:09
        let presences = [presence("2001", AgentState::Ready, at(0, 0))];
        let mut live = connection("live", "agent01", at(1, 0));
        live.heartbeat_at = Some(at(9, 0).timestamp());
        let stale = connection("stale", "agent01", at(1, 0));
        // WHEN swept at 08:10 THEN nobody is logged off
        assert!(logoffs(&presences, &[stale.clone(), live], &[], at(10, 0)).is_empty());
        // AND with only the silent tab, agent01 is logged off
        assert_eq!(logoffs(&presences, &[stale], &[], at(10, 0)), ["agent01"]);
    }

    #[test]
    fn when_laptop_sleeps_beyond_the_timeout_should_log_the_agent_off_with_a_command() {
        // GIVEN agent02 not ready since 08:00 whose last heartbeat was at 08:05
        let mut presences = [presence("2002", AgentState::NotReady, at(0, 0))];
        presences[0].agent_id = Some("2002".into());
        let mut sleeping = connection("c", "agent02", at(0, 0));
        sleeping.heartbeat_at = Some(at(5, 0).timestamp());
        let seen = last_seen_by_user([&sleeping], []);
        // WHEN swept 2 min later, then 2 min and 1 s later
        let within = idle_logoffs(
            &presences,
            &directory(),
            &seen,
            at(7, 0),
            Duration::seconds(TIMEOUT),
        );
        let beyond = idle_logoffs(
            &presences,
            &directory(),
            &seen,
            at(7, 1),
            Duration::seconds(TIMEOUT),
        );
        // THEN kept at exactly the timeout, logged off after it, by a LoggedOff command
        assert!(within.is_empty());
        assert_eq!(beyond.len(), 1);
        assert_eq!(beyond[0].last_seen, Some(at(5, 0)));
        assert_eq!(
            beyond[0].action(),
            CommandAction::AgentState {
                device: "2002".into(),
                agent_id: "2002".into(),
                state: RequestedAgentState::LoggedOff,
                reason_code: None,
            }
        );
    }

    #[test]
    fn when_agent_is_on_a_call_or_wrapping_up_should_not_be_logged_off() {
        let presences = [
            presence("2001", AgentState::Busy, at(0, 0)),
            presence("2002", AgentState::WorkingAfterCall, at(0, 0)),
        ];
        assert!(logoffs(&presences, &[], &[], at(30, 0)).is_empty());
        // AND neither is a not-ready agent on a private call (no ACD busy state)
        let mut private = presence("2001", AgentState::NotReady, at(0, 0));
        private
            .calls
            .insert("prg-1/c9".into(), device_call("c9", LocalState::Connected));
        assert!(logoffs(&[private], &[], &[], at(30, 0)).is_empty());
    }

    #[test]
    fn when_agent_is_logged_off_or_unknown_should_not_be_logged_off_again() {
        let presences = [
            presence("2001", AgentState::LoggedOff, at(0, 0)),
            presence("7000", AgentState::Ready, at(0, 0)),
            presence("2009", AgentState::Ready, at(0, 0)),
        ];
        assert!(logoffs(&presences, &[], &[], at(30, 0)).is_empty());
    }

    #[test]
    fn when_page_is_reloaded_should_count_the_disconnect_as_seen() {
        // GIVEN agent01 ready since 08:00 whose tab disconnected at 08:29:30 and has not
        // reconnected yet
        let presences = [presence("2001", AgentState::Ready, at(0, 0))];
        let departures = [Departure {
            username: "agent01".into(),
            at: at(29, 30),
        }];
        // WHEN swept at 08:30 THEN kept; at 08:32 (still no desk) logged off
        assert!(logoffs(&presences, &[], &departures, at(30, 0)).is_empty());
        assert_eq!(
            logoffs(&presences, &[], &departures, at(32, 0)),
            ["agent01"]
        );
    }

    #[test]
    fn when_agent_works_from_the_phone_alone_should_never_be_logged_off() {
        // GIVEN agent01 ready at the phone since 08:29 with no desk ever open
        let presences = [presence("2001", AgentState::Ready, at(29, 0))];
        // THEN not logged off, however long
        assert!(logoffs(&presences, &[], &[], at(30, 0)).is_empty());
        assert!(logoffs(&presences, &[], &[], at(90, 0)).is_empty());
        // AND a desk closed before logging on at the phone does not count either
        let mut logged_on = presence("2001", AgentState::Ready, at(29, 0));
        logged_on.logged_on_at = Some(at(29, 0));
        let departures = [Departure {
            username: "agent01".into(),
            at: at(10, 0),
        }];
        assert!(logoffs(&[logged_on], &[], &departures, at(90, 0)).is_empty());
    }

    proptest! {
        #[test]
        fn when_a_desk_was_seen_within_the_timeout_should_never_log_off(
            seen_ago in 0_i64..=TIMEOUT,
            since_ago in 0_i64..100_000,
            ready in any::<bool>(),
        ) {
            let now = at(600, 0);
            let state = if ready { AgentState::Ready } else { AgentState::NotReady };
            let presences = [presence("2001", state, now - Duration::seconds(since_ago))];
            let mut tab = connection("c", "agent01", now - Duration::seconds(100_000));
            tab.heartbeat_at = Some((now - Duration::seconds(seen_ago)).timestamp());
            prop_assert!(logoffs(&presences, &[tab], &[], now).is_empty());
        }
    }
}
