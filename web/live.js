// Live events of a session for one page. The page renders at once from a plain GET of the
// session, then from live events, all through one `onEvent(name, data, meta)` callback.
//
// One connection per browser: the tabs showing the same session as the same user share
// it. One of them leads (tabs.js) and runs the transport (transport.js: streaming, or
// polling where streaming is held back); the others get its events over a
// BroadcastChannel, and a tab that joins late gets what the leader has seen since its
// last `session_state`. When the leader closes, the next tab takes over with a fresh
// stream. Tabs of different users (a host and a test player) each have their own
// connection: private events (`score`, `answers`) differ. Without BroadcastChannel a tab
// runs its own transport, which still keeps to the browser's connection slots.
//
// `?transport=poll` makes the page long-poll instead of streaming.
//
// EventSource cannot send headers, so streams authenticate with a stream ticket
// (`?ticket=`): short-lived and good for this session's event routes only, so the
// long-lived token never appears in a URL (where proxies and servers log it). Polls send
// the token as a header. A new ticket is fetched for each stream opened once the current
// one is close to its expiry.

import { ApiError, clock, request, sessionPath } from './api.js';
import { TAB_ID, lead } from './tabs.js';
import { Transport } from './transport.js';

/** Snapshot kinds: only the newest counts (presence lists who came and went: kept). */
const REPLACED = new Set(['leaderboard', 'score', 'answers']);
const MAX_REPLAY = 600;

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
   * @param {(status: {state: string, transport: string|null, reason: string|null}) => void} o.onStatus
   *   state: connecting | live | reconnecting | offline
   * @param {(err: ApiError) => void} o.onFatal  401 (bad token) or 404 (no such session)
   */
  constructor(o) {
    this.o = o;
    this.stopped = false;
    this.leader = false;
    this.transport = null;
    this.channel = null;
    this.unlead = null;
    this.delivered = false;
    this.status = { state: 'connecting', transport: null, reason: null };
    this.replay = [];
    this.tickets = new Tickets(o.code, o.token);
  }

  start() {
    this.setStatus(this.status);
    this.snapshot();
    const key = `live.${this.o.code}.${tokenSubject(this.o.token())}`;
    if (typeof BroadcastChannel === 'undefined') {
      this.becomeLeader();
      return this;
    }
    this.channel = new BroadcastChannel(`quizcast.${key}`);
    this.channel.onmessage = (m) => this.onMessage(m.data);
    this.post({ type: 'hello' });
    this.unlead = lead(key, () => this.becomeLeader());
    return this;
  }

  stop() {
    this.stopped = true;
    this.transport?.stop();
    this.unlead?.();
    this.channel?.close();
  }

  /** The URL EventSource opens (it cannot send headers); `null` without a ticket. */
  async streamUrl() {
    try {
      const ticket = await this.tickets.get();
      return `${sessionPath(this.o.code, '/events')}?ticket=${encodeURIComponent(ticket)}`;
    } catch {
      // No ticket (server out of reach, token refused): the transport finds out which.
      return null;
    }
  }

  /** Renders the page before any transport is decided; skipped once a live event came. */
  async snapshot() {
    try {
      const state = await request('GET', sessionPath(this.o.code), { token: this.o.token() });
      if (!this.delivered && !this.stopped) this.deliver('session_state', state, null);
    } catch {
      /* the transport reports what is wrong */
    }
  }

  // ---- leading ------------------------------------------------------------------------------

  becomeLeader() {
    if (this.stopped) return;
    this.leader = true;
    this.transport = new Transport({
      code: this.o.code,
      token: this.o.token,
      transport: this.o.transport,
      streamUrl: () => this.streamUrl(),
      onEvent: (name, data, id) => {
        this.remember(name, data, id);
        this.post({ type: 'event', name, data, id });
        this.deliver(name, data, id);
      },
      onStatus: (s) => {
        this.post({ type: 'status', status: s });
        this.setStatus(s);
      },
      onFatal: (e) => {
        this.post({ type: 'fatal', status: e.status, problem: e.problem });
        this.fatal(e);
      },
    });
    this.transport.start();
  }

  /** What a tab that joins late needs: everything since the last `session_state`. */
  remember(name, data, id) {
    if (name === 'session_state') this.replay = [];
    else if (REPLACED.has(name)) this.replay = this.replay.filter((e) => e.name !== name);
    this.replay.push({ name, data, id });
    if (this.replay.length > MAX_REPLAY) {
      const presence = this.replay.findIndex((e) => e.name === 'presence');
      this.replay.splice(presence >= 0 ? presence : 1, 1);
    }
  }

  post(message) {
    try {
      this.channel?.postMessage({ ...message, from: TAB_ID });
    } catch (e) {
      console.error('sharing a live event failed', e);
    }
  }

  // ---- following ----------------------------------------------------------------------------

  onMessage(m) {
    if (this.stopped || !m || m.from === TAB_ID) return;
    if (this.leader) {
      if (m.type === 'hello') this.post({ type: 'sync', to: m.from, events: this.replay, status: this.status });
      return;
    }
    switch (m.type) {
      case 'event':
        return this.deliver(m.name, m.data, m.id);
      case 'status':
        return this.setStatus(m.status);
      case 'sync':
        if (m.to !== TAB_ID) return;
        for (const e of m.events || []) this.deliver(e.name, e.data, e.id);
        if (m.status) this.setStatus(m.status);
        return;
      case 'fatal':
        return this.fatal(new ApiError(m.status, m.problem));
      default:
    }
  }

  // ---- to the page ----------------------------------------------------------------------------

  setStatus(s) {
    this.status = s;
    this.o.onStatus?.({ ...s, shared: !this.leader && Boolean(this.channel) });
  }

  fatal(e) {
    if (this.stopped) return;
    this.stop();
    this.o.onFatal?.(e);
  }

  deliver(name, data, id) {
    this.delivered = true;
    const received = Date.now();
    if (name === 'question_opened' && data?.closes_at) {
      // The question opened (closes_at - time_limit_ms) before we received it.
      clock.atMost(Date.parse(data.closes_at) - data.time_limit_ms, received);
    }
    if (name === 'session_state' && data?.question?.closes_at && data.status === 'question') {
      clock.atMost(Date.parse(data.question.closes_at) - data.question.time_left_ms, received);
    }
    try {
      this.o.onEvent(name, data, { id, received, transport: this.status.transport });
    } catch (e) {
      console.error('rendering', name, 'failed', e);
    }
  }
}

/** The user a token names (`sub`), to key the shared connection; not a check of the token. */
function tokenSubject(token) {
  try {
    const part = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part)).sub || 'anonymous';
  } catch {
    return 'anonymous';
  }
}

/** The transport the page asked for: `?transport=poll` forces long-polling. */
export function requestedTransport() {
  return new URLSearchParams(location.search).get('transport') === 'poll' ? 'poll' : 'sse';
}
