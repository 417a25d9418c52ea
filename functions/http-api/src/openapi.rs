//! The API description, `docs/api/openapi.yaml`, compiled in and served as JSON.

use thiserror::Error;

/// The source of truth, embedded at build time.
const OPENAPI_YAML: &str = include_str!("../../../docs/api/openapi.yaml");

#[derive(Debug, Error)]
pub enum OpenApiError {
    #[error("docs/api/openapi.yaml is not valid YAML")]
    Yaml(#[source] serde_norway::Error),
    #[error("docs/api/openapi.yaml cannot be written as JSON")]
    Json(#[source] serde_json::Error),
}

/// The OpenAPI document as JSON text, converted once at start-up.
#[derive(Debug, Clone)]
pub struct OpenApiDocument {
    json: String,
}

impl OpenApiDocument {
    /// Converts the embedded YAML. Fails at start-up (not per request) if it is broken.
    pub fn embedded() -> Result<Self, OpenApiError> {
        let value: serde_json::Value =
            serde_norway::from_str(OPENAPI_YAML).map_err(OpenApiError::Yaml)?;
        let json = serde_json::to_string(&value).map_err(OpenApiError::Json)?;
        Ok(Self { json })
    }

    pub fn json(&self) -> &str {
        &self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ROUTES;

    #[test]
    fn when_document_is_converted_should_be_openapi_3_1_json() {
        // WHEN the embedded YAML is converted
        let document = OpenApiDocument::embedded().unwrap();
        let value: serde_json::Value = serde_json::from_str(document.json()).unwrap();
        // THEN it is an OpenAPI 3.1 document with paths
        assert!(value["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(value["paths"].is_object());
    }

    #[test]
    fn when_routes_are_compared_with_the_document_should_all_be_documented() {
        // GIVEN the routes this function serves
        let value: serde_json::Value =
            serde_json::from_str(OpenApiDocument::embedded().unwrap().json()).unwrap();
        // THEN each (method, path) is an operation of the document
        // The ANY catch-all is not an operation of its own.
        for (method, path) in ROUTES.iter().filter(|(method, _)| *method != "ANY") {
            let operation = &value["paths"][path][method.to_ascii_lowercase()];
            assert!(
                operation.is_object(),
                "{method} {path} is not in docs/api/openapi.yaml"
            );
        }
    }
}
