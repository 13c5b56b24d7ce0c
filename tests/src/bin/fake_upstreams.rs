//! The fake Google (Gmail API and token endpoint) and the fake Spark on
//! loopback, for running a real `mailroom serve` against them (the
//! schemathesis script, the client smoke test, the console's browser tests).
//! Writes the service-account key file to the path given as the first
//! argument, seeds Ann's and Bob's mailboxes, prints the environment for
//! mailroom as `NAME=value` lines (all at once), then runs until stdin closes.
//!
//! `FAKE_CONTROL_URL` is a loopback HTTP endpoint for tests to steer and read
//! the fake Google while mailroom runs against it:
//! - `GET /state`: calls per endpoint, and per mailbox the drafts created
//!   (id, message id, thread, raw message) and how many messages were sent;
//! - `POST /messages/{mailbox}` with a raw RFC 822 message as the body: adds
//!   it to the mailbox (internal date: its `Date` header, else now), answers
//!   its Gmail id and thread;
//! - `POST /faults/{endpoint}/{kind}/{status}?count=N`: queues N faults
//!   (kind `status`: Google's error body; `echo`: a body quoting the request's
//!   credentials) on `token`, `profile`, `messages_list`, `messages_get`,
//!   `history_list`, `drafts_create` or `messages_send`.

use std::io::{Read, Write};
use std::sync::Arc;

use mailroom_tests::capture_team::{ANN, BOB, seed_mail};
use mailroom_tests::fake_google::{Endpoint, FakeGoogle, FakeGoogleConfig, Fault};
use mailroom_tests::fake_spark::{FakeSpark, SparkMode};
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::{Data, Json, Path, Query};
use poem::{EndpointExt, Route, Server, get, handler, post};
use serde::Deserialize;
use serde_json::{Value, json};

const ENDPOINTS: [(&str, Endpoint); 7] = [
    ("token", Endpoint::Token),
    ("profile", Endpoint::Profile),
    ("messages_list", Endpoint::MessagesList),
    ("messages_get", Endpoint::MessagesGet),
    ("history_list", Endpoint::HistoryList),
    ("drafts_create", Endpoint::DraftsCreate),
    ("messages_send", Endpoint::MessagesSend),
];

#[tokio::main]
async fn main() {
    let key_path = std::env::args()
        .nth(1)
        .expect("usage: fake_upstreams KEY_FILE_PATH");
    let google = Arc::new(FakeGoogle::start(FakeGoogleConfig::default()).await);
    for user in [ANN, BOB] {
        google.add_user(user);
    }
    seed_mail(&google);
    let spark = FakeSpark::start(SparkMode::Normal).await;
    let control = start_control(google.clone()).await;
    std::fs::write(&key_path, google.service_account_json()).expect("write the key file");
    // One write, so a reader waiting for the lines never sees only some.
    let env = format!(
        "GOOGLE_SERVICE_ACCOUNT_FILE={key_path}\nGMAIL_API_BASE={}\nSPARK_BASE_URL={}\nFAKE_CONTROL_URL={control}\n",
        google.base_url(),
        spark.base_url(),
    );
    let mut out = std::io::stdout().lock();
    out.write_all(env.as_bytes())
        .expect("write the environment");
    out.flush().expect("flush the environment");
    drop(out);
    // A blocking read, off the runtime's worker threads.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
}

/// Serves the control endpoints on 127.0.0.1; returns their base URL.
async fn start_control(google: Arc<FakeGoogle>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    let app = Route::new()
        .at("/state", get(state))
        .at("/messages/:mailbox", post(add_message))
        .at("/faults/:endpoint/:kind/:status", post(push_faults))
        .data(google);
    tokio::spawn(async move {
        let _ = Server::new_with_acceptor(acceptor).run(app).await;
    });
    format!("http://{addr}")
}

#[handler]
fn state(google: Data<&Arc<FakeGoogle>>) -> Json<Value> {
    let calls: serde_json::Map<String, Value> = ENDPOINTS
        .iter()
        .map(|(name, endpoint)| (name.to_string(), json!(google.calls(*endpoint))))
        .collect();
    let mailboxes: serde_json::Map<String, Value> = [ANN, BOB]
        .iter()
        .map(|mailbox| {
            let drafts: Vec<Value> = google
                .drafts(mailbox)
                .iter()
                .map(|d| {
                    json!({
                        "id": d.id,
                        "message_id": d.message_id,
                        "thread_id": d.thread_id,
                        "raw": String::from_utf8_lossy(&d.raw),
                    })
                })
                .collect();
            let sent = google.sent(mailbox).len();
            (
                mailbox.to_string(),
                json!({ "drafts": drafts, "sent": sent }),
            )
        })
        .collect();
    Json(json!({ "calls": calls, "mailboxes": mailboxes }))
}

#[handler]
fn add_message(
    google: Data<&Arc<FakeGoogle>>,
    Path(mailbox): Path<String>,
    body: Vec<u8>,
) -> Json<Value> {
    let added = google.add_message(&mailbox, body);
    Json(json!({ "id": added.id, "thread_id": added.thread_id }))
}

#[derive(Deserialize)]
struct Count {
    count: Option<usize>,
}

#[handler]
fn push_faults(
    google: Data<&Arc<FakeGoogle>>,
    Path((endpoint, kind, status)): Path<(String, String, u16)>,
    Query(count): Query<Count>,
) -> poem::Result<Json<Value>> {
    let bad = |what: &str| poem::Error::from_string(what.to_string(), StatusCode::BAD_REQUEST);
    let endpoint = ENDPOINTS
        .iter()
        .find(|(name, _)| *name == endpoint)
        .map(|(_, e)| *e)
        .ok_or_else(|| bad("unknown endpoint"))?;
    let fault = match kind.as_str() {
        "status" => Fault::Status(status),
        "echo" => Fault::EchoCredentials(status),
        _ => return Err(bad("kind is status or echo")),
    };
    let count = count.count.unwrap_or(1);
    google.push_faults(endpoint, std::iter::repeat_n(fault, count));
    Ok(Json(json!({ "queued": count })))
}
