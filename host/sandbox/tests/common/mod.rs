//! Shared helpers of the sandbox tests: locating the built guest components.

use std::path::PathBuf;

/// Reads a built guest component from `$RESI_GUESTS_DIR` (set by `cargo xtask test`) or
/// `guests/dist/`; panics with the command to run when it is missing.
pub fn guest(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("RESI_GUESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guests/dist"));
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); build the guests first: cargo xtask guests",
            path.display()
        )
    })
}
