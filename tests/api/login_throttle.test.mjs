// Log-in throttling keyed on the right things: the client address comes from
// X-Forwarded-For only when the TCP peer is a configured trusted proxy (so
// one abuser behind the proxy does not lock everybody out, and a spoofed
// header from anyone else changes nothing); each account backs off
// exponentially; check and record are atomic, so concurrent guesses cannot
// all slip through.
// run-alone: it sleeps through Retry-After windows of whole seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, apiClient } from './lib/harness.mjs';

let db, proxied, direct;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const login = (base, email, password, xff) =>
  apiClient(base).post('/api/auth/login', { email, password }, xff ? { headers: { 'x-forwarded-for': xff } } : {});

before(async () => {
  db = createDatabase('throttle');
  const common = { CLIPLOOP_SCRYPT_LOG_N: '10', CLIPLOOP_LOGIN_MAX_FAILURES: '3', CLIPLOOP_LOGIN_MAX_FAILURES_PER_ADDR: '4',
    CLIPLOOP_LOGIN_WINDOW_SECONDS: '600', CLIPLOOP_LOGIN_BACKOFF_SECONDS: '1' };
  proxied = await startServer({ dbUrl: db.url, env: { ...common, CLIPLOOP_TRUSTED_PROXIES: '10.9.9.9, 127.0.0.0/8' } });
  direct = await startServer({ dbUrl: db.url, migrate: false, env: common });
  for (const e of ['alice', 'bob', 'carol', 'dave', 'erin'])
    assert.equal((await apiClient(proxied.url).signup(`${e}@example.com`, 'password123')).status, 201);
});

after(async () => {
  for (const s of [proxied, direct]) if (s) await s.stop();
  if (db) db.drop();
});

test('behind a trusted proxy each client is throttled on its own address', async () => {
  // One abuser (203.0.113.7, via the proxy) fails 4 times on other people's accounts...
  for (let i = 0; i < 4; i++)
    assert.equal((await login(proxied.url, `ghost${i}@example.com`, 'nope-nope', '203.0.113.7')).status, 401);
  let r = await login(proxied.url, 'alice@example.com', 'password123', '203.0.113.7');
  assert.equal(r.status, 429, 'the abuser is blocked');
  // ...while everybody else behind the same proxy still logs in.
  r = await login(proxied.url, 'alice@example.com', 'password123', '198.51.100.20');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // A chain: the client forged an entry; the right-most untrusted address counts.
  r = await login(proxied.url, 'bob@example.com', 'password123', '203.0.113.7, 198.51.100.21, 10.9.9.9');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await login(proxied.url, 'bob@example.com', 'password123', '198.51.100.21, 203.0.113.7');
  assert.equal(r.status, 429);
});

test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
  // direct has no trusted proxies: rotating the header does not rotate the address.
  for (let i = 0; i < 4; i++)
    assert.equal((await login(direct.url, `nobody${i}@example.com`, 'nope-nope', `192.0.2.${i + 1}`)).status, 401);
  const r = await login(direct.url, 'carol@example.com', 'password123', '192.0.2.99');
  assert.equal(r.status, 429);
});

test('an account backs off exponentially, and concurrent guesses cannot slip through', async () => {
  // Ten guesses at once on one account (each from its own client): exactly 3 are checked.
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    login(proxied.url, 'dave@example.com', `guess-${i}-wrong`, `198.51.100.${100 + i}`)));
  const st = replies.map((r) => r.status).sort();
  assert.deepEqual(st, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429], JSON.stringify(st));
  // The lock doubles with each further failure: 1 s after the 3rd, 2 s after the 4th, 4 s after the 5th.
  const retryAfter = async () => {
    const r = await login(proxied.url, 'dave@example.com', 'password123', '198.51.100.150');
    assert.equal(r.status, 429);
    return Number(r.headers.get('retry-after'));
  };
  assert.ok((await retryAfter()) <= 1);
  await sleep(1100);
  assert.equal((await login(proxied.url, 'dave@example.com', 'wrong-4', '198.51.100.151')).status, 401);
  const ra4 = await retryAfter();
  assert.ok(ra4 >= 1 && ra4 <= 2, `after 4 failures: ${ra4}`);
  await sleep(ra4 * 1000 + 100);
  assert.equal((await login(proxied.url, 'dave@example.com', 'wrong-5', '198.51.100.152')).status, 401);
  const ra5 = await retryAfter();
  assert.ok(ra5 >= 3 && ra5 <= 4, `after 5 failures: ${ra5}`);
  // Another account is not affected.
  assert.equal((await login(proxied.url, 'erin@example.com', 'password123', '198.51.100.153')).status, 200);
});
