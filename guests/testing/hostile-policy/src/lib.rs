//! `hostile-policy`: a policy that misbehaves on purpose, so the host's tests can show every
//! sandbox limit holds. The behaviour is chosen by the `params` string of `finalize`:
//! `loop` (never returns), `membomb` (allocates without end), `recurse` (unbounded recursion),
//! `panic` (traps with a message); anything else returns an empty outcome.

use resi_guest::policy::*;

struct HostilePolicy;

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64, acc: &mut [u64; 16]) -> u64 {
    acc[(depth % 16) as usize] = depth;
    let mut local = *acc;
    local[0] = local[0].wrapping_add(recurse(depth + 1, &mut local));
    std::hint::black_box(local[0])
}

impl Guest for HostilePolicy {
    fn info() -> PolicyInfo {
        PolicyInfo { name: "hostile".into(), version: "0.0.0".into(), default_params: "{}".into() }
    }

    fn plan_zipcode(
        _: String,
        _: Epoch,
        _: Assignment,
        _: Vec<Submission>,
        _: Vec<Observation>,
    ) -> Result<Vec<CheckRequest>, String> {
        Ok(Vec::new())
    }

    fn score_zipcode(
        _: String,
        _: Epoch,
        a: Assignment,
        _: u64,
        _: Vec<Submission>,
        _: Vec<Observation>,
    ) -> Result<ZipcodeResult, String> {
        Ok(ZipcodeResult { zipcode: a.zipcode, candidates: Vec::new() })
    }

    fn finalize(params: String, _: Epoch, _: Vec<ZipcodeResult>) -> Result<Outcome, String> {
        match params.as_str() {
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "membomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => {
                let mut acc = [0u64; 16];
                let n = recurse(0, &mut acc);
                Err(format!("unreachable {n}"))
            }
            "panic" => panic!("hostile policy panicked on purpose"),
            _ => Ok(Outcome { miners: Vec::new(), canonical_json: "{}".into() }),
        }
    }
}

resi_guest::export_policy!(HostilePolicy);
