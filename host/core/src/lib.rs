//! Light core of resi: protocol types, epochs, keys and signing, listing schema, submission format.
