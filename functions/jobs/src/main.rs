//! jobs: Stampede's SQS consumer. As a Lambda function (no arguments) it handles each `SqsEvent` with partial
//! batch failures; locally, `--poll QUEUE_URL` is the event source mapping, and `redrive` / `dlq` operate
//! dead-letter queues. Owns only this wiring: the work itself is `app::jobs`, the batching `kit::sqs_batch`.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use futures::{FutureExt, future::join_all};
use kit::{sqs_poll::Poller, sqs_redrive};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[derive(Parser)]
#[command(about = "Stampede's jobs: the SQS Lambda function, or locally its event source mapping and DLQ tools")]
struct Cli {
    /// Poll these queues (long polling, batches of 10) instead of running as a Lambda function.
    #[arg(long = "poll", value_name = "QUEUE_URL")]
    poll: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Move dead-lettered messages back to a queue (once the cause is fixed).
    Redrive {
        #[arg(long, value_name = "DLQ_URL")]
        from: String,
        #[arg(long, value_name = "QUEUE_URL")]
        to: String,
        /// At most this many messages (default: all).
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
            let state = app::AppState::from_env().await?;
            let runner = Arc::new(app::jobs::runner(&state));
            let handle = move |event| {
                let runner = runner.clone();
                async move { runner.run::<app::jobs::JobMessage>(event).await }
            };
            if cli.poll.is_empty() {
                lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
                    let run = handle(event.payload);
                    async move { Ok::<_, Error>(run.await) }
                }))
                .await?;
            } else {
                let stop = kit::shutdown::signal().shared();
                let mut pollers = Vec::new();
                for url in &cli.poll {
                    pollers.push(Poller::new(state.sqs.clone(), url).await?);
                    tracing::info!(queue = %url, "polling");
                }
                join_all(pollers.iter().map(|poller| poller.run(&handle, stop.clone()))).await;
            }
        }
    }
    Ok(())
}
