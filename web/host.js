// The host's view (/host/CODE): how to join (address, QR code, code, and a warning when
// phones cannot reach this server), the lobby filling live, start / next / end, lock, the
// players with who is online and a way to remove one, the open question with its
// countdown, the reveal with answer counts, the leaderboard, and the results at the end.

import { ApiError, currentAuth, hostedAuth, request, sessionPath, withRetry } from './api.js';
import { connectionStopped, showConnection } from './banner.js';
import { LETTERS, announce, fill, focusOn, h, pageUrl, setTitle } from './dom.js';
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

export function hostView(main, code) {
  setTitle(t('game.hostTitle', { code }));
  const auth = hostedAuth(code) || currentAuth();
  if (!auth) {
    fill(main, h('div', { class: 'narrow card center' },
      h('h1', null, t('game.title', { code })),
      h('p', null, t('hostv.onlyHost')),
      h('p', { class: 'actions' },
        h('a', { class: 'btn btn-secondary', href: pageUrl(`/screen/${code}`) }, t('hostv.watch')),
        h('a', { class: 'btn btn-ghost', href: pageUrl('/') }, t('page.back')))));
    return;
  }
  new HostGame(main, code, auth);
}

/** The address players open, on this page's own origin: behind a proxy, the address
 * players can reach. */
export function joinAddress(code) {
  return `${location.origin}/join/${code}`;
}

/** The join link as a QR code, drawn by the server. */
export function qrImage(code, cls) {
  return h('img', {
    class: cls,
    src: sessionPath(code, '/qr.svg'),
    alt: t('hostv.qr', { code }),
    width: '256',
    height: '256',
    'data-testid': 'qr',
    // A server too old to draw it: no broken image, the address is next to it anyway.
    onerror: (ev) => {
      ev.target.hidden = true;
    },
  });
}

class HostGame {
  constructor(main, code, auth) {
    this.main = main;
    this.code = code;
    this.auth = auth;
    this.joinUrl = joinAddress(code);
    this.model = new SessionModel(code, null);
    this.model.autoAdvance = Boolean(auth.settings?.auto_advance);
    this.version = 0;
    this.countdown = new Countdown();
    this.advance = new AdvanceCountdown();
    this.announcer = new BoardAnnouncer(null);
    this.rosterLoaded = false;
    this.busy = false;
    this.stopped = false;
    this.confirming = null; // user id whose removal waits for a second click
    this.build();
    this.checkReachable();
    this.model.on((kind) => {
      this.version++;
      this.render(kind);
    });
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
    this.controls.hidden = true;
    const gone = e.status === 404;
    fill(this.stage,
      h('div', { class: 'center', 'data-testid': 'problem' },
        h('h1', { tabindex: '-1' }, gone ? t('game.gone') : t('game.signedOut')),
        h('p', null, gone ? t('game.goneMore') : t('game.signedOutHost')),
        h('p', null, h('a', { class: 'btn btn-secondary', href: pageUrl('/') }, t('page.back')))));
    this.stage.dataset.status = 'stopped';
    focusOn(this.stage.querySelector('h1'));
  }

  build() {
    const copy = h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'copy-link' }, t('hostv.copy'));
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(this.joinUrl);
        copy.textContent = t('hostv.copied');
      } catch {
        copy.textContent = t('hostv.copyFailed');
      }
      setTimeout(() => (copy.textContent = t('hostv.copy')), 2000);
    });
    this.primary = h('button', { type: 'button', class: 'btn btn-primary btn-big', 'data-testid': 'host-primary' });
    this.primary.addEventListener('click', () => this.primaryAction());
    this.endBtn = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'host-end' }, t('hostv.end'));
    this.endBtn.addEventListener('click', () => this.endAction());
    this.lockBtn = h('button', { type: 'button', class: 'btn btn-ghost', 'data-testid': 'host-lock' });
    this.lockBtn.addEventListener('click', () => this.toggleLock());
    this.lockNote = h('p', { class: 'lock-note', 'data-testid': 'lock-note' });
    this.controlNote = h('p', { class: 'control-note', role: 'status' });
    this.counts = h('p', { class: 'host-counts', 'data-testid': 'host-counts' });
    this.advanceSlot = h('div', { class: 'advance-slot' });
    this.stage = h('section', { class: 'stage card', 'data-testid': 'stage', 'aria-labelledby': 'stage-h' });
    this.board = h('div', { class: 'board-slot' });
    this.people = h('div', { class: 'people-slot' });
    this.presence = h('p', { class: 'presence', 'data-testid': 'presence' });
    this.title = h('p', { class: 'kicker host-title' });
    this.reach = h('div', { class: 'reach-slot' });
    this.screenLinkBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'data-testid': 'screen-link-other' }, t('hostv.screenElsewhere'));
    this.screenLinkBtn.addEventListener('click', () => this.screenLink());
    this.screenLinkSlot = h('div', { class: 'screen-link-slot' });
    this.controls = h('section', { class: 'card controls', 'aria-label': t('hostv.controls') },
      this.counts,
      h('div', { class: 'control-buttons' }, this.primary, this.endBtn),
      this.advanceSlot,
      this.controlNote,
      h('div', { class: 'lock-row' }, this.lockBtn, this.lockNote));
    fill(this.main, h('div', { class: 'host', 'data-testid': 'host' },
      h('header', { class: 'host-head card' },
        h('div', { class: 'join-info' },
          this.title,
          h('p', { class: 'join-how' }, `${t('hostv.joinAt')} `,
            h('a', { href: this.joinUrl, class: 'join-link', 'data-testid': 'join-link', target: '_blank', rel: 'noopener' },
              this.joinUrl.replace(/^https?:\/\//, ''))),
          h('p', { class: 'join-actions' }, copy,
            h('a', { class: 'btn btn-ghost btn-small', href: pageUrl(`/screen/${this.code}`), target: '_blank', rel: 'noopener', 'data-testid': 'screen-link' }, t('hostv.openScreen')),
            this.screenLinkBtn),
          this.screenLinkSlot,
          this.reach),
        h('div', { class: 'code-box' },
          h('span', { class: 'code-label' }, t('hostv.code')),
          h('span', { class: 'code-big', 'data-testid': 'join-code' }, this.code)),
        qrImage(this.code, 'qr host-qr')),
      h('div', { class: 'host-grid' },
        this.stage,
        h('aside', { class: 'host-side' },
          this.controls,
          h('section', { class: 'card people-card', 'aria-labelledby': 'people-h' },
            h('h2', { id: 'people-h' }, t('hostv.playersHeading')), this.presence, this.people),
          h('section', { class: 'card board-card', 'aria-labelledby': 'lb-h' },
            h('h2', { id: 'lb-h' }, t('game.leaderboard')), this.board)))));
  }

  /** A server listening on loopback only is out of every phone's reach: say so, and how to fix it. */
  async checkReachable() {
    let info;
    try {
      info = await request('GET', '/api/v1/server');
    } catch {
      return; // an older server: nothing to say
    }
    const localPage = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
    if (info.loopback_only) {
      fill(this.reach, h('div', { class: 'reach-warning', role: 'note', 'data-testid': 'loopback-warning' },
        h('p', null, h('strong', null, t('hostv.loopback'))),
        h('p', null, t('hostv.loopbackMore')),
        info.lan_url ? h('p', null, t('hostv.loopbackLan', { url: info.lan_url })) : null));
    } else if (localPage && info.lan_url) {
      fill(this.reach, h('p', { class: 'reach-note', 'data-testid': 'lan-hint' },
        t('hostv.localPage', { url: `${info.lan_url}/join/${this.code}` })));
    }
  }

  // ---- controls ---------------------------------------------------------------------------------

  async hostCall(action, label) {
    if (this.busy || this.stopped) return;
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
      this.controlNote.textContent = this.problem(e);
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) this.fatal(e);
    } finally {
      this.busy = false;
      this.renderControls();
    }
  }

  problem(e) {
    if (e instanceof ApiError && e.status === 403) return t('hostv.notHost');
    if (e instanceof ApiError && e.network) return t('hostv.tryAgain');
    return e.message;
  }

  primaryAction() {
    const s = this.model.status;
    if (s === 'lobby') this.hostCall('start', t('hostv.starting'));
    else if (s === 'question') this.hostCall('next', t('hostv.closing'));
    else if (s === 'reveal') this.hostCall('next', this.model.isLastQuestion ? t('hostv.finishing') : t('hostv.opening'));
  }

  endAction() {
    // Two steps, so a stray click does not end the game.
    if (!this.confirmEnd) {
      this.confirmEnd = true;
      this.endBtn.textContent = t('hostv.reallyEnd');
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
    this.hostCall('end', t('hostv.ending'));
  }

  async toggleLock() {
    if (this.busy || this.stopped) return;
    const locked = !this.model.locked;
    this.busy = true;
    this.renderControls();
    try {
      const state = await request('PATCH', sessionPath(this.code), { token: this.auth.token, body: { locked } });
      this.model.locked = typeof state?.locked === 'boolean' ? state.locked : locked;
      this.controlNote.textContent = '';
      announce(this.model.locked ? t('hostv.lockedNote') : t('hostv.openNote'));
    } catch (e) {
      this.controlNote.textContent = this.problem(e);
    } finally {
      this.busy = false;
      this.renderControls();
    }
  }

  async removePlayer(userId, name) {
    this.confirming = null;
    this.controlNote.textContent = t('hostv.removing', { name });
    try {
      await request('DELETE', sessionPath(this.code, `/players/${encodeURIComponent(userId)}`), { token: this.auth.token });
      this.model.roster.delete(userId);
      this.model.leaderboard = this.model.leaderboard.filter((e) => e.user_id !== userId);
      this.controlNote.textContent = t('hostv.removed', { name });
      announce(t('hostv.removed', { name }));
    } catch (e) {
      this.controlNote.textContent = this.problem(e);
    }
    this.stageKey = null;
    this.render('roster');
    focusOn(document.getElementById('people-h'));
  }

  renderControls() {
    const m = this.model;
    const labels = {
      lobby: t('hostv.start'),
      question: t('hostv.reveal'),
      reveal: m.isLastQuestion ? t('hostv.showFinal') : t('hostv.next'),
    };
    const label = labels[m.status];
    this.primary.hidden = !label;
    this.primary.textContent = label || '';
    this.primary.disabled = this.busy;
    this.endBtn.hidden = m.status === 'finished' || m.status === 'loading';
    this.endBtn.disabled = this.busy;
    if (!this.confirmEnd) {
      this.endBtn.textContent = t('hostv.end');
      this.endBtn.classList.remove('confirm');
    }
    const open = m.status !== 'finished' && m.status !== 'loading';
    this.lockBtn.hidden = !open;
    this.lockBtn.disabled = this.busy;
    this.lockBtn.textContent = m.locked ? t('hostv.unlock') : t('hostv.lock');
    this.lockBtn.setAttribute('aria-pressed', String(m.locked));
    this.lockNote.hidden = !open;
    this.lockNote.textContent = m.locked ? t('hostv.lockedNote') : t('hostv.openNote');
    this.lockNote.classList.toggle('is-locked', m.locked);
    this.counts.textContent = t('game.players', { n: m.players });
    this.presence.textContent = m.online !== null ? t('hostv.online', { online: Math.min(m.online, m.players), total: m.players }) : '';
    if (m.status === 'reveal' && m.autoAdvance && m.advanceAt) {
      fill(this.advanceSlot, this.advance.run(m.question?.question_id, m.advanceAt, m.isLastQuestion));
    } else {
      this.advance.stop();
      this.advanceSlot.replaceChildren();
    }
  }

  renderPeople() {
    const m = this.model;
    const names = [...m.roster.entries()];
    if (!names.length) return fill(this.people, h('p', { class: 'muted' }, t('game.noPlayers')));
    const canRemove = m.status !== 'finished';
    // Focusable: a long list scrolls, and keyboard users must be able to scroll it.
    fill(this.people, h('ul', { class: 'people', 'data-testid': 'players-list', 'aria-labelledby': 'people-h', tabindex: '0' },
      names.slice(0, 200).map(([id, name]) => {
        if (this.confirming === id) {
          const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', 'data-testid': 'confirm-remove' }, t('hostv.yesRemove'));
          yes.addEventListener('click', () => this.removePlayer(id, name));
          const no = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, t('hostv.cancel'));
          no.addEventListener('click', () => {
            this.confirming = null;
            this.renderPeople();
            this.people.querySelector(`[data-user="${CSS.escape(id)}"] button`)?.focus();
          });
          queueMicrotask(() => yes.focus());
          return h('li', { class: 'person confirming', 'data-user': id },
            h('span', { class: 'person-confirm' }, t('hostv.confirmRemove', { name })), h('span', { class: 'person-actions' }, yes, no));
        }
        const remove = canRemove
          ? h('button', { type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': t('hostv.removeLabel', { name }), 'data-testid': 'remove-player' }, t('hostv.remove'))
          : null;
        remove?.addEventListener('click', () => {
          this.confirming = id;
          this.renderPeople();
        });
        const online = m.onlineIds?.has(id);
        const state = m.onlineIds ? h('span', { class: `dot ${online ? 'on' : 'off'}` }, h('span', { class: 'sr-only' }, t(online ? 'hostv.isOnline' : 'hostv.isOffline'))) : null;
        return h('li', { class: 'person', 'data-user': id, 'data-online': m.onlineIds ? String(Boolean(online)) : null },
          state, h('span', { class: nameClass('person-name', name), title: name }, name), remove);
      })),
    names.length > 200 ? h('p', { class: 'muted' }, t('hostv.more', { n: names.length - 200 })) : null);
  }

  // ---- rendering ----------------------------------------------------------------------------------

  render(kind) {
    if (this.stopped) return;
    const m = this.model;
    this.title.textContent = m.quizTitle;
    setTitle(`${t('game.hostTitle', { code: this.code })}${m.quizTitle ? ` · ${m.quizTitle}` : ''}`);
    this.renderControls();
    if ((kind === 'session_state' && !this.rosterLoaded) || kind === 'presence') this.loadRoster();
    if (this.confirming === null || !m.roster.has(this.confirming)) {
      this.confirming = null;
      if (kind !== 'answers') this.renderPeople();
    }
    fill(this.board, leaderboardList(m.leaderboard));
    if (kind === 'leaderboard' || kind === 'question_closed' || kind === 'session_finished') this.announcer.update(m);
    const key = [m.status, m.question?.question_id, m.reveal?.correct_choice, m.reveal?.answer_counts?.join(','),
      m.status === 'question' ? `${m.counts?.answered}/${m.counts?.players}` : '',
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
        fill(this.stage, h('p', { class: 'loading' }, t('page.loading')));
    }
  }

  /** Who is in and who is online (the first 100, best first), read again after each
   * `presence` event, at most every 2 s. */
  async loadRoster() {
    this.rosterLoaded = true;
    if (this.rosterPending) {
      this.rosterAgain = true;
      return;
    }
    this.rosterPending = true;
    try {
      const r = await request('GET', sessionPath(this.code, '/players?limit=100'), { token: this.auth.token });
      const online = new Set();
      for (const e of r.entries || []) {
        if (!this.model.roster.has(e.user_id) && !this.model.left.has(e.user_id)) this.model.roster.set(e.user_id, e.display_name);
        if (e.online) online.add(e.user_id);
      }
      this.model.onlineIds = online;
      this.stageKey = null;
      this.render('roster');
    } catch {
      this.rosterLoaded = false;
    } finally {
      setTimeout(() => {
        this.rosterPending = false;
        if (this.rosterAgain && !this.stopped) {
          this.rosterAgain = false;
          this.loadRoster();
        }
      }, 2000);
    }
  }

  /** A big-screen link for another device: it watches as this page does and changes nothing. */
  async screenLink() {
    this.screenLinkBtn.disabled = true;
    try {
      const link = await request('POST', sessionPath(this.code, '/screen'), { token: this.auth.token });
      const field = h('input', { type: 'text', readonly: '', class: 'screen-link-url', value: link.url, 'data-testid': 'screen-link-url', 'aria-label': t('hostv.screenElsewhere') });
      fill(this.screenLinkSlot, h('div', { class: 'screen-link-box', role: 'note' },
        h('p', null, t('hostv.screenElsewhereNote')), field));
      field.focus();
      field.select();
      try {
        await navigator.clipboard.writeText(link.url);
        this.screenLinkBtn.textContent = t('hostv.copied');
        setTimeout(() => (this.screenLinkBtn.textContent = t('hostv.screenElsewhere')), 2000);
      } catch {
        /* the field shows the link, selected */
      }
    } catch (e) {
      fill(this.screenLinkSlot, h('p', { class: 'error', role: 'alert' }, e.message || t('error.retrying')));
    } finally {
      this.screenLinkBtn.disabled = false;
    }
  }

  renderLobby() {
    const m = this.model;
    const names = [...m.roster.entries()];
    fill(this.stage,
      h('div', { class: 'lobby' },
        h('h1', { id: 'stage-h', class: 'lobby-title' }, t('hostv.waitingPlayers')),
        h('p', { class: 'lobby-count', 'data-testid': 'lobby-count' }, t('hostv.joinedCount', { n: m.players })),
        names.length
          ? h('ul', { class: 'roster', 'data-testid': 'roster', 'aria-label': t('hostv.playersHeading') },
              names.slice(-150).map(([id, name]) => h('li', { class: nameClass('chip', name), 'data-user': id }, name)))
          : h('p', { class: 'muted' }, t('hostv.share', { code: this.code })),
        names.length > 150 ? h('p', { class: 'muted' }, t('hostv.more', { n: names.length - 150 })) : null));
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
        open ? this.countdown.el : h('p', { class: 'pill reveal-pill' }, t('game.revealed'))),
      h('h1', { id: 'stage-h', class: 'prompt', 'data-testid': 'prompt' }, q.prompt),
      // While open, only how many answered: counts per choice on a projected laptop would
      // tell the room the favourite before the reveal.
      choiceTiles(q.choices, { reveal: open ? null : r }),
      open
        ? (m.counts && m.counts.question_id === q.question_id
            ? h('p', { class: 'answered', 'data-testid': 'answered-live' },
                t('hostv.answersSoFar', { n: m.counts.answered, total: m.counts.players }))
            : h('p', { class: 'muted q-note' }, t('hostv.answersAppear', { n: m.players })))
        : r?.answer_counts
          ? h('p', { class: 'answered', 'data-testid': 'answered' },
              t('game.answered', { n: r.answered, total: r.players ?? m.players }))
          : null);
    if (!open && r?.correct_choice !== null && r?.correct_choice !== undefined) {
      announce(t('announce.answer', {
        letter: LETTERS[r.correct_choice],
        text: q.choices[r.correct_choice],
        answered: r.answer_counts ? t('game.answered', { n: r.answered, total: r.players ?? m.players }) : '',
      }));
    }
  }

  async renderFinished() {
    const m = this.model;
    const final = m.final || m.leaderboard;
    const download = h('a', { class: 'btn btn-primary', 'data-testid': 'results-csv', 'aria-disabled': 'true' }, t('hostv.preparing'));
    const table = h('div', { class: 'results-slot' });
    fill(this.stage,
      h('div', { class: 'center finished' },
        h('p', { class: 'kicker' }, m.quizTitle),
        h('h1', { id: 'stage-h' }, t('game.final')),
        podium(final),
        h('p', { class: 'actions' }, download,
          h('a', { class: 'btn btn-ghost', href: pageUrl('/') }, t('hostv.another')))),
      table);
    announce(final[0]
      ? t('announce.overWinner', { name: final[0].display_name, points: t('game.points', { n: final[0].score }) })
      : t('announce.over'));
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
      download.textContent = t('hostv.download');
      fill(table, resultsTable(results));
    } catch (e) {
      download.textContent = t('hostv.resultsFailed');
      fill(table, h('p', { class: 'form-error' }, e.message));
    }
  }
}

function resultsTable(r) {
  return h('div', { class: 'card results' },
    h('h2', { id: 'results-h' }, t('hostv.standings', { players: t('game.players', { n: r.players }) })),
    // A wide table scrolls sideways on a phone: focusable, so the keyboard can scroll it.
    h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'results-h', tabindex: '0' },
      h('table', { 'data-testid': 'results-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('hostv.rank')), h('th', { scope: 'col' }, t('hostv.player')),
          h('th', { scope: 'col', class: 'num' }, t('hostv.correct')), h('th', { scope: 'col', class: 'num' }, t('hostv.scoreCol')))),
        h('tbody', null, (r.standings || []).map((s) => h('tr', null,
          h('td', null, String(s.rank)),
          h('td', { class: 'name-cell' }, s.display_name),
          h('td', { class: 'num' }, `${s.correct ?? 0} / ${s.answered ?? 0}`),
          h('td', { class: 'num' }, String(s.score))))))));
}
