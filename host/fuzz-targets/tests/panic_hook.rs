//! `abort_on_escaping_panic` lets a panic that the code under test catches itself pass (its own
//! binary: the function replaces the process's panic hook).

#[test]
fn contained_panics_are_not_crashes() {
    let r = resi_fuzz_targets::abort_on_escaping_panic(|| {
        std::panic::catch_unwind(|| panic!("contained")).is_err()
    });
    assert!(r, "the inner panic was caught");
    assert_eq!(resi_fuzz_targets::abort_on_escaping_panic(|| 7), 7);
}
