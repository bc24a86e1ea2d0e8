// api.js — the studio's one way to call the JSON API: same-origin cookies,
// the CSRF token header on state-changing requests, and errors as
// ApiError { status, code, message, fields }.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `Request failed (${status})`);
    this.status = status;
    this.code = e.code || 'http_error';
    this.fields = e.fields || {};
    this.details = e;
  }
}

/** Remember the CSRF token from a log-in / sign-up / GET /api/me body. */
export function setCsrf(token) { csrfToken = token || null; }

/** The CSRF token for requests made without api() (an XHR upload with progress). */
export function currentCsrf() { return csrfToken; }

/** Call the API; resolves with the parsed body, rejects with ApiError. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const r = await fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await r.json(); } catch { /* empty or not JSON */ }
  if (!r.ok) throw new ApiError(r.status, data);
  if (data && data.csrf_token) setCsrf(data.csrf_token);
  return data;
}

/** True when this browser was given a session (the server's readable hint cookie). */
export const maybeSignedIn = () => /(?:^|;\s*)cliploop_signed_in=1(?:;|$)/.test(document.cookie);

/**
 * The signed-in user (GET /api/me), or null when signed out. Without the
 * hint cookie nobody is signed in: no request (and no 401) is made.
 */
export async function loadMe() {
  if (!maybeSignedIn()) return null;
  try {
    return await api('/api/me');
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

/** Sign out and go to the log-in page. */
export async function signOut() {
  try { await api('/api/auth/logout', { method: 'POST', body: {} }); } catch { /* already signed out */ }
  location.assign('/login.html');
}

/** Escape text for innerHTML templates. */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
