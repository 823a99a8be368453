//! Integration tests: the real app over HTTP on a real database, one database per test.

mod helpers;

/// Runs each named test — an `async fn(TestApp)` — once on SQLite and once on PostgreSQL, each on
/// a database of its own. Without a reachable PostgreSQL the PostgreSQL half says it was skipped
/// (and fails under `CI=true`).
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                use crate::helpers::{TestApp, TestBackend};

                #[actix_web::test]
                async fn sqlite() {
                    super::$test(TestApp::spawn_on(TestBackend::Sqlite).await.expect("SQLite")).await;
                }

                #[actix_web::test]
                async fn postgres() {
                    if let Some(app) = TestApp::spawn_on(TestBackend::Postgres).await {
                        super::$test(app).await;
                    }
                }
            }
        )+
    };
}

/// Like `on_both_backends!`, with settings adjusted for the test.
macro_rules! on_both_backends_with {
    ($test:ident, $configure:expr) => {
        mod $test {
            use crate::helpers::{TestApp, TestBackend};

            #[actix_web::test]
            async fn sqlite() {
                let app = TestApp::spawn_with(TestBackend::Sqlite, None, $configure)
                    .await
                    .expect("SQLite");
                super::$test(app).await;
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(app) =
                    TestApp::spawn_with(TestBackend::Postgres, None, $configure).await
                {
                    super::$test(app).await;
                }
            }
        }
    };
}

mod adversarial;
mod backends;
mod caching;
mod contract;
mod crud;
mod directory;
mod errors;
mod examples;
mod fhir;
mod finder;
mod hardening;
mod import;
mod nppes;
mod openapi;
mod safety;
mod scale_out;
mod screening;
mod search;
mod vetting;
