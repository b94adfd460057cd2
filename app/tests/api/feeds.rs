use std::collections::HashSet;

use serde_json::Value;
use stampede_tests::{TestApp, TestResponse};

/// Follows `next_cursor` from `first` until the end (or `max_pages`), checking every page.
async fn walk(app: &TestApp, first: &str, max_pages: usize) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut url = first.to_owned();
    loop {
        let response: TestResponse = app.get(&url).await;
        assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
        assert!(response.header("cache-control").starts_with("public"));
        let page = response.json();
        pages.push(page["items"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(cursor) if pages.len() < max_pages => {
                let sep = if first.contains('?') { '&' } else { '?' };
                url = format!("{first}{sep}cursor={cursor}");
            }
            _ => return pages,
        }
    }
}

fn position(post: &Value) -> String {
    format!("{}#{}", post["created_at"].as_str().unwrap(), post["id"].as_str().unwrap())
}

fn assert_newest_first(posts: &[Value]) {
    let positions: Vec<String> = posts.iter().map(position).collect();
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "not strictly newest first: {positions:#?}");
}

#[tokio::test]
async fn author_timeline_pages_newest_first_with_cursors() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.create_post(&author, &format!("post {i}")).await);
    }
    let pages = walk(&app, &format!("/v1/users/{}/posts?limit=3", author.id), 10).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    let all: Vec<Value> = pages.concat();
    assert_newest_first(&all);
    let mut expected = created.clone();
    expected.sort_by_key(|p| std::cmp::Reverse(position(p)));
    assert_eq!(all, expected);
}

#[tokio::test]
async fn author_without_posts_has_an_empty_timeline_and_unknown_author_is_404() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let response = app.get(&format!("/v1/users/{}/posts", author.id)).await;
    assert_eq!(response.json(), serde_json::json!({"items": []}));
    app.get(&format!("/v1/users/{}/posts", ulid::Ulid::generate())).await.assert_problem(404, "not-found");
}

#[tokio::test]
async fn global_latest_merges_every_shard_newest_first() {
    let app = TestApp::new().await;
    let author = app.user().await;
    let mut mine = Vec::new();
    for i in 0..20 {
        mine.push(app.create_post(&author, &format!("latest {i}")).await["id"].as_str().unwrap().to_owned());
    }
    // Other tests post concurrently, so walk until all of ours were seen; order must hold across everything.
    let pages = walk(&app, "/v1/posts?limit=7", 1000).await;
    let all: Vec<Value> = pages.concat();
    assert_newest_first(&all);
    let ids: Vec<&str> = all.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "a post appeared twice");
    let ours: Vec<String> = ids.iter().filter(|id| mine.contains(&id.to_string())).map(|id| id.to_string()).collect();
    let mut expected = mine.clone();
    expected.reverse();
    assert_eq!(ours, expected);
    let shards = app.state.config.latest_shards;
    let used: HashSet<u16> = mine.iter().map(|id| shards.calculated(id)).collect();
    assert!(used.len() > 1, "20 posts should land on several shards");
}

#[tokio::test]
async fn cursors_are_bound_to_their_list_and_tamper_evident() {
    let app = TestApp::new().await;
    let a = app.user().await;
    let b = app.user().await;
    for i in 0..3 {
        app.create_post(&a, &format!("a{i}")).await;
    }
    let page = app.get(&format!("/v1/users/{}/posts?limit=1", a.id)).await.json();
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();

    app.get(&format!("/v1/users/{}/posts?cursor={cursor}", b.id)).await.assert_problem(400, "invalid-cursor");
    app.get(&format!("/v1/posts?cursor={cursor}")).await.assert_problem(400, "invalid-cursor");
    let mut tampered = cursor.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    app.get(&format!("/v1/users/{}/posts?cursor={tampered}", a.id)).await.assert_problem(400, "invalid-cursor");
    app.get("/v1/posts?cursor=bm90LWEtY3Vyc29y").await.assert_problem(400, "invalid-cursor");
    app.get("/v1/posts?cursor=%%%").await.assert_problem(400, "invalid-cursor");
}

#[tokio::test]
async fn limits_are_validated() {
    let app = TestApp::new().await;
    for bad in ["0", "101", "abc", "-5"] {
        let problem = app.get(&format!("/v1/posts?limit={bad}")).await.assert_problem(422, "validation");
        assert_eq!(problem["errors"][0]["field"], "limit");
    }
    assert_eq!(app.get("/v1/posts?limit=100").await.status, 200);
}
