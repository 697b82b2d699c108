// Every view in every state, on a 360×740 phone and a 1920×1080 screen: the start page, the
// join form (and its error), and the player, host and big-screen views in the lobby, an open
// question, the reveal and the final results, in a game played at the reveal (the host's
// default). Each state is checked with axe-core at both sizes and photographed into
// test-artifacts/ for a person to look at; nothing may be wider than the screen. A player
// with a 32-character name without spaces (the longest there is) shows how long names are
// shortened, down to 320 px.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE,
  DESKTOP,
  NARROW,
  PHONE,
  api,
  assertAccessible,
  assertNoPageErrors,
  choiceButton,
  focused,
  launch,
  openPage,
  playerJoins,
  shoot,
  waitText,
} from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Screenshot and axe-core check of each view at both sizes, and no sideways scrolling. */
async function shootAll(phase, views, sizes = [PHONE, DESKTOP], { fullPage = false } = {}) {
  for (const [name, page] of views) {
    for (const size of sizes) {
      await shoot(page, `${name}-${phase}`, size, { fullPage });
      const { overflow, wide } = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        wide: [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
          .slice(-3)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
      }));
      assert.ok(overflow <= 0, `${name} (${phase}) at ${size.width}px is ${overflow}px wider than the screen: ${wide.join(', ')}`);
      await assertAccessible(page, `${name} (${phase}) at ${size.width}px`);
    }
  }
}

/** Relative luminance of an element's background colour. */
function backgroundLuminance(locator) {
  return locator.evaluate((el) => {
    const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\d+(\.\d+)?/g).map(Number);
    const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  });
}

const WORDS = [
  ['benevolent', 'kind and generous'],
  ['laconic', 'using very few words'],
  ['obstinate', 'stubborn'],
  ['ephemeral', 'lasting a very short time'],
];
// Names are at most 32 characters (the contract): the longest one, without a space.
const LONG = 'Wolfeschlegelsteinhausenbergerdo';

test('every view and state at 360×740 and 1920×1080: screenshots and axe-core', { timeout: 240_000 }, async () => {
  const home = await openPage(browser, `${BASE}/`, { viewport: PHONE, label: 'home' });
  await shootAll('start', [['home', home]]);

  // The join form on its own (/join), and its error: focus goes to the message.
  const joiner = await openPage(browser, `${BASE}/join`, { viewport: PHONE, label: 'join' });
  await joiner.getByRole('heading', { level: 1, name: 'Join a game' }).waitFor();
  await shootAll('form', [['join', joiner]]);
  await joiner.getByTestId('join-code').fill('ZZZZZZ');
  await joiner.getByTestId('join-name').fill('Nobody');
  await joiner.getByRole('button', { name: 'Join game' }).click();
  await waitText(joiner.getByTestId('form-error'), 'There is no game with the code ZZZZZZ');
  assert.equal((await focused(joiner)).testid, 'form-error', 'focus moves to the error');
  await shootAll('error', [['join', joiner]]);

  // The host signs in; a quiz with long questions (so every state can be looked at).
  const host = home;
  host.label = 'host';
  await host.getByTestId('host-name').fill('Ms Rivera');
  await host.getByRole('button', { name: 'Choose a quiz' }).click();
  await host.getByTestId('quiz-list').getByRole('radio').first().waitFor();
  const hostToken = await host.evaluate(() => JSON.parse(sessionStorage.getItem('quizcast.auth')).token);
  await api('POST', '/api/v1/quizzes', {
    token: hostToken,
    body: {
      title: 'Screens',
      questions: WORDS.map(([prompt, right], i) => ({
        prompt,
        choices: [right, ...WORDS.filter((_, j) => j !== i).map(([, m]) => m)],
        correct_choice: 0,
        time_limit_ms: 120_000,
      })),
    },
  });
  await host.reload();
  await host.getByRole('radio', { name: /Screens/ }).check();
  // The whole form: the quiz, when players see if they were right, auto-advance.
  await shootAll('choose', [['home-host', host]], [PHONE, DESKTOP], { fullPage: true });
  await host.getByRole('button', { name: 'Start session' }).click();
  await host.waitForURL(/\/host\/[A-Z0-9]{6}/);
  const code = host.url().match(/\/host\/([A-Z0-9]{6})/)[1];

  // The big screen, opened in the host's browser.
  const screen = await openPage(browser, `${BASE}/screen/${code}`, { viewport: DESKTOP, label: 'screen', context: host.context() });
  await waitText(screen.getByTestId('screen-code'), code);

  const names = ['Ana', 'Maximiliana Throckmorton-Smythe', LONG, 'Bo'];
  const players = [];
  for (const name of names) players.push(await playerJoins(browser, code, name));
  await waitText(host.getByTestId('lobby-count'), '4 players');
  await waitText(screen.locator('.screen-count'), '4 players');
  for (const name of names) await screen.locator('.roster').getByText(name, { exact: true }).waitFor();
  const [ana, max, long, bo] = players;
  await shootAll('lobby', [['player', max], ['host', host], ['screen', screen]]);

  // An open question: Ana's answer is locked in, nobody else has answered.
  await host.getByRole('button', { name: 'Start game' }).click();
  for (const p of [...players, screen]) await p.locator('[data-testid=stage][data-status=question]').waitFor();
  await choiceButton(ana, 'kind and generous').click();
  await waitText(ana.getByTestId('feedback'), 'Answer locked in');
  await waitText(screen.getByTestId('screen-answered'), '1 of 4 answered');
  await waitText(host.getByTestId('answered-live'), '1 of 4');
  await shootAll('question', [['player', max], ['player-locked-in', ana], ['host', host], ['screen', screen]]);

  // The reveal: Max was wrong, the long name right, Bo did not answer.
  await choiceButton(max, 'stubborn').click();
  await choiceButton(long, 'kind and generous').click();
  await host.getByRole('button', { name: 'Reveal answer' }).click();
  for (const p of [...players, host, screen]) await p.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await waitText(host.getByTestId('answered'), '3 of 4');
  await waitText(max.getByTestId('feedback'), 'Not quite');
  await waitText(ana.getByTestId('feedback'), /Correct! \+\d+ points/);
  // The wrong answerer sees the right tile as the brightest, their own marked wrong.
  const right = max.locator('.choice.is-correct');
  await right.waitFor();
  assert.equal(await right.evaluate((el) => getComputedStyle(el).opacity), '1', 'the right tile is not faded');
  const rightLum = await backgroundLuminance(right);
  for (const other of await max.locator('.choice:not(.is-correct)').all()) {
    assert.ok(rightLum > (await backgroundLuminance(other)), 'the right tile is the brightest');
  }
  assert.equal(await max.locator('.choice.is-wrong.is-chosen .choice-mark').count(), 1);
  await shootAll('reveal', [['player-wrong', max], ['player-right', ana], ['player-no-answer', bo], ['host', host], ['screen', screen]]);

  // The next question, then the host ends the game early (two clicks).
  await host.getByRole('button', { name: 'Next question' }).click();
  for (const p of players) await p.locator('[data-testid=stage][data-status=question]').waitFor();
  // Each new question takes the focus: the word to find the meaning of.
  assert.equal((await focused(max)).testid, 'prompt', 'focus on the new question');
  await choiceButton(max, 'using very few words').click();
  await host.getByRole('button', { name: 'End game' }).click();
  await host.getByRole('button', { name: 'Really end?' }).click();
  for (const p of [...players, host, screen]) await p.locator('[data-testid=stage][data-status=finished]').waitFor();
  await waitText(host.getByTestId('results-csv'), 'Download results (CSV)');
  await max.locator('[data-testid=review] .review-item').first().waitFor();
  await shootAll('finished', [['host', host], ['screen', screen]]);
  // The whole page: the podium, the place and the words to review below.
  await shootAll('finished', [['player', max]], [PHONE, DESKTOP], { fullPage: true });

  // The longest name on the podium, on the narrowest phone: shortened, not spilling.
  await shootAll('finished', [['player-long-name', long]], [NARROW]);
  const podiumName = long.locator('[data-testid=podium] .podium-name', { hasText: LONG });
  assert.match(await podiumName.getAttribute('class'), /long-word/, 'a long name is shortened');
  const box = await podiumName.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const step = el.closest('.podium-step').getBoundingClientRect();
    return { left: r.left, right: r.right, stepLeft: step.left, stepRight: step.right, overflow: getComputedStyle(el).textOverflow };
  });
  assert.ok(box.left >= box.stepLeft - 1 && box.right <= box.stepRight + 1, `the name stays on its step: ${JSON.stringify(box)}`);
  assert.equal(box.overflow, 'ellipsis');

  assertNoPageErrors(host, screen, joiner, ...players);
});
