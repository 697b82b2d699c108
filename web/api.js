// Talking to the quizcast API: who we are (a guest token per browser tab), JSON calls with
// problem+json errors, and the offset between this device's clock and the server's.

const AUTH_KEY = 'quizcast.auth';
const WATCH_PREFIX = 'quizcast.watch.';
const HOSTED_PREFIX = 'quizcast.hosted.';

export class ApiError extends Error {
  constructor(status, problem, retryAfterMs = null) {
    const detail = problem?.detail || problem?.title || (status ? `HTTP ${status}` : 'network error');
    super(detail);
    this.status = status; // 0: the request never got an HTTP answer
    this.problem = problem || null;
    this.retryAfterMs = retryAfterMs;
  }
  get network() {
    return this.status === 0;
  }
}

// ---- clock skew ---------------------------------------------------------------------------
// Server time = Date.now() + offset. Each HTTP answer's `Date` header (whole seconds, taken
// somewhere between sending and receiving) bounds the offset; intersecting the bounds of
// every answer narrows it down. Exact server instants (e.g. `closes_at - time_left_ms`
// received at a known moment) tighten the bounds further.
export const clock = {
  lo: -Infinity,
  hi: Infinity,
  offset: 0,
  now() {
    return Date.now() + this.offset;
  },
  /** The server's clock read `serverMs` at some local instant in [t0, t1]. */
  sample(serverLo, serverHi, t0, t1) {
    const lo = serverLo - t1;
    const hi = serverHi - t0;
    let newLo = Math.max(this.lo, lo);
    let newHi = Math.min(this.hi, hi);
    if (newLo > newHi) {
      // A clock jumped (device sleep, NTP): trust the newest sample only.
      newLo = lo;
      newHi = hi;
    }
    this.lo = newLo;
    this.hi = newHi;
    if (Number.isFinite(newLo) && Number.isFinite(newHi)) this.offset = (newLo + newHi) / 2;
    else if (Number.isFinite(newLo)) this.offset = newLo;
    else if (Number.isFinite(newHi)) this.offset = newHi;
  },
  fromDateHeader(value, t0, t1) {
    const d = value ? Date.parse(value) : NaN;
    if (Number.isFinite(d)) this.sample(d, d + 999, t0, t1);
  },
  /** The server was at `serverMs` at some moment before `received`. */
  atMost(serverMs, received) {
    if (Number.isFinite(serverMs)) this.sample(serverMs, Infinity, -Infinity, received);
  },
};

// ---- identity ----------------------------------------------------------------------------

function readJson(storage, key) {
  try {
    const v = JSON.parse(storage.getItem(key) || 'null');
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

function fresh(auth) {
  return auth?.token && (!auth.expires_at || Date.parse(auth.expires_at) - Date.now() > 60_000)
    ? auth
    : null;
}

/** This tab's guest identity (sessionStorage: each tab can be a different player). */
export function currentAuth() {
  return fresh(readJson(sessionStorage, AUTH_KEY));
}

export function saveAuth(auth) {
  sessionStorage.setItem(AUTH_KEY, JSON.stringify(auth));
}

export function clearAuth() {
  sessionStorage.removeItem(AUTH_KEY);
}

/** The identity that hosts `code`, kept in localStorage so the host can reopen the page. */
export function hostedAuth(code) {
  return fresh(readJson(localStorage, HOSTED_PREFIX + code));
}

/**
 * A big-screen link's token (`/screen/CODE#watch=…`, from the host's page): it watches this
 * session as the host's own screen does and changes nothing. Kept in localStorage, so the
 * projector's browser can reopen the page, and taken out of the address bar.
 */
export function watchAuth(code) {
  const key = WATCH_PREFIX + code;
  const found = /(?:^#|&)watch=([^&]+)/.exec(globalThis.location?.hash || '');
  if (found) {
    const token = decodeURIComponent(found[1]);
    try {
      localStorage.setItem(key, JSON.stringify({ token, expires_at: tokenExpiry(token) }));
    } catch {
      /* storage disabled: this load still works */
      return { token };
    } finally {
      history.replaceState(null, '', location.pathname + location.search);
    }
  }
  return fresh(readJson(localStorage, key));
}

/** A JWT's `exp` as an ISO date, or null; not a check of the token. */
function tokenExpiry(token) {
  try {
    const part = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(atob(part)).exp;
    return Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : null;
  } catch {
    return null;
  }
}

export function rememberHosted(code, auth, settings = {}) {
  try {
    localStorage.setItem(HOSTED_PREFIX + code, JSON.stringify({ ...auth, settings }));
  } catch {
    /* storage full or disabled: the host page still works in this tab */
  }
}

/** Signs in as a guest. `credentials: 'omit'` keeps the server's cookie out of this browser:
 * identities live per tab, and a cookie of another tab's user would otherwise win over
 * the `?ticket=` of this tab's event stream. */
export async function guestLogin(displayName) {
  const auth = await request('POST', '/api/v1/auth/guest', { body: { display_name: displayName } });
  saveAuth(auth);
  return auth;
}

// ---- requests -------------------------------------------------------------------------------

function retryAfter(res) {
  const v = res.headers.get('retry-after');
  if (!v) return null;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/**
 * request('POST', '/api/v1/…', { token, body, text, contentType, timeoutMs, accept })
 * → parsed JSON (or text for non-JSON answers, null for 204). Throws ApiError.
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: opts.accept || 'application/json' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  } else if (opts.text !== undefined) {
    headers['Content-Type'] = opts.contentType || 'text/plain';
    body = opts.text;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs || 15_000);
  if (opts.signal) opts.signal.addEventListener('abort', () => controller.abort(), { once: true });
  const t0 = Date.now();
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body,
      credentials: 'omit',
      cache: 'no-store',
      signal: controller.signal,
    });
  } catch (e) {
    clearTimeout(timer);
    const err = new ApiError(0, { detail: opts.signal?.aborted ? 'cancelled' : 'network error' });
    err.cause = e;
    err.cancelled = Boolean(opts.signal?.aborted);
    throw err;
  }
  const t1 = Date.now();
  clock.fromDateHeader(res.headers.get('date'), t0, t1);
  try {
    const type = res.headers.get('content-type') || '';
    if (!res.ok) {
      let problem = null;
      try {
        problem = type.includes('json') ? await res.json() : { detail: await res.text() };
      } catch {
        problem = null;
      }
      throw new ApiError(res.status, problem, retryAfter(res));
    }
    if (res.status === 204) return null;
    if (opts.raw) return res;
    const data = type.includes('json') ? await res.json() : await res.text();
    return opts.withTiming ? { data, t0, t1 } : data;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(0, { detail: 'the connection broke while reading the answer' });
  } finally {
    clearTimeout(timer);
  }
}

export const sessionPath = (code, rest = '') => `/api/v1/sessions/${encodeURIComponent(code)}${rest}`;

/** Session codes: 6 characters of an alphabet without look-alikes, case-insensitive. */
export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export function normaliseCode(input) {
  return String(input || '')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '');
}
export function validCode(code) {
  return code.length === 6 && [...code].every((c) => CODE_ALPHABET.includes(c));
}

/** Random hex (works outside secure contexts, unlike crypto.randomUUID). */
export function randomId(bytes = 12) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return [...a].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` a few times on answers that may pass (409 while results are written, a
 * network blink, a 5xx). */
export async function withRetry(fn, attempts = 5) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const transient = e instanceof ApiError && (e.status === 409 || e.network || e.status >= 500);
      if (!transient || attempt >= attempts) throw e;
      await sleep(400 * attempt);
    }
  }
}
