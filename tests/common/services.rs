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

pub const DEFAULT_REDIS: &str = "redis://127.0.0.1:6379";

/// A connected Redis client and a fresh key prefix; `None` (after saying so) without Redis.
pub async fn fresh_redis() -> Option<(fred::prelude::Client, String)> {
    use fred::prelude::*;
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS.to_owned());
    let client = match Config::from_url(&url) {
        Ok(config) => Builder::from_config(config)
            .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(5))
            .with_connection_config(|c| c.connection_timeout = Duration::from_secs(2))
            .build(),
        Err(e) => {
            unavailable("redis", &url, &e.to_string());
            return None;
        }
    };
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            unavailable("redis", &url, &e.to_string());
            return None;
        }
    };
    match tokio::time::timeout(Duration::from_secs(3), client.init()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            unavailable("redis", &url, &e.to_string());
            return None;
        }
        Err(_) => {
            unavailable("redis", &url, "connect timed out");
            return None;
        }
    }
    Some((
        client,
        format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
    ))
}
