//! Presence in shared mode on a real Redis: entries name the node instance that recorded
//! them and count while its heartbeat does; no entry is renewed per user.

use std::sync::Arc;

use fred::prelude::*;
use quizcast::demo;
use quizcast::domain::SessionCode;
use quizcast::hub::heartbeat::NODE_TTL_MS;
use quizcast::hub::redis::Shared;
use quizcast::live::redis::RedisLive;
use quizcast::store::Store;
use quizcast::store::db::connect;
use quizcast::store::sql::SqlStore;

use super::services::fresh_redis;

fn sorted(mut users: Vec<String>) -> Vec<String> {
    users.sort();
    users
}

#[tokio::test]
async fn a_nodes_users_are_online_while_it_heartbeats() {
    let Some((client, prefix)) = fresh_redis().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let (pool, _) = connect(&url, None).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(SqlStore::new(pool));
    demo::seed(store.as_ref(), 0).await.unwrap();
    let live = Arc::new(RedisLive::new(client.clone(), &prefix, store, 5_000));
    let node = |name: &str| Shared::new(client.clone(), live.clone(), name.into(), prefix.clone());
    let (a, b) = (node("a"), node("b"));
    assert_ne!(
        a.instance,
        node("a").instance,
        "a restarted node is a new instance"
    );
    let code = SessionCode::parse("K7P2QX").unwrap();
    let t0 = 1_800_000_000_000;

    let first = a.beat(t0).await.unwrap();
    assert!(
        first.lapsed,
        "a first heartbeat asks for presence to be written"
    );
    assert!(!a.beat(t0 + 1_000).await.unwrap().lapsed);
    b.beat(t0 + 1_000).await.unwrap();
    assert_eq!(
        a.presence(code, vec!["+ana".into()]).await.unwrap(),
        ["ana"]
    );
    assert_eq!(
        sorted(b.presence(code, vec!["+bo".into()]).await.unwrap()),
        ["ana", "bo"]
    );
    // A node not heard of yet counts (it has just started); the next heartbeat knows it.
    assert_eq!(
        sorted(a.presence(code, vec![]).await.unwrap()),
        ["ana", "bo"]
    );
    let beat = a.beat(t0 + 5_000).await.unwrap();
    assert!(beat.changed && !beat.lapsed);
    assert_eq!(
        sorted(a.presence(code, vec![]).await.unwrap()),
        ["ana", "bo"]
    );
    // Heartbeats, not users, keep presence fresh: nothing is renewed per user.
    b.beat(t0 + 10_000).await.unwrap();
    assert!(!a.beat(t0 + 10_000).await.unwrap().changed);
    assert_eq!(
        sorted(a.presence(code, vec![]).await.unwrap()),
        ["ana", "bo"]
    );

    // `b` stops; once its heartbeat lapses, its users are offline and its entries go.
    let after = t0 + 10_000 + NODE_TTL_MS + 1;
    a.beat(after - 5_000).await.unwrap();
    let beat = a.beat(after).await.unwrap();
    assert!(beat.changed && !beat.lapsed);
    assert_eq!(a.presence(code, vec![]).await.unwrap(), ["ana"]);
    let key = format!("{prefix}:{{K7P2QX}}:presence");
    let left: Vec<String> = client
        .zrange(&key, 0, -1, None, false, None, false)
        .await
        .unwrap();
    assert_eq!(left, [format!("{}|ana", a.instance)]);

    // A user who leaves `a` is offline at once.
    assert!(
        a.presence(code, vec!["-ana".into()])
            .await
            .unwrap()
            .is_empty()
    );
}
