//! Who takes part in a devnet: TEST ONLY hotkeys derived from `//Name` URIs, written as
//! bittensor wallets under the data directory and registered on the local chain. Honest miners
//! differ in speed (how long after the epoch starts they begin); with adversaries, a
//! fabricator, a duplicator, a late miner and a honeypot abuser join them.

use anyhow::Context;
use resi_chain::LocalChain;
use resi_core::keys::Hotkey;
use resi_core::wallet::{KeySource, WalletLocation, write_test_hotkey_wallet};
use serde::Serialize;
use std::path::Path;

/// What a participant does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the real miner pipeline, starting this many seconds after the epoch starts.
    Honest {
        /// Start delay in seconds (the miner's "speed").
        start_after_secs: i64,
    },
    /// Invents listings (ids the market never had) for every real zipcode, submitted first.
    Fabricator,
    /// Submits real listings, each one twice, to reach the expected count.
    Duplicator,
    /// Honest data, uploaded after the deadline and its grace.
    Late,
    /// Honest data where homes exist, invented homes where the market has none (honeypots).
    HoneypotAbuser,
    /// A validator.
    Validator,
}

impl Role {
    /// Short label for tables.
    pub fn label(&self) -> String {
        match self {
            Role::Honest { start_after_secs } => format!("honest +{start_after_secs}s"),
            Role::Fabricator => "fabricator".into(),
            Role::Duplicator => "duplicator".into(),
            Role::Late => "late".into(),
            Role::HoneypotAbuser => "honeypot-abuser".into(),
            Role::Validator => "validator".into(),
        }
    }

    /// True for the adversarial miners (who must end at weight 0).
    pub fn is_adversary(&self) -> bool {
        !matches!(self, Role::Honest { .. } | Role::Validator)
    }
}

/// One participant.
#[derive(Debug, Clone)]
pub struct Member {
    /// Name in tables and wallet file names (`miner1`, `fabricator`, `validator2`, ...).
    pub name: String,
    /// What it does.
    pub role: Role,
    /// Its TEST ONLY hotkey.
    pub hotkey: Hotkey,
    /// Its uid on the local chain.
    pub uid: Option<u16>,
}

/// Everybody in the devnet.
#[derive(Debug, Clone)]
pub struct Cast {
    /// Coldkey address shared by every hotkey (`//Owner`).
    pub coldkey: String,
    /// Honest miners first, then adversaries.
    pub miners: Vec<Member>,
    /// Validators.
    pub validators: Vec<Member>,
}

fn capitalized(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Creates the cast: wallets under `wallets_dir` (wallet name `devnet`, hotkey = member name)
/// and registrations on `netuid` (validators with a permit).
pub fn enlist(
    chain: &LocalChain,
    netuid: u16,
    wallets_dir: &Path,
    honest: u32,
    stagger_secs: i64,
    adversaries: bool,
    validators: u32,
) -> anyhow::Result<Cast> {
    let owner = Hotkey::from_uri("//Owner")?;
    let make = |name: String, role: Role| -> anyhow::Result<Member> {
        let uri = format!("//{}", capitalized(&name));
        let loc = WalletLocation::new(&wallets_dir.to_string_lossy(), "devnet", &name)?;
        let wallet = write_test_hotkey_wallet(&loc, &KeySource::Uri(uri), &owner.public(), true)
            .with_context(|| format!("writing the TEST ONLY wallet of {name}"))?;
        let permit = role == Role::Validator;
        chain
            .register(netuid, &wallet.hotkey.public(), permit)
            .with_context(|| format!("registering {name}"))?;
        let uid = chain.uid_of_now(netuid, &wallet.hotkey.public())?;
        Ok(Member {
            name,
            role,
            hotkey: wallet.hotkey,
            uid,
        })
    };
    let mut miners = Vec::new();
    for n in 1..=honest {
        let start_after_secs = 1 + stagger_secs * i64::from(n - 1);
        miners.push(make(
            format!("miner{n}"),
            Role::Honest { start_after_secs },
        )?);
    }
    if adversaries {
        for (name, role) in [
            ("fabricator", Role::Fabricator),
            ("duplicator", Role::Duplicator),
            ("late", Role::Late),
            ("honeypot-abuser", Role::HoneypotAbuser),
        ] {
            miners.push(make(name.into(), role)?);
        }
    }
    let mut vals = Vec::new();
    for n in 1..=validators {
        vals.push(make(format!("validator{n}"), Role::Validator)?);
    }
    Ok(Cast {
        coldkey: owner.ss58(),
        miners,
        validators: vals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_capitalized_names() {
        assert_eq!(capitalized("miner1"), "Miner1");
        assert_eq!(capitalized("honeypot-abuser"), "HoneypotAbuser");
    }

    #[test]
    fn adversaries_and_labels() {
        assert!(Role::Late.is_adversary());
        assert!(
            !Role::Honest {
                start_after_secs: 3
            }
            .is_adversary()
        );
        assert_eq!(
            Role::Honest {
                start_after_secs: 3
            }
            .label(),
            "honest +3s"
        );
    }
}
