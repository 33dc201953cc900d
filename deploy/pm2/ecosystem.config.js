// pm2 process file for resi's three long-running roles. Install: deploy/README.md.
//
//   pm2 start deploy/pm2/ecosystem.config.js --only resi-miner   # or resi-validator, ...
//   pm2 save && pm2 startup                                      # start them again at boot
//
// What to edit: the four directories below (they match the systemd units' layout) and the
// role's config file (`resi config example miner > /etc/resi/miner.toml`): coordinator,
// scraper or verifier, [wallet] name and hotkey, metrics-addr, ... Flags in `args` win over the
// config file. Secrets (RESI_SECRET_RAPIDAPI_KEY, RESI_WALLET_PASSWORD, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY) are best exported in the shell that runs `pm2 start` (pm2 passes its
// environment on) rather than written here.
//
// Stopping: pm2 sends SIGINT, which resi handles as SIGTERM: the role stops taking work and
// exits within its 30 s shutdown bound (the miner's `shutdown-timeout`). kill_timeout is the
// wait before pm2's SIGKILL, so it stays above that bound; raise it with shutdown-timeout.

const CONFIG_DIR = "/etc/resi"; // <role>.toml
const STATE_DIR = "/var/lib/resi"; // <role>/ : SQLite state, kept across restarts
// --wallet.path: <name>/coldkeypub.txt and <name>/hotkeys/<hotkey> under it.
const WALLET_PATH = "/etc/resi/wallets";
const LOG_DIR = "/var/log/resi"; // rotate with `pm2 install pm2-logrotate`

// What every role shares.
function app(name, args) {
  return {
    name,
    script: "resi", // looked up on PATH (/usr/local/bin/resi)
    interpreter: "none", // a native binary, not a Node.js script
    exec_mode: "fork",
    instances: 1,
    args,
    cwd: `${STATE_DIR}/${name.replace(/^resi-/, "")}`,
    autorestart: true,
    max_restarts: 10, // in a row, each within min_uptime of its start
    min_uptime: "60s",
    restart_delay: 10000,
    kill_timeout: 40000, // ms; above the 30 s shutdown bound
    // resi logs to stderr; one file gets both streams, without pm2's own timestamps (the JSON
    // lines carry theirs).
    out_file: `${LOG_DIR}/${name}.log`,
    error_file: `${LOG_DIR}/${name}.log`,
    merge_logs: true,
    time: false,
    env: {
      // One JSON object per log line, for log shippers; "text" to read the files yourself.
      RESI_LOG_FORMAT: "json",
      RUST_LOG: "info",
    },
  };
}

module.exports = {
  apps: [
    app("resi-coordinator", [
      "coordinator",
      "--config", `${CONFIG_DIR}/coordinator.toml`,
      "--data-dir", `${STATE_DIR}/coordinator`,
    ]),
    app("resi-miner", [
      "miner", "run",
      "--config", `${CONFIG_DIR}/miner.toml`,
      "--data-dir", `${STATE_DIR}/miner`,
      "--wallet.path", WALLET_PATH,
    ]),
    app("resi-validator", [
      "validator", "run",
      "--config", `${CONFIG_DIR}/validator.toml`,
      "--db", `${STATE_DIR}/validator/validator.sqlite`,
      "--wallet.path", WALLET_PATH,
    ]),
  ],
};
