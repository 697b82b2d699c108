//! Reaching this machine's PostgreSQL, with a fresh schema per test.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports a missing service: skip locally, fail in CI.
pub fn unavailable(service: &str, url: &str, why: &str) {
    if in_ci() {
        panic!("{service} not reachable at {url} (CI=true requires it): {why}");
    }
    println!("skipped: {service} not reachable at {url}");
}

/// A URL whose connections use a new, empty schema; `None` (after saying so) without PostgreSQL.
pub async fn fresh_postgres() -> Option<String> {
    let base = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned());
    let connect = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&base)).await;
    let mut conn = match connect {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            unavailable("postgres", &base, &e.to_string());
            return None;
        }
        Err(_) => {
            unavailable("postgres", &base, "connect timed out");
            return None;
        }
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .expect("create a test schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}
