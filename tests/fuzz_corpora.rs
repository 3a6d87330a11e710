//! Replays the fuzzers' kept corpora (`tests/fuzz/corpus/<target>/`) on stable: every input that
//! reached new coverage while fuzzing, and every input that once broke a decoder, goes through
//! the same check as in its fuzz target (`tests/fuzz/harness.rs`), so what was fixed stays fixed.

#[path = "fuzz/harness.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_kept_fuzz_input_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    let mut replayed = 0;
    for (name, check) in harness::TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
                std::panic::resume_unwind(Box::new(format!("{name} fails on {}: {panic:?}", path.display())));
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no corpus under {}", root.display());
}
