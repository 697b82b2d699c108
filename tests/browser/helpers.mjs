// Shared pieces of the browser tests: launching Chromium, opening pages as separate users
// (one browser context each), the host's and players' UI steps, and a few API calls the
// tests use to check what the pages show against the server.
//
// Every wait is on the page's DOM or an HTTP answer, and bounded; nothing sleeps.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource = null;

export const BASE = process.env.QUIZCAST_URL;
if (!BASE) throw new Error('QUIZCAST_URL is not set: run these tests through `cargo test --test browser`');
export const ARTIFACTS = process.env.QUIZCAST_ARTIFACTS || path.resolve('test-artifacts');
export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1920, height: 1080 };
export const LAPTOP = { width: 1280, height: 800 };
export const NARROW = { width: 320, height: 640 };

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launch() {
  // launch() gives every run a fresh, temporary user-data-dir.
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Records what a page asks the server for (answers, streams, polls) and any credential in a
 * URL, and its uncaught errors: what `assertNoPageErrors` checks. `openPage` calls it; pages
 * opened another way call it themselves.
 */
export function watchPage(page, label) {
  page.label = label;
  page.errors ??= [];
  if (!page.watched) page.on('pageerror', (e) => page.errors.push(e));
  page.watched = true;
  page.answerPosts = [];
  page.liveRequests = 0; // every request for events or a stream ticket
  page.streamRequests = [];
  page.pollRequests = [];
  page.credentialsInUrls = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (/\/events(\/poll)?$|\/ticket$/.test(u.pathname)) page.liveRequests += 1;
    // Long-lived tokens never go in a URL: streams (EventSource cannot send headers) use a
    // stream ticket; polls send the token in a header.
    const streamRoute = u.pathname.endsWith('/events');
    if (u.searchParams.has('access_token') || (streamRoute && !u.searchParams.has('ticket'))) {
      page.credentialsInUrls.push(`${r.method()} ${u.pathname}${u.search.replace(/=[^&]*/g, '=…')}`);
    }
    if (r.method() === 'POST' && u.pathname.endsWith('/answers')) page.answerPosts.push(r.postDataJSON());
    if (u.pathname.endsWith('/events')) page.streamRequests.push(u.pathname);
    if (u.pathname.endsWith('/events/poll')) page.pollRequests.push(u.search);
  });
  return page;
}

/**
 * A page in its own browser context (its own storage: its own user).
 * `clockSkewMs` shifts this page's Date (not its timers) to play a device with a wrong clock.
 */
export async function openPage(
  browser,
  url,
  { viewport = PHONE, clockSkewMs = 0, label = '', setup = null, locale = 'en-GB', context: shared = null } = {},
) {
  // `context`: open the page in an existing context (same user and storage, e.g. the
  // host's big screen in the host's browser).
  const context = shared || (await browser.newContext({ viewport, deviceScaleFactor: 1, acceptDownloads: true, locale }));
  if (setup) await setup(context);
  if (clockSkewMs && !shared) {
    await context.addInitScript((skew) => {
      const Real = Date;
      const realNow = Real.now.bind(Real);
      class Skewed extends Real {
        constructor(...args) {
          if (args.length === 0) super(realNow() + skew);
          else super(...args);
        }
        static now() {
          return realNow() + skew;
        }
      }
      globalThis.Date = Skewed;
    }, clockSkewMs);
  }
  // Record everything the aria-live region says.
  if (!shared) await context.addInitScript(() => {
    window.__announced = [];
    document.addEventListener('DOMContentLoaded', () => {
      const region = document.getElementById('announcer');
      if (!region) return;
      new MutationObserver(() => window.__announced.push(region.textContent)).observe(region, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
  });
  const page = await context.newPage();
  if (shared) await page.setViewportSize(viewport);
  page.setDefaultTimeout(15_000);
  page.dialogs = [];
  page.on('dialog', (d) => {
    page.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  watchPage(page, label);
  await page.goto(url);
  return page;
}

/** Waits until `locator` (its first match) has text matching `expected`. */
export async function waitText(locator, expected, timeout = 15_000) {
  const re = expected instanceof RegExp ? expected : new RegExp(escapeRe(String(expected)));
  try {
    await locator.filter({ hasText: re }).first().waitFor({ timeout });
  } catch (e) {
    const actual = await locator.first().textContent({ timeout: 1000 }).catch(() => '(not found)');
    throw new Error(`waiting for ${locator} to show ${re}: it shows ${JSON.stringify(actual)}\n${e.message}`);
  }
}

/** The page's connection is up (the words it shows are checked elsewhere). */
export async function waitLive(page, { transport = null, timeout = 15_000 } = {}) {
  const sel = transport ? `#conn[data-state=live][data-transport=${transport}]` : '#conn[data-state=live]';
  await page.locator(sel).waitFor({ timeout });
}

/**
 * Runs axe-core on the page as it is now and fails on any violation of WCAG 2.x A/AA or
 * axe's best practices (plus `label-content-name-mismatch`, experimental in axe).
 */
export async function assertAccessible(page, what) {
  // Not `addScriptTag`: the page's CSP (no inline script) rightly refuses an injected
  // <script>; the devtools protocol's evaluate is not subject to it.
  if (!(await page.evaluate(() => Boolean(window.axe)))) {
    axeSource ??= readFileSync(AXE, 'utf8');
    await page.evaluate(`${axeSource}\n;void 0`);
  }
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      rules: { 'label-content-name-mismatch': { enabled: true } },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ').slice(0, 200)}`),
    }));
  });
  assert.deepEqual(result, [], `${what}: axe-core finds ${result.map((v) => v.id).join(', ')}\n${JSON.stringify(result, null, 2)}`);
}

/** What has the keyboard focus: its tag, and its text or test id. */
export function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el?.tagName, text: (el?.textContent || '').trim(), testid: el?.dataset?.testid || null };
  });
}

export function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function shoot(page, name, viewport, { fullPage = false } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (viewport) await page.setViewportSize(viewport);
  const size = page.viewportSize();
  const file = path.join(ARTIFACTS, `${name}-${size.width}x${size.height}.png`);
  await page.screenshot({ path: file, animations: 'disabled', fullPage });
  return file;
}

export function assertNoPageErrors(...pages) {
  for (const p of pages) {
    assert.deepEqual(p.errors.map((e) => `${p.label}: ${e.message}`), [], `uncaught errors on ${p.label}`);
    assert.deepEqual(p.credentialsInUrls, [], `${p.label}: a token in a URL, or a stream request without a ticket`);
  }
}

// ---- API (for checks and set-up the UI does not need to do) --------------------------------------

export async function api(method, urlPath, { token, body, base = BASE } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + urlPath, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const data = text && (res.headers.get('content-type') || '').includes('json') ? JSON.parse(text) : text;
  if (!res.ok) throw new Error(`${method} ${urlPath} → ${res.status}: ${text}`);
  return data;
}

export async function guestToken(name, base = BASE) {
  return (await api('POST', '/api/v1/auth/guest', { body: { display_name: name }, base })).token;
}

export async function serverScores(code, token, base = BASE) {
  const lb = await api('GET', `/api/v1/sessions/${code}/leaderboard?limit=100`, { token, base });
  return new Map(lb.entries.map((e) => [e.display_name, e.score]));
}

// ---- UI steps ----------------------------------------------------------------------------------

/**
 * On the start page: sign in as host, import `words` as a quiz, start a session.
 * `feedback`: 'at_reveal' (the form's default) or 'instant' (one click away).
 */
export async function hostCreatesGame(page, { title, words, choices = 4, name = 'Quizmaster', feedback = 'at_reveal', autoAdvance = false }) {
  await page.getByTestId('host-name').fill(name);
  await page.getByRole('button', { name: 'Choose a quiz' }).click();
  await page.getByTestId('quiz-list').getByRole('radio').first().waitFor();
  await page.getByText('Create a quiz from a word list').click();
  await page.getByTestId('import-title').fill(title);
  await page.getByTestId('import-words').fill(words.map(([w, m]) => `${w},${m}`).join('\n'));
  await page.getByTestId('import-choices').selectOption(String(choices));
  await page.getByRole('button', { name: 'Create quiz' }).click();
  await waitText(page.getByRole('status'), `Created “${title}” with ${words.length} questions`);
  const radio = page.getByRole('radio', { name: title });
  assert.equal(await radio.isChecked(), true, 'the new quiz is selected');
  assert.equal(await page.getByTestId('feedback-at_reveal').isChecked(), true, 'feedback at the reveal is the default');
  if (feedback === 'instant') await page.getByRole('radio', { name: 'Instantly' }).check();
  if (autoAdvance) await page.getByLabel('Advance automatically').check();
  await page.getByRole('button', { name: 'Start session' }).click();
  await page.waitForURL(/\/host\/[A-Z0-9]{6}/);
  const code = page.url().match(/\/host\/([A-Z0-9]{6})/)[1];
  await waitText(page.getByTestId('join-code'), code);
  return code;
}

/** A new user opens /join/CODE, types a name and joins. `submitWithEnter` uses the keyboard. */
export async function playerJoins(
  browser,
  code,
  name,
  { query = '', viewport = PHONE, clockSkewMs = 0, submitWithEnter = false, setup = null, base = BASE } = {},
) {
  const page = await openPage(browser, `${base}/join/${code}${query}`, { viewport, clockSkewMs, label: name, setup });
  const input = page.getByTestId('join-name');
  await input.fill(name);
  if (submitWithEnter) await input.press('Enter');
  else await page.getByRole('button', { name: 'Join game' }).click();
  await page.getByRole('heading', { name: 'You’re in!' }).waitFor();
  await waitText(page.locator('.me-name'), name);
  // Focus moves to what joining brought.
  assert.equal((await focused(page)).text, 'You’re in!', `${name}: focus on the heading after joining`);
  return page;
}

export function choiceButton(page, text) {
  return page.locator('button.choice').filter({
    has: page.locator('.choice-text', { hasText: new RegExp(`^${escapeRe(text)}$`) }),
  });
}

export async function currentPrompt(page) {
  return (await page.getByTestId('prompt').textContent()).trim();
}

/** Waits for the player's page to show the open question `prompt`. */
export async function waitQuestion(page, prompt) {
  await waitText(page.getByTestId('prompt'), new RegExp(`^${escapeRe(prompt)}$`));
  await page.locator('[data-testid=stage][data-status=question]').waitFor();
}

/** Every choice button is locked (aria-disabled) once an answer is given. */
export async function assertLocked(page) {
  const states = await page.locator('button.choice').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-disabled')));
  assert.ok(states.length >= 2, 'choice buttons are shown');
  assert.deepEqual(states, states.map(() => 'true'), `${page.label}: all choices locked after answering`);
}
