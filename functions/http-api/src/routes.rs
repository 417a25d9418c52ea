//! The routes of HttpApiFunction and how a request path maps onto them.
//!
//! API Gateway only forwards the routes of the template, so in AWS the function never sees an
//! unknown path; the dev gateway and direct invocations may, and get 404/405 problems.

use lambda_http::http::Method;
use linka_shared::audit::AuditAction;

/// (method, path) of every route this function serves, as declared in `infra/template.yaml`
/// (`Events` of HttpApiFunction) and documented in `docs/api/openapi.yaml`.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/health"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/me"),
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/users/{username}"),
    ("POST", "/api/admin/users"),
    ("PUT", "/api/admin/users/{username}"),
    ("DELETE", "/api/admin/users/{username}"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/queues"),
    ("POST", "/api/admin/queues"),
    ("GET", "/api/admin/queues/{queueId}"),
    ("PUT", "/api/admin/queues/{queueId}"),
    ("DELETE", "/api/admin/queues/{queueId}"),
    ("GET", "/api/admin/queues/{queueId}/members"),
    ("GET", "/api/admin/queues/{queueId}/routing"),
    ("PUT", "/api/admin/queues/{queueId}/routing"),
    ("PUT", "/api/admin/queues/{queueId}/members/{username}"),
    ("DELETE", "/api/admin/queues/{queueId}/members/{username}"),
    ("GET", "/api/admin/break-codes"),
    ("POST", "/api/admin/break-codes"),
    ("GET", "/api/admin/break-codes/{code}"),
    ("PUT", "/api/admin/break-codes/{code}"),
    ("DELETE", "/api/admin/break-codes/{code}"),
    ("GET", "/api/admin/call-categories"),
    ("POST", "/api/admin/call-categories"),
    ("GET", "/api/admin/call-categories/{categoryId}"),
    ("PUT", "/api/admin/call-categories/{categoryId}"),
    ("DELETE", "/api/admin/call-categories/{categoryId}"),
    ("GET", "/api/admin/client-fields"),
    ("POST", "/api/admin/client-fields"),
    ("GET", "/api/admin/client-fields/{key}"),
    ("PUT", "/api/admin/client-fields/{key}"),
    ("DELETE", "/api/admin/client-fields/{key}"),
    ("GET", "/api/admin/mail-templates"),
    ("POST", "/api/admin/mail-templates"),
    ("GET", "/api/admin/mail-templates/{templateId}"),
    ("PUT", "/api/admin/mail-templates/{templateId}"),
    ("DELETE", "/api/admin/mail-templates/{templateId}"),
    ("GET", "/api/admin/transfer-groups"),
    ("POST", "/api/admin/transfer-groups"),
    ("GET", "/api/admin/transfer-groups/{groupId}"),
    ("PUT", "/api/admin/transfer-groups/{groupId}"),
    ("DELETE", "/api/admin/transfer-groups/{groupId}"),
    ("GET", "/api/admin/transfer-lines"),
    ("POST", "/api/admin/transfer-lines"),
    ("GET", "/api/admin/transfer-lines/{lineId}"),
    ("PUT", "/api/admin/transfer-lines/{lineId}"),
    ("DELETE", "/api/admin/transfer-lines/{lineId}"),
    ("GET", "/api/admin/ivrs"),
    ("POST", "/api/admin/ivrs"),
    ("POST", "/api/admin/ivrs/validate"),
    ("GET", "/api/admin/ivrs/{ivrId}"),
    ("PUT", "/api/admin/ivrs/{ivrId}"),
    ("DELETE", "/api/admin/ivrs/{ivrId}"),
    ("GET", "/api/admin/settings/icis-link"),
    ("PUT", "/api/admin/settings/icis-link"),
    ("GET", "/api/admin/settings/chat"),
    ("PUT", "/api/admin/settings/chat"),
    ("GET", "/api/admin/routing/plan"),
    ("PUT", "/api/admin/routing/plan"),
    ("GET", "/api/admin/routing/devices"),
    ("PUT", "/api/admin/routing/devices"),
    ("GET", "/api/admin/prompts"),
    ("POST", "/api/admin/prompts/preview-tts"),
    ("GET", "/api/admin/prompts/{name}"),
    ("PUT", "/api/admin/prompts/{name}"),
    ("DELETE", "/api/admin/prompts/{name}"),
    ("POST", "/api/broadcasts"),
    // Not an operation: routes every other method and path under /api to the function, which
    // answers 405 (with Allow) or 404 as problem details.
    ("ANY", "/api/{proxy+}"),
];

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    OpenApi,
    Me,
    ListUsers,
    /// The raw `{username}` segment (the handler prefers API Gateway's decoded path parameter).
    GetUser(String),
    CreateUser,
    /// The raw `{username}` segment, as for [`Route::GetUser`].
    ReplaceUser(String),
    /// The raw `{username}` segment, as for [`Route::GetUser`].
    DeleteUser(String),
    ListAudit,
    CreateBroadcast,
    ListConfig(Collection),
    CreateConfig(Collection),
    /// The raw id segment.
    GetConfig(Collection, String),
    ReplaceConfig(Collection, String),
    DeleteConfig(Collection, String),
    /// The raw `{queueId}` segment.
    ListMembers(String),
    /// Raw `{queueId}` and `{username}` segments.
    PutMember(String, String),
    DeleteMember(String, String),
    GetIcisLink,
    PutIcisLink,
    GetChatSettings,
    PutChatSettings,
    /// The raw `{queueId}` segment.
    GetQueueRouting(String),
    PutQueueRouting(String),
    GetRoutingPlan,
    PutRoutingPlan,
    GetRoutingDevices,
    PutRoutingDevices,
    /// `POST /api/admin/ivrs/validate`: checks a tree without storing it.
    ValidateIvr,
    /// IVR prompt recordings (IN-6, IN-10).
    ListPrompts,
    /// The raw `{name}` segment.
    GetPrompt(String),
    PutPrompt(String),
    DeletePrompt(String),
    /// `POST /api/admin/prompts/preview-tts`: synthesizes a TTS prompt for listening.
    PreviewTts,
}

/// The configuration collections served by the generic admin handlers (ADM-4, ADM-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Queues,
    BreakCodes,
    CallCategories,
    TransferGroups,
    TransferLines,
    Ivrs,
    /// Custom fields of the client card (CDB-4).
    ClientFields,
    /// E-mail templates (OMNI-2).
    MailTemplates,
}

impl Collection {
    /// The collection of a path segment under `/api/admin/`.
    pub fn from_path(segment: &str) -> Option<Self> {
        Some(match segment {
            "queues" => Self::Queues,
            "break-codes" => Self::BreakCodes,
            "call-categories" => Self::CallCategories,
            "transfer-groups" => Self::TransferGroups,
            "transfer-lines" => Self::TransferLines,
            "ivrs" => Self::Ivrs,
            "client-fields" => Self::ClientFields,
            "mail-templates" => Self::MailTemplates,
            _ => return None,
        })
    }

    /// The template path of the collection and of one item, for logs.
    pub fn route_names(self) -> (&'static str, &'static str) {
        match self {
            Self::Queues => ("/api/admin/queues", "/api/admin/queues/{queueId}"),
            Self::BreakCodes => ("/api/admin/break-codes", "/api/admin/break-codes/{code}"),
            Self::CallCategories => (
                "/api/admin/call-categories",
                "/api/admin/call-categories/{categoryId}",
            ),
            Self::TransferGroups => (
                "/api/admin/transfer-groups",
                "/api/admin/transfer-groups/{groupId}",
            ),
            Self::TransferLines => (
                "/api/admin/transfer-lines",
                "/api/admin/transfer-lines/{lineId}",
            ),
            Self::Ivrs => ("/api/admin/ivrs", "/api/admin/ivrs/{ivrId}"),
            Self::ClientFields => ("/api/admin/client-fields", "/api/admin/client-fields/{key}"),
            Self::MailTemplates => (
                "/api/admin/mail-templates",
                "/api/admin/mail-templates/{templateId}",
            ),
        }
    }

    /// The name of the id path parameter, e.g. `queueId`.
    pub fn id_parameter(self) -> &'static str {
        match self {
            Self::Queues => "queueId",
            Self::BreakCodes => "code",
            Self::CallCategories => "categoryId",
            Self::TransferGroups => "groupId",
            Self::TransferLines => "lineId",
            Self::Ivrs => "ivrId",
            Self::ClientFields => "key",
            Self::MailTemplates => "templateId",
        }
    }
}

impl Route {
    /// Name for logs (the template path, never the concrete one: it may hold a username).
    pub fn name(&self) -> &'static str {
        match self {
            Route::Health => "/api/health",
            Route::OpenApi => "/api/openapi.json",
            Route::Me => "/api/me",
            Route::ListUsers => "/api/admin/users",
            Route::GetUser(_) | Route::ReplaceUser(_) | Route::DeleteUser(_) => {
                "/api/admin/users/{username}"
            }
            Route::CreateUser => "/api/admin/users",
            Route::ListAudit => "/api/admin/audit",
            Route::CreateBroadcast => "/api/broadcasts",
            Route::ListConfig(collection) | Route::CreateConfig(collection) => {
                collection.route_names().0
            }
            Route::GetConfig(collection, _)
            | Route::ReplaceConfig(collection, _)
            | Route::DeleteConfig(collection, _) => collection.route_names().1,
            Route::ListMembers(_) => "/api/admin/queues/{queueId}/members",
            Route::PutMember(..) | Route::DeleteMember(..) => {
                "/api/admin/queues/{queueId}/members/{username}"
            }
            Route::GetIcisLink | Route::PutIcisLink => "/api/admin/settings/icis-link",
            Route::GetChatSettings | Route::PutChatSettings => "/api/admin/settings/chat",
            Route::GetQueueRouting(_) | Route::PutQueueRouting(_) => {
                "/api/admin/queues/{queueId}/routing"
            }
            Route::GetRoutingPlan | Route::PutRoutingPlan => "/api/admin/routing/plan",
            Route::GetRoutingDevices | Route::PutRoutingDevices => "/api/admin/routing/devices",
            Route::ValidateIvr => "/api/admin/ivrs/validate",
            Route::ListPrompts => "/api/admin/prompts",
            Route::GetPrompt(_) | Route::PutPrompt(_) | Route::DeletePrompt(_) => {
                "/api/admin/prompts/{name}"
            }
            Route::PreviewTts => "/api/admin/prompts/preview-tts",
        }
    }

    /// What the audit log records for this route (SEC-3); `None` for the public routes.
    pub fn audit_action(&self) -> Option<AuditAction> {
        match self {
            Route::Health | Route::OpenApi => None,
            Route::Me => Some(AuditAction::MeRead),
            Route::ListUsers => Some(AuditAction::UsersList),
            Route::GetUser(_) => Some(AuditAction::UserRead),
            Route::CreateUser => Some(AuditAction::UserCreate),
            Route::ReplaceUser(_) => Some(AuditAction::UserUpdate),
            Route::DeleteUser(_) => Some(AuditAction::UserDelete),
            Route::ListAudit => Some(AuditAction::AuditRead),
            Route::CreateBroadcast => Some(AuditAction::BroadcastSend),
            Route::ListConfig(_) | Route::ListMembers(_) | Route::ListPrompts => {
                Some(AuditAction::ConfigList)
            }
            Route::GetConfig(..)
            | Route::GetIcisLink
            | Route::GetChatSettings
            | Route::GetQueueRouting(_)
            | Route::GetRoutingPlan
            | Route::GetRoutingDevices
            | Route::ValidateIvr
            | Route::GetPrompt(_)
            | Route::PreviewTts => Some(AuditAction::ConfigRead),
            Route::CreateConfig(_) => Some(AuditAction::ConfigCreate),
            Route::ReplaceConfig(..)
            | Route::PutMember(..)
            | Route::PutIcisLink
            | Route::PutChatSettings
            | Route::PutQueueRouting(_)
            | Route::PutRoutingPlan
            | Route::PutRoutingDevices
            | Route::PutPrompt(_) => Some(AuditAction::ConfigUpdate),
            Route::DeleteConfig(..) | Route::DeleteMember(..) | Route::DeletePrompt(_) => {
                Some(AuditAction::ConfigDelete)
            }
        }
    }
}

/// The outcome of matching a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Found(Route),
    /// The path exists, with these methods only.
    MethodNotAllowed(&'static str),
    NotFound,
}

/// Matches `method` and `path`. A leading `/{stage}` (execute-api URLs of a named stage) is
/// tolerated when the path does not match as it is.
pub fn resolve(method: &Method, path: &str, stage: Option<&str>) -> Resolution {
    match resolve_path(method, path) {
        Resolution::NotFound => match stage.filter(|stage| *stage != "$default") {
            Some(stage) => path
                .strip_prefix('/')
                .and_then(|rest| rest.strip_prefix(stage))
                .filter(|rest| rest.starts_with('/'))
                .map_or(Resolution::NotFound, |rest| resolve_path(method, rest)),
            None => Resolution::NotFound,
        },
        resolution => resolution,
    }
}

fn resolve_path(method: &Method, path: &str) -> Resolution {
    let Some(rest) = path.strip_prefix('/') else {
        return Resolution::NotFound;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let found = |route: Route| Resolution::Found(route);
    match (segments.as_slice(), method.as_str()) {
        // POST is RoutingApiFunction's (the relay's route request); any other method reaches
        // this function through the catch-all route.
        (["api", "cti", "route"], _) => Resolution::MethodNotAllowed("POST"),
        // Served by callbacks-api; only other methods reach this function.
        (["api", "callbacks"], _) => Resolution::MethodNotAllowed("GET, POST"),
        (["api", "callbacks", _], _) => Resolution::MethodNotAllowed("GET"),
        (
            ["api", "callbacks", _, "claim" | "release" | "attempts" | "reschedule" | "notes" | "done" | "cancel"],
            _,
        ) => Resolution::MethodNotAllowed("POST"),
        // Served by voicemail-api.
        (["api", "voicemails"], _) | (["api", "voicemails", _], _) => {
            Resolution::MethodNotAllowed("GET")
        }
        (["api", "voicemails", _, "assign" | "release" | "done" | "notes"], _) => {
            Resolution::MethodNotAllowed("POST")
        }
        // Served by chat-api.
        (["api", "chat", "conversations"], _) => Resolution::MethodNotAllowed("POST"),
        (["api", "chat", "conversations", _], _) => Resolution::MethodNotAllowed("GET"),
        (["api", "chat", "conversations", _, "messages"], _) => {
            Resolution::MethodNotAllowed("GET, POST")
        }
        (["api", "chat", "conversations", _, "handoff" | "end" | "typing"], _) => {
            Resolution::MethodNotAllowed("POST")
        }
        (["api", "chat", "social", "messenger"], _) => Resolution::MethodNotAllowed("GET, POST"),
        (["api", "desk", "chats"], _) => Resolution::MethodNotAllowed("GET"),
        (["api", "desk", "mail-templates"], _) => Resolution::MethodNotAllowed("GET"),
        (["api", "desk", "chats", "sms" | "email"], _) => Resolution::MethodNotAllowed("POST"),
        (["api", "desk", "chats", _, "messages", _, "attachments", _], _) => {
            Resolution::MethodNotAllowed("GET")
        }
        (["api", "desk", "chats", _, "messages"], _) => Resolution::MethodNotAllowed("GET, POST"),
        (["api", "desk", "chats", _, "accept" | "transfer" | "invite" | "typing" | "end"], _) => {
            Resolution::MethodNotAllowed("POST")
        }
        // Served by desk-api.
        (["api", "desk"], _)
        | (["api", "desk", "directory" | "categories" | "history" | "recent" | "stats"], _) => {
            Resolution::MethodNotAllowed("GET")
        }
        (["api", "desk", "presence" | "phone" | "favourites"], _)
        | (["api", "desk", "queues", _], _) => Resolution::MethodNotAllowed("PUT"),
        (["api", "desk", "dial"], _)
        | (["api", "desk", "calls", _, _, _], _)
        | (["api", "desk", "wrap-up", "extend" | "end"], _) => Resolution::MethodNotAllowed("POST"),
        (["api", "client-fields"], _)
        | (["api", "clients", _, "contacts"], _)
        | (["api", "icis", "contacts"], _) => Resolution::MethodNotAllowed("GET"),
        (["api", "clients"], _) => Resolution::MethodNotAllowed("GET, POST"),
        (["api", "clients", _], _) => Resolution::MethodNotAllowed("GET, PUT"),
        (["api", "contacts", _], _) => Resolution::MethodNotAllowed("GET"),
        (["api", "contacts", _, "notes"], _) => Resolution::MethodNotAllowed("GET, POST"),
        (["api", "contacts", _, "category" | "client" | "data"], _) => {
            Resolution::MethodNotAllowed("PUT")
        }
        (["api", "health"], "GET") => found(Route::Health),
        (["api", "openapi.json"], "GET") => found(Route::OpenApi),
        (["api", "me"], "GET") => found(Route::Me),
        (["api", "admin", "users"], "GET") => found(Route::ListUsers),
        (["api", "admin", "users"], "POST") => found(Route::CreateUser),
        (["api", "admin", "users", username], method) if !username.is_empty() => {
            let username = (*username).to_owned();
            match method {
                "GET" => found(Route::GetUser(username)),
                "PUT" => found(Route::ReplaceUser(username)),
                "DELETE" => found(Route::DeleteUser(username)),
                _ => Resolution::MethodNotAllowed("GET, PUT, DELETE"),
            }
        }
        (["api", "admin", "audit"], "GET") => found(Route::ListAudit),
        (["api", "admin", "settings", "chat"], method) => match method {
            "GET" => found(Route::GetChatSettings),
            "PUT" => found(Route::PutChatSettings),
            _ => Resolution::MethodNotAllowed("GET, PUT"),
        },
        (["api", "admin", "settings", "icis-link"], method) => match method {
            "GET" => found(Route::GetIcisLink),
            "PUT" => found(Route::PutIcisLink),
            _ => Resolution::MethodNotAllowed("GET, PUT"),
        },
        (["api", "admin", "routing", "plan"], method) => match method {
            "GET" => found(Route::GetRoutingPlan),
            "PUT" => found(Route::PutRoutingPlan),
            _ => Resolution::MethodNotAllowed("GET, PUT"),
        },
        (["api", "admin", "routing", "devices"], method) => match method {
            "GET" => found(Route::GetRoutingDevices),
            "PUT" => found(Route::PutRoutingDevices),
            _ => Resolution::MethodNotAllowed("GET, PUT"),
        },
        (["api", "admin", "ivrs", "validate"], method) => match method {
            "POST" => found(Route::ValidateIvr),
            _ => Resolution::MethodNotAllowed("POST"),
        },
        (["api", "admin", "prompts"], method) => match method {
            "GET" => found(Route::ListPrompts),
            _ => Resolution::MethodNotAllowed("GET"),
        },
        // `preview-tts` is a reserved prompt name, so this path is never a prompt's.
        (["api", "admin", "prompts", "preview-tts"], method) => match method {
            "POST" => found(Route::PreviewTts),
            _ => Resolution::MethodNotAllowed("POST"),
        },
        (["api", "admin", "prompts", name], method) if !name.is_empty() => {
            let name = (*name).to_owned();
            match method {
                "GET" => found(Route::GetPrompt(name)),
                "PUT" => found(Route::PutPrompt(name)),
                "DELETE" => found(Route::DeletePrompt(name)),
                _ => Resolution::MethodNotAllowed("GET, PUT, DELETE"),
            }
        }
        (["api", "admin", "queues", queue, "routing"], method) if !queue.is_empty() => {
            let queue = (*queue).to_owned();
            match method {
                "GET" => found(Route::GetQueueRouting(queue)),
                "PUT" => found(Route::PutQueueRouting(queue)),
                _ => Resolution::MethodNotAllowed("GET, PUT"),
            }
        }
        (["api", "admin", "queues", queue, "members"], method) if !queue.is_empty() => match method
        {
            "GET" => found(Route::ListMembers((*queue).to_owned())),
            _ => Resolution::MethodNotAllowed("GET"),
        },
        (["api", "admin", "queues", queue, "members", username], method)
            if !queue.is_empty() && !username.is_empty() =>
        {
            let (queue, username) = ((*queue).to_owned(), (*username).to_owned());
            match method {
                "PUT" => found(Route::PutMember(queue, username)),
                "DELETE" => found(Route::DeleteMember(queue, username)),
                _ => Resolution::MethodNotAllowed("PUT, DELETE"),
            }
        }
        (["api", "admin", segment], method) if Collection::from_path(segment).is_some() => {
            match (Collection::from_path(segment), method) {
                (Some(collection), "GET") => found(Route::ListConfig(collection)),
                (Some(collection), "POST") => found(Route::CreateConfig(collection)),
                _ => Resolution::MethodNotAllowed("GET, POST"),
            }
        }
        (["api", "admin", segment, id], method)
            if !id.is_empty() && Collection::from_path(segment).is_some() =>
        {
            let id = (*id).to_owned();
            match (Collection::from_path(segment), method) {
                (Some(collection), "GET") => found(Route::GetConfig(collection, id)),
                (Some(collection), "PUT") => found(Route::ReplaceConfig(collection, id)),
                (Some(collection), "DELETE") => found(Route::DeleteConfig(collection, id)),
                _ => Resolution::MethodNotAllowed("GET, PUT, DELETE"),
            }
        }
        (["api", "broadcasts"], "POST") => found(Route::CreateBroadcast),
        (["api", "admin", "users"], _) => Resolution::MethodNotAllowed("GET, POST"),
        (["api", "broadcasts"], _) => Resolution::MethodNotAllowed("POST"),
        (["api", "health" | "openapi.json" | "me"] | ["api", "admin", "audit"], _) => {
            Resolution::MethodNotAllowed("GET")
        }
        _ => Resolution::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_every_route_is_resolved_should_be_found() {
        // GIVEN each declared route, with a concrete username
        // The ANY catch-all is not an operation of its own.
        for (method, path) in ROUTES.iter().filter(|(method, _)| *method != "ANY") {
            let method: Method = method.parse().unwrap();
            let path = path
                .replace("{username}", "agent01")
                .replace("{queueId}", "kkc")
                .replace("{code}", "obed")
                .replace("{categoryId}", "c1")
                .replace("{groupId}", "g1")
                .replace("{lineId}", "l1")
                .replace("{ivrId}", "hlavni")
                .replace("{name}", "uvitani")
                .replace("{key}", "cislo-smlouvy");
            // WHEN resolved THEN it is found
            assert!(
                matches!(resolve(&method, &path, None), Resolution::Found(_)),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn when_known_path_has_wrong_method_should_be_method_not_allowed() {
        assert_eq!(
            resolve(&Method::DELETE, "/api/me", None),
            Resolution::MethodNotAllowed("GET")
        );
        assert_eq!(
            resolve(&Method::GET, "/api/broadcasts", None),
            Resolution::MethodNotAllowed("POST")
        );
        assert_eq!(
            resolve(&Method::TRACE, "/api/cti/route", None),
            Resolution::MethodNotAllowed("POST")
        );
        assert_eq!(
            resolve(&Method::PATCH, "/api/admin/users/agent01", None),
            Resolution::MethodNotAllowed("GET, PUT, DELETE")
        );
        assert_eq!(
            resolve(&Method::DELETE, "/api/admin/users", None),
            Resolution::MethodNotAllowed("GET, POST")
        );
        assert_eq!(
            resolve(&Method::DELETE, "/api/admin/queues", None),
            Resolution::MethodNotAllowed("GET, POST")
        );
        assert_eq!(
            resolve(&Method::POST, "/api/admin/break-codes/obed", None),
            Resolution::MethodNotAllowed("GET, PUT, DELETE")
        );
        assert_eq!(
            resolve(&Method::GET, "/api/admin/queues/kkc/members/agent01", None),
            Resolution::MethodNotAllowed("PUT, DELETE")
        );
        assert_eq!(
            resolve(&Method::DELETE, "/api/admin/settings/icis-link", None),
            Resolution::MethodNotAllowed("GET, PUT")
        );
        for path in [
            "/api/admin/routing/plan",
            "/api/admin/routing/devices",
            "/api/admin/queues/kkc/routing",
        ] {
            assert_eq!(
                resolve(&Method::POST, path, None),
                Resolution::MethodNotAllowed("GET, PUT"),
                "{path}"
            );
        }
    }

    #[test]
    fn when_ivr_validate_is_resolved_should_be_post_only_and_never_an_ivr_id() {
        assert_eq!(
            resolve(&Method::POST, "/api/admin/ivrs/validate", None),
            Resolution::Found(Route::ValidateIvr)
        );
        // `validate` is a reserved IVR id, so this path is never the tree of that id.
        for method in [Method::GET, Method::PUT, Method::DELETE, Method::OPTIONS] {
            assert_eq!(
                resolve(&method, "/api/admin/ivrs/validate", None),
                Resolution::MethodNotAllowed("POST"),
                "{method}"
            );
        }
        assert_eq!(
            resolve(&Method::PUT, "/api/admin/queues/kkc/routing", None),
            Resolution::Found(Route::PutQueueRouting("kkc".to_owned()))
        );
    }

    #[test]
    fn when_prompt_paths_are_resolved_should_keep_preview_tts_for_post() {
        assert_eq!(
            resolve(&Method::POST, "/api/admin/prompts/preview-tts", None),
            Resolution::Found(Route::PreviewTts)
        );
        for method in [Method::GET, Method::PUT, Method::DELETE, Method::OPTIONS] {
            assert_eq!(
                resolve(&method, "/api/admin/prompts/preview-tts", None),
                Resolution::MethodNotAllowed("POST"),
                "{method}"
            );
        }
        assert_eq!(
            resolve(&Method::PUT, "/api/admin/prompts/uvitani", None),
            Resolution::Found(Route::PutPrompt("uvitani".to_owned()))
        );
        assert_eq!(
            resolve(&Method::POST, "/api/admin/prompts/uvitani", None),
            Resolution::MethodNotAllowed("GET, PUT, DELETE")
        );
        assert_eq!(
            resolve(&Method::DELETE, "/api/admin/prompts", None),
            Resolution::MethodNotAllowed("GET")
        );
    }

    #[test]
    fn when_config_paths_are_resolved_should_carry_collection_and_ids() {
        assert_eq!(
            resolve(&Method::PUT, "/api/admin/transfer-lines/reditel", None),
            Resolution::Found(Route::ReplaceConfig(
                Collection::TransferLines,
                "reditel".to_owned()
            ))
        );
        assert_eq!(
            resolve(&Method::PUT, "/api/admin/queues/kkc/members/agent01", None),
            Resolution::Found(Route::PutMember("kkc".to_owned(), "agent01".to_owned()))
        );
        assert_eq!(
            resolve(
                &Method::DELETE,
                "/api/admin/client-fields/cislo-smlouvy",
                None
            ),
            Resolution::Found(Route::DeleteConfig(
                Collection::ClientFields,
                "cislo-smlouvy".to_owned()
            ))
        );
        assert_eq!(
            resolve(&Method::PATCH, "/api/admin/client-fields", None),
            Resolution::MethodNotAllowed("GET, POST")
        );
        assert_eq!(
            resolve(&Method::GET, "/api/admin/unknown-things", None),
            Resolution::NotFound
        );
    }

    #[test]
    fn when_path_is_unknown_should_be_not_found() {
        for path in [
            "",
            "/",
            "/api",
            "/api/me/",
            "/api/admin/users/",
            "/api/admin/users/a/b",
            "api/me",
        ] {
            assert_eq!(
                resolve(&Method::GET, path, None),
                Resolution::NotFound,
                "{path}"
            );
        }
    }

    #[test]
    fn when_path_carries_a_named_stage_should_strip_it() {
        assert_eq!(
            resolve(&Method::GET, "/prod/api/me", Some("prod")),
            Resolution::Found(Route::Me)
        );
        assert_eq!(
            resolve(&Method::GET, "/prod/api/me", Some("$default")),
            Resolution::NotFound
        );
        assert_eq!(
            resolve(&Method::GET, "/production/api/me", Some("prod")),
            Resolution::NotFound
        );
    }
}
