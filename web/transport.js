// How the leading tab gets a session's live events: Server-Sent Events while they flow,
// long-polling where something in between holds them back, short polls when the browser
// has no connection to spare. Every event goes to `onEvent(name, data, id)`, whatever
// carried it; `onStatus({ state, transport, reason })` says how it goes, with `state` one of
// connecting | live | reconnecting | offline.
//
// The rules (contract, "Plain-HTTP fallback"):
// - A stream must give an event within 4 s of being requested (the server sends one at
//   once). If none comes while a plain request works, a proxy holds the stream back: poll.
// - Once live, an event (a `heartbeat` at least) comes every 15 s; nothing for 35 s means a
//   proxy holds the stream back after letting some through: poll.
// - A stream that keeps failing while plain requests work (3 times in a row): poll.
// - While polling, streaming is tried again every 60 s and taken back when it delivers.
// - A 502/504 on a held poll is a proxy's read timeout, not an outage: poll again at once,
//   holding half as long (down to 4 s; learned for the page's life).
// - A 429 is not a transport failure: wait as told, keep the transport.
// - Over HTTP/1.1 a browser opens at most six connections per origin, shared by all its tabs.
//   Long-lived ones (streams, held polls) need one of four slots agreed between the tabs;
//   without one a tab polls without holding (`timeout_ms=0`, every second) and tries for a
//   slot again every 5 s. Over HTTP/2 or HTTP/3 there is no such limit.
//
// Test hook: localStorage `quizcast.tuning` (JSON) overrides the timings above:
// { firstEventMs, stallMs, reprobeMs, graceMs, maxHeld, shortPollMs }. Pages never set it.

import { ApiError, request, sessionPath, sleep } from './api.js';
import { trySlot } from './tabs.js';

export const EVENTS = [
  'session_state',
  'question_opened',
  'question_closed',
  'session_finished',
  'leaderboard',
  'presence',
  'score',
  'answers',
];

const T = tuning();
/** The server's `retry:` advice: the browser reconnects a dropped stream after this. */
const RETRY_MS = 2000;
/** Stream failures in a row, each while plain HTTP worked, before polling instead. */
const SWITCH_AFTER = 3;
const MIN_HOLD_MS = 4000;
const SLOT_RETRY_MS = 5000;
/** How long a held poll waits for events; halved by each proxy cut. */
let holdMs = 25_000;

function tuning() {
  const t = { firstEventMs: 4000, stallMs: 35_000, reprobeMs: 60_000, graceMs: 3000, maxHeld: 4, shortPollMs: 1000 };
  try {
    const given = JSON.parse(localStorage.getItem('quizcast.tuning') || '{}');
    for (const k of Object.keys(t)) if (Number.isFinite(given?.[k])) t[k] = given[k];
  } catch {
    /* no storage: defaults */
  }
  return t;
}

/** Is this page served over a protocol that multiplexes (no six-connection limit)? */
function multiplexed() {
  const nav = globalThis.performance?.getEntriesByType?.('navigation')?.[0];
  const proto = nav?.nextHopProtocol || '';
  return proto === 'h2' || proto.startsWith('h3');
}

export class Transport {
  /**
   * @param {object} o
   * @param {string} o.code
   * @param {() => string} o.token
   * @param {() => Promise<string|null>} o.streamUrl  the EventSource URL (`null`: none yet)
   * @param {'sse'|'poll'} o.transport  'poll': never stream
   * @param {(name: string, data: any, id: string|null) => void} o.onEvent
   * @param {(s: {state: string, transport: string|null, reason: string|null}) => void} o.onStatus
   * @param {(err: ApiError) => void} o.onFatal  401 or 404
   */
  constructor(o) {
    this.o = o;
    this.stopped = false;
    this.mode = null; // 'sse' | 'poll'
    this.reason = null; // why we poll
    this.es = null;
    this.watchKind = null; // 'first': an event is due since the request; 'stall': since the last one
    this.sawError = false;
    this.failures = 0;
    this.timers = {};
    this.pollGen = 0;
    this.pollAbort = null;
    this.releaseSlot = null;
    this.shown = null;
    this.lastStatus = '';
  }

  async start() {
    this.report('connecting');
    const slot = await this.takeSlot();
    if (this.stopped) return;
    if (this.o.transport === 'poll' || typeof EventSource === 'undefined') return this.startPoll('asked for');
    if (slot) this.openStream();
    else this.startPoll('connection limit');
  }

  stop() {
    this.stopped = true;
    this.closeStream();
    this.stopPoll();
    for (const name of Object.keys(this.timers)) this.cancel(name);
    this.releaseSlot?.();
    this.releaseSlot = null;
  }

  // ---- timers and status ----------------------------------------------------------------------

  after(name, ms, fn) {
    clearTimeout(this.timers[name]);
    this.timers[name] = setTimeout(() => {
      delete this.timers[name];
      if (!this.stopped) fn();
    }, ms);
  }

  cancel(name) {
    clearTimeout(this.timers[name]);
    delete this.timers[name];
  }

  /** A short drop of a live transport is not shown: most come back within the grace time. */
  report(state) {
    if (state === 'reconnecting') {
      if (this.shown === 'live') {
        if (!this.timers.grace) this.after('grace', T.graceMs, () => this.show('reconnecting'));
        return;
      }
      if (globalThis.navigator?.onLine === false) state = 'offline';
    }
    this.cancel('grace');
    this.show(state);
  }

  show(state) {
    this.shown = state;
    const s = { state, transport: this.mode, reason: this.mode === 'poll' ? this.reason : null };
    const key = JSON.stringify(s);
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.o.onStatus(s);
  }

  fatal(e) {
    this.stop();
    this.o.onFatal(e);
  }

  // ---- connection slots -------------------------------------------------------------------------

  holdsSlot() {
    return Boolean(this.releaseSlot) || multiplexed();
  }

  async takeSlot() {
    if (this.holdsSlot()) return true;
    const release = await trySlot('held', T.maxHeld);
    if (this.stopped) {
      release?.();
      return false;
    }
    this.releaseSlot = release;
    return Boolean(release);
  }

  /** Does a plain request work? 'ok', 'down' or 'fatal' (then the connection is over). */
  async probe() {
    try {
      await request('GET', sessionPath(this.o.code), { token: this.o.token(), timeoutMs: 5000 });
      return 'ok';
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
        this.fatal(e);
        return 'fatal';
      }
      return 'down';
    }
  }

  // ---- Server-Sent Events -----------------------------------------------------------------------

  async openStream() {
    if (this.stopped) return;
    this.closeStream();
    this.mode = 'sse';
    const url = await this.o.streamUrl();
    if (this.stopped || this.mode !== 'sse' || this.es) return;
    if (!url) {
      // No ticket: a refused token ends the connection; otherwise try again shortly.
      if ((await this.probe()) === 'fatal' || this.stopped) return;
      this.report('reconnecting');
      this.after('reopen', RETRY_MS + Math.random() * 500, () => this.openStream());
      return;
    }
    const es = new EventSource(url);
    this.es = es;
    this.sawError = false;
    this.watch(es, 'first', T.firstEventMs);
    for (const name of [...EVENTS, 'heartbeat']) {
      es.addEventListener(name, (ev) => {
        if (this.es === es) this.streamEvent(es, name, ev);
      });
    }
    es.onerror = () => {
      if (this.es === es) this.streamError(es);
    };
  }

  watch(es, kind, ms) {
    this.watchKind = kind;
    this.after('watch', ms, () => (kind === 'first' ? this.streamSilent(es) : this.startPoll('stalled')));
  }

  closeStream() {
    this.cancel('watch');
    this.watchKind = null;
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  streamEvent(es, name, ev) {
    this.failures = 0;
    this.watch(es, 'stall', T.stallMs);
    if (this.shown !== 'live' || this.timers.grace) this.report('live');
    if (name === 'heartbeat') return;
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    this.o.onEvent(name, data, ev.lastEventId || null);
  }

  streamError(es) {
    this.sawError = true;
    this.report('reconnecting');
    if (es.readyState === EventSource.CLOSED) {
      // Answered, but not with a stream (an error status): find out which.
      this.closeStream();
      this.diagnose();
      return;
    }
    // The browser reconnects by itself (with Last-Event-ID); from now on an event is due
    // within its retry delay plus the usual window. Errors while one is due keep the deadline.
    if (this.watchKind !== 'first') this.watch(es, 'first', RETRY_MS + T.firstEventMs);
  }

  /** No event within the window since the stream was requested. */
  async streamSilent(es) {
    const http = await this.probe();
    if (this.stopped || this.es !== es || http === 'fatal') return;
    if (http === 'down') {
      // The server is out of reach: the browser keeps trying the stream.
      this.report('reconnecting');
      this.watch(es, 'first', RETRY_MS + T.firstEventMs);
      return;
    }
    // Plain HTTP works but the stream gave nothing.
    if (!this.sawError) return this.startPoll('no events');
    this.failures += 1;
    if (this.failures >= SWITCH_AFTER) return this.startPoll('stream failing');
    this.openStream();
  }

  /** The stream was answered with an error: asks once more with fetch to see the status. */
  async diagnose() {
    let status = 0;
    let retryAfterMs = null;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      const url = await this.o.streamUrl();
      if (!url) throw new Error('no stream ticket');
      const res = await fetch(url, {
        headers: { Accept: 'text/event-stream' },
        credentials: 'omit',
        cache: 'no-store',
        signal: abort.signal,
      });
      status = res.status;
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && res.headers.get('retry-after')) retryAfterMs = after * 1000;
    } catch {
      status = 0;
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
    if (this.stopped || this.mode !== 'sse') return;
    if (status === 401 || status === 404) return this.fatal(new ApiError(status, null));
    if (status === 429) {
      // Too many open streams for now: not the transport's fault.
      this.after('reopen', (retryAfterMs ?? RETRY_MS) + Math.random() * 500, () => this.openStream());
      return;
    }
    if (status === 0) {
      const http = await this.probe();
      if (this.stopped || http === 'fatal') return;
      if (http === 'down') {
        this.after('reopen', RETRY_MS + Math.random() * 500, () => this.openStream());
        return;
      }
    }
    this.failures += 1;
    if (this.failures >= SWITCH_AFTER) return this.startPoll('stream refused');
    this.after('reopen', Math.min(1000 * 2 ** (this.failures - 1), 8000) + Math.random() * 500, () => this.openStream());
  }

  // ---- polling --------------------------------------------------------------------------------

  startPoll(reason) {
    if (this.stopped) return;
    this.closeStream();
    this.cancel('reopen');
    this.mode = 'poll';
    this.reason = reason;
    if (this.shown) this.show(this.shown);
    const gen = ++this.pollGen;
    this.pollLoop(gen);
    if (reason !== 'asked for' && reason !== 'connection limit' && typeof EventSource !== 'undefined') {
      this.after('reprobe', T.reprobeMs, () => this.reprobe());
    }
  }

  stopPoll() {
    this.pollGen += 1;
    this.pollAbort?.abort();
    this.pollAbort = null;
    this.cancel('reprobe');
  }

  async pollLoop(gen) {
    const live = () => !this.stopped && gen === this.pollGen;
    let after = null;
    let errors = 0;
    let slotTried = Date.now();
    while (live()) {
      const held = this.holdsSlot();
      const timeout = held ? holdMs : 0;
      const query = `${after ? `after=${encodeURIComponent(after)}&` : ''}timeout_ms=${timeout}`;
      const abort = new AbortController();
      this.pollAbort = abort;
      const started = Date.now();
      try {
        const reply = await request('GET', sessionPath(this.o.code, `/events/poll?${query}`), {
          token: this.o.token(),
          timeoutMs: timeout + 10_000,
          signal: abort.signal,
        });
        if (!live()) return;
        errors = 0;
        this.report('live');
        const events = reply.events || [];
        for (const ev of events) if (ev.event !== 'heartbeat') this.o.onEvent(ev.event, ev.data, ev.id ?? null);
        after = reply.next;
        if (!held) {
          await sleep(T.shortPollMs);
          if (Date.now() - slotTried >= SLOT_RETRY_MS && live()) {
            slotTried = Date.now();
            if ((await this.takeSlot()) && live() && this.reason === 'connection limit' && this.o.transport !== 'poll') {
              this.stopPoll();
              this.openStream();
              return;
            }
          }
        } else if (!events.length && Date.now() - started < 1000) {
          await sleep(1000); // an empty reply should have waited: never spin
        }
      } catch (e) {
        if (!live() || e.cancelled) return;
        if (e.status === 401 || e.status === 404) return this.fatal(e);
        if (e.status === 400) {
          after = null; // an unreadable cursor: start afresh
          continue;
        }
        if (e.status === 429) {
          await sleep((e.retryAfterMs ?? 1000) + Math.random() * 300);
          continue;
        }
        const waited = Date.now() - started;
        if (held && waited >= 1000 && (e.status === 502 || e.status === 504 || e.status === 0)) {
          // A proxy ended the held request (its read timeout): not an outage.
          holdMs = Math.max(MIN_HOLD_MS, Math.floor(holdMs / 2));
          continue;
        }
        errors += 1;
        this.report('reconnecting');
        await sleep((e.retryAfterMs ?? Math.min(500 * 2 ** errors, 10_000)) + Math.random() * 300);
      }
    }
  }

  /** While polling: does streaming work again? A stream that delivers within the window wins. */
  async reprobe() {
    if (this.stopped || this.mode !== 'poll') return;
    const again = () => this.after('reprobe', T.reprobeMs, () => this.reprobe());
    const url = await this.o.streamUrl();
    if (this.stopped || this.mode !== 'poll' || !url) return;
    const es = new EventSource(url);
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      es.close();
      if (this.stopped || this.mode !== 'poll') return;
      if (!ok) return again();
      this.stopPoll();
      this.failures = 0;
      this.openStream();
    };
    const timer = setTimeout(() => settle(false), T.firstEventMs);
    es.addEventListener('session_state', () => settle(true));
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) settle(false);
    };
  }
}
