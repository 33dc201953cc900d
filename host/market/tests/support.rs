//! What the scraper tests of this crate share: a scraper's request sent with reqwest and its
//! answer turned into the WIT response (each test host keeps its own routing and bookkeeping).

use resi_sandbox::scraper::wit::{FetchError, Request, Response};

/// The request's method and a reqwest request of it to `url` with no headers yet.
pub fn request(
    client: &reqwest::Client,
    request: &Request,
    url: &str,
) -> Result<reqwest::RequestBuilder, FetchError> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| FetchError::InvalidRequest(format!("method {:?}: {e}", request.method)))?;
    let builder = client.request(method, url);
    Ok(match &request.body {
        Some(body) => builder.body(body.clone()),
        None => builder,
    })
}

/// Sends `builder` and reads the whole answer as the WIT response.
pub async fn send(builder: reqwest::RequestBuilder) -> Result<Response, FetchError> {
    let response = builder
        .send()
        .await
        .map_err(|e| FetchError::Transport(e.to_string()))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = response
        .bytes()
        .await
        .map_err(|e| FetchError::Transport(e.to_string()))?;
    Ok(Response {
        status,
        headers,
        body: body.to_vec(),
    })
}
