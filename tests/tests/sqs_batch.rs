//! `kit::sqs_batch` and `kit::sqs_poll` against real queues in the emulator: partial batch failures,
//! dead-lettering after exactly maxReceiveCount receives, permanent failures, coalescing and redrive (which ends
//! while what it moves fails again).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use kit::{
    sqs_batch::{BatchRunner, FAILURE_REASON, Job, JobError, JobHandler, RetryBackoff},
    sqs_poll::Poller,
    sqs_redrive,
};
use serde::Deserialize;
use stampede_tests::{queue_depth, queue_with_dead_letters};

const MAX_RECEIVES: u32 = 5;

#[derive(Debug, Deserialize)]
struct Numbered {
    n: u32,
    #[serde(default)]
    group: Option<String>,
}

impl Job for Numbered {
    fn coalesce_key(&self) -> Option<String> {
        self.group.clone()
    }
}

/// Fails `retry` transiently and `broken` permanently (until `fixed`); counts attempts per message and groups.
#[derive(Default)]
struct Recorder {
    retry: Option<u32>,
    broken: Option<u32>,
    fixed: AtomicBool,
    attempts: Mutex<HashMap<u32, u32>>,
    groups: Mutex<Vec<usize>>,
}

impl JobHandler<Numbered> for Arc<Recorder> {
    async fn handle(&self, group: &[Numbered]) -> Result<(), JobError> {
        self.groups.lock().unwrap().push(group.len());
        for job in group {
            *self.attempts.lock().unwrap().entry(job.n).or_default() += 1;
            if Some(job.n) == self.retry {
                return Err(JobError::retryable("the dependency is down"));
            }
            if Some(job.n) == self.broken && !self.fixed.load(Ordering::SeqCst) {
                return Err(JobError::Permanent(format!("job {} cannot be done", job.n)));
            }
        }
        Ok(())
    }
}

struct Fixture {
    sqs: aws_sdk_sqs::Client,
    queue: String,
    dead_letters: String,
    recorder: Arc<Recorder>,
}

impl Fixture {
    async fn new(recorder: Recorder) -> Self {
        let sqs = aws_sdk_sqs::Client::new(&kit::aws::sdk_config().await);
        let (queue, dead_letters) = queue_with_dead_letters(&sqs, "test-batch", MAX_RECEIVES).await;
        Self { sqs, queue, dead_letters, recorder: Arc::new(recorder) }
    }

    async fn send(&self, bodies: impl IntoIterator<Item = String>) {
        for body in bodies {
            self.sqs.send_message().queue_url(&self.queue).message_body(body).send().await.unwrap();
        }
    }

    /// Polls (batches of 10, retries visible again at once) until `done` or 60 s.
    async fn poll_until(&self, done: impl Fn(&Self) -> futures::future::BoxFuture<'_, bool>) {
        let runner = BatchRunner::new(self.recorder.clone(), self.sqs.clone())
            .backoff(RetryBackoff { base: Duration::ZERO, max: Duration::ZERO });
        let poller = Poller::new(self.sqs.clone(), &self.queue).await.unwrap().wait(Duration::from_secs(1));
        let handle = |event| runner.run::<Numbered>(event);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(self).await {
            assert!(Instant::now() < deadline, "not done after 60 s: {:?}", self.recorder.attempts.lock().unwrap());
            poller.poll_once(&handle).await.unwrap();
        }
    }

    fn attempts(&self) -> HashMap<u32, u32> {
        self.recorder.attempts.lock().unwrap().clone()
    }
}

fn numbered(range: std::ops::Range<u32>) -> impl Iterator<Item = String> {
    range.map(|n| format!(r#"{{"n":{n}}}"#))
}

#[tokio::test]
async fn one_failing_message_is_retried_alone_and_dead_lettered_after_max_receives() {
    let fixture = Fixture::new(Recorder { retry: Some(3), ..Default::default() }).await;
    fixture.send(numbered(0..10)).await;
    fixture.poll_until(|f| Box::pin(async move { queue_depth(&f.sqs, &f.dead_letters).await == 1 })).await;

    let attempts = fixture.attempts();
    for n in (0..10).filter(|n| *n != 3) {
        assert_eq!(attempts[&n], 1, "message {n} must be processed exactly once: {attempts:?}");
    }
    assert_eq!(attempts[&3], MAX_RECEIVES, "the failing message is tried once per receive: {attempts:?}");
    assert_eq!(queue_depth(&fixture.sqs, &fixture.queue).await, 0);
    let letters = sqs_redrive::inspect(&fixture.sqs, &fixture.dead_letters, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].body, r#"{"n":3}"#);
    assert_eq!(letters[0].reason, None, "moved by the queue's redrive policy, not by the runner");
}

#[tokio::test]
async fn a_malformed_message_is_dead_lettered_on_its_first_receive_with_the_reason() {
    let fixture = Fixture::new(Recorder::default()).await;
    fixture.send(numbered(0..4).chain(["{not json".to_owned()])).await;
    fixture.poll_until(|f| Box::pin(async move { queue_depth(&f.sqs, &f.dead_letters).await == 1 })).await;

    assert_eq!(fixture.attempts().len(), 4);
    let letters = sqs_redrive::inspect(&fixture.sqs, &fixture.dead_letters, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].body, "{not json");
    assert!(letters[0].reason.as_deref().unwrap().starts_with("malformed message body"), "{letters:?}");
    assert_eq!(letters[0].receive_count.as_deref(), Some("1"));
    assert!(letters[0].source_queue.as_deref().unwrap().ends_with(fixture.queue.rsplit('/').next().unwrap()));
}

#[tokio::test]
async fn jobs_sharing_a_key_are_handled_once_per_batch() {
    let fixture = Fixture::new(Recorder::default()).await;
    fixture.send((0..10).map(|n| format!(r#"{{"n":{n},"group":"hot"}}"#))).await;
    fixture.poll_until(|f| Box::pin(async move { f.attempts().len() == 10 })).await;
    let groups = fixture.recorder.groups.lock().unwrap().clone();
    assert!(groups.len() < 10, "ten jobs of one key must not be ten calls: {groups:?}");
    assert_eq!(groups.iter().sum::<usize>(), 10);
}

#[tokio::test]
async fn dead_letters_can_be_inspected_and_redriven_once_fixed() {
    let fixture = Fixture::new(Recorder { broken: Some(7), ..Default::default() }).await;
    fixture.send(numbered(5..9)).await;
    fixture.poll_until(|f| Box::pin(async move { queue_depth(&f.sqs, &f.dead_letters).await == 1 })).await;

    let letters = sqs_redrive::inspect(&fixture.sqs, &fixture.dead_letters, 10).await.unwrap();
    assert_eq!(letters[0].reason.as_deref(), Some("job 7 cannot be done"));
    assert_eq!(queue_depth(&fixture.sqs, &fixture.dead_letters).await, 1, "inspecting leaves messages in place");

    fixture.recorder.fixed.store(true, Ordering::SeqCst);
    let moved = sqs_redrive::redrive(&fixture.sqs, &fixture.dead_letters, &fixture.queue, None).await.unwrap();
    assert_eq!(moved, 1);
    fixture.poll_until(|f| Box::pin(async move { f.attempts()[&7] == 2 })).await;
    assert_eq!(queue_depth(&fixture.sqs, &fixture.dead_letters).await, 0);
    assert_eq!(queue_depth(&fixture.sqs, &fixture.queue).await, 0, "the redriven message succeeded and was deleted");
}

#[tokio::test]
async fn a_redrive_ends_while_its_messages_fail_again() {
    // Job 7 fails on every attempt and the consumer runs during the redrive: the redriven message is back in the
    // dead-letter queue at once, as a new message, which the redrive must not move again (it did, for ever).
    let fixture = Fixture::new(Recorder { broken: Some(7), ..Default::default() }).await;
    let dead_letters = &fixture.dead_letters;
    // A dead letter another reader holds (in flight): counted as held at the start, so that the count alone
    // would let the redrive move the message that came back.
    fixture.sqs.send_message().queue_url(dead_letters).message_body(r#"{"n":99}"#).send().await.unwrap();
    let held = fixture.sqs.receive_message().queue_url(dead_letters).visibility_timeout(300).send().await.unwrap();
    assert_eq!(held.messages.unwrap_or_default().len(), 1);
    fixture.send(numbered(7..8)).await;
    fixture.poll_until(|f| Box::pin(async move { queue_depth(&f.sqs, &f.dead_letters).await == 2 })).await;

    let (moved, ()) = tokio::join!(
        sqs_redrive::redrive(&fixture.sqs, dead_letters, &fixture.queue, None),
        fixture.poll_until(|f| Box::pin(async move { f.attempts()[&7] == 2 })),
    );
    assert_eq!(moved.unwrap(), 1, "the one message it could take, once");
    assert_eq!(queue_depth(&fixture.sqs, dead_letters).await, 2, "it failed again and stays dead-lettered");
    assert_eq!(queue_depth(&fixture.sqs, &fixture.queue).await, 0);
}

#[tokio::test]
async fn the_failure_reason_travels_as_a_message_attribute() {
    // Operators reading the DLQ with any SQS tool see the reason, not only through `jobs dlq`.
    let fixture = Fixture::new(Recorder { broken: Some(1), ..Default::default() }).await;
    fixture.send(numbered(1..2)).await;
    fixture.poll_until(|f| Box::pin(async move { queue_depth(&f.sqs, &f.dead_letters).await == 1 })).await;
    let received = fixture
        .sqs
        .receive_message()
        .queue_url(&fixture.dead_letters)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let message = &received.messages.unwrap()[0];
    let attributes = message.message_attributes.as_ref().unwrap();
    assert_eq!(attributes[FAILURE_REASON].string_value.as_deref(), Some("job 1 cannot be done"));
}
