//! `resi-dashboard`: the epoch dashboard page the coordinator and the validator serve.
//!
//! Per epoch the page shows the assignments (zipcode, expected listings, honeypot once
//! revealed), what each miner delivered per zipcode and when, every candidate's gate results
//! (G0, G1, ...), ranks, flags and weights from a validator's report, the weights set, and the
//! agreement between the validators' reports, with charts drawn by the vendored uPlot.
//!
//! - [`view`]: the typed JSON view of an epoch ([`EpochView`]), built from the validator's own
//!   report types;
//! - [`store`]: deliveries and validators' reports (with agreement) read from the object store;
//! - [`source`]: the [`EpochSource`] trait each role implements, and the validator's
//!   [`ValidatorSource`];
//! - [`http`]: the axum [`router`] (`/dashboard`, `/dashboard/api/epochs[/{id}]`).
//!
//! A validator mounts it with
//! `resi_dashboard::router(Arc::new(ValidatorSource::new(store, hotkey).with_db(db)))`.

pub mod http;
pub mod source;
pub mod store;
pub mod view;

pub use http::router;
pub use resi_validator::Peers;
pub use source::{DashboardError, EpochSource, ValidatorSource};
pub use view::{EpochSummary, EpochView};
