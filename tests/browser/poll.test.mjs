// The same whole game with the three transports a player can end up on: streaming
// (EventSource) on a device whose clock is an hour fast, long-polling asked for with
// `?transport=poll`, and streaming that keeps failing (the stream requests are blocked)
// so the page falls back to long-polling by itself. One code path renders all three. The
// host picks "instant" feedback (one click away from the default), so answers are marked
// right or wrong at once; the page says "Connected" whatever the transport.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { playGame } from './game-driver.mjs';
import {
  BASE,
  LAPTOP,
  assertNoPageErrors,
  guestToken,
  hostCreatesGame,
  launch,
  openPage,
  playerJoins,
  waitLive,
  waitText,
} from './helpers.mjs';

const WORDS = [
  ['ephemeral', 'lasting a very short time'],
  ['gregarious', 'fond of company'],
  ['meticulous', 'very careful and precise'],
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a whole game with one player on ?transport=poll and one whose streaming is blocked', { timeout: 120_000 }, async () => {
  const host = await openPage(browser, `${BASE}/`, { viewport: LAPTOP, label: 'host' });
  const code = await hostCreatesGame(host, { title: 'Transports', words: WORDS, choices: 3, feedback: 'instant' });

  const ana = await playerJoins(browser, code, 'Ana', { clockSkewMs: 3_600_000 });
  const bo = await playerJoins(browser, code, 'Bo', { query: '?transport=poll' });
  const cy = await playerJoins(browser, code, 'Cy', {
    setup: (context) => context.route((url) => url.pathname.endsWith('/events'), (route) => route.abort()),
  });
  await waitText(host.getByTestId('lobby-count'), '3 players');

  await waitLive(ana, { transport: 'sse' });
  await waitLive(bo, { transport: 'poll' });
  // No transport jargon for players: polling or streaming, the page says "Connected".
  await waitText(bo.getByTestId('connection'), /^Connected$/);
  // Cy's stream fails while plain HTTP works: reconnecting, then long-polling.
  await waitLive(cy, { transport: 'poll', timeout: 30_000 });
  assert.ok(cy.streamRequests.length >= 3, `Cy tried to stream first (${cy.streamRequests.length} attempts)`);
  // Cy's lobby is up to date through the poll.
  await waitText(cy.getByTestId('player-count'), '3 players');

  const players = [
    { page: ana, name: 'Ana' },
    { page: bo, name: 'Bo' },
    { page: cy, name: 'Cy' },
  ];
  await playGame({
    host,
    players,
    words: WORDS,
    code,
    watcherToken: await guestToken('Referee'),
    feedback: 'instant',
    plan: [
      ['right', 'right', 'wrong'],
      ['wrong', 'right', 'right'],
      ['right', null, 'right'],
    ],
  });

  assert.equal(bo.streamRequests.length, 0, 'Bo never opened an EventSource');
  assert.ok(bo.pollRequests.length >= 4, `Bo long-polled (${bo.pollRequests.length} polls)`);
  assert.ok(bo.pollRequests.slice(1).every((q) => /after=/.test(q)), 'each poll passes the previous cursor');
  assert.ok(ana.pollRequests.length === 0 && ana.streamRequests.length >= 1, 'Ana streamed');
  await waitLive(cy, { transport: 'poll' });
  await waitText(cy.getByTestId('connection'), /^Connected$/);
  assertNoPageErrors(host, ana, bo, cy);
});
