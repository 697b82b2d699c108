// A player's page survives its server going away: the test runs its own quizcast process,
// kills it (SIGKILL: the stream just breaks) after the first question and stops it
// gracefully (SIGTERM: the server ends the stream with a retry hint) in the middle of the
// third. Each time the page says "reconnecting…", EventSource reconnects to the server
// started again on the same port and database, and the game goes on with the right score.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ARTIFACTS,
  api,
  assertNoPageErrors,
  choiceButton,
  guestToken,
  launch,
  playerJoins,
  serverScores,
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
      env: {
        ...process.env,
        JWT_SECRET: 'browser-reconnect-test-secret-0123456789',
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

test('a player page shows "reconnecting…" while the server is gone, then resumes with the right score', { timeout: 120_000 }, async () => {
  const base = server.base;
  const hostToken = await guestToken('Host', base);
  const quiz = await api('POST', '/api/v1/quizzes', {
    base,
    token: hostToken,
    body: {
      title: 'Reconnect',
      questions: QUESTIONS.map(([prompt, choices, correct]) => ({
        prompt,
        choices,
        correct_choice: correct,
        time_limit_ms: 60_000,
      })),
    },
  });
  const { session_id: code } = await api('POST', '/api/v1/sessions', { base, token: hostToken, body: { quiz_id: quiz.quiz_id } });
  const host = (action) => api('POST', `/api/v1/sessions/${code}/${action}`, { base, token: hostToken });
  const scoreOnServer = async () => (await serverScores(code, hostToken, base)).get('Rita');

  const page = await playerJoins(browser, code, 'Rita', { base });
  const badge = page.getByTestId('connection');
  await waitText(badge, /^live$/);

  // Q1, answered right; the only player answered, so it closes by itself.
  await host('start');
  await waitQuestion(page, 'sanguine');
  await choiceButton(page, 'optimistic').click();
  await waitText(page.getByTestId('feedback'), /Correct! \+\d+ points/);
  await page.locator('[data-testid=stage][data-status=reveal]').waitFor();
  const s1 = await scoreOnServer();
  assert.ok(s1 > 100);
  await waitText(page.getByTestId('my-score'), new RegExp(`^${s1}$`));

  // The server dies.
  await server.stop('SIGKILL');
  await waitText(badge, /^reconnecting…$/);
  await page.locator('#conn[data-state=reconnecting]').waitFor();
  await server.start();
  // EventSource reconnects by itself, on the stream (not the long-poll fallback).
  await waitText(badge, /^live$/, 30_000);
  assert.equal(page.pollRequests.length, 0, 'streaming came back: no switch to long-polling');
  await waitText(page.getByTestId('my-score'), new RegExp(`^${s1}$`));
  await page.locator('[data-testid=stage][data-status=reveal]').waitFor();

  // Q2 arrives live on the resumed stream.
  await host('next');
  await waitQuestion(page, 'taciturn');
  await choiceButton(page, 'reserved').click();
  await waitText(page.getByTestId('feedback'), /Correct! \+\d+ points/);
  await page.locator('[data-testid=stage][data-status=reveal]').waitFor();
  const s2 = await scoreOnServer();
  assert.ok(s2 > s1);
  await waitText(page.getByTestId('my-score'), new RegExp(`^${s2}$`));
  await waitText(page.getByTestId('my-streak'), /^2$/);

  // Q3 opens; the server shuts down gracefully while it is open, and comes back.
  await host('next');
  await waitQuestion(page, 'ubiquitous');
  const streamsBefore = page.streamRequests.length;
  await server.stop('SIGTERM');
  await waitText(badge, /^reconnecting…$/);
  await server.start();
  await waitText(badge, /^live$/, 30_000);
  assert.ok(page.streamRequests.length > streamsBefore, 'the page opened a new stream');
  // Still the same open question, still answerable, countdown still running.
  await page.locator('[data-testid=stage][data-status=question]').waitFor();
  const secs = Number(await page.locator('.countdown-secs').textContent());
  assert.ok(secs > 0 && secs <= 60, `countdown after the restart: ${secs}`);
  await choiceButton(page, 'found everywhere').click();
  await waitText(page.getByTestId('feedback'), /Correct! \+\d+ points/);
  await page.locator('[data-testid=stage][data-status=reveal]').waitFor();
  const s3 = await scoreOnServer();
  assert.ok(s3 > s2);
  await waitText(page.getByTestId('my-score'), new RegExp(`^${s3}$`));
  await waitText(page.getByTestId('my-streak'), /^3$/);

  await host('next');
  await page.locator('[data-testid=stage][data-status=finished]').waitFor();
  await waitText(page.getByTestId('final-place'), `You finished 1st of 1 with ${s3} points`);
  assertNoPageErrors(page);
});
