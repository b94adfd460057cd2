//! runtime-api: a local Lambda Runtime API that starts a bootstrap again and again and times it as Lambda sees
//! it: init (exec → its first `next`), the first invoke and warm invokes (event handed over → response back).
//! Must add as little as it can to what it times: one event in flight, TCP_NODELAY on every connection.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail, ensure};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::ListenerExt,
};
use clap::Parser;
use serde_json::{Value, json};
use tokio::{
    process::{Child, Command},
    sync::{mpsc, oneshot},
};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
/// How long the bootstrap may take for any one step before the run fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(about = "Times a Lambda bootstrap under a local Runtime API; prints medians as JSON")]
struct Cli {
    /// The event every invocation hands over.
    #[arg(long)]
    event: PathBuf,
    /// How many times the bootstrap is started (cold starts).
    #[arg(long, default_value_t = 10)]
    starts: usize,
    /// Warm invokes after the first, per start.
    #[arg(long, default_value_t = 100)]
    warm: usize,
    /// The `statusCode` every answer must carry (an HTTP function's); not checked when absent.
    #[arg(long)]
    expect_status: Option<u64>,
    /// Where the bootstrap's output goes.
    #[arg(long)]
    log: PathBuf,
    /// The bootstrap to run.
    bootstrap: PathBuf,
}

/// What the Runtime API saw, in the order it saw it.
enum Seen {
    /// The bootstrap asks for an event: send one through the sender.
    Next(Instant, oneshot::Sender<Bytes>),
    Response(Instant, Bytes),
    Error(String),
}

type Reports = mpsc::UnboundedSender<Seen>;

async fn next(State(reports): State<Reports>) -> Response {
    let (handover, event) = oneshot::channel();
    if reports.send(Seen::Next(Instant::now(), handover)).is_err() {
        return StatusCode::GONE.into_response();
    }
    let Ok(event) = event.await else { return StatusCode::GONE.into_response() };
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", request_id().parse().expect("hex digits"));
    headers.insert("lambda-runtime-deadline-ms", deadline.as_millis().to_string().parse().expect("digits"));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:bench".parse().expect("ASCII"),
    );
    headers.insert("content-type", "application/json".parse().expect("ASCII"));
    (headers, event).into_response()
}

/// A request id unique within the run.
fn request_id() -> String {
    format!("{:032x}", SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos())
}

async fn response(State(reports): State<Reports>, body: Bytes) -> StatusCode {
    let _ = reports.send(Seen::Response(Instant::now(), body));
    StatusCode::ACCEPTED
}

async fn invocation_error(State(reports): State<Reports>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let _ = reports.send(Seen::Error(format!("invocation {id} failed: {}", String::from_utf8_lossy(&body))));
    StatusCode::ACCEPTED
}

async fn init_error(State(reports): State<Reports>, body: Bytes) -> StatusCode {
    let _ = reports.send(Seen::Error(format!("init failed: {}", String::from_utf8_lossy(&body))));
    StatusCode::ACCEPTED
}

/// One bootstrap process and the Runtime API it talks to (a port of its own, so nothing a killed process left
/// in flight reaches the next start).
struct Start {
    child: Child,
    seen: mpsc::UnboundedReceiver<Seen>,
    server: tokio::task::JoinHandle<()>,
}

impl Start {
    async fn spawn(cli: &Cli, log: &std::fs::File) -> anyhow::Result<(Self, Instant)> {
        let (reports, seen) = mpsc::unbounded_channel();
        let router = Router::new()
            .route(NEXT, get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(reports);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        // Without TCP_NODELAY each answer waits for the client's delayed ACK (~40 ms): that would be the stub.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let name = cli.bootstrap.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut command = Command::new(&cli.bootstrap);
        command
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command.spawn().with_context(|| format!("starting {}", cli.bootstrap.display()))?;
        Ok((Self { child, seen, server }, started))
    }

    /// The next thing the bootstrap does, within [`STEP_TIMEOUT`]; an error if it fails or exits instead.
    async fn step(&mut self) -> anyhow::Result<Seen> {
        tokio::select! {
            seen = self.seen.recv() => match seen {
                Some(Seen::Error(error)) => bail!(error),
                Some(seen) => Ok(seen),
                None => bail!("the Runtime API stopped"),
            },
            status = self.child.wait() => bail!("the bootstrap exited ({})", status?),
            () = tokio::time::sleep(STEP_TIMEOUT) => bail!("the bootstrap did nothing for {STEP_TIMEOUT:?}"),
        }
    }

    /// Waits for the bootstrap's `next`; returns when it came and where to send the event.
    async fn next(&mut self) -> anyhow::Result<(Instant, oneshot::Sender<Bytes>)> {
        match self.step().await? {
            Seen::Next(at, handover) => Ok((at, handover)),
            _ => bail!("the bootstrap answered before it was asked"),
        }
    }

    /// Hands `event` over and waits for the answer; returns how long that took and the answer.
    async fn invoke(&mut self, handover: oneshot::Sender<Bytes>, event: &Bytes) -> anyhow::Result<(Duration, Bytes)> {
        let handed = Instant::now();
        ensure!(handover.send(event.clone()).is_ok(), "the bootstrap hung up before its event");
        match self.step().await? {
            Seen::Response(at, body) => Ok((at - handed, body)),
            _ => bail!("the bootstrap asked for another event before answering"),
        }
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
    }
}

fn check(answer: &Bytes, expected: Option<u64>) -> anyhow::Result<()> {
    let Some(expected) = expected else { return Ok(()) };
    let status = serde_json::from_slice::<Value>(answer).ok().and_then(|a| a["statusCode"].as_u64());
    ensure!(
        status == Some(expected),
        "expected statusCode {expected}, the bootstrap answered {}",
        String::from_utf8_lossy(answer)
    );
    Ok(())
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples.get(samples.len() / 2).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    ensure!(cli.starts > 0, "--starts must be at least 1");
    let event = Bytes::from(std::fs::read(&cli.event).with_context(|| format!("reading {}", cli.event.display()))?);
    let log = std::fs::File::create(&cli.log)?;
    let (mut inits, mut firsts, mut warms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cli.starts {
        let (mut start, started) = Start::spawn(&cli, &log).await?;
        let (asked, handover) = start.next().await?;
        inits.push(asked - started);
        let (took, answer) = start.invoke(handover, &event).await?;
        check(&answer, cli.expect_status)?;
        firsts.push(took);
        for _ in 0..cli.warm {
            let (_, handover) = start.next().await?;
            let (took, answer) = start.invoke(handover, &event).await?;
            check(&answer, cli.expect_status)?;
            warms.push(took);
        }
        start.stop().await;
    }
    let figures = json!({
        "starts": cli.starts,
        "warm_invokes": warms.len(),
        "init_ms": median_ms(inits),
        "first_invoke_ms": median_ms(firsts),
        "warm_invoke_ms": median_ms(warms),
    });
    println!("{figures}");
    Ok(())
}
