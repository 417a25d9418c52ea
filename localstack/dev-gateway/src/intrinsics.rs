//! CloudFormation intrinsic functions, evaluated the way the local stack needs them.
//!
//! A [`Resolver`] knows the template's parameters (defaults plus overrides), its conditions and
//! mappings, the pseudo parameters (`AWS::Region` = `eu-central-1`, `AWS::AccountId` = moto's
//! `123456789012`, `AWS::StackName` = `linka`, …) and what every resource is called locally
//! (`linka-<LogicalId>`, see [`crate::template::physical_name`]). Values that exist only once a
//! resource has been created (a queue's URL, a table's stream ARN) are registered with
//! [`Resolver::set_reference`] / [`Resolver::set_attribute`].
//!
//! Execute-api URLs of the template's APIs are rewritten to the gateway: the WebSocket API's
//! `https://<id>.execute-api.<region>.amazonaws.com/<stage>` (and `wss://…`) becomes
//! `http://127.0.0.1:<port>/ws` (`ws://…/ws`), an HTTP API's becomes `http://127.0.0.1:<port>`.
//!
//! Intrinsics are expected in their long form (`{"Ref": …}`, `{"Fn::Sub": …}`); the template
//! loader turns YAML short tags (`!Ref`, `!Sub`, …) into that form.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::template::{physical_name, Document};

/// `AWS::Region` locally.
pub const REGION: &str = "eu-central-1";
/// `AWS::AccountId` locally: the account moto uses for everything it creates.
pub const ACCOUNT_ID: &str = "123456789012";
/// `AWS::StackName` locally.
pub const STACK_NAME: &str = "linka";
/// `AWS::Partition`.
pub const PARTITION: &str = "aws";
/// `AWS::URLSuffix`.
pub const URL_SUFFIX: &str = "amazonaws.com";

/// Why a value could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    #[error("Ref to {0}, which is neither a parameter, a pseudo parameter nor a resource")]
    UnknownReference(String),
    #[error("parameter {0} has no Default and no override")]
    MissingParameter(String),
    #[error("override given for {0}, which is not a parameter of the template")]
    UnknownParameter(String),
    #[error(
        "value {value:?} of parameter {parameter} is not one of its AllowedValues {allowed:?}"
    )]
    NotAllowed {
        parameter: String,
        value: String,
        allowed: Vec<String>,
    },
    #[error(
        "parameter {parameter} has type {parameter_type}, which the local stack cannot provide"
    )]
    UnsupportedParameterType {
        parameter: String,
        parameter_type: String,
    },
    #[error("resource {resource} has no attribute {attribute} locally")]
    UnknownAttribute { resource: String, attribute: String },
    #[error("{what} of resource {resource} is not known yet (the resource has not been created)")]
    NotYetKnown { resource: String, what: String },
    #[error("malformed {function}: {reason}")]
    Malformed { function: String, reason: String },
    #[error("unknown condition {0}")]
    UnknownCondition(String),
    #[error("condition {0} depends on itself")]
    ConditionCycle(String),
    #[error("{0} is not supported by the local stack")]
    Unsupported(String),
    #[error("AWS::NoValue where a value is required")]
    NoValue,
}

fn malformed(function: &str, reason: impl Into<String>) -> IntrinsicError {
    IntrinsicError::Malformed {
        function: function.to_owned(),
        reason: reason.into(),
    }
}

/// What `Ref` and `Fn::GetAtt` return for one resource locally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttributes {
    /// The CloudFormation type, e.g. `AWS::SQS::Queue`.
    pub resource_type: String,
    /// The local physical name (`linka-<LogicalId>`, lower-case for buckets, `.fifo` for FIFO).
    pub physical_name: String,
    /// What `Ref` returns; `None` until known (a queue's URL is known once it exists).
    pub reference: Option<String>,
    /// `Fn::GetAtt` values known so far.
    pub attributes: BTreeMap<String, String>,
    /// Attributes that will be known once the resource is created.
    pub pending: BTreeSet<String>,
}

/// Inputs a [`Resolver`] needs besides the template.
#[derive(Debug, Clone, Default)]
pub struct ResolverSettings {
    /// Parameter values that replace the template's defaults.
    pub parameter_overrides: BTreeMap<String, String>,
    /// Where the gateway listens, e.g. `http://127.0.0.1:8080` (no trailing slash).
    pub local_base_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiKind {
    Http,
    WebSocket,
}

/// Evaluates intrinsic functions against one template (see the module docs).
#[derive(Debug, Clone)]
pub struct Resolver {
    parameters: BTreeMap<String, Value>,
    conditions: Map<String, Value>,
    mappings: Map<String, Value>,
    resources: BTreeMap<String, ResourceAttributes>,
    apis: Vec<(String, ApiKind)>,
    local_base_url: String,
}

impl Resolver {
    /// Builds a resolver for `document`: parameter values (override, else default), conditions,
    /// and the local names and ARNs of every resource.
    pub fn new(document: &Document, settings: &ResolverSettings) -> Result<Self, IntrinsicError> {
        let mut resolver = Resolver {
            parameters: BTreeMap::new(),
            conditions: document.conditions.clone(),
            mappings: document.mappings.clone(),
            resources: BTreeMap::new(),
            apis: Vec::new(),
            local_base_url: settings.local_base_url.trim_end_matches('/').to_owned(),
        };
        for name in settings.parameter_overrides.keys() {
            if !document.parameters.contains_key(name) {
                return Err(IntrinsicError::UnknownParameter(name.clone()));
            }
        }
        for (name, declaration) in &document.parameters {
            let value = parameter_value(name, declaration, settings.parameter_overrides.get(name))?;
            resolver.parameters.insert(name.clone(), value);
        }
        for (logical_id, resource) in &document.resources {
            let resource_type = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let properties = resource.get("Properties").cloned().unwrap_or(Value::Null);
            let fifo = match resource_type.as_str() {
                "AWS::SQS::Queue" => resolver.flag(&properties, "FifoQueue")?,
                "AWS::SNS::Topic" => resolver.flag(&properties, "FifoTopic")?,
                _ => false,
            };
            let mut attributes = resolver.describe_resource(logical_id, &resource_type, fifo);
            if resource_type == "AWS::ApiGatewayV2::Api" {
                let protocol = match properties.get("ProtocolType") {
                    Some(value) => resolver.resolve_string(value)?,
                    None => String::new(),
                };
                let kind = if protocol.eq_ignore_ascii_case("WEBSOCKET") {
                    ApiKind::WebSocket
                } else {
                    ApiKind::Http
                };
                resolver.add_api(logical_id, kind, &mut attributes);
            } else if resource_type == "AWS::Serverless::HttpApi" {
                resolver.add_api(logical_id, ApiKind::Http, &mut attributes);
            }
            resolver.resources.insert(logical_id.clone(), attributes);
        }
        if !resolver.resources.contains_key("ServerlessHttpApi") && document.has_implicit_http_api()
        {
            let mut attributes =
                resolver.describe_resource("ServerlessHttpApi", "AWS::Serverless::HttpApi", false);
            resolver.add_api("ServerlessHttpApi", ApiKind::Http, &mut attributes);
            resolver
                .resources
                .insert("ServerlessHttpApi".to_owned(), attributes);
        }
        Ok(resolver)
    }

    fn flag(&self, properties: &Value, key: &str) -> Result<bool, IntrinsicError> {
        match properties.get(key) {
            None => Ok(false),
            Some(value) => match self.resolve(value)? {
                Some(Value::Bool(flag)) => Ok(flag),
                Some(Value::String(text)) => Ok(text.eq_ignore_ascii_case("true")),
                _ => Ok(false),
            },
        }
    }

    fn describe_resource(
        &self,
        logical_id: &str,
        resource_type: &str,
        fifo: bool,
    ) -> ResourceAttributes {
        let name = physical_name(logical_id, resource_type, fifo);
        let mut resource = ResourceAttributes {
            resource_type: resource_type.to_owned(),
            physical_name: name.clone(),
            reference: Some(name.clone()),
            ..ResourceAttributes::default()
        };
        let attrs = &mut resource.attributes;
        match resource_type {
            "AWS::DynamoDB::Table" => {
                attrs.insert(
                    "Arn".into(),
                    format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"),
                );
                resource.pending.insert("StreamArn".into());
            }
            "AWS::SQS::Queue" => {
                resource.reference = None;
                attrs.insert(
                    "Arn".into(),
                    format!("arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{name}"),
                );
                attrs.insert("QueueName".into(), name.clone());
                resource.pending.insert("QueueUrl".into());
            }
            "AWS::S3::Bucket" => {
                attrs.insert("Arn".into(), format!("arn:{PARTITION}:s3:::{name}"));
                attrs.insert("DomainName".into(), format!("{name}.s3.{URL_SUFFIX}"));
                attrs.insert(
                    "RegionalDomainName".into(),
                    format!("{name}.s3.{REGION}.{URL_SUFFIX}"),
                );
                attrs.insert(
                    "DualStackDomainName".into(),
                    format!("{name}.s3.dualstack.{REGION}.{URL_SUFFIX}"),
                );
            }
            "AWS::SNS::Topic" => {
                let arn = format!("arn:{PARTITION}:sns:{REGION}:{ACCOUNT_ID}:{name}");
                resource.reference = Some(arn.clone());
                attrs.insert("TopicArn".into(), arn);
                attrs.insert("TopicName".into(), name.clone());
            }
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                attrs.insert(
                    "Arn".into(),
                    format!("arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"),
                );
            }
            "AWS::IAM::Role" => {
                attrs.insert(
                    "Arn".into(),
                    format!("arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{name}"),
                );
                attrs.insert("RoleId".into(), name.clone());
            }
            "AWS::Events::Rule" => {
                attrs.insert(
                    "Arn".into(),
                    format!("arn:{PARTITION}:events:{REGION}:{ACCOUNT_ID}:rule/{name}"),
                );
            }
            "AWS::Scheduler::Schedule" => {
                attrs.insert(
                    "Arn".into(),
                    format!(
                        "arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{name}"
                    ),
                );
            }
            _ => {}
        }
        resource
    }

    fn add_api(&mut self, logical_id: &str, kind: ApiKind, resource: &mut ResourceAttributes) {
        let id = api_id(logical_id);
        resource.reference = Some(id.clone());
        resource.attributes.insert("ApiId".into(), id.clone());
        let endpoint = match kind {
            ApiKind::WebSocket => format!("{}/ws", websocket_base(&self.local_base_url)),
            ApiKind::Http => self.local_base_url.clone(),
        };
        resource.attributes.insert("ApiEndpoint".into(), endpoint);
        self.apis.push((id, kind));
    }

    /// Registers what `Ref` of `logical_id` returns (e.g. a queue's URL once it exists).
    pub fn set_reference(&mut self, logical_id: &str, value: impl Into<String>) {
        if let Some(resource) = self.resources.get_mut(logical_id) {
            resource.reference = Some(value.into());
        }
    }

    /// Registers an `Fn::GetAtt` value of `logical_id` (e.g. `StreamArn` once the table exists).
    pub fn set_attribute(&mut self, logical_id: &str, attribute: &str, value: impl Into<String>) {
        if let Some(resource) = self.resources.get_mut(logical_id) {
            resource.pending.remove(attribute);
            resource
                .attributes
                .insert(attribute.to_owned(), value.into());
        }
    }

    /// What the resolver knows about one resource.
    pub fn resource(&self, logical_id: &str) -> Option<&ResourceAttributes> {
        self.resources.get(logical_id)
    }

    /// The value of a parameter (after overrides).
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name)
    }

    /// Resolves every intrinsic inside `value`. `Ok(None)` means the value is `AWS::NoValue`
    /// (the property is to be left out).
    pub fn resolve(&self, value: &Value) -> Result<Option<Value>, IntrinsicError> {
        match value {
            Value::Object(map) => {
                if let Some((key, argument)) = single_entry(map) {
                    if key == "Ref" || key.starts_with("Fn::") {
                        return self.intrinsic(key, argument);
                    }
                }
                let mut resolved = Map::new();
                for (key, item) in map {
                    if let Some(item) = self.resolve(item)? {
                        resolved.insert(key.clone(), item);
                    }
                }
                Ok(Some(Value::Object(resolved)))
            }
            Value::Array(items) => {
                let mut resolved = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(item) = self.resolve(item)? {
                        resolved.push(item);
                    }
                }
                Ok(Some(Value::Array(resolved)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    /// Resolves `value`, which must not be `AWS::NoValue`.
    pub fn resolve_required(&self, value: &Value) -> Result<Value, IntrinsicError> {
        self.resolve(value)?.ok_or(IntrinsicError::NoValue)
    }

    /// Resolves `value` to a string (numbers and booleans are written out as CloudFormation does).
    pub fn resolve_string(&self, value: &Value) -> Result<String, IntrinsicError> {
        let resolved = self.resolve_required(value)?;
        scalar_to_string(&resolved)
            .ok_or_else(|| malformed("value", format!("expected a string, got {resolved}")))
    }

    /// Whether the named condition of the template holds.
    pub fn condition(&self, name: &str) -> Result<bool, IntrinsicError> {
        self.named_condition(name, &mut Vec::new())
    }

    fn named_condition(&self, name: &str, stack: &mut Vec<String>) -> Result<bool, IntrinsicError> {
        if stack.iter().any(|seen| seen == name) {
            return Err(IntrinsicError::ConditionCycle(name.to_owned()));
        }
        let expression = self
            .conditions
            .get(name)
            .ok_or_else(|| IntrinsicError::UnknownCondition(name.to_owned()))?;
        stack.push(name.to_owned());
        let result = self.condition_expression(expression, stack);
        stack.pop();
        result
    }

    fn condition_expression(
        &self,
        expression: &Value,
        stack: &mut Vec<String>,
    ) -> Result<bool, IntrinsicError> {
        if let Value::Object(map) = expression {
            if let Some((key, argument)) = single_entry(map) {
                match key.as_str() {
                    "Condition" => {
                        let name = argument
                            .as_str()
                            .ok_or_else(|| malformed("Condition", "expected a condition name"))?;
                        return self.named_condition(name, stack);
                    }
                    "Fn::Not" => {
                        let operand = list_argument("Fn::Not", argument, 1)?;
                        return Ok(!self.condition_expression(&operand[0], stack)?);
                    }
                    "Fn::And" | "Fn::Or" => {
                        let operands = argument
                            .as_array()
                            .ok_or_else(|| malformed(key, "expected a list of conditions"))?;
                        let mut results = Vec::with_capacity(operands.len());
                        for operand in operands {
                            results.push(self.condition_expression(operand, stack)?);
                        }
                        return Ok(if key == "Fn::And" {
                            results.iter().all(|result| *result)
                        } else {
                            results.iter().any(|result| *result)
                        });
                    }
                    _ => {}
                }
            }
        }
        match self.resolve_required(expression)? {
            Value::Bool(result) => Ok(result),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
            other => Err(malformed(
                "condition",
                format!("expected a boolean, got {other}"),
            )),
        }
    }

    fn intrinsic(&self, name: &str, argument: &Value) -> Result<Option<Value>, IntrinsicError> {
        match name {
            "Ref" => {
                let target = argument
                    .as_str()
                    .ok_or_else(|| malformed("Ref", "expected a name"))?;
                self.reference(target)
            }
            "Fn::GetAtt" => self
                .get_att(argument)
                .map(|value| Some(Value::String(value))),
            "Fn::Sub" => self.sub(argument).map(|value| Some(Value::String(value))),
            "Fn::Join" => self.join(argument).map(|value| Some(Value::String(value))),
            "Fn::Select" => self.select(argument),
            "Fn::Split" => {
                let operands = list_argument(name, argument, 2)?;
                let delimiter = self.resolve_string(&operands[0])?;
                let text = self.resolve_string(&operands[1])?;
                Ok(Some(Value::Array(
                    text.split(delimiter.as_str())
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                )))
            }
            "Fn::If" => {
                let operands = list_argument(name, argument, 3)?;
                let condition = operands[0]
                    .as_str()
                    .ok_or_else(|| malformed(name, "the first item must be a condition name"))?;
                if self.condition(condition)? {
                    self.resolve(&operands[1])
                } else {
                    self.resolve(&operands[2])
                }
            }
            "Fn::Equals" => {
                let operands = list_argument(name, argument, 2)?;
                let left = self.resolve_required(&operands[0])?;
                let right = self.resolve_required(&operands[1])?;
                let equal = match (scalar_to_string(&left), scalar_to_string(&right)) {
                    (Some(left), Some(right)) => left == right,
                    _ => left == right,
                };
                Ok(Some(Value::Bool(equal)))
            }
            "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let mut expression = Map::new();
                expression.insert(name.to_owned(), argument.clone());
                let result =
                    self.condition_expression(&Value::Object(expression), &mut Vec::new())?;
                Ok(Some(Value::Bool(result)))
            }
            "Fn::FindInMap" => {
                let operands = list_argument(name, argument, 3)?;
                let map_name = self.resolve_string(&operands[0])?;
                let top = self.resolve_string(&operands[1])?;
                let second = self.resolve_string(&operands[2])?;
                let value = self
                    .mappings
                    .get(&map_name)
                    .and_then(|mapping| mapping.get(&top))
                    .and_then(|entry| entry.get(&second))
                    .ok_or_else(|| {
                        malformed(name, format!("no entry {map_name}.{top}.{second}"))
                    })?;
                self.resolve(value)
            }
            "Fn::GetAZs" => Ok(Some(Value::Array(
                ["a", "b", "c"]
                    .iter()
                    .map(|zone| Value::String(format!("{REGION}{zone}")))
                    .collect(),
            ))),
            "Fn::Base64" => {
                let text = self.resolve_string(argument)?;
                Ok(Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                )))
            }
            "Fn::ToJsonString" => {
                let value = self.resolve_required(argument)?;
                Ok(Some(Value::String(value.to_string())))
            }
            "Fn::Length" => match self.resolve_required(argument)? {
                Value::Array(items) => Ok(Some(Value::from(items.len()))),
                other => Err(malformed(name, format!("expected a list, got {other}"))),
            },
            other => Err(IntrinsicError::Unsupported(other.to_owned())),
        }
    }

    fn reference(&self, target: &str) -> Result<Option<Value>, IntrinsicError> {
        let pseudo = match target {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => Some(REGION.to_owned()),
            "AWS::AccountId" => Some(ACCOUNT_ID.to_owned()),
            "AWS::StackName" => Some(STACK_NAME.to_owned()),
            "AWS::StackId" => Some(format!(
                "arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/00000000-0000-0000-0000-000000000000"
            )),
            "AWS::Partition" => Some(PARTITION.to_owned()),
            "AWS::URLSuffix" => Some(URL_SUFFIX.to_owned()),
            "AWS::NotificationARNs" => return Ok(Some(Value::Array(Vec::new()))),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Some(Value::String(value)));
        }
        if let Some(value) = self.parameters.get(target) {
            return Ok(Some(value.clone()));
        }
        match self.resources.get(target) {
            Some(resource) => match &resource.reference {
                Some(reference) => Ok(Some(Value::String(reference.clone()))),
                None => Err(IntrinsicError::NotYetKnown {
                    resource: target.to_owned(),
                    what: "Ref".to_owned(),
                }),
            },
            None => Err(IntrinsicError::UnknownReference(target.to_owned())),
        }
    }

    fn get_att(&self, argument: &Value) -> Result<String, IntrinsicError> {
        let (resource, attribute) = match argument {
            Value::String(text) => text
                .split_once('.')
                .map(|(resource, attribute)| (resource.to_owned(), attribute.to_owned()))
                .ok_or_else(|| malformed("Fn::GetAtt", format!("{text:?} has no attribute")))?,
            Value::Array(items) if items.len() == 2 => {
                let resource = items[0]
                    .as_str()
                    .ok_or_else(|| malformed("Fn::GetAtt", "the resource must be a name"))?;
                (resource.to_owned(), self.resolve_string(&items[1])?)
            }
            other => {
                return Err(malformed(
                    "Fn::GetAtt",
                    format!("expected [resource, attribute], got {other}"),
                ))
            }
        };
        self.attribute(&resource, &attribute)
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, IntrinsicError> {
        let known = self
            .resources
            .get(resource)
            .ok_or_else(|| IntrinsicError::UnknownReference(resource.to_owned()))?;
        if let Some(value) = known.attributes.get(attribute) {
            return Ok(value.clone());
        }
        if known.pending.contains(attribute) {
            return Err(IntrinsicError::NotYetKnown {
                resource: resource.to_owned(),
                what: attribute.to_owned(),
            });
        }
        Err(IntrinsicError::UnknownAttribute {
            resource: resource.to_owned(),
            attribute: attribute.to_owned(),
        })
    }

    fn sub(&self, argument: &Value) -> Result<String, IntrinsicError> {
        let (template, variables) = match argument {
            Value::String(template) => (template.as_str(), None),
            Value::Array(items) if items.len() == 2 => {
                let template = items[0]
                    .as_str()
                    .ok_or_else(|| malformed("Fn::Sub", "the first item must be a string"))?;
                let variables = items[1]
                    .as_object()
                    .ok_or_else(|| malformed("Fn::Sub", "the second item must be a mapping"))?;
                (template, Some(variables))
            }
            other => {
                return Err(malformed(
                    "Fn::Sub",
                    format!("expected a string or [string, mapping], got {other}"),
                ))
            }
        };
        let mut output = String::with_capacity(template.len());
        for piece in sub_pieces(template)? {
            match piece {
                SubPiece::Text(text) => output.push_str(&text),
                SubPiece::Variable(name) => {
                    let value = match variables.and_then(|variables| variables.get(&name)) {
                        Some(value) => self.resolve_string(value)?,
                        None => match name.split_once('.') {
                            Some((resource, attribute)) if !name.starts_with("AWS::") => {
                                self.attribute(resource, attribute)?
                            }
                            _ => {
                                let value =
                                    self.reference(&name)?.ok_or(IntrinsicError::NoValue)?;
                                scalar_to_string(&value).ok_or_else(|| {
                                    malformed("Fn::Sub", format!("${{{name}}} is not a string"))
                                })?
                            }
                        },
                    };
                    output.push_str(&value);
                }
            }
        }
        Ok(self.localize(output))
    }

    fn join(&self, argument: &Value) -> Result<String, IntrinsicError> {
        let operands = list_argument("Fn::Join", argument, 2)?;
        let delimiter = self.resolve_string(&operands[0])?;
        let items = match self.resolve_required(&operands[1])? {
            Value::Array(items) => items,
            other => {
                return Err(malformed(
                    "Fn::Join",
                    format!("expected a list to join, got {other}"),
                ))
            }
        };
        let parts = items
            .iter()
            .map(|item| {
                scalar_to_string(item)
                    .ok_or_else(|| malformed("Fn::Join", format!("cannot join {item}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.localize(parts.join(&delimiter)))
    }

    fn select(&self, argument: &Value) -> Result<Option<Value>, IntrinsicError> {
        let operands = list_argument("Fn::Select", argument, 2)?;
        let index_text = self.resolve_string(&operands[0])?;
        let index: usize = index_text
            .parse()
            .map_err(|_| malformed("Fn::Select", format!("{index_text:?} is not an index")))?;
        match self.resolve_required(&operands[1])? {
            Value::Array(mut items) if index < items.len() => Ok(Some(items.swap_remove(index))),
            Value::Array(items) => Err(malformed(
                "Fn::Select",
                format!("index {index} out of a list of {}", items.len()),
            )),
            other => Err(malformed(
                "Fn::Select",
                format!("expected a list, got {other}"),
            )),
        }
    }

    /// Rewrites execute-api URLs of the template's APIs to the gateway (see the module docs).
    fn localize(&self, text: String) -> String {
        for (id, kind) in &self.apis {
            for scheme in ["https", "wss"] {
                let prefix = format!("{scheme}://{id}.execute-api.{REGION}.{URL_SUFFIX}");
                let Some(rest) = text.strip_prefix(&prefix) else {
                    continue;
                };
                if !(rest.is_empty() || rest.starts_with('/')) {
                    continue;
                }
                return match kind {
                    ApiKind::WebSocket => {
                        // Drop the stage segment: locally the API lives at /ws.
                        let after_stage = rest
                            .strip_prefix('/')
                            .map(|path| path.find('/').map_or("", |slash| &path[slash..]))
                            .unwrap_or("");
                        let base = if scheme == "wss" {
                            websocket_base(&self.local_base_url)
                        } else {
                            self.local_base_url.clone()
                        };
                        format!("{base}/ws{after_stage}")
                    }
                    ApiKind::Http => format!("{}{rest}", self.local_base_url),
                };
            }
        }
        text
    }
}

/// The local API id of an API Gateway resource: 10 lower-case letters and digits derived from
/// its logical id (stable across runs), shaped like API Gateway's ids.
pub fn api_id(logical_id: &str) -> String {
    use sha2::Digest as _;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    sha2::Sha256::digest(logical_id.as_bytes())
        .iter()
        .take(10)
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect()
}

fn websocket_base(http_base: &str) -> String {
    if let Some(rest) = http_base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = http_base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        http_base.to_owned()
    }
}

fn parameter_value(
    name: &str,
    declaration: &Value,
    override_value: Option<&String>,
) -> Result<Value, IntrinsicError> {
    let parameter_type = declaration
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("String");
    let raw = match override_value {
        Some(value) => value.clone(),
        None => match declaration.get("Default") {
            Some(default) => scalar_to_string(default).ok_or_else(|| {
                malformed("Parameters", format!("default of {name} is not a scalar"))
            })?,
            None => return Err(IntrinsicError::MissingParameter(name.to_owned())),
        },
    };
    if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().filter_map(scalar_to_string).collect();
        if !allowed.contains(&raw) {
            return Err(IntrinsicError::NotAllowed {
                parameter: name.to_owned(),
                value: raw,
                allowed,
            });
        }
    }
    if parameter_type.starts_with("AWS::SSM::") {
        return Err(IntrinsicError::UnsupportedParameterType {
            parameter: name.to_owned(),
            parameter_type: parameter_type.to_owned(),
        });
    }
    if parameter_type == "CommaDelimitedList" || parameter_type.starts_with("List<") {
        let items = if raw.is_empty() {
            Vec::new()
        } else {
            raw.split(',')
                .map(|item| Value::String(item.trim().to_owned()))
                .collect()
        };
        return Ok(Value::Array(items));
    }
    Ok(Value::String(raw))
}

fn single_entry(map: &Map<String, Value>) -> Option<(&String, &Value)> {
    if map.len() == 1 {
        map.iter().next()
    } else {
        None
    }
}

fn list_argument<'a>(
    function: &str,
    argument: &'a Value,
    length: usize,
) -> Result<&'a [Value], IntrinsicError> {
    match argument {
        Value::Array(items) if items.len() == length => Ok(items),
        other => Err(malformed(
            function,
            format!("expected a list of {length} items, got {other}"),
        )),
    }
}

/// A string, number or boolean written out as text; `None` for lists, mappings and null.
pub fn scalar_to_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

enum SubPiece {
    Text(String),
    Variable(String),
}

fn sub_pieces(template: &str) -> Result<Vec<SubPiece>, IntrinsicError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(literal) = after.strip_prefix('!') {
            // `${!Name}` is the literal `${Name}`.
            text.push_str("${");
            rest = literal;
            continue;
        }
        let end = after
            .find('}')
            .ok_or_else(|| malformed("Fn::Sub", format!("unclosed ${{ in {template:?}")))?;
        let name = after[..end].trim();
        if name.is_empty() {
            return Err(malformed("Fn::Sub", format!("empty ${{}} in {template:?}")));
        }
        if !text.is_empty() {
            pieces.push(SubPiece::Text(std::mem::take(&mut text)));
        }
        pieces.push(SubPiece::Variable(name.to_owned()));
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(SubPiece::Text(text));
    }
    Ok(pieces)
}

/// The logical ids a value refers to through `Ref`, `Fn::GetAtt` and `Fn::Sub` variables
/// (pseudo parameters and `Fn::Sub` local variables excluded).
pub fn referenced_ids(value: &Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    collect_references(value, &mut ids);
    ids
}

fn collect_references(value: &Value, ids: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some((key, argument)) = single_entry(map) {
                match key.as_str() {
                    "Ref" => {
                        if let Some(name) = argument.as_str() {
                            if !name.starts_with("AWS::") {
                                ids.insert(name.to_owned());
                            }
                        }
                        return;
                    }
                    "Fn::GetAtt" => {
                        match argument {
                            Value::String(text) => {
                                if let Some((resource, _)) = text.split_once('.') {
                                    ids.insert(resource.to_owned());
                                }
                            }
                            Value::Array(items) => {
                                if let Some(resource) = items.first().and_then(Value::as_str) {
                                    ids.insert(resource.to_owned());
                                }
                            }
                            _ => {}
                        }
                        return;
                    }
                    "Fn::Sub" => {
                        let (template, variables) = match argument {
                            Value::String(template) => (Some(template.as_str()), None),
                            Value::Array(items) => (
                                items.first().and_then(Value::as_str),
                                items.get(1).and_then(Value::as_object),
                            ),
                            _ => (None, None),
                        };
                        if let Some(Ok(pieces)) = template.map(sub_pieces) {
                            for piece in pieces {
                                if let SubPiece::Variable(name) = piece {
                                    let local =
                                        variables.is_some_and(|vars| vars.contains_key(&name));
                                    if !local && !name.starts_with("AWS::") {
                                        let resource = name
                                            .split_once('.')
                                            .map_or(name.as_str(), |(id, _)| id);
                                        ids.insert(resource.to_owned());
                                    }
                                }
                            }
                        }
                        if let Some(variables) = variables {
                            for variable in variables.values() {
                                collect_references(variable, ids);
                            }
                        }
                        return;
                    }
                    _ => {}
                }
            }
            for item in map.values() {
                collect_references(item, ids);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_references(item, ids);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Document;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Parameters:
  Stage:
    Type: String
    Default: prod
    AllowedValues: [prod, test]
  DomainName:
    Type: String
    Default: ""
  AuthIssuer:
    Type: String
  Zones:
    Type: CommaDelimitedList
    Default: "a,b,c"
Conditions:
  HasDomain: !Not [!Equals [!Ref DomainName, ""]]
  IsProd: !Equals [!Ref Stage, prod]
  ProdWithDomain: !And [!Condition HasDomain, !Condition IsProd]
Mappings:
  Sizes:
    prod:
      Memory: 512
Resources:
  WebSocketApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  BroadcastQueue:
    Type: AWS::SQS::Queue
  OrdersQueue:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
  UsersTable:
    Type: AWS::DynamoDB::Table
  RecordingsBucket:
    Type: AWS::S3::Bucket
  AlertsTopic:
    Type: AWS::SNS::Topic
  WsApiFunction:
    Type: AWS::Serverless::Function
"#;

    fn resolver_with(overrides: &[(&str, &str)]) -> Resolver {
        let document = Document::from_yaml(TEMPLATE).unwrap();
        let settings = ResolverSettings {
            parameter_overrides: overrides
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            local_base_url: "http://127.0.0.1:8080".into(),
        };
        Resolver::new(&document, &settings).unwrap()
    }

    fn resolver() -> Resolver {
        resolver_with(&[("AuthIssuer", "http://127.0.0.1:8080/auth")])
    }

    fn yaml(text: &str) -> Value {
        Document::yaml_value(text).unwrap()
    }

    #[test]
    fn when_a_parameter_is_overridden_should_ref_the_override_else_the_default() {
        let resolver = resolver_with(&[("AuthIssuer", "http://issuer"), ("Stage", "test")]);
        assert_eq!(
            resolver.resolve_string(&yaml("!Ref Stage")).unwrap(),
            "test"
        );
        assert_eq!(
            resolver.resolve_string(&yaml("!Ref AuthIssuer")).unwrap(),
            "http://issuer"
        );
        assert_eq!(
            resolver.resolve_string(&yaml("!Ref DomainName")).unwrap(),
            ""
        );
    }

    #[test]
    fn when_a_parameter_has_no_default_and_no_override_should_fail() {
        let document = Document::from_yaml(TEMPLATE).unwrap();
        let error = Resolver::new(&document, &ResolverSettings::default()).unwrap_err();
        assert_eq!(error, IntrinsicError::MissingParameter("AuthIssuer".into()));
    }

    #[test]
    fn when_an_override_names_an_unknown_parameter_should_fail() {
        let document = Document::from_yaml(TEMPLATE).unwrap();
        let settings = ResolverSettings {
            parameter_overrides: [
                ("AuthIssuer".into(), "x".into()),
                ("Stag".into(), "x".into()),
            ]
            .into(),
            local_base_url: String::new(),
        };
        let error = Resolver::new(&document, &settings).unwrap_err();
        assert_eq!(error, IntrinsicError::UnknownParameter("Stag".into()));
    }

    #[test]
    fn when_an_override_is_not_an_allowed_value_should_fail() {
        let document = Document::from_yaml(TEMPLATE).unwrap();
        let settings = ResolverSettings {
            parameter_overrides: [
                ("AuthIssuer".into(), "x".into()),
                ("Stage".into(), "dev".into()),
            ]
            .into(),
            local_base_url: String::new(),
        };
        let error = Resolver::new(&document, &settings).unwrap_err();
        assert!(
            matches!(error, IntrinsicError::NotAllowed { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn when_resolving_pseudo_parameters_should_use_the_local_account_and_region() {
        let resolver = resolver();
        let value = yaml(
            r#"!Sub "${AWS::Region}/${AWS::AccountId}/${AWS::StackName}/${AWS::Partition}/${AWS::URLSuffix}""#,
        );
        assert_eq!(
            resolver.resolve_string(&value).unwrap(),
            "eu-central-1/123456789012/linka/aws/amazonaws.com"
        );
    }

    #[test]
    fn when_resolving_refs_and_arns_of_resources_should_use_local_physical_names() {
        let resolver = resolver();
        assert_eq!(
            resolver.resolve_string(&yaml("!Ref UsersTable")).unwrap(),
            "linka-UsersTable"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml("!GetAtt UsersTable.Arn"))
                .unwrap(),
            "arn:aws:dynamodb:eu-central-1:123456789012:table/linka-UsersTable"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml("!Ref RecordingsBucket"))
                .unwrap(),
            "linka-recordingsbucket"
        );
        assert_eq!(
            resolver.resolve_string(&yaml("!Ref AlertsTopic")).unwrap(),
            "arn:aws:sns:eu-central-1:123456789012:linka-AlertsTopic"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml("!GetAtt [OrdersQueue, QueueName]"))
                .unwrap(),
            "linka-OrdersQueue.fifo"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml("!GetAtt WsApiFunction.Arn"))
                .unwrap(),
            "arn:aws:lambda:eu-central-1:123456789012:function:linka-WsApiFunction"
        );
    }

    #[test]
    fn when_a_queue_url_is_not_registered_yet_should_say_so_and_use_it_once_registered() {
        let mut resolver = resolver();
        let value = yaml("!Ref BroadcastQueue");
        assert!(matches!(
            resolver.resolve(&value),
            Err(IntrinsicError::NotYetKnown { .. })
        ));
        resolver.set_reference(
            "BroadcastQueue",
            "http://127.0.0.1:4566/123456789012/linka-BroadcastQueue",
        );
        assert_eq!(
            resolver.resolve_string(&value).unwrap(),
            "http://127.0.0.1:4566/123456789012/linka-BroadcastQueue"
        );
    }

    #[test]
    fn when_the_websocket_execute_api_url_is_built_should_resolve_to_the_gateway() {
        let resolver = resolver();
        let value = yaml(
            r#"!Sub "https://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/${Stage}""#,
        );
        assert_eq!(
            resolver.resolve_string(&value).unwrap(),
            "http://127.0.0.1:8080/ws"
        );
        let joined = yaml(
            r#"!Join ["", ["https://", !Ref WebSocketApi, ".execute-api.", !Ref "AWS::Region", ".amazonaws.com/", !Ref Stage, "/@connections"]]"#,
        );
        assert_eq!(
            resolver.resolve_string(&joined).unwrap(),
            "http://127.0.0.1:8080/ws/@connections"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml("!GetAtt WebSocketApi.ApiEndpoint"))
                .unwrap(),
            "ws://127.0.0.1:8080/ws"
        );
    }

    #[test]
    fn when_an_api_is_referenced_should_use_the_same_id_as_the_gateway_fronts() {
        let resolver = resolver();
        let id = resolver.resolve_string(&yaml("!Ref WebSocketApi")).unwrap();
        assert_eq!(id.len(), 10);
        assert_eq!(id, crate::http_api::api_id("WebSocketApi"));
    }

    #[test]
    fn when_conditions_combine_should_evaluate_them_and_pick_the_if_branch() {
        let resolver = resolver();
        assert!(!resolver.condition("HasDomain").unwrap());
        assert!(resolver.condition("IsProd").unwrap());
        assert!(!resolver.condition("ProdWithDomain").unwrap());
        let value = yaml(r#"!If [HasDomain, !Sub "https://ws.${DomainName}", "none"]"#);
        assert_eq!(resolver.resolve_string(&value).unwrap(), "none");
        let with_domain = resolver_with(&[("AuthIssuer", "x"), ("DomainName", "linka.example")]);
        assert_eq!(
            with_domain.resolve_string(&value).unwrap(),
            "https://ws.linka.example"
        );
    }

    #[test]
    fn when_if_yields_no_value_should_drop_the_property() {
        let resolver = resolver();
        let value =
            yaml("{A: 1, B: !If [HasDomain, 2, !Ref 'AWS::NoValue'], C: [1, !Ref 'AWS::NoValue']}");
        assert_eq!(
            resolver.resolve(&value).unwrap(),
            Some(json!({"A": 1, "C": [1]}))
        );
    }

    #[test]
    fn when_using_select_split_join_and_find_in_map_should_compute_like_cloudformation() {
        let resolver = resolver();
        assert_eq!(
            resolver
                .resolve_string(&yaml("!Select [1, !Ref Zones]"))
                .unwrap(),
            "b"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml(r#"!Join ["-", !Split [",", "x,y"]]"#))
                .unwrap(),
            "x-y"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml("!FindInMap [Sizes, !Ref Stage, Memory]"))
                .unwrap(),
            "512"
        );
        assert_eq!(
            resolver
                .resolve_string(&yaml("!Select [0, !GetAZs '']"))
                .unwrap(),
            "eu-central-1a"
        );
    }

    #[test]
    fn when_sub_has_local_variables_and_escapes_should_substitute_them() {
        let resolver = resolver();
        let value = yaml(r#"!Sub ["${Name}-${!Literal}-${UsersTable.Arn}", {Name: !Ref Stage}]"#);
        assert_eq!(
            resolver.resolve_string(&value).unwrap(),
            "prod-${Literal}-arn:aws:dynamodb:eu-central-1:123456789012:table/linka-UsersTable"
        );
    }

    #[test]
    fn when_long_form_intrinsics_are_used_should_resolve_like_short_tags() {
        let resolver = resolver();
        let value =
            json!({"Fn::Join": ["/", [{"Ref": "Stage"}, {"Fn::GetAtt": ["UsersTable", "Arn"]}]]});
        assert_eq!(
            resolver.resolve_string(&value).unwrap(),
            "prod/arn:aws:dynamodb:eu-central-1:123456789012:table/linka-UsersTable"
        );
    }

    #[test]
    fn when_a_reference_or_attribute_is_unknown_should_fail_with_its_name() {
        let resolver = resolver();
        assert_eq!(
            resolver.resolve(&yaml("!Ref Nope")).unwrap_err(),
            IntrinsicError::UnknownReference("Nope".into())
        );
        assert!(matches!(
            resolver
                .resolve(&yaml("!GetAtt UsersTable.Nope"))
                .unwrap_err(),
            IntrinsicError::UnknownAttribute { .. }
        ));
        assert!(matches!(
            resolver
                .resolve(&yaml("!GetAtt UsersTable.StreamArn"))
                .unwrap_err(),
            IntrinsicError::NotYetKnown { .. }
        ));
        assert!(matches!(
            resolver
                .resolve(&json!({"Fn::ImportValue": "x"}))
                .unwrap_err(),
            IntrinsicError::Unsupported(_)
        ));
    }

    #[test]
    fn when_collecting_references_should_find_refs_getatts_and_sub_variables() {
        let value = yaml(
            r#"!Sub ["arn:${AWS::Partition}:x/${WsApiFunction.Arn}/${Local}/${Stage}", {Local: !Ref UsersTable}]"#,
        );
        let ids = referenced_ids(&value);
        assert_eq!(
            ids.into_iter().collect::<Vec<_>>(),
            vec!["Stage", "UsersTable", "WsApiFunction"]
        );
    }
}
