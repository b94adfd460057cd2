//! jobs: the AWS Lambda function that will consume Stampede's SQS queues (rollups, media, notifications).
//! Owns only the wiring between `lambda_runtime` and `app::jobs`; until the async issue lands it answers every
//! invocation with "no jobs yet" so the deployment shape (function, role, event source) can be built and tested.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    kit::telemetry::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        tracing::warn!(request_id = %event.context.request_id, "jobs are not implemented yet; event ignored");
        Ok::<_, Error>(Value::Null)
    }))
    .await
}
