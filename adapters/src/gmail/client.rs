//! The Gmail REST client under every Gmail adapter: URLs, bearer tokens,
//! bounded retries with backoff, Google's error bodies, and per-mailbox
//! concurrency and quota limits (R-CAP-2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailroom_ports::EmailAddress;
use mailroom_ports::gmail::{GmailError, Scope, TokenError, TokenProvider};
use rand::Rng;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::{debug, warn};
use url::Url;

/// How the Gmail adapters talk to Gmail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GmailConfig {
    /// `GMAIL_API_BASE`; tests point it at a loopback fake.
    pub api_base: String,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    /// The longest wait between attempts. A `Retry-After` longer than this
    /// ends the call with `RateLimited` instead of holding the sync.
    pub max_backoff: Duration,
    pub per_mailbox_concurrency: usize,
    /// Quota units per mailbox per second (Gmail's per-user limit); 0 = off.
    /// The client stays below it in every one-second span (see [`Limiter`]).
    pub units_per_second: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for GmailConfig {
    fn default() -> Self {
        Self {
            api_base: "https://gmail.googleapis.com".into(),
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(32),
            per_mailbox_concurrency: 4,
            units_per_second: 250,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The Gmail methods mailroom calls, with their quota cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Profile,
    MessagesList,
    MessagesGet,
    HistoryList,
    DraftsCreate,
    MessagesSend,
}

impl Op {
    /// Quota units per call, from Gmail's quota table.
    pub(crate) fn units(self) -> u32 {
        match self {
            Op::Profile => 1,
            Op::HistoryList => 2,
            Op::MessagesList | Op::MessagesGet => 5,
            Op::DraftsCreate => 10,
            Op::MessagesSend => 100,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Profile => "users.getProfile",
            Op::MessagesList => "messages.list",
            Op::MessagesGet => "messages.get",
            Op::HistoryList => "history.list",
            Op::DraftsCreate => "drafts.create",
            Op::MessagesSend => "messages.send",
        }
    }

    /// A timed-out (or 5xx-answered) write may have happened, so only reads
    /// repeat after one.
    fn retries_timeouts(self) -> bool {
        matches!(
            self,
            Op::Profile | Op::MessagesList | Op::MessagesGet | Op::HistoryList
        )
    }
}

/// Gmail's quota is per user, whichever handle spends it: the capture reader,
/// the drafts and the digest sender of one process share one limiter per
/// mailbox (keyed with the API base, so fakes in one test process stay
/// apart). Separate limiters let a sync and a send together overrun it.
fn shared_limiters() -> Limiters {
    static SHARED: std::sync::OnceLock<Limiters> = std::sync::OnceLock::new();
    SHARED.get_or_init(Arc::default).clone()
}

/// One limiter per `api_base` and mailbox.
type Limiters = Arc<Mutex<HashMap<String, Arc<Limiter>>>>;

/// Shared by the handles of one adapter; cheap to clone.
#[derive(Clone)]
pub(crate) struct GmailClient {
    http: reqwest::Client,
    tokens: Arc<dyn TokenProvider>,
    config: GmailConfig,
    limiters: Limiters,
}

impl GmailClient {
    pub(crate) fn new(tokens: Arc<dyn TokenProvider>, config: GmailConfig) -> Self {
        Self {
            http: reqwest::Client::new(),
            tokens,
            config,
            limiters: shared_limiters(),
        }
    }

    /// `{api_base}/gmail/v1/users/{mailbox}/{tail…}`, each segment escaped.
    pub(crate) fn url(&self, mailbox: &EmailAddress, tail: &[&str]) -> Result<Url, GmailError> {
        let mut url = Url::parse(&self.config.api_base).map_err(|e| {
            GmailError::Unexpected(anyhow::anyhow!("the Gmail API base is not a URL: {e}"))
        })?;
        url.path_segments_mut()
            .map_err(|()| {
                GmailError::Unexpected(anyhow::anyhow!("the Gmail API base cannot take a path"))
            })?
            .pop_if_empty()
            .extend(["gmail", "v1", "users", mailbox.as_str()])
            .extend(tail);
        Ok(url)
    }

    /// Runs one Gmail call to completion: waits for the mailbox's quota and
    /// a concurrency slot, attaches a token, retries what is worth retrying
    /// and decodes the JSON answer. `request` builds the request afresh for
    /// each attempt.
    pub(crate) async fn call<T, F>(
        &self,
        mailbox: &EmailAddress,
        scope: Scope,
        op: Op,
        request: F,
    ) -> Result<T, GmailError>
    where
        T: DeserializeOwned,
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let limiter = self.limiter(mailbox);
        let scopes = [scope];
        let max_attempts = self.config.max_attempts.max(1);
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = {
                let _slot = limiter.concurrency.acquire().await.map_err(|_| {
                    GmailError::Unexpected(anyhow::anyhow!(
                        "the mailbox's concurrency limiter was closed"
                    ))
                })?;
                let token = self
                    .tokens
                    .token(mailbox, &scopes)
                    .await
                    .map_err(token_failure)?;
                // Quota is spent just before the request leaves: units taken
                // earlier and then held up by a slot or a token mint would
                // reach Gmail bunched together, above the limit.
                limiter.take(op.units(), self.config.units_per_second).await;
                self.attempt(
                    op,
                    token.secret(),
                    request(&self.http).bearer_auth(token.secret()),
                )
                .await
            };
            let (error, retry_after) = match outcome {
                Outcome::Done(body) => {
                    return serde_json::from_slice(&body).map_err(|e| {
                        GmailError::Unexpected(anyhow::anyhow!(
                            "unexpected {} answer from Gmail: {e}",
                            op.name()
                        ))
                    });
                }
                Outcome::Fail(error) => return Err(error),
                Outcome::Unauthorized if !refreshed => {
                    // Google revoked or expired the token early: one fresh
                    // mint, which does not count as an attempt.
                    debug!(
                        op = op.name(),
                        "Gmail answered 401; refreshing the token once"
                    );
                    self.tokens.invalidate(mailbox, &scopes).await;
                    refreshed = true;
                    attempt -= 1;
                    continue;
                }
                Outcome::Unauthorized => {
                    return Err(GmailError::Auth(TokenError::NotAuthorized(format!(
                        "Gmail refused a freshly minted token for {mailbox} ({})",
                        op.name()
                    ))));
                }
                Outcome::Retry { error, retry_after } => (error, retry_after),
            };
            if let Some(wait) = retry_after
                && wait > self.config.max_backoff
            {
                return Err(error);
            }
            if attempt >= max_attempts {
                return Err(error);
            }
            let delay = jittered(
                self.config.initial_backoff,
                self.config.max_backoff,
                attempt,
            )
            .max(retry_after.unwrap_or_default());
            warn!(op = op.name(), attempt, delay_ms = delay.as_millis() as u64, %error, "retrying a Gmail call");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, op: Op, token: &str, request: reqwest::RequestBuilder) -> Outcome {
        let sent = request.timeout(self.config.timeout).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let retry = op.retries_timeouts() || e.is_connect();
                let error = if e.is_timeout() {
                    GmailError::Unavailable(format!(
                        "{} got no answer within {:?}",
                        op.name(),
                        self.config.timeout
                    ))
                } else {
                    GmailError::Unavailable(format!(
                        "{} could not reach Gmail: {}",
                        op.name(),
                        e.without_url()
                    ))
                };
                return if retry {
                    Outcome::Retry {
                        error,
                        retry_after: None,
                    }
                } else {
                    Outcome::Fail(error)
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let error = GmailError::Unavailable(format!(
                    "{}'s answer broke off: {}",
                    op.name(),
                    e.without_url()
                ));
                return if op.retries_timeouts() {
                    Outcome::Retry {
                        error,
                        retry_after: None,
                    }
                } else {
                    Outcome::Fail(error)
                };
            }
        };
        if (200..300).contains(&status) {
            return Outcome::Done(body.into());
        }
        classify(op, status, &redact(&body, token), retry_after)
    }

    fn limiter(&self, mailbox: &EmailAddress) -> Arc<Limiter> {
        let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(format!("{}\n{}", self.config.api_base, mailbox.as_str()))
            .or_insert_with(|| {
                Arc::new(Limiter::new(
                    self.config.per_mailbox_concurrency,
                    self.config.units_per_second,
                ))
            })
            .clone()
    }
}

/// Google does not echo the bearer token, but a proxy in between might; the
/// error text built from `body` goes to logs, so the token is cut out first.
fn redact(body: &[u8], token: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    if token.is_empty() || !text.contains(token) {
        return body.to_vec();
    }
    text.replace(token, "[redacted]").into_bytes()
}

/// A token endpoint outage is worth retrying later; anything else needs an admin.
fn token_failure(e: TokenError) -> GmailError {
    match e {
        TokenError::Unavailable(why) => GmailError::Unavailable(format!("no access token: {why}")),
        other => GmailError::Auth(other),
    }
}

#[derive(Debug)]
enum Outcome {
    Done(Vec<u8>),
    Unauthorized,
    Retry {
        error: GmailError,
        retry_after: Option<Duration>,
    },
    Fail(GmailError),
}

/// What an answer means, from its status and Google's error body.
fn classify(op: Op, status: u16, body: &[u8], retry_after: Option<Duration>) -> Outcome {
    if (200..300).contains(&status) {
        return Outcome::Done(body.to_vec());
    }
    let detail = GoogleError::parse(body);
    let what = detail.describe(status);
    match status {
        401 => Outcome::Unauthorized,
        404 => Outcome::Fail(GmailError::NotFound),
        429 => Outcome::Retry {
            error: GmailError::RateLimited { retry_after },
            retry_after,
        },
        403 if detail.has_reason(&["rateLimitExceeded", "userRateLimitExceeded"]) => {
            Outcome::Retry {
                error: GmailError::RateLimited { retry_after },
                retry_after,
            }
        }
        // A daily limit will not lift within a retry loop.
        403 if detail.has_reason(&["dailyLimitExceeded", "quotaExceeded"]) => {
            Outcome::Fail(GmailError::RateLimited { retry_after })
        }
        // A 5xx on a write may come after Gmail did the write, so a write is
        // not repeated (the digest falls back to SMTP instead; a draft is
        // asked for again by its human): at most one copy per transport.
        500..=599 if !op.retries_timeouts() => Outcome::Fail(GmailError::Unavailable(format!(
            "{} failed: {what}",
            op.name()
        ))),
        500..=599 => Outcome::Retry {
            error: GmailError::Unavailable(format!("{} failed: {what}", op.name())),
            retry_after,
        },
        _ => Outcome::Fail(GmailError::Invalid(format!("{}: {what}", op.name()))),
    }
}

/// Google's error envelope, with every field optional: `{"error":{"code",
/// "message","status","errors":[{"reason","domain","message"}]}}`, or the
/// same fields at the top level as some 429s carry them.
#[derive(Debug, Default)]
struct GoogleError {
    message: Option<String>,
    status: Option<String>,
    reasons: Vec<String>,
}

impl GoogleError {
    fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::default();
        };
        let inner = match value.get("error") {
            Some(e) if e.is_object() => e,
            _ => &value,
        };
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
        let reasons = inner
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|items| items.iter().filter_map(|i| text(i.get("reason"))).collect())
            .unwrap_or_default();
        Self {
            message: text(inner.get("message")),
            status: text(inner.get("status")),
            reasons,
        }
    }

    fn has_reason(&self, wanted: &[&str]) -> bool {
        self.reasons.iter().any(|r| wanted.contains(&r.as_str()))
    }

    fn describe(&self, status: u16) -> String {
        let mut out = format!("HTTP {status}");
        if let Some(s) = &self.status {
            out.push_str(&format!(" {s}"));
        }
        if !self.reasons.is_empty() {
            out.push_str(&format!(" ({})", self.reasons.join(", ")));
        }
        if let Some(m) = &self.message {
            out.push_str(": ");
            out.extend(m.chars().take(300));
        }
        out
    }
}

/// A per-mailbox concurrency cap and a token bucket over quota units.
///
/// Gmail counts quota per user per second. A bucket that holds a whole
/// second's budget and refills at the full rate can spend twice the limit
/// within one second (a full bucket, then a second of refill), so this one
/// holds only [`BURST_SHARE`] of the limit and refills at [`RATE_SHARE`] of
/// it: any one-second span, even one stretched by some latency between
/// taking the units and Gmail counting them, stays under the limit.
struct Limiter {
    concurrency: Semaphore,
    bucket: tokio::sync::Mutex<Bucket>,
}

/// The share of a second's quota that may go out at once.
const BURST_SHARE: f64 = 0.05;
/// The share of the quota spent per second in the long run: with the burst,
/// at most 97% of a second's quota in any one-second span. (At 0.9 a
/// mailbox fetched 44.9 messages a second, under the 45 a backfill needs.)
const RATE_SHARE: f64 = 0.92;

struct Bucket {
    /// Negative after a call dearer than the burst: later calls wait for the debt.
    available: f64,
    refilled_at: Instant,
}

impl Limiter {
    fn new(concurrency: usize, units_per_second: u32) -> Self {
        Self {
            concurrency: Semaphore::new(concurrency.max(1)),
            bucket: tokio::sync::Mutex::new(Bucket {
                available: f64::from(units_per_second) * BURST_SHARE,
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Waits until `units` may go out and spends them. Waiters hold the
    /// bucket's lock while they sleep, so they are served in arrival order.
    async fn take(&self, units: u32, per_second: u32) {
        if per_second == 0 {
            return;
        }
        let rate = f64::from(per_second) * RATE_SHARE;
        let burst = f64::from(per_second) * BURST_SHARE;
        let units = f64::from(units);
        // A call dearer than the burst waits for a full bucket and leaves a
        // debt, so it is still paid for in full.
        let needed = units.min(burst);
        let mut bucket = self.bucket.lock().await;
        bucket.refill(rate, burst);
        if bucket.available < needed {
            let wait = Duration::from_secs_f64((needed - bucket.available) / rate);
            tokio::time::sleep(wait).await;
            bucket.refill(rate, burst);
        }
        bucket.available -= units;
    }
}

impl Bucket {
    fn refill(&mut self, rate: f64, burst: f64) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
        self.available = (self.available + elapsed * rate).min(burst);
        self.refilled_at = now;
    }
}

/// Exponential backoff from `initial`, doubling per attempt, capped at `max`,
/// with "equal jitter" (half fixed, half random) so retries spread out.
pub(crate) fn jittered(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let exp = initial
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(max);
    let half = exp / 2;
    half + half.mul_f64(rand::rng().random_range(0.0..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: u16, body: &str, expected: &str) {
        check_op(Op::MessagesGet, status, body, expected);
    }

    fn check_op(op: Op, status: u16, body: &str, expected: &str) {
        let got = match classify(op, status, body.as_bytes(), None) {
            Outcome::Done(_) => "ok",
            Outcome::Unauthorized => "refresh",
            Outcome::Retry {
                error: GmailError::RateLimited { .. },
                ..
            } => "retry_rate_limited",
            Outcome::Retry {
                error: GmailError::Unavailable(_),
                ..
            } => "retry_unavailable",
            Outcome::Retry { .. } => "retry_other",
            Outcome::Fail(GmailError::NotFound) => "not_found",
            Outcome::Fail(GmailError::RateLimited { .. }) => "rate_limited",
            Outcome::Fail(GmailError::Invalid(_)) => "invalid",
            Outcome::Fail(GmailError::Unavailable(_)) => "unavailable",
            Outcome::Fail(_) => "other",
        };
        assert_eq!(got, expected, "{status} {body}");
    }

    fn google(code: u16, reason: &str) -> String {
        format!(
            r#"{{"error":{{"code":{code},"message":"m","errors":[{{"domain":"usageLimits","reason":"{reason}","message":"m"}}]}}}}"#
        )
    }

    #[test]
    fn gmail_answers_map_to_retries_and_typed_errors() {
        check(200, "{}", "ok");
        check(401, &google(401, "authError"), "refresh");
        check(
            404,
            r#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}"#,
            "not_found",
        );
        check(429, "", "retry_rate_limited");
        check(
            429,
            r#"{"errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Too many concurrent requests for user"}],"code":429}"#,
            "retry_rate_limited",
        );
        check(
            403,
            &google(403, "userRateLimitExceeded"),
            "retry_rate_limited",
        );
        check(403, &google(403, "rateLimitExceeded"), "retry_rate_limited");
        check(403, &google(403, "dailyLimitExceeded"), "rate_limited");
        check(403, &google(403, "domainPolicy"), "invalid");
        check(400, &google(400, "badRequest"), "invalid");
        check(500, &google(500, "backendError"), "retry_unavailable");
        check(503, "<html>down</html>", "retry_unavailable");
    }

    #[test]
    fn a_write_answered_with_a_server_error_is_not_repeated() {
        // Gmail may have sent the mail or made the draft before failing.
        for op in [Op::MessagesSend, Op::DraftsCreate] {
            check_op(op, 500, &google(500, "backendError"), "unavailable");
            check_op(op, 503, "<html>down</html>", "unavailable");
            check_op(op, 429, "", "retry_rate_limited");
        }
    }

    #[test]
    fn an_error_description_names_the_status_reason_and_message() {
        let e = GoogleError::parse(google(403, "domainPolicy").as_bytes());
        assert_eq!(e.describe(403), "HTTP 403 (domainPolicy): m");
    }

    #[test]
    fn a_bearer_token_echoed_in_an_error_body_never_reaches_the_error_text() {
        let body = r#"{"error":{"code":400,"message":"bad credentials: Bearer ya29.abc-123","status":"INVALID_ARGUMENT"}}"#;
        let Outcome::Fail(GmailError::Invalid(text)) = classify(
            Op::MessagesSend,
            400,
            &redact(body.as_bytes(), "ya29.abc-123"),
            None,
        ) else {
            panic!("a 400 is a permanent failure");
        };
        assert!(!text.contains("ya29.abc-123"), "{text}");
        assert!(text.contains("Bearer [redacted]"), "{text}");
    }

    #[test]
    fn urls_escape_the_mailbox_and_tolerate_a_trailing_slash() {
        let tokens: Arc<dyn TokenProvider> = Arc::new(NoTokens);
        let client = GmailClient::new(
            tokens,
            GmailConfig {
                api_base: "http://127.0.0.1:9/".into(),
                ..GmailConfig::default()
            },
        );
        let mailbox = EmailAddress::parse("a+b@fund.com").unwrap();
        let url = client.url(&mailbox, &["messages", "x/y"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/gmail/v1/users/a+b@fund.com/messages/x%2Fy"
        );
    }

    #[test]
    fn backoff_doubles_and_stays_within_its_cap() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        for (attempt, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (30, 1000),
        ] {
            let d = jittered(initial, max, attempt);
            assert!(
                d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full),
                "attempt {attempt}: {d:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_quota_bucket_never_spends_a_seconds_budget_within_a_second() {
        let limiter = Limiter::new(1, 100);
        let start = Instant::now();
        limiter.take(5, 100).await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "a small burst goes at once"
        );
        for _ in 1..20 {
            limiter.take(5, 100).await;
        }
        assert!(
            start.elapsed() > Duration::from_secs(1),
            "a second's 100 units took {:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_dearer_than_the_burst_is_paid_for_in_full() {
        let limiter = Limiter::new(1, 100);
        let start = Instant::now();
        limiter.take(100, 100).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.take(1, 100).await;
        assert!(
            start.elapsed() > Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    struct NoTokens;

    #[async_trait::async_trait]
    impl TokenProvider for NoTokens {
        async fn token(
            &self,
            _user: &EmailAddress,
            _scopes: &[Scope],
        ) -> Result<mailroom_ports::gmail::AccessToken, TokenError> {
            Err(TokenError::Unavailable("none".into()))
        }

        async fn invalidate(&self, _user: &EmailAddress, _scopes: &[Scope]) {}
    }
}
