// What this browser's tabs of one origin agree on: which tab leads a shared connection,
// and how many long-lived connections (event streams, held polls) the tabs hold at once.
// Web Locks do both and let go by themselves when a tab closes or crashes; where they are
// missing (they need a secure context: HTTPS or localhost), a lease in localStorage that
// its holder renews every second stands in.

import { randomId } from './api.js';

/** This tab, in messages to the other tabs. */
export const TAB_ID = randomId(8);

const LEASE_MS = 3500;
const RENEW_MS = 1000;

const hasLocks = () => typeof navigator !== 'undefined' && Boolean(navigator.locks?.request);

/**
 * Waits for this tab's turn to lead `name` (one leader per name among the tabs), then calls
 * `onLead()`. A leader keeps the role until its tab closes or the returned function is
 * called; the next waiting tab then takes over.
 */
export function lead(name, onLead) {
  if (hasLocks()) {
    const abort = new AbortController();
    let release = null;
    navigator.locks
      .request(`quizcast.${name}`, { signal: abort.signal }, () => new Promise((resolve) => {
        release = resolve;
        onLead();
      }))
      .catch(() => {}); // aborted while waiting
    return () => {
      abort.abort();
      release?.();
    };
  }
  const lease = new Lease(name);
  let timer = null;
  const attempt = () => {
    if (lease.take()) {
      clearInterval(timer);
      onLead();
    }
  };
  timer = setInterval(attempt, RENEW_MS);
  attempt();
  return () => {
    clearInterval(timer);
    lease.release();
  };
}

/**
 * One of `count` slots named `name.0` … at once, or null when every one is taken.
 * Resolves to the function that gives the slot back.
 */
export async function trySlot(name, count) {
  for (let i = 0; i < count; i++) {
    const release = await tryOne(`${name}.${i}`);
    if (release) return release;
  }
  return null;
}

async function tryOne(name) {
  if (hasLocks()) {
    let release = null;
    const got = await new Promise((resolve) => {
      navigator.locks
        .request(`quizcast.${name}`, { ifAvailable: true }, (lock) => {
          if (!lock) return resolve(false);
          return new Promise((done) => {
            release = done;
            resolve(true);
          });
        })
        .catch(() => resolve(false));
    });
    return got ? () => release() : null;
  }
  const lease = new Lease(name);
  return lease.take() ? () => lease.release() : null;
}

/** A named lease in localStorage, renewed while held and dropped when the page goes. */
class Lease {
  constructor(name) {
    this.key = `quizcast.lease.${name}`;
    this.timer = null;
    this.onHide = () => this.release();
  }

  read() {
    try {
      return JSON.parse(localStorage.getItem(this.key) || 'null');
    } catch {
      return null;
    }
  }

  write() {
    localStorage.setItem(this.key, JSON.stringify({ id: TAB_ID, until: Date.now() + LEASE_MS }));
  }

  take() {
    const held = this.read();
    if (held && held.id !== TAB_ID && held.until > Date.now()) return false;
    try {
      this.write();
    } catch {
      return true; // no storage at all: nothing to agree with, act alone
    }
    if (this.read()?.id !== TAB_ID) return false;
    if (!this.timer) {
      this.timer = setInterval(() => {
        if (this.read()?.id === TAB_ID) this.write();
      }, RENEW_MS);
      addEventListener('pagehide', this.onHide);
    }
    return true;
  }

  release() {
    clearInterval(this.timer);
    this.timer = null;
    removeEventListener('pagehide', this.onHide);
    try {
      if (this.read()?.id === TAB_ID) localStorage.removeItem(this.key);
    } catch {
      /* storage gone: the lease runs out by itself */
    }
  }
}
