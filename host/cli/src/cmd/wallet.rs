//! `resi wallet`: show addresses of, sign with and verify for a Bittensor hotkey.
//!
//! Also owns [`WalletArgs`], the `--wallet.path/--wallet.name/--wallet.hotkey` flags (with the
//! bittensor env fallbacks) that the miner and validator commands reuse, and
//! [`WalletArgs::load_hotkey`], which asks for the password of an encrypted hotkey when needed.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use resi_core::keys::verify_hex;
use resi_core::wallet::{PASSWORD_ENV, WalletError, WalletLocation, password_from_env};
use resi_core::{Hotkey, PublicKey};
use std::io::IsTerminal as _;
use std::process::ExitCode;

/// Which wallet and hotkey to use, with bittensor's flags, env vars and defaults.
#[derive(Debug, Clone, Args)]
pub struct WalletArgs {
    /// Directory holding the wallets.
    #[arg(
        long = "wallet.path",
        env = "BT_WALLET_PATH",
        default_value = "~/.bittensor/wallets/",
        value_name = "DIR"
    )]
    pub wallet_path: String,
    /// Wallet (coldkey) name: the folder under --wallet.path.
    #[arg(
        long = "wallet.name",
        env = "BT_WALLET_NAME",
        default_value = "default",
        value_name = "NAME"
    )]
    pub wallet_name: String,
    /// Hotkey name: the file under <wallet>/hotkeys/.
    #[arg(
        long = "wallet.hotkey",
        env = "BT_WALLET_HOTKEY",
        default_value = "default",
        value_name = "HOTKEY"
    )]
    pub wallet_hotkey: String,
}

impl WalletArgs {
    /// The resolved wallet location (`~` expanded).
    pub fn location(&self) -> anyhow::Result<WalletLocation> {
        Ok(WalletLocation::new(
            &self.wallet_path,
            &self.wallet_name,
            &self.wallet_hotkey,
        )?)
    }

    /// Loads the hotkey for signing. An encrypted hotkey is decrypted with `RESI_WALLET_PASSWORD`
    /// if set, else with a password read from the terminal.
    pub fn load_hotkey(&self) -> anyhow::Result<Hotkey> {
        let loc = self.location()?;
        match loc.load_hotkey_with_password(password_from_env().as_deref()) {
            Err(WalletError::PasswordRequired { path }) => {
                if !std::io::stdin().is_terminal() {
                    anyhow::bail!(
                        "hotkey file {} is encrypted and there is no terminal to ask for its password; set {PASSWORD_ENV}",
                        path.display()
                    );
                }
                let pw = rpassword::prompt_password(format!(
                    "Password for encrypted hotkey {}: ",
                    path.display()
                ))
                .context("cannot read the password from the terminal")?;
                Ok(loc.load_hotkey_with_password(Some(&pw))?)
            }
            other => Ok(other?),
        }
    }
}

const SHOW_LONG: &str = "\
Print the hotkey and coldkey addresses of a wallet. Never prints secrets.

The hotkey address comes from <hotkey>pub.txt when present, else from the hotkey file; the
coldkey address comes from coldkeypub.txt (the coldkey itself is never opened).

Examples:
  resi wallet show
  resi wallet show --wallet.name miner --wallet.hotkey hk1
  BT_WALLET_PATH=tests/fixtures/bittensor/wallet resi wallet show --wallet.name sn46test --wallet.hotkey miner1";

const SIGN_LONG: &str = "\
Sign a message with the hotkey and print the signature: 128 lowercase hex chars, no 0x.

The signature is sr25519 with signing context \"substrate\" over the UTF-8 bytes of the message,
exactly what the bittensor libraries produce and what the SN46 API expects. Signatures are
randomized: signing twice gives different (equally valid) output.
An encrypted hotkey is decrypted with $RESI_WALLET_PASSWORD, or a password asked on the terminal.

Examples:
  resi wallet sign zipcode:assignment:current:$(date +%s)
  resi wallet sign --wallet.name miner --wallet.hotkey hk1 \"s3:validator:access:1759336626\"";

const VERIFY_LONG: &str = "\
Check that a signature is the given hotkey's signature of a message. Exits 0 if it is, 1 if not.

Accepts a signature over the raw message or over <Bytes>message</Bytes> (the polkadot.js form),
like the bittensor libraries. The signature may carry a 0x prefix.

Examples:
  resi wallet verify --ss58 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY \\
      --signature 5efc09c4...8f2e8f zipcode:assignment:current:1700000000
  resi wallet verify --ss58 \"$(resi wallet show --hotkey-only)\" --signature \"$SIG\" \"$MSG\"";

/// Wallet subcommands.
#[derive(Debug, Subcommand)]
pub enum WalletCmd {
    /// Print the hotkey and coldkey addresses of a wallet (never secrets).
    #[command(long_about = SHOW_LONG)]
    Show {
        /// Which wallet.
        #[command(flatten)]
        wallet: WalletArgs,
        /// Print only the hotkey's SS58 address (for scripts).
        #[arg(long)]
        hotkey_only: bool,
    },
    /// Sign a message with the hotkey; prints the hex signature.
    #[command(long_about = SIGN_LONG)]
    Sign {
        /// Which wallet.
        #[command(flatten)]
        wallet: WalletArgs,
        /// The message (signed as its UTF-8 bytes).
        message: String,
    },
    /// Verify a hotkey's signature of a message; exit status 0 = valid, 1 = invalid.
    #[command(long_about = VERIFY_LONG)]
    Verify {
        /// The signer's SS58 address (prefix 42).
        #[arg(long, value_name = "ADDRESS")]
        ss58: String,
        /// The signature: 128 hex chars, optional 0x.
        #[arg(long, value_name = "HEX")]
        signature: String,
        /// The message that was signed.
        message: String,
    },
}

/// Runs a wallet subcommand.
pub fn run(cmd: WalletCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        WalletCmd::Show {
            wallet,
            hotkey_only,
        } => show(&wallet, hotkey_only),
        WalletCmd::Sign { wallet, message } => {
            let key = wallet.load_hotkey()?;
            println!("{}", key.sign(message.as_bytes()).to_hex());
            Ok(ExitCode::SUCCESS)
        }
        WalletCmd::Verify {
            ss58,
            signature,
            message,
        } => match verify_hex(&ss58, message.as_bytes(), &signature) {
            Ok(()) => {
                println!("valid: signature by {ss58}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                println!("invalid: {e}");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}

fn show(wallet: &WalletArgs, hotkey_only: bool) -> anyhow::Result<ExitCode> {
    let loc = wallet.location()?;
    let hotkey: PublicKey = loc.hotkey_public()?;
    if hotkey_only {
        println!("{hotkey}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("wallet:  {}", loc.wallet_dir().display());
    println!("hotkey:  {} ({hotkey})", loc.hotkey);
    match loc.coldkey_public() {
        Ok(cold) => println!("coldkey: {cold}"),
        Err(WalletError::NotFound { path }) => {
            println!("coldkey: unknown (no {})", path.display());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        cmd: WalletCmd,
    }

    #[test]
    fn flags_parse_with_dots() {
        let t = T::try_parse_from([
            "t",
            "sign",
            "--wallet.path",
            "/w",
            "--wallet.name",
            "n",
            "--wallet.hotkey",
            "h",
            "msg",
        ])
        .unwrap();
        let WalletCmd::Sign { wallet, message } = t.cmd else {
            panic!("not sign")
        };
        assert_eq!(
            (wallet.wallet_path.as_str(), wallet.wallet_name.as_str()),
            ("/w", "n")
        );
        assert_eq!(
            (wallet.wallet_hotkey.as_str(), message.as_str()),
            ("h", "msg")
        );
    }

    #[test]
    fn signs_with_the_test_wallet_and_verifies() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/bittensor/wallet"
        );
        let args = WalletArgs {
            wallet_path: dir.to_owned(),
            wallet_name: "sn46test".to_owned(),
            wallet_hotkey: "miner1".to_owned(),
        };
        let key = args.load_hotkey().unwrap();
        let sig = key.sign(b"m").to_hex();
        verify_hex(&key.ss58(), b"m", &sig).unwrap();
        let code = run(WalletCmd::Verify {
            ss58: key.ss58(),
            signature: sig,
            message: "other".into(),
        })
        .unwrap();
        assert_eq!(code, ExitCode::FAILURE);
    }
}
