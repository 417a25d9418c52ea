//! EventBridge schedules: fires the template's `rate(…)`, `cron(…)` and `at(…)` schedules in
//! their time zone, as EventBridge Scheduler does:
//!
//! * `cron` uses AWS's six fields (minutes hours day-of-month month day-of-week year, one of the
//!   two day fields `?`), evaluated on the local wall clock of `ScheduleExpressionTimezone`.
//!   A time skipped by a daylight-saving change does not fire; a time that occurs twice fires
//!   once. `L`, `W` and `#` are not supported (a clear error at start-up).
//! * `rate` counts fixed durations (a day is 24 h) from the moment the gateway starts; a
//!   Scheduler schedule fires at once, an EventBridge rule after the first interval.
//!
//! Payload: a Scheduler schedule (`ScheduleV2`, `AWS::Scheduler::Schedule`) sends its `Input` or
//! `{}`; an EventBridge rule (`Schedule`, `AWS::Events::Rule`) sends its `Input` or a
//! "Scheduled Event". `POST /_local/schedules/{FunctionLogicalId}/fire[?schedule=<name>]` fires
//! a function's schedule now and answers with the function's result.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, LocalResult, NaiveDateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::intrinsics::{Resolver, ACCOUNT_ID, PARTITION, REGION};
use crate::model::{Invoke, InvokeError};
use crate::template::{physical_name, ScheduleKind, ScheduleSpec};

/// How many cron candidates to look at before giving up (a never-matching expression).
const CRON_SEARCH_LIMIT: usize = 10_000;

/// Why a schedule cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule expression {expression:?}: {reason}")]
    Expression { expression: String, reason: String },
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    #[error("Input of schedule {schedule}: {reason}")]
    Input { schedule: String, reason: String },
}

fn expression_error(expression: &str, reason: impl Into<String>) -> ScheduleError {
    ScheduleError::Expression {
        expression: expression.to_owned(),
        reason: reason.into(),
    }
}

/// A parsed schedule expression.
#[derive(Debug, Clone)]
pub enum Expression {
    Rate(Duration),
    Cron(Box<cron::Schedule>),
    At(NaiveDateTime),
}

impl Expression {
    /// Parses `rate(5 minutes)`, `cron(0 3 * * ? *)` or `at(2026-03-29T02:30:00)`.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let trimmed = text.trim();
        let inner = |prefix: &str| {
            trimmed
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(rate) = inner("rate(") {
            let (value, unit) = rate
                .split_once(char::is_whitespace)
                .ok_or_else(|| expression_error(text, "expected rate(<value> <unit>)"))?;
            let value: u64 = value
                .parse()
                .ok()
                .filter(|value| *value > 0)
                .ok_or_else(|| {
                    expression_error(text, "the value must be a whole number above 0")
                })?;
            let unit_seconds = match unit.trim() {
                "minute" | "minutes" => 60,
                "hour" | "hours" => 3_600,
                "day" | "days" => 86_400,
                other => {
                    return Err(expression_error(
                        text,
                        format!("unknown unit {other:?} (minutes, hours or days)"),
                    ))
                }
            };
            return Ok(Expression::Rate(Duration::from_secs(value * unit_seconds)));
        }
        if let Some(cron) = inner("cron(") {
            return parse_cron(text, cron).map(|schedule| Expression::Cron(Box::new(schedule)));
        }
        if let Some(at) = inner("at(") {
            return NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S")
                .map(Expression::At)
                .map_err(|error| {
                    expression_error(text, format!("expected at(yyyy-mm-ddThh:mm:ss): {error}"))
                });
        }
        Err(expression_error(text, "expected rate(…), cron(…) or at(…)"))
    }

    /// The first fire time strictly after `after`. `anchor` is when a rate schedule started;
    /// `cron` and `at` are read on the wall clock of `timezone`.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        anchor: DateTime<Utc>,
        timezone: Tz,
    ) -> Option<DateTime<Utc>> {
        match self {
            Expression::Rate(interval) => {
                let interval = chrono::Duration::from_std(*interval).ok()?;
                if after < anchor {
                    return Some(anchor);
                }
                let elapsed = after - anchor;
                let periods = elapsed.num_milliseconds() / interval.num_milliseconds().max(1);
                let mut next = anchor + interval * i32::try_from(periods).ok()?;
                while next <= after {
                    next += interval;
                }
                Some(next)
            }
            Expression::Cron(schedule) => {
                // Walk the wall-clock times the expression names and map each to an instant.
                let local_after = after.with_timezone(&timezone).naive_local();
                schedule
                    .after(&local_after.and_utc())
                    .take(CRON_SEARCH_LIMIT)
                    .filter_map(|wall_clock| {
                        match timezone.from_local_datetime(&wall_clock.naive_utc()) {
                            LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
                            // The first of two equal wall-clock times: fire once.
                            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
                            // Skipped by the clock change: no invocation.
                            LocalResult::None => None,
                        }
                    })
                    .find(|instant| *instant > after)
            }
            Expression::At(wall_clock) => {
                let instant = match timezone.from_local_datetime(wall_clock) {
                    LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => {
                        instant.with_timezone(&Utc)
                    }
                    LocalResult::None => return None,
                };
                (instant > after).then_some(instant)
            }
        }
    }
}

fn parse_cron(text: &str, fields: &str) -> Result<cron::Schedule, ScheduleError> {
    let parts: Vec<&str> = fields.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = parts.as_slice() else {
        return Err(expression_error(
            text,
            format!("AWS cron has 6 fields (minutes hours day-of-month month day-of-week year), found {}", parts.len()),
        ));
    };
    if (*day_of_month == "?") == (*day_of_week == "?") {
        return Err(expression_error(
            text,
            "exactly one of day-of-month and day-of-week must be ?",
        ));
    }
    if day_of_month.contains(['L', 'W']) || day_of_week.contains('#') || day_of_week.ends_with('L')
    {
        return Err(expression_error(
            text,
            "L, W and # are not supported by the local scheduler",
        ));
    }
    // The cron crate reads seconds first and numbers days of the week 1-7 from Sunday, as AWS does.
    cron::Schedule::from_str(&format!(
        "0 {minutes} {hours} {day_of_month} {month} {day_of_week} {year}"
    ))
    .map_err(|error| expression_error(text, error.to_string()))
}

/// Why `/fire` could not run a schedule.
#[derive(Debug, thiserror::Error)]
pub enum FireError {
    #[error("function {function} has no schedule{}", schedule.as_ref().map(|name| format!(" named {name}")).unwrap_or_default())]
    NoSchedule {
        function: String,
        schedule: Option<String>,
    },
    #[error(transparent)]
    Invoke(#[from] InvokeError),
}

struct Entry {
    spec: ScheduleSpec,
    expression: Expression,
    timezone: Tz,
    /// The resolved `Input`.
    input: Option<Value>,
    /// ARN of the rule/schedule, for the "Scheduled Event".
    arn: String,
}

/// Every schedule of the template (see the module docs).
pub struct Scheduler {
    entries: Vec<Entry>,
    invoker: Arc<dyn Invoke>,
}

impl Scheduler {
    /// Parses every schedule and resolves its `Input`.
    pub fn new(
        specs: &[ScheduleSpec],
        resolver: &Resolver,
        invoker: Arc<dyn Invoke>,
    ) -> Result<Self, ScheduleError> {
        let entries = specs
            .iter()
            .map(|spec| {
                let expression = Expression::parse(&spec.expression)?;
                let timezone = match &spec.timezone {
                    None => Tz::UTC,
                    Some(name) => name
                        .parse()
                        .map_err(|_| ScheduleError::TimeZone(name.clone()))?,
                };
                let input_error = |reason: String| ScheduleError::Input {
                    schedule: spec.name.clone(),
                    reason,
                };
                let input = match &spec.input {
                    None => None,
                    Some(raw) => match resolver
                        .resolve(raw)
                        .map_err(|error| input_error(error.to_string()))?
                    {
                        None => None,
                        Some(Value::String(text)) => Some(
                            serde_json::from_str(&text)
                                .map_err(|error| input_error(format!("not JSON: {error}")))?,
                        ),
                        Some(value) => Some(value),
                    },
                };
                let arn = match spec.kind {
                    ScheduleKind::Scheduler => format!(
                        "arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{}",
                        physical_name(&spec.name, "AWS::Scheduler::Schedule", false)
                    ),
                    ScheduleKind::EventsRule => format!(
                        "arn:{PARTITION}:events:{REGION}:{ACCOUNT_ID}:rule/{}",
                        physical_name(&rule_logical_id(spec), "AWS::Events::Rule", false)
                    ),
                };
                Ok(Entry {
                    spec: spec.clone(),
                    expression,
                    timezone,
                    input,
                    arn,
                })
            })
            .collect::<Result<Vec<_>, ScheduleError>>()?;
        Ok(Scheduler { entries, invoker })
    }

    /// Starts a timer per enabled schedule; they stop when `shutdown` is cancelled.
    pub fn spawn(self: &Arc<Self>, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
        (0..self.entries.len())
            .filter(|index| self.entries[*index].spec.enabled)
            .map(|index| {
                let scheduler = self.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { scheduler.run(index, shutdown).await })
            })
            .collect()
    }

    async fn run(self: Arc<Self>, index: usize, shutdown: CancellationToken) {
        let entry = &self.entries[index];
        let anchor = Utc::now();
        // A Scheduler rate schedule without a StartDate fires at once; a rule after one interval.
        let mut after = match entry.spec.kind {
            ScheduleKind::Scheduler => anchor - chrono::Duration::milliseconds(1),
            ScheduleKind::EventsRule => anchor,
        };
        while let Some(next) = entry.expression.next_after(after, anchor, entry.timezone) {
            tracing::info!(function = %entry.spec.function, schedule = %entry.spec.name, next = %next.to_rfc3339(), "next fire");
            let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => return,
            }
            let scheduler = self.clone();
            // Scheduler invokes asynchronously: a slow run does not delay the next fire.
            tokio::spawn(async move {
                let entry = &scheduler.entries[index];
                match scheduler.fire_entry(entry, next).await {
                    Ok(_) => {
                        tracing::info!(function = %entry.spec.function, schedule = %entry.spec.name, "fired")
                    }
                    Err(error) => {
                        tracing::warn!(function = %entry.spec.function, schedule = %entry.spec.name, %error, "scheduled invocation failed")
                    }
                }
            });
            after = next;
        }
    }

    /// The payload `entry` sends when it fires at `time`.
    fn payload(entry: &Entry, time: DateTime<Utc>) -> Value {
        if let Some(input) = &entry.input {
            return input.clone();
        }
        match entry.spec.kind {
            ScheduleKind::Scheduler => json!({}),
            ScheduleKind::EventsRule => {
                let mut event: EventBridgeEvent<Value> = EventBridgeEvent::default();
                event.version = Some("0".into());
                event.id = Some(uuid::Uuid::new_v4().to_string());
                event.detail_type = "Scheduled Event".into();
                event.source = "aws.events".into();
                event.account = Some(ACCOUNT_ID.into());
                event.time = Some(time.trunc_subsecs(0));
                event.region = Some(REGION.into());
                event.resources = Some(vec![entry.arn.clone()]);
                event.detail = json!({});
                serde_json::to_value(event).unwrap_or(Value::Null)
            }
        }
    }

    async fn fire_entry(&self, entry: &Entry, time: DateTime<Utc>) -> Result<Value, InvokeError> {
        self.invoker
            .invoke(&entry.spec.function, Self::payload(entry, time))
            .await
    }

    /// Fires `function`'s schedule (the one named `schedule`, or its first) now and returns the
    /// function's result.
    pub async fn fire(&self, function: &str, schedule: Option<&str>) -> Result<Value, FireError> {
        let entry = self
            .entries
            .iter()
            .find(|entry| {
                entry.spec.function == function
                    && schedule.is_none_or(|name| entry.spec.name == name)
            })
            .ok_or_else(|| FireError::NoSchedule {
                function: function.to_owned(),
                schedule: schedule.map(str::to_owned),
            })?;
        Ok(self.fire_entry(entry, Utc::now()).await?)
    }

    /// `POST /_local/schedules/{FunctionLogicalId}/fire[?schedule=<name>]`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/_local/schedules/{function}/fire", post(fire_handler))
            .with_state(self)
    }
}

/// The logical id SAM gives the rule of a `Schedule` event (`<Function><Event>`); a standalone
/// rule keeps its own.
fn rule_logical_id(spec: &ScheduleSpec) -> String {
    if spec.name == spec.function || spec.name.starts_with(&spec.function) {
        spec.name.clone()
    } else {
        format!("{}{}", spec.function, spec.name)
    }
}

async fn fire_handler(
    State(scheduler): State<Arc<Scheduler>>,
    Path(function): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match scheduler
        .fire(&function, query.get("schedule").map(String::as_str))
        .await
    {
        Ok(result) => (StatusCode::OK, Json(result)).into_response(),
        Err(error @ FireError::NoSchedule { .. }) => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": error.to_string()})),
        )
            .into_response(),
        Err(FireError::Invoke(error)) => {
            let (status, error_type) = match &error {
                InvokeError::UnknownFunction(_) => {
                    (StatusCode::NOT_FOUND, "UnknownFunction".to_owned())
                }
                InvokeError::Timeout { .. } => {
                    (StatusCode::GATEWAY_TIMEOUT, "Sandbox.Timedout".to_owned())
                }
                InvokeError::Failed { error_type, .. } => {
                    (StatusCode::BAD_GATEWAY, error_type.clone())
                }
                InvokeError::Unavailable { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable".to_owned(),
                ),
            };
            (
                status,
                Json(json!({"errorType": error_type, "errorMessage": error.to_string()})),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intrinsics::ResolverSettings;
    use crate::template::Document;
    use async_trait::async_trait;
    use axum::body::Body;
    use axum::http::Request;
    use std::sync::Mutex;
    use tower::ServiceExt;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn prague() -> Tz {
        "Europe/Prague".parse().unwrap()
    }

    fn fires(expression: &str, from: &str, count: usize, timezone: Tz) -> Vec<String> {
        let expression = Expression::parse(expression).unwrap();
        let anchor = utc(from);
        let mut after = anchor;
        let mut fired = Vec::new();
        for _ in 0..count {
            after = expression.next_after(after, anchor, timezone).unwrap();
            fired.push(after.to_rfc3339());
        }
        fired
    }

    #[test]
    fn when_a_daily_cron_meets_the_spring_dst_change_should_skip_the_missing_time() {
        // 2026-03-29: Prague clocks jump from 02:00 CET to 03:00 CEST; 02:30 does not exist.
        assert_eq!(
            fires("cron(30 2 * * ? *)", "2026-03-27T12:00:00Z", 3, prague()),
            vec![
                "2026-03-28T01:30:00+00:00", // 02:30 CET
                "2026-03-30T00:30:00+00:00", // 02:30 CEST; 29 March skipped
                "2026-03-31T00:30:00+00:00",
            ]
        );
    }

    #[test]
    fn when_a_cron_meets_the_autumn_dst_change_should_fire_the_repeated_time_once() {
        // 2026-10-25: Prague clocks fall back from 03:00 CEST to 02:00 CET; 02:30 occurs twice.
        assert_eq!(
            fires("cron(30 2 * * ? *)", "2026-10-24T12:00:00Z", 3, prague()),
            vec![
                "2026-10-25T00:30:00+00:00", // 02:30 CEST, the first one
                "2026-10-26T01:30:00+00:00", // 02:30 CET
                "2026-10-27T01:30:00+00:00",
            ]
        );
    }

    #[test]
    fn when_a_cron_names_a_local_hour_should_follow_the_wall_clock_across_dst() {
        // 08:00 on weekdays in Prague is 07:00 UTC in winter and 06:00 UTC in summer.
        assert_eq!(
            fires(
                "cron(0 8 ? * MON-FRI *)",
                "2026-03-26T12:00:00Z",
                3,
                prague()
            ),
            vec![
                "2026-03-27T07:00:00+00:00", // Friday, CET
                "2026-03-30T06:00:00+00:00", // Monday, CEST
                "2026-03-31T06:00:00+00:00",
            ]
        );
    }

    #[test]
    fn when_a_rate_crosses_the_dst_change_should_keep_fixed_durations() {
        assert_eq!(
            fires("rate(1 day)", "2026-03-28T10:00:00Z", 2, prague()),
            vec!["2026-03-29T10:00:00+00:00", "2026-03-30T10:00:00+00:00"]
        );
        assert_eq!(
            fires("rate(15 minutes)", "2026-03-29T00:50:00Z", 2, prague()),
            vec!["2026-03-29T01:05:00+00:00", "2026-03-29T01:20:00+00:00"]
        );
    }

    #[test]
    fn when_a_rate_anchor_lies_ahead_should_fire_at_the_anchor_first() {
        let expression = Expression::parse("rate(5 minutes)").unwrap();
        let anchor = utc("2026-01-01T00:00:00Z");
        let next = expression
            .next_after(anchor - chrono::Duration::milliseconds(1), anchor, Tz::UTC)
            .unwrap();
        assert_eq!(next, anchor);
    }

    #[test]
    fn when_an_at_expression_is_in_the_past_should_not_fire() {
        let expression = Expression::parse("at(2026-05-01T09:00:00)").unwrap();
        assert_eq!(
            expression.next_after(
                utc("2026-04-30T00:00:00Z"),
                utc("2026-04-30T00:00:00Z"),
                prague()
            ),
            Some(utc("2026-05-01T07:00:00Z"))
        );
        assert_eq!(
            expression.next_after(
                utc("2026-05-02T00:00:00Z"),
                utc("2026-05-02T00:00:00Z"),
                prague()
            ),
            None
        );
    }

    #[test]
    fn when_an_expression_is_invalid_or_unsupported_should_fail_with_a_reason() {
        for text in [
            "rate(0 minutes)",
            "rate(5 weeks)",
            "cron(0 3 * * *)",
            "cron(0 3 * * MON *)",
            "cron(0 3 L * ? *)",
            "cron(0 3 ? * 6#3 *)",
            "every 5 minutes",
        ] {
            assert!(
                matches!(
                    Expression::parse(text),
                    Err(ScheduleError::Expression { .. })
                ),
                "{text}"
            );
        }
    }

    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<(String, Value)>>,
    }

    #[async_trait]
    impl Invoke for Recorder {
        async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
            self.seen
                .lock()
                .unwrap()
                .push((function.to_owned(), payload.clone()));
            Ok(json!({"swept": 3}))
        }
    }

    fn scheduler(yaml: &str, recorder: Arc<Recorder>) -> Arc<Scheduler> {
        let document = Document::from_yaml(yaml).unwrap();
        let resolver = Resolver::new(&document, &ResolverSettings::default()).unwrap();
        let template = crate::template::Template::from_document(&document, &resolver).unwrap();
        Arc::new(Scheduler::new(&template.schedules, &resolver, recorder).unwrap())
    }

    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String, Default: prod}
Resources:
  WsSweeperFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: ws-sweeper}}
    Properties:
      Events:
        Sweep:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(15 minutes), ScheduleExpressionTimezone: Europe/Prague}
  ReportFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: report}}
    Properties:
      Events:
        Nightly:
          Type: Schedule
          Properties: {Schedule: cron(0 3 * * ? *)}
        WithInput:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 4 * * ? *)
            Input: !Sub '{"stage": "${Stage}"}'
"#;

    #[tokio::test]
    async fn when_fired_should_send_the_payload_each_kind_of_schedule_sends() {
        let recorder = Arc::new(Recorder::default());
        let scheduler = scheduler(TEMPLATE, recorder.clone());
        assert_eq!(
            scheduler.fire("WsSweeperFunction", None).await.unwrap(),
            json!({"swept": 3})
        );
        scheduler
            .fire("ReportFunction", Some("Nightly"))
            .await
            .unwrap();
        scheduler
            .fire("ReportFunction", Some("WithInput"))
            .await
            .unwrap();
        let seen = recorder.seen.lock().unwrap();
        assert_eq!(seen[0], ("WsSweeperFunction".to_owned(), json!({})));
        let event = &seen[1].1;
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["account"], "123456789012");
        assert_eq!(event["region"], "eu-central-1");
        assert_eq!(event["detail"], json!({}));
        assert_eq!(
            event["resources"][0],
            "arn:aws:events:eu-central-1:123456789012:rule/linka-ReportFunctionNightly"
        );
        assert!(event["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(seen[2].1, json!({"stage": "prod"}));
    }

    #[tokio::test]
    async fn when_posting_to_the_fire_route_should_answer_with_the_result_or_404() {
        let recorder = Arc::new(Recorder::default());
        let router = scheduler(TEMPLATE, recorder).router();
        let response = router
            .clone()
            .oneshot(
                Request::post("/_local/schedules/WsSweeperFunction/fire")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"swept": 3})
        );
        let missing = router
            .oneshot(
                Request::post("/_local/schedules/Nope/fire")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn when_a_scheduler_rate_schedule_starts_should_fire_at_once() {
        let recorder = Arc::new(Recorder::default());
        let scheduler = scheduler(TEMPLATE, recorder.clone());
        let shutdown = CancellationToken::new();
        let tasks = scheduler.spawn(&shutdown);
        assert_eq!(tasks.len(), 3);
        tokio::time::sleep(Duration::from_millis(300)).await;
        shutdown.cancel();
        for task in tasks {
            task.await.unwrap();
        }
        let seen = recorder.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "only the rate schedule is due now: {seen:?}");
        assert_eq!(seen[0].0, "WsSweeperFunction");
    }
}
