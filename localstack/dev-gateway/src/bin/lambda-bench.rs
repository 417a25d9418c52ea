//! `lambda-bench`: cold start, warm invocation latency, binary size and peak memory of every
//! function, measured through the same local Lambda Runtime API the dev gateway uses, and the
//! end-to-end latency of one HTTP route through the running gateway.
//!
//! Needs the local stack up (moto + dev gateway): the functions talk to the emulator and fetch
//! the issuer's JWKS. `scripts/bench.sh` starts it, builds the release binaries, runs this and
//! prints a Markdown report (copied into docs/benchmarks.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use dev_gateway::intrinsics::{Resolver, ResolverSettings};
use dev_gateway::resources::{provision, AwsClients};
use dev_gateway::runtime::{measure_cold_start, FunctionConfig, LambdaService};
use dev_gateway::template::{Document, Template};
use dev_gateway::Invoke;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(about = "Benchmarks every Linka function through the local Lambda Runtime API")]
struct Args {
    #[arg(long, default_value = "infra/template.yaml")]
    template: PathBuf,
    /// Folder with the function binaries to measure (release build).
    #[arg(long, default_value = "target/release")]
    functions_dir: PathBuf,
    /// The running dev gateway (issuer, @connections).
    #[arg(long, env = "LINKA_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4566"
    )]
    aws_endpoint: String,
    /// Cold starts per function.
    #[arg(long, default_value_t = 20)]
    cold: usize,
    /// Warm invocations per function.
    #[arg(long, default_value_t = 300)]
    warm: usize,
}

/// The sample event each function is measured with (see events/README.md).
const SAMPLES: &[(&str, &str)] = &[
    ("HttpApiFunction", "events/apigw-http/get-me.json"),
    ("WsApiFunction", "events/ws/connect.json"),
    ("BroadcastFunction", "events/sqs/broadcast.json"),
    ("WsSweeperFunction", "events/schedule/ws-sweeper.json"),
];

struct Figures {
    function: String,
    binary_bytes: u64,
    init: Vec<Duration>,
    first_response: Vec<Duration>,
    warm: Vec<Duration>,
    peak_rss_kib: Option<u64>,
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn token(http: &reqwest::Client, base_url: &str, user: &str) -> Result<String> {
    let body: Value = http
        .post(format!("{base_url}/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", user),
        ])
        .send()
        .await
        .context("asking the local issuer for a token (is the stack running?)")?
        .error_for_status()?
        .json()
        .await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the issuer's answer")
}

fn sample(path: &Path, token: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?;
    serde_json::from_str(&text.replace("REPLACE_WITH_ACCESS_TOKEN", token))
        .with_context(|| format!("parsing {path:?}"))
}

/// Peak resident memory (VmHWM) of this process's children running `binary`.
fn peak_rss_of_children(binary: &str) -> Option<u64> {
    let me = std::process::id().to_string();
    let mut peak = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        let name_matches = field("Name:").is_some_and(|n| binary.starts_with(&n));
        if name_matches && field("PPid:").as_deref() == Some(me.as_str()) {
            let kib = field("VmHWM:")
                .and_then(|v| v.split_whitespace().next().map(str::to_owned))
                .and_then(|v| v.parse::<u64>().ok());
            peak = peak.max(kib);
        }
    }
    peak
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let http = reqwest::Client::new();
    let document = Document::from_file(&args.template).context("loading the template")?;
    let overrides: BTreeMap<String, String> = [
        ("AuthIssuer".to_owned(), format!("{}/auth", args.base_url)),
        (
            "AuthJwksUrl".to_owned(),
            format!("{}/auth/jwks.json", args.base_url),
        ),
    ]
    .into();
    let mut resolver = Resolver::new(
        &document,
        &ResolverSettings {
            parameter_overrides: overrides,
            local_base_url: args.base_url.clone(),
        },
    )?;
    let template = Template::from_document(&document, &resolver)?;
    let clients = AwsClients::for_endpoint(&args.aws_endpoint).await;
    clients
        .wait_until_reachable(Duration::from_secs(30))
        .await?;
    // Idempotent: reuses what the running gateway created, and registers the names/URLs.
    provision(&template, &clients, &mut resolver).await?;
    let functions_dir = std::fs::canonicalize(&args.functions_dir).with_context(|| {
        format!(
            "{:?} (build with cargo build --release)",
            args.functions_dir
        )
    })?;
    let access_token = token(&http, &args.base_url, "supervisor").await?;

    let mut report = Vec::new();
    for (logical_id, event_path) in SAMPLES {
        let Some(spec) = template
            .functions
            .iter()
            .find(|f| f.logical_id == *logical_id)
        else {
            bail!("{logical_id} is not in the template");
        };
        let environment = spec.resolve_environment(&resolver)?;
        let config =
            FunctionConfig::from_spec(spec, &functions_dir, environment, &args.aws_endpoint, 1);
        let payload = sample(Path::new(event_path), &access_token)?;
        let binary_bytes = std::fs::metadata(&config.executable)
            .with_context(|| format!("{:?}", config.executable))?
            .len();
        eprintln!("{logical_id}: {} cold starts", args.cold);
        let mut init = Vec::new();
        let mut first_response = Vec::new();
        for _ in 0..args.cold {
            let cold = measure_cold_start(config.clone(), payload.clone()).await?;
            if let Err(error) = &cold.result {
                bail!("{logical_id} failed on its first invocation: {error}");
            }
            init.push(cold.spawn_to_first_poll);
            first_response.push(cold.spawn_to_first_response);
        }
        eprintln!("{logical_id}: {} warm invocations", args.warm);
        let shutdown = CancellationToken::new();
        let service = LambdaService::start(vec![config.clone()], shutdown.clone()).await?;
        service.invoke(logical_id, payload.clone()).await?;
        let mut warm = Vec::with_capacity(args.warm);
        for _ in 0..args.warm {
            let started = Instant::now();
            service.invoke(logical_id, payload.clone()).await?;
            warm.push(started.elapsed());
        }
        let peak_rss_kib = peak_rss_of_children(&spec.binary);
        service.stop().await;
        shutdown.cancel();
        report.push(Figures {
            function: format!("{logical_id} (`{}`)", spec.binary),
            binary_bytes,
            init,
            first_response,
            warm,
            peak_rss_kib,
        });
    }

    // End to end through the gateway: GET /api/me (JWT validation with a warm JWKS cache,
    // a DynamoDB GetItem, payload 2.0 both ways).
    let mut end_to_end = Vec::new();
    for _ in 0..args.warm {
        let started = Instant::now();
        let response = http
            .get(format!("{}/api/me", args.base_url))
            .bearer_auth(&access_token)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("GET /api/me answered {}", response.status());
        }
        response.bytes().await?;
        end_to_end.push(started.elapsed());
    }

    println!("| function | binary | init p50 / p95 (ms) | first response p50 / p95 (ms) | warm p50 / p95 / p99 (ms) | peak RSS |");
    println!("|---|---|---|---|---|---|");
    for f in &report {
        println!(
            "| {} | {:.1} MiB | {} / {} | {} / {} | {} / {} / {} | {} |",
            f.function,
            f.binary_bytes as f64 / 1_048_576.0,
            ms(percentile(&f.init, 50.0)),
            ms(percentile(&f.init, 95.0)),
            ms(percentile(&f.first_response, 50.0)),
            ms(percentile(&f.first_response, 95.0)),
            ms(percentile(&f.warm, 50.0)),
            ms(percentile(&f.warm, 95.0)),
            ms(percentile(&f.warm, 99.0)),
            f.peak_rss_kib
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".into()),
        );
    }
    println!();
    println!(
        "End to end, GET /api/me through the dev gateway ({} requests): p50 {} ms, p95 {} ms, p99 {} ms",
        end_to_end.len(),
        ms(percentile(&end_to_end, 50.0)),
        ms(percentile(&end_to_end, 95.0)),
        ms(percentile(&end_to_end, 99.0)),
    );
    Ok(())
}
