//! The README's user commands in its ```sh blocks, run exactly as written (from the repository
//! root), so the documentation cannot drift from the binary. The devnet, scraper-test and inspect
//! commands have their own end-to-end tests (`devnet.rs`, `scraper_test_cli.rs`,
//! `component_inspect.rs`); the ```bash walkthrough of every role as its own process is run by
//! `walkthrough.rs`.

use std::path::PathBuf;
use std::process::Command;

fn run(line: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_resi"))
        .current_dir(&root)
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "`{line}` failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every `resi ...` line inside the README's ```sh blocks.
fn readme_commands() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut in_block = false;
    let mut sh = false;
    let mut out = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            sh = in_block && line.trim() == "```sh";
        } else if in_block && sh && line.starts_with("resi ") {
            out.push(line.split(" #").next().unwrap_or(line).trim().to_string());
        }
    }
    out
}

#[test]
fn readme_resi_commands_succeed() {
    let commands = readme_commands();
    assert!(
        commands.len() >= 5,
        "README lost its commands: {commands:?}"
    );
    for line in &commands {
        if line.contains("path/to/") || line.contains("other.wasm") {
            continue; // placeholders for the user's own files, covered by scraper_test_cli.rs
        }
        let out = run(line);
        if line.starts_with("resi wallet show") {
            assert!(
                out.contains("5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"),
                "{out}"
            );
        }
        if line.starts_with("resi policy test") {
            assert!(out.contains("0 failed"), "{out}");
        }
        if line.starts_with("resi component inspect policies/") {
            assert!(out.contains("imports: none"), "{out}");
        }
    }
}

/// The repository stands alone: no tracked file (code, tests, benches, docs, CI) points at the
/// team's reference shelf (the `shared` directory beside the checkout).
#[test]
fn nothing_tracked_reads_outside_the_repository() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("git")
        .current_dir(&root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    let needle = ["..", "/shared"].concat();
    let mut offenders = Vec::new();
    for path in out.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let Ok(bytes) = std::fs::read(root.join(&path)) else {
            continue;
        };
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            offenders.push(path);
        }
    }
    assert!(
        offenders.is_empty(),
        "files reading {needle}: {offenders:?}"
    );
}
