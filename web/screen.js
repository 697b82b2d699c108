// The big-screen view (/screen/CODE) for a projector: how to join, the question with its
// countdown, the reveal, and the leaderboard, in type readable from the back of the room.
// It only watches: it never joins the game.

import { ApiError, currentAuth, guestLogin, hostedAuth, sleep } from './api.js';
import { fill, h, plural, setTitle } from './dom.js';
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

export async function screenView(main, code) {
  setTitle(`Screen ${code}`);
  fill(main, h('p', { class: 'loading' }, 'Connecting…'));
  let auth = currentAuth() || hostedAuth(code);
  for (let attempt = 0; !auth; attempt++) {
    try {
      auth = await guestLogin('Big screen');
    } catch (e) {
      fill(main, h('p', { class: 'loading' }, 'Cannot reach the server, retrying…'));
      await sleep((e instanceof ApiError && e.retryAfterMs) || Math.min(1000 * 2 ** attempt, 10_000));
    }
  }
  new ScreenGame(main, code, auth);
}

class ScreenGame {
  constructor(main, code, auth) {
    this.main = main;
    this.code = code;
    this.auth = auth;
    this.joinHost = `${location.host}/join`;
    this.model = new SessionModel(code, null);
    this.countdown = new Countdown();
    this.announcer = new BoardAnnouncer(null);
    this.stage = h('section', { class: 'screen-stage', 'data-testid': 'stage', 'aria-label': 'Game' });
    this.board = h('div', { class: 'board-slot' });
    this.side = h('aside', { class: 'screen-side', 'aria-labelledby': 'sb-h' },
      h('h2', { id: 'sb-h' }, 'Leaderboard'), this.board);
    this.corner = h('p', { class: 'screen-corner' });
    fill(main, h('div', { class: 'screen', 'data-testid': 'screen' }, this.corner, this.stage, this.side));
    this.model.on((kind) => this.render(kind));
    this.live = new LiveConnection({
      code,
      token: () => this.auth.token,
      transport: requestedTransport(),
      onEvent: (name, data, meta) => this.model.apply(name, data, meta),
      onStatus: showConnection,
      onFatal: (e) => fill(this.stage, h('h1', { class: 'screen-msg' },
        e.status === 404 ? `There is no game with the code ${code}.` : 'Sign-in expired: reload the page.')),
    }).start();
  }

  render(kind) {
    const m = this.model;
    setTitle(`${m.quizTitle || 'Screen'} · ${this.code}`);
    this.main.querySelector('.screen').dataset.status = m.status;
    this.stage.dataset.status = m.status;
    fill(this.corner,
      m.status === 'finished' ? null : [`Join at ${this.joinHost} with `, h('strong', null, this.code)]);
    fill(this.board, leaderboardList(m.leaderboard, { big: true }),
      h('p', { class: 'screen-players' }, plural(m.players, 'player')));
    if (kind === 'leaderboard' || kind === 'question_closed' || kind === 'session_finished') this.announcer.update(m);
    if (kind === 'session_state' && m.status === 'lobby' && !this.rosterLoaded) this.loadRoster();
    const key = [m.status, m.question?.question_id, m.reveal?.correct_choice, m.reveal?.answer_counts?.join(','),
      m.status === 'lobby' ? [...m.roster.values()].join('\u0000') + m.players : '',
      m.status === 'finished' ? JSON.stringify(m.final) : ''].join('|');
    if (key === this.stageKey) return;
    this.stageKey = key;
    if (m.status !== 'question') this.countdown.stop();
    switch (m.status) {
      case 'lobby':
        return this.renderLobby();
      case 'question':
      case 'reveal':
        return this.renderQuestion();
      case 'finished': {
        const final = m.final || m.leaderboard;
        return fill(this.stage,
          h('p', { class: 'kicker' }, m.quizTitle),
          h('h1', { class: 'screen-title' }, final[0] ? `${final[0].display_name} wins!` : 'Game over'),
          podium(final));
      }
      default:
        fill(this.stage, h('p', { class: 'loading' }, 'Loading…'));
    }
  }

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
    const names = [...m.roster.values()];
    fill(this.stage,
      h('p', { class: 'kicker' }, m.quizTitle),
      h('div', { class: 'screen-join' },
        h('p', { class: 'screen-join-how' }, 'Join at ', h('strong', null, this.joinHost)),
        h('p', { class: 'screen-join-code-label' }, 'with the code'),
        h('p', { class: 'screen-code', 'data-testid': 'screen-code' }, this.code)),
      h('p', { class: 'screen-count' }, h('strong', null, String(m.players)), m.players === 1 ? ' player' : ' players'),
      h('ul', { class: 'roster roster-big', 'aria-label': 'Players' }, names.slice(-60).map((n) => h('li', { class: 'chip' }, n))));
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
      h('h1', { class: 'prompt screen-prompt', 'data-testid': 'prompt' }, q.prompt),
      choiceTiles(q.choices, { reveal: open ? null : r }),
      !open && r?.answer_counts
        ? h('p', { class: 'answered' }, h('strong', null, `${r.answered} of ${r.players}`), ' answered')
        : null);
  }
}
