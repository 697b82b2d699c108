//! Builds the application from a `Config`: stores, live state, hub, game, router, listener.
//! `Application::build` binds (port 0 in tests) so `addr()` is known before serving.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::game::{Game, now_ms};
use crate::http::auth::Auth;
use crate::http::limits::Limits;
use crate::http::{AppState, router};
use crate::hub::Hub;
use crate::live::embedded::EmbeddedLive;
use crate::store::Store;
use crate::store::db::connect;
use crate::store::journal::Journal;
use crate::store::sql::SqlStore;
use crate::{demo, telemetry};

/// Changes queued for the journal before new ones are refused with 503.
const JOURNAL_QUEUE: usize = 65_536;

pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    game: Arc<Game>,
    shutdown: CancellationToken,
    background: Vec<JoinHandle<()>>,
    journal_writer: JoinHandle<()>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.redis_url.is_some() {
            bail!("REDIS_URL is set, but this build serves a single node only; unset it");
        }
        let (pool, backend) = connect(&config.database_url)
            .await
            .context("opening the database (DATABASE_URL)")?;
        tracing::info!(?backend, "database ready");
        let store: Arc<dyn Store> = Arc::new(SqlStore::new(pool.clone()));
        demo::seed(store.as_ref(), now_ms()).await?;

        let (journal, journal_writer) = Journal::start(pool.clone(), JOURNAL_QUEUE);
        let auto_ms = (config.auto_advance_secs.min(3600) * 1000) as u32;
        let live = Arc::new(
            EmbeddedLive::recover(journal, &pool, store.as_ref(), auto_ms, now_ms()).await?,
        );
        let hub = Arc::new(Hub::new(config.subscriber_buffer));
        let shutdown = CancellationToken::new();
        let game = Game::new(live, store, hub, shutdown.clone());
        game.resume().await?;

        let secret = match &config.jwt_secret {
            Some(s) if s.len() >= 16 => s.as_bytes().to_vec(),
            Some(_) => bail!("JWT_SECRET must be at least 16 bytes"),
            None => {
                tracing::warn!(
                    "JWT_SECRET is not set: using a random secret; tokens will not survive a restart"
                );
                let mut bytes = vec![0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                bytes
            }
        };
        let external = match &config.jwt_public_key_file {
            Some(path) => {
                let pem =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Some(Auth::external_key(
                    &pem,
                    config.jwt_issuer.as_deref(),
                    config.jwt_audience.as_deref(),
                )?)
            }
            None => None,
        };
        let auth = Arc::new(Auth::new(&secret, external, config.token_ttl_secs));
        let limits = Arc::new(Limits::new(&config));

        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("binding {}", config.addr))?;
        let addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_owned();

        let prune = {
            let limits = limits.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tokio::select! {
                        _ = every.tick() => limits.prune(),
                        _ = shutdown.cancelled() => return,
                    }
                }
            })
        };

        let state = AppState {
            game: game.clone(),
            auth,
            limits,
            config: Arc::new(config),
            public_url: public_url.into(),
            metrics: telemetry::metrics_handle(),
        };
        Ok(Self {
            listener,
            addr,
            router: router(state),
            game,
            shutdown,
            background: vec![prune],
            journal_writer,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cancelling this token stops the server gracefully (streams end with a retry hint).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, "listening on http://{}", self.addr);
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(self.shutdown.clone().cancelled_owned())
            .await?;
        self.shutdown.cancel();
        self.game.stopped().await;
        for task in self.background {
            let _ = task.await;
        }
        // The journal writer ends once the last handle to it (inside the game) is gone.
        drop(self.game);
        if tokio::time::timeout(Duration::from_secs(10), self.journal_writer)
            .await
            .is_err()
        {
            tracing::warn!("the journal did not finish writing within 10 s");
        }
        Ok(())
    }
}
