//! Python guests: scrapers written in Python and built with componentize-py (pinned in
//! `tests/requirements.txt`) into components of `resi:scraper/scraper-world`, with the Python SDK
//! (`guests/sdk-py/resi_scraper.py`) beside the bindings componentize-py generates.
//!
//! The sources are copied to a staging directory first (componentize-py writes `__pycache__`
//! into the source folders it is given), and the WIT with its `deps/` symlink resolved.
//!
//! componentize-py 0.25.1 does not build reproducibly: the interpreter's memory snapshot taken
//! at build time holds OS randomness (hash seeds, the random module's state) and the mtimes of
//! the build's temporary files. The code and the WIT of two builds are identical; only the data
//! segment of the snapshot differs (upstream: bytecodealliance/componentize-py#247). A miner's
//! scraper.toml pins the bytes it built, so the pin is as safe as a Rust guest's; Python guests
//! are therefore not in the reproducibility check and not committed as releases.

use crate::guests::{Built, Guest, Kind};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Python guest: published name and its source folder (holding `app.py`).
pub struct PyGuest {
    /// Published as `<name>.wasm`.
    pub name: &'static str,
    /// Source folder, relative to the repository root.
    pub dir: &'static str,
}

/// Every Python guest.
pub const PY_GUESTS: &[PyGuest] = &[
    PyGuest {
        name: "market-scraper-py",
        dir: "guests/scrapers/market-py",
    },
    PyGuest {
        name: "hostile-scraper-py",
        dir: "guests/testing/hostile-scraper-py",
    },
];

/// The Python SDK's folder.
pub const SDK_DIR: &str = "guests/sdk-py";

/// `componentize-py` next to `python` (a venv's interpreter), else on PATH.
pub fn componentize_py(python: Option<&Path>) -> PathBuf {
    if let Some(bin) = python.and_then(Path::parent) {
        let p = bin.join("componentize-py");
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from("componentize-py")
}

/// componentize-py from the test venv (`~/.cache/resi-venv`) or PATH, if it runs.
pub fn find_tool() -> Option<PathBuf> {
    let venv = std::env::var_os("HOME")
        .map(PathBuf::from)
        .map(|h| h.join(".cache/resi-venv/bin/python"));
    let tool = componentize_py(venv.as_deref());
    let ok = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(tool)
}

/// Copies `from` to `to` recursively, following symlinks, skipping `__pycache__`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        if std::fs::metadata(&src)?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)
                .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

/// Builds one Python project (`app.py` in `project`, plus `extra` module folders) into a
/// component with `tool`; the WIT is `wit/scraper` of the repository.
pub fn build_project(
    tool: &Path,
    project: &Path,
    extra: &[PathBuf],
    stage: &Path,
) -> Result<Vec<u8>> {
    let root = crate::repo_root()?;
    if stage.exists() {
        std::fs::remove_dir_all(stage)?;
    }
    let wit = stage.join("wit");
    copy_tree(&root.join("wit").join("scraper"), &wit)?;
    let app = stage.join("app");
    copy_tree(project, &app)?;
    let mut cmd = Command::new(tool);
    cmd.arg("-d")
        .arg(&wit)
        .args(["-w", "resi:scraper/scraper-world", "componentize", "-p"])
        .arg(&app);
    for (i, dir) in extra.iter().enumerate() {
        let copy = stage.join(format!("lib{i}"));
        copy_tree(dir, &copy)?;
        cmd.arg("-p").arg(&copy);
    }
    let out = stage.join("component.wasm");
    cmd.arg("app").arg("-o").arg(&out).current_dir(stage);
    let status = cmd.status().with_context(|| {
        format!(
            "running {} (install it: pip install -r tests/requirements.txt)",
            tool.display()
        )
    })?;
    if !status.success() {
        bail!("componentize-py failed on {} ({status})", project.display());
    }
    std::fs::read(&out).with_context(|| format!("reading {}", out.display()))
}

/// Builds every Python guest into `target_dir/python`.
pub fn build_all(tool: &Path, target_dir: &Path) -> Result<Vec<Built>> {
    let root = crate::repo_root()?;
    let mut built = Vec::new();
    for g in PY_GUESTS {
        eprintln!("building {} with {}", g.name, tool.display());
        let started = std::time::Instant::now();
        let bytes = build_project(
            tool,
            &root.join(g.dir),
            &[root.join(SDK_DIR)],
            &target_dir.join("python").join(g.name),
        )?;
        eprintln!(
            "built {} ({} bytes) in {:.1} s",
            g.name,
            bytes.len(),
            started.elapsed().as_secs_f64()
        );
        built.push(Built {
            guest: Guest {
                package: g.name,
                kind: Kind::Scraper,
            },
            bytes,
        });
    }
    Ok(built)
}
