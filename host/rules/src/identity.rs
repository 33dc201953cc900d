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
/// tells whether any key is shared ([`Uniqueness::passes`]). Duplicates are found by sorting,
/// so the check takes `O(n log n)` whatever the input (no hash a submitter could aim
/// collisions at) and its result does not depend on the order of the listings.
#[derive(Debug, Default)]
pub struct Uniqueness<'a> {
    zpids: Vec<&'a str>,
    mls_ids: Vec<&'a str>,
    /// Normalized addresses, back to back.
    arena: String,
    /// `(start, end)` of each non-empty normalized address in `arena`.
    addresses: Vec<(usize, usize)>,
}

impl<'a> Uniqueness<'a> {
    /// A check sized for `n` listings.
    pub fn with_capacity(n: usize) -> Self {
        Uniqueness {
            zpids: Vec::with_capacity(n),
            mls_ids: Vec::with_capacity(n),
            arena: String::with_capacity(n * 24),
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
        address::normalize_into(address, &mut self.arena);
        if self.arena.len() > start {
            self.addresses.push((start, self.arena.len()));
        }
    }

    /// True when no two listings pushed share a key.
    pub fn passes(mut self) -> bool {
        fn distinct(v: &mut [&str]) -> bool {
            v.sort_unstable();
            v.windows(2).all(|w| w[0] != w[1])
        }
        if !distinct(&mut self.zpids) || !distinct(&mut self.mls_ids) {
            return false;
        }
        let arena = self.arena.as_str();
        let mut addresses: Vec<&str> = self
            .addresses
            .iter()
            .map(|&(s, e)| arena.get(s..e).unwrap_or(""))
            .collect();
        distinct(&mut addresses)
    }
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
    fn identity_of_a_listing() {
        let id = Identity::of(Some(""), Some("M1"), " 5 Elm ");
        assert_eq!(id.zpid, None);
        assert_eq!(id.mls_id, Some("M1"));
        assert_eq!(id.address.as_deref(), Some("5 elm"));
        assert_eq!(Identity::of(None, None, "#").address, None);
    }
}
