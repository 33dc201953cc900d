//! What a zipcode is: exactly five ASCII digits (`01234`; no ZIP+4, no spaces).

/// True when `s` is exactly five ASCII digits.
pub fn is_zipcode(s: &str) -> bool {
    s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_digits_only() {
        assert!(is_zipcode("01234"));
        for bad in [
            "",
            "1234",
            "123456",
            "1234a",
            " 1234",
            "12345-6789",
            "١٢٣٤٥",
        ] {
            assert!(!is_zipcode(bad), "{bad}");
        }
    }
}
