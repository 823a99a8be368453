//! Integration tests: the real app over HTTP on a real database, one database per test.

mod helpers;

mod crud;
mod errors;
mod openapi;
mod search;
mod vetting;
