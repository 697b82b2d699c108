// The host's view (/host/CODE): the join code and link, the lobby filling live, start /
// next / end, the open question with its countdown, the reveal with answer counts, the
// leaderboard, and the results (with a CSV download) at the end.

import { ApiError, currentAuth, hostedAuth, request, sessionPath, sleep } from './api.js';
import { announce, fill, h, pageUrl, plural, setTitle } from './dom.js';
import { LiveConnection, requestedTransport } from './live.js';
import {
  BoardAnnouncer,
  Countdown,
  SessionModel,
  choiceTiles,
  leaderboardList,
  podium,
  showConnection,
  statusLine,
} from './session.js';

export function hostView(main, code) {
  setTitle(`Host ${code}`);
  const auth = hostedAuth(code) || currentAuth();
  if (!auth) {
    fill(main, h('div', { class: 'narrow card center' },
      h('h1', null, `Game ${code}`),
      h('p', null, 'Only the host can control this game, from the browser that started it.'),
      h('p', { class: 'actions' },
        h('a', { class: 'btn btn-secondary', href: pageUrl(`/screen/${code}`) }, 'Watch on the big screen'),
        h('a', { class: 'btn btn-ghost', href: pageUrl('/') }, 'Back to the start'))));
    return;
  }
  new HostGame(main, code, auth);
}

class HostGame {
  constructor(main, code, auth) {
    this.main = main;
    this.code = code;
    this.auth = auth;
    // The page's own origin: behind a proxy, the address players can reach.
    this.joinUrl = `${location.origin}/join/${code}`;
    this.model = new SessionModel(code, null);
    this.version = 0;
    this.countdown = new Countdown();
    this.announcer = new BoardAnnouncer(null);
    this.rosterLoaded = false;
    this.results = null;
    this.busy = false;
    this.build();
    this.model.on((kind) => {
      this.version++;
      this.render(kind);
    });
    this.live = new LiveConnection({
      code,
      token: () => this.auth.token,
      transport: requestedTransport(),
      onEvent: (name, data, meta) => this.model.apply(name, data, meta),
      onStatus: showConnection,
      onFatal: (e) => this.fatal(e),
    }).start();
  }

  fatal(e) {
    fill(this.stage, h('h1', null, e.status === 404 ? `There is no game with the code ${this.code}.` : 'Your sign-in has expired.'),
      h('p', null, h('a', { class: 'btn btn-secondary', href: pageUrl('/') }, 'Back to the start')));
  }

  build() {
    const copy = h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'copy-link' }, 'Copy link');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(this.joinUrl);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Select the link to copy';
      }
      setTimeout(() => (copy.textContent = 'Copy link'), 2000);
    });
    this.primary = h('button', { type: 'button', class: 'btn btn-primary btn-big', 'data-testid': 'host-primary' });
    this.primary.addEventListener('click', () => this.primaryAction());
    this.endBtn = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'host-end' }, 'End game');
    this.endBtn.addEventListener('click', () => this.endAction());
    this.controlNote = h('p', { class: 'control-note', role: 'status' });
    this.counts = h('p', { class: 'host-counts', 'data-testid': 'host-counts' });
    this.stage = h('section', { class: 'stage card', 'data-testid': 'stage', 'aria-label': 'Game' });
    this.board = h('div', { class: 'board-slot' });
    this.title = h('p', { class: 'kicker host-title' });
    fill(this.main, h('div', { class: 'host', 'data-testid': 'host' },
      h('header', { class: 'host-head card' },
        h('div', { class: 'join-info' },
          this.title,
          h('p', { class: 'join-how' }, 'Join at ',
            h('a', { href: this.joinUrl, class: 'join-link', 'data-testid': 'join-link', target: '_blank', rel: 'noopener' },
              this.joinUrl.replace(/^https?:\/\//, ''))),
          h('p', { class: 'join-actions' }, copy,
            h('a', { class: 'btn btn-ghost btn-small', href: pageUrl(`/screen/${this.code}`), target: '_blank', rel: 'noopener', 'data-testid': 'screen-link' }, 'Open big screen'))),
        h('div', { class: 'code-box' },
          h('span', { class: 'code-label' }, 'Game code'),
          h('span', { class: 'code-big', 'data-testid': 'join-code' }, this.code))),
      h('div', { class: 'host-grid' },
        this.stage,
        h('aside', { class: 'host-side' },
          h('section', { class: 'card controls', 'aria-label': 'Controls' },
            this.counts,
            h('div', { class: 'control-buttons' }, this.primary, this.endBtn),
            this.controlNote),
          h('section', { class: 'card board-card', 'aria-labelledby': 'lb-h' },
            h('h2', { id: 'lb-h' }, 'Leaderboard'), this.board)))));
  }

  // ---- controls ---------------------------------------------------------------------------------

  async hostCall(action, label) {
    if (this.busy) return;
    this.busy = true;
    this.renderControls();
    this.controlNote.textContent = label;
    const before = this.version;
    try {
      const state = await request('POST', sessionPath(this.code, `/${action}`), { token: this.auth.token });
      this.controlNote.textContent = '';
      // The live stream brings the same change; use the reply only if nothing newer came.
      if (this.version === before) this.model.apply('session_state', state, { received: Date.now() });
    } catch (e) {
      this.controlNote.textContent =
        e instanceof ApiError && e.status === 403
          ? 'Only the host of this game can control it.'
          : e instanceof ApiError && e.network
            ? 'Cannot reach the server: try again.'
            : e.message;
    } finally {
      this.busy = false;
      this.renderControls();
    }
  }

  primaryAction() {
    const s = this.model.status;
    if (s === 'lobby') this.hostCall('start', 'Starting…');
    else if (s === 'question') this.hostCall('next', 'Closing the question…');
    else if (s === 'reveal') this.hostCall('next', this.model.isLastQuestion ? 'Finishing…' : 'Opening the next question…');
  }

  endAction() {
    // Two steps, so a stray click does not end the game.
    if (!this.confirmEnd) {
      this.confirmEnd = true;
      this.endBtn.textContent = 'Really end?';
      this.endBtn.classList.add('confirm');
      clearTimeout(this.confirmTimer);
      this.confirmTimer = setTimeout(() => {
        this.confirmEnd = false;
        this.renderControls();
      }, 4000);
      return;
    }
    this.confirmEnd = false;
    clearTimeout(this.confirmTimer);
    this.hostCall('end', 'Ending the game…');
  }

  renderControls() {
    const m = this.model;
    const labels = {
      lobby: 'Start game',
      question: 'Reveal answer',
      reveal: m.isLastQuestion ? 'Show final results' : 'Next question',
    };
    const label = labels[m.status];
    this.primary.hidden = !label;
    this.primary.textContent = label || '';
    this.primary.disabled = this.busy;
    this.endBtn.hidden = m.status === 'finished' || m.status === 'loading';
    this.endBtn.disabled = this.busy;
    if (!this.confirmEnd) {
      this.endBtn.textContent = 'End game';
      this.endBtn.classList.remove('confirm');
    }
    const online = m.online !== null ? ` · ${m.online} online` : '';
    this.counts.textContent = `${plural(m.players, 'player')}${online}`;
  }

  // ---- rendering ----------------------------------------------------------------------------------

  render(kind) {
    const m = this.model;
    this.title.textContent = m.quizTitle;
    setTitle(`Host ${this.code}${m.quizTitle ? ` · ${m.quizTitle}` : ''}`);
    this.renderControls();
    if (kind === 'session_state' && m.status === 'lobby' && !this.rosterLoaded) this.loadRoster();
    fill(this.board, leaderboardList(m.leaderboard));
    if (kind === 'leaderboard' || kind === 'question_closed' || kind === 'session_finished') this.announcer.update(m);
    const key = [m.status, m.question?.question_id, m.reveal?.correct_choice, m.reveal?.answer_counts?.join(','),
      m.status === 'question' ? m.counts?.answer_counts?.join(',') : '',
      m.status === 'lobby' ? [...m.roster.values()].join('\u0000') + m.players : '',
      m.status === 'finished' ? JSON.stringify(m.final) : ''].join('|');
    if (key === this.stageKey) return;
    this.stageKey = key;
    this.stage.dataset.status = m.status;
    if (m.status !== 'question') this.countdown.stop();
    switch (m.status) {
      case 'lobby':
        return this.renderLobby();
      case 'question':
      case 'reveal':
        return this.renderQuestion();
      case 'finished':
        return this.renderFinished();
      default:
        fill(this.stage, h('p', { class: 'loading' }, 'Loading…'));
    }
  }

  /** Who is already in: every player is on the leaderboard (0 points before the start). */
  async loadRoster() {
    this.rosterLoaded = true;
    try {
      await this.model.loadRoster(this.code, this.auth.token);
      this.stageKey = null;
      this.render('roster');
    } catch {
      this.rosterLoaded = false;
    }
  }

  renderLobby() {
    const m = this.model;
    const names = [...m.roster.entries()];
    fill(this.stage,
      h('div', { class: 'lobby' },
        h('h1', { class: 'lobby-title' }, 'Waiting for players'),
        h('p', { class: 'lobby-count', 'data-testid': 'lobby-count' },
          h('strong', null, String(m.players)), m.players === 1 ? ' player has joined' : ' players have joined'),
        names.length
          ? h('ul', { class: 'roster', 'data-testid': 'roster', 'aria-label': 'Players' },
              names.slice(-150).map(([id, name]) => h('li', { class: 'chip', 'data-user': id }, name)))
          : h('p', { class: 'muted' }, `Share the code ${this.code} or the link above; names appear here as people join.`),
        names.length > 150 ? h('p', { class: 'muted' }, `and ${names.length - 150} more`) : null));
  }

  renderQuestion() {
    const m = this.model;
    const q = m.question;
    if (!q) return;
    const open = m.status === 'question';
    if (open) this.countdown.run(q.question_id, m.deadline, q.time_limit_ms);
    const r = m.reveal;
    fill(this.stage,
      h('div', { class: 'q-head' },
        h('p', { class: 'kicker' }, statusLine(m)),
        open ? this.countdown.el : h('p', { class: 'pill reveal-pill' }, 'Answer revealed')),
      h('h1', { class: 'prompt', 'data-testid': 'prompt' }, q.prompt),
      choiceTiles(q.choices, { reveal: open ? liveCounts(m.counts, q) : r }),
      open
        ? (m.counts && m.counts.question_id === q.question_id
            ? h('p', { class: 'answered', 'data-testid': 'answered-live' },
                h('strong', null, `${m.counts.answered} of ${m.counts.players}`), ' answered so far')
            : h('p', { class: 'muted q-note' }, `Answers appear here as ${plural(m.players, 'player')} answer.`))
        : r?.answer_counts
          ? h('p', { class: 'answered', 'data-testid': 'answered' },
              h('strong', null, `${r.answered} of ${r.players}`), ' answered')
          : h('p', { class: 'muted' }, 'Answer counts are not available after a reconnect.'));
    if (!open && r?.correct_choice !== null && r?.correct_choice !== undefined) {
      announce(`Answer: ${String.fromCharCode(65 + r.correct_choice)}, ${q.choices[r.correct_choice]}. ${r.answered} of ${r.players} answered.`);
    }
  }

  async renderFinished() {
    const m = this.model;
    const final = m.final || m.leaderboard;
    const download = h('a', { class: 'btn btn-primary', 'data-testid': 'results-csv', 'aria-disabled': 'true' }, 'Preparing results…');
    const table = h('div', { class: 'results-slot' });
    fill(this.stage,
      h('div', { class: 'center finished' },
        h('p', { class: 'kicker' }, m.quizTitle),
        h('h1', null, 'Final results'),
        podium(final),
        h('p', { class: 'actions' }, download,
          h('a', { class: 'btn btn-ghost', href: pageUrl('/') }, 'Host another game'))),
      table);
    announce(final[0] ? `Game over. ${final[0].display_name} wins with ${plural(final[0].score, 'point')}.` : 'Game over.');
    try {
      const [results, csv] = await withRetry(() => Promise.all([
        request('GET', sessionPath(this.code, '/results'), { token: this.auth.token }),
        request('GET', sessionPath(this.code, '/results?format=csv'), { token: this.auth.token, accept: 'text/csv' }),
      ]));
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      download.href = this.objectUrl;
      download.download = `quizcast-${this.code}.csv`;
      download.removeAttribute('aria-disabled');
      download.textContent = 'Download results (CSV)';
      fill(table, resultsTable(results));
    } catch (e) {
      download.textContent = 'Results unavailable';
      fill(table, h('p', { class: 'form-error' }, e.message));
    }
  }
}

/** Live counts as tiles: numbers per choice, no correct answer marked yet. */
function liveCounts(counts, q) {
  if (!counts || counts.question_id !== q.question_id) return null;
  return { correct_choice: null, answer_counts: counts.answer_counts };
}

/** Results can lag the `session_finished` event by a moment (409), or the network can blink. */
async function withRetry(fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const transient = e instanceof ApiError && (e.status === 409 || e.network || e.status >= 500);
      if (!transient || attempt >= 5) throw e;
      await sleep(400 * attempt);
    }
  }
}

function resultsTable(r) {
  const perPlayer = new Map();
  for (const a of r.answers || []) {
    const p = perPlayer.get(a.user_id) || { correct: 0, answered: 0 };
    p.answered++;
    if (a.correct) p.correct++;
    perPlayer.set(a.user_id, p);
  }
  return h('div', { class: 'card results' },
    h('h2', null, `Standings (${plural(r.players, 'player')})`),
    h('div', { class: 'table-wrap' },
      h('table', { 'data-testid': 'results-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Rank'), h('th', { scope: 'col' }, 'Player'),
          h('th', { scope: 'col', class: 'num' }, 'Correct'), h('th', { scope: 'col', class: 'num' }, 'Score'))),
        h('tbody', null, (r.standings || []).map((s) => {
          const p = perPlayer.get(s.user_id) || { correct: 0, answered: 0 };
          return h('tr', null,
            h('td', null, String(s.rank)),
            h('td', null, s.display_name),
            h('td', { class: 'num' }, `${p.correct} / ${p.answered}`),
            h('td', { class: 'num' }, String(s.score)));
        })))));
}
