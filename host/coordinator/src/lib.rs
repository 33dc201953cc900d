//! The SN46 coordinator (`resi coordinator`): epochs, zipcode assignments, nonces and validation
//! seeds, the signed and rate-limited HTTP API of `spec/protocol.md`, and object-store grants.
//!
//! Modules:
//! - [`zipcodes`]: the zipcode table and the expected-listing sources ([`ExpectedCounts`]).
//! - [`selection`]: the weighted, seed-reproducible zipcode draw with honeypots.
//! - [`epochs`]: epoch generation, nonce, lifecycle and the scheduler step.
//! - [`db`]: the SQLite (WAL) state: secret, epochs, assignments, statuses, replay, rate limits.
//! - [`registry`]: registration and validator permits from the chain, cached.
//! - [`server`]: the axum routes, authentication and error bodies.
//! - [`metrics`]: the Prometheus series (`/metrics`): requests, refusals, grants, the epoch.
//! - [`openapi`]: the OpenAPI document (`/docs-json`) and the page rendering it (`/docs`).
//!
//! Start it with [`serve`]; it returns the bound address and a [`Running`] handle to stop it.
//! [`serve`] runs its own accept loop: a connection cap and header-read, idle and per-request
//! timeouts, all fields of [`CoordinatorConfig`].

#![warn(missing_docs)]

pub mod dashboard;
pub mod db;
pub mod epochs;
pub mod metrics;
pub mod openapi;
pub mod registry;
pub mod selection;
pub mod server;
pub mod zipcodes;

pub use selection::SelectionParams;
pub use zipcodes::{CsvMarketData, ExpectedCounts, FnCounts, MapCounts, ZipTable};

use resi_chain::Chain;
use resi_core::epoch::EpochSchedule;
use resi_store::{LocalGrants, S3Config, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A rate limit: `max` requests per `window_secs` per hotkey (per client address for public
/// endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed per window.
    pub max: u32,
    /// Window length, seconds.
    pub window_secs: i64,
}

impl Limit {
    /// `max` per minute.
    pub const fn per_minute(max: u32) -> Self {
        Self {
            max,
            window_secs: 60,
        }
    }
    /// `max` per hour.
    pub const fn per_hour(max: u32) -> Self {
        Self {
            max,
            window_secs: 3600,
        }
    }
    /// `max` per day.
    pub const fn per_day(max: u32) -> Self {
        Self {
            max,
            window_secs: 86_400,
        }
    }
}

/// Rate limits of every endpoint. Defaults are the documented numbers (the epoch, validator
/// access and miner-specific endpoints have none documented: 30/min, 10/min, 120/min).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `/current`: 10/min.
    pub current: Limit,
    /// `/epoch/{id}`: 30/min.
    pub epoch: Limit,
    /// `/status`: 5/min.
    pub status: Limit,
    /// `/stats` (per client address): 30/min.
    pub stats: Limit,
    /// `/get-folder-access`: 10/min ...
    pub folder_minute: Limit,
    /// ... and 20/day.
    pub folder_day: Limit,
    /// validator-upload: 5/h.
    pub validator_upload: Limit,
    /// `/get-validator-access`: 10/min.
    pub validator_access: Limit,
    /// `/get-miner-specific-access`: 120/min.
    pub miner_specific: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            current: Limit::per_minute(10),
            epoch: Limit::per_minute(30),
            status: Limit::per_minute(5),
            stats: Limit::per_minute(30),
            folder_minute: Limit::per_minute(10),
            folder_day: Limit::per_day(20),
            validator_upload: Limit::per_hour(5),
            validator_access: Limit::per_minute(10),
            miner_specific: Limit::per_minute(120),
        }
    }
}

impl RateLimits {
    /// Every limit multiplied by `factor` (for development and benchmarks).
    pub fn scaled(self, factor: u32) -> Self {
        let s = |l: Limit| Limit {
            max: l.max.saturating_mul(factor),
            ..l
        };
        Self {
            current: s(self.current),
            epoch: s(self.epoch),
            status: s(self.status),
            stats: s(self.stats),
            folder_minute: s(self.folder_minute),
            folder_day: s(self.folder_day),
            validator_upload: s(self.validator_upload),
            validator_access: s(self.validator_access),
            miner_specific: s(self.miner_specific),
        }
    }
}

/// Where objects live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// A local directory; uploads go through the coordinator's `POST /local-store/upload`.
    Local(PathBuf),
    /// An S3 bucket.
    S3(S3Config),
}

/// A clock returning unix seconds (tests inject one).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Coordinator settings.
#[derive(Clone)]
pub struct CoordinatorConfig {
    /// Address to listen on (port 0 = any free port).
    pub listen: SocketAddr,
    /// Base URL clients reach this server at (for local upload grants); default
    /// `http://{bound address}`.
    pub public_url: Option<String>,
    /// Directory of `coordinator.sqlite`.
    pub data_dir: PathBuf,
    /// Epoch length, seconds (production 14,400).
    pub epoch_length_secs: u32,
    /// Subnet id whose registrations are checked.
    pub netuid: u16,
    /// Selection parameters (target, tolerance, min/max, honeypot share, state priorities).
    pub selection: SelectionParams,
    /// Cooldown before a zipcode is assigned again, hours.
    pub cooldown_hours: u32,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// Object store.
    pub store: StoreConfig,
    /// Smallest object a miner grant allows (protocol: 1,024).
    pub miner_upload_min_bytes: u64,
    /// Largest object a miner grant allows (protocol: 5,368,709,120).
    pub miner_upload_max_bytes: u64,
    /// Largest object a validator upload grant allows.
    pub validator_upload_max_bytes: u64,
    /// Longest validity of a grant (protocol: one day).
    pub grant_expiry: Duration,
    /// How long chain registrations are cached (0 = ask the chain on every request).
    pub registry_ttl: Duration,
    /// Clock override (tests); `None` = system clock.
    pub clock: Option<Clock>,
    /// Most connections served at once (default 512); a connection accepted over the cap is
    /// closed at once. Keep it below the open-file limit (`ulimit -n`) minus what the database,
    /// the store and the chain client need.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (default 10 s); it runs from the moment the
    /// server waits for a request, so it also closes a kept-alive connection idle for that long.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed (default 60 s): a
    /// stalled request body, e.g. of an upload, or a client that stops reading its answer.
    pub idle_timeout: Duration,
    /// Longest time one API request may take, body included (default 30 s; 408 after). The
    /// local store's upload is exempt (it may stream gigabytes) and bounded by `idle_timeout`.
    pub request_timeout: Duration,
    /// Objects one local-store upload grant may write (default 400: a day of 4-hour epochs of
    /// ~25 zipcodes x 2 files, plus retries); refused with 403 after. Counted per process.
    pub local_objects_per_grant: u32,
}

impl std::fmt::Debug for CoordinatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinatorConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("epoch_length_secs", &self.epoch_length_secs)
            .field("netuid", &self.netuid)
            .field("selection", &self.selection)
            .field("store", &self.store)
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("local_objects_per_grant", &self.local_objects_per_grant)
            .finish_non_exhaustive()
    }
}

impl CoordinatorConfig {
    /// Production defaults with `data_dir` and a local store under `data_dir/store`, listening
    /// on 127.0.0.1:8700.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            public_url: None,
            store: StoreConfig::Local(data_dir.join("store")),
            data_dir,
            epoch_length_secs: resi_core::epoch::DEFAULT_EPOCH_SECS,
            netuid: 46,
            selection: SelectionParams::default(),
            cooldown_hours: 24,
            rate_limits: RateLimits::default(),
            miner_upload_min_bytes: 1024,
            miner_upload_max_bytes: 5_368_709_120,
            validator_upload_max_bytes: 10 * 1024 * 1024 * 1024,
            grant_expiry: Duration::from_secs(86_400),
            registry_ttl: Duration::from_secs(30),
            clock: None,
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            local_objects_per_grant: 400,
        }
    }
}

/// Why the coordinator could not start.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// The data directory cannot be created.
    #[error("cannot create data directory {path}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The epoch length is invalid.
    #[error("invalid epoch length")]
    Epoch(#[from] resi_core::epoch::EpochError),
    /// The current epoch cannot be generated (selection inputs cannot reach the target).
    #[error("cannot generate the current epoch")]
    Generate(#[from] epochs::EpochGenError),
    /// The object store cannot be opened.
    #[error("opening the object store")]
    Store(#[from] resi_store::StoreError),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A running coordinator.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    scheduler: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving (in-flight requests finish) and waits until the server and scheduler ended.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.scheduler.abort();
        let _ = (&mut self.server).await;
        let _ = (&mut self.scheduler).await;
    }

    /// Serves until the server task ends (e.g. never, or after [`Running::shutdown`] elsewhere).
    pub async fn wait(mut self) {
        let _ = (&mut self.server).await;
    }
}

fn random_hex32() -> String {
    let mut b = [0u8; 32];
    if let Err(e) = getrandom::getrandom(&mut b) {
        // Without OS randomness the secrets would be predictable: refuse to go on.
        panic!("the operating system's random number generator failed: {e}");
    }
    hex::encode(b)
}

/// Starts the coordinator: opens the database and store, generates the current epoch (failing
/// fast if the inputs cannot reach the target), binds `config.listen`, and runs the server and
/// the epoch scheduler until [`Running::shutdown`].
///
/// The server holds at most `config.max_connections` connections (one accepted over the cap is
/// closed at once), closes a connection that does not send a request's headers within
/// `config.header_read_timeout` (also the keep-alive idle limit) or moves no byte for
/// `config.idle_timeout`, and answers 408 to an API request running longer than
/// `config.request_timeout`.
pub async fn serve<C: Chain + 'static>(
    config: CoordinatorConfig,
    table: Arc<ZipTable>,
    counts: Arc<dyn ExpectedCounts>,
    chain: C,
) -> Result<Running, CoordinatorError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| CoordinatorError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let db = Arc::new(db::Db::open(&config.data_dir.join("coordinator.sqlite"))?);
    let secret = db.meta_or_insert("secret", random_hex32)?;
    let store_secret = db.meta_or_insert("local_store_secret", random_hex32)?;
    let clock: Clock = config
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(resi_core::auth::now_unix));
    let schedule = EpochSchedule::new(config.epoch_length_secs)?;
    let epochs = Arc::new(epochs::Epochs::new(
        schedule,
        config.selection.clone(),
        i64::from(config.cooldown_hours) * 3600,
        table,
        counts,
        db.clone(),
        secret,
    ));
    epochs.tick(clock())?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| CoordinatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| CoordinatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let store = match &config.store {
        StoreConfig::Local(dir) => Store::local(dir)?
            .with_local_grants(LocalGrants {
                upload_url: format!(
                    "{}{}",
                    public.trim_end_matches('/'),
                    server::PATH_LOCAL_UPLOAD
                ),
                secret: store_secret,
            })
            .with_objects_per_grant(config.local_objects_per_grant),
        StoreConfig::S3(c) => Store::s3(c.clone())?,
    };
    let registry = registry::Registry::new(chain, config.netuid, config.registry_ttl);
    let mut prometheus = resi_ops::metrics::new_registry();
    let metrics =
        metrics::Metrics::register(&mut prometheus, epochs.clone(), db.clone(), clock.clone());
    let health = Arc::new(resi_ops::Health::new("coordinator"));
    let state = Arc::new(server::AppState {
        config: config.clone(),
        db: db.clone(),
        epochs: epochs.clone(),
        store,
        registry,
        clock: clock.clone(),
        metrics,
        prometheus: Arc::new(prometheus),
        health: health.clone(),
    });
    let app = server::router(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = accept::Limits {
        max_connections: config.max_connections,
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
    };
    let server = tokio::spawn(accept::run(listener, app, limits, rx));
    let tick = Duration::from_secs(u64::from(config.epoch_length_secs / 20).clamp(1, 30));
    let scheduler = tokio::spawn(async move {
        let mut iv = tokio::time::interval(tick);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            iv.tick().await;
            let now = clock();
            let ep = epochs.clone();
            let res = tokio::task::spawn_blocking(move || ep.tick(now)).await;
            if let Ok(Ok(())) = res
                && let Ok(cur) = epochs.schedule.current(now)
            {
                health.progress(format!("epoch scheduler: epoch {} current", cur.id));
            }
            match res {
                Ok(Err(e)) => {
                    tracing::error!(error = %resi_core::error::ErrorChain(&e), "epoch scheduler")
                }
                Err(e) => {
                    tracing::error!(error = %resi_core::error::ErrorChain(&e), "epoch scheduler task")
                }
                Ok(Ok(())) => {}
            }
            let max_window = 86_400 * 2;
            if let Err(e) = db.prune(now - resi_core::auth::MAX_AGE_SECS - 1, now, max_window) {
                tracing::error!(error = %resi_core::error::ErrorChain(&e), "pruning replay and rate state");
            }
        }
    });
    tracing::info!(%addr, "coordinator listening");
    Ok(Running {
        addr,
        shutdown: Some(tx),
        server,
        scheduler,
    })
}

/// The accept loop: a connection cap, HTTP/1 with a header-read timeout, a per-connection idle
/// timeout, and graceful shutdown.
mod accept {
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::TcpListener;
    use tokio::sync::{Semaphore, oneshot, watch};
    use tokio::time::{Instant, Sleep};

    /// Largest buffer hyper keeps per connection (request headers must fit in it).
    const MAX_BUF_BYTES: usize = 64 * 1024;

    /// Connection limits, from [`crate::CoordinatorConfig`].
    pub(crate) struct Limits {
        pub(crate) max_connections: usize,
        pub(crate) header_read_timeout: Duration,
        pub(crate) idle_timeout: Duration,
    }

    fn nonzero(d: Duration) -> Option<Duration> {
        (!d.is_zero()).then_some(d)
    }

    /// Serves `app` on `listener` until `stop` fires (or its sender is dropped), then lets open
    /// connections finish their requests.
    pub(crate) async fn run(
        listener: TcpListener,
        app: axum::Router,
        limits: Limits,
        mut stop: oneshot::Receiver<()>,
    ) {
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let (closing_tx, closing_rx) = watch::channel(false);
        let mut conns = tokio::task::JoinSet::new();
        loop {
            while conns.try_join_next().is_some() {}
            let accepted = tokio::select! {
                _ = &mut stop => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Usually out of file descriptors: give connections time to end.
                    tracing::warn!(error = %resi_core::error::ErrorChain(&e), "cannot accept a connection");
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                tracing::debug!(%peer, "connection cap reached, closing the new connection");
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let io = hyper_util::rt::TokioIo::new(IdleTimeout::new(
                stream,
                nonzero(limits.idle_timeout),
            ));
            let header_timeout = nonzero(limits.header_read_timeout);
            let app = app.clone();
            let svc = hyper::service::service_fn(
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    // A Router is always ready, so `call` needs no `poll_ready` first.
                    let mut app = app.clone();
                    tower_service::Service::call(&mut app, req)
                },
            );
            let mut closing = closing_rx.clone();
            conns.spawn(async move {
                let _permit = permit;
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .keep_alive(true)
                    .max_buf_size(MAX_BUF_BYTES);
                let conn = builder.serve_connection(io, svc);
                tokio::pin!(conn);
                let mut shutting_down = false;
                loop {
                    tokio::select! {
                        r = conn.as_mut() => {
                            if let Err(e) = r {
                                tracing::debug!(%peer, error = %resi_core::error::ErrorChain(&e), "connection closed");
                            }
                            break;
                        }
                        _ = closing.changed(), if !shutting_down => {
                            shutting_down = true;
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            });
        }
        drop(listener);
        let _ = closing_tx.send(true);
        while conns.join_next().await.is_some() {}
    }

    /// An I/O stream that fails with `TimedOut` once no byte has moved either way for `idle`.
    struct IdleTimeout<T> {
        io: T,
        idle: Option<Duration>,
        last_progress: Instant,
        deadline: Pin<Box<Sleep>>,
    }

    impl<T> IdleTimeout<T> {
        fn new(io: T, idle: Option<Duration>) -> Self {
            let now = Instant::now();
            let first = idle.map_or(now, |d| now + d);
            Self {
                io,
                idle,
                last_progress: now,
                deadline: Box::pin(tokio::time::sleep_until(first)),
            }
        }

        fn progress(&mut self) {
            if self.idle.is_some() {
                self.last_progress = Instant::now();
            }
        }

        /// Called when the stream is not ready: an error once the idle time has passed.
        fn poll_idle<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
            let Some(idle) = self.idle else {
                return Poll::Pending;
            };
            // The timer is re-armed lazily from the last progress, not on every byte.
            while self.deadline.as_mut().poll(cx).is_ready() {
                let due = self.last_progress + idle;
                if due <= Instant::now() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle for too long",
                    )));
                }
                self.deadline.as_mut().reset(due);
            }
            Poll::Pending
        }
    }

    impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = &mut *self;
            let before = buf.filled().len();
            match Pin::new(&mut this.io).poll_read(cx, buf) {
                Poll::Ready(Ok(())) => {
                    if buf.filled().len() > before {
                        this.progress();
                    }
                    Poll::Ready(Ok(()))
                }
                Poll::Pending => this.poll_idle(cx),
                other => other,
            }
        }
    }

    impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = &mut *self;
            match Pin::new(&mut this.io).poll_write(cx, buf) {
                Poll::Ready(Ok(n)) => {
                    if n > 0 {
                        this.progress();
                    }
                    Poll::Ready(Ok(n))
                }
                Poll::Pending => this.poll_idle(cx),
                other => other,
            }
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let this = &mut *self;
            match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
                Poll::Ready(Ok(n)) => {
                    if n > 0 {
                        this.progress();
                    }
                    Poll::Ready(Ok(n))
                }
                Poll::Pending => this.poll_idle(cx),
                other => other,
            }
        }

        fn is_write_vectored(&self) -> bool {
            self.io.is_write_vectored()
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self;
            match Pin::new(&mut this.io).poll_flush(cx) {
                Poll::Pending => this.poll_idle(cx),
                other => other,
            }
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.io).poll_shutdown(cx)
        }
    }
}
