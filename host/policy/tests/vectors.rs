//! The release's test vectors: generated here from readable builders, each checked against
//! expectations worked out by hand from the spec (in the comments), then compared with the
//! files under `policies/zipcode-competitive/1.0.0/vectors/`. Set `RESI_BLESS=1` to rewrite
//! the files after a deliberate change. Every vector then runs through the wasm component
//! and through the native core, which must agree byte for byte.
//!
//! Units in the comments: shares are fractions of the epoch (`S = 10^18` in fixed point), ppb
//! = `floor(raw * 10^9 / sum(raw))`.

use crate::common;

use common::*;
use resi_policy::input::{AssignmentJson, EpochInput, ObservedJson};
use resi_policy::vectors::{Expected, Vector, run_vector, run_vectors, run_vectors_with};
use resi_policy::{NativeBackend, RecordedObserver, run_epoch};
use serde_json::Value;
use std::collections::BTreeMap;

/// Hand-derived expectations of a vector.
struct Hand {
    /// ppb of every miner with a nonzero weight (all others must be 0).
    ppb: &'static [(&'static str, u64)],
    /// Miners flagged `fabrication`.
    flagged: &'static [&'static str],
    /// (zipcode, hotkey, rank) of every winner.
    ranks: &'static [(&'static str, &'static str, u64)],
    /// (zipcode, hotkey, gates) spot checks of gate strings, `P`/`F`/`S` per gate.
    gates: &'static [(&'static str, &'static str, &'static str)],
}

struct Case {
    name: &'static str,
    description: &'static str,
    input: EpochInput,
    hand: Hand,
}

fn assignment(zip: &str, expected: u32) -> AssignmentJson {
    AssignmentJson {
        zipcode: zip.into(),
        expected,
        honeypot: false,
        true_count: 0,
    }
}

fn input(assignments: Vec<AssignmentJson>) -> EpochInput {
    EpochInput {
        epoch: epoch(),
        params: None,
        assignments,
        submissions: Vec::new(),
        observations: Vec::new(),
    }
}

/// Adds a submission whose every sampled listing is found as submitted.
fn add_verified(input: &mut EpochInput, sub: resi_policy::input::SubmissionJson) {
    input.observations.extend(all_found(&sub));
    input.submissions.push(sub);
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();

    // normal-multi-zipcode: pools 19103 = 20/100 = 0.2, 10001 = 30/100 = 0.3, 94105 = 0.5.
    // 19103 order m1<m2<m3<m4<m5: m1 .11, m2 .06, m3 .02, m4 m5 .005 each (0.2*5%/2).
    // 10001 order m2<m3<m1<m4:    m2 .165, m3 .09, m1 .03, m4 .015.
    // 94105 order m3<m1<m2<m4<m5: m3 .275, m1 .15, m2 .05, m4 m5 .0125 each.
    // raw m1 .29, m2 .275, m3 .385, m4 .0325, m5 .0175; sum 1.0 -> ppb = raw * 10^9.
    let mut i = input(vec![
        assignment("19103", 20),
        assignment("10001", 30),
        assignment("94105", 50),
    ]);
    for (zip, n, order) in [
        ("19103", 20, vec!["m1", "m2", "m3", "m4", "m5"]),
        ("10001", 30, vec!["m2", "m3", "m1", "m4"]),
        ("94105", 50, vec!["m3", "m1", "m2", "m4", "m5"]),
    ] {
        for (pos, m) in order.iter().enumerate() {
            add_verified(&mut i, submission(m, zip, 600 + 60 * pos as u64, n));
        }
    }
    out.push(Case {
        name: "normal-multi-zipcode",
        description: "Three zipcodes, five miners, all valid and verified; ranks follow submission time.",
        input: i,
        hand: Hand {
            ppb: &[
                ("m1", 290_000_000),
                ("m2", 275_000_000),
                ("m3", 385_000_000),
                ("m4", 32_500_000),
                ("m5", 17_500_000),
            ],
            flagged: &[],
            ranks: &[
                ("19103", "m1", 1),
                ("19103", "m2", 2),
                ("19103", "m3", 3),
                ("10001", "m2", 1),
                ("10001", "m3", 2),
                ("10001", "m1", 3),
                ("94105", "m3", 1),
                ("94105", "m1", 2),
                ("94105", "m2", 3),
            ],
            gates: &[("19103", "m4", "PPPPS"), ("10001", "m4", "PPPPS")],
        },
    });

    // g0: one zipcode (pool 1.0), expected 20. bad-manifest is earliest but ignored; late is
    // 1 ms past deadline + grace; edge is exactly at deadline + grace (passes). Order a, e, edge:
    // raw .55/.30/.10, sum .95 -> a 578947368 (.55/.95), e 315789473, edge 105263157.
    let mut i = input(vec![assignment("19103", 20)]);
    let mut bad = submission("bad-manifest", "19103", 0, 20);
    bad.manifest_ok = false;
    i.submissions.push(bad);
    let mut late = submission("late", "19103", 0, 20);
    late.submitted_at_ms = DEADLINE_MS + 900_001;
    i.submissions.push(late);
    let mut edge = submission("edge", "19103", 0, 20);
    edge.submitted_at_ms = DEADLINE_MS + 900_000;
    add_verified(&mut i, edge);
    add_verified(&mut i, submission("a", "19103", 100, 20));
    add_verified(&mut i, submission("e", "19103", 200, 20));
    out.push(Case {
        name: "g0-late-and-bad-manifest",
        description: "G0: a bad manifest and a submission 1 ms past deadline+grace are ignored; one exactly at deadline+grace counts.",
        input: i,
        hand: Hand {
            ppb: &[("a", 578_947_368), ("e", 315_789_473), ("edge", 105_263_157)],
            flagged: &[],
            ranks: &[("19103", "a", 1), ("19103", "e", 2), ("19103", "edge", 3)],
            gates: &[("19103", "bad-manifest", "FSSSS"), ("19103", "late", "FSSSS")],
        },
    });

    // g1: expected 20 -> 17..=23 listings. few (16) and many (24) fail although earliest;
    // low (17) and high (23) win ranks 1, 2: .55/.85 = 647058823, .30/.85 = 352941176.
    let mut i = input(vec![assignment("19103", 20)]);
    add_verified(&mut i, submission("few", "19103", 10, 16));
    add_verified(&mut i, submission("many", "19103", 20, 24));
    add_verified(&mut i, submission("low", "19103", 30, 17));
    add_verified(&mut i, submission("high", "19103", 40, 23));
    out.push(Case {
        name: "g1-too-few-too-many",
        description: "G1: 16 and 24 listings for expected 20 fail (bounds 17..=23); 17 and 23 pass.",
        input: i,
        hand: Hand {
            ppb: &[("low", 647_058_823), ("high", 352_941_176)],
            flagged: &[],
            ranks: &[("19103", "low", 1), ("19103", "high", 2)],
            gates: &[("19103", "few", "PFSSS"), ("19103", "many", "PFSSS")],
        },
    });

    // g2: duplicate zpid, duplicate mls_id, duplicate normalized address ("105 Market St." vs
    // "105  market st") fail; ok1, ok2 win: 647058823 / 352941176 as above.
    let mut i = input(vec![assignment("19103", 20)]);
    let mut dz = submission("dup-zpid", "19103", 10, 20);
    dz.listings[7].zpid = dz.listings[3].zpid.clone();
    let mut dm = submission("dup-mls", "19103", 20, 20);
    for (n, l) in dm.listings.iter_mut().enumerate() {
        l.mls_id = Some(format!("MLS{n}"));
    }
    dm.listings[9].mls_id = Some("MLS2".into());
    let mut da = submission("dup-address", "19103", 30, 20);
    da.listings[5].address = "105 Market St.".into();
    da.listings[6].address = "105  market st".into();
    for s in [dz, dm, da] {
        add_verified(&mut i, s);
    }
    add_verified(&mut i, submission("ok1", "19103", 40, 20));
    add_verified(&mut i, submission("ok2", "19103", 50, 20));
    out.push(Case {
        name: "g2-duplicates",
        description: "G2: duplicate zpid, duplicate mls_id and duplicate normalized address each fail uniqueness.",
        input: i,
        hand: Hand {
            ppb: &[("ok1", 647_058_823), ("ok2", 352_941_176)],
            flagged: &[],
            ranks: &[("19103", "ok1", 1), ("19103", "ok2", 2)],
            gates: &[
                ("19103", "dup-zpid", "PPFSS"),
                ("19103", "dup-mls", "PPFSS"),
                ("19103", "dup-address", "PPFSS"),
            ],
        },
    });

    // g3: incomplete: 3/20 without source_url (85% < 90%) fails; incomplete-edge: 2/20 (90%)
    // passes. unreasonable: 2/20 priced 5,000 (90% < 95%) fails; unreasonable-edge: 1/20 with
    // an unparseable date (95%) passes. wrong-zip: 1 listing in another zipcode fails.
    // Winners incomplete-edge, unreasonable-edge: 647058823 / 352941176.
    let mut i = input(vec![assignment("19103", 20)]);
    let mut inc = submission("incomplete", "19103", 10, 20);
    for n in [1, 2, 3] {
        inc.listings[n].source_url = String::new();
    }
    let mut inc_edge = submission("incomplete-edge", "19103", 60, 20);
    for n in [1, 2] {
        inc_edge.listings[n].source_url = String::new();
    }
    let mut unr = submission("unreasonable", "19103", 20, 20);
    for n in [4, 5] {
        unr.listings[n].price = Some(5_000);
    }
    let mut unr_edge = submission("unreasonable-edge", "19103", 70, 20);
    unr_edge.listings[4].listing_date = "2025-02-30".into();
    let mut wz = submission("wrong-zip", "19103", 30, 20);
    wz.listings[0].zipcode = "19104".into();
    for s in [inc, inc_edge, unr, unr_edge, wz] {
        add_verified(&mut i, s);
    }
    out.push(Case {
        name: "g3-quality",
        description: "G3: completeness 85% and reasonableness 90% fail, 90% and 95% pass; one listing in another zipcode fails.",
        input: i,
        hand: Hand {
            ppb: &[("incomplete-edge", 647_058_823), ("unreasonable-edge", 352_941_176)],
            flagged: &[],
            ranks: &[("19103", "incomplete-edge", 1), ("19103", "unreasonable-edge", 2)],
            gates: &[
                ("19103", "incomplete", "PPPFS"),
                ("19103", "unreasonable", "PPPFS"),
                ("19103", "wrong-zip", "PPPFS"),
            ],
        },
    });

    // Ties: four miners at the same millisecond. sha256(seed || hotkey) with seed = 00..1f
    // (computed with Python's hashlib): tie-a b75ab849..., tie-b 079d2e17..., tie-c 6f5365ef...,
    // tie-d bd143542... -> order b, c, a, d: .55, .30, .10 and d the only participant .05.
    let mut i = input(vec![assignment("19103", 20)]);
    for m in ["tie-a", "tie-b", "tie-c", "tie-d"] {
        add_verified(&mut i, submission(m, "19103", 300, 20));
    }
    out.push(Case {
        name: "tie-break",
        description: "Equal submission times are ordered by sha256(validation_seed || hotkey) ascending.",
        input: i,
        hand: Hand {
            ppb: &[("tie-b", 550_000_000), ("tie-c", 300_000_000), ("tie-a", 100_000_000), ("tie-d", 50_000_000)],
            flagged: &[],
            ranks: &[("19103", "tie-b", 1), ("19103", "tie-c", 2), ("19103", "tie-a", 3)],
            gates: &[("19103", "tie-d", "PPPPS")],
        },
    });

    // Honeypot 60601 (expected 30, true count 20, slack max(2, ceil(2.0)) = 2 -> more than 22
    // listings = fabrication). 19103 (expected 20) is the only pool (1.0).
    // fab: 30 listings in the honeypot -> flagged; it is first in 19103 (rank 1, dropped).
    // honest: 21 in the honeypot (fails G1 there, 25..=35, no flag), rank 2 in 19103 (.30).
    // edge: exactly 22 in the honeypot (no flag; fails G1). third: rank 3 in 19103 (.10).
    // raw honest .30, third .10, sum .40 -> 750000000 / 250000000.
    let mut i = input(vec![
        assignment("19103", 20),
        AssignmentJson {
            zipcode: "60601".into(),
            expected: 30,
            honeypot: true,
            true_count: 20,
        },
    ]);
    i.submissions.push(submission("fab", "60601", 10, 30));
    i.submissions.push(submission("honest", "60601", 20, 21));
    i.submissions.push(submission("edge", "60601", 30, 22));
    add_verified(&mut i, submission("fab", "19103", 10, 20));
    add_verified(&mut i, submission("honest", "19103", 20, 20));
    add_verified(&mut i, submission("third", "19103", 30, 20));
    out.push(Case {
        name: "honeypot-fabrication",
        description: "A miner delivering 30 listings for a honeypot with 20 real ones is flagged and zeroed for the whole epoch; 22 (within slack) is not.",
        input: i,
        hand: Hand {
            ppb: &[("honest", 750_000_000), ("third", 250_000_000)],
            flagged: &["fab"],
            ranks: &[("19103", "fab", 1), ("19103", "honest", 2), ("19103", "third", 3)],
            gates: &[("60601", "honest", "PFSSS"), ("60601", "edge", "PFSSS"), ("60601", "fab", "PPPPS")],
        },
    });

    // not_found: pools 19103 = 10001 = 0.5. x is first in both; one sampled listing of x in
    // 19103 is not_found -> G4 failed + fabrication, its 10001 rank 1 (.275) is dropped.
    // 19103: y rank 1 (.275; one sample observed 2% above its price: still a match), z rank 2
    // (.15); w: one of two samples 3% off (50% < 80%) fails G4 without a flag.
    // 10001: x 1 (zeroed), y 2 (.15), z 3 (.05).
    // raw y .425, z .20, sum .625 -> 680000000 / 320000000.
    let mut i = input(vec![assignment("19103", 20), assignment("10001", 20)]);
    let x = submission("x", "19103", 10, 20);
    i.observations.extend(observe(&x, |nth, _, l| {
        Some(if nth == 0 {
            ObservedJson::NotFound
        } else {
            ObservedJson::Found { listing: l.clone() }
        })
    }));
    i.submissions.push(x);
    let mut y = submission("y", "19103", 20, 20);
    // The sample depends on the digest, not the contents: make the first sampled listing
    // 306,000 and observe it at 300,000: |306000 - 300000| * 100 = 2% * 300000 exactly.
    let first = sampled(&y)[0] as usize;
    y.listings[first].price = Some(306_000);
    i.observations.extend(observe(&y, |nth, _, l| {
        let mut seen = l.clone();
        if nth == 0 {
            seen.price = Some(300_000);
        }
        Some(ObservedJson::Found { listing: seen })
    }));
    i.submissions.push(y);
    add_verified(&mut i, submission("z", "19103", 30, 20));
    let w = submission("w", "19103", 40, 20);
    i.observations.extend(observe(&w, |nth, _, l| {
        let mut seen = l.clone();
        if nth == 0 {
            seen.price = l.price.map(|p| p * 103 / 100);
        }
        Some(ObservedJson::Found { listing: seen })
    }));
    i.submissions.push(w);
    add_verified(&mut i, submission("x", "10001", 10, 20));
    add_verified(&mut i, submission("y", "10001", 20, 20));
    add_verified(&mut i, submission("z", "10001", 30, 20));
    out.push(Case {
        name: "not-found-zero-tolerance",
        description: "One not_found spot check flags fabrication and zeroes the miner's whole epoch; a 2% price difference matches, a 3% one does not.",
        input: i,
        hand: Hand {
            ppb: &[("y", 680_000_000), ("z", 320_000_000)],
            flagged: &["x"],
            ranks: &[("19103", "y", 1), ("19103", "z", 2), ("10001", "x", 1), ("10001", "y", 2), ("10001", "z", 3)],
            gates: &[("19103", "x", "PPPPF"), ("19103", "w", "PPPPF")],
        },
    });

    // All unverifiable: no observation recorded, so every spot check is unverifiable. The four
    // candidates are all examined (4 <= max_deep), none can win, all share the 5% pool:
    // .0125 each, equal -> 250000000 each.
    let mut i = input(vec![assignment("19103", 20)]);
    for (n, m) in ["u1", "u2", "u3", "u4"].iter().enumerate() {
        i.submissions
            .push(submission(m, "19103", 10 * n as u64, 20));
    }
    out.push(Case {
        name: "all-unverifiable",
        description: "Every spot check unverifiable: nobody wins, every candidate shares the participation pool.",
        input: i,
        hand: Hand {
            ppb: &[("u1", 250_000_000), ("u2", 250_000_000), ("u3", 250_000_000), ("u4", 250_000_000)],
            flagged: &[],
            ranks: &[],
            gates: &[("19103", "u1", "PPPPS"), ("19103", "u4", "PPPPS")],
        },
    });

    // Empty: two zipcodes assigned, nobody submitted -> no miners, no weights.
    out.push(Case {
        name: "empty-epoch",
        description: "Zipcodes assigned but no submissions: no miners and no weights.",
        input: input(vec![assignment("19103", 20), assignment("10001", 30)]),
        hand: Hand {
            ppb: &[],
            flagged: &[],
            ranks: &[],
            gates: &[],
        },
    });

    // Fewer than three candidates: pools .5/.5. 19103: a1 rank 1 (.275), a2 rank 2 (.15),
    // rank 3 unclaimed; 10001: only a2 valid (.275), a3 fails G1. raw a1 .275, a2 .425, sum .70
    // -> a1 392857142 (.275/.7), a2 607142857.
    let mut i = input(vec![assignment("19103", 20), assignment("10001", 20)]);
    add_verified(&mut i, submission("a1", "19103", 10, 20));
    add_verified(&mut i, submission("a2", "19103", 20, 20));
    add_verified(&mut i, submission("a2", "10001", 20, 20));
    add_verified(&mut i, submission("a3", "10001", 5, 5));
    out.push(Case {
        name: "fewer-than-three-candidates",
        description: "Two valid candidates in one zipcode and one in another: unclaimed rank shares are dropped.",
        input: i,
        hand: Hand {
            ppb: &[("a1", 392_857_142), ("a2", 607_142_857)],
            flagged: &[],
            ranks: &[("19103", "a1", 1), ("19103", "a2", 2), ("10001", "a2", 1)],
            gates: &[("10001", "a3", "PFSSS")],
        },
    });

    // max_deep: eight candidates, the first five fail G4 (both samples 3% off), so only d6
    // (the sixth examined) can win; d7 and d8 are never examined and share the 5% pool.
    // raw d6 .55, d7 d8 .025 each; sum .60 -> d6 916666666, d7 d8 41666666.
    let mut i = input(vec![assignment("19103", 20)]);
    for n in 1..=8u64 {
        let s = submission(&format!("d{n}"), "19103", 10 * n, 20);
        if n <= 5 {
            i.observations.extend(observe(&s, |_, _, l| {
                let mut seen = l.clone();
                seen.price = l.price.map(|p| p * 103 / 100);
                Some(ObservedJson::Found { listing: seen })
            }));
            i.submissions.push(s);
        } else {
            add_verified(&mut i, s);
        }
    }
    out.push(Case {
        name: "max-deep",
        description: "Deep validation stops after max_deep = 6 examined candidates; the rest are participants.",
        input: i,
        hand: Hand {
            ppb: &[("d6", 916_666_666), ("d7", 41_666_666), ("d8", 41_666_666)],
            flagged: &[],
            ranks: &[("19103", "d6", 1)],
            gates: &[("19103", "d1", "PPPPF"), ("19103", "d6", "PPPPP"), ("19103", "d7", "PPPPS")],
        },
    });
    out
}

fn gate_letters(c: &Value) -> String {
    c["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| match g.as_str() {
            Some("passed") => 'P',
            Some("failed") => 'F',
            _ => 'S',
        })
        .collect()
}

fn check_hand(case: &Case, canonical: &str) {
    let v: Value = serde_json::from_str(canonical).expect("outcome is JSON");
    let want: BTreeMap<&str, u64> = case.hand.ppb.iter().copied().collect();
    for m in v["miners"].as_array().expect("miners") {
        let hotkey = m["hotkey"].as_str().expect("hotkey");
        let ppb = m["ppb"].as_u64().expect("ppb");
        assert_eq!(
            ppb,
            want.get(hotkey).copied().unwrap_or(0),
            "{}: ppb of {hotkey}",
            case.name
        );
        let flagged = !m["flags"].as_array().expect("flags").is_empty();
        assert_eq!(
            flagged,
            case.hand.flagged.contains(&hotkey),
            "{}: flags of {hotkey}",
            case.name
        );
    }
    for (hotkey, _) in case.hand.ppb {
        assert!(
            v["miners"]
                .as_array()
                .expect("miners")
                .iter()
                .any(|m| m["hotkey"] == *hotkey),
            "{}: {hotkey} missing",
            case.name
        );
    }
    let mut ranks = Vec::new();
    for z in v["zipcodes"].as_array().expect("zipcodes") {
        let zip = z["zipcode"].as_str().expect("zipcode");
        for c in z["candidates"].as_array().expect("candidates") {
            let hotkey = c["hotkey"].as_str().expect("hotkey");
            if let Some(r) = c["rank"].as_u64() {
                ranks.push((zip.to_string(), hotkey.to_string(), r));
            }
            if let Some((_, _, g)) = case
                .hand
                .gates
                .iter()
                .find(|(gz, gh, _)| *gz == zip && *gh == hotkey)
            {
                assert_eq!(
                    gate_letters(c),
                    *g,
                    "{}: gates of {hotkey} in {zip}",
                    case.name
                );
            }
        }
    }
    let mut want_ranks: Vec<(String, String, u64)> = case
        .hand
        .ranks
        .iter()
        .map(|(z, h, r)| (z.to_string(), h.to_string(), *r))
        .collect();
    ranks.sort();
    want_ranks.sort();
    assert_eq!(ranks, want_ranks, "{}: ranks", case.name);
}

/// Builds the vector files' content from the cases, checking each against its hand-derived
/// expectations through the native core.
fn build_vectors() -> Vec<(String, Vector)> {
    let release = release();
    let pin = release.manifest.wasm_pin().expect("pin");
    let backend = NativeBackend::new(pin);
    cases()
        .into_iter()
        .map(|case| {
            let (run, records) = case.input.to_run().expect("valid input");
            let params = release.manifest.default_params.clone();
            let report = run_epoch(&backend, &params, &run, &mut RecordedObserver::new(records))
                .expect("runs");
            check_hand(&case, report.canonical_outcome());
            let vector = Vector {
                description: case.description.into(),
                input: case.input,
                expected: Expected {
                    canonical_outcome: report.canonical_outcome().to_string(),
                    outcome_hash: hex::encode(report.outcome_hash),
                    input_hash: hex::encode(report.input_hash),
                    params_sha256: hex::encode(report.params_sha256),
                },
            };
            (case.name.to_string(), vector)
        })
        .collect()
}

#[test]
fn vectors_match_hand_expectations_and_files() {
    let dir = release_dir().join("vectors");
    let bless = std::env::var_os("RESI_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, vector) in build_vectors() {
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&vector).expect("serializes") + "\n";
        if bless {
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(&path, &text).expect("write vector");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "vector files out of date (RESI_BLESS=1 rewrites them): {stale:?}"
    );
}

#[test]
fn every_vector_passes_through_the_pinned_wasm_component() {
    let release = release();
    let report = run_vectors(&release.wasm, &release.vectors_dir()).expect("vectors run");
    assert!(
        report.results.len() >= 12,
        "only {} vectors",
        report.results.len()
    );
    for r in &report.results {
        assert!(
            r.passed,
            "{}: {:?}\n{}",
            r.name,
            r.failures,
            r.diff.clone().unwrap_or_default()
        );
        assert!(r.fuel > 0, "{}: no fuel recorded", r.name);
    }
    assert!(report.passed());
}

#[test]
fn native_core_gives_identical_outcomes_on_every_vector() {
    let release = release();
    let backend = NativeBackend::new(release.manifest.wasm_pin().expect("pin"));
    let report = run_vectors_with(&backend, &release.vectors_dir()).expect("vectors run");
    for r in &report.results {
        assert!(
            r.passed,
            "{}: {:?}\n{}",
            r.name,
            r.failures,
            r.diff.clone().unwrap_or_default()
        );
    }
    assert!(report.passed());
}

#[test]
fn a_tampered_vector_fails_with_a_diff() {
    let release = release();
    let (_, mut vector) = build_vectors().into_iter().next().expect("a vector");
    vector.expected.canonical_outcome = vector
        .expected
        .canonical_outcome
        .replace("290000000", "290000001");
    let backend = NativeBackend::new(release.manifest.wasm_pin().expect("pin"));
    let r = run_vector(&backend, "tampered", &vector);
    assert!(!r.passed);
    assert!(r.failures.contains(&"canonical_outcome".to_string()));
    assert!(r.diff.expect("diff").contains("290000000"));
}
