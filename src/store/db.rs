//! Opening the database named by `DATABASE_URL` (SQLite or PostgreSQL) through sqlx's
//! `Any` driver, and applying that backend's migrations.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// SQLite files are created on first start.
fn with_create(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Connects and migrates. SQLite runs in WAL mode with `synchronous = NORMAL`: a commit is
/// in the OS when it returns, so a killed process loses nothing.
/// `max_connections` overrides the backend's default pool size.
pub async fn connect(
    url: &str,
    max_connections: Option<u32>,
) -> Result<(AnyPool, Backend), StoreError> {
    install_default_drivers();
    let backend = Backend::of(url).ok_or_else(|| {
        StoreError::Config("DATABASE_URL must start with sqlite:// or postgres://".into())
    })?;
    let (url, max) = match backend {
        Backend::Sqlite => (with_create(url), 4),
        Backend::Postgres => (url.to_owned(), 16),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.unwrap_or(max).max(1))
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    let migrated = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await,
        Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await,
    };
    migrated.map_err(|e| StoreError::Database(e.into()))?;
    Ok((pool, backend))
}
