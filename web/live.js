// Live events of a session, over Server-Sent Events or the long-poll fallback. Both hand
// every event to the same `onEvent(name, data)` callback, so one code path renders them.
//
// Streaming: EventSource reconnects by itself and resumes with Last-Event-ID. While it is
// down the status is "reconnecting". When streaming keeps failing while plain HTTP works
// (a proxy that breaks or buffers streams), the connection switches to long-polling for
// the rest of the page's life. `?transport=poll` starts with long-polling.
//
// Both transports authenticate with a stream ticket (`?ticket=`): short-lived and good for
// this session's event routes only, so the long-lived token never appears in a URL (where
// proxies and servers log it). A new ticket is fetched when the current one is about to
// expire or is refused.

import { ApiError, clock, request, sessionPath, sleep } from './api.js';

const EVENTS = [
  'session_state',
  'question_opened',
  'question_closed',
  'session_finished',
  'leaderboard',
  'presence',
  'score',
  'answers',
];

/** Streaming failures, each while a plain request succeeded, before switching to polling. */
const SWITCH_AFTER = 3;
/** An open stream must deliver its first event (the server sends one at once) within this. */
const FIRST_EVENT_WITHIN_MS = 10_000;
const POLL_TIMEOUT_MS = 25_000;
/** A ticket this close to its expiry (server time) is replaced before use. */
const TICKET_MARGIN_MS = 60_000;

/** Stream tickets of one session for one user, fetched when needed. */
class Tickets {
  constructor(code, token) {
    this.code = code;
    this.token = token;
    this.ticket = null;
    this.expiresAt = 0;
    this.pending = null;
  }

  usable() {
    return this.ticket !== null && this.expiresAt - clock.now() > TICKET_MARGIN_MS;
  }

  expired() {
    return this.ticket === null || this.expiresAt <= clock.now();
  }

  /** A ticket good for a while yet. Throws ApiError (401: the token is refused; 404: no session). */
  async get() {
    if (this.usable()) return this.ticket;
    if (!this.pending) {
      this.pending = request('POST', sessionPath(this.code, '/ticket'), { token: this.token(), timeoutMs: 10_000 })
        .then((t) => {
          this.ticket = t.ticket;
          this.expiresAt = Date.parse(t.expires_at);
          return t.ticket;
        })
        .finally(() => {
          this.pending = null;
        });
    }
    return this.pending;
  }

  invalidate() {
    this.ticket = null;
  }
}

export class LiveConnection {
  /**
   * @param {object} o
   * @param {string} o.code
   * @param {() => string} o.token
   * @param {'sse'|'poll'} o.transport
   * @param {(name: string, data: any, meta: object) => void} o.onEvent
   * @param {(status: {state: string, transport: string}) => void} o.onStatus
   * @param {(err: ApiError) => void} o.onFatal  401 (bad token) or 404 (no such session)
   */
  constructor(o) {
    this.o = o;
    this.transport = o.transport === 'poll' ? 'poll' : 'sse';
    this.state = 'connecting';
    this.stopped = false;
    this.es = null;
    this.failures = 0; // streaming failures while plain HTTP worked, in a row
    this.watchdog = null;
    this.reopenTimer = null;
    this.pollAbort = null;
    this.lastEventId = null;
    this.lastEventAt = 0;
    this.switchedReason = null;
    this.tickets = new Tickets(o.code, o.token);
  }

  start() {
    if (typeof EventSource === 'undefined') this.transport = 'poll';
    this.setState('connecting');
    if (this.transport === 'poll') this.pollLoop();
    else this.openStream();
    return this;
  }

  stop() {
    this.stopped = true;
    this.closeStream();
    clearTimeout(this.reopenTimer);
    this.pollAbort?.abort();
  }

  setState(state) {
    this.state = state;
    this.o.onStatus?.({ state, transport: this.transport, reason: this.switchedReason });
  }

  deliver(name, data, id) {
    if (id !== null && id !== undefined && id !== '') this.lastEventId = String(id);
    const received = Date.now();
    if (name === 'question_opened' && data?.closes_at) {
      // The question opened (closes_at - time_limit_ms) before we received it.
      clock.atMost(Date.parse(data.closes_at) - data.time_limit_ms, received);
    }
    if (name === 'session_state' && data?.question?.closes_at && data.status === 'question') {
      clock.atMost(Date.parse(data.question.closes_at) - data.question.time_left_ms, received);
    }
    try {
      this.o.onEvent(name, data, { id, received, transport: this.transport });
    } catch (e) {
      console.error('rendering', name, 'failed', e);
    }
  }

  // ---- Server-Sent Events ------------------------------------------------------------------

  async openStream() {
    if (this.stopped) return;
    let ticket;
    try {
      ticket = await this.tickets.get();
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
        this.stop();
        this.o.onFatal?.(e);
        return;
      }
      // No ticket (network, server busy): retry like any failed stream.
      this.setState('reconnecting');
      clearTimeout(this.reopenTimer);
      this.reopenTimer = setTimeout(() => {
        if (!this.es && !this.stopped && this.transport === 'sse') this.openStream();
      }, (e.retryAfterMs ?? 2000) + Math.random() * 500);
      return;
    }
    if (this.stopped || this.es || this.transport !== 'sse') return;
    const url = `${sessionPath(this.o.code, '/events')}?ticket=${encodeURIComponent(ticket)}`;
    const es = new EventSource(url);
    this.es = es;
    es.onopen = () => {
      if (this.es !== es) return;
      clearTimeout(this.watchdog);
      this.watchdog = setTimeout(() => this.streamFailed(es, 'no events'), FIRST_EVENT_WITHIN_MS);
    };
    for (const name of EVENTS) {
      es.addEventListener(name, (ev) => {
        if (this.es !== es) return;
        if (this.watchdog) {
          clearTimeout(this.watchdog);
          this.watchdog = null;
        }
        this.failures = 0;
        this.lastEventAt = Date.now();
        if (this.state !== 'live') this.setState('live');
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          return;
        }
        this.deliver(name, data, ev.lastEventId);
      });
    }
    es.onerror = () => {
      if (this.es !== es) return;
      this.streamFailed(es, es.readyState === EventSource.CLOSED ? 'closed' : 'dropped');
    };
  }

  closeStream() {
    clearTimeout(this.watchdog);
    this.watchdog = null;
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  async streamFailed(es, why) {
    if (this.stopped || this.es !== es) return;
    clearTimeout(this.watchdog);
    this.watchdog = null;
    this.setState('reconnecting');
    // 'dropped': the browser reconnects by itself (with Last-Event-ID). 'closed' (an HTTP
    // error answer) and 'no events' (a buffering proxy): we must open a new stream.
    const mustReopen = why !== 'dropped';
    if (mustReopen) this.closeStream();
    if (why === 'closed' && this.tickets.expired()) {
      // The browser reconnected with a ticket that has since expired: not a failure.
      this.tickets.invalidate();
      this.openStream();
      return;
    }
    const failedAt = Date.now();
    const httpWorks = await this.probe();
    if (this.stopped || httpWorks === 'fatal') return;
    if (this.lastEventAt >= failedAt) return; // the stream came back while we probed
    this.failures = httpWorks ? this.failures + 1 : 0;
    if (this.failures >= SWITCH_AFTER) {
      this.switchedReason = 'streaming keeps failing';
      this.closeStream();
      this.transport = 'poll';
      this.pollLoop();
      return;
    }
    if (mustReopen || this.es === null) {
      clearTimeout(this.reopenTimer);
      const delay = Math.min(1000 * 2 ** Math.max(0, this.failures - 1), 8000) + Math.random() * 500;
      this.reopenTimer = setTimeout(() => {
        if (!this.es && !this.stopped && this.transport === 'sse') this.openStream();
      }, delay);
    }
  }

  /** Does a plain request work? true / false, or 'fatal' (token refused, session gone). */
  async probe() {
    try {
      await request('GET', sessionPath(this.o.code), { token: this.o.token(), timeoutMs: 5000 });
      return true;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
        this.stop();
        this.o.onFatal?.(e);
        return 'fatal';
      }
      return false;
    }
  }

  // ---- long-poll -----------------------------------------------------------------------------

  async pollLoop() {
    let after = null;
    let errors = 0;
    let refusedTickets = 0;
    while (!this.stopped) {
      const query = after
        ? `&after=${encodeURIComponent(after)}&timeout_ms=${POLL_TIMEOUT_MS}`
        : `&timeout_ms=${POLL_TIMEOUT_MS}`;
      this.pollAbort = new AbortController();
      const started = Date.now();
      try {
        const ticket = await this.tickets.get();
        let reply;
        try {
          reply = await request('GET', sessionPath(this.o.code, `/events/poll?ticket=${encodeURIComponent(ticket)}${query}`), {
            timeoutMs: POLL_TIMEOUT_MS + 10_000,
            signal: this.pollAbort.signal,
          });
        } catch (e) {
          // A refused ticket (expired while we waited, clocks apart): fetch one more, once.
          if (e instanceof ApiError && e.status === 401 && refusedTickets === 0) {
            refusedTickets += 1;
            this.tickets.invalidate();
            continue;
          }
          throw e;
        }
        refusedTickets = 0;
        if (this.stopped) return;
        errors = 0;
        if (this.state !== 'live') this.setState('live');
        const events = reply.events || [];
        for (const ev of events) this.deliver(ev.event, ev.data, ev.id);
        after = reply.next;
        // An empty reply should have waited for the timeout; never spin if it did not.
        if (!events.length && Date.now() - started < 1000) await sleep(1000);
      } catch (e) {
        if (this.stopped) return;
        if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
          this.stop();
          this.o.onFatal?.(e);
          return;
        }
        if (e instanceof ApiError && e.status === 400) after = null; // unreadable cursor: start afresh
        errors += 1;
        this.setState('reconnecting');
        const backoff = e.retryAfterMs ?? Math.min(500 * 2 ** errors, 10_000);
        await sleep(backoff + Math.random() * 300);
      }
    }
  }
}

/** The transport the page asked for: `?transport=poll` forces long-polling. */
export function requestedTransport() {
  return new URLSearchParams(location.search).get('transport') === 'poll' ? 'poll' : 'sse';
}
