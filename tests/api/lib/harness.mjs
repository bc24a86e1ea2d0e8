// harness.mjs — shared helpers for the HTTP-level tests (node:test).
//
// Every test file gets its own database (created through
// CLIPLOOP_PG_ADMIN_URL, dropped at the end), runs the real `cliploop`
// binary (CLIPLOOP_BIN, default build/cliploop) against it, and talks HTTP.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/*
 * The keep-alive race. fetch (undici) keeps a connection for the next
 * request and drops it after 4 s idle; H2O closes one idle for 10 s. While a
 * test blocks node's event loop (psql and cliploop subcommands run
 * synchronously, and take long on a busy machine) undici's idle timer cannot
 * run, so after a long block fetch sends the next request on a connection
 * the server has closed: "fetch failed", cause "other side closed", although
 * the server never got the request. So in every test file that imports the
 * harness: when more than 4 s went by since fetch was last used, the next
 * request starts on a new connection pool (what undici's timer would have
 * done); and a GET or HEAD that still failed that way is sent once more, as
 * browsers do. Other methods are never sent twice.
 */
const DISPATCHER = Symbol.for('undici.globalDispatcher.1'); // where node's fetch keeps its connection pool
const IDLE_MS = 4000;
const fetchOnce = globalThis.fetch;
let lastUse = 0;
function freshPoolAfterIdle() {
  const pool = globalThis[DISPATCHER];
  if (lastUse && Date.now() - lastUse > IDLE_MS && pool && typeof pool.close === 'function') {
    globalThis[DISPATCHER] = new pool.constructor();
    pool.close().catch(() => {}); // once its requests in flight are done
  }
}
globalThis.fetch = async function fetchOnFreshConnections(input, init) {
  freshPoolAfterIdle();
  lastUse = Date.now();
  try {
    return await fetchOnce(input, init);
  } catch (e) {
    const method = String(init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const code = e?.cause?.code;
    if (!(e instanceof TypeError) || !['GET', 'HEAD'].includes(method) || !['UND_ERR_SOCKET', 'ECONNRESET'].includes(code)) throw e;
    return await fetchOnce(input, init);
  } finally {
    lastUse = Date.now();
  }
};

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.CLIPLOOP_BIN || path.join(ROOT, 'build', 'cliploop');
const ADMIN_URL = process.env.CLIPLOOP_PG_ADMIN_URL;

/** Run SQL with psql; returns rows as arrays of strings (unaligned, tab-separated). */
export function psql(url, sql) {
  const r = spawnSync('psql', [url, '-X', '-q', '-t', '-A', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

/** Replace the database name in a libpq URI. */
function withDb(url, db) {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}

/** Create a fresh, empty database; returns { url, drop() }. */
export function createDatabase(prefix = 't') {
  if (!ADMIN_URL) throw new Error('CLIPLOOP_PG_ADMIN_URL is not set (run through scripts/test)');
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
  psql(ADMIN_URL, `CREATE DATABASE ${name}`);
  return {
    url: withDb(ADMIN_URL, name),
    name,
    drop() {
      try { psql(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch { /* best effort */ }
    },
  };
}

/** Run a cliploop subcommand to completion; returns { status, stdout, stderr }. */
export function cliploop(args, env = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * How long a test waits for a render (or for what follows one: a chat card,
 * a publish) before it gives up. A bound against a hang, never a measurement:
 * a render takes seconds on a quiet machine, but several renders share 2
 * CPUs while test files run side by side, and busy machines are slower still.
 */
export const RENDER_WAIT_MS = 300000;

/** Poll fn (every 50 ms, up to ms) until it returns something truthy; returns that, or throws naming `what`. */
export async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Start a long-running cliploop subcommand (in cwd when given); collects its
 * stderr. fileSizeKiB: run it under that file-size limit (RLIMIT_FSIZE
 * through bash's `ulimit -f`): writes past it fail with EFBIG, like a full disk.
 */
export function startProcess(args, env = {}, { cwd, fileSizeKiB } = {}) {
  const opts = { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] };
  const child = fileSizeKiB
    ? spawn('bash', ['-c', `ulimit -f ${Number(fileSizeKiB)} && exec "$0" "$@"`, BIN, ...args], opts)
    : spawn(BIN, args, opts);
  const proc = { child, log: '', exited: null };
  child.stdout.on('data', (d) => { proc.log += d; });
  child.stderr.on('data', (d) => { proc.log += d; });
  proc.exit = new Promise((resolve) => child.on('exit', (code, signal) => { proc.exited = { code, signal }; resolve(proc.exited); }));
  /** Wait until the log matches re (or the process exits / time runs out). */
  proc.waitForLog = async (re, timeoutMs = 15000) => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (re.test(proc.log)) return true;
      if (proc.exited) break;
      await sleep(25);
    }
    throw new Error(`log never matched ${re}; log:\n${proc.log}`);
  };
  proc.stop = async (signal = 'SIGTERM') => {
    if (!proc.exited) child.kill(signal);
    return proc.exit;
  };
  return proc;
}

/**
 * Start `cliploop serve` on a free port against dbUrl (migrated first unless
 * migrate=false), on `port` when given (e.g. to put the URL into PUBLIC_BASE_URL
 * first), else on a free one, in working directory `cwd` when given. Returns { url, port, proc, stop() }.
 */
export async function startServer({ dbUrl, env = {}, migrate = true, port: fixedPort, cwd } = {}) {
  // A port found free can be taken before serve binds it (test files run side
  // by side, and every outgoing connection takes a port too): then another one.
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort || await freePort();
    const fullEnv = {
      DATABASE_URL: dbUrl, HOST: '127.0.0.1', PORT: String(port), CLIPLOOP_WORKERS: '0',
      CLIPLOOP_ENV_FILE: '/dev/null', ...env,
    };
    if (migrate && attempt === 1) {
      const m = cliploop(['migrate'], fullEnv);
      if (m.status !== 0) throw new Error(`migrate failed: ${m.stderr}`);
    }
    const proc = startProcess(['serve'], fullEnv, { cwd });
    const url = `http://127.0.0.1:${port}`;
    const end = Date.now() + 20000;
    let up = false;
    for (;;) {
      try { await fetch(url + '/healthz'); up = true; break; } catch { /* not up yet */ }
      if (proc.exited) break;
      if (Date.now() > end) { await proc.stop('SIGKILL'); throw new Error(`serve did not start:\n${proc.log}`); }
      await sleep(50);
    }
    if (up) return { url, port, proc, env: fullEnv, stop: (sig) => proc.stop(sig) };
    if (fixedPort || attempt >= 3 || !/cannot listen on .*Address already in use/.test(proc.log)) {
      throw new Error(`serve exited early: ${proc.log}`);
    }
  }
}

/**
 * A fresh database (createDatabase(prefix)) and `cliploop serve` on it in
 * mock mode (MOCK_MODE=true unless env says otherwise; env and opts as for
 * startServer). Returns { db, srv }; the caller stops srv and drops db. When
 * the server does not start, the database is dropped and the error thrown.
 */
export async function serveFresh(prefix, env = {}, opts = {}) {
  const db = createDatabase(prefix);
  try {
    return { db, srv: await startServer({ ...opts, dbUrl: db.url, env: { MOCK_MODE: 'true', ...env } }) };
  } catch (e) {
    db.drop();
    throw e;
  }
}

/**
 * A signed-in API client for the HTTP tests: keeps the session cookie like a
 * cookie jar and sends the CSRF token header on state-changing requests.
 *   const u = apiClient(srv.url);
 *   await u.signup('ada@example.com', 'password123');   // or u.login(...) / u.demoLogin()
 *   const r = await u.get('/api/me');                   // { status, body, headers }
 */
export function apiClient(baseUrl) {
  const c = { cookie: null, csrf: null, user: null, baseUrl };
  c.request = async (method, path, body, { headers = {}, csrf = true, redirect = 'follow' } = {}) => {
    const h = { ...headers };
    if (c.cookie) h.cookie = c.cookie;
    if (csrf && c.csrf && method !== 'GET') h['x-csrf-token'] = c.csrf;
    if (body !== undefined && typeof body !== 'string') h['content-type'] = 'application/json';
    const r = await fetch(baseUrl + path, {
      method, headers: h, redirect, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    for (const sc of r.headers.getSetCookie()) {
      const m = /^cliploop_session=([^;]*)/.exec(sc);
      if (m) c.cookie = m[1] ? `cliploop_session=${m[1]}` : null;
    }
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (json && typeof json.csrf_token === 'string') c.csrf = json.csrf_token;
    if (json && json.user && json.csrf_token) c.user = json.user;
    return { status: r.status, body: json, text, headers: r.headers };
  };
  c.get = (path, opts) => c.request('GET', path, undefined, opts);
  c.post = (path, body, opts) => c.request('POST', path, body === undefined ? {} : body, opts);
  c.signup = (email, password = 'password123') => c.post('/api/auth/signup', { email, password });
  c.login = (email, password = 'password123') => c.post('/api/auth/login', { email, password });
  c.demoLogin = () => c.post('/api/dev/demo-login');
  return c;
}

/**
 * A test file's server: a fresh database `name` and `cliploop serve` in
 * MOCK_MODE with env added (with storage, on a storage root of its own,
 * CLIPLOOP_STORAGE_DIR; port fixes the port). Returns {db, srv, storage,
 * stop}; stop() (the file's after()) stops and removes all of it.
 */
export async function startMockServer(name, { env = {}, storage = false, port } = {}) {
  const w = { db: createDatabase(name) };
  w.stop = async () => {
    if (w.srv) await w.srv.stop();
    w.db.drop();
    if (w.storage) rmSync(w.storage, { recursive: true, force: true });
  };
  try {
    if (storage) w.storage = mkdtempSync(path.join(tmpdir(), `cliploop-${name.replace(/_/g, '-')}-`));
    w.srv = await startServer({
      dbUrl: w.db.url, port, env: { MOCK_MODE: 'true', ...(w.storage ? { CLIPLOOP_STORAGE_DIR: w.storage } : {}), ...env },
    });
  } catch (e) {
    await w.stop();
    throw e;
  }
  return w;
}

/** Poll GET /api/content-items/:id until it is rendered or render_failed; its body. */
export async function waitRendered(client, id, ms = RENDER_WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await client.get(`/api/content-items/${id}`);
    if (r.body.status === 'rendered' || r.body.status === 'render_failed') return r.body;
    if (Date.now() > end) throw new Error(`not rendered: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * Sign `client` in as the demo user (mock mode) and create a project with the
 * given business profile fields. Returns { userId, projectId } (userId as text).
 */
export async function demoProject(client, dbUrl, profile) {
  const login = await client.demoLogin();
  if (login.status !== 200) throw new Error(`demo login: ${login.status} ${login.text}`);
  const userId = psql(dbUrl, "SELECT id FROM users WHERE email = 'demo@cliploop.test'")[0][0];
  const p = await client.post('/api/projects', {
    name: profile.business_name, project_type: 'business', preferred_channels: ['instagram'],
    language_style: 'english', ...profile,
  });
  if (p.status !== 201) throw new Error(`create project: ${p.status} ${p.text}`);
  return { userId, projectId: p.body.project?.id ?? p.body.id };
}

/**
 * Follow the newest address-verification link mailed to `email`, read from
 * the mock mailer's outbox (MOCK_MODE, GET /api/dev/mail, loopback only). The
 * link works without a session, as from another device. Returns the verify
 * answer's body.
 */
export async function verifyEmailOf(baseUrl, email) {
  const log = await fetch(baseUrl + '/api/dev/mail?limit=500').then(async (r) => ({ status: r.status, text: await r.text() }));
  if (log.status !== 200) throw new Error(`mail log: ${log.status} ${log.text}`);
  const m = JSON.parse(log.text).messages.find((x) => x.to === email && x.kind === 'verify_email');
  if (!m) throw new Error(`no verification mail for ${email}`);
  const token = new URL(m.text.match(/https?:\/\/\S+/)[0]).searchParams.get('token');
  const r = await fetch(baseUrl + '/api/auth/verify-email', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`verify ${email}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/** verifyEmailOf for the user signed in on an apiClient. */
export async function verifyEmail(client) {
  return verifyEmailOf(client.baseUrl, client.user && client.user.email);
}

/** A signed-up user whose address is verified (a paid plan applies only to a verified address, docs/accounts.md). */
export async function verifiedUser(baseUrl, email) {
  const c = apiClient(baseUrl);
  const r = await c.signup(email);
  if (r.status !== 201) throw new Error(`signup ${email}: ${r.status} ${JSON.stringify(r.body)}`);
  await verifyEmail(c);
  return c;
}

/** A signed-up user approved for the product (beta, through the mock-mode dev route). */
export async function betaUser(baseUrl, email) {
  const c = apiClient(baseUrl);
  const r = await c.signup(email);
  if (r.status !== 201) throw new Error(`signup ${email}: ${r.status} ${JSON.stringify(r.body)}`);
  const a = await c.post('/api/dev/approve-user', { email, plan: 'beta' });
  if (a.status !== 200) throw new Error(`approve ${email}: ${a.status} ${JSON.stringify(a.body)}`);
  return c;
}
