//! The mimic of RapidAPI's `zillow-com1` (`https://zillow-com1.p.rapidapi.com`): the routes
//! `GET /propertyExtendedSearch` and `GET /property`, with RapidAPI's key check, 429 answers
//! and bodies (`resi` docs: the real-sources spec, §1).
//!
//! # Gateway (both routes, in this order)
//! 1. `X-RapidAPI-Key` missing or empty: 401, wrong: 403, both with
//!    `{"message":"Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."}`
//!    (a refused key is not counted against the quota).
//! 2. `X-RapidAPI-Host` other than `zillow-com1.p.rapidapi.com` (or missing): 403
//!    `{"message":"You are not subscribed to this API."}`: what RapidAPI answers a valid key
//!    used for an API its account has no plan of. This is how a test triggers "not subscribed".
//! 3. [`MimicState::admit`]: 429 `{"message":"You have exceeded the rate limit per second for
//!    your plan, BASIC, by the API provider"}` (with `Retry-After: <s>` only when
//!    [`super::MimicOptions::retry_after`]), or 429 `{"message":"You have exceeded the MONTHLY
//!    quota for Requests on your current plan, BASIC. Upgrade your plan at
//!    https://rapidapi.com/apimaker/api/zillow-com1"}`.
//!
//! # Synthetic mode
//! `GET /propertyExtendedSearch?location={zip}&status_type=RecentlySold&page={n}` serves
//! [`MimicState::sold`] (newest sale first, the order of `sort=Newest`; other sorts are served in
//! that order too) as items of the real shape: the keys and key order of the captured ForSale
//! items, `listingStatus: "RECENTLY_SOLD"`, the sale `price`, and `dateSold` (epoch ms of the
//! sale day at 05:00 UTC, midnight US Eastern standard time) after `daysOnZillow`. Filters:
//! `minPrice`/`maxPrice` (sale price, inclusive), `home_type` (comma list of Houses, Townhomes,
//! Multi-family, Condos, Apartments_Condos_Co-ops, Manufactured, LotsLand; Apartments matches
//! nothing, the universe has no rentals), `sqftMin`/`sqftMax` (homes without a living area do
//! not match), `soldInLast` (1, 7, 14, 30, 90, 6m, 12m, 24m, 36m days before the market's today);
//! unparsable values are ignored. Pages hold 41 items; `totalPages = ceil(total / 41)`,
//! `totalResultCount` is the full count, only pages 1..=20 are served. Choices where the real
//! service is not established: `page` above 20 is 400 `{"message":"page must be 1 to 20"}`;
//! a page past the last, a zipcode without sales and a `status_type` other than RecentlySold
//! are 200 `{}` (the real answer for a zipcode without listings).
//!
//! `GET /property?zpid=` renders the home in the `/property` shape (a subset of the real keys,
//! in the real order): a sold home is `homeStatus: "RECENTLY_SOLD"` with `lastSoldPrice`,
//! `dateSold` and a `Sold` event first in `priceHistory`; others keep their status. An unknown
//! zpid is 404 `{"message":"Property not found"}` (not established for the real service).
//!
//! # Replay mode
//! `{dir}/search/{zip}-page{n}.json` and `{dir}/property/{zpid}.json` are served verbatim
//! whatever the other parameters (status, filters) say; an unknown search page is 200 `{}`, an
//! unknown zpid 404 as above. `tests/fixtures/sources/zillow-rapidapi/` is such a directory.

use super::{Admission, MimicData, MimicState};
use crate::Listing;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The API's host name (the `X-RapidAPI-Host` every request must carry).
pub const API_HOST: &str = "zillow-com1.p.rapidapi.com";
/// Items per search page.
pub const PAGE_SIZE: usize = 41;
/// Pages served per query.
pub const MAX_PAGE: usize = 20;
/// RapidAPI's answer to a missing or wrong key.
pub const INVALID_KEY: &str =
    "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info.";
/// RapidAPI's answer to a key whose account has no plan of the API.
pub const NOT_SUBSCRIBED: &str = "You are not subscribed to this API.";
/// RapidAPI's per-second 429.
pub const RATE_LIMITED: &str =
    "You have exceeded the rate limit per second for your plan, BASIC, by the API provider";
/// RapidAPI's monthly-quota 429.
pub const QUOTA_EXHAUSTED: &str = "You have exceeded the MONTHLY quota for Requests on your current plan, BASIC. Upgrade your plan at https://rapidapi.com/apimaker/api/zillow-com1";

/// The routes of the zillow mimic.
pub(crate) fn router(state: Arc<MimicState>) -> Router {
    Router::new()
        .route("/propertyExtendedSearch", get(search))
        .route("/property", get(property))
        .with_state(state)
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

fn json_body(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn empty() -> Response {
    json_body(b"{}".to_vec())
}

/// RapidAPI's gateway: key, subscription, quota and rate limit; the refusal, if any.
fn gateway(state: &MimicState, headers: &HeaderMap) -> Option<Response> {
    refusal(state, headers).err().map(|boxed| *boxed)
}

fn refusal(state: &MimicState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match value("x-rapidapi-key").map(str::trim) {
        None | Some("") => return Err(Box::new(message(StatusCode::UNAUTHORIZED, INVALID_KEY))),
        Some(key) if key != state.options.api_key => {
            return Err(Box::new(message(StatusCode::FORBIDDEN, INVALID_KEY)));
        }
        Some(_) => {}
    }
    if value("x-rapidapi-host").map(str::trim) != Some(API_HOST) {
        return Err(Box::new(message(StatusCode::FORBIDDEN, NOT_SUBSCRIBED)));
    }
    match state.admit() {
        Admission::Ok => Ok(()),
        Admission::RateLimited { retry_after_s } => {
            let mut response = message(StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED);
            if state.options.retry_after
                && let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Err(Box::new(response))
        }
        Admission::QuotaExhausted => Err(Box::new(message(
            StatusCode::TOO_MANY_REQUESTS,
            QUOTA_EXHAUSTED,
        ))),
    }
}

use resi_rules::zipcode::is_zipcode;

fn is_zpid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

async fn replay_file(path: std::path::PathBuf) -> Option<Vec<u8>> {
    tokio::task::spawn_blocking(move || std::fs::read(path).ok())
        .await
        .ok()
        .flatten()
}

async fn search(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = gateway(&state, &headers) {
        return refused;
    }
    let zip = q.get("location").map(|s| s.trim()).unwrap_or_default();
    let page = match q.get("page").map(|p| p.trim().parse::<usize>()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => return message(StatusCode::BAD_REQUEST, "page must be a positive integer"),
    };
    match &state.data {
        MimicData::Replay(dir) => {
            if !is_zipcode(zip) {
                return empty();
            }
            let file = dir.join("search").join(format!("{zip}-page{page}.json"));
            match replay_file(file).await {
                Some(body) => json_body(body),
                None => empty(),
            }
        }
        MimicData::Synthetic(market) => {
            if page > MAX_PAGE {
                return message(StatusCode::BAD_REQUEST, "page must be 1 to 20");
            }
            if q.get("status_type").map(String::as_str) != Some("RecentlySold") {
                return empty();
            }
            let filter = Filter::parse(&q, market.config().now);
            let sold = state.sold(zip);
            let matching: Vec<&Listing> = sold.iter().filter(|l| filter.matches(l)).collect();
            let total = matching.len();
            let start = (page - 1) * PAGE_SIZE;
            if start >= total {
                return empty();
            }
            let props: Vec<SearchItem> = matching[start..(start + PAGE_SIZE).min(total)]
                .iter()
                .map(|l| Zillow::of(l).search_item())
                .collect();
            let body = SearchPage {
                props,
                results_per_page: PAGE_SIZE,
                total_pages: total.div_ceil(PAGE_SIZE),
                total_result_count: total,
                schools: json!({}),
                current_page: page,
            };
            match serde_json::to_vec(&body) {
                Ok(bytes) => json_body(bytes),
                Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
    }
}

async fn property(
    State(state): State<Arc<MimicState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = gateway(&state, &headers) {
        return refused;
    }
    let zpid = q.get("zpid").map(|s| s.trim()).unwrap_or_default();
    let not_found = || message(StatusCode::NOT_FOUND, "Property not found");
    if !is_zpid(zpid) {
        return not_found();
    }
    match &state.data {
        MimicData::Replay(dir) => {
            match replay_file(dir.join("property").join(format!("{zpid}.json"))).await {
                Some(body) => json_body(body),
                None => not_found(),
            }
        }
        MimicData::Synthetic(market) => match market.get(zpid) {
            Some(home) => match serde_json::to_vec(&Zillow::of(&home).property_body()) {
                Ok(bytes) => json_body(bytes),
                Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            },
            None => not_found(),
        },
    }
}

/// The search filters a query carries.
struct Filter {
    min_price: Option<u64>,
    max_price: Option<u64>,
    min_sqft: Option<u32>,
    max_sqft: Option<u32>,
    home_types: Option<Vec<String>>,
    sold_since: Option<String>,
}

impl Filter {
    fn parse(q: &HashMap<String, String>, today: crate::NaiveDate) -> Filter {
        let num = |k: &str| q.get(k).and_then(|v| v.trim().parse::<u64>().ok());
        let days = q.get("soldInLast").and_then(|w| match w.trim() {
            "1" => Some(1),
            "7" => Some(7),
            "14" => Some(14),
            "30" => Some(30),
            "90" => Some(90),
            "6m" => Some(180),
            "12m" => Some(365),
            "24m" => Some(730),
            "36m" => Some(1095),
            _ => None,
        });
        Filter {
            min_price: num("minPrice"),
            max_price: num("maxPrice"),
            min_sqft: num("sqftMin").map(|v| v.min(u64::from(u32::MAX)) as u32),
            max_sqft: num("sqftMax").map(|v| v.min(u64::from(u32::MAX)) as u32),
            home_types: q.get("home_type").map(|v| {
                v.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect()
            }),
            sold_since: days.map(|d| {
                (today - chrono::Days::new(d))
                    .format("%Y-%m-%d")
                    .to_string()
            }),
        }
    }

    fn matches(&self, l: &Listing) -> bool {
        let z = Zillow::of(l);
        self.min_price.is_none_or(|p| l.price >= p)
            && self.max_price.is_none_or(|p| l.price <= p)
            && self.min_sqft.is_none_or(|s| l.sqft.is_some_and(|v| v >= s))
            && self.max_sqft.is_none_or(|s| l.sqft.is_some_and(|v| v <= s))
            && self.home_types.as_ref().is_none_or(|types| {
                types
                    .iter()
                    .any(|t| z.home_type_filters.contains(&t.as_str()))
            })
            && self
                .sold_since
                .as_ref()
                .is_none_or(|since| l.sold_date.as_ref().is_some_and(|d| d >= since))
    }
}

/// A synthetic home in Zillow's names and units: the one place [`Listing`] fields are mapped to
/// the API's.
struct Zillow<'a> {
    home: &'a Listing,
    zpid: u64,
    /// `propertyType` of search items and `homeType` of `/property`.
    home_type: &'static str,
    /// `home_type` filter values that select this home.
    home_type_filters: &'static [&'static str],
    /// `listingStatus` / `homeStatus`.
    status: &'a str,
    sold: bool,
    /// Bathrooms as Zillow writes them: an integer when whole (`2`), else a decimal (`2.5`).
    bathrooms: Value,
    /// `dateSold` in epoch milliseconds.
    date_sold_ms: Option<i64>,
    /// `/homedetails/{slug}/{zpid}_zpid/`.
    detail_url: String,
    unit: Option<String>,
}

fn epoch_ms(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(5, 0, 0)?.and_utc().timestamp_millis())
}

fn slug(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    for ch in address.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

impl<'a> Zillow<'a> {
    fn of(home: &'a Listing) -> Zillow<'a> {
        let (home_type, home_type_filters): (&str, &[&str]) = match home.property_type.as_str() {
            "SINGLE_FAMILY" => ("SINGLE_FAMILY", &["Houses"]),
            "CONDO" => ("CONDO", &["Condos", "Apartments_Condos_Co-ops"]),
            "TOWNHOUSE" => ("TOWNHOUSE", &["Townhomes"]),
            "MULTI_FAMILY" => ("MULTI_FAMILY", &["Multi-family"]),
            "MANUFACTURED" => ("MANUFACTURED", &["Manufactured"]),
            "LAND" => ("LOT", &["LotsLand"]),
            _ => ("SINGLE_FAMILY", &["Houses"]),
        };
        let sold = home.sold_date.is_some();
        let bathrooms = match home.bathrooms_hundredths {
            None => Value::Null,
            Some(h) if h % 100 == 0 => json!(h / 100),
            Some(h) => json!(f64::from(h) / 100.0),
        };
        let unit = home
            .street
            .find(" Unit ")
            .map(|i| home.street[i + 1..].to_string());
        Zillow {
            zpid: home.zpid.parse().unwrap_or(0),
            home_type,
            home_type_filters,
            status: if sold {
                "RECENTLY_SOLD"
            } else {
                &home.listing_status
            },
            sold,
            bathrooms,
            date_sold_ms: home.sold_date.as_deref().and_then(epoch_ms),
            detail_url: format!("/homedetails/{}/{}_zpid/", slug(&home.address), home.zpid),
            unit,
            home,
        }
    }

    fn img_src(&self) -> String {
        format!(
            "https://photos.zillowstatic.com/fp/resi-mimic-{}-p_e.jpg",
            self.home.zpid
        )
    }

    fn lot(&self) -> (Option<u32>, Option<&'static str>) {
        match self.home.lot_sqft {
            0 => (None, None),
            s => (Some(s), Some("sqft")),
        }
    }

    fn search_item(&self) -> SearchItem {
        let h = self.home;
        let (lot_area_value, lot_area_unit) = self.lot();
        SearchItem {
            bathrooms: self.bathrooms.clone(),
            carousel_photos: None,
            has_3d_model: false,
            unit: self.unit.clone(),
            property_type: self.home_type,
            longitude: h.lon_e6 as f64 / 1_000_000.0,
            living_area: h.sqft,
            address: h.address.clone(),
            rent_zestimate: None,
            variable_data: None,
            price_change: None,
            zestimate: None,
            img_src: self.img_src(),
            latitude: h.lat_e6 as f64 / 1_000_000.0,
            price: h.price,
            bedrooms: h.bedrooms,
            lot_area_value,
            has_video: false,
            lot_area_unit,
            listing_status: self.status.to_string(),
            zpid: h.zpid.clone(),
            listing_sub_type: json!({}),
            detail_url: self.detail_url.clone(),
            contingent_listing_type: None,
            days_on_zillow: h.days_on_market,
            date_sold: self.date_sold_ms,
            date_price_changed: None,
            country: "USA",
            currency: "USD",
            coming_soon_on_market_date: None,
            has_image: true,
        }
    }

    fn property_body(&self) -> PropertyBody {
        let h = self.home;
        let mut history = Vec::new();
        if let (Some(date), Some(time)) = (&h.sold_date, self.date_sold_ms) {
            history.push(PriceEvent {
                date: date.clone(),
                time,
                event: "Sold",
                price: Some(h.price),
                price_per_square_foot: h.sqft.filter(|s| *s > 0).map(|s| h.price / u64::from(s)),
                source: "Public Record",
            });
        }
        if let Some(time) = epoch_ms(&h.listing_date) {
            history.push(PriceEvent {
                date: h.listing_date.clone(),
                time,
                event: "Listed for sale",
                price: Some(h.price),
                price_per_square_foot: h.sqft.filter(|s| *s > 0).map(|s| h.price / u64::from(s)),
                source: "resi-market MLS",
            });
        }
        PropertyBody {
            longitude: h.lon_e6 as f64 / 1_000_000.0,
            img_src: self.img_src(),
            living_area_value: h.sqft,
            street_address: h.street.clone(),
            date_sold: self.date_sold_ms,
            state: h.state.clone(),
            year_built: h.year_built,
            latitude: h.lat_e6 as f64 / 1_000_000.0,
            price_history: history,
            city: h.city.clone(),
            currency: "USD",
            address: PropertyAddress {
                community: None,
                city: h.city.clone(),
                state: h.state.clone(),
                neighborhood: None,
                subdivision: None,
                street_address: h.street.clone(),
                zipcode: h.zipcode.clone(),
            },
            time_on_zillow: format!("{} days", h.days_on_market),
            zpid: self.zpid,
            home_type: self.home_type,
            living_area_units: "sqft",
            bathrooms: self.bathrooms.clone(),
            zipcode: h.zipcode.clone(),
            url: self.detail_url.clone(),
            attribution_info: Attribution {
                mls_id: h.mls_id.clone(),
                mls_name: h.mls_id.as_ref().map(|_| "RESI"),
            },
            home_status: self.status.to_string(),
            reso_facts: ResoFacts {
                bedrooms: h.bedrooms,
                bathrooms: self.bathrooms.clone(),
                living_area: h.sqft.map(|s| format!("{s} sqft")),
                days_on_zillow: h.days_on_market,
            },
            date_posted: h.listing_date.clone(),
            bedrooms: h.bedrooms,
            date_sold_string: self.sold.then(|| h.sold_date.clone()).flatten(),
            last_sold_price: self.sold.then_some(h.price),
            living_area: h.sqft,
            mlsid: h.mls_id.clone(),
            country: "USA",
            price: h.price,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchPage {
    props: Vec<SearchItem>,
    results_per_page: usize,
    total_pages: usize,
    total_result_count: usize,
    schools: Value,
    current_page: usize,
}

/// One search item: the captured ForSale items' keys, in their order, plus `dateSold`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchItem {
    bathrooms: Value,
    carousel_photos: Option<()>,
    #[serde(rename = "has3DModel")]
    has_3d_model: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    property_type: &'static str,
    longitude: f64,
    living_area: Option<u32>,
    address: String,
    rent_zestimate: Option<u64>,
    variable_data: Option<()>,
    price_change: Option<()>,
    zestimate: Option<u64>,
    img_src: String,
    latitude: f64,
    price: u64,
    bedrooms: Option<u32>,
    lot_area_value: Option<u32>,
    has_video: bool,
    lot_area_unit: Option<&'static str>,
    listing_status: String,
    zpid: String,
    listing_sub_type: Value,
    detail_url: String,
    contingent_listing_type: Option<()>,
    days_on_zillow: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_sold: Option<i64>,
    date_price_changed: Option<()>,
    country: &'static str,
    currency: &'static str,
    coming_soon_on_market_date: Option<()>,
    has_image: bool,
}

/// A `/property` body: a subset of the real keys, in the real order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PropertyBody {
    longitude: f64,
    img_src: String,
    living_area_value: Option<u32>,
    street_address: String,
    date_sold: Option<i64>,
    state: String,
    year_built: Option<u32>,
    latitude: f64,
    price_history: Vec<PriceEvent>,
    city: String,
    currency: &'static str,
    address: PropertyAddress,
    time_on_zillow: String,
    zpid: u64,
    home_type: &'static str,
    living_area_units: &'static str,
    bathrooms: Value,
    zipcode: String,
    url: String,
    attribution_info: Attribution,
    home_status: String,
    reso_facts: ResoFacts,
    date_posted: String,
    bedrooms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_sold_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_sold_price: Option<u64>,
    living_area: Option<u32>,
    mlsid: Option<String>,
    country: &'static str,
    price: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PropertyAddress {
    community: Option<String>,
    city: String,
    state: String,
    neighborhood: Option<String>,
    subdivision: Option<String>,
    street_address: String,
    zipcode: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PriceEvent {
    date: String,
    time: i64,
    event: &'static str,
    price: Option<u64>,
    price_per_square_foot: Option<u64>,
    source: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attribution {
    mls_id: Option<String>,
    mls_name: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResoFacts {
    bedrooms: Option<u32>,
    bathrooms: Value,
    living_area: Option<String>,
    days_on_zillow: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_zillow() {
        assert_eq!(
            slug("15 Hudson Yards APT 72C, New York, NY 10001"),
            "15-Hudson-Yards-APT-72C-New-York-NY-10001"
        );
        assert_eq!(epoch_ms("2026-06-03"), Some(1_780_462_800_000));
    }
}
