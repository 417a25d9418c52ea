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
            let path = path.replace("{username}", "agent01");
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
            resolve(&Method::PATCH, "/api/admin/users/agent01", None),
            Resolution::MethodNotAllowed("GET, PUT, DELETE")
        );
        assert_eq!(
            resolve(&Method::DELETE, "/api/admin/users", None),
            Resolution::MethodNotAllowed("GET, POST")
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
