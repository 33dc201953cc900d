//! `--subtensor.network` values as bittensor users write them, mapped to JSON-RPC endpoints.
//!
//! Names map to the endpoints the Python SDK uses: `finney` (mainnet), `test` (testnet),
//! `archive`, `local` (`ws://127.0.0.1:9944`). A URL is taken as given.
//!
//! **WebSocket URLs.** resi speaks JSON-RPC over HTTP only. Substrate nodes (and so subtensor)
//! serve HTTP and WebSocket JSON-RPC on the same port, so `ws://` becomes `http://` and `wss://`
//! becomes `https://` with the same host, port and path. Nothing resi calls needs a subscription.

use crate::error::ChainError;

/// A subtensor network: a display name and the HTTP(S) JSON-RPC endpoint resi talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// The name as given (`finney`, `test`, ..., or the URL).
    pub name: String,
    /// The websocket URL bittensor would use (for display), or the URL as given.
    pub url: String,
    /// The HTTP(S) JSON-RPC endpoint.
    pub http_endpoint: String,
}

/// bittensor's mainnet entrypoint.
pub const FINNEY_URL: &str = "wss://entrypoint-finney.opentensor.ai:443";
/// bittensor's testnet entrypoint.
pub const TEST_URL: &str = "wss://test.finney.opentensor.ai:443";
/// bittensor's archive node.
pub const ARCHIVE_URL: &str = "wss://archive.chain.opentensor.ai:443";
/// A subtensor node on this machine.
pub const LOCAL_URL: &str = "ws://127.0.0.1:9944";

impl Network {
    /// Parses a network name or URL.
    pub fn parse(s: &str) -> Result<Self, ChainError> {
        let trimmed = s.trim();
        let url = match trimmed.to_ascii_lowercase().as_str() {
            "finney" | "mainnet" => FINNEY_URL.to_owned(),
            "test" | "testnet" => TEST_URL.to_owned(),
            "archive" => ARCHIVE_URL.to_owned(),
            "local" => LOCAL_URL.to_owned(),
            _ => trimmed.to_owned(),
        };
        let http_endpoint = to_http(&url).ok_or_else(|| ChainError::BadNetwork(s.to_owned()))?;
        Ok(Self {
            name: trimmed.to_owned(),
            url,
            http_endpoint,
        })
    }
}

/// `ws://` -> `http://`, `wss://` -> `https://`; http(s) URLs unchanged; anything else `None`.
fn to_http(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = lower.strip_prefix("ws://") {
        ("http://", &url[url.len() - rest.len()..])
    } else if let Some(rest) = lower.strip_prefix("wss://") {
        ("https://", &url[url.len() - rest.len()..])
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http://", &url[url.len() - rest.len()..])
    } else if let Some(rest) = lower.strip_prefix("https://") {
        ("https://", &url[url.len() - rest.len()..])
    } else {
        return None;
    };
    if rest.is_empty() || rest.starts_with('/') {
        return None;
    }
    Some(format!("{scheme}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        let f = Network::parse("finney").unwrap();
        assert_eq!(
            f.http_endpoint,
            "https://entrypoint-finney.opentensor.ai:443"
        );
        assert_eq!(
            Network::parse("test").unwrap().http_endpoint,
            "https://test.finney.opentensor.ai:443"
        );
        assert_eq!(
            Network::parse("local").unwrap().http_endpoint,
            "http://127.0.0.1:9944"
        );
        assert_eq!(
            Network::parse("ws://10.0.0.1:9944/rpc")
                .unwrap()
                .http_endpoint,
            "http://10.0.0.1:9944/rpc"
        );
        assert_eq!(
            Network::parse("http://127.0.0.1:1234")
                .unwrap()
                .http_endpoint,
            "http://127.0.0.1:1234"
        );
        assert!(matches!(
            Network::parse("mars"),
            Err(ChainError::BadNetwork(_))
        ));
        assert!(matches!(
            Network::parse("ws://"),
            Err(ChainError::BadNetwork(_))
        ));
    }
}
