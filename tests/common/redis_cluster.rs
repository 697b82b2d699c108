//! A throw-away Redis Cluster for one test: three primaries and three replicas on free
//! ports, each node in a temporary directory of its own, all killed when dropped.
//! Without `redis-server` the test says `skipped: redis-server not found` (fails under
//! `CI=true`, like the other services).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the cluster may take to form (about 7 s here) or to recover from a failover.
const FORM: Duration = Duration::from_secs(60);

pub struct RedisCluster {
    /// Every node, primaries and replicas, by port (the cluster bus is port + 10000).
    pub nodes: Vec<(u16, Option<Child>)>,
    _dir: tempfile::TempDir,
}

/// A port `p` where both `p` and the cluster bus port `p + 10000` are free.
fn free_cluster_port(taken: &[u16]) -> u16 {
    loop {
        let p = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !(1_024..=55_000).contains(&p) || taken.contains(&p) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

/// Runs `redis-cli -p PORT ARGS…` and returns what it printed.
pub async fn cli(port: u16, args: &[&str]) -> String {
    let out = tokio::process::Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .await
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl RedisCluster {
    /// Starts and forms the cluster; `None` (after saying so) without `redis-server`.
    pub async fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("redis-server not found (CI=true requires it)");
            }
            println!("skipped: redis-server not found");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut nodes = Vec::new();
        let mut ports = Vec::new();
        for _ in 0..6 {
            let port = free_cluster_port(&ports);
            ports.push(port);
            let node_dir = dir.path().join(port.to_string());
            std::fs::create_dir(&node_dir).expect("a node directory");
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--appendonly", "no", "--save", "", "--daemonize", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdout(Stdio::null())
                .spawn()
                .expect("start redis-server");
            nodes.push((port, Some(child)));
        }
        let cluster = Self { nodes, _dir: dir };
        for &port in &ports {
            cluster.wait_until(port, "PONG", &["PING"]).await;
        }
        let mut create = Command::new("redis-cli");
        create.args(["--cluster", "create"]);
        for port in &ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let out = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        for &port in &ports {
            cluster
                .wait_until(port, "cluster_state:ok", &["CLUSTER", "INFO"])
                .await;
        }
        // Every replica must be in sync before a failover can promote it.
        for &port in &ports {
            cluster
                .wait_until(
                    port,
                    "master_link_status:up|role:master",
                    &["INFO", "replication"],
                )
                .await;
        }
        Some(cluster)
    }

    /// Polls `redis-cli -p port ARGS` until its output contains one of the `|`-separated
    /// texts in `want` (bounded by `FORM`).
    async fn wait_until(&self, port: u16, want: &str, args: &[&str]) {
        let start = Instant::now();
        loop {
            let out = cli(port, args).await;
            if want.split('|').any(|w| out.contains(w)) {
                return;
            }
            assert!(
                start.elapsed() < FORM,
                "node {port}: no {want:?} within {FORM:?}; last: {out}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The URL quizcast takes: the first node, the others as `node=` seeds.
    pub fn url(&self) -> String {
        let mut ports = self.nodes.iter().map(|(p, _)| *p);
        let first = ports.next().unwrap_or_default();
        let rest: Vec<String> = ports.map(|p| format!("node=127.0.0.1:{p}")).collect();
        format!("redis-cluster://127.0.0.1:{first}?{}", rest.join("&"))
    }

    /// Ports of the nodes still running.
    pub fn alive(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|(_, c)| c.is_some())
            .map(|(p, _)| *p)
            .collect()
    }

    /// The port of the primary that owns `key`'s slot, as a live node sees it.
    pub async fn primary_of(&self, key: &str) -> u16 {
        let port = self.alive()[0];
        let slot: u16 = cli(port, &["CLUSTER", "KEYSLOT", key])
            .await
            .trim()
            .parse()
            .expect("a slot number");
        let nodes = cli(port, &["CLUSTER", "NODES"]).await;
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let owns = fields[8..].iter().any(|range| {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if lo <= slot && slot <= hi)
            });
            if owns {
                let addr = fields[1].split('@').next().unwrap_or_default();
                return addr
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a port");
            }
        }
        panic!("no primary owns slot {slot}: {nodes}");
    }

    /// SIGKILL, as a crash: no shutdown, no last save.
    pub fn kill(&mut self, port: u16) {
        for (p, child) in self.nodes.iter_mut() {
            if *p == port
                && let Some(mut c) = child.take()
            {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    /// Waits until every live node reports `cluster_state:ok` again.
    pub async fn wait_ok(&self) {
        for port in self.alive() {
            self.wait_until(port, "cluster_state:ok", &["CLUSTER", "INFO"])
                .await;
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, child) in self.nodes.iter_mut() {
            if let Some(mut c) = child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
