//! Every API error in one place: a status per outcome and the opaque JSON body
//! `{"error": "<code>", "message": "<human text>"}`. Causes are logged here;
//! upstream text (Google, SMTP, the LLM) never reaches the client (R-HARD-4).

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{ApiResponse, Object, payload::Json};

/// The body of every error response.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `not_found`, `send_failed`.
    pub error: String,
    /// A human-readable explanation, safe to show.
    pub message: String,
}

#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub enum ApiError {
    /// The request is malformed (bad JSON, a wrong type, a bad parameter).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No valid bearer token.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The user is inactive or not allowed to do this.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request conflicts with the current state (e.g. a decided proposal).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Well-formed but refused (e.g. a recipient who is not an active admin).
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// An upstream service (Gmail, SMTP) failed; details are in the log only.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// A feature is not configured, or the database is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn body(error: &str, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        error: error.into(),
        message: message.into(),
    })
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(body("bad_request", message))
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(body("unauthorized", message))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(body("forbidden", message))
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(body("not_found", message))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(body("conflict", message))
    }
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::Unprocessable(body(code, message))
    }
    pub fn bad_gateway(code: &str, message: impl Into<String>) -> Self {
        Self::BadGateway(body(code, message))
    }
    pub fn unavailable(code: &str, message: impl Into<String>) -> Self {
        Self::Unavailable(body(code, message))
    }

    /// Logs `cause` (with its chain) and returns an opaque 500-class answer.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %DisplayChain(cause), "request failed");
        Self::Unavailable(body(
            "internal",
            "the request could not be completed; see the server log",
        ))
    }
}

fn bad_request(err: poem::Error) -> ApiError {
    ApiError::bad_request(parse_error_text(&err))
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

/// Turns any error poem raised before a handler ran (no route, no auth
/// header, a payload that does not parse) into the JSON error shape.
pub async fn json_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        // Already one of ours, body and all.
        return err.into_response();
    }
    let status = err.status();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let message = if status == StatusCode::UNAUTHORIZED {
        "a valid bearer token is required (Authorization: Bearer <JWT>)".to_string()
    } else if status.is_server_error() {
        tracing::error!(error = %err, "request failed");
        "the request could not be completed; see the server log".to_string()
    } else {
        parse_error_text(&err)
    };
    let mut resp = Json(ErrorBody {
        error: code.into(),
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
            E::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            E::Conflict(m) => ApiError::conflict(m),
            E::Invalid(m) => ApiError::unprocessable("invalid", m),
            E::Unavailable(_) => {
                tracing::error!(error = %DisplayChain(&e), "database unavailable");
                ApiError::unavailable(
                    "database_unavailable",
                    "the database is unavailable; try again shortly",
                )
            }
            E::Unexpected(_) => ApiError::internal(&e),
        }
    }
}
