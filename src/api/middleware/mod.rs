//! Middleware, outermost first as `startup::build_app` wraps them: request metrics, request ids
//! and problem+json bodies (`telemetry`), security headers and CORS (`security`), query limits and
//! rate limits (`ratelimit`), where reads may go (`consistency`: replica or primary), HTTP caching of public reads (`caching`), and the document's promises
//! about methods, parameters, media types and optional keys (`contract`).

pub mod caching;
pub mod consistency;
pub mod contract;
pub mod metrics;
pub mod ratelimit;
pub mod security;
pub mod shared_limits;
pub mod telemetry;
