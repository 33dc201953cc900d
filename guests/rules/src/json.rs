//! Canonical JSON strings (RFC 8785): `"` and `\` escaped, the control characters with a short
//! form (`\b \f \n \r \t`) written so, the other ones below U+0020 as `\u00xx` (lower-case hex),
//! everything else as it is (UTF-8, no `\u` escapes for non-ASCII).

use alloc::string::String;

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// True when some byte of the 8 in `w` is below 0x20, `"` or `\` (word-at-a-time test).
fn word_needs_escape(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI != 0;
    // Bytes >= 0x80 never need escaping but set the high bit; `!w` masks them out of the
    // "below 0x20" test.
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI != 0;
    below_space || has_zero(w ^ (LO * u64::from(b'"'))) || has_zero(w ^ (LO * u64::from(b'\\')))
}

/// Appends `s` to `out` as a canonical JSON string, quotes included.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    // Skip the words that need no escaping, eight bytes at a time.
    let mut clean = 0;
    for w in bytes.chunks_exact(8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        if word_needs_escape(u64::from_le_bytes(a)) {
            break;
        }
        clean += 8;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        if !needs_escape(b) {
            continue;
        }
        // Escapes are ASCII, so `i` is on a char boundary.
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends the decimal digits of `n` to `out` (canonical JSON integers: no sign, no leading
/// zeros, no exponent).
pub fn write_u64(n: u64, out: &mut String) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn escapes_as_rfc_8785() {
        let mut out = String::new();
        write_string("a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f} ü☃", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f ü☃\"");
    }

    #[test]
    fn the_word_test_finds_every_byte_that_needs_escaping() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut w = [b'a'; 8];
                w[at] = b;
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(w)),
                    needs_escape(b),
                    "byte {b:#x} at {at}"
                );
            }
        }
        // Long strings with an escape anywhere.
        for at in 0..40 {
            let mut s: alloc::vec::Vec<u8> = alloc::vec![b'x'; 40];
            s[at] = b'"';
            let s = core::str::from_utf8(&s).unwrap_or("");
            let mut out = String::new();
            write_string(s, &mut out);
            assert_eq!(out.matches("\\\"").count(), 1, "{out}");
            assert_eq!(out.len(), 40 + 3);
        }
    }

    #[test]
    fn integers() {
        for n in [0, 7, 10, 1234567890, u64::MAX] {
            let mut out = String::new();
            write_u64(n, &mut out);
            assert_eq!(out, n.to_string());
        }
    }
}
