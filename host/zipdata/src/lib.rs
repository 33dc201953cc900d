//! The US zipcode table compiled into the binary: [`csv`] gives the CSV text
//! (`zipcode,type,active,city,state,county,lat,lon,timezone`) that `resi market`,
//! `resi coordinator` and `resi devnet` use when no `--zipcodes FILE` is given. Provenance and
//! hash: `data/README.md`.

#![warn(missing_docs)]

use std::io::Read;

/// The table, snappy frame-compressed.
const COMPRESSED: &[u8] = include_bytes!("../data/us-zipcodes.csv.sz");

/// Where the embedded table came from, for error messages and `--help`.
pub const ORIGIN: &str = "the embedded US zipcode table";

/// The embedded table as CSV text (decompressed on each call: ~3.5 MB, a few milliseconds).
pub fn csv() -> String {
    let mut out = String::with_capacity(3_600_000);
    // The bytes are compiled in and checked by this crate's tests; a failure here is a build
    // defect, and yields an empty table that the parsers report as such.
    if snap::read::FrameDecoder::new(COMPRESSED)
        .read_to_string(&mut out)
        .is_err()
    {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_table_matches_its_readme() {
        let csv = super::csv();
        assert!(csv.starts_with("zipcode,type,active,city,state,county,lat,lon,timezone"));
        assert_eq!(csv.lines().count(), 42_789 + 1);
        let readme = include_str!("../data/README.md");
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(csv.as_bytes()));
        assert!(
            readme.contains(&digest),
            "README names another hash than {digest}"
        );
    }
}
