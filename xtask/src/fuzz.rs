//! `cargo xtask fuzz [TARGET] [--secs N]`: coverage-guided fuzzing of the parsers with
//! cargo-fuzz (libFuzzer), one target after the other, `N` seconds each.
//!
//! The targets are the `[[bin]]`s of `fuzz/Cargo.toml`, each calling the function of the same
//! name in `host/fuzz-targets`. Steps: install cargo-fuzz when it is missing
//! (`cargo install cargo-fuzz --locked`), build the targets once, then run each with
//! - the working corpus `fuzz/work/corpus/<name>/` first (libFuzzer adds what it finds there;
//!   ignored by git), then the committed seeds `fuzz/corpus/<name>/` and the saved crashes
//!   `fuzz/regressions/<name>/`, which therefore run first on every run;
//! - `fuzz/dicts/<name>.dict` as libFuzzer dictionary when it exists;
//! - `-max_total_time=N -timeout=10 -rss_limit_mb=2048 -print_final_stats=1`, then the extra
//!   arguments given after `--`.
//!
//! cargo-fuzz passes nightly-only flags (`-Zsanitizer=...`, sanitizer-coverage passes) to rustc.
//! The toolchain here is stable, so the build runs with `RUSTC_BOOTSTRAP=1`, which lets a stable
//! compiler accept them; nothing else is built that way. AddressSanitizer is used when the
//! toolchain ships its runtime (stable rustup toolchains for x86_64 Linux do), else none.
//! The artifacts go to `$CARGO_TARGET_DIR/fuzz-<sanitizer>` (default `target/fuzz-address`),
//! apart from the normal builds whose flags differ.
//!
//! Ends with a table per target (wall and fuzzing seconds, executions, executions/s, corpus
//! units added, peak RSS, result) and fails if any target crashed; crash inputs are in `fuzz/artifacts/<name>/`.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// libFuzzer's per-input timeout, seconds: an input slower than this is reported as a hang.
const INPUT_TIMEOUT_SECS: u32 = 10;

/// libFuzzer's memory limit, MiB: a run above this is reported as an out-of-memory crash.
const RSS_LIMIT_MB: u32 = 2048;

/// What one target's run did.
#[derive(Debug, Default)]
struct Outcome {
    name: String,
    /// Wall time of `cargo fuzz run`, build check included.
    secs: f64,
    /// libFuzzer's own count of fuzzing seconds (`Done N runs in S second(s)`).
    fuzz_secs: Option<u64>,
    execs: Option<u64>,
    execs_per_sec: Option<u64>,
    new_units: Option<u64>,
    peak_rss_mb: Option<u64>,
    artifacts: Vec<String>,
    /// Fork mode's ooms + timeouts + crashes so far.
    fork_failures: u64,
    failed: bool,
}

/// Runs `target` (or every target) for `secs` seconds each.
pub fn run(target: Option<&str>, secs: u64, sanitizer: &str, extra: &[String]) -> Result<()> {
    let root = crate::repo_root()?;
    let fuzz_dir = root.join("fuzz");
    let all = targets(&fuzz_dir)?;
    let chosen: Vec<String> = match target {
        Some(t) if all.iter().any(|a| a == t) => vec![t.to_owned()],
        Some(t) => bail!("no fuzz target {t:?}; the targets are: {}", all.join(", ")),
        None => all,
    };
    ensure_cargo_fuzz()?;
    let sanitizer = pick_sanitizer(sanitizer)?;
    // One directory per sanitizer: the flags differ, so sharing one would rebuild everything
    // at each switch.
    let target_dir = crate::host_target_dir()?.join(format!("fuzz-{sanitizer}"));
    eprintln!(
        "fuzzing {} for {secs} s each (sanitizer {sanitizer}, artifacts in {})",
        chosen.join(", "),
        target_dir.display()
    );
    let mut build = cargo_fuzz(&fuzz_dir, "build", &target_dir, &sanitizer);
    if let [one] = chosen.as_slice() {
        build.arg(one);
    }
    let status = build.status().context("running cargo fuzz build")?;
    if !status.success() {
        bail!("cargo fuzz build failed ({status})");
    }
    let mut outcomes = Vec::new();
    for name in &chosen {
        outcomes.push(run_target(
            &fuzz_dir,
            &target_dir,
            &sanitizer,
            name,
            secs,
            extra,
        )?);
    }
    print_summary(&outcomes);
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.failed).collect();
    if !failed.is_empty() {
        for o in &failed {
            for a in &o.artifacts {
                eprintln!(
                    "{}: crash input {a}\n  minimize: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz tmin --target-dir {} -s {sanitizer} {} {a})\n  then save it as fuzz/regressions/{}/<name> once fixed",
                    o.name,
                    target_dir.display(),
                    o.name,
                    o.name
                );
            }
        }
        bail!(
            "fuzzing found problems in: {}",
            failed
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// The `[[bin]]` names of `fuzz/Cargo.toml`, in file order.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let manifest = fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if in_bin
            && let Some(v) = line.strip_prefix("name")
            && let Some(v) = v.trim_start().strip_prefix('=')
        {
            out.push(v.trim().trim_matches('"').to_owned());
        }
    }
    if out.is_empty() {
        bail!("{} declares no [[bin]] fuzz targets", manifest.display());
    }
    Ok(out)
}

fn ensure_cargo_fuzz() -> Result<()> {
    let present = Command::new(env!("CARGO"))
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    eprintln!("installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new(env!("CARGO"))
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .context("running cargo install cargo-fuzz")?;
    if !status.success() {
        bail!("cargo install cargo-fuzz --locked failed ({status})");
    }
    Ok(())
}

/// `address` when asked for and the toolchain has the ASan runtime; `none` otherwise.
fn pick_sanitizer(wanted: &str) -> Result<String> {
    match wanted {
        "none" => return Ok("none".into()),
        "address" => {}
        other => bail!("unsupported sanitizer {other:?} (address or none)"),
    }
    let out = Command::new("rustc")
        .args(["--print", "target-libdir"])
        .output()
        .context("running rustc --print target-libdir")?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_asan = std::fs::read_dir(&libdir).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("librustc-") && name.ends_with("_rt.asan.a")
        })
    });
    if has_asan {
        Ok("address".into())
    } else {
        eprintln!(
            "no AddressSanitizer runtime in {}; fuzzing without a sanitizer",
            libdir.display()
        );
        Ok("none".into())
    }
}

fn cargo_fuzz(fuzz_dir: &Path, verb: &str, target_dir: &Path, sanitizer: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(fuzz_dir)
        // cargo-fuzz's -Z flags on the stable toolchain (see the module doc).
        .env("RUSTC_BOOTSTRAP", "1")
        .arg("fuzz")
        .arg(verb)
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--sanitizer", sanitizer]);
    cmd
}

fn run_target(
    fuzz_dir: &Path,
    target_dir: &Path,
    sanitizer: &str,
    name: &str,
    secs: u64,
    extra: &[String],
) -> Result<Outcome> {
    let work = fuzz_dir.join("work").join("corpus").join(name);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let mut cmd = cargo_fuzz(fuzz_dir, "run", target_dir, sanitizer);
    cmd.arg(name).arg(&work);
    for dir in [
        fuzz_dir.join("corpus").join(name),
        fuzz_dir.join("regressions").join(name),
    ] {
        if dir.is_dir() {
            cmd.arg(dir);
        }
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg("-print_final_stats=1");
    let dict = fuzz_dir.join("dicts").join(format!("{name}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    cmd.args(extra).stderr(Stdio::piped());
    eprintln!("== {name}: {secs} s");
    let start = Instant::now();
    let mut child = cmd.spawn().context("running cargo fuzz run")?;
    let mut outcome = Outcome {
        name: name.to_owned(),
        ..Outcome::default()
    };
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line.context("reading cargo fuzz output")?;
            eprintln!("{line}");
            parse_line(&line, &mut outcome);
        }
    }
    let status = child.wait().context("waiting for cargo fuzz run")?;
    outcome.secs = start.elapsed().as_secs_f64();
    outcome.failed =
        !status.success() || !outcome.artifacts.is_empty() || outcome.fork_failures > 0;
    Ok(outcome)
}

fn parse_line(line: &str, o: &mut Outcome) {
    let stat = |key: &str| {
        line.strip_prefix(key)
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(v) = stat("stat::number_of_executed_units:") {
        o.execs = Some(v);
    } else if let Some(v) = stat("stat::average_exec_per_sec:") {
        o.execs_per_sec = Some(v);
    } else if let Some(v) = stat("stat::new_units_added:") {
        o.new_units = Some(v);
    } else if let Some(v) = stat("stat::peak_rss_mb:") {
        o.peak_rss_mb = Some(v);
    } else if let Some(rest) = line.strip_prefix("Done ")
        && let Some((_, secs)) = rest.split_once(" runs in ")
        && let Some(secs) = secs.strip_suffix(" second(s)")
        && let Ok(secs) = secs.trim().parse::<u64>()
    {
        o.fuzz_secs = Some(secs);
    } else if let Some((_, path)) = line.split_once("Test unit written to ") {
        o.artifacts.push(path.trim().to_owned());
    } else if let Some(rest) = line.strip_prefix('#')
        && let Some((execs, rest)) = rest.split_once(": cov: ")
        && let Some((_, counts)) = rest.split_once(" oom/timeout/crash: ")
    {
        // Fork mode (-fork=N) reports `#EXECS: cov: .. oom/timeout/crash: A/B/C time: Ss ..`
        // instead of final stats.
        let secs = counts
            .split_once(" time: ")
            .and_then(|(_, t)| t.split_once('s'))
            .and_then(|(t, _)| t.parse::<u64>().ok());
        let counts = counts.split_whitespace().next().unwrap_or("");
        if let Ok(execs) = execs.parse::<u64>() {
            o.execs = Some(execs);
            if let Some(secs) = secs.filter(|s| *s > 0) {
                o.fuzz_secs = Some(secs);
                o.execs_per_sec = Some(execs / secs);
            }
        }
        o.fork_failures = counts
            .split('/')
            .filter_map(|n| n.parse::<u64>().ok())
            .sum();
    }
}

fn print_summary(outcomes: &[Outcome]) {
    let num = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    eprintln!();
    eprintln!(
        "{:<20} {:>7} {:>7} {:>12} {:>9} {:>6} {:>8}  result",
        "target", "wall s", "fuzz s", "execs", "exec/s", "new", "rss MiB"
    );
    for o in outcomes {
        eprintln!(
            "{:<20} {:>7.0} {:>7} {:>12} {:>9} {:>6} {:>8}  {}",
            o.name,
            o.secs,
            num(o.fuzz_secs),
            num(o.execs),
            num(o.execs_per_sec),
            num(o.new_units),
            num(o.peak_rss_mb),
            if o.failed { "FAILED" } else { "ok" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_stats_and_artifacts() {
        let mut o = Outcome::default();
        for line in [
            "stat::number_of_executed_units: 22701",
            "stat::average_exec_per_sec:     22701",
            "stat::new_units_added:          68",
            "stat::peak_rss_mb:              233",
            "artifact_prefix='/f/artifacts/e/'; Test unit written to /f/artifacts/e/crash-55a3",
            "#5\tINITED cov: 428 ft: 495 corp: 4/76b exec/s: 0 rss: 70Mb",
            "Done 1011751 runs in 21 second(s)",
        ] {
            parse_line(line, &mut o);
        }
        assert_eq!(o.execs, Some(22701));
        assert_eq!(o.execs_per_sec, Some(22701));
        assert_eq!(o.new_units, Some(68));
        assert_eq!(o.peak_rss_mb, Some(233));
        assert_eq!(o.fuzz_secs, Some(21));
        assert_eq!(o.artifacts, vec!["/f/artifacts/e/crash-55a3".to_owned()]);
        let mut fork = Outcome::default();
        for line in [
            "#3719: cov: 7478 ft: 16523 corp: 584 exec/s: 1859 oom/timeout/crash: 0/0/0 time: 8s job: 1 dft_time: 0",
            "#478205: cov: 7804 ft: 17576 corp: 926 exec/s: 1803 oom/timeout/crash: 0/1/2 time: 198s job: 17 dft_time: 0",
        ] {
            parse_line(line, &mut fork);
        }
        assert_eq!(fork.execs, Some(478205));
        assert_eq!(fork.fuzz_secs, Some(198));
        assert_eq!(fork.execs_per_sec, Some(478205 / 198));
        assert_eq!(fork.fork_failures, 3);
    }

    #[test]
    fn lists_the_fuzz_projects_targets() {
        let fuzz = crate::repo_root().expect("root").join("fuzz");
        let t = targets(&fuzz).expect("targets");
        assert!(t.iter().any(|n| n == "manifest"), "{t:?}");
        assert!(!t.iter().any(|n| n == "resi-fuzz"), "{t:?}");
    }
}
