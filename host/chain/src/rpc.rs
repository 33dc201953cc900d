//! A small substrate JSON-RPC 2.0 client over WebSocket (jsonrpsee, with reconnect and backoff)
//! or HTTP(S) (reqwest), typed helpers for the methods resi uses, and hex (`0x...`) byte
//! decoding.
//!
//! The transport follows the URL's scheme: `ws://` and `wss://` keep one WebSocket connection
//! (re-opened with exponential backoff when it drops; a read is retried on the new connection,
//! a submission never is), `http://` and `https://` send one request per call. Only a WebSocket
//! can follow an extrinsic with a subscription ([`RpcClient::supports_subscriptions`]).

use crate::error::ChainError;
use jsonrpsee::core::client::{ClientT, Error as WsError, Subscription, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Largest answer resi accepts from a node (metadata is under 1 MiB hex today).
const MAX_RESPONSE_BYTES: u32 = 64 << 20;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connection attempts per call before the node counts as unreachable.
const CONNECT_ATTEMPTS: u32 = 5;
/// The first backoff between attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest backoff between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// A JSON-RPC client bound to one endpoint.
#[derive(Debug)]
pub struct RpcClient {
    endpoint: String,
    transport: Transport,
}

#[derive(Debug)]
enum Transport {
    Http {
        http: reqwest::Client,
        next_id: AtomicU64,
    },
    Ws {
        conn: tokio::sync::Mutex<Option<Arc<WsClient>>>,
        /// Connections opened so far.
        opened: AtomicU64,
    },
}

/// A live subscription (WebSocket only): notifications as JSON values.
pub struct RpcSubscription {
    inner: Subscription<Value>,
    method: String,
}

impl std::fmt::Debug for RpcSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcSubscription")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl RpcSubscription {
    /// The next notification; `None` when the node closed the subscription or the connection
    /// dropped.
    pub async fn next(&mut self) -> Option<Result<Value, ChainError>> {
        let item = self.inner.next().await?;
        Some(item.map_err(|e| ChainError::BadResponse {
            method: self.method.clone(),
            reason: format!("notification is not JSON: {e}"),
        }))
    }
}

/// Decodes `0x`-prefixed hex returned by a node.
pub fn decode_hex(method: &str, s: &str) -> Result<Vec<u8>, ChainError> {
    let body = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(body).map_err(|e| ChainError::BadResponse {
        method: method.to_owned(),
        reason: format!("not hex: {e}"),
    })
}

/// Decodes a 32-byte `0x` hash.
pub fn decode_hash(method: &str, s: &str) -> Result<[u8; 32], ChainError> {
    decode_hex(method, s)?
        .try_into()
        .map_err(|v: Vec<u8>| ChainError::BadResponse {
            method: method.to_owned(),
            reason: format!("hash of {} bytes, expected 32", v.len()),
        })
}

/// Parses a block number that nodes send either as a JSON number or as `0x` hex.
pub fn parse_number(method: &str, v: &Value) -> Result<u64, ChainError> {
    let bad = || ChainError::BadResponse {
        method: method.to_owned(),
        reason: format!("expected a number, got {v}"),
    };
    match v {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => {
            u64::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

fn array_params(method: &str, params: Value) -> Result<ArrayParams, ChainError> {
    let items = match params {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut out = ArrayParams::new();
    for item in items {
        out.insert(item).map_err(|e| ChainError::BadResponse {
            method: method.to_owned(),
            reason: format!("parameter does not serialise: {e}"),
        })?;
    }
    Ok(out)
}

impl RpcClient {
    /// A client for `endpoint`: a `ws://`, `wss://`, `http://` or `https://` URL. Does not
    /// connect yet. Requests time out after 60 s, connecting after 10 s.
    pub fn new(endpoint: &str) -> Result<Self, ChainError> {
        let lower = endpoint.to_ascii_lowercase();
        let transport = if lower.starts_with("ws://") || lower.starts_with("wss://") {
            Transport::Ws {
                conn: tokio::sync::Mutex::new(None),
                opened: AtomicU64::new(0),
            }
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            let http = reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .build()
                .map_err(|e| ChainError::Unreachable {
                    endpoint: endpoint.to_owned(),
                    reason: format!("cannot build the HTTP client: {e}"),
                })?;
            Transport::Http {
                http,
                next_id: AtomicU64::new(1),
            }
        } else {
            return Err(ChainError::BadNetwork(endpoint.to_owned()));
        };
        Ok(Self {
            endpoint: endpoint.to_owned(),
            transport,
        })
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// True over WebSocket: [`RpcClient::subscribe`] works.
    pub fn supports_subscriptions(&self) -> bool {
        matches!(self.transport, Transport::Ws { .. })
    }

    /// How many times the WebSocket connection was re-opened after it dropped.
    pub fn reconnects(&self) -> u64 {
        match &self.transport {
            Transport::Ws { opened, .. } => opened.load(Ordering::Relaxed).saturating_sub(1),
            Transport::Http { .. } => 0,
        }
    }

    /// Calls `method` with `params`; returns the `result` value (may be `null`). Over a
    /// WebSocket a dropped connection is re-opened (with backoff) and the call repeated once.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        match &self.transport {
            Transport::Http { http, next_id } => {
                self.call_http(http, next_id, method, params).await
            }
            Transport::Ws { .. } => {
                let client = self.ws().await?;
                match client
                    .request::<Value, _>(method, array_params(method, params.clone())?)
                    .await
                {
                    Err(e) if is_connection_lost(&e) => {
                        tracing::warn!(endpoint = %self.endpoint, method, error = %e, "connection to the node lost: reconnecting");
                        self.drop_ws(&client).await;
                        let client = self.ws().await?;
                        client
                            .request::<Value, _>(method, array_params(method, params)?)
                            .await
                            .map_err(|e| self.ws_error(method, e))
                    }
                    other => other.map_err(|e| self.ws_error(method, e)),
                }
            }
        }
    }

    /// Calls `method` once, never repeated on a new connection (for submissions, which must
    /// not be sent twice blindly).
    pub async fn call_once(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        match &self.transport {
            Transport::Http { http, next_id } => {
                self.call_http(http, next_id, method, params).await
            }
            Transport::Ws { .. } => {
                let client = self.ws().await?;
                let result = client
                    .request::<Value, _>(method, array_params(method, params)?)
                    .await;
                if let Err(e) = &result
                    && is_connection_lost(e)
                {
                    self.drop_ws(&client).await;
                }
                result.map_err(|e| self.ws_error(method, e))
            }
        }
    }

    /// Subscribes with `method` (WebSocket only); `unsubscribe` is called when the
    /// subscription is dropped.
    pub async fn subscribe(
        &self,
        method: &str,
        params: Value,
        unsubscribe: &str,
    ) -> Result<RpcSubscription, ChainError> {
        if !self.supports_subscriptions() {
            return Err(ChainError::BadResponse {
                method: method.to_owned(),
                reason: "subscriptions need a ws:// or wss:// endpoint".into(),
            });
        }
        let client = self.ws().await?;
        let result = client
            .subscribe::<Value, _>(method, array_params(method, params)?, unsubscribe)
            .await;
        if let Err(e) = &result
            && is_connection_lost(e)
        {
            self.drop_ws(&client).await;
        }
        Ok(RpcSubscription {
            inner: result.map_err(|e| self.ws_error(method, e))?,
            method: method.to_owned(),
        })
    }

    /// The live WebSocket client, connecting (with backoff) when there is none.
    async fn ws(&self) -> Result<Arc<WsClient>, ChainError> {
        let Transport::Ws { conn, opened } = &self.transport else {
            unreachable!("ws() is only called on a WebSocket transport")
        };
        let mut guard = conn.lock().await;
        if let Some(c) = guard.as_ref()
            && c.is_connected()
        {
            return Ok(c.clone());
        }
        let mut backoff = FIRST_BACKOFF;
        let mut last = String::new();
        for attempt in 1..=CONNECT_ATTEMPTS {
            match WsClientBuilder::default()
                .max_response_size(MAX_RESPONSE_BYTES)
                .request_timeout(REQUEST_TIMEOUT)
                .connection_timeout(CONNECT_TIMEOUT)
                .build(&self.endpoint)
                .await
            {
                Ok(c) => {
                    opened.fetch_add(1, Ordering::Relaxed);
                    let c = Arc::new(c);
                    *guard = Some(c.clone());
                    return Ok(c);
                }
                Err(e) => {
                    last = e.to_string();
                    if attempt < CONNECT_ATTEMPTS {
                        tracing::debug!(endpoint = %self.endpoint, attempt, error = %last, ?backoff, "connecting to the node failed: retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        }
        *guard = None;
        Err(ChainError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason: format!("{last} (after {CONNECT_ATTEMPTS} attempts)"),
        })
    }

    /// Forgets `client` if it is still the current connection, so the next call reconnects.
    async fn drop_ws(&self, client: &Arc<WsClient>) {
        if let Transport::Ws { conn, .. } = &self.transport {
            let mut guard = conn.lock().await;
            if guard.as_ref().is_some_and(|c| Arc::ptr_eq(c, client)) {
                *guard = None;
            }
        }
    }

    fn ws_error(&self, method: &str, e: WsError) -> ChainError {
        match e {
            WsError::Call(err) => ChainError::Rpc {
                method: method.to_owned(),
                code: i64::from(err.code()),
                message: match err.data() {
                    Some(data) => format!("{} ({})", err.message(), data.get()),
                    None => err.message().to_owned(),
                },
            },
            e if is_connection_lost(&e) => ChainError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: e.to_string(),
            },
            other => ChainError::BadResponse {
                method: method.to_owned(),
                reason: other.to_string(),
            },
        }
    }

    async fn call_http(
        &self,
        http: &reqwest::Client,
        next_id: &AtomicU64,
        method: &str,
        params: Value,
    ) -> Result<Value, ChainError> {
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = http
            .post(&self.endpoint)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() || e.is_timeout() || e.is_request() {
                    ChainError::Unreachable {
                        endpoint: self.endpoint.clone(),
                        reason: error_chain(&e),
                    }
                } else {
                    ChainError::BadResponse {
                        method: method.to_owned(),
                        reason: error_chain(&e),
                    }
                }
            })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| ChainError::BadResponse {
            method: method.to_owned(),
            reason: format!("reading the body: {}", error_chain(&e)),
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| ChainError::BadResponse {
            method: method.to_owned(),
            reason: format!(
                "HTTP {status}, body is not JSON ({e}): {}",
                text.chars().take(200).collect::<String>()
            ),
        })?;
        if let Some(err) = value.get("error") {
            let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
            let mut message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_owned();
            if let Some(data) = err.get("data") {
                message.push_str(&format!(" ({data})"));
            }
            return Err(ChainError::Rpc {
                method: method.to_owned(),
                code,
                message,
            });
        }
        value
            .get("result")
            .cloned()
            .ok_or_else(|| ChainError::BadResponse {
                method: method.to_owned(),
                reason: format!("HTTP {status}, no result or error in {}", truncate(&value)),
            })
    }

    /// Calls a method whose result is a `0x` hex string; `None` if the result is `null`.
    pub async fn call_bytes(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Option<Vec<u8>>, ChainError> {
        match self.call(method, params).await? {
            Value::Null => Ok(None),
            Value::String(s) => decode_hex(method, &s).map(Some),
            other => Err(ChainError::BadResponse {
                method: method.to_owned(),
                reason: format!("expected a hex string, got {}", truncate(&other)),
            }),
        }
    }

    /// `chain_getBlockHash(number)`.
    pub async fn block_hash(&self, number: u64) -> Result<[u8; 32], ChainError> {
        const M: &str = "chain_getBlockHash";
        match self.call(M, json!([number])).await? {
            Value::String(s) => decode_hash(M, &s),
            other => Err(ChainError::BadResponse {
                method: M.into(),
                reason: format!("no hash for block {number}: {}", truncate(&other)),
            }),
        }
    }

    /// `chain_getHeader()` of the best block: `(number, hash)`. The hash is blake2-256 of the
    /// header, fetched with `chain_getBlockHash(number)`.
    pub async fn best_block(&self) -> Result<(u64, [u8; 32]), ChainError> {
        const M: &str = "chain_getHeader";
        let header = self.call(M, json!([])).await?;
        let number = header
            .get("number")
            .ok_or_else(|| ChainError::BadResponse {
                method: M.into(),
                reason: format!("header without number: {}", truncate(&header)),
            })?;
        let number = parse_number(M, number)?;
        let hash = self.block_hash(number).await?;
        Ok((number, hash))
    }

    /// `chain_getHeader(hash)`: the block's number.
    pub async fn header_number(&self, hash: &[u8; 32]) -> Result<u64, ChainError> {
        const M: &str = "chain_getHeader";
        let header = self
            .call(M, json!([format!("0x{}", hex::encode(hash))]))
            .await?;
        let number = header
            .get("number")
            .ok_or_else(|| ChainError::BadResponse {
                method: M.into(),
                reason: format!(
                    "no header for block 0x{}: {}",
                    hex::encode(hash),
                    truncate(&header)
                ),
            })?;
        parse_number(M, number)
    }

    /// The finalized block: `(number, hash)`.
    pub async fn finalized_block(&self) -> Result<(u64, [u8; 32]), ChainError> {
        let hash = self.finalized_head().await?;
        Ok((self.header_number(&hash).await?, hash))
    }

    /// `chain_getBlock(hash)`: the block's extrinsics (raw SCALE bytes, in order).
    pub async fn block_extrinsics(&self, hash: &[u8; 32]) -> Result<Vec<Vec<u8>>, ChainError> {
        const M: &str = "chain_getBlock";
        let v = self
            .call(M, json!([format!("0x{}", hex::encode(hash))]))
            .await?;
        let xts = v
            .pointer("/block/extrinsics")
            .and_then(Value::as_array)
            .ok_or_else(|| ChainError::BadResponse {
                method: M.into(),
                reason: format!("no block.extrinsics in {}", truncate(&v)),
            })?;
        xts.iter()
            .map(|x| match x.as_str() {
                Some(s) => decode_hex(M, s),
                None => Err(ChainError::BadResponse {
                    method: M.into(),
                    reason: format!("extrinsic is not a hex string: {}", truncate(x)),
                }),
            })
            .collect()
    }

    /// `chain_getFinalizedHead()`.
    pub async fn finalized_head(&self) -> Result<[u8; 32], ChainError> {
        const M: &str = "chain_getFinalizedHead";
        match self.call(M, json!([])).await? {
            Value::String(s) => decode_hash(M, &s),
            other => Err(ChainError::BadResponse {
                method: M.into(),
                reason: format!("expected a hash, got {}", truncate(&other)),
            }),
        }
    }

    /// `state_getRuntimeVersion()`: `(specVersion, transactionVersion)`.
    pub async fn runtime_version(&self) -> Result<(u32, u32), ChainError> {
        const M: &str = "state_getRuntimeVersion";
        let v = self.call(M, json!([])).await?;
        let field = |name: &str| -> Result<u32, ChainError> {
            v.get(name)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ChainError::BadResponse {
                    method: M.into(),
                    reason: format!("missing or bad {name} in {}", truncate(&v)),
                })
        };
        Ok((field("specVersion")?, field("transactionVersion")?))
    }

    /// `state_getMetadata()`: the raw metadata bytes.
    pub async fn metadata(&self) -> Result<Vec<u8>, ChainError> {
        const M: &str = "state_getMetadata";
        self.call_bytes(M, json!([]))
            .await?
            .ok_or_else(|| ChainError::BadResponse {
                method: M.into(),
                reason: "null metadata".into(),
            })
    }

    /// `state_getStorage(key, at)`: the value bytes, `None` if absent.
    pub async fn storage(&self, key: &[u8], at: &[u8; 32]) -> Result<Option<Vec<u8>>, ChainError> {
        self.call_bytes(
            "state_getStorage",
            json!([
                format!("0x{}", hex::encode(key)),
                format!("0x{}", hex::encode(at))
            ]),
        )
        .await
    }

    /// `state_getKeysPaged(prefix, count, start_key, at)`: up to `count` keys after `start`.
    pub async fn keys_paged(
        &self,
        prefix: &[u8],
        count: u32,
        start: Option<&[u8]>,
        at: &[u8; 32],
    ) -> Result<Vec<Vec<u8>>, ChainError> {
        const M: &str = "state_getKeysPaged";
        let start = start.map(|s| format!("0x{}", hex::encode(s)));
        let v = self
            .call(
                M,
                json!([
                    format!("0x{}", hex::encode(prefix)),
                    count,
                    start,
                    format!("0x{}", hex::encode(at))
                ]),
            )
            .await?;
        let Value::Array(items) = v else {
            return Err(ChainError::BadResponse {
                method: M.into(),
                reason: format!("expected an array of keys, got {}", truncate(&v)),
            });
        };
        items
            .iter()
            .map(|k| match k.as_str() {
                Some(s) => decode_hex(M, s),
                None => Err(ChainError::BadResponse {
                    method: M.into(),
                    reason: format!("key is not a string: {k}"),
                }),
            })
            .collect()
    }

    /// `state_queryStorageAt(keys, at)`: the values of `keys` (in the same order, `None` for
    /// absent ones) in one round trip.
    pub async fn query_storage_at(
        &self,
        keys: &[Vec<u8>],
        at: &[u8; 32],
    ) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
        const M: &str = "state_queryStorageAt";
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let hex_keys: Vec<String> = keys
            .iter()
            .map(|k| format!("0x{}", hex::encode(k)))
            .collect();
        let v = self
            .call(M, json!([hex_keys, format!("0x{}", hex::encode(at))]))
            .await?;
        let bad = |reason: String| ChainError::BadResponse {
            method: M.into(),
            reason,
        };
        let mut found = std::collections::HashMap::new();
        let sets = v.as_array().ok_or_else(|| {
            bad(format!(
                "expected an array of change sets, got {}",
                truncate(&v)
            ))
        })?;
        for set in sets {
            let changes = set
                .get("changes")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format!("change set without changes: {}", truncate(set))))?;
            for change in changes {
                let pair = change
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| bad(format!("change is not a [key, value] pair: {change}")))?;
                let key = pair[0]
                    .as_str()
                    .ok_or_else(|| bad(format!("key is not a string: {}", pair[0])))?;
                let value = match &pair[1] {
                    Value::Null => None,
                    Value::String(s) => Some(decode_hex(M, s)?),
                    other => return Err(bad(format!("value is not hex or null: {other}"))),
                };
                found.insert(decode_hex(M, key)?, value);
            }
        }
        Ok(keys
            .iter()
            .map(|k| found.get(k).cloned().flatten())
            .collect())
    }

    /// `system_accountNextIndex(ss58)`: the account's next nonce (pool-aware).
    pub async fn account_next_index(&self, ss58: &str) -> Result<u64, ChainError> {
        const M: &str = "system_accountNextIndex";
        let v = self.call(M, json!([ss58])).await?;
        parse_number(M, &v)
    }

    /// `author_submitExtrinsic(bytes)`: the extrinsic hash. Sent once, never repeated.
    pub async fn submit_extrinsic(&self, extrinsic: &[u8]) -> Result<[u8; 32], ChainError> {
        const M: &str = "author_submitExtrinsic";
        match self
            .call_once(M, json!([format!("0x{}", hex::encode(extrinsic))]))
            .await?
        {
            Value::String(s) => decode_hash(M, &s),
            other => Err(ChainError::BadResponse {
                method: M.into(),
                reason: format!("expected a hash, got {}", truncate(&other)),
            }),
        }
    }
}

/// True for the errors after which the WebSocket connection is gone.
fn is_connection_lost(e: &WsError) -> bool {
    matches!(
        e,
        WsError::RestartNeeded(_) | WsError::Transport(_) | WsError::RequestTimeout
    )
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}...", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
