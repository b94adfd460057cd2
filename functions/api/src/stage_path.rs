//! The path `app::router` matches, whatever invoked the function. API Gateway serves an API under a stage
//! (`https://{api}.execute-api.{region}.amazonaws.com/{stage}/v1/posts`) and `lambda_http` keeps the stage in
//! the request's path, where no route matches it; this puts the path below the stage back, from the event alone.

use lambda_http::{Request, RequestExt, http::Uri, request::RequestContext};

/// HTTP APIs' stage that has no segment in the URL.
const DEFAULT_STAGE: &str = "$default";

/// `request` with the path the API's routes are written for. Function URL and ALB requests are left as they are.
pub fn below_stage(mut request: Request) -> Request {
    if let Some(uri) = path_below_stage(&request).and_then(|path| with_path(request.uri(), path)) {
        *request.uri_mut() = uri;
    }
    request
}

/// The event's path without the stage, where `lambda_http` puts one in; `None` where its path is the API's.
fn path_below_stage(request: &Request) -> Option<&str> {
    let path = request.raw_http_path();
    match request.request_context_ref()? {
        // REST API: the event's `path` has no stage (`requestContext.path` has it); `lambda_http` adds it back.
        RequestContext::ApiGatewayV1(_) => Some(path),
        // HTTP API: `rawPath` starts with a named stage, also through a custom domain's API mapping.
        RequestContext::ApiGatewayV2(context) => {
            let stage = context.stage.as_deref().filter(|stage| *stage != DEFAULT_STAGE)?;
            Some(match path.strip_prefix('/').and_then(|rest| rest.strip_prefix(stage)) {
                Some("") => "/",
                Some(below) if below.starts_with('/') => below,
                _ => path,
            })
        }
        _ => None,
    }
}

/// `uri` with `path`, escaped as `lambda_http` escapes an event's path (by `url`'s rules); the query is kept.
fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let mut url = url::Url::parse("http://localhost").expect("a valid base URL");
    url.set_path(path);
    let path_and_query = match uri.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn uri_seen_by_the_router(event: Value) -> String {
        let request = lambda_http::request::from_str(&event.to_string()).expect("a Lambda HTTP event");
        below_stage(request).uri().to_string()
    }

    fn rest_api(stage: &str, path: &str) -> Value {
        json!({
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": "GET",
            "headers": {"Host": "gy415nuibc.execute-api.us-east-1.amazonaws.com"},
            "multiValueQueryStringParameters": {"tag": ["a", "b"]},
            "pathParameters": {"proxy": path.trim_start_matches('/')},
            "requestContext": {"stage": stage, "path": format!("/{stage}{path}"), "resourcePath": "/{proxy+}",
                               "httpMethod": "GET", "apiId": "gy415nuibc"},
            "isBase64Encoded": false
        })
    }

    fn http_api(stage: &str, raw_path: &str) -> Value {
        json!({
            "version": "2.0",
            "routeKey": "ANY /{proxy+}",
            "rawPath": raw_path,
            "rawQueryString": "tag=a&tag=b",
            "headers": {"host": "aaaaaaaaaa.execute-api.us-east-1.amazonaws.com"},
            "requestContext": {"stage": stage, "http": {"method": "GET", "path": raw_path}, "apiId": "aaaaaaaaaa"},
            "isBase64Encoded": false
        })
    }

    #[test]
    fn a_rest_api_stage_is_not_in_the_path() {
        let expected = "https://gy415nuibc.execute-api.us-east-1.amazonaws.com/v1/posts?tag=a&tag=b";
        assert_eq!(uri_seen_by_the_router(rest_api("prod", "/v1/posts")), expected);
        // `lambda_http` leaves a path alone that starts like the stage: here both are right by chance.
        assert_eq!(uri_seen_by_the_router(rest_api("v1", "/v1/posts")), expected);
    }

    #[test]
    fn a_rest_api_path_is_escaped_as_lambda_http_escapes_it() {
        let uri = uri_seen_by_the_router(rest_api("prod", "/v1/users/a b"));
        assert!(uri.ends_with(".com/v1/users/a%20b?tag=a&tag=b"), "{uri}");
    }

    #[test]
    fn a_named_http_api_stage_is_taken_off_the_path() {
        let expected = "https://aaaaaaaaaa.execute-api.us-east-1.amazonaws.com/v1/posts?tag=a&tag=b";
        assert_eq!(uri_seen_by_the_router(http_api("prod", "/prod/v1/posts")), expected);
        assert_eq!(uri_seen_by_the_router(http_api("v1", "/v1/v1/posts")), expected);
        assert!(uri_seen_by_the_router(http_api("prod", "/prod")).ends_with(".com/?tag=a&tag=b"));
    }

    #[test]
    fn the_default_stage_and_a_stage_prefix_alone_are_left_in_the_path() {
        let default = uri_seen_by_the_router(http_api("$default", "/v1/posts"));
        assert!(default.ends_with(".com/v1/posts?tag=a&tag=b"), "{default}");
        let lookalike = uri_seen_by_the_router(http_api("prod", "/production/v1"));
        assert!(lookalike.ends_with(".com/production/v1?tag=a&tag=b"), "{lookalike}");
    }

    #[test]
    fn alb_requests_keep_their_path() {
        let target_group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/6d0ecf831eec9f09";
        let event = json!({
            "requestContext": {"elb": {"targetGroupArn": target_group}},
            "httpMethod": "GET",
            "path": "/v1/posts",
            "multiValueQueryStringParameters": {"limit": ["2"]},
            "multiValueHeaders": {"host": ["api.example.com"]},
            "isBase64Encoded": false
        });
        assert_eq!(uri_seen_by_the_router(event), "/v1/posts?limit=2");
    }
}
