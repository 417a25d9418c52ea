//! RFC 9457 problem details: the body of every HTTP error.
//!
//! `title` and `detail` are English for developers and logs; `code` is a stable kebab-case string
//! that the web app translates (Czech UI), and `errors` names the offending fields of a request.
//! Pure serde: turning a [`Problem`] into an HTTP response is the function's business.

use serde::{Deserialize, Serialize};

/// The media type of a problem body.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// Prefix of the `type` URI; the `code` completes it.
pub const TYPE_PREFIX: &str = "urn:linka:problem:";

/// One offending field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field: a JSON member (`text`), a query parameter (`limit`) or a header
    /// (`Idempotency-Key`).
    pub field: String,
    /// What is wrong with it, in English.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// `urn:linka:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: Box<str>,
    /// Short, human-readable summary of the problem type (English).
    pub title: Box<str>,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence (English).
    pub detail: String,
    /// Stable machine-readable code, translated by the UI.
    pub code: String,
    /// The offending fields, when the request was at fault. (A boxed slice keeps `Problem`
    /// small enough to travel in a `Result`.)
    #[serde(default, skip_serializing_if = "no_errors")]
    pub errors: Box<[FieldError]>,
    /// RFC 9457 extension members (e.g. `nextOpening` of a closed chat), beside the standard
    /// ones. Boxed and optional: most problems have none.
    #[serde(flatten, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

fn no_errors(errors: &[FieldError]) -> bool {
    errors.is_empty()
}

impl Problem {
    /// A problem with any status.
    pub fn new(status: u16, title: &str, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("{TYPE_PREFIX}{code}").into_boxed_str(),
            title: title.into(),
            status,
            detail: detail.into(),
            code: code.to_owned(),
            errors: Box::default(),
            extensions: None,
        }
    }

    /// Adds an extension member `name` (camelCase) to the body.
    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions
            .get_or_insert_with(Box::default)
            .insert(name.to_owned(), value);
        self
    }

    /// Adds the offending fields.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors.into_boxed_slice();
        self
    }

    /// 400: the request is malformed (syntax, query parameters, headers).
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(400, "Bad Request", code, detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(code: &str, detail: impl Into<String>) -> Self {
        Self::new(401, "Unauthorized", code, detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", code, detail)
    }

    /// 404: no such resource.
    pub fn not_found(code: &str, detail: impl Into<String>) -> Self {
        Self::new(404, "Not Found", code, detail)
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, "Method Not Allowed", "method-not-allowed", detail)
    }

    /// 400 `invalid-parameter`: the query parameter `name` is missing or malformed; `message`
    /// says how ("is required", "is not a queue id"), in the detail and as the field error.
    pub fn invalid_parameter(name: &str, message: &str) -> Self {
        Self::bad_request(
            "invalid-parameter",
            format!("The query parameter {name} {message}."),
        )
        .with_errors(vec![FieldError::new(name, message)])
    }

    /// 400 for several bad query parameters, each named in `errors`: `invalid-cursor` when only
    /// the cursor is wrong (a client then starts the listing again), else `invalid-parameter`.
    pub fn invalid_parameters(errors: Vec<FieldError>) -> Self {
        let code = if errors.iter().all(|error| error.field == "cursor") {
            "invalid-cursor"
        } else {
            "invalid-parameter"
        };
        Self::bad_request(code, "One or more query parameters are invalid.").with_errors(errors)
    }

    /// 409: conflicts with the current state.
    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(409, "Conflict", code, detail)
    }

    /// 413: the body is too large.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, "Content Too Large", "body-too-large", detail)
    }

    /// 415: the body is not in a supported media type.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            415,
            "Unsupported Media Type",
            "unsupported-media-type",
            detail,
        )
    }

    /// 422: well-formed, but the fields are invalid.
    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        Self::new(
            422,
            "Unprocessable Content",
            "validation-failed",
            "One or more fields are invalid.",
        )
        .with_errors(errors)
    }

    /// 500: our fault. The detail never says more than this (the log does).
    pub fn internal() -> Self {
        Self::new(
            500,
            "Internal Server Error",
            "internal-error",
            "The request could not be completed; it has been logged.",
        )
    }

    /// 503: a dependency is unavailable; try again later.
    pub fn service_unavailable(code: &str, detail: impl Into<String>) -> Self {
        Self::new(503, "Service Unavailable", code, detail)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn when_an_extension_is_added_should_serialize_it_beside_the_standard_members() {
        let problem = Problem::conflict("chat-closed", "closed")
            .with_extension("nextOpening", json!("2026-12-03T07:00:00Z"));
        let value = serde_json::to_value(&problem).unwrap();
        assert_eq!(value["nextOpening"], "2026-12-03T07:00:00Z");
        assert_eq!(value["code"], "chat-closed");
        let plain = serde_json::to_value(Problem::conflict("x", "y")).unwrap();
        assert_eq!(plain.as_object().unwrap().len(), 5);
    }

    #[test]
    fn when_serialized_should_have_rfc9457_members_and_code() {
        // GIVEN a validation problem
        let problem = Problem::unprocessable(vec![FieldError::new("text", "must not be empty")]);
        // WHEN serialized
        let json = serde_json::to_value(&problem).unwrap();
        // THEN it carries type, title, status, detail, code and errors
        assert_eq!(
            json,
            json!({
                "type": "urn:linka:problem:validation-failed",
                "title": "Unprocessable Content",
                "status": 422,
                "detail": "One or more fields are invalid.",
                "code": "validation-failed",
                "errors": [{"field": "text", "message": "must not be empty"}]
            })
        );
    }

    #[test]
    fn when_there_are_no_field_errors_should_omit_errors() {
        let json =
            serde_json::to_value(Problem::not_found("user-not-found", "No such user.")).unwrap();
        assert!(json.get("errors").is_none());
        assert_eq!(json["status"], 404);
    }

    #[test]
    fn when_constructed_should_have_matching_statuses() {
        let statuses = [
            Problem::bad_request("x", "").status,
            Problem::unauthorized("x", "").status,
            Problem::forbidden("x", "").status,
            Problem::not_found("x", "").status,
            Problem::method_not_allowed("").status,
            Problem::conflict("x", "").status,
            Problem::payload_too_large("").status,
            Problem::unsupported_media_type("").status,
            Problem::unprocessable(vec![]).status,
            Problem::internal().status,
            Problem::service_unavailable("x", "").status,
        ];
        assert_eq!(
            statuses,
            [400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503]
        );
    }
}
