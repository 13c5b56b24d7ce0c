//! The HTTP API on poem + poem-openapi: routes, the OpenAPI document, Swagger UI.

pub mod accounts;
pub mod activity;
pub mod auth;
pub mod console;
pub mod digest;
pub mod directory;
pub mod drafts;
pub mod edge;
pub mod error;
pub mod health;
pub mod me;
pub mod paging;
pub mod proposals;
pub mod server;
pub mod types;
pub mod views;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

use crate::state::AppState;

type Apis = (
    health::HealthApi,
    digest::DigestApi,
    activity::ActivityApi,
    proposals::ProposalsApi,
    drafts::DraftsApi,
    accounts::AccountsApi,
    directory::DirectoryApi,
    me::MeApi,
);

fn service() -> OpenApiService<Apis, ()> {
    let apis = (
        health::HealthApi,
        digest::DigestApi,
        activity::ActivityApi,
        proposals::ProposalsApi,
        drafts::DraftsApi,
        accounts::AccountsApi,
        directory::DirectoryApi,
        me::MeApi,
    );
    OpenApiService::new(apis, "mailroom", env!("CARGO_PKG_VERSION")).description(
        "The email side of the fund's CRM: capture, proposals, drafts and the daily admin digest.",
    )
}

/// The OpenAPI document as the service serves it at `/openapi.json`.
pub fn openapi_json() -> String {
    service().spec()
}

/// Every route: the API, `/openapi.json`, Swagger UI at `/docs`, and the
/// web console at `/` (any other non-API path), with the default request limits.
pub fn routes(state: AppState) -> impl Endpoint + 'static {
    routes_with(state, edge::RequestLimits::default())
}

/// [`routes`] with the configured request limits.
pub fn routes_with(state: AppState, limits: edge::RequestLimits) -> impl Endpoint + 'static {
    let api = service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let routes = Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api);
    console::WithConsole(routes)
        .data(state)
        .catch_all_error(error::json_error)
        .around(move |ep, req| edge::check_input(ep, req, limits))
        .around(move |ep, req| edge::log_request(ep, req, limits.slow_request))
}
