//! What a devnet run shows: per epoch, a table per miner (zipcodes, listings, gates passed,
//! ranks, ppb weight, flags) and per validator (outcome hash, agreement, weights), the weights
//! on the local chain and whether the validated data traces back to the market. The same as
//! JSON (`devnet-report.json`) and as a chart of weights per epoch (`weights.html`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct DevnetReport {
    /// Subnet id on the local chain.
    pub netuid: u16,
    /// Epoch length, seconds.
    pub epoch_secs: u32,
    /// The policy's grace after the deadline, as pinned for this devnet (milliseconds).
    pub grace_ms: u64,
    /// The object store (`local:DIR` or `s3://bucket at endpoint`).
    pub store: String,
    /// The market's URL.
    pub market: String,
    /// The coordinator's URL.
    pub coordinator: String,
    /// The pinned policy: name, version, wasm sha256, params sha256.
    pub policy: [String; 4],
    /// Epochs, oldest first.
    pub epochs: Vec<EpochReport>,
}

/// One epoch.
#[derive(Debug, Clone, Serialize)]
pub struct EpochReport {
    /// Epoch id.
    pub epoch_id: String,
    /// Submission deadline (RFC 3339).
    pub deadline: String,
    /// Miners, in cast order.
    pub miners: Vec<MinerRow>,
    /// Validators.
    pub validators: Vec<ValidatorRow>,
    /// Weights set on the chain for this epoch (one entry per validator that set them).
    pub chain_weights: Vec<ChainWeights>,
    /// True when every validator has the same outcome hash.
    pub agreed: bool,
}

/// A miner's epoch.
#[derive(Debug, Clone, Serialize)]
pub struct MinerRow {
    /// Name (`miner1`, `fabricator`, ...).
    pub miner: String,
    /// Role label (`honest +1s`, `fabricator`, ...).
    pub role: String,
    /// True for adversaries.
    pub adversary: bool,
    /// Hotkey (SS58).
    pub hotkey: String,
    /// Uid on the local chain.
    pub uid: Option<u16>,
    /// (zipcode, listings) uploaded.
    pub uploaded: Vec<(String, u64)>,
    /// Listings uploaded in all.
    pub listings: u64,
    /// Zipcodes whose submission passed the quantity, uniqueness and quality gates (G0..G3),
    /// per the outcome.
    pub gates_passed: u32,
    /// Zipcodes the outcome has a candidate entry for.
    pub candidates: u32,
    /// (zipcode, rank) where the miner won a rank.
    pub ranks: Vec<(String, u32)>,
    /// First failed gate per zipcode, counted (`G0` late or bad manifest, `G1` quantity,
    /// `G2` uniqueness, `G3` quality, `G4` spot check).
    pub failed_gates: BTreeMap<String, u32>,
    /// Honeypot zipcodes it submitted for (where delivering nothing is correct); not counted
    /// in `candidates`, `gates_passed` or `failed_gates`.
    pub honeypots: u32,
    /// Weight in parts per billion (the outcome's).
    pub ppb: u64,
    /// Policy flags.
    pub flags: Vec<String>,
    /// Why validators refused some of its objects (first validator's report).
    pub rejected: Vec<String>,
    /// The miner's final status report (honest miners).
    pub final_status: Option<String>,
    /// What went wrong on the miner's side, if anything.
    pub error: Option<String>,
}

/// A validator's epoch.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorRow {
    /// Name.
    pub validator: String,
    /// Hotkey.
    pub hotkey: String,
    /// Uid.
    pub uid: Option<u16>,
    /// Outcome hash (hex).
    pub outcome_hash: String,
    /// Input hash (hex).
    pub input_hash: String,
    /// Agreement with the other validators' reports.
    pub agreement: resi_validator::report::Agreement,
    /// Weights it set: (uids, weights, tx hash).
    pub weights: Option<(Vec<u16>, Vec<u16>, String)>,
    /// Listings in its `validated_data.parquet`.
    pub validated_listings: usize,
    /// Of those, how many the market has (same zpid, zipcode and address).
    pub traceable_listings: usize,
    /// Spot checks answered.
    pub spot_checks: u64,
}

/// Weights as recorded on the chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainWeights {
    /// Block.
    pub block: u64,
    /// Uid of the validator that set them.
    pub setter_uid: u16,
    /// Uids.
    pub uids: Vec<u16>,
    /// u16 weights.
    pub weights: Vec<u16>,
}

/// One miner's part of a policy outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinerOutcome {
    /// Zipcodes the outcome has a candidate entry for.
    pub candidates: u32,
    /// Zipcodes passing G0..G3.
    pub gates_passed: u32,
    /// (zipcode, rank) where it won a rank.
    pub ranks: Vec<(String, u32)>,
    /// The first failed gate per zipcode, counted: `G2` -> 2.
    pub failed: BTreeMap<String, u32>,
    /// Honeypot zipcodes it has a candidate entry for (kept out of the counts above).
    pub honeypots: u32,
}

/// Per hotkey, its part of a policy outcome (`zipcodes[].candidates[]`); candidates of the
/// `honeypots` zipcodes are counted apart (an empty delivery there is correct, not a failed
/// quantity gate).
pub fn outcome_by_miner(
    outcome: &serde_json::Value,
    honeypots: &std::collections::BTreeSet<String>,
) -> BTreeMap<String, MinerOutcome> {
    let mut out: BTreeMap<String, MinerOutcome> = BTreeMap::new();
    for z in outcome["zipcodes"].as_array().into_iter().flatten() {
        let zip = z["zipcode"].as_str().unwrap_or_default();
        for c in z["candidates"].as_array().into_iter().flatten() {
            let Some(hk) = c["hotkey"].as_str() else {
                continue;
            };
            let e = out.entry(hk.to_owned()).or_default();
            if honeypots.contains(zip) {
                e.honeypots += 1;
                continue;
            }
            e.candidates += 1;
            let gates: Vec<&str> = c["gates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g.as_str())
                .collect();
            if gates.len() >= 4 && gates[..4].iter().all(|g| *g == "passed") {
                e.gates_passed += 1;
            }
            if let Some(i) = gates.iter().position(|g| *g == "failed") {
                *e.failed.entry(format!("G{i}")).or_default() += 1;
            }
            if let Some(rank) = c["rank"].as_u64() {
                e.ranks.push((zip.to_owned(), rank as u32));
            }
        }
    }
    out
}

/// Prints an epoch's tables to stdout.
pub fn print_epoch(e: &EpochReport) {
    println!(
        "{:<16} {:<16} {:>4} {:>9} {:>8} {:<14} {:>12}  flags / notes",
        "miner", "role", "uid", "zipcodes", "listings", "gates  ranks", "ppb"
    );
    for m in &e.miners {
        let ranks: Vec<String> = m.ranks.iter().map(|(_, r)| r.to_string()).collect();
        let mut notes = m.flags.clone();
        for (gate, n) in &m.failed_gates {
            notes.push(format!("{gate} failed x{n}"));
        }
        if m.honeypots > 0 {
            notes.push(format!("honeypot x{}", m.honeypots));
        }
        if let Some(s) = &m.final_status {
            notes.push(s.to_lowercase());
        }
        if let Some(err) = &m.error {
            notes.push(format!("error: {err}"));
        }
        if let Some(r) = m.rejected.first() {
            notes.push(format!(
                "{} refused ({r})",
                m.rejected.len().to_string() + " object(s)"
            ));
        }
        println!(
            "{:<16} {:<16} {:>4} {:>9} {:>8} {:<14} {:>12}  {}",
            m.miner,
            m.role,
            m.uid.map(|u| u.to_string()).unwrap_or_default(),
            m.uploaded.len(),
            m.listings,
            format!(
                "{}/{}  {}",
                m.gates_passed,
                m.candidates,
                if ranks.is_empty() {
                    "-".to_owned()
                } else {
                    ranks.join(",")
                }
            ),
            m.ppb,
            notes.join("; ")
        );
    }
    println!(
        "\n{:<12} {:<64}  {:<16} {:<11} validated data",
        "validator", "outcome hash", "agreement", "weights"
    );
    for v in &e.validators {
        println!(
            "{:<12} {:<64}  {:<16} {:<11} {}/{} listings traced to the market",
            v.validator,
            v.outcome_hash,
            format!(
                "{}/{} {:?}",
                v.agreement.agreeing, v.agreement.validators, v.agreement.level
            ),
            if v.weights.is_some() {
                "set"
            } else {
                "abstained"
            },
            v.traceable_listings,
            v.validated_listings
        );
    }
    println!("\nweights on the local chain:");
    for w in &e.chain_weights {
        let pairs: Vec<String> = w
            .uids
            .iter()
            .zip(&w.weights)
            .map(|(u, x)| format!("{u}:{x}"))
            .collect();
        println!(
            "  block {:>4}  uid {:>3} set  {}",
            w.block,
            w.setter_uid,
            pairs.join(" ")
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PALETTE: [&str; 8] = [
    "#2b6cb0", "#38a169", "#d69e2e", "#805ad5", "#319795", "#dd6b20", "#3182ce", "#48bb78",
];

/// The chart: one stacked bar per epoch (each miner's share of the weight), a legend, and the
/// numbers in a table, as a self-contained HTML page.
pub fn html_chart(r: &DevnetReport) -> String {
    let mut names: Vec<(String, bool)> = Vec::new();
    for e in &r.epochs {
        for m in &e.miners {
            if !names.iter().any(|(n, _)| n == &m.miner) {
                names.push((m.miner.clone(), m.adversary));
            }
        }
    }
    let color = |i: usize, adversary: bool| -> &'static str {
        if adversary {
            "#e53e3e"
        } else {
            PALETTE[i % PALETTE.len()]
        }
    };
    let (w, bar_h, gap, left) = (720.0_f64, 28.0_f64, 14.0_f64, 170.0_f64);
    let height = 40.0 + (bar_h + gap) * r.epochs.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="12">"#,
        left + w + 20.0
    );
    for (k, e) in r.epochs.iter().enumerate() {
        let y = 20.0 + (bar_h + gap) * k as f64;
        let _ = write!(
            svg,
            r#"<text x="4" y="{}">{}{}</text>"#,
            y + bar_h * 0.65,
            escape(&e.epoch_id),
            if e.agreed { "" } else { " (disagree)" }
        );
        let mut x = left;
        for m in &e.miners {
            let i = names.iter().position(|(n, _)| n == &m.miner).unwrap_or(0);
            let width = w * m.ppb as f64 / 1e9;
            if width <= 0.0 {
                continue;
            }
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y}" width="{width:.1}" height="{bar_h}" fill="{}"><title>{} {} ppb</title></rect>"#,
                color(i, m.adversary),
                escape(&m.miner),
                m.ppb
            );
            if width > 50.0 {
                let _ = write!(
                    svg,
                    r##"<text x="{:.1}" y="{}" fill="#fff">{}</text>"##,
                    x + 4.0,
                    y + bar_h * 0.65,
                    escape(&m.miner)
                );
            }
            x += width;
        }
    }
    svg.push_str("</svg>");
    let mut legend = String::new();
    for (i, (n, adv)) in names.iter().enumerate() {
        let _ = write!(
            legend,
            r#"<span style="margin-right:14px"><span style="display:inline-block;width:12px;height:12px;background:{}"></span> {}{}</span>"#,
            color(i, *adv),
            escape(n),
            if *adv { " (adversary)" } else { "" }
        );
    }
    let mut table = String::from("<table><tr><th>epoch</th>");
    for (n, _) in &names {
        let _ = write!(table, "<th>{}</th>", escape(n));
    }
    table.push_str("<th>outcome hash</th></tr>");
    for e in &r.epochs {
        let _ = write!(table, "<tr><td>{}</td>", escape(&e.epoch_id));
        for (n, _) in &names {
            let ppb = e
                .miners
                .iter()
                .find(|m| &m.miner == n)
                .map(|m| m.ppb)
                .unwrap_or(0);
            let _ = write!(table, "<td>{:.2}%</td>", ppb as f64 / 1e7);
        }
        let hash = e
            .validators
            .first()
            .map(|v| v.outcome_hash.as_str())
            .unwrap_or("");
        let _ = write!(
            table,
            "<td><code>{}</code>{}</td></tr>",
            escape(&hash[..hash.len().min(16)]),
            if e.agreed { " all agree" } else { " DISAGREE" }
        );
    }
    table.push_str("</table>");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>resi devnet: weights per epoch</title>\
         <style>body{{font-family:sans-serif;margin:24px}}table{{border-collapse:collapse;margin-top:16px}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head><body>\
         <h1>Weights per epoch</h1><p>Policy {} {} (wasm {}, params {}), store {}.</p>{svg}<p>{legend}</p>{table}</body></html>\n",
        escape(&r.policy[0]),
        escape(&r.policy[1]),
        escape(&r.policy[2][..r.policy[2].len().min(12)]),
        escape(&r.policy[3][..r.policy[3].len().min(12)]),
        escape(&r.store),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_rows_count_gates_and_ranks() {
        let outcome = serde_json::json!({"zipcodes": [
            {"zipcode": "19103", "candidates": [
                {"hotkey": "a", "gates": ["passed","passed","passed","passed","passed"], "rank": 1},
                {"hotkey": "b", "gates": ["passed","passed","failed","skipped","skipped"], "rank": null}
            ]},
            {"zipcode": "10001", "candidates": [
                {"hotkey": "a", "gates": ["passed","passed","passed","passed","skipped"], "rank": null}
            ]}
        ]});
        let m = outcome_by_miner(&outcome, &Default::default());
        assert_eq!(m["a"].candidates, 2);
        assert_eq!(m["a"].gates_passed, 2);
        assert_eq!(m["a"].ranks, vec![("19103".to_owned(), 1)]);
        assert!(m["a"].failed.is_empty());
        assert_eq!((m["b"].candidates, m["b"].gates_passed), (1, 0));
        assert_eq!(m["b"].failed, BTreeMap::from([("G2".to_owned(), 1)]));
    }

    #[test]
    fn chart_has_a_bar_per_paid_miner_and_escapes_names() {
        let row = |name: &str, ppb: u64, adversary: bool| MinerRow {
            miner: name.into(),
            role: "x".into(),
            adversary,
            hotkey: String::new(),
            uid: None,
            uploaded: vec![],
            listings: 0,
            gates_passed: 0,
            candidates: 0,
            ranks: vec![],
            failed_gates: BTreeMap::new(),
            honeypots: 0,
            ppb,
            flags: vec![],
            rejected: vec![],
            final_status: None,
            error: None,
        };
        let r = DevnetReport {
            netuid: 46,
            epoch_secs: 60,
            grace_ms: 3750,
            store: "local:<dir>".into(),
            market: String::new(),
            coordinator: String::new(),
            policy: ["p".into(), "1".into(), "ab".into(), "cd".into()],
            epochs: vec![EpochReport {
                epoch_id: "e1".into(),
                deadline: String::new(),
                miners: vec![
                    row("miner1", 600_000_000, false),
                    row("miner2", 400_000_000, false),
                    row("fabricator", 0, true),
                ],
                validators: vec![],
                chain_weights: vec![],
                agreed: true,
            }],
        };
        let html = html_chart(&r);
        assert_eq!(html.matches("<rect").count(), 2, "{html}");
        assert!(html.contains("local:&lt;dir&gt;"));
        assert!(html.contains("fabricator (adversary)"));
        assert!(html.contains("60.00%"));
    }
}
