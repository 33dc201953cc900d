//! The client's error type: every failure names the endpoint, and HTTP failures carry the status
//! and the server's message (parsed from the NestJS error body when there is one).

use resi_core::wire::NestError;
use std::time::Duration;

/// A failed API or upload call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status (after any retries).
    #[error("{endpoint}: HTTP {status}: {message}")]
    Http {
        /// The endpoint, e.g. `GET /api/v1/zipcode-assignments/current`.
        endpoint: String,
        /// HTTP status code.
        status: u16,
        /// The server's message (NestJS `message`, S3 `<Message>`, or the body text).
        message: String,
        /// The parsed NestJS error body, if the body was one.
        body: Option<NestError>,
    },
    /// HTTP 429 and either no retries were left or `Retry-After` was longer than allowed.
    #[error("{endpoint}: rate limited (HTTP 429){}: {message}", retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The endpoint.
        endpoint: String,
        /// The server's `Retry-After`, if it sent one in seconds.
        retry_after: Option<Duration>,
        /// The server's message.
        message: String,
    },
    /// No answer within the configured timeout (after any retries).
    #[error("{endpoint}: timed out after {timeout:?}")]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// The request timeout in force.
        timeout: Duration,
    },
    /// Connection or transport failure (after any retries).
    #[error("{endpoint}: network error")]
    Network {
        /// The endpoint.
        endpoint: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer whose body is not the expected JSON.
    #[error("{endpoint}: HTTP {status} with a malformed body ({reason}); body starts: {snippet:?}")]
    Decode {
        /// The endpoint.
        endpoint: String,
        /// HTTP status code.
        status: u16,
        /// What the JSON decoder complained about.
        reason: String,
        /// The start of the body.
        snippet: String,
    },
    /// The circuit breaker is open: the API failed repeatedly and is given time to recover.
    #[error("{endpoint}: not called, the API circuit breaker is open (retry in {retry_in:?})")]
    CircuitOpen {
        /// The endpoint.
        endpoint: String,
        /// Remaining cool-down.
        retry_in: Duration,
    },
    /// A signed endpoint was called on a client built without a hotkey.
    #[error("{endpoint}: needs a hotkey to sign the request, but the client has none")]
    NoHotkey {
        /// The endpoint.
        endpoint: String,
    },
    /// A local file to upload could not be read.
    #[error("cannot read upload file {path}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The client could not be built or the request could not be formed.
    #[error("invalid client setup: {0}")]
    Setup(String),
}

impl ApiError {
    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } | ApiError::Decode { status, .. } => Some(*status),
            ApiError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The endpoint the error is about, if any.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            ApiError::Http { endpoint, .. }
            | ApiError::RateLimited { endpoint, .. }
            | ApiError::Timeout { endpoint, .. }
            | ApiError::Network { endpoint, .. }
            | ApiError::Decode { endpoint, .. }
            | ApiError::CircuitOpen { endpoint, .. }
            | ApiError::NoHotkey { endpoint } => Some(endpoint),
            ApiError::File { .. } | ApiError::Setup(_) => None,
        }
    }
}

/// Extracts a human message from an error body: NestJS JSON, S3 XML, or the raw text.
pub(crate) fn server_message(body: &[u8]) -> (String, Option<NestError>) {
    if let Ok(nest) = serde_json::from_slice::<NestError>(body) {
        let text = nest.message_text();
        let text = if text.is_empty() {
            nest.error.clone().unwrap_or_default()
        } else {
            text
        };
        return (text, Some(nest));
    }
    let text = String::from_utf8_lossy(body);
    if let Some(msg) = xml_tag(&text, "Message") {
        let code = xml_tag(&text, "Code").unwrap_or_default();
        let msg = if code.is_empty() {
            msg
        } else {
            format!("{code}: {msg}")
        };
        return (msg, None);
    }
    (snippet(&text), None)
}

fn xml_tag(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].to_owned())
}

/// The first 200 characters of a body, for error messages.
pub(crate) fn snippet(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_bodies() {
        let (m, nest) = server_message(
            br#"{"statusCode":401,"message":"Invalid signature","error":"Unauthorized"}"#,
        );
        assert_eq!(m, "Invalid signature");
        assert_eq!(nest.unwrap().status_code, 401);
        let (m, nest) = server_message(
            b"<?xml version=\"1.0\"?><Error><Code>EntityTooSmall</Code><Message>Your proposed upload is smaller than the minimum allowed size</Message></Error>",
        );
        assert!(nest.is_none());
        assert_eq!(
            m,
            "EntityTooSmall: Your proposed upload is smaller than the minimum allowed size"
        );
        let (m, _) = server_message("x".repeat(500).as_bytes());
        assert_eq!(m.len(), 203);
    }
}
