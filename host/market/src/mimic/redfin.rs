//! The Redfin stingray mimic: `https://www.redfin.com`'s JSON API as the redfin scraper uses it.
//!
//! Every JSON body is `{}&&` followed by the envelope
//! `{"version":532,"errorMessage":"Success","resultCode":0,"payload":{...}}`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /stingray/do/location-autocomplete?location={zip}` | a Places row `{"id":"2_<region_id>","type":"4","name":"{zip}",...}` ([`region_id`]) |
//! | `GET /stingray/api/gis?region_id=&region_type=2&status=9&sold_within_days=&uipt=&min_price=&max_price=&num_homes=` | `payload.homes[]` in the real home shape ([`home`]), filters applied, at most 350 per call (truncated, no server-side pagination: `page_number` is ignored), `serviceRegionName` = the zipcode |
//! | `GET /stingray/api/home/details/initialInfo?path=/ST/City/Street-ZIP/home/{id}` | `payload.{propertyId,listingId,marketId}`; 404 for an unknown home |
//! | `GET /stingray/api/home/details/aboveTheFold?propertyId=&listingId=` | `payload.addressSectionInfo` (status, priceInfo "Last Sold Price", beds, baths, sqFt, address, soldDate) |
//! | `GET /stingray/api/home/details/belowTheFold?propertyId=&listingId=` | `payload.propertyHistoryInfo.events[]` (the "Sold" and "Listed" events) |
//! | `GET /home/{id}` | 301 to the home's canonical URL |
//!
//! Every route first answers 403 to a User-Agent without `Mozilla/` (Redfin blocks non-browser
//! clients), then 429 (with `Retry-After` unless [`MimicOptions::retry_after`] is off) when
//! [`MimicState::admit`] says so.
//!
//! Synthetic mode serves [`MimicState::sold`] (the one definition of recent sales) and, for
//! details, any home of the universe. The zipcodes in [`TRIGGERS`] (none is a real zipcode)
//! make the gis search answer one of Redfin's failures, for tests.
//!
//! Replay mode serves captured bodies verbatim from a directory laid out as
//! `autocomplete/{zip}.json`, `gis/{region_id}-page{n}.json` and
//! `home/{propertyId}/{initialInfo,aboveTheFold,belowTheFold}.json` (complete `{}&&{...}`
//! bodies; `tests/fixtures/sources/redfin/README.md`); a body that was not captured is a 404.
//!
//! [`MimicOptions::retry_after`]: super::MimicOptions::retry_after

use super::{Admission, MimicData, MimicState};
use crate::Listing;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The envelope version the mimic reports (the real X2 gis response's).
const VERSION: u32 = 532;
/// Most homes one gis call returns (the real API's undocumented hard cap).
pub const GIS_CAP: usize = 350;
/// Offset of the synthetic region ids: a zipcode's region id is `100000 + zip` (never equal to
/// the zipcode itself, so a scraper confusing the two fails).
const REGION_OFFSET: u64 = 100_000;

/// A failure the gis search answers for a trigger zipcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// 403 with the AWS WAF challenge page.
    Waf403,
    /// 202 with the AWS WAF challenge page (WAF's challenge action).
    WafChallenge,
    /// 200 with an HTML captcha page instead of JSON.
    Html200,
    /// The envelope with `resultCode` 1 and an `errorMessage`.
    ResultCode,
    /// Another region's homes (`serviceRegionName` 19103, homes in 19103).
    Substitute,
    /// HTTP 503 on every call.
    Unavailable,
    /// HTTP 200 with the body `{}` (no envelope, no homes).
    EmptyObject,
    /// A 302 redirect to `/login` (how Redfin also turns clients away).
    Login,
}

/// The trigger zipcodes (none exists: no US zipcode starts with `000`).
pub const TRIGGERS: &[(&str, Trigger)] = &[
    ("00403", Trigger::Waf403),
    ("00202", Trigger::WafChallenge),
    ("00200", Trigger::Html200),
    ("00001", Trigger::ResultCode),
    ("00002", Trigger::Substitute),
    ("00503", Trigger::Unavailable),
    ("00204", Trigger::EmptyObject),
    ("00302", Trigger::Login),
];

/// The `errorMessage` of [`Trigger::ResultCode`].
pub const REFUSAL_MESSAGE: &str = "Invalid argument: region_id is not a searchable region";

/// The AWS WAF challenge interstitial (small HTML loading `challenge.js` from `awswaf.com`).
pub const WAF_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title></title>\
<script type=\"text/javascript\">window.awsWafCookieDomainList = [];window.gokuProps = {\"key\":\"AQIDAHjcYu\",\"iv\":\"CgAHbDNd\",\"context\":\"mimic\"};</script>\
<script src=\"https://b3e5f1a2c4d6.edge.sdk.awswaf.com/b3e5f1a2c4d6/0f1e2d3c4b5a/challenge.js\"></script>\
</head><body><div id=\"challenge-container\"></div><noscript><h1>JavaScript is disabled</h1>\
In order to continue, you need to verify that you're not a robot by solving a CAPTCHA puzzle.</noscript>\
<script>AwsWafIntegration.checkForceRefresh().then((forceRefresh) => { if (forceRefresh) { \
AwsWafIntegration.forceRefreshToken().then(() => { window.location.reload(true); }); } else { \
AwsWafIntegration.getToken().then(() => { window.location.reload(true); }); } });</script></body></html>";

const CAPTCHA_PAGE: &str = "<!DOCTYPE html><html><head><title>Redfin</title></head><body>\
<h1>Please verify you are a human</h1><p>Access to this page has been denied because we believe \
you are using automation tools to browse the website.</p></body></html>";

const FORBIDDEN_PAGE: &str = "<!DOCTYPE html><html><head><title>403 Forbidden</title></head>\
<body><h1>403 Forbidden</h1><p>Request blocked.</p></body></html>";

/// The Redfin region id of a zipcode in synthetic mode (and in the fixtures' placeholders).
pub fn region_id(zipcode: &str) -> Option<u64> {
    (zipcode.len() == 5 && zipcode.bytes().all(|b| b.is_ascii_digit()))
        .then(|| REGION_OFFSET + zipcode.parse::<u64>().unwrap_or(0))
}

fn zipcode_of(region: &str) -> Option<String> {
    let n: u64 = region.parse().ok()?;
    (REGION_OFFSET..REGION_OFFSET + 100_000)
        .contains(&n)
        .then(|| format!("{:05}", n - REGION_OFFSET))
}

fn trigger(zipcode: &str) -> Option<Trigger> {
    TRIGGERS
        .iter()
        .find(|(z, _)| *z == zipcode)
        .map(|(_, t)| *t)
}

/// The routes of the redfin mimic.
pub(crate) fn router(state: Arc<MimicState>) -> Router {
    Router::new()
        .route("/stingray/do/location-autocomplete", get(autocomplete))
        .route("/stingray/api/gis", get(gis))
        .route("/stingray/api/home/details/initialInfo", get(initial_info))
        .route(
            "/stingray/api/home/details/aboveTheFold",
            get(above_the_fold),
        )
        .route(
            "/stingray/api/home/details/belowTheFold",
            get(below_the_fold),
        )
        .route("/home/{id}", get(home_redirect))
        .with_state(state)
}

type Params = Query<HashMap<String, String>>;

fn stingray(payload: Value) -> Response {
    body(format!(
        "{{}}&&{}",
        json!({"version": VERSION, "errorMessage": "Success", "resultCode": 0, "payload": payload})
    ))
}

fn body(text: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        text,
    )
        .into_response()
}

fn html(status: StatusCode, page: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        page,
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

/// The User-Agent check and admission every route passes first.
fn gate(state: &MimicState, headers: &HeaderMap) -> Option<Response> {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ua.contains("Mozilla/") {
        return Some(html(StatusCode::FORBIDDEN, FORBIDDEN_PAGE));
    }
    let retry = match state.admit() {
        Admission::Ok => return None,
        Admission::RateLimited { retry_after_s } => retry_after_s,
        // Redfin has no quota: the exhausted quota reads as a long rate limit.
        Admission::QuotaExhausted => 3600,
    };
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        "<html><body><h1>429 Too Many Requests</h1></body></html>",
    )
        .into_response();
    if state.options.retry_after
        && let Ok(v) = retry.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(response)
}

/// A captured body of the replay directory, verbatim; 404 when it was not captured.
fn replay(dir: &std::path::Path, relative: &str) -> Response {
    match std::fs::read(dir.join(relative)) {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

async fn autocomplete(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let location = q.get("location").map(|s| s.trim()).unwrap_or("");
    match &state.data {
        MimicData::Replay(dir) => {
            if !digits(location) {
                return not_found();
            }
            replay(dir, &format!("autocomplete/{location}.json"))
        }
        MimicData::Synthetic(market) => {
            let known = market.zipcodes().get(location);
            let rows: Vec<Value> = match region_id(location) {
                Some(region) if known.is_some() || trigger(location).is_some() => {
                    let sub = known.map_or("USA".to_string(), |z| {
                        format!("{}, {}, USA", z.city, z.state)
                    });
                    vec![json!({
                        "id": format!("2_{region}"), "type": "4", "name": location,
                        "subName": sub, "url": format!("/zipcode/{location}"), "active": true,
                        "claimedHome": false, "invalidMRS": false, "businessMarketIds": [1],
                        "countryCode": "US",
                    })]
                }
                _ => Vec::new(),
            };
            let mut payload = json!({
                "sections": if rows.is_empty() { json!([]) } else { json!([{"rows": rows, "name": "Places"}]) },
                "extraResults": {}, "responseTime": 0, "hasFakeResults": false,
                "isGeocoded": false, "isRedfinServiced": !rows.is_empty(),
            });
            if let Some(row) = rows.first() {
                payload["exactMatch"] = row.clone();
            }
            stingray(payload)
        }
    }
}

/// Redfin's `uiPropertyType` code of a universe property type.
fn uipt(property_type: &str) -> u32 {
    match property_type {
        "SINGLE_FAMILY" => 1,
        "CONDO" => 2,
        "TOWNHOUSE" => 3,
        "MULTI_FAMILY" => 4,
        "LAND" => 5,
        "MANUFACTURED" => 7,
        _ => 6,
    }
}

/// Redfin's internal `propertyType` code (6 = single family as in the capture; the others are
/// placeholders, no scraper reads them).
fn internal_type(property_type: &str) -> u32 {
    match property_type {
        "SINGLE_FAMILY" => 6,
        "CONDO" => 3,
        "TOWNHOUSE" => 13,
        "MULTI_FAMILY" => 4,
        "LAND" => 8,
        "MANUFACTURED" => 10,
        _ => 6,
    }
}

/// Unix ms of a `YYYY-MM-DD` date at 05:00 UTC (about midnight in US time zones).
fn day_ms(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(5, 0, 0)?.and_utc().timestamp_millis())
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        if !word.is_empty() {
            if !out.is_empty() {
                out.push('-');
            }
            out.push_str(word);
        }
    }
    out
}

/// The street line without its unit, and the unit (`"Unit 4"`), of a universe home.
fn street_and_unit(street: &str) -> (&str, Option<&str>) {
    match street.find(" Unit ") {
        Some(i) => (&street[..i], Some(&street[i + 1..])),
        None => (street, None),
    }
}

/// Redfin's listing id of a universe home (its own number, stable).
fn listing_id(l: &Listing) -> u64 {
    let zpid: u64 = l.zpid.parse().unwrap_or(0);
    100_000_000 + zpid % 900_000_000
}

/// The canonical Redfin path of a universe home.
fn home_url(l: &Listing) -> String {
    let (street, unit) = street_and_unit(&l.street);
    let unit = unit.map_or(String::new(), |u| format!("/{}", slug(u).to_lowercase()));
    format!(
        "/{}/{}/{}-{}{unit}/home/{}",
        l.state,
        slug(&l.city),
        slug(street),
        l.zipcode,
        l.zpid
    )
}

fn time_zone(lon_e6: i64) -> &'static str {
    match lon_e6 {
        x if x < -140_000_000 => "US/Hawaii",
        x if x < -114_000_000 => "US/Pacific",
        x if x < -102_000_000 => "US/Mountain",
        x if x < -87_000_000 => "US/Central",
        _ => "US/Eastern",
    }
}

fn wrapped<T: serde::Serialize>(v: Option<T>) -> Value {
    match v {
        Some(v) => json!({"value": v, "level": 1}),
        None => json!({"level": 1}),
    }
}

/// A universe home as one gis `homes[]` entry: the keys of the real capture, Redfin's names
/// for resi's fields. The one place the mapping lives.
pub fn home(l: &Listing) -> Value {
    let property_id: u64 = l.zpid.parse().unwrap_or(0);
    let (_, unit) = street_and_unit(&l.street);
    let sold = l.sold_date.is_some();
    let mls = match &l.mls_id {
        Some(m) => json!({"label": "MLS#", "value": m}),
        None => json!({"label": "Listing #", "value": listing_id(l).to_string()}),
    };
    let baths = l.bathrooms_hundredths.map(|h| f64::from(h) / 100.0);
    let ppsf = l.sqft.filter(|s| *s > 0).map(|s| l.price / u64::from(s));
    let dom_ms = u64::from(l.days_on_market) * 86_400_000;
    let mut h = json!({
        "mlsId": mls,
        "showMlsId": false,
        "mlsStatus": if sold { "Sold" } else { mls_status(&l.listing_status) },
        "showDatasourceLogo": false,
        "price": {"value": l.price, "level": 1},
        "hideSalePrice": false,
        "hoa": {"level": 1},
        "isHoaFrequencyKnown": true,
        "sqFt": wrapped(l.sqft),
        "pricePerSqFt": wrapped(ppsf),
        "lotSize": {"value": l.lot_sqft, "level": 1},
        "beds": l.bedrooms,
        "baths": baths,
        "location": {"value": l.city, "level": 1},
        "latLong": {"value": {"latitude": l.lat_e6 as f64 / 1e6, "longitude": l.lon_e6 as f64 / 1e6}, "level": 1},
        "streetLine": {"value": l.street, "level": 1},
        "unitNumber": wrapped(unit),
        "city": l.city,
        "state": l.state,
        "zip": l.zipcode,
        "postalCode": {"value": l.zipcode, "level": 1},
        "countryCode": "US",
        "showAddressOnMap": true,
        "searchStatus": if sold { 4 } else { 1 },
        "propertyType": internal_type(&l.property_type),
    });
    let rest = json!({
        "uiPropertyType": uipt(&l.property_type),
        "listingType": 1,
        "propertyId": property_id,
        "listingId": listing_id(l),
        "dataSourceId": 1,
        "marketId": 1,
        "yearBuilt": wrapped(l.year_built),
        "dom": {"value": l.days_on_market, "level": 1},
        "timeOnRedfin": {"value": dom_ms, "level": 1},
        "originalTimeOnRedfin": {"value": dom_ms, "level": 1},
        "timeZone": time_zone(l.lon_e6),
        "primaryPhotoDisplayLevel": 1,
        "photos": {"value": "0-1:0", "level": 1},
        "additionalPhotosInfo": [],
        "url": home_url(l),
        "hasInsight": false,
        "sashes": [],
        "keyFacts": [],
        "isHot": false,
        "hasVirtualTour": false,
        "hasVideoTour": false,
        "has3DTour": false,
        "newConstructionCommunityInfo": {},
        "isRedfin": false,
        "isActiveKeyListing": false,
        "isNewConstruction": false,
        "remarksAccessLevel": 1,
        "businessMarketId": 1,
        "isShortlisted": false,
        "isViewedListing": false,
    });
    if let (Some(h), Value::Object(rest)) = (h.as_object_mut(), rest) {
        h.extend(rest);
    }
    if let Some(hundredths) = l.bathrooms_hundredths {
        h["fullBaths"] = json!(hundredths / 100);
        if hundredths % 100 != 0 {
            h["partialBaths"] = json!(1);
        }
    }
    if let Some(ms) = l.sold_date.as_deref().and_then(day_ms) {
        h["soldDate"] = json!(ms);
    }
    h
}

fn mls_status(listing_status: &str) -> &'static str {
    match listing_status {
        "PENDING" => "Pending",
        "CONTINGENT" => "Contingent",
        _ => "Active",
    }
}

fn param<'a>(q: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    q.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

async fn gis(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let region = param(&q, "region_id").unwrap_or("");
    let market = match &state.data {
        MimicData::Replay(dir) => {
            let page = param(&q, "page_number").unwrap_or("1");
            if !digits(region) || !digits(page) {
                return not_found();
            }
            return replay(dir, &format!("gis/{region}-page{page}.json"));
        }
        MimicData::Synthetic(market) => market,
    };
    let Some(zip) = zipcode_of(region).filter(|_| param(&q, "region_type") == Some("2")) else {
        return body(format!(
            "{{}}&&{}",
            json!({"version": VERSION, "errorMessage": "Invalid argument: region", "resultCode": 1})
        ));
    };
    let zip = match trigger(&zip) {
        Some(Trigger::Waf403) => return html(StatusCode::FORBIDDEN, WAF_PAGE),
        Some(Trigger::WafChallenge) => return html(StatusCode::ACCEPTED, WAF_PAGE),
        Some(Trigger::Html200) => return html(StatusCode::OK, CAPTCHA_PAGE),
        Some(Trigger::ResultCode) => {
            return body(format!(
                "{{}}&&{}",
                json!({"version": VERSION, "errorMessage": REFUSAL_MESSAGE, "resultCode": 1})
            ));
        }
        Some(Trigger::Unavailable) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
        }
        Some(Trigger::EmptyObject) => return body("{}".into()),
        Some(Trigger::Login) => {
            return (
                StatusCode::FOUND,
                [(
                    header::LOCATION,
                    "https://www.redfin.com/login?redirect=%2Fstingray%2Fapi%2Fgis",
                )],
            )
                .into_response();
        }
        Some(Trigger::Substitute) => "19103".to_string(),
        None => zip,
    };
    let number = |key: &str| param(&q, key).and_then(|v| v.parse::<u64>().ok());
    let types: Option<Vec<u32>> =
        param(&q, "uipt").map(|v| v.split(',').filter_map(|t| t.trim().parse().ok()).collect());
    let today = market.config().now;
    let since = number("sold_within_days")
        .and_then(|d| today.checked_sub_days(chrono::Days::new(d)))
        .map(|d| d.format("%Y-%m-%d").to_string());
    let (min, max) = (number("min_price"), number("max_price"));
    let cap = number("num_homes")
        .map_or(GIS_CAP, |n| (n as usize).min(GIS_CAP))
        .max(1);
    let sold = state.sold(&zip);
    let homes: Vec<Value> = if param(&q, "status") == Some("9") {
        sold.iter()
            .filter(|l| {
                since
                    .as_deref()
                    .is_none_or(|s| l.sold_date.as_deref().is_some_and(|d| d >= s))
                    && types
                        .as_ref()
                        .is_none_or(|t| t.contains(&uipt(&l.property_type)))
                    && min.is_none_or(|m| l.price >= m)
                    && max.is_none_or(|m| l.price <= m)
            })
            .take(cap)
            .map(home)
            .collect()
    } else {
        Vec::new()
    };
    stingray(json!({
        "homes": homes,
        "dataSources": [{"id": 1, "name": "resi synthetic MLS"}],
        "buildings": {},
        "searchMedian": search_median(&homes),
        "serviceRegionName": zip,
        "csvDownloadLinkDisplayLevel": 3,
        "hasBrokerInformation": true,
    }))
}

fn search_median(homes: &[Value]) -> Value {
    let median = |key: &str| {
        let mut v: Vec<f64> = homes
            .iter()
            .filter_map(|h| {
                let x = &h[key];
                x.get("value").unwrap_or(x).as_f64()
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    json!({
        "price": median("price"), "sqFt": median("sqFt"), "pricePerSqFt": median("pricePerSqFt"),
        "dom": median("dom"), "beds": median("beds"), "baths": median("baths"),
    })
}

/// The universe home a details call names by `propertyId` (or by the path's `/home/{id}`).
fn universe_home(state: &MimicState, id: &str) -> Option<Listing> {
    match &state.data {
        MimicData::Synthetic(market) if digits(id) => market.get(id),
        _ => None,
    }
}

fn home_id_of_path(path: &str) -> Option<&str> {
    let path = path.split(['?', '#']).next()?.trim_end_matches('/');
    let (_, id) = path.rsplit_once("/home/")?;
    digits(id).then_some(id)
}

async fn initial_info(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let Some(id) = param(&q, "path").and_then(home_id_of_path) else {
        return not_found();
    };
    if let MimicData::Replay(dir) = &state.data {
        return replay(dir, &format!("home/{id}/initialInfo.json"));
    }
    match universe_home(&state, id) {
        Some(l) => stingray(json!({
            "propertyId": l.zpid.parse::<u64>().unwrap_or(0),
            "listingId": listing_id(&l),
            "marketId": 1,
        })),
        None => not_found(),
    }
}

async fn above_the_fold(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let id = param(&q, "propertyId").unwrap_or("");
    if let MimicData::Replay(dir) = &state.data {
        if !digits(id) {
            return not_found();
        }
        return replay(dir, &format!("home/{id}/aboveTheFold.json"));
    }
    let Some(l) = universe_home(&state, id) else {
        return not_found();
    };
    let sold = l.sold_date.is_some();
    let status = if sold {
        json!({"displayValue": "Closed", "definition": "This home is sold and off the market.", "longerDefinitionToken": "sold"})
    } else {
        json!({"displayValue": mls_status(&l.listing_status), "definition": "This home is for sale.", "longerDefinitionToken": "active"})
    };
    stingray(json!({"addressSectionInfo": {
        "status": status,
        "priceInfo": {"amount": l.price, "label": if sold { "Last Sold Price" } else { "Listed at Price" }, "displayLevel": 1},
        "sqFt": {"displayLevel": 1, "value": l.sqft},
        "beds": l.bedrooms,
        "baths": l.bathrooms_hundredths.map(|h| f64::from(h) / 100.0),
        "streetAddress": {"assembledAddress": l.street},
        "latLong": {"latitude": l.lat_e6 as f64 / 1e6, "longitude": l.lon_e6 as f64 / 1e6},
        "city": l.city, "state": l.state, "zip": l.zipcode,
        "soldDate": l.sold_date.as_deref().and_then(day_ms),
        "searchStatus": if sold { 4 } else { 1 },
        "propertyType": internal_type(&l.property_type),
        "homeStatusLabel": if sold { "Off Market" } else { "For Sale" },
        "lotSize": l.lot_sqft, "yearBuilt": l.year_built,
        "url": home_url(&l),
    }}))
}

async fn below_the_fold(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    let id = param(&q, "propertyId").unwrap_or("");
    if let MimicData::Replay(dir) = &state.data {
        if !digits(id) {
            return not_found();
        }
        return replay(dir, &format!("home/{id}/belowTheFold.json"));
    }
    let Some(l) = universe_home(&state, id) else {
        return not_found();
    };
    let source_id = l
        .mls_id
        .clone()
        .unwrap_or_else(|| listing_id(&l).to_string());
    let mut events = Vec::new();
    if let Some(sold_ms) = l.sold_date.as_deref().and_then(day_ms) {
        events.push(json!({
            "price": l.price, "eventDescription": "Sold (MLS) (Closed Sale)", "mlsDescription": "Sold",
            "source": "MLS", "sourceId": source_id, "historyEventType": 1, "eventDate": sold_ms,
        }));
    }
    events.push(json!({
        "price": l.price, "eventDescription": "Listed", "mlsDescription": "Active",
        "source": "MLS", "sourceId": source_id, "historyEventType": 1,
        "eventDate": day_ms(&l.listing_date),
    }));
    stingray(json!({"propertyHistoryInfo": {"events": events}}))
}

async fn home_redirect(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&state, &headers) {
        return r;
    }
    match universe_home(&state, &id) {
        Some(l) => (
            StatusCode::MOVED_PERMANENTLY,
            [(
                header::LOCATION,
                format!("https://www.redfin.com{}", home_url(&l)),
            )],
        )
            .into_response(),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_ids_round_trip() {
        assert_eq!(region_id("60563"), Some(160_563));
        assert_eq!(zipcode_of("160563").as_deref(), Some("60563"));
        assert_eq!(zipcode_of("100403").as_deref(), Some("00403"));
        assert_eq!(zipcode_of("60563"), None);
    }

    #[test]
    fn home_paths() {
        assert_eq!(
            home_id_of_path("/IL/Naperville/1-A-St-60540/home/18071974"),
            Some("18071974")
        );
        assert_eq!(home_id_of_path("/home/"), None);
    }
}
