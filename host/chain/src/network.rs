//! `--subtensor.network` values as bittensor users write them, mapped to JSON-RPC endpoints.
//!
//! Names map to the endpoints the Python SDK uses: `finney` (mainnet), `test` (testnet),
//! `archive`, `local` (`ws://127.0.0.1:9944`). A `ws://`, `wss://`, `http://` or `https://` URL
//! is taken as given; `--subtensor.chain_endpoint` (an URL) overrides the network, as in
//! bittensor. WebSocket URLs are reached over WebSocket (subscriptions, one connection), HTTP
//! URLs over HTTP (one request per call, inclusion followed by polling).

use crate::error::ChainError;

/// A subtensor network: a display name and the JSON-RPC endpoint resi talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// The name as given (`finney`, `test`, ..., or the URL).
    pub name: String,
    /// The endpoint URL (`ws://`, `wss://`, `http://` or `https://`).
    pub url: String,
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
        if !is_endpoint(&url) {
            return Err(ChainError::BadNetwork(s.to_owned()));
        }
        Ok(Self {
            name: trimmed.to_owned(),
            url,
        })
    }

    /// The network for `--subtensor.network NETWORK` and `--subtensor.chain_endpoint URL`:
    /// the endpoint wins when both are given (bittensor's rule), named after the network.
    pub fn from_flags(
        network: Option<&str>,
        endpoint: Option<&str>,
    ) -> Result<Option<Self>, ChainError> {
        match (network, endpoint) {
            (_, Some(url)) => {
                let mut net = Self::parse(url)?;
                if !is_endpoint(url.trim()) {
                    return Err(ChainError::BadNetwork(url.to_owned()));
                }
                if let Some(name) = network {
                    net.name = name.trim().to_owned();
                }
                Ok(Some(net))
            }
            (Some(name), None) => Self::parse(name).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// True when the endpoint is a WebSocket (`ws://` or `wss://`).
    pub fn is_websocket(&self) -> bool {
        let lower = self.url.to_ascii_lowercase();
        lower.starts_with("ws://") || lower.starts_with("wss://")
    }
}

/// A `ws://`, `wss://`, `http://` or `https://` URL with a host.
fn is_endpoint(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = ["ws://", "wss://", "http://", "https://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme));
    matches!(rest, Some(rest) if !rest.is_empty() && !rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert_eq!(Network::parse("finney").unwrap().url, FINNEY_URL);
        assert!(Network::parse("finney").unwrap().is_websocket());
        assert_eq!(Network::parse("test").unwrap().url, TEST_URL);
        assert_eq!(Network::parse("local").unwrap().url, LOCAL_URL);
        assert_eq!(
            Network::parse("ws://10.0.0.1:9944/rpc").unwrap().url,
            "ws://10.0.0.1:9944/rpc"
        );
        let http = Network::parse("http://127.0.0.1:1234").unwrap();
        assert_eq!(http.url, "http://127.0.0.1:1234");
        assert!(!http.is_websocket());
        for bad in ["mars", "ws://", "ftp://x", "wss:///path"] {
            assert!(
                matches!(Network::parse(bad), Err(ChainError::BadNetwork(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn chain_endpoint_overrides_network() {
        let n = Network::from_flags(Some("finney"), Some("ws://127.0.0.1:9946"))
            .unwrap()
            .unwrap();
        assert_eq!(n.url, "ws://127.0.0.1:9946");
        assert_eq!(n.name, "finney");
        let n = Network::from_flags(None, Some("wss://node.example:443"))
            .unwrap()
            .unwrap();
        assert_eq!(n.url, "wss://node.example:443");
        assert_eq!(
            Network::from_flags(Some("test"), None)
                .unwrap()
                .unwrap()
                .url,
            TEST_URL
        );
        assert!(Network::from_flags(None, None).unwrap().is_none());
        assert!(
            Network::from_flags(None, Some("finney")).is_err(),
            "an endpoint must be a URL"
        );
    }
}
