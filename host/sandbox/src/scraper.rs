//! The scraper engine: runs miners' `resi:scraper` components (and validators' verifiers)
//! locked down.
//!
//! A scraper gets WASI 0.2 with no preopened directory, no environment, no arguments, no
//! sockets and no name lookups; its only way out is the host's `http.fetch`, implemented by the
//! caller's [`ScraperHost`] (which enforces the manifest: allowlist, private ranges, rate limits,
//! size caps, secrets). Listings leave through `emit`, which the host commits before returning,
//! so a timeout never loses what was already found. Each call runs under a memory limit, metered
//! fuel (reported), epoch interruption at the deadline (yielding to tokio every tick so other
//! tasks keep running), and an outer tokio timeout in case a host call itself hangs.

use crate::limits::{Limiter, Limits, classify};
use crate::{SandboxError, Sha256Pin};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        world: "resi:scraper/scraper-world@1.0.0",
        path: "../../wit/scraper",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// The WIT types of the scraper world as Rust types.
pub mod wit {
    pub use super::bindings::exports::resi::scraper::scraper::{
        ScrapeSummary, ScraperInfo, Task, Verification,
    };
    pub use super::bindings::resi::scraper::host::Level;
    pub use super::bindings::resi::scraper::http::{FetchError, Request, Response};
    pub use super::bindings::resi::types::listing::{Listing, ListingRef};
}

use wit::{
    FetchError, Level, Listing, ListingRef, Request, Response, ScrapeSummary, ScraperInfo, Task,
    Verification,
};

/// An error a host function raises to abort the guest (e.g. the listing store failed, or the
/// guest emitted more than its cap). The call ends with [`SandboxError::Host`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostAbort(pub String);

/// What the embedding application provides to a running scraper.
pub trait ScraperHost: Send + 'static {
    /// Performs an HTTP request on the guest's behalf, enforcing the scraper's manifest.
    fn fetch(
        &mut self,
        request: Request,
    ) -> impl Future<Output = Result<Response, FetchError>> + Send;
    /// Durably accepts a batch of listings; returns only once the batch is committed.
    fn emit(&mut self, batch: Vec<Listing>) -> impl Future<Output = Result<(), HostAbort>> + Send;
    /// Receives a log line from the guest.
    fn log(&mut self, level: Level, message: String);
}

/// Store data of a scraper call.
pub struct ScraperState<H> {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    host: H,
}

impl<H: ScraperHost> WasiView for ScraperState<H> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl<H: ScraperHost> bindings::resi::scraper::http::Host for ScraperState<H> {
    async fn fetch(&mut self, req: Request) -> wasmtime::Result<Result<Response, FetchError>> {
        Ok(self.host.fetch(req).await)
    }
}

impl<H: ScraperHost> bindings::resi::scraper::host::Host for ScraperState<H> {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.host.log(level, message);
        Ok(())
    }

    async fn emit(&mut self, batch: Vec<Listing>) -> wasmtime::Result<()> {
        self.host.emit(batch).await.map_err(wasmtime::Error::new)
    }
}

impl<H: ScraperHost> bindings::resi::types::listing::Host for ScraperState<H> {}

/// Default memory limit of a scraper instance (256 MiB).
pub const SCRAPER_MEMORY_BYTES: usize = 256 << 20;

/// Settings of the scraper engine.
#[derive(Debug, Clone)]
pub struct ScraperEngineOptions {
    /// Pooling instance allocator on/off.
    pub pooling: bool,
    /// How many scraper instances may run at once with pooling.
    pub max_instances: u32,
    /// Default limits of each call (a manifest may lower them).
    pub limits: Limits,
    /// Epoch tick: the granularity of timeouts and of yields to the async runtime.
    pub tick: Duration,
}

impl Default for ScraperEngineOptions {
    fn default() -> Self {
        ScraperEngineOptions {
            pooling: true,
            max_instances: 32,
            limits: Limits {
                fuel: None,
                memory_bytes: SCRAPER_MEMORY_BYTES,
                table_elements: 100_000,
                max_stack_bytes: 1 << 20,
                timeout: Some(Duration::from_secs(600)),
            },
            tick: Duration::from_millis(10),
        }
    }
}

/// The scraper engine profile, generic over the embedding's host implementation.
pub struct ScraperEngine<H: ScraperHost> {
    engine: Engine,
    linker: Arc<Linker<ScraperState<H>>>,
    options: ScraperEngineOptions,
}

impl<H: ScraperHost> Clone for ScraperEngine<H> {
    fn clone(&self) -> Self {
        ScraperEngine {
            engine: self.engine.clone(),
            linker: self.linker.clone(),
            options: self.options.clone(),
        }
    }
}

fn engine_for(options: &ScraperEngineOptions) -> Result<Engine, SandboxError> {
    let mut config = Config::new();
    crate::policy::set_wasm_features(&mut config);
    config.cranelift_nan_canonicalization(false);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(options.limits.max_stack_bytes);
    config.async_stack_size(options.limits.max_stack_bytes + (1 << 20));
    config.cranelift_opt_level(OptLevel::Speed);
    config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(20));
    if options.pooling {
        let mut pool = PoolingAllocationConfig::default();
        let n = options.max_instances.max(1);
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 4)
            .total_tables(n * 8)
            .total_stacks(n)
            .max_memory_size(options.limits.memory_bytes)
            .table_elements(options.limits.table_elements);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    } else {
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    let engine = Engine::new(&config).map_err(|e| SandboxError::Engine(format!("{e:#}")))?;
    // Epoch ticker: advances the engine's epoch until the engine is dropped.
    let weak = engine.weak();
    let tick = options.tick;
    std::thread::Builder::new()
        .name("resi-epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        })
        .map_err(|e| SandboxError::Engine(format!("starting the epoch ticker: {e}")))?;
    Ok(engine)
}

impl<H: ScraperHost> ScraperEngine<H> {
    /// Creates the engine and links the locked-down WASI set plus the `resi:scraper` imports.
    pub fn new(options: ScraperEngineOptions) -> Result<Self, SandboxError> {
        let engine = engine_for(&options)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::Engine(format!("linking WASI: {e:#}")))?;
        bindings::ScraperWorld::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| SandboxError::Engine(format!("linking resi:scraper: {e:#}")))?;
        Ok(ScraperEngine {
            engine,
            linker: Arc::new(linker),
            options,
        })
    }

    /// The underlying wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine's default limits.
    pub fn limits(&self) -> Limits {
        self.options.limits
    }

    /// Loads a scraper whose bytes must hash to `pin`.
    pub fn load_pinned(&self, bytes: &[u8], pin: &Sha256Pin) -> Result<Scraper<H>, SandboxError> {
        pin.verify(bytes)?;
        self.load(bytes)
    }

    /// Loads a scraper without a pin (authors' tools).
    pub fn load(&self, bytes: &[u8]) -> Result<Scraper<H>, SandboxError> {
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| SandboxError::InvalidComponent(format!("{e:#}")))?;
        let report = crate::inspect::describe(&self.engine, &component);
        let forbidden = crate::inspect::Profile::Scraper.forbidden_imports(&report.imports);
        if !forbidden.is_empty() {
            return Err(SandboxError::ForbiddenImports {
                profile: "scraper",
                imports: forbidden,
            });
        }
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| SandboxError::InvalidComponent(format!("{e:#}")))?;
        let pre = bindings::ScraperWorldPre::new(instance_pre).map_err(|e| {
            SandboxError::MissingExport(format!("resi:scraper/scraper@1.0.0 ({e:#})"))
        })?;
        Ok(Scraper {
            engine: self.engine.clone(),
            pre,
            limits: self.options.limits,
            tick: self.options.tick,
            sha256: Sha256Pin::of(bytes),
        })
    }
}

/// A compiled, pre-linked scraper.
pub struct Scraper<H: ScraperHost> {
    engine: Engine,
    pre: bindings::ScraperWorldPre<ScraperState<H>>,
    limits: Limits,
    tick: Duration,
    sha256: Sha256Pin,
}

impl<H: ScraperHost> Clone for Scraper<H> {
    fn clone(&self) -> Self {
        Scraper {
            engine: self.engine.clone(),
            pre: self.pre.clone(),
            limits: self.limits,
            tick: self.tick,
            sha256: self.sha256,
        }
    }
}

/// The outcome of one scraper call, with the host handed back and the resources used.
pub struct Run<H, T> {
    /// What the guest returned, or why it stopped.
    pub result: Result<T, SandboxError>,
    /// The host, with whatever it accumulated (e.g. emitted listings).
    pub host: H,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Peak linear memory, in bytes.
    pub peak_memory: usize,
    /// Wall-clock time of the call.
    pub elapsed: Duration,
}

impl<H: ScraperHost> Scraper<H> {
    /// sha256 of the component bytes.
    pub fn sha256(&self) -> Sha256Pin {
        self.sha256
    }

    /// Returns a copy with tighter limits (e.g. from the scraper's manifest).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    fn store(&self, host: H) -> Store<ScraperState<H>> {
        let wasi = WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let state = ScraperState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(&self.limits),
            host,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Fuel metering is always on in this engine, so setting fuel cannot fail.
        if let Err(e) = store.set_fuel(self.limits.fuel.unwrap_or(u64::MAX)) {
            tracing::error!("setting scraper fuel: {e:#}");
        }
        let deadline = self.limits.timeout.map(|t| Instant::now() + t);
        store.epoch_deadline_callback(move |_| match deadline {
            Some(d) if Instant::now() >= d => Err(Trap::Interrupt.into()),
            _ => Ok(UpdateDeadline::Yield(1)),
        });
        store.set_epoch_deadline(1);
        store
    }

    fn finish<T>(
        &self,
        store: Store<ScraperState<H>>,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
        started: Instant,
    ) -> Run<H, T> {
        let fuel_used = self.limits.fuel.unwrap_or(u64::MAX) - store.get_fuel().unwrap_or(0);
        let state = store.into_data();
        let result = match outcome {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(e, &self.limits, &state.limiter)),
            Err(_) => Err(SandboxError::Timeout(
                self.limits.timeout.unwrap_or_default(),
            )),
        };
        Run {
            result,
            host: state.host,
            fuel_used,
            peak_memory: state.limiter.peak_memory,
            elapsed: started.elapsed(),
        }
    }

    /// The outer wall-clock bound: the timeout plus a little slack for the epoch to fire first.
    fn outer_timeout(&self) -> Duration {
        self.limits
            .timeout
            .map(|t| t + self.tick * 10 + Duration::from_millis(250))
            .unwrap_or(Duration::MAX / 4)
    }

    /// Calls the scraper's `info`.
    pub async fn info(&self, host: H) -> Run<H, ScraperInfo> {
        let started = Instant::now();
        let mut store = self.store(host);
        let outcome = tokio::time::timeout(self.outer_timeout(), async {
            let world = self.pre.instantiate_async(&mut store).await?;
            world.resi_scraper_scraper().call_info(&mut store).await
        })
        .await;
        self.finish(store, outcome, started)
    }

    /// Scrapes one zipcode. Listings arrive through the host's `emit` as the guest finds them.
    pub async fn scrape(&self, host: H, task: &Task) -> Run<H, ScrapeSummary> {
        let started = Instant::now();
        let mut store = self.store(host);
        let outcome = tokio::time::timeout(self.outer_timeout(), async {
            let world = self.pre.instantiate_async(&mut store).await?;
            world
                .resi_scraper_scraper()
                .call_scrape(&mut store, task)
                .await
        })
        .await;
        flatten(self.finish(store, outcome, started))
    }

    /// Looks one listing up again at its source (validators' spot checks).
    pub async fn verify(
        &self,
        host: H,
        target: &ListingRef,
        config: &[(String, String)],
    ) -> Run<H, Verification> {
        let started = Instant::now();
        let mut store = self.store(host);
        let outcome = tokio::time::timeout(self.outer_timeout(), async {
            let world = self.pre.instantiate_async(&mut store).await?;
            world
                .resi_scraper_scraper()
                .call_verify(&mut store, target, config)
                .await
        })
        .await;
        flatten(self.finish(store, outcome, started))
    }
}

fn flatten<H, T>(run: Run<H, Result<T, String>>) -> Run<H, T> {
    Run {
        result: match run.result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(msg)) => Err(SandboxError::Guest(msg)),
            Err(e) => Err(e),
        },
        host: run.host,
        fuel_used: run.fuel_used,
        peak_memory: run.peak_memory,
        elapsed: run.elapsed,
    }
}
