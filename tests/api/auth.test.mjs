// Accounts and access: sign-up/log-in/log-out, session cookie attributes,
// hashed tokens, expiry and revocation, CSRF, login throttling (429 +
// Retry-After, shared across processes), the invite-only gate, the waitlist
// dedupe, and the mock-mode dev routes (absent outside MOCK_MODE).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createDatabase, startServer, psql, apiClient, verifyEmail } from './lib/harness.mjs';

let db, srv, plain;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  db = createDatabase('auth');
  const common = {
    CLIPLOOP_SCRYPT_LOG_N: '10', CLIPLOOP_LOGIN_MAX_FAILURES: '3', CLIPLOOP_LOGIN_MAX_FAILURES_PER_ADDR: '8',
    CLIPLOOP_LOGIN_WINDOW_SECONDS: '60',
  };
  srv = await startServer({ dbUrl: db.url, env: { ...common, MOCK_MODE: 'true', CLIPLOOP_TEST_ROUTES: 'true' } });
  // A second process on the same database: not in mock mode, 2 s sessions.
  plain = await startServer({ dbUrl: db.url, migrate: false,
    env: { ...common, MOCK_MODE: 'false', CLIPLOOP_SESSION_TTL_SECONDS: '2', LLM_PROVIDER: 'mock' } });
});

after(async () => {
  if (srv) await srv.stop();
  if (plain) await plain.stop();
  if (db) db.drop();
});

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code);
  assert.ok(r.body.error.message.length > 0);
}

test('sign-up creates an account, sets a hardened session cookie and stores only the token hash', async () => {
  const r = await fetch(srv.url + '/api/auth/signup', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: '  Ada@Example.com ', password: 'correct horse battery' }),
  });
  assert.equal(r.status, 201);
  const body = await r.json();
  assert.equal(body.user.email, 'ada@example.com');
  assert.equal(body.plan.id, 'free');
  assert.equal(body.access.product, false);
  assert.equal(body.access.waitlisted, true);
  assert.match(body.csrf_token, /^[0-9a-f]{32}$/);
  const [cookie] = r.headers.getSetCookie();
  assert.match(cookie, /^cliploop_session=[0-9a-f]{64};/);
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Lax/);
  assert.match(cookie, /; Path=\//);
  assert.doesNotMatch(cookie, /Secure/);
  const token = /^cliploop_session=([0-9a-f]{64})/.exec(cookie)[1];
  const rows = psql(db.url, `SELECT s.token_hash, extract(epoch FROM s.expires_at - s.created_at)::int FROM sessions s
    JOIN users u ON u.id = s.user_id WHERE u.email = 'ada@example.com'`);
  assert.equal(rows.length, 1);
  assert.equal(rows[0][0], createHash('sha256').update(token).digest('hex'));
  assert.notEqual(rows[0][0], token);
  assert.equal(rows[0][1], String(14 * 24 * 3600)); // default CLIPLOOP_SESSION_TTL_SECONDS
  const [[hash]] = psql(db.url, "SELECT password_hash FROM users WHERE email = 'ada@example.com'");
  assert.match(hash, /^scrypt\$10\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
  assert.ok(!srv.proc.log.includes('correct horse battery'), 'password must never be logged');
  assert.ok(!srv.proc.log.includes(token), 'session token must never be logged');
});

test('the cookie is Secure when the request came over TLS (X-Forwarded-Proto)', async () => {
  const r = await fetch(srv.url + '/api/auth/signup', {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
    body: JSON.stringify({ email: 'tls@example.com', password: 'password123' }),
  });
  assert.equal(r.status, 201);
  assert.match(r.headers.getSetCookie()[0], /; Secure/);
});

test('sign-up validation names the field; duplicates are 409; bad JSON is 400', async () => {
  const u = apiClient(srv.url);
  let r = await u.signup('not-an-email', 'password123');
  assertError(r, 422, 'validation_failed');
  assert.ok(r.body.error.fields.email);
  r = await u.signup('short@example.com', 'short');
  assertError(r, 422, 'validation_failed');
  assert.ok(r.body.error.fields.password);
  r = await u.post('/api/auth/signup', { email: 'nopw@example.com' });
  assert.ok(r.body.error.fields.password);
  r = await u.post('/api/auth/signup', '{"email":');
  assertError(r, 400, 'invalid_json');
  r = await u.signup('ADA@example.com', 'password123');
  assertError(r, 409, 'email_taken');
});

test('log-in works with the right password and answers the same 401 for a wrong one or an unknown email', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('login@example.com', 'password123')).status, 201);
  const v = apiClient(srv.url);
  let r = await v.login('login@example.com', 'wrong-password');
  assertError(r, 401, 'invalid_credentials');
  const wrongMsg = r.body.error.message;
  r = await v.login('nobody@example.com', 'password123');
  assertError(r, 401, 'invalid_credentials');
  assert.equal(r.body.error.message, wrongMsg);
  r = await v.login('LOGIN@example.com', 'password123');
  assert.equal(r.status, 200);
  assert.equal(r.body.user.email, 'login@example.com');
  r = await v.get('/api/me');
  assert.equal(r.status, 200);
  assert.equal(r.body.user.email, 'login@example.com');
  assert.equal(r.body.csrf_token, v.csrf);
});

test('every /api/me route needs a session', async () => {
  for (const p of ['/api/me', '/api/me/plan', '/api/me/usage', '/api/me/credits', '/api/me/transactions']) {
    const r = await fetch(srv.url + p);
    assert.equal(r.status, 401, p);
    assert.equal((await r.json()).error.code, 'unauthenticated');
    const bogus = await fetch(srv.url + p, { headers: { cookie: 'cliploop_session=' + 'a'.repeat(64) } });
    assert.equal(bogus.status, 401, p);
  }
});

test('CSRF: state-changing requests need the token header and a same-origin request', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('csrf@example.com')).status, 201);
  let r = await u.post('/api/auth/logout', {}, { csrf: false });
  assertError(r, 403, 'csrf_failed');
  r = await u.post('/api/auth/logout', {}, { csrf: false, headers: { 'x-csrf-token': 'f'.repeat(32) } });
  assertError(r, 403, 'csrf_failed');
  r = await u.post('/api/auth/logout', {}, { headers: { origin: 'http://evil.example' } });
  assertError(r, 403, 'csrf_failed');
  r = await u.post('/api/auth/logout', {}, { headers: { origin: 'http://127.0.0.1:1' } });
  assertError(r, 403, 'csrf_failed');
  r = await u.post('/api/auth/logout', {}, { headers: { 'sec-fetch-site': 'cross-site' } });
  assertError(r, 403, 'csrf_failed');
  // Still signed in after all the refused attempts.
  assert.equal((await u.get('/api/me')).status, 200);
  // Log-in and sign-up refuse cross-site browsers too.
  r = await u.post('/api/auth/login', { email: 'csrf@example.com', password: 'password123' },
    { headers: { origin: 'http://evil.example' } });
  assertError(r, 403, 'csrf_failed');
  // Same origin + token: accepted.
  r = await u.post('/api/auth/logout', {}, { headers: { origin: srv.url, 'sec-fetch-site': 'same-origin' } });
  assert.equal(r.status, 200);
});

test('log-out revokes only that session; logout-all revokes every session', async () => {
  const a = apiClient(srv.url), b = apiClient(srv.url);
  assert.equal((await a.signup('revoke@example.com')).status, 201);
  assert.equal((await b.login('revoke@example.com')).status, 200);
  const oldCookie = a.cookie;
  const r = await a.post('/api/auth/logout');
  assert.equal(r.status, 200);
  assert.match(r.headers.getSetCookie()[0], /Max-Age=0/);
  // The old cookie no longer works even if a client kept it.
  const stale = await fetch(srv.url + '/api/me', { headers: { cookie: oldCookie } });
  assert.equal(stale.status, 401);
  assert.equal((await b.get('/api/me')).status, 200);
  const c = apiClient(srv.url);
  assert.equal((await c.login('revoke@example.com')).status, 200);
  const all = await b.post('/api/auth/logout-all');
  assert.equal(all.status, 200);
  assert.ok(all.body.sessions_revoked >= 2);
  assert.equal((await c.get('/api/me')).status, 401);
  const [[n]] = psql(db.url, `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE u.email = 'revoke@example.com' AND s.revoked_at IS NULL`);
  assert.equal(n, '0');
});

test('sessions expire after CLIPLOOP_SESSION_TTL_SECONDS', async () => {
  const u = apiClient(plain.url);
  assert.equal((await u.signup('expiry@example.com')).status, 201);
  assert.equal((await u.get('/api/me')).status, 200);
  await sleep(2300);
  const r = await u.get('/api/me');
  assertError(r, 401, 'unauthenticated');
  // A session forced past its expiry in the database is refused as well.
  const v = apiClient(srv.url);
  assert.equal((await v.login('expiry@example.com')).status, 200);
  assert.equal((await v.get('/api/me')).status, 200);
  psql(db.url, `UPDATE sessions SET expires_at = now() - interval '1 second'
    WHERE user_id = (SELECT id FROM users WHERE email = 'expiry@example.com')`);
  assert.equal((await v.get('/api/me')).status, 401);
});

test('invite-only: a new account is waitlisted until approved; approve-user sets beta, Pro or free', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('gate@example.com')).status, 201);
  let r = await u.get('/api/_test/product');
  assertError(r, 403, 'waitlisted');
  const admin = apiClient(srv.url);
  r = await admin.post('/api/dev/approve-user', { email: 'gate@example.com', plan: 'beta' });
  assert.equal(r.status, 200);
  assert.equal(r.body.user_exists, true);
  r = await u.get('/api/me');
  assert.equal(r.body.plan.id, 'beta');
  assert.equal(r.body.access.product, true);
  assert.equal((await u.get('/api/_test/product')).status, 200);
  r = await admin.post('/api/dev/approve-user', { email: 'gate@example.com', plan: 'starter' });
  assert.equal(r.status, 200);
  r = await u.get('/api/me');
  assert.equal(r.body.plan.id, 'starter');
  assert.equal(r.body.plan.label, 'Pro');
  r = await admin.post('/api/dev/approve-user', { email: 'gate@example.com', plan: 'free' });
  r = await u.get('/api/me');
  assert.equal(r.body.plan.id, 'free');
  assert.equal(r.body.access.product, false);
  // A Pro subscription alone (not beta-approved) opens the product.
  psql(db.url, `INSERT INTO subscriptions (user_id, status, current_period_end)
    SELECT id, 'active', now() + interval '10 days' FROM users WHERE email = 'gate@example.com'`);
  r = await u.get('/api/me');
  assert.equal(r.body.plan.id, 'starter');
  assert.equal(r.body.access.product, true);
  // Cancelled and past its end: back to gated free.
  psql(db.url, `UPDATE subscriptions SET status = 'cancelled', current_period_end = now() - interval '1 day'
    WHERE user_id = (SELECT id FROM users WHERE email = 'gate@example.com')`);
  r = await u.get('/api/me');
  assert.equal(r.body.plan.id, 'free');
  assertError(await u.get('/api/_test/product'), 403, 'waitlisted');
  r = await admin.post('/api/dev/approve-user', { email: 'gate@example.com', plan: 'gold' });
  assertError(r, 422, 'validation_failed');
  assert.ok(r.body.error.fields.plan);
  r = await admin.post('/api/dev/approve-user', { email: 'ghost@example.com', plan: 'starter' });
  assertError(r, 404, 'user_not_found');
});

test('approving an email before sign-up approves the account only once its link is followed', async () => {
  const admin = apiClient(srv.url);
  const r = await admin.post('/api/dev/approve-user', { email: 'early@example.com', plan: 'beta' });
  assert.equal(r.status, 200);
  assert.equal(r.body.user_exists, false);
  const u = apiClient(srv.url);
  const s = await u.signup('early@example.com');
  assert.equal(s.status, 201);
  // Anyone could type the address: nothing is granted before it is proven.
  assert.equal(s.body.plan.id, 'free');
  assert.equal(s.body.access.product, false);
  assert.equal(s.body.user.email_verified, false);
  const v = await verifyEmail(u);
  assert.equal(v.beta_approved, true);
  const me = await u.get('/api/me');
  assert.equal(me.body.plan.id, 'beta');
  assert.equal(me.body.access.product, true);
});

test('access requests are stored and deduplicated while pending; the answer is the same for every email', async () => {
  const post = async (body) => {
    const r = await fetch(srv.url + '/api/access/request', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };
  const first = await post({ email: 'wait@example.com', name: 'Wanjiru', note: 'We sell shoes', business: 'Shoes in Nairobi', channels: ['instagram'] });
  assert.equal(first.status, 202);
  assert.equal(JSON.parse(first.text).request.status, 'received');
  const second = await post({ email: 'WAIT@example.com ', channels: ['tiktok', 'instagram'] });
  const rows = psql(db.url, "SELECT count(*), max(name), max(request_count), max(business), max(channels::text) FROM access_requests WHERE email = 'wait@example.com'");
  assert.deepEqual(rows[0], ['1', 'Wanjiru', '2', 'Shoes in Nairobi', '{instagram,tiktok}']);
  let r = await post({ email: 'nope' });
  assert.equal(r.status, 422);
  assert.ok(JSON.parse(r.text).error.fields.email);
  r = await post({ email: 'x@example.com', note: 'y'.repeat(3000) });
  assert.equal(r.status, 422);
  r = await post({ email: 'x@example.com', channels: ['myspace'] });
  assert.equal(r.status, 422);
  assert.ok(JSON.parse(r.text).error.fields.channels);
  // Approved emails (a request or an account) are not queued again — and the
  // answer does not say so: new, duplicate and approved look identical.
  await apiClient(srv.url).post('/api/dev/approve-user', { email: 'wait@example.com', plan: 'beta' });
  const approved = await post({ email: 'wait@example.com' });
  const fresh = await post({ email: 'someone-new@example.com' });
  const signedUp = apiClient(srv.url);
  await signedUp.signup('has-account@example.com');
  const existing = await post({ email: 'has-account@example.com' });
  for (const x of [second, approved, fresh, existing]) {
    assert.equal(x.status, first.status);
    assert.equal(x.text, first.text);
  }
  const [[pending]] = psql(db.url, "SELECT count(*) FROM access_requests WHERE email = 'wait@example.com' AND status = 'pending'");
  assert.equal(pending, '0');
});

test('mock mode: the demo user signs in with one call and is approved', async () => {
  const u = apiClient(srv.url);
  const r = await u.demoLogin();
  assert.equal(r.status, 200);
  assert.equal(r.body.user.email, 'demo@cliploop.test');
  assert.equal(r.body.user.is_demo, true);
  assert.equal(r.body.access.product, true);
  const again = apiClient(srv.url);
  assert.equal((await again.demoLogin()).body.user.id, r.body.user.id);
  // The demo user has no password: password log-in is refused.
  assertError(await apiClient(srv.url).login('demo@cliploop.test', 'password123'), 401, 'invalid_credentials');
});

test('outside mock mode the dev routes do not exist', async () => {
  for (const p of ['/api/dev/approve-user', '/api/dev/demo-login']) {
    const r = await fetch(plain.url + p, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', plan: 'starter' }),
    });
    assert.equal(r.status, 404, p);
    assert.equal((await r.json()).error.code, 'not_found');
  }
  const [[sub]] = psql(db.url, "SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE u.email = 'ada@example.com'");
  assert.equal(sub, '0');
});

// Last: these failures also count against 127.0.0.1 for the address limit.
test('repeated failed log-ins answer 429 with Retry-After, per email and per address, across processes', async () => {
  const u = apiClient(srv.url);
  assert.equal((await u.signup('throttle@example.com', 'password123')).status, 201);
  for (let i = 0; i < 3; i++) assertError(await u.login('throttle@example.com', 'nope-nope'), 401, 'invalid_credentials');
  // Blocked even with the right password, and on the other process too.
  for (const base of [srv.url, plain.url]) {
    const r = await apiClient(base).login('throttle@example.com', 'password123');
    assertError(r, 429, 'too_many_attempts');
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 60, `Retry-After ${ra}`);
  }
  // Another email from this address still works (3 < 8 failures)...
  assert.equal((await apiClient(srv.url).login('login@example.com', 'password123')).status, 200);
  // ...until the address itself has failed too often.
  for (let i = 0; i < 5; i++) await apiClient(srv.url).login(`nobody${i}@example.com`, 'nope-nope');
  const r = await apiClient(plain.url).login('login@example.com', 'password123');
  assertError(r, 429, 'too_many_attempts');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
});
