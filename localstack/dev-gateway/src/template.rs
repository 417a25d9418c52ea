//! Reads `infra/template.yaml` (AWS SAM) into what the local stack runs: functions (with
//! `Globals.Function` merged in), their HTTP API routes, SQS event sources and schedules, the
//! WebSocket API, and the tables, queues, buckets and topics to create in the emulator.
//!
//! Loading is two steps: [`Document::from_yaml`] turns the YAML into JSON with every short tag
//! (`!Ref`, `!GetAtt`, `!Sub`, …) in its long form, and [`Template::from_document`] reads the
//! resources, resolving parameter-dependent properties with an
//! [`intrinsics::Resolver`](crate::intrinsics::Resolver). Function environments and schedule
//! inputs stay unresolved: they may refer to values that exist only once the resources are
//! created (a queue's URL), and are resolved when the function starts or the schedule fires.
//!
//! Resource types that have no local behaviour (IAM, permissions, log groups, custom domains,
//! policies, …) are skipped; any other type, event type or short tag the loader does not
//! understand is an error.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::intrinsics::{referenced_ids, scalar_to_string, IntrinsicError, Resolver};
use crate::model::{HttpRoute, WebSocketApiSpec, WebSocketRoute};

/// Prefix of every physical name locally.
pub const PHYSICAL_NAME_PREFIX: &str = "linka-";

/// Lambda's defaults when the template says nothing.
const DEFAULT_TIMEOUT_SECONDS: u64 = 3;
const DEFAULT_MEMORY_MB: u64 = 128;
const DEFAULT_SQS_BATCH_SIZE: u64 = 10;
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS: u64 = 30;

/// Why the template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the template is not valid YAML")]
    Yaml(#[from] serde_norway::Error),
    #[error("unknown YAML tag {tag} at {location}")]
    UnknownTag { tag: String, location: String },
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
    #[error("{location}: resource type {resource_type} is not supported by the local stack")]
    UnsupportedResource {
        location: String,
        resource_type: String,
    },
    #[error("{location}: event type {event_type} is not supported by the local stack")]
    UnsupportedEvent {
        location: String,
        event_type: String,
    },
    #[error("{location}: {source}")]
    Intrinsic {
        location: String,
        #[source]
        source: IntrinsicError,
    },
}

fn invalid(location: &str, message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        location: location.to_owned(),
        message: message.into(),
    }
}

fn intrinsic(location: &str) -> impl FnOnce(IntrinsicError) -> TemplateError + '_ {
    move |source| TemplateError::Intrinsic {
        location: location.to_owned(),
        source,
    }
}

/// The local physical name of a resource: `linka-<LogicalId>`; lower-case for S3 buckets (S3
/// names allow no capitals); with `.fifo` for FIFO queues and topics.
pub fn physical_name(logical_id: &str, resource_type: &str, fifo: bool) -> String {
    let name = format!("{PHYSICAL_NAME_PREFIX}{logical_id}");
    match resource_type {
        "AWS::S3::Bucket" => name.to_ascii_lowercase(),
        "AWS::SQS::Queue" | "AWS::SNS::Topic" if fifo => format!("{name}.fifo"),
        _ => name,
    }
}

/// The template as JSON, short tags expanded, split into its sections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub parameters: Map<String, Value>,
    pub conditions: Map<String, Value>,
    pub mappings: Map<String, Value>,
    pub globals: Map<String, Value>,
    pub resources: Map<String, Value>,
}

impl Document {
    /// Reads and parses a template file.
    pub fn from_file(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// Parses a template.
    pub fn from_yaml(text: &str) -> Result<Self, TemplateError> {
        let root = Self::yaml_value(text)?;
        let Value::Object(mut root) = root else {
            return Err(invalid("template", "the template is not a mapping"));
        };
        let mut section = |name: &str| -> Result<Map<String, Value>, TemplateError> {
            match root.remove(name) {
                None | Some(Value::Null) => Ok(Map::new()),
                Some(Value::Object(map)) => Ok(map),
                Some(_) => Err(invalid(name, "expected a mapping")),
            }
        };
        let document = Document {
            parameters: section("Parameters")?,
            conditions: section("Conditions")?,
            mappings: section("Mappings")?,
            globals: section("Globals")?,
            resources: section("Resources")?,
        };
        if document.resources.is_empty() {
            return Err(invalid("Resources", "the template declares no resources"));
        }
        Ok(document)
    }

    /// Parses any YAML snippet into JSON, expanding CloudFormation short tags.
    pub fn yaml_value(text: &str) -> Result<Value, TemplateError> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)?;
        yaml_to_json(yaml, "$")
    }

    /// Whether SAM would create the implicit `ServerlessHttpApi` (an `HttpApi` event without `ApiId`).
    pub fn has_implicit_http_api(&self) -> bool {
        self.resources.values().any(|resource| {
            resource.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function")
                && resource
                    .get("Properties")
                    .and_then(|properties| properties.get("Events"))
                    .and_then(Value::as_object)
                    .is_some_and(|events| {
                        events.values().any(|event| {
                            event.get("Type").and_then(Value::as_str) == Some("HttpApi")
                                && event
                                    .get("Properties")
                                    .and_then(|properties| properties.get("ApiId"))
                                    .is_none()
                        })
                    })
        })
    }
}

const FN_TAGS: &[&str] = &[
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "ForEach",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
];

fn yaml_to_json(value: serde_norway::Value, location: &str) -> Result<Value, TemplateError> {
    use serde_norway::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Value::from(integer)
            } else if let Some(integer) = number.as_u64() {
                Value::from(integer)
            } else {
                number
                    .as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| invalid(location, format!("{number} is not a finite number")))?
            }
        }
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| yaml_to_json(item, &format!("{location}[{index}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, item) in mapping {
                let key = match key {
                    Yaml::String(text) => text,
                    Yaml::Number(number) => number.to_string(),
                    Yaml::Bool(flag) => flag.to_string(),
                    other => {
                        return Err(invalid(
                            location,
                            format!("unsupported mapping key {other:?}"),
                        ))
                    }
                };
                let item = yaml_to_json(item, &format!("{location}.{key}"))?;
                map.insert(key, item);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!').to_owned();
            let inner = yaml_to_json(tagged.value, location)?;
            let (key, argument) = match name.as_str() {
                "Ref" => ("Ref".to_owned(), inner),
                "Condition" => ("Condition".to_owned(), inner),
                "GetAtt" => {
                    let argument = match inner {
                        Value::String(text) => match text.split_once('.') {
                            Some((resource, attribute)) => Value::Array(vec![
                                Value::String(resource.to_owned()),
                                Value::String(attribute.to_owned()),
                            ]),
                            None => {
                                return Err(invalid(
                                    location,
                                    format!("!GetAtt {text} names no attribute"),
                                ))
                            }
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_owned(), argument)
                }
                other if FN_TAGS.contains(&other) => (format!("Fn::{other}"), inner),
                _ => {
                    return Err(TemplateError::UnknownTag {
                        tag,
                        location: location.to_owned(),
                    })
                }
            };
            let mut map = Map::new();
            map.insert(key, argument);
            Value::Object(map)
        }
    })
}

/// One Lambda function (`AWS::Serverless::Function`) with `Globals.Function` merged in.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `linka-<LogicalId>`, what `AWS_LAMBDA_FUNCTION_NAME` says.
    pub function_name: String,
    pub function_arn: String,
    /// `Metadata.BuildProperties.Binary`: the executable's name in the functions directory.
    pub binary: String,
    pub timeout: Duration,
    pub memory_size: u64,
    /// `Environment.Variables`, unresolved (see [`FunctionSpec::resolve_environment`]).
    pub environment: BTreeMap<String, Value>,
    /// `LoggingConfig.LogFormat` (`JSON` or `Text`).
    pub log_format: Option<String>,
    /// `LoggingConfig.ApplicationLogLevel`.
    pub application_log_level: Option<String>,
}

impl FunctionSpec {
    /// The function's environment variables with every intrinsic resolved (a variable whose
    /// value is `AWS::NoValue` is left out).
    pub fn resolve_environment(
        &self,
        resolver: &Resolver,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let mut environment = BTreeMap::new();
        for (name, value) in &self.environment {
            let location = format!(
                "Resources.{}.Properties.Environment.Variables.{name}",
                self.logical_id
            );
            let Some(resolved) = resolver.resolve(value).map_err(intrinsic(&location))? else {
                continue;
            };
            let text = scalar_to_string(&resolved)
                .ok_or_else(|| invalid(&location, format!("{resolved} is not a string")))?;
            environment.insert(name.clone(), text);
        }
        Ok(environment)
    }
}

/// An SQS event source of a function (`Events: … Type: SQS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsEventSpec {
    /// The event's name under `Events`.
    pub name: String,
    /// Logical id of the function.
    pub function: String,
    /// Logical id of the queue.
    pub queue: String,
    pub batch_size: u32,
    pub maximum_batching_window: Duration,
    /// `FunctionResponseTypes` contains `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    pub enabled: bool,
}

/// Which AWS service fires a schedule (decides the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    /// EventBridge Scheduler (`ScheduleV2` events, `AWS::Scheduler::Schedule`): payload = `Input` or `{}`.
    Scheduler,
    /// EventBridge rule (`Schedule` events, `AWS::Events::Rule`): payload = `Input` or a
    /// "Scheduled Event".
    EventsRule,
}

/// A schedule that invokes a function.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    /// The event's name under `Events`, or the logical id of a standalone schedule resource.
    pub name: String,
    /// Logical id of the function.
    pub function: String,
    pub kind: ScheduleKind,
    /// `rate(…)`, `cron(…)` or `at(…)`.
    pub expression: String,
    /// IANA time zone (`ScheduleExpressionTimezone`); `None` = UTC.
    pub timezone: Option<String>,
    /// `Input`, unresolved; `None` = the default payload of `kind`.
    pub input: Option<Value>,
    pub enabled: bool,
}

/// DynamoDB key role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Hash,
    Range,
}

/// DynamoDB scalar attribute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    S,
    N,
    B,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: KeyType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: Projection,
}

/// An `AWS::DynamoDB::Table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    pub name: String,
    pub key_schema: Vec<KeyElement>,
    pub attribute_definitions: Vec<(String, AttributeType)>,
    pub global_secondary_indexes: Vec<IndexSpec>,
    pub local_secondary_indexes: Vec<IndexSpec>,
    /// `StreamSpecification.StreamViewType` (`NEW_IMAGE`, …).
    pub stream_view_type: Option<String>,
    /// `TimeToLiveSpecification.AttributeName` when `Enabled`.
    pub ttl_attribute: Option<String>,
}

/// Where an SQS queue sends messages it could not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveSpec {
    /// Logical id of the dead-letter queue.
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

/// An `AWS::SQS::Queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    pub fifo: bool,
    pub visibility_timeout: Duration,
    /// SQS API attributes to set (`VisibilityTimeout`, `MessageRetentionPeriod`,
    /// `ContentBasedDeduplication`, …), `RedrivePolicy` excepted.
    pub attributes: BTreeMap<String, String>,
    pub redrive: Option<RedriveSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEncryption {
    /// `AES256` or `aws:kms`.
    pub algorithm: String,
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: Option<String>,
    pub enabled: bool,
    pub prefix: Option<String>,
    pub expiration_days: Option<i32>,
    /// `ExpiredObjectDeleteMarker`: remove delete markers without noncurrent versions.
    pub expired_object_delete_marker: bool,
    pub noncurrent_version_expiration_days: Option<i32>,
    pub abort_incomplete_multipart_upload_days: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

/// An `AWS::S3::Bucket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    pub logical_id: String,
    pub name: String,
    pub encryption: Option<BucketEncryption>,
    pub public_access_block: Option<PublicAccessBlock>,
    /// `OwnershipControls.Rules[0].ObjectOwnership` (`BucketOwnerEnforced`, …).
    pub object_ownership: Option<String>,
    pub versioning_enabled: bool,
    pub lifecycle_rules: Vec<LifecycleRule>,
    pub cors_rules: Vec<CorsRule>,
}

/// An `AWS::SNS::Topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub logical_id: String,
    pub name: String,
    pub fifo: bool,
    pub content_based_deduplication: bool,
}

/// An `AWS::SNS::Subscription` of an SQS queue to a topic (SNS → SQS → function): the local
/// emulator delivers what is published to the topic into the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSpec {
    pub logical_id: String,
    pub topic_arn: String,
    /// The queue's ARN (protocol `sqs`, the only one the local stack delivers).
    pub queue_arn: String,
    pub raw_message_delivery: bool,
}

/// An `AWS::SES::EmailIdentity`: a domain or address the emulator then lets send mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailIdentitySpec {
    pub logical_id: String,
    pub identity: String,
}

/// The HTTP API's `CorsConfiguration` (the chat widget on another origin).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCorsSpec {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub max_age_seconds: Option<u64>,
}

/// What the local stack runs, read from the template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    pub functions: Vec<FunctionSpec>,
    pub http_routes: Vec<HttpRoute>,
    pub websocket: Option<WebSocketApiSpec>,
    pub sqs_event_sources: Vec<SqsEventSpec>,
    pub schedules: Vec<ScheduleSpec>,
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
    pub buckets: Vec<BucketSpec>,
    pub topics: Vec<TopicSpec>,
    pub subscriptions: Vec<SubscriptionSpec>,
    pub email_identities: Vec<EmailIdentitySpec>,
    /// The HTTP API's CORS, when it has one.
    pub http_cors: Option<HttpCorsSpec>,
}

/// Resource types that exist only for deployment: the local stack has nothing to do for them.
const IGNORED_PREFIXES: &[&str] = &[
    "AWS::IAM::",
    "AWS::Logs::",
    "AWS::CloudWatch::",
    "AWS::KMS::",
    "AWS::CertificateManager::",
    "AWS::Route53::",
    "AWS::CloudFront::",
    "AWS::WAFv2::",
    "AWS::Budgets::",
    "AWS::SSM::",
    "AWS::XRay::",
    "AWS::Backup::",
];
const IGNORED_TYPES: &[&str] = &[
    "AWS::Lambda::Permission",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::ApiGatewayV2::Deployment",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::ApiGatewayV2::RouteResponse",
    "AWS::ApiGatewayV2::IntegrationResponse",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Scheduler::ScheduleGroup",
    // Receiving mail: the local injection script (scripts/channels.py) plays SES's receipt rule,
    // storing the message in the bucket and notifying the topic.
    "AWS::SES::ReceiptRuleSet",
    "AWS::SES::ReceiptRule",
    // Mail events (bounces, complaints): the emulator sends no real mail, so nothing bounces;
    // the injection script (scripts/channels.py bounce) publishes SES's event to the topic.
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
];

impl Template {
    /// Reads the typed model out of `document`; `resolver` must have been built from it.
    pub fn from_document(document: &Document, resolver: &Resolver) -> Result<Self, TemplateError> {
        let mut template = Template::default();
        let global_function = document
            .globals
            .get("Function")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let mut websocket_apis = Vec::new();
        for (logical_id, resource) in &document.resources {
            let location = format!("Resources.{logical_id}");
            let resource_type = resource
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(&location, "no Type"))?;
            if let Some(condition) = resource.get("Condition") {
                let name = condition
                    .as_str()
                    .ok_or_else(|| invalid(&location, "Condition must be a name"))?;
                if !resolver.condition(name).map_err(intrinsic(&location))? {
                    continue;
                }
            }
            let properties = resource
                .get("Properties")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            match resource_type {
                "AWS::Serverless::Function" => {
                    let properties = merge_globals(&global_function, &properties);
                    read_function(&mut template, logical_id, resource, &properties, resolver)?;
                }
                "AWS::DynamoDB::Table" => {
                    let properties = resolve_all(&properties, resolver, &location)?;
                    template
                        .tables
                        .push(read_table(logical_id, &properties, resolver, &location)?);
                }
                "AWS::SQS::Queue" => {
                    template
                        .queues
                        .push(read_queue(logical_id, &properties, resolver, &location)?);
                }
                "AWS::S3::Bucket" => {
                    let properties = resolve_all(&properties, resolver, &location)?;
                    template.buckets.push(read_bucket(
                        logical_id,
                        &properties,
                        resolver,
                        &location,
                    )?);
                }
                "AWS::SNS::Topic" => {
                    let properties = resolve_all(&properties, resolver, &location)?;
                    if properties.get("Subscription").is_some() {
                        return Err(invalid(
                            &location,
                            "inline Subscription is not supported by the local stack",
                        ));
                    }
                    template.topics.push(TopicSpec {
                        logical_id: logical_id.clone(),
                        name: resource_name(resolver, logical_id),
                        fifo: optional_bool(&properties, "FifoTopic", &location)?.unwrap_or(false),
                        content_based_deduplication: optional_bool(
                            &properties,
                            "ContentBasedDeduplication",
                            &location,
                        )?
                        .unwrap_or(false),
                    });
                }
                "AWS::SNS::Subscription" => {
                    let properties = resolve_all(&properties, resolver, &location)?;
                    let text = |name: &str| {
                        properties
                            .get(name)
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .ok_or_else(|| invalid(&location, format!("{name} must be a string")))
                    };
                    let protocol = text("Protocol")?;
                    if protocol != "sqs" {
                        return Err(invalid(
                            &location,
                            format!("the local stack delivers subscriptions of protocol sqs only, not {protocol}"),
                        ));
                    }
                    template.subscriptions.push(SubscriptionSpec {
                        logical_id: logical_id.clone(),
                        topic_arn: text("TopicArn")?,
                        queue_arn: text("Endpoint")?,
                        raw_message_delivery: optional_bool(
                            &properties,
                            "RawMessageDelivery",
                            &location,
                        )?
                        .unwrap_or(false),
                    });
                }
                "AWS::Serverless::HttpApi" => {
                    let properties =
                        resolve_only(&properties, &["CorsConfiguration"], resolver, &location)?;
                    if let Some(cors) = properties.get("CorsConfiguration") {
                        let strings = |name: &str| -> Vec<String> {
                            cors.get(name)
                                .and_then(Value::as_array)
                                .map(|items| {
                                    items
                                        .iter()
                                        .filter_map(Value::as_str)
                                        .map(str::to_owned)
                                        .collect()
                                })
                                .unwrap_or_default()
                        };
                        template.http_cors = Some(HttpCorsSpec {
                            allow_origins: strings("AllowOrigins"),
                            allow_methods: strings("AllowMethods"),
                            allow_headers: strings("AllowHeaders"),
                            max_age_seconds: cors.get("MaxAge").and_then(Value::as_u64),
                        });
                    }
                }
                "AWS::SES::EmailIdentity" => {
                    let properties = resolve_all(&properties, resolver, &location)?;
                    let identity = properties
                        .get("EmailIdentity")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid(&location, "EmailIdentity must be a string"))?;
                    template.email_identities.push(EmailIdentitySpec {
                        logical_id: logical_id.clone(),
                        identity: identity.to_owned(),
                    });
                }
                "AWS::ApiGatewayV2::Api" => {
                    let protocol = match properties.get("ProtocolType") {
                        Some(value) => resolver
                            .resolve_string(value)
                            .map_err(intrinsic(&location))?,
                        None => String::new(),
                    };
                    if protocol.eq_ignore_ascii_case("WEBSOCKET") {
                        websocket_apis.push(logical_id.clone());
                    } else {
                        return Err(invalid(
                            &location,
                            "only WEBSOCKET APIs may be declared as AWS::ApiGatewayV2::Api; declare HTTP APIs with AWS::Serverless::HttpApi and HttpApi events",
                        ));
                    }
                }
                "AWS::ApiGatewayV2::Route"
                | "AWS::ApiGatewayV2::Integration"
                | "AWS::ApiGatewayV2::Stage" => {
                    // Read with their API below.
                }
                "AWS::Scheduler::Schedule" => {
                    template.schedules.push(read_scheduler_resource(
                        logical_id,
                        &properties,
                        resolver,
                        &location,
                    )?);
                }
                "AWS::Events::Rule" => {
                    template.schedules.extend(read_events_rule(
                        logical_id,
                        &properties,
                        resolver,
                        &location,
                    )?);
                }
                other
                    if IGNORED_TYPES.contains(&other)
                        || IGNORED_PREFIXES
                            .iter()
                            .any(|prefix| other.starts_with(prefix)) => {}
                other => {
                    return Err(TemplateError::UnsupportedResource {
                        location,
                        resource_type: other.to_owned(),
                    })
                }
            }
        }
        match websocket_apis.as_slice() {
            [] => {}
            [api] => template.websocket = Some(read_websocket(api, document, resolver)?),
            _ => {
                return Err(invalid(
                    "Resources",
                    format!(
                        "the gateway serves one WebSocket API at /ws, not {}",
                        websocket_apis.join(", ")
                    ),
                ))
            }
        }
        template.check_references()?;
        Ok(template)
    }

    fn check_references(&self) -> Result<(), TemplateError> {
        for source in &self.sqs_event_sources {
            if self.queue(&source.queue).is_none() {
                return Err(invalid(
                    &format!(
                        "Resources.{}.Properties.Events.{}",
                        source.function, source.name
                    ),
                    format!("{} is not an SQS queue of the template", source.queue),
                ));
            }
        }
        for queue in &self.queues {
            if let Some(redrive) = &queue.redrive {
                if self.queue(&redrive.dead_letter_queue).is_none() {
                    return Err(invalid(
                        &format!("Resources.{}.Properties.RedrivePolicy", queue.logical_id),
                        format!(
                            "{} is not an SQS queue of the template",
                            redrive.dead_letter_queue
                        ),
                    ));
                }
            }
        }
        let functions: Vec<&str> = self
            .functions
            .iter()
            .map(|f| f.logical_id.as_str())
            .collect();
        let targets = self
            .schedules
            .iter()
            .map(|schedule| (&schedule.function, &schedule.name))
            .chain(self.websocket.iter().flat_map(|api| {
                api.routes
                    .iter()
                    .map(|route| (&route.function, &route.route_key))
            }));
        for (function, source) in targets {
            if !functions.contains(&function.as_str()) {
                return Err(invalid(
                    &format!("Resources ({source})"),
                    format!("{function} is not an AWS::Serverless::Function of the template"),
                ));
            }
        }
        Ok(())
    }

    /// The function with this logical id.
    pub fn function(&self, logical_id: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    /// The queue with this logical id.
    pub fn queue(&self, logical_id: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    /// The table with this logical id.
    pub fn table(&self, logical_id: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }
}

fn resource_name(resolver: &Resolver, logical_id: &str) -> String {
    resolver
        .resource(logical_id)
        .map(|resource| resource.physical_name.clone())
        .unwrap_or_else(|| format!("{PHYSICAL_NAME_PREFIX}{logical_id}"))
}

fn resolve_all(value: &Value, resolver: &Resolver, location: &str) -> Result<Value, TemplateError> {
    Ok(resolver
        .resolve(value)
        .map_err(intrinsic(location))?
        .unwrap_or(Value::Object(Map::new())))
}

/// Resolves only the properties named in `keys` (the others are left out).
fn resolve_only(
    value: &Value,
    keys: &[&str],
    resolver: &Resolver,
    location: &str,
) -> Result<Value, TemplateError> {
    let mut resolved = Map::new();
    for key in keys {
        if let Some(item) = value.get(*key) {
            if let Some(item) = resolver
                .resolve(item)
                .map_err(intrinsic(&format!("{location}.{key}")))?
            {
                resolved.insert((*key).to_owned(), item);
            }
        }
    }
    Ok(Value::Object(resolved))
}

/// Resolves every property except those named in `keep` (left as written).
fn resolve_except(
    value: &Value,
    keep: &[&str],
    resolver: &Resolver,
    location: &str,
) -> Result<Value, TemplateError> {
    let Value::Object(map) = value else {
        return resolve_all(value, resolver, location);
    };
    let mut resolved = Map::new();
    for (key, item) in map {
        if keep.contains(&key.as_str()) {
            resolved.insert(key.clone(), item.clone());
        } else if let Some(item) = resolver
            .resolve(item)
            .map_err(intrinsic(&format!("{location}.{key}")))?
        {
            resolved.insert(key.clone(), item);
        }
    }
    Ok(Value::Object(resolved))
}

/// SAM's `Globals` merge: mappings merge key by key (the resource wins), lists are
/// concatenated (globals first), anything else is replaced by the resource's value.
/// An intrinsic function is a value, not a mapping to merge into.
pub fn merge_globals(global: &Value, own: &Value) -> Value {
    match (global, own) {
        (Value::Object(global_map), Value::Object(own_map))
            if !is_intrinsic(global_map) && !is_intrinsic(own_map) =>
        {
            let mut merged = global_map.clone();
            for (key, value) in own_map {
                let value = match global_map.get(key) {
                    Some(global_value) => merge_globals(global_value, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), value);
            }
            Value::Object(merged)
        }
        (Value::Array(global_items), Value::Array(own_items)) => {
            Value::Array(global_items.iter().chain(own_items).cloned().collect())
        }
        (_, own) => own.clone(),
    }
}

fn is_intrinsic(map: &Map<String, Value>) -> bool {
    map.len() == 1
        && map
            .keys()
            .all(|key| key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
}

// ---------------------------------------------------------------- plain readers of resolved JSON

fn optional_string(
    value: &Value,
    key: &str,
    location: &str,
) -> Result<Option<String>, TemplateError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(item) => scalar_to_string(item).map(Some).ok_or_else(|| {
            invalid(
                &format!("{location}.{key}"),
                format!("expected a string, got {item}"),
            )
        }),
    }
}

fn required_string(value: &Value, key: &str, location: &str) -> Result<String, TemplateError> {
    optional_string(value, key, location)?
        .ok_or_else(|| invalid(location, format!("{key} is required")))
}

fn optional_u64(value: &Value, key: &str, location: &str) -> Result<Option<u64>, TemplateError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number.as_u64().map(Some).ok_or_else(|| {
            invalid(
                &format!("{location}.{key}"),
                format!("{number} is not a whole number ≥ 0"),
            )
        }),
        Some(Value::String(text)) => text.trim().parse().map(Some).map_err(|_| {
            invalid(
                &format!("{location}.{key}"),
                format!("{text:?} is not a whole number ≥ 0"),
            )
        }),
        Some(other) => Err(invalid(
            &format!("{location}.{key}"),
            format!("expected a number, got {other}"),
        )),
    }
}

fn optional_i32(value: &Value, key: &str, location: &str) -> Result<Option<i32>, TemplateError> {
    optional_u64(value, key, location)?
        .map(|number| {
            i32::try_from(number).map_err(|_| {
                invalid(
                    &format!("{location}.{key}"),
                    format!("{number} is too large"),
                )
            })
        })
        .transpose()
}

fn optional_bool(value: &Value, key: &str, location: &str) -> Result<Option<bool>, TemplateError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(invalid(
            &format!("{location}.{key}"),
            format!("expected true or false, got {other}"),
        )),
    }
}

fn list<'a>(value: &'a Value, key: &str, location: &str) -> Result<&'a [Value], TemplateError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(invalid(
            &format!("{location}.{key}"),
            format!("expected a list, got {other}"),
        )),
    }
}

fn string_list(value: &Value, key: &str, location: &str) -> Result<Vec<String>, TemplateError> {
    list(value, key, location)?
        .iter()
        .map(|item| {
            scalar_to_string(item).ok_or_else(|| {
                invalid(
                    &format!("{location}.{key}"),
                    format!("expected strings, got {item}"),
                )
            })
        })
        .collect()
}

// ---------------------------------------------------------------- functions and their events

fn read_function(
    template: &mut Template,
    logical_id: &str,
    resource: &Value,
    properties: &Value,
    resolver: &Resolver,
) -> Result<(), TemplateError> {
    let location = format!("Resources.{logical_id}");
    let binary = resource
        .get("Metadata")
        .and_then(|metadata| metadata.get("BuildProperties"))
        .and_then(|build| build.get("Binary"))
        .map(|binary| resolver.resolve_string(binary))
        .transpose()
        .map_err(intrinsic(&location))?
        .ok_or_else(|| {
            invalid(
                &location,
                "Metadata.BuildProperties.Binary is required: it names the function's executable",
            )
        })?;
    let properties_location = format!("{location}.Properties");
    let scalars = resolve_only(
        properties,
        &["Timeout", "MemorySize", "LoggingConfig"],
        resolver,
        &properties_location,
    )?;
    let timeout =
        optional_u64(&scalars, "Timeout", &properties_location)?.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    let memory_size =
        optional_u64(&scalars, "MemorySize", &properties_location)?.unwrap_or(DEFAULT_MEMORY_MB);
    let logging = scalars.get("LoggingConfig").cloned().unwrap_or(Value::Null);
    let logging_location = format!("{properties_location}.LoggingConfig");
    let environment = match properties
        .get("Environment")
        .and_then(|environment| environment.get("Variables"))
    {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(variables)) => variables
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        Some(_) => {
            return Err(invalid(
                &format!("{properties_location}.Environment.Variables"),
                "expected a mapping",
            ))
        }
    };
    let attributes = resolver.resource(logical_id);
    let function_name = resource_name(resolver, logical_id);
    let function_arn = attributes
        .and_then(|resource| resource.attributes.get("Arn"))
        .cloned()
        .unwrap_or_default();
    template.functions.push(FunctionSpec {
        logical_id: logical_id.to_owned(),
        function_name,
        function_arn,
        binary,
        timeout: Duration::from_secs(timeout),
        memory_size,
        environment,
        log_format: optional_string(&logging, "LogFormat", &logging_location)?,
        application_log_level: optional_string(&logging, "ApplicationLogLevel", &logging_location)?,
    });

    let events = match properties.get("Events") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(events)) => events,
        Some(_) => {
            return Err(invalid(
                &format!("{properties_location}.Events"),
                "expected a mapping",
            ))
        }
    };
    for (event_name, event) in events {
        let event_location = format!("{properties_location}.Events.{event_name}");
        let event_type = event
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&event_location, "no Type"))?;
        let raw_properties = event.get("Properties").cloned().unwrap_or(Value::Null);
        let event_properties_location = format!("{event_location}.Properties");
        let event_properties = resolve_except(
            &raw_properties,
            &["Input", "Queue"],
            resolver,
            &event_properties_location,
        )?;
        match event_type {
            "HttpApi" => {
                if raw_properties.is_null() {
                    return Err(invalid(
                        &event_location,
                        "an HttpApi event without Method and Path (the $default route) is not supported by the local gateway",
                    ));
                }
                if let Some(version) = optional_string(
                    &event_properties,
                    "PayloadFormatVersion",
                    &event_properties_location,
                )? {
                    if version != "2.0" {
                        return Err(invalid(
                            &event_properties_location,
                            format!("PayloadFormatVersion {version}: the local gateway sends payload 2.0 only"),
                        ));
                    }
                }
                let method =
                    required_string(&event_properties, "Method", &event_properties_location)?;
                let path = required_string(&event_properties, "Path", &event_properties_location)?;
                template.http_routes.push(HttpRoute {
                    method: method.to_ascii_uppercase(),
                    path,
                    function: logical_id.to_owned(),
                });
            }
            "SQS" => {
                template.sqs_event_sources.push(read_sqs_event(
                    logical_id,
                    event_name,
                    &raw_properties,
                    &event_properties,
                    resolver,
                    &event_properties_location,
                )?);
            }
            "ScheduleV2" | "Schedule" => {
                let kind = if event_type == "ScheduleV2" {
                    ScheduleKind::Scheduler
                } else {
                    ScheduleKind::EventsRule
                };
                let expression = optional_string(
                    &event_properties,
                    "ScheduleExpression",
                    &event_properties_location,
                )?
                .or(optional_string(
                    &event_properties,
                    "Schedule",
                    &event_properties_location,
                )?)
                .ok_or_else(|| {
                    invalid(&event_properties_location, "ScheduleExpression is required")
                })?;
                let enabled = schedule_enabled(&event_properties, &event_properties_location)?;
                template.schedules.push(ScheduleSpec {
                    name: event_name.clone(),
                    function: logical_id.to_owned(),
                    kind,
                    expression,
                    timezone: optional_string(
                        &event_properties,
                        "ScheduleExpressionTimezone",
                        &event_properties_location,
                    )?,
                    input: raw_properties.get("Input").cloned(),
                    enabled,
                });
            }
            other => {
                return Err(TemplateError::UnsupportedEvent {
                    location: event_location,
                    event_type: other.to_owned(),
                })
            }
        }
    }
    Ok(())
}

fn schedule_enabled(properties: &Value, location: &str) -> Result<bool, TemplateError> {
    if let Some(state) = optional_string(properties, "State", location)? {
        return Ok(state.eq_ignore_ascii_case("ENABLED"));
    }
    Ok(optional_bool(properties, "Enabled", location)?.unwrap_or(true))
}

fn read_sqs_event(
    function: &str,
    event_name: &str,
    raw_properties: &Value,
    properties: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<SqsEventSpec, TemplateError> {
    let raw_queue = raw_properties
        .get("Queue")
        .ok_or_else(|| invalid(location, "Queue is required"))?;
    let queue = queue_logical_id(raw_queue, resolver, &format!("{location}.Queue"))?;
    if properties.get("FilterCriteria").is_some() {
        return Err(invalid(
            location,
            "FilterCriteria (event filtering) is not supported by the local stack",
        ));
    }
    let batch_size =
        optional_u64(properties, "BatchSize", location)?.unwrap_or(DEFAULT_SQS_BATCH_SIZE);
    let batch_size = u32::try_from(batch_size)
        .ok()
        .filter(|size| (1..=10_000).contains(size))
        .ok_or_else(|| {
            invalid(
                location,
                format!("BatchSize {batch_size} is outside 1..=10000"),
            )
        })?;
    let window = optional_u64(properties, "MaximumBatchingWindowInSeconds", location)?.unwrap_or(0);
    if batch_size > 10 && window == 0 {
        return Err(invalid(
            location,
            "a BatchSize above 10 needs MaximumBatchingWindowInSeconds ≥ 1 (as in AWS)",
        ));
    }
    let response_types = string_list(properties, "FunctionResponseTypes", location)?;
    Ok(SqsEventSpec {
        name: event_name.to_owned(),
        function: function.to_owned(),
        queue,
        batch_size,
        maximum_batching_window: Duration::from_secs(window),
        report_batch_item_failures: response_types
            .iter()
            .any(|kind| kind == "ReportBatchItemFailures"),
        enabled: optional_bool(properties, "Enabled", location)?.unwrap_or(true),
    })
}

/// The logical id of the queue a value points at: `!GetAtt Q.Arn`, or an ARN string that is a
/// local queue's ARN.
fn queue_logical_id(
    raw: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<String, TemplateError> {
    let ids = referenced_ids(raw);
    let queues: Vec<&String> = ids
        .iter()
        .filter(|id| {
            resolver
                .resource(id)
                .is_some_and(|resource| resource.resource_type == "AWS::SQS::Queue")
        })
        .collect();
    if let [queue] = queues.as_slice() {
        return Ok((*queue).clone());
    }
    let arn = resolver.resolve_string(raw).map_err(intrinsic(location))?;
    queue_by_arn(resolver, &arn).ok_or_else(|| {
        invalid(
            location,
            format!("{arn} is not the ARN of an SQS queue of the template"),
        )
    })
}

fn queue_by_arn(resolver: &Resolver, arn: &str) -> Option<String> {
    // An ARN literal: match the name part against the local physical names.
    let name = arn.rsplit(':').next()?;
    let logical_id = name
        .strip_prefix(PHYSICAL_NAME_PREFIX)?
        .trim_end_matches(".fifo");
    let resource = resolver.resource(logical_id)?;
    (resource.resource_type == "AWS::SQS::Queue"
        && resource.attributes.get("Arn").map(String::as_str) == Some(arn))
    .then(|| logical_id.to_owned())
}

// ---------------------------------------------------------------- standalone schedules

fn function_target(
    raw_target: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<String, TemplateError> {
    let functions: Vec<String> = referenced_ids(raw_target.get("Arn").unwrap_or(&Value::Null))
        .into_iter()
        .filter(|id| {
            resolver
                .resource(id)
                .is_some_and(|resource| resource.resource_type == "AWS::Serverless::Function")
        })
        .collect();
    match functions.as_slice() {
        [function] => Ok(function.clone()),
        _ => Err(invalid(
            location,
            "the target's Arn must be !GetAtt <Function>.Arn of an AWS::Serverless::Function",
        )),
    }
}

fn read_scheduler_resource(
    logical_id: &str,
    properties: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<ScheduleSpec, TemplateError> {
    let raw_target = properties
        .get("Target")
        .ok_or_else(|| invalid(location, "Target is required"))?;
    let function = function_target(
        raw_target,
        resolver,
        &format!("{location}.Properties.Target"),
    )?;
    let resolved = resolve_except(properties, &["Target"], resolver, location)?;
    let expression = required_string(&resolved, "ScheduleExpression", location)?;
    Ok(ScheduleSpec {
        name: logical_id.to_owned(),
        function,
        kind: ScheduleKind::Scheduler,
        expression,
        timezone: optional_string(&resolved, "ScheduleExpressionTimezone", location)?,
        input: raw_target.get("Input").cloned(),
        enabled: schedule_enabled(&resolved, location)?,
    })
}

fn read_events_rule(
    logical_id: &str,
    properties: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<Vec<ScheduleSpec>, TemplateError> {
    let resolved = resolve_except(properties, &["Targets"], resolver, location)?;
    if resolved.get("EventPattern").is_some() {
        return Err(invalid(
            location,
            "EventBridge rules with an EventPattern are not supported by the local stack",
        ));
    }
    let expression = required_string(&resolved, "ScheduleExpression", location)?;
    let enabled = schedule_enabled(&resolved, location)?;
    let targets = match properties.get("Targets") {
        Some(Value::Array(targets)) => targets.clone(),
        _ => return Err(invalid(location, "Targets must be a list")),
    };
    targets
        .iter()
        .enumerate()
        .map(|(index, target)| {
            let function = function_target(
                target,
                resolver,
                &format!("{location}.Properties.Targets[{index}]"),
            )?;
            Ok(ScheduleSpec {
                name: logical_id.to_owned(),
                function,
                kind: ScheduleKind::EventsRule,
                expression: expression.clone(),
                timezone: None,
                input: target.get("Input").cloned(),
                enabled,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- tables, queues, buckets

fn key_schema(value: &Value, key: &str, location: &str) -> Result<Vec<KeyElement>, TemplateError> {
    let location = format!("{location}.{key}");
    let elements = list(value, key, &location)?;
    if elements.is_empty() {
        return Err(invalid(&location, "a key schema is required"));
    }
    elements
        .iter()
        .map(|element| {
            let key_type = match required_string(element, "KeyType", &location)?.as_str() {
                "HASH" => KeyType::Hash,
                "RANGE" => KeyType::Range,
                other => {
                    return Err(invalid(
                        &location,
                        format!("KeyType {other} is neither HASH nor RANGE"),
                    ))
                }
            };
            Ok(KeyElement {
                attribute_name: required_string(element, "AttributeName", &location)?,
                key_type,
            })
        })
        .collect()
}

fn indexes(value: &Value, key: &str, location: &str) -> Result<Vec<IndexSpec>, TemplateError> {
    list(value, key, location)?
        .iter()
        .map(|index| {
            let name = required_string(index, "IndexName", location)?;
            let index_location = format!("{location}.{key}.{name}");
            let projection_value = index.get("Projection").cloned().unwrap_or(Value::Null);
            let projection =
                match optional_string(&projection_value, "ProjectionType", &index_location)?
                    .as_deref()
                {
                    None | Some("ALL") => Projection::All,
                    Some("KEYS_ONLY") => Projection::KeysOnly,
                    Some("INCLUDE") => Projection::Include(string_list(
                        &projection_value,
                        "NonKeyAttributes",
                        &index_location,
                    )?),
                    Some(other) => {
                        return Err(invalid(
                            &index_location,
                            format!("unknown ProjectionType {other}"),
                        ))
                    }
                };
            Ok(IndexSpec {
                key_schema: key_schema(index, "KeySchema", &index_location)?,
                name,
                projection,
            })
        })
        .collect()
}

fn read_table(
    logical_id: &str,
    properties: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<TableSpec, TemplateError> {
    let location = format!("{location}.Properties");
    let attribute_definitions = list(properties, "AttributeDefinitions", &location)?
        .iter()
        .map(|definition| {
            let attribute_type =
                match required_string(definition, "AttributeType", &location)?.as_str() {
                    "S" => AttributeType::S,
                    "N" => AttributeType::N,
                    "B" => AttributeType::B,
                    other => {
                        return Err(invalid(
                            &location,
                            format!("AttributeType {other} is not S, N or B"),
                        ))
                    }
                };
            Ok((
                required_string(definition, "AttributeName", &location)?,
                attribute_type,
            ))
        })
        .collect::<Result<Vec<_>, TemplateError>>()?;
    let stream = properties
        .get("StreamSpecification")
        .cloned()
        .unwrap_or(Value::Null);
    let ttl = properties
        .get("TimeToLiveSpecification")
        .cloned()
        .unwrap_or(Value::Null);
    let ttl_location = format!("{location}.TimeToLiveSpecification");
    let ttl_attribute = if optional_bool(&ttl, "Enabled", &ttl_location)?.unwrap_or(false) {
        Some(required_string(&ttl, "AttributeName", &ttl_location)?)
    } else {
        None
    };
    let table = TableSpec {
        logical_id: logical_id.to_owned(),
        name: resource_name(resolver, logical_id),
        key_schema: key_schema(properties, "KeySchema", &location)?,
        attribute_definitions,
        global_secondary_indexes: indexes(properties, "GlobalSecondaryIndexes", &location)?,
        local_secondary_indexes: indexes(properties, "LocalSecondaryIndexes", &location)?,
        stream_view_type: optional_string(
            &stream,
            "StreamViewType",
            &format!("{location}.StreamSpecification"),
        )?,
        ttl_attribute,
    };
    let key_names = table
        .key_schema
        .iter()
        .chain(
            table
                .global_secondary_indexes
                .iter()
                .flat_map(|index| &index.key_schema),
        )
        .chain(
            table
                .local_secondary_indexes
                .iter()
                .flat_map(|index| &index.key_schema),
        );
    for key in key_names {
        if !table
            .attribute_definitions
            .iter()
            .any(|(name, _)| *name == key.attribute_name)
        {
            return Err(invalid(
                &location,
                format!(
                    "key attribute {} has no AttributeDefinition",
                    key.attribute_name
                ),
            ));
        }
    }
    Ok(table)
}

/// Queue properties that map one-to-one to SQS API attributes.
const QUEUE_ATTRIBUTES: &[&str] = &[
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
    "KmsDataKeyReusePeriodSeconds",
];

fn read_queue(
    logical_id: &str,
    raw_properties: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<QueueSpec, TemplateError> {
    let location = format!("{location}.Properties");
    let properties = resolve_except(raw_properties, &["RedrivePolicy"], resolver, &location)?;
    let fifo = optional_bool(&properties, "FifoQueue", &location)?.unwrap_or(false);
    let mut attributes = BTreeMap::new();
    for key in QUEUE_ATTRIBUTES {
        if let Some(value) = optional_string(&properties, key, &location)? {
            attributes.insert((*key).to_owned(), value);
        }
    }
    let visibility_timeout = optional_u64(&properties, "VisibilityTimeout", &location)?
        .unwrap_or(DEFAULT_VISIBILITY_TIMEOUT_SECONDS);
    let redrive = match raw_properties.get("RedrivePolicy") {
        None | Some(Value::Null) => None,
        Some(raw_policy) => {
            let policy_location = format!("{location}.RedrivePolicy");
            let policy = match raw_policy {
                // RedrivePolicy may also be written as a JSON string.
                Value::String(text) => serde_json::from_str(text)
                    .map_err(|error| invalid(&policy_location, format!("not JSON: {error}")))?,
                other => other.clone(),
            };
            let raw_target = policy
                .get("deadLetterTargetArn")
                .ok_or_else(|| invalid(&policy_location, "deadLetterTargetArn is required"))?;
            let dead_letter_queue = queue_logical_id(
                raw_target,
                resolver,
                &format!("{policy_location}.deadLetterTargetArn"),
            )?;
            let resolved = resolve_all(&policy, resolver, &policy_location)?;
            let max_receive_count =
                optional_u64(&resolved, "maxReceiveCount", &policy_location)?
                    .ok_or_else(|| invalid(&policy_location, "maxReceiveCount is required"))?;
            Some(RedriveSpec {
                dead_letter_queue,
                max_receive_count: u32::try_from(max_receive_count)
                    .map_err(|_| invalid(&policy_location, "maxReceiveCount is too large"))?,
            })
        }
    };
    Ok(QueueSpec {
        logical_id: logical_id.to_owned(),
        name: resource_name(resolver, logical_id),
        fifo,
        visibility_timeout: Duration::from_secs(visibility_timeout),
        attributes,
        redrive,
    })
}

fn read_bucket(
    logical_id: &str,
    properties: &Value,
    resolver: &Resolver,
    location: &str,
) -> Result<BucketSpec, TemplateError> {
    let location = format!("{location}.Properties");
    let encryption = match properties
        .get("BucketEncryption")
        .and_then(|encryption| encryption.get("ServerSideEncryptionConfiguration"))
        .and_then(Value::as_array)
        .and_then(|rules| rules.first())
    {
        None => None,
        Some(rule) => {
            let rule_location = format!("{location}.BucketEncryption");
            let default = rule
                .get("ServerSideEncryptionByDefault")
                .cloned()
                .unwrap_or(Value::Null);
            Some(BucketEncryption {
                algorithm: required_string(&default, "SSEAlgorithm", &rule_location)?,
                kms_key_id: optional_string(&default, "KMSMasterKeyID", &rule_location)?,
                bucket_key_enabled: optional_bool(rule, "BucketKeyEnabled", &rule_location)?,
            })
        }
    };
    let public_access_block = match properties.get("PublicAccessBlockConfiguration") {
        None => None,
        Some(block) => {
            let block_location = format!("{location}.PublicAccessBlockConfiguration");
            let flag = |key: &str| -> Result<bool, TemplateError> {
                Ok(optional_bool(block, key, &block_location)?.unwrap_or(false))
            };
            Some(PublicAccessBlock {
                block_public_acls: flag("BlockPublicAcls")?,
                ignore_public_acls: flag("IgnorePublicAcls")?,
                block_public_policy: flag("BlockPublicPolicy")?,
                restrict_public_buckets: flag("RestrictPublicBuckets")?,
            })
        }
    };
    let object_ownership = properties
        .get("OwnershipControls")
        .and_then(|controls| controls.get("Rules"))
        .and_then(Value::as_array)
        .and_then(|rules| rules.first())
        .map(|rule| {
            required_string(
                rule,
                "ObjectOwnership",
                &format!("{location}.OwnershipControls"),
            )
        })
        .transpose()?;
    let versioning_enabled = properties
        .get("VersioningConfiguration")
        .map(|versioning| optional_string(versioning, "Status", &location))
        .transpose()?
        .flatten()
        .is_some_and(|status| status == "Enabled");
    let lifecycle_location = format!("{location}.LifecycleConfiguration.Rules");
    let lifecycle = properties
        .get("LifecycleConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let lifecycle_rules = list(&lifecycle, "Rules", &lifecycle_location)?
        .iter()
        .map(|rule| {
            let noncurrent = rule
                .get("NoncurrentVersionExpiration")
                .map(|expiration| optional_i32(expiration, "NoncurrentDays", &lifecycle_location))
                .transpose()?
                .flatten()
                .or(optional_i32(
                    rule,
                    "NoncurrentVersionExpirationInDays",
                    &lifecycle_location,
                )?);
            let abort = rule
                .get("AbortIncompleteMultipartUpload")
                .map(|abort| optional_i32(abort, "DaysAfterInitiation", &lifecycle_location))
                .transpose()?
                .flatten();
            Ok(LifecycleRule {
                id: optional_string(rule, "Id", &lifecycle_location)?,
                enabled: required_string(rule, "Status", &lifecycle_location)? == "Enabled",
                prefix: optional_string(rule, "Prefix", &lifecycle_location)?,
                expiration_days: optional_i32(rule, "ExpirationInDays", &lifecycle_location)?,
                expired_object_delete_marker: optional_bool(
                    rule,
                    "ExpiredObjectDeleteMarker",
                    &lifecycle_location,
                )?
                .unwrap_or(false),
                noncurrent_version_expiration_days: noncurrent,
                abort_incomplete_multipart_upload_days: abort,
            })
        })
        .collect::<Result<Vec<_>, TemplateError>>()?;
    let cors_location = format!("{location}.CorsConfiguration.CorsRules");
    let cors = properties
        .get("CorsConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let cors_rules = list(&cors, "CorsRules", &cors_location)?
        .iter()
        .map(|rule| {
            Ok(CorsRule {
                id: optional_string(rule, "Id", &cors_location)?,
                allowed_methods: string_list(rule, "AllowedMethods", &cors_location)?,
                allowed_origins: string_list(rule, "AllowedOrigins", &cors_location)?,
                allowed_headers: string_list(rule, "AllowedHeaders", &cors_location)?,
                exposed_headers: string_list(rule, "ExposedHeaders", &cors_location)?,
                max_age_seconds: optional_i32(rule, "MaxAge", &cors_location)?,
            })
        })
        .collect::<Result<Vec<_>, TemplateError>>()?;
    Ok(BucketSpec {
        logical_id: logical_id.to_owned(),
        name: resource_name(resolver, logical_id),
        encryption,
        public_access_block,
        object_ownership,
        versioning_enabled,
        lifecycle_rules,
        cors_rules,
    })
}

// ---------------------------------------------------------------- the WebSocket API

fn resources_of_type<'a>(
    document: &'a Document,
    resource_type: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
    document.resources.iter().filter(move |(_, resource)| {
        resource.get("Type").and_then(Value::as_str) == Some(resource_type)
    })
}

fn belongs_to_api(resource: &Value, api: &str) -> bool {
    resource
        .get("Properties")
        .and_then(|properties| properties.get("ApiId"))
        .is_some_and(|api_id| referenced_ids(api_id).contains(api))
}

fn read_websocket(
    api: &str,
    document: &Document,
    resolver: &Resolver,
) -> Result<WebSocketApiSpec, TemplateError> {
    let location = format!("Resources.{api}");
    let api_properties = document
        .resources
        .get(api)
        .and_then(|resource| resource.get("Properties"))
        .cloned()
        .unwrap_or(Value::Null);
    let api_properties = resolve_all(&api_properties, resolver, &location)?;
    let route_selection_expression = optional_string(
        &api_properties,
        "RouteSelectionExpression",
        &format!("{location}.Properties"),
    )?
    .unwrap_or_else(|| "$request.body.action".to_owned());

    let mut stages = Vec::new();
    for (stage_id, stage) in resources_of_type(document, "AWS::ApiGatewayV2::Stage") {
        if belongs_to_api(stage, api) {
            let stage_location = format!("Resources.{stage_id}.Properties");
            let properties = resolve_except(
                stage.get("Properties").unwrap_or(&Value::Null),
                &["ApiId"],
                resolver,
                &stage_location,
            )?;
            stages.push(required_string(&properties, "StageName", &stage_location)?);
        }
    }
    let stage = match stages.as_slice() {
        [stage] => stage.clone(),
        [] => {
            return Err(invalid(
                &location,
                "the WebSocket API has no AWS::ApiGatewayV2::Stage",
            ))
        }
        _ => {
            return Err(invalid(
                &location,
                format!(
                    "the WebSocket API has several stages ({}); the local gateway serves one",
                    stages.join(", ")
                ),
            ))
        }
    };

    let mut routes = Vec::new();
    for (route_id, route) in resources_of_type(document, "AWS::ApiGatewayV2::Route") {
        if !belongs_to_api(route, api) {
            continue;
        }
        let route_location = format!("Resources.{route_id}.Properties");
        let raw = route.get("Properties").cloned().unwrap_or(Value::Null);
        let route_key = required_string(
            &resolve_except(&raw, &["ApiId", "Target"], resolver, &route_location)?,
            "RouteKey",
            &route_location,
        )?;
        let target = raw
            .get("Target")
            .ok_or_else(|| invalid(&route_location, "Target (integrations/<id>) is required"))?;
        let integrations: Vec<String> = referenced_ids(target)
            .into_iter()
            .filter(|id| {
                document
                    .resources
                    .get(id)
                    .and_then(|r| r.get("Type"))
                    .and_then(Value::as_str)
                    == Some("AWS::ApiGatewayV2::Integration")
            })
            .collect();
        let [integration] = integrations.as_slice() else {
            return Err(invalid(
                &route_location,
                "Target must refer to one AWS::ApiGatewayV2::Integration (e.g. !Sub integrations/${WebSocketIntegration})",
            ));
        };
        routes.push(WebSocketRoute {
            route_key,
            function: integration_function(integration, document, resolver)?,
        });
    }
    if routes.is_empty() {
        return Err(invalid(&location, "the WebSocket API has no routes"));
    }
    routes.sort_by(|left, right| left.route_key.cmp(&right.route_key));
    Ok(WebSocketApiSpec {
        logical_id: api.to_owned(),
        route_selection_expression,
        stage,
        routes,
    })
}

fn integration_function(
    integration: &str,
    document: &Document,
    resolver: &Resolver,
) -> Result<String, TemplateError> {
    let location = format!("Resources.{integration}.Properties");
    let raw = document
        .resources
        .get(integration)
        .and_then(|resource| resource.get("Properties"))
        .cloned()
        .unwrap_or(Value::Null);
    let resolved = resolve_except(&raw, &["ApiId", "IntegrationUri"], resolver, &location)?;
    let integration_type = required_string(&resolved, "IntegrationType", &location)?;
    if integration_type != "AWS_PROXY" {
        return Err(invalid(
            &location,
            format!("IntegrationType {integration_type}: the local gateway supports AWS_PROXY (Lambda) only"),
        ));
    }
    let uri = raw
        .get("IntegrationUri")
        .ok_or_else(|| invalid(&location, "IntegrationUri is required"))?;
    let functions: Vec<String> = referenced_ids(uri)
        .into_iter()
        .filter(|id| {
            resolver
                .resource(id)
                .is_some_and(|resource| resource.resource_type == "AWS::Serverless::Function")
        })
        .collect();
    match functions.as_slice() {
        [function] => Ok(function.clone()),
        _ => Err(invalid(
            &location,
            "IntegrationUri must refer to one AWS::Serverless::Function (…/functions/${Function.Arn}/invocations)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intrinsics::ResolverSettings;
    use serde_json::json;

    fn load(yaml: &str) -> Result<(Template, Resolver), TemplateError> {
        let document = Document::from_yaml(yaml)?;
        let settings = ResolverSettings {
            parameter_overrides: BTreeMap::new(),
            local_base_url: "http://127.0.0.1:8080".into(),
        };
        let resolver = Resolver::new(&document, &settings).map_err(intrinsic("test"))?;
        Ok((Template::from_document(&document, &resolver)?, resolver))
    }

    const SAMPLE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: prod
  AuthIssuer:
    Type: String
    Default: https://issuer.example
  DomainName:
    Type: String
    Default: ""
Conditions:
  HasDomain: !Not [!Equals [!Ref DomainName, ""]]
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    MemorySize: 256
    Timeout: 10
    LoggingConfig:
      LogFormat: JSON
    Environment:
      Variables:
        AUTH_ISSUER: !Ref AuthIssuer
        STAGE: !Ref Stage
Resources:
  UsersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: username, AttributeType: S}
        - {AttributeName: kind, AttributeType: S}
      KeySchema:
        - {AttributeName: username, KeyType: HASH}
      GlobalSecondaryIndexes:
        - IndexName: byKind
          KeySchema:
            - {AttributeName: kind, KeyType: HASH}
            - {AttributeName: username, KeyType: RANGE}
          Projection: {ProjectionType: ALL}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
  BroadcastDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
  BroadcastQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      SqsManagedSseEnabled: true
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt BroadcastDeadLetterQueue.Arn
        maxReceiveCount: 2
  EventsQueue:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: true
  RecordingsBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        BlockPublicPolicy: true
        IgnorePublicAcls: true
        RestrictPublicBuckets: true
      OwnershipControls:
        Rules: [{ObjectOwnership: BucketOwnerEnforced}]
      LifecycleConfiguration:
        Rules:
          - Id: expire-recordings
            Status: Enabled
            ExpirationInDays: 190
  RecordingsBucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref RecordingsBucket
      PolicyDocument: {}
  AlertsTopic:
    Type: AWS::SNS::Topic
  HttpApi:
    Type: AWS::Serverless::HttpApi
  HttpApiFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties: {Binary: http-api}
    Properties:
      CodeUri: ..
      Timeout: 15
      Environment:
        Variables:
          USERS_TABLE: !Ref UsersTable
          BROADCAST_QUEUE_URL: !Ref BroadcastQueue
      Events:
        GetMe:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Method: get, Path: /api/me}
        GetUser:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Method: GET, Path: "/api/admin/users/{username}"}
  BroadcastFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties: {Binary: broadcast}
    Properties:
      CodeUri: ..
      Environment:
        Variables:
          WS_MANAGEMENT_ENDPOINT: !Sub "https://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/${Stage}"
      Events:
        Broadcasts:
          Type: SQS
          Properties:
            Queue: !GetAtt BroadcastQueue.Arn
            BatchSize: 5
            MaximumBatchingWindowInSeconds: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
  WsSweeperFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties: {Binary: ws-sweeper}
    Properties:
      CodeUri: ..
      MemorySize: 128
      Events:
        Sweep:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(15 minutes)
            ScheduleExpressionTimezone: Europe/Prague
        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 3 * * ? *)
            Enabled: false
  WsApiFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties: {Binary: ws-api}
    Properties:
      CodeUri: ..
  WebSocketApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: linka-ws
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  WebSocketIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref WebSocketApi
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${WsApiFunction.Arn}/invocations"
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref WebSocketApi
      RouteKey: $connect
      Target: !Sub integrations/${WebSocketIntegration}
  DefaultRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref WebSocketApi
      RouteKey: $default
      Target: !Join ["/", [integrations, !Ref WebSocketIntegration]]
  WebSocketStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref WebSocketApi
      StageName: !Ref Stage
      AutoDeploy: true
  WsDomain:
    Type: AWS::ApiGatewayV2::DomainName
    Condition: HasDomain
    Properties:
      DomainName: !Sub "ws.${DomainName}"
  WsSweeperPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref WsSweeperFunction
"#;

    #[test]
    fn when_functions_have_globals_should_merge_them_into_each_function() {
        let (template, _) = load(SAMPLE).unwrap();
        let http = template.function("HttpApiFunction").unwrap();
        assert_eq!(http.binary, "http-api");
        assert_eq!(http.function_name, "linka-HttpApiFunction");
        assert_eq!(http.timeout, Duration::from_secs(15));
        assert_eq!(http.memory_size, 256);
        assert_eq!(http.log_format.as_deref(), Some("JSON"));
        let names: Vec<&str> = http.environment.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            vec!["AUTH_ISSUER", "BROADCAST_QUEUE_URL", "STAGE", "USERS_TABLE"]
        );
        let sweeper = template.function("WsSweeperFunction").unwrap();
        assert_eq!(sweeper.memory_size, 128);
        assert_eq!(sweeper.timeout, Duration::from_secs(10));
    }

    #[test]
    fn when_functions_have_http_api_events_should_list_their_routes() {
        let (template, _) = load(SAMPLE).unwrap();
        assert_eq!(
            template.http_routes,
            vec![
                HttpRoute {
                    method: "GET".into(),
                    path: "/api/me".into(),
                    function: "HttpApiFunction".into()
                },
                HttpRoute {
                    method: "GET".into(),
                    path: "/api/admin/users/{username}".into(),
                    function: "HttpApiFunction".into()
                },
            ]
        );
    }

    #[test]
    fn when_a_function_has_an_sqs_event_should_read_its_mapping() {
        let (template, _) = load(SAMPLE).unwrap();
        assert_eq!(
            template.sqs_event_sources,
            vec![SqsEventSpec {
                name: "Broadcasts".into(),
                function: "BroadcastFunction".into(),
                queue: "BroadcastQueue".into(),
                batch_size: 5,
                maximum_batching_window: Duration::from_secs(1),
                report_batch_item_failures: true,
                enabled: true,
            }]
        );
    }

    #[test]
    fn when_a_function_has_schedules_should_read_expression_timezone_and_state() {
        let (template, _) = load(SAMPLE).unwrap();
        assert_eq!(template.schedules.len(), 2);
        let nightly = &template.schedules[0];
        assert_eq!(nightly.name, "Nightly");
        assert_eq!(nightly.kind, ScheduleKind::EventsRule);
        assert_eq!(nightly.expression, "cron(0 3 * * ? *)");
        assert!(!nightly.enabled);
        let sweep = &template.schedules[1];
        assert_eq!(sweep.kind, ScheduleKind::Scheduler);
        assert_eq!(sweep.expression, "rate(15 minutes)");
        assert_eq!(sweep.timezone.as_deref(), Some("Europe/Prague"));
        assert!(sweep.enabled);
        assert_eq!(sweep.function, "WsSweeperFunction");
    }

    #[test]
    fn when_reading_tables_should_keep_keys_indexes_stream_and_ttl() {
        let (template, _) = load(SAMPLE).unwrap();
        let table = template.table("UsersTable").unwrap();
        assert_eq!(table.name, "linka-UsersTable");
        assert_eq!(
            table.key_schema,
            vec![KeyElement {
                attribute_name: "username".into(),
                key_type: KeyType::Hash
            }]
        );
        assert_eq!(table.global_secondary_indexes.len(), 1);
        assert_eq!(table.global_secondary_indexes[0].name, "byKind");
        assert_eq!(
            table.global_secondary_indexes[0].key_schema[1].key_type,
            KeyType::Range
        );
        assert_eq!(
            table.global_secondary_indexes[0].projection,
            Projection::All
        );
        assert_eq!(
            table.stream_view_type.as_deref(),
            Some("NEW_AND_OLD_IMAGES")
        );
        assert_eq!(table.ttl_attribute.as_deref(), Some("expiresAt"));
    }

    #[test]
    fn when_reading_queues_should_keep_attributes_fifo_and_redrive() {
        let (template, _) = load(SAMPLE).unwrap();
        let queue = template.queue("BroadcastQueue").unwrap();
        assert_eq!(queue.name, "linka-BroadcastQueue");
        assert_eq!(queue.visibility_timeout, Duration::from_secs(60));
        assert_eq!(
            queue
                .attributes
                .get("VisibilityTimeout")
                .map(String::as_str),
            Some("60")
        );
        assert_eq!(
            queue
                .attributes
                .get("SqsManagedSseEnabled")
                .map(String::as_str),
            Some("true")
        );
        assert_eq!(
            queue.redrive,
            Some(RedriveSpec {
                dead_letter_queue: "BroadcastDeadLetterQueue".into(),
                max_receive_count: 2
            })
        );
        let fifo = template.queue("EventsQueue").unwrap();
        assert!(fifo.fifo);
        assert_eq!(fifo.name, "linka-EventsQueue.fifo");
        assert_eq!(
            fifo.attributes
                .get("ContentBasedDeduplication")
                .map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn when_reading_buckets_should_keep_encryption_access_block_and_lifecycle() {
        let (template, _) = load(SAMPLE).unwrap();
        let bucket = &template.buckets[0];
        assert_eq!(bucket.name, "linka-recordingsbucket");
        assert_eq!(bucket.encryption.as_ref().unwrap().algorithm, "AES256");
        assert_eq!(
            bucket.public_access_block,
            Some(PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true
            })
        );
        assert_eq!(
            bucket.object_ownership.as_deref(),
            Some("BucketOwnerEnforced")
        );
        assert_eq!(bucket.lifecycle_rules[0].expiration_days, Some(190));
        assert!(bucket.lifecycle_rules[0].enabled);
        assert_eq!(template.topics[0].name, "linka-AlertsTopic");
    }

    #[test]
    fn when_a_websocket_api_is_declared_should_map_routes_to_functions_and_resolve_the_stage() {
        let (template, _) = load(SAMPLE).unwrap();
        assert_eq!(
            template.websocket,
            Some(WebSocketApiSpec {
                logical_id: "WebSocketApi".into(),
                route_selection_expression: "$request.body.action".into(),
                stage: "prod".into(),
                routes: vec![
                    WebSocketRoute {
                        route_key: "$connect".into(),
                        function: "WsApiFunction".into()
                    },
                    WebSocketRoute {
                        route_key: "$default".into(),
                        function: "WsApiFunction".into()
                    },
                ],
            })
        );
    }

    #[test]
    fn when_the_queue_exists_should_resolve_the_function_environment() {
        let (template, mut resolver) = load(SAMPLE).unwrap();
        let http = template.function("HttpApiFunction").unwrap();
        assert!(matches!(
            http.resolve_environment(&resolver),
            Err(TemplateError::Intrinsic {
                source: IntrinsicError::NotYetKnown { .. },
                ..
            })
        ));
        resolver.set_reference(
            "BroadcastQueue",
            "http://127.0.0.1:4566/123456789012/linka-BroadcastQueue",
        );
        let environment = http.resolve_environment(&resolver).unwrap();
        assert_eq!(environment["USERS_TABLE"], "linka-UsersTable");
        assert_eq!(environment["AUTH_ISSUER"], "https://issuer.example");
        assert_eq!(
            environment["BROADCAST_QUEUE_URL"],
            "http://127.0.0.1:4566/123456789012/linka-BroadcastQueue"
        );
        let broadcast = template.function("BroadcastFunction").unwrap();
        assert_eq!(
            broadcast.resolve_environment(&resolver).unwrap()["WS_MANAGEMENT_ENDPOINT"],
            "http://127.0.0.1:8080/ws"
        );
    }

    #[test]
    fn when_a_resource_type_is_unknown_should_fail_naming_it() {
        let yaml = "Resources:\n  Thing:\n    Type: AWS::StepFunctions::StateMachine\n";
        let error = load(yaml).unwrap_err();
        assert!(
            matches!(&error, TemplateError::UnsupportedResource { resource_type, .. } if resource_type == "AWS::StepFunctions::StateMachine"),
            "{error}"
        );
    }

    #[test]
    fn when_an_event_type_is_unknown_should_fail_naming_it() {
        let yaml = r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: fn}}
    Properties:
      Events:
        Stream: {Type: DynamoDB, Properties: {Stream: arn}}
"#;
        let error = load(yaml).unwrap_err();
        assert!(
            matches!(&error, TemplateError::UnsupportedEvent { event_type, .. } if event_type == "DynamoDB"),
            "{error}"
        );
    }

    #[test]
    fn when_a_function_has_no_binary_should_fail() {
        let yaml = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: ..}\n";
        let error = load(yaml).unwrap_err();
        assert!(
            error.to_string().contains("BuildProperties.Binary"),
            "{error}"
        );
    }

    #[test]
    fn when_a_tag_is_unknown_should_fail_naming_it() {
        let error = Document::from_yaml("Resources:\n  A: !Bogus x\n").unwrap_err();
        assert!(
            matches!(&error, TemplateError::UnknownTag { tag, .. } if tag == "!Bogus"),
            "{error}"
        );
    }

    #[test]
    fn when_short_tags_are_used_should_expand_them_to_long_forms() {
        let value = Document::yaml_value(
            "[!Ref A, !GetAtt B.Arn, !Sub 'x', !If [C, 1, 2], !Select [0, [a]], !Condition D, !Not [!Equals [a, b]]]",
        )
        .unwrap();
        assert_eq!(
            value,
            json!([
                {"Ref": "A"},
                {"Fn::GetAtt": ["B", "Arn"]},
                {"Fn::Sub": "x"},
                {"Fn::If": ["C", 1, 2]},
                {"Fn::Select": [0, ["a"]]},
                {"Condition": "D"},
                {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}
            ])
        );
    }

    #[test]
    fn when_an_sqs_event_names_an_unknown_queue_should_fail() {
        let yaml = r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: fn}}
    Properties:
      Events:
        Q: {Type: SQS, Properties: {Queue: "arn:aws:sqs:eu-central-1:123456789012:other"}}
"#;
        let error = load(yaml).unwrap_err();
        assert!(
            error.to_string().contains("is not the ARN of an SQS queue"),
            "{error}"
        );
    }

    #[test]
    fn when_merging_globals_should_merge_maps_concatenate_lists_and_keep_intrinsics_whole() {
        let global = json!({"A": 1, "Env": {"X": {"Ref": "P"}, "Y": "g"}, "L": [1]});
        let own = json!({"A": 2, "Env": {"Y": {"Fn::Sub": "s"}}, "L": [2]});
        assert_eq!(
            merge_globals(&global, &own),
            json!({"A": 2, "Env": {"X": {"Ref": "P"}, "Y": {"Fn::Sub": "s"}}, "L": [1, 2]})
        );
    }

    #[test]
    fn when_a_standalone_scheduler_schedule_targets_a_function_should_read_it() {
        let yaml = r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: fn}}
  Nightly:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: cron(0 2 * * ? *)
      ScheduleExpressionTimezone: Europe/Prague
      FlexibleTimeWindow: {Mode: "OFF"}
      Target:
        Arn: !GetAtt Fn.Arn
        RoleArn: arn:aws:iam::123456789012:role/x
        Input: '{"job": "nightly"}'
"#;
        let (template, _) = load(yaml).unwrap();
        assert_eq!(template.schedules[0].function, "Fn");
        assert_eq!(
            template.schedules[0].input,
            Some(json!("{\"job\": \"nightly\"}"))
        );
        assert_eq!(template.schedules[0].kind, ScheduleKind::Scheduler);
    }

    /// `infra/template.yaml` as the gateway loads it, with a queue URL registered.
    pub(crate) fn project_template() -> (Template, Resolver) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
        let document = Document::from_file(&path).unwrap();
        let settings = ResolverSettings {
            parameter_overrides: [
                ("AuthIssuer", "http://127.0.0.1:8080/auth"),
                ("AuthJwksUrl", "http://127.0.0.1:8080/auth/jwks.json"),
                ("ChatTokenSecret", "a-test-secret-of-at-least-32-bytes"),
                ("ChatWebhookSecret", "a-test-secret-of-at-least-32-bytes"),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
            local_base_url: "http://127.0.0.1:8080".into(),
        };
        let resolver = Resolver::new(&document, &settings).unwrap();
        (
            Template::from_document(&document, &resolver).unwrap(),
            resolver,
        )
    }

    #[test]
    fn when_loading_the_project_template_should_find_what_the_brief_declares() {
        let (template, mut resolver) = project_template();
        let mut functions: Vec<(&str, &str)> = template
            .functions
            .iter()
            .map(|f| (f.logical_id.as_str(), f.binary.as_str()))
            .collect();
        functions.sort_unstable();
        assert_eq!(
            functions,
            vec![
                ("BroadcastFunction", "broadcast"),
                ("CallbacksApiFunction", "callbacks-api"),
                ("ChatApiFunction", "chat-api"),
                ("ChatDistributorFunction", "chat-distributor"),
                ("ChatInboundFunction", "chat-inbound"),
                ("ChatOutboundFunction", "chat-outbound"),
                ("ChatWebhookFunction", "chat-webhook"),
                ("CtiIngestFunction", "cti-ingest"),
                ("DeskApiFunction", "desk-api"),
                ("HttpApiFunction", "http-api"),
                ("RoutingApiFunction", "routing-api"),
                ("RoutingWorkerFunction", "routing-worker"),
                ("VoicemailApiFunction", "voicemail-api"),
                ("WsApiFunction", "ws-api"),
                ("WsSweeperFunction", "ws-sweeper"),
            ]
        );
        for route in [
            ("GET", "/api/me"),
            ("GET", "/api/admin/users/{username}"),
            ("POST", "/api/broadcasts"),
        ] {
            assert!(
                template
                    .http_routes
                    .iter()
                    .any(|r| (r.method.as_str(), r.path.as_str()) == route
                        && r.function == "HttpApiFunction"),
                "{route:?}"
            );
        }
        let websocket = template.websocket.as_ref().unwrap();
        assert_eq!(websocket.stage, "prod");
        let keys: Vec<&str> = websocket
            .routes
            .iter()
            .map(|r| r.route_key.as_str())
            .collect();
        assert_eq!(keys, vec!["$connect", "$default", "$disconnect"]);
        assert!(websocket
            .routes
            .iter()
            .all(|r| r.function == "WsApiFunction"));
        let broadcast = &template.sqs_event_sources[0];
        assert_eq!(
            (
                broadcast.function.as_str(),
                broadcast.queue.as_str(),
                broadcast.report_batch_item_failures
            ),
            ("BroadcastFunction", "BroadcastQueue", true)
        );
        let queue = template.queue("BroadcastQueue").unwrap();
        assert_eq!(
            queue.redrive.as_ref().unwrap().dead_letter_queue,
            "BroadcastDeadLetterQueue"
        );
        assert_eq!(queue.redrive.as_ref().unwrap().max_receive_count, 2);
        let cti = template.queue("CtiEventQueue").unwrap();
        assert!(cti.fifo);
        assert_eq!(cti.name, "linka-CtiEventQueue.fifo");
        assert_eq!(
            cti.attributes
                .get("ContentBasedDeduplication")
                .map(String::as_str),
            Some("false")
        );
        assert_eq!(
            cti.redrive.as_ref().unwrap().dead_letter_queue,
            "CtiEventDeadLetterQueue"
        );
        assert!(template.queue("CtiEventDeadLetterQueue").unwrap().fifo);
        assert!(template
            .sqs_event_sources
            .iter()
            .any(|source| source.function == "CtiIngestFunction"
                && source.queue == "CtiEventQueue"
                && source.report_batch_item_failures));
        let sweep = &template.schedules[0];
        assert_eq!(
            (
                sweep.function.as_str(),
                sweep.expression.as_str(),
                sweep.timezone.as_deref()
            ),
            ("WsSweeperFunction", "rate(1 minute)", Some("Europe/Prague"))
        );
        assert_eq!(
            template
                .table("ConnectionsTable")
                .unwrap()
                .ttl_attribute
                .as_deref(),
            Some("expiresAt")
        );
        assert!(template
            .buckets
            .iter()
            .all(|b| b.public_access_block.is_some() && b.encryption.is_some()));
        let mut subscriptions: Vec<(&str, &str)> = template
            .subscriptions
            .iter()
            .map(|s| (s.topic_arn.as_str(), s.queue_arn.as_str()))
            .collect();
        subscriptions.sort_unstable();
        assert_eq!(
            subscriptions,
            vec![
                (
                    "arn:aws:sns:eu-central-1:123456789012:linka-InboundMailTopic",
                    "arn:aws:sqs:eu-central-1:123456789012:linka-ChatInboundQueue"
                ),
                (
                    "arn:aws:sns:eu-central-1:123456789012:linka-InboundSmsTopic",
                    "arn:aws:sqs:eu-central-1:123456789012:linka-ChatInboundQueue"
                ),
                (
                    "arn:aws:sns:eu-central-1:123456789012:linka-MailEventsTopic",
                    "arn:aws:sqs:eu-central-1:123456789012:linka-ChatInboundQueue"
                ),
            ]
        );
        assert_eq!(template.email_identities[0].identity, "linka.example");

        for queue in [
            "BroadcastQueue",
            "RoutingQueue",
            "CtiCommandQueue",
            "ChatWebhookQueue",
            "ChatOutboundQueue",
            "ChatDistributionQueue",
        ] {
            resolver.set_reference(
                queue,
                format!("http://127.0.0.1:4566/123456789012/linka-{queue}"),
            );
        }
        for function in &template.functions {
            let environment = function.resolve_environment(&resolver).unwrap();
            assert_eq!(environment["AUTH_ISSUER"], "http://127.0.0.1:8080/auth");
            assert_eq!(environment["AUTH_AUDIENCE"], "linka-api");
            if let Some(endpoint) = environment.get("WS_MANAGEMENT_ENDPOINT") {
                assert_eq!(endpoint, "http://127.0.0.1:8080/ws");
            }
        }
    }
}
