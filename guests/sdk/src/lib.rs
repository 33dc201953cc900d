//! Guest SDK for resi components.
//!
//! Enable exactly one feature per component crate:
//! - `policy`: bindings for `resi:policy/policy-world`, [`export_policy!`], canonical-JSON and
//!   text helpers for deterministic, integer-only scoring.
//! - `scraper`: bindings for `resi:scraper/scraper-world`, [`export_scraper!`], and small
//!   helpers around the host's `fetch`, `log` and `emit`.
//!
//! Each world's bindings are generated in this crate, so a guest only implements the exported
//! trait and invokes the export macro:
//!
//! ```ignore
//! struct MyPolicy;
//! impl resi_guest::policy::Guest for MyPolicy { /* ... */ }
//! resi_guest::export_policy!(MyPolicy);
//! ```


extern crate alloc;

#[cfg(all(feature = "policy", feature = "scraper"))]
compile_error!("enable only one of the `policy` and `scraper` features per component");

pub mod text;

#[cfg(feature = "policy")]
pub mod canonical;

/// Raw bindings generated from the WIT world of the enabled feature.
#[cfg(feature = "policy")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "resi:policy/policy-world@1.0.0",
        path: "../../wit/policy",
        pub_export_macro: true,
        export_macro_name: "__export_policy_world",
        default_bindings_module: "resi_guest::bindings",
        generate_all,
    });
}

/// Raw bindings generated from the WIT world of the enabled feature.
#[cfg(feature = "scraper")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "resi:scraper/scraper-world@1.0.0",
        path: "../../wit/scraper",
        pub_export_macro: true,
        export_macro_name: "__export_scraper_world",
        default_bindings_module: "resi_guest::bindings",
        generate_all,
    });
}

/// Policy-side types and the trait a policy implements.
#[cfg(feature = "policy")]
pub mod policy {
    pub use crate::bindings::exports::resi::policy::policy::Guest;
    pub use crate::bindings::exports::resi::policy::types::*;
    pub use crate::bindings::exports::resi::types::listing::{Listing, ListingRef};
}

/// Exports a type implementing [`policy::Guest`] as the component's policy.
#[cfg(feature = "policy")]
#[macro_export]
macro_rules! export_policy {
    ($ty:ident) => {
        $crate::bindings::__export_policy_world!($ty with_types_in $crate::bindings);
    };
}

/// Scraper-side types, host imports and the trait a scraper implements.
#[cfg(feature = "scraper")]
pub mod scraper {
    pub use crate::bindings::exports::resi::scraper::scraper::{
        Guest, ScrapeSummary, ScraperInfo, Task, Verification,
    };
    pub use crate::bindings::resi::scraper::host::{Level, emit, log};
    pub use crate::bindings::resi::scraper::http::{FetchError, Request, Response, fetch};
    pub use crate::bindings::resi::types::listing::{Listing, ListingRef};

    use alloc::string::String;
    use alloc::vec::Vec;

    /// Looks a key up in the manifest's config values.
    pub fn config_value<'a>(config: &'a [(String, String)], key: &str) -> Option<&'a str> {
        config.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A plain GET request with no headers.
    pub fn get(url: &str) -> Result<Response, FetchError> {
        fetch(&Request {
            method: String::from("GET"),
            url: String::from(url),
            headers: Vec::new(),
            body: None,
        })
    }
}

/// Exports a type implementing [`scraper::Guest`] as the component's scraper.
#[cfg(feature = "scraper")]
#[macro_export]
macro_rules! export_scraper {
    ($ty:ident) => {
        $crate::bindings::__export_scraper_world!($ty with_types_in $crate::bindings);
    };
}
