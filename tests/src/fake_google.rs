//! A fake Google (OAuth token endpoint + a Gmail v1 subset) on 127.0.0.1:0
//! that behaves like the real one, for the Gmail adapters and the sync tests.
//!
//! # Public API
//! - [`FakeGoogle::start`]`(`[`FakeGoogleConfig`]`) -> FakeGoogle`: the server
//!   lives until the value is dropped.
//! - Wiring: [`FakeGoogle::base_url`] (the `GMAIL_API_BASE`),
//!   [`FakeGoogle::token_url`], [`FakeGoogle::service_account_json`] (a key
//!   file whose `token_uri` is the fake), [`FakeGoogle::service_account_key`]
//!   (the same, parsed), [`FakeGoogle::private_key_id`], [`FakeGoogle::client_email`].
//! - Directory: [`FakeGoogle::add_user`] (users the token endpoint knows;
//!   adding a message adds its mailbox's user too).
//! - Mailboxes: [`FakeGoogle::add_message`] / [`FakeGoogle::add_message_with`]
//!   (labels, thread, internal date; the same raw message added to two
//!   mailboxes gets two Gmail ids), [`FakeGoogle::delete_message`],
//!   [`FakeGoogle::history_id`], [`FakeGoogle::expire_history`] (every older
//!   `startHistoryId` then answers 404).
//! - Faults: [`FakeGoogle::push_faults`] (queued per endpoint: a status with
//!   Google's body, a 429 with `Retry-After`, or a hang of `config.hang`),
//!   [`FakeGoogle::set_failure_rate`] (a seeded share of Gmail calls answering
//!   429 or 500), [`FakeGoogle::set_rate_limit`] (per-user quota units per
//!   second, 429 when exceeded; [`FakeGoogle::quota_rejections`] counts
//!   those 429s), [`FakeGoogle::fail_message`] (one message's `messages.get`
//!   always failing), [`FakeGoogle::set_get_delay`] (a slow `messages.get`),
//!   [`FakeGoogle::remove_user`] (a user gone from Workspace),
//!   [`FakeGoogle::revoke_tokens`] and
//!   [`FakeGoogle::reject_all_tokens`] (401s).
//! - Clients: [`FakeGoogle::gmail_config`] (fast retries) and
//!   [`FakeGoogle::token_provider`]; [`SettableClock`] for token-expiry tests.
//! - Read back: [`FakeGoogle::calls`] per [`Endpoint`], [`FakeGoogle::drafts`],
//!   [`FakeGoogle::sent`] (raw bytes), [`FakeGoogle::assertions`] (every JWT
//!   the token endpoint received) and [`FakeGoogle::grants`] (the claims of
//!   the ones it accepted).
//!
//! Gmail requests need a bearer token this fake issued, for the path's user
//! (or `me`), with a scope that allows the method; errors carry Google's
//! bodies (`{"error":{"code","message","errors":[{reason,domain}],"status"}}`
//! for Gmail, flat `{"error","error_description"}` for OAuth).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mailroom_adapters::clock::SystemClock;
use mailroom_adapters::gmail::{DwdTokenProvider, GmailConfig, ServiceAccountKey, TokenRetry};
use mailroom_ports::Clock;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Request, Response, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The test service account's private key (PKCS#8 PEM), made for these tests only.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/test-sa-key.pem");
/// Its public half, which the fake verifies assertions with.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("../fixtures/test-sa-key.pub.pem");
/// An unrelated key: assertions signed with it fail Google's signature check.
pub const OTHER_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/other-key.pem");
/// The key file as Google hands it out (`token_uri` points at Google).
pub const TEST_SERVICE_ACCOUNT_JSON: &str = include_str!("../fixtures/test-service-account.json");

const READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
const COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";
const MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
const FULL: &str = "https://mail.google.com/";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How the fake starts. Everything can also be changed while it runs.
#[derive(Debug, Clone)]
pub struct FakeGoogleConfig {
    /// Workspace users (`sub` values) the token endpoint accepts.
    pub users: Vec<String>,
    /// Scopes the domain-wide delegation grant lists; others are refused
    /// with `unauthorized_client`.
    pub granted_scopes: Vec<String>,
    /// Seeds issued tokens and the failure rate, so runs repeat.
    pub seed: u64,
    /// Share (0.0–1.0) of Gmail calls that fail with 429 or 500.
    pub failure_rate: f64,
    /// Per-user quota units per second, like Gmail's old 250/user/s limit.
    pub rate_limit: bool,
    pub units_per_second: u32,
    /// How long a [`Fault::Hang`] holds the answer back.
    pub hang: Duration,
    /// `expires_in` of issued tokens.
    pub token_lifetime_secs: u64,
}

impl Default for FakeGoogleConfig {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            granted_scopes: vec![READONLY.into(), COMPOSE.into()],
            seed: 7,
            failure_rate: 0.0,
            rate_limit: false,
            units_per_second: 250,
            hang: Duration::from_secs(30),
            token_lifetime_secs: 3600,
        }
    }
}

/// The endpoints the fake serves, for fault queues and call counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Token,
    Profile,
    MessagesList,
    MessagesGet,
    HistoryList,
    DraftsCreate,
    MessagesSend,
}

impl Endpoint {
    fn units(self) -> u32 {
        match self {
            Endpoint::Token => 0,
            Endpoint::Profile => 1,
            Endpoint::HistoryList => 2,
            Endpoint::MessagesList | Endpoint::MessagesGet => 5,
            Endpoint::DraftsCreate => 10,
            Endpoint::MessagesSend => 100,
        }
    }

    fn allowed_scopes(self) -> &'static [&'static str] {
        match self {
            Endpoint::Token => &[],
            Endpoint::Profile => &[READONLY, COMPOSE, MODIFY, FULL],
            Endpoint::MessagesList | Endpoint::MessagesGet | Endpoint::HistoryList => {
                &[READONLY, MODIFY, FULL]
            }
            Endpoint::DraftsCreate | Endpoint::MessagesSend => &[COMPOSE, MODIFY, FULL],
        }
    }
}

/// A failure to answer one request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// This status with Google's body for it (429 rateLimitExceeded, 500
    /// backendError, 503, 401 authError, 403 userRateLimitExceeded, …).
    Status(u16),
    /// 429 with a `Retry-After: secs` header.
    RetryAfter(u64),
    /// Hold the answer back for `config.hang`, then answer normally.
    Hang,
    /// This status with a body that quotes the request's credentials (the
    /// `Authorization` header, or the token request's assertion), as a
    /// careless proxy or upstream might: none of it may reach a log or a
    /// client of the app.
    EchoCredentials(u16),
}

/// A message the fake holds, as the test added it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub raw: Vec<u8>,
    pub labels: Vec<String>,
    /// Defaults to the message's own id (a new thread).
    pub thread_id: Option<String>,
    /// Defaults to the `Date` header, else now.
    pub internal_date: Option<Timestamp>,
}

impl NewMessage {
    pub fn new(raw: impl Into<Vec<u8>>) -> Self {
        Self {
            raw: raw.into(),
            labels: vec!["INBOX".into()],
            thread_id: None,
            internal_date: None,
        }
    }
}

/// Gmail's id and thread id for an added message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FakeMessageRef {
    pub id: String,
    pub thread_id: String,
}

/// A draft as `drafts.create` stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeDraft {
    pub id: String,
    pub message_id: String,
    /// The `threadId` the request named, if any.
    pub requested_thread_id: Option<String>,
    pub thread_id: String,
    pub raw: Vec<u8>,
}

/// A message as `messages.send` received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSent {
    pub id: String,
    pub thread_id: String,
    pub raw: Vec<u8>,
}

/// The claims of an assertion the token endpoint accepted, and its header's `kid`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Grant {
    pub iss: String,
    #[serde(default)]
    pub sub: Option<String>,
    pub scope: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip)]
    pub kid: Option<String>,
}

/// A clock tests set by hand; it starts at the system time.
#[derive(Debug)]
pub struct SettableClock(Mutex<Timestamp>);

impl SettableClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Default for SettableClock {
    fn default() -> Self {
        Self::new(now_timestamp())
    }
}

impl Clock for SettableClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake. Dropping it stops the server.
pub struct FakeGoogle {
    addr: SocketAddr,
    state: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FakeGoogle {
    /// Binds 127.0.0.1:0 and serves until dropped.
    ///
    /// # Panics
    /// When the loopback port cannot be bound (a broken test machine).
    pub async fn start(config: FakeGoogleConfig) -> FakeGoogle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let key = ServiceAccountKey::from_json(TEST_SERVICE_ACCOUNT_JSON)
            .expect("the test key file parses");
        let token_url = format!("http://{addr}/token");
        let inner = Inner {
            rng: StdRng::seed_from_u64(config.seed),
            users: config.users.iter().map(|u| u.to_lowercase()).collect(),
            granted: config.granted_scopes.iter().cloned().collect(),
            failure_rate: config.failure_rate,
            rate_limit: config.rate_limit,
            config,
            tokens: HashMap::new(),
            mailboxes: HashMap::new(),
            faults: HashMap::new(),
            calls: HashMap::new(),
            usage: HashMap::new(),
            quota_rejections: 0,
            failing_messages: HashMap::new(),
            get_delay: Duration::ZERO,
            assertions: Vec::new(),
            grants: Vec::new(),
            reject_all: false,
            // Gmail ids are 16 hex digits.
            next_id: 0x18f0_0000_0000_0000,
        };
        let state = Arc::new(Shared {
            inner: Mutex::new(inner),
            token_url,
            client_email: key.client_email.clone(),
            private_key_id: key.private_key_id.clone().unwrap_or_default(),
            decoding_key: DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY_PEM.as_bytes())
                .expect("test public key"),
        });
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        let shared = state.clone();
        let app = poem::endpoint::make(move |req: Request| {
            let shared = shared.clone();
            async move { shared.handle(req).await }
        });
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        FakeGoogle {
            addr,
            state,
            server,
        }
    }

    /// A [`GmailConfig`] aimed at this fake, with retries fast enough for tests
    /// (10 ms doubling to 100 ms, 4 attempts, 5 s timeout, quota limiter on).
    pub fn gmail_config(&self) -> GmailConfig {
        GmailConfig {
            api_base: self.base_url(),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            per_mailbox_concurrency: 4,
            units_per_second: 250,
            timeout: Duration::from_secs(5),
        }
    }

    /// A token provider for the test key against this fake, on the system
    /// clock, retrying the token endpoint quickly.
    pub fn token_provider(&self) -> Arc<DwdTokenProvider> {
        Arc::new(self.token_provider_with_clock(Arc::new(SystemClock)))
    }

    pub fn token_provider_with_clock(&self, clock: Arc<dyn Clock>) -> DwdTokenProvider {
        DwdTokenProvider::new(self.service_account_key(), reqwest::Client::new(), clock).with_retry(
            TokenRetry {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
                timeout: Duration::from_secs(5),
            },
        )
    }

    /// `http://127.0.0.1:<port>`: the Gmail API base.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token_url(&self) -> String {
        self.state.token_url.clone()
    }

    /// The test key file with `token_uri` pointing at this fake.
    pub fn service_account_json(&self) -> String {
        let mut value: Value =
            serde_json::from_str(TEST_SERVICE_ACCOUNT_JSON).expect("fixture is JSON");
        value["token_uri"] = Value::String(self.token_url());
        serde_json::to_string_pretty(&value).expect("serialises")
    }

    /// [`Self::service_account_json`], parsed.
    pub fn service_account_key(&self) -> ServiceAccountKey {
        ServiceAccountKey::from_json(&self.service_account_json()).expect("the test key parses")
    }

    pub fn private_key_id(&self) -> String {
        self.state.private_key_id.clone()
    }

    pub fn client_email(&self) -> String {
        self.state.client_email.clone()
    }

    pub fn add_user(&self, email: &str) {
        self.state.lock().users.insert(email.to_lowercase());
    }

    /// Adds `raw` to `mailbox` (labels `INBOX`) as a new message.
    pub fn add_message(&self, mailbox: &str, raw: impl Into<Vec<u8>>) -> FakeMessageRef {
        self.add_message_with(mailbox, NewMessage::new(raw))
    }

    pub fn add_message_with(&self, mailbox: &str, message: NewMessage) -> FakeMessageRef {
        let internal_date = message
            .internal_date
            .or_else(|| date_header(&message.raw))
            .unwrap_or_else(now_timestamp);
        let mut inner = self.state.lock();
        inner.users.insert(mailbox.to_lowercase());
        inner.store_message(
            mailbox,
            message.raw,
            message.labels,
            message.thread_id,
            internal_date,
        )
    }

    /// Deletes a message (a `messageDeleted` history record); false when unknown.
    pub fn delete_message(&self, mailbox: &str, id: &str) -> bool {
        let mut inner = self.state.lock();
        let mailbox = inner.mailbox(mailbox);
        let Some(msg) = mailbox
            .messages
            .iter_mut()
            .find(|m| m.id == id && !m.deleted)
        else {
            return false;
        };
        msg.deleted = true;
        let (id, thread_id, labels) = (msg.id.clone(), msg.thread_id.clone(), msg.labels.clone());
        mailbox.history_id += 1;
        let history_id = mailbox.history_id;
        mailbox.history.push(HistoryEvent {
            id: history_id,
            added: false,
            id_of: id,
            thread_id,
            labels,
        });
        true
    }

    /// The mailbox's current `historyId`.
    pub fn history_id(&self, mailbox: &str) -> String {
        self.state.lock().mailbox(mailbox).history_id.to_string()
    }

    /// Makes every `startHistoryId` before the current one answer 404.
    pub fn expire_history(&self, mailbox: &str) {
        let mut inner = self.state.lock();
        let mailbox = inner.mailbox(mailbox);
        mailbox.history_floor = mailbox.history_id;
    }

    /// Queues faults for the next requests to `endpoint`, in order.
    pub fn push_faults(&self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.state
            .lock()
            .faults
            .entry(endpoint)
            .or_default()
            .extend(faults);
    }

    pub fn set_failure_rate(&self, rate: f64) {
        self.state.lock().failure_rate = rate;
    }

    pub fn set_rate_limit(&self, on: bool) {
        self.state.lock().rate_limit = on;
    }

    /// Makes every `messages.get` of the message `id` answer `status` (with
    /// Google's body for it) until [`FakeGoogle::heal_message`]: a message
    /// one mailbox cannot hand out, whatever the retries.
    pub fn fail_message(&self, id: &str, status: u16) {
        self.state
            .lock()
            .failing_messages
            .insert(id.to_string(), status);
    }

    pub fn heal_message(&self, id: &str) {
        self.state.lock().failing_messages.remove(id);
    }

    /// Holds every `messages.get` answer back for `delay` (a slow Gmail).
    pub fn set_get_delay(&self, delay: Duration) {
        self.state.lock().get_delay = delay;
    }

    /// Removes `email` from the Workspace directory (a user deleted or
    /// renamed): its issued tokens stop working and the token endpoint
    /// refuses new ones with `invalid_grant` (an unknown user).
    pub fn remove_user(&self, email: &str) {
        let email = email.to_lowercase();
        let mut inner = self.state.lock();
        inner.users.remove(&email);
        inner.tokens.retain(|_, issued| issued.user != email);
    }

    /// Forgets every issued token: the next Gmail call with one gets a 401.
    pub fn revoke_tokens(&self) {
        self.state.lock().tokens.clear();
    }

    /// While on, every Gmail call answers 401, however fresh its token.
    pub fn reject_all_tokens(&self, on: bool) {
        self.state.lock().reject_all = on;
    }

    /// Requests received by `endpoint`, failed ones included.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.state.lock().calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// Gmail calls answered 429 because the per-user quota was spent (not
    /// the injected faults of [`FakeGoogle::push_faults`] or the failure rate).
    pub fn quota_rejections(&self) -> usize {
        self.state.lock().quota_rejections
    }

    pub fn drafts(&self, mailbox: &str) -> Vec<FakeDraft> {
        self.state.lock().mailbox(mailbox).drafts.clone()
    }

    pub fn sent(&self, mailbox: &str) -> Vec<FakeSent> {
        self.state.lock().mailbox(mailbox).sent.clone()
    }

    /// Every `assertion` the token endpoint received, accepted or not.
    pub fn assertions(&self) -> Vec<String> {
        self.state.lock().assertions.clone()
    }

    /// The claims of every accepted assertion.
    /// Every access token the token endpoint handed out.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.lock().tokens.keys().cloned().collect()
    }

    pub fn grants(&self) -> Vec<Grant> {
        self.state.lock().grants.clone()
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Shared {
    inner: Mutex<Inner>,
    token_url: String,
    client_email: String,
    private_key_id: String,
    decoding_key: DecodingKey,
}

struct Inner {
    config: FakeGoogleConfig,
    rng: StdRng,
    users: HashSet<String>,
    granted: HashSet<String>,
    tokens: HashMap<String, Issued>,
    mailboxes: HashMap<String, Mailbox>,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    calls: HashMap<Endpoint, usize>,
    usage: HashMap<String, (u64, u32)>,
    /// Gmail calls answered 429 because the user's quota was spent.
    quota_rejections: usize,
    /// `messages.get` of these ids answers this status.
    failing_messages: HashMap<String, u16>,
    /// How long every `messages.get` answer is held back.
    get_delay: Duration,
    assertions: Vec<String>,
    grants: Vec<Grant>,
    failure_rate: f64,
    rate_limit: bool,
    reject_all: bool,
    next_id: u64,
}

struct Issued {
    user: String,
    scopes: Vec<String>,
    expires_at: u64,
}

#[derive(Default)]
struct Mailbox {
    messages: Vec<Stored>,
    history: Vec<HistoryEvent>,
    history_id: u64,
    history_floor: u64,
    drafts: Vec<FakeDraft>,
    sent: Vec<FakeSent>,
}

struct Stored {
    id: String,
    thread_id: String,
    labels: Vec<String>,
    raw: Vec<u8>,
    internal_date_ms: i64,
    history_id: u64,
    deleted: bool,
}

struct HistoryEvent {
    id: u64,
    added: bool,
    id_of: String,
    thread_id: String,
    labels: Vec<String>,
}

impl Inner {
    fn mailbox(&mut self, user: &str) -> &mut Mailbox {
        self.mailboxes
            .entry(user.to_lowercase())
            .or_insert_with(|| Mailbox {
                history_id: 1000,
                ..Mailbox::default()
            })
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:016x}", self.next_id)
    }

    fn store_message(
        &mut self,
        mailbox: &str,
        raw: Vec<u8>,
        labels: Vec<String>,
        thread_id: Option<String>,
        internal_date: Timestamp,
    ) -> FakeMessageRef {
        let id = self.new_id();
        let thread_id = thread_id.unwrap_or_else(|| id.clone());
        let mailbox = self.mailbox(mailbox);
        mailbox.history_id += 1;
        let history_id = mailbox.history_id;
        mailbox.history.push(HistoryEvent {
            id: history_id,
            added: true,
            id_of: id.clone(),
            thread_id: thread_id.clone(),
            labels: labels.clone(),
        });
        mailbox.messages.push(Stored {
            id: id.clone(),
            thread_id: thread_id.clone(),
            labels,
            raw,
            internal_date_ms: internal_date.as_millisecond(),
            history_id,
            deleted: false,
        });
        FakeMessageRef { id, thread_id }
    }

    /// Spends quota units for `user`; false when this second's budget is gone.
    fn spend(&mut self, user: &str, units: u32, epoch: Instant) -> bool {
        if !self.rate_limit {
            return true;
        }
        let second = epoch.elapsed().as_secs();
        let limit = self.config.units_per_second;
        let entry = self.usage.entry(user.to_string()).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        if entry.1 + units > limit {
            self.quota_rejections += 1;
            return false;
        }
        entry.1 += units;
        true
    }
}

/// One parsed Gmail route: the path's user, the endpoint and the message id.
struct Route {
    endpoint: Endpoint,
    user: String,
    message_id: Option<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn handle(&self, mut req: Request) -> Response {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = parse_query(req.uri().query().unwrap_or(""));
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = req
            .take_body()
            .into_bytes()
            .await
            .unwrap_or_default()
            .to_vec();
        if path == "/token" && method == "POST" {
            self.count(Endpoint::Token);
            if let Some(response) = self
                .fault(Endpoint::Token, true, &String::from_utf8_lossy(&body))
                .await
            {
                return response;
            }
            return self.token(&body);
        }
        let Some(route) = route(method.as_str(), &path) else {
            return google_error(
                404,
                "NOT_FOUND",
                "notFound",
                "Requested entity was not found.",
            );
        };
        self.count(route.endpoint);
        if route.endpoint == Endpoint::MessagesGet {
            let (delay, failing) = {
                let inner = self.lock();
                let failing = route
                    .message_id
                    .as_deref()
                    .and_then(|id| inner.failing_messages.get(id).copied());
                (inner.get_delay, failing)
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if let Some(status) = failing {
                return fault_response(status, false);
            }
        }
        if let Some(response) = self
            .fault(route.endpoint, false, auth.as_deref().unwrap_or(""))
            .await
        {
            return response;
        }
        let user = match self.authorize(&route, auth.as_deref()) {
            Ok(user) => user,
            Err(response) => return *response,
        };
        match route.endpoint {
            Endpoint::Profile => self.profile(&user),
            Endpoint::MessagesList => self.list(&user, &query),
            Endpoint::MessagesGet => {
                self.get(&user, route.message_id.as_deref().unwrap_or(""), &query)
            }
            Endpoint::HistoryList => self.history(&user, &query),
            Endpoint::DraftsCreate => self.create_draft(&user, &body),
            Endpoint::MessagesSend => self.send(&user, &body),
            Endpoint::Token => google_error(
                404,
                "NOT_FOUND",
                "notFound",
                "Requested entity was not found.",
            ),
        }
    }

    fn count(&self, endpoint: Endpoint) {
        *self.lock().calls.entry(endpoint).or_default() += 1;
    }

    /// The queued fault for this endpoint, else the seeded failure rate (Gmail only).
    async fn fault(&self, endpoint: Endpoint, oauth: bool, credentials: &str) -> Option<Response> {
        let (fault, hang) = {
            let mut inner = self.lock();
            let queued = inner
                .faults
                .get_mut(&endpoint)
                .and_then(VecDeque::pop_front);
            let fault = match queued {
                Some(f) => Some(f),
                None if !oauth && inner.failure_rate > 0.0 => {
                    let rate = inner.failure_rate;
                    if inner.rng.random_bool(rate.clamp(0.0, 1.0)) {
                        Some(Fault::Status(if inner.rng.random_bool(0.5) {
                            429
                        } else {
                            500
                        }))
                    } else {
                        None
                    }
                }
                None => None,
            };
            (fault, inner.config.hang)
        };
        match fault? {
            Fault::Hang => {
                tokio::time::sleep(hang).await;
                None
            }
            Fault::RetryAfter(secs) => {
                let mut response = fault_response(429, oauth);
                response.headers_mut().insert(
                    "retry-after",
                    secs.to_string().parse().expect("header value"),
                );
                Some(response)
            }
            Fault::Status(status) => Some(fault_response(status, oauth)),
            Fault::EchoCredentials(status) => Some(json_response(
                status,
                &json!({"error": {
                    "code": status,
                    "message": format!("request rejected; it carried: {credentials}"),
                    "status": "INTERNAL",
                }}),
            )),
        }
    }

    fn authorize(&self, route: &Route, auth: Option<&str>) -> Result<String, Box<Response>> {
        let unauthenticated = || {
            google_error_with(
                401,
                "UNAUTHENTICATED",
                "authError",
                "global",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
        };
        let token = auth
            .and_then(|a| a.strip_prefix("Bearer "))
            .ok_or_else(|| Box::new(unauthenticated()))?;
        let mut inner = self.lock();
        if inner.reject_all {
            return Err(Box::new(unauthenticated()));
        }
        let issued = inner
            .tokens
            .get(token)
            .ok_or_else(|| Box::new(unauthenticated()))?;
        if issued.expires_at <= unix_now() {
            return Err(Box::new(unauthenticated()));
        }
        let user = issued.user.clone();
        if route.user != "me" && route.user.to_lowercase() != user {
            return Err(Box::new(google_error_with(
                403,
                "PERMISSION_DENIED",
                "forbidden",
                "global",
                &format!("Delegation denied for {user}"),
            )));
        }
        if !issued
            .scopes
            .iter()
            .any(|s| route.endpoint.allowed_scopes().contains(&s.as_str()))
        {
            return Err(Box::new(google_error_with(
                403,
                "PERMISSION_DENIED",
                "insufficientPermissions",
                "global",
                "Request had insufficient authentication scopes.",
            )));
        }
        let epoch = *EPOCH.get_or_init(Instant::now);
        if !inner.spend(&user, route.endpoint.units(), epoch) {
            return Err(Box::new(google_error_with(
                429,
                "RESOURCE_EXHAUSTED",
                "rateLimitExceeded",
                "usageLimits",
                "User-rate limit exceeded.",
            )));
        }
        Ok(user)
    }

    fn token(&self, body: &[u8]) -> Response {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
        if grant_type != JWT_BEARER {
            return oauth_error(
                400,
                "unsupported_grant_type",
                &format!("Invalid grant_type: {grant_type}"),
            );
        }
        let Some(assertion) = form.get("assertion") else {
            return oauth_error(
                400,
                "invalid_request",
                "Missing required parameter: assertion",
            );
        };
        self.lock().assertions.push(assertion.clone());
        let signature_error = || oauth_error(400, "invalid_grant", "Invalid JWT Signature.");
        let Ok(header) = jsonwebtoken::decode_header(assertion) else {
            return signature_error();
        };
        if header.alg != Algorithm::RS256
            || header.kid.as_deref() != Some(self.private_key_id.as_str())
        {
            return signature_error();
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.token_url]);
        validation.set_issuer(&[&self.client_email]);
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
        validation.leeway = 60;
        let grant = match jsonwebtoken::decode::<Grant>(assertion, &self.decoding_key, &validation)
        {
            Ok(data) => Grant {
                kid: header.kid.clone(),
                ..data.claims
            },
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                return match e.kind() {
                    ErrorKind::InvalidSignature
                    | ErrorKind::InvalidToken
                    | ErrorKind::Base64(_) => signature_error(),
                    ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
                        short_lived_error()
                    }
                    ErrorKind::InvalidAudience => {
                        oauth_error(400, "invalid_grant", "Invalid JWT: Failed audience check.")
                    }
                    ErrorKind::InvalidIssuer => {
                        oauth_error(401, "invalid_client", "The OAuth client was not found.")
                    }
                    _ => oauth_error(400, "invalid_grant", "Invalid JWT."),
                };
            }
        };
        let now = unix_now() as i64;
        if grant.exp - grant.iat > 3600 || grant.iat > now + 60 || grant.exp <= grant.iat {
            return short_lived_error();
        }
        let scopes: Vec<String> = grant.scope.split_whitespace().map(str::to_string).collect();
        let mut inner = self.lock();
        if scopes.is_empty() {
            return oauth_error(
                400,
                "invalid_scope",
                "Invalid OAuth scope or ID token audience provided.",
            );
        }
        let user = grant
            .sub
            .clone()
            .unwrap_or_else(|| self.client_email.clone())
            .to_lowercase();
        if grant.sub.is_some() && !inner.users.contains(&user) {
            return oauth_error(400, "invalid_grant", "Invalid email or User ID");
        }
        if scopes.iter().any(|s| !inner.granted.contains(s)) {
            return oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
            );
        }
        let token = format!("ya29.fake-{:032x}", inner.rng.random::<u128>());
        let lifetime = inner.config.token_lifetime_secs;
        inner.tokens.insert(
            token.clone(),
            Issued {
                user,
                scopes,
                expires_at: unix_now() + lifetime,
            },
        );
        inner.grants.push(grant);
        json_response(
            200,
            &json!({ "access_token": token, "expires_in": lifetime, "token_type": "Bearer" }),
        )
    }

    fn profile(&self, user: &str) -> Response {
        let mut inner = self.lock();
        let mailbox = inner.mailbox(user);
        let live: Vec<&Stored> = mailbox.messages.iter().filter(|m| !m.deleted).collect();
        let threads: HashSet<&str> = live.iter().map(|m| m.thread_id.as_str()).collect();
        json_response(
            200,
            &json!({
                "emailAddress": user,
                "messagesTotal": live.len(),
                "threadsTotal": threads.len(),
                "historyId": mailbox.history_id.to_string(),
            }),
        )
    }

    fn list(&self, user: &str, query: &[(String, String)]) -> Response {
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let page_size = match page_size(param("maxResults")) {
            Ok(n) => n,
            Err(response) => return *response,
        };
        let offset = match page_offset(param("pageToken")) {
            Ok(n) => n,
            Err(response) => return *response,
        };
        let mut after_ms: Option<i64> = None;
        for term in param("q").unwrap_or("").split_whitespace() {
            match term.strip_prefix("after:").map(str::parse::<i64>) {
                Some(Ok(secs)) => after_ms = Some(secs * 1000),
                Some(Err(_)) => {
                    return google_error(
                        400,
                        "INVALID_ARGUMENT",
                        "invalidArgument",
                        "Invalid query",
                    );
                }
                None => {}
            }
        }
        let spam_trash = param("includeSpamTrash") == Some("true");
        let mut inner = self.lock();
        let mailbox = inner.mailbox(user);
        let mut matching: Vec<&Stored> = mailbox
            .messages
            .iter()
            .filter(|m| !m.deleted)
            .filter(|m| spam_trash || !m.labels.iter().any(|l| l == "SPAM" || l == "TRASH"))
            .filter(|m| after_ms.is_none_or(|after| m.internal_date_ms > after))
            .collect();
        matching.sort_by(|a, b| {
            b.internal_date_ms
                .cmp(&a.internal_date_ms)
                .then(b.id.cmp(&a.id))
        });
        let total = matching.len();
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|m| json!({ "id": m.id, "threadId": m.thread_id }))
            .collect();
        let mut body = json!({ "resultSizeEstimate": total });
        if !page.is_empty() {
            body["messages"] = Value::Array(page);
        }
        if offset + page_size < total {
            body["nextPageToken"] = Value::String(format!("p{}", offset + page_size));
        }
        json_response(200, &body)
    }

    fn get(&self, user: &str, id: &str, query: &[(String, String)]) -> Response {
        let format = query
            .iter()
            .find(|(k, _)| k == "format")
            .map(|(_, v)| v.as_str())
            .unwrap_or("full");
        let mut inner = self.lock();
        let mailbox = inner.mailbox(user);
        let Some(msg) = mailbox.messages.iter().find(|m| m.id == id && !m.deleted) else {
            return google_error(
                404,
                "NOT_FOUND",
                "notFound",
                "Requested entity was not found.",
            );
        };
        let mut body = json!({
            "id": msg.id,
            "threadId": msg.thread_id,
            "labelIds": msg.labels,
            "snippet": "",
            "sizeEstimate": msg.raw.len(),
            "historyId": msg.history_id.to_string(),
            "internalDate": msg.internal_date_ms.to_string(),
        });
        if format == "raw" {
            body["raw"] = Value::String(URL_SAFE.encode(&msg.raw));
        }
        json_response(200, &body)
    }

    fn history(&self, user: &str, query: &[(String, String)]) -> Response {
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(start) = param("startHistoryId") else {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "required",
                "Required parameter: startHistoryId",
            );
        };
        let Ok(start) = start.parse::<u64>() else {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "invalidArgument",
                "Invalid startHistoryId",
            );
        };
        let page_size = match page_size(param("maxResults")) {
            Ok(n) => n,
            Err(response) => return *response,
        };
        let offset = match page_offset(param("pageToken")) {
            Ok(n) => n,
            Err(response) => return *response,
        };
        let types: Vec<&str> = query
            .iter()
            .filter(|(k, _)| k == "historyTypes")
            .map(|(_, v)| v.as_str())
            .collect();
        let mut inner = self.lock();
        let mailbox = inner.mailbox(user);
        if start < mailbox.history_floor {
            return google_error(
                404,
                "NOT_FOUND",
                "notFound",
                "Requested entity was not found.",
            );
        }
        let wanted = |added: bool| {
            types.is_empty()
                || types.contains(&if added {
                    "messageAdded"
                } else {
                    "messageDeleted"
                })
        };
        let events: Vec<&HistoryEvent> = mailbox
            .history
            .iter()
            .filter(|e| e.id > start && wanted(e.added))
            .collect();
        let records: Vec<Value> = events
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|e| {
                let message =
                    json!({ "id": e.id_of, "threadId": e.thread_id, "labelIds": e.labels });
                let change = if e.added {
                    "messagesAdded"
                } else {
                    "messagesDeleted"
                };
                json!({
                    "id": e.id.to_string(),
                    "messages": [{ "id": e.id_of, "threadId": e.thread_id }],
                    change: [{ "message": message }],
                })
            })
            .collect();
        let mut body = json!({ "historyId": mailbox.history_id.to_string() });
        if !records.is_empty() {
            body["history"] = Value::Array(records);
        }
        if offset + page_size < events.len() {
            body["nextPageToken"] = Value::String(format!("p{}", offset + page_size));
        }
        json_response(200, &body)
    }

    fn create_draft(&self, user: &str, body: &[u8]) -> Response {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "badRequest",
                "Invalid JSON payload received.",
            );
        };
        let message = &request["message"];
        let raw = match decode_raw_field(&message["raw"]) {
            Ok(raw) => raw,
            Err(response) => return *response,
        };
        let requested = message["threadId"].as_str().map(str::to_string);
        let mut inner = self.lock();
        let draft_id = format!(
            "r{}",
            inner
                .rng
                .random_range(1_000_000_000_000_000u64..9_000_000_000_000_000)
        );
        let message_id = inner.new_id();
        let thread_id = requested.clone().unwrap_or_else(|| message_id.clone());
        inner.mailbox(user).drafts.push(FakeDraft {
            id: draft_id.clone(),
            message_id: message_id.clone(),
            requested_thread_id: requested,
            thread_id: thread_id.clone(),
            raw,
        });
        json_response(
            200,
            &json!({ "id": draft_id, "message": { "id": message_id, "threadId": thread_id, "labelIds": ["DRAFT"] } }),
        )
    }

    fn send(&self, user: &str, body: &[u8]) -> Response {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "badRequest",
                "Invalid JSON payload received.",
            );
        };
        let raw = match decode_raw_field(&request["raw"]) {
            Ok(raw) => raw,
            Err(response) => return *response,
        };
        if !has_recipients(&raw) {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "invalidArgument",
                "Recipient address required",
            );
        }
        let thread_id = request["threadId"].as_str().map(str::to_string);
        let mut inner = self.lock();
        // A sent message lands in the sender's mailbox with the SENT label, as in Gmail.
        let stored = inner.store_message(
            user,
            raw.clone(),
            vec!["SENT".into()],
            thread_id,
            now_timestamp(),
        );
        inner.mailbox(user).sent.push(FakeSent {
            id: stored.id.clone(),
            thread_id: stored.thread_id.clone(),
            raw,
        });
        json_response(
            200,
            &json!({ "id": stored.id, "threadId": stored.thread_id, "labelIds": ["SENT"] }),
        )
    }
}

static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn route(method: &str, path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/gmail/v1/users/")?;
    let segments: Vec<String> = rest.split('/').map(percent_decode).collect();
    let (user, tail) = segments.split_first()?;
    let (endpoint, message_id) = match (method, tail) {
        ("GET", [p]) if p == "profile" => (Endpoint::Profile, None),
        ("GET", [m]) if m == "messages" => (Endpoint::MessagesList, None),
        ("POST", [m, s]) if m == "messages" && s == "send" => (Endpoint::MessagesSend, None),
        ("GET", [m, id]) if m == "messages" => (Endpoint::MessagesGet, Some(id.clone())),
        ("GET", [h]) if h == "history" => (Endpoint::HistoryList, None),
        ("POST", [d]) if d == "drafts" => (Endpoint::DraftsCreate, None),
        _ => return None,
    };
    Some(Route {
        endpoint,
        user: user.clone(),
        message_id,
    })
}

/// Path segments decode `%XX` only: a `+` in an address stays a `+`.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn page_size(param: Option<&str>) -> Result<usize, Box<Response>> {
    match param {
        None => Ok(100),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n.min(500)),
            _ => Err(Box::new(google_error(
                400,
                "INVALID_ARGUMENT",
                "invalidArgument",
                "Invalid maxResults",
            ))),
        },
    }
}

fn page_offset(token: Option<&str>) -> Result<usize, Box<Response>> {
    match token {
        None => Ok(0),
        Some(t) => t
            .strip_prefix('p')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                Box::new(google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "invalidArgument",
                    "Invalid pageToken",
                ))
            }),
    }
}

fn decode_raw_field(raw: &Value) -> Result<Vec<u8>, Box<Response>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let Some(text) = raw.as_str() else {
        return Err(Box::new(google_error(
            400,
            "INVALID_ARGUMENT",
            "invalidArgument",
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
        )));
    };
    LENIENT
        .decode(text)
        .map_err(|_| {
            google_error(
                400,
                "INVALID_ARGUMENT",
                "invalidArgument",
                "Invalid value for ByteString",
            )
        })
        .map_err(Box::new)
}

fn has_recipients(raw: &[u8]) -> bool {
    let Some(message) = mail_parser::MessageParser::default().parse(raw) else {
        return false;
    };
    message.to().is_some_and(|a| a.iter().next().is_some())
        || message.cc().is_some_and(|a| a.iter().next().is_some())
        || message.bcc().is_some_and(|a| a.iter().next().is_some())
}

fn date_header(raw: &[u8]) -> Option<Timestamp> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    let date = message.date().filter(|d| d.is_valid())?;
    Timestamp::from_second(date.to_timestamp()).ok()
}

fn now_timestamp() -> Timestamp {
    Timestamp::from_second(unix_now() as i64).expect("the system clock is in range")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fault_response(status: u16, oauth: bool) -> Response {
    if oauth {
        let code = if status == 429 {
            "rate_limit_exceeded"
        } else {
            "internal_failure"
        };
        return oauth_error(status, code, "Injected failure.");
    }
    match status {
        401 => google_error_with(
            401,
            "UNAUTHENTICATED",
            "authError",
            "global",
            "Invalid Credentials",
        ),
        403 => google_error_with(
            403,
            "PERMISSION_DENIED",
            "userRateLimitExceeded",
            "usageLimits",
            "User Rate Limit Exceeded",
        ),
        404 => google_error(
            404,
            "NOT_FOUND",
            "notFound",
            "Requested entity was not found.",
        ),
        429 => google_error_with(
            429,
            "RESOURCE_EXHAUSTED",
            "rateLimitExceeded",
            "usageLimits",
            "Too many concurrent requests for user",
        ),
        500 => google_error_with(500, "INTERNAL", "backendError", "global", "Backend Error"),
        503 => google_error_with(
            503,
            "UNAVAILABLE",
            "backendError",
            "global",
            "The service is currently unavailable.",
        ),
        other => google_error(other, "UNKNOWN", "unknown", "Injected failure."),
    }
}

fn short_lived_error() -> Response {
    oauth_error(
        400,
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
    )
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

fn google_error(status: u16, rpc_status: &str, reason: &str, message: &str) -> Response {
    google_error_with(status, rpc_status, reason, "global", message)
}

fn google_error_with(
    status: u16,
    rpc_status: &str,
    reason: &str,
    domain: &str,
    message: &str,
) -> Response {
    json_response(
        status,
        &json!({
            "error": {
                "code": status,
                "message": message,
                "errors": [{ "message": message, "domain": domain, "reason": reason }],
                "status": rpc_status,
            }
        }),
    )
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json; charset=UTF-8")
        .body(body.to_string())
}
