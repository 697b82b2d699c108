//! The `Limits` contract: in-process and Redis-backed limits admit and refuse the same
//! way; with Redis, two handles on one prefix (two nodes) share every limit, a dead node's
//! stream slots free themselves, and a Redis that does not answer falls back to the node's
//! own limiter instead of refusing.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use quizcast::config::Config;
use quizcast::http::error::AppError;
use quizcast::http::limits::Limits;
use tokio_util::sync::CancellationToken;

use super::services::fresh_redis;

fn config(prefix: &str) -> Config {
    let mut c = Config::parse_from(["quizcast"]);
    c.redis_prefix = prefix.to_owned();
    c.answers_per_second = 1;
    c.answers_burst = 3;
    c.guest_logins_per_minute = 2;
    c.code_lookups_per_minute = 3;
    c.streams_per_user = 2;
    c
}

fn retry_after(e: AppError) -> u64 {
    match e {
        AppError::TooManyRequests {
            retry_after_secs, ..
        } => retry_after_secs,
        other => panic!("expected 429, got {other:?}"),
    }
}

async fn contract(limits: Limits) {
    // Answers: a burst of 3 per player, then a wait of about a second.
    for i in 0..3 {
        limits
            .check_answer("ana")
            .await
            .unwrap_or_else(|e| panic!("answer {i} of the burst: {e}"));
    }
    let wait = retry_after(limits.check_answer("ana").await.unwrap_err());
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    limits.check_answer("bob").await.expect("another player");

    // Guest logins, per address.
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    limits.check_guest(ip).await.unwrap();
    limits.check_guest(ip).await.unwrap();
    let wait = retry_after(limits.check_guest(ip).await.unwrap_err());
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    limits
        .check_guest("192.0.2.8".parse().unwrap())
        .await
        .expect("another address");

    // Unknown codes: 3, then refused, and every code route refused meanwhile.
    limits.check_guessing("eve").expect("not guessing yet");
    for _ in 0..3 {
        limits.count_unknown_code("eve").await.unwrap();
    }
    retry_after(limits.count_unknown_code("eve").await.unwrap_err());
    retry_after(limits.check_guessing("eve").unwrap_err());
    limits.check_guessing("ana").expect("another user");

    // Streams: 2 per user; closing one frees its slot at once.
    let first = limits.open_stream("ana").await.unwrap();
    let _second = limits.open_stream("ana").await.unwrap();
    assert_eq!(
        retry_after(limits.open_stream("ana").await.err().unwrap()),
        5
    );
    let _other = limits.open_stream("bob").await.expect("another user");
    drop(first);
    let _third = limits
        .open_stream("ana")
        .await
        .expect("a closed stream's slot is free again");
}

#[tokio::test]
async fn in_process_limits_keep_the_contract() {
    contract(Limits::new(&config("unused"), None)).await;
}

#[tokio::test]
async fn redis_limits_keep_the_contract() {
    let Some((client, prefix)) = fresh_redis().await else {
        return;
    };
    contract(Limits::new(&config(&prefix), Some(client))).await;
}

#[tokio::test]
async fn redis_limits_hold_across_nodes() {
    let Some((client, prefix)) = fresh_redis().await else {
        return;
    };
    let a = Limits::new(&config(&prefix), Some(client.clone()));
    let b = Limits::new(&config(&prefix), Some(client));

    a.check_answer("ana").await.unwrap();
    b.check_answer("ana").await.unwrap();
    a.check_answer("ana").await.unwrap();
    b.check_answer("ana")
        .await
        .expect_err("the burst of 3 is spent on two nodes together");

    let ip: IpAddr = "198.51.100.1".parse().unwrap();
    a.check_guest(ip).await.unwrap();
    b.check_guest(ip).await.unwrap();
    a.check_guest(ip)
        .await
        .expect_err("2 logins a minute in all");

    for node in [&a, &b, &a] {
        node.count_unknown_code("eve").await.unwrap();
    }
    b.count_unknown_code("eve")
        .await
        .expect_err("3 unknown codes a minute in all");

    let on_a = a.open_stream("ana").await.unwrap();
    let _on_b = b.open_stream("ana").await.unwrap();
    a.open_stream("ana")
        .await
        .err()
        .expect("2 streams in all, not 2 per node");
    drop(on_a);
    // A's slot goes when A flushes its closed slots (its maintenance task) or, here, with
    // A's next open of that user.
    let _again = a.open_stream("ana").await.expect("the freed slot");
}

#[tokio::test]
async fn a_dead_nodes_stream_slots_free_themselves() {
    let Some((client, prefix)) = fresh_redis().await else {
        return;
    };
    let ttl = Duration::from_millis(500);
    let dead = Limits::new(&config(&prefix), Some(client.clone())).with_slot_ttl(ttl);
    let alive = Limits::new(&config(&prefix), Some(client));
    // The node dies holding both slots: nothing releases or renews them.
    std::mem::forget(dead.open_stream("ana").await.unwrap());
    std::mem::forget(dead.open_stream("ana").await.unwrap());
    alive
        .open_stream("ana")
        .await
        .err()
        .expect("both slots are held");
    let freed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(p) = alive.open_stream("ana").await {
                break p;
            }
            tokio::time::sleep(ttl / 4).await;
        }
    })
    .await;
    assert!(freed.is_ok(), "the dead node's slots never expired");
}

#[tokio::test]
async fn a_live_nodes_stream_slots_are_renewed() {
    let Some((client, prefix)) = fresh_redis().await else {
        return;
    };
    let ttl = Duration::from_secs(1);
    let node = Arc::new(Limits::new(&config(&prefix), Some(client.clone())).with_slot_ttl(ttl));
    let other = Limits::new(&config(&prefix), Some(client));
    let stop = CancellationToken::new();
    let upkeep = node.clone().maintain(stop.clone());
    let held = [
        node.open_stream("ana").await.unwrap(),
        node.open_stream("ana").await.unwrap(),
    ];
    // Several lifetimes pass: the renewals keep both slots.
    tokio::time::sleep(ttl * 3).await;
    other
        .open_stream("ana")
        .await
        .err()
        .expect("renewed slots are still held");
    drop(held);
    // The maintenance task removes closed slots as they close.
    let freed = tokio::time::timeout(ttl / 2, async {
        loop {
            if let Ok(p) = other.open_stream("ana").await {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(freed.is_ok(), "closed slots were not removed promptly");
    stop.cancel();
    upkeep.await.unwrap();
}

#[tokio::test]
async fn without_redis_each_node_limits_on_its_own() {
    use fred::prelude::{Builder, ClientLike, Config as RedisConfig};
    // Nothing listens on port 1: every Redis call fails.
    let client = Builder::from_config(RedisConfig::from_url("redis://127.0.0.1:1").unwrap())
        .with_performance_config(|p| p.default_command_timeout = Duration::from_millis(200))
        .build()
        .unwrap();
    let _ = client.init().await;
    let limits = Limits::new(&config("down"), Some(client));
    for _ in 0..3 {
        limits
            .check_answer("ana")
            .await
            .expect("answers fail open to the node's limiter");
    }
    limits
        .check_answer("ana")
        .await
        .expect_err("which still limits");
    let _a = limits.open_stream("ana").await.expect("streams too");
    let _b = limits.open_stream("ana").await.unwrap();
    limits
        .open_stream("ana")
        .await
        .err()
        .expect("the node's own cap");
}
