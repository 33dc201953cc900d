//! The API's OpenAPI document and its two pages: `GET /docs-json` (the document, the upstream's
//! path) and `GET /docs` (a self-contained HTML page, served from the binary, that renders it).
//!
//! The API routes document themselves: each handler in [`crate::server`] carries its
//! `#[utoipa::path]` (method, path, parameters, request body, every status with its body), the
//! bodies are the typed wire structs of [`resi_core::wire`], and the router is built from those
//! same annotations (`utoipa_axum::routes!`), so a route cannot be served undocumented or
//! documented at another path. This module adds what is served beside them (`/metrics`,
//! `/healthcheck` from [`resi_ops`], and these two pages), the NestJS error responses every
//! endpoint shares, and the shapes only the coordinator answers.

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use resi_core::wire::{NestError, NestMessage};
use std::collections::BTreeMap;
use utoipa::{IntoResponses, OpenApi, ToSchema};

/// Path of the OpenAPI document (JSON).
pub const PATH_DOCS_JSON: &str = "/docs-json";
/// Path of the HTML page rendering it.
pub const PATH_DOCS: &str = "/docs";
/// Path of the Prometheus exposition (served by [`resi_ops::http::routes`]).
pub const PATH_METRICS: &str = "/metrics";

/// The document's frame: title, tags, the routes served beside the annotated handlers, and the
/// schemas referenced only from shared error responses.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "resi coordinator",
        description = "The SN46 coordinator's HTTP API (spec/protocol.md): zipcode assignments, \
            status reports, statistics and object-store grants. Signed requests carry an SS58 \
            `hotkey`, a `timestamp` (unix seconds, within the replay window) and a 128-hex \
            sr25519 `signature` over the endpoint's commitment string; every error is a NestJS \
            body (`NestError`)."
    ),
    paths(metrics_doc, healthcheck_doc, docs_json_doc, docs_page_doc),
    components(schemas(NestError, NestMessage, resi_ops::health::HealthReport)),
    tags(
        (name = "miners", description = "Signed by a registered miner's hotkey"),
        (name = "validators", description = "Signed by a hotkey with a validator permit"),
        (name = "public", description = "Unsigned"),
        (name = "store", description = "The local object store's stand-in for S3's POST upload"),
        (name = "operations", description = "Monitoring and this documentation")
    )
)]
pub struct ApiDoc;

/// Refusals of a signed GET (query `hotkey`, `signature`, `timestamp`).
#[derive(IntoResponses)]
#[allow(dead_code)] // Documentation only: the answers are `ApiErr`s.
pub enum SignedErrors {
    /// A parameter is missing or malformed, the timestamp is outside the window, or the hotkey or
    /// signature is not in its canonical form.
    #[response(status = 400)]
    BadRequest(NestError),
    /// The signature does not verify, or was used before (replay).
    #[response(status = 401)]
    Unauthorized(NestError),
    /// The hotkey is not registered on the subnet, or a validator endpoint was called without a
    /// validator permit.
    #[response(status = 403)]
    Forbidden(NestError),
    /// The request did not complete within the server's request timeout.
    #[response(status = 408)]
    Timeout(NestError),
    /// A rate limit of the hotkey is exhausted.
    #[response(status = 429, headers(("Retry-After" = u32, description = "Seconds until the limit has room again")))]
    TooManyRequests(NestError),
    /// Internal error (database, chain).
    #[response(status = 500)]
    Internal(NestError),
}

/// Refusals of a signed POST (JSON body with `hotkey`, `signature`, `timestamp`).
#[derive(IntoResponses)]
#[allow(dead_code)] // Documentation only: the answers are `ApiErr`s.
pub enum SignedBodyErrors {
    /// The body is not the endpoint's JSON, the timestamp is outside the window, or the hotkey
    /// or signature is not in its canonical form.
    #[response(status = 400)]
    BadRequest(NestError),
    /// The signature does not verify, or was used before (replay).
    #[response(status = 401)]
    Unauthorized(NestError),
    /// The hotkey is not registered on the subnet, or a validator endpoint was called without a
    /// validator permit.
    #[response(status = 403)]
    Forbidden(NestError),
    /// The request did not complete within the server's request timeout.
    #[response(status = 408)]
    Timeout(NestError),
    /// The body is larger than the endpoint accepts.
    #[response(status = 413)]
    TooLarge(NestError),
    /// A rate limit of the hotkey is exhausted.
    #[response(status = 429, headers(("Retry-After" = u32, description = "Seconds until the limit has room again")))]
    TooManyRequests(NestError),
    /// Internal error (database, chain, store).
    #[response(status = 500)]
    Internal(NestError),
}

/// Refusals of an unsigned endpoint.
#[derive(IntoResponses)]
#[allow(dead_code)] // Documentation only: the answers are `ApiErr`s.
pub enum PublicErrors {
    /// The request did not complete within the server's request timeout.
    #[response(status = 408)]
    Timeout(NestError),
    /// The client address's rate limit is exhausted.
    #[response(status = 429, headers(("Retry-After" = u32, description = "Seconds until the limit has room again")))]
    TooManyRequests(NestError),
    /// Internal error.
    #[response(status = 500)]
    Internal(NestError),
}

/// The form of `POST /local-store/upload`: the presigned POST's `fields` as text parts, then the
/// file last, as S3 takes it.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads the form part by part.
pub struct LocalUploadForm {
    /// Object key, under the grant's folder.
    pub key: String,
    /// The presigned policy (base64 JSON).
    pub policy: String,
    /// The other fields of the grant (`x-amz-signature`, `x-amz-credential`, ...).
    #[serde(flatten)]
    pub fields: BTreeMap<String, String>,
    /// The object's bytes (last part).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Prometheus metrics (OpenMetrics text).
///
/// Requests by route and status, latency, refusals by reason, rate-limit hits, grants, and the
/// current epoch's gauges, all named `resi_coordinator_*`.
#[utoipa::path(get, path = PATH_METRICS, tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "The registry's series",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)))]
#[allow(dead_code)] // Served by resi_ops::http::routes.
fn metrics_doc() {}

/// Liveness: role, version, uptime and the epoch scheduler's last step.
#[utoipa::path(get, path = resi_core::wire::PATH_HEALTHCHECK, tag = "operations", operation_id = "healthcheck",
    responses((status = 200, description = "Serving", body = resi_ops::health::HealthReport)))]
#[allow(dead_code)] // Served by resi_ops::http::routes.
fn healthcheck_doc() {}

/// This OpenAPI document.
#[utoipa::path(get, path = PATH_DOCS_JSON, tag = "operations", operation_id = "docs_json",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
#[allow(dead_code)] // Served by `routes`.
fn docs_json_doc() {}

/// A page rendering this document (self-contained, no external resources).
#[utoipa::path(get, path = PATH_DOCS, tag = "operations", operation_id = "docs",
    responses((status = 200, description = "HTML", content_type = "text/html; charset=utf-8", body = String)))]
#[allow(dead_code)] // Served by `routes`.
fn docs_page_doc() {}

/// The page behind `/docs`.
const DOCS_HTML: &str = include_str!("docs.html");

/// `/docs-json` serving `spec` and `/docs`.
pub fn routes(spec: &utoipa::openapi::OpenApi) -> Router {
    let json = match serde_json::to_vec(spec) {
        Ok(b) => Ok(Bytes::from(b)),
        Err(e) => {
            // A document of plain strings and maps always serializes; keep serving the rest.
            tracing::error!(error = %e, "cannot serialize the OpenAPI document");
            Err(())
        }
    };
    Router::new()
        .route(
            PATH_DOCS_JSON,
            get(move || {
                let json = json.clone();
                async move {
                    match json {
                        Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
                        Err(()) => {
                            let code = StatusCode::INTERNAL_SERVER_ERROR;
                            (
                                code,
                                axum::Json(NestError::new(500, "OpenAPI document unavailable")),
                            )
                                .into_response()
                        }
                    }
                }
            }),
        )
        .route(PATH_DOCS, get(docs_page))
}

async fn docs_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DOCS_HTML,
    )
        .into_response()
}
