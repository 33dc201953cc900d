//! The HTTP gate behind `resi:scraper/http.fetch`: every request a scraper makes passes here.
//!
//! Rules, in order: the URL must be http(s) and its `scheme://host:port` must be on the
//! manifest's allowlist (empty list = no network); secrets named in header values as
//! `{{secret:NAME}}` are substituted (values never logged); a per-host token bucket limits the
//! rate (waiting up to `max_wait_ms`, else answering `rate-limited`); DNS is resolved by the
//! host and every answer that is private, loopback, link-local, CGNAT, multicast or unspecified
//! is refused *at connect time* (the connection goes to exactly the checked address, so DNS
//! rebinding cannot slip through); IP-literal URLs skip DNS and are allowed only because the
//! literal itself is on the allowlist. Redirects are never followed: the 3xx response goes back
//! to the guest, whose next request is checked like any other. Bodies are streamed and cut at
//! `max_response_bytes`.

use crate::manifest::NetworkSection;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, Url};
use resi_sandbox::scraper::wit::{FetchError, Request, Response};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One allowlist entry: `scheme://host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowEntry {
    /// `http` or `https`.
    pub scheme: String,
    /// Lowercase host name or IP literal.
    pub host: String,
    /// Port (defaulted from the scheme when omitted).
    pub port: u16,
}

/// Why an allowlist entry is malformed.
#[derive(Debug, thiserror::Error)]
#[error("allowlist entry {entry:?}: {reason} (want scheme://host[:port], scheme http or https)")]
pub struct AllowEntryError {
    entry: String,
    reason: String,
}

impl AllowEntry {
    /// Parses `scheme://host[:port]` (no path, query or credentials).
    pub fn parse(entry: &str) -> Result<Self, AllowEntryError> {
        let err = |reason: &str| AllowEntryError {
            entry: entry.to_string(),
            reason: reason.into(),
        };
        let url = Url::parse(entry).map_err(|e| err(&e.to_string()))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(err("unsupported scheme"));
        }
        if !(url.path() == "/" || url.path().is_empty()) || url.query().is_some() {
            return Err(err("no path or query allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("no credentials allowed"));
        }
        Self::of_url(&url).ok_or_else(|| err("no host"))
    }

    /// The entry a URL would need.
    pub fn of_url(url: &Url) -> Option<Self> {
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        Some(AllowEntry {
            scheme: url.scheme().to_string(),
            host,
            port: url.port_or_known_default()?,
        })
    }

    /// True when the host is an IP literal.
    pub fn is_ip_literal(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }
}

impl std::fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// True for addresses a scraper may never reach through a host name.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT 100.64/10
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF 192.0.0/24
                || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_non_public(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link local fe80::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64
        }
    }
}

/// Marker error from the resolver: every address of a name was non-public.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to private, loopback or link-local addresses ({addrs})")]
struct PrivateAnswer {
    name: String,
    addrs: String,
}

/// DNS resolver that drops non-public answers; used for every connection the gate makes.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| !is_non_public(a.ip()))
                .collect();
            if public.is_empty() {
                let addrs = all
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(PrivateAnswer { name: host, addrs }) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Why a gate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The proxy URL is malformed.
    #[error("proxy {0:?} is not a valid URL")]
    BadProxy(String),
    /// An allowlist entry is malformed.
    #[error(transparent)]
    Allow(#[from] AllowEntryError),
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(String),
}

/// One `--resolve HOST=ADDR` override: connections to `host` (any allowlisted port) go to
/// `addr` instead of what DNS says, as curl's `--connect-to` does. TLS still checks the
/// certificate for `host`, so the target must present one for that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    /// Lowercase host name as the scraper's URLs spell it.
    pub host: String,
    /// Where its connections go.
    pub addr: SocketAddr,
}

impl std::str::FromStr for HostRoute {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, addr) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected HOST=IP:PORT"))?;
        let host = host.trim().to_ascii_lowercase();
        if host.is_empty() || host.parse::<IpAddr>().is_ok() || host.contains([':', '/']) {
            return Err(format!(
                "{s:?}: HOST must be a host name, e.g. www.redfin.com"
            ));
        }
        let addr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: {addr:?} is not IP:PORT"))?;
        Ok(HostRoute { host, addr })
    }
}

/// Where the operator routes a scraper's connections, outside its manifest: DNS overrides and
/// extra trusted roots (a test CA). The component and its allowlist stay exactly as shipped;
/// only the operator's own flags (`--resolve`, `--ca-cert`) fill this. An overridden host's
/// address is trusted as given (it may be loopback: a local mimic of the real source).
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// DNS overrides.
    pub resolve: Vec<HostRoute>,
    /// PEM certificates trusted as roots in addition to the system's.
    pub roots_pem: Vec<Vec<u8>>,
}

impl Routing {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.resolve.is_empty() && self.roots_pem.is_empty()
    }
}

/// The manifest-enforcing HTTP gate. Cheap to clone (shared state).
#[derive(Clone)]
pub struct HttpGate {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    allow: Vec<AllowEntry>,
    rules: NetworkSection,
    secrets: BTreeMap<String, String>,
    buckets: Mutex<HashMap<AllowEntry, Bucket>>,
    name: String,
}

impl HttpGate {
    /// Builds a gate for a scraper named `name` from its manifest's network rules and secrets.
    pub fn new(
        name: &str,
        rules: &NetworkSection,
        secrets: BTreeMap<String, String>,
    ) -> Result<Self, GateError> {
        Self::routed(name, rules, secrets, &Routing::default())
    }

    /// The gate of a loaded scraper: its manifest's rules, its secrets and the operator's
    /// routing. The one way the miner, the validator and `resi scraper test` build it.
    pub fn for_scraper(loaded: &crate::manifest::LoadedScraper) -> Result<Self, GateError> {
        let m = &loaded.manifest;
        Self::routed(&m.name, &m.network, loaded.secrets.clone(), &loaded.routing)
    }

    /// [`HttpGate::new`] with the operator's [`Routing`].
    pub fn routed(
        name: &str,
        rules: &NetworkSection,
        secrets: BTreeMap<String, String>,
        routing: &Routing,
    ) -> Result<Self, GateError> {
        let allow = rules
            .allow
            .iter()
            .map(|e| AllowEntry::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(rules.connect_timeout_ms))
            .timeout(Duration::from_millis(rules.request_timeout_ms))
            .dns_resolver(Arc::new(PublicOnlyResolver))
            .user_agent(concat!("resi-scraper/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        for r in &routing.resolve {
            builder = builder.resolve(&r.host, r.addr);
        }
        for pem in &routing.roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| GateError::Client(format!("a --ca-cert is not PEM: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(proxy) = &rules.proxy {
            let proxy =
                reqwest::Proxy::all(proxy).map_err(|_| GateError::BadProxy(proxy.clone()))?;
            builder = builder.proxy(proxy);
        }
        let client = builder
            .build()
            .map_err(|e| GateError::Client(e.to_string()))?;
        Ok(HttpGate {
            inner: Arc::new(Inner {
                client,
                allow,
                rules: rules.clone(),
                secrets,
                buckets: Mutex::new(HashMap::new()),
                name: name.to_string(),
            }),
        })
    }

    /// How long to wait for a token for `entry` (zero = take it now).
    fn reserve(&self, entry: &AllowEntry) -> Duration {
        let rate = self.inner.rules.requests_per_second;
        let burst = f64::from(self.inner.rules.burst);
        let mut buckets = match self.inner.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        let bucket = buckets.entry(entry.clone()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * rate).min(burst);
        bucket.last = now;
        let max_wait = Duration::from_millis(self.inner.rules.max_wait_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Duration::ZERO;
        }
        let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate);
        if wait <= max_wait {
            // Take the token now (going negative), so concurrent callers queue behind us.
            bucket.tokens -= 1.0;
        }
        wait
    }

    fn substitute_secrets(&self, value: &str) -> Result<String, FetchError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("{{secret:") {
            out.push_str(&rest[..start]);
            let after = &rest[start + "{{secret:".len()..];
            let Some(end) = after.find("}}") else {
                return Err(FetchError::InvalidRequest(
                    "unterminated {{secret:...}}".into(),
                ));
            };
            let name = &after[..end];
            let secret = self.inner.secrets.get(name).ok_or_else(|| {
                FetchError::InvalidRequest(format!(
                    "secret {name:?} is not declared in the manifest"
                ))
            })?;
            out.push_str(secret);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Performs one request under the manifest's rules.
    pub async fn fetch(&self, request: Request) -> Result<Response, FetchError> {
        let url = Url::parse(&request.url)
            .map_err(|e| FetchError::InvalidRequest(format!("bad URL {:?}: {e}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::NotAllowed(format!(
                "scheme {} is not allowed",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::InvalidRequest(
                "credentials in URLs are not allowed".into(),
            ));
        }
        let entry = AllowEntry::of_url(&url)
            .ok_or_else(|| FetchError::InvalidRequest(format!("URL {url} has no host")))?;
        if !self.inner.allow.contains(&entry) {
            tracing::warn!(scraper = %self.inner.name, "refused fetch to {entry}: not on the allowlist");
            return Err(FetchError::NotAllowed(entry.to_string()));
        }
        if let Ok(ip) = entry.host.parse::<IpAddr>() {
            // Allowed only because this exact literal is allowlisted; nothing else to check.
            let _ = ip;
        } else if self.inner.rules.proxy.is_some() {
            // Through a proxy the connection goes to the proxy; check the target's DNS here.
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((entry.host.as_str(), entry.port))
                .await
                .map_err(|e| FetchError::Transport(format!("resolving {}: {e}", entry.host)))?
                .collect();
            if addrs.iter().all(|a| is_non_public(a.ip())) {
                return Err(FetchError::PrivateAddress(entry.host.clone()));
            }
        }
        let wait = self.reserve(&entry);
        if wait > Duration::from_millis(self.inner.rules.max_wait_ms) {
            return Err(FetchError::RateLimited(
                wait.as_millis().min(u128::from(u32::MAX)) as u32,
            ));
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| FetchError::InvalidRequest(format!("bad method {:?}", request.method)))?;
        let mut builder = self.inner.client.request(method.clone(), url.clone());
        for (name, value) in &request.headers {
            if name.eq_ignore_ascii_case("host") {
                return Err(FetchError::InvalidRequest(
                    "the Host header cannot be set".into(),
                ));
            }
            builder = builder.header(name.as_str(), self.substitute_secrets(value)?);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        tracing::debug!(scraper = %self.inner.name, "{method} {url}");
        let mut response = builder
            .send()
            .await
            .map_err(|e| self.map_error(&entry, e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.inner.rules.max_response_bytes;
        if response.content_length().is_some_and(|len| len > cap) {
            return Err(FetchError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.map_error(&entry, e))?
        {
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn map_error(&self, entry: &AllowEntry, e: reqwest::Error) -> FetchError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.downcast_ref::<PrivateAnswer>().is_some() {
                tracing::warn!(scraper = %self.inner.name, "refused {entry}: {err}");
                return FetchError::PrivateAddress(err.to_string());
            }
            source = err.source();
        }
        // reqwest's own text is "error sending request for url (...)"; the cause (refused,
        // certificate unknown, ...) is in its sources.
        let chain = resi_core::error::ErrorChain(&e).to_string();
        if e.is_timeout() {
            FetchError::Timeout(format!("{entry}: {chain}"))
        } else {
            FetchError::Transport(format!("{entry}: {chain}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_entries_parse_and_default_ports() {
        let e = AllowEntry::parse("https://WWW.Zillow.com").unwrap();
        assert_eq!(e.to_string(), "https://www.zillow.com:443");
        assert!(
            AllowEntry::parse("http://127.0.0.1:8787")
                .unwrap()
                .is_ip_literal()
        );
        assert!(AllowEntry::parse("ftp://x").is_err());
        assert!(AllowEntry::parse("https://x.com/path").is_err());
        assert!(AllowEntry::parse("https://user:pw@x.com").is_err());
    }

    #[test]
    fn non_public_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "151.101.1.1", "2606:4700::1111"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
