//! The web console: the built single-page app (`web/dist`) embedded in the
//! binary, served at `/`. A path the API does not know serves the console's
//! `index.html` (the app routes in the browser), except under the API's own
//! prefixes, which keep their JSON 404.

use std::borrow::Cow;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use rust_embed::Embed;

/// `web/dist`, built by `npm run build` in `web/` and committed, so building
/// the binary needs no Node.
#[derive(Embed)]
#[folder = "../web/dist/"]
struct Assets;

/// Same-origin only: the console calls the API it was served from and loads
/// nothing else. Email bodies are shown as text, never as HTML.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Paths that belong to the API and its documents: never the console.
fn is_api_path(path: &str) -> bool {
    const PREFIXES: [&str; 2] = ["/api", "/docs"];
    const EXACT: [&str; 3] = ["/openapi.json", "/healthz", "/readyz"];
    EXACT.contains(&path)
        || PREFIXES
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// What the console answers for `path`: an embedded file, `index.html` for
/// an app route, or `None` (a missing hashed asset stays a 404 rather than
/// turning into HTML that a browser would refuse as a script).
fn console_file(path: &str) -> Option<(&'static str, rust_embed::EmbeddedFile)> {
    let rel = path.trim_start_matches('/');
    if !rel.is_empty() {
        if let Some(file) = Assets::get(rel) {
            let cache = if rel.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            return Some((cache, file));
        }
        if rel.starts_with("assets/") {
            return None;
        }
    }
    Assets::get("index.html").map(|f| ("no-cache", f))
}

fn file_response(
    if_none_match: Option<&str>,
    cache: &'static str,
    file: rust_embed::EmbeddedFile,
) -> Response {
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mime = file.metadata.mimetype().to_string();
    let fresh = if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .finish()
    } else {
        let body: Vec<u8> = match file.data {
            Cow::Borrowed(b) => b.to_vec(),
            Cow::Owned(v) => v,
        };
        Response::builder()
            .header(header::CONTENT_TYPE, mime)
            .body(body)
    };
    let headers = resp.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

/// Wraps the API's routes: whatever they answer stands, except a 404 on a
/// GET or HEAD outside the API's prefixes, which the console answers.
pub struct WithConsole<E>(pub E);

impl<E: Endpoint> Endpoint for WithConsole<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_string();
        let console_method = matches!(*req.method(), Method::GET | Method::HEAD);
        let if_none_match = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match self.0.call(req).await {
            Ok(r) => Ok(r.into_response()),
            Err(e)
                if e.status() == StatusCode::NOT_FOUND && console_method && !is_api_path(&path) =>
            {
                match console_file(&path) {
                    Some((cache, file)) => Ok(file_response(if_none_match.as_deref(), cache, file)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_prefixes_are_never_the_console() {
        for p in [
            "/api",
            "/api/",
            "/api/nope",
            "/docs",
            "/docs/x",
            "/openapi.json",
            "/healthz",
            "/readyz",
        ] {
            assert!(is_api_path(p), "{p}");
        }
        for p in ["/", "/foo", "/apis", "/communications", "/docsx"] {
            assert!(!is_api_path(p), "{p}");
        }
    }

    #[test]
    fn an_app_route_gets_index_html_and_a_missing_asset_does_not() {
        let (cache, index) = console_file("/proposals").expect("index.html is embedded");
        assert_eq!(cache, "no-cache");
        assert_eq!(index.metadata.mimetype(), "text/html");
        assert!(console_file("/assets/missing-0000.js").is_none());
    }
}
