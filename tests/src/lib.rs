//! stampede-tests: support for tests that drive Stampede against the local AWS emulator.
//! Owns the wiring of an app to the emulator that `scripts/test` starts, and request/response helpers.
//! Must not hide failures: without the emulator's environment it panics and says how to get one.

pub mod edge;
pub mod freezable_proxy;
pub mod origin_process;

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::Duration,
};

use app::{AppConfig, AppState};
use aws_sdk_sqs::types::QueueAttributeName;
use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, Method, Request, StatusCode},
};
use futures::StreamExt;
use http_body_util::BodyExt;
use kit::{
    stream_poll::{Start, StreamPoller},
    stream_window::StreamWindow,
};
use local_issuer::Issuer;
use serde_json::Value;
use tower::ServiceExt;

/// The app's configuration for the emulator and the local issuer named by the environment (`AWS_ENDPOINT_URL`,
/// `TABLE_NAME`, `AUTH_ISSUER`, ...).
pub async fn emulator_config() -> AppConfig {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some() && std::env::var_os("AUTH_ISSUER").is_some(),
        "integration tests talk to the local AWS emulator and the local issuer: run `scripts/test`, which starts \
         both and sets their environment (AWS_ENDPOINT_URL, TABLE_NAME, AUTH_ISSUER, ...)"
    );
    let sdk = kit::aws::sdk_config().await;
    AppConfig::from_env(&kit::config::Env::process(), &kit::secrets::SecretReader::new(&sdk))
        .await
        .expect("the emulator environment is complete")
}

/// The app state for the emulator named by the environment.
pub async fn emulator_state() -> AppState {
    AppState::new(emulator_config().await, &kit::aws::sdk_config().await)
}

/// The local issuer the API under test trusts (`AUTH_ISSUER`), with its key from `STAMPEDE_ISSUER_STATE`: tests
/// sign their tokens with the key whose JWKS the API fetches.
pub fn issuer() -> &'static Issuer {
    static ISSUER: OnceLock<Issuer> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test"));
        let state = PathBuf::from(var("STAMPEDE_ISSUER_STATE"));
        Issuer::load_or_create(&state, &var("AUTH_ISSUER"), &var("AUTH_AUDIENCE")).expect("the issuer's key loads")
    })
}

/// Someone holding a valid token, with or without a profile.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The user id (empty until the profile exists).
    pub id: String,
    pub subject: String,
    /// `Bearer {token}`.
    pub authorization: String,
}

impl TestUser {
    /// A new identity, without a profile.
    pub fn stranger() -> Self {
        let subject = local_issuer::random_subject();
        let token = issuer().token(&subject, Duration::from_secs(3600));
        Self { id: String::new(), subject, authorization: format!("Bearer {token}") }
    }

    /// The header that makes a request this user's.
    pub fn auth(&self) -> (&'static str, &str) {
        ("authorization", &self.authorization)
    }
}

/// The ARN of the queue at `url`.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let output = sqs.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::QueueArn).send().await;
    output.unwrap().attributes.unwrap()[&QueueAttributeName::QueueArn].clone()
}

/// A queue of this test's own (`{prefix}-{random}`) with a dead-letter queue after `max_receives` receives.
/// Returns (queue URL, dead-letter queue URL).
pub async fn queue_with_dead_letters(sqs: &aws_sdk_sqs::Client, prefix: &str, max_receives: u32) -> (String, String) {
    let name = format!("{prefix}-{}", ulid::Ulid::generate().to_string().to_lowercase());
    let dlq = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap().queue_url.unwrap();
    let dlq_arn = queue_arn(sqs, &dlq).await;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string();
    let queue = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (queue, dlq)
}

/// A bucket of this test's own that notifies a queue of its own (with a dead-letter queue) of every object
/// created under `originals/`, as the stack's media bucket does. Returns (bucket, queue URL, DLQ URL).
pub async fn bucket_notifying_queue(s3: &aws_sdk_s3::Client, sqs: &aws_sdk_sqs::Client) -> (String, String, String) {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
        QueueConfiguration, S3KeyFilter,
    };
    let (queue, dead_letters) = queue_with_dead_letters(sqs, "test-media", 5).await;
    let queue_arn = queue_arn(sqs, &queue).await;
    let bucket = format!("test-media-{}", ulid::Ulid::generate().to_string().to_lowercase());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let prefix = FilterRule::builder().name(FilterRuleName::Prefix).value("originals/").build();
    let notification = QueueConfiguration::builder()
        .queue_arn(queue_arn)
        .events(Event::S3ObjectCreated)
        .filter(
            NotificationConfigurationFilter::builder().key(S3KeyFilter::builder().filter_rules(prefix).build()).build(),
        )
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(NotificationConfiguration::builder().queue_configurations(notification).build())
        .send()
        .await
        .unwrap();
    (bucket, queue, dead_letters)
}

/// A new, empty table shaped like `table` (keys, indexes, stream, on-demand), named `{prefix}-{random}`: for a test whose
/// load (thousands of items) would slow every other suite's queries on the shared table. Delete it when done.
pub async fn copy_of_table(db: &aws_sdk_dynamodb::Client, table: &str, prefix: &str) -> String {
    use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex, KeySchemaElement, Projection};
    let description = db.describe_table().table_name(table).send().await.unwrap().table.unwrap();
    let name = format!("{prefix}-{}", ulid::Ulid::generate().to_string().to_lowercase());
    let indexes = description.global_secondary_indexes().iter().map(|index| {
        GlobalSecondaryIndex::builder()
            .index_name(index.index_name().unwrap())
            .set_key_schema(Some(index.key_schema().to_vec()))
            .projection(index.projection().cloned().unwrap_or_else(|| Projection::builder().build()))
            .build()
            .unwrap()
    });
    let keys: Vec<KeySchemaElement> = description.key_schema().to_vec();
    db.create_table()
        .table_name(&name)
        .set_key_schema(Some(keys))
        .set_attribute_definitions(Some(description.attribute_definitions().to_vec()))
        .set_global_secondary_indexes(Some(indexes.collect()))
        .set_stream_specification(description.stream_specification().cloned())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    name
}

/// The ARN of `table`'s stream.
pub async fn stream_arn(db: &aws_sdk_dynamodb::Client, table: &str) -> String {
    let description = db.describe_table().table_name(table).send().await.unwrap().table.unwrap();
    description.latest_stream_arn.unwrap_or_else(|| panic!("{table} has no stream"))
}

/// Switches the emulator's pushback (infra/local/moto_pushback.py) for one table or queue: `settings` as its
/// control endpoint takes them, e.g. `{"table": T, "scale": 0.01}` or `{"queue": NAME, "send_error_rate": 0.2}`.
pub async fn pushback(settings: Value) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL names the emulator");
    let response = reqwest::Client::new().post(format!("{endpoint}/_stampede/pushback")).json(&settings).send().await;
    let response = response.expect("the emulator answers");
    assert!(response.status().is_success(), "pushback {settings}: {}", response.status());
}

/// Per partition key of `table`: write and read units consumed and throttled, as the emulator's pushback counted
/// them (only while it was on).
pub async fn pushback_report(table: &str) -> serde_json::Map<String, Value> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL names the emulator");
    let url = format!("{endpoint}/_stampede/pushback/report?table={table}");
    let report: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    report["partitions"].as_object().cloned().unwrap_or_default()
}

/// How many calls of `operation` (its X-Amz-Target, e.g. `DynamoDB_20120810.GetItem`) the emulator has answered
/// since it started (infra/local/moto_calls.py); read it before and after what you count.
pub async fn emulator_calls(operation: &str) -> u64 {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL names the emulator");
    let calls: Value = reqwest::get(format!("{endpoint}/_stampede/calls")).await.unwrap().json().await.unwrap();
    calls[operation].as_u64().unwrap_or(0)
}

/// How many messages a queue holds (visible and in flight).
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, queue: &str) -> usize {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attributes.values().map(|v| v.parse::<usize>().unwrap()).sum()
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a process a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A handle no other test (or run) uses: `{prefix}_{random}`, at most 30 characters.
pub fn unique_handle(prefix: &str) -> String {
    let random = ulid::Ulid::generate().to_string().to_lowercase();
    let prefix: String = prefix.chars().take(12).collect();
    format!("{prefix}_{}", &random[random.len() - 16..])
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_else(|| panic!("no {name} header"))
    }

    /// Asserts an RFC 9457 problem with this status and type slug, and returns the document.
    pub fn assert_problem(&self, status: u16, slug: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "status of {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["type"], format!("/problems/{slug}"), "{problem}");
        assert_eq!(problem["status"], status);
        problem
    }
}

/// Counts the DynamoDB calls made through a client (one per operation, retries not counted separately).
#[derive(Debug, Clone, Default)]
pub struct DynamoCalls(Arc<std::sync::atomic::AtomicUsize>);

impl DynamoCalls {
    /// A client for the emulator that counts its calls here.
    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(&kit::aws::sdk_config().await).interceptor(self.clone());
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }

    pub fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl aws_sdk_dynamodb::config::Intercept for DynamoCalls {
    fn name(&self) -> &'static str {
        "DynamoCalls"
    }

    fn read_before_execution(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// The app's router driven in-process (`tower::ServiceExt::oneshot`), no server. Each app reads its table's
/// stream from the moment it was made, and sends its events to a jobs queue of its own: [`TestApp::run_jobs`]
/// runs both through the real pollers and handlers. Like counts are exact with one consumer per stream, as on
/// AWS (one event source mapping): a test that asserts counts uses a table of its own
/// ([`TestApp::with_own_table`]), since on the shared table every test's app reads the same stream.
#[derive(Clone)]
pub struct TestApp {
    pub state: AppState,
    router: Router,
    pub jobs_queue: String,
    pub jobs_dead_letters: String,
    stream: Arc<StreamPoller>,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// An app whose configuration `adjust` changes first.
    pub async fn with_config(adjust: impl FnOnce(&mut AppConfig)) -> Self {
        let sdk = kit::aws::sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let (jobs_queue, jobs_dead_letters) = queue_with_dead_letters(&sqs, "test-jobs", 5).await;
        let mut config = emulator_config().await;
        config.jobs_queue_url = jobs_queue.clone();
        config.job_retry = kit::sqs_batch::RetryBackoff { base: Duration::ZERO, max: Duration::ZERO };
        adjust(&mut config);
        let state = AppState::new(config, &sdk);
        let stream = StreamPoller::new(&sdk, stream_arn(state.store.client(), state.store.table()).await, Start::Now);
        let stream = Arc::new(stream.await.expect("the table's stream can be read"));
        Self { router: app::router(state.clone()), state, jobs_queue, jobs_dead_letters, stream }
    }

    /// An app on a new, empty table of its own (see [`copy_of_table`]), for a test that loads a table heavily or
    /// switches the emulator's pushback on for it. [`TestApp::drop_table`] when done.
    pub async fn with_own_table(prefix: &str) -> Self {
        let shared = emulator_config().await.table;
        let db = aws_sdk_dynamodb::Client::new(&kit::aws::sdk_config().await);
        let table = copy_of_table(&db, &shared, prefix).await;
        Self::with_config(|config| config.table = table).await
    }

    /// This app with its store replaced (e.g. one whose calls are counted: [`DynamoCalls`]).
    pub fn with_store(mut self, store: app::store::Store) -> Self {
        let mut parts = app::state::AppParts::clone(&self.state);
        parts.store = store;
        self.state = parts.into();
        self.router = app::router(self.state.clone());
        self
    }

    pub async fn drop_table(&self) {
        self.state.store.client().delete_table().table_name(self.state.store.table()).send().await.unwrap();
    }

    /// Counts the likes in the table's stream since this app was made (or last counted), then runs the jobs in
    /// this app's jobs queue until it is empty, in batches of 10; returns how many messages were handled.
    pub async fn run_jobs(&self) -> usize {
        self.run_stream().await;
        self.drain(&self.jobs_queue).await
    }

    /// Hands the table stream's new changes to the like counter, as the stream's event source mapping does,
    /// batch after batch until it has caught up; returns how many changes there were.
    pub async fn run_stream(&self) -> usize {
        self.run_stream_with(|window| app::jobs::like_counts::handle(&self.state.store, &self.state.events, window))
            .await
    }

    /// One batch (up to 1 000 changes per stream shard) to the like counter, as the mapping hands over once per
    /// batching window; returns how many changes there were.
    pub async fn run_stream_batch(&self) -> usize {
        let handler = |window| app::jobs::like_counts::handle(&self.state.store, &self.state.events, window);
        self.stream.poll_once(&handler, 10).await.expect("the table's stream can be read")
    }

    /// As [`TestApp::run_stream`], with another handler (one that also records the windows, say).
    pub async fn run_stream_with<F, Fut, E>(&self, handler: F) -> usize
    where
        F: Fn(StreamWindow) -> Fut,
        Fut: std::future::Future<Output = Result<std::collections::HashMap<String, String>, E>>,
        E: std::fmt::Display,
    {
        let mut handled = 0;
        loop {
            match self.stream.poll_once(&handler, 10).await.expect("the table's stream can be read") {
                0 => return handled,
                n => handled += n,
            }
        }
    }

    /// Runs the app's job handlers over `queue` until a receive comes back empty.
    pub async fn drain(&self, queue: &str) -> usize {
        let poller =
            kit::sqs_poll::Poller::new(self.state.sqs.clone(), queue).await.unwrap().wait(Duration::from_secs(1));
        let runner = app::jobs::runner(&self.state);
        let handle = |event| runner.run::<app::jobs::JobMessage>(event);
        let mut handled = 0;
        loop {
            match poller.poll_once(&handle).await.unwrap() {
                0 => return handled,
                n => handled += n,
            }
        }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("the router is infallible");
        let (parts, body) = response.into_parts();
        TestResponse { status: parts.status, headers: parts.headers, body: body.collect().await.unwrap().to_bytes() }
    }

    /// A request with optional JSON body and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, &[], None).await
    }

    /// A new identity that has created its profile (with a unique handle).
    pub async fn user(&self) -> TestUser {
        let mut user = TestUser::stranger();
        let body = serde_json::json!({"handle": unique_handle("user"), "display_name": "Test User"});
        let response = self.call(Method::POST, "/v1/users", &[user.auth()], Some(body)).await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        user.id = response.json()["id"].as_str().unwrap().to_owned();
        user
    }

    /// `n` new users with profiles, created 64 at a time.
    pub async fn users(&self, n: usize) -> Vec<TestUser> {
        futures::stream::iter(0..n).map(|_| self.user()).buffer_unordered(64).collect().await
    }

    /// Asks for an upload as `owner` and PUTs `bytes` to the presigned URL exactly as a client would; returns the
    /// media item.
    pub async fn upload(&self, owner: &TestUser, content_type: &str, bytes: Vec<u8>) -> Value {
        let body = serde_json::json!({"content_type": content_type});
        let response = self.call(Method::POST, "/v1/media/uploads", &[owner.auth()], Some(body)).await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        let created = response.json();
        assert_eq!(created["media"]["status"], "pending");
        assert_eq!(response.header("x-invalidates"), response.header("location"), "a 404 the edge may keep");
        let target = &created["upload"];
        assert_eq!(target["method"], "PUT");
        let mut put = reqwest::Client::new().put(target["url"].as_str().unwrap()).body(bytes);
        for (name, value) in target["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        let stored = put.send().await.unwrap();
        assert!(stored.status().is_success(), "the presigned PUT failed: {}", stored.text().await.unwrap());
        created["media"].clone()
    }

    /// Creates a post by `author` and returns its JSON.
    pub async fn create_post(&self, author: &TestUser, body: &str) -> Value {
        let response =
            self.call(Method::POST, "/v1/posts", &[author.auth()], Some(serde_json::json!({"body": body}))).await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        response.json()
    }
}
