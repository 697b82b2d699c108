// The player's view (/join/CODE): join, then the question with big choice buttons and a
// countdown, instant feedback, the reveal, own score/rank/streak, the top 10 and the podium.

import { ApiError, clearAuth, currentAuth, randomId, request, sessionPath, sleep } from './api.js';
import { announce, fill, h, icon, ordinal, pageUrl, plural, setTitle } from './dom.js';
import { joinForm } from './home.js';
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

export function playerView(main, code) {
  setTitle(`Game ${code}`);

  const showJoin = (message = null) => {
    fill(main, h('div', { class: 'narrow' },
      message ? h('p', { class: 'notice', role: 'status' }, message) : null,
      joinForm({
        code,
        heading: `Join game ${code}`,
        onJoined: (c, who, state) => {
          if (c !== code) location.assign(pageUrl(`/join/${c}`));
          else new PlayerGame(main, code, who, state, Date.now());
        },
      })));
  };

  const problem = (text, extra = null) => {
    fill(main, h('div', { class: 'narrow card center' },
      h('h1', null, text), extra,
      h('p', null, h('a', { href: pageUrl('/'), class: 'btn btn-secondary' }, 'Back to the start'))));
  };

  const auth = currentAuth();
  if (!auth) return showJoin();
  fill(main, h('p', { class: 'loading' }, `Joining game ${code}…`));
  (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        const state = await request('POST', sessionPath(code, '/join'), { token: auth.token });
        return new PlayerGame(main, code, auth, state, Date.now());
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status === 401) {
          clearAuth();
          return showJoin('Your sign-in has expired: enter your name again.');
        }
        if (e.status === 404) return problem(`There is no game with the code ${code}.`);
        if (e.status === 403) return problem('This game is full.');
        if (e.status === 409) {
          // Finished: show how it ended (and how we did, if we played).
          try {
            const state = await request('GET', sessionPath(code), { token: auth.token });
            return new PlayerGame(main, code, auth, state, Date.now(), { live: false });
          } catch {
            return problem('This game has finished.');
          }
        }
        if (e.network || e.status >= 500 || e.status === 429) {
          fill(main, h('p', { class: 'loading' }, 'Cannot reach the server, retrying…'));
          await sleep(e.retryAfterMs ?? Math.min(1000 * 2 ** attempt, 8000));
          continue;
        }
        return problem(e.message);
      }
    }
  })();
}

class PlayerGame {
  constructor(main, code, auth, state, received, { live = true } = {}) {
    this.main = main;
    this.code = code;
    this.auth = auth;
    this.model = new SessionModel(code, auth.user_id);
    this.countdown = new Countdown();
    this.announcer = new BoardAnnouncer(auth.user_id);
    this.storeKey = `quizcast.answers.${code}.${auth.user_id}`;
    this.answers = this.loadAnswers();
    this.stageKey = null;
    this.build();
    this.model.on((kind) => this.onModel(kind));
    this.model.apply('session_state', state, { received });
    document.addEventListener('keydown', (ev) => this.onKey(ev));
    // Resend an answer whose reply we never got (a reload mid-retry): same nonce.
    for (const [qid, a] of Object.entries(this.answers)) {
      if (!a.result && a.state !== 'late' && a.state !== 'error') this.send(qid);
    }
    if (live) {
      this.live = new LiveConnection({
        code,
        token: () => this.auth.token,
        transport: requestedTransport(),
        onEvent: (name, data, meta) => this.model.apply(name, data, meta),
        onStatus: showConnection,
        onFatal: (e) => {
          if (e.status === 401) {
            clearAuth();
            location.reload();
          } else {
            fill(this.stage, h('h1', null, 'This game is no longer available.'));
          }
        },
      }).start();
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
    if (m.status !== 'question' || !m.question) return;
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
          a.message = e.status === 403 ? 'You are not a player in this game.' : e.message;
          this.saveAnswers();
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
    a.message = 'Your answer could not be sent.';
    this.saveAnswers();
    this.renderStage(true);
  }

  answered(qid, result) {
    const a = this.answers[qid];
    a.state = 'done';
    a.result = result;
    this.saveAnswers();
    const m = this.model;
    m.you = { ...(m.you || { joined: true }), score: result.score, rank: result.rank, streak: result.streak };
    this.renderMe();
    this.renderStage(true);
    announce(result.correct ? `Correct! Plus ${result.awarded_points} points.` : 'Not quite: no points this time.');
  }

  onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    const t = ev.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
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
    this.meName = h('span', { class: 'me-name' }, icon('user'), h('span', null, this.auth.display_name));
    this.meScore = h('dd', { 'data-testid': 'my-score' }, '0');
    this.meRank = h('dd', { 'data-testid': 'my-rank' }, '–');
    this.meStreak = h('dd', { 'data-testid': 'my-streak' }, '0');
    this.stage = h('section', { class: 'stage card', 'data-testid': 'stage', 'aria-label': 'Game' });
    this.board = h('div', { class: 'board-slot' });
    this.boardCard = h('section', { class: 'card board-card', 'aria-labelledby': 'top10-h' },
      h('h2', { id: 'top10-h' }, 'Top 10'), this.board);
    fill(this.main, h('div', { class: 'player', 'data-testid': 'player' },
      h('header', { class: 'me-bar' },
        this.meName,
        h('dl', { class: 'me-stats' },
          h('div', null, h('dt', null, 'Score'), this.meScore),
          h('div', null, h('dt', null, 'Rank'), this.meRank),
          h('div', null, h('dt', null, 'Streak'), this.meStreak))),
      this.stage,
      this.boardCard));
  }

  onModel(kind) {
    const m = this.model;
    // A `score` for the open question that this tab did not send (another tab, or a reply
    // we lost and could not resend): lock the buttons and show it.
    const s = m.lastScore;
    if (kind === 'score' && s?.question_id && s.correct !== null && !this.answers[s.question_id]) {
      this.answers[s.question_id] = { choice: null, state: 'done', result: s };
      this.saveAnswers();
    }
    this.renderMe();
    this.renderStage(false);
    if (kind === 'leaderboard' || kind === 'session_state' || kind === 'session_finished' || kind === 'score' || kind === 'question_closed') {
      this.renderBoard();
      this.announcer.update(m);
    }
  }

  renderMe() {
    const you = this.model.you;
    this.meScore.textContent = String(you?.score ?? 0);
    this.meRank.textContent = you?.rank ? `${ordinal(you.rank)} of ${this.model.players}` : '–';
    fill(this.meStreak, you?.streak ? icon('flame') : null, String(you?.streak ?? 0));
    this.meStreak.classList.toggle('hot', (you?.streak || 0) >= 2);
  }

  renderBoard() {
    const m = this.model;
    const list = leaderboardList(m.leaderboard, { me: this.auth.user_id });
    const mine = m.you?.rank && !m.leaderboard.slice(0, 10).some((e) => e.user_id === this.auth.user_id);
    fill(this.board, list,
      mine ? h('p', { class: 'board-me' }, h('span', { class: 'board-rank' }, String(m.you.rank)),
        h('span', { class: 'board-name' }, `${this.auth.display_name} (you)`),
        h('span', { class: 'board-score' }, String(m.you.score))) : null);
  }

  /** Rebuilds the stage when what it shows changed; `force` after an answer state change. */
  renderStage(force) {
    const m = this.model;
    const q = m.question;
    const a = q ? this.answers[q.question_id] : null;
    const key = [m.status, q?.question_id, a?.state, m.reveal?.correct_choice, m.reveal?.answer_counts?.join(','),
      m.status === 'lobby' ? m.players : '', m.status === 'finished' ? JSON.stringify(m.final) + (m.you?.score ?? '') : ''].join('|');
    if (!force && key === this.stageKey) return;
    this.stageKey = key;
    const focusedChoice = document.activeElement?.closest?.('.choice')?.dataset.choice;
    const hadFocus = this.stage.contains(document.activeElement);
    const shownBefore = `${this.stage.dataset.status}|${this.stage.dataset.question}`;
    this.stage.dataset.status = m.status;
    switch (m.status) {
      case 'lobby':
        this.countdown.stop();
        fill(this.stage,
          h('div', { class: 'center lobby-wait' },
            h('p', { class: 'kicker' }, m.quizTitle),
            h('h1', { tabindex: '-1' }, 'You’re in!'),
            h('p', { class: 'lead' }, 'Waiting for the host to start the game…'),
            h('p', { class: 'pill', 'data-testid': 'player-count' }, plural(m.players, 'player'), ' joined'),
            h('div', { class: 'waiting-dots', 'aria-hidden': 'true' }, h('span'), h('span'), h('span'))));
        break;
      case 'question':
      case 'reveal':
        this.renderQuestion(q, a);
        break;
      case 'finished':
        this.countdown.stop();
        this.renderFinished();
        break;
      default:
        fill(this.stage, h('p', { class: 'loading' }, 'Loading…'));
    }
    // Keep keyboard users where they were: on the same choice, or on the new heading.
    const changed = shownBefore !== `${m.status}|${this.stage.dataset.question}`;
    if (hadFocus && changed) this.stage.querySelector('h1')?.focus();
    else if (focusedChoice !== undefined) this.stage.querySelector(`.choice[data-choice="${focusedChoice}"]`)?.focus();
  }

  renderQuestion(q, a) {
    const m = this.model;
    if (!q) return;
    const open = m.status === 'question';
    const newQuestion = this.stage.dataset.question !== q.question_id || m.status !== this.stage.dataset.shown;
    this.stage.dataset.question = q.question_id;
    this.stage.dataset.shown = m.status;
    const locked = !open || Boolean(a);
    const tiles = choiceTiles(q.choices, {
      mode: 'buttons',
      reveal: open ? null : m.reveal,
      chosen: a?.choice ?? null,
      onChoose: (i) => this.choose(i),
    });
    for (const b of tiles.querySelectorAll('button')) {
      b.setAttribute('aria-disabled', String(locked));
      if (locked) b.classList.add('locked');
    }
    tiles.classList.toggle('answered', Boolean(a));
    if (open) {
      this.countdown.run(q.question_id, m.deadline, q.time_limit_ms);
    } else {
      this.countdown.stop();
    }
    fill(this.stage,
      h('div', { class: 'q-head' },
        h('p', { class: 'kicker' }, statusLine(m)),
        open ? this.countdown.el : h('p', { class: 'pill reveal-pill' }, 'Revealed')),
      h('h1', { class: 'prompt', tabindex: '-1', 'data-testid': 'prompt' }, q.prompt),
      h('p', { class: 'q-ask' }, open && !a ? 'Choose the meaning (keys 1–' + q.choices.length + ')' : ''),
      tiles,
      this.feedback(q, a));
    if (newQuestion && open) announce(`${statusLine(m)}: ${q.prompt}`);
  }

  feedback(q, a) {
    const m = this.model;
    const open = m.status === 'question';
    const correctIndex = !open ? m.reveal?.correct_choice : null;
    const answerText = correctIndex !== null && correctIndex !== undefined
      ? `The answer was ${String.fromCharCode(65 + correctIndex)}: ${q.choices[correctIndex]}.`
      : '';
    let cls = 'feedback';
    let parts;
    if (!a) {
      parts = open ? [] : [h('strong', null, 'Time’s up: no answer.'), ' ', answerText];
      if (!open) cls += ' is-none';
    } else if (a.state === 'sending') {
      parts = ['Sending your answer…'];
    } else if (a.state === 'retrying') {
      cls += ' is-warn';
      parts = ['Connection trouble: resending your answer…'];
    } else if (a.state === 'late') {
      cls += ' is-none';
      parts = [h('strong', null, 'Too late: the question had closed.'), ' ', answerText];
    } else if (a.state === 'error') {
      cls += ' is-warn';
      parts = [a.message || 'Your answer could not be sent.'];
    } else if (a.result?.correct) {
      cls += ' is-correct';
      parts = [
        icon('check'),
        h('strong', null, 'Correct!'), ' ',
        h('span', { 'data-testid': 'awarded' }, `+${a.result.awarded_points}`), ' points',
        a.result.streak >= 2 ? h('span', { class: 'streak-note' }, ` · streak ${a.result.streak}`) : null,
        open ? h('span', { class: 'wait-note' }, ' · waiting for the others…') : null,
      ];
    } else {
      cls += ' is-wrong';
      parts = [icon('cross'), h('strong', null, 'Not quite.'), ' No points this time. ', answerText];
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
    fill(this.stage,
      h('div', { class: 'center finished' },
        h('p', { class: 'kicker' }, m.quizTitle),
        h('h1', { tabindex: '-1' }, 'Game over'),
        podium(final, { me: this.auth.user_id }),
        you?.joined !== false && rank
          ? h('p', { class: 'lead', 'data-testid': 'final-place' },
              'You finished ', h('strong', null, ordinal(rank)), ` of ${m.players} with `,
              h('strong', null, plural(score, 'point')), '.')
          : null,
        h('p', null, h('a', { class: 'btn btn-secondary', href: pageUrl('/') }, 'Play another game'))));
    announce(rank ? `Game over. You finished ${ordinal(rank)} with ${plural(score, 'point')}.` : 'Game over.');
  }
}
