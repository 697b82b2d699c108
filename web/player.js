// The player's view (/join/CODE): join, then the question with big choice buttons and a
// countdown, feedback (at once, or "locked in" until the reveal in a fair game), the reveal,
// own score/rank/streak, the top 10, the podium and the words to review.

import { ApiError, clearAuth, currentAuth, randomId, request, sessionPath, sleep, withRetry } from './api.js';
import { connectionStopped, showConnection } from './banner.js';
import { LETTERS, announce, fill, focusOn, h, icon, pageUrl, setTitle } from './dom.js';
import { joinForm, refusal } from './home.js';
import { ordinal, t } from './i18n.js';
import { LiveConnection, requestedTransport } from './live.js';
import {
  AdvanceCountdown,
  BoardAnnouncer,
  Countdown,
  SessionModel,
  choiceTiles,
  leaderboardList,
  podium,
  statusLine,
} from './session.js';

export function playerView(main, code) {
  setTitle(t('game.title', { code }));

  const showJoin = (message = null) => {
    fill(main, h('div', { class: 'narrow' },
      message ? h('p', { class: 'notice', role: 'status' }, message) : null,
      joinForm({
        code,
        level: 'h1',
        heading: t('join.headingCode', { code }),
        onJoined: (c, who, state) => {
          if (c !== code) location.assign(pageUrl(`/join/${c}`));
          else new PlayerGame(main, code, who, state, Date.now(), { onSignedOut: showJoin, focus: true });
        },
      })));
  };

  const problem = (text, more = null) => {
    fill(main, h('div', { class: 'narrow card center', 'data-testid': 'problem' },
      h('h1', { tabindex: '-1' }, text),
      more ? h('p', null, more) : null,
      h('p', null, h('a', { href: pageUrl('/'), class: 'btn btn-secondary' }, t('page.back')))));
    focusOn(main.querySelector('h1'));
  };

  const auth = currentAuth();
  if (!auth) return showJoin();
  fill(main, h('p', { class: 'loading' }, t('join.joiningGame', { code })));
  (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        const state = await request('POST', sessionPath(code, '/join'), { token: auth.token });
        return new PlayerGame(main, code, auth, state, Date.now(), { onSignedOut: showJoin });
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status === 401) {
          clearAuth();
          return showJoin(t('join.expired'));
        }
        if (e.status === 404) return problem(t('join.noGame', { code }));
        if (e.status === 403) {
          const why = await refusal(code, auth.token, e);
          return why === t('join.removed') ? problem(t('player.removed'), t('player.removedMore')) : problem(why);
        }
        if (e.status === 409) {
          // Finished: show how it ended (and how we did, if we played).
          try {
            const state = await request('GET', sessionPath(code), { token: auth.token });
            return new PlayerGame(main, code, auth, state, Date.now(), { live: false });
          } catch {
            return problem(t('join.finished'));
          }
        }
        if (e.network || e.status >= 500 || e.status === 429) {
          fill(main, h('p', { class: 'loading' }, t('error.retrying')));
          await sleep(e.retryAfterMs ?? Math.min(1000 * 2 ** attempt, 8000));
          continue;
        }
        return problem(e.message);
      }
    }
  })();
}

class PlayerGame {
  constructor(main, code, auth, state, received, { live = true, onSignedOut = null, focus = false } = {}) {
    this.main = main;
    this.code = code;
    this.auth = auth;
    this.onSignedOut = onSignedOut;
    this.model = new SessionModel(code, auth.user_id);
    this.countdown = new Countdown();
    this.advance = new AdvanceCountdown();
    this.announcer = new BoardAnnouncer(auth.user_id);
    this.storeKey = `quizcast.answers.${code}.${auth.user_id}`;
    this.answers = this.loadAnswers();
    this.lastByQuestion = {}; // question_id → `you.last` from a state seen during its reveal
    this.stageKey = null;
    this.stopped = false;
    this.build();
    this.model.on((kind) => this.onModel(kind));
    this.model.apply('session_state', state, { received });
    if (this.stopped) return;
    this.keyHandler = (ev) => this.onKey(ev);
    document.addEventListener('keydown', this.keyHandler);
    // Resend an answer whose reply we never got (a reload mid-retry): same nonce.
    for (const [qid, a] of Object.entries(this.answers)) {
      if (!a.result && a.state !== 'late' && a.state !== 'error') this.send(qid);
    }
    if (focus) focusOn(this.stage.querySelector('h1'));
    if (live) {
      this.live = new LiveConnection({
        code,
        token: () => this.auth.token,
        transport: requestedTransport(),
        onEvent: (name, data, meta) => this.model.apply(name, data, meta),
        onStatus: (s) => {
          if (this.stopped) return;
          showConnection(s);
          // A stream the server refuses may be the host removing us: ask once, then stop.
          if (s.state === 'reconnecting') this.checkRemoved();
        },
        onFatal: (e) => this.fatal(e),
      }).start();
    }
  }

  stop() {
    this.stopped = true;
    this.live?.stop();
    this.countdown.stop();
    this.advance.stop();
    if (this.keyHandler) document.removeEventListener('keydown', this.keyHandler);
    connectionStopped();
  }

  fatal(e) {
    if (this.stopped) return;
    this.stop();
    if (e.status === 401) {
      clearAuth();
      if (this.onSignedOut) return this.onSignedOut(t('join.expired'));
    }
    this.message(e.status === 404 ? t('game.gone') : t('player.unavailable'), e.status === 404 ? t('game.goneMore') : null);
  }

  /** A page-wide message instead of the game, with the way back to the start. */
  message(title, more) {
    fill(this.main, h('div', { class: 'narrow card center', 'data-testid': 'problem' },
      h('h1', { tabindex: '-1' }, title),
      more ? h('p', null, more) : null,
      h('p', null, h('a', { href: pageUrl('/'), class: 'btn btn-secondary' }, t('page.back')))));
    focusOn(this.main.querySelector('h1'));
  }

  removed() {
    if (this.stopped) return;
    this.stop();
    try {
      sessionStorage.removeItem(this.storeKey);
    } catch {
      /* nothing to forget */
    }
    this.message(t('player.removed'), t('player.removedMore'));
  }

  async checkRemoved() {
    const now = Date.now();
    if (this.stopped || now - (this.checkedAt || 0) < 3000) return;
    this.checkedAt = now;
    try {
      const s = await request('GET', sessionPath(this.code), { token: this.auth.token, timeoutMs: 5000 });
      if (s.you?.removed) this.removed();
    } catch {
      /* the connection reports what is wrong */
    }
  }

  // ---- answers, kept per tab so a reload neither loses nor repeats one ------------------------

  loadAnswers() {
    try {
      return JSON.parse(sessionStorage.getItem(this.storeKey) || '{}') || {};
    } catch {
      return {};
    }
  }

  saveAnswers() {
    try {
      sessionStorage.setItem(this.storeKey, JSON.stringify(this.answers));
    } catch {
      /* private mode: answers still work for this page's life */
    }
  }

  choose(i) {
    const m = this.model;
    if (this.stopped || m.status !== 'question' || !m.question) return;
    const qid = m.question.question_id;
    if (this.answers[qid]) return; // one answer per question: the buttons are locked
    this.answers[qid] = { choice: i, nonce: `${randomId(10)}-${qid.slice(0, 8)}`, state: 'sending', result: null };
    this.saveAnswers();
    this.renderStage(true);
    this.send(qid);
  }

  async send(qid) {
    const a = this.answers[qid];
    for (let attempt = 0; attempt < 10; attempt++) {
      if (this.stopped) return;
      try {
        const result = await request('POST', sessionPath(this.code, '/answers'), {
          token: this.auth.token,
          body: { question_id: qid, choice: a.choice, nonce: a.nonce },
          timeoutMs: 8000,
        });
        return this.answered(qid, result);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status === 409 && e.problem?.first_result) return this.answered(qid, e.problem.first_result);
        if (e.status === 422) {
          a.state = 'late';
          this.saveAnswers();
          return this.renderStage(true);
        }
        if (e.status === 401 || e.status === 403 || e.status === 404 || e.status === 400) {
          a.state = 'error';
          a.message = e.status === 403 ? t('player.notPlayer') : e.message;
          this.saveAnswers();
          if (e.status === 403) this.checkRemoved();
          return this.renderStage(true);
        }
        // No answer, 429 or 5xx: the answer may or may not have counted. Retrying with the
        // same nonce is safe: the server answers a repeated nonce with the first result.
        a.state = 'retrying';
        this.renderStage(true);
        await sleep(e.retryAfterMs ?? Math.min(300 * 2 ** attempt, 4000));
      }
    }
    a.state = 'error';
    a.message = t('player.notSent');
    this.saveAnswers();
    this.renderStage(true);
  }

  answered(qid, result) {
    const a = this.answers[qid];
    a.state = 'done';
    a.result = result;
    this.saveAnswers();
    const m = this.model;
    // At the reveal (`correct: null`) the reply's standing is the last reveal's: the
    // question may already have closed (this answer was the last) and its `score` event,
    // newer than this reply, arrived first.
    if (result.correct !== null && result.correct !== undefined) {
      m.you = { ...(m.you || { joined: true }), score: result.score, rank: result.rank, streak: result.streak };
    }
    this.renderMe();
    this.renderStage(true);
    if (result.correct === null || result.correct === undefined) announce(t('player.announceLocked'));
    else if (result.correct) announce(t('player.announceCorrect', { points: t('game.points', { n: result.awarded_points }) }));
    else announce(t('player.announceWrong'));
  }

  onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    const target = ev.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
    const m = this.model;
    if (m.status !== 'question' || !m.question) return;
    const key = ev.key.toLowerCase();
    let i = '123456'.indexOf(key);
    if (i < 0) i = 'abcdef'.indexOf(key);
    if (i >= 0 && i < m.question.choices.length) {
      ev.preventDefault();
      this.choose(i);
    }
  }

  // ---- rendering -------------------------------------------------------------------------------

  build() {
    this.meName = h('span', { class: 'me-name' }, icon('user'),
      h('span', { title: this.auth.display_name }, this.auth.display_name));
    this.meScore = h('dd', { 'data-testid': 'my-score' }, '0');
    this.meRank = h('dd', { 'data-testid': 'my-rank' }, '–');
    this.meStreak = h('dd', { 'data-testid': 'my-streak' }, '0');
    this.stage = h('section', { class: 'stage card', 'data-testid': 'stage', 'aria-labelledby': 'stage-h' });
    this.board = h('div', { class: 'board-slot' });
    this.boardCard = h('section', { class: 'card board-card', 'aria-labelledby': 'top10-h' },
      h('h2', { id: 'top10-h' }, t('game.top10')), this.board);
    fill(this.main, h('div', { class: 'player', 'data-testid': 'player' },
      h('header', { class: 'me-bar' },
        this.meName,
        h('dl', { class: 'me-stats' },
          h('div', null, h('dt', null, t('player.score')), this.meScore),
          h('div', null, h('dt', null, t('player.rank')), this.meRank),
          h('div', null, h('dt', null, t('player.streak')), this.meStreak))),
      this.stage,
      this.boardCard));
  }

  onModel(kind) {
    if (this.stopped) return;
    const m = this.model;
    if (kind === 'session_state') {
      if (m.you?.removed) return this.removed();
      // The reveal's own result, for a page (re)loaded during it.
      if (m.status === 'reveal' && m.question && m.you && 'last' in m.you) this.lastByQuestion[m.question.question_id] = m.you.last;
    }
    if (kind === 'presence' && m.left.has(this.auth.user_id)) this.checkRemoved();
    // A `score` for a question that this tab did not send (another tab, or a reply we lost
    // and could not resend): lock the buttons and show it.
    const s = m.lastScore;
    if (kind === 'score' && s?.question_id && s.correct !== null && !this.answers[s.question_id]) {
      this.answers[s.question_id] = { choice: null, state: 'done', result: s };
      this.saveAnswers();
    }
    this.renderMe();
    this.renderStage(kind === 'score');
    if (kind === 'leaderboard' || kind === 'session_state' || kind === 'session_finished' || kind === 'score' || kind === 'question_closed') {
      this.renderBoard();
      this.announcer.update(m);
    }
  }

  renderMe() {
    const you = this.model.you;
    this.meScore.textContent = String(you?.score ?? 0);
    this.meRank.textContent = you?.rank ? t('player.rankOf', { rank: ordinal(you.rank), total: this.model.players }) : '–';
    fill(this.meStreak, you?.streak ? icon('flame') : null, String(you?.streak ?? 0));
    this.meStreak.classList.toggle('hot', (you?.streak || 0) >= 2);
  }

  renderBoard() {
    const m = this.model;
    const list = leaderboardList(m.leaderboard, { me: this.auth.user_id });
    const mine = m.you?.rank && !m.leaderboard.slice(0, 10).some((e) => e.user_id === this.auth.user_id);
    fill(this.board, list,
      mine ? h('p', { class: 'board-me' }, h('span', { class: 'board-rank' }, String(m.you.rank)),
        h('span', { class: 'board-name' }, t('player.you', { name: this.auth.display_name })),
        h('span', { class: 'board-score' }, String(m.you.score))) : null);
  }

  /**
   * What the player did on question `q` and how it went, from every source there is: this
   * tab's answer and its reply, the `score` event after the reveal, and `you.last` of a
   * state loaded during the reveal. `correct`/`points` stay null until known.
   */
  outcome(q) {
    const m = this.model;
    const a = this.answers[q.question_id] || null;
    let choice = a?.choice ?? null;
    let correct = a?.result?.correct ?? null;
    let points = a?.result?.awarded_points ?? null;
    const s = m.lastScore;
    if (correct === null && s?.question_id === q.question_id && s.correct !== null && s.correct !== undefined) {
      correct = s.correct;
      points = s.awarded_points;
    }
    const last = this.lastByQuestion[q.question_id];
    if (m.status !== 'question' && last) {
      if (choice === null) choice = last.choice;
      if (correct === null) {
        correct = last.correct;
        points = last.awarded_points;
      }
    }
    const key = m.status !== 'question' ? m.reveal?.correct_choice : null;
    if (correct === null && choice !== null && key !== null && key !== undefined) correct = choice === key;
    const answered = Boolean(a) || (last !== undefined && last !== null);
    return { a, choice, correct, points, answered };
  }

  /** Rebuilds the stage when what it shows changed; `force` after an answer state change. */
  renderStage(force) {
    const m = this.model;
    const q = m.question;
    const o = q ? this.outcome(q) : null;
    const key = [m.status, q?.question_id, o?.a?.state, o?.correct, o?.points, m.reveal?.correct_choice, m.reveal?.answer_counts?.join(','),
      m.status === 'lobby' ? m.players : '', m.status === 'finished' ? JSON.stringify(m.final) + (m.you?.score ?? '') : ''].join('|');
    if (!force && key === this.stageKey) return;
    this.stageKey = key;
    const focusedChoice = document.activeElement?.closest?.('.choice')?.dataset.choice;
    const hadFocus = this.stage.contains(document.activeElement);
    const shownBefore = `${this.stage.dataset.status}|${this.stage.dataset.question}`;
    this.stage.dataset.status = m.status;
    if (m.status !== 'reveal') this.advance.stop();
    switch (m.status) {
      case 'lobby':
        this.countdown.stop();
        fill(this.stage,
          h('div', { class: 'center lobby-wait' },
            h('p', { class: 'kicker' }, m.quizTitle),
            h('h1', { id: 'stage-h', tabindex: '-1' }, t('player.in')),
            h('p', { class: 'lead' }, t('player.waitHost')),
            h('p', { class: 'pill', 'data-testid': 'player-count' }, t('player.joinedCount', { n: m.players })),
            h('div', { class: 'waiting-dots', 'aria-hidden': 'true' }, h('span'), h('span'), h('span'))));
        break;
      case 'question':
      case 'reveal':
        this.renderQuestion(q, o);
        break;
      case 'finished':
        this.countdown.stop();
        this.renderFinished();
        break;
      default:
        fill(this.stage, h('p', { class: 'loading' }, t('page.loading')));
    }
    const changed = shownBefore !== `${m.status}|${this.stage.dataset.question}`;
    const newQuestion = m.status === 'question' && !shownBefore.endsWith(`|${this.stage.dataset.question}`);
    const typing = document.activeElement?.matches?.('input, textarea, select');
    // Each new question takes the focus (keyboard and screen-reader users start at its
    // word); otherwise keep keyboard users where they were.
    if ((newQuestion || (hadFocus && changed)) && !typing) focusOn(this.stage.querySelector('h1'));
    else if (focusedChoice !== undefined) this.stage.querySelector(`.choice[data-choice="${focusedChoice}"]`)?.focus();
  }

  renderQuestion(q, o) {
    const m = this.model;
    if (!q) return;
    const open = m.status === 'question';
    const newQuestion = this.stage.dataset.question !== q.question_id || m.status !== this.stage.dataset.shown;
    this.stage.dataset.question = q.question_id;
    this.stage.dataset.shown = m.status;
    const locked = !open || Boolean(o.a);
    const tiles = choiceTiles(q.choices, {
      mode: 'buttons',
      reveal: open ? null : m.reveal,
      chosen: o.choice,
      onChoose: (i) => this.choose(i),
    });
    for (const b of tiles.querySelectorAll('button')) {
      b.setAttribute('aria-disabled', String(locked));
      if (locked) b.classList.add('locked');
    }
    tiles.classList.toggle('answered', o.choice !== null);
    if (open) {
      this.countdown.run(q.question_id, m.deadline, q.time_limit_ms);
    } else {
      this.countdown.stop();
    }
    const advance = !open && m.autoAdvance && m.advanceAt
      ? this.advance.run(q.question_id, m.advanceAt, m.isLastQuestion)
      : null;
    fill(this.stage,
      h('div', { class: 'q-head' },
        h('p', { class: 'kicker' }, statusLine(m)),
        open ? this.countdown.el : h('p', { class: 'pill reveal-pill' }, t('game.revealed'))),
      h('h1', { id: 'stage-h', class: 'prompt', tabindex: '-1', 'data-testid': 'prompt' }, q.prompt),
      h('p', { class: 'q-ask' }, open && !o.a ? t('player.ask', { n: q.choices.length }) : ''),
      tiles,
      this.feedback(q, o),
      advance);
    if (newQuestion && open) announce(t('announce.question', { n: m.questionIndex + 1, total: m.questionCount, prompt: q.prompt }));
  }

  feedback(q, o) {
    const m = this.model;
    const open = m.status === 'question';
    const a = o.a;
    const correctIndex = !open ? m.reveal?.correct_choice : null;
    const answerText = correctIndex !== null && correctIndex !== undefined
      ? t('player.theAnswer', { letter: LETTERS[correctIndex], text: q.choices[correctIndex] })
      : '';
    let cls = 'feedback';
    let parts;
    if (a?.state === 'sending') {
      parts = [t('player.sending')];
    } else if (a?.state === 'retrying') {
      cls += ' is-warn';
      parts = [t('player.resending')];
    } else if (a?.state === 'late') {
      cls += ' is-none';
      parts = [h('strong', null, t('player.late')), ' ', answerText];
    } else if (a?.state === 'error') {
      cls += ' is-warn';
      parts = [a.message || t('player.notSent')];
    } else if (!o.answered) {
      parts = open ? [] : [h('strong', null, t('player.noAnswer')), ' ', answerText];
      if (!open) cls += ' is-none';
    } else if (o.correct === null) {
      // A fair game: nothing tells right from wrong before the reveal.
      cls += ' is-locked';
      parts = [icon('lock'), h('strong', null, t('player.lockedIn')), ' ', open ? t('player.lockedInMore') : ''];
    } else if (o.correct) {
      cls += ' is-correct';
      const streak = a?.result?.streak ?? (m.lastScore?.question_id === q.question_id ? m.lastScore.streak : 0);
      parts = [
        icon('check'),
        h('strong', null, t('player.correct')), ' ',
        o.points !== null && o.points !== undefined
          ? [h('span', { 'data-testid': 'awarded' }, t('player.plusPoints', { n: o.points })), ` ${t('player.pointsWord')}`]
          : null,
        streak >= 2 ? h('span', { class: 'streak-note' }, t('player.streakNote', { n: streak })) : null,
        open ? h('span', { class: 'wait-note' }, t('player.waitOthers')) : null,
      ];
    } else {
      cls += ' is-wrong';
      parts = [icon('cross'), h('strong', null, t('player.wrong')), ' ', t('player.wrongMore'), ' ', answerText];
    }
    // Screen readers hear this through the page's aria-live region (see `answered`).
    return h('p', { class: cls, 'data-testid': 'feedback' }, parts);
  }

  renderFinished() {
    const m = this.model;
    const final = m.final || m.leaderboard;
    const you = m.you;
    const mine = final.find((e) => e.user_id === this.auth.user_id);
    const rank = mine?.rank ?? you?.rank;
    const score = mine?.score ?? you?.score ?? 0;
    const played = you?.joined !== false && rank;
    this.review = played ? h('section', { class: 'review', 'data-testid': 'review', 'aria-labelledby': 'review-h' },
      h('h2', { id: 'review-h' }, t('review.heading')),
      h('p', { class: 'muted' }, t('review.loading'))) : null;
    fill(this.stage,
      h('div', { class: 'center finished' },
        h('p', { class: 'kicker' }, m.quizTitle),
        h('h1', { id: 'stage-h', tabindex: '-1' }, t('game.over')),
        podium(final, { me: this.auth.user_id }),
        played
          ? h('p', { class: 'lead', 'data-testid': 'final-place' },
              t('player.finished', { rank: ordinal(rank), total: m.players, points: t('game.points', { n: score }) }))
          : null,
        h('p', null, h('a', { class: 'btn btn-secondary', href: pageUrl('/') }, t('player.again')))),
      this.review);
    announce(rank
      ? t('announce.overYou', { rank: ordinal(rank), points: t('game.points', { n: score }) })
      : t('announce.over'));
    if (this.review) this.loadReview(this.review);
  }

  /** The words this player missed, with the right meaning: what a learner came for. */
  async loadReview(section) {
    try {
      const r = this.results || (this.results = await withRetry(() =>
        request('GET', sessionPath(this.code, '/results'), { token: this.auth.token })));
      const mine = new Map((r.answers || []).filter((a) => a.user_id === this.auth.user_id).map((a) => [a.question_id, a]));
      const missed = (r.questions || [])
        .slice()
        .sort((x, y) => x.index - y.index)
        .filter((q) => !mine.get(q.question_id)?.correct);
      fill(section, h('h2', { id: 'review-h' }, t('review.heading')),
        missed.length
          ? h('ul', { class: 'review-list' }, missed.map((q) => {
              const a = mine.get(q.question_id);
              return h('li', { class: 'review-item' },
                h('span', { class: 'review-word' }, q.prompt),
                h('span', { class: 'review-meaning' }, q.choices[q.correct_choice]),
                h('span', { class: 'review-mine' },
                  a && a.choice !== null && a.choice !== undefined ? t('review.you', { text: q.choices[a.choice] }) : t('review.skipped')));
            }))
          : h('p', { class: 'review-none' }, t('review.none')));
    } catch {
      fill(section, h('h2', { id: 'review-h' }, t('review.heading')), h('p', { class: 'muted' }, t('review.failed')));
    }
  }
}

