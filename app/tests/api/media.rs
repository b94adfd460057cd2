//! The media pipeline: presigned upload → S3 notification → SQS → thumbnail job → media (and post) ready.

use std::{
    io::Cursor,
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use serde_json::{Value, json};
use stampede_tests::{TestApp, TestUser, bucket_notifying_queue};

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| Rgb([(x / 4 % 256) as u8, (y / 4 % 256) as u8, 90]));
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg).unwrap();
    bytes
}

/// Runs the media jobs of `queue` until the media is no longer pending.
async fn processed(app: &TestApp, queue: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        app.drain(queue).await;
        let media = app.get(&format!("/v1/media/{id}")).await.json();
        if media["status"] != "pending" {
            return media;
        }
        assert!(Instant::now() < deadline, "media {id} still pending after 60 s");
    }
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).unwrap();
    (image.width(), image.height())
}

#[tokio::test]
async fn a_jpeg_upload_gets_two_thumbnails_through_the_stacks_bucket_notification() {
    let app = TestApp::new().await;
    let media_queue = std::env::var("MEDIA_QUEUE_URL").expect("the stack's media queue (scripts/test sets it)");
    let owner = app.user().await;
    let media = app.upload(&owner, "image/jpeg", jpeg(1024, 768)).await;
    let id = media["id"].as_str().unwrap();

    let ready = processed(&app, &media_queue, id).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!((ready["width"].as_u64(), ready["height"].as_u64()), (Some(1024), Some(768)));

    for (size, expected) in [(128, (128, 96)), (512, (512, 384))] {
        // In the bucket, where the job wrote it.
        let object = app::state::s3_client(&app.state.sdk)
            .get_object()
            .bucket(&app.state.config.media_bucket)
            .key(format!("thumbnails/{id}/{size}.jpg"))
            .send()
            .await
            .unwrap();
        assert_eq!(object.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(dimensions(&object.body.collect().await.unwrap().into_bytes()), expected);
        // Through the API: a redirect to a signed link.
        let link = &ready["thumbnails"][size.to_string()];
        let redirect = app.get(link.as_str().unwrap()).await;
        assert_eq!(redirect.status, StatusCode::FOUND);
        let fetched = reqwest::get(redirect.header("location")).await.unwrap();
        assert!(fetched.status().is_success());
        assert_eq!(dimensions(&fetched.bytes().await.unwrap()), expected);
    }
}

#[tokio::test]
async fn a_post_made_before_processing_shows_its_image_once_ready() {
    let sdk = kit::aws::sdk_config().await;
    let (s3, sqs) = (app::state::s3_client(&sdk), aws_sdk_sqs::Client::new(&sdk));
    let (bucket, queue, _) = bucket_notifying_queue(&s3, &sqs).await;
    // A table of its own: the latest feed's first page is this test's post.
    let shared = stampede_tests::emulator_config().await.table;
    let table = stampede_tests::copy_of_table(&aws_sdk_dynamodb::Client::new(&sdk), &shared, "test-media").await;
    let app = TestApp::with_config(|c| {
        c.media_bucket = bucket;
        c.table = table;
    })
    .await;
    let owner = app.user().await;
    let media = app.upload(&owner, "image/png", png(300, 600)).await;
    let id = media["id"].as_str().unwrap();

    let created =
        app.call(Method::POST, "/v1/posts", &[owner.auth()], Some(json!({"body": "look", "media_id": id}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.json()["media"], json!({"id": id, "status": "pending", "thumbnails": []}));
    let post_path = created.header("location").to_owned();

    let ready = processed(&app, &queue, id).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["post_id"], created.json()["id"]);
    let shown = json!({"id": id, "status": "ready", "thumbnails": [128, 512]});
    assert_eq!(app.get(&post_path).await.json()["media"], shown);
    let post_id = created.json()["id"].clone();
    let latest = app.get("/v1/posts?limit=100").await.json();
    let copy = latest["items"].as_array().unwrap().iter().find(|p| p["id"] == post_id).cloned();
    assert_eq!(copy.expect("a new post is on the first page")["media"], shown, "the latest feed shows it too");

    // One post per image; and only its owner may attach it.
    let again =
        app.call(Method::POST, "/v1/posts", &[owner.auth()], Some(json!({"body": "again", "media_id": id}))).await;
    again.assert_problem(409, "media-in-use");
    let other = app.user().await;
    let mine = app.upload(&owner, "image/png", png(20, 20)).await;
    let body = json!({"body": "mine", "media_id": mine["id"]});
    let stolen = app.call(Method::POST, "/v1/posts", &[other.auth()], Some(body)).await;
    assert_eq!(stolen.assert_problem(403, "not-owner")["detail"], "this media belongs to another user");
    assert_eq!(app.get(&format!("/v1/users/{}/posts", other.id)).await.json()["items"], json!([]), "nothing written");
    let unattached = app.get(&format!("/v1/media/{}", mine["id"].as_str().unwrap())).await.json();
    assert!(unattached.get("post_id").is_none(), "{unattached}");
    app.drop_table().await;
}

#[tokio::test]
async fn undecodable_and_oversized_uploads_end_failed_with_a_reason_and_no_dead_letter() {
    let sdk = kit::aws::sdk_config().await;
    let (s3, sqs) = (app::state::s3_client(&sdk), aws_sdk_sqs::Client::new(&sdk));
    let (bucket, queue, dead_letters) = bucket_notifying_queue(&s3, &sqs).await;
    let app = TestApp::with_config(|c| {
        c.media_bucket = bucket;
        c.max_upload_bytes = 20_000;
    })
    .await;
    let owner = app.user().await;

    let garbage = app.upload(&owner, "image/jpeg", b"this is not an image at all".to_vec()).await;
    let failed = processed(&app, &queue, garbage["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["failure"].as_str().unwrap().contains("not a JPEG, PNG or WebP"), "{failed}");

    let big = app.upload(&owner, "image/jpeg", jpeg(2000, 2000)).await;
    let refused = processed(&app, &queue, big["id"].as_str().unwrap()).await;
    assert_eq!(refused["status"], "failed");
    assert!(refused["failure"].as_str().unwrap().contains("the limit is 20000"), "{refused}");

    // A user's bad upload is not an incident: nothing for the dead-letter alarm to page anyone about.
    let letters = kit::sqs_redrive::inspect(&sqs, &dead_letters, 10).await.unwrap();
    assert!(letters.is_empty(), "{letters:?}");
}

#[tokio::test]
async fn uploads_need_a_token_a_profile_and_an_image_type() {
    let app = TestApp::new().await;
    let owner = app.user().await;
    let gif = Some(json!({"content_type": "image/gif"}));
    let response = app.call(Method::POST, "/v1/media/uploads", &[owner.auth()], gif).await;
    assert_eq!(response.assert_problem(422, "validation")["errors"][0]["field"], "content_type");
    let png = || Some(json!({"content_type": "image/png"}));
    app.call(Method::POST, "/v1/media/uploads", &[], png()).await.assert_problem(401, "unauthenticated");
    let stranger = TestUser::stranger();
    let refused = app.call(Method::POST, "/v1/media/uploads", &[stranger.auth()], png()).await;
    refused.assert_problem(403, "profile-required");
    app.get(&format!("/v1/media/{}", ulid::Ulid::generate())).await.assert_problem(404, "not-found");
    app.get(&format!("/v1/media/{}/thumbnails/128", ulid::Ulid::generate())).await.assert_problem(404, "not-found");
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, 30, (y % 256) as u8]));
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(image).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    bytes
}

#[tokio::test]
async fn pending_media_no_post_holds_expires_and_then_reads_as_gone() {
    let app = TestApp::new().await;
    let owner = app.user().await;
    let (db, table) = (app.state.store.client(), app.state.store.table());
    let key = |id: &str| {
        [("pk", format!("MEDIA#{id}")), ("sk", "MEDIA".into())]
            .map(|(name, value)| (name.to_owned(), AttributeValue::S(value)))
            .into()
    };
    let expires_at = async |id: &str| {
        let item = db.get_item().table_name(table).set_key(Some(key(id))).consistent_read(true).send().await.unwrap();
        item.item.unwrap().get("expires_at").map(|at| at.as_n().unwrap().parse::<u64>().unwrap())
    };
    let create = async || {
        let body = json!({"content_type": "image/png"});
        let response = app.call(Method::POST, "/v1/media/uploads", &[owner.auth()], Some(body)).await;
        assert_eq!(response.status, StatusCode::CREATED);
        response.json()["media"]["id"].as_str().unwrap().to_owned()
    };

    // Never uploaded: it expires a day after it was asked for (DynamoDB TTL).
    let forgotten = create().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let at = expires_at(&forgotten).await.expect("a pending item expires");
    assert!((now + 86_400 - 5..=now + 86_400 + 5).contains(&at), "{at} vs {now}");

    // A post holds it: it stays, however long its upload takes.
    let held = create().await;
    let post = json!({"body": "soon", "media_id": held});
    assert_eq!(app.call(Method::POST, "/v1/posts", &[owner.auth()], Some(post)).await.status, StatusCode::CREATED);
    assert_eq!(expires_at(&held).await, None);

    // Past its expiry, before TTL gets to it (within days): gone for every reader.
    db.update_item()
        .table_name(table)
        .set_key(Some(key(&forgotten)))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", AttributeValue::N((now - 1).to_string()))
        .send()
        .await
        .unwrap();
    app.get(&format!("/v1/media/{forgotten}")).await.assert_problem(404, "not-found");
    let post = json!({"body": "too late", "media_id": forgotten});
    let refused = app.call(Method::POST, "/v1/posts", &[owner.auth()], Some(post)).await;
    assert_eq!(refused.assert_problem(422, "validation")["errors"][0]["message"], "no such media");
}
