//! The abuse suite: what one hostile client may try, and what the server answers. Each area
//! is a file; every case asserts the status and shape the contract promises.

mod fairness;
mod input;
mod limits;
mod protocol;
mod quotas;
mod web;
