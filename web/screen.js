// The big-screen view (/screen/CODE) for a projector: how to join (address, QR code, code),
// the question with its countdown and how many have answered, the reveal, and the
// leaderboard, in type readable from the back of the room. It only watches: it never joins
// the game. Opened from the host's browser, or on another device from the host page's
// big-screen link (a token that only watches), it watches as the host does, so it also
// gets how many have answered while a question is open.

import { ApiError, currentAuth, guestLogin, hostedAuth, sleep, watchAuth } from './api.js';
import { connectionStopped, showConnection } from './banner.js';
import { fill, focusOn, h, setTitle } from './dom.js';
import { joinAddress, qrImage } from './host.js';
import { t } from './i18n.js';
import { LiveConnection, requestedTransport } from './live.js';
import {
  AdvanceCountdown,
  BoardAnnouncer,
  Countdown,
  SessionModel,
  choiceTiles,
  leaderboardList,
  nameClass,
  podium,
  statusLine,
} from './session.js';

export async function screenView(main, code) {
  setTitle(t('game.screenTitle', { code }));
  fill(main, h('p', { class: 'loading' }, t('conn.connecting')));
  const hosted = hostedAuth(code);
  let auth = hosted || watchAuth(code) || currentAuth();
  for (let attempt = 0; !auth; attempt++) {
    try {
      auth = await guestLogin('Big screen');
    } catch (e) {
      fill(main, h('p', { class: 'loading' }, t('error.retrying')));
      await sleep((e instanceof ApiError && e.retryAfterMs) || Math.min(1000 * 2 ** attempt, 10_000));
    }
  }
  new ScreenGame(main, code, auth, hosted?.settings || {});
}

class ScreenGame {
  constructor(main, code, auth, settings) {
    this.main = main;
    this.code = code;
    this.auth = auth;
    this.address = joinAddress(code).replace(/^https?:\/\//, '');
    this.model = new SessionModel(code, null);
    this.model.autoAdvance = Boolean(settings.auto_advance);
    this.countdown = new Countdown();
    this.advance = new AdvanceCountdown();
    this.announcer = new BoardAnnouncer(null);
    this.shownBoard = [];
    this.stopped = false;
    this.stage = h('section', { class: 'screen-stage', 'data-testid': 'stage', 'aria-labelledby': 'stage-h' });
    this.board = h('div', { class: 'board-slot' });
    this.side = h('aside', { class: 'screen-side', 'aria-labelledby': 'sb-h' },
      h('h2', { id: 'sb-h' }, t('game.leaderboard')), this.board);
    this.corner = h('div', { class: 'screen-corner', 'data-testid': 'screen-corner' });
    this.root = h('div', { class: 'screen', 'data-testid': 'screen' }, this.corner, this.stage, this.side);
    fill(main, this.root);
    this.model.on((kind) => this.render(kind));
    this.live = new LiveConnection({
      code,
      token: () => this.auth.token,
      transport: requestedTransport(),
      onEvent: (name, data, meta) => this.model.apply(name, data, meta),
      onStatus: (s) => !this.stopped && showConnection(s),
      onFatal: (e) => this.fatal(e),
    }).start();
  }

  fatal(e) {
    this.stopped = true;
    this.countdown.stop();
    this.advance.stop();
    connectionStopped();
    const reload = h('button', { type: 'button', class: 'btn btn-secondary' }, t('game.reload'));
    reload.addEventListener('click', () => location.reload());
    this.root.dataset.status = 'stopped';
    this.stage.dataset.status = 'stopped';
    fill(this.stage, h('div', { class: 'center', 'data-testid': 'problem' },
      h('h1', { id: 'stage-h', class: 'screen-msg', tabindex: '-1' }, e.status === 404 ? t('game.gone') : t('game.signedOut')),
      h('p', { class: 'lead' }, e.status === 404 ? t('game.goneMore') : t('game.signedOutScreen')),
      e.status === 404 ? null : h('p', null, reload)));
    focusOn(this.stage.querySelector('h1'));
  }

  render(kind) {
    if (this.stopped) return;
    const m = this.model;
    setTitle(`${m.quizTitle || t('game.screenTitle', { code: this.code })} · ${this.code}`);
    this.root.dataset.status = m.status;
    this.stage.dataset.status = m.status;
    fill(this.corner,
      m.status === 'finished' || m.status === 'lobby'
        ? null
        : [qrImage(this.code, 'qr corner-qr'),
            h('p', null, `${t('screen.joinAt')} `, h('strong', null, this.address))]);
    // The board moves only between questions: mid-question it would tell the room who
    // was right before the reveal.
    if (m.status !== 'question') this.shownBoard = m.leaderboard;
    fill(this.board, leaderboardList(this.shownBoard, { big: true }),
      h('p', { class: 'screen-players' }, t('game.players', { n: m.players })));
    if (m.status !== 'question' && (kind === 'leaderboard' || kind === 'question_closed' || kind === 'session_finished')) {
      this.announcer.update(m);
    }
    if (kind === 'session_state' && m.status === 'lobby' && !this.rosterLoaded) this.loadRoster();
    const key = [m.status, m.question?.question_id, m.reveal?.correct_choice, m.reveal?.answer_counts?.join(','),
      m.status === 'question' ? `${m.counts?.answered}/${m.counts?.players}` : '',
      m.status === 'lobby' ? [...m.roster.values()].join('\u0000') + m.players : '',
      m.status === 'finished' ? JSON.stringify(m.final) : ''].join('|');
    if (key === this.stageKey) return;
    const before = this.stage.dataset.question;
    this.stageKey = key;
    if (m.status !== 'question') this.countdown.stop();
    if (m.status !== 'reveal') this.advance.stop();
    switch (m.status) {
      case 'lobby':
        return this.renderLobby();
      case 'question':
      case 'reveal':
        this.renderQuestion();
        if (m.status === 'question' && before !== m.question?.question_id) focusOn(this.stage.querySelector('h1'));
        return;
      case 'finished': {
        const final = m.final || m.leaderboard;
        return fill(this.stage,
          h('p', { class: 'kicker' }, m.quizTitle),
          h('h1', { id: 'stage-h', class: nameClass('screen-title', final[0]?.display_name || '') },
            final[0] ? t('game.wins', { name: final[0].display_name }) : t('game.over')),
          podium(final));
      }
      default:
        fill(this.stage, h('p', { class: 'loading' }, t('page.loading')));
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
    const origin = location.host;
    fill(this.stage,
      h('h1', { id: 'stage-h', class: 'screen-quiz' }, m.quizTitle),
      h('div', { class: 'screen-join' },
        h('figure', { class: 'screen-qr' }, qrImage(this.code, 'qr screen-qr-img'),
          h('figcaption', null, t('screen.scan'))),
        h('div', { class: 'screen-join-text' },
          h('p', { class: 'screen-join-how' }, t('screen.joinAt')),
          h('p', { class: 'screen-address', 'data-testid': 'screen-address' }, this.address),
          h('p', { class: 'screen-join-code-label' }, t('screen.withCode', { host: `${origin}/join` })),
          h('p', { class: 'screen-code', 'data-testid': 'screen-code' }, this.code))),
      h('p', { class: 'screen-count' }, t('game.players', { n: m.players })),
      h('ul', { class: 'roster roster-big', 'aria-label': t('hostv.playersHeading') },
        names.slice(-60).map((n) => h('li', { class: nameClass('chip', n) }, n))));
  }

  renderQuestion() {
    const m = this.model;
    const q = m.question;
    if (!q) return;
    const open = m.status === 'question';
    if (open) this.countdown.run(q.question_id, m.deadline, q.time_limit_ms);
    this.stage.dataset.question = q.question_id;
    const r = m.reveal;
    const live = open && m.counts?.question_id === q.question_id ? m.counts : null;
    fill(this.stage,
      h('div', { class: 'q-head' },
        h('p', { class: 'kicker' }, statusLine(m)),
        open ? this.countdown.el : h('p', { class: 'pill reveal-pill' }, t('game.revealed'))),
      h('h1', { id: 'stage-h', class: 'prompt screen-prompt', 'data-testid': 'prompt', tabindex: '-1' }, q.prompt),
      // Open: the tiles show no counts (they would hint at the answer), only how many answered.
      choiceTiles(q.choices, { reveal: open ? null : r }),
      live
        ? h('p', { class: 'answered', 'data-testid': 'screen-answered' }, t('screen.answering', { n: live.answered, total: live.players }))
        : null,
      !open && r?.answer_counts
        ? h('p', { class: 'answered', 'data-testid': 'screen-answered' }, t('game.answered', { n: r.answered, total: r.players ?? m.players }))
        : null,
      !open && m.autoAdvance && m.advanceAt ? this.advance.run(q.question_id, m.advanceAt, m.isLastQuestion) : null);
  }
}
