//! hello-bootstrap: the Lambda Rust runtime's hello world (its `basic-lambda` example), the floor for the api
//! function's init and invoke times under the same Runtime API.
//! Must stay the runtime's own minimum: a tracing subscriber, `lambda_runtime::run`, a handler that echoes.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "req_id": event.context.request_id, "msg": "Hello, world" }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(hello)).await
}
