//! Authorisation: what each role of ADM-3 may do.
//!
//! The matrix lives in one function, [`Role::grants`], so that it can be read (and tested) whole.
//! A principal holds a permission when any of its roles grants it.

use thiserror::Error;

use crate::auth::{Principal, Role};

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `GET /api/me`.
    ReadOwnProfile,
    /// Open the WebSocket (`$connect`).
    ConnectRealtime,
    /// Read and manage user accounts (`/api/admin/users…`).
    AdministerUsers,
    /// Send a broadcast notice to connected users (`POST /api/broadcasts`).
    SendBroadcast,
    /// Read the audit log (`GET /api/admin/audit`, SEC-3).
    ReadAuditLog,
    /// Read and change the contact-centre configuration: queues, members, break codes, call
    /// categories, the transfer panel, the ICIS link (`/api/admin/…`, ADM-4/6/7).
    AdministerConfiguration,
    /// Work the callback queue (`/api/callbacks…`, IN-22, DESK-13): agents in their queues;
    /// supervisors, admins and the `callbacks` role in every queue.
    HandleCallbacks,
    /// See and work callbacks of every queue, not only the caller's own.
    HandleAllCallbacks,
    /// Look up, read, create and edit client records (`/api/clients…`, CDB-5, IN-15).
    HandleClients,
    /// Work at the agent desk (`/api/desk…`): own presence, queues, call control (DESK-1..9).
    WorkAtDesk,
    /// Start and run conversations through the conversation API as a bot (`/api/chat…`,
    /// CHAT-6): the `chatbot` machine client. (Widget visitors use participant tokens.)
    UseConversationApi,
    /// Export the contact-centre records of a period (`GET /api/icis/contacts`, INT-1 b): the
    /// `icis` machine client every night, and admins.
    ExportContactRecords,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::ReadOwnProfile,
        Permission::ConnectRealtime,
        Permission::AdministerUsers,
        Permission::SendBroadcast,
        Permission::ReadAuditLog,
        Permission::AdministerConfiguration,
        Permission::HandleCallbacks,
        Permission::HandleAllCallbacks,
        Permission::HandleClients,
        Permission::WorkAtDesk,
        Permission::UseConversationApi,
        Permission::ExportContactRecords,
    ];

    /// Stable name for logs and problem details, e.g. `send-broadcast`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadOwnProfile => "read-own-profile",
            Permission::ConnectRealtime => "connect-realtime",
            Permission::AdministerUsers => "administer-users",
            Permission::SendBroadcast => "send-broadcast",
            Permission::ReadAuditLog => "read-audit-log",
            Permission::AdministerConfiguration => "administer-configuration",
            Permission::HandleCallbacks => "handle-callbacks",
            Permission::HandleAllCallbacks => "handle-all-callbacks",
            Permission::HandleClients => "handle-clients",
            Permission::WorkAtDesk => "work-at-desk",
            Permission::UseConversationApi => "use-conversation-api",
            Permission::ExportContactRecords => "export-contact-records",
        }
    }
}

impl Role {
    /// The role matrix (ADM-3).
    ///
    /// - `admin` holds every administrative permission (users, the audit log).
    /// - `supervisor` (and `admin`) may send broadcasts.
    /// - Every role of a person (admin … callbacks) may read its own profile and connect to the
    ///   real-time channel; the narrower roles (recording-*, queues, callbacks) are grants on top
    ///   of that, for the features they name.
    /// - Machine roles (`icis`, `chatbot`) get only the interfaces built for them — and may read
    ///   their own identity (`GET /api/me`, which holds nothing but what their token says), so
    ///   an integrator can check a token. No WebSocket, no administration, no broadcasts.
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            ReadOwnProfile => true,
            ConnectRealtime => !self.is_machine(),
            AdministerUsers | ReadAuditLog | AdministerConfiguration => self == Role::Admin,
            SendBroadcast => matches!(self, Role::Admin | Role::Supervisor),
            HandleCallbacks => matches!(
                self,
                Role::Admin | Role::Supervisor | Role::Agent | Role::Callbacks
            ),
            HandleAllCallbacks => matches!(self, Role::Admin | Role::Supervisor | Role::Callbacks),
            HandleClients => matches!(self, Role::Admin | Role::Supervisor | Role::Agent),
            WorkAtDesk => matches!(self, Role::Admin | Role::Supervisor | Role::Agent),
            UseConversationApi => self == Role::Chatbot,
            ExportContactRecords => matches!(self, Role::Icis | Role::Admin),
        }
    }
}

/// The caller is authenticated but lacks the permission.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("missing permission {}", .permission.as_str())]
pub struct Forbidden {
    pub permission: Permission,
}

impl Principal {
    /// `Ok` when any of the principal's roles grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.roles.iter().any(|role| role.grants(permission)) {
            Ok(())
        } else {
            Err(Forbidden { permission })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn principal(roles: &[Role]) -> Principal {
        Principal {
            subject: "s".to_owned(),
            username: "u".to_owned(),
            display_name: None,
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            client_id: None,
        }
    }

    #[test]
    fn when_matrix_is_read_whole_should_match_adm3() {
        use Permission::*;
        use Role::*;
        // (role, [ReadOwnProfile, ConnectRealtime, AdministerUsers, SendBroadcast, ReadAuditLog])
        let expected = [
            (Admin, [true, true, true, true, true]),
            (Supervisor, [true, true, false, true, false]),
            (Agent, [true, true, false, false, false]),
            (Wallboard, [true, true, false, false, false]),
            (RecordingListen, [true, true, false, false, false]),
            (RecordingDownload, [true, true, false, false, false]),
            (Queues, [true, true, false, false, false]),
            (Callbacks, [true, true, false, false, false]),
            (Icis, [true, false, false, false, false]),
            (Chatbot, [true, false, false, false, false]),
        ];
        assert_eq!(expected.len(), Role::ALL.len());
        for (role, grants) in expected {
            for (permission, granted) in [
                ReadOwnProfile,
                ConnectRealtime,
                AdministerUsers,
                SendBroadcast,
                ReadAuditLog,
            ]
            .into_iter()
            .zip(grants)
            {
                assert_eq!(
                    role.grants(permission),
                    granted,
                    "{role} / {}",
                    permission.as_str()
                );
            }
        }
    }

    #[test]
    fn when_clients_are_handled_should_only_agents_supervisors_and_admins_be_allowed() {
        for role in Role::ALL {
            let expected = matches!(role, Role::Admin | Role::Supervisor | Role::Agent);
            assert_eq!(role.grants(Permission::HandleClients), expected, "{role}");
        }
    }

    #[test]
    fn when_records_are_exported_should_only_icis_and_admins_be_allowed() {
        for role in Role::ALL {
            let expected = matches!(role, Role::Icis | Role::Admin);
            assert_eq!(
                role.grants(Permission::ExportContactRecords),
                expected,
                "{role}"
            );
        }
    }

    #[test]
    fn when_agent_requires_administer_users_should_be_forbidden() {
        let agent = principal(&[Role::Agent]);
        assert_eq!(
            agent.require(Permission::AdministerUsers),
            Err(Forbidden {
                permission: Permission::AdministerUsers
            })
        );
    }

    #[test]
    fn when_any_role_grants_should_be_allowed() {
        let supervisor = principal(&[Role::Queues, Role::Supervisor]);
        assert!(supervisor.require(Permission::SendBroadcast).is_ok());
    }

    #[test]
    fn when_principal_has_no_known_role_should_be_refused_everything() {
        let nobody = principal(&[]);
        for permission in Permission::ALL {
            assert!(nobody.require(permission).is_err());
        }
    }
}
