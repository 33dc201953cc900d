//! `deploy/`: the systemd units (`deploy/systemd/resi-*.service`) and the pm2 process file
//! (`deploy/pm2/ecosystem.config.js`) of the three long-running roles.
//!
//! - Every unit carries the settings deploy/README.md promises (user, state and working
//!   directory, restart, SIGTERM with a stop timeout above the roles' 30 s shutdown bound, the
//!   sandbox, the log format; the bound is the role's `--shutdown-timeout` default where it has
//!   one) and passes `systemd-analyze verify`, run on a copy whose ExecStart
//!   names the binary under test (verify checks that ExecStart's binary exists) and whose
//!   `User=`/`Group=` name the user running the test (so no lookup of a `resi` user this machine
//!   may not have can fail; systemd 252 does not look it up, newer ones may). verify exits 0 on
//!   unknown keys and unparsable values ("ignoring"), so any line it prints about the unit fails
//!   the test. `systemd-analyze security --offline` must rate each unit's exposure at most 2.5.
//!   Without `systemd-analyze` these two parts are skipped, saying so.
//! - Every unit's ExecStart and every pm2 app's `args` is accepted by the real binary: the role's
//!   command with the same flags and `--help` appended parses, and every flag is one the role's
//!   `--help` lists (`--config` only once the role has it).
//! - `node` loads ecosystem.config.js (skipped, saying so, without node): one app per role with
//!   `script: "resi"`, the unit's arguments, `kill_timeout` >= 35 s, restarts, log files and
//!   `RESI_LOG_FORMAT`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The roles' shutdown bound: after SIGTERM (SIGINT from pm2) each exits within it (the miner's
/// `--shutdown-timeout` default, when larger, counts instead).
const SHUTDOWN_BOUND_SECS: u64 = 30;
/// How far above the bound a stop timeout must be at least.
const STOP_SLACK_SECS: u64 = 5;

/// A role: its name, its command words, and the flags ExecStart and pm2 must pass besides
/// `--config` (flag, value).
type RoleSpec = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Every long-running role.
const ROLES: &[RoleSpec] = &[
    (
        "coordinator",
        &["coordinator"],
        &[("--data-dir", "/var/lib/resi/coordinator")],
    ),
    (
        "miner",
        &["miner", "run"],
        &[
            ("--data-dir", "/var/lib/resi/miner"),
            ("--wallet.path", "/etc/resi/wallets"),
        ],
    ),
    (
        "validator",
        &["validator", "run"],
        &[
            ("--db", "/var/lib/resi/validator/validator.sqlite"),
            ("--wallet.path", "/etc/resi/wallets"),
        ],
    ),
];

const INSTALLED_BINARY: &str = "/usr/local/bin/resi";

fn deploy_dir() -> PathBuf {
    resi_testkit::repo_root().join("deploy")
}

fn unit_path(role: &str) -> PathBuf {
    deploy_dir().join(format!("systemd/resi-{role}.service"))
}

fn read_unit(role: &str) -> String {
    let path = unit_path(role);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The values of `key=` in a unit (every section), in order; comments skipped.
fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
        .collect()
}

/// The one value of `key=` in a unit.
fn value<'a>(role: &str, unit: &'a str, key: &str) -> &'a str {
    match values(unit, key)[..] {
        [v] => v,
        ref vs => panic!("resi-{role}.service: {key}= expected once, found {vs:?}"),
    }
}

/// ExecStart's words: the units quote nothing and continue no line, so words are whitespace
/// separated.
fn exec_start(role: &str, unit: &str) -> Vec<String> {
    let line = value(role, unit, "ExecStart");
    assert!(
        !line.contains(['"', '\'', '\\', '$', '%']),
        "resi-{role}.service: keep ExecStart free of quotes, escapes and specifiers: {line}"
    );
    line.split_whitespace().map(str::to_owned).collect()
}

/// `args` without `--config FILE` (or `--config=FILE`); the file it names.
fn without_config(args: &[String]) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let mut config = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            config = it.next().cloned();
        } else if let Some(file) = a.strip_prefix("--config=") {
            config = Some(file.to_owned());
        } else {
            out.push(a.clone());
        }
    }
    (out, config)
}

fn resi() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resi"));
    // The roles read these; the command lines under test must parse on their own.
    for var in ["RESI_CONFIG", "RESI_COORDINATOR", "RESI_LOG_FORMAT"] {
        cmd.env_remove(var);
    }
    cmd
}

/// A command's `--help`.
fn help(words: &[&str]) -> String {
    let out = resi().args(words).arg("--help").output().expect("run resi");
    assert!(
        out.status.success(),
        "resi {} --help failed: {}",
        words.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The long flags a command's `--help` lists as options (`  -h, --help`, `      --db <DB>`),
/// not those its prose mentions.
fn help_flags(words: &[&str]) -> Vec<String> {
    let mut flags: Vec<String> = help(words)
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = match line.strip_prefix('-') {
                Some(short) if !short.starts_with('-') => short.split_once(", ")?.1,
                Some(_) => line,
                None => return None,
            };
            let name: String = line
                .strip_prefix("--")?
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
                .collect();
            (!name.is_empty()).then(|| format!("--{name}"))
        })
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

/// The role's shutdown bound in seconds: the default of its `--shutdown-timeout` (the time the
/// work in hand gets after SIGTERM) where it has one, else [`SHUTDOWN_BOUND_SECS`].
fn shutdown_bound_secs(words: &[&str]) -> u64 {
    let help = help(words);
    let Some(at) = help.find("--shutdown-timeout") else {
        return SHUTDOWN_BOUND_SECS;
    };
    let rest = &help[at..];
    let default = rest
        .find("[default: ")
        .map(|i| &rest[i + "[default: ".len()..])
        .and_then(|d| d.split(']').next())
        .unwrap_or_else(|| {
            panic!(
                "resi {}: --shutdown-timeout has no default",
                words.join(" ")
            )
        });
    let (num, unit) = default.split_at(default.trim_end_matches(char::is_alphabetic).len());
    let num: u64 = num
        .parse()
        .unwrap_or_else(|e| panic!("--shutdown-timeout default {default:?}: {e}"));
    match unit {
        "" | "s" => num,
        "m" => num * 60,
        "ms" => num.div_ceil(1000),
        _ => panic!("--shutdown-timeout default {default:?}: unknown unit"),
    }
    .max(SHUTDOWN_BOUND_SECS)
}

/// Checks one deployment command line (after the binary) against the role and the real
/// binary's parser. `what` names the file it came from.
fn check_command_line(what: &str, role: &str, args: &[String]) {
    let (_, words, pinned) = ROLES.iter().find(|r| r.0 == role).unwrap();
    assert!(
        args.len() > words.len()
            && args[..words.len()]
                .iter()
                .map(String::as_str)
                .eq(words.iter().copied()),
        "{what}: expected `resi {} ...`, got {args:?}",
        words.join(" ")
    );
    let (rest, config) = without_config(&args[words.len()..]);
    assert_eq!(
        config.as_deref(),
        Some(format!("/etc/resi/{role}.toml").as_str()),
        "{what}: --config /etc/resi/{role}.toml expected in {args:?}"
    );
    for &(flag, val) in pinned.iter() {
        let at = rest.iter().position(|a| a == flag);
        assert!(
            at.is_some_and(|i| rest.get(i + 1).map(String::as_str) == Some(val)),
            "{what}: `{flag} {val}` expected in {args:?}"
        );
    }
    let known = help_flags(words);
    let has_config = known.iter().any(|f| f == "--config");
    if !has_config {
        println!(
            "note: `resi {} --help` has no --config yet; {what}'s --config is not checked",
            words.join(" ")
        );
    }
    let checked = if has_config {
        args[words.len()..].to_vec()
    } else {
        rest
    };
    for a in &checked {
        if let Some(flag) = a.strip_prefix("--") {
            let flag = format!("--{}", flag.split('=').next().unwrap());
            assert!(
                known.contains(&flag),
                "{what}: `resi {}` has no {flag} (its --help lists {known:?})",
                words.join(" ")
            );
        }
    }
    // The real parser takes the flags, values included, ahead of `--help` (an unknown flag or a
    // bad value before it is an error). A --config file is not read when --help is given.
    let out = resi()
        .args(words.iter())
        .args(&checked)
        .arg("--help")
        .output()
        .expect("run resi");
    assert!(
        out.status.success(),
        "{what}: `resi {} {} --help` failed:\n{}",
        words.join(" "),
        checked.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn systemd_analyze() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("systemd-analyze"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        println!("SKIPPED: systemd-analyze is not installed; the units were not verified");
    }
    found
}

fn id(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().expect("id");
    assert!(out.status.success(), "id {flag} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A copy of `unit` for verify in `dir`: ExecStart's /usr/local/bin/resi is the binary under
/// test, `User=`/`Group=` the user running the test (see the module docs).
fn verifiable_copy(dir: &Path, name: &str, unit: &str) -> PathBuf {
    let (user, group) = (id("-un"), id("-gn"));
    let copy: String = unit
        .lines()
        .map(|l| {
            if l.starts_with("ExecStart=") {
                l.replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_resi"))
            } else if l.starts_with("User=") {
                format!("User={user}")
            } else if l.starts_with("Group=") {
                format!("Group={group}")
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, copy).unwrap();
    path
}

/// What `systemd-analyze verify` says about `unit`: every line it prints (and its exit status,
/// if not 0), except lines about other unit files of this machine (`/lib/systemd/...:N: ...`),
/// which are printed and ignored.
fn verify_complaints(analyze: &Path, unit: &Path) -> Vec<String> {
    let out = Command::new(analyze)
        .arg("verify")
        .arg(unit)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze verify");
    let dir = unit.parent().unwrap().to_str().unwrap();
    let mut complaints = Vec::new();
    let text = [out.stdout, out.stderr].concat();
    for line in String::from_utf8_lossy(&text).lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('/') && !line.starts_with(dir) {
            println!("note: systemd-analyze verify, about another unit: {line}");
            continue;
        }
        complaints.push(line.to_owned());
    }
    if !out.status.success() {
        complaints.push(format!("exit status {}", out.status));
    }
    complaints
}

#[test]
fn units_carry_the_documented_settings() {
    for (role, words, _) in ROLES {
        let unit = read_unit(role);
        let state = format!("/var/lib/resi/{role}");
        let bound = shutdown_bound_secs(words);
        let v = |key| value(role, &unit, key);
        assert_eq!(v("User"), "resi", "{role}");
        assert_eq!(v("Group"), "resi", "{role}");
        assert_eq!(v("StateDirectory"), format!("resi/{role}"), "{role}");
        assert_eq!(v("WorkingDirectory"), state, "{role}");
        assert_eq!(exec_start(role, &unit)[0], INSTALLED_BINARY, "{role}");
        assert_eq!(v("Restart"), "on-failure", "{role}");
        assert_eq!(v("KillSignal"), "SIGTERM", "{role}");
        let stop: u64 = v("TimeoutStopSec")
            .strip_suffix('s')
            .unwrap_or(v("TimeoutStopSec"))
            .parse()
            .unwrap_or_else(|e| panic!("{role}: TimeoutStopSec in seconds: {e}"));
        assert!(
            (bound + STOP_SLACK_SECS..=bound * 2).contains(&stop),
            "{role}: TimeoutStopSec={stop} should be a little above the {bound} s shutdown bound"
        );
        for (key, want) in [
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
        ] {
            assert_eq!(v(key), want, "{role}: {key}");
        }
        assert!(
            values(&unit, "ReadWritePaths")
                .iter()
                .any(|p| p.split_whitespace().any(|p| p == state)),
            "{role}: ReadWritePaths={state} missing"
        );
        let nofile: u64 = v("LimitNOFILE").parse().expect("LimitNOFILE a number");
        assert!(nofile >= 8192, "{role}: LimitNOFILE={nofile}");
        assert!(
            values(&unit, "Environment").contains(&"RESI_LOG_FORMAT=json"),
            "{role}: Environment=RESI_LOG_FORMAT=json missing"
        );
        assert!(
            unit.lines()
                .any(|l| l.starts_with('#') && l.contains("journald")),
            "{role}: the log format line needs its comment (what json is for)"
        );
        // The wallets (miner, validator) come from a read-only path outside the state dir.
        let args = exec_start(role, &unit);
        if let Some(i) = args.iter().position(|a| a == "--wallet.path") {
            let wallets = &args[i + 1];
            assert!(
                values(&unit, "ReadOnlyPaths")
                    .iter()
                    .flat_map(|v| v.split_whitespace())
                    .any(|p| wallets.starts_with(p.trim_start_matches('-'))),
                "{role}: --wallet.path {wallets} is not under a ReadOnlyPaths="
            );
        }
    }
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (role, _, _) in ROLES {
        let name = format!("resi-{role}.service");
        let copy = verifiable_copy(tmp.path(), &name, &read_unit(role));
        let complaints = verify_complaints(&analyze, &copy);
        assert!(
            complaints.is_empty(),
            "systemd-analyze verify deploy/systemd/{name} (ExecStart's binary replaced by {}, \
             User=/Group= by the current user):\n{}",
            env!("CARGO_BIN_EXE_resi"),
            complaints.join("\n")
        );

        let out = Command::new(&analyze)
            .args(["security", "--offline=yes", "--threshold=25"])
            .arg(&copy)
            .output()
            .expect("run systemd-analyze security");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("unrecognized option") || stderr.contains("Unknown option") {
            println!("SKIPPED: this systemd-analyze has no `security --offline`: {stderr}");
            continue;
        }
        assert!(
            out.status.success(),
            "{name}: exposure above 2.5 (systemd-analyze security):\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The check above sees what verify only warns about (verify exits 0 on these).
    let unit = read_unit("miner").replace("ProtectHome=yes", "ProtectHom=yes");
    let copy = verifiable_copy(tmp.path(), "resi-broken.service", &unit);
    let complaints = verify_complaints(&analyze, &copy);
    assert!(
        complaints.iter().any(|c| c.contains("ProtectHom")),
        "a misspelt key must be a complaint: {complaints:?}"
    );
}

#[test]
fn unit_command_lines_parse_with_the_real_binary() {
    for (role, _, _) in ROLES {
        let unit = read_unit(role);
        let args = exec_start(role, &unit);
        check_command_line(
            &format!("deploy/systemd/resi-{role}.service"),
            role,
            &args[1..],
        );
    }
}

/// One pm2 app as `node` reports it.
#[derive(Debug, Default)]
struct Pm2App {
    fields: Vec<(String, String)>,
    args: Vec<String>,
}

impl Pm2App {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The apps of ecosystem.config.js, loaded by node, or None without node.
fn pm2_apps() -> Option<Vec<Pm2App>> {
    let path = deploy_dir().join("pm2/ecosystem.config.js");
    // One `key\tvalue` line per field, `arg\tvalue` per argument, `app\tname` first: no JSON
    // parser needed on this side.
    let script = r#"
        const apps = require(process.argv[1]).apps;
        if (!Array.isArray(apps)) throw new Error("module.exports.apps is not an array");
        const lines = [];
        for (const a of apps) {
          lines.push(["app", a.name]);
          for (const k of ["script", "interpreter", "kill_timeout", "autorestart",
                           "max_restarts", "out_file", "error_file", "cwd"]) {
            if (a[k] !== undefined) lines.push([k, String(a[k])]);
          }
          const args = Array.isArray(a.args) ? a.args : String(a.args ?? "").split(/\s+/);
          for (const x of args.filter((x) => x !== "")) lines.push(["arg", x]);
          for (const [k, v] of Object.entries(a.env ?? {})) lines.push(["env." + k, String(v)]);
        }
        process.stdout.write(lines.map((l) => l.join("\t")).join("\n") + "\n");
    "#;
    let out = match Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            println!("SKIPPED: node is not available ({e}); ecosystem.config.js was not loaded");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "node could not load {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut apps: Vec<Pm2App> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (k, v) = line.split_once('\t').unwrap_or((line, ""));
        match k {
            "app" => apps.push(Pm2App {
                fields: vec![("name".into(), v.into())],
                ..Default::default()
            }),
            "arg" => apps.last_mut().unwrap().args.push(v.into()),
            _ => apps.last_mut().unwrap().fields.push((k.into(), v.into())),
        }
    }
    Some(apps)
}

#[test]
fn pm2_apps_match_the_roles_and_parse_with_the_real_binary() {
    let Some(apps) = pm2_apps() else {
        return;
    };
    let names: Vec<&str> = apps.iter().filter_map(|a| a.get("name")).collect();
    assert_eq!(
        names,
        ["resi-coordinator", "resi-miner", "resi-validator"],
        "one app per role"
    );
    for ((role, words, _), app) in ROLES.iter().zip(&apps) {
        let what = format!("deploy/pm2/ecosystem.config.js app resi-{role}");
        let bound = shutdown_bound_secs(words);
        assert_eq!(app.get("script"), Some("resi"), "{what}");
        assert_eq!(
            app.get("interpreter"),
            Some("none"),
            "{what}: a binary, not a script"
        );
        let kill: u64 = app
            .get("kill_timeout")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what}: kill_timeout (ms) missing"));
        assert!(
            kill >= (bound + STOP_SLACK_SECS) * 1000,
            "{what}: kill_timeout {kill} ms is not above the {bound} s shutdown bound"
        );
        assert_eq!(app.get("autorestart"), Some("true"), "{what}");
        let restarts: u64 = app
            .get("max_restarts")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what}: max_restarts missing"));
        assert!(restarts > 0, "{what}: max_restarts");
        for key in ["out_file", "error_file"] {
            assert!(
                app.get(key).is_some_and(|f| f.starts_with('/')),
                "{what}: {key}"
            );
        }
        assert_eq!(app.get("env.RESI_LOG_FORMAT"), Some("json"), "{what}");
        assert_eq!(
            app.get("cwd"),
            Some(format!("/var/lib/resi/{role}").as_str()),
            "{what}: cwd"
        );
        // The same command line as the systemd unit, so both managers run one layout.
        let unit = read_unit(role);
        assert_eq!(
            app.args,
            exec_start(role, &unit)[1..],
            "{what}: args differ from resi-{role}.service's ExecStart"
        );
        check_command_line(&what, role, &app.args);
    }
}
