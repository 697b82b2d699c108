// A game survives its server going away, with the default configuration (no JWT_SECRET:
// the signing key is kept in the database): the test runs its own quizcast process and
// kills it (SIGKILL: streams just break) in the middle of a question, and later stops it
// gracefully (SIGTERM: the server ends streams with a retry hint) during another. Each
// time, the host's page, the big screen and the players' pages show a "connection lost"
// banner, reconnect by themselves to the server started again on the same port and
// database, and the game goes on with every score intact.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ARTIFACTS,
  DESKTOP,
  LAPTOP,
  PHONE,
  api,
  assertNoPageErrors,
  choiceButton,
  escapeRe,
  launch,
  openPage,
  playerJoins,
  serverScores,
  shoot,
  waitLive,
  waitQuestion,
  waitText,
} from './helpers.mjs';

const BIN = process.env.QUIZCAST_BIN;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function withoutSecret(env) {
  const { JWT_SECRET: _, ...rest } = env;
  return rest;
}

/** One quizcast process on a fixed port and database; start() again after stop(). */
class Server {
  constructor(port, db) {
    this.port = port;
    this.db = db;
    this.base = `http://127.0.0.1:${port}`;
    mkdirSync(ARTIFACTS, { recursive: true });
    this.log = createWriteStream(path.join(ARTIFACTS, 'reconnect-server.log'));
  }

  async start() {
    this.proc = spawn(BIN, ['--addr', `127.0.0.1:${this.port}`, '--database-url', `sqlite://${this.db}`], {
      // The default configuration: no JWT_SECRET.
      env: {
        ...withoutSecret(process.env),
        GUEST_LOGINS_PER_MINUTE: '1000',
        RUST_LOG: 'info,sqlx=warn',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout.pipe(this.log, { end: false });
    this.proc.stderr.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    // Ready when /healthz answers (bounded: 20 s).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const early = await Promise.race([this.exited, Promise.resolve(null)]);
      if (early) throw new Error(`quizcast exited at start: ${JSON.stringify(early)}`);
      try {
        const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error('quizcast did not become healthy within 20 s');
      await new Promise((r) => setTimeout(r, 100)); // poll interval of a bounded readiness wait
    }
  }

  async stop(signal) {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

let browser;
let server;
let dir;
before(async () => {
  assert.ok(BIN, 'QUIZCAST_BIN is set (cargo test --test browser sets it)');
  dir = mkdtempSync(path.join(os.tmpdir(), 'quizcast-reconnect-'));
  server = new Server(await freePort(), path.join(dir, 'quiz.db'));
  await server.start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const QUESTIONS = [
  ['sanguine', ['optimistic', 'bloody', 'sleepy', 'angry'], 0],
  ['taciturn', ['chatty', 'reserved', 'cheerful', 'rude'], 1],
  ['ubiquitous', ['rare', 'huge', 'found everywhere', 'noisy'], 2],
];
const RIGHT = new Map(QUESTIONS.map(([prompt, choices, c]) => [prompt, choices[c]]));

test('host, big screen and players ride out a killed server with every score intact', { timeout: 150_000 }, async () => {
  const base = server.base;
  const hostAuth = await api('POST', '/api/v1/auth/guest', { base, body: { display_name: 'Host' } });
  const quiz = await api('POST', '/api/v1/quizzes', {
    base,
    token: hostAuth.token,
    body: {
      title: 'Reconnect',
      questions: QUESTIONS.map(([prompt, choices, correct]) => ({ prompt, choices, correct_choice: correct, time_limit_ms: 60_000 })),
    },
  });
  const { session_id: code } = await api('POST', '/api/v1/sessions', { base, token: hostAuth.token, body: { quiz_id: quiz.quiz_id } });

  // The host's browser: the host page and the big screen, as if it had started the game.
  const host = await openPage(browser, `${base}/host/${code}`, {
    viewport: LAPTOP,
    label: 'host',
    setup: (context) =>
      context.addInitScript(([key, auth]) => localStorage.setItem(key, JSON.stringify(auth)), [`quizcast.hosted.${code}`, { ...hostAuth, settings: {} }]),
  });
  const screen = await openPage(browser, `${base}/screen/${code}`, { viewport: DESKTOP, label: 'screen', context: host.context() });
  const rita = await playerJoins(browser, code, 'Rita', { base });
  const sam = await playerJoins(browser, code, 'Sam', { base });
  const pages = [host, screen, rita, sam];
  await waitText(host.getByTestId('lobby-count'), '2 players');
  for (const p of pages) await waitLive(p);

  const scores = () => serverScores(code, hostAuth.token, base);
  /** Every page shows the server's scores: the players their own, the host and screen the board. */
  async function pagesShow(expected) {
    for (const [page, name] of [[rita, 'Rita'], [sam, 'Sam']]) {
      await waitText(page.getByTestId('my-score'), new RegExp(`^${expected.get(name)}$`));
    }
    const [top] = [...expected.entries()].sort((a, b) => b[1] - a[1]);
    for (const page of [host, screen]) {
      await waitText(page.locator('[data-testid=leaderboard] .board-row').first(), new RegExp(`${escapeRe(top[0])}\\s*${top[1]}`));
    }
  }
  const answer = async (page, prompt) => {
    await waitQuestion(page, prompt);
    await choiceButton(page, RIGHT.get(prompt)).click();
    await waitText(page.getByTestId('feedback'), /Correct! \+\d+ points/);
  };
  /** The server dies (`signal`) and comes back; every page says so, then recovers. */
  async function outage(signal, name) {
    const before = rita.streamRequests.length;
    await server.stop(signal);
    for (const p of pages) await waitText(p.getByTestId('connection-banner'), 'Connection lost', 20_000);
    await shoot(rita, `player-${name}`, PHONE);
    await shoot(host, `host-${name}`, LAPTOP);
    await server.start();
    for (const p of pages) {
      await waitLive(p, { timeout: 30_000 });
      await p.locator('#conn-banner:empty').waitFor({ state: 'attached' });
    }
    assert.ok(rita.streamRequests.length > before, 'the page opened a new stream');
  }

  // Q1: both right; the last answer closes it.
  await host.getByRole('button', { name: 'Start game' }).click();
  await answer(rita, 'sanguine');
  await answer(sam, 'sanguine');
  for (const p of pages) await p.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await pagesShow(await scores());

  // Q2 opens; Rita answers; the server is killed mid-question and started again.
  await host.getByRole('button', { name: 'Next question' }).click();
  await answer(rita, 'taciturn');
  const midQuestion = await scores();
  await outage('SIGKILL', 'server-killed');
  // Nobody was signed out, the question is still open, the scores are intact.
  for (const p of pages) await p.locator('[data-testid=stage][data-status=question]').waitFor();
  assert.deepEqual(await scores(), midQuestion, 'scores survive the restart');
  await waitText(rita.getByTestId('feedback'), /Correct! \+\d+ points/);
  const secs = Number(await sam.locator('.countdown-secs').textContent());
  assert.ok(secs > 0 && secs <= 60, `countdown after the restart: ${secs}`);
  await answer(sam, 'taciturn');
  for (const p of pages) await p.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await pagesShow(await scores());
  await waitText(rita.getByTestId('my-streak'), /^2$/);

  // Q3: a graceful stop during the question, and back.
  await host.getByRole('button', { name: 'Next question' }).click();
  await waitQuestion(sam, 'ubiquitous');
  await outage('SIGTERM', 'server-stopped');
  await answer(rita, 'ubiquitous');
  await answer(sam, 'ubiquitous');
  for (const p of pages) await p.locator('[data-testid=stage][data-status=reveal]').waitFor();
  const final = await scores();
  await pagesShow(final);

  await host.getByRole('button', { name: 'Show final results' }).click();
  for (const p of pages) await p.locator('[data-testid=stage][data-status=finished]').waitFor();
  await waitText(rita.getByTestId('final-place'), `with ${final.get('Rita')} points`);
  await waitText(sam.getByTestId('final-place'), `with ${final.get('Sam')} points`);
  assertNoPageErrors(...pages);
});
