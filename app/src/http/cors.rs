//! CORS for the origins of `MAILROOM_CORS_ORIGINS`, exact matches only.
//!
//! A request from a listed origin gets that origin back in
//! `Access-Control-Allow-Origin`, and a preflight from one is answered here
//! (204). Any other request is served as if CORS did not exist: no CORS
//! header, never a refusal, so the console mailroom serves itself (whose
//! browser sends `Origin` on writes) works whatever the list holds, and a
//! browser on an unlisted origin is stopped by the browser, not by us. No
//! credentials: the API takes a bearer token, never a cookie.

use std::sync::Arc;

use poem::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

const METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const HEADERS: &str = "authorization, content-type";
/// What a cross-origin script may read besides the simple headers.
const EXPOSED: &str = "retry-after, x-request-id, allow";
/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// The around-middleware: see the module documentation.
pub async fn cors<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    origins: Arc<[String]>,
) -> poem::Result<Response> {
    if origins.is_empty() {
        return ep.call(req).await.map(IntoResponse::into_response);
    }
    let allowed = req
        .headers()
        .get(ORIGIN)
        .filter(|o| origins.iter().any(|a| a.as_bytes() == o.as_bytes()))
        .cloned();
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut resp = match (&allowed, preflight) {
        (Some(_), true) => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(ACCESS_CONTROL_ALLOW_METHODS, METHODS)
            .header(ACCESS_CONTROL_ALLOW_HEADERS, HEADERS)
            .header(ACCESS_CONTROL_MAX_AGE, MAX_AGE)
            .finish(),
        _ => ep.call(req).await?.into_response(),
    };
    let headers = resp.headers_mut();
    // The answer depends on the origin: caches must keep them apart.
    headers.append(VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if !preflight {
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED),
            );
        }
    }
    Ok(resp)
}
