//! api: the AWS Lambda function serving Stampede's HTTP API (Function URL, API Gateway HTTP/REST, ALB events).
//! Owns only the wiring: telemetry, state from the environment, and `lambda_http` around `api::handler`.
//! Must not hold request logic: every route lives in `app`, identical to the container origin.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    kit::telemetry::init();
    let state = app::AppState::serving_from_env().await?;
    lambda_http::run(api::handler(app::router(state))).await
}
