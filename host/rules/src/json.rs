//! Canonical JSON strings (RFC 8785): `"` and `\` escaped, the control characters with a short
//! form (`\b \f \n \r \t`) written so, the other ones below U+0020 as `\u00xx` (lower-case hex),
//! everything else as it is (UTF-8, no `\u` escapes for non-ASCII).

use alloc::string::String;

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Appends `s` to `out` as a canonical JSON string, quotes included.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
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
    fn integers() {
        for n in [0, 7, 10, 1234567890, u64::MAX] {
            let mut out = String::new();
            write_u64(n, &mut out);
            assert_eq!(out, n.to_string());
        }
    }
}
