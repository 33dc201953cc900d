//! Every fuzz target on the normal toolchain, as ordinary tests: each target runs on
//! (a) every file of its seed corpus `fuzz/corpus/<name>/`, each of which it must accept,
//! (b) every saved crash in `fuzz/regressions/<name>/`, which it must survive, and
//! (c) a few thousand inputs mutated from the seeds (bit flips, byte edits, truncation,
//!     insertion and duplication, splicing two seeds, tokens of `fuzz/dicts/<name>.dict`).
//!
//! The mutations are deterministic (seeded per target) so a CI failure reproduces. To run
//! longer or elsewhere: `RESI_FUZZ_ITERS=100000 RESI_FUZZ_SEED=7 cargo test -p
//! resi-fuzz-targets`. A failing input is written to `$TMPDIR/resi-fuzz-failures/` and the
//! message says where; copy it into `fuzz/regressions/<name>/` when the bug is fixed.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};

/// Mutated inputs per target by default. Chosen so that the whole binary stays within a few
/// seconds in a debug build on two cores.
const DEFAULT_ITERS: u64 = 3000;

/// Longest mutated input.
const MAX_LEN: usize = 64 * 1024;

fn fuzz_dir() -> PathBuf {
    resi_testkit::repo_root().join("fuzz")
}

fn target(name: &str) -> resi_fuzz_targets::Target {
    *resi_fuzz_targets::TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

/// The files of a directory, sorted by name; empty if it does not exist.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != "README.md"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

/// SplitMix64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Parses libFuzzer dictionary lines: `"token"` or `name="token"`, with `\\`, `\"` and `\xNN`.
fn dictionary(path: &Path) -> Vec<Vec<u8>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(start) = line.find('"') else {
            continue;
        };
        let body = &line[start + 1..line.len().saturating_sub(1).max(start + 1)];
        let bytes = body.as_bytes();
        let mut token = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if bytes.get(i + 1) == Some(&b'x') && i + 3 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).expect("ASCII escape");
                    token.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                    i += 4;
                }
                b'\\' if i + 1 < bytes.len() => {
                    token.push(bytes[i + 1]);
                    i += 2;
                }
                b => {
                    token.push(b);
                    i += 1;
                }
            }
        }
        out.push(token);
    }
    out
}

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'0', b'9', b'-',
    b'.', b'e', b' ', b'\n', b'/', b'=',
];

/// Applies one random mutation to `input`; `seeds` are the splice partners.
fn mutate_once(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], dict: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(11) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        // Replace a byte with a random or an interesting one.
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = if rng.chance(2) {
                rng.next() as u8
            } else {
                INTERESTING[rng.below(INTERESTING.len())]
            };
        }
        // Delete a range.
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16.min(len - start))).min(len);
            input.drain(start..end);
        }
        // Insert random bytes.
        3 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            input.splice(at..at, bytes);
        }
        // Duplicate a range (repeats fields, array items, pages).
        4 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64.min(len - start))).min(len);
            let copy = input[start..end].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, copy);
        }
        // Truncate.
        5 if len > 0 => {
            input.truncate(rng.below(len));
        }
        // Splice: our prefix with another seed's suffix.
        6 if !seeds.is_empty() => {
            let other = &seeds[rng.below(seeds.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        // Insert or overwrite with a dictionary token.
        7 | 8 if !dict.is_empty() => {
            let token = &dict[rng.below(dict.len())];
            let at = rng.below(len + 1);
            if rng.chance(2) || at + token.len() > len {
                input.splice(at..at, token.iter().copied());
            } else {
                input.splice(at..at + token.len(), token.iter().copied());
            }
        }
        // Overwrite with an interesting little-endian integer (binary formats' lengths).
        9 if len >= 4 => {
            let at = rng.below(len - 3);
            let v: u32 = match rng.below(6) {
                0 => 0,
                1 => u32::MAX,
                2 => i32::MAX as u32,
                3 => 1 << rng.below(32),
                4 => rng.below(256) as u32,
                _ => rng.next() as u32,
            };
            input[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        // Add or subtract a small amount from a byte (counters, lengths, digits).
        _ if len > 0 => {
            let i = rng.below(len);
            let delta = 1 + rng.below(4) as u8;
            input[i] = if rng.chance(2) {
                input[i].wrapping_add(delta)
            } else {
                input[i].wrapping_sub(delta)
            };
        }
        _ => input.push(rng.next() as u8),
    }
    input.truncate(MAX_LEN);
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

/// FNV-1a, to give each target its own default mutation seed.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The message of a panic payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic)".to_owned())
}

/// Runs the target on `input`; on a panic, saves the input and says where before unwinding.
fn run_one(name: &str, run: fn(&[u8]) -> bool, input: &[u8], what: &str) -> bool {
    run_tolerating(name, run, input, what, &[]).unwrap_or(false)
}

/// Like [`run_one`], but a panic with one of the `known` messages (those of the target's open
/// crashes) is returned as `None` instead of failing.
fn run_tolerating(
    name: &str,
    run: fn(&[u8]) -> bool,
    input: &[u8],
    what: &str,
    known: &[String],
) -> Option<bool> {
    match catch_unwind(AssertUnwindSafe(|| run(input))) {
        Ok(accepted) => Some(accepted),
        Err(panic) if known.contains(&panic_message(&*panic)) => None,
        Err(panic) => {
            let dir = std::env::temp_dir().join("resi-fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!(
                "{name}-{:016x}",
                fnv(&String::from_utf8_lossy(input))
            ));
            let saved = std::fs::write(&file, input).is_ok();
            eprintln!(
                "target {name} panicked on {what} ({} bytes){}; input: {:?}",
                input.len(),
                if saved {
                    format!(", saved to {}", file.display())
                } else {
                    String::new()
                },
                String::from_utf8_lossy(&input[..input.len().min(512)])
            );
            resume_unwind(panic)
        }
    }
}

/// The panic messages of the target's open crashes (`fuzz/open-crashes/<name>/`).
fn open_crash_messages(t: &resi_fuzz_targets::Target) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in files(&fuzz_dir().join("open-crashes").join(t.name)) {
        match catch_unwind(AssertUnwindSafe(|| (t.run)(&bytes))) {
            Ok(_) => panic!(
                "{} no longer crashes {}: its bug is fixed; move it to fuzz/regressions/{}/",
                path.display(),
                t.name,
                t.name
            ),
            Err(panic) => out.push(panic_message(&*panic)),
        }
    }
    out
}

fn drive(name: &str) {
    let t = target(name);
    let seeds = files(&fuzz_dir().join("corpus").join(name));
    assert!(!seeds.is_empty(), "fuzz/corpus/{name}/ has no seeds");
    for (path, bytes) in &seeds {
        let accepted = run_one(name, t.run, bytes, &path.display().to_string());
        assert!(
            accepted,
            "seed {} is not accepted by {name}",
            path.display()
        );
    }
    for (path, bytes) in files(&fuzz_dir().join("regressions").join(name)) {
        run_one(name, t.run, &bytes, &path.display().to_string());
    }
    let known = open_crash_messages(&t);
    let seeds: Vec<Vec<u8>> = seeds.into_iter().map(|(_, b)| b).collect();
    let dict = dictionary(&fuzz_dir().join("dicts").join(format!("{name}.dict")));
    let iters = env_u64("RESI_FUZZ_ITERS").unwrap_or(DEFAULT_ITERS);
    let seed = env_u64("RESI_FUZZ_SEED").unwrap_or(0) ^ fnv(name);
    let mut rng = Rng(seed);
    let (mut accepted, mut open) = (0u64, 0u64);
    for i in 0..iters {
        let mut input = if rng.chance(16) {
            Vec::new()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        // Mostly few mutations (inputs that stay close to valid reach deep), sometimes many.
        let n = if rng.chance(8) {
            1 + rng.below(32)
        } else {
            1 + rng.below(3)
        };
        for _ in 0..n {
            mutate_once(&mut rng, &mut input, &seeds, &dict);
        }
        match run_tolerating(name, t.run, &input, &format!("mutated input {i}"), &known) {
            Some(true) => accepted += 1,
            Some(false) => {}
            None => open += 1,
        }
    }
    eprintln!("{name}: {iters} mutated inputs, {accepted} accepted, {open} hit an open crash");
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                drive(stringify!($name));
            }
        )*

        /// The tests above, the library's target list and the cargo-fuzz project name the
        /// same targets.
        #[test]
        fn every_target_is_tested_and_has_a_fuzz_binary() {
            let tested = [$(stringify!($name)),*];
            let listed: Vec<&str> = resi_fuzz_targets::TARGETS.iter().map(|t| t.name).collect();
            assert_eq!(listed, tested, "TARGETS and the tests differ");
            let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml"))
                .expect("fuzz/Cargo.toml");
            let mut binaries: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
                .expect("fuzz/fuzz_targets/")
                .map(|e| e.expect("entry").path())
                .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
                .collect();
            binaries.sort();
            let mut names: Vec<String> = tested.iter().map(|s| s.to_string()).collect();
            names.sort();
            assert_eq!(binaries, names, "fuzz/fuzz_targets/ and TARGETS differ");
            for name in tested {
                let src = std::fs::read_to_string(
                    fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")),
                )
                .expect("fuzz target source");
                assert!(
                    src.contains(&format!("resi_fuzz_targets::{name}(")),
                    "fuzz_targets/{name}.rs does not call resi_fuzz_targets::{name}"
                );
                assert!(
                    manifest.contains(&format!("name = \"{name}\"")),
                    "fuzz/Cargo.toml has no [[bin]] {name}"
                );
            }
        }
    };
}

targets!(
    manifest,
    object_key,
    parquet,
    parquet_roundtrip,
    upstream,
    keyfile,
    ss58,
    ss58_canonical,
    hex,
    requests,
    epoch_id,
);

/// Every generated seed is accepted by its target, and the committed corpora stay small.
#[test]
fn seeds_are_accepted_and_the_corpus_is_small() {
    for seed in resi_fuzz_targets::seeds::seeds() {
        let t = target(seed.target);
        assert!(
            run_one(seed.target, t.run, &seed.bytes, seed.name),
            "generated seed {}/{} is not accepted",
            seed.target,
            seed.name
        );
    }
    let total: usize = resi_fuzz_targets::TARGETS
        .iter()
        .flat_map(|t| files(&fuzz_dir().join("corpus").join(t.name)))
        .map(|(_, b)| b.len())
        .sum();
    assert!(total < 100 * 1024, "seed corpora total {total} bytes");
}

/// `fuzz/open-crashes/<name>/` holds inputs that still crash a target, found by fuzzing, whose
/// fix belongs to code being changed elsewhere (`fuzz/open-crashes/README.md` says which and
/// why). Each must still crash: when one stops, its bug is fixed and the input moves to
/// `fuzz/regressions/<name>/`, where it must keep passing. Until then the mutation tests
/// tolerate panics with the same message, so the rest of the target stays tested.
#[test]
fn open_crashes_still_crash() {
    for t in resi_fuzz_targets::TARGETS {
        open_crash_messages(t);
    }
}

#[test]
fn dictionary_parser_reads_escapes() {
    let dir = std::env::temp_dir().join(format!("resi-fuzz-dict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("t.dict");
    std::fs::write(
        &file,
        "# comment\n\"a\\\"b\"\nnan=\"NaN\"\n\"\\x00\\xff\\\\\"\n",
    )
    .expect("write dict");
    assert_eq!(
        dictionary(&file),
        vec![b"a\"b".to_vec(), b"NaN".to_vec(), vec![0, 0xff, b'\\']]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
