//! Where things are in the checkout.

use std::path::{Path, PathBuf};

/// The root of the checkout the test runs from.
///
/// Found from the run-time `CARGO_MANIFEST_DIR` (cargo and nextest set it to the running test's
/// package) and only then from this crate's compile-time one: several clones share one cargo
/// target directory here, so a binary built by one clone may be run by another, and a path fixed
/// at compile time would name the other clone's files.
pub fn repo_root() -> PathBuf {
    let run_time = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let compile_time = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    run_time
        .iter()
        .chain([&compile_time])
        .find_map(|dir| workspace_root(dir))
        .unwrap_or_else(|| {
            panic!(
                "no resi checkout above CARGO_MANIFEST_DIR ({run_time:?}) or {}",
                compile_time.display()
            )
        })
}

/// The first ancestor of `dir` (itself included) that is the host workspace's root.
fn workspace_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| {
            d.join("host").is_dir()
                && std::fs::read_to_string(d.join("Cargo.toml"))
                    .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

/// Where `cargo xtask guests` put the built components: `$RESI_GUESTS_DIR` (set by
/// `cargo xtask test`) or `guests/dist` of the checkout.
pub fn guests_dir() -> PathBuf {
    std::env::var_os("RESI_GUESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("guests").join("dist"))
}

/// The path of the built component `name` (`name.wasm` in [`guests_dir`]).
pub fn guest_path(name: &str) -> PathBuf {
    guests_dir().join(format!("{name}.wasm"))
}

/// The bytes of the built component `name`; panics with the command to run when it is missing.
pub fn guest(name: &str) -> Vec<u8> {
    let path = guest_path(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); build the guests first: cargo xtask guests",
            path.display()
        )
    })
}

/// The released policy the tests pin: `policies/zipcode-competitive/1.0.0`.
pub fn policy_release() -> PathBuf {
    repo_root().join("policies/zipcode-competitive/1.0.0")
}

/// `policies/zipcode-competitive/1.1.0` of the checkout (the same policy on
/// `resi:policy@1.1.0`).
pub fn policy_release_1_1() -> PathBuf {
    repo_root().join("policies/zipcode-competitive/1.1.0")
}

/// `tests/fixtures` of the checkout.
pub fn fixtures() -> PathBuf {
    repo_root().join("tests").join("fixtures")
}
