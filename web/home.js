// The start page: join a game by code and name, or host one (pick a quiz, or make one
// from a word list, then start a session). `/join` is the join form alone.

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
import { fill, focusOn, h, pageUrl, setTitle } from './dom.js';
import { t } from './i18n.js';

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
  return h('p', { class: 'form-error', role: 'alert', tabindex: '-1', 'data-testid': 'form-error' });
}

/** Shows an error in `box` and moves focus there, so keyboard and screen-reader users land on it. */
export function showError(box, text) {
  box.textContent = text;
  if (text) focusOn(box);
}

export function describe(e) {
  if (e instanceof ApiError) {
    if (e.network) return t('error.network');
    return e.message;
  }
  return String(e?.message || e);
}

/**
 * Why a join was refused (403: full, locked, removed, or the caller hosts it), asked of the
 * session itself: its state says whether it is locked and whether the host removed us.
 */
export async function refusal(code, token, e) {
  if (e.status === 404) return t('join.noGame', { code });
  if (e.status === 409) return t('join.finished');
  if (e.status !== 403) return describe(e);
  try {
    const s = await request('GET', sessionPath(code), { token });
    if (s.you?.removed) return t('join.removed');
    if (s.locked) return t('join.locked');
  } catch {
    /* fall back to what the refusal itself said */
  }
  if (/host/i.test(e.problem?.detail || '') && !/removed/i.test(e.problem?.detail || '')) return t('join.isHost');
  return t('join.full');
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

export function joinForm({ code = '', onJoined, heading = t('join.heading'), level = 'h2', autofocus = true }) {
  const auth = currentAuth();
  const codeField = field(t('join.code'), {
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
  const nameField = field(t('join.name'), {
    name: 'display_name',
    value: auth?.display_name || '',
    required: true,
    maxlength: '32',
    autocomplete: 'nickname',
    placeholder: t('join.namePlaceholder'),
    'data-testid': 'join-name',
  }, t('join.nameHint'));
  const err = errorBox();
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('join.submit'));
  codeField.input.addEventListener('input', () => {
    const v = normaliseCode(codeField.input.value);
    if (v !== codeField.input.value) codeField.input.value = v;
  });
  const form = h('form', { class: 'card join-card', 'aria-labelledby': 'join-h', novalidate: true },
    h(level, { id: 'join-h' }, heading),
    codeField.el, nameField.el, err, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const c = normaliseCode(codeField.input.value);
    const name = nameField.input.value.trim();
    if (!validCode(c)) {
      err.textContent = t('join.badCode');
      codeField.input.focus();
      return;
    }
    if (!validName(name)) {
      err.textContent = t('join.badName');
      nameField.input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = t('join.joining');
    let who = null;
    try {
      who = await ensureIdentity(name);
      const state = await request('POST', sessionPath(c, '/join'), { token: who.token });
      onJoined(c, who, state);
    } catch (e) {
      showError(err, e instanceof ApiError && who ? await refusal(c, who.token, e) : describe(e));
      button.disabled = false;
      button.textContent = t('join.submit');
    }
  });
  if (autofocus) queueMicrotask(() => (code ? nameField.input : codeField.input).focus());
  return form;
}

function hostCard() {
  const card = h('section', { class: 'card host-card', 'aria-labelledby': 'host-h' },
    h('h2', { id: 'host-h' }, t('host.heading')));
  const body = h('div', { class: 'host-body' });
  card.append(body);

  const signIn = () => {
    const auth = currentAuth();
    const nameField = field(t('host.name'), {
      value: auth?.display_name || '',
      maxlength: '32',
      required: true,
      placeholder: t('host.namePlaceholder'),
      'data-testid': 'host-name',
    });
    const err = errorBox();
    const button = h('button', { type: 'submit', class: 'btn btn-secondary btn-block' }, t('host.choose'));
    const form = h('form', { novalidate: true }, nameField.el, err, button);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = nameField.input.value.trim();
      if (!validName(name)) {
        err.textContent = t('join.badName');
        nameField.input.focus();
        return;
      }
      button.disabled = true;
      try {
        await ensureIdentity(name);
        picker();
      } catch (e) {
        showError(err, describe(e));
        button.disabled = false;
      }
    });
    fill(body, h('p', { class: 'muted' }, t('host.intro')), form);
  };

  const picker = async (selectId = null, note = '') => {
    const auth = currentAuth();
    if (!auth) return signIn();
    const list = h('div', { class: 'quiz-list', role: 'radiogroup', 'aria-label': t('host.quizzes'), 'data-testid': 'quiz-list' },
      h('p', { class: 'muted' }, t('host.loadingQuizzes')));
    const err = errorBox();
    const auto = h('input', { type: 'checkbox', id: nextId('auto') });
    const start = h('button', { type: 'button', class: 'btn btn-primary btn-block', disabled: true }, t('host.start'));
    const noteEl = h('p', { class: 'note', role: 'status' }, note);
    const feedback = feedbackChoice();
    fill(body,
      h('p', { class: 'who' }, `${t('host.as')} `, h('strong', null, auth.display_name), ' · ',
        h('button', { type: 'button', class: 'linklike', onclick: signIn }, t('host.change'))),
      h('h3', null, t('host.pick')),
      list,
      noteEl,
      importForm((created) => picker(created.quiz_id, t('host.created', {
        title: created.title,
        count: t('game.questions', { n: created.question_count }),
      }))),
      feedback.el,
      h('div', { class: 'check' }, auto, h('label', { for: auto.id }, t('host.auto'))),
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
        h('span', { class: 'quiz-meta' }, t('game.questions', { n: q.question_count }),
          q.demo ? h('span', { class: 'badge' }, t('host.demo')) : null));
    }));
    if (!quizzes.length) fill(list, h('p', { class: 'muted' }, t('host.noQuizzes')));
    start.disabled = !quizzes.length;
    start.onclick = async () => {
      const picked = list.querySelector('input[type=radio]:checked');
      if (!picked) {
        showError(err, t('host.pickFirst'));
        return;
      }
      start.disabled = true;
      start.textContent = t('host.starting');
      err.textContent = '';
      try {
        const who = currentAuth();
        const settings = { auto_advance: auto.checked, feedback: feedback.value() };
        const created = await request('POST', '/api/v1/sessions', {
          token: who.token,
          body: { quiz_id: picked.value, ...settings },
        });
        rememberHosted(created.session_id, who, settings);
        location.assign(pageUrl(`/host/${created.session_id}`));
      } catch (e) {
        showError(err, describe(e));
        start.disabled = false;
        start.textContent = t('host.start');
      }
    };
  };

  if (currentAuth()) picker();
  else signIn();
  return card;
}

/** When players learn whether they were right: at the reveal (fair for a room), or at once. */
function feedbackChoice() {
  const name = nextId('feedback');
  const option = (value, label, hint, checked) => {
    const id = nextId('fb');
    return h('div', { class: 'radio-option' },
      h('input', { type: 'radio', name, id, value, checked, 'aria-describedby': `${id}-hint`, 'data-testid': `feedback-${value}` }),
      h('label', { for: id }, label),
      h('p', { class: 'hint', id: `${id}-hint` }, hint));
  };
  const el = h('fieldset', { class: 'choice-set', 'data-testid': 'feedback' },
    h('legend', null, t('host.feedback')),
    option('at_reveal', t('host.feedback.atReveal'), t('host.feedback.atRevealHint'), true),
    option('instant', t('host.feedback.instant'), t('host.feedback.instantHint'), false));
  return { el, value: () => el.querySelector('input:checked')?.value || 'at_reveal' };
}

function importForm(onCreated) {
  const title = field(t('import.title'), { maxlength: '200', placeholder: t('import.titlePlaceholder'), 'data-testid': 'import-title' });
  const words = field(t('import.words'), {
    rows: '6',
    required: true,
    spellcheck: 'false',
    placeholder: 'benevolent,kind\nmorose,gloomy\nlaconic,brief\nverbose,wordy',
    'data-testid': 'import-words',
  }, t('import.wordsHint'));
  const choices = h('select', { id: nextId('choices'), 'data-testid': 'import-choices' },
    [2, 3, 4, 5, 6].map((n) => h('option', { value: String(n), selected: n === 4 }, String(n))));
  const err = errorBox();
  const button = h('button', { type: 'submit', class: 'btn btn-secondary' }, t('import.submit'));
  const form = h('form', { class: 'import', novalidate: true },
    title.el, words.el,
    h('div', { class: 'field field-inline' }, h('label', { for: choices.id }, t('import.choices')), choices),
    err, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const text = words.input.value.trim();
    if (!text) {
      err.textContent = t('import.empty');
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
      showError(err, describe(e));
      button.disabled = false;
    }
  });
  return h('details', { class: 'import-box' },
    h('summary', null, t('import.summary')),
    form);
}

export function homeView(main) {
  setTitle('');
  document.body.dataset.view = 'home';
  fill(main,
    h('section', { class: 'hero' },
      h('h1', null, t('home.title')),
      h('p', { class: 'lead' }, t('home.lead'))),
    h('div', { class: 'home-grid' },
      joinForm({
        onJoined: (code) => location.assign(pageUrl(`/join/${code}`)),
        autofocus: false,
      }),
      hostCard()));
}

/** `/join`: the join form alone, for a link or QR code without a code in it. */
export function joinView(main) {
  setTitle(t('join.heading'));
  document.body.dataset.view = 'join';
  fill(main, h('div', { class: 'narrow' },
    joinForm({ level: 'h1', onJoined: (code) => location.assign(pageUrl(`/join/${code}`)) })));
}
