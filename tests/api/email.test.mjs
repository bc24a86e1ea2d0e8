// Address verification and password reset by e-mailed links, through the
// real SMTP plugin (mail_smtp, libcurl) against a local SMTP server
// (tests/fakes/smtp_fake.mjs, npm smtp-server), and through the mock mailer's
// outbox in MOCK_MODE: an approved invite is not claimed by signing up with
// its address; approval and paid plans apply once the link is followed;
// expired, reused, replaced and tampered links are refused; the reset flow
// end to end with every session revoked; a refusing or hanging mail server
// is a clear error with nothing written; start-up refuses unknown mailers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, startServer, psql, apiClient, cliploop } from './lib/harness.mjs';
import { startSmtpFake, decodeWords } from '../fakes/smtp_fake.mjs';

let db, smtp, srv, mock;
// A display name that needs RFC 2047 encoding and, in a subject, more than one encoded-word.
const BRAND = 'ClipLoop Café ✓ — Lagos & Nairobi studio 🎬';
const sha256 = (s) => createHash('sha256').update(s).digest('hex');

before(async () => {
  db = createDatabase('email');
  smtp = await startSmtpFake({ user: 'mailer', password: 's3cret-smtp' });
  srv = await startServer({
    dbUrl: db.url, env: {
      MOCK_MODE: 'false', LLM_PROVIDER: 'mock', CLIPLOOP_TEST_ROUTES: 'true', CLIPLOOP_SCRYPT_LOG_N: '10',
      MAIL_PROVIDER: 'smtp', MAIL_SMTP_HOST: '127.0.0.1', MAIL_SMTP_PORT: String(smtp.port), MAIL_SMTP_TLS: 'none',
      MAIL_SMTP_USER: 'mailer', MAIL_SMTP_PASSWORD: 's3cret-smtp', MAIL_TIMEOUT_MS: '1500',
      MAIL_FROM: 'hello@cliploop.example', MAIL_FROM_NAME: BRAND,
    },
  });
  // The same database served in mock mode: the mock mailer and its mail log.
  mock = await startServer({
    dbUrl: db.url, migrate: false,
    env: { MOCK_MODE: 'true', LLM_PROVIDER: 'mock', CLIPLOOP_SCRYPT_LOG_N: '10', CLIPLOOP_TEST_ROUTES: 'true' },
  });
});

after(async () => {
  if (srv) await srv.stop();
  if (mock) await mock.stop();
  if (smtp) await smtp.close();
  if (db) db.drop();
});

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
  assert.ok(r.body.error.message.length > 10, r.text);
}

const tokenOf = (link) => new URL(link).searchParams.get('token');
const count = (sql) => Number(psql(db.url, sql)[0][0]);
// Let the next mail to an address go out now (the resend limit is per address).
const clearLimits = (email) => psql(db.url, `DELETE FROM mail_sends WHERE email = '${email}'`);

test('claiming an approved invite: sign-up with the address is not approved until its link is followed', async () => {
  const email = 'invited@example.com';
  psql(db.url, `INSERT INTO access_requests (email, status, decided_at) VALUES ('${email}', 'approved', now())`);
  const claimer = apiClient(srv.url);
  const s = await claimer.signup(email);
  assert.equal(s.status, 201, s.text);
  // Before the fix this account was beta-approved at once.
  assert.equal(s.body.plan.id, 'free');
  assert.equal(s.body.access.product, false);
  assert.equal(s.body.user.email_verified, false);
  assert.equal(s.body.user.beta_approved, false);
  assertError(await claimer.get('/api/_test/product'), 403, 'waitlisted');
  assert.equal(psql(db.url, `SELECT beta_approved, email_verified_at IS NULL FROM users WHERE email = '${email}'`)[0].join(), 'f,t');

  // The message went through real SMTP, authenticated, with proper headers.
  const m = await smtp.waitFor((x) => x.to === email);
  assert.equal(m.from, 'hello@cliploop.example');
  assert.equal(m.user, 'mailer');
  // UTF-8 subject: encoded-words, folded, no character split between words.
  assert.equal(m.subject, `Confirm your e-mail address for ${BRAND}`);
  const rawSubject = /\r\nSubject: ((?:.*)(?:\r\n[ \t].*)*)/.exec(m.raw)[1];
  const words = rawSubject.match(/=\?UTF-8\?B\?[^?]*\?=/g);
  assert.ok(words.length >= 2, rawSubject);
  for (const w of words) assert.doesNotMatch(Buffer.from(w.slice(10, -2), 'base64').toString('utf8'), /\uFFFD/);
  assert.ok(`Subject: ${rawSubject}`.split('\r\n').every((l) => l.length <= 78), rawSubject);
  assert.match(m.headers.from, /^=\?UTF-8\?B\?/);
  assert.equal(decodeWords(m.headers.from), `${BRAND} <hello@cliploop.example>`);
  assert.equal(m.headers.to, `<${email}>`);
  assert.match(m.headers.date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  assert.match(m.headers['message-id'], /^<[^@\s]+@cliploop\.example>$/);
  assert.equal(m.headers['mime-version'], '1.0');
  assert.match(m.headers['content-type'], /charset=UTF-8/);
  assert.ok(m.raw.split('\r\n').every((l) => l.length <= 998));
  const link = m.links.find((l) => l.includes('/verify-email.html?token='));
  assert.ok(link, m.text);
  assert.ok(link.startsWith(srv.url + '/verify-email.html?token='), link);
  const token = tokenOf(link);
  // Only the token's hash is stored.
  assert.equal(count(`SELECT count(*) FROM email_tokens WHERE token_hash = '${sha256(token)}' AND purpose = 'verify_email'`), 1);
  assert.equal(count(`SELECT count(*) FROM email_tokens WHERE token_hash = '${token}' OR email_tokens::text LIKE '%${token}%'`), 0);

  // GET only looks (a read never writes); POST uses the link.
  const look = await fetch(`${srv.url}/api/auth/verify-email?token=${encodeURIComponent(token)}`).then(async (r) => ({ status: r.status, body: await r.json() }));
  assert.equal(look.status, 200);
  assert.deepEqual(look.body.token, { purpose: 'verify_email', status: 'valid', email });
  assert.equal(count(`SELECT count(*) FROM email_tokens WHERE token_hash = '${sha256(token)}' AND used_at IS NULL`), 1);
  const anyone = apiClient(srv.url); // the owner, on another device, signed out
  const v = await anyone.post('/api/auth/verify-email', { token });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.body.verified, true);
  assert.equal(v.body.beta_approved, true);
  const me = await claimer.get('/api/me');
  assert.equal(me.body.plan.id, 'beta');
  assert.equal(me.body.user.email_verified, true);
  assert.equal((await claimer.get('/api/_test/product')).status, 200);
  // Single use.
  assertError(await anyone.post('/api/auth/verify-email', { token }), 410, 'token_used');
  assertError(await claimer.post('/api/auth/verify-email/resend'), 409, 'already_verified');
  // Neither the link's token nor the SMTP password reaches the log.
  assert.ok(srv.proc.log.includes('verify_email mail sent via smtp'), srv.proc.log.slice(-2000));
  assert.ok(!srv.proc.log.includes(token));
  assert.ok(!srv.proc.log.includes('s3cret-smtp'));
});

test('a link used twice at the same moment works exactly once', async () => {
  const email = 'racer@example.com';
  const u = apiClient(srv.url);
  assert.equal((await u.signup(email, 'racer-password-1')).status, 201);
  clearLimits(email);
  assert.equal((await apiClient(srv.url).post('/api/auth/password/forgot', { email })).status, 202);
  const m = await smtp.waitFor((x) => x.to === email && x.links.some((l) => l.includes('/reset-password.html')));
  const token = tokenOf(m.links.find((l) => l.includes('/reset-password.html')));
  const results = await Promise.all(['racer-password-2', 'racer-password-3', 'racer-password-4', 'racer-password-5']
    .map((password) => apiClient(srv.url).post('/api/auth/password/reset', { token, password })));
  const ok = results.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, results.map((r) => r.status).join());
  for (const r of results.filter((x) => x.status !== 200)) assertError(r, 410, 'token_used');
  assert.equal(count(`SELECT count(*) FROM email_tokens WHERE token_hash = '${sha256(token)}' AND used_at IS NOT NULL`), 1);
  // Exactly one of the four passwords is the account's now.
  let works = 0;
  for (const p of ['racer-password-2', 'racer-password-3', 'racer-password-4', 'racer-password-5']) {
    if ((await apiClient(srv.url).login(email, p)).status === 200) works++;
  }
  assert.equal(works, 1);
});

test('a paid plan applies only once the address is verified', async () => {
  const email = 'payer@example.com';
  const u = apiClient(srv.url);
  assert.equal((await u.signup(email)).status, 201);
  psql(db.url, `INSERT INTO subscriptions (user_id, provider, status, current_period_end)
                SELECT id, 'lemonsqueezy', 'active', now() + interval '30 days' FROM users WHERE email = '${email}'`);
  let me = await u.get('/api/me');
  assert.equal(me.body.plan.id, 'free');
  assert.equal(me.body.plan.reason, 'email_unverified');
  const m = await smtp.waitFor((x) => x.to === email);
  assert.equal((await apiClient(srv.url).post('/api/auth/verify-email', { token: tokenOf(m.links[0]) })).status, 200);
  me = await u.get('/api/me');
  assert.equal(me.body.plan.id, 'starter');
});

test('tampered, expired and replaced links are refused with clear errors; resend is rate-limited', async () => {
  const email = 'links@example.com';
  const u = apiClient(srv.url);
  assert.equal((await u.signup(email)).status, 201);
  const first = tokenOf((await smtp.waitFor((x) => x.to === email)).links[0]);
  const anon = apiClient(srv.url);
  // Tampered: one character changed, cut short, empty, absent.
  const flipped = first.slice(0, -1) + (first.endsWith('a') ? 'b' : 'a');
  assertError(await anon.post('/api/auth/verify-email', { token: flipped }), 400, 'invalid_token');
  assertError(await anon.post('/api/auth/verify-email', { token: first.slice(0, 20) }), 400, 'invalid_token');
  assertError(await anon.post('/api/auth/verify-email', { token: '' }), 422, 'validation_failed');
  assertError(await anon.post('/api/auth/verify-email', {}), 422, 'validation_failed');
  const r = await fetch(`${srv.url}/api/auth/verify-email`);
  assert.equal(r.status, 400);
  // Resend right after sign-up: 429 with Retry-After, nothing sent.
  const before = smtp.messages.length;
  const again = await u.post('/api/auth/verify-email/resend');
  assertError(again, 429, 'too_many_emails');
  assert.ok(Number(again.headers.get('retry-after')) > 0);
  assert.equal(smtp.messages.length, before);
  // Once allowed, a new link replaces the first.
  clearLimits(email);
  const resent = await u.post('/api/auth/verify-email/resend');
  assert.equal(resent.status, 202, resent.text);
  const second = tokenOf((await smtp.waitFor((x) => x.to === email && !x.text.includes(first))).links[0]);
  assert.notEqual(second, first);
  assertError(await anon.post('/api/auth/verify-email', { token: first }), 410, 'token_replaced');
  // Expired.
  psql(db.url, `UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = '${sha256(second)}'`);
  assertError(await anon.post('/api/auth/verify-email', { token: second }), 410, 'token_expired');
  const look = await fetch(`${srv.url}/api/auth/verify-email?token=${second}`);
  assert.equal(look.status, 410);
  assert.equal((await u.get('/api/me')).body.user.email_verified, false);
  // Resend needs a session; a verified account is told so.
  assertError(await apiClient(srv.url).post('/api/auth/verify-email/resend'), 401, 'unauthenticated');
});

test('password reset end to end: same answer for unknown addresses, single use, every session revoked', async () => {
  const email = 'reset@example.com';
  const a = apiClient(srv.url);
  assert.equal((await a.signup(email, 'old-password-1')).status, 201);
  const b = apiClient(srv.url);
  assert.equal((await b.login(email, 'old-password-1')).status, 200);
  clearLimits(email);

  const anon = apiClient(srv.url);
  const known = await anon.post('/api/auth/password/forgot', { email: 'Reset@Example.com ' });
  const unknown = await anon.post('/api/auth/password/forgot', { email: 'nobody-here@example.com' });
  assert.equal(known.status, 202, known.text);
  assert.equal(unknown.status, 202, unknown.text);
  assert.equal(known.text, unknown.text);
  assertError(await anon.post('/api/auth/password/forgot', { email: 'not an address' }), 422, 'validation_failed');
  // The unknown address is told there is no account (no link, no token row).
  const notice = await smtp.waitFor((x) => x.to === 'nobody-here@example.com');
  assert.ok(!notice.links.some((l) => l.includes('token=')), notice.text);
  // Rate limit: the same answer for both (a 429 says nothing about accounts).
  assertError(await anon.post('/api/auth/password/forgot', { email }), 429, 'too_many_emails');
  assertError(await anon.post('/api/auth/password/forgot', { email: 'nobody-here@example.com' }), 429, 'too_many_emails');

  const m = await smtp.waitFor((x) => x.to === email && x.subject === `Reset your ${BRAND} password`);
  const link = m.links.find((l) => l.includes('/reset-password.html?token='));
  const token = tokenOf(link);
  assert.equal(count(`SELECT count(*) FROM email_tokens WHERE token_hash = '${sha256(token)}' AND purpose = 'password_reset'`), 1);
  // A reset link is not a verification link, and the reverse.
  assertError(await anon.post('/api/auth/verify-email', { token }), 400, 'invalid_token');
  const look = await fetch(`${srv.url}/api/auth/password/reset?token=${token}`).then((r) => r.json());
  assert.equal(look.token.status, 'valid');
  // Same password rules as sign-up; nothing used up by a refused password.
  let r = await anon.post('/api/auth/password/reset', { token, password: 'short' });
  assertError(r, 422, 'validation_failed');
  assert.ok(r.body.error.fields.password);
  r = await anon.post('/api/auth/password/reset', { token, password: 'x'.repeat(257) });
  assertError(r, 422, 'validation_failed');
  r = await anon.post('/api/auth/password/reset', { token, password: 'new-password-2' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.password_reset, true);
  assert.ok(r.body.sessions_revoked >= 2);
  // Old sessions are gone; the old password fails; the new one works at the configured cost.
  assertError(await a.get('/api/me'), 401, 'unauthenticated');
  assertError(await b.get('/api/me'), 401, 'unauthenticated');
  assertError(await apiClient(srv.url).login(email, 'old-password-1'), 401, 'invalid_credentials');
  const c = apiClient(srv.url);
  const li = await c.login(email, 'new-password-2');
  assert.equal(li.status, 200);
  assert.match(psql(db.url, `SELECT password_hash FROM users WHERE email = '${email}'`)[0][0], /^scrypt\$10\$8\$1\$/);
  // The link reached the address, so the address counts as verified.
  assert.equal(li.body.user.email_verified, true);
  assertError(await anon.post('/api/auth/password/reset', { token, password: 'third-password-3' }), 410, 'token_used');
  assert.equal((await apiClient(srv.url).login(email, 'third-password-3')).status, 401);
});

test('a refusing, deferring or hanging mail server is a clear error and nothing is written', async () => {
  const rows = () => [count('SELECT count(*) FROM users'), count('SELECT count(*) FROM email_tokens'),
    count('SELECT count(*) FROM mail_sends')];
  try {
    for (const [mode, status, code, text] of [
      ['refuse-rcpt', 502, 'mail_failed', /550/],
      ['refuse-data', 502, 'mail_failed', /554/],
      ['defer', 502, 'mail_failed', /451/],
      ['hang', 504, 'mail_timeout', /did not answer in time/],
    ]) {
      smtp.mode = mode;
      const was = rows();
      const t0 = Date.now();
      const r = await apiClient(srv.url).signup(`fail-${mode}@example.com`);
      assertError(r, status, code);
      assert.match(r.body.error.message, text);
      assert.ok(Date.now() - t0 < 10000, 'the deadline ends a hanging delivery');
      assert.deepEqual(rows(), was, `${mode}: nothing written`);
      assert.equal(count(`SELECT count(*) FROM users WHERE email = 'fail-${mode}@example.com'`), 0);
    }
    // The same for a reset request (an existing account) and for a resend.
    smtp.mode = 'ok';
    const u = apiClient(srv.url);
    assert.equal((await u.signup('fail-reset@example.com')).status, 201);
    clearLimits('fail-reset@example.com');
    smtp.mode = 'refuse-rcpt';
    const was = rows();
    assertError(await apiClient(srv.url).post('/api/auth/password/forgot', { email: 'fail-reset@example.com' }), 502, 'mail_failed');
    assertError(await u.post('/api/auth/verify-email/resend'), 502, 'mail_failed');
    assert.deepEqual(rows(), was);
  } finally {
    smtp.mode = 'ok';
  }
  // After a refusal, sign-up with the address works (nothing was left behind).
  assert.equal((await apiClient(srv.url).signup('fail-refuse-rcpt@example.com')).status, 201);
});

test('mock mailer refusing (MAIL_MOCK_FAIL=refuse): sign-up answers 502 and creates nothing', async () => {
  const failing = await startServer({ dbUrl: db.url, migrate: false,
    env: { MOCK_MODE: 'true', LLM_PROVIDER: 'mock', CLIPLOOP_SCRYPT_LOG_N: '10', MAIL_MOCK_FAIL: 'refuse' } });
  try {
    const r = await apiClient(failing.url).signup('mock-refused@example.com');
    assertError(r, 502, 'mail_failed');
    assert.match(r.body.error.message, /550/);
    assert.equal(count("SELECT count(*) FROM users WHERE email = 'mock-refused@example.com'"), 0);
  } finally {
    await failing.stop();
  }
});

test('start-up refuses an unknown or unconfigured mailer, never falling back', async () => {
  const base = { DATABASE_URL: db.url, HOST: '127.0.0.1', PORT: '1', CLIPLOOP_ENV_FILE: '/dev/null', LLM_PROVIDER: 'mock' };
  let r = cliploop(['serve'], { ...base, MAIL_PROVIDER: 'carrier_pigeon' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /MAIL_PROVIDER=carrier_pigeon: no loaded plugin provides a mailer named 'carrier_pigeon' \(available: smtp\)/);
  r = cliploop(['serve'], { ...base, MAIL_PROVIDER: 'smtp', MAIL_SMTP_HOST: '' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /MAIL_PROVIDER=smtp: the mailer is not configured \(missing or invalid MAIL_SMTP_HOST\)/);
  r = cliploop(['serve'], { ...base, MAIL_PROVIDER: 'mock', MOCK_MODE: 'false' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /the mock mailer loads only with MOCK_MODE=true/);
  r = cliploop(['serve'], { ...base, MAIL_PROVIDER: 'Not Valid' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /MAIL_PROVIDER=Not Valid is not a mailer name/);
});

test('mock mode: the mail log shows the message and its link verifies the address; the demo user is verified', async () => {
  const cfg = await fetch(mock.url + '/api/auth/config').then((r) => r.json());
  assert.deepEqual(cfg.mail, { enabled: true, mail_log: true });
  const email = `offline-${process.pid}@example.com`;
  psql(db.url, `INSERT INTO access_requests (email, status, decided_at) VALUES ('${email}', 'approved', now())`);
  const u = apiClient(mock.url);
  const s = await u.signup(email);
  assert.equal(s.status, 201);
  assert.equal(s.body.plan.id, 'free');
  const log = await u.get('/api/dev/mail?limit=200');
  assert.equal(log.status, 200, log.text);
  assert.equal(log.body.provider, 'mock');
  const msg = log.body.messages.find((x) => x.to === email);
  assert.ok(msg, JSON.stringify(log.body).slice(0, 500));
  assert.equal(msg.kind, 'verify_email');
  assert.match(msg.message_id, /^<mock-\d+@cliploop\.mock>$/);
  const link = msg.text.match(/https?:\/\/\S+/)[0];
  assert.ok(link.startsWith(mock.url + '/verify-email.html?token='), link);
  assert.equal((await u.post('/api/auth/verify-email', { token: tokenOf(link) })).status, 200);
  assert.equal((await u.get('/api/me')).body.plan.id, 'beta');
  // Newest first.
  const ids = log.body.messages.map((x) => x.id);
  assert.deepEqual(ids, [...ids].sort((x, y) => y - x));
  assertError(await u.get('/api/dev/mail?limit=0'), 422, 'validation_failed');
  // Not from another machine (a proxy-forwarded request counts as one).
  assertError(await u.get('/api/dev/mail', { headers: { 'x-forwarded-for': '203.0.113.9' } }), 403, 'loopback_only');
  // The SMTP server (not mock mode) has no mail log.
  assert.equal((await fetch(srv.url + '/api/dev/mail')).status, 404);
  const demo = apiClient(mock.url);
  const d = await demo.demoLogin();
  assert.equal(d.body.user.email_verified, true);
  assert.equal(d.body.plan.id, 'beta');
});

test('TLS: SMTPS and STARTTLS with the server certificate verified; an untrusted certificate is refused', async () => {
  // A self-signed certificate for 127.0.0.1, trusted through MAIL_SMTP_CA_FILE only.
  const dir = mkdtempSync(path.join(tmpdir(), 'cliploop-smtp-tls-'));
  const key = path.join(dir, 'key.pem'), cert = path.join(dir, 'cert.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const pem = { key: readFileSync(key), cert: readFileSync(cert) };
  const servers = [];
  try {
    for (const [tls, mode] of [['implicit', 'tls'], ['starttls', 'starttls']]) {
      const fake = await startSmtpFake({ tls, ...pem });
      servers.push(fake);
      const common = {
        MOCK_MODE: 'false', LLM_PROVIDER: 'mock', CLIPLOOP_SCRYPT_LOG_N: '10', MAIL_PROVIDER: 'smtp',
        MAIL_SMTP_HOST: '127.0.0.1', MAIL_SMTP_PORT: String(fake.port), MAIL_SMTP_TLS: mode, MAIL_TIMEOUT_MS: '3000',
      };
      const trusted = await startServer({ dbUrl: db.url, migrate: false, env: { ...common, MAIL_SMTP_CA_FILE: cert } });
      servers.push(trusted);
      const untrusted = await startServer({ dbUrl: db.url, migrate: false, env: common });
      servers.push(untrusted);
      const email = `tls-${mode}@example.com`;
      const r = await apiClient(trusted.url).signup(email);
      assert.equal(r.status, 201, r.text);
      const m = await fake.waitFor((x) => x.to === email);
      assert.equal(fake.secure, true, `${mode}: the message went over TLS`);
      assert.ok(m.links.some((l) => l.includes('/verify-email.html?token=')));
      const bad = await apiClient(untrusted.url).signup(`tls-untrusted-${mode}@example.com`);
      assertError(bad, 502, 'mail_failed');
      assert.match(bad.body.error.message, /certificate of the mail server 127\.0\.0\.1:\d+ could not be verified/);
      assert.ok(fake.errors.includes('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), fake.errors.join());
      assert.equal(count(`SELECT count(*) FROM users WHERE email = 'tls-untrusted-${mode}@example.com'`), 0);
    }
  } finally {
    for (const x of servers) await (x.stop ? x.stop() : x.close());
    rmSync(dir, { recursive: true, force: true });
  }
});
