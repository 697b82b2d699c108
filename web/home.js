// The start page: join a game by code and name, or host one (pick a quiz, or make one
// from a word list, then start a session).

import {
  ApiError,
  currentAuth,
  guestLogin,
  normaliseCode,
  rememberHosted,
  request,
  sessionPath,
  validCode,
} from './api.js';
import { fill, h, pageUrl, plural, setTitle } from './dom.js';

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

/** A labelled input. */
function field(label, attrs, hint) {
  const id = nextId('f');
  const hintId = hint ? `${id}-hint` : null;
  const input = h(attrs.rows ? 'textarea' : 'input', { id, 'aria-describedby': hintId, ...attrs });
  return {
    input,
    el: h('div', { class: 'field' },
      h('label', { for: id }, label),
      input,
      hint ? h('p', { class: 'hint', id: hintId }, hint) : null),
  };
}

function errorBox() {
  return h('p', { class: 'form-error', role: 'alert', 'data-testid': 'form-error' });
}

function describe(e) {
  if (e instanceof ApiError) {
    if (e.network) return 'Cannot reach the server. Check your connection and try again.';
    return e.message;
  }
  return String(e?.message || e);
}

/** Signs in as `name` unless this tab already is that user. */
export async function ensureIdentity(name) {
  const auth = currentAuth();
  if (auth && auth.display_name === name) return auth;
  return guestLogin(name);
}

function validName(name) {
  // 1–32 characters after trimming, no control characters (the server checks too).
  return name.length >= 1 && [...name].length <= 32 && !/[\u0000-\u001f\u007f-\u009f]/.test(name);
}

export function joinForm({ code = '', onJoined, heading = 'Join a game', autofocus = true }) {
  const auth = currentAuth();
  const codeField = field('Game code', {
    name: 'code',
    value: code,
    required: true,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    maxlength: '8',
    placeholder: 'K7P2QX',
    class: 'code-input',
    'data-testid': 'join-code',
  });
  const nameField = field('Your name', {
    name: 'display_name',
    value: auth?.display_name || '',
    required: true,
    maxlength: '32',
    autocomplete: 'nickname',
    placeholder: 'e.g. Ana',
    'data-testid': 'join-name',
  }, 'Shown on the leaderboard.');
  const err = errorBox();
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Join game');
  codeField.input.addEventListener('input', () => {
    const v = normaliseCode(codeField.input.value);
    if (v !== codeField.input.value) codeField.input.value = v;
  });
  const form = h('form', { class: 'card join-card', 'aria-labelledby': 'join-h', novalidate: true },
    h('h2', { id: 'join-h' }, heading),
    codeField.el, nameField.el, err, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const c = normaliseCode(codeField.input.value);
    const name = nameField.input.value.trim();
    if (!validCode(c)) {
      err.textContent = 'A game code has 6 letters and digits, like K7P2QX.';
      codeField.input.focus();
      return;
    }
    if (!validName(name)) {
      err.textContent = 'Enter a name of 1 to 32 characters.';
      nameField.input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Joining…';
    try {
      const who = await ensureIdentity(name);
      const state = await request('POST', sessionPath(c, '/join'), { token: who.token });
      onJoined(c, who, state);
    } catch (e) {
      err.textContent =
        e instanceof ApiError && e.status === 404
          ? `There is no game with the code ${c}.`
          : e instanceof ApiError && e.status === 409
            ? 'That game has already finished.'
            : e instanceof ApiError && e.status === 403
              ? 'That game is full.'
              : describe(e);
      button.disabled = false;
      button.textContent = 'Join game';
    }
  });
  if (autofocus) queueMicrotask(() => (code ? nameField.input : codeField.input).focus());
  return form;
}

function hostCard() {
  const card = h('section', { class: 'card host-card', 'aria-labelledby': 'host-h' },
    h('h2', { id: 'host-h' }, 'Host a game'));
  const body = h('div', { class: 'host-body' });
  card.append(body);

  const signIn = () => {
    const auth = currentAuth();
    const nameField = field('Your name as host', {
      value: auth?.display_name || '',
      maxlength: '32',
      required: true,
      placeholder: 'e.g. Ms Rivera',
      'data-testid': 'host-name',
    });
    const err = errorBox();
    const button = h('button', { type: 'submit', class: 'btn btn-secondary btn-block' }, 'Choose a quiz');
    const form = h('form', { novalidate: true }, nameField.el, err, button);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = nameField.input.value.trim();
      if (!validName(name)) {
        err.textContent = 'Enter a name of 1 to 32 characters.';
        nameField.input.focus();
        return;
      }
      button.disabled = true;
      try {
        await ensureIdentity(name);
        picker();
      } catch (e) {
        err.textContent = describe(e);
        button.disabled = false;
      }
    });
    fill(body, h('p', { class: 'muted' }, 'Run a live quiz for a room: pick a quiz, share the code, and drive it from here.'), form);
  };

  const picker = async (selectId = null, note = '') => {
    const auth = currentAuth();
    if (!auth) return signIn();
    const list = h('div', { class: 'quiz-list', role: 'radiogroup', 'aria-label': 'Quizzes', 'data-testid': 'quiz-list' },
      h('p', { class: 'muted' }, 'Loading quizzes…'));
    const err = errorBox();
    const auto = h('input', { type: 'checkbox', id: nextId('auto') });
    const start = h('button', { type: 'button', class: 'btn btn-primary btn-block', disabled: true }, 'Start session');
    const noteEl = h('p', { class: 'note', role: 'status' }, note);
    fill(body,
      h('p', { class: 'who' }, 'Hosting as ', h('strong', null, auth.display_name), ' · ',
        h('button', { type: 'button', class: 'linklike', onclick: signIn }, 'change')),
      h('h3', null, 'Pick a quiz'),
      list,
      noteEl,
      importForm((created) => picker(created.quiz_id, `Created “${created.title}” with ${plural(created.question_count, 'question')}.`)),
      h('div', { class: 'check' }, auto, h('label', { for: auto.id }, 'Advance automatically (5 s after each reveal)')),
      err,
      start);
    let quizzes = [];
    try {
      quizzes = (await request('GET', '/api/v1/quizzes', { token: auth.token })).quizzes || [];
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return signIn();
      fill(list, h('p', { class: 'form-error' }, describe(e)));
      return;
    }
    // The caller's own quizzes first, then the demo.
    quizzes.sort((a, b) => Number(a.demo) - Number(b.demo));
    const chosen = selectId || quizzes.find((q) => !q.demo)?.quiz_id || quizzes[0]?.quiz_id;
    const name = nextId('quiz');
    fill(list, quizzes.map((q) => {
      const id = nextId('q');
      return h('label', { class: 'quiz-option', for: id },
        h('input', { type: 'radio', name, id, value: q.quiz_id, checked: q.quiz_id === chosen }),
        h('span', { class: 'quiz-title' }, q.title),
        h('span', { class: 'quiz-meta' }, plural(q.question_count, 'question'), q.demo ? h('span', { class: 'badge' }, 'demo') : null));
    }));
    if (!quizzes.length) fill(list, h('p', { class: 'muted' }, 'No quizzes yet: create one from a word list below.'));
    start.disabled = !quizzes.length;
    start.onclick = async () => {
      const picked = list.querySelector('input[type=radio]:checked');
      if (!picked) {
        err.textContent = 'Pick a quiz first.';
        return;
      }
      start.disabled = true;
      start.textContent = 'Starting…';
      err.textContent = '';
      try {
        const who = currentAuth();
        const created = await request('POST', '/api/v1/sessions', {
          token: who.token,
          body: { quiz_id: picked.value, auto_advance: auto.checked },
        });
        rememberHosted(created.session_id, who);
        location.assign(pageUrl(`/host/${created.session_id}`));
      } catch (e) {
        err.textContent = describe(e);
        start.disabled = false;
        start.textContent = 'Start session';
      }
    };
  };

  if (currentAuth()) picker();
  else signIn();
  return card;
}

function importForm(onCreated) {
  const title = field('Title', { maxlength: '200', placeholder: 'e.g. GRE words, week 3', 'data-testid': 'import-title' });
  const words = field('Word list', {
    rows: '6',
    required: true,
    spellcheck: 'false',
    placeholder: 'benevolent,kind\nmorose,gloomy\nlaconic,brief\nverbose,wordy',
    'data-testid': 'import-words',
  }, 'One word,meaning pair per line. Wrong choices are the other words’ meanings, so you need at least as many lines as choices.');
  const choices = h('select', { id: nextId('choices'), 'data-testid': 'import-choices' },
    [2, 3, 4, 5, 6].map((n) => h('option', { value: String(n), selected: n === 4 }, String(n))));
  const err = errorBox();
  const button = h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Create quiz');
  const form = h('form', { class: 'import', novalidate: true },
    title.el, words.el,
    h('div', { class: 'field field-inline' }, h('label', { for: choices.id }, 'Choices per question'), choices),
    err, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const text = words.input.value.trim();
    if (!text) {
      err.textContent = 'Paste at least a few word,meaning lines.';
      words.input.focus();
      return;
    }
    button.disabled = true;
    try {
      const params = new URLSearchParams({ choices: choices.value });
      if (title.input.value.trim()) params.set('title', title.input.value.trim());
      const created = await request('POST', `/api/v1/quizzes/import?${params}`, {
        token: currentAuth()?.token,
        text: `${text}\n`,
        contentType: text.includes('\t') && !text.includes(',') ? 'text/tab-separated-values' : 'text/csv',
      });
      onCreated(created);
    } catch (e) {
      err.textContent = describe(e);
      button.disabled = false;
    }
  });
  return h('details', { class: 'import-box' },
    h('summary', null, 'Create a quiz from a word list'),
    form);
}

export function homeView(main) {
  setTitle('');
  document.body.dataset.view = 'home';
  fill(main,
    h('section', { class: 'hero' },
      h('h1', null, 'Live vocabulary quizzes'),
      h('p', { class: 'lead' }, 'Join with a code on your phone, or host a game for the whole room.')),
    h('div', { class: 'home-grid' },
      joinForm({
        onJoined: (code) => location.assign(pageUrl(`/join/${code}`)),
        autofocus: false,
      }),
      hostCard()));
}
