//! The identity of a listing under the uniqueness gate G2: its `zpid` when present and
//! non-empty, its `mls_id` when present and non-empty, and its normalized address when
//! non-empty ([`crate::address`]). Two listings of one submission that share any of the three
//! make it fail G2. The miner drops such listings before it submits (keeping the first), so
//! what it submits passes.

use crate::address;
use alloc::string::String;
use alloc::vec::Vec;

/// `v` when it is present and non-empty.
pub fn present(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

/// The three keys of one listing under G2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity<'a> {
    /// Non-empty zpid.
    pub zpid: Option<&'a str>,
    /// Non-empty MLS number.
    pub mls_id: Option<&'a str>,
    /// Normalized address; `None` when it normalizes to "".
    pub address: Option<String>,
}

impl<'a> Identity<'a> {
    /// The identity of a listing with these fields.
    pub fn of(zpid: Option<&'a str>, mls_id: Option<&'a str>, address: &str) -> Self {
        let address = address::normalize(address);
        Identity {
            zpid: present(zpid),
            mls_id: present(mls_id),
            address: (!address.is_empty()).then_some(address),
        }
    }
}

/// G2 over a whole submission: collects the keys of every listing ([`Uniqueness::push`]) and
/// tells whether any key is shared ([`Uniqueness::passes`]). Duplicates are found by sorting
/// (by a fixed hash first, then the key itself), so the check takes `O(n log n)` whatever the
/// input (colliding hashes only fall back to comparing the keys) and its result does not
/// depend on the order of the listings.
#[derive(Debug, Default)]
pub struct Uniqueness<'a> {
    zpids: Vec<&'a str>,
    mls_ids: Vec<&'a str>,
    /// Normalized addresses (UTF-8), back to back.
    arena: Vec<u8>,
    /// `(start, end)` of each non-empty normalized address in `arena`.
    addresses: Vec<(usize, usize)>,
}

impl<'a> Uniqueness<'a> {
    /// A check sized for `n` listings.
    pub fn with_capacity(n: usize) -> Self {
        Uniqueness {
            zpids: Vec::with_capacity(n),
            mls_ids: Vec::with_capacity(n),
            arena: Vec::with_capacity(n * 24),
            addresses: Vec::with_capacity(n),
        }
    }

    /// Adds one listing's keys.
    pub fn push(&mut self, zpid: Option<&'a str>, mls_id: Option<&'a str>, address: &str) {
        if let Some(z) = present(zpid) {
            self.zpids.push(z);
        }
        if let Some(m) = present(mls_id) {
            self.mls_ids.push(m);
        }
        let start = self.arena.len();
        address::normalize_bytes_into(address, &mut self.arena);
        if self.arena.len() > start {
            self.addresses.push((start, self.arena.len()));
        }
    }

    /// True when no two listings pushed share a key.
    pub fn passes(self) -> bool {
        let arena = self.arena.as_slice();
        distinct(self.zpids.iter().map(|k| k.as_bytes()))
            && distinct(self.mls_ids.iter().map(|k| k.as_bytes()))
            && distinct(
                self.addresses
                    .iter()
                    .map(|&(s, e)| arena.get(s..e).unwrap_or(&[])),
            )
    }
}

/// True when no two of `keys` are equal: sorted by (hash, key), equal keys end up next to each
/// other. The hash only makes most comparisons cheap; keys with equal hashes are compared
/// whole, so the result is exact, and crafted collisions cost no more than sorting the
/// strings themselves.
fn distinct<'k>(keys: impl Iterator<Item = &'k [u8]>) -> bool {
    let mut v: Vec<(u64, &[u8])> = keys.map(|k| (key_hash(k), k)).collect();
    v.sort_unstable();
    v.windows(2).all(|w| w[0] != w[1])
}

/// A fast, fixed 64-bit hash of a key (multiply-rotate over 8-byte words).
fn key_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let step = |h: u64, w: u64| (h.rotate_left(26) ^ w).wrapping_mul(K);
    let mut h = step(0, bytes.len() as u64);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        h = step(h, u64::from_le_bytes(a));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut a = [0u8; 8];
        a[..rest.len()].copy_from_slice(rest);
        h = step(h, u64::from_le_bytes(a));
    }
    h ^ (h >> 29)
}

/// G2 over the identities of a submission's listings.
pub fn all_distinct<'a>(
    listings: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>, &'a str)>,
) -> bool {
    let mut check = Uniqueness::default();
    for (zpid, mls_id, address) in listings {
        check.push(zpid, mls_id, address);
    }
    check.passes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_shared_key_fails() {
        assert!(all_distinct([
            (Some("1"), None, "1 Main St"),
            (Some("2"), None, "2 Main St")
        ]));
        assert!(!all_distinct([
            (Some("1"), None, "1 Main St"),
            (Some("1"), None, "2 Main St")
        ]));
        assert!(!all_distinct([
            (None, Some("m"), "a"),
            (Some("1"), Some("m"), "b")
        ]));
        assert!(!all_distinct([
            (Some("1"), None, "1 Main St."),
            (Some("2"), None, " 1 MAIN st")
        ]));
        // Empty ids and addresses are not keys.
        assert!(all_distinct([
            (Some(""), Some(""), "..."),
            (Some(""), Some(""), "")
        ]));
        assert!(all_distinct(core::iter::empty()));
    }

    #[test]
    fn hashing_does_not_change_the_answer() {
        // Many keys, one duplicate placed at every distance.
        let keys: Vec<alloc::string::String> =
            (0..300).map(|i| alloc::format!("zpid-{i:05}-x")).collect();
        assert!(distinct(keys.iter().map(|k| k.as_bytes())));
        for dup in [1usize, 2, 150, 299] {
            let mut with = keys.clone();
            with.push(keys[dup].clone());
            assert!(!distinct(with.iter().map(|k| k.as_bytes())), "{dup}");
        }
        // Prefixes and zero bytes are different keys.
        assert!(distinct(
            ["a", "a\0", "a\0\0", ""].into_iter().map(str::as_bytes)
        ));
    }

    #[test]
    fn identity_of_a_listing() {
        let id = Identity::of(Some(""), Some("M1"), " 5 Elm ");
        assert_eq!(id.zpid, None);
        assert_eq!(id.mls_id, Some("M1"));
        assert_eq!(id.address.as_deref(), Some("5 elm"));
        assert_eq!(Identity::of(None, None, "#").address, None);
    }
}
