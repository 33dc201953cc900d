//! Shared set-up of the coordinator tests: the real zipcode table, a synthetic deterministic
//! expected-count source, a local chain with a miner and a validator, signed-request helpers.
#![allow(dead_code)]

use resi_chain::{LocalChain, SubnetParams};
use resi_coordinator::zipcodes::{ZipKind, ZipTable};
use resi_coordinator::{CoordinatorConfig, FnCounts, RateLimits, Running, StoreConfig, serve};
use resi_core::Hotkey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The real zipcode table (the one compiled into resi).
pub fn table() -> Arc<ZipTable> {
    static T: OnceLock<Arc<ZipTable>> = OnceLock::new();
    T.get_or_init(|| Arc::new(ZipTable::embedded().expect("embedded zipcode table")))
        .clone()
}

/// Synthetic expected counts: STANDARD zipcodes get 50..3049 from a hash of the zipcode (so some
/// fall outside 200..3000); no-home zipcodes hold 0.
pub fn counts() -> FnCounts {
    let t = table();
    let standard: std::collections::HashSet<String> = t
        .rows
        .iter()
        .filter(|z| z.kind == ZipKind::Standard)
        .map(|z| z.zipcode.clone())
        .collect();
    FnCounts::new(move |z| {
        if !standard.contains(z) {
            return Some(0);
        }
        let n: u64 = z.parse().ok()?;
        Some((50 + (n.wrapping_mul(2_654_435_761) >> 7) % 3000) as u32)
    })
}

/// A miner and a validator registered on subnet 46 of a local chain at `dir/chain.sqlite`.
pub struct Keys {
    pub miner: Hotkey,
    pub validator: Hotkey,
    pub stranger: Hotkey,
}

pub fn chain(dir: &Path) -> (LocalChain, Keys) {
    let chain = LocalChain::open(dir.join("chain.sqlite")).unwrap();
    chain.set_subnet(46, &SubnetParams::default()).unwrap();
    let keys = Keys {
        miner: Hotkey::from_uri("//MinerOne").unwrap(),
        validator: Hotkey::from_uri("//ValidatorOne").unwrap(),
        stranger: Hotkey::from_uri("//Stranger").unwrap(),
    };
    chain.register(46, &keys.miner.public(), false).unwrap();
    chain.register(46, &keys.validator.public(), true).unwrap();
    (chain, keys)
}

/// Test configuration: loopback, any port, 1-hour epochs, small upload minimum, fresh chain reads.
pub fn config(dir: &Path) -> CoordinatorConfig {
    let mut c = CoordinatorConfig::new(dir.join("coord"));
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.epoch_length_secs = 3600;
    c.miner_upload_min_bytes = 16;
    c.registry_ttl = Duration::ZERO;
    c.rate_limits = RateLimits::default().scaled(100);
    c.store = StoreConfig::Local(dir.join("objects"));
    c
}

pub async fn start(dir: &Path, cfg: CoordinatorConfig) -> (Running, Keys) {
    let (chain, keys) = chain(dir);
    let running = serve(cfg, table(), Arc::new(counts()), chain)
        .await
        .unwrap();
    (running, keys)
}

pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join("coord")
}

/// `?hotkey=..&signature=..&timestamp=..` for `msg` signed by `key` at `ts`.
pub fn signed_query(key: &Hotkey, msg: &str, ts: i64) -> Vec<(&'static str, String)> {
    vec![
        ("hotkey", key.ss58()),
        ("signature", key.sign(msg.as_bytes()).to_hex()),
        ("timestamp", ts.to_string()),
    ]
}
