//! `/docs-json` and `/docs` of a coordinator on 127.0.0.1: the document lists every route the
//! server answers (each documented operation is really served with exactly the documented
//! methods, and every protocol path is documented), every `$ref` resolves, every error answer is
//! documented as the NestJS body, and a real answer of each JSON endpoint, accepted and refused,
//! validates against the schema documented for its status.

use crate::common;

use common::*;
use resi_coordinator::Clock;
use resi_core::Hotkey;
use resi_core::auth::now_unix;
use resi_core::commitments;
use resi_core::wire::{self, ACCESS_EXPIRY_SECS, PresignedPost};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Every method an operation can be documented under.
const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

/// Follows `$ref` (`#/components/schemas/Name`) to the schema it names.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> Result<&'a Value, String> {
    let mut s = schema;
    for _ in 0..16 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            return Ok(s);
        };
        let name = r
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("unsupported $ref {r}"))?;
        s = spec
            .pointer(&format!("/components/schemas/{name}"))
            .ok_or_else(|| format!("$ref {r} does not resolve"))?;
    }
    Err("$ref chain too long".into())
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// Checks `v` against `schema` (the JSON Schema subset utoipa writes: `$ref`, `type` (one or a
/// list), `enum`, `required`, `properties`, `additionalProperties`, `items`, `allOf`, `oneOf`,
/// `anyOf`, `minimum`). Errors name the JSON path.
fn validate(spec: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let s = resolve(spec, schema)?;
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for part in all {
            validate(spec, part, v, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let errs: Vec<String> = alts
                .iter()
                .filter_map(|a| validate(spec, a, v, at).err())
                .collect();
            if errs.len() == alts.len() {
                return Err(format!("{at}: matches no {key} alternative: {errs:?}"));
            }
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            other => return Err(format!("{at}: bad type {other}")),
        };
        if !types.iter().any(|t| type_matches(t, v)) {
            return Err(format!("{at}: {v} is not of type {types:?}"));
        }
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {options:?}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        return Err(format!("{at}: {n} < minimum {min}"));
    }
    if let Some(obj) = v.as_object() {
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or_default();
            if !obj.contains_key(r) {
                return Err(format!("{at}: required field {r:?} missing"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(p) => validate(spec, p, val, &format!("{at}.{k}"))?,
                None => {
                    if let Some(extra) = s.get("additionalProperties")
                        && extra.is_object()
                    {
                        validate(spec, extra, val, &format!("{at}.{k}"))?;
                    }
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(spec, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The operations of the document: (method, path template, operation).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// Asserts that `body` (the answer of `method path` with `status`) validates against the JSON
/// schema documented for that status.
fn check_answer(spec: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let schema = spec
        .pointer(&format!(
            "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
            path.replace('~', "~0").replace('/', "~1")
        ))
        .unwrap_or_else(|| panic!("{method} {path} documents no JSON body for {status}"));
    if let Err(e) = validate(spec, schema, body, "$") {
        panic!("{method} {path} {status}: {e}\n{body:#}");
    }
}

async fn fetch_spec(url: &str) -> Value {
    let resp = reqwest::get(format!("{url}/docs-json")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    resp.json().await.unwrap()
}

/// Everything the test sends: HTTP client, server URL and the server's clock.
struct Api {
    http: reqwest::Client,
    url: String,
    now: Arc<AtomicI64>,
}

impl Api {
    fn ts(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    async fn get(&self, path: &str, query: &[(&'static str, String)]) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .query(query)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    fn sig(key: &Hotkey, msg: &str) -> String {
        key.sign(msg.as_bytes()).to_hex()
    }
}

#[test]
fn the_validator_rejects_wrong_shapes() {
    let spec = json!({"components": {"schemas": {
        "A": {"type": "object", "required": ["n", "z"], "properties": {
            "n": {"type": "integer", "minimum": 0},
            "z": {"type": "array", "items": {"$ref": "#/components/schemas/B"}},
            "o": {"oneOf": [{"type": "string"}, {"type": "null"}]}}},
        "B": {"type": "string", "enum": ["x", "y"]}}}});
    let a = json!({"$ref": "#/components/schemas/A"});
    assert!(validate(&spec, &a, &json!({"n": 1, "z": ["x"]}), "$").is_ok());
    assert!(validate(&spec, &a, &json!({"n": 1, "z": ["x"], "o": null}), "$").is_ok());
    for bad in [
        json!({"z": []}),
        json!({"n": "1", "z": []}),
        json!({"n": -1, "z": []}),
        json!({"n": 1, "z": "x"}),
        json!({"n": 1, "z": ["q"]}),
        json!({"n": 1, "z": [], "o": 3}),
    ] {
        assert!(validate(&spec, &a, &bad, "$").is_err(), "{bad}");
    }
    assert!(
        validate(
            &spec,
            &json!({"$ref": "#/components/schemas/C"}),
            &json!(1),
            "$"
        )
        .is_err()
    );
}

#[tokio::test]
async fn the_document_covers_every_route_and_real_answers_match_it() {
    let dir = tempfile::tempdir().unwrap();
    let now = Arc::new(AtomicI64::new(now_unix()));
    let mut cfg = config(dir.path());
    let clock_now = now.clone();
    let clock: Clock = Arc::new(move || clock_now.load(Ordering::SeqCst));
    cfg.clock = Some(clock);
    let (srv, keys) = start(dir.path(), cfg).await;
    let api = Api {
        http: reqwest::Client::new(),
        url: srv.url(),
        now,
    };
    let spec = fetch_spec(&api.url).await;
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        spec["openapi"]
    );
    let ops = operations(&spec);

    // Every protocol path, the local store's upload and the operations routes are documented.
    let epoch_route = format!("{}{{id}}", wire::PATH_ASSIGNMENT_EPOCH_PREFIX);
    let expected = [
        ("get", wire::PATH_HEALTHCHECK),
        ("get", wire::PATH_ASSIGNMENT_CURRENT),
        ("get", epoch_route.as_str()),
        ("post", wire::PATH_STATUS),
        ("get", wire::PATH_STATS),
        ("post", wire::PATH_FOLDER_ACCESS),
        ("post", wire::PATH_VALIDATOR_UPLOAD),
        ("post", wire::PATH_VALIDATOR_ACCESS),
        ("post", wire::PATH_MINER_SPECIFIC_ACCESS),
        ("post", resi_coordinator::server::PATH_LOCAL_UPLOAD),
        ("get", "/metrics"),
        ("get", "/docs-json"),
        ("get", "/docs"),
    ];
    for (m, p) in expected {
        assert!(
            ops.iter().any(|(om, op, _)| om == m && op == p),
            "{m} {p} is not documented"
        );
    }

    // Each documented operation is served (not the fallback's 404, not 405), and no other
    // method is served on its path.
    let fallback = api
        .http
        .get(format!("{}/no/such/route", api.url))
        .send()
        .await
        .unwrap();
    assert_eq!(fallback.status(), 404);
    let fallback_body: Value = fallback.json().await.unwrap();
    for (method, path, _) in &ops {
        let concrete = path.replace("{id}", "2025-10-01T16-00-00");
        let url = format!("{}{concrete}", api.url);
        for m in METHODS.iter().filter(|m| **m != "head" && **m != "options") {
            let resp = api
                .http
                .request(m.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if m == method {
                assert_ne!(status, 405, "{m} {path} is documented but not allowed");
                assert!(
                    !(status == 404 && body == fallback_body),
                    "{m} {path} is documented but not routed"
                );
            } else if !ops.iter().any(|(om, op, _)| om == m && op == path) {
                assert_eq!(status, 405, "{m} {path} is served but not documented");
            }
        }
    }

    // Every $ref anywhere resolves, every operation documents its answers, and every error
    // answer of every operation is the NestJS body.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(all.len() > 20, "suspiciously few $refs: {}", all.len());
    for r in all {
        resolve(&spec, &json!({ "$ref": r })).unwrap();
    }
    for (method, path, op) in &ops {
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path}: no success answer documented"
        );
        for (code, r) in responses {
            if code.starts_with('4') || code.starts_with('5') {
                assert_eq!(
                    r.pointer("/content/application~1json/schema/$ref"),
                    Some(&json!("#/components/schemas/NestError")),
                    "{method} {path} {code}"
                );
            }
        }
        let signed = op["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "miners" || t == "validators"));
        if signed {
            for code in ["400", "401", "403", "429"] {
                assert!(
                    responses.contains_key(code),
                    "{method} {path}: {code} missing"
                );
            }
        }
    }

    // Real answers against their schemas.
    let current = wire::PATH_ASSIGNMENT_CURRENT;
    let ts = api.ts();
    let q = signed_query(&keys.miner, &commitments::assignment_current(ts), ts);
    let (code, a) = api.get(current, &q).await;
    assert_eq!(code, 200, "{a}");
    check_answer(&spec, "get", current, 200, &a);
    let (code, replay) = api.get(current, &q).await;
    assert_eq!(code, 401);
    check_answer(&spec, "get", current, 401, &replay);
    let (code, missing) = api.get(current, &[]).await;
    assert_eq!(code, 400);
    check_answer(&spec, "get", current, 400, &missing);
    let (code, stranger) = api
        .get(
            current,
            &signed_query(&keys.stranger, &commitments::assignment_current(ts), ts),
        )
        .await;
    assert_eq!(code, 403);
    check_answer(&spec, "get", current, 403, &stranger);

    let id = a["epochId"].as_str().unwrap().to_owned();
    let nonce = a["nonce"].as_str().unwrap().to_owned();
    let epoch_path = format!("{}{id}", wire::PATH_ASSIGNMENT_EPOCH_PREFIX);
    let epoch_q = |ts: i64| signed_query(&keys.validator, &commitments::validation(&id, ts), ts);
    let (code, e) = api.get(&epoch_path, &epoch_q(api.ts())).await;
    assert_eq!(code, 200, "{e}");
    check_answer(&spec, "get", &epoch_route, 200, &e);

    let (code, stats) = api.get(wire::PATH_STATS, &[]).await;
    assert_eq!(code, 200);
    check_answer(&spec, "get", wire::PATH_STATS, 200, &stats);

    let ts = api.ts();
    let status = json!({
        "hotkey": keys.miner.ss58(), "timestamp": ts, "epochId": id, "nonce": nonce,
        "signature": Api::sig(&keys.miner, &commitments::status(&id, ts)),
        "status": "COMPLETED", "s3UploadComplete": true, "listingsScraped": 12,
        "zipcodesCompleted": [{"zipcode": "19103", "listingsScraped": 12,
            "completedAt": "2025-10-01T17:00:00.000Z"}],
    });
    let (code, ack) = api.post(wire::PATH_STATUS, &status).await;
    assert_eq!(code, 200, "{ack}");
    check_answer(&spec, "post", wire::PATH_STATUS, 200, &ack);
    let mut wrong = status.clone();
    let ts = api.ts();
    wrong["signature"] = json!(Api::sig(&keys.miner, &commitments::status(&id, ts)));
    wrong["nonce"] = json!("0000000000000000");
    let (code, bad_nonce) = api.post(wire::PATH_STATUS, &wrong).await;
    assert_eq!(code, 400, "{bad_nonce}");
    check_answer(&spec, "post", wire::PATH_STATUS, 400, &bad_nonce);

    let ts = api.ts();
    let miner = keys.miner.ss58();
    let coldkey = keys.stranger.ss58();
    let folder = json!({"coldkey": coldkey, "hotkey": miner, "timestamp": ts,
        "signature": Api::sig(&keys.miner, &commitments::folder_access(&coldkey, &miner, ts)),
        "expiry": ts + ACCESS_EXPIRY_SECS});
    let (code, grant) = api.post(wire::PATH_FOLDER_ACCESS, &folder).await;
    assert_eq!(code, 200, "{grant}");
    check_answer(&spec, "post", wire::PATH_FOLDER_ACCESS, 200, &grant);

    let ts = api.ts();
    let vup = json!({"hotkey": keys.validator.ss58(), "timestamp": ts, "epochId": id,
        "signature": Api::sig(&keys.validator, &commitments::validator_upload(ts)),
        "purpose": wire::PURPOSE_EPOCH_VALIDATION_RESULTS, "estimatedDataSizeMb": 1.5,
        "retentionDays": 30});
    let (code, up) = api.post(wire::PATH_VALIDATOR_UPLOAD, &vup).await;
    assert_eq!(code, 200, "{up}");
    check_answer(&spec, "post", wire::PATH_VALIDATOR_UPLOAD, 200, &up);
    // The typed client's view of the same answer still holds.
    let post: PresignedPost = serde_json::from_value(up.clone()).unwrap();
    assert_eq!(post.extra["epochId"], json!(id));

    let ts = api.ts();
    let vacc = json!({"hotkey": keys.validator.ss58(), "timestamp": ts, "expiry": ts + 60,
        "signature": Api::sig(&keys.validator, &commitments::validator_access(ts))});
    let (code, read) = api.post(wire::PATH_VALIDATOR_ACCESS, &vacc).await;
    assert_eq!(code, 200, "{read}");
    check_answer(&spec, "post", wire::PATH_VALIDATOR_ACCESS, 200, &read);

    let ts = api.ts();
    let msa = json!({"hotkey": keys.validator.ss58(), "timestamp": ts, "expiry": ts + 60,
        "miner_hotkey": miner,
        "signature": Api::sig(&keys.validator, &commitments::miner_specific_access(&miner, ts))});
    let (code, one) = api.post(wire::PATH_MINER_SPECIFIC_ACCESS, &msa).await;
    assert_eq!(code, 200, "{one}");
    check_answer(&spec, "post", wire::PATH_MINER_SPECIFIC_ACCESS, 200, &one);
    // A miner on a validator endpoint: 403 in the NestJS shape.
    let ts = api.ts();
    let as_miner = json!({"hotkey": miner, "timestamp": ts, "expiry": ts + 60,
        "signature": Api::sig(&keys.miner, &commitments::validator_access(ts))});
    let (code, no_permit) = api.post(wire::PATH_VALIDATOR_ACCESS, &as_miner).await;
    assert_eq!(code, 403, "{no_permit}");
    check_answer(&spec, "post", wire::PATH_VALIDATOR_ACCESS, 403, &no_permit);

    let (code, health) = api.get(wire::PATH_HEALTHCHECK, &[]).await;
    assert_eq!(code, 200);
    check_answer(&spec, "get", wire::PATH_HEALTHCHECK, 200, &health);
    let (code, doc) = api.get("/docs-json", &[]).await;
    assert_eq!(code, 200);
    check_answer(&spec, "get", "/docs-json", 200, &doc);

    // After the deadline: the revealed answer (seed, honeypot flags) matches too.
    let end = chrono::DateTime::parse_from_rfc3339(a["submissionDeadline"].as_str().unwrap())
        .unwrap()
        .timestamp();
    api.now.store(end + 5, Ordering::SeqCst);
    let (code, revealed) = api.get(&epoch_path, &epoch_q(api.ts())).await;
    assert_eq!(code, 200, "{revealed}");
    assert_eq!(revealed["validationSeed"].as_str().map(str::len), Some(64));
    assert!(revealed["zipcodes"][0]["isHoneypot"].is_boolean());
    check_answer(&spec, "get", &epoch_route, 200, &revealed);
    // And shapes that break the document are caught: a revealed answer without its nonce.
    let mut broken = revealed.clone();
    broken.as_object_mut().unwrap().remove("nonce");
    let schema = &spec["paths"][&epoch_route]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert!(validate(&spec, schema, &broken, "$").is_err());
    srv.shutdown().await;
}

#[tokio::test]
async fn the_docs_page_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, _) = start(dir.path(), config(dir.path())).await;
    let resp = reqwest::get(format!("{}/docs", srv.url())).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("fetch(\"docs-json\")"),
        "the page renders /docs-json"
    );
    for external in ["http://", "https://", "<script src", "<link", "@import"] {
        assert!(
            !html.contains(external),
            "the page loads something external: {external}"
        );
    }
    srv.shutdown().await;
}
