//! Text helpers shared by policies and verifiers (pure, integer-only, deterministic).

use alloc::string::String;

/// Normalizes an address for comparison: lowercase ASCII, punctuation removed, whitespace
/// collapsed to single spaces, trimmed.
pub fn normalize_address(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut pending_space = false;
    for ch in address.chars() {
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
        } else if ch.is_alphanumeric() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            for lower in ch.to_lowercase() {
                out.push(lower);
            }
        }
    }
    out
}

/// True when `s` is exactly five ASCII digits.
pub fn is_zipcode(s: &str) -> bool {
    s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())
}
