//! Every API error in one place: a status per outcome and the opaque JSON body
//! `{"error": ErrorCode, "message": "<human text>"}`. Causes are logged here;
//! upstream text (Google, SMTP, the LLM) and the caller's input never reach
//! the client (R-HARD-4).
//!
//! # The pattern
//!
//! Handlers build an [`ApiError`] (directly, or with `?` from a domain or
//! store error through the `From` impls at the bottom of each module) and
//! return it wrapped in [`Errors<S>`], where `S` is the set of HTTP statuses
//! the operation can answer, written with the constants of [`on`]:
//!
//! ```ignore
//! use crate::http::error::{ApiResult, on};
//!
//! #[oai(path = "/api/things/:id", method = "get", operation_id = "getThing")]
//! async fn get_thing(&self, auth: BearerAuth, id: Path<i64>)
//!     -> ApiResult<Json<Thing>, { on::ADMIN | on::PATH_ID }>
//! {
//!     auth.admin()?;              // ApiError -> Errors<S> through `?`
//!     let thing = store.thing(id.0).await?; // StoreError -> ApiError -> Errors<S>
//!     Ok(Json(thing.into()))
//! }
//! ```
//!
//! * The OpenAPI document lists, for that operation, exactly the statuses in
//!   `S`, each with the [`ErrorBody`] schema.
//! * At run time an error whose status is not in `S` is a bug: it is logged
//!   and answered as 500 `internal`, so the server never sends a status its
//!   document does not list.
//! * Statuses poem answers before the handler runs (a bad parameter or body:
//!   400, a wrong `Content-Type`: 415, no or a bad token: 401, an inactive
//!   user: 403) come through [`json_error`]; declare them with the composites
//!   [`on::AUTHED`], [`on::ADMIN`], [`on::JSON_BODY`], [`on::QUERY`],
//!   [`on::PATH_ID`]. `tests/tests/suite/api_openapi.rs` checks an operation with a
//!   body, a token or a path id declares them.
//! * 405 is not listed per operation: OpenAPI responses belong to an
//!   operation, and a 405 answers a method for which the path has none.
//! * 500 `internal` is for our bugs; 503 is only for a dependency or feature
//!   that is down or not configured (the database, Gmail not configured).

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Enum, Object, payload::Json};

/// A stable, machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A parameter or body that does not parse or breaks the schema.
    BadRequest,
    /// No valid bearer token.
    Unauthorized,
    /// The user is inactive or may not do this.
    Forbidden,
    /// No such route, or no such record.
    NotFound,
    /// The path exists, but not with this method.
    MethodNotAllowed,
    /// The request conflicts with the current state.
    Conflict,
    /// A sync of this mailbox is already running.
    SyncRunning,
    /// The request body did not arrive in time.
    RequestTimeout,
    /// The service is stopping.
    ShuttingDown,
    /// Well-formed but refused.
    Unprocessable,
    /// A value is out of range or malformed (e.g. a bad email address).
    Invalid,
    /// A test-email recipient is not an active admin.
    NotAnAdmin,
    /// There is no active admin to send the digest to.
    NoAdmins,
    /// No live copy of the email is in a captured mailbox.
    NoMailbox,
    /// Every address on the email is one of ours.
    NoRecipients,
    /// The request body is too large.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The email could not be sent; details in the server log.
    SendFailed,
    /// Gmail refused or failed; details in the server log.
    GmailFailed,
    /// An upstream service failed.
    BadGateway,
    /// The feature needs configuration the service does not have.
    NotConfigured,
    /// The database does not answer.
    DatabaseUnavailable,
    /// A dependency is down.
    Unavailable,
    /// Our bug; details in the server log.
    Internal,
}

/// The body of every error response.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ErrorBody {
    /// A stable machine-readable code.
    pub error: ErrorCode,
    /// A human-readable explanation, safe to show; never echoes the input.
    pub message: String,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            error: ErrorCode::NotFound,
            message: "proposal not found".into(),
        }
    }
}

/// Every error the API answers. Build one with the constructors; a handler
/// returns it as [`Errors<S>`] (see the module docs).
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed: a parameter or body that does not parse or
    /// breaks the schema.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No bearer token, or one that is expired, invalid or names no user.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The user is inactive or not allowed to do this.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The record named in the path does not exist (or is not visible).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request body did not arrive in time.
    #[oai(status = 408)]
    RequestTimeout(Json<ErrorBody>),
    /// The request conflicts with the current state: a sync is running, or a
    /// refusal that depends on stored data (a recipient who is not an active
    /// admin, a contact naming an unknown investor).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The request body is too large.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body's `Content-Type` is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Well-formed but refused on its own terms (e.g. a value out of range,
    /// text holding a NUL).
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// An unexpected failure on our side; the details are in the server log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// An upstream service (Gmail, SMTP) failed; details are in the log only.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// A dependency is down (the database), the service is stopping, or a
    /// feature is not configured. `Retry-After` (seconds) is sent when trying
    /// again later can help.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before trying again; absent when waiting will not
        /// help (a feature that is not configured).
        #[oai(header = "Retry-After")]
        Option<u64>,
    ),
}

fn body(error: ErrorCode, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        error,
        message: message.into(),
    })
}

/// Seconds a client should wait before retrying after a 503 that can pass.
pub const RETRY_AFTER_S: u64 = 5;

const INTERNAL_MESSAGE: &str = "the request could not be completed; see the server log";

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(body(ErrorCode::BadRequest, message))
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(body(ErrorCode::Unauthorized, message))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(body(ErrorCode::Forbidden, message))
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(body(ErrorCode::NotFound, message))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(body(ErrorCode::Conflict, message))
    }
    /// A 409 with a more specific code (e.g. [`ErrorCode::SyncRunning`]).
    pub fn conflict_with(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict(body(code, message))
    }
    pub fn unprocessable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Unprocessable(body(code, message))
    }
    pub fn bad_gateway(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::BadGateway(body(code, message))
    }
    /// 503 for a feature that is not configured: retrying will not help, so
    /// no `Retry-After`.
    pub fn unavailable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Unavailable(body(code, message), None)
    }
    /// 503 for a dependency that is down or a service that is stopping, with
    /// `Retry-After`.
    pub fn unavailable_retry(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Unavailable(body(code, message), Some(RETRY_AFTER_S))
    }
    /// 408: the body did not arrive in time.
    pub fn request_timeout(message: impl Into<String>) -> Self {
        Self::RequestTimeout(body(ErrorCode::RequestTimeout, message))
    }

    /// Logs `cause` (with its chain) and returns an opaque 500 `internal`.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %DisplayChain(cause), "request failed");
        Self::internal_msg()
    }

    /// An opaque 500 `internal` whose cause the caller has logged.
    pub fn internal_msg() -> Self {
        Self::Internal(body(ErrorCode::Internal, INTERNAL_MESSAGE))
    }

    /// The HTTP status this error answers.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::RequestTimeout(_) => 408,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Unprocessable(_) => 422,
            Self::Internal(_) => 500,
            Self::BadGateway(_) => 502,
            Self::Unavailable(..) => 503,
        }
    }
}

/// A fixed text for a request poem could not parse. poem's own texts quote
/// the offending value, which must never come back to the client; the
/// parameter's name comes from our schema, so it may.
pub fn parse_error_text(err: &poem::Error) -> String {
    use poem_openapi::error::{
        ContentTypeError, ParseMultipartError, ParseParamError, ParsePathError,
        ParseRequestPayloadError,
    };
    tracing::debug!(error = %err, "request refused by the parser");
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        format!("the query parameter `{}` is missing or not valid", e.name)
    } else if let Some(e) = err.downcast_ref::<ParsePathError>() {
        format!("the path parameter `{}` is not valid", e.name)
    } else if err.is::<ParseRequestPayloadError>() || err.is::<ParseMultipartError>() {
        "the request body is not JSON of the shape this operation expects".into()
    } else if err.is::<ContentTypeError>() {
        "the request body must be sent as application/json".into()
    } else {
        err.status()
            .canonical_reason()
            .unwrap_or("the request could not be parsed")
            .to_lowercase()
    }
}

/// Sets of HTTP statuses an operation can answer, as bits for [`Errors<S>`].
pub mod on {
    pub const BAD_REQUEST: u32 = 1 << 0;
    pub const UNAUTHORIZED: u32 = 1 << 1;
    pub const FORBIDDEN: u32 = 1 << 2;
    pub const NOT_FOUND: u32 = 1 << 3;
    pub const CONFLICT: u32 = 1 << 4;
    pub const PAYLOAD_TOO_LARGE: u32 = 1 << 5;
    pub const UNSUPPORTED_MEDIA_TYPE: u32 = 1 << 6;
    pub const UNPROCESSABLE: u32 = 1 << 7;
    pub const INTERNAL: u32 = 1 << 8;
    pub const BAD_GATEWAY: u32 = 1 << 9;
    pub const UNAVAILABLE: u32 = 1 << 10;
    pub const REQUEST_TIMEOUT: u32 = 1 << 11;

    /// Any operation that reads the database: our bug (500) or the database
    /// down (503).
    pub const DB: u32 = INTERNAL | UNAVAILABLE;
    /// A bearer-authenticated operation: 401 (no or a bad token), 403 (an
    /// inactive user), and the database lookup of the user.
    pub const AUTHED: u32 = UNAUTHORIZED | FORBIDDEN | DB;
    /// An admin-only operation (a member gets 403).
    pub const ADMIN: u32 = AUTHED;
    /// A JSON request body: 400 when it does not parse or breaks the schema,
    /// 415 when it is not `application/json`, 413 when it is too large, 408
    /// when it arrives too slowly, 422 when it holds text no database can
    /// store (a NUL) or a value the operation refuses.
    pub const JSON_BODY: u32 =
        BAD_REQUEST | UNSUPPORTED_MEDIA_TYPE | PAYLOAD_TOO_LARGE | REQUEST_TIMEOUT | UNPROCESSABLE;
    /// Query parameters: 400 when one fails to parse or breaks its bounds,
    /// 422 when a value is too long or holds a NUL (refused at the edge).
    pub const QUERY: u32 = BAD_REQUEST | UNPROCESSABLE;
    /// An `{id}` in the path: 400 when it is not an integer, 404 when no
    /// such record.
    pub const PATH_ID: u32 = BAD_REQUEST | NOT_FOUND;

    /// The bit for one status, if it is one of ours.
    pub const fn bit(status: u16) -> u32 {
        match status {
            400 => BAD_REQUEST,
            401 => UNAUTHORIZED,
            403 => FORBIDDEN,
            404 => NOT_FOUND,
            408 => REQUEST_TIMEOUT,
            409 => CONFLICT,
            413 => PAYLOAD_TOO_LARGE,
            415 => UNSUPPORTED_MEDIA_TYPE,
            422 => UNPROCESSABLE,
            500 => INTERNAL,
            502 => BAD_GATEWAY,
            503 => UNAVAILABLE,
            _ => 0,
        }
    }
}

/// An [`ApiError`] from an operation that declares the statuses `S` (bits of
/// [`on`]); see the module docs.
#[derive(Debug)]
pub struct Errors<const S: u32>(pub ApiError);

/// What a handler returns: its success type, or an error among the statuses `S`.
pub type ApiResult<T, const S: u32> = Result<T, Errors<S>>;

impl<const S: u32, E: Into<ApiError>> From<E> for Errors<S> {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl<const S: u32> Errors<S> {
    /// The error to send: the one built, or 500 when its status is not
    /// declared (a bug, logged).
    fn checked(self) -> ApiError {
        let status = self.0.status();
        if on::bit(status) & S == 0 {
            tracing::error!(
                status,
                "an operation answered a status its document does not list; sending 500"
            );
            ApiError::internal_msg()
        } else {
            self.0
        }
    }
}

impl<const S: u32> IntoResponse for Errors<S> {
    fn into_response(self) -> Response {
        self.checked().into_response()
    }
}

impl<const S: u32> From<Errors<S>> for poem::Error {
    fn from(e: Errors<S>) -> Self {
        poem::Error::from_response(e.into_response())
    }
}

impl<const S: u32> ApiResponse for Errors<S> {
    fn meta() -> MetaResponses {
        let mut meta = ApiError::meta();
        meta.responses
            .retain(|r| r.status.is_some_and(|s| on::bit(s) & S != 0));
        meta
    }

    fn register(registry: &mut Registry) {
        ApiError::register(registry);
    }
}

/// Turns any error poem raised before a handler ran (no route, no auth
/// header, a parameter or payload that does not parse) into the JSON error
/// shape, with a fixed message that never echoes the input.
pub async fn json_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        // Already one of ours, body and all.
        return err.into_response();
    }
    let status = err.status();
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (ErrorCode::BadRequest, parse_error_text(&err)),
        StatusCode::UNAUTHORIZED => (
            ErrorCode::Unauthorized,
            "a valid bearer token is required (Authorization: Bearer <JWT>)".to_string(),
        ),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "this is not allowed".to_string()),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such resource".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this path does not take this method".to_string(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            ErrorCode::Unprocessable,
            "the request was refused".to_string(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "the body must be sent as Content-Type: application/json".to_string(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "the request body is too large".to_string(),
        ),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "request failed");
            (ErrorCode::Internal, INTERNAL_MESSAGE.to_string())
        }
        _ => (
            ErrorCode::BadRequest,
            "the request is not valid".to_string(),
        ),
    };
    let mut resp = Json(ErrorBody {
        error: code,
        message,
    })
    .into_response();
    resp.set_status(status);
    resp
}

/// Formats an error with its sources, for logs.
pub struct DisplayChain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl From<mailroom_ports::StoreError> for ApiError {
    fn from(e: mailroom_ports::StoreError) -> Self {
        use mailroom_ports::StoreError as E;
        match e {
            // The store names the record and its key ("mailbox 7"); the
            // answer names only the kind, so no input is echoed.
            E::NotFound(what) => ApiError::not_found(format!(
                "{} not found",
                what.split_whitespace().next().unwrap_or("record")
            )),
            E::Conflict(m) => ApiError::conflict(m),
            E::Invalid(m) => ApiError::unprocessable(ErrorCode::Invalid, m),
            E::Unavailable(_) => {
                tracing::error!(error = %DisplayChain(&e), "database unavailable");
                ApiError::unavailable_retry(
                    ErrorCode::DatabaseUnavailable,
                    "the database is unavailable; try again shortly",
                )
            }
            E::Unexpected(_) => ApiError::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_status_is_sent_as_built() {
        let e: Errors<{ on::NOT_FOUND | on::CONFLICT }> = ApiError::conflict("decided").into();
        assert_eq!(e.into_response().status(), StatusCode::CONFLICT);
    }

    #[test]
    fn an_undeclared_status_is_a_bug_answered_as_500() {
        let e: Errors<{ on::NOT_FOUND }> = ApiError::conflict("decided").into();
        assert_eq!(
            e.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn an_unexpected_store_error_is_500_and_a_database_down_is_503() {
        let e = ApiError::from(mailroom_ports::StoreError::Unexpected(anyhow::anyhow!(
            "boom"
        )));
        assert_eq!(e.status(), 500);
        let e = ApiError::from(mailroom_ports::StoreError::Unavailable("down".into()));
        assert_eq!(e.status(), 503);
    }

    #[test]
    fn the_document_lists_exactly_the_declared_statuses() {
        let statuses: Vec<u16> = <Errors<{ on::ADMIN | on::PATH_ID }> as ApiResponse>::meta()
            .responses
            .iter()
            .filter_map(|r| r.status)
            .collect();
        assert_eq!(statuses, vec![400, 401, 403, 404, 500, 503]);
    }
}
