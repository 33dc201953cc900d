//! Bittensor wallet directories and keyfiles.
//!
//! Owns the on-disk conventions of the bittensor libraries:
//!
//! ```text
//! <path>/<name>/coldkey                 usually encrypted ($NACL...)
//! <path>/<name>/coldkeypub.txt          public JSON
//! <path>/<name>/hotkeys/<hotkey>        usually plain JSON
//! <path>/<name>/hotkeys/<hotkey>pub.txt public JSON (newer wallets only)
//! ```
//!
//! [`WalletLocation`] resolves the three names (`--wallet.path`, `--wallet.name`,
//! `--wallet.hotkey`, defaults `~/.bittensor/wallets/`, `default`, `default`, env fallbacks
//! `BT_WALLET_PATH`, `BT_WALLET_NAME`, `BT_WALLET_HOTKEY`); the wallet and hotkey names must be
//! single file names (no separator, `.` or `..`), so they cannot point outside the wallet
//! directory. Keyfiles are read up to [`MAX_KEYFILE_BYTES`]. [`Keyfile`] parses the JSON (random key
//! order, nulls tolerated) and derives the key with priority `secretPhrase` → `secretSeed` →
//! `privateKey`, checking the derived public key against `publicKey`/`ss58Address`. `privateKey`
//! is schnorrkel's scalar ‖ nonce as bittensor-wallet writes it; the ed25519-expanded form of older
//! substrate-interface wallets is accepted when it is the one matching the recorded public key.
//!
//! Encrypted `$NACL` keyfiles are `$NACL` ‖ 24-byte nonce ‖ XSalsa20-Poly1305 secretbox with key
//! argon2i v1.3 (t=8, m=512 MiB, p=1) of the password and a fixed salt. This module never prompts:
//! a caller passes the password, or [`password_from_env`] reads [`PASSWORD_ENV`]
//! (`RESI_WALLET_PASSWORD`). Decryption deliberately takes seconds.
//!
//! [`write_test_hotkey_wallet`] writes a plain (unencrypted) hotkey wallet in the format bittensor
//! writes, for generated TEST ONLY / devnet wallets.

use crate::keys::{Hotkey, KeyError, PublicKey, Ss58Error, phrase_seed};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Env var for the wallet directory (`--wallet.path`).
pub const ENV_WALLET_PATH: &str = "BT_WALLET_PATH";
/// Env var for the wallet name (`--wallet.name`).
pub const ENV_WALLET_NAME: &str = "BT_WALLET_NAME";
/// Env var for the hotkey name (`--wallet.hotkey`).
pub const ENV_WALLET_HOTKEY: &str = "BT_WALLET_HOTKEY";
/// Env var holding the password of an encrypted (`$NACL`) keyfile.
pub const PASSWORD_ENV: &str = "RESI_WALLET_PASSWORD";
/// Default wallet directory, `~` expanded at use.
pub const DEFAULT_WALLET_PATH: &str = "~/.bittensor/wallets/";
/// Default wallet and hotkey name.
pub const DEFAULT_NAME: &str = "default";
/// Largest keyfile read (bittensor keyfiles are under 1 KiB, encrypted ones a few hundred bytes).
pub const MAX_KEYFILE_BYTES: u64 = 64 * 1024;

const NACL_MAGIC: &[u8] = b"$NACL";
const NACL_NONCE_LEN: usize = 24;
const NACL_SALT: &[u8; 16] = b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1";
const ARGON2_T_COST: u32 = 8;
const ARGON2_M_COST_KIB: u32 = 512 * 1024;

/// Why a wallet or keyfile could not be read, decrypted or written.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// A wallet file is missing.
    #[error(
        "wallet file {path} does not exist (check --wallet.path, --wallet.name, --wallet.hotkey)"
    )]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// A wallet file could not be read or written.
    #[error("cannot access wallet file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not keyfile JSON.
    #[error("keyfile {path} is not valid keyfile JSON: {reason}")]
    BadJson {
        /// The file.
        path: PathBuf,
        /// What the JSON parser complained about.
        reason: String,
    },
    /// A field holds a malformed value.
    #[error("keyfile {path}: field {field} is invalid: {reason}")]
    BadField {
        /// The file.
        path: PathBuf,
        /// The JSON field name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The keyfile uses a key type other than sr25519.
    #[error("keyfile {path} has cryptoType {crypto_type}; only sr25519 (1) is supported")]
    UnsupportedCryptoType {
        /// The file.
        path: PathBuf,
        /// The crypto type found.
        crypto_type: i64,
    },
    /// The key derived from the secret does not match the recorded public key or address.
    #[error(
        "keyfile {path}: the key derived from {source_field} is {derived}, but the file says {field} = {recorded}"
    )]
    KeyMismatch {
        /// The file.
        path: PathBuf,
        /// Which secret field the key was derived from.
        source_field: &'static str,
        /// The field it was checked against.
        field: &'static str,
        /// The derived address.
        derived: String,
        /// The recorded value.
        recorded: String,
    },
    /// The keyfile holds only public data, but a signing key was requested.
    #[error("keyfile {path} holds no secret (only a public key/address); cannot sign with it")]
    PublicOnly {
        /// The file.
        path: PathBuf,
    },
    /// The keyfile holds neither a secret nor a public key.
    #[error("keyfile {path} holds no key at all")]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The keyfile is encrypted and no password was supplied.
    #[error("keyfile {path} is encrypted; set {PASSWORD_ENV} or enter the password when prompted")]
    PasswordRequired {
        /// The file.
        path: PathBuf,
    },
    /// The password does not decrypt the keyfile.
    #[error("wrong password for encrypted keyfile {path} (decryption failed)")]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },
    /// An encryption format this implementation does not read.
    #[error(
        "keyfile {path} uses an unsupported encryption format ({format}); re-encrypt it with a current bittensor-wallet"
    )]
    UnsupportedEncryption {
        /// The file.
        path: PathBuf,
        /// The detected format.
        format: &'static str,
    },
    /// Key derivation failed.
    #[error("keyfile {path}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The key error.
        #[source]
        source: KeyError,
    },
    /// A file that would be written already exists.
    #[error("refusing to overwrite existing wallet file {path}")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// `$NACL` encryption failed.
    #[error("cannot encrypt keyfile: {reason}")]
    Encrypt {
        /// What failed.
        reason: String,
    },
    /// The home directory is unknown, so `~` cannot be expanded.
    #[error("cannot expand '~' in wallet path {path}: HOME is not set")]
    NoHome {
        /// The path as given.
        path: String,
    },
    /// A wallet or hotkey name is not a single file name inside the wallet directory.
    #[error(
        "invalid {flag} {value:?}: a wallet or hotkey name must be a single file name \
         (no '/', '\\', '.' or '..'), not a path"
    )]
    InvalidName {
        /// The flag the name came from (`--wallet.name` or `--wallet.hotkey`).
        flag: &'static str,
        /// The name as given.
        value: String,
    },
    /// A keyfile is larger than [`MAX_KEYFILE_BYTES`].
    #[error("keyfile {path} is larger than {max} bytes; this is not a bittensor keyfile")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap.
        max: u64,
    },
}

/// Checks that `value` (of `flag`) is one normal path component: not empty, no separator,
/// not `.` or `..`, no NUL.
fn check_name(flag: &'static str, value: &str) -> Result<(), WalletError> {
    let mut parts = Path::new(value).components();
    let single = matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(c)), None) if c == std::ffi::OsStr::new(value)
    );
    if !single || value.contains(['/', '\\', '\0']) {
        return Err(WalletError::InvalidName {
            flag,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Where a wallet lives: directory, wallet name and hotkey name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletLocation {
    /// The wallets directory (`--wallet.path`), `~` already expanded.
    pub path: PathBuf,
    /// The wallet (coldkey) name (`--wallet.name`).
    pub name: String,
    /// The hotkey name (`--wallet.hotkey`).
    pub hotkey: String,
}

/// Expands a leading `~` or `~/` with `$HOME`.
pub fn expand_tilde(path: &str) -> Result<PathBuf, WalletError> {
    if path == "~" || path.starts_with("~/") {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| WalletError::NoHome {
                path: path.to_owned(),
            })?;
        let rest = path.trim_start_matches('~').trim_start_matches('/');
        Ok(PathBuf::from(home).join(rest))
    } else {
        Ok(PathBuf::from(path))
    }
}

impl WalletLocation {
    /// A location from explicit values; `path` may start with `~`. `name` and `hotkey` must be
    /// single file names ([`WalletError::InvalidName`] otherwise).
    pub fn new(path: &str, name: &str, hotkey: &str) -> Result<Self, WalletError> {
        let loc = Self {
            path: expand_tilde(path)?,
            name: name.to_owned(),
            hotkey: hotkey.to_owned(),
        };
        loc.check_names()?;
        Ok(loc)
    }

    /// Checks that the wallet and hotkey names are single file names, so every wallet file stays
    /// inside `<path>/<name>/` (the fields are public: loaders check again).
    pub fn check_names(&self) -> Result<(), WalletError> {
        check_name("--wallet.name", &self.name)?;
        check_name("--wallet.hotkey", &self.hotkey)
    }

    /// Each value from the argument if given, else its env var, else the bittensor default.
    pub fn resolve(
        path: Option<&str>,
        name: Option<&str>,
        hotkey: Option<&str>,
    ) -> Result<Self, WalletError> {
        fn pick(arg: Option<&str>, env: &str, default: &str) -> String {
            arg.map(str::to_owned)
                .or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
                .unwrap_or_else(|| default.to_owned())
        }
        Self::new(
            &pick(path, ENV_WALLET_PATH, DEFAULT_WALLET_PATH),
            &pick(name, ENV_WALLET_NAME, DEFAULT_NAME),
            &pick(hotkey, ENV_WALLET_HOTKEY, DEFAULT_NAME),
        )
    }

    /// `<path>/<name>`.
    pub fn wallet_dir(&self) -> PathBuf {
        self.path.join(&self.name)
    }

    /// `<path>/<name>/hotkeys/<hotkey>`.
    pub fn hotkey_file(&self) -> PathBuf {
        self.wallet_dir().join("hotkeys").join(&self.hotkey)
    }

    /// `<path>/<name>/hotkeys/<hotkey>pub.txt`.
    pub fn hotkey_pub_file(&self) -> PathBuf {
        self.wallet_dir()
            .join("hotkeys")
            .join(format!("{}pub.txt", self.hotkey))
    }

    /// `<path>/<name>/coldkey`.
    pub fn coldkey_file(&self) -> PathBuf {
        self.wallet_dir().join("coldkey")
    }

    /// `<path>/<name>/coldkeypub.txt`.
    pub fn coldkeypub_file(&self) -> PathBuf {
        self.wallet_dir().join("coldkeypub.txt")
    }

    /// Loads the hotkey for signing; an encrypted hotkey file uses [`password_from_env`].
    pub fn load_hotkey(&self) -> Result<Hotkey, WalletError> {
        self.load_hotkey_with_password(password_from_env().as_deref())
    }

    /// Loads the hotkey for signing, decrypting with `password` if the file is encrypted.
    pub fn load_hotkey_with_password(&self, password: Option<&str>) -> Result<Hotkey, WalletError> {
        self.check_names()?;
        Keyfile::read(&self.hotkey_file(), password)?.hotkey()
    }

    /// The hotkey's public key: from `<hotkey>pub.txt` if present, else from the hotkey file.
    pub fn hotkey_public(&self) -> Result<PublicKey, WalletError> {
        self.check_names()?;
        let pub_file = self.hotkey_pub_file();
        if pub_file.exists() {
            return Keyfile::read(&pub_file, None)?.public_key();
        }
        Keyfile::read(&self.hotkey_file(), password_from_env().as_deref())?.public_key()
    }

    /// The coldkey's public key, from `coldkeypub.txt`.
    pub fn coldkey_public(&self) -> Result<PublicKey, WalletError> {
        check_name("--wallet.name", &self.name)?;
        Keyfile::read(&self.coldkeypub_file(), None)?.public_key()
    }

    /// Loads (decrypting) the coldkey. Hosts never need this; it exists for tools and tests.
    pub fn load_coldkey(&self, password: Option<&str>) -> Result<Hotkey, WalletError> {
        check_name("--wallet.name", &self.name)?;
        Keyfile::read(&self.coldkey_file(), password)?.hotkey()
    }
}

/// The password from [`PASSWORD_ENV`], if set and non-empty.
pub fn password_from_env() -> Option<String> {
    std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty())
}

/// A bittensor keyfile's JSON. Every field is optional and may be `null`; key order is free.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyfileJson {
    /// `0x` + 32-byte public key (same as `publicKey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `0x` + 32-byte public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// `0x` + 64-byte schnorrkel secret (scalar ‖ nonce).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// BIP39 mnemonic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_phrase: Option<String>,
    /// `0x` + 32-byte mini-secret seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_seed: Option<String>,
    /// SS58 address (prefix 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ss58_address: Option<String>,
    /// 1 = sr25519; absent means sr25519.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crypto_type: Option<i64>,
}

/// A parsed keyfile together with the path it came from (for error messages).
#[derive(Debug, Clone)]
pub struct Keyfile {
    path: PathBuf,
    json: KeyfileJson,
}

/// True if keyfile bytes are `$NACL`-encrypted.
pub fn is_nacl_encrypted(data: &[u8]) -> bool {
    data.starts_with(NACL_MAGIC)
}

fn nacl_key(password: &str) -> Result<[u8; 32], argon2::Error> {
    let params = argon2::Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, 1, Some(32))?;
    let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    kdf.hash_password_into(password.as_bytes(), NACL_SALT, &mut key)?;
    Ok(key)
}

/// Decrypts `$NACL` keyfile bytes with `password`. `path` is used only in error messages.
pub fn nacl_decrypt(path: &Path, data: &[u8], password: &str) -> Result<Vec<u8>, WalletError> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let body = data
        .strip_prefix(NACL_MAGIC)
        .ok_or_else(|| WalletError::UnsupportedEncryption {
            path: path.to_owned(),
            format: "not $NACL",
        })?;
    if body.len() < NACL_NONCE_LEN + 16 {
        return Err(WalletError::BadField {
            path: path.to_owned(),
            field: "$NACL payload",
            reason: format!("only {} bytes after the $NACL marker", body.len()),
        });
    }
    let (nonce, ciphertext) = body.split_at(NACL_NONCE_LEN);
    let key = nacl_key(password).map_err(|e| WalletError::BadField {
        path: path.to_owned(),
        field: "$NACL key derivation",
        reason: e.to_string(),
    })?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new((&key).into());
    cipher
        .decrypt(nonce.into(), ciphertext)
        .map_err(|_| WalletError::WrongPassword {
            path: path.to_owned(),
        })
}

/// Encrypts keyfile bytes as `$NACL` with `password` and the given 24-byte nonce.
///
/// For tests and tools; resi itself only writes plain TEST ONLY hotkeys.
pub fn nacl_encrypt(
    plaintext: &[u8],
    password: &str,
    nonce: &[u8; 24],
) -> Result<Vec<u8>, WalletError> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let fail = |reason: String| WalletError::Encrypt { reason };
    let key = nacl_key(password).map_err(|e| fail(e.to_string()))?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new((&key).into());
    let ct = cipher
        .encrypt(nonce.into(), plaintext)
        .map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::with_capacity(NACL_MAGIC.len() + nonce.len() + ct.len());
    out.extend_from_slice(NACL_MAGIC);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Keyfile {
    /// Reads and parses a keyfile of at most [`MAX_KEYFILE_BYTES`], decrypting it if it is
    /// `$NACL`-encrypted.
    pub fn read(path: &Path, password: Option<&str>) -> Result<Self, WalletError> {
        use std::io::Read as _;
        let io = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::NotFound {
                WalletError::NotFound {
                    path: path.to_owned(),
                }
            } else {
                WalletError::Io {
                    path: path.to_owned(),
                    source: e,
                }
            }
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // Read one byte past the cap to tell "exactly the cap" from "larger".
        let mut data = Vec::new();
        file.take(MAX_KEYFILE_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(io)?;
        if data.len() as u64 > MAX_KEYFILE_BYTES {
            return Err(WalletError::TooLarge {
                path: path.to_owned(),
                max: MAX_KEYFILE_BYTES,
            });
        }
        Self::parse(path, &data, password)
    }

    /// Parses keyfile bytes (plain JSON or `$NACL`); `path` is used only in error messages.
    pub fn parse(path: &Path, data: &[u8], password: Option<&str>) -> Result<Self, WalletError> {
        let unsupported = |format| WalletError::UnsupportedEncryption {
            path: path.to_owned(),
            format,
        };
        let plain;
        let json_bytes: &[u8] = if is_nacl_encrypted(data) {
            let password = password.ok_or_else(|| WalletError::PasswordRequired {
                path: path.to_owned(),
            })?;
            plain = nacl_decrypt(path, data, password)?;
            &plain
        } else if data.starts_with(b"$ANSIBLE_VAULT") {
            return Err(unsupported("ansible vault"));
        } else if data.starts_with(b"gAAAAA") {
            return Err(unsupported("legacy fernet"));
        } else {
            data
        };
        let json: KeyfileJson =
            serde_json::from_slice(json_bytes).map_err(|e| WalletError::BadJson {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        if let Some(ct) = json.crypto_type
            && ct != 1
        {
            return Err(WalletError::UnsupportedCryptoType {
                path: path.to_owned(),
                crypto_type: ct,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            json,
        })
    }

    /// The parsed JSON.
    pub fn json(&self) -> &KeyfileJson {
        &self.json
    }

    fn bad(&self, field: &'static str, reason: impl ToString) -> WalletError {
        WalletError::BadField {
            path: self.path.clone(),
            field,
            reason: reason.to_string(),
        }
    }

    fn key_err(&self, source: KeyError) -> WalletError {
        WalletError::Key {
            path: self.path.clone(),
            source,
        }
    }

    /// The public key recorded in the file (`publicKey`, `accountId`, or `ss58Address`), all of
    /// which must agree when present.
    fn recorded_public(&self) -> Result<Option<(PublicKey, &'static str, String)>, WalletError> {
        let mut found: Option<(PublicKey, &'static str, String)> = None;
        let mut check = |key: PublicKey, field: &'static str, raw: &str| {
            if let Some((prev, prev_field, prev_raw)) = &found
                && *prev != key
            {
                return Err(WalletError::KeyMismatch {
                    path: self.path.clone(),
                    source_field: prev_field,
                    field,
                    derived: format!("{prev_raw} ({})", prev.to_ss58()),
                    recorded: raw.to_owned(),
                });
            }
            if found.is_none() {
                found = Some((key, field, raw.to_owned()));
            }
            Ok(())
        };
        if let Some(s) = nonempty(&self.json.public_key) {
            let k = PublicKey::from_hex(s).map_err(|e| self.bad("publicKey", e))?;
            check(k, "publicKey", s)?;
        }
        if let Some(s) = nonempty(&self.json.account_id) {
            let k = PublicKey::from_hex(s).map_err(|e| self.bad("accountId", e))?;
            check(k, "accountId", s)?;
        }
        if let Some(s) = nonempty(&self.json.ss58_address) {
            let k = PublicKey::from_ss58(s).map_err(|e: Ss58Error| self.bad("ss58Address", e))?;
            check(k, "ss58Address", s)?;
        }
        Ok(found)
    }

    fn derive(&self) -> Result<Option<(Hotkey, &'static str)>, WalletError> {
        if let Some(phrase) = nonempty(&self.json.secret_phrase) {
            let k = Hotkey::from_phrase(phrase).map_err(|e| self.key_err(e))?;
            return Ok(Some((k, "secretPhrase")));
        }
        if let Some(seed) = nonempty(&self.json.secret_seed) {
            let bytes = hex::decode(seed.trim_start_matches("0x"))
                .map_err(|e| self.bad("secretSeed", e))?;
            let seed: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
                self.bad("secretSeed", format!("expected 32 bytes, got {}", b.len()))
            })?;
            return Ok(Some((Hotkey::from_seed(&seed), "secretSeed")));
        }
        if let Some(private) = nonempty(&self.json.private_key) {
            let bytes = hex::decode(private.trim_start_matches("0x"))
                .map_err(|e| self.bad("privateKey", e))?;
            // bittensor-wallet >= 3 writes scalar ‖ nonce; older substrate-interface wallets wrote
            // the ed25519-expanded form. Use the form that matches the recorded public key.
            let recorded = self.recorded_public()?.map(|(k, _, _)| k);
            let fits = |k: &Hotkey| recorded.is_none_or(|r| r == k.public());
            let standard = Hotkey::from_secret_bytes(&bytes);
            if let Ok(k) = &standard
                && fits(k)
            {
                return Ok(Some((k.clone(), "privateKey")));
            }
            if let Ok(ed) = Hotkey::from_ed25519_secret_bytes(&bytes)
                && fits(&ed)
            {
                return Ok(Some((ed, "privateKey")));
            }
            // Neither fits: report the standard form (mismatch or parse error).
            let k = standard.map_err(|e| self.key_err(e))?;
            return Ok(Some((k, "privateKey")));
        }
        Ok(None)
    }

    /// The signing key, derived with priority `secretPhrase` → `secretSeed` → `privateKey` and
    /// checked against the recorded public key / address.
    pub fn hotkey(&self) -> Result<Hotkey, WalletError> {
        let Some((key, source_field)) = self.derive()? else {
            return Err(match self.recorded_public()? {
                Some(_) => WalletError::PublicOnly {
                    path: self.path.clone(),
                },
                None => WalletError::NoKey {
                    path: self.path.clone(),
                },
            });
        };
        if let Some((recorded, field, raw)) = self.recorded_public()?
            && recorded != key.public()
        {
            return Err(WalletError::KeyMismatch {
                path: self.path.clone(),
                source_field,
                field,
                derived: key.ss58(),
                recorded: raw,
            });
        }
        Ok(key)
    }

    /// The public key: derived from the secret if there is one (and checked), else the recorded
    /// `publicKey`/`accountId`/`ss58Address`.
    pub fn public_key(&self) -> Result<PublicKey, WalletError> {
        if self.derive()?.is_some() {
            return Ok(self.hotkey()?.public());
        }
        match self.recorded_public()? {
            Some((k, _, _)) => Ok(k),
            None => Err(WalletError::NoKey {
                path: self.path.clone(),
            }),
        }
    }
}

/// Where the key of a generated TEST ONLY wallet comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A fresh random 12-word mnemonic (written to `secretPhrase`).
    RandomMnemonic,
    /// A BIP39 mnemonic.
    Mnemonic(String),
    /// A dev URI such as `//Alice` (only `privateKey` is written, as bittensor does).
    Uri(String),
}

/// What [`write_test_hotkey_wallet`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenWallet {
    /// The hotkey.
    pub hotkey: Hotkey,
    /// The mnemonic, if the key came from one.
    pub phrase: Option<String>,
    /// The files written (`coldkeypub.txt` only if it was (re)written).
    pub files: Vec<PathBuf>,
}

fn public_json(key: &PublicKey) -> KeyfileJson {
    KeyfileJson {
        account_id: Some(key.to_hex_0x()),
        public_key: Some(key.to_hex_0x()),
        ss58_address: Some(key.to_ss58()),
        crypto_type: Some(1),
        ..KeyfileJson::default()
    }
}

fn write_new(path: &Path, contents: &[u8], overwrite: bool) -> Result<(), WalletError> {
    use std::io::Write as _;
    let io = |source| WalletError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if overwrite {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            WalletError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            io(e)
        }
    })?;
    f.write_all(contents).map_err(io)
}

/// Writes a **TEST ONLY**, unencrypted hotkey wallet at `loc` in the format bittensor writes:
/// `hotkeys/<hotkey>` (JSON keyfile with the secret), `hotkeys/<hotkey>pub.txt` and
/// `coldkeypub.txt` (for `coldkey`; kept as is if it already names that coldkey, so several
/// hotkeys can share a wallet). Files are created mode 0600; existing files are an error unless
/// `overwrite` is true. Never use this for keys that hold value.
pub fn write_test_hotkey_wallet(
    loc: &WalletLocation,
    source: &KeySource,
    coldkey: &PublicKey,
    overwrite: bool,
) -> Result<WrittenWallet, WalletError> {
    loc.check_names()?;
    let hk_path = loc.hotkey_file();
    let key_err = |source| WalletError::Key {
        path: hk_path.clone(),
        source,
    };
    let (hotkey, phrase) = match source {
        KeySource::RandomMnemonic => {
            let (k, p) = Hotkey::generate();
            (k, Some(p))
        }
        KeySource::Mnemonic(p) => (Hotkey::from_phrase(p).map_err(key_err)?, Some(p.clone())),
        KeySource::Uri(u) => (Hotkey::from_uri(u).map_err(key_err)?, None),
    };
    let mut json = public_json(&hotkey.public());
    json.private_key = Some(format!("0x{}", hex::encode(hotkey.secret_bytes())));
    if let Some(p) = &phrase {
        json.secret_phrase = Some(p.clone());
        json.secret_seed = Some(format!(
            "0x{}",
            hex::encode(phrase_seed(p).map_err(key_err)?)
        ));
    }
    let to_bytes = |j: &KeyfileJson| serde_json::to_vec(j).unwrap_or_default();
    let pub_path = loc.hotkey_pub_file();
    let cold_path = loc.coldkeypub_file();
    // Several hotkeys share one coldkeypub.txt: keep it if it already names this coldkey.
    let cold_matches = cold_path.exists()
        && Keyfile::read(&cold_path, None)
            .and_then(|k| k.public_key())
            .is_ok_and(|k| k == *coldkey);
    if !overwrite {
        // Check everything first so a refused write leaves no half-written wallet.
        for p in [&hk_path, &pub_path] {
            if p.exists() {
                return Err(WalletError::AlreadyExists { path: p.clone() });
            }
        }
        if cold_path.exists() && !cold_matches {
            return Err(WalletError::AlreadyExists { path: cold_path });
        }
    }
    write_new(&hk_path, &to_bytes(&json), overwrite)?;
    write_new(
        &pub_path,
        &to_bytes(&public_json(&hotkey.public())),
        overwrite,
    )?;
    let mut files = vec![hk_path, pub_path];
    if !cold_matches {
        write_new(&cold_path, &to_bytes(&public_json(coldkey)), overwrite)?;
        files.push(cold_path);
    }
    Ok(WrittenWallet {
        hotkey,
        phrase,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    fn parse(s: &str) -> Result<Keyfile, WalletError> {
        Keyfile::parse(Path::new("mem"), s.as_bytes(), None)
    }

    #[test]
    fn nulls_and_public_only() {
        let kf = parse(&format!(
            r#"{{"secretPhrase":null,"secretSeed":null,"privateKey":null,"ss58Address":"{ALICE}","publicKey":null}}"#
        ))
        .unwrap();
        assert_eq!(kf.public_key().unwrap().to_ss58(), ALICE);
        assert!(matches!(kf.hotkey(), Err(WalletError::PublicOnly { .. })));
        assert!(matches!(
            parse("{}").unwrap().public_key(),
            Err(WalletError::NoKey { .. })
        ));
    }

    #[test]
    fn mismatch_is_reported() {
        let bob = Hotkey::from_uri("//Bob").unwrap();
        let kf = parse(&format!(
            r#"{{"privateKey":"0x{}","ss58Address":"{ALICE}"}}"#,
            hex::encode(bob.secret_bytes())
        ))
        .unwrap();
        let err = kf.hotkey().unwrap_err();
        assert!(matches!(err, WalletError::KeyMismatch { .. }), "{err}");
        assert!(err.to_string().contains("privateKey"));
    }

    #[test]
    fn legacy_ed25519_form_private_key_loads() {
        let alice = Hotkey::from_uri("//Alice").unwrap();
        let sk = schnorrkel::SecretKey::from_bytes(&alice.secret_bytes()).unwrap();
        let kf = parse(&format!(
            r#"{{"privateKey":"0x{}","publicKey":"{}"}}"#,
            hex::encode(sk.to_ed25519_bytes()),
            alice.public().to_hex_0x()
        ))
        .unwrap();
        assert_eq!(kf.hotkey().unwrap().ss58(), ALICE);
    }

    #[test]
    fn rejects_other_crypto_and_garbage() {
        assert!(matches!(
            parse(r#"{"cryptoType":2}"#),
            Err(WalletError::UnsupportedCryptoType { crypto_type: 2, .. })
        ));
        assert!(matches!(
            parse("not json"),
            Err(WalletError::BadJson { .. })
        ));
        assert!(matches!(
            Keyfile::parse(Path::new("mem"), b"$NACLxxxx", None),
            Err(WalletError::PasswordRequired { .. })
        ));
        let err = parse(r#"{"secretSeed":"0x1234"}"#)
            .unwrap()
            .hotkey()
            .unwrap_err();
        assert!(err.to_string().contains("secretSeed"), "{err}");
    }

    #[test]
    fn tilde_and_resolution() {
        let loc = WalletLocation::new("/w", "cold", "hot").unwrap();
        assert_eq!(loc.hotkey_file(), PathBuf::from("/w/cold/hotkeys/hot"));
        assert_eq!(
            loc.hotkey_pub_file(),
            PathBuf::from("/w/cold/hotkeys/hotpub.txt")
        );
        assert_eq!(
            loc.coldkeypub_file(),
            PathBuf::from("/w/cold/coldkeypub.txt")
        );
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                expand_tilde("~/.bittensor/wallets/").unwrap(),
                PathBuf::from(home).join(".bittensor/wallets/")
            );
        }
    }
}
