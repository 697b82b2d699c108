//! Builds the application from a `Config`: stores, live state, hub, game, router, listener.
//! `Application::build` binds (port 0 in tests) so `addr()` is known before serving.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::{Context, bail};
use fred::clients::SubscriberClient;
use fred::prelude::{
    Builder, Client, ClientLike, Config as RedisConfig, ReconnectPolicy, TcpConfig,
};
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
use crate::hub::redis::{ChangeSink, Shared, enable_notifications, listen};
use crate::live::embedded::EmbeddedLive;
use crate::live::redis::RedisLive;
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
    journal_writer: Option<JoinHandle<()>>,
}

/// A command client and a subscriber, both reconnecting forever with backoff, and with
/// short command timeouts so a lost Redis turns into quick 503s rather than hangs.
async fn redis_clients(url: &str) -> anyhow::Result<(Client, SubscriberClient)> {
    let config = RedisConfig::from_url(url).context("parsing REDIS_URL")?;
    let mut builder = Builder::from_config(config);
    builder
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(2))
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(2);
            c.internal_command_timeout = Duration::from_secs(2);
            c.tcp = TcpConfig {
                nodelay: Some(true),
                ..TcpConfig::default()
            };
        });
    let client = builder.build()?;
    tokio::time::timeout(Duration::from_secs(5), client.init())
        .await
        .map_err(|_| anyhow::anyhow!("Redis at REDIS_URL did not answer within 5 s"))?
        .context("connecting to Redis")?;
    let subscriber = builder.build_subscriber_client()?;
    Ok((client, subscriber))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Before anything that counts (restored sessions start below).
        let metrics = telemetry::metrics_handle();
        let (pool, backend) = connect(&config.database_url, config.database_max_connections)
            .await
            .context("opening the database (DATABASE_URL)")?;
        tracing::info!(?backend, "database ready");
        let store: Arc<dyn Store> = Arc::new(SqlStore::new(pool.clone()));
        demo::seed(store.as_ref(), now_ms()).await?;

        let auto_ms = (config.auto_advance_secs.min(3600) * 1000) as u32;
        let hub = Arc::new(Hub::new(config.subscriber_buffer));
        let shutdown = CancellationToken::new();
        let mut background = Vec::new();
        let (game, journal_writer) = match &config.redis_url {
            None => {
                let (journal, writer) = Journal::start(pool.clone(), JOURNAL_QUEUE);
                let live = EmbeddedLive::recover(journal, &pool, store.as_ref(), auto_ms, now_ms())
                    .await?;
                let game = Game::new(Arc::new(live), store, hub, shutdown.clone(), None);
                (game, Some(writer))
            }
            Some(url) => {
                let node = config
                    .node_id
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..8].to_owned());
                let (client, subscriber) = redis_clients(url).await?;
                enable_notifications(&client).await?;
                let live = Arc::new(RedisLive::new(
                    client.clone(),
                    &config.redis_prefix,
                    store.clone(),
                    auto_ms,
                ));
                let shared = Arc::new(Shared::new(
                    client.clone(),
                    live.clone(),
                    node.clone(),
                    config.redis_prefix.clone(),
                ));
                let game = Game::new(live, store, hub, shutdown.clone(), Some(shared));
                let sink: Weak<dyn ChangeSink> = Arc::downgrade(&game) as Weak<dyn ChangeSink>;
                background.push(
                    listen(
                        subscriber,
                        client,
                        config.redis_prefix.clone(),
                        sink,
                        shutdown.clone(),
                    )
                    .await?,
                );
                tracing::info!(%node, prefix = %config.redis_prefix, "sharing live state through Redis");
                (game, None)
            }
        };
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
        let auth = Arc::new(Auth::new(
            &secret,
            external,
            config.token_ttl_secs,
            config.stream_ticket_ttl_secs,
        ));
        let limits = Arc::new(Limits::new(&config));

        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("binding {}", config.addr))?;
        let addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .as_deref()
            .map(|u| Arc::from(u.trim_end_matches('/')));
        if let Some(url) = &public_url
            && crate::http::origin::origin_of_url(url).is_none()
        {
            bail!("PUBLIC_URL must be an http:// or https:// URL with a host, got {url:?}");
        }

        background.push({
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
        });

        let state = AppState {
            game: game.clone(),
            auth,
            limits,
            config: Arc::new(config),
            public_url,
            bind_url: format!("http://{addr}").into(),
            metrics,
        };
        Ok(Self {
            listener,
            addr,
            router: router(state),
            game,
            shutdown,
            background,
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
        crate::http::serve::serve(self.listener, self.router, self.shutdown.clone()).await;
        self.shutdown.cancel();
        self.game.stopped().await;
        for task in self.background {
            let _ = task.await;
        }
        // The journal writer ends once the last handle to it (inside the game) is gone.
        drop(self.game);
        if let Some(writer) = self.journal_writer
            && tokio::time::timeout(Duration::from_secs(10), writer)
                .await
                .is_err()
        {
            tracing::warn!("the journal did not finish writing within 10 s");
        }
        Ok(())
    }
}
