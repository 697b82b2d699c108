// Language: every piece of UI text comes from one catalogue (web/i18n.js), complete in
// English and Spanish; the browser's language picks one and `?lang=` overrides it.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CATALOGUE, pickLanguage } from '../../web/i18n.js';
import { BASE, PHONE, api, assertAccessible, assertNoPageErrors, guestToken, launch, openPage, shoot, waitText } from './helpers.mjs';

const WEB = path.resolve('web');
const placeholders = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('the catalogue is complete in English and Spanish, and every key the client uses exists', () => {
  const { en, es } = CATALOGUE;
  assert.deepEqual(Object.keys(es).sort(), Object.keys(en).sort(), 'the same keys in both languages');
  for (const [key, value] of Object.entries(en)) {
    const other = es[key];
    assert.equal(typeof other, typeof value, `${key}: same shape`);
    if (typeof value === 'object') {
      assert.deepEqual(Object.keys(other).sort(), Object.keys(value).sort(), `${key}: same plural forms`);
      for (const form of Object.keys(value)) assert.deepEqual(placeholders(other[form]), placeholders(value[form]), `${key}.${form}: same placeholders`);
    } else {
      assert.deepEqual(placeholders(other), placeholders(value), `${key}: same placeholders`);
      assert.ok(other.trim(), `${key}: translated`);
    }
  }
  const sources = readdirSync(WEB).filter((f) => /\.(js|html)$/.test(f)).map((f) => readFileSync(path.join(WEB, f), 'utf8'));
  const used = new Set(sources.flatMap((s) => [...s.matchAll(/\bt\('([\w.]+)'|data-i18n(?:-label)?="([\w.]+)"/g)].map((m) => m[1] || m[2])));
  assert.ok(used.size > 100, `the views use the catalogue (${used.size} keys)`);
  for (const key of used) assert.ok(key in en, `${key} is in the catalogue`);
});

test('?lang= wins over the browser, which wins over English', () => {
  assert.equal(pickLanguage('?lang=es', ['en-GB']), 'es');
  assert.equal(pickLanguage('', ['es-MX', 'en']), 'es');
  assert.equal(pickLanguage('?lang=en', ['es-ES']), 'en');
  assert.equal(pickLanguage('?lang=xx', ['fr-FR', 'de']), 'en');
});

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a Spanish browser gets Spanish pages; ?lang=en turns them back', { timeout: 60_000 }, async () => {
  const home = await openPage(browser, `${BASE}/`, { locale: 'es-ES', label: 'inicio' });
  await home.getByRole('heading', { level: 1, name: 'Concursos de vocabulario en directo' }).waitFor();
  assert.equal(await home.evaluate(() => document.documentElement.lang), 'es');
  await waitText(home.locator('.skip-link'), 'Saltar al contenido');
  await assertAccessible(home, 'home in Spanish');
  await shoot(home, 'home-es', PHONE);

  const english = await openPage(browser, `${BASE}/?lang=en`, { locale: 'es-ES', label: 'home-en' });
  await english.getByRole('heading', { level: 1, name: 'Live vocabulary quizzes' }).waitFor();

  // A player in Spanish, from a link that asks for it, in a game under way; the language
  // stays on the pages the client moves to.
  const hostToken = await guestToken('Anfitriona');
  const quiz = (await api('GET', '/api/v1/quizzes', { token: hostToken })).quizzes.find((q) => q.demo);
  const { session_id: code } = await api('POST', '/api/v1/sessions', { token: hostToken, body: { quiz_id: quiz.quiz_id } });
  const from = await openPage(browser, `${BASE}/join?lang=es`, { label: 'Lucía' });
  await from.getByTestId('join-code').fill(code);
  await from.getByTestId('join-name').fill('Lucía');
  await from.getByRole('button', { name: 'Unirse' }).click();
  await from.waitForURL(`${BASE}/join/${code}?lang=es`);
  await from.getByRole('heading', { name: '¡Ya estás dentro!' }).waitFor();
  await waitText(from.getByTestId('player-count'), '1 jugador dentro');
  await api('POST', `/api/v1/sessions/${code}/start`, { token: hostToken });
  await waitText(from.locator('.q-head .kicker'), 'Pregunta 1 de 12');
  await waitText(from.getByTestId('connection'), 'Conectado');
  await assertAccessible(from, 'a question in Spanish');
  await shoot(from, 'player-question-es', PHONE);
  assertNoPageErrors(home, english, from);
});
