// Whole games through real nginx proxies that break streaming in the ways found in the
// field: one that holds streams back entirely, one that cuts every response silent for 5 s,
// and one that lets 16 KiB through and then holds. Every page stays usable: it renders at
// once, goes live (by polling where it must), sees every question and reveal, and shows the
// scores the server has. Each test prints the time to a playable page and the key states
// any page missed ("lost"), which must be none.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { playGame } from './game-driver.mjs';
import {
  BASE,
  LAPTOP,
  api,
  assertNoPageErrors,
  choiceButton,
  guestToken,
  hostCreatesGame,
  launch,
  openPage,
  playerJoins,
  serverScores,
  waitQuestion,
  waitText,
  watchPage,
} from './helpers.mjs';
import {
  NGINX,
  PROXIES,
  missedStates,
  msToLive,
  readTrace,
  shareOfTime,
  startNginx,
  startQuizcast,
  traceContext,
} from './proxy.mjs';

if (!NGINX && process.env.CI === 'true') throw new Error('nginx is required in CI (apt-get install nginx-light)');
const skip = NGINX ? false : 'nginx not installed (apt-get install nginx-light)';

const WORDS = [
  ['ephemeral', 'lasting a very short time'],
  ['gregarious', 'fond of company'],
  ['meticulous', 'very careful and precise'],
];
const PLAN = [
  ['right', 'wrong'],
  ['wrong', 'right'],
  ['right', 'right'],
];

let browser;
before(async () => {
  if (!skip) browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Host (with a big screen in the same browser) and two players, all through `base`. */
async function gameThrough(base, { playerQuery = ['', ''] } = {}) {
  const host = await openPage(browser, `${base}/`, { viewport: LAPTOP, label: 'host', setup: traceContext });
  // Instant feedback: each answer's verdict comes back through the proxy at once.
  const code = await hostCreatesGame(host, { title: 'Through a proxy', words: WORDS, choices: 3, feedback: 'instant' });
  const screen = watchPage(await host.context().newPage(), 'screen');
  await screen.goto(`${base}/screen/${code}`);
  const players = [];
  for (const [i, name] of ['Ana', 'Bo'].entries()) {
    players.push({ name, page: await playerJoins(browser, code, name, { base, query: playerQuery[i], setup: traceContext }) });
  }
  await waitText(host.getByTestId('lobby-count'), '2 players');
  return { host, screen, players, code, pages: [host, screen, ...players.map((p) => p.page)] };
}

/** Waits (bounded) until `check()` holds, re-checking as requests come and go. */
async function waitFor(check, ms, describe) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 200)); // poll interval of a bounded wait on request logs
  }
}

async function report(proxy, pages, prompts) {
  let lost = 0;
  for (const page of pages) {
    const missed = await missedStates(page, prompts);
    lost += missed.length;
    console.log(`proxy=${proxy} page=${page.label} playable_ms=${await msToLive(page)} lost=${missed.length}${missed.length ? ` (${missed.join(', ')})` : ''}`);
  }
  return lost;
}

async function prompts(host, code) {
  // The prompts in the order played: the host's trace has each one.
  const { trace } = await readTrace(host);
  const seen = [];
  for (const t of trace) {
    const [status, prompt] = t.key.split('|');
    if (status === 'question' && prompt && !seen.includes(prompt)) seen.push(prompt);
  }
  assert.equal(seen.length, WORDS.length, `the host saw every question of ${code}`);
  return seen;
}

test('a proxy that holds streams back: pages render at once, go live by polling, and a game is played', { skip, timeout: 150_000 }, async () => {
  const upstream = new URL(BASE).host;
  const proxy = await startNginx('buffering', upstream, PROXIES.buffering);
  try {
    const g = await gameThrough(proxy.base);
    // The host page drew the lobby from its plain GET before any transport was settled.
    const { trace, conn } = await readTrace(g.host);
    const lobbyAt = trace.find((t) => t.key.startsWith('lobby|'))?.at;
    const liveAt = conn.find((c) => c.s.startsWith('live|'))?.at;
    assert.ok(lobbyAt && liveAt && lobbyAt <= liveAt, 'the host page shows the lobby before it is live');
    for (const page of g.pages) {
      await page.locator('#conn[data-state=live][data-transport=poll]').waitFor({ timeout: 10_000 });
      const ms = await msToLive(page);
      assert.ok(ms !== null && ms < 10_000, `${page.label}: live by polling within 10 s (${ms} ms)`);
    }
    await playGame({ host: g.host, players: g.players, words: WORDS, plan: PLAN, code: g.code, watcherToken: await guestToken('Referee') });
    await g.screen.locator('[data-testid=stage][data-status=finished]').waitFor();
    const lost = await report('buffering', g.pages, await prompts(g.host, g.code));
    assert.equal(lost, 0, 'no page missed a question, a reveal or the end');
    assertNoPageErrors(...g.pages);
    await Promise.all(g.pages.map((p) => p.context().close().catch(() => {})));
  } finally {
    await proxy.stop();
  }
});

test('a proxy that cuts responses silent for 5 s: streams resume, polls hold less, "reconnecting…" rarely shows', { skip, timeout: 150_000 }, async () => {
  const upstream = new URL(BASE).host;
  const proxy = await startNginx('cut5s', upstream, PROXIES.cutsAt5s);
  try {
    // Bo long-polls. Each cut stream comes back, which changes presence, which answers polls.
    const g = await gameThrough(proxy.base, { playerQuery: ['', '?transport=poll'] });
    for (const page of g.pages) await page.locator('#conn[data-state=live]').waitFor({ timeout: 10_000 });
    // An idle lobby for 30 s: streams are cut every 5 s and resumed.
    const from = Date.now();
    await g.host.waitForTimeout(30_000); // the measured window itself, not a synchronisation
    const to = Date.now();
    for (const page of g.pages) {
      const share = await shareOfTime(page, 'reconnecting', from, to);
      console.log(`proxy=cut5s page=${page.label} reconnecting_share=${share.toFixed(3)}`);
      assert.ok(share < 0.2, `${page.label}: "reconnecting…" for ${(share * 100).toFixed(1)} % of an idle lobby`);
    }
    await playGame({ host: g.host, players: g.players, words: WORDS, plan: PLAN, code: g.code, watcherToken: await guestToken('Referee') });
    await g.screen.locator('[data-testid=stage][data-status=finished]').waitFor();
    const lost = await report('cut5s', g.pages, await prompts(g.host, g.code));
    assert.equal(lost, 0, 'no page missed a question, a reveal or the end');
    assertNoPageErrors(...g.pages);
    await Promise.all(g.pages.map((p) => p.context().close().catch(() => {})));

    // Alone in a quiet lobby, a long-polling page's 25 s polls meet the proxy's 504 until
    // they hold under 5 s; none of that shows as an outage.
    const hostToken = await guestToken('Quiet host');
    const quizzes = await api('GET', '/api/v1/quizzes', { token: hostToken });
    const { session_id: quiet } = await api('POST', '/api/v1/sessions', { token: hostToken, body: { quiz_id: quizzes.quizzes[0].quiz_id } });
    const cy = await playerJoins(browser, quiet, 'Cy', { base: proxy.base, query: '?transport=poll', setup: traceContext });
    const since = Date.now();
    const holds = () => cy.pollRequests.map((q) => Number(new URLSearchParams(q).get('timeout_ms')));
    await waitFor(() => holds().some((h) => h > 0 && h < 5000), 40_000, () => `Cy's holds: ${holds().join(',')}`);
    const share = await shareOfTime(cy, 'reconnecting', since, Date.now());
    console.log(`proxy=cut5s page=Cy holds=${holds().join(',')} reconnecting_share=${share.toFixed(3)}`);
    assert.ok(holds().includes(25_000), 'the first polls hold 25 s');
    assert.ok(share < 0.2, `Cy: "reconnecting…" for ${(share * 100).toFixed(1)} % of the time`);
    await cy.locator('#conn[data-state=live]').waitFor();
    await cy.context().close();
  } finally {
    await proxy.stop();
  }
});

const QUESTIONS = [
  ['sanguine', ['optimistic', 'bloody', 'sleepy'], 0],
  ['taciturn', ['chatty', 'reserved', 'cheerful'], 1],
];

test('a proxy that passes 16 KiB and then holds: the stale stream is noticed and the game goes on', { skip, timeout: 150_000 }, async () => {
  // Heartbeats every 50 ms fill the proxy's 16 KiB within seconds; the page keeps the real
  // 35 s rule.
  const server = await startQuizcast('bursts', { env: { HEARTBEAT_MS: '50' } });
  const proxy = await startNginx('bursts16k', server.upstream, PROXIES.bursts16k);
  try {
    const base = server.base;
    const hostToken = await guestToken('Host', base);
    const quiz = await api('POST', '/api/v1/quizzes', {
      base,
      token: hostToken,
      body: {
        title: 'Bursts',
        questions: QUESTIONS.map(([prompt, choices, correct]) => ({ prompt, choices, correct_choice: correct, time_limit_ms: 60_000 })),
      },
    });
    const { session_id: code } = await api('POST', '/api/v1/sessions', { base, token: hostToken, body: { quiz_id: quiz.quiz_id } });
    const hostCall = (action) => api('POST', `/api/v1/sessions/${code}/${action}`, { base, token: hostToken });

    const page = await playerJoins(browser, code, 'Rita', { base: proxy.base, setup: traceContext });
    page.label = 'player';
    await page.locator('#conn[data-state=live][data-transport=sse]').waitFor({ timeout: 10_000 });
    // The stream goes stale once 16 KiB have passed; the page moves to polling.
    await page.locator('#conn[data-state=live][data-transport=poll][data-reason=stalled]').waitFor({ timeout: 90_000 });
    const { sse, now } = await readTrace(page);
    assert.ok(sse.count > 10, `the stream delivered events first (${sse.count})`);
    const staleFor = now - sse.last;
    console.log(`proxy=bursts16k page=player stale_detected_after_ms=${staleFor} playable_ms=${await msToLive(page)}`);
    assert.ok(staleFor <= 45_000, `stale stream detected ${staleFor} ms after its last event`);

    await hostCall('start');
    await waitQuestion(page, 'sanguine');
    await choiceButton(page, 'optimistic').click();
    await waitText(page.getByTestId('feedback'), /Correct! \+\d+ points/);
    await page.locator('[data-testid=stage][data-status=reveal]').waitFor();
    await hostCall('next');
    await waitQuestion(page, 'taciturn');
    await choiceButton(page, 'chatty').click();
    await waitText(page.getByTestId('feedback'), /Not quite/);
    await page.locator('[data-testid=stage][data-status=reveal]').waitFor();
    const score = (await serverScores(code, hostToken, base)).get('Rita');
    await waitText(page.getByTestId('my-score'), new RegExp(`^${score}$`));
    await hostCall('next');
    await page.locator('[data-testid=stage][data-status=finished]').waitFor();
    const missed = await missedStates(page, ['sanguine', 'taciturn']);
    console.log(`proxy=bursts16k page=player lost=${missed.length}`);
    assert.deepEqual(missed, []);
    assertNoPageErrors(page);
    await page.context().close();
  } finally {
    await proxy.stop();
    await server.stop();
  }
});
