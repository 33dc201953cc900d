//! Writes the seed corpora, `fuzz/corpus/<target>/`, from [`resi_fuzz_targets::seeds`].
//!
//! `cargo run -p resi-fuzz-targets --example write_corpus`. Each target's directory is emptied
//! first, so it holds exactly the current seeds.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let seeds = resi_fuzz_targets::seeds::seeds();
    for target in resi_fuzz_targets::TARGETS {
        let dir = corpus.join(target.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        for seed in seeds.iter().filter(|s| s.target == target.name) {
            assert!(
                (target.run)(&seed.bytes),
                "{}/{} is not accepted",
                seed.target,
                seed.name
            );
            std::fs::write(dir.join(seed.name), &seed.bytes)?;
        }
    }
    let total: usize = seeds.iter().map(|s| s.bytes.len()).sum();
    println!(
        "wrote {} seeds ({total} bytes) to {}",
        seeds.len(),
        corpus.display()
    );
    Ok(())
}
