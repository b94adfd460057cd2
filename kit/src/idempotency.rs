//! `Idempotency-Key` for unsafe requests, stored in DynamoDB: a retried request replays the first response
//! instead of doing the work twice. This is what makes it safe for a client, or the edge failing over between
//! upstreams, to resend a write.
//!
//! Semantics (after the IETF httpapi idempotency-key draft): the first request with a key claims a record and
//! runs; its response is stored for `ttl` if it is final for that request: a success, or a client error that
//! the same body will always get (400, 413, 415, 422). Anything that may change on a retry (401, 403, 404,
//! 409, 429, 5xx: a profile created since, a conflict that cleared, an overload) releases the claim instead. A repeat with the same key and the same body gets the
//! stored response with `Idempotent-Replayed: true`; while the first is still running it gets 409; with a
//! different body it gets 422. Keys are scoped per caller, method and path, so two users never collide.
//!
//! Every record holds a [`Seed`], fixed when the key is first claimed and handed to the handler in the request's
//! extensions: a create derives its new resource's id from it. A request that dies after its write (a crash, a
//! timeout, a lost answer) leaves its claim to lapse after `lock`, or releases it keeping the seed; the retry
//! that takes over gets the same seed, finds the resource already made, and answers with it. No second post.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use crate::{
    dynamo::{DynamoError, Item, key, n, s},
    problem::{Problem, ProblemType, types},
};

pub const HEADER: &str = stampede_contract::headers::IDEMPOTENCY_KEY;
const IN_PROGRESS_STATUS: &str = "in_progress";
const COMPLETED_STATUS: &str = "completed";
const RELEASED_STATUS: &str = "released";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;
/// Response headers worth replaying; the rest (dates, request ids) belong to the original exchange.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::CACHE_CONTROL];

pub const INVALID_KEY: ProblemType = ProblemType::new(
    "invalid-idempotency-key",
    "The Idempotency-Key header must be 1 to 255 visible ASCII characters",
    StatusCode::BAD_REQUEST.as_u16(),
);
pub const KEY_REUSED: ProblemType = ProblemType::new(
    "idempotency-key-reused",
    "This Idempotency-Key was already used for a different request body",
    StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
);
pub const IN_PROGRESS: ProblemType = ProblemType::new(
    "request-in-progress",
    "A request with this Idempotency-Key is still being processed",
    StatusCode::CONFLICT.as_u16(),
);

/// Which caller a request belongs to (e.g. the authenticated user); `None` leaves the request alone (it will
/// be rejected as unauthenticated further in).
pub type ScopeFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// Records in a DynamoDB table with string keys `pk`/`sk`, one item per (scope, key).
#[derive(Clone)]
pub struct Idempotency {
    client: Client,
    table: Arc<str>,
    scope: Arc<ScopeFn>,
    /// How long a completed response is replayed.
    pub ttl: Duration,
    /// How long a claim protects a running request; after that a retry may take over (the first one crashed).
    pub lock: Duration,
    /// Requests with larger bodies are refused (413) rather than fingerprinted.
    pub max_body: usize,
}

impl Idempotency {
    pub fn new(client: Client, table: impl Into<Arc<str>>, scope: Arc<ScopeFn>) -> Self {
        Self {
            client,
            table: table.into(),
            scope,
            ttl: Duration::from_secs(24 * 3600),
            lock: Duration::from_secs(30),
            max_body: 64 * 1024,
        }
    }
}

/// The seed of a request's idempotency record: the same for every attempt of one request (one key, one body),
/// in the request's extensions while the handler runs. A ULID made at the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed(pub ulid::Ulid);

/// A claimed record, or the reason the request must not run.
enum Claim {
    Acquired(Seed),
    Replay(Response),
    InProgress,
    Mismatch,
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970")
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

fn valid_key(value: &HeaderValue) -> Option<&str> {
    let key = value.to_str().ok()?;
    (1..=MAX_KEY_LEN).contains(&key.len()).then_some(key).filter(|k| k.bytes().all(|b| b.is_ascii_graphic()))
}

impl Idempotency {
    fn record_key(id: &str) -> Item {
        key(format!("IDEMPOTENCY#{id}"), "REQUEST")
    }

    async fn claim(&self, id: &str, fingerprint: &str) -> Result<Claim, DynamoError> {
        let now = now();
        let seed = Seed(ulid::Ulid::generate());
        // Marks this attempt's own writes: the SDK may retry a write whose answer was lost, and the retry must
        // recognise the claim as its own rather than another attempt's.
        let claimant = ulid::Ulid::generate().to_string();
        let mut item = Self::record_key(id);
        item.extend([
            ("claimant".to_owned(), s(&claimant)),
            ("status".to_owned(), s(IN_PROGRESS_STATUS)),
            ("fingerprint".to_owned(), s(fingerprint)),
            ("seed".to_owned(), s(seed.0.to_string())),
            ("expires_at".to_owned(), n((now + self.ttl).as_secs())),
            ("locked_until".to_owned(), n((now + self.lock).as_millis())),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now_s")
            .expression_attribute_values(":now_s", n(now.as_secs()))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::Acquired(seed)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(err) => return Err(err.into()),
        }
        let existing = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(Self::record_key(id)))
            .consistent_read(true)
            .send()
            .await?
            .item
            .unwrap_or_default();
        let text = |name: &str| existing.get(name).and_then(|v| v.as_s().ok()).map(String::as_str);
        let locked_until = existing.get("locked_until").and_then(|v| v.as_n().ok());
        let lapsed = locked_until.and_then(|v| v.parse::<u128>().ok()).is_none_or(|until| until < now.as_millis());
        let stored_seed = text("seed").and_then(|v| ulid::Ulid::from_string(v).ok()).map(Seed);
        Ok(match (text("fingerprint"), text("status"), stored_seed) {
            (Some(f), _, _) if f != fingerprint => Claim::Mismatch,
            (Some(_), Some(COMPLETED_STATUS), _) => Claim::Replay(stored_response(&existing)),
            // This attempt's own claim, whose answer was lost and whose write the SDK retried.
            (Some(_), Some(IN_PROGRESS_STATUS), Some(seed)) if text("claimant") == Some(claimant.as_str()) => {
                Claim::Acquired(seed)
            }
            // Released, or claimed by an attempt that has not been heard of for `lock`: take it over, seed and all.
            (Some(_), Some(status), Some(seed)) if status == RELEASED_STATUS || lapsed => {
                match self.take_over(id, status, locked_until, &claimant, now).await? {
                    true => Claim::Acquired(seed),
                    false => Claim::InProgress,
                }
            }
            // Running, or the record expired and vanished between the two calls: let the client retry.
            _ => Claim::InProgress,
        })
    }

    /// Claims a released or lapsed record again, if nobody else did since it was read as `status`/`locked_until`
    /// (or if the one who did is this attempt, its first answer lost).
    async fn take_over(
        &self,
        id: &str,
        status: &str,
        locked_until: Option<&String>,
        claimant: &str,
        now: Duration,
    ) -> Result<bool, DynamoError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(Self::record_key(id)))
            .update_expression("SET #status = :in_progress, locked_until = :lock, claimant = :claimant")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":claimant", s(claimant))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS_STATUS))
            .expression_attribute_values(":lock", n((now + self.lock).as_millis()))
            .expression_attribute_values(":seen", s(status));
        update = match locked_until {
            Some(seen) => update
                .condition_expression("(#status = :seen AND locked_until = :seen_lock) OR claimant = :claimant")
                .expression_attribute_values(":seen_lock", AttributeValue::N(seen.clone())),
            None => update.condition_expression(
                "(#status = :seen AND attribute_not_exists(locked_until)) OR claimant = :claimant",
            ),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    async fn complete(
        &self,
        id: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), DynamoError> {
        let stored_headers: HashMap<String, AttributeValue> = REPLAYED_HEADERS
            .iter()
            .filter_map(|name| Some((name.as_str().to_owned(), s(headers.get(name)?.to_str().ok()?))))
            .collect();
        self.client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(Self::record_key(id)))
            .update_expression(
                "SET #status = :completed, response_status = :code, response_headers = :headers, response_body = :body REMOVE locked_until",
            )
            // Never a record without its fingerprint and expiry, should this one have expired meanwhile.
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(COMPLETED_STATUS))
            .expression_attribute_values(":code", n(status.as_u16()))
            .expression_attribute_values(":headers", AttributeValue::M(stored_headers))
            .expression_attribute_values(":body", s(STANDARD.encode(body)))
            .send()
            .await?;
        Ok(())
    }

    /// Lets the next attempt run, with the same seed: this one's answer may change on a retry.
    async fn release(&self, id: &str) -> Result<(), DynamoError> {
        self.client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(Self::record_key(id)))
            .update_expression("SET #status = :released REMOVE locked_until")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":released", s(RELEASED_STATUS))
            .send()
            .await?;
        Ok(())
    }
}

fn stored_response(item: &Item) -> Response {
    let status = item
        .get("response_status")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u16>().ok())
        .and_then(|v| StatusCode::from_u16(v).ok())
        .unwrap_or(StatusCode::OK);
    let body =
        item.get("response_body").and_then(|v| v.as_s().ok()).and_then(|b| STANDARD.decode(b).ok()).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Some(Ok(headers)) = item.get("response_headers").map(AttributeValue::as_m) {
        for (name, value) in headers {
            if let (Ok(name), Some(Ok(value))) =
                (HeaderName::try_from(name.as_str()), value.as_s().ok().map(|v| HeaderValue::try_from(v.as_str())))
            {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

fn internal(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "idempotency store failed");
    Problem::new(types::UNAVAILABLE)
        .detail("could not record the idempotency key; retry")
        .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response()
}

/// Middleware (`axum::middleware::from_fn_with_state`) applying [`Idempotency`] to the routes it wraps.
pub async fn middleware(State(idempotency): State<Idempotency>, request: Request, next: Next) -> Response {
    let Some(raw_key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let Some(key) = valid_key(raw_key).map(str::to_owned) else {
        return Problem::new(INVALID_KEY).into_response();
    };
    let (parts, body) = request.into_parts();
    let Some(scope) = (idempotency.scope)(&parts) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let body: Bytes = match axum::body::to_bytes(body, idempotency.max_body).await {
        Ok(bytes) => bytes,
        Err(_) => return Problem::new(types::PAYLOAD_TOO_LARGE).into_response(),
    };
    let id =
        sha256_hex(&[scope.as_bytes(), parts.method.as_str().as_bytes(), parts.uri.path().as_bytes(), key.as_bytes()]);
    let fingerprint = sha256_hex(&[&body]);

    let seed = match idempotency.claim(&id, &fingerprint).await {
        Ok(Claim::Acquired(seed)) => seed,
        Ok(Claim::Replay(response)) => return response,
        Ok(Claim::InProgress) => {
            return Problem::new(IN_PROGRESS)
                .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
                .into_response();
        }
        Ok(Claim::Mismatch) => return Problem::new(KEY_REUSED).into_response(),
        Err(err) => return internal(err),
    };

    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(seed);
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = idempotency.release(&id).await;
            return internal(err);
        }
    };
    let stored = if !is_final(parts.status) {
        idempotency.release(&id).await
    } else {
        idempotency.complete(&id, parts.status, &parts.headers, &body).await
    };
    if let Err(err) = stored {
        // The work is done; failing the response now would invite a duplicate. Log and answer.
        tracing::error!(error = %err, "could not store the idempotent response");
    }
    Response::from_parts(parts, Body::from(body))
}

/// Whether a response is the answer to this request body for good (so a retry may replay it).
fn is_final(status: StatusCode) -> bool {
    status.is_success()
        || matches!(
            status,
            StatusCode::BAD_REQUEST
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::UNSUPPORTED_MEDIA_TYPE
                | StatusCode::UNPROCESSABLE_ENTITY
        )
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::{
        get_item::GetItemOutput,
        put_item::PutItemError,
        update_item::{UpdateItemError, UpdateItemOutput},
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;

    const SEED: &str = "01JDQ3X7Y8Z9ABCDEFGHJKMNPQ";

    fn taken() -> Rule {
        mock!(Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                aws_sdk_dynamodb::types::error::ConditionalCheckFailedException::builder().build(),
            )
        })
    }

    /// The record another attempt left: its status, its lock (ms since the epoch) and body fingerprint "f".
    fn stored(status: &'static str, locked_until: Option<u128>) -> Rule {
        mock!(Client::get_item).then_output(move || {
            let mut item = Idempotency::record_key("id");
            item.insert("status".into(), s(status));
            item.insert("fingerprint".into(), s("f"));
            item.insert("seed".into(), s(SEED));
            if let Some(until) = locked_until {
                item.insert("locked_until".into(), n(until));
            }
            GetItemOutput::builder().set_item(Some(item)).build()
        })
    }

    fn records(rules: &[&Rule]) -> Idempotency {
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules);
        Idempotency::new(client, "t", Arc::new(|_: &Parts| Some("scope".to_owned())))
    }

    fn seed_of(claim: Claim) -> Option<String> {
        match claim {
            Claim::Acquired(seed) => Some(seed.0.to_string()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_first_claim_gets_a_new_seed() {
        let put = mock!(Client::put_item)
            .then_output(|| aws_sdk_dynamodb::operation::put_item::PutItemOutput::builder().build());
        let seed = seed_of(records(&[&put]).claim("id", "f").await.unwrap()).expect("acquired");
        assert_ne!(seed, SEED);
    }

    #[tokio::test]
    async fn a_running_claim_makes_a_retry_wait_and_a_lapsed_or_released_one_is_taken_over_with_its_seed() {
        let later = (now() + Duration::from_secs(10)).as_millis();
        let running = stored(IN_PROGRESS_STATUS, Some(later));
        assert!(matches!(records(&[&taken(), &running]).claim("id", "f").await.unwrap(), Claim::InProgress));

        let take_over = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        for (status, lock) in [(IN_PROGRESS_STATUS, Some(1)), (RELEASED_STATUS, None)] {
            let record = stored(status, lock);
            let claim = records(&[&taken(), &record, &take_over]).claim("id", "f").await.unwrap();
            assert_eq!(seed_of(claim).as_deref(), Some(SEED), "{status}: the same seed, so the same resource id");
        }

        let raced = mock!(Client::update_item).then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                aws_sdk_dynamodb::types::error::ConditionalCheckFailedException::builder().build(),
            )
        });
        let lapsed = stored(IN_PROGRESS_STATUS, Some(1));
        let claim = records(&[&taken(), &lapsed, &raced]).claim("id", "f").await.unwrap();
        assert!(matches!(claim, Claim::InProgress), "another retry took it over first");
    }

    #[tokio::test]
    async fn a_claim_whose_answer_was_lost_is_recognised_as_its_own() {
        // The write happened, its answer was lost, and the SDK's retry of it failed its condition.
        let written = Arc::new(std::sync::Mutex::new(None::<Item>));
        let put = mock!(Client::put_item)
            .match_requests({
                let written = written.clone();
                move |request| {
                    *written.lock().unwrap() = request.item().cloned();
                    true
                }
            })
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(
                    aws_sdk_dynamodb::types::error::ConditionalCheckFailedException::builder().build(),
                )
            });
        let read = mock!(Client::get_item).then_compute_output({
            let written = written.clone();
            move |_| GetItemOutput::builder().set_item(written.lock().unwrap().clone()).build()
        });
        let claim = records(&[&put, &read]).claim("id", "f").await.unwrap();
        let stored = written.lock().unwrap().clone().unwrap();
        assert_eq!(seed_of(claim).as_deref(), stored["seed"].as_s().ok().map(String::as_str));
    }

    #[tokio::test]
    async fn a_completed_claim_is_replayed_and_another_body_is_refused() {
        let completed = stored(COMPLETED_STATUS, None);
        assert!(matches!(records(&[&taken(), &completed]).claim("id", "f").await.unwrap(), Claim::Replay(_)));
        let claim = records(&[&taken(), &completed]).claim("id", "other body").await.unwrap();
        assert!(matches!(claim, Claim::Mismatch));
    }

    #[test]
    fn only_answers_a_retry_would_get_again_are_stored() {
        for status in [200, 201, 204, 400, 413, 415, 422] {
            assert!(is_final(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [401, 403, 404, 409, 429, 500, 503, 504] {
            assert!(!is_final(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert_eq!(valid_key(&HeaderValue::from_static("abc-123_XYZ")), Some("abc-123_XYZ"));
        assert_eq!(valid_key(&HeaderValue::from_static("")), None);
        assert_eq!(valid_key(&HeaderValue::from_static("has space")), None);
        assert_eq!(valid_key(&HeaderValue::from_str(&"k".repeat(256)).unwrap()), None);
        assert!(valid_key(&HeaderValue::from_str(&"k".repeat(255)).unwrap()).is_some());
    }

    #[test]
    fn hashing_is_length_prefixed() {
        // ("ab","c") and ("a","bc") must not collide into the same record id.
        assert_ne!(sha256_hex(&[b"ab", b"c"]), sha256_hex(&[b"a", b"bc"]));
    }
}
