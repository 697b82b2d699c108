// Drives a whole game through the pages: the host clicks, the players click (or type), and
// after every question each page is checked against the server's leaderboard.

import assert from 'node:assert/strict';
import {
  assertLocked,
  choiceButton,
  currentPrompt,
  escapeRe,
  serverScores,
  waitQuestion,
  waitText,
} from './helpers.mjs';

/**
 * @param {object} g
 * @param {import('playwright-core').Page} g.host
 * @param {{page: import('playwright-core').Page, name: string}[]} g.players
 * @param {[string, string][]} g.words  word → meaning (the right choice)
 * @param {(string|null)[][]} g.plan  per question, per player: 'right', 'wrong', 'right-key'
 *   (digit shortcut), 'right-enter' (focus + Enter), 'right-retry' (the first reply is lost)
 *   or null (no answer: the host reveals)
 * @param {string} g.code
 * @param {string} g.watcherToken  a token to read the leaderboard with
 * @param {(qi: number, prompt: string) => Promise<void>} [g.onQuestion]
 * @param {(qi: number) => Promise<void>} [g.onReveal]
 * @param {'instant'|'at_reveal'} [g.feedback]  at_reveal: an answer shows "locked in", and
 *   right or wrong only once the question closes
 */
export async function playGame({ host, players, words, plan, code, watcherToken, onQuestion, onReveal, feedback = 'instant' }) {
  const meaning = new Map(words);
  const expectedPosts = players.map(() => 0);
  await host.getByRole('button', { name: 'Start game' }).click();
  for (let qi = 0; qi < plan.length; qi++) {
    await host.locator('[data-testid=stage][data-status=question]').waitFor();
    await waitText(host.locator('.q-head .kicker'), `Question ${qi + 1} of ${plan.length}`);
    const prompt = await currentPrompt(host);
    const right = meaning.get(prompt);
    assert.ok(right, `the host shows a prompt from the word list (got ${prompt})`);
    for (const p of players) await waitQuestion(p.page, prompt);
    // A countdown runs on every page while the question is open.
    for (const page of [host, ...players.map((p) => p.page)]) {
      const secs = Number(await page.locator('.countdown-secs').textContent());
      assert.ok(secs > 0 && secs <= 20, `${page.label || 'host'}: countdown shows ${secs} s of a 20 s question`);
    }
    if (onQuestion) await onQuestion(qi, prompt);

    let answered = 0;
    let correct = 0;
    for (let pi = 0; pi < players.length; pi++) {
      const act = plan[qi][pi];
      if (!act) continue;
      const { page } = players[pi];
      const texts = (await page.locator('button.choice .choice-text').allTextContents()).map((t) => t.trim());
      const wrong = texts.find((t) => t !== right);
      const target = act === 'wrong' ? wrong : right;
      const index = texts.indexOf(target);
      let seen = null;
      if (act === 'right-retry') seen = await loseFirstReply(page);
      if (act === 'right-key') {
        await page.keyboard.press(String(index + 1));
      } else if (act === 'right-enter') {
        await choiceButton(page, target).focus();
        await page.keyboard.press('Enter');
      } else {
        await choiceButton(page, target).click();
      }
      if (feedback === 'instant') {
        // Immediate feedback from the answer's reply, before the question closes.
        await waitText(page.getByTestId('feedback'), act === 'wrong' ? /Not quite/ : /Correct! \+\d+ points/);
      } else if (answered + 1 < players.length) {
        // A fair game: locked in, and nothing on the page tells right from wrong yet. (The
        // last answer closes the question at once: its page may go straight to the reveal.)
        await waitText(page.getByTestId('feedback'), /Answer locked in/);
        assert.equal(await page.locator('.choice.is-correct, .choice.is-wrong').count(), 0, 'no tile marked before the reveal');
        assert.equal(await page.locator('.feedback.is-correct, .feedback.is-wrong').count(), 0, 'no verdict before the reveal');
      }
      await assertLocked(page);
      expectedPosts[pi] += 1;
      if (seen) {
        await page.unrouteAll({ behavior: 'wait' });
        assert.equal(seen.length, 2, 'the answer was sent again after the lost reply');
        assert.equal(seen[0].nonce, seen[1].nonce, 'the retry reuses the nonce');
        assert.equal(seen[0].choice, seen[1].choice);
        assert.ok(seen[0].nonce, 'answers carry a nonce');
        expectedPosts[pi] += 1;
      }
      // A second click, on another choice, sends nothing: the buttons are locked. (After the
      // last answer the question closes by itself, and the buttons may be gone already.)
      if (answered + 1 < players.length) await choiceButton(page, texts.find((t) => t !== target)).click({ force: true });
      answered += 1;
      if (act !== 'wrong') correct += 1;
      if (answered < players.length) {
        // The host sees answers arrive while the question is still open.
        await waitText(host.getByTestId('answered-live'), `${answered} of ${players.length}`);
      }
    }
    if (answered < players.length) {
      await host.getByRole('button', { name: 'Reveal answer' }).click();
    }

    // The reveal: on the host, counts per choice; on every page, the right choice marked.
    await host.locator('[data-testid=stage][data-status=reveal]').waitFor();
    await waitText(host.getByTestId('answered'), `${answered} of ${players.length}`);
    await waitText(host.locator('.choice.is-correct .choice-text'), new RegExp(`^${escapeRe(right)}$`));
    const counts = (await host.getByTestId('choice-count').allTextContents()).map((t) => Number(t.replace(/\D/g, '')));
    assert.equal(counts.reduce((a, b) => a + b, 0), answered, 'answer counts add up');
    const correctCount = Number((await host.locator('.choice.is-correct [data-testid=choice-count]').textContent()).replace(/\D/g, ''));
    assert.equal(correctCount, correct, 'the right choice has the right count');
    const scores = await serverScores(code, watcherToken);
    for (let pi = 0; pi < players.length; pi++) {
      const { page, name } = players[pi];
      await page.locator('[data-testid=stage][data-status=reveal]').waitFor();
      await waitText(page.locator('.choice.is-correct .choice-text'), new RegExp(`^${escapeRe(right)}$`));
      const act = plan[qi][pi];
      if (!act) await waitText(page.getByTestId('feedback'), /no answer/);
      else await waitText(page.getByTestId('feedback'), act === 'wrong' ? /Not quite/ : /Correct! \+\d+ points/);
      if (act === 'wrong') {
        // A wrong answerer sees their own choice marked wrong, and the right one highlighted.
        await page.locator('.choice.is-wrong.is-chosen').waitFor();
        assert.equal(await page.locator('.choice.is-wrong.is-chosen .choice-mark').count(), 1, 'a cross on the wrong choice');
      }
      // Own score and rank as the server has them.
      await waitText(page.getByTestId('my-score'), new RegExp(`^${scores.get(name)}$`));
      const rank = 1 + [...scores.values()].filter((s) => s > scores.get(name)).length;
      await waitText(page.getByTestId('my-rank'), new RegExp(`^${rank}(st|nd|rd|th) of ${players.length}$`));
    }
    // The host's leaderboard is the server's.
    const top = [...scores.entries()].sort((a, b) => b[1] - a[1])[0];
    await waitText(host.locator('[data-testid=leaderboard] .board-row').first(), `${top[0]}${top[1]}`);
    if (onReveal) await onReveal(qi);

    const last = qi === plan.length - 1;
    await host.getByRole('button', { name: last ? 'Show final results' : 'Next question' }).click();
  }

  // The end: a podium everywhere, each player's final place.
  const scores = await serverScores(code, watcherToken);
  const ranking = [...scores.entries()].sort((a, b) => b[1] - a[1]);
  await host.locator('[data-testid=stage][data-status=finished]').waitFor();
  await waitText(host.locator('[data-testid=podium] [data-place="1"] .podium-name'), new RegExp(`^${escapeRe(ranking[0][0])}$`));
  for (let pi = 0; pi < players.length; pi++) {
    const { page, name } = players[pi];
    await page.locator('[data-testid=stage][data-status=finished]').waitFor();
    await waitText(page.locator('[data-testid=podium] [data-place="1"] .podium-name'), new RegExp(`^${escapeRe(ranking[0][0])}$`));
    await waitText(page.getByTestId('final-place'), `with ${scores.get(name)} point`);
    assert.equal(page.answerPosts.length, expectedPosts[pi], `${name}: one answer request per answered question (plus retries)`);
  }
  return scores;
}

/** Lets the player's next answer reach the server but loses its reply. */
async function loseFirstReply(page) {
  const seen = [];
  await page.route(
    (url) => url.pathname.endsWith('/answers'),
    async (route) => {
      seen.push(route.request().postDataJSON());
      if (seen.length === 1) {
        await route.fetch(); // the server takes the answer…
        await route.abort('connectionreset'); // …and the page never hears back
      } else {
        await route.continue();
      }
    },
  );
  return seen;
}
