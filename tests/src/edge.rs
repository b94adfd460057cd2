//! Black-box harness for the edge: a real `wrangler dev` (workerd) of the built worker, with fresh state, in
//! front of upstreams the test controls or runs, trusting a local issuer the test serves. Needs `STAMPEDE_EDGE_DIR` (the edge crate, built) and
//! `STAMPEDE_EDGE_PATH` (a PATH with Node ≥ 22 and wrangler); `scripts/test` sets both.

use std::{
    collections::HashMap,
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};

use local_issuer::Issuer;

use crate::free_port;

/// What a test upstream answers and what it has seen.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub status: StatusCode,
    /// The answer's content type (the API's errors are `application/problem+json`, a load balancer's `text/html`).
    pub content_type: &'static str,
    pub delay: Duration,
    pub cache_control: String,
    pub version: u32,
    /// The `Location` of the answer (with a 3xx status).
    pub location: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            status: StatusCode::OK,
            content_type: "application/json",
            delay: Duration::ZERO,
            cache_control: "public, max-age=0, s-maxage=60, stale-while-revalidate=60".into(),
            version: 1,
            location: None,
        }
    }
}

/// A request an upstream received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct UpstreamState {
    behaviour: Mutex<Behaviour>,
    seen: Mutex<Vec<Seen>>,
    request_ids: AtomicUsize,
}

/// An HTTP server standing in for the origin or the api function, on its own port; stop it to make the edge
/// see connection errors.
pub struct TestUpstream {
    pub name: &'static str,
    pub port: u16,
    state: Arc<UpstreamState>,
    server: Option<tokio::task::JoinHandle<()>>,
}

async fn answer(
    State((name, state)): State<(&'static str, Arc<UpstreamState>)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let behaviour = state.behaviour.lock().unwrap().clone();
    let invalidates = headers.get("x-test-invalidates").cloned();
    // As the API does: the request's own id, or a new one.
    let request_id = headers.get("x-request-id").cloned().unwrap_or_else(|| {
        let n = state.request_ids.fetch_add(1, Ordering::Relaxed);
        format!("{name}-{n}").parse().unwrap()
    });
    if uri.path() != "/__ready" {
        state.seen.lock().unwrap().push(Seen { method: method.clone(), path: uri.to_string(), headers, body });
    }
    tokio::time::sleep(behaviour.delay).await;
    let body = serde_json::json!({"upstream": name, "path": uri.path(), "method": method.as_str(), "version": behaviour.version});
    let write = method == Method::PUT || method == Method::DELETE;
    let status = if write && behaviour.status == StatusCode::OK { StatusCode::NO_CONTENT } else { behaviour.status };
    let mut response = (status, [("content-type", behaviour.content_type)], body.to_string()).into_response();
    response.headers_mut().insert("x-request-id", request_id);
    if let Some(location) = behaviour.location {
        response.headers_mut().insert("location", location.parse().unwrap());
    }
    if method == Method::GET || method == Method::HEAD {
        response.headers_mut().insert("cache-control", behaviour.cache_control.parse().unwrap());
    } else {
        response.headers_mut().insert("cache-control", "private, no-store".parse().unwrap());
        // What the API says a write changed, as the test asks: `x-test-invalidates` is echoed as `x-invalidates`.
        if let Some(paths) = invalidates {
            response.headers_mut().insert(stampede_contract::headers::INVALIDATES, paths);
        }
    }
    response
}

/// The local issuer on a port of its own, with a key of its own: what the edge under test fetches keys from.
pub struct ServedIssuer {
    pub issuer: Arc<Issuer>,
    server: tokio::task::JoinHandle<()>,
}

impl ServedIssuer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let issuer = Arc::new(Issuer::ephemeral(&url, "stampede-edge-tests").unwrap());
        let router = issuer.clone().router();
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { issuer, server }
    }

    /// `Bearer {token}` for `subject`, valid for ten minutes.
    pub fn bearer(&self, subject: &str) -> String {
        format!("Bearer {}", self.issuer.token(subject, Duration::from_secs(600)))
    }

    /// The edge's settings for trusting this issuer.
    pub fn vars(&self) -> [(&'static str, String); 2] {
        [("AUTH_ISSUER", self.issuer.url.clone()), ("AUTH_AUDIENCE", self.issuer.audience.clone())]
    }
}

impl Drop for ServedIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestUpstream {
    pub async fn start(name: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut upstream = Self { name, port, state: Arc::default(), server: None };
        upstream.serve(listener);
        upstream
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new().fallback(answer).with_state((self.name, self.state.clone()));
        self.server = Some(tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        }));
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.state.behaviour.lock().unwrap());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Requests received for paths starting with `prefix`.
    pub fn hits(&self, prefix: &str) -> usize {
        self.seen().iter().filter(|s| s.path.starts_with(prefix)).count()
    }

    /// Stops listening: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// `wrangler dev --env test` of the built worker on a free port, with its own state directory.
pub struct Edge {
    pub port: u16,
    child: Child,
    state_dir: PathBuf,
}

impl Edge {
    /// Starts the worker with `ORIGIN_URL` and `LAMBDA_URL` (and any other `vars`) and waits until it answers.
    pub async fn start(origin: &str, lambda: &str, vars: &[(&str, &str)]) -> Self {
        let dir = std::env::var("STAMPEDE_EDGE_DIR")
            .expect("edge tests need a built worker and wrangler: run scripts/test (it sets STAMPEDE_EDGE_DIR)");
        let path = std::env::var("STAMPEDE_EDGE_PATH").expect("scripts/test sets STAMPEDE_EDGE_PATH (Node ≥ 22)");
        let port = free_port();
        let state_dir = std::env::temp_dir().join(format!("stampede-edge-{}", ulid::Ulid::generate()));
        let mut command = Command::new(PathBuf::from(&dir).join("node_modules/.bin/wrangler"));
        command
            .current_dir(&dir)
            .env("PATH", path)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_TELEMETRY_DISABLED", "1")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .args(["dev", "--env", "test", "--ip", "127.0.0.1", "--show-interactive-dev-session=false"])
            .args(["--port", &port.to_string(), "--persist-to", state_dir.to_str().unwrap()])
            .args(["--inspector-port", &free_port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        // Settings in a file, not on the command line, where `ps` would show the secrets among them.
        std::fs::create_dir_all(&state_dir).unwrap();
        let settings: String = [("ORIGIN_URL", origin), ("LAMBDA_URL", lambda)]
            .iter()
            .chain(vars)
            .map(|(name, value)| format!("{name}={value}\n"))
            .collect();
        let env_file = state_dir.join("settings.env");
        std::fs::write(&env_file, settings).unwrap();
        command.arg("--env-file").arg(&env_file);
        let mut edge = Self { port, child: command.spawn().expect("wrangler starts"), state_dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        while client.get(edge.url("/__ready")).send().await.is_err() {
            assert!(edge.child.try_wait().unwrap().is_none(), "wrangler dev exited");
            assert!(Instant::now() < deadline, "wrangler dev did not answer within 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        edge
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        stop_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// Stops a child started in its own process group, with everything it started (wrangler's workerd, the
/// function `cargo lambda watch` runs): SIGTERM to the group, then SIGKILL after 5 s.
pub fn stop_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
}

/// Response headers as a map of lowercase names (one value each).
pub fn header_map(response: &reqwest::Response) -> HashMap<String, String> {
    response.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect()
}
