//! The README's user commands in its ```sh blocks, run exactly as written (from the repository
//! root), so the documentation cannot drift from the binary. The devnet, scraper-test and inspect
//! commands have their own end-to-end tests (`devnet.rs`, `scraper_test_cli.rs`,
//! `component_inspect.rs`); the ```bash walkthrough of every role as its own process is run by
//! `walkthrough.rs`. Also: a user error (a missing file given to a command) prints one line
//! naming the file and its flag, and exits 1.

use std::process::Command;

fn run(line: &str) -> String {
    let root = resi_testkit::repo_root();
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
    let root = resi_testkit::repo_root();
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
    let root = resi_testkit::repo_root();
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

/// A missing or unreadable file named by a flag (or a positional argument) is a user error:
/// exit status 1, no backtrace even under `RUST_BACKTRACE=1`, and stderr is one line that names
/// the file and the flag and says nothing twice (each error of the chain shows its cause once).
#[test]
fn missing_files_are_one_line_errors_naming_file_and_flag() {
    let root = resi_testkit::repo_root();
    let root = root.canonicalize().unwrap();
    // Run from an empty directory, so defaults such as ./validator.sqlite land nowhere.
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path();
    let not_a_dir = dir.join("plain-file");
    std::fs::write(&not_a_dir, "not a directory").unwrap();
    let wallet = resi_testkit::wallet::fixture_wallet_path();
    let wallet = wallet.to_str().unwrap();
    let hotkey = [
        "--wallet.path",
        wallet,
        "--wallet.name",
        "sn46test",
        "--wallet.hotkey",
        "miner1",
    ];
    let policy = root.join("policies/zipcode-competitive/1.0.0/policy.wasm");
    let counts = dir.join("counts.csv");
    let chain_db = not_a_dir.join("chain.sqlite");
    // (arguments, the missing file, the flag naming it)
    let cases: Vec<(Vec<&str>, &str, Option<&str>)> = vec![
        (
            vec![
                "market",
                "--zipcodes",
                "/nonexistent/zipcodes.csv",
                "--counts-csv",
                counts.to_str().unwrap(),
            ],
            "/nonexistent/zipcodes.csv",
            Some("--zipcodes"),
        ),
        (
            vec!["market", "--counts-csv", "/nonexistent/counts.csv"],
            "/nonexistent/counts.csv",
            Some("--counts-csv"),
        ),
        (
            [
                &[
                    "validator",
                    "score",
                    "--epoch-json",
                    "/nonexistent/epoch.json",
                    "--verifier",
                    "/nonexistent/verifier.toml",
                ][..],
                &hotkey,
            ]
            .concat(),
            "/nonexistent/epoch.json",
            Some("--epoch-json"),
        ),
        (
            [
                &[
                    "miner",
                    "run",
                    "--coordinator",
                    "http://127.0.0.1:9",
                    "--scraper",
                    "/nonexistent/scraper.toml",
                ][..],
                &hotkey,
            ]
            .concat(),
            "/nonexistent/scraper.toml",
            Some("--scraper"),
        ),
        (
            vec![
                "policy",
                "hash",
                policy.to_str().unwrap(),
                "--params",
                "/nonexistent/params.json",
            ],
            "/nonexistent/params.json",
            Some("--params"),
        ),
        (
            vec!["chain", "local", "list", "--db", chain_db.to_str().unwrap()],
            chain_db.to_str().unwrap(),
            Some("--db"),
        ),
        (
            vec![
                "scraper",
                "test",
                "/nonexistent/scraper.toml",
                "--zipcode",
                "19103",
            ],
            "/nonexistent/scraper.toml",
            None,
        ),
        (
            vec![
                "policy",
                "test",
                policy.to_str().unwrap(),
                "/nonexistent/vectors",
            ],
            "/nonexistent/vectors",
            None,
        ),
    ];
    for (args, file, flag) in &cases {
        let line = format!("resi {}", args.join(" "));
        let out = Command::new(env!("CARGO_BIN_EXE_resi"))
            .current_dir(dir)
            .args(args)
            .env_remove("RUST_LOG")
            .env("RUST_BACKTRACE", "1")
            .env("RUST_LIB_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "`{line}`:\n{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "`{line}`: not one line:\n{stderr}");
        let message = lines[0]
            .strip_prefix("error: ")
            .unwrap_or_else(|| panic!("`{line}`: {stderr}"));
        assert_eq!(
            message.matches(file).count(),
            1,
            "`{line}`: the file must be named once: {message}"
        );
        if let Some(flag) = flag {
            assert!(message.contains(flag), "`{line}`: no {flag}: {message}");
        }
        let fragments: Vec<&str> = message.split(": ").collect();
        for (i, f) in fragments.iter().enumerate() {
            assert!(
                !fragments[..i].contains(f),
                "`{line}`: {f:?} printed twice: {message}"
            );
        }
    }
}
