// One session as the page knows it: a model that every live event (from SSE or long-poll)
// updates, plus the pieces of UI the player, host and big-screen views share.

import { clock, request, sessionPath } from './api.js';
import { LETTERS, announce, fill, h, icon, ordinal, plural, shape } from './dom.js';

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
        for (const m of data.left || []) this.roster.delete(m.user_id);
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
    const q = s.question;
    if (q) {
      const same = this.question?.question_id === q.question_id;
      this.question = q;
      if (s.status === 'question') {
        // time_left_ms was computed by the server just before sending: no clock involved.
        this.deadline = received + q.time_left_ms;
      }
      if (s.status === 'reveal') {
        if (!(same && this.reveal?.question_id === q.question_id)) {
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

/** The connection badge in the top bar. `state`: connecting | live | reconnecting | offline;
 * `transport` ('sse' | 'poll') and `reason` (why it polls) are for styling and tests. */
export function showConnection({ state, transport, reason = null, shared = false }) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.hidden = false;
  el.dataset.state = state;
  el.dataset.transport = transport || '';
  el.dataset.reason = reason || '';
  el.dataset.shared = shared ? 'true' : 'false';
  const text =
    state === 'live'
      ? transport === 'poll'
        ? 'live · long-poll'
        : 'live'
      : state === 'reconnecting'
        ? 'reconnecting…'
        : state === 'offline'
          ? 'offline'
          : 'connecting…';
  fill(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), text);
}

/** A countdown bar and seconds left, driven by the model's local deadline. */
export class Countdown {
  constructor() {
    this.el = h('div', { class: 'countdown', 'data-testid': 'countdown' });
    this.bar = h('div', { class: 'countdown-bar' });
    this.secs = h('div', { class: 'countdown-secs', 'aria-hidden': 'true' });
    this.track = h('div', {
      class: 'countdown-track',
      role: 'progressbar',
      'aria-label': 'Time left',
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
        this.track.setAttribute('aria-valuetext', `${plural(secs, 'second')} left`);
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
    return h('p', { class: 'muted empty' }, 'No players yet.');
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
        h('span', { class: 'board-name' }, e.display_name),
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

/** Top three on steps: 2nd, 1st, 3rd. */
export function podium(entries, { me = null } = {}) {
  const [first, second, third] = entries;
  const step = (e, place) =>
    e
      ? h(
          'li',
          { class: `podium-step place-${place}${e.user_id === me ? ' me' : ''}`, 'data-place': String(place) },
          h('span', { class: 'podium-name' }, e.display_name),
          h('span', { class: 'podium-score' }, `${e.score} pts`),
          // Ties share a rank: the block says the rank, its height says the position.
          h('span', { class: 'podium-block', 'aria-hidden': 'true' }, ordinal(e.rank || place)),
          h('span', { class: 'sr-only' }, `${ordinal(e.rank || place)} place`),
        )
      : h('li', { class: `podium-step place-${place} vacant`, 'aria-hidden': 'true' },
          h('span', { class: 'podium-block' }, ordinal(place)));
  return h('ol', { class: 'podium', 'data-testid': 'podium', 'aria-label': 'Podium' },
    step(second, 2), step(first, 1), step(third, 3));
}

/**
 * Choice tiles. `mode`: 'buttons' (player, clickable), 'static' (host/screen).
 * reveal: question_closed payload, shows the correct choice and answer counts.
 */
export function choiceTiles(choices, { mode = 'static', reveal = null, chosen = null, onChoose = null } = {}) {
  const total = reveal?.answer_counts ? reveal.answer_counts.reduce((a, b) => a + b, 0) : 0;
  const tiles = choices.map((text, i) => {
    const correct = reveal && reveal.correct_choice !== null && reveal.correct_choice !== undefined
      ? reveal.correct_choice === i
      : null;
    const count = reveal?.answer_counts?.[i];
    const cls = [
      'choice',
      `c${i}`,
      correct === true ? 'is-correct' : '',
      correct === false ? 'is-wrong' : '',
      chosen === i ? 'is-chosen' : '',
    ].filter(Boolean).join(' ');
    const content = [
      h('span', { class: 'choice-key', 'aria-hidden': 'true' }, shape(i), h('span', { class: 'choice-letter' }, LETTERS[i])),
      h('span', { class: 'choice-text' }, text),
      correct === true ? icon('check', 'choice-mark') : null,
      correct === false && chosen === i ? icon('cross', 'choice-mark') : null,
      count !== undefined
        ? h('span', { class: 'choice-count', 'data-testid': 'choice-count', style: { '--share': total ? (count / total).toFixed(3) : '0' } },
            h('span', { class: 'sr-only' }, 'answers: '), String(count))
        : null,
    ];
    const label = [
      `${LETTERS[i]}: ${text}`,
      correct === true ? ' (correct answer)' : '',
      chosen === i ? ' (your answer)' : '',
      count !== undefined ? `, ${plural(count, 'answer')}` : '',
    ].join('');
    if (mode === 'buttons') {
      return h('button', {
        type: 'button',
        class: cls,
        'data-choice': String(i),
        'aria-label': label,
        onclick: onChoose ? () => onChoose(i) : null,
      }, content);
    }
    return h('li', { class: cls, 'data-choice': String(i), 'aria-label': label }, content);
  });
  return mode === 'buttons'
    ? h('div', { class: `choices n${choices.length}`, role: 'group', 'aria-label': 'Choices' }, tiles)
    : h('ul', { class: `choices n${choices.length}`, 'aria-label': 'Choices' }, tiles);
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
      parts.push(`${lead.display_name} leads with ${plural(lead.score, 'point')}.`);
    }
    this.leader = lead ? { user_id: lead.user_id, score: lead.score } : null;
    if (this.userId && model.you?.rank) {
      if (this.myRank !== null && model.you.rank !== this.myRank) {
        parts.push(`You are now ${ordinal(model.you.rank)} of ${model.players}.`);
      }
      this.myRank = model.you.rank;
    }
    if (parts.length) announce(parts.join(' '));
  }
}

export function statusLine(model) {
  if (model.status === 'lobby') return 'Waiting to start';
  if (model.status === 'finished') return 'Final results';
  if (model.questionIndex === null) return '';
  return `Question ${model.questionIndex + 1} of ${model.questionCount}`;
}
