#!/usr/bin/env bash
# Reruns every figure in BENCHMARKS.md on this machine and writes each run's JSON line to
# bench/results/<name>.json (the human summaries go to the terminal).
# Needs: a release build; for the shared runs Redis on 127.0.0.1:6379 and PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust); for the comparison nginx with libnginx-mod-nchan.
# Usage: bench/run.sh [name ...]   (default: all runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/target/release/quizcast
WORK=${BENCH_WORK:-/tmp/quizcast-bench}
OUT=$ROOT/bench/results
mkdir -p "$WORK" "$OUT"
cargo build --release --quiet

stop_all() {
  pkill -f "$BIN --database-url" 2>/dev/null || true
  pkill -f "$BIN --node-id" 2>/dev/null || true
  sleep 0.5
}
trap stop_all EXIT

wait_ready() { for _ in $(seq 100); do curl -sf "$1/readyz" >/dev/null && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# One embedded node on :8080 with a fresh SQLite file; prints its pid. Arguments, if any,
# prefix the server's command (e.g. `taskset -c 0` to pin it to one core).
embedded() {
  stop_all
  rm -f "$WORK"/bench.db*
  "$@" "$BIN" --database-url "sqlite://$WORK/bench.db" >"$WORK/embedded.log" 2>&1 &
  wait_ready http://127.0.0.1:8080
  pgrep -f "$BIN --database-url"
}

# N shared nodes on :8081.. with one Redis and a fresh PostgreSQL database; prints pids.
shared() {
  stop_all
  psql -h 127.0.0.1 -U postgres -d test -qc 'DROP DATABASE IF EXISTS quizbench' >/dev/null
  psql -h 127.0.0.1 -U postgres -d test -qc 'CREATE DATABASE quizbench' >/dev/null
  local prefix=bench$(date +%s)
  for i in $(seq 1 "$1"); do
    QUIZ_ADDR=127.0.0.1:$((8080 + i)) REDIS_URL=$REDIS REDIS_PREFIX=$prefix \
      DATABASE_URL=postgres://postgres@127.0.0.1:5432/quizbench DATABASE_MAX_CONNECTIONS=8 \
      JWT_SECRET=bench-secret-bench-secret-bench-secret \
      "$BIN" --node-id "node$i" >"$WORK/node$i.log" 2>&1 &
  done
  for i in $(seq 1 "$1"); do wait_ready "http://127.0.0.1:$((8080 + i))"; done
  pgrep -f "$BIN --node-id" | paste -sd, -
}

REDIS=redis://127.0.0.1:6379

# A Redis of the run's own on :6390 (nobody else's commands in its counts); prints its URL.
own_redis() {
  redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true
  redis-server --port 6390 --save '' --appendonly no --daemonize yes \
    --pidfile "$WORK/redis-6390.pid" --logfile "$WORK/redis-6390.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo redis://127.0.0.1:6390
}

targets() { seq 1 "$1" | sed 's/^/http:\/\/127.0.0.1:808/' | paste -sd, -; }

# The load tool's command prefix for the next run (e.g. `taskset -c 1`); reset after each.
TOOL=()

run() {
  local name=$1; shift
  echo "== $name: ${TOOL[*]} quizcast loadtest $*"
  # A failed check exits 2; keep its report and go on with the other runs.
  "${TOOL[@]}" "$BIN" loadtest --quiet "$@" >"$WORK/$name.txt" || echo "$name: checks FAILED" >&2
  TOOL=()
  grep -v '^{' "$WORK/$name.txt" || true
  tail -n 1 "$WORK/$name.txt" >"$OUT/$name.json"
}

ALL=(connections-embedded burst-embedded burst-embedded-1core answers-embedded
     throughput-embedded poll-embedded fanout-embedded fanout-nchan burst-redis
     throughput-redis connections-redis idle-redis)
RUNS=("${@:-${ALL[@]}}")

for RUNS_ARG in "${RUNS[@]}"; do
  case $RUNS_ARG in
  connections-embedded)
    pid=$(embedded); run "$RUNS_ARG" --players 19500 --watch-only --questions 1 --window-ms 1000 --server-pid "$pid" ;;
  burst-embedded)
    pid=$(embedded); run "$RUNS_ARG" --players 10000 --questions 3 --window-ms 2000 --server-pid "$pid" ;;
  burst-embedded-1core)
    # Twice the players per core: the server on core 0 alone, the load tool on core 1.
    pid=$(embedded taskset -c 0); TOOL=(taskset -c 1)
    run "$RUNS_ARG" --players 10000 --questions 3 --window-ms 2000 --server-pid "$pid" ;;
  answers-embedded)
    # Answers alone: no event streams, so the CPU per accepted answer is the write path's.
    pid=$(embedded); run "$RUNS_ARG" --players 10000 --questions 3 --window-ms 2000 --no-stream --server-pid "$pid" ;;
  throughput-embedded)
    pid=$(embedded); run "$RUNS_ARG" --players 10000 --questions 3 --window-ms 200 --server-pid "$pid" ;;
  poll-embedded)
    pid=$(embedded); run "$RUNS_ARG" --players 2000 --poll-share 0.25 --questions 3 --server-pid "$pid" ;;
  fanout-embedded)
    pid=$(embedded); run "$RUNS_ARG" --players 10000 --sessions 20 --watch-only --questions 10 --window-ms 300 --reveal-ms 300 --server-pid "$pid" ;;
  fanout-nchan)
    stop_all
    mkdir -p "$WORK/nchan"
    nginx -p "$WORK/nchan/" -c "$ROOT/bench/nchan/nginx.conf" -g 'daemon off;' &
    wait_ready_nchan() { for _ in $(seq 50); do curl -sf http://127.0.0.1:8090/healthz >/dev/null && return; sleep 0.1; done; }
    wait_ready_nchan
    worker=$(pgrep -P "$(cat "$WORK/nchan/nginx.pid")")
    run "$RUNS_ARG" --nchan --target http://127.0.0.1:8090 --players 10000 --sessions 20 --messages 21 --message-bytes 300 --publish-interval-ms 330 --server-pid "$worker"
    nginx -p "$WORK/nchan/" -c "$ROOT/bench/nchan/nginx.conf" -s stop ;;
  burst-redis)
    pids=$(shared 3); run "$RUNS_ARG" --target "$(targets 3)" --players 10000 --questions 3 --window-ms 2000 --server-pid "$pids" ;;
  throughput-redis)
    pids=$(shared 3); run "$RUNS_ARG" --target "$(targets 3)" --players 10000 --questions 3 --window-ms 200 --server-pid "$pids" ;;
  connections-redis)
    pids=$(shared 6); run "$RUNS_ARG" --target "$(targets 6)" --players 100000 --sessions 10 --watch-only --questions 1 --window-ms 1000 --max-secs 800 --server-pid "$pids" ;;
  idle-redis)
    # Shared mode at rest: 100 lobbies with 50 watchers each on three nodes, 60 s of
    # nothing happening; Redis commands/s (a Redis of its own) and server CPU over it.
    url=$(own_redis)
    pids=$(REDIS=$url MAX_SESSIONS_PER_HOST=100 shared 3)
    run "$RUNS_ARG" --target "$(targets 3)" --players 5000 --sessions 100 --watch-only --questions 1 --window-ms 1000 \
      --idle-secs 60 --redis-stats "$url" --server-pid "$pids"
    stop_all
    redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true ;;
  *) echo "unknown run $RUNS_ARG (runs: ${ALL[*]})" >&2; exit 1 ;;
  esac
done
