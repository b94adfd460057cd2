//! jobs: Stampede's queue and stream consumer. As a Lambda function (no arguments) it handles SQS batches with
//! partial failures and the table stream's windows; locally `--poll QUEUE_URL` and `--stream STREAM_ARN` are the
//! event source mappings, and `redrive` / `dlq` operate dead-letter queues. The work itself is `app::jobs`.

use std::{sync::Arc, time::Duration};

use clap::{Parser, Subcommand};
use futures::{FutureExt, future::join_all};
use kit::{
    sqs_poll::Poller,
    sqs_redrive,
    stream_poll::{Start, StreamPoller},
    stream_window::StreamWindow,
};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Stampede's jobs: the SQS Lambda function, or locally its event source mapping and DLQ tools")]
struct Cli {
    /// Poll these queues (long polling, batches of 10) instead of running as a Lambda function.
    #[arg(long = "poll", value_name = "QUEUE_URL")]
    poll: Vec<String>,
    /// Read this DynamoDB stream (every shard, from its oldest record, each second) instead of running as a
    /// Lambda function: the like counter's event source mapping.
    #[arg(long = "stream", value_name = "STREAM_ARN")]
    stream: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Move dead-lettered messages back to a queue (once the cause is fixed): those it holds when the redrive
    /// starts; any that fail again meanwhile stay dead-lettered.
    Redrive {
        #[arg(long, value_name = "DLQ_URL")]
        from: String,
        #[arg(long, value_name = "QUEUE_URL")]
        to: String,
        /// At most this many messages (default: all it holds at the start).
        #[arg(long)]
        max: Option<usize>,
    },
    /// Print what is in a dead-letter queue and why, as JSON lines (the messages stay there).
    Dlq {
        #[arg(long, value_name = "DLQ_URL")]
        queue: String,
        #[arg(long, default_value_t = 10)]
        max: usize,
    },
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    kit::telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Redrive { from, to, max }) => {
            let sqs = aws_sdk_sqs::Client::new(&kit::aws::sdk_config().await);
            let moved = sqs_redrive::redrive(&sqs, &from, &to, max).await?;
            println!("moved {moved} message(s) from {from} to {to}");
        }
        Some(Command::Dlq { queue, max }) => {
            let sqs = aws_sdk_sqs::Client::new(&kit::aws::sdk_config().await);
            for letter in sqs_redrive::inspect(&sqs, &queue, max).await? {
                println!("{}", serde_json::to_string(&letter)?);
            }
        }
        None => {
            let state = Arc::new(app::AppState::from_env().await?);
            if cli.poll.is_empty() && cli.stream.is_none() {
                let jobs = Arc::new(app::jobs::LambdaJobs::new(&state));
                lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
                    let jobs = jobs.clone();
                    async move { jobs.handle(event.payload).await }
                }))
                .await?;
            } else {
                let runner = Arc::new(app::jobs::runner(&state));
                let handle = move |event| {
                    let runner = runner.clone();
                    async move { runner.run::<app::jobs::JobMessage>(event).await }
                };
                let (store, events) = (state.store.clone(), state.events.clone());
                let count = move |window: StreamWindow| {
                    let (store, events) = (store.clone(), events.clone());
                    async move { app::jobs::like_counts::handle(&store, &events, window).await }
                };
                let stop = kit::shutdown::signal().shared();
                let mut pollers = Vec::new();
                for url in &cli.poll {
                    pollers.push(Poller::new(state.sqs.clone(), url).await?);
                    tracing::info!(queue = %url, "polling");
                }
                let sdk = kit::aws::sdk_config().await;
                let stream = match &cli.stream {
                    Some(arn) => {
                        tracing::info!(stream = %arn, "reading the stream");
                        Some(StreamPoller::new(&sdk, arn, Start::Oldest).await?)
                    }
                    None => None,
                };
                let streams = stream.iter().map(|poller| poller.run(&count, Duration::from_secs(1), stop.clone()));
                let queues = join_all(pollers.iter().map(|poller| poller.run(&handle, stop.clone())));
                futures::join!(queues, join_all(streams));
            }
        }
    }
    Ok(())
}
