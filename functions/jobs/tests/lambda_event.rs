//! The jobs function as Lambda calls it: SQS batches and table stream windows in the JSON shapes AWS sends,
//! through the handler the binary registers with `lambda_runtime`, and the JSON it answers.

use aws_sdk_sqs::types::QueueAttributeName;
use stampede_tests::{TestApp, queue_depth, queue_with_dead_letters};

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attributes =
        sqs.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::QueueArn).send().await;
    attributes.unwrap().attributes.unwrap()[&QueueAttributeName::QueueArn].clone()
}

async fn invoke(app: &TestApp, event: &str) -> serde_json::Value {
    let event = serde_json::from_str(event).expect("an event in JSON");
    app::jobs::LambdaJobs::new(&app.state).handle(event).await.expect("the invocation succeeds")
}

/// A post with one like, counted from the table's stream.
async fn liked_post(app: &TestApp) -> String {
    let author = app.user().await;
    let post = app.create_post(&author, "from Lambda").await["id"].as_str().unwrap().to_owned();
    let post_id = app::models::PostId::parse(&post).unwrap();
    app.state.store.like(post_id, app::models::UserId::generate()).await.unwrap();
    app.run_stream().await;
    post
}

#[tokio::test]
async fn a_stream_window_counts_its_likes_once_and_queues_a_rollup() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let post = app.create_post(&author, "from the stream").await["id"].as_str().unwrap().to_owned();
    let event = include_str!("events/stream_window.json").replace("POST_ID", &post);

    for delivery in 1..=2 {
        let response = invoke(&app, &event).await;
        assert_eq!(response["state"], serde_json::json!({}), "Lambda needs a state, even an empty one");
        assert_eq!(queue_depth(&app.state.sqs, &app.jobs_queue).await, 1, "a rollup queued by delivery {delivery}");
        app.run_jobs().await;
        assert_eq!(app.get(&format!("/v1/posts/{post}")).await.json()["like_count"], 2, "after delivery {delivery}");
    }
}

#[tokio::test]
async fn a_batch_with_a_malformed_record_succeeds_and_dead_letters_it() {
    let app = TestApp::with_own_table("test-lambda").await;
    let post = liked_post(&app).await;
    let (queue, dead_letters) = queue_with_dead_letters(&app.state.sqs, "test-lambda", 5).await;
    let arn = queue_arn(&app.state.sqs, &queue).await;
    let event = include_str!("events/sqs_batch.json").replace("POST_ID", &post).replace("QUEUE_ARN", &arn);

    let response = invoke(&app, &event).await;
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(app.get(&format!("/v1/posts/{post}")).await.json()["like_count"], 1, "the valid record was rolled up");
    assert_eq!(queue_depth(&app.state.sqs, &dead_letters).await, 1, "the malformed one is in the dead-letter queue");
    app.drop_table().await;
}

#[tokio::test]
async fn a_permanent_failure_that_cannot_be_dead_lettered_is_reported_not_lost() {
    let app = TestApp::with_own_table("test-lambda").await;
    let post = liked_post(&app).await;
    // A queue without a redrive policy: nowhere to put the malformed record, so Lambda must redeliver it.
    let lonely =
        app.state.sqs.create_queue().queue_name(format!("test-lonely-{}", ulid::Ulid::generate())).send().await;
    let arn = queue_arn(&app.state.sqs, &lonely.unwrap().queue_url.unwrap()).await;
    let event = include_str!("events/sqs_batch.json").replace("POST_ID", &post).replace("QUEUE_ARN", &arn);

    let response = invoke(&app, &event).await;
    assert_eq!(
        response,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]})
    );
    app.drop_table().await;
}
