//! A fake OpenAI-compatible Spark server on loopback (poem) that records
//! what it is asked and answers in the mode the test picks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::{Data, Json};
use poem::{EndpointExt, Request, Response, Route, Server, handler, post};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// How the fake answers `/v1/chat/completions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SparkMode {
    /// 200 with a paragraph that quotes the request, so a test can tell the
    /// text came from the LLM: `[fake-spark:<model>] <first user line>.`,
    /// padded with whitespace the client is expected to trim.
    Normal,
    /// 500 with a llama.cpp-style error body.
    Error500,
    /// Waits this long, then answers as `Normal`.
    Slow(Duration),
    /// 200 with exactly this text as the message content.
    Content(String),
    /// 401 with a body that quotes the request's `Authorization` header.
    EchoKey,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

impl RecordedRequest {
    /// The content of the message with `role`, if any.
    pub fn message(&self, role: &str) -> Option<String> {
        self.body["messages"]
            .as_array()?
            .iter()
            .find(|m| m["role"] == role)
            .and_then(|m| m["content"].as_str())
            .map(str::to_string)
    }
}

/// A running fake; stopped on drop.
pub struct FakeSpark {
    base_url: String,
    state: Arc<State>,
    server: JoinHandle<()>,
}

struct State {
    mode: Mutex<SparkMode>,
    requests: Mutex<Vec<RecordedRequest>>,
    count: AtomicUsize,
}

impl FakeSpark {
    /// Listens on 127.0.0.1 with a port of the OS's choosing.
    pub async fn start(mode: SparkMode) -> FakeSpark {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("failed to bind the fake Spark server");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let acceptor = TcpAcceptor::from_tokio(listener).expect("failed to wrap the listener");
        let state = Arc::new(State {
            mode: Mutex::new(mode),
            requests: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
        });
        let app = Route::new()
            .at("/v1/chat/completions", post(completions))
            .data(Arc::clone(&state));
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        FakeSpark {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            server,
        }
    }

    /// The base URL of a loopback port nothing listens on.
    pub fn down() -> String {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("failed to bind a probe port");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    }

    /// The root to configure as `SPARK_BASE_URL` (no `/v1`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn set_mode(&self, mode: SparkMode) {
        *self.state.mode.lock().expect("mode lock") = mode;
    }

    /// Requests received so far, counted on arrival (before any delay).
    pub fn request_count(&self) -> usize {
        self.state.count.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for FakeSpark {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[handler]
async fn completions(
    request: &Request,
    state: Data<&Arc<State>>,
    Json(body): Json<Value>,
) -> Response {
    state.count.fetch_add(1, Ordering::SeqCst);
    let recorded = RecordedRequest {
        path: request.uri().path().to_string(),
        authorization: request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body,
    };
    state
        .requests
        .lock()
        .expect("requests lock")
        .push(recorded.clone());
    let mode = state.mode.lock().expect("mode lock").clone();
    match mode {
        SparkMode::Error500 => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": {"code": 500, "message": "model crashed while decoding", "type": "server_error"}}),
        ),
        SparkMode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            json_response(StatusCode::OK, completion(&recorded))
        }
        SparkMode::Normal => json_response(StatusCode::OK, completion(&recorded)),
        SparkMode::EchoKey => json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": 401, "type": "invalid_request_error", "message": format!(
                "invalid key: {}",
                recorded.authorization.as_deref().unwrap_or("")
            )}}),
        ),
        SparkMode::Content(content) => {
            json_response(StatusCode::OK, completion_with(&recorded, &content))
        }
    }
}

fn completion(request: &RecordedRequest) -> Value {
    let model = request.body["model"].as_str().unwrap_or("unknown");
    let first_line = request
        .message("user")
        .and_then(|text| text.lines().next().map(str::to_string))
        .unwrap_or_default();
    completion_with(
        request,
        &format!("\n  [fake-spark:{model}] {first_line}.  \n"),
    )
}

fn completion_with(request: &RecordedRequest, content: &str) -> Value {
    let model = request.body["model"].as_str().unwrap_or("unknown");
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    })
}

fn json_response(status: StatusCode, body: Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}
