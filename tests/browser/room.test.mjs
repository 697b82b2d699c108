// A game a real room can trust, as the people in it see it: how to join (address, QR code,
// the join form at /join, a warning when phones cannot reach the server), the host's tools
// (who is online, remove a player, lock the game), a fair reveal (nothing leaks before the
// question closes, and a page loaded during the reveal shows it all), the auto-advance
// countdown, and pages that stop and say what to do when the game is gone or the sign-in
// is refused.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE,
  DESKTOP,
  LAPTOP,
  PHONE,
  assertAccessible,
  assertNoPageErrors,
  choiceButton,
  focused,
  hostCreatesGame,
  launch,
  openPage,
  playerJoins,
  shoot,
  waitLive,
  waitQuestion,
  waitText,
} from './helpers.mjs';

const WORDS = [
  ['sanguine', 'optimistic'],
  ['taciturn', 'reserved'],
  ['ubiquitous', 'found everywhere'],
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('joining, removing a player, locking, and a reveal that survives reloads', { timeout: 150_000 }, async () => {
  const host = await openPage(browser, `${BASE}/`, { viewport: LAPTOP, label: 'host' });
  const code = await hostCreatesGame(host, { title: 'Room', words: WORDS, choices: 3 });

  // Joining: the address on this page's origin, the QR code, and a warning with the fix
  // (the test server listens on 127.0.0.1 only).
  assert.equal(await host.getByTestId('join-link').getAttribute('href'), `${BASE}/join/${code}`);
  const qr = host.getByTestId('qr');
  assert.equal(await qr.getAttribute('src'), `/api/v1/sessions/${code}/qr.svg`);
  await host.waitForFunction(() => document.querySelector('[data-testid=qr]')?.naturalWidth > 0);
  const warning = host.getByTestId('loopback-warning');
  await waitText(warning, 'Phones cannot reach this address');
  await waitText(warning, '--addr 0.0.0.0:8080');
  await waitText(warning, 'PUBLIC_URL');

  // The big screen in the host's browser: an h1, the address and the QR code.
  const screen = await openPage(browser, `${BASE}/screen/${code}`, { viewport: DESKTOP, label: 'screen', context: host.context() });
  await waitText(screen.getByTestId('screen-address'), `/join/${code}`);
  await screen.getByRole('heading', { level: 1 }).waitFor();
  await screen.waitForFunction(() => document.querySelector('[data-testid=qr]')?.naturalWidth > 0);

  // /join without a code is the join form; it takes the player to /join/CODE.
  const ana = await openPage(browser, `${BASE}/join`, { label: 'Ana' });
  await ana.getByTestId('join-code').fill(code);
  await ana.getByTestId('join-name').fill('Ana');
  await ana.getByRole('button', { name: 'Join game' }).click();
  await ana.waitForURL(`${BASE}/join/${code}`);
  await ana.getByRole('heading', { name: 'You’re in!' }).waitFor();
  // /join/CODE fills the code in.
  const filled = await openPage(browser, `${BASE}/join/${code}`, { label: 'form' });
  assert.equal(await filled.getByTestId('join-code').inputValue(), code);
  await filled.context().close();

  const bo = await playerJoins(browser, code, 'Bo');
  const troll = await playerJoins(browser, code, 'Troll');
  await waitText(host.getByTestId('presence'), '3 of 3 online');
  // Who is online, name by name: a filled dot and the word for screen readers.
  await host.locator('[data-testid=players-list] li[data-online=true]').nth(2).waitFor();
  await waitText(host.locator('[data-testid=players-list] li', { hasText: 'Bo' }).locator('.sr-only'), 'online');

  // Remove a player: a button per player, and a confirmation.
  const trollRow = host.getByTestId('players-list').locator('li', { hasText: 'Troll' });
  await trollRow.getByRole('button', { name: 'Remove Troll' }).click();
  await host.getByRole('button', { name: 'Yes, remove' }).click();
  await waitText(host.getByTestId('lobby-count'), '2 players');
  assert.equal(await host.getByTestId('players-list').getByText('Troll').count(), 0);
  await waitText(troll.locator('h1'), 'The host removed you from this game.');
  await troll.locator('#conn[data-state=stopped]').waitFor();
  const trollRequests = troll.liveRequests;
  await shoot(troll, 'player-removed', PHONE);
  await assertAccessible(troll, 'a removed player’s page');
  await shoot(host, 'host-removed-player', LAPTOP);

  // Lock the game: nobody new gets in, and the page says why.
  await host.getByRole('button', { name: 'Lock the game' }).click();
  await waitText(host.getByTestId('lock-note'), 'Locked: no new players can join.');
  const late = await openPage(browser, `${BASE}/join/${code}`, { label: 'Late' });
  await late.getByTestId('join-name').fill('Late');
  await late.getByRole('button', { name: 'Join game' }).click();
  await waitText(late.getByTestId('form-error'), 'That game is locked');
  await shoot(late, 'player-locked-out', PHONE);
  await assertAccessible(late, 'the join form refused by a locked game');
  await host.getByRole('button', { name: 'Unlock the game' }).click();
  await waitText(host.getByTestId('lock-note'), 'Open: anyone with the code can join.');
  // A removed player cannot come back, even with the game open again.
  await troll.reload();
  await waitText(troll.locator('h1'), 'The host removed you from this game.');

  // A fair reveal: Ana answers; nothing tells right from wrong, the big screen counts
  // answers and its leaderboard does not move.
  await host.getByRole('button', { name: 'Start game' }).click();
  const prompt = (await host.getByTestId('prompt').textContent()).trim();
  const right = new Map(WORDS).get(prompt);
  for (const p of [ana, bo]) await waitQuestion(p, prompt);
  await choiceButton(ana, right).click();
  await waitText(ana.getByTestId('feedback'), 'Answer locked in');
  await waitText(screen.getByTestId('screen-answered'), '1 of 2 answered');
  const boardMidQuestion = await screen.locator('[data-testid=leaderboard] .board-score').allTextContents();
  assert.deepEqual(boardMidQuestion, ['0', '0'], 'the big screen’s board stands still while the question is open');
  // Bo answers wrong: the last answer closes the question.
  const texts = (await bo.locator('button.choice .choice-text').allTextContents()).map((t) => t.trim());
  await choiceButton(bo, texts.find((t) => t !== right)).click();
  for (const p of [ana, bo, host, screen]) await p.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await waitText(ana.getByTestId('feedback'), /Correct! \+\d+ points/);

  // Pages loaded during the reveal show it all: the right tile, the counts, the own result.
  await bo.reload();
  await bo.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await waitText(bo.locator('.choice.is-correct .choice-text'), right);
  await bo.locator('.choice.is-wrong.is-chosen').waitFor();
  await waitText(bo.getByTestId('feedback'), 'Not quite');
  await host.reload();
  await waitText(host.getByTestId('answered'), '2 of 2');
  await waitText(host.locator('.choice.is-correct [data-testid=choice-count]'), '1');
  const watcher = await openPage(browser, `${BASE}/screen/${code}`, { viewport: DESKTOP, label: 'watcher' });
  await waitText(watcher.locator('.choice.is-correct .choice-text'), right);
  await waitText(watcher.getByTestId('screen-answered'), '2 of 2 answered');
  assert.deepEqual(await watcher.getByTestId('choice-count').allTextContents().then((c) => c.map((t) => t.replace(/\D/g, '')).sort()), ['0', '1', '1']);
  await shoot(watcher, 'screen-reveal-after-reload', DESKTOP);
  await shoot(bo, 'player-reveal-after-reload', PHONE);

  await host.getByRole('button', { name: 'End game' }).click();
  await host.getByRole('button', { name: 'Really end?' }).click();
  for (const p of [ana, bo, screen]) await p.locator('[data-testid=stage][data-status=finished]').waitFor();
  // The removed player's page stopped for good: no stream and no ticket since.
  assert.equal(troll.liveRequests, trollRequests, 'a removed player’s page stops reconnecting');
  assertNoPageErrors(host, screen, ana, bo, troll, late, watcher);
});

test('auto-advance counts down to the next question and to the results', { timeout: 90_000 }, async () => {
  const host = await openPage(browser, `${BASE}/`, { viewport: LAPTOP, label: 'host' });
  const code = await hostCreatesGame(host, { title: 'Auto', words: WORDS.slice(0, 2), choices: 2, autoAdvance: true });
  const screen = await openPage(browser, `${BASE}/screen/${code}`, { viewport: DESKTOP, label: 'screen', context: host.context() });
  const ana = await playerJoins(browser, code, 'Ana');
  await host.getByRole('button', { name: 'Start game' }).click();
  await ana.locator('[data-testid=stage][data-status=question]').waitFor();
  await ana.locator('button.choice').first().click();
  // The only answer closes the question; the next one comes by itself, counted down on
  // every page, the player's too, and on a page loaded during the reveal.
  await waitText(host.getByTestId('advance'), /^Next question in [1-5]…$/);
  await waitText(screen.getByTestId('advance'), /^Next question in [1-5]…$/);
  await waitText(ana.getByTestId('advance'), /^Next question in [1-5]…$/);
  await shoot(ana, 'player-auto-advance', PHONE);
  await ana.reload();
  await ana.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await waitText(ana.getByTestId('advance'), /^Next question in [1-4]…$/);
  await shoot(screen, 'screen-auto-advance', DESKTOP);
  await waitText(screen.locator('.q-head .kicker'), 'Question 2 of 2', 20_000);
  await ana.locator('[data-testid=stage][data-status=question]').waitFor();
  assert.equal((await focused(ana)).testid, 'prompt', 'the new question takes the focus');
  await ana.locator('button.choice').first().click();
  await waitText(host.getByTestId('advance'), /^Final results in [1-5]…$/);
  await host.locator('[data-testid=stage][data-status=finished]').waitFor({ timeout: 20_000 });
  await screen.locator('[data-testid=stage][data-status=finished]').waitFor();
  assertNoPageErrors(host, screen, ana);
});

test('the host sees who is online, and opens the big screen on another device', { timeout: 90_000 }, async () => {
  const host = await openPage(browser, `${BASE}/`, { viewport: LAPTOP, label: 'host' });
  const code = await hostCreatesGame(host, { title: 'Elsewhere', words: WORDS, choices: 3 });
  await host.getByTestId('screen-link-other').click();
  const link = await host.getByTestId('screen-link-url').inputValue();
  assert.match(link, new RegExp(`^${BASE}/screen/${code}#watch=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
  await shoot(host, 'host-screen-link', LAPTOP);

  // Another device: no host identity, only the link.
  const screen = await openPage(browser, link, { viewport: DESKTOP, label: 'other screen' });
  await screen.getByRole('heading', { level: 1 }).waitFor();
  assert.equal(new URL(screen.url()).hash, '', 'the token leaves the address bar');
  const ana = await playerJoins(browser, code, 'Ana');
  const bo = await playerJoins(browser, code, 'Bo');
  const cy = await playerJoins(browser, code, 'Cy');
  await host.locator('[data-testid=players-list] li[data-online=true]').nth(2).waitFor();
  // Cy closes the page: the host sees him go offline, still in the game.
  await cy.context().close();
  await host.locator('[data-testid=players-list] li[data-online=false]', { hasText: 'Cy' }).waitFor({ timeout: 20_000 });
  await waitText(host.getByTestId('presence'), '2 of 3 online');
  await shoot(host, 'host-who-is-online', LAPTOP, { fullPage: true });
  await assertAccessible(host, 'the host page with players online and offline');

  // During a question the other device counts the answers, as the host's own screen does.
  await host.getByRole('button', { name: 'Start game' }).click();
  const prompt = (await host.getByTestId('prompt').textContent()).trim();
  await waitQuestion(ana, prompt);
  await choiceButton(ana, new Map(WORDS).get(prompt)).click();
  await waitText(screen.getByTestId('screen-answered'), '1 of 3 answered');
  await shoot(screen, 'screen-other-device-answered', DESKTOP);
  await assertAccessible(screen, 'the big screen on another device during a question');
  // It watches and does nothing else: the link's token cannot run the game.
  const refused = await screen.evaluate(async (c) => {
    const token = JSON.parse(localStorage.getItem(`quizcast.watch.${c}`)).token;
    const r = await fetch(`/api/v1/sessions/${c}/next`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    return r.status;
  }, code);
  assert.equal(refused, 403);
  await screen.reload();
  await waitText(screen.getByTestId('screen-answered'), '1 of 3 answered');
  assertNoPageErrors(host, screen, ana, bo);
});

test('a game that is gone, or a sign-in that is refused, stops the page with what to do', { timeout: 90_000 }, async () => {
  // An unknown code: the big screen says so and stops trying.
  const gone = await openPage(browser, `${BASE}/screen/ZZZZZZ`, { viewport: DESKTOP, label: 'gone' });
  await waitText(gone.locator('h1'), 'This game no longer exists.');
  await gone.locator('#conn[data-state=stopped]').waitFor();
  assert.equal((await focused(gone)).text, 'This game no longer exists.', 'focus on the message');
  const goneRequests = gone.liveRequests;
  await shoot(gone, 'screen-game-gone', DESKTOP);
  await assertAccessible(gone, 'the big screen of a game that is gone');

  // A player whose connection drops sees a banner in words, not a small pill.
  const host = await openPage(browser, `${BASE}/`, { viewport: LAPTOP, label: 'host' });
  const code = await hostCreatesGame(host, { title: 'States', words: WORDS, choices: 3 });
  const rita = await playerJoins(browser, code, 'Rita', { query: '?transport=poll' });
  await waitLive(rita);
  await rita.context().setOffline(true);
  // A poll held when the network went can take its whole hold (25 s) to fail.
  await waitText(rita.getByTestId('connection-banner'), /Connection lost|You are offline/, 35_000);
  await shoot(rita, 'player-connection-lost', PHONE);
  await assertAccessible(rita, 'a player’s page with the connection lost');
  // Back online, the server now refuses her sign-in: the page stops and asks for her name.
  await rita.context().route((url) => url.pathname.includes('/events') || url.pathname.endsWith('/ticket'), (route) =>
    route.fulfill({ status: 401, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'invalid token' }) }));
  await rita.context().setOffline(false);
  await waitText(rita.getByRole('status').filter({ hasText: 'sign-in' }), 'Your sign-in has expired: enter your name again.', 30_000);
  await rita.getByTestId('join-name').waitFor();
  await rita.locator('#conn[data-state=stopped]').waitFor();
  assert.equal(await rita.getByTestId('connection-banner').textContent(), '', 'no "reconnecting" after a fatal error');
  await shoot(rita, 'player-signed-out', PHONE);
  await assertAccessible(rita, 'a player asked to sign in again');
  assert.equal(gone.liveRequests, goneRequests, 'a page for a game that is gone stops asking');
  assertNoPageErrors(gone, host, rita);
});
