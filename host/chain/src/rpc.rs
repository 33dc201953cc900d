//! A small substrate JSON-RPC 2.0 client over HTTP(S) (reqwest): one request per call, typed
//! helpers for the methods resi uses, and hex (`0x...`) byte decoding.

use crate::error::ChainError;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A JSON-RPC client bound to one HTTP endpoint.
#[derive(Debug)]
pub struct RpcClient {
    endpoint: String,
    http: reqwest::Client,
    next_id: AtomicU64,
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

impl RpcClient {
    /// A client for `endpoint` (an `http://` or `https://` URL), with a 10 s connect and 60 s
    /// request timeout.
    pub fn new(endpoint: &str) -> Result<Self, ChainError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ChainError::Unreachable {
                endpoint: endpoint.to_owned(),
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            http,
            next_id: AtomicU64::new(1),
        })
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Calls `method` with `params`; returns the `result` value (may be `null`).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self
            .http
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

    /// `author_submitExtrinsic(bytes)`: the extrinsic hash.
    pub async fn submit_extrinsic(&self, extrinsic: &[u8]) -> Result<[u8; 32], ChainError> {
        const M: &str = "author_submitExtrinsic";
        match self
            .call(M, json!([format!("0x{}", hex::encode(extrinsic))]))
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
