//! Config files for the long-running roles (`resi coordinator`, `resi miner run`,
//! `resi validator run`): one TOML file per role whose keys are the role's long flag names
//! (`data-dir = "..."`; a dotted flag is a table: `--wallet.name` is `name` under `[wallet]`),
//! loaded with `--config FILE` (or `RESI_CONFIG`). Precedence: flags, then environment
//! variables, then the file, then the built-in defaults.
//!
//! The file is applied by parsing the command line twice: a first pass (every argument
//! optional) finds the role and which of its arguments the command line or the environment
//! already set; every other key of the file becomes a flag of the second, real pass. So the
//! file accepts exactly what the flags accept, with the same checks and the same errors.
//!
//! `resi config example ROLE` prints a commented file of the role's flags with their defaults
//! ([`example`]); loading it changes nothing (a test checks that).

use anyhow::{Context as _, bail};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

/// The id of the `--config` argument in every role.
pub const CONFIG_ARG: &str = "config";

/// The roles that read a config file, as `resi config example` names them, with their
/// subcommand path.
pub const ROLES: &[(&str, &[&str])] = &[
    ("coordinator", &["coordinator"]),
    ("miner", &["miner", "run"]),
    ("validator", &["validator", "run"]),
];

/// Flags that never come from a config file.
const NOT_IN_FILE: &[&str] = &["config", "help", "version"];

/// `argv` with the keys of the `--config` file (if the command names one) appended as flags,
/// for the keys the command line and environment did not set. Errors name the file and key.
/// When the first pass cannot parse `argv` (help, a typo), `argv` is returned unchanged so the
/// real parse reports it.
pub fn apply(cmd: &Command, argv: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let mut lenient = all_optional(cmd.clone());
    let Ok(matches) = lenient.try_get_matches_from_mut(argv.iter()) else {
        return Ok(argv);
    };
    let mut leaf_cmd = &lenient;
    let mut leaf = &matches;
    while let Some((name, sub)) = leaf.subcommand() {
        let Some(c) = leaf_cmd.find_subcommand(name) else {
            break;
        };
        leaf_cmd = c;
        leaf = sub;
    }
    if !leaf_cmd.get_arguments().any(|a| a.get_id() == CONFIG_ARG) {
        return Ok(argv);
    }
    let Some(path) = leaf.get_one::<std::path::PathBuf>(CONFIG_ARG) else {
        return Ok(argv);
    };
    let extra = flags_from_file(leaf_cmd, leaf, path)?;
    let mut out = argv;
    out.extend(extra);
    Ok(out)
}

/// `cmd` and all its subcommands with every argument optional (the file may supply required
/// ones).
fn all_optional(cmd: Command) -> Command {
    cmd.mut_args(|a| a.required(false))
        .mut_subcommands(all_optional)
}

fn is_flag(a: &Arg) -> bool {
    matches!(
        a.get_action(),
        ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
    )
}

/// The flags `path` stands for, in key order, skipping keys already set by the command line or
/// the environment.
fn flags_from_file(cmd: &Command, set: &ArgMatches, path: &Path) -> anyhow::Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--config {}: cannot read it", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("--config {}: not valid TOML", path.display()))?;
    let mut keys = BTreeMap::new();
    flatten("", &toml::Value::Table(table), &mut keys);
    let by_long: BTreeMap<&str, &Arg> = cmd
        .get_arguments()
        .filter_map(|a| a.get_long().map(|l| (l, a)))
        .collect();
    let mut out = Vec::new();
    for (key, value) in keys {
        let Some(arg) = by_long
            .get(key.as_str())
            .filter(|_| !NOT_IN_FILE.contains(&&*key))
        else {
            bail!(
                "--config {}: unknown key `{key}`: not a flag of `{}` (see `resi config example`)",
                path.display(),
                cmd.get_bin_name().unwrap_or(cmd.get_name())
            );
        };
        let given = |a: &Arg| {
            matches!(
                set.value_source(a.get_id().as_str()),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        // Flags and the environment win over the file, also over a key they conflict with.
        if given(arg) || cmd.get_arg_conflicts_with(arg).into_iter().any(given) {
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items,
            v => vec![v],
        };
        for v in values {
            let text = match &v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => bail!(
                    "--config {}: key `{key}`: a {} is not a flag value",
                    path.display(),
                    other.type_str()
                ),
            };
            // A default changes nothing, and given as a flag it could conflict with one.
            let defaults = arg.get_default_values();
            if defaults.len() == 1 && defaults[0].to_str() == Some(text.as_str()) {
                continue;
            }
            if is_flag(arg) {
                match v {
                    toml::Value::Boolean(true) => out.push(format!("--{key}").into()),
                    toml::Value::Boolean(false) => {}
                    _ => bail!(
                        "--config {}: key `{key}` is a switch: true or false, not {text:?}",
                        path.display()
                    ),
                }
            } else {
                out.push(format!("--{key}={text}").into());
            }
        }
    }
    Ok(out)
}

/// Dotted keys of every leaf value under `value`.
fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, toml::Value>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// The role's subcommand in `root` (`resi`'s command).
pub fn role_command(root: &Command, role: &str) -> anyhow::Result<Command> {
    let Some((_, path)) = ROLES.iter().find(|(r, _)| *r == role) else {
        bail!(
            "unknown role {role:?}: one of {}",
            ROLES.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", ")
        );
    };
    let mut root = root.clone();
    root.build();
    let mut cmd = &root;
    for name in *path {
        cmd = cmd
            .find_subcommand(name)
            .with_context(|| format!("no subcommand {name}"))?;
    }
    Ok(cmd.clone())
}

/// `line` broken at spaces into lines of at most `width` characters (a longer word stays whole).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in line.split(' ') {
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    out.push(cur);
    out
}

/// A TOML literal for a default value shown as `raw`: integers and booleans as such, anything
/// else as a string.
fn literal(raw: &str) -> String {
    if raw.parse::<i64>().is_ok() || raw == "true" || raw == "false" {
        raw.to_string()
    } else {
        toml::Value::String(raw.to_string()).to_string()
    }
}

/// The commented example config of `role`: every flag of the role (its help as a comment), with
/// its default when it has one (so loading the file changes nothing) and commented out when it
/// has none.
pub fn example(root: &Command, role: &str) -> anyhow::Result<String> {
    let cmd = role_command(root, role)?;
    let path = ROLES
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, p)| p.join(" "))
        .unwrap_or_default();
    let mut top = String::new();
    let mut tables: BTreeMap<&str, String> = BTreeMap::new();
    for a in cmd.get_arguments() {
        let Some(long) = a.get_long() else { continue };
        if NOT_IN_FILE.contains(&long) || a.is_hide_set() {
            continue;
        }
        let (table, key) = match long.split_once('.') {
            Some((t, k)) => (Some(t), k),
            None => (None, long),
        };
        let out = match table {
            Some(t) => tables.entry(t).or_default(),
            None => &mut top,
        };
        out.push('\n');
        let help = a
            .get_long_help()
            .or(a.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        for line in help.lines() {
            for wrapped in wrap(line, 94) {
                out.push_str(format!("# {wrapped}").trim_end());
                out.push('\n');
            }
        }
        if let Some(env) = a.get_env() {
            out.push_str(&format!("# (env {})\n", env.to_string_lossy()));
        }
        let defaults: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if is_flag(a) {
            out.push_str(&format!("{key} = false\n"));
        } else if defaults.len() == 1 {
            out.push_str(&format!("{key} = {}\n", literal(&defaults[0])));
        } else if matches!(a.get_action(), ArgAction::Append) {
            out.push_str(&format!("# {key} = []\n"));
        } else {
            let name = a
                .get_value_names()
                .and_then(|n| n.first())
                .map(|n| n.to_string())
                .unwrap_or_else(|| "VALUE".into());
            out.push_str(&format!("# {key} = {}\n", literal(&name)));
        }
    }
    let mut text = format!(
        "# resi {role}: `resi {path} --config FILE` (or RESI_CONFIG=FILE).\n\
         # Keys are the flags of `resi {path} --help`; flags and environment variables override\n\
         # this file. Values shown are the defaults; a commented key has none.\n"
    );
    text.push_str(&top);
    for (t, body) in tables {
        text.push_str(&format!("\n[{t}]\n"));
        text.push_str(&body);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, FromArgMatches as _};

    /// Parses `args` (after `resi`) with the config file applied, as `main` does.
    fn parse(args: &[&str]) -> anyhow::Result<crate::Cli> {
        let argv: Vec<OsString> = std::iter::once("resi")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let argv = apply(&crate::Cli::command(), argv)?;
        let m = crate::Cli::command().try_get_matches_from(argv)?;
        Ok(crate::Cli::from_arg_matches(&m)?)
    }

    /// The parsed command with the config path blanked, for comparing.
    fn shown(cli: &crate::Cli, path: &Path) -> String {
        format!("{cli:?}").replace(&format!("Some({:?})", path), "None")
    }

    /// Required flags of each role, given on the command line in these tests.
    fn required(role: &str) -> Vec<&'static str> {
        match role {
            "coordinator" => vec!["--market-data", "m.csv"],
            "miner" => vec!["--coordinator", "http://127.0.0.1:1", "--scraper", "s.toml"],
            _ => vec!["--verifier", "v.toml"],
        }
    }

    fn path_of(role: &str) -> Vec<&'static str> {
        ROLES
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, p)| p.to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn the_example_loaded_equals_the_defaults() {
        let dir = tempfile::tempdir().expect("tmp");
        for (role, _) in ROLES {
            let text = example(&crate::Cli::command(), role).expect("example");
            let file = dir.path().join(format!("{role}.toml"));
            std::fs::write(&file, &text).expect("write");
            let mut plain = path_of(role);
            plain.extend(required(role));
            let mut with = plain.clone();
            let f = file.to_str().expect("utf-8 path");
            with.extend(["--config", f]);
            let a = parse(&plain).expect("defaults");
            let b = parse(&with).unwrap_or_else(|e| panic!("{role}: {e:#}\n{text}"));
            assert_eq!(shown(&a, &file), shown(&b, &file), "{role}:\n{text}");
            // Every flag of the role is in the example, commented or not.
            let cmd = role_command(&crate::Cli::command(), role).expect("role");
            for a in cmd.get_arguments() {
                let Some(long) = a.get_long() else { continue };
                if NOT_IN_FILE.contains(&long) {
                    continue;
                }
                let key = long.rsplit('.').next().unwrap_or(long);
                assert!(
                    text.contains(&format!("\n{key} = ")) || text.contains(&format!("# {key} = ")),
                    "{role}: --{long} missing from the example"
                );
            }
        }
    }

    #[test]
    fn the_file_sets_flags_and_flags_and_env_override_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("miner.toml");
        std::fs::write(
            &file,
            "coordinator = \"http://127.0.0.1:9\"\nscraper = \"from-file.toml\"\nconcurrency = 9\n\
             once = true\nresolve = [\"a.example=127.0.0.1:1\", \"b.example=127.0.0.1:2\"]\n\
             [wallet]\nhotkey = \"filehk\"\n",
        )
        .expect("write");
        let f = file.to_str().expect("utf-8 path");
        let cli = parse(&["miner", "run", "--config", f]).expect("parse");
        let shown = format!("{cli:?}");
        for want in [
            "coordinator: \"http://127.0.0.1:9\"",
            "concurrency: 9",
            "once: true",
            "wallet_hotkey: \"filehk\"",
            "from-file.toml",
            "b.example",
        ] {
            assert!(shown.contains(want), "{want} not in {shown}");
        }
        let cli = parse(&["miner", "run", "--config", f, "--concurrency", "2"]).expect("parse");
        let shown = format!("{cli:?}");
        assert!(shown.contains("concurrency: 2"), "{shown}");
    }

    #[test]
    fn bad_files_are_named_with_the_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("bad.toml");
        let f = file.to_str().expect("utf-8 path");
        for (text, want) in [
            ("concurency = 3\n", "unknown key `concurency`"),
            ("concurrency = \"many\"\n", "invalid value 'many'"),
            ("once = \"yes\"\n", "`once` is a switch"),
            ("[wallet\n", "not valid TOML"),
        ] {
            std::fs::write(&file, text).expect("write");
            let err = parse(&[
                "miner",
                "run",
                "--coordinator",
                "x",
                "--scraper",
                "s",
                "--config",
                f,
            ])
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let err = parse(&["miner", "run", "--config", "/nonexistent/resi.toml"])
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("cannot read it"), "{err}");
    }
}
