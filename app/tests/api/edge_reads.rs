//! The reads the edge caches and keys (`stampede_contract::routes::READS`) are the router's: each is a route of its
//! own (never the fallback), and what the edge refuses as naming nothing, or keys as one, the router answers alike.

use axum::http::StatusCode;
use stampede_contract::routes::{Matched, READS, match_read};
use stampede_tests::TestApp;

#[tokio::test]
async fn every_read_of_the_contract_is_a_route_and_its_misses_are_404s_the_edge_may_keep() {
    let app = TestApp::new().await;
    for read in READS {
        let path = read.path.replace("{id}", &ulid::Ulid::generate().to_string()).replace("{size}", "128");
        let response = app.get(&path).await;
        if !read.shared {
            response.assert_problem(401, "unauthenticated");
            assert_eq!(response.header("cache-control"), "private, no-store", "{path}");
            continue;
        }
        if !read.path.contains('{') {
            assert_eq!(response.status, StatusCode::OK, "{path}");
            assert!(response.header("cache-control").starts_with("public"), "{path}");
            continue;
        }
        let problem = response.assert_problem(404, "not-found");
        assert!(!problem["detail"].as_str().unwrap().starts_with("no route"), "{path}: {problem}");
        assert_eq!(response.header("cache-control"), "public, max-age=0, s-maxage=10", "{path}");

        // Where the edge answers 404 itself, the router would have too.
        let malformed = read.path.replace("{id}", "not-an-id").replace("{size}", "0128");
        assert_eq!(match_read(&malformed), Matched::Nothing, "{malformed}");
        app.get(&malformed).await.assert_problem(404, "not-found");
    }
}

#[tokio::test]
async fn an_id_in_lower_case_is_the_same_read_as_the_canonical_one() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let (canonical, lower) = (format!("/v1/users/{}", user.id), format!("/v1/users/{}", user.id.to_lowercase()));
    let Matched::Read { path, .. } = match_read(&lower) else { panic!("{lower} is a read") };
    assert_eq!(path, canonical, "the edge keys it as the canonical read");
    assert_eq!(app.get(&lower).await.json(), app.get(&canonical).await.json(), "and the router answers it alike");
}
