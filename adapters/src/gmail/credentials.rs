//! Service-account credentials: the JSON key file and per-user access tokens
//! minted by the OAuth 2.0 JWT-bearer grant with domain-wide delegation (R-CAP-1).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mailroom_ports::Clock;
use mailroom_ports::EmailAddress;
use mailroom_ports::gmail::{AccessToken, Scope, TokenError, TokenProvider};
use serde::{Deserialize, Serialize};
use tracing::{debug, instrument, warn};

use super::client::jittered;

/// A Google service-account key file, as downloaded from the Cloud console.
///
/// Only `client_email`, `private_key` and `token_uri` are required. `Debug`
/// never shows the private key.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    #[serde(rename = "type", default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub private_key_id: Option<String>,
    private_key: String,
    pub client_email: String,
    #[serde(default)]
    pub client_id: Option<String>,
    pub token_uri: String,
}

impl ServiceAccountKey {
    /// Reads and checks a key file.
    ///
    /// # Errors
    /// [`TokenError::BadKey`] when the file cannot be read or is not a usable key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, TokenError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            TokenError::BadKey(format!("cannot read the key file {}: {e}", path.display()))
        })?;
        Self::from_json(&text)
    }

    /// Parses and checks a key file's contents.
    ///
    /// # Errors
    /// [`TokenError::BadKey`] when the JSON lacks a required field or the
    /// private key is not an RSA PEM key.
    pub fn from_json(json: &str) -> Result<Self, TokenError> {
        // serde_json's message can quote the offending value, which could be
        // part of the key, so only its position and category are kept.
        let key: Self = serde_json::from_str(json).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "a field is missing or has the wrong type",
                _ => "it is not valid JSON",
            };
            TokenError::BadKey(format!(
                "not a service-account key file: {what} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if let Some(kind) = &key.key_type
            && kind != "service_account"
        {
            return Err(TokenError::BadKey(format!(
                "the key file's type is `{kind}`, not `service_account`"
            )));
        }
        if key.client_email.trim().is_empty() || key.token_uri.trim().is_empty() {
            return Err(TokenError::BadKey(
                "client_email and token_uri must not be empty".into(),
            ));
        }
        key.encoding_key()?;
        Ok(key)
    }

    /// A copy pointing at another token endpoint (tests, private deployments).
    pub fn with_token_uri(mut self, token_uri: impl Into<String>) -> Self {
        self.token_uri = token_uri.into();
        self
    }

    fn encoding_key(&self) -> Result<EncodingKey, TokenError> {
        EncodingKey::from_rsa_pem(self.private_key.as_bytes()).map_err(|_| {
            TokenError::BadKey("private_key is not an RSA private key in PEM form".into())
        })
    }
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("key_type", &self.key_type)
            .field("project_id", &self.project_id)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"<redacted>")
            .field("client_email", &self.client_email)
            .field("client_id", &self.client_id)
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

/// How the token endpoint is retried on 429/5xx and network failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRetry {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
}

impl Default for TokenRetry {
    /// google-auth's policy: 3 attempts from 1 s, doubling.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Mints and caches per-user tokens for one service-account key.
pub struct DwdTokenProvider {
    key: ServiceAccountKey,
    signer: Result<EncodingKey, String>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    retry: TokenRetry,
    slots: Mutex<HashMap<CacheKey, Arc<tokio::sync::Mutex<Option<AccessToken>>>>>,
}

/// A cached token is replaced this long before Google would expire it, so a
/// request started with it does not die in flight.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);
/// Google refuses assertions living longer than an hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

type CacheKey = (String, Vec<Scope>);

impl DwdTokenProvider {
    pub fn new(key: ServiceAccountKey, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        let signer = key.encoding_key().map_err(|e| e.to_string());
        Self {
            key,
            signer,
            http,
            clock,
            retry: TokenRetry::default(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_retry(mut self, retry: TokenRetry) -> Self {
        self.retry = retry;
        self
    }

    fn slot(&self, key: &CacheKey) -> Arc<tokio::sync::Mutex<Option<AccessToken>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }

    fn assertion(&self, user: &EmailAddress, scopes: &[Scope]) -> Result<String, TokenError> {
        let signer = self
            .signer
            .as_ref()
            .map_err(|e| TokenError::BadKey(e.clone()))?;
        let iat = self.clock.now().as_second();
        let claims = Claims {
            iss: &self.key.client_email,
            sub: user.as_str(),
            scope: scope_string(scopes),
            aud: &self.key.token_uri,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.kid = self.key.private_key_id.clone();
        jsonwebtoken::encode(&header, &claims, signer)
            .map_err(|_| TokenError::BadKey("could not sign the assertion with private_key".into()))
    }

    async fn mint(&self, user: &EmailAddress, scopes: &[Scope]) -> Result<AccessToken, TokenError> {
        let assertion = self.assertion(user, scopes)?;
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.request_once(user, scopes, &assertion).await;
            let reason = match outcome {
                Attempt::Done(result) => return result,
                Attempt::Retry(reason) => reason,
            };
            if attempt >= attempts {
                return Err(TokenError::Unavailable(format!(
                    "{reason} (after {attempt} attempts)"
                )));
            }
            let delay = jittered(self.retry.initial_backoff, self.retry.max_backoff, attempt);
            warn!(%reason, attempt, delay_ms = delay.as_millis() as u64, "retrying the token endpoint");
            tokio::time::sleep(delay).await;
        }
    }

    async fn request_once(
        &self,
        user: &EmailAddress,
        scopes: &[Scope],
        assertion: &str,
    ) -> Attempt {
        let sent = self
            .http
            .post(&self.key.token_uri)
            .timeout(self.retry.timeout)
            .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(format!("no answer within {:?}", self.retry.timeout));
            }
            Err(e) => {
                return Attempt::Retry(format!(
                    "could not reach the token endpoint: {}",
                    e.without_url()
                ));
            }
        };
        let status = response.status().as_u16();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry(format!(
                    "the token endpoint's answer broke off: {}",
                    e.without_url()
                ));
            }
        };
        if (200..300).contains(&status) {
            return Attempt::Done(self.parse_token(&body));
        }
        let error: OAuthError = serde_json::from_slice(&body).unwrap_or_default();
        classify_token_error(status, &error, user, scopes, &self.key, assertion)
    }

    fn parse_token(&self, body: &[u8]) -> Result<AccessToken, TokenError> {
        // The body holds the token, so a parse failure must not quote it.
        let parsed: TokenResponse = serde_json::from_slice(body).map_err(|_| {
            TokenError::Unexpected(anyhow::anyhow!(
                "the token endpoint answered 2xx with an unexpected body"
            ))
        })?;
        if let Some(kind) = &parsed.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(TokenError::Unexpected(anyhow::anyhow!(
                "the token endpoint issued a `{kind}` token, not a bearer token"
            )));
        }
        let lifetime = parsed.expires_in.as_ref().and_then(seconds).unwrap_or(3600);
        let expires_at = self
            .clock
            .now()
            .saturating_add(SignedDuration::from_secs(lifetime))
            .map_err(|e| {
                TokenError::Unexpected(anyhow::anyhow!("token expiry out of range: {e}"))
            })?;
        Ok(AccessToken::new(parsed.access_token, expires_at))
    }
}

#[async_trait]
impl TokenProvider for DwdTokenProvider {
    #[instrument(skip_all, fields(user = %user))]
    async fn token(
        &self,
        user: &EmailAddress,
        scopes: &[Scope],
    ) -> Result<AccessToken, TokenError> {
        let key = cache_key(user, scopes);
        let slot = self.slot(&key);
        // Holding the slot's lock while minting makes concurrent callers for
        // the same (user, scopes) wait for this mint instead of starting their own.
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref()
            && is_fresh(token, self.clock.now())
        {
            return Ok(token.clone());
        }
        let token = self.mint(user, &key.1).await?;
        debug!(expires_at = %token.expires_at, "minted an access token");
        *cached = Some(token.clone());
        Ok(token)
    }

    async fn invalidate(&self, user: &EmailAddress, scopes: &[Scope]) {
        let slot = self.slot(&cache_key(user, scopes));
        *slot.lock().await = None;
    }
}

impl fmt::Debug for DwdTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DwdTokenProvider")
            .field("client_email", &self.key.client_email)
            .field("token_uri", &self.key.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: String,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// Deliberately not `Debug`: it holds the access token.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    /// A number, or a string in some proxies' answers.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

enum Attempt {
    Done(Result<AccessToken, TokenError>),
    Retry(String),
}

fn cache_key(user: &EmailAddress, scopes: &[Scope]) -> CacheKey {
    let mut sorted = scopes.to_vec();
    sorted.sort();
    sorted.dedup();
    (user.as_str().to_string(), sorted)
}

fn scope_string(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.url()).collect::<Vec<_>>().join(" ")
}

fn is_fresh(token: &AccessToken, now: Timestamp) -> bool {
    match token.expires_at.checked_sub(REFRESH_MARGIN) {
        Ok(refresh_at) => now < refresh_at,
        Err(_) => false,
    }
}

fn seconds(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Turns a refusal from the token endpoint into what an admin must fix.
fn classify_token_error(
    status: u16,
    error: &OAuthError,
    user: &EmailAddress,
    scopes: &[Scope],
    key: &ServiceAccountKey,
    assertion: &str,
) -> Attempt {
    let code = error.error.as_deref().unwrap_or("");
    // Google does not echo the assertion, but a proxy might: never let it through.
    let description = error
        .error_description
        .as_deref()
        .filter(|d| !d.contains(assertion))
        .map(|d| d.chars().take(300).collect::<String>())
        .unwrap_or_default();
    let client = key.client_id.as_deref().unwrap_or(&key.client_email);
    let scope_list = scope_string(scopes);
    if status == 429
        || status >= 500
        || matches!(
            code,
            "internal_failure" | "server_error" | "temporarily_unavailable"
        )
    {
        return Attempt::Retry(format!("the token endpoint answered {status} {code}"));
    }
    let err = match code {
        "invalid_grant"
            if description.contains("Not a valid email")
                || description.contains("Invalid email or User ID") =>
        {
            TokenError::UnknownUser(user.to_string())
        }
        "invalid_grant" if description.contains("Signature") => TokenError::BadKey(format!(
            "Google rejected the assertion's signature ({description}): the key {} was deleted or is not this service account's",
            key.private_key_id
                .as_deref()
                .unwrap_or("(no private_key_id)")
        )),
        "invalid_grant" if description.contains("iat") || description.contains("short-lived") => {
            TokenError::BadKey(format!(
                "Google rejected the assertion's times ({description}): check this server's clock"
            ))
        }
        "invalid_grant" => TokenError::NotAuthorized(format!(
            "the token endpoint refused the grant for {user} ({description}); check that service account {} still exists and is enabled",
            key.client_email
        )),
        "unauthorized_client" => TokenError::NotAuthorized(format!(
            "service account client ID {client} may not impersonate {user} with scopes [{scope_list}] ({description}); \
             in the Admin console (Security > API controls > Domain-wide delegation) add the numeric client ID with exactly these scopes"
        )),
        "access_denied" => TokenError::NotAuthorized(format!(
            "a requested scope [{scope_list}] is not in the domain-wide delegation list for client ID {client} ({description}); add it in the Admin console"
        )),
        "invalid_scope" => TokenError::NotAuthorized(format!(
            "Google does not accept the scopes [{scope_list}] ({description})"
        )),
        "invalid_client" => TokenError::BadKey(format!(
            "Google does not know service account {} ({description})",
            key.client_email
        )),
        other => TokenError::NotAuthorized(format!(
            "the token endpoint answered {status} `{other}` ({description})"
        )),
    };
    Attempt::Done(Err(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ServiceAccountKey {
        ServiceAccountKey {
            key_type: Some("service_account".into()),
            project_id: None,
            private_key_id: Some("kid-1".into()),
            private_key: "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n".into(),
            client_email: "sa@p.iam.gserviceaccount.com".into(),
            client_id: Some("1234".into()),
            token_uri: "https://oauth2.googleapis.com/token".into(),
        }
    }

    fn check(status: u16, code: &str, description: &str, expected: &str) {
        let user = EmailAddress::parse("ann@fund.com").unwrap();
        let error = OAuthError {
            error: Some(code.into()),
            error_description: Some(description.into()),
        };
        let got = match classify_token_error(
            status,
            &error,
            &user,
            &[Scope::GmailReadonly],
            &key(),
            "ASSERTION",
        ) {
            Attempt::Retry(_) => "retry",
            Attempt::Done(Err(TokenError::UnknownUser(_))) => "unknown_user",
            Attempt::Done(Err(TokenError::NotAuthorized(_))) => "not_authorized",
            Attempt::Done(Err(TokenError::BadKey(_))) => "bad_key",
            Attempt::Done(_) => "other",
        };
        assert_eq!(got, expected, "{status} {code} {description}");
    }

    #[test]
    fn token_endpoint_refusals_map_to_what_an_admin_must_fix() {
        check(400, "invalid_grant", "Not a valid email.", "unknown_user");
        check(
            400,
            "invalid_grant",
            "Invalid email or User ID",
            "unknown_user",
        );
        check(400, "invalid_grant", "Invalid JWT Signature.", "bad_key");
        check(
            400,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values",
            "bad_key",
        );
        check(400, "invalid_grant", "account disabled", "not_authorized");
        check(
            401,
            "unauthorized_client",
            "Unauthorized client or scope in request.",
            "not_authorized",
        );
        check(
            400,
            "access_denied",
            "Requested client not authorized.",
            "not_authorized",
        );
        check(
            400,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
            "not_authorized",
        );
        check(500, "", "", "retry");
        check(503, "temporarily_unavailable", "", "retry");
        check(429, "", "", "retry");
        check(400, "internal_failure", "", "retry");
    }

    #[test]
    fn a_refusal_that_echoes_the_assertion_does_not_repeat_it() {
        let user = EmailAddress::parse("ann@fund.com").unwrap();
        let error = OAuthError {
            error: Some("invalid_grant".into()),
            error_description: Some("bad ASSERTION here".into()),
        };
        let Attempt::Done(Err(e)) = classify_token_error(
            400,
            &error,
            &user,
            &[Scope::GmailReadonly],
            &key(),
            "ASSERTION",
        ) else {
            panic!("expected a final error");
        };
        assert!(!e.to_string().contains("ASSERTION"), "{e}");
    }

    #[test]
    fn debug_output_of_a_key_hides_the_private_key() {
        let shown = format!("{:?}", key());
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("sa@p.iam.gserviceaccount.com"));
    }

    #[test]
    fn a_key_file_that_is_not_json_is_a_bad_key_without_its_contents() {
        let err = ServiceAccountKey::from_json("{\"private_key\": \"TOPSECRET\", ").unwrap_err();
        assert!(matches!(err, TokenError::BadKey(_)));
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
        let err = ServiceAccountKey::from_json(
            r#"{"private_key":"x","client_email":"a@b.com","token_uri":"https://t"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, TokenError::BadKey(_)), "{err}");
    }

    #[test]
    fn scopes_are_cached_as_a_sorted_set() {
        let user = EmailAddress::parse("ann@fund.com").unwrap();
        assert_eq!(
            cache_key(
                &user,
                &[
                    Scope::GmailCompose,
                    Scope::GmailReadonly,
                    Scope::GmailCompose
                ]
            ),
            cache_key(&user, &[Scope::GmailReadonly, Scope::GmailCompose])
        );
    }

    #[test]
    fn a_token_is_refreshed_five_minutes_before_it_expires() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let token = |secs: i64| {
            AccessToken::new(
                "t".into(),
                now.saturating_add(SignedDuration::from_secs(secs)).unwrap(),
            )
        };
        assert!(is_fresh(&token(301), now));
        assert!(!is_fresh(&token(300), now));
        assert!(!is_fresh(&token(-10), now));
    }
}
