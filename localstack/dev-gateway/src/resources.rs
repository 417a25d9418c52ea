//! Creates the template's tables, queues, buckets and topics in the AWS emulator (moto at
//! `--aws-endpoint`) through the AWS SDK — the same calls would work against AWS; only the
//! endpoint differs.
//!
//! Idempotent: what already exists is reused (and its settings re-applied), so a second start
//! against an emulator that kept its state works. Settings moto ignores in CloudFormation — TTL,
//! bucket lifecycle, encryption, public-access block — are applied by API. Dead-letter queues
//! are created before the queues that redrive to them; tables are waited for until `ACTIVE`.
//! Each created resource's `Ref`/`GetAtt` values are registered with the [`Resolver`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_s3::types as s3;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::operation::BuildError;
use serde_json::json;

use crate::intrinsics::{Resolver, REGION};
use crate::template::{
    AttributeType, BucketSpec, IndexSpec, KeyElement, KeyType, Projection, QueueSpec, TableSpec,
    Template, TopicSpec,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a table may stay `CREATING`.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the resources could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("the AWS emulator at {endpoint} did not answer within {seconds} s (is moto running? start it with `moto_server -H 127.0.0.1 -p 4566`): {message}")]
    EmulatorUnreachable {
        endpoint: String,
        seconds: u64,
        message: String,
    },
    #[error("{action} {resource}: {message}")]
    Aws {
        action: &'static str,
        resource: String,
        message: String,
        #[source]
        source: BoxError,
    },
    #[error("table {0} did not become ACTIVE in time")]
    TableNotActive(String),
    #[error("the redrive policies of queues {0} form a cycle")]
    RedriveCycle(String),
    #[error("invalid request built for the emulator")]
    Build(#[from] BuildError),
}

fn aws<'a, E>(action: &'static str, resource: &'a str) -> impl FnOnce(E) -> ResourceError + 'a
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| ResourceError::Aws {
        action,
        resource: resource.to_owned(),
        message: DisplayErrorContext(&error).to_string(),
        source: Box::new(error),
    }
}

/// SDK clients for the emulator.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub endpoint: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sesv2: aws_sdk_sesv2::Client,
}

impl AwsClients {
    /// Clients for the emulator at `endpoint`: region `eu-central-1`, the emulator's dummy
    /// credentials (`test`/`test`), S3 path-style addressing.
    pub async fn for_endpoint(endpoint: &str) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "dev-gateway",
            ))
            .load()
            .await;
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        AwsClients {
            endpoint: endpoint.to_owned(),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sns: aws_sdk_sns::Client::new(&config),
            sesv2: aws_sdk_sesv2::Client::new(&config),
        }
    }

    /// Waits until the emulator answers (it may still be starting).
    pub async fn wait_until_reachable(&self, timeout: Duration) -> Result<(), ResourceError> {
        let started = Instant::now();
        loop {
            match self.dynamodb.list_tables().limit(1).send().await {
                Ok(_) => return Ok(()),
                Err(error) if started.elapsed() >= timeout => {
                    return Err(ResourceError::EmulatorUnreachable {
                        endpoint: self.endpoint.clone(),
                        seconds: timeout.as_secs(),
                        message: DisplayErrorContext(&error).to_string(),
                    })
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
}

/// Where a queue lives once it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEndpoint {
    pub url: String,
    pub arn: String,
}

/// What [`provision`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provisioned {
    /// Logical ids of the resources created now.
    pub created: Vec<String>,
    /// Logical ids of the resources that existed already.
    pub reused: Vec<String>,
    /// Every queue by logical id.
    pub queues: BTreeMap<String, QueueEndpoint>,
}

impl Provisioned {
    fn record(&mut self, logical_id: &str, created: bool) {
        if created {
            self.created.push(logical_id.to_owned());
        } else {
            self.reused.push(logical_id.to_owned());
        }
    }
}

/// Creates (or reuses) every table, queue, bucket and topic of `template` and registers their
/// URLs and ARNs with `resolver`.
pub async fn provision(
    template: &Template,
    clients: &AwsClients,
    resolver: &mut Resolver,
) -> Result<Provisioned, ResourceError> {
    let mut provisioned = Provisioned::default();
    for table in &template.tables {
        let (created, stream_arn) = ensure_table(&clients.dynamodb, table).await?;
        if let Some(stream_arn) = stream_arn {
            resolver.set_attribute(&table.logical_id, "StreamArn", stream_arn);
        }
        provisioned.record(&table.logical_id, created);
    }
    for queue in queues_in_creation_order(&template.queues)? {
        let dead_letter_arn = queue
            .redrive
            .as_ref()
            .and_then(|redrive| provisioned.queues.get(&redrive.dead_letter_queue))
            .map(|endpoint| endpoint.arn.clone());
        let (created, endpoint) = ensure_queue(&clients.sqs, queue, dead_letter_arn).await?;
        resolver.set_reference(&queue.logical_id, endpoint.url.clone());
        resolver.set_attribute(&queue.logical_id, "QueueUrl", endpoint.url.clone());
        resolver.set_attribute(&queue.logical_id, "Arn", endpoint.arn.clone());
        provisioned
            .queues
            .insert(queue.logical_id.clone(), endpoint);
        provisioned.record(&queue.logical_id, created);
    }
    for bucket in &template.buckets {
        let created = ensure_bucket(&clients.s3, bucket).await?;
        provisioned.record(&bucket.logical_id, created);
    }
    for topic in &template.topics {
        let arn = ensure_topic(&clients.sns, topic).await?;
        resolver.set_reference(&topic.logical_id, arn.clone());
        resolver.set_attribute(&topic.logical_id, "TopicArn", arn);
        // CreateTopic is idempotent: there is no telling created from reused.
        provisioned.record(&topic.logical_id, true);
    }
    for subscription in &template.subscriptions {
        // Subscribe is idempotent too (the same topic, protocol and endpoint).
        clients
            .sns
            .subscribe()
            .topic_arn(&subscription.topic_arn)
            .protocol("sqs")
            .endpoint(&subscription.queue_arn)
            .attributes(
                "RawMessageDelivery",
                subscription.raw_message_delivery.to_string(),
            )
            .send()
            .await
            .map_err(aws("Subscribe", &subscription.logical_id))?;
        tracing::info!(subscription = %subscription.logical_id, "subscription ready");
        provisioned.record(&subscription.logical_id, true);
    }
    for identity in &template.email_identities {
        let result = clients
            .sesv2
            .create_email_identity()
            .email_identity(&identity.identity)
            .send()
            .await;
        let created = match result {
            Ok(_) => true,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_already_exists_exception()) =>
            {
                false
            }
            Err(error) => return Err(aws("CreateEmailIdentity", &identity.identity)(error)),
        };
        provisioned.record(&identity.logical_id, created);
    }
    Ok(provisioned)
}

/// Queues ordered so that every dead-letter queue comes before the queues redriving to it.
pub fn queues_in_creation_order(queues: &[QueueSpec]) -> Result<Vec<&QueueSpec>, ResourceError> {
    let mut ordered: Vec<&QueueSpec> = Vec::with_capacity(queues.len());
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while ordered.len() < queues.len() {
        let before = ordered.len();
        for queue in queues {
            if placed.contains(queue.logical_id.as_str()) {
                continue;
            }
            let ready = queue.redrive.as_ref().is_none_or(|redrive| {
                placed.contains(redrive.dead_letter_queue.as_str())
                    || !queues
                        .iter()
                        .any(|other| other.logical_id == redrive.dead_letter_queue)
            });
            if ready {
                placed.insert(&queue.logical_id);
                ordered.push(queue);
            }
        }
        if ordered.len() == before {
            let stuck: Vec<&str> = queues
                .iter()
                .map(|queue| queue.logical_id.as_str())
                .filter(|id| !placed.contains(id))
                .collect();
            return Err(ResourceError::RedriveCycle(stuck.join(", ")));
        }
    }
    Ok(ordered)
}

// ---------------------------------------------------------------- DynamoDB

fn key_schema(elements: &[KeyElement]) -> Result<Vec<ddb::KeySchemaElement>, BuildError> {
    elements
        .iter()
        .map(|element| {
            ddb::KeySchemaElement::builder()
                .attribute_name(&element.attribute_name)
                .key_type(match element.key_type {
                    KeyType::Hash => ddb::KeyType::Hash,
                    KeyType::Range => ddb::KeyType::Range,
                })
                .build()
        })
        .collect()
}

fn projection(projection: &Projection) -> ddb::Projection {
    match projection {
        Projection::All => ddb::Projection::builder()
            .projection_type(ddb::ProjectionType::All)
            .build(),
        Projection::KeysOnly => ddb::Projection::builder()
            .projection_type(ddb::ProjectionType::KeysOnly)
            .build(),
        Projection::Include(attributes) => ddb::Projection::builder()
            .projection_type(ddb::ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.clone()))
            .build(),
    }
}

fn global_index(index: &IndexSpec) -> Result<ddb::GlobalSecondaryIndex, BuildError> {
    ddb::GlobalSecondaryIndex::builder()
        .index_name(&index.name)
        .set_key_schema(Some(key_schema(&index.key_schema)?))
        .projection(projection(&index.projection))
        .build()
}

fn local_index(index: &IndexSpec) -> Result<ddb::LocalSecondaryIndex, BuildError> {
    ddb::LocalSecondaryIndex::builder()
        .index_name(&index.name)
        .set_key_schema(Some(key_schema(&index.key_schema)?))
        .projection(projection(&index.projection))
        .build()
}

/// Returns whether the table was created, and its stream ARN.
async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    spec: &TableSpec,
) -> Result<(bool, Option<String>), ResourceError> {
    let existing = match client.describe_table().table_name(&spec.name).send().await {
        Ok(output) => output.table,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(error) => return Err(aws("DescribeTable", &spec.name)(error)),
    };
    let created = existing.is_none();
    if created {
        let attribute_definitions = spec
            .attribute_definitions
            .iter()
            .map(|(name, attribute_type)| {
                ddb::AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(match attribute_type {
                        AttributeType::S => ddb::ScalarAttributeType::S,
                        AttributeType::N => ddb::ScalarAttributeType::N,
                        AttributeType::B => ddb::ScalarAttributeType::B,
                    })
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut request = client
            .create_table()
            .table_name(&spec.name)
            .billing_mode(ddb::BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(&spec.key_schema)?))
            .set_attribute_definitions(Some(attribute_definitions));
        for index in &spec.global_secondary_indexes {
            request = request.global_secondary_indexes(global_index(index)?);
        }
        for index in &spec.local_secondary_indexes {
            request = request.local_secondary_indexes(local_index(index)?);
        }
        if let Some(view_type) = &spec.stream_view_type {
            request = request.stream_specification(
                ddb::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(ddb::StreamViewType::from(view_type.as_str()))
                    .build()?,
            );
        }
        request
            .send()
            .await
            .map_err(aws("CreateTable", &spec.name))?;
        tracing::info!(table = %spec.name, "created table");
    } else {
        tracing::info!(table = %spec.name, "reusing table");
    }
    let table = wait_until_active(client, &spec.name).await?;
    if let Some(attribute) = &spec.ttl_attribute {
        ensure_ttl(client, &spec.name, attribute).await?;
    }
    Ok((created, table.latest_stream_arn))
}

async fn wait_until_active(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<ddb::TableDescription, ResourceError> {
    let started = Instant::now();
    loop {
        let output = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(aws("DescribeTable", name))?;
        if let Some(table) = output.table {
            if table.table_status == Some(ddb::TableStatus::Active) {
                return Ok(table);
            }
        }
        if started.elapsed() > TABLE_ACTIVE_TIMEOUT {
            return Err(ResourceError::TableNotActive(name.to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn ensure_ttl(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    attribute: &str,
) -> Result<(), ResourceError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(aws("DescribeTimeToLive", table))?;
    let enabled_on_attribute = current.time_to_live_description.is_some_and(|ttl| {
        matches!(
            ttl.time_to_live_status,
            Some(ddb::TimeToLiveStatus::Enabled | ddb::TimeToLiveStatus::Enabling)
        ) && ttl.attribute_name.as_deref() == Some(attribute)
    });
    if !enabled_on_attribute {
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                ddb::TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(attribute)
                    .build()?,
            )
            .send()
            .await
            .map_err(aws("UpdateTimeToLive", table))?;
        tracing::info!(%table, %attribute, "enabled TTL (the emulator does not expire items)");
    }
    Ok(())
}

// ---------------------------------------------------------------- SQS

/// The SQS attributes `spec` asks for; `dead_letter_arn` completes its redrive policy.
pub fn queue_attributes(
    spec: &QueueSpec,
    dead_letter_arn: Option<&str>,
) -> BTreeMap<String, String> {
    let mut attributes = spec.attributes.clone();
    if spec.fifo {
        attributes.insert("FifoQueue".into(), "true".into());
    }
    if let (Some(redrive), Some(arn)) = (&spec.redrive, dead_letter_arn) {
        attributes.insert(
            "RedrivePolicy".into(),
            json!({"deadLetterTargetArn": arn, "maxReceiveCount": redrive.max_receive_count})
                .to_string(),
        );
    }
    attributes
}

async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    spec: &QueueSpec,
    dead_letter_arn: Option<String>,
) -> Result<(bool, QueueEndpoint), ResourceError> {
    let attributes = queue_attributes(spec, dead_letter_arn.as_deref());
    let existing = match client.get_queue_url().queue_name(&spec.name).send().await {
        Ok(output) => output.queue_url,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_queue_does_not_exist()) =>
        {
            None
        }
        Err(error) => return Err(aws("GetQueueUrl", &spec.name)(error)),
    };
    let created = existing.is_none();
    let url = match existing {
        Some(url) => {
            // FifoQueue cannot change; everything else is re-applied.
            let mutable: Vec<(QueueAttributeName, String)> = attributes
                .iter()
                .filter(|(name, _)| name.as_str() != "FifoQueue")
                .map(|(name, value)| (QueueAttributeName::from(name.as_str()), value.clone()))
                .collect();
            if !mutable.is_empty() {
                client
                    .set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(mutable.into_iter().collect()))
                    .send()
                    .await
                    .map_err(aws("SetQueueAttributes", &spec.name))?;
            }
            tracing::info!(queue = %spec.name, "reusing queue");
            url
        }
        None => {
            let output = client
                .create_queue()
                .queue_name(&spec.name)
                .set_attributes(Some(
                    attributes
                        .iter()
                        .map(|(name, value)| {
                            (QueueAttributeName::from(name.as_str()), value.clone())
                        })
                        .collect(),
                ))
                .send()
                .await
                .map_err(aws("CreateQueue", &spec.name))?;
            tracing::info!(queue = %spec.name, "created queue");
            output.queue_url.ok_or_else(|| ResourceError::Aws {
                action: "CreateQueue",
                resource: spec.name.clone(),
                message: "the response has no QueueUrl".into(),
                source: "no QueueUrl".into(),
            })?
        }
    };
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws("GetQueueAttributes", &spec.name))?
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| ResourceError::Aws {
            action: "GetQueueAttributes",
            resource: spec.name.clone(),
            message: "the response has no QueueArn".into(),
            source: "no QueueArn".into(),
        })?;
    Ok((created, QueueEndpoint { url, arn }))
}

// ---------------------------------------------------------------- S3

async fn ensure_bucket(
    client: &aws_sdk_s3::Client,
    spec: &BucketSpec,
) -> Result<bool, ResourceError> {
    let name = spec.name.as_str();
    let created = match client
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            s3::CreateBucketConfiguration::builder()
                .location_constraint(s3::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
    {
        Ok(_) => true,
        Err(error)
            if error.as_service_error().is_some_and(|error| {
                error.is_bucket_already_owned_by_you() || error.is_bucket_already_exists()
            }) =>
        {
            false
        }
        Err(error) => return Err(aws("CreateBucket", name)(error)),
    };
    tracing::info!(bucket = %name, created, "bucket ready");
    if let Some(encryption) = &spec.encryption {
        let mut rule = s3::ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                s3::ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(s3::ServerSideEncryption::from(
                        encryption.algorithm.as_str(),
                    ))
                    .set_kms_master_key_id(encryption.kms_key_id.clone())
                    .build()?,
            );
        if let Some(bucket_key) = encryption.bucket_key_enabled {
            rule = rule.bucket_key_enabled(bucket_key);
        }
        client
            .put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                s3::ServerSideEncryptionConfiguration::builder()
                    .rules(rule.build())
                    .build()?,
            )
            .send()
            .await
            .map_err(aws("PutBucketEncryption", name))?;
    }
    if let Some(block) = spec.public_access_block {
        client
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(
                s3::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(block.block_public_acls)
                    .ignore_public_acls(block.ignore_public_acls)
                    .block_public_policy(block.block_public_policy)
                    .restrict_public_buckets(block.restrict_public_buckets)
                    .build(),
            )
            .send()
            .await
            .map_err(aws("PutPublicAccessBlock", name))?;
    }
    if let Some(ownership) = &spec.object_ownership {
        client
            .put_bucket_ownership_controls()
            .bucket(name)
            .ownership_controls(
                s3::OwnershipControls::builder()
                    .rules(
                        s3::OwnershipControlsRule::builder()
                            .object_ownership(s3::ObjectOwnership::from(ownership.as_str()))
                            .build()?,
                    )
                    .build()?,
            )
            .send()
            .await
            .map_err(aws("PutBucketOwnershipControls", name))?;
    }
    if spec.versioning_enabled {
        client
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                s3::VersioningConfiguration::builder()
                    .status(s3::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(aws("PutBucketVersioning", name))?;
    }
    let rules = lifecycle_rules(spec)?;
    if !rules.is_empty() {
        client
            .put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(
                s3::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()?,
            )
            .send()
            .await
            .map_err(aws("PutBucketLifecycleConfiguration", name))?;
    }
    if !spec.cors_rules.is_empty() {
        let rules = spec
            .cors_rules
            .iter()
            .map(|rule| {
                s3::CorsRule::builder()
                    .set_id(rule.id.clone())
                    .set_allowed_methods(Some(rule.allowed_methods.clone()))
                    .set_allowed_origins(Some(rule.allowed_origins.clone()))
                    .set_allowed_headers(Some(rule.allowed_headers.clone()))
                    .set_expose_headers(Some(rule.exposed_headers.clone()))
                    .set_max_age_seconds(rule.max_age_seconds)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        client
            .put_bucket_cors()
            .bucket(name)
            .cors_configuration(
                s3::CorsConfiguration::builder()
                    .set_cors_rules(Some(rules))
                    .build()?,
            )
            .send()
            .await
            .map_err(aws("PutBucketCors", name))?;
    }
    Ok(created)
}

fn lifecycle_rules(spec: &BucketSpec) -> Result<Vec<s3::LifecycleRule>, BuildError> {
    spec.lifecycle_rules
        .iter()
        .filter(|rule| {
            let has_action = rule.expiration_days.is_some()
                || rule.expired_object_delete_marker
                || rule.noncurrent_version_expiration_days.is_some()
                || rule.abort_incomplete_multipart_upload_days.is_some();
            if !has_action {
                tracing::warn!(bucket = %spec.name, rule = ?rule.id, "lifecycle rule without an action the local stack applies; skipped");
            }
            has_action
        })
        .map(|rule| {
            let mut builder = s3::LifecycleRule::builder()
                .set_id(rule.id.clone())
                .status(if rule.enabled {
                    s3::ExpirationStatus::Enabled
                } else {
                    s3::ExpirationStatus::Disabled
                })
                .filter(
                    s3::LifecycleRuleFilter::builder()
                        .prefix(rule.prefix.clone().unwrap_or_default())
                        .build(),
                );
            if rule.expiration_days.is_some() || rule.expired_object_delete_marker {
                let mut expiration = s3::LifecycleExpiration::builder();
                if let Some(days) = rule.expiration_days {
                    expiration = expiration.days(days);
                } else {
                    expiration = expiration.expired_object_delete_marker(true);
                }
                builder = builder.expiration(expiration.build());
            }
            if let Some(days) = rule.noncurrent_version_expiration_days {
                builder = builder.noncurrent_version_expiration(
                    s3::NoncurrentVersionExpiration::builder()
                        .noncurrent_days(days)
                        .build(),
                );
            }
            if let Some(days) = rule.abort_incomplete_multipart_upload_days {
                builder = builder.abort_incomplete_multipart_upload(
                    s3::AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(days)
                        .build(),
                );
            }
            builder.build()
        })
        .collect()
}

// ---------------------------------------------------------------- SNS

async fn ensure_topic(
    client: &aws_sdk_sns::Client,
    spec: &TopicSpec,
) -> Result<String, ResourceError> {
    let mut request = client.create_topic().name(&spec.name);
    if spec.fifo {
        request = request.attributes("FifoTopic", "true");
        if spec.content_based_deduplication {
            request = request.attributes("ContentBasedDeduplication", "true");
        }
    }
    let output = request
        .send()
        .await
        .map_err(aws("CreateTopic", &spec.name))?;
    tracing::info!(topic = %spec.name, "topic ready");
    output.topic_arn.ok_or_else(|| ResourceError::Aws {
        action: "CreateTopic",
        resource: spec.name.clone(),
        message: "the response has no TopicArn".into(),
        source: "no TopicArn".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intrinsics::ResolverSettings;
    use crate::template::{Document, RedriveSpec};
    use crate::test_support::Moto;

    fn queue(id: &str, dead_letter_queue: Option<&str>) -> QueueSpec {
        QueueSpec {
            logical_id: id.into(),
            name: format!("linka-{id}"),
            fifo: false,
            visibility_timeout: Duration::from_secs(30),
            attributes: BTreeMap::new(),
            redrive: dead_letter_queue.map(|dlq| RedriveSpec {
                dead_letter_queue: dlq.into(),
                max_receive_count: 2,
            }),
        }
    }

    #[test]
    fn when_queues_redrive_should_create_dead_letter_queues_first() {
        let queues = vec![
            queue("A", Some("B")),
            queue("B", Some("C")),
            queue("C", None),
        ];
        let order: Vec<&str> = queues_in_creation_order(&queues)
            .unwrap()
            .iter()
            .map(|queue| queue.logical_id.as_str())
            .collect();
        assert_eq!(order, vec!["C", "B", "A"]);
    }

    #[test]
    fn when_redrive_policies_form_a_cycle_should_fail() {
        let queues = vec![queue("A", Some("B")), queue("B", Some("A"))];
        assert!(matches!(
            queues_in_creation_order(&queues),
            Err(ResourceError::RedriveCycle(_))
        ));
    }

    #[test]
    fn when_a_queue_has_a_redrive_policy_should_send_it_as_json_with_the_dlq_arn() {
        let attributes = queue_attributes(
            &queue("A", Some("B")),
            Some("arn:aws:sqs:eu-central-1:123456789012:linka-B"),
        );
        let policy: serde_json::Value = serde_json::from_str(&attributes["RedrivePolicy"]).unwrap();
        assert_eq!(
            policy,
            json!({"deadLetterTargetArn": "arn:aws:sqs:eu-central-1:123456789012:linka-B", "maxReceiveCount": 2})
        );
    }

    const TEMPLATE: &str = r#"
Resources:
  UsersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: username, AttributeType: S}
        - {AttributeName: kind, AttributeType: S}
      KeySchema: [{AttributeName: username, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: byKind
          KeySchema: [{AttributeName: kind, KeyType: HASH}, {AttributeName: username, KeyType: RANGE}]
          Projection: {ProjectionType: ALL}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
  DeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties: {MessageRetentionPeriod: 1209600}
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn, maxReceiveCount: 2}
  EventsQueue:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true, ContentBasedDeduplication: true}
  RecordingsBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
      OwnershipControls: {Rules: [{ObjectOwnership: BucketOwnerEnforced}]}
      LifecycleConfiguration: {Rules: [{Id: expire, Status: Enabled, ExpirationInDays: 190}]}
  AlertsTopic:
    Type: AWS::SNS::Topic
"#;

    const FIFO_TEMPLATE: &str = r#"
Resources:
  CtiEventQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-CtiEventQueue.fifo"
      FifoQueue: true
      ContentBasedDeduplication: false
      RedrivePolicy: {deadLetterTargetArn: !GetAtt CtiEventDeadLetterQueue.Arn, maxReceiveCount: 5}
  CtiEventDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-CtiEventDeadLetterQueue.fifo"
      FifoQueue: true
      ContentBasedDeduplication: false
"#;

    #[tokio::test]
    async fn when_a_fifo_queue_redrives_to_a_fifo_dlq_should_create_both_as_fifo() {
        // GIVEN a FIFO queue with explicit deduplication ids and a FIFO dead-letter queue
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        clients
            .wait_until_reachable(Duration::from_secs(10))
            .await
            .unwrap();
        let document = Document::from_yaml(FIFO_TEMPLATE).unwrap();
        let mut resolver = Resolver::new(&document, &ResolverSettings::default()).unwrap();
        let template = Template::from_document(&document, &resolver).unwrap();
        // WHEN provisioned
        let provisioned = provision(&template, &clients, &mut resolver).await.unwrap();
        // THEN both are FIFO queues named linka-<LogicalId>.fifo, without content-based dedup
        let queue = &provisioned.queues["CtiEventQueue"];
        assert!(
            queue.url.ends_with("/linka-CtiEventQueue.fifo"),
            "{}",
            queue.url
        );
        assert!(
            queue.arn.ends_with(":linka-CtiEventQueue.fifo"),
            "{}",
            queue.arn
        );
        let attributes = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        assert_eq!(attributes[&QueueAttributeName::FifoQueue], "true");
        assert_eq!(
            attributes[&QueueAttributeName::ContentBasedDeduplication],
            "false"
        );
        let redrive = &attributes[&QueueAttributeName::RedrivePolicy];
        assert!(
            redrive.contains("linka-CtiEventDeadLetterQueue.fifo"),
            "{redrive}"
        );
        assert!(redrive.contains('5'), "{redrive}");
        let dead_letter = &provisioned.queues["CtiEventDeadLetterQueue"];
        assert!(dead_letter
            .url
            .ends_with("/linka-CtiEventDeadLetterQueue.fifo"));
        // AND a second start reuses them (FifoQueue is not re-applied)
        let again = provision(&template, &clients, &mut resolver).await.unwrap();
        assert_eq!(again.reused.len(), 2, "{again:?}");
    }

    #[tokio::test]
    async fn when_provisioning_twice_against_moto_should_create_then_reuse_everything() {
        let moto = Moto::start().await;
        let clients = AwsClients::for_endpoint(&moto.endpoint()).await;
        clients
            .wait_until_reachable(Duration::from_secs(10))
            .await
            .unwrap();
        let document = Document::from_yaml(TEMPLATE).unwrap();
        let mut resolver = Resolver::new(&document, &ResolverSettings::default()).unwrap();
        let template = Template::from_document(&document, &resolver).unwrap();

        let first = provision(&template, &clients, &mut resolver).await.unwrap();
        assert_eq!(first.created.len(), 6, "{first:?}");
        let second = provision(&template, &clients, &mut resolver).await.unwrap();
        assert_eq!(second.reused.len(), 5, "{second:?}");

        let work = &second.queues["WorkQueue"];
        assert!(work.url.ends_with("/linka-WorkQueue"), "{}", work.url);
        assert_eq!(
            resolver
                .resolve_string(&json!({"Ref": "WorkQueue"}))
                .unwrap(),
            work.url
        );
        let attributes = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&work.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "60");
        assert!(attributes[&QueueAttributeName::RedrivePolicy].contains("linka-DeadLetterQueue"));
        assert!(second.queues["EventsQueue"]
            .url
            .ends_with("linka-EventsQueue.fifo"));

        let ttl = clients
            .dynamodb
            .describe_time_to_live()
            .table_name("linka-UsersTable")
            .send()
            .await
            .unwrap()
            .time_to_live_description
            .unwrap();
        assert_eq!(ttl.attribute_name.as_deref(), Some("expiresAt"));
        assert!(resolver
            .resolve_string(&json!({"Fn::GetAtt": ["UsersTable", "StreamArn"]}))
            .is_ok());

        let lifecycle = clients
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket("linka-recordingsbucket")
            .send()
            .await
            .unwrap();
        assert_eq!(
            lifecycle.rules()[0].expiration().and_then(|e| e.days()),
            Some(190)
        );
        let block = clients
            .s3
            .get_public_access_block()
            .bucket("linka-recordingsbucket")
            .send()
            .await
            .unwrap();
        assert_eq!(
            block
                .public_access_block_configuration()
                .and_then(|c| c.block_public_acls()),
            Some(true)
        );
        let encryption = clients
            .s3
            .get_bucket_encryption()
            .bucket("linka-recordingsbucket")
            .send()
            .await
            .unwrap();
        assert!(encryption.server_side_encryption_configuration().is_some());
        assert!(resolver
            .resolve_string(&json!({"Ref": "AlertsTopic"}))
            .unwrap()
            .ends_with(":linka-AlertsTopic"));
    }
}
