// Screenshots of the player, host and big-screen views on a 360×740 phone and a 1920×1080
// screen, in each phase of a game of the demo quiz (lobby, open question, reveal, final
// results), written to test-artifacts/ for a person to look at. Each phase also checks
// that nothing is wider than the screen.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE,
  DESKTOP,
  PHONE,
  assertNoPageErrors,
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

async function shootAll(phase, views) {
  for (const [name, page] of views) {
    for (const size of [PHONE, DESKTOP]) {
      await shoot(page, `${name}-${phase}`, size);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} (${phase}) at ${size.width}px is ${overflow}px wider than the screen`);
    }
  }
}

test('player, host and big-screen views at 360×740 and 1920×1080', { timeout: 120_000 }, async () => {
  const home = await openPage(browser, `${BASE}/`, { viewport: PHONE, label: 'home' });
  await shoot(home, 'home', PHONE);
  await shoot(home, 'home', DESKTOP);

  // The host picks the demo quiz.
  const host = home;
  host.label = 'host';
  await host.getByTestId('host-name').fill('Ms Rivera');
  await host.getByRole('button', { name: 'Choose a quiz' }).click();
  const demo = host.getByRole('radio', { name: /demo/i });
  await demo.check();
  await shoot(host, 'home-host', PHONE);
  await host.getByRole('button', { name: 'Start session' }).click();
  await host.waitForURL(/\/host\/[A-Z0-9]{6}/);
  const code = host.url().match(/\/host\/([A-Z0-9]{6})/)[1];

  const screen = await openPage(browser, `${BASE}/screen/${code}`, { viewport: DESKTOP, label: 'screen' });
  await waitText(screen.getByTestId('screen-code'), code);

  const names = ['Ana', 'Maximiliana Throckmorton-Smythe', 'Bo'];
  const players = [];
  for (const name of names) players.push(await playerJoins(browser, code, name));
  await waitText(host.getByTestId('lobby-count'), '3 players');
  await waitText(screen.locator('.screen-count'), '3 players');
  for (const name of names) await screen.locator('.roster').getByText(name, { exact: true }).waitFor();
  const [ana, max, bo] = players;
  await shootAll('lobby', [['player', max], ['host', host], ['screen', screen]]);

  // An open question: Ana has answered, Max has not.
  await host.getByRole('button', { name: 'Start game' }).click();
  for (const p of [...players, screen]) await p.locator('[data-testid=stage][data-status=question]').waitFor();
  await ana.locator('button.choice').nth(1).click();
  await waitText(ana.getByTestId('feedback'), /Correct|Not quite/);
  await shootAll('question', [['player', max], ['player-answered', ana], ['host', host], ['screen', screen]]);

  // The reveal, after everyone answered.
  await max.locator('button.choice').first().click();
  await bo.locator('button.choice').nth(2).click();
  for (const p of [...players, host, screen]) await p.locator('[data-testid=stage][data-status=reveal]').waitFor();
  await waitText(host.getByTestId('answered'), '3 of 3');
  await shootAll('reveal', [['player', max], ['host', host], ['screen', screen]]);

  // Next question, then the host ends the game early (two clicks).
  await host.getByRole('button', { name: 'Next question' }).click();
  for (const p of players) await p.locator('[data-testid=stage][data-status=question]').waitFor();
  await max.locator('button.choice').first().click();
  await host.getByRole('button', { name: 'End game' }).click();
  await host.getByRole('button', { name: 'Really end?' }).click();
  for (const p of [...players, host, screen]) await p.locator('[data-testid=stage][data-status=finished]').waitFor();
  await waitText(host.getByTestId('results-csv'), 'Download results (CSV)');
  await shootAll('finished', [['player', max], ['host', host], ['screen', screen]]);

  assertNoPageErrors(host, screen, ...players);
});
