//! The dashboard's integration tests, one binary: each file of `tests/` is a module.

mod api;
mod browser;
mod common;
mod coordinator;
mod validator;
