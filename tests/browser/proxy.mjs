// Real proxies and servers for the browser tests: nginx with a generated configuration in
// a temporary directory (`nginx -c … -g 'daemon off;'`, killed at the end), in front of
// a quizcast process started by the test, on free ports. Every wait here is bounded.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ARTIFACTS } from './helpers.mjs';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) || null;
export const BIN = process.env.QUIZCAST_BIN;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitUntil(what, check, ms, exited) {
  const deadline = Date.now() + ms;
  for (;;) {
    const early = exited && (await Promise.race([exited, Promise.resolve(null)]));
    if (early) throw new Error(`${what} exited at start: ${JSON.stringify(early)}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100)); // poll interval of a bounded readiness wait
  }
}

function logTo(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return createWriteStream(path.join(ARTIFACTS, `${name}.log`));
}

class Process {
  constructor(name, cmd, args, env = process.env) {
    this.name = name;
    const log = logTo(name);
    this.proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.pipe(log, { end: false });
    this.proc.stderr.pipe(log, { end: false });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * A quizcast process of its own, for tests that need server flags (`env`: e.g.
 * `HEARTBEAT_MS`) or TLS (`tls: { cert, key }`).
 */
export async function startQuizcast(name, { env = {}, tls = null } = {}) {
  if (!BIN) throw new Error('QUIZCAST_BIN is not set (cargo test --test browser sets it)');
  const dir = mkdtempSync(path.join(os.tmpdir(), `quizcast-${name}-`));
  const port = await freePort();
  const args = ['--addr', `127.0.0.1:${port}`, '--database-url', `sqlite://${path.join(dir, 'quiz.db')}`];
  if (tls) args.push('--tls-cert', tls.cert, '--tls-key', tls.key);
  const p = new Process(`${name}-server`, BIN, args, {
    ...process.env,
    JWT_SECRET: 'browser-proxy-test-secret-0123456789abcdef',
    GUEST_LOGINS_PER_MINUTE: '10000',
    RUST_LOG: 'info,sqlx=warn',
    LOG_FORMAT: 'json',
    ...env,
  });
  const scheme = tls ? 'https' : 'http';
  await waitUntil(`quizcast (${name})`, () => portOpen(port), 20_000, p.exited);
  return {
    port,
    base: `${scheme}://127.0.0.1:${port}`,
    upstream: `127.0.0.1:${port}`,
    async stop() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * nginx on a free port proxying everything to `upstream` (host:port), with `directives`
 * added to the proxied locations (the behaviour under test): a string for every response,
 * or `{ all, streams }` where `streams` applies to event streams (`…/events`) only.
 */
export async function startNginx(name, upstream, directives) {
  const { all, streams } = typeof directives === 'string' ? { all: directives, streams: '' } : directives;
  if (!NGINX) throw new Error('nginx not found (apt-get install nginx-light)');
  const dir = mkdtempSync(path.join(os.tmpdir(), `nginx-${name}-`));
  const port = await freePort();
  const root = process.getuid?.() === 0;
  const conf = `
${root ? 'user root root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    location / {
      proxy_pass http://${upstream};
      ${all}
    }
    location ~ /events$ {
      proxy_pass http://${upstream};
      ${all}
      ${streams}
    }
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const p = new Process(`${name}-nginx`, NGINX, ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;']);
  await waitUntil(`nginx (${name})`, () => portOpen(port), 10_000, p.exited);
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The proxies of the tests, by what they do to event streams. (nginx passes a stream's
 * bytes as they come even with `proxy_buffering on`: it is compression, as antivirus and
 * corporate proxies do it, that holds a stream back, its head included.)
 */
export const PROXIES = {
  /** Holds a stream, head and all, until a compressed block fills. */
  buffering:
    'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering; gzip on; gzip_types text/event-stream; gzip_min_length 0;',
  /** Ends any response that is silent for 5 s (the time between two reads upstream). */
  cutsAt5s: 'proxy_buffering off; proxy_read_timeout 5s;',
  /** Passes the first 16 KiB of a response, then a byte a second: a stream that goes stale. */
  bursts16k: {
    all: 'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;',
    streams: 'limit_rate_after 16k; limit_rate 1;',
  },
};

/**
 * Records, in the page, what it shows over time: the stage (status and prompt) and the
 * connection badge (state, transport, reason), and when each EventSource event arrived.
 * Pass as `setup` to `openPage` (or call on a context).
 */
export async function traceContext(context) {
  await context.addInitScript(() => {
    window.__trace = [];
    window.__conn = [];
    window.__sse = { count: 0, last: 0 };
    const Source = window.EventSource;
    if (Source) {
      const names = ['session_state', 'question_opened', 'question_closed', 'session_finished', 'leaderboard', 'presence', 'score', 'answers', 'heartbeat'];
      window.EventSource = class extends Source {
        constructor(...args) {
          super(...args);
          for (const n of names) {
            this.addEventListener(n, () => {
              window.__sse.count += 1;
              window.__sse.last = Date.now();
            });
          }
        }
      };
    }
    const record = () => {
      const stage = document.querySelector('[data-testid=stage]');
      const prompt = document.querySelector('[data-testid=prompt]')?.textContent?.trim() || '';
      const key = stage ? `${stage.dataset.status || ''}|${prompt}` : '';
      if (key && key !== window.__trace.at(-1)?.key) window.__trace.push({ key, at: Date.now() });
      const c = document.getElementById('conn');
      const s = c && !c.hidden ? `${c.dataset.state}|${c.dataset.transport}|${c.dataset.reason}` : 'hidden';
      if (s !== window.__conn.at(-1)?.s) window.__conn.push({ s, at: Date.now() });
    };
    document.addEventListener('DOMContentLoaded', () => {
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
  });
}

/** The page's trace: [{ key: 'status|prompt', at }] and [{ s: 'state|transport|reason', at }]. */
export function readTrace(page) {
  return page.evaluate(() => ({ trace: window.__trace, conn: window.__conn, sse: window.__sse, now: Date.now(), origin: performance.timeOrigin }));
}

/** Milliseconds from the page's navigation to its connection first being live (null: never). */
export async function msToLive(page) {
  const { conn, origin } = await readTrace(page);
  const live = conn.find((c) => c.s.startsWith('live|'));
  return live ? Math.round(live.at - origin) : null;
}

/** Share of [from, to] the page showed state `state`. */
export async function shareOfTime(page, state, from, to) {
  const { conn } = await readTrace(page);
  let total = 0;
  for (let i = 0; i < conn.length; i++) {
    const start = Math.max(conn[i].at, from);
    const end = Math.min(conn[i + 1]?.at ?? to, to);
    if (end > start && conn[i].s.startsWith(`${state}|`)) total += end - start;
  }
  return total / (to - from);
}

/**
 * Key states the page never showed: each prompt open and revealed, and the end.
 * `prompts` in the order played.
 */
export async function missedStates(page, prompts) {
  const { trace } = await readTrace(page);
  const seen = new Set(trace.map((t) => t.key));
  const missed = [];
  for (const p of prompts) {
    if (!seen.has(`question|${p}`)) missed.push(`question ${p}`);
    if (!seen.has(`reveal|${p}`)) missed.push(`reveal ${p}`);
  }
  if (![...seen].some((k) => k.startsWith('finished|'))) missed.push('finished');
  return missed;
}
