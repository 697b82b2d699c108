// A whole game through the UI: the host imports a word list and starts a session (answers
// shown at the reveal, the form's default); three players (each in their own browser
// context, on a phone-sized screen) join by the link, answer by tap, keyboard and after a
// lost reply, and everyone sees the reveal, the scores, the podium and, for each player,
// the words they missed. Display names are hostile-looking HTML, shown as text.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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
  ['benevolent', 'kind and generous'],
  ['laconic', 'using very few words'],
  ['obstinate', 'stubborn'],
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('host and three players play a whole 3-question game through the UI', { timeout: 120_000 }, async () => {
  const host = await openPage(browser, `${BASE}/`, { viewport: LAPTOP, label: 'host' });
  // The start page links to the API docs.
  assert.equal(await host.getByRole('link', { name: 'API documentation' }).getAttribute('href'), '/docs');
  const code = await hostCreatesGame(host, { title: 'Browser words', words: WORDS, choices: 3 });
  const joinLink = host.getByTestId('join-link');
  assert.equal(await joinLink.getAttribute('href'), `${BASE}/join/${code}`);

  // Names are user input: they must come out as text, never as markup.
  const names = ['Ana', 'Bo <img src=x onerror=alert(1)>', 'Cy & "Dee" <b>'];
  const players = [];
  for (const [i, name] of names.entries()) {
    // The first player types the code on the start page; the others follow the join link.
    if (i === 0) {
      const page = await openPage(browser, `${BASE}/`, { label: name });
      await page.getByTestId('join-code').fill(code.toLowerCase());
      await page.getByTestId('join-name').fill(name);
      await page.getByRole('button', { name: 'Join game' }).click();
      await page.waitForURL(`${BASE}/join/${code}`);
      await page.getByRole('heading', { name: 'You’re in!' }).waitFor();
      players.push({ page, name });
    } else {
      players.push({ page: await playerJoins(browser, code, name, { submitWithEnter: i === 2 }), name });
    }
    // The lobby fills live (presence events).
    await waitText(host.getByTestId('lobby-count'), `${i + 1} player`);
    await host.getByTestId('roster').getByText(name, { exact: true }).waitFor();
  }
  await waitText(players[0].page.getByTestId('player-count'), '3 players');
  for (const page of [host, ...players.map((p) => p.page)]) {
    assert.equal(await page.locator('#main img:not(.qr), #main b').count(), 0, 'no markup from names');
    assert.deepEqual(page.dialogs, [], 'no script from names ran');
  }
  for (const { page } of players) {
    await waitLive(page, { transport: 'sse' });
    // Words a player understands, no transport jargon.
    await waitText(page.getByTestId('connection'), /^Connected$/);
    assert.ok(page.streamRequests.length >= 1, 'players stream events with EventSource');
    assert.equal(page.pollRequests.length, 0, 'and do not poll');
  }

  const watcherToken = await guestToken('Referee');
  const scores = await playGame({
    host,
    players,
    words: WORDS,
    code,
    watcherToken,
    feedback: 'at_reveal',
    plan: [
      ['right', 'wrong', 'right'],
      ['right-retry', 'right', 'wrong'],
      ['right-key', null, 'right-enter'],
    ],
  });
  // Ana: three right; Cy: two right; Bo: one right.
  const [ana, bo, cy] = names.map((n) => scores.get(n));
  assert.ok(ana > cy && cy > bo && bo > 0, `scores follow the answers: ${[ana, bo, cy]}`);

  // Leaderboard changes were announced to screen readers on every page.
  for (const page of [host, ...players.map((p) => p.page)]) {
    const said = await page.evaluate(() => window.__announced);
    assert.ok(said.some((s) => /Ana leads with \d+ points/.test(s)), `${page.label}: leader announced (${said.join(' | ')})`);
  }
  const boSaid = await players[1].page.evaluate(() => window.__announced);
  assert.ok(boSaid.some((s) => /You finished 3rd/.test(s)), `Bo hears the final place (${boSaid.join(' | ')})`);

  // Each player's end screen lists the words they missed, with the right meaning.
  const [anaPage, boPage, cyPage] = players.map((p) => p.page);
  await waitText(anaPage.getByTestId('review'), 'You got every word right');
  await boPage.locator('[data-testid=review] .review-item').nth(1).waitFor();
  const boReview = await boPage.locator('[data-testid=review] .review-item').allTextContents();
  assert.deepEqual(boReview.map((t) => t.replace(/You chose: .*|No answer$/, '')), ['benevolentkind and generous', 'obstinatestubborn']);
  assert.match(boReview[1], /No answer$/, 'a skipped word says so');
  await waitText(cyPage.locator('[data-testid=review] .review-item'), 'laconicusing very few words');
  assert.equal(await cyPage.locator('[data-testid=review] .review-item').count(), 1);

  // Results: a table on the host's page and a CSV download, one row per player and question.
  await waitText(host.getByTestId('results-table'), 'Ana');
  const rows = await host.getByTestId('results-table').locator('tbody tr').allTextContents();
  assert.equal(rows.length, 3);
  assert.match(rows[0], /^1Ana3 \/ 3\d+$/);
  const link = host.getByTestId('results-csv');
  await waitText(link, 'Download results (CSV)');
  const [download] = await Promise.all([host.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), `quizcast-${code}.csv`);
  const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n');
  assert.equal(csv[0], 'rank,player,score,question_index,prompt,choice,correct_choice,correct,points,answer_ms');
  assert.equal(csv.length, 1 + 3 * 3, 'a header and one row per player and question (Bo skipped one)');
  assert.ok(csv.some((l) => l.includes(',"Cy & ""Dee"" <b>",')), 'names quoted in the CSV');
  assert.ok(csv.some((l) => /^1,Ana,\d+,0,benevolent,kind and generous,kind and generous,true,\d+,\d+$/.test(l)), 'words in the CSV');
  assert.equal(csv.filter((l) => l.endsWith(',,,')).length, 1, "Bo's skipped question has empty cells");

  assertNoPageErrors(host, ...players.map((p) => p.page));
});
