// One session as the page knows it: a model that every live event (from SSE or long-poll)
// updates, plus the pieces of UI the player, host and big-screen views share.

import { clock, request, sessionPath } from './api.js';
import { LETTERS, announce, h, icon, shape } from './dom.js';
import { ordinal, t } from './i18n.js';

export class SessionModel {
  constructor(code, userId) {
    this.code = code;
    this.userId = userId;
    this.status = 'loading';
    this.quizTitle = '';
    this.questionIndex = null;
    this.questionCount = 0;
    this.question = null; // { question_id, index, prompt, choices, time_limit_ms, closes_at }
    this.deadline = null; // local Date.now() value at which the open question closes
    this.reveal = null; // question_closed payload (correct_choice may be null after a reload)
    this.counts = null; // host only: `answers` for the open question
    this.players = 0;
    this.online = null;
    this.leaderboard = [];
    this.you = null; // { joined, score, rank, streak }
    this.lastScore = null; // latest `score` event
    this.roster = new Map(); // user_id → display_name (lobby)
    this.final = null; // session_finished entries
    this.locked = false;
    this.autoAdvance = false; // known to the host's browser, or from the state if it says
    this.revealedAt = null; // local time the current reveal was seen
    this.advanceAt = null; // local time an auto-advancing reveal ends
    this.onlineIds = null; // host only: who has a live connection (GET …/players)
    this.left = new Set(); // user ids that left or were removed
    this.listeners = new Set();
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Who is already in: every player is on the leaderboard (0 points before the start). */
  async loadRoster(code, token) {
    const lb = await request('GET', sessionPath(code, '/leaderboard?limit=100'), { token });
    for (const e of lb.entries || []) if (!this.roster.has(e.user_id)) this.roster.set(e.user_id, e.display_name);
  }

  emit(kind) {
    for (const fn of this.listeners) fn(kind, this);
  }

  apply(name, data, meta = {}) {
    const received = meta.received ?? Date.now();
    switch (name) {
      case 'session_state':
        this.applyState(data, received);
        break;
      case 'question_opened':
        this.status = 'question';
        this.question = data;
        this.questionIndex = data.index;
        this.deadline = Date.parse(data.closes_at) - clock.offset;
        this.reveal = null;
        this.counts = null;
        break;
      case 'answers':
        // Host only: answers so far to the open question.
        if (this.question && data.question_id === this.question.question_id) this.counts = data;
        break;
      case 'question_closed':
        this.status = 'reveal';
        this.reveal = data;
        this.revealedAt = received;
        this.advanceAt = received + ADVANCE_MS;
        if (typeof data.players === 'number') this.players = data.players;
        break;
      case 'session_finished':
        this.status = 'finished';
        this.final = data.entries || [];
        this.leaderboard = this.final;
        if (typeof data.players === 'number') this.players = data.players;
        break;
      case 'leaderboard':
        this.leaderboard = data.entries || [];
        if (typeof data.players === 'number') this.players = data.players;
        break;
      case 'presence':
        this.players = data.players;
        this.online = data.online;
        for (const m of data.joined || []) this.roster.set(m.user_id, m.display_name);
        for (const m of data.left || []) {
          this.roster.delete(m.user_id);
          this.left.add(m.user_id);
        }
        break;
      case 'score':
        this.lastScore = data;
        this.you = { ...(this.you || { joined: true }), score: data.score, rank: data.rank, streak: data.streak };
        break;
      default:
        return;
    }
    this.emit(name);
  }

  applyState(s, received) {
    this.status = s.status;
    this.quizTitle = s.quiz_title;
    this.questionIndex = s.question_index;
    this.questionCount = s.question_count;
    this.players = s.players;
    this.leaderboard = s.leaderboard || [];
    this.you = s.you;
    this.locked = Boolean(s.locked);
    if (typeof s.auto_advance === 'boolean') this.autoAdvance = s.auto_advance;
    const q = s.question;
    if (q) {
      const same = this.question?.question_id === q.question_id;
      this.question = q;
      if (s.status === 'question') {
        // time_left_ms was computed by the server just before sending: no clock involved.
        this.deadline = received + q.time_left_ms;
      }
      if (s.status === 'reveal') {
        if (q.correct_choice !== undefined && q.correct_choice !== null) {
          // The reveal is part of the state: a page loaded now shows it all.
          this.reveal = {
            question_id: q.question_id,
            correct_choice: q.correct_choice,
            answer_counts: q.answer_counts || null,
            answered: q.answered ?? (q.answer_counts || []).reduce((a, b) => a + b, 0),
            players: s.players,
          };
          if (!same || !this.revealedAt) this.revealedAt = received;
          // The server says when it moves on; a page loaded mid-reveal counts down from there.
          this.advanceAt = s.next_at ? Date.parse(s.next_at) - clock.offset : this.revealedAt + ADVANCE_MS;
        } else if (!(same && this.reveal?.question_id === q.question_id)) {
          this.reveal = { question_id: q.question_id, correct_choice: null, answer_counts: null };
        }
      } else {
        this.reveal = null;
      }
    } else {
      this.question = null;
      this.reveal = null;
    }
    if (s.status === 'finished') this.final = s.leaderboard || [];
    for (const e of s.leaderboard || []) this.roster.set(e.user_id, e.display_name);
  }

  get isLastQuestion() {
    return this.questionIndex !== null && this.questionIndex + 1 >= this.questionCount;
  }

  get myEntry() {
    return this.leaderboard.find((e) => e.user_id === this.userId) || null;
  }
}

// ---- shared UI ------------------------------------------------------------------------------

/** A countdown bar and seconds left, driven by the model's local deadline. */
export class Countdown {
  constructor() {
    this.el = h('div', { class: 'countdown', 'data-testid': 'countdown' });
    this.bar = h('div', { class: 'countdown-bar' });
    this.secs = h('div', { class: 'countdown-secs', 'aria-hidden': 'true' });
    this.track = h('div', {
      class: 'countdown-track',
      role: 'progressbar',
      'aria-label': t('game.timeLeft'),
      'aria-valuemin': '0',
    }, this.bar);
    this.el.append(this.track, this.secs);
    this.frame = null;
    this.key = null;
    this.shown = null;
  }

  /** Counts down to `deadline` (a local Date.now() value) of a question lasting `totalMs`. */
  run(key, deadline, totalMs) {
    if (this.key === key && this.deadline === deadline) return;
    this.stop();
    this.key = key;
    this.deadline = deadline;
    this.total = totalMs;
    this.track.setAttribute('aria-valuemax', String(Math.round(totalMs / 1000)));
    // Driven per frame (not by a CSS transition) so the bar survives being re-attached.
    const step = () => {
      this.frame = null;
      const left = Math.max(0, this.deadline - Date.now());
      this.bar.style.transform = `scaleX(${Math.min(1, left / this.total).toFixed(4)})`;
      const secs = Math.ceil(left / 1000);
      if (secs !== this.shown) {
        this.shown = secs;
        this.secs.textContent = String(secs);
        this.el.classList.toggle('urgent', left <= 5000);
        this.track.setAttribute('aria-valuenow', String(secs));
        this.track.setAttribute('aria-valuetext', t('game.seconds', { n: secs }));
      }
      if (left > 0) this.frame = requestAnimationFrame(step);
      else this.el.classList.add('done');
    };
    step();
  }

  stop() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.key = null;
    this.shown = null;
    this.el.classList.remove('done', 'urgent');
  }
}

/** The top-10 list. `me` highlights the viewer's row. */
export function leaderboardList(entries, { me = null, limit = 10, big = false } = {}) {
  if (!entries.length) {
    return h('p', { class: 'muted empty' }, t('game.noPlayers'));
  }
  const top = entries[0]?.score || 0;
  return h(
    'ol',
    { class: `board${big ? ' board-big' : ''}`, 'data-testid': 'leaderboard' },
    entries.slice(0, limit).map((e) =>
      h(
        'li',
        {
          class: `board-row${e.user_id === me ? ' me' : ''}${e.rank <= 3 ? ` rank-${e.rank}` : ''}`,
          'data-user': e.user_id,
        },
        h('span', { class: 'board-rank' }, String(e.rank)),
        h('span', { class: 'board-name', title: e.display_name }, e.display_name),
        h('span', { class: 'board-score' }, String(e.score)),
        h('span', {
          class: 'board-fill',
          'aria-hidden': 'true',
          style: { '--fill': top ? (e.score / top).toFixed(3) : '0' },
        }),
      ),
    ),
  );
}

/** A name with a word too long to wrap well is shortened with an ellipsis instead. */
export function nameClass(base, name) {
  return String(name).split(/\s+/).some((w) => [...w].length > 14) ? `${base} long-word` : base;
}

/** Top three on steps: 2nd, 1st, 3rd. */
export function podium(entries, { me = null } = {}) {
  const [first, second, third] = entries;
  const step = (e, place) =>
    e
      ? h(
          'li',
          { class: `podium-step place-${place}${e.user_id === me ? ' me' : ''}`, 'data-place': String(place) },
          h('span', { class: nameClass('podium-name', e.display_name), title: e.display_name }, e.display_name),
          h('span', { class: 'podium-score' }, t('game.pts', { n: e.score })),
          // Ties share a rank: the block says the rank, its height says the position.
          h('span', { class: 'podium-block', 'aria-hidden': 'true' }, ordinal(e.rank || place)),
          h('span', { class: 'sr-only' }, t('game.place', { place: ordinal(e.rank || place) })),
        )
      : h('li', { class: `podium-step place-${place} vacant`, 'aria-hidden': 'true' },
          h('span', { class: 'podium-block' }, ordinal(place)));
  return h('ol', { class: 'podium', 'data-testid': 'podium', 'aria-label': t('game.podium') },
    step(second, 2), step(first, 1), step(third, 3));
}

/**
 * Choice tiles. `mode`: 'buttons' (player, clickable), 'static' (host/screen).
 * `reveal`: { correct_choice, answer_counts } marks the correct choice and shows the counts
 * (counts alone, with `correct_choice: null`, while a question is open on the host).
 * `chosen`: the viewer's own choice. Every tile's accessible name is its visible text plus
 * what only colour and icons show (correct, your answer, count), so names match labels.
 */
export function choiceTiles(choices, { mode = 'static', reveal = null, chosen = null, onChoose = null } = {}) {
  const total = reveal?.answer_counts ? reveal.answer_counts.reduce((a, b) => a + b, 0) : 0;
  const known = reveal && reveal.correct_choice !== null && reveal.correct_choice !== undefined;
  const tiles = choices.map((text, i) => {
    const correct = known ? reveal.correct_choice === i : null;
    const count = reveal?.answer_counts?.[i];
    const cls = [
      'choice',
      `c${i}`,
      correct === true ? 'is-correct' : '',
      correct === false ? 'is-wrong' : '',
      chosen === i ? 'is-chosen' : '',
    ].filter(Boolean).join(' ');
    const notes = [
      correct === true ? t('game.correctAnswer') : null,
      chosen === i ? t('game.yourAnswer') : null,
    ].filter(Boolean);
    const content = [
      h('span', { class: 'choice-key', 'aria-hidden': 'true' }, shape(i), h('span', { class: 'choice-letter' }, LETTERS[i])),
      h('span', { class: 'choice-text' }, text),
      notes.length ? h('span', { class: 'sr-only' }, ` (${notes.join(', ')})`) : null,
      correct === true ? icon('check', 'choice-mark') : null,
      correct === false && chosen === i ? icon('cross', 'choice-mark') : null,
      count !== undefined
        ? h('span', { class: 'choice-count', 'data-testid': 'choice-count', style: { '--share': total ? (count / total).toFixed(3) : '0' } },
            h('span', { class: 'sr-only' }, ', '), String(count), h('span', { class: 'sr-only' }, ` ${t('game.answersWord', { n: count })}`))
        : null,
    ];
    if (mode === 'buttons') {
      return h('button', {
        type: 'button',
        class: cls,
        'data-choice': String(i),
        onclick: onChoose ? () => onChoose(i) : null,
      }, content);
    }
    return h('li', { class: cls, 'data-choice': String(i) }, content);
  });
  const revealed = known ? ' revealed' : '';
  return mode === 'buttons'
    ? h('div', { class: `choices n${choices.length}${revealed}`, role: 'group', 'aria-label': t('game.choices') }, tiles)
    : h('ul', { class: `choices n${choices.length}${revealed}`, 'aria-label': t('game.choices') }, tiles);
}

/** Announces leaderboard changes through the aria-live region. */
export class BoardAnnouncer {
  constructor(userId = null) {
    this.userId = userId;
    this.leader = null;
    this.myRank = null;
  }

  update(model) {
    const parts = [];
    const lead = model.leaderboard[0];
    if (lead && lead.score > 0 && (lead.user_id !== this.leader?.user_id || lead.score !== this.leader?.score)) {
      parts.push(t('announce.leads', { name: lead.display_name, points: t('game.points', { n: lead.score }) }));
    }
    this.leader = lead ? { user_id: lead.user_id, score: lead.score } : null;
    if (this.userId && model.you?.rank) {
      if (this.myRank !== null && model.you.rank !== this.myRank) {
        parts.push(t('announce.nowRank', { rank: ordinal(model.you.rank), total: model.players }));
      }
      this.myRank = model.you.rank;
    }
    if (parts.length) announce(parts.join(' '));
  }
}

export function statusLine(model) {
  if (model.status === 'lobby') return t('game.waiting');
  if (model.status === 'finished') return t('game.final');
  if (model.questionIndex === null) return '';
  return t('game.question', { n: model.questionIndex + 1, total: model.questionCount });
}

/** How long an auto-advancing reveal lasts (the contract's 5 s). */
const ADVANCE_MS = 5000;

/**
 * "Next question in 5…" after a reveal in an auto-advancing game, until `at` (local time).
 */
export class AdvanceCountdown {
  constructor() {
    this.el = h('p', { class: 'advance', 'data-testid': 'advance', 'aria-live': 'off' });
    this.timer = null;
    this.key = null;
  }

  run(key, at, last) {
    if (this.key === key) return this.el;
    this.stop();
    this.key = key;
    const tick = () => {
      const left = Math.max(0, Math.ceil((at - Date.now()) / 1000));
      this.el.textContent = t(last ? 'game.finalIn' : 'game.nextIn', { n: Math.max(1, left) });
      if (left > 0) this.timer = setTimeout(tick, 250);
    };
    tick();
    return this.el;
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.key = null;
  }
}
