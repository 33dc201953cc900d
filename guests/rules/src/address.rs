//! Address normalisation: lower case, every character that is neither a letter, a digit nor
//! whitespace removed, whitespace runs collapsed to one space, the ends trimmed. Letters,
//! digits, whitespace and lower case are Unicode's (`char::is_alphanumeric`,
//! `char::is_whitespace`, `char::to_lowercase`); an ASCII address takes a byte-wise path that
//! gives the same result (tested against the char-wise one).

use alloc::string::String;
use alloc::vec::Vec;

/// The normalized form of `address`.
pub fn normalize(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    normalize_into(address, &mut out);
    out
}

/// Appends the normalized form of `address` to `out` (nothing when it normalizes to "").
pub fn normalize_into(address: &str, out: &mut String) {
    normalize_to(address, out);
}

/// Appends the UTF-8 bytes of the normalized form of `address` to `out` (what
/// [`normalize_into`] appends, as bytes: the cheapest form to compare).
pub fn normalize_bytes_into(address: &str, out: &mut Vec<u8>) {
    normalize_to(address, out);
}

/// Where normalized text goes.
trait Sink {
    fn len(&self) -> usize;
    /// An ASCII byte.
    fn ascii(&mut self, b: u8);
    fn char(&mut self, c: char);
}

impl Sink for String {
    fn len(&self) -> usize {
        String::len(self)
    }
    fn ascii(&mut self, b: u8) {
        self.push(char::from(b));
    }
    fn char(&mut self, c: char) {
        self.push(c);
    }
}

impl Sink for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn ascii(&mut self, b: u8) {
        self.push(b);
    }
    fn char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

fn normalize_to(address: &str, out: &mut impl Sink) {
    if address.is_ascii() {
        normalize_ascii(address.as_bytes(), out);
    } else {
        normalize_chars_to(address, out);
    }
}

/// `char::is_whitespace` on ASCII: U+0009..=U+000D and U+0020 (U+000B included, unlike
/// `u8::is_ascii_whitespace`).
fn ascii_whitespace(b: u8) -> bool {
    matches!(b, 0x09..=0x0d | b' ')
}

fn normalize_ascii(bytes: &[u8], out: &mut impl Sink) {
    let start = out.len();
    let mut pending_space = false;
    for &b in bytes {
        if ascii_whitespace(b) {
            pending_space = out.len() > start;
        } else if b.is_ascii_alphanumeric() {
            if pending_space {
                out.ascii(b' ');
                pending_space = false;
            }
            out.ascii(b.to_ascii_lowercase());
        }
    }
}

/// The rule as written, char by char (any input).
pub fn normalize_chars(address: &str, out: &mut String) {
    normalize_chars_to(address, out);
}

fn normalize_chars_to(address: &str, out: &mut impl Sink) {
    let start = out.len();
    let mut pending_space = false;
    for ch in address.chars() {
        if ch.is_whitespace() {
            pending_space = out.len() > start;
        } else if ch.is_alphanumeric() {
            if pending_space {
                out.ascii(b' ');
                pending_space = false;
            }
            for lower in ch.to_lowercase() {
                out.char(lower);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize("  12 Main St., Apt #4 "), "12 main st apt 4");
        assert_eq!(normalize("\u{b}1\u{b}A\u{1c}b"), "1 ab");
        assert_eq!(normalize("Straße 5, MÜNCHEN"), "straße 5 münchen");
        assert_eq!(normalize("İ"), "i\u{307}");
        assert_eq!(normalize("...  "), "");
        let mut bytes = Vec::new();
        normalize_bytes_into("Straße 5, MÜNCHEN", &mut bytes);
        assert_eq!(bytes, "straße 5 münchen".as_bytes());
    }

    #[test]
    fn the_ascii_path_is_the_char_path() {
        // Every ASCII byte, in pairs around letters, both ways.
        for a in 0u8..128 {
            for b in [b' ', b'A', b'z', b'0', 0x0b, 0x1c, b'.', a] {
                let s = [b'x', a, b, a, b'Q'];
                let s = core::str::from_utf8(&s).unwrap_or("");
                let (mut fast, mut slow) = (String::new(), String::new());
                normalize_into(s, &mut fast);
                normalize_chars(s, &mut slow);
                assert_eq!(fast, slow, "{s:?}");
                let mut bytes = Vec::new();
                normalize_bytes_into(s, &mut bytes);
                assert_eq!(bytes, slow.as_bytes(), "{s:?}");
            }
        }
    }
}
