//! Shared test helpers.
pub mod hand;
