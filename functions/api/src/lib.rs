//! api: the handler the Lambda function runs: `app::router` behind what adapts `lambda_http`'s requests to it.
//! Owns only that adaptation (the path below an API Gateway stage, `stage_path`), tested with AWS's events.
//! Must not hold request logic: every route lives in `app`, identical to the container origin.

mod stage_path;

use lambda_http::Request;
use tower::util::MapRequest;

/// `router` as the function serves it: the same routes behind a Function URL, an ALB, or any API Gateway stage.
pub fn handler<S>(router: S) -> MapRequest<S, fn(Request) -> Request> {
    MapRequest::new(router, stage_path::below_stage)
}
