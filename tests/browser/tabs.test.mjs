// Eight tabs of one browser profile on one origin, over plain HTTP/1.1 (six connections per
// origin) and over HTTP/2 through the binary's own TLS: a host, its big screen and six test
// players, each player a different user. Every tab goes live within 10 s and sees the
// question; the host's tabs share one connection, and on HTTP/1.1 the tabs never hold more
// long-lived connections than the browser can spare.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import {
  BASE,
  CHROMIUM_ARGS,
  LAPTOP,
  PHONE,
  api,
  assertNoPageErrors,
  choiceButton,
  guestToken,
  serverScores,
  waitQuestion,
  waitText,
  watchPage,
} from './helpers.mjs';
import { msToLive, readTrace, startQuizcast, traceContext } from './proxy.mjs';

const PLAYERS = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'];
const QUESTIONS = [['laconic', ['using few words', 'very loud', 'often late'], 0]];

let browser;
before(async () => {
  // One profile (one context): every tab shares the origin's connections and storage.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'],
    timeout: 30_000,
  });
});
after(async () => {
  await browser?.close();
});

function track(page, label) {
  page.setDefaultTimeout(15_000);
  return watchPage(page, label);
}

/** A host's session of one question, made through the API. */
async function session(base) {
  const token = await guestToken('Host', base);
  const quiz = await api('POST', '/api/v1/quizzes', {
    base,
    token,
    body: {
      title: 'Tabs',
      questions: QUESTIONS.map(([prompt, choices, correct]) => ({ prompt, choices, correct_choice: correct, time_limit_ms: 60_000 })),
    },
  });
  const { session_id: code, join_url: joinUrl } = await api('POST', '/api/v1/sessions', { base, token, body: { quiz_id: quiz.quiz_id } });
  const me = await api('GET', `/api/v1/sessions/${code}`, { base, token });
  assert.equal(me.session_id, code);
  return { code, token, joinUrl };
}

/** Host view, big screen and six players as tabs of one profile; returns them, all live. */
async function eightTabs(base, code, hostToken) {
  const context = await browser.newContext({ viewport: LAPTOP, deviceScaleFactor: 1, ignoreHTTPSErrors: true });
  await traceContext(context);
  // The host's identity is kept per browser (localStorage), as the start page leaves it.
  await context.addInitScript(
    ([c, t]) => localStorage.setItem(`quizcast.hosted.${c}`, JSON.stringify({ token: t })),
    [code, hostToken],
  );
  const host = track(await context.newPage(), 'host');
  await host.goto(`${base}/host/${code}`);
  const screen = track(await context.newPage(), 'screen');
  await screen.goto(`${base}/screen/${code}`);
  const players = [];
  for (const name of PLAYERS) {
    const page = track(await context.newPage(), name);
    await page.setViewportSize(PHONE);
    await page.goto(`${base}/join/${code}`);
    await page.getByTestId('join-name').fill(name);
    await page.getByRole('button', { name: 'Join game' }).click();
    await page.getByRole('heading', { name: 'You’re in!' }).waitFor();
    players.push({ name, page });
  }
  const tabs = [host, screen, ...players.map((p) => p.page)];
  for (const tab of tabs) {
    await tab.locator('#conn[data-state=live]').waitFor({ timeout: 10_000 });
    const ms = await msToLive(tab);
    assert.ok(ms !== null && ms < 10_000, `${tab.label}: live within 10 s (${ms} ms)`);
  }
  return { context, host, screen, players, tabs };
}

/** The question reaches every tab; players answer; each sees the server's score. */
async function playOne(base, code, hostToken, t) {
  await api('POST', `/api/v1/sessions/${code}/start`, { base, token: hostToken });
  const [prompt, choices, correct] = QUESTIONS[0];
  for (const tab of [t.host, t.screen]) await tab.locator('[data-testid=stage][data-status=question]').waitFor();
  for (const { page } of t.players) await waitQuestion(page, prompt);
  for (const [i, { page }] of t.players.entries()) {
    await choiceButton(page, choices[i % 2 === 0 ? correct : 1]).click();
    await waitText(page.getByTestId('feedback'), i % 2 === 0 ? /Correct!/ : /Not quite/);
  }
  // Everyone answered: the question closes by itself.
  const scores = await serverScores(code, hostToken, base);
  for (const { page, name } of t.players) {
    await page.locator('[data-testid=stage][data-status=reveal]').waitFor();
    await waitText(page.getByTestId('my-score'), new RegExp(`^${scores.get(name)}$`));
  }
  await t.host.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await t.screen.locator('[data-testid=stage][data-status=reveal]').waitFor();
}

async function transports(tabs) {
  return Promise.all(tabs.map(async (tab) => tab.evaluate(() => {
    const c = document.getElementById('conn');
    return { transport: c.dataset.transport, shared: c.dataset.shared === 'true' };
  })));
}

test('eight tabs of one profile on plain HTTP/1.1: all live within 10 s, the host tabs share a stream', { timeout: 120_000 }, async () => {
  const { code, token } = await session(BASE);
  const t = await eightTabs(BASE, code, token);
  const kinds = await transports(t.tabs);
  // The big screen follows the host view's connection.
  assert.equal(kinds[1].shared, true, 'the big screen shares the host view’s connection');
  const streams = kinds.filter((k) => !k.shared && k.transport === 'sse').length;
  console.log(`tabs=8 protocol=http/1.1 streams=${streams} polling=${kinds.filter((k) => !k.shared && k.transport === 'poll').length} shared=${kinds.filter((k) => k.shared).length}`);
  assert.ok(streams <= 4, `at most four streams held at once (${streams})`);
  await playOne(BASE, code, token, t);
  assertNoPageErrors(...t.tabs);

  // The leading tab closes: the big screen takes over the connection and stays live.
  await t.host.close();
  await api('POST', `/api/v1/sessions/${code}/end`, { token });
  await t.screen.locator('[data-testid=stage][data-status=finished]').waitFor();
  const { conn } = await readTrace(t.screen);
  assert.ok(conn.at(-1).s.startsWith('live|'), `the screen is live after the takeover (${conn.at(-1).s})`);
  await t.context.close();
});

test('HTTP/2 through the binary’s own TLS: eight tabs stream over one connection', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quizcast-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // the test's own API calls trust the self-signed certificate
  const server = await startQuizcast('tls', { tls: { cert, key } });
  try {
    const base = server.base;
    const { code, token, joinUrl } = await session(base);
    assert.ok(joinUrl.startsWith('https://'), `join links are https (${joinUrl})`);
    const t = await eightTabs(base, code, token);
    const protocols = await Promise.all(t.tabs.map((tab) => tab.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol)));
    assert.deepEqual([...new Set(protocols)], ['h2'], 'every tab was loaded over HTTP/2');
    const kinds = await transports(t.tabs);
    console.log(`tabs=8 protocol=h2 streams=${kinds.filter((k) => !k.shared && k.transport === 'sse').length} shared=${kinds.filter((k) => k.shared).length}`);
    // No six-connection wall: every leading tab streams.
    assert.ok(kinds.every((k) => k.shared || k.transport === 'sse'), `every leading tab streams: ${JSON.stringify(kinds)}`);
    await playOne(base, code, token, t);
    assertNoPageErrors(...t.tabs);
    await t.context.close();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
